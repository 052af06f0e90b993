/*
 * `app db check|migrate|upgrade|downgrade|current|history|stamp`: the
 * command-line face of schema migrations (phial/migrate.h), like
 * Flask-Migrate's `flask db ...`.  Migrations are read from the
 * application's folder or from the table compiled into the binary.
 */
#include "internal.h"
#include "phial/migrate.h"
#include "phial/orm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *const commands[] = {"check",   "migrate", "upgrade", "downgrade",
                                       "current", "history", "stamp"};

bool ph__cli_is_migrate_command(const char *cmd)
{
    for (size_t i = 0; i < PH_COUNTOF(commands); i++)
        if (strcmp(cmd, commands[i]) == 0)
            return true;
    return false;
}

typedef struct mctx {
    const ph_cli_db_config *cfg;
    const char *dir;
    ph_db *db;
    ph_db_conn *conn;
    ph_migrations *migs;
} mctx;

static int open_db(mctx *x)
{
    char err[256];
    ph_db_config dc = {.url = x->cfg->database_url};
    if (ph_db_open(&dc, &x->db, err, sizeof(err)) != 0) {
        fprintf(stderr, "db: %s\n", err);
        return 1;
    }
    x->conn = ph_db_conn_new(x->db);
    if (!x->conn) {
        fputs("db: out of memory\n", stderr);
        return 1;
    }
    if (ph_db_conn_connect(x->conn) != 0) {
        fprintf(stderr, "db: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    return 0;
}

static int load_migrations(mctx *x)
{
    char err[512] = "";
    ph_migration_file *files = NULL;
    size_t n = 0;
    int rc;
    if (x->cfg->migrations) {
        rc = ph_migrate_load(x->cfg->migrations, x->cfg->nmigrations, &x->migs, err, sizeof(err));
    } else {
        rc = ph_migrate_read_dir(x->dir, &files, &n, err, sizeof(err));
        if (rc == 0)
            rc = ph_migrate_load(files, n, &x->migs, err, sizeof(err));
        ph_migrate_files_free(files, n);
    }
    if (rc) {
        fprintf(stderr, "db: migrations: %s\n", err);
        return 1;
    }
    return 0;
}

static void close_ctx(mctx *x)
{
    ph_migrate_free(x->migs);
    ph_db_conn_free(x->conn);
    ph_db_close(x->db);
}

static void progress(void *ud, const ph_migration *m, bool up)
{
    (void)ud;
    if (up)
        printf("upgrade %s -> %s: %s\n", m->down_revision, m->revision, m->message);
    else
        printf("downgrade %s -> %s: %s\n", m->revision, m->down_revision, m->message);
    fflush(stdout);
}

static int cmd_check(mctx *x)
{
    ph_schema_diff *d;
    if (ph_migrate_compare(x->conn, x->cfg->models, x->cfg->nmodels, &d) != 0) {
        fprintf(stderr, "db check: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    size_t n = ph_schema_diff_count(d);
    ph_schema_diff_print(d, stdout);
    ph_schema_diff_free(d);
    if (n) {
        fprintf(stderr,
                "db check: %zu difference%s between the database and the models; `db upgrade` "
                "applies pending migrations, `db migrate -m MESSAGE` writes a new one\n",
                n, n == 1 ? "" : "s");
        return 1;
    }
    printf("the database matches the models (%zu tables)\n", x->cfg->nmodels);
    return 0;
}

/* A file-name slug of the message: lower-case letters, digits, '_'. */
static void slug(const char *msg, char *out, size_t len)
{
    size_t k = 0;
    bool sep = false;
    for (const char *p = msg; *p && k + 2 < len; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (sep && k)
                out[k++] = '_';
            out[k++] = ch;
            sep = false;
        } else {
            sep = true;
        }
        if (k >= 40)
            break;
    }
    out[k] = '\0';
    if (!k)
        snprintf(out, len, "migration");
}

static int cmd_migrate(mctx *x, const char *message)
{
    if (x->cfg->migrations) {
        fputs("db migrate: this binary's migrations are compiled in; run db migrate from the "
              "source tree\n",
              stderr);
        return 1;
    }
    for (const char *p = message; *p; p++)
        if (*p == '\n' || *p == '\r') {
            fputs("db migrate: the message must be one line\n", stderr);
            return EXIT_USAGE;
        }
    char cur[64];
    if (ph_migrate_current(x->conn, cur, sizeof(cur)) != 0) {
        fprintf(stderr, "db migrate: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    const char *head = ph_migrate_head(x->migs);
    if (strcmp(cur, head) != 0) {
        fprintf(stderr,
                "db migrate: the database is at %s, the migrations at %s: run `db upgrade` "
                "first, so that the new migration starts from the last one\n",
                cur, head);
        return 1;
    }
    /* the next number after the newest migration's leading digits */
    long next = 1;
    for (size_t i = 0; i < ph_migrate_count(x->migs); i++) {
        long v = strtol(ph_migrate_at(x->migs, i)->revision, NULL, 10);
        if (v >= next)
            next = v + 1;
    }
    char rev[32], name[64];
    snprintf(rev, sizeof(rev), "%04ld", next);
    slug(message, name, sizeof(name));
    ph_buf text;
    ph_buf_init(&text, NULL);
    size_t warnings = 0;
    int rc = ph_migrate_generate(x->conn, x->cfg->models, x->cfg->nmodels, rev, head, message,
                                 &text, &warnings);
    if (rc == PH_ENOTFOUND) {
        ph_buf_free(&text);
        puts("the database matches the models: no migration written");
        return 0;
    }
    if (rc) {
        ph_buf_free(&text);
        fprintf(stderr, "db migrate: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    if (mkdir(x->dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "db migrate: cannot make %s: %s\n", x->dir, strerror(errno));
        ph_buf_free(&text);
        return 1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s_%s.sql", x->dir, rev, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ssize_t w = fd >= 0 ? write(fd, text.ptr, text.len) : -1;
    if (fd < 0 || w != (ssize_t)text.len || close(fd) != 0) {
        fprintf(stderr, "db migrate: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            unlink(path);
        ph_buf_free(&text);
        return 1;
    }
    ph_buf_free(&text);
    printf("wrote %s\n", path);
    if (warnings)
        fprintf(stderr,
                "db migrate: %zu WARNING%s in the file: read them before `db upgrade`\n",
                warnings, warnings == 1 ? "" : "s");
    return 0;
}

static int cmd_move(mctx *x, const char *target, bool up)
{
    size_t n = 0;
    char before[64] = "";
    if (ph_migrate_current(x->conn, before, sizeof(before)) != 0)
        before[0] = '\0';
    int rc = up ? ph_migrate_upgrade(x->conn, x->migs, target, progress, NULL, &n)
                : ph_migrate_downgrade(x->conn, x->migs, target, progress, NULL, &n);
    if (rc) {
        fprintf(stderr, "db %s: %s\n", up ? "upgrade" : "downgrade", ph_db_errmsg(x->conn));
        fputs("nothing was changed: the run is one transaction, rolled back\n", stderr);
        if (up && strcmp(before, "base") == 0)
            fputs("if the tables were made by `db create` or by the Flask version, adopt "
                  "them first: `db stamp REV` records the revision they match (see db "
                  "history)\n",
                  stderr);
        return 1;
    }
    char cur[64];
    if (ph_migrate_current(x->conn, cur, sizeof(cur)) != 0) {
        fprintf(stderr, "db: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    printf("%zu migration%s %s; the database is at %s%s\n", n, n == 1 ? "" : "s",
           up ? "applied" : "reverted", cur,
           strcmp(cur, ph_migrate_head(x->migs)) == 0 ? " (head)" : "");
    return 0;
}

static int cmd_current(mctx *x)
{
    char cur[64];
    if (ph_migrate_current(x->conn, cur, sizeof(cur)) != 0) {
        fprintf(stderr, "db current: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    const ph_migration *m = ph_migrate_find(x->migs, cur);
    printf("%s%s%s%s\n", cur, strcmp(cur, ph_migrate_head(x->migs)) == 0 ? " (head)" : "",
           m ? ": " : "", m ? m->message : "");
    if (!m && strcmp(cur, "base") != 0) {
        fprintf(stderr, "db current: no migration file has revision %s\n", cur);
        return 1;
    }
    return 0;
}

static int cmd_history(mctx *x)
{
    char cur[64] = "";
    if (x->conn && ph_migrate_current(x->conn, cur, sizeof(cur)) != 0)
        cur[0] = '\0';
    size_t n = ph_migrate_count(x->migs);
    for (size_t i = n; i-- > 0;) {
        const ph_migration *m = ph_migrate_at(x->migs, i);
        printf("%s -> %s%s%s, %s  [%s]\n", m->down_revision, m->revision,
               i == n - 1 ? " (head)" : "", strcmp(cur, m->revision) == 0 ? " (current)" : "",
               m->message, m->file);
    }
    if (!n)
        printf("no migrations in %s\n", x->cfg->migrations ? "this binary" : x->dir);
    return 0;
}

static int cmd_stamp(mctx *x, const char *rev)
{
    if (ph_migrate_stamp(x->conn, x->migs, rev) != 0) {
        fprintf(stderr, "db stamp: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    char cur[64];
    if (ph_migrate_current(x->conn, cur, sizeof(cur)) != 0) {
        fprintf(stderr, "db stamp: %s\n", ph_db_errmsg(x->conn));
        return 1;
    }
    printf("the database is marked as at %s (nothing was run)\n", cur);
    return 0;
}

void ph__cli_stamp_created(const ph_cli_db_config *cfg, ph_db_conn *c)
{
    mctx x = {.cfg = cfg, .dir = cfg->migrations_dir ? cfg->migrations_dir : "migrations"};
    char cur[64];
    if (load_migrations(&x) != 0 || ph_migrate_count(x.migs) == 0) {
        ph_migrate_free(x.migs);
        return;
    }
    if (ph_migrate_current(c, cur, sizeof(cur)) == 0 && strcmp(cur, "base") == 0) {
        if (ph_migrate_stamp(c, x.migs, "head") == 0)
            printf("recorded migration %s as applied: db upgrade has nothing to do until a newer "
                   "migration\n",
                   ph_migrate_head(x.migs));
        else
            fprintf(stderr, "db create: warning: could not record the migration revision: %s\n",
                    ph_db_errmsg(c));
    }
    ph_migrate_free(x.migs);
}

int ph__cli_migrate(const ph_cli_db_config *cfg, int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *arg = NULL;
    bool ok;
    if (strcmp(cmd, "migrate") == 0) {
        if (argc == 3 && strcmp(argv[1], "-m") == 0)
            arg = argv[2];
        else if (argc == 2 && strncmp(argv[1], "--message=", 10) == 0)
            arg = argv[1] + 10;
        ok = arg && *arg;
    } else if (strcmp(cmd, "upgrade") == 0) {
        ok = argc <= 2;
        arg = argc == 2 ? argv[1] : "head";
    } else if (strcmp(cmd, "downgrade") == 0 || strcmp(cmd, "stamp") == 0) {
        ok = argc == 2;
        arg = ok ? argv[1] : NULL;
    } else {
        ok = argc == 1;
    }
    if (!ok) {
        fprintf(stderr,
                "usage: db check | migrate -m MESSAGE | upgrade [REV] | downgrade REV | current "
                "| history | stamp REV\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < cfg->nmodels; i++) {
        char err[200];
        if (ph_model_check(cfg->models[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "db: bad model: %s\n", err);
            return 1;
        }
    }
    mctx x = {.cfg = cfg, .dir = cfg->migrations_dir ? cfg->migrations_dir : "migrations"};
    int rc = strcmp(cmd, "check") == 0 ? 0 : load_migrations(&x);
    if (rc == 0)
        rc = open_db(&x);
    if (rc == 0) {
        if (strcmp(cmd, "check") == 0)
            rc = cmd_check(&x);
        else if (strcmp(cmd, "migrate") == 0)
            rc = cmd_migrate(&x, arg);
        else if (strcmp(cmd, "upgrade") == 0)
            rc = cmd_move(&x, arg, true);
        else if (strcmp(cmd, "downgrade") == 0)
            rc = cmd_move(&x, arg, false);
        else if (strcmp(cmd, "current") == 0)
            rc = cmd_current(&x);
        else if (strcmp(cmd, "history") == 0)
            rc = cmd_history(&x);
        else
            rc = cmd_stamp(&x, arg);
    }
    close_ctx(&x);
    fflush(stdout);
    return rc;
}
