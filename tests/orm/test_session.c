/*
 * Tests of the session on SQLite and PostgreSQL: add / commit with keys
 * written back, every column type round-tripped, the identity map, dirty
 * tracking (only changed columns written), delete, rollback, parents
 * inserted before children, and the error cases (constraint violations
 * leave nothing written; too-long strings and NULLs refused before SQL;
 * busy; a PostgreSQL connection killed and replaced).
 */
#include "fixture.h"
#include "test.h"

#include <string.h>

static fx F;

#define RUN_ON(d, fn)                                                                              \
    do {                                                                                           \
        int fx_rc_ = fx_open(&F, (d), false);                                                      \
        if (fx_rc_ == 1) {                                                                         \
            SKIP(fn, "PHIAL_TEST_PG_URL is not set");                                              \
        } else if (fx_rc_ < 0) {                                                                   \
            ph_t_failed++;                                                                         \
            printf("FAIL %s (cannot open the database)\n", #fn);                                   \
        } else {                                                                                   \
            RUN(fn);                                                                               \
            fx_close(&F);                                                                          \
        }                                                                                          \
    } while (0)

/* The same on SQLite's :memory: database. */
#define RUN_MEM(fn)                                                                                \
    do {                                                                                           \
        if (fx_open(&F, PH_DB_SQLITE, true) != 0) {                                                \
            ph_t_failed++;                                                                         \
            printf("FAIL %s (cannot open :memory:)\n", #fn);                                       \
        } else {                                                                                   \
            RUN(fn);                                                                               \
            fx_close(&F);                                                                          \
        }                                                                                          \
    } while (0)

static Sample *new_sample(const char *name)
{
    Sample *s = PH_ARENA_NEW(F.a, Sample);
    s->name = ph_arena_strdup(F.a, name);
    return s;
}

static void test_add_commit_writes_keys(void)
{
    Sample *a = new_sample("alice"), *b = new_sample("bob");
    CHECK_INT(ph_session_add(F.s, &Sample_model, a), 0);
    CHECK_INT(ph_session_add(F.s, &Sample_model, b), 0);
    CHECK_INT(ph_session_add(F.s, &Sample_model, a), 0); /* twice: no-op */
    CHECK_INT(a->id, 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(a->id, 1);
    CHECK_INT(b->id, 2);
    CHECK_INT(fx_count(&F, "sample"), 2);
    CHECK(!ph_db_in_transaction(F.c));
    /* the same object for the same row within a session */
    Sample *got = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, 2, &got), 0);
    CHECK(got == b);
    /* in a new session: loaded from the database, once */
    fx_new_session(&F);
    Sample *x = NULL, *y = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, 1, &x), 0);
    CHECK_INT(ph_session_get(F.s, &Sample_model, 1, &y), 0);
    CHECK(x != NULL && x == y);
    CHECK_STR(x ? x->name : NULL, "alice");
    CHECK_INT(x ? x->big.v : 0, 3); /* the column default */
    CHECK_INT(ph_session_get(F.s, &Sample_model, 99, &y), PH_ENOTFOUND);
    CHECK(y == NULL);
    ph_query *q = ph_query_new(F.s, &Sample_model);
    Sample **rows;
    size_t n;
    CHECK_INT(ph_query_all(ph_query_order_by(q, "id", PH_ASC), &rows, &n), 0);
    CHECK_INT(n, 2);
    CHECK(n == 2 && rows[0] == x);
    CHECK_INT(ph_session_count(F.s), 2);
}

static void test_all_types_round_trip(void)
{
    Sample *s = new_sample("types");
    s->note = "a note with 'quotes' and ünïcödé";
    s->flag = true;
    s->score = (ph_double_opt){2.5, true};
    CHECK_INT(ph_datetime_parse("2024-02-29 13:14:15.123456", 26, &s->created.v.usec), 0);
    s->created.set = true;
    CHECK_INT(ph_date_parse("1969-12-31", 10, &s->day.v.days), 0);
    s->day.set = true;
    static const uint8_t bytes[] = {0, 1, 2, 0xff, 0, 'x'};
    s->data = (ph_bytes){bytes, sizeof(bytes)};
    s->big = (ph_int64_opt){INT64_MAX, true};
    s->order = (ph_int64_opt){-7, true};
    Sample *nulls = new_sample("nulls");
    CHECK_INT(ph_session_add(F.s, &Sample_model, s), 0);
    CHECK_INT(ph_session_add(F.s, &Sample_model, nulls), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(nulls->big.v, 3);           /* default applied to the object too */
    int64_t sid = s->id, nid = nulls->id; /* s and nulls go with the old arena */

    fx_new_session(&F);
    Sample *g = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, sid, &g), 0);
    if (!g)
        return;
    CHECK_STR(g->name, "types");
    CHECK_STR(g->note, "a note with 'quotes' and ünïcödé");
    CHECK(g->flag == true);
    CHECK(g->score.set && g->score.v == 2.5);
    char t[40];
    ph_datetime_format(g->created.v.usec, t, sizeof(t));
    CHECK_STR(t, "2024-02-29 13:14:15.123456");
    ph_date_format(g->day.v.days, t, sizeof(t));
    CHECK_STR(t, "1969-12-31");
    CHECK_INT(g->day.v.days, -1);
    CHECK_INT(g->data.len, sizeof(bytes));
    CHECK(g->data.ptr && memcmp(g->data.ptr, bytes, sizeof(bytes)) == 0);
    CHECK(g->big.v == INT64_MAX);
    CHECK_INT(g->order.v, -7);
    Sample *h = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, nid, &h), 0);
    if (!h)
        return;
    CHECK(h->note == NULL);
    CHECK(!h->score.set && !h->created.set && !h->day.set && !h->order.set);
    CHECK(h->data.ptr == NULL);
    CHECK(h->flag == false);
}

static void test_dirty_tracking_updates_changed_columns(void)
{
    Sample *s = new_sample("orig");
    s->note = "n1";
    ph_session_add(F.s, &Sample_model, s);
    CHECK_INT(ph_session_commit(F.s), 0);
    int64_t sid = s->id;
    fx_new_session(&F);
    Sample *g = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, sid, &g), 0);
    if (!g)
        return;
    CHECK(!ph_session_is_dirty(F.s, g));
    /* someone else changes note; we change only name */
    CHECK_INT(
        ph_db_exec(F.c, "UPDATE \"sample\" SET \"note\" = ?", (ph_val[]){PH_STR("theirs")}, 1), 0);
    g->name = "mine";
    CHECK(ph_session_is_dirty(F.s, g));
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(!ph_session_is_dirty(F.s, g));
    fx_new_session(&F);
    ph_query *q = ph_query_new(F.s, &Sample_model);
    Sample *r = NULL;
    CHECK_INT(ph_query_one(q, &r), 0);
    CHECK_STR(r ? r->name : NULL, "mine");
    CHECK_STR(r ? r->note : NULL, "theirs"); /* untouched: not written back */
    /* a commit with nothing changed runs nothing */
    CHECK_INT(ph_session_commit(F.s), 0);
    /* same string content in a new pointer is not a change */
    if (r) {
        r->name = ph_arena_strdup(F.a, "mine");
        CHECK(!ph_session_is_dirty(F.s, r));
        r->flag = true;
        CHECK(ph_session_is_dirty(F.s, r));
        CHECK_INT(ph_session_commit(F.s), 0);
    }
    int64_t n = 0;
    CHECK_INT(ph_db_query_int(F.c, "SELECT count(*) FROM \"sample\" WHERE \"flag\" = ?",
                              (ph_val[]){PH_BOOL(true)}, 1, &n),
              0);
    CHECK_INT(n, 1);
}

static void test_unique_violation_leaves_nothing(void)
{
    ph_session_add(F.s, &Sample_model, new_sample("taken"));
    CHECK_INT(ph_session_commit(F.s), 0);
    fx_new_session(&F);
    Sample *ok = new_sample("fresh"), *dup = new_sample("taken");
    ph_session_add(F.s, &Sample_model, ok);
    ph_session_add(F.s, &Sample_model, dup);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "sample");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "name");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "UNIQUE");
    CHECK_INT(fx_count(&F, "sample"), 1);
    CHECK_INT(ok->id, 0); /* the key written back is taken back */
    CHECK(!ph_db_in_transaction(F.c));
    /* the session is usable: the good one can be added again */
    CHECK_INT(ph_session_add(F.s, &Sample_model, ok), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 2);
}

static void test_not_null_refused_before_sql(void)
{
    Sample *s = new_sample("x");
    s->name = NULL;
    ph_session_add(F.s, &Sample_model, s);
    size_t before = ph_db_cached_statements(F.c);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "sample.name");
    CHECK_INT(ph_db_cached_statements(F.c), before); /* no SQL prepared */
    CHECK(!ph_db_in_transaction(F.c));
    CHECK_INT(fx_count(&F, "sample"), 0);
}

static void test_too_long_refused_before_sql(void)
{
    Sample *s = new_sample("abcdefghijk"); /* 11 > String(10) */
    ph_session_add(F.s, &Sample_model, s);
    size_t before = ph_db_cached_statements(F.c);
    CHECK_INT(ph_session_commit(F.s), PH_ETOOLONG);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "sample.name");
    CHECK_INT(ph_db_cached_statements(F.c), before);
    CHECK_INT(fx_count(&F, "sample"), 0);
    /* characters, not bytes: ten 2-byte characters fit */
    Sample *u = new_sample("éééééééééé");
    CHECK_INT(ph_session_add(F.s, &Sample_model, u), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    Sample *v = new_sample("ééééééééééé");
    ph_session_add(F.s, &Sample_model, v);
    CHECK_INT(ph_session_commit(F.s), PH_ETOOLONG);
    /* an update too */
    u->name = "01234567890";
    CHECK_INT(ph_session_commit(F.s), PH_ETOOLONG);
    CHECK_STR(u->name, "éééééééééé"); /* rolled back to the stored value */
    CHECK_INT(fx_count(&F, "sample"), 1);
}

static void test_integer_range(void)
{
    Sample *s = new_sample("big");
    s->order = (ph_int64_opt){(int64_t)INT32_MAX + 1, true};
    ph_session_add(F.s, &Sample_model, s);
    CHECK_INT(ph_session_commit(F.s), PH_ERANGE);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "sample.order");
    s->big = (ph_int64_opt){INT64_MIN, true}; /* BigInteger takes 64 bits */
    s->order.v = INT32_MIN;
    ph_session_add(F.s, &Sample_model, s);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 1);
}

static void test_foreign_key_violation(void)
{
    Child *c = PH_ARENA_NEW(F.a, Child);
    c->parent_id = 999;
    ph_session_add(F.s, &Child_model, c);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "child");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "FOREIGN KEY");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "parent_id");
    CHECK_INT(fx_count(&F, "child"), 0);
}

static void test_parents_inserted_first(void)
{
    Child *c = PH_ARENA_NEW(F.a, Child);
    c->parent_id = 5;
    c->code = "c1";
    Parent *p = PH_ARENA_NEW(F.a, Parent);
    p->id = 5; /* explicit key */
    p->name = "p";
    CHECK_INT(ph_session_add(F.s, &Child_model, c), 0); /* the child first */
    CHECK_INT(ph_session_add(F.s, &Parent_model, p), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(p->id, 5);
    CHECK(c->id > 0);
    /* deletes: children before parents, whatever the order of calls */
    CHECK_INT(ph_session_delete(F.s, p), 0);
    CHECK_INT(ph_session_delete(F.s, c), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "parent"), 0);
    CHECK_INT(fx_count(&F, "child"), 0);
    CHECK(c->_ph.session == NULL); /* detached */
}

static void test_delete_and_rollback(void)
{
    Sample *a = new_sample("a"), *b = new_sample("b");
    ph_session_add(F.s, &Sample_model, a);
    ph_session_add(F.s, &Sample_model, b);
    CHECK_INT(ph_session_commit(F.s), 0);
    /* rollback: edits reverted, pending new forgotten, delete cancelled */
    a->name = "changed";
    Sample *c = new_sample("c");
    ph_session_add(F.s, &Sample_model, c);
    ph_session_delete(F.s, b);
    ph_session_rollback(F.s);
    CHECK_STR(a->name, "a");
    CHECK(c->_ph.session == NULL);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 2);
    /* flush then rollback: nothing stays */
    Sample *d = new_sample("d");
    ph_session_add(F.s, &Sample_model, d);
    CHECK_INT(ph_session_flush(F.s), 0);
    CHECK(d->id > 0);
    CHECK(ph_db_in_transaction(F.c));
    ph_session_rollback(F.s);
    CHECK_INT(d->id, 0);
    CHECK_INT(fx_count(&F, "sample"), 2);
    /* delete a pending new one: nothing is written */
    Sample *e = new_sample("e");
    ph_session_add(F.s, &Sample_model, e);
    ph_session_delete(F.s, e);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 2);
    /* delete */
    CHECK_INT(ph_session_delete(F.s, b), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 1);
    Sample *gone = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, 2, &gone), PH_ENOTFOUND);
    /* misuse */
    Sample other = {0};
    CHECK_INT(ph_session_delete(F.s, &other), PH_EMISUSE);
    CHECK_INT(ph_session_add(F.s, &Parent_model, a), PH_EMISUSE);
}

static void test_statement_cache(void)
{
    ph_session_add(F.s, &Sample_model, new_sample("one"));
    ph_session_add(F.s, &Sample_model, new_sample("two"));
    CHECK_INT(ph_session_commit(F.s), 0);
    /* the text of a get is built once per connection: later gets, of other
     * ids, in other sessions, find their own rows through it */
    static const char *const names[] = {"one", "two"};
    for (int i = 0; i < 6; i++) {
        fx_new_session(&F);
        Sample *s = NULL;
        CHECK_INT(ph_session_get(F.s, &Sample_model, 1 + i % 2, &s), 0);
        CHECK(s && strcmp(s->name, names[i % 2]) == 0);
        CHECK_INT(ph_session_get(F.s, &Sample_model, 99, &s), PH_ENOTFOUND);
        CHECK(s == NULL);
    }
    size_t n = ph_db_cached_statements(F.c);
    fx_new_session(&F);
    Sample *s = NULL;
    CHECK_INT(ph_session_get(F.s, &Sample_model, 1, &s), 0);
    CHECK_INT(ph_db_cached_statements(F.c), n);
}

static void test_busy_sqlite(void)
{
    /* a second connection holds the write lock */
    ph_db_conn *other = ph_db_conn_new(F.db);
    CHECK_INT(ph_db_begin(other, true), 0);
    ph_db_config cfg = {.url = F.url, .busy_timeout_ms = 50};
    ph_db *db2;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db2, err, sizeof(err)), 0);
    ph_db_conn *c2 = ph_db_conn_new(db2);
    ph_arena *a = ph_arena_new(0);
    ph_session *s = ph_session_new(a, c2);
    ph_session_add(s, &Sample_model, new_sample("busy"));
    CHECK_INT(ph_session_commit(s), PH_EBUSY);
    CHECK_CONTAINS(ph_session_errmsg(s), "locked");
    CHECK_INT(ph_db_rollback(other), 0);
    ph_session_add(s, &Sample_model, new_sample("busy"));
    CHECK_INT(ph_session_commit(s), 0);
    ph_arena_free(a);
    ph_db_conn_free(c2);
    ph_db_close(db2);
    ph_db_conn_free(other);
}

static void test_connection_lost_pg(void)
{
    ph_session_add(F.s, &Sample_model, new_sample("one"));
    CHECK_INT(ph_session_commit(F.s), 0);
    int pid = ph_db_backend_pid(F.c);
    CHECK(pid > 0);
    ph_db_conn *killer = ph_db_conn_new(F.db);
    int64_t ok = 0;
    CHECK_INT(ph_db_query_int(
                  killer,
                  "SELECT count(*) FROM pg_stat_activity WHERE pg_terminate_backend(?::integer)",
                  (ph_val[]){PH_INT(pid)}, 1, &ok),
              0);
    ph_db_conn_free(killer);
    fx_new_session(&F);
    Sample *s = NULL;
    /* cut while idle: found stale and replaced before use, no error */
    int rc = ph_session_get(F.s, &Sample_model, 1, &s);
    CHECK_INT(rc, 0);
    CHECK(ph_db_backend_pid(F.c) != pid);
    CHECK_STR(s ? s->name : NULL, "one");
    /* lost inside a transaction: an error (nothing can be replayed), the
       transaction is gone, and the next commit works */
    pid = ph_db_backend_pid(F.c);
    CHECK_INT(ph_db_begin(F.c, true), 0);
    killer = ph_db_conn_new(F.db);
    CHECK_INT(ph_db_query_int(
                  killer,
                  "SELECT count(*) FROM pg_stat_activity WHERE pg_terminate_backend(?::integer)",
                  (ph_val[]){PH_INT(pid)}, 1, &ok),
              0);
    ph_db_conn_free(killer);
    CHECK_INT(ph_db_exec(F.c, "SELECT 1", NULL, 0), PH_ECONNLOST);
    CHECK_CONTAINS(ph_db_errmsg(F.c), "connection");
    CHECK(!ph_db_in_transaction(F.c));
    Sample *n2 = new_sample("two");
    ph_session_add(F.s, &Sample_model, n2);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 2);
}

static void test_connect_failure_pg(void)
{
    ph_db_config cfg = {.url = "postgresql://nobody@127.0.0.1:1/none", .connect_timeout_s = 2};
    ph_db *db;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    CHECK_INT(ph_db_exec(c, "SELECT 1", NULL, 0), PH_ECONNLOST);
    CHECK_CONTAINS(ph_db_errmsg(c), "cannot connect");
    ph_db_conn_free(c);
    ph_db_close(db);
}

static void both(ph_dialect d)
{
    RUN_ON(d, test_add_commit_writes_keys);
    RUN_ON(d, test_all_types_round_trip);
    RUN_ON(d, test_dirty_tracking_updates_changed_columns);
    RUN_ON(d, test_unique_violation_leaves_nothing);
    RUN_ON(d, test_not_null_refused_before_sql);
    RUN_ON(d, test_too_long_refused_before_sql);
    RUN_ON(d, test_integer_range);
    RUN_ON(d, test_foreign_key_violation);
    RUN_ON(d, test_parents_inserted_first);
    RUN_ON(d, test_delete_and_rollback);
    RUN_ON(d, test_statement_cache);
}

int main(void)
{
    puts("-- sqlite");
    both(PH_DB_SQLITE);
    RUN_ON(PH_DB_SQLITE, test_busy_sqlite);
    puts("-- sqlite :memory:");
    RUN_MEM(test_add_commit_writes_keys);
    RUN_MEM(test_all_types_round_trip);
    RUN_MEM(test_unique_violation_leaves_nothing);
    RUN_MEM(test_delete_and_rollback);
    puts("-- postgresql");
    both(PH_DB_POSTGRES);
    RUN_ON(PH_DB_POSTGRES, test_connection_lost_pg);
    RUN(test_connect_failure_pg);
    TEST_END();
}
