/*
 * Tests of the query builder on SQLite and PostgreSQL: all / first / one /
 * get, filter_by and filter fragments (bound values, checked and quoted
 * column names), order_by, limit / offset, count, exists, paginate, bulk
 * delete, and the misuse cases (unknown columns, placeholder counts, wrong
 * value types).
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
            seed();                                                                                \
            RUN(fn);                                                                               \
            fx_close(&F);                                                                          \
        }                                                                                          \
    } while (0)

/* 25 samples: name s01..s25, flag on the even ones, order = i. */
static void seed(void)
{
    for (int i = 1; i <= 25; i++) {
        Sample *s = PH_ARENA_NEW(F.a, Sample);
        s->name = ph_arena_sprintf(F.a, "s%02d", i);
        s->flag = i % 2 == 0;
        s->order = (ph_int64_opt){i, true}; /* the others stay unset: NULL */
        ph_session_add(F.s, &Sample_model, s);
    }
    if (ph_session_commit(F.s) != 0)
        fprintf(stderr, "seed: %s\n", ph_session_errmsg(F.s));
    fx_new_session(&F);
}

static ph_query *Q(void)
{
    return ph_query_new(F.s, &Sample_model);
}

static void test_all_order_limit_offset(void)
{
    Sample **rows;
    size_t n;
    CHECK_INT(ph_query_all(Q(), &rows, &n), 0);
    CHECK_INT(n, 25);
    CHECK_INT(ph_query_all(ph_query_order_by(Q(), "id", PH_DESC), &rows, &n), 0);
    CHECK(n == 25 && strcmp(rows[0]->name, "s25") == 0);
    ph_query *q = ph_query_order_by(Q(), "order", PH_ASC);
    ph_query_limit(q, 5);
    ph_query_offset(q, 10);
    CHECK_INT(ph_query_all(q, &rows, &n), 0);
    CHECK_INT(n, 5);
    CHECK(n == 5 && rows[0]->order.v == 11 && rows[4]->order.v == 15);
    q = ph_query_order_by(Q(), "flag", PH_DESC);
    ph_query_order_by(q, "id", PH_ASC);
    ph_query_offset(q, 12); /* offset without limit */
    CHECK_INT(ph_query_all(q, &rows, &n), 0);
    CHECK_INT(n, 13);
    CHECK(n && rows[0]->flag == false && rows[0]->id == 1);
    /* the identity map: the same objects again */
    Sample **again;
    size_t m;
    CHECK_INT(ph_query_all(ph_query_order_by(Q(), "id", PH_ASC), &again, &m), 0);
    Sample *first = NULL;
    CHECK_INT(ph_query_first(ph_query_order_by(Q(), "id", PH_ASC), &first), 0);
    CHECK(m == 25 && first == again[0]);
}

static void test_filter_by_and_first_one(void)
{
    Sample *s = NULL;
    CHECK_INT(ph_query_one(ph_query_filter_by(Q(), "name", PH_STR("s07")), &s), 0);
    CHECK(s && s->order.v == 7);
    CHECK_INT(ph_query_first(ph_query_filter_by(Q(), "name", PH_STR("none")), &s), PH_ENOTFOUND);
    CHECK(s == NULL);
    CHECK_INT(ph_query_one(ph_query_filter_by(Q(), "flag", PH_BOOL(true)), &s), PH_EMULTIPLE);
    CHECK_INT(ph_query_one(ph_query_filter_by(Q(), "note", PH_NULL), &s), PH_EMULTIPLE);
    ph_query *q = ph_query_filter_by(Q(), "flag", PH_BOOL(true));
    ph_query_filter_by(q, "order", PH_INT(8));
    CHECK_INT(ph_query_one(q, &s), 0);
    CHECK_STR(s ? s->name : NULL, "s08");
    /* values are bound, never pasted */
    Sample *evil = PH_ARENA_NEW(F.a, Sample);
    evil->name = "x'; --";
    ph_session_add(F.s, &Sample_model, evil);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(ph_query_one(ph_query_filter_by(Q(), "name", PH_STR("x'; --")), &s), 0);
    CHECK(s == evil);
}

static void test_filter_fragments(void)
{
    Sample **rows;
    size_t n;
    /* "order" is a reserved word: the column is quoted for us */
    ph_query *q = ph_query_filter(Q(), "order > ? AND flag = ?", 2, PH_INT(20), PH_BOOL(true));
    ph_query_order_by(q, "order", PH_ASC);
    CHECK_INT(ph_query_all(q, &rows, &n), 0);
    CHECK_INT(n, 2);
    CHECK(n == 2 && rows[0]->order.v == 22 && rows[1]->order.v == 24);
    q = ph_query_filter(Q(), "name LIKE ? OR lower(name) = 's01'", 1, PH_STR("s1%"));
    CHECK_INT(ph_query_all(q, &rows, &n), 0);
    CHECK_INT(n, 11);
    q = ph_query_filter(Q(), "\"order\" BETWEEN ? AND ?", 2, PH_INT(3), PH_INT(5));
    int64_t count = 0;
    CHECK_INT(ph_query_count(q, &count), 0);
    CHECK_INT(count, 3);
    /* misuse: unknown column, wrong count, stacked statements */
    CHECK_INT(ph_query_all(ph_query_filter(Q(), "nosuch = ?", 1, PH_INT(1)), &rows, &n),
              PH_EUNDEFINED);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "nosuch");
    CHECK_INT(ph_query_all(ph_query_filter(Q(), "id = ? AND id = ?", 1, PH_INT(1)), &rows, &n),
              PH_EMISUSE);
    CHECK_INT(ph_query_all(ph_query_filter(Q(), "id = 1; DROP TABLE sample", 0), &rows, &n),
              PH_EPARSE);
    CHECK_INT(fx_count(&F, "sample"), 25);
}

static void test_unknown_columns_and_types(void)
{
    Sample **rows;
    size_t n;
    CHECK_INT(ph_query_all(ph_query_filter_by(Q(), "nope", PH_INT(1)), &rows, &n), PH_EUNDEFINED);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "unknown column 'nope'");
    CHECK_INT(ph_query_all(ph_query_order_by(Q(), "nope", PH_ASC), &rows, &n), PH_EUNDEFINED);
    CHECK_INT(ph_query_all(ph_query_filter_by(Q(), "id", PH_STR("1")), &rows, &n), PH_ETYPE);
    CHECK_INT(ph_query_all(ph_query_limit(Q(), -1), &rows, &n), PH_ERANGE);
    /* an error sticks: later builder calls do not clear it */
    ph_query *q = ph_query_filter_by(Q(), "nope", PH_INT(1));
    ph_query_filter_by(q, "id", PH_INT(1));
    CHECK_INT(ph_query_all(q, &rows, &n), PH_EUNDEFINED);
}

static void test_count_exists_paginate(void)
{
    int64_t n = 0;
    CHECK_INT(ph_query_count(Q(), &n), 0);
    CHECK_INT(n, 25);
    CHECK_INT(ph_query_count(ph_query_filter_by(Q(), "flag", PH_BOOL(true)), &n), 0);
    CHECK_INT(n, 12);
    CHECK_INT(ph_query_count(ph_query_limit(Q(), 4), &n), 0);
    CHECK_INT(n, 4);
    bool e = false;
    CHECK_INT(ph_query_exists(ph_query_filter_by(Q(), "name", PH_STR("s03")), &e), 0);
    CHECK(e);
    CHECK_INT(ph_query_exists(ph_query_filter_by(Q(), "name", PH_STR("zz")), &e), 0);
    CHECK(!e);
    ph_page p;
    ph_query *q = ph_query_order_by(Q(), "id", PH_ASC);
    CHECK_INT(ph_query_paginate(q, 2, 10, &p), 0);
    CHECK_INT(p.n, 10);
    CHECK_INT(p.total, 25);
    CHECK_INT(p.pages, 3);
    CHECK(p.has_prev && p.has_next);
    CHECK(p.n && ((Sample *)p.items[0])->id == 11);
    CHECK_INT(ph_query_paginate(q, 3, 10, &p), 0);
    CHECK_INT(p.n, 5);
    CHECK(!p.has_next);
    CHECK_INT(ph_query_paginate(q, 4, 10, &p), 0);
    CHECK_INT(p.n, 0);
    CHECK_INT(ph_query_paginate(q, 0, 10, &p), PH_ERANGE);
}

static void test_bulk_delete(void)
{
    int64_t deleted = 0;
    CHECK_INT(ph_query_delete(ph_query_filter_by(Q(), "flag", PH_BOOL(true)), &deleted), 0);
    CHECK_INT(deleted, 12);
    ph_session_rollback(F.s);
    CHECK_INT(fx_count(&F, "sample"), 25);
    CHECK_INT(ph_query_delete(ph_query_filter(Q(), "order <= ?", 1, PH_INT(5)), &deleted), 0);
    CHECK_INT(deleted, 5);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "sample"), 20);
    CHECK_INT(ph_query_delete(ph_query_limit(Q(), 1), &deleted), PH_EMISUSE);
}

/* ON DELETE CASCADE in the DDL is enforced by the database (foreign keys
 * are on for SQLite): a bulk delete of a parent removes its children. */
static void test_ondelete_cascade_in_database(void)
{
    Parent *p = PH_ARENA_NEW(F.a, Parent), *q = PH_ARENA_NEW(F.a, Parent);
    p->name = "p";
    q->name = "q";
    CHECK_INT(ph_session_add(F.s, &Parent_model, p), 0);
    CHECK_INT(ph_session_add(F.s, &Parent_model, q), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    for (int i = 0; i < 3; i++) {
        Child *c = PH_ARENA_NEW(F.a, Child);
        c->parent_id = i < 2 ? p->id : q->id;
        ph_session_add(F.s, &Child_model, c);
    }
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "child"), 3);
    int64_t deleted = 0;
    ph_query *del = ph_query_new(F.s, &Parent_model);
    CHECK_INT(ph_query_delete(ph_query_filter_by(del, "id", PH_INT(p->id)), &deleted), 0);
    CHECK_INT(deleted, 1);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "parent"), 1);
    CHECK_INT(fx_count(&F, "child"), 1);
}

static void test_query_sql_text(void)
{
    ph_query *q = ph_query_filter_by(Q(), "name", PH_STR("a"));
    ph_query_order_by(q, "id", PH_DESC);
    ph_query_limit(q, 3);
    CHECK_STR(ph_query_sql(q),
              "SELECT \"id\", \"name\", \"note\", \"flag\", \"score\", \"created\", \"day\", "
              "\"data\", \"big\", \"order\" FROM \"sample\" WHERE \"name\" = ? ORDER BY \"id\" "
              "DESC LIMIT ?");
}

static void both(ph_dialect d)
{
    RUN_ON(d, test_all_order_limit_offset);
    RUN_ON(d, test_filter_by_and_first_one);
    RUN_ON(d, test_filter_fragments);
    RUN_ON(d, test_unknown_columns_and_types);
    RUN_ON(d, test_count_exists_paginate);
    RUN_ON(d, test_bulk_delete);
    RUN_ON(d, test_query_sql_text);
    RUN_ON(d, test_ondelete_cascade_in_database);
}

int main(void)
{
    puts("-- sqlite");
    both(PH_DB_SQLITE);
    puts("-- postgresql");
    both(PH_DB_POSTGRES);
    TEST_END();
}
