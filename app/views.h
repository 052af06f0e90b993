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

#endif
