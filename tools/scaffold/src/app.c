/*
 * __NAME__'s application factory: configuration, routes, database,
 * templates and static files.  Without DEBUG, templates and static files
 * are the copies embedded in the binary (one-file deployment); with
 * DEBUG=1 they are read from templates/ and static/ next to the binary and
 * a changed template is recompiled when next rendered.
 */
#include "app.h"

#include <stdlib.h>

ph_app *__NAME___app_new(const char *const *config, bool with_files)
{
    ph_app *app = ph_app_new("__NAME__");
    if (!app)
        return NULL;
    for (size_t i = 0; config && config[i] && config[i + 1]; i += 2)
        if (ph_app_config_set(app, config[i], config[i + 1]) < 0)
            goto fail;
    const char *cfg = getenv("PHIAL_CONFIG");
    if (cfg && *cfg && ph_app_config_load_file(app, cfg) < 0)
        goto fail;
    char err[512];
    if (ph_app_use_database(app, err, sizeof(err)) < 0) {
        ph_log_error("database: %s", err);
        goto fail;
    }
    if (with_files &&
        ph_app_use_folders(app, "templates", "static", &__NAME___assets, err, sizeof(err)) < 0) {
        ph_log_error("%s", err);
        goto fail;
    }
    if (__NAME___views_register(app) < 0)
        goto fail;
    return app;
fail:
    ph_app_free(app);
    return NULL;
}
