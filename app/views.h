/*
 * The tutorial application's pages: app_views_register() adds every route
 * of the app to a ph_app (the counterpart of Flask's @app.route lines).
 */
#ifndef APP_VIEWS_H
#define APP_VIEWS_H

#include "phial/phial.h"
#include "models.h"

/* Adds the app's routes (and, when PHIAL_TEST_ROUTES=1, the test-only
 * routes under /_test/).  0 or a PH_E* code (logged). */
int app_views_register(ph_app *app);
/* Adds the pet management pages (pets.c); called by app_views_register. */
int app_pets_register(ph_app *app);
/* Adds the TechEmpower and peer-page benchmark routes (techempower.c). */
int app_techempower_register(ph_app *app);

/* Loads the object with the integer route parameter `param` as its key, or
 * answers 404.  Returns 0 with *out set, 1 when res already holds the 404,
 * or a PH_E* code. */
int app_get_or_404(ph_request *req, ph_response *res, const ph_model *m, const char *param,
                   void *out);

/* Page ?page=N (default 1) of q, per_page rows, into out: 0, PH_ENOTFOUND
 * when the page is not a whole number from 1 or lies past the last page
 * (the caller answers 404, as Flask-SQLAlchemy's paginate), or another
 * PH_E* code. */
int app_paginate(ph_request *req, ph_query *q, int64_t per_page, ph_page *out);

#endif
