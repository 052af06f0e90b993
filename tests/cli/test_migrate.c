/*
 * Tests of schema migrations (phial/migrate.h and `app db
 * check|migrate|upgrade|downgrade|current|history|stamp`) on SQLite and on
 * PostgreSQL (a schema of its own in PHIAL_TEST_PG_URL's database): a model
 * gains a column with a default while its table has rows; a String(100)
 * NOT NULL becomes a nullable String(200) with a foreign key pointing at
 * the table (SQLite: the rebuild); a migration failing in the middle of a
 * run leaves the database as it was; two processes upgrading at once apply
 * once; the application's migrations adopt a registration.db made by the
 * Flask peer, which Flask reads again afterwards; bad migration files are
 * refused with messages naming the file.
 */
#include "phial/cli.h"
#include "phial/migrate.h"
#include "phial/orm.h"
#include "test.h"

#include "../../app/models.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the test models, in three versions -------------------------------------------- */

typedef struct Owner1 {
    ph_obj _ph;
    int64_t id;
    const char *name;
} Owner1;
typedef struct Owner2 {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_int64_opt score; /* NOT NULL, default 7: unset must be distinguishable from 0 */
} Owner2;
typedef struct Pet {
    ph_obj _ph;
    int64_t id;
    const char *name;
    int64_t owner_id;
} Pet;

static const ph_column Owner1_columns[] = {
    PH_INTEGER(Owner1, id, PH_PK),
    PH_STRING(Owner1, name, 100, PH_NOT_NULL),
};
static const ph_model Owner1_model = PH_MODEL(Owner1, "mig_owner", Owner1_columns);
/* v2: a column with a default */
static const ph_column Owner2_columns[] = {
    PH_INTEGER(Owner2, id, PH_PK),
    PH_STRING(Owner2, name, 100, PH_NOT_NULL),
    PH_INTEGER(Owner2, score, PH_NOT_NULL, .default_value = "7"),
};
static const ph_model Owner2_model = PH_MODEL(Owner2, "mig_owner", Owner2_columns);
/* v3: name becomes a nullable String(200) */
static const ph_column Owner3_columns[] = {
    PH_INTEGER(Owner2, id, PH_PK),
    PH_STRING(Owner2, name, 200, 0),
    PH_INTEGER(Owner2, score, PH_NOT_NULL, .default_value = "7"),
};
static const ph_model Owner3_model = PH_MODEL(Owner2, "mig_owner", Owner3_columns);
static const ph_column Pet_columns[] = {
    PH_INTEGER(Pet, id, PH_PK),
    PH_STRING(Pet, name, 100, PH_NOT_NULL),
    PH_INTEGER(Pet, owner_id, PH_NOT_NULL, .foreign_key = "mig_owner.id"),
};
static const ph_model Pet_model = PH_MODEL(Pet, "mig_pet", Pet_columns);

static const ph_model *const v1[] = {&Owner1_model, &Pet_model};
static const ph_model *const v2[] = {&Owner2_model, &Pet_model};
static const ph_model *const v3[] = {&Owner3_model, &Pet_model};

/* ---- helpers ------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 17);
    if (f && buf) {
        size_t n = fread(buf, 1, (1 << 17) - 1, f);
        buf[n] = '\0';
    }
    if (f)
        fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

typedef struct result {
    int status;
    char *out, *err;
} result;

static void done(result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs ph_cli_db_run with stdout/stderr captured. */
static result cli_run(const ph_cli_db_config *cfg, int argc, char **argv)
{
    const char *dir = getenv("PHIAL_BUILD");
    char o[512], e[512];
    snprintf(o, sizeof(o), "%s/phial-mig-%ld.out", dir && *dir ? dir : "/tmp", (long)getpid());
    snprintf(e, sizeof(e), "%s/phial-mig-%ld.err", dir && *dir ? dir : "/tmp", (long)getpid());
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    result r;
    r.status = ph_cli_db_run(cfg, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    r.out = slurp(o);
    r.err = slurp(e);
    unlink(o);
    unlink(e);
    return r;
}

typedef struct env {
    ph_dialect d;
    char url[700];
    char dir[512];
    char path[512]; /* SQLite file */
    ph_db *db;
    ph_db_conn *c;
} env;

static result cli(env *e, const ph_model *const *models, size_t n, int argc, char **argv)
{
    ph_cli_db_config cfg = {
        .database_url = e->url, .models = models, .nmodels = n, .migrations_dir = e->dir};
    return cli_run(&cfg, argc, argv);
}

#define CLI(e, models, ...)                                                                        \
    cli((e), (models), PH_COUNTOF(models), (int)PH_COUNTOF(((char *[]){__VA_ARGS__})),             \
        (char *[]){__VA_ARGS__})

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void rm_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static const char *pg_url(void)
{
    const char *u = getenv("PHIAL_TEST_PG_URL");
    return u && *u ? u : NULL;
}

/* A fresh database and migrations folder: a SQLite file, or a PostgreSQL
 * schema `name` (search_path set through the URL).  0, or 1 when
 * PostgreSQL is not configured. */
static int env_open(env *e, ph_dialect d, const char *name)
{
    memset(e, 0, sizeof(*e));
    e->d = d;
    const char *b = getenv("PHIAL_BUILD");
    b = b && *b ? b : "/tmp";
    snprintf(e->dir, sizeof(e->dir), "%s/phial-mig-%ld-%s", b, (long)getpid(), name);
    rm_dir(e->dir);
    if (d == PH_DB_SQLITE) {
        snprintf(e->path, sizeof(e->path), "%s/phial-mig-%ld-%s.db", b, (long)getpid(), name);
        rm_db(e->path);
        snprintf(e->url, sizeof(e->url), "sqlite:///%s", e->path);
    } else {
        if (!pg_url())
            return 1;
        /* make the schema through a plain connection */
        ph_db_config cfg = {.url = pg_url()};
        ph_db *db;
        char err[256];
        if (ph_db_open(&cfg, &db, err, sizeof(err)) == 0) {
            ph_db_conn *c = ph_db_conn_new(db);
            char sql[256];
            snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name,
                     name);
            CHECK_INT(ph_db_exec_script(c, sql), 0);
            ph_db_conn_free(c);
            ph_db_close(db);
        }
        snprintf(e->url, sizeof(e->url), "%s%soptions=-csearch_path%%3D%s", pg_url(),
                 strchr(pg_url(), '?') ? "&" : "?", name);
    }
    ph_db_config cfg = {.url = e->url};
    char err[256];
    CHECK_INT(ph_db_open(&cfg, &e->db, err, sizeof(err)), 0);
    e->c = e->db ? ph_db_conn_new(e->db) : NULL;
    CHECK(e->c != NULL);
    return 0;
}

static void env_close(env *e)
{
    ph_db_conn_free(e->c);
    ph_db_close(e->db);
    rm_dir(e->dir);
    if (e->d == PH_DB_SQLITE)
        rm_db(e->path);
}

static int64_t qint(env *e, const char *sql)
{
    int64_t v = -1;
    int rc = ph_db_query_int(e->c, sql, NULL, 0, &v);
    if (rc) {
        fprintf(stderr, "  query failed: %s: %s\n", sql, ph_db_errmsg(e->c));
        return -1;
    }
    return v;
}

static int exec(env *e, const char *sql)
{
    return ph_db_exec_script(e->c, sql);
}

/* The text of the one migration file of dir whose name starts with prefix. */
static char *migration_text(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    char *text = NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            char p[1024];
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            text = slurp(p);
        }
    }
    if (d)
        closedir(d);
    return text;
}

static char *current(env *e)
{
    static char rev[64];
    if (ph_migrate_current(e->c, rev, sizeof(rev)) != 0)
        snprintf(rev, sizeof(rev), "error: %s", ph_db_errmsg(e->c));
    return rev;
}

/* ---- every kind of difference, found and fixed ----------------------------------------- */

typedef struct Shop {
    ph_obj _ph;
    int64_t id;
    const char *code;
    const char *city;
    int64_t rating;
} Shop;
typedef struct Item {
    ph_obj _ph;
    int64_t id;
    int64_t shop_id;
    const char *label;
} Item;
static const ph_column Shop_columns[] = {
    PH_INTEGER(Shop, id, PH_PK),
    PH_STRING(Shop, code, 20, PH_NOT_NULL | PH_UNIQUE),
    PH_STRING(Shop, city, 50, PH_INDEX),
    PH_INTEGER(Shop, rating, PH_NOT_NULL, .default_value = "3"),
};
static const ph_model Shop_model = PH_MODEL(Shop, "mig_shop", Shop_columns);
static const ph_column Item_columns[] = {
    PH_INTEGER(Item, id, PH_PK),
    PH_INTEGER(Item, shop_id, PH_NOT_NULL, .foreign_key = "mig_shop.id",
               .ondelete = PH_ONDELETE_CASCADE),
    PH_TEXT(Item, label, 0),
};
static const ph_model Item_model = PH_MODEL(Item, "mig_item", Item_columns);
static const ph_model *const shop_models[] = {&Shop_model, &Item_model};

static bool has_diff(const ph_schema_diff *d, ph_diff_kind k, const char *table, const char *name)
{
    for (size_t i = 0; i < ph_schema_diff_count(d); i++) {
        const ph_diff *x = ph_schema_diff_at(d, i);
        if (x->kind == k && strcmp(x->table, table) == 0 &&
            (!name || (x->name && strcmp(x->name, name) == 0)))
            return true;
    }
    return false;
}

static void every_difference(ph_dialect d, const char *schema)
{
    env e;
    if (env_open(&e, d, schema) != 0)
        return;
    CHECK_INT(exec(&e, "CREATE TABLE mig_shop (id INTEGER NOT NULL, code VARCHAR(20) NOT NULL, "
                       "city VARCHAR(50), rating INTEGER NOT NULL DEFAULT 5, extra INTEGER, "
                       "PRIMARY KEY (id));"
                       "CREATE TABLE mig_item (id INTEGER NOT NULL, shop_id INTEGER NOT NULL, "
                       "label VARCHAR(10), PRIMARY KEY (id), FOREIGN KEY (shop_id) REFERENCES "
                       "mig_shop (id));"
                       "CREATE INDEX ix_item_label ON mig_item (label);"
                       "CREATE TABLE mig_other (id INTEGER PRIMARY KEY);"
                       "INSERT INTO mig_shop (id, code, city, extra) VALUES (1, 'a', 'Oslo', 9), "
                       "(2, 'b', 'Rome', 8);"
                       "INSERT INTO mig_item (id, shop_id, label) VALUES (1, 1, 'x'), (2, 2, 'y')"),
              0);
    ph_schema_diff *diff = NULL;
    CHECK_INT(ph_migrate_compare(e.c, shop_models, 2, &diff), 0);
    if (!diff) {
        env_close(&e);
        return;
    }
    CHECK(has_diff(diff, PH_DIFF_UNIQUE_MISSING, "mig_shop", "code"));
    CHECK(has_diff(diff, PH_DIFF_INDEX_MISSING, "mig_shop", "city"));
    CHECK(has_diff(diff, PH_DIFF_DEFAULT, "mig_shop", "rating"));
    CHECK(has_diff(diff, PH_DIFF_COLUMN_EXTRA, "mig_shop", "extra"));
    CHECK(has_diff(diff, PH_DIFF_FK_MISSING, "mig_item", "shop_id"));
    CHECK(has_diff(diff, PH_DIFF_FK_EXTRA, "mig_item", "shop_id"));
    CHECK(has_diff(diff, PH_DIFF_TYPE, "mig_item", "label"));
    CHECK(has_diff(diff, PH_DIFF_INDEX_EXTRA, "mig_item", "label"));
    CHECK(has_diff(diff, PH_DIFF_TABLE_EXTRA, "mig_other", NULL));
    CHECK_INT(ph_schema_diff_count(diff), 9);
    ph_schema_diff_free(diff);

    /* the generated migration fixes all but the table no model declares,
     * keeps the rows, and its downgrade brings the old schema back */
    ph_buf text;
    ph_buf_init(&text, NULL);
    size_t warnings = 0;
    CHECK_INT(ph_migrate_generate(e.c, shop_models, 2, "0001", "base", "fix", &text, &warnings),
              0);
    CHECK_INT(warnings, 2); /* the dropped column, the table left alone */
    CHECK_CONTAINS(text.ptr, "-- DROP TABLE \"mig_other\";");
    ph_migration_file f = {"0001_fix.sql", text.ptr ? text.ptr : "", text.len};
    ph_migrations *m = NULL;
    char err[300];
    CHECK_INT(ph_migrate_load(&f, 1, &m, err, sizeof(err)), 0);
    CHECK_INT(m ? ph_migrate_upgrade(e.c, m, NULL, NULL, NULL, NULL) : -1, 0);
    if (m && ph_db_errmsg(e.c)[0])
        fprintf(stderr, "  %s\n%s\n", ph_db_errmsg(e.c), text.ptr);
    CHECK_INT(ph_migrate_compare(e.c, shop_models, 2, &diff), 0);
    if (diff) {
        CHECK_INT(ph_schema_diff_count(diff), 1);
        CHECK(has_diff(diff, PH_DIFF_TABLE_EXTRA, "mig_other", NULL));
        if (ph_schema_diff_count(diff) != 1)
            ph_schema_diff_print(diff, stderr);
        ph_schema_diff_free(diff);
    }
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_shop WHERE (id = 1 AND code = 'a' AND city = "
                       "'Oslo') OR (id = 2 AND code = 'b' AND city = 'Rome')"),
              2);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_item i JOIN mig_shop s ON s.id = i.shop_id"), 2);
    /* the new constraints hold: UNIQUE, and ON DELETE CASCADE */
    CHECK_INT(exec(&e, "INSERT INTO mig_shop (id, code, rating) VALUES (3, 'a', 1)"),
              PH_ECONSTRAINT);
    CHECK_INT(exec(&e, "DELETE FROM mig_shop WHERE id = 1"), 0);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_item"), 1);
    /* back */
    CHECK_INT(m ? ph_migrate_downgrade(e.c, m, "base", NULL, NULL, NULL) : -1, 0);
    CHECK_INT(ph_migrate_compare(e.c, shop_models, 2, &diff), 0);
    if (diff) {
        CHECK_INT(ph_schema_diff_count(diff), 9);
        ph_schema_diff_free(diff);
    }
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_shop"), 1);
    ph_migrate_free(m);
    ph_buf_free(&text);
    env_close(&e);
}

static void test_every_difference_sqlite(void)
{
    every_difference(PH_DB_SQLITE, "every");
}

static void test_every_difference_pg(void)
{
    every_difference(PH_DB_POSTGRES, "migtest_every");
}

/* ---- a model changes, with rows in its table --------------------------------------- */

static void model_changes(ph_dialect d, const char *schema)
{
    env e;
    if (env_open(&e, d, schema) != 0)
        return;
    /* the first migration, from the v1 models */
    result r = CLI(&e, v1, "migrate", "-m", "initial");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "0001_initial.sql");
    done(&r);
    r = CLI(&e, v1, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "1 migration applied; the database is at 0001 (head)");
    done(&r);
    CHECK_INT(exec(&e, "INSERT INTO mig_owner (id, name) VALUES (1, 'Ann'), (2, 'Bob');"
                       "INSERT INTO mig_pet (id, name, owner_id) VALUES (1, 'Rex', 1), "
                       "(2, 'Tom', 2), (3, 'Kit', 2)"),
              0);
    r = CLI(&e, v1, "check");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "the database matches the models");
    done(&r);
    r = CLI(&e, v1, "migrate", "-m", "nothing");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "no migration written");
    done(&r);

    /* v2: a column with a default */
    r = CLI(&e, v2, "check");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.out, "table mig_owner: column score is missing (model: INTEGER)");
    done(&r);
    r = CLI(&e, v2, "migrate", "-m", "Add score!");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "0002_add_score.sql");
    done(&r);
    char *text = migration_text(e.dir, "0002_");
    CHECK_CONTAINS(text, "-- down_revision: 0001");
    CHECK_CONTAINS(text, "ALTER TABLE \"mig_owner\" ADD COLUMN \"score\" INTEGER NOT NULL DEFAULT 7");
    CHECK_CONTAINS(text, "DROP COLUMN \"score\"");
    free(text);
    r = CLI(&e, v2, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "upgrade 0001 -> 0002: Add score!");
    done(&r);
    r = CLI(&e, v2, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_owner"), 2);
    CHECK_INT(qint(&e, "SELECT sum(score) FROM mig_owner"), 14);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_owner WHERE (id = 1 AND name = 'Ann') OR "
                       "(id = 2 AND name = 'Bob')"),
              2);
    r = CLI(&e, v2, "current");
    CHECK_STR(r.out, "0002 (head): Add score!\n");
    done(&r);
    r = CLI(&e, v2, "history");
    CHECK_CONTAINS(r.out, "0001 -> 0002 (head) (current), Add score!  [0002_add_score.sql]\n"
                          "base -> 0001, initial  [0001_initial.sql]\n");
    done(&r);
    /* downgrade removes it, rows kept */
    r = CLI(&e, v2, "downgrade", "0001");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "1 migration reverted; the database is at 0001");
    done(&r);
    r = CLI(&e, v1, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_owner"), 2);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_pet"), 3);
    r = CLI(&e, v2, "upgrade");
    CHECK_INT(r.status, 0);
    done(&r);

    /* v3: String(100) NOT NULL -> nullable String(200), with mig_pet's
     * foreign key pointing at the table (SQLite: a rebuild) */
    r = CLI(&e, v3, "check");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.out, "column name has type ");
    CHECK_CONTAINS(r.out, "the model VARCHAR(200)");
    CHECK_CONTAINS(r.out, "column name is NOT NULL, the model NULL");
    done(&r);
    r = CLI(&e, v3, "migrate", "-m", "longer names");
    CHECK_INT(r.status, 0);
    done(&r);
    text = migration_text(e.dir, "0003_longer_names");
    if (d == PH_DB_SQLITE) {
        CHECK_CONTAINS(text, "rebuild of table mig_owner");
        CHECK_CONTAINS(text, "CREATE TABLE \"_phial_new_mig_owner\"");
        CHECK_CONTAINS(text, "name VARCHAR(200),");
        CHECK_CONTAINS(text, "ALTER TABLE \"_phial_new_mig_owner\" RENAME TO \"mig_owner\"");
    } else {
        CHECK_CONTAINS(text, "ALTER COLUMN \"name\" TYPE VARCHAR(200)");
        CHECK_CONTAINS(text, "ALTER COLUMN \"name\" DROP NOT NULL");
        CHECK_CONTAINS(text, "ALTER COLUMN \"name\" SET NOT NULL");
    }
    free(text);
    r = CLI(&e, v3, "upgrade");
    CHECK_INT(r.status, 0);
    done(&r);
    r = CLI(&e, v3, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_owner WHERE (id = 1 AND name = 'Ann' AND score "
                       "= 7) OR (id = 2 AND name = 'Bob' AND score = 7)"),
              2);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_pet p JOIN mig_owner o ON o.id = p.owner_id"), 3);
    /* the foreign key still holds (a fresh connection: foreign keys on) */
    CHECK_INT(exec(&e, "INSERT INTO mig_pet (id, name, owner_id) VALUES (9, 'Lost', 99)"),
              PH_ECONSTRAINT);
    if (d == PH_DB_SQLITE)
        CHECK_INT(qint(&e, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* the new shape: NULL and 150 characters */
    char long_name[300];
    snprintf(long_name, sizeof(long_name),
             "INSERT INTO mig_owner (id, name) VALUES (3, NULL), (4, '%0150d')", 0);
    CHECK_INT(exec(&e, long_name), 0);
    /* a downgrade that cannot hold these rows fails and changes nothing */
    r = CLI(&e, v3, "downgrade", "0002");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "downgrade 0003");
    CHECK_CONTAINS(r.err, "nothing was changed");
    done(&r);
    CHECK_STR(current(&e), "0003");
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_owner"), 4);
    r = CLI(&e, v3, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(exec(&e, "DELETE FROM mig_owner WHERE id > 2"), 0);
    r = CLI(&e, v3, "downgrade", "0002");
    CHECK_INT(r.status, 0);
    done(&r);
    r = CLI(&e, v2, "check");
    CHECK_INT(r.status, 0);
    if (r.status)
        fprintf(stderr, "%s", r.out);
    done(&r);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_pet p JOIN mig_owner o ON o.id = p.owner_id"), 3);
    /* base: everything gone, then back */
    r = CLI(&e, v2, "downgrade", "base");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_STR(current(&e), "base");
    r = CLI(&e, v3, "check");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.out, "table mig_owner: missing from the database");
    done(&r);
    r = CLI(&e, v3, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "3 migrations applied");
    done(&r);
    r = CLI(&e, v3, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    /* usage and bad targets */
    r = CLI(&e, v3, "downgrade");
    CHECK_INT(r.status, 2);
    done(&r);
    r = CLI(&e, v3, "migrate");
    CHECK_INT(r.status, 2);
    done(&r);
    r = CLI(&e, v3, "upgrade", "0099");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "no migration has revision 0099");
    done(&r);
    r = CLI(&e, v3, "downgrade", "0004");
    CHECK_INT(r.status, 1);
    done(&r);
    r = CLI(&e, v3, "stamp", "nope");
    CHECK_INT(r.status, 1);
    done(&r);
    env_close(&e);
}

static void test_model_changes_sqlite(void)
{
    model_changes(PH_DB_SQLITE, "changes");
}

static void test_model_changes_pg(void)
{
    model_changes(PH_DB_POSTGRES, "migtest_changes");
}

/* ---- a failing migration in the middle of a run --------------------------------------- */

static void failing_run(ph_dialect d, const char *schema)
{
    env e;
    if (env_open(&e, d, schema) != 0)
        return;
    mkdir(e.dir, 0777);
    char p[700];
    snprintf(p, sizeof(p), "%s/0001_a.sql", e.dir);
    spit(p, "-- revision: 0001\n-- down_revision: base\n-- message: a\n-- upgrade\n"
            "CREATE TABLE mig_a (id INTEGER PRIMARY KEY);\nINSERT INTO mig_a VALUES (1);\n"
            "-- downgrade\nDROP TABLE mig_a;\n");
    snprintf(p, sizeof(p), "%s/0002_b.sql", e.dir);
    spit(p, "-- revision: 0002\n-- down_revision: 0001\n-- message: b\n-- upgrade\n"
            "CREATE TABLE mig_b (id INTEGER PRIMARY KEY);\nINSERT INTO mig_a VALUES (2);\n"
            "INSERT INTO mig_nowhere VALUES (1);\n-- downgrade\nDROP TABLE mig_b;\n");
    snprintf(p, sizeof(p), "%s/0003_c.sql", e.dir);
    spit(p, "-- revision: 0003\n-- down_revision: 0002\n-- message: c\n-- upgrade\n"
            "CREATE TABLE mig_c (id INTEGER PRIMARY KEY);\n-- downgrade\nDROP TABLE mig_c;\n");
    result r = CLI(&e, v1, "upgrade");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.out, "upgrade 0001 -> 0002: b");
    CHECK_CONTAINS(r.err, "upgrade 0002 (0002_b.sql)");
    CHECK_CONTAINS(r.err, "mig_nowhere");
    done(&r);
    CHECK_STR(current(&e), "base");
    CHECK_INT(ph_orm_table_exists(e.c, "mig_a"), 0);
    CHECK_INT(ph_orm_table_exists(e.c, "mig_b"), 0);
    /* up to 0001 works; the failing run from there leaves it at 0001 */
    r = CLI(&e, v1, "upgrade", "0001");
    CHECK_INT(r.status, 0);
    done(&r);
    r = CLI(&e, v1, "upgrade");
    CHECK_INT(r.status, 1);
    done(&r);
    CHECK_STR(current(&e), "0001");
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_a"), 1);
    CHECK_INT(ph_orm_table_exists(e.c, "mig_b"), 0);
    env_close(&e);
}

static void test_failing_run_sqlite(void)
{
    failing_run(PH_DB_SQLITE, "failing");
}

static void test_failing_run_pg(void)
{
    failing_run(PH_DB_POSTGRES, "migtest_failing");
}

/* ---- two upgrades at once ---------------------------------------------------------------- */

static void concurrent(ph_dialect d, const char *schema)
{
    env e;
    if (env_open(&e, d, schema) != 0)
        return;
    /* a migration that takes a while (so the two runs overlap) and counts
     * how often it ran in a table of its own */
    static const char *const slow[] = {
        [PH_DB_SQLITE] = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i "
                         "< 400000) SELECT count(*) FROM r;\n",
        [PH_DB_POSTGRES] = "SELECT pg_sleep(0.3);\n"};
    char text[1024];
    snprintf(text, sizeof(text),
             "-- revision: 0001\n-- down_revision: base\n-- message: once\n-- upgrade\n"
             "CREATE TABLE IF NOT EXISTS mig_runs (n INTEGER);\n%sINSERT INTO mig_runs VALUES (1);\n"
             "-- downgrade\nDROP TABLE mig_runs;\n",
             slow[d]);
    ph_migration_file files[] = {{"0001_once.sql", text, strlen(text)}};
    ph_migrations *m = NULL;
    char err[256];
    CHECK_INT(ph_migrate_load(files, 1, &m, err, sizeof(err)), 0);
    /* the database exists (and is in WAL mode) before the two start */
    CHECK_INT(ph_db_conn_connect(e.c), 0);
    int go[2];
    CHECK_INT(pipe(go), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char b;
            close(go[1]);
            if (read(go[0], &b, 1) != 0)
                _exit(100);
            ph_db *db;
            ph_db_config cfg = {.url = e.url};
            if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
                _exit(101);
            ph_db_conn *c = ph_db_conn_new(db);
            size_t applied = 0;
            int rc = ph_migrate_upgrade(c, m, NULL, NULL, NULL, &applied);
            if (rc)
                fprintf(stderr, "  child: %s\n", ph_db_errmsg(c));
            ph_db_conn_free(c);
            ph_db_close(db);
            _exit(rc ? 102 : (int)applied);
        }
    }
    close(go[0]);
    close(go[1]); /* both children start now */
    int total = 0, failures = 0;
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(kids[k], &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
        if (code >= 100)
            failures++;
        else
            total += code;
    }
    CHECK_INT(failures, 0);
    CHECK_INT(total, 1);
    CHECK_INT(qint(&e, "SELECT count(*) FROM mig_runs"), 1);
    CHECK_STR(current(&e), "0001");
    ph_migrate_free(m);
    env_close(&e);
}

static void test_concurrent_upgrades_sqlite(void)
{
    concurrent(PH_DB_SQLITE, "concurrent");
}

static void test_concurrent_upgrades_pg(void)
{
    concurrent(PH_DB_POSTGRES, "migtest_concurrent");
}

/* ---- the application's migrations ------------------------------------------------------- */

static result app_cli(env *e, int argc, char **argv)
{
    char dir[600];
    const char *top = getenv("PHIAL_TOP");
    snprintf(dir, sizeof(dir), "%s/app/migrations", top && *top ? top : ".");
    ph_cli_db_config cfg = {.database_url = e->url,
                            .models = app_models,
                            .nmodels = app_nmodels,
                            .migrations_dir = dir};
    return cli_run(&cfg, argc, argv);
}

#define APP(e, ...) app_cli((e), (int)PH_COUNTOF(((char *[]){__VA_ARGS__})), (char *[]){__VA_ARGS__})

static void app_migrations(ph_dialect d, const char *schema)
{
    env e;
    if (env_open(&e, d, schema) != 0)
        return;
    char err[300];
    CHECK_INT(ph_migrate_check_schema(e.c, app_models, app_nmodels, err, sizeof(err)),
              PH_ENOTFOUND);
    CHECK_CONTAINS(err, "db upgrade");
    result r = APP(&e, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "4 migrations applied; the database is at 0004 (head)");
    done(&r);
    r = APP(&e, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(ph_migrate_check_schema(e.c, app_models, app_nmodels, err, sizeof(err)), 0);
    /* a column missing: the start-up check names it */
    CHECK_INT(exec(&e, d == PH_DB_SQLITE ? "ALTER TABLE handlerprofile DROP COLUMN phone"
                                         : "ALTER TABLE handlerprofile DROP COLUMN phone"),
              0);
    CHECK_INT(ph_migrate_check_schema(e.c, app_models, app_nmodels, err, sizeof(err)),
              PH_ENOTFOUND);
    CHECK_CONTAINS(err, "table handlerprofile has no column phone");
    r = APP(&e, "downgrade", "base");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(ph_orm_table_exists(e.c, "user"), 0);
    /* db create on an empty database records the head; drop forgets it */
    r = APP(&e, "create");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "recorded migration 0004 as applied");
    done(&r);
    CHECK_STR(current(&e), "0004");
    r = APP(&e, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "0 migrations applied");
    done(&r);
    r = APP(&e, "drop", "--yes");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_STR(current(&e), "base");
    /* tables made without a record: upgrade fails, names the way out */
    r = APP(&e, "create");
    done(&r);
    CHECK_INT(exec(&e, "DROP TABLE " PH_MIGRATE_VERSION_TABLE), 0);
    r = APP(&e, "upgrade");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "db stamp REV");
    done(&r);
    CHECK_STR(current(&e), "base");
    env_close(&e);
}

static void test_app_migrations_sqlite(void)
{
    app_migrations(PH_DB_SQLITE, "app");
}

static void test_app_migrations_pg(void)
{
    app_migrations(PH_DB_POSTGRES, "migtest_app");
}

static int python(const char *cmd, const char *path, char **out)
{
    const char *top = getenv("PHIAL_TOP");
    char line[1400];
    snprintf(line, sizeof(line), "/usr/bin/python3 %s/tests/cli/flask_migrate.py %s '%s' 2>&1",
             top && *top ? top : ".", cmd, path);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, p) : 0;
    if (buf)
        buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A registration.db made by the Flask peer's models is adopted with stamp,
 * upgraded, and read by Flask again. */
static void test_flask_database_adopted(void)
{
    env e;
    env_open(&e, PH_DB_SQLITE, "flask");
    char *py = NULL;
    CHECK_INT(python("create", e.path, &py), 0);
    free(py);
    result r = APP(&e, "current");
    CHECK_STR(r.out, "base\n");
    done(&r);
    r = APP(&e, "check");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.out, "table handlerprofile: missing from the database");
    CHECK(strstr(r.out, "table user") == NULL); /* Flask's tables are as the models say */
    CHECK(strstr(r.out, "table petcategory") == NULL);
    done(&r);
    r = APP(&e, "stamp", "0001");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "marked as at 0001");
    done(&r);
    r = APP(&e, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "3 migrations applied; the database is at 0004 (head)");
    done(&r);
    r = APP(&e, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    r = APP(&e, "add", "Tag", "tag_name=friendly");
    CHECK_INT(r.status, 0);
    done(&r);
    r = APP(&e, "add", "PetHandler", "handler_name=Phil");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(qint(&e, "SELECT count(*) FROM pethandler"), 2);
    CHECK_INT(python("read", e.path, &py), 0);
    CHECK_STR(py, "user 1 Alice\npet 1 Rex of Hana\ncomments 1\n");
    free(py);
    env_close(&e);
}

/* Runs `app run` on e's database; its exit status, output in out. */
static int app_run(env *e, char *out, size_t outlen)
{
    const char *top = getenv("PHIAL_TOP"), *build = getenv("PHIAL_BUILD");
    char cmd[1600];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && DATABASE_URL='%s' '%s/app' run --host 127.0.0.1 --port 1 2>&1",
             top && *top ? top : ".", e->url, build && *build ? build : "build");
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, outlen - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `app run` on a database lacking a model's table or column refuses to
 * start, naming the command that fixes it (before any port is bound). */
static void test_app_run_refuses_missing_schema(void)
{
    env e;
    env_open(&e, PH_DB_SQLITE, "run");
    char out[2048];
    CHECK_INT(app_run(&e, out, sizeof(out)), 1);
    CHECK_CONTAINS(out, "db create");
    result r = APP(&e, "upgrade");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(exec(&e, "ALTER TABLE handlerprofile DROP COLUMN bio"), 0);
    CHECK_INT(app_run(&e, out, sizeof(out)), 1);
    CHECK_CONTAINS(out, "table handlerprofile has no column bio: run `db upgrade`");
    env_close(&e);
}

/* Migrations compiled into the binary (what the embedding tool makes):
 * no folder is read. */
static const char emb1[] = "-- revision: 0001\n-- down_revision: base\n-- message: owners\n"
                           "-- upgrade\nCREATE TABLE mig_owner (id INTEGER NOT NULL, name "
                           "VARCHAR(100) NOT NULL, PRIMARY KEY (id));\n"
                           "-- downgrade\nDROP TABLE mig_owner;\n";
static const char emb2[] = "-- revision: 0002\n-- down_revision: 0001\n-- message: pets\n"
                           "-- upgrade\nCREATE TABLE mig_pet (id INTEGER NOT NULL, name "
                           "VARCHAR(100) NOT NULL, owner_id INTEGER NOT NULL, PRIMARY KEY (id), "
                           "FOREIGN KEY(owner_id) REFERENCES mig_owner (id));\n"
                           "-- downgrade\nDROP TABLE mig_pet;\n";
static const ph_migration_file embedded[] = {
    {"0002_pets.sql", emb2, sizeof(emb2) - 1},
    {"0001_owners.sql", emb1, sizeof(emb1) - 1},
};

static result emb_cli(env *e, int argc, char **argv)
{
    ph_cli_db_config cfg = {.database_url = e->url,
                            .models = v1,
                            .nmodels = PH_COUNTOF(v1),
                            .migrations_dir = e->dir, /* never made */
                            .migrations = embedded,
                            .nmigrations = PH_COUNTOF(embedded)};
    return cli_run(&cfg, argc, argv);
}

#define EMB(e, ...) emb_cli((e), (int)PH_COUNTOF(((char *[]){__VA_ARGS__})), (char *[]){__VA_ARGS__})

static void test_embedded_migrations(void)
{
    env e;
    env_open(&e, PH_DB_SQLITE, "embedded");
    result r = EMB(&e, "history");
    CHECK_STR(r.out, "0001 -> 0002 (head), pets  [0002_pets.sql]\n"
                     "base -> 0001, owners  [0001_owners.sql]\n");
    done(&r);
    r = EMB(&e, "upgrade");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "2 migrations applied; the database is at 0002 (head)");
    done(&r);
    r = EMB(&e, "check");
    CHECK_INT(r.status, 0);
    done(&r);
    r = EMB(&e, "downgrade", "0001");
    CHECK_INT(r.status, 0);
    done(&r);
    CHECK_INT(ph_orm_table_exists(e.c, "mig_pet"), 0);
    CHECK_INT(ph_orm_table_exists(e.c, "mig_owner"), 1);
    r = EMB(&e, "migrate", "-m", "x");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "compiled in");
    done(&r);
    struct stat st;
    CHECK(stat(e.dir, &st) != 0); /* the folder was never needed */
    env_close(&e);
}

/* ---- migration files ------------------------------------------------------------------------- */

static int load(const char *name1, const char *text1, const char *name2, const char *text2,
                char *err, size_t errlen)
{
    ph_migration_file f[2] = {{name1, text1, strlen(text1)},
                              {name2, text2 ? text2 : "", text2 ? strlen(text2) : 0}};
    ph_migrations *m = NULL;
    int rc = ph_migrate_load(f, text2 ? 2 : 1, &m, err, errlen);
    ph_migrate_free(m);
    return rc;
}

static void test_bad_files(void)
{
    char err[400];
    const char *ok = "-- revision: 0001\n-- down_revision: base\n-- upgrade\nSELECT 1;\n";
    CHECK_INT(load("0001.sql", ok, NULL, NULL, err, sizeof(err)), 0);
    CHECK_INT(load("0001.sql", "-- upgrade\nSELECT 1;\n", NULL, NULL, err, sizeof(err)),
              PH_EPARSE);
    CHECK_CONTAINS(err, "0001.sql: the header needs");
    CHECK_INT(load("x.sql", "-- revision: 1\n-- down_revision: base\nSELECT 1;\n", NULL, NULL, err,
                   sizeof(err)),
              PH_EPARSE);
    CHECK_CONTAINS(err, "x.sql:3: SQL before the first section");
    CHECK_INT(load("x.sql", "-- revision: 1\n-- down_revision: base\n-- upgrade: mysql\n", NULL,
                   NULL, err, sizeof(err)),
              PH_EPARSE);
    CHECK_CONTAINS(err, "unknown dialect");
    CHECK_INT(load("x.sql", "-- revision: a b\n-- down_revision: base\n-- upgrade\n", NULL, NULL,
                   err, sizeof(err)),
              PH_EPARSE);
    CHECK_INT(load("x.sql", "-- revision: 1\n-- down_revision: base\n-- downgrade\n", NULL, NULL,
                   err, sizeof(err)),
              PH_EPARSE);
    CHECK_CONTAINS(err, "no upgrade section");
    CHECK_INT(load("x.sql", "-- revision: 1\n-- down_revision: base\n-- upgrade\n-- upgrade\n",
                   NULL, NULL, err, sizeof(err)),
              PH_EPARSE);
    /* two files, one revision; two files after one revision; a lost parent */
    CHECK_INT(load("a.sql", ok, "b.sql", ok, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "revision 0001 is in two files");
    CHECK_INT(load("a.sql", ok, "b.sql",
                   "-- revision: 0002\n-- down_revision: base\n-- upgrade\nSELECT 1;\n", err,
                   sizeof(err)),
              PH_EINVAL);
    CHECK_CONTAINS(err, "both follow base");
    CHECK_INT(load("a.sql", ok, "b.sql",
                   "-- revision: 0002\n-- down_revision: 0009\n-- upgrade\nSELECT 1;\n", err,
                   sizeof(err)),
              PH_EINVAL);
    CHECK_CONTAINS(err, "b.sql: its down_revision 0009");
    /* names not ending in .sql are not migrations */
    CHECK_INT(load("README", "anything", NULL, NULL, err, sizeof(err)), 0);

    /* the chain, per-dialect sections, and a compiled-in list */
    const char *two = "-- revision: 0002\n-- down_revision: 0001\n-- message: two\n"
                      "-- upgrade: sqlite\nS;\n-- upgrade: postgresql\nP;\n-- downgrade\nD;\n";
    ph_migration_file f[] = {{"2.sql", two, strlen(two)}, {"1.sql", ok, strlen(ok)}};
    ph_migrations *m = NULL;
    CHECK_INT(ph_migrate_load(f, 2, &m, err, sizeof(err)), 0);
    if (m) {
        CHECK_INT(ph_migrate_count(m), 2);
        CHECK_STR(ph_migrate_at(m, 0)->revision, "0001");
        CHECK_STR(ph_migrate_head(m), "0002");
        const ph_migration *t = ph_migrate_find(m, "0002");
        CHECK(t != NULL);
        if (t) {
            CHECK_STR(t->message, "two");
            CHECK_STR(t->up[PH_DB_SQLITE], "S;\n");
            CHECK_STR(t->up[PH_DB_POSTGRES], "P;\n");
            CHECK(t->up[0] == NULL);
            CHECK_STR(t->down[0], "D;\n");
        }
    }
    ph_migrate_free(m);

    /* the folder loader reads *.sql only, sorted by name */
    const char *b = getenv("PHIAL_BUILD");
    char dir[512], p[700];
    snprintf(dir, sizeof(dir), "%s/phial-mig-%ld-files", b && *b ? b : "/tmp", (long)getpid());
    rm_dir(dir);
    ph_migration_file *files = NULL;
    size_t n = 9;
    CHECK_INT(ph_migrate_read_dir(dir, &files, &n, err, sizeof(err)), 0); /* missing: empty */
    CHECK_INT(n, 0);
    mkdir(dir, 0777);
    snprintf(p, sizeof(p), "%s/0002_two.sql", dir);
    spit(p, two);
    snprintf(p, sizeof(p), "%s/0001_one.sql", dir);
    spit(p, ok);
    snprintf(p, sizeof(p), "%s/notes.txt", dir);
    spit(p, "not a migration");
    CHECK_INT(ph_migrate_read_dir(dir, &files, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(files[0].name, "0001_one.sql");
        CHECK_STR(files[1].contents, two);
    }
    ph_migrate_files_free(files, n);
    rm_dir(dir);
}

int main(void)
{
    RUN(test_bad_files);
    RUN(test_every_difference_sqlite);
    RUN(test_model_changes_sqlite);
    RUN(test_failing_run_sqlite);
    RUN(test_concurrent_upgrades_sqlite);
    RUN(test_app_migrations_sqlite);
    RUN(test_flask_database_adopted);
    RUN(test_app_run_refuses_missing_schema);
    RUN(test_embedded_migrations);
    if (pg_url()) {
        RUN(test_every_difference_pg);
        RUN(test_model_changes_pg);
        RUN(test_failing_run_pg);
        RUN(test_concurrent_upgrades_pg);
        RUN(test_app_migrations_pg);
    } else {
        SKIP(test_every_difference_pg, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_model_changes_pg, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_failing_run_pg, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_concurrent_upgrades_pg, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_app_migrations_pg, "PHIAL_TEST_PG_URL is not set");
    }
    TEST_END();
}
