/*
 * __NAME__'s command line, from Phial (like the `flask` command):
 *
 *   __NAME__ run [--host H] [--port P] [--workers N] [--threads N]
 *   __NAME__ routes
 *   __NAME__ db create|drop|add|list|models ...
 *
 * Configuration comes from the environment and PHIAL_CONFIG (a KEY=VALUE
 * file): DATABASE_URL (default sqlite:///__NAME__.db), SECRET_KEY, HOST,
 * PORT, WORKERS, THREADS, DEBUG, LOG_LEVEL, RUN_AS_USER.
 */
#include "app.h"

int main(int argc, char **argv)
{
    ph_app *app = __NAME___app_new();
    if (!app)
        return 1;
    int rc = ph_app_main(app, argc, argv);
    ph_app_free(app);
    return rc;
}
