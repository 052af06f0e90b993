/*
 * The tutorial application's entry point: the app, its routes, models and
 * folders; ph_app_main() gives it the whole command line (`run`, `routes`,
 * `db ...`), like the `flask` command.  Its templates and static files are
 * also compiled into the binary (app_assets, written by phial-embed at
 * build time): without DEBUG those copies are served, so the binary runs
 * from any folder and deploys as one file.
 */
#include <stdio.h>

#include "phial/phial.h"
#include "forms.h"
#include "views.h"

extern const ph_embed_fs app_assets;

int main(int argc, char **argv)
{
    ph_app *app = ph_app_new("app");
    if (!app)
        return 1;
    int rc = 1;
    char err[256];
    if (app_forms_check(err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err); /* a mistake in forms.c, caught before serving */
        ph_app_free(app);
        return 1;
    }
    if (app_views_register(app) == 0 && app_techempower_register(app) == 0 &&
        ph_app_models(app, app_models, app_nmodels) == 0 &&
        ph_app_password_column(app, &User_model, "user_password") == 0 &&
        ph_app_config_default(app, "TEMPLATE_FOLDER", "app/templates") == 0 &&
        ph_app_config_default(app, "STATIC_FOLDER", "app/static") == 0 &&
        ph_app_config_default(app, "MIGRATIONS_FOLDER", "app/migrations") == 0 &&
        ph_app_embed(app, &app_assets) == 0)
        rc = ph_app_main(app, argc, argv);
    ph_app_free(app);
    return rc;
}
