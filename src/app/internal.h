/*
 * What the files of the app layer share: the static-folder plumbing and
 * the default error page.
 */
#ifndef PHIAL_APP_INTERNAL_H
#define PHIAL_APP_INTERNAL_H

#include "phial/app.h"

/* ph_app_route with a data pointer on the route. */
int ph__app_route_data(ph_app *app, unsigned methods, const char *pattern, const char *name,
                       ph_handler handler, void *data);
/* The static folder's resolved path, or NULL. */
const char *ph__app_static_root(const ph_app *app);
/* Takes ownership of root (heap string). */
int ph__app_set_static_root(ph_app *app, char *root);
/* Phial's built-in page for an error status (werkzeug's wording). */
int ph__default_error_page(ph_response *res, int status);

#endif
