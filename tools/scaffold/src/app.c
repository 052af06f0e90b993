/*
 * __NAME__'s application factory: routes, models, embedded files and
 * configuration defaults.  Without DEBUG, templates and static files are
 * the copies embedded in the binary (one-file deployment); with DEBUG=1
 * they are read from templates/ and static/ next to the binary (or up to
 * two folders above it) and a changed template is recompiled when next
 * rendered.
 */
#include "app.h"
#include "models.h"

ph_app *__NAME___app_new(void)
{
    ph_app *app = ph_app_new("__NAME__");
    if (!app)
        return NULL;
    if (__NAME___views_register(app) < 0 ||
        ph_app_models(app, __NAME___models, __NAME___nmodels) < 0 ||
        ph_app_config_default(app, "DATABASE_URL", "sqlite:///__NAME__.db") < 0 ||
        ph_app_embed(app, &__NAME___assets) < 0) {
        ph_app_free(app);
        return NULL;
    }
    return app;
}
