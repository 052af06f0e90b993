/*
 * The typed entry points at run time, on SQLite and PostgreSQL: PH_ADD,
 * PH_GET, PH_FILTER with compiler-counted values of several C types,
 * PH_FILTER_BY, PH_ALL / PH_FIRST, a query read as the wrong model
 * refused, and the session keeping a failed add as the commit's error.
 */
#include "fixture.h"
#include "test.h"

static void run_typed(ph_dialect d)
{
    fx F;
    int rc = fx_open(&F, d, false);
    if (rc == 1)
        return;
    CHECK_INT(rc, 0);
    if (rc)
        return;
    static const char *const names[] = {"ant", "bee", "cat", "dog"};
    for (int i = 0; i < 4; i++) {
        Parent *p = PH_ARENA_NEW(F.a, Parent);
        p->name = (char *)names[i];
        PH_ADD(F.s, Parent, p);
    }
    CHECK_INT(ph_session_commit(F.s), 0);
    fx_new_session(&F);

    Parent *one;
    CHECK_INT(PH_GET(F.s, Parent, 2, &one), 0);
    CHECK_STR(one ? one->name : NULL, "bee");

    int lo = 1;
    unsigned long hi = 4;
    Parent **rows;
    size_t n;
    ph_query *q = PH_QUERY(F.s, Parent);
    PH_FILTER(q, "id > ? AND id < ? AND name <> ?", lo, hi, "cat");
    PH_ORDER_BY(q, Parent, id, PH_DESC);
    CHECK_INT(PH_ALL(q, Parent, &rows, &n), 0);
    CHECK_INT(n, 1);
    CHECK_STR(n ? rows[0]->name : NULL, "bee");

    q = PH_QUERY(F.s, Parent);
    PH_FILTER_BY(q, Parent, name, "dog");
    Parent *dog;
    CHECK_INT(PH_FIRST(q, Parent, &dog), 0);
    CHECK_INT(dog ? dog->id : 0, 4);

    /* a Parent query read as Child rows: refused, with both names */
    Child **kids;
    CHECK_INT(PH_ALL(PH_QUERY(F.s, Parent), Child, &kids, &n), PH_EMISUSE);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "a query on Parent read as Child rows");

    /* a failed add is the commit's error, and nothing is written */
    Parent *fresh = PH_ARENA_NEW(F.a, Parent);
    fresh->name = "eel";
    PH_ADD(F.s, Parent, fresh);
    Parent *foreign = PH_ARENA_NEW(F.a, Parent);
    foreign->_ph.session = (ph_session *)&F; /* not a zeroed header */
    foreign->name = "fox";
    PH_ADD(F.s, Parent, foreign);
    CHECK_INT(ph_session_commit(F.s), PH_EMISUSE);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "another session");
    CHECK_INT(fx_count(&F, "parent"), 4);
    /* the error was reported once: the session works again */
    fx_new_session(&F);
    Parent *gnu = PH_ARENA_NEW(F.a, Parent);
    gnu->name = "gnu";
    PH_ADD(F.s, Parent, gnu);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "parent"), 5);
    fx_close(&F);
}

static void test_typed_sqlite(void)
{
    run_typed(PH_DB_SQLITE);
}

static void test_typed_postgresql(void)
{
    run_typed(PH_DB_POSTGRES);
}

int main(void)
{
    RUN(test_typed_sqlite);
    if (fx_pg_url())
        RUN(test_typed_postgresql);
    else
        SKIP(test_typed_postgresql, "PHIAL_TEST_PG_URL not set");
    TEST_END();
}
