/*
 * __NAME__: the application factory (Flask's create_app) shared by the
 * program (main.c) and the tests (tests/test_app.c).
 */
#ifndef __NAME___APP_H
#define __NAME___APP_H

#include <phial/phial.h>

/* The templates and static files embedded at build time (phial-embed). */
extern const ph_embed_fs __NAME___assets;

/* The application with its routes, database and templates.  config is
 * NULL or "KEY", "value", ..., NULL, set before anything is read (a test
 * passes its throwaway DATABASE_URL this way); the rest comes from the
 * environment and PHIAL_CONFIG.  with_files false: no templates or static
 * files (the db commands need none).  NULL on error (logged). */
ph_app *__NAME___app_new(const char *const *config, bool with_files);

/* Routes of views.c. */
int __NAME___views_register(ph_app *app);

#endif
