/*
 * Tests of the driver layer on SQLite and PostgreSQL: connection set-up
 * (WAL, foreign keys, synchronous), statements and rows, the statement
 * cache, transactions, error codes, `?` placeholders on PostgreSQL, and
 * one connection per thread sharing one handle.
 */
#include "phial/db.h"
#include "test.h"

#include <pthread.h>
#include <unistd.h>

typedef struct conf {
    ph_dialect d;
    char url[600];
    char path[512];
} conf;

static int make_conf(conf *c, ph_dialect d, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->d = d;
    if (d == PH_DB_POSTGRES) {
        const char *u = getenv("PHIAL_TEST_PG_URL");
        if (!u || !*u)
            return 1;
        snprintf(c->url, sizeof(c->url), "%s", u);
        return 0;
    }
    const char *dir = getenv("PHIAL_BUILD");
    snprintf(c->path, sizeof(c->path), "%s/phial-test-db-%ld-%s.db", dir && *dir ? dir : "/tmp",
             (long)getpid(), name);
    unlink(c->path);
    snprintf(c->url, sizeof(c->url), "sqlite:///%s", c->path);
    return 0;
}

static void drop_conf(conf *c)
{
    if (!c->path[0])
        return;
    char p[600];
    unlink(c->path);
    snprintf(p, sizeof(p), "%s-wal", c->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", c->path);
    unlink(p);
}

/* Text kept per connection under (key, kind): found again, distinct per
 * kind and per connection, the first text kept, at most 256 entries (then
 * PH_ELIMIT, still answering the ones kept); freed with the connection. */
static void test_conn_memo(void)
{
    conf cf;
    make_conf(&cf, PH_DB_SQLITE, "memo");
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = cf.url};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *a = ph_db_conn_new(db), *b = ph_db_conn_new(db);
    static const int keys[300];
    CHECK(ph_db_conn_memo(a, &keys[0], 0) == NULL);
    char text[32] = "SELECT 1";
    CHECK_INT(ph_db_conn_memo_put(a, &keys[0], 0, text), 0);
    text[7] = '2'; /* a copy was kept */
    CHECK_STR(ph_db_conn_memo(a, &keys[0], 0), "SELECT 1");
    CHECK(ph_db_conn_memo(a, &keys[0], 1) == NULL);
    CHECK(ph_db_conn_memo(b, &keys[0], 0) == NULL);
    CHECK_INT(ph_db_conn_memo_put(a, &keys[0], 0, "SELECT 3"), 0);
    CHECK_STR(ph_db_conn_memo(a, &keys[0], 0), "SELECT 1");
    CHECK_INT(ph_db_conn_memo_put(a, &keys[0], 1, "SELECT 4"), 0);
    CHECK_STR(ph_db_conn_memo(a, &keys[0], 1), "SELECT 4");
    int rc = 0;
    for (int i = 1; i < 300 && rc == 0; i++)
        rc = ph_db_conn_memo_put(a, &keys[i], 0, "x");
    CHECK_INT(rc, PH_ELIMIT);
    CHECK_STR(ph_db_conn_memo(a, &keys[0], 1), "SELECT 4");
    CHECK_STR(ph_db_conn_memo(a, &keys[254], 0), "x");
    CHECK(ph_db_conn_memo(a, &keys[255], 0) == NULL);
    ph_db_conn_free(a);
    ph_db_conn_free(b);
    ph_db_close(db);
    drop_conf(&cf);
}

static void test_sqlite_setup(void)
{
    conf cf;
    make_conf(&cf, PH_DB_SQLITE, "setup");
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = cf.url, .synchronous = "full"};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_rows r;
    CHECK_INT(ph_db_query(c, "PRAGMA journal_mode", NULL, 0, &r), 0);
    CHECK_INT(ph_db_rows_next(&r), 1);
    size_t len;
    CHECK_STR(ph_db_rows_text(&r, 0, &len), "wal");
    ph_db_rows_close(&r);
    int64_t v = -1;
    CHECK_INT(ph_db_query_int(c, "PRAGMA foreign_keys", NULL, 0, &v), 0);
    CHECK_INT(v, 1);
    CHECK_INT(ph_db_query_int(c, "PRAGMA synchronous", NULL, 0, &v), 0);
    CHECK_INT(v, 2); /* FULL */
    ph_db_conn_free(c);
    ph_db_close(db);
    ph_db_config cfg2 = {.url = cf.url};
    CHECK_INT(ph_db_open(&cfg2, &db, err, sizeof(err)), 0);
    c = ph_db_conn_new(db);
    CHECK_INT(ph_db_query_int(c, "PRAGMA synchronous", NULL, 0, &v), 0);
    CHECK_INT(v, 1); /* NORMAL by default */
    ph_db_conn_free(c);
    ph_db_close(db);
    drop_conf(&cf);
    /* :memory: works, with no WAL */
    ph_db_config mem = {.url = "sqlite:///:memory:"};
    CHECK_INT(ph_db_open(&mem, &db, err, sizeof(err)), 0);
    c = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(c, "CREATE TABLE t (x INTEGER)", NULL, 0), 0);
    CHECK_INT(ph_db_exec(c, "INSERT INTO t VALUES (?)", (ph_val[]){PH_INT(4)}, 1), 0);
    CHECK_INT(ph_db_query_int(c, "SELECT x FROM t", NULL, 0, &v), 0);
    CHECK_INT(v, 4);
    ph_db_conn_free(c);
    ph_db_close(db);
    /* an unopenable file is an error with its name */
    ph_db_config nodir = {.url = "sqlite:////nonexistent-dir/x.db"};
    CHECK_INT(ph_db_open(&nodir, &db, err, sizeof(err)), 0);
    c = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(c, "SELECT 1", NULL, 0), PH_EDB);
    CHECK_CONTAINS(ph_db_errmsg(c), "/nonexistent-dir/x.db");
    ph_db_conn_free(c);
    ph_db_close(db);
}

static void basics_on(ph_dialect d)
{
    conf cf;
    if (make_conf(&cf, d, "basics"))
        return;
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = cf.url, .echo = true};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    CHECK_INT(ph_db_dialect(db), d);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_log_level old = ph_log_get_level();
    ph_log_set_level(PH_LOG_WARN); /* echo logs at info: keep the output quiet */
    ph_db_exec_script(c, "DROP TABLE IF EXISTS t_basic");
    CHECK_INT(ph_db_exec_script(c, "CREATE TABLE t_basic (id INTEGER PRIMARY KEY, s VARCHAR(20) "
                                   "UNIQUE NOT NULL, f FLOAT)"),
              0);
    const char *ins = "INSERT INTO t_basic (id, s, f) VALUES (?, ?, ?)";
    for (int i = 1; i <= 3; i++) {
        char s[16];
        snprintf(s, sizeof(s), "r%d?", i);
        CHECK_INT(ph_db_exec(c, ins, (ph_val[]){PH_INT(i), PH_STR(s), PH_DOUBLE(i / 2.0)}, 3), 0);
        CHECK_INT(ph_db_changes(c), 1);
    }
    size_t cached = ph_db_cached_statements(c);
    CHECK(cached >= 1);
    CHECK_INT(ph_db_exec(c, ins, (ph_val[]){PH_INT(9), PH_STR("r1?"), PH_NULL}, 3), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_db_errmsg(c), "t_basic");
    CHECK_CONTAINS(ph_db_errmsg(c), "s");
    CHECK_INT(ph_db_exec(c, ins, (ph_val[]){PH_INT(9), PH_NULL, PH_NULL}, 3), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_db_errmsg(c), "NOT NULL");
    CHECK_INT(ph_db_exec(c, "SELEC nonsense", NULL, 0), PH_EDB);
    CHECK(ph_db_errmsg(c)[0] != '\0');
    /* a '?' inside a string literal is not a placeholder */
    int64_t v = 0;
    CHECK_INT(ph_db_query_int(c, "SELECT count(*) FROM t_basic WHERE s LIKE '%?' AND id > ?",
                              (ph_val[]){PH_INT(1)}, 1, &v),
              0);
    CHECK_INT(v, 2);
    /* nested rows on the same SQL: the second runs on a one-off statement */
    const char *sel = "SELECT id, s, f FROM t_basic ORDER BY id";
    ph_db_rows r1, r2;
    CHECK_INT(ph_db_query(c, sel, NULL, 0, &r1), 0);
    CHECK_INT(ph_db_rows_next(&r1), 1);
    CHECK_INT(ph_db_query(c, sel, NULL, 0, &r2), 0);
    int k = 0;
    while (ph_db_rows_next(&r2) == 1)
        k++;
    CHECK_INT(k, 3);
    ph_db_rows_close(&r2);
    CHECK_INT(ph_db_rows_int(&r1, 0), 1);
    size_t len;
    CHECK_STR(ph_db_rows_text(&r1, 1, &len), "r1?");
    CHECK(ph_db_rows_double(&r1, 2) == 0.5);
    CHECK_INT(ph_db_rows_next(&r1), 1);
    CHECK_INT(ph_db_rows_next(&r1), 1);
    CHECK_INT(ph_db_rows_next(&r1), 0);
    ph_db_rows_close(&r1);
    ph_db_rows_close(&r1); /* twice is harmless */
    size_t before = ph_db_cached_statements(c);
    CHECK_INT(ph_db_query(c, sel, NULL, 0, &r1), 0);
    ph_db_rows_close(&r1);
    CHECK_INT(ph_db_cached_statements(c), before);
    /* transactions */
    CHECK_INT(ph_db_begin(c, true), 0);
    CHECK(ph_db_in_transaction(c));
    CHECK_INT(ph_db_begin(c, true), PH_EMISUSE);
    CHECK_INT(ph_db_exec(c, "DELETE FROM t_basic", NULL, 0), 0);
    CHECK_INT(ph_db_changes(c), 3);
    CHECK_INT(ph_db_rollback(c), 0);
    CHECK_INT(ph_db_query_int(c, "SELECT count(*) FROM t_basic", NULL, 0, &v), 0);
    CHECK_INT(v, 3);
    CHECK_INT(ph_db_begin(c, false), 0);
    CHECK_INT(ph_db_exec(c, "DELETE FROM t_basic WHERE id = ?", (ph_val[]){PH_INT(3)}, 1), 0);
    CHECK_INT(ph_db_commit(c), 0);
    CHECK_INT(ph_db_commit(c), PH_EMISUSE);
    CHECK_INT(ph_db_query_int(c, "SELECT count(*) FROM t_basic", NULL, 0, &v), 0);
    CHECK_INT(v, 2);
    CHECK_INT(
        ph_db_query_int(c, "SELECT id FROM t_basic WHERE id = ?", (ph_val[]){PH_INT(77)}, 1, &v),
        PH_ENOTFOUND);
    ph_db_exec_script(c, "DROP TABLE t_basic");
    ph_log_set_level(old);
    ph_db_conn_free(c);
    ph_db_close(db);
    drop_conf(&cf);
}

static void test_basics_sqlite(void)
{
    basics_on(PH_DB_SQLITE);
}

static void test_basics_pg(void)
{
    basics_on(PH_DB_POSTGRES);
}

static void test_echo(void)
{
    const char *dir = getenv("PHIAL_BUILD");
    char path[512];
    snprintf(path, sizeof(path), "%s/phial-echo-%ld.log", dir && *dir ? dir : "/tmp",
             (long)getpid());
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = "sqlite:///:memory:", .echo = true};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_log_level old = ph_log_get_level();
    ph_log_set_level(PH_LOG_INFO);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    dup2(fileno(f), 2);
    int64_t v = 0;
    CHECK_INT(ph_db_query_int(c, "SELECT ? + 1", (ph_val[]){PH_INT(41)}, 1, &v), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    ph_log_set_level(old);
    CHECK_INT(v, 42);
    char buf[1024] = "";
    f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    unlink(path);
    CHECK_CONTAINS(buf, "SELECT ? + 1");
    CHECK_CONTAINS(buf, " ms: ");
    CHECK_CONTAINS(buf, "params (41)");
    ph_db_conn_free(c);
    ph_db_close(db);
}

typedef struct worker {
    ph_db *db;
    int id;
    int failures;
} worker;

static void *work(void *p)
{
    worker *w = p;
    ph_db_conn *c = ph_db_conn_new(w->db); /* this thread's connection */
    for (int i = 0; i < 50; i++) {
        if (ph_db_exec(c, "INSERT INTO t_threads (w, i) VALUES (?, ?)",
                       (ph_val[]){PH_INT(w->id), PH_INT(i)}, 2) != 0)
            w->failures++;
    }
    ph_db_conn_free(c);
    return NULL;
}

static void threads_on(ph_dialect d)
{
    conf cf;
    if (make_conf(&cf, d, "threads"))
        return;
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = cf.url};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_exec_script(c, "DROP TABLE IF EXISTS t_threads");
    CHECK_INT(ph_db_exec_script(c, "CREATE TABLE t_threads (w INTEGER, i INTEGER)"), 0);
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){db, i, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(w[i].failures, 0);
    }
    int64_t n = 0;
    CHECK_INT(ph_db_query_int(c, "SELECT count(*) FROM t_threads", NULL, 0, &n), 0);
    CHECK_INT(n, 200);
    ph_db_exec_script(c, "DROP TABLE t_threads");
    ph_db_conn_free(c);
    ph_db_close(db);
    drop_conf(&cf);
}

static void test_threads_sqlite(void)
{
    threads_on(PH_DB_SQLITE);
}

static void test_threads_pg(void)
{
    threads_on(PH_DB_POSTGRES);
}

int main(void)
{
    bool pg = getenv("PHIAL_TEST_PG_URL") && *getenv("PHIAL_TEST_PG_URL");
    RUN(test_sqlite_setup);
    RUN(test_basics_sqlite);
    RUN(test_threads_sqlite);
    RUN(test_echo);
    RUN(test_conn_memo);
    if (pg) {
        RUN(test_basics_pg);
        RUN(test_threads_pg);
    } else {
        SKIP(test_basics_pg, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_threads_pg, "PHIAL_TEST_PG_URL is not set");
    }
    TEST_END();
}
