/*
 * Benchmark: loading 1,000 rows of the tutorial's User table through the
 * ORM (session + query + identity map + snapshots) against a hand-written
 * sqlite3 loop that does the same work (a prepared statement kept open,
 * rows copied into structs in an arena).  Prints both times and the ratio;
 * the target is ORM / hand <= 1.10.  Not run by the test suite:
 *     sh bench/orm/run.sh
 */
#include "phial/db.h"
#include "phial/orm.h"

#include "../../app/models.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROWS 1000
#define ROUNDS 15
#define LOOPS 50

static char *copy(ph_arena *a, const unsigned char *s, int n)
{
    char *p = ph_arena_alloc(a, (size_t)n + 1);
    memcpy(p, s, (size_t)n);
    p[n] = '\0';
    return p;
}

/* The hand-written loop: what a careful C programmer would write. */
static size_t load_hand(sqlite3_stmt *st, ph_arena *a, User ***out)
{
    size_t cap = 16, n = 0;
    User **rows = ph_arena_alloc(a, cap * sizeof(*rows));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            User **bigger = ph_arena_alloc(a, cap * 2 * sizeof(*rows));
            memcpy(bigger, rows, n * sizeof(*rows));
            rows = bigger;
            cap *= 2;
        }
        User *u = ph_arena_calloc(a, 1, sizeof(*u));
        u->id = sqlite3_column_int64(st, 0);
        u->username = copy(a, sqlite3_column_text(st, 1), sqlite3_column_bytes(st, 1));
        u->user_email = copy(a, sqlite3_column_text(st, 2), sqlite3_column_bytes(st, 2));
        u->user_password = copy(a, sqlite3_column_text(st, 3), sqlite3_column_bytes(st, 3));
        rows[n++] = u;
    }
    sqlite3_reset(st);
    *out = rows;
    return n;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof(path), "/tmp/phial-bench-orm-%ld.db", (long)getpid());
    char url[300];
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = url};
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ph_db_conn *c = ph_db_conn_new(db);
    const ph_model *models[] = {&User_model};
    ph_orm_create_all(c, models, 1);
    ph_arena *a = ph_arena_new(1 << 20);
    ph_session *s = ph_session_new(a, c);
    for (int i = 0; i < ROWS; i++) {
        User *u = PH_ARENA_NEW(a, User);
        u->username = ph_arena_sprintf(a, "user number %d", i);
        u->user_email = ph_arena_sprintf(a, "user%d@example.com", i);
        u->user_password = ph_arena_sprintf(a, "password-%d-xxxxxxxxxxxxxxxx", i);
        ph_session_add(s, &User_model, u);
    }
    if (ph_session_commit(s) != 0) {
        fprintf(stderr, "%s\n", ph_session_errmsg(s));
        return 1;
    }
    ph_arena_reset(a);

    sqlite3 *raw;
    /* one connection per thread, as Phial opens them: no SQLite mutexes */
    sqlite3_open_v2(path, &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(raw, "SELECT id, username, user_email, user_password FROM user", -1, &st,
                       NULL);

    /* BENCH_ONLY=hand or orm runs one side (for a profiler) */
    const char *only = getenv("BENCH_ONLY");
    bool run_hand = !only || strcmp(only, "hand") == 0;
    bool run_orm = !only || strcmp(only, "orm") == 0;
    int64_t hand[ROUNDS], orm[ROUNDS];
    size_t total = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int64_t t0 = ph_now_ns();
        for (int l = 0; run_hand && l < LOOPS; l++) {
            ph_arena_reset(a);
            User **rows;
            total += load_hand(st, a, &rows);
        }
        int64_t t1 = ph_now_ns();
        for (int l = 0; run_orm && l < LOOPS; l++) {
            ph_arena_reset(a);
            ph_session *ss = ph_session_new(a, c);
            User **rows;
            size_t n = 0;
            if (ph_query_all(ph_query_new(ss, &User_model), &rows, &n) != 0)
                return 1;
            total += n;
        }
        int64_t t2 = ph_now_ns();
        hand[r] = (t1 - t0) / LOOPS;
        orm[r] = (t2 - t1) / LOOPS;
    }
    qsort(hand, ROUNDS, sizeof(int64_t), cmp);
    qsort(orm, ROUNDS, sizeof(int64_t), cmp);
    double h = (double)hand[ROUNDS / 2], o = (double)orm[ROUNDS / 2];
    printf("load %d rows (median of %d rounds x %d loads): hand-written sqlite3 %.1f us, "
           "ORM %.1f us, ratio ORM/hand %.3f (target <= 1.10)%s\n",
           ROWS, ROUNDS, LOOPS, h / 1e3, o / 1e3, o / h, total ? "" : " (no rows?)");
    sqlite3_finalize(st);
    sqlite3_close(raw);
    ph_arena_free(a);
    ph_db_conn_free(c);
    ph_db_close(db);
    unlink(path);
    char p2[300];
    snprintf(p2, sizeof(p2), "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof(p2), "%s-shm", path);
    unlink(p2);
    return 0;
}
