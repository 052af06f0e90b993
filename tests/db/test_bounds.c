/*
 * Tests of the database layer's bounds: a PostgreSQL statement past its
 * statement timeout is cancelled (PH_ETIMEDOUT) and the connection stays
 * usable; a PostgreSQL connection closed by the server while idle is
 * replaced before use; a SQLite writer waits for a lock no longer than its
 * busy timeout (PH_EBUSY), and writers of one application (threads and
 * forked processes) queue on a shared lock that survives a holder's death;
 * the SQLite WAL is truncated once a commit leaves
 * it past its bound, also while a reader holds an old snapshot open, and is
 * left empty when the connections close.  Times are compared with the
 * configured bounds and with a baseline taken in the same run.
 */
#include "phial/db.h"
#include "test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[512], url[600];

static void sqlite_paths(const char *name)
{
    const char *dir = getenv("PHIAL_BUILD");
    snprintf(path, sizeof(path), "%s/phial-test-bounds-%ld-%s.db", dir && *dir ? dir : "/tmp",
             (long)getpid(), name);
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* Size of the WAL file, or -1 when it does not exist. */
static long long wal_size(void)
{
    char p[600];
    snprintf(p, sizeof(p), "%s-wal", path);
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static long long now_ms(void)
{
    return ph_now_ns() / 1000000;
}

static void test_pg_statement_timeout(void)
{
    const char *u = getenv("PHIAL_TEST_PG_URL");
    ph_db_config cfg = {.url = u, .statement_timeout_ms = 300};
    ph_db *db;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    /* baseline: the same statement well inside the limit */
    long long t0 = now_ms();
    CHECK_INT(ph_db_exec(c, "SELECT pg_sleep(0.01)", NULL, 0), 0);
    long long base = now_ms() - t0;
    int pid = ph_db_backend_pid(c);
    t0 = now_ms();
    CHECK_INT(ph_db_exec(c, "SELECT pg_sleep(5)", NULL, 0), PH_ETIMEDOUT);
    long long took = now_ms() - t0;
    printf("  statement timeout 300 ms: pg_sleep(5) cancelled after %lld ms (baseline %lld ms)\n",
           took, base);
    CHECK(took >= 250);
    CHECK(took < 300 + PH_DB_TIMEOUT_GRACE_MS + base + 500);
    CHECK_CONTAINS(ph_db_errmsg(c), "statement timeout");
    /* the server cancelled it: the same connection goes on */
    int64_t v = 0;
    CHECK_INT(ph_db_query_int(c, "SELECT 41 + 1", NULL, 0, &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(ph_db_backend_pid(c), pid);
    /* inside a transaction: the transaction fails, rollback leaves it usable */
    CHECK_INT(ph_db_begin(c, true), 0);
    CHECK_INT(ph_db_exec(c, "SELECT pg_sleep(5)", NULL, 0), PH_ETIMEDOUT);
    CHECK_INT(ph_db_rollback(c), 0);
    CHECK_INT(ph_db_query_int(c, "SELECT 7", NULL, 0, &v), 0);
    CHECK_INT(v, 7);
    ph_db_conn_free(c);
    ph_db_close(db);
}

static void test_pg_idle_connection_replaced(void)
{
    const char *u = getenv("PHIAL_TEST_PG_URL");
    ph_db_config cfg = {.url = u};
    ph_db *db;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db), *k = ph_db_conn_new(db);
    int64_t v = 0;
    CHECK_INT(ph_db_query_int(c, "SELECT 1", NULL, 0, &v), 0);
    int pid = ph_db_backend_pid(c);
    /* the server ends c's session while c is idle (what a restart does);
       wait until the backend is gone so the check below is not racing it */
    CHECK_INT(ph_db_query_int(k,
                              "SELECT count(*) FROM pg_stat_activity WHERE "
                              "pg_terminate_backend(?::integer)",
                              (ph_val[]){PH_INT(pid)}, 1, &v),
              0);
    for (int i = 0; i < 500; i++) {
        CHECK_INT(ph_db_query_int(k, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?",
                                  (ph_val[]){PH_INT(pid)}, 1, &v),
                  0);
        if (v == 0)
            break;
        usleep(10000);
    }
    CHECK_INT(v, 0);
    /* c has now been idle longer than the 5 ms within which an answered
       connection is taken as alive without a poll (src/db/pg.c) */
    usleep(10000);
    /* a write outside a transaction (never retried) succeeds: the stale
       connection was replaced before it was used */
    CHECK_INT(ph_db_exec(c, "CREATE TEMP TABLE t_idle (x integer)", NULL, 0), 0);
    CHECK(ph_db_backend_pid(c) != pid);
    ph_db_conn_free(k);
    ph_db_conn_free(c);
    ph_db_close(db);
}

static void test_sqlite_busy_wait_bounded(void)
{
    sqlite_paths("busy");
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = url, .busy_timeout_ms = 300};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *a = ph_db_conn_new(db), *b = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(a, "CREATE TABLE t (x integer)", NULL, 0), 0);
    CHECK_INT(ph_db_begin(a, true), 0);
    long long t0 = now_ms();
    CHECK_INT(ph_db_begin(b, true), PH_EBUSY);
    long long took = now_ms() - t0;
    printf("  busy timeout 300 ms: a second writer gave up after %lld ms\n", took);
    CHECK(took >= 250);
    CHECK(took < 3000); /* ten times the bound: it did not wait forever */
    /* reads are not held up by the writer (WAL) */
    int64_t n = -1;
    CHECK_INT(ph_db_query_int(b, "SELECT count(*) FROM t", NULL, 0, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ph_db_commit(a), 0);
    CHECK_INT(ph_db_begin(b, true), 0);
    CHECK_INT(ph_db_commit(b), 0);
    ph_db_conn_free(a);
    ph_db_conn_free(b);
    ph_db_close(db);
    sqlite_paths("busy");
}

/* Writers of one database queue on its write lock, shared with the
 * processes forked after the open: a second writer waits for the first
 * (and gets in when it commits), a writer that waits past the busy timeout
 * is told so, and a writer that dies holding the lock leaves it to the
 * next one (robust mutex) rather than to the busy timeout. */
static void test_sqlite_write_lock_across_fork(void)
{
    sqlite_paths("wlock");
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = url, .busy_timeout_ms = 3000};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *a = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(a, "CREATE TABLE t (x text)", NULL, 0), 0);
    ph_db_conn_free(a);

    /* 1: the child holds a write transaction; ours waits for its commit */
    int go[2], held[2];
    CHECK_INT(pipe(go), 0);
    CHECK_INT(pipe(held), 0);
    pid_t pid = fork();
    if (pid == 0) {
        ph_db_conn *c = ph_db_conn_new(db);
        char x;
        int ok = ph_db_begin(c, true) == 0 &&
                 ph_db_exec(c, "INSERT INTO t VALUES ('child')", NULL, 0) == 0;
        if (write(held[1], "h", 1) != 1 || read(go[0], &x, 1) != 1)
            ok = 0;
        ok = ok && ph_db_commit(c) == 0;
        ph_db_conn_free(c);
        _exit(ok ? 0 : 1);
    }
    char x;
    CHECK_INT((int)read(held[0], &x, 1), 1);
    ph_db_conn *b = ph_db_conn_new(db);
    /* the child commits when told; our BEGIN is already queued by then */
    CHECK_INT((int)write(go[1], "g", 1), 1);
    CHECK_INT(ph_db_begin(b, true), 0);
    CHECK_INT(ph_db_exec(b, "INSERT INTO t VALUES ('parent')", NULL, 0), 0);
    CHECK_INT(ph_db_commit(b), 0);
    int status = -1;
    CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int64_t n = -1;
    CHECK_INT(ph_db_query_int(b, "SELECT count(*) FROM t", NULL, 0, &n), 0);
    CHECK_INT(n, 2);

    /* 2: a child dies (SIGKILL) in its write transaction: the next writer
       takes the lock over at once, and the dead one's row is not there */
    pid = fork();
    if (pid == 0) {
        ph_db_conn *c = ph_db_conn_new(db);
        if (ph_db_begin(c, true) == 0 &&
            ph_db_exec(c, "INSERT INTO t VALUES ('dead')", NULL, 0) == 0)
            (void)!write(held[1], "h", 1);
        pause();
        _exit(0);
    }
    CHECK_INT((int)read(held[0], &x, 1), 1);
    kill(pid, SIGKILL);
    CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
    long long t0 = now_ms();
    CHECK_INT(ph_db_begin(b, true), 0);
    long long took = now_ms() - t0;
    printf("  a writer killed holding the lock: the next got it in %lld ms (timeout 3000)\n", took);
    CHECK(took < 1500);
    CHECK_INT(ph_db_exec(b, "INSERT INTO t VALUES ('after')", NULL, 0), 0);
    CHECK_INT(ph_db_commit(b), 0);
    CHECK_INT(ph_db_query_int(b, "SELECT count(*) FROM t WHERE x = 'dead'", NULL, 0, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ph_db_query_int(b, "SELECT count(*) FROM t", NULL, 0, &n), 0);
    CHECK_INT(n, 3);

    /* 3: a writer of this application that holds on past the busy timeout:
       the waiter gives up with a message that says who held it */
    ph_db_conn_free(b);
    ph_db_close(db);
    cfg.busy_timeout_ms = 200;
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *h = ph_db_conn_new(db), *w = ph_db_conn_new(db);
    CHECK_INT(ph_db_begin(h, true), 0);
    CHECK_INT(ph_db_begin(w, true), PH_EBUSY);
    CHECK_CONTAINS(ph_db_errmsg(w), "another writer of this application");
    CHECK(!ph_db_in_transaction(w));
    CHECK_INT(ph_db_rollback(h), 0);
    CHECK_INT(ph_db_begin(w, true), 0);
    CHECK_INT(ph_db_commit(w), 0);
    ph_db_conn_free(h);
    ph_db_conn_free(w);
    ph_db_close(db);
    close(go[0]);
    close(go[1]);
    close(held[0]);
    close(held[1]);
    sqlite_paths("wlock");
}

/* Writes about `pages` pages in commits of ~8 KB through c. */
static int write_pages(ph_db_conn *c, int pages)
{
    char blob[8192];
    memset(blob, 'x', sizeof(blob));
    for (int i = 0; i < pages / 2; i++) {
        int rc = ph_db_exec(c, "INSERT INTO t (b) VALUES (?)",
                            (ph_val[]){PH_BLOB(blob, sizeof(blob))}, 1);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_sqlite_wal_bounded(void)
{
    sqlite_paths("wal");
    ph_db *db;
    char err[200];
    /* a low bound so the test writes little: 200 pages (~800 KB) */
    ph_db_config cfg = {.url = url, .wal_truncate_pages = 200};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *w = ph_db_conn_new(db), *r = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(w, "CREATE TABLE t (id integer primary key, b blob)", NULL, 0), 0);
    long long max = 0;
    for (int round = 0; round < 20; round++) {
        CHECK_INT(write_pages(w, 100), 0);
        long long s = wal_size();
        if (s > max)
            max = s;
    }
    printf("  WAL bound 200 pages: at most %lld bytes after 2000 pages of commits\n", max);
    CHECK(max > 0);
    CHECK(max <= 260LL * 4096 + 2 * 8192 * 2);
    /* a reader holding an old snapshot open: the WAL cannot be cut while it
       reads, but it is once it ends, at the next commit past the bound */
    ph_db_rows rows;
    CHECK_INT(ph_db_begin(r, false), 0);
    CHECK_INT(ph_db_query(r, "SELECT id FROM t", NULL, 0, &rows), 0);
    CHECK_INT(ph_db_rows_next(&rows), 1);
    CHECK_INT(write_pages(w, 600), 0);
    long long held = wal_size();
    ph_db_rows_close(&rows);
    CHECK_INT(ph_db_commit(r), 0);
    CHECK_INT(write_pages(w, 420), 0);
    long long after = wal_size();
    printf("  with a reader holding a snapshot: %lld bytes; after it ended: %lld bytes\n", held,
           after);
    CHECK(held > 500LL * 4096);
    CHECK(after < held);
    CHECK(after <= 260LL * 4096 + 2 * 8192 * 2);
    /* closing: the last connection removes the WAL; the one before it
       leaves it empty */
    ph_db_conn_free(r);
    CHECK_INT(wal_size(), 0);
    ph_db_conn_free(w);
    CHECK_INT(wal_size(), -1);
    ph_db_close(db);
    sqlite_paths("wal");
}

/* Without the bound (negative: SQLite's passive checkpoint only) the same
 * reader lets the WAL grow past what the bound keeps: the baseline. */
static void test_sqlite_wal_unbounded_baseline(void)
{
    sqlite_paths("walbase");
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = url, .wal_truncate_pages = -1};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *w = ph_db_conn_new(db), *r = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(w, "CREATE TABLE t (id integer primary key, b blob)", NULL, 0), 0);
    CHECK_INT(write_pages(w, 2), 0);
    ph_db_rows rows;
    CHECK_INT(ph_db_begin(r, false), 0);
    CHECK_INT(ph_db_query(r, "SELECT id FROM t", NULL, 0, &rows), 0);
    CHECK_INT(ph_db_rows_next(&rows), 1);
    CHECK_INT(write_pages(w, 1200), 0);
    ph_db_rows_close(&rows);
    CHECK_INT(ph_db_commit(r), 0);
    CHECK_INT(write_pages(w, 20), 0);
    long long after = wal_size();
    printf("  passive checkpoints only: %lld bytes after the reader ended\n", after);
    /* the passive checkpoint never shrinks the file */
    CHECK(after > 1000LL * 4096);
    ph_db_conn_free(r);
    ph_db_conn_free(w);
    ph_db_close(db);
    sqlite_paths("walbase");
}

int main(void)
{
    bool pg = getenv("PHIAL_TEST_PG_URL") && *getenv("PHIAL_TEST_PG_URL");
    if (pg) {
        RUN(test_pg_statement_timeout);
        RUN(test_pg_idle_connection_replaced);
    } else {
        SKIP(test_pg_statement_timeout, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_pg_idle_connection_replaced, "PHIAL_TEST_PG_URL is not set");
    }
    RUN(test_sqlite_busy_wait_bounded);
    RUN(test_sqlite_write_lock_across_fork);
    RUN(test_sqlite_wal_bounded);
    RUN(test_sqlite_wal_unbounded_baseline);
    TEST_END();
}
