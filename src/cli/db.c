/*
 * `app db ...`: create and drop the tables, add a row and list rows of a
 * model from the command line, and describe the models — what the
 * tutorial does in a Python interpreter (db.create_all(), db.session.add,
 * User.query.all()).  The migration subcommands are in migrate.c.
 */
#include "internal.h"
#include "phial/cli.h"
#include "phial/db.h"
#include "phial/orm.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage(void)
{
    fputs("usage: db create\n"
          "       db drop [--yes]\n"
          "       db add MODEL column=value ...\n"
          "       db list MODEL [--columns col1,col2]\n"
          "       db models\n"
          "       db check | migrate -m MESSAGE | upgrade [REV] | downgrade REV\n"
          "       db current | history | stamp REV\n",
          stderr);
}

static const ph_model *find_model(const ph_model *const *models, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(models[i]->name, name) == 0 || strcmp(models[i]->table, name) == 0)
            return models[i];
    return NULL;
}

static int unknown_model(const ph_model *const *models, size_t n, const char *name)
{
    fprintf(stderr, "db: unknown model '%s' (models:", name);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", models[i]->name);
    fputs(")\n", stderr);
    return EXIT_USAGE;
}

static void type_text(const ph_column *c, char *out, size_t len)
{
    if (c->type == PH_T_STRING)
        snprintf(out, len, "VARCHAR(%d)", c->length);
    else
        snprintf(out, len, "%s", ph_coltype_name(c->type));
}

static int cmd_models(const ph_model *const *models, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const ph_model *m = models[i];
        printf("%s (table %s)\n", m->name, m->table);
        for (size_t k = 0; k < m->ncolumns; k++) {
            const ph_column *c = &m->columns[k];
            char t[32];
            type_text(c, t, sizeof(t));
            printf("  %-20s %s%s%s%s%s", c->name, t, (c->flags & PH_PK) ? " PRIMARY KEY" : "",
                   (c->flags & (PH_PK | PH_NOT_NULL)) ? " NOT NULL" : "",
                   (c->flags & PH_UNIQUE) ? " UNIQUE" : "", (c->flags & PH_INDEX) ? " INDEX" : "");
            if (c->foreign_key)
                printf(" REFERENCES %s", c->foreign_key);
            if (c->default_value)
                printf(" DEFAULT %s", c->default_value);
            putchar('\n');
        }
    }
    return 0;
}

/* Connection and session for one command; returns 0 or prints and 1. */
typedef struct cli_ctx {
    ph_db *db;
    ph_db_conn *conn;
    ph_arena *arena;
    ph_session *s;
} cli_ctx;

static int open_ctx(cli_ctx *x, const char *url)
{
    memset(x, 0, sizeof(*x));
    char err[256];
    ph_db_config cfg = {.url = url};
    if (ph_db_open(&cfg, &x->db, err, sizeof(err)) != 0) {
        fprintf(stderr, "db: %s\n", err);
        return 1;
    }
    x->conn = ph_db_conn_new(x->db);
    x->arena = ph_arena_new(0);
    if (!x->conn || !x->arena) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    if (ph_db_conn_connect(x->conn) != 0) {
        fprintf(stderr, "db: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    x->s = ph_session_new(x->arena, x->conn);
    if (!x->s) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    return 0;
}

static void close_ctx(cli_ctx *x)
{
    ph_arena_free(x->arena); /* closes the session first */
    ph_db_conn_free(x->conn);
    ph_db_close(x->db);
}

/* Prints " a, b, c" (the model's column names) to stderr. */
static void list_columns(const ph_model *m)
{
    for (size_t k = 0; k < m->ncolumns; k++)
        fprintf(stderr, "%s%s", k ? ", " : " ", m->columns[k].name);
}

/* add: every argument is column=value, each column at most once; a value
 * that does not parse or does not fit its column (too long for String(n),
 * beyond a 32-bit Integer) and a NOT NULL column without a default left
 * out (all of them named in one message) are usage errors (2), found
 * before any SQL; what the database refuses (a UNIQUE column...) is 1. */
static int cmd_add(cli_ctx *x, const ph_model *m, int argc, char **argv)
{
    void *obj = ph_arena_calloc(x->arena, 1, m->size);
    if (!obj || m->ncolumns > 64) {
        fputs(obj ? "db add: more than 64 columns\n" : "db: out of memory\n", stderr);
        return 1;
    }
    uint64_t given = 0;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "db add: expected column=value, got '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        const ph_column *c = ph_model_column_n(m, argv[i], (size_t)(eq - argv[i]));
        if (!c) {
            fprintf(stderr, "db add: %s has no column '%.*s' (columns:", m->name,
                    (int)(eq - argv[i]), argv[i]);
            list_columns(m);
            fputs(")\n", stderr);
            return EXIT_USAGE;
        }
        uint64_t bit = 1ull << (size_t)(c - m->columns);
        if (given & bit) {
            fprintf(stderr, "db add: column %s given twice\n", c->name);
            return EXIT_USAGE;
        }
        given |= bit;
        int rc = ph_column_parse(c, obj, eq + 1, strlen(eq + 1), x->arena);
        if (rc) {
            char t[32];
            type_text(c, t, sizeof(t));
            fprintf(stderr, "db add: '%s' is not a valid %s for %s.%s\n", eq + 1, t, m->name,
                    c->name);
            return EXIT_USAGE;
        }
        char msg[256];
        if (!(c->flags & PH_PK) && ph_orm_validate(m, obj, bit, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "db add: %s\n", msg);
            return EXIT_USAGE;
        }
    }
    size_t missing = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k2 = 0;
        for (size_t k = 0; k < m->ncolumns; k++) {
            const ph_column *c = &m->columns[k];
            if ((given & (1ull << k)) || (c->flags & PH_PK) || !(c->flags & PH_NOT_NULL) ||
                c->default_value)
                continue;
            if (pass == 0)
                missing++;
            else
                fprintf(stderr, "%s%s", k2++ ? ", " : "", c->name);
        }
        if (!missing)
            break;
        if (pass == 0)
            fprintf(stderr, "db add: %s needs %s (NOT NULL, no default): ", m->name,
                    missing == 1 ? "a value for column" : "values for columns");
        else
            fputs("; give each as column=value\n", stderr);
    }
    if (missing)
        return EXIT_USAGE;
    int rc = ph_session_add(x->s, m, obj);
    if (rc == 0)
        rc = ph_session_commit(x->s);
    if (rc) {
        fprintf(stderr, "db add: %s\n", ph_session_errmsg(x->s));
        return 1;
    }
    printf("%lld\n", (long long)*(int64_t *)PH_FIELD(obj, ph_model_pk(m)));
    return 0;
}

static int cmd_list(cli_ctx *x, const ph_model *m, const char *columns)
{
    const ph_column *cols[64];
    size_t ncols = 0;
    if (columns) {
        const char *p = columns;
        if (!*p) {
            fprintf(stderr, "db list: --columns is empty; name one or more of:");
            list_columns(m);
            fputs(" (comma-separated)\n", stderr);
            return EXIT_USAGE;
        }
        for (;;) {
            size_t len = strcspn(p, ",");
            const ph_column *c = len ? ph_model_column_n(m, p, len) : NULL;
            if (!c) {
                if (len)
                    fprintf(stderr, "db list: %s has no column '%.*s' (columns:", m->name,
                            (int)len, p);
                else
                    fprintf(stderr, "db list: an empty name in --columns '%s' (columns:",
                            columns);
                list_columns(m);
                fputs(")\n", stderr);
                return EXIT_USAGE;
            }
            if (ncols == PH_COUNTOF(cols)) {
                fputs("db list: too many columns\n", stderr);
                return EXIT_USAGE;
            }
            cols[ncols++] = c;
            p += len;
            if (*p != ',')
                break;
            p++;
        }
    }
    ph_query *q = ph_query_new(x->s, m);
    if (!q) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    ph_query_order_by(q, ph_model_pk(m)->name, PH_ASC);
    void **rows;
    size_t n;
    if (ph_query_all(q, &rows, &n) != 0) {
        fprintf(stderr, "db list: %s\n", ph_session_errmsg(x->s));
        return 1;
    }
    ph_buf b;
    ph_buf_init(&b, x->arena);
    if (!columns) {
        ph_buf_putc(&b, '[');
        for (size_t i = 0; i < n; i++)
            ph_buf_printf(&b, "%s<%s %lld>", i ? ", " : "", m->name,
                          (long long)*(int64_t *)PH_FIELD(rows[i], ph_model_pk(m)));
        ph_buf_puts(&b, "]\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < ncols; k++) {
                if (k)
                    ph_buf_putc(&b, '\t');
                ph_column_format(cols[k], rows[i], &b);
            }
            ph_buf_putc(&b, '\n');
        }
    }
    if (ph_buf_status(&b)) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    if (b.len)
        fwrite(b.ptr, 1, b.len, stdout);
    return 0;
}

/* create: a database that had none of the models' tables gets them all and
 * is recorded at the migrations' head (as Alembic's docs advise after
 * create_all), so `db upgrade` later applies only newer migrations.  drop:
 * the recorded revision goes with the tables. */
static int cmd_create_drop(cli_ctx *x, const ph_cli_db_config *cfg, bool create)
{
    const ph_model *const *models = cfg->models;
    size_t n = cfg->nmodels;
    const char *verb = create ? "create" : "drop";
    bool *existed = ph_arena_calloc(x->arena, n ? n : 1, sizeof(bool));
    if (!existed) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    size_t nexisted = 0;
    for (size_t i = 0; i < n; i++) {
        int e = ph_orm_table_exists(x->conn, models[i]->table);
        if (e < 0) {
            fprintf(stderr, "db %s: %s\n", verb, ph_db_errmsg(x->conn));
            return 1;
        }
        existed[i] = e == 1;
        nexisted += existed[i];
    }
    int rc = create ? ph_orm_create_all(x->conn, models, n) : ph_orm_drop_all(x->conn, models, n);
    if (rc == 0 && !create)
        rc = ph_db_exec_script(x->conn, "DROP TABLE IF EXISTS " PH_MIGRATE_VERSION_TABLE);
    if (rc) {
        fprintf(stderr, "db %s: %s\n", verb, ph_db_errmsg(x->conn));
        return 1;
    }
    size_t changed = create ? n - nexisted : nexisted;
    if (changed == 0) {
        if (create)
            printf("nothing to create: all %zu tables exist\n", n);
        else
            printf("nothing to drop: none of the %zu tables exists\n", n);
    } else {
        printf("%s %zu table%s:", create ? "created" : "dropped", changed, changed == 1 ? "" : "s");
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (existed[i] != create)
                printf("%s %s", k++ ? "," : "", models[i]->table);
        putchar('\n');
    }
    if (create && nexisted == 0)
        ph__cli_stamp_created(cfg, x->conn);
    return 0;
}

int ph_cli_db(const char *database_url, const ph_model *const *models, size_t nmodels, int argc,
              char **argv)
{
    ph_cli_db_config cfg = {.database_url = database_url, .models = models, .nmodels = nmodels};
    return ph_cli_db_run(&cfg, argc, argv);
}

int ph_cli_db_run(const ph_cli_db_config *cfg, int argc, char **argv)
{
    const char *database_url = cfg->database_url;
    const ph_model *const *models = cfg->models;
    size_t nmodels = cfg->nmodels;
    if (argc < 1 || !argv[0]) {
        usage();
        return EXIT_USAGE;
    }
    const char *cmd = argv[0];
    for (size_t i = 0; i < nmodels; i++) {
        char err[200];
        if (ph_model_check(models[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "db: bad model: %s\n", err);
            return 1;
        }
    }
    if (ph__cli_is_migrate_command(cmd))
        return ph__cli_migrate(cfg, argc, argv);
    if (strcmp(cmd, "models") == 0) {
        if (argc != 1) {
            usage();
            return EXIT_USAGE;
        }
        return cmd_models(models, nmodels);
    }
    const ph_model *m = NULL;
    const char *columns = NULL;
    if (strcmp(cmd, "create") == 0) {
        if (argc != 1) {
            usage();
            return EXIT_USAGE;
        }
    } else if (strcmp(cmd, "drop") == 0) {
        bool yes = argc == 2 && strcmp(argv[1], "--yes") == 0;
        if (argc > 2 || (argc == 2 && !yes)) {
            usage();
            return EXIT_USAGE;
        }
        if (!yes) {
            if (!isatty(STDIN_FILENO)) {
                fputs("db drop: refusing to drop tables without a terminal; pass --yes\n", stderr);
                return 1;
            }
            printf("Drop every table of %zu models from %s? [y/N] ", nmodels, database_url);
            fflush(stdout);
            char line[16];
            if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y')) {
                puts("not dropped");
                return 1;
            }
        }
    } else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "list") == 0) {
        if (argc < 2) {
            usage();
            return EXIT_USAGE;
        }
        m = find_model(models, nmodels, argv[1]);
        if (!m)
            return unknown_model(models, nmodels, argv[1]);
        if (cmd[0] == 'l') {
            if (argc == 4 && strcmp(argv[2], "--columns") == 0) {
                columns = argv[3];
            } else if (argc == 3 && strncmp(argv[2], "--columns=", 10) == 0) {
                columns = argv[2] + 10;
            } else if (argc != 2) {
                usage();
                return EXIT_USAGE;
            }
        }
    } else {
        fprintf(stderr, "db: unknown command '%s'\n", cmd);
        usage();
        return EXIT_USAGE;
    }
    cli_ctx x;
    int rc = open_ctx(&x, database_url);
    if (rc == 0) {
        if (strcmp(cmd, "create") == 0)
            rc = cmd_create_drop(&x, cfg, true);
        else if (strcmp(cmd, "drop") == 0)
            rc = cmd_create_drop(&x, cfg, false);
        else if (strcmp(cmd, "add") == 0)
            rc = cmd_add(&x, m, argc - 2, argv + 2);
        else
            rc = cmd_list(&x, m, columns);
    }
    close_ctx(&x);
    fflush(stdout);
    return rc;
}
