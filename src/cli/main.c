/*
 * The ready command line every application gets from one call,
 * ph_app_main(): `run`, `routes` and `db ...`, the counterpart of Flask's
 * `flask run`, `flask routes` and the tutorial's interpreter session.
 * Commands live in one table; each gets the app already configured.
 */
#include "phial/app.h"
#include "phial/cli.h"
#include "phial/server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXIT_USAGE 2

typedef struct command {
    const char *name;
    const char *args; /* usage after the name */
    const char *help;
    int (*run)(ph_app *app, const char *prog, int argc, char **argv); /* exit status */
} command;

static int cmd_run(ph_app *app, const char *prog, int argc, char **argv);
static int cmd_routes(ph_app *app, const char *prog, int argc, char **argv);
static int cmd_db(ph_app *app, const char *prog, int argc, char **argv);

static const command commands[] = {
    {"run", "[--host H] [--port P] [--workers N] [--threads N]", "serve the application", cmd_run},
    {"routes", "", "list the routes", cmd_routes},
    {"db", "create|drop|add|list|models|check|migrate|upgrade|...",
     "manage the database and its migrations (db --help)", cmd_db},
};

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
    for (size_t i = 0; i < PH_COUNTOF(commands); i++)
        fprintf(f, "  %-7s %-52s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\nexit status: 0 success, 1 error, 2 usage\n");
}

static bool is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0;
}

/* Opens the database handle (connects nothing).  0 or 1 (logged). */
static int open_database(ph_app *app, const char *prog)
{
    char err[512];
    if (ph_app_use_database(app, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: database: %s\n", prog, err);
        return 1;
    }
    return 0;
}

/* Every registered model's table must exist before serving: a missing one
 * would be a 500 at its first query.  0, or 1 with the fix printed. */
static int check_tables(ph_app *app, const char *prog)
{
    size_t n;
    const ph_model *const *models = ph_app_get_models(app, &n);
    if (n == 0)
        return 0;
    /* A connection of its own, closed before the workers fork. */
    ph_db_conn *c = ph_db_conn_new(ph_app_db(app));
    if (!c || ph_db_conn_connect(c) < 0) {
        fprintf(stderr, "%s: database %s: %s\n", prog, ph_app_database_url(app),
                c ? ph_db_errmsg(c) : "out of memory");
        ph_db_conn_free(c);
        return 1;
    }
    char missing[1024] = "";
    size_t len = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = ph_orm_table_exists(c, models[i]->table);
        if (rc < 0) {
            fprintf(stderr, "%s: database %s: %s\n", prog, ph_app_database_url(app),
                    ph_db_errmsg(c));
            ph_db_conn_free(c);
            return 1;
        }
        if (rc == 0 && len < sizeof(missing)) {
            int w = snprintf(missing + len, sizeof(missing) - len, "%s%s", count ? ", " : "",
                             models[i]->table);
            len += w > 0 ? (size_t)w : 0;
            count++;
        }
    }
    if (count == 0) {
        /* the tables are there: a model's column missing is the next 500 */
        char err[512];
        int rc = ph_migrate_check_schema(c, models, n, err, sizeof(err));
        ph_db_conn_free(c);
        if (rc == 0)
            return 0;
        fprintf(stderr, "%s: the database %s: %s\n", prog, ph_app_database_url(app), err);
        return 1;
    }
    ph_db_conn_free(c);
    fprintf(stderr,
            "%s: the database %s lacks %s %s of the models; create %s with:\n"
            "    %s db create\n",
            prog, ph_app_database_url(app), count == 1 ? "the table" : "the tables", missing,
            count == 1 ? "it" : "them", prog);
    return 1;
}

static int cmd_run(ph_app *app, const char *prog, int argc, char **argv)
{
    ph_server_options o;
    char err[512];
    if (ph_server_options_init(&o, err, sizeof(err)) < 0 ||
        ph_server_options_parse(&o, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s run: %s\n", prog, err);
        return EXIT_USAGE;
    }
    /* templates and static files: embedded, or found next to the binary */
    if (ph_app_use_folders(app, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (open_database(app, prog) != 0 || check_tables(app, prog) != 0)
        return 1;
    /* the secret, sessions, CSRF and headers: before the workers fork, so
     * every worker shares one key */
    if (ph_app_use_security(app, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
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

static int cmd_routes(ph_app *app, const char *prog, int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "%s routes: no arguments expected\n", prog);
        return EXIT_USAGE;
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

/* `db add MODEL col=value ...`: a value for a password column is replaced
 * by its Argon2id hash before it reaches the database.  The hashes live in
 * hashes[] (one per argument).  0 or 1. */
static int hash_passwords(ph_app *app, const char *prog, int argc, char **argv,
                          char (*hashes)[crypto_pwhash_STRBYTES + 64])
{
    size_t n;
    const ph_model *const *models = ph_app_get_models(app, &n);
    const ph_model *m = NULL;
    for (size_t i = 0; i < n && !m; i++)
        if (strcmp(models[i]->name, argv[1]) == 0 || strcmp(models[i]->table, argv[1]) == 0)
            m = models[i];
    if (!m)
        return 0; /* ph_cli_db names the unknown model */
    for (int i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= 64)
            continue;
        const ph_column *c = ph_model_column_n(m, argv[i], (size_t)(eq - argv[i]));
        if (!c || !ph_app_is_password_column(app, m, c))
            continue;
        size_t klen = (size_t)(eq - argv[i]) + 1;
        memcpy(hashes[i], argv[i], klen);
        if (crypto_pwhash_str(hashes[i] + klen, eq + 1, strlen(eq + 1),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            fprintf(stderr, "%s db: could not hash the password (out of memory)\n", prog);
            return 1;
        }
        argv[i] = hashes[i];
    }
    return 0;
}

static int cmd_db(ph_app *app, const char *prog, int argc, char **argv)
{
    if (argc == 0 || is_help(argv[0])) {
        FILE *f = argc == 0 ? stderr : stdout;
        fprintf(f,
                "usage: %s db create                          create the missing tables\n"
                "       %s db drop [--yes]                    drop the tables\n"
                "       %s db add MODEL column=value ...      insert a row, print its id\n"
                "       %s db list MODEL [--columns a,b]      list rows\n"
                "       %s db models                          models, tables, columns\n"
                "       %s db check                           differences with the models\n"
                "       %s db migrate -m MESSAGE              write the next migration\n"
                "       %s db upgrade [REV]                   apply migrations (to head)\n"
                "       %s db downgrade REV                   revert migrations (to REV)\n"
                "       %s db current | history               the revision, the migrations\n"
                "       %s db stamp REV                       record REV without running it\n",
                prog, prog, prog, prog, prog, prog, prog, prog, prog, prog, prog);
        return argc == 0 ? EXIT_USAGE : 0;
    }
    if (open_database(app, prog) != 0)
        return 1;
    size_t n;
    const ph_model *const *models = ph_app_get_models(app, &n);
    int rc = 0;
    char(*hashes)[crypto_pwhash_STRBYTES + 64] = NULL;
    if (argc >= 2 && strcmp(argv[0], "add") == 0) {
        hashes = calloc((size_t)argc, sizeof(*hashes));
        if (!hashes)
            return 1;
        rc = hash_passwords(app, prog, argc, argv, hashes);
    }
    const char *mdir = ph_app_config_get(app, "MIGRATIONS_FOLDER");
    ph_cli_db_config dbc = {.database_url = ph_app_database_url(app),
                            .models = models,
                            .nmodels = n,
                            .migrations_dir = mdir ? mdir : "migrations"};
    if (rc == 0)
        rc = ph_cli_db_run(&dbc, argc, argv);
    if (hashes)
        sodium_memzero(hashes, (size_t)argc * sizeof(*hashes));
    free(hashes);
    return rc;
}

static void configure(ph_app *app)
{
    const char *level = ph_app_config_get(app, "LOG_LEVEL");
    ph_log_level lv;
    if (level && ph_log_parse_level(level, &lv) == 0)
        ph_log_set_level(lv);
    else if (level)
        ph_log_warn("LOG_LEVEL \"%s\": expected debug, info, warn, error or off", level);
    const char *log = ph_app_config_get(app, "ACCESS_LOG");
    if (log &&
        (strcmp(log, "0") == 0 || strcasecmp(log, "false") == 0 || strcasecmp(log, "off") == 0))
        ph_app_set_access_log(app, false);
}

int ph_app_main(ph_app *app, int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : "app";
    if (argc < 2) {
        usage(stderr, prog);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
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
        return EXIT_USAGE;
    }
    if (cmd->run != cmd_db && argc > 2 && is_help(argv[2])) {
        printf("usage: %s %s %s\n  %s\n", prog, cmd->name, cmd->args, cmd->help);
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: libsodium could not start\n", prog);
        return 1;
    }
    const char *cfg = getenv("PHIAL_CONFIG");
    if (cfg && *cfg && ph_app_config_load_file(app, cfg) < 0)
        return 1;
    configure(app);
    return cmd->run(app, prog, argc - 2, argv + 2);
}

int ph_main(const char *name, int (*setup)(ph_app *app), int argc, char **argv)
{
    ph_app *app = ph_app_new(name);
    if (!app) {
        fprintf(stderr, "%s: out of memory\n", name);
        return 1;
    }
    int rc = 1;
    if (setup(app) == 0)
        rc = ph_app_main(app, argc, argv);
    else
        fprintf(stderr, "%s: the application could not be set up (see the log above)\n", name);
    ph_app_free(app);
    return rc;
}
