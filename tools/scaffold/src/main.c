/*
 * __NAME__'s command line:
 *
 *   __NAME__ run [--host H] [--port P] [--workers N] [--threads N]
 *   __NAME__ db create|drop|add|list|models ...
 *
 * Configuration comes from the environment and PHIAL_CONFIG (a KEY=VALUE
 * file): DATABASE_URL (default sqlite:///registration.db), SECRET_KEY,
 * HOST, PORT, WORKERS, THREADS, DEBUG, LOG_LEVEL.
 */
#include "app.h"
#include "models.h"

#include <stdio.h>
#include <string.h>

static int usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s run [--host H] [--port P] [--workers N] [--threads N]\n"
            "       %s db create|drop [--yes]|add MODEL k=v...|list MODEL|models\n",
            prog, prog);
    return f == stdout ? 0 : 2;
}

static int run(ph_app *app, int argc, char **argv)
{
    ph_server_options o;
    char err[256];
    if (ph_server_options_init(&o, err, sizeof(err)) < 0 ||
        ph_server_options_parse(&o, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: %s\n", err);
        return 2;
    }
    return ph_server_run(app, &o) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "__NAME__";
    if (argc < 2)
        return usage(stderr, prog);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
        return usage(stdout, prog);
    bool serve = strcmp(argv[1], "run") == 0;
    if (!serve && strcmp(argv[1], "db") != 0) {
        fprintf(stderr, "%s: unknown command \"%s\"\n", prog, argv[1]);
        return usage(stderr, prog);
    }
    ph_app *app = __NAME___app_new(NULL, serve);
    if (!app)
        return 1;
    int rc = serve ? run(app, argc - 2, argv + 2)
                   : ph_cli_db(ph_app_database_url(app), __NAME___models, __NAME___nmodels,
                               argc - 2, argv + 2);
    ph_app_free(app);
    return rc;
}
