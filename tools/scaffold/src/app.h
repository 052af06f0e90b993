/*
 * __NAME__: the application factory (Flask's create_app) shared by the
 * program (main.c) and the tests (tests/test_app.c).
 */
#ifndef __NAME___APP_H
#define __NAME___APP_H

#include <phial/phial.h>

/* The templates and static files embedded at build time (phial-embed). */
extern const ph_embed_fs __NAME___assets;

/* The application: its routes, models, embedded files and defaults.
 * Nothing is opened yet: `run` (ph_app_main) or a test
 * (ph_test_app_ready) opens the database and compiles the templates.
 * NULL on error (logged). */
ph_app *__NAME___app_new(void);

/* Routes of views.c. */
int __NAME___views_register(ph_app *app);

#endif
