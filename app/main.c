/*
 * The tutorial application's command line, like `flask`:
 *
 *   app run [--host H] [--port P] [--workers N] [--threads N]
 *   app routes
 *   app db create|drop|add|list|models ...
 *
 * Subcommands live in one table; adding one (e.g. `db`) is one function and
 * one line.  Configuration comes from the environment and, if PHIAL_CONFIG
 * names one, a KEY=VALUE file (the environment wins): STATIC_FOLDER
 * (default app/static), LOG_LEVEL, ACCESS_LOG=0 to silence the access log,
 * and the server limits of ph_app_limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "phial/phial.h"
#include "views.h"

typedef struct command {
    const char *name;
    const char *args; /* usage after the name */
    const char *help;
    int (*run)(ph_app *app, int argc, char **argv); /* exit status */
} command;

static int cmd_run(ph_app *app, int argc, char **argv);
static int cmd_routes(ph_app *app, int argc, char **argv);
static int cmd_db(ph_app *app, int argc, char **argv);

static const command commands[] = {
    {"run", "[--host H] [--port P] [--workers N] [--threads N]", "serve the application", cmd_run},
    {"routes", "", "list the routes", cmd_routes},
    {"db", "create|drop [--yes]|add MODEL k=v...|list MODEL [--columns c,...]|models",
     "manage the database", cmd_db},
};

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
    for (size_t i = 0; i < PH_COUNTOF(commands); i++)
        fprintf(f, "  %-8s %-50s %s\n", commands[i].name, commands[i].args, commands[i].help);
}

static int cmd_run(ph_app *app, int argc, char **argv)
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

static void put_methods(char *out, size_t n, unsigned m)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    ph_method_list(m & ~(unsigned)(PH_HEAD | PH_OPTIONS), &b);
    snprintf(out, n, "%s", b.ptr ? b.ptr : "");
    ph_buf_free(&b);
}

static int cmd_routes(ph_app *app, int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "routes: no arguments expected\n");
        return 2;
    }
    const ph_router *r = ph_app_router(app);
    int we = 8, wm = 7;
    char methods[64];
    for (size_t i = 0; i < ph_router_count(r); i++) {
        const ph_route *rt = ph_router_route(r, i);
        int n = (int)strlen(rt->name ? rt->name : "-");
        we = n > we ? n : we;
        put_methods(methods, sizeof(methods), rt->methods);
        n = (int)strlen(methods);
        wm = n > wm ? n : wm;
    }
    printf("%-*s  %-*s  %s\n", we, "Endpoint", wm, "Methods", "Rule");
    printf("%.*s  %.*s  %s\n", we, "------------------------------------------------", wm,
           "------------------------------------------------", "-----------------------");
    for (size_t i = 0; i < ph_router_count(r); i++) {
        const ph_route *rt = ph_router_route(r, i);
        put_methods(methods, sizeof(methods), rt->methods);
        printf("%-*s  %-*s  %s\n", we, rt->name ? rt->name : "-", wm, methods, rt->pattern);
    }
    return 0;
}

/* `app db ...`: the tutorial's db.create_all() and interpreter session.
 * `db add User ... user_password=X` stores the Argon2id hash of X, never X:
 * the tutorial's plain-text passwords are the one thing not reproduced. */
static int cmd_db(ph_app *app, int argc, char **argv)
{
    static const char key[] = "user_password=";
    char hash[crypto_pwhash_STRBYTES + sizeof(key)];
    bool add_user = argc >= 2 && strcmp(argv[0], "add") == 0 &&
                    (strcmp(argv[1], "User") == 0 || strcmp(argv[1], "user") == 0);
    for (int i = 2; add_user && i < argc; i++) {
        if (strncmp(argv[i], key, sizeof(key) - 1) != 0)
            continue;
        const char *pw = argv[i] + sizeof(key) - 1;
        memcpy(hash, key, sizeof(key) - 1);
        if (crypto_pwhash_str(hash + sizeof(key) - 1, pw, strlen(pw),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            fprintf(stderr, "db: could not hash the password (out of memory)\n");
            return 1;
        }
        argv[i] = hash;
    }
    return ph_cli_db(ph_app_database_url(app), app_models, app_nmodels, argc, argv);
}

/* The app with its configuration, routes and static folder; NULL on error
 * (logged). */
static ph_app *app_create(void)
{
    ph_app *app = ph_app_new("app");
    if (!app)
        return NULL;
    const char *cfg = getenv("PHIAL_CONFIG");
    const char *level = NULL;
    ph_log_level lv;
    if ((cfg && *cfg && ph_app_config_load_file(app, cfg) < 0) || app_views_register(app) < 0)
        goto fail;
    if ((level = ph_app_config_get(app, "LOG_LEVEL")) && ph_log_parse_level(level, &lv) == 0)
        ph_log_set_level(lv);
    const char *log = ph_app_config_get(app, "ACCESS_LOG");
    if (log &&
        (strcmp(log, "0") == 0 || strcasecmp(log, "false") == 0 || strcasecmp(log, "off") == 0))
        ph_app_set_access_log(app, false);
    char err[512];
    if (ph_app_use_database(app, err, sizeof(err)) < 0) {
        ph_log_error("database: %s", err);
        goto fail;
    }
    const char *tdir = ph_app_config_get(app, "TEMPLATE_FOLDER");
    if (ph_app_use_templates(app, tdir ? tdir : "app/templates", err, sizeof(err)) < 0) {
        ph_log_error("templates: %s", err);
        goto fail;
    }
    const char *folder = ph_app_config_get(app, "STATIC_FOLDER");
    if (ph_app_static(app, folder ? folder : "app/static") < 0)
        ph_log_warn("no static folder: /static/ is not served");
    return app;
fail:
    ph_app_free(app);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "app";
    if (argc < 2) {
        usage(stderr, prog);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout, prog);
        return 0;
    }
    const command *cmd = NULL;
    for (size_t i = 0; i < PH_COUNTOF(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "%s: unknown command \"%s\"\n", prog, argv[1]);
        usage(stderr, prog);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: libsodium could not start\n", prog);
        return 1;
    }
    ph_app *app = app_create();
    if (!app)
        return 1;
    int rc = cmd->run(app, argc - 2, argv + 2);
    ph_app_free(app);
    return rc;
}
