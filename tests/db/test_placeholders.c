/*
 * The `?` placeholders of PostgreSQL statements: rewritten to $1, $2...
 * only where PostgreSQL's lexer sees an operator, never inside a quoted
 * literal ('...', E'...' with backslash escapes, $$...$$ and $tag$...$tag$),
 * a quoted identifier, or a comment (-- and nested block comments).  Each
 * case runs on a real PostgreSQL and checks the values that come back.
 */
#include "phial/db.h"
#include "test.h"

static ph_db *db;
static ph_db_conn *conn;

/* Runs sql with two bound integers (1 and 2) and returns the text of the
 * first row's columns joined by '|', in out. */
static int run(const char *sql, char *out, size_t len)
{
    ph_val v[2] = {PH_INT(1), PH_INT(2)};
    ph_db_rows r;
    out[0] = '\0';
    int rc = ph_db_query(conn, sql, v, 2, &r);
    if (rc == 0 && ph_db_rows_next(&r) == 1) {
        size_t used = 0;
        for (int i = 0; i < r.ncols; i++) {
            size_t n;
            const char *t = ph_db_rows_text(&r, i, &n);
            int k = snprintf(out + used, len - used, "%s%.*s", i ? "|" : "", (int)n, t);
            used += k > 0 && (size_t)k < len - used ? (size_t)k : 0;
        }
    }
    ph_db_rows_close(&r);
    return rc;
}

static void test_comments(void)
{
    char out[200];
    CHECK_INT(run("SELECT ? -- is it? a comment?\n, ?", out, sizeof(out)), 0);
    CHECK_STR(out, "1|2");
    CHECK_INT(run("SELECT ? /* what? /* nested? */ still? */, ?", out, sizeof(out)), 0);
    CHECK_STR(out, "1|2");
}

static void test_escape_strings(void)
{
    char out[200];
    /* E'\'' is one quote: the literal goes on to the second quote after it */
    CHECK_INT(run("SELECT E'it\\'s ?', ?, ?", out, sizeof(out)), 0);
    CHECK_STR(out, "it's ?|1|2");
    CHECK_INT(run("SELECT e'back\\\\', ?, 'plain ''?'' quote', ?", out, sizeof(out)), 0);
    CHECK_STR(out, "back\\|1|plain '?' quote|2");
    /* a word ending in e before a quote is no E'' prefix */
    CHECK_INT(run("SELECT ?::text AS note, ?", out, sizeof(out)), 0);
    CHECK_STR(out, "1|2");
}

static void test_dollar_quotes(void)
{
    char out[200];
    CHECK_INT(run("SELECT $$a ? b$$, ?, $tag$ it's ? $$ $tag$, ?", out, sizeof(out)), 0);
    CHECK_STR(out, "a ? b|1| it's ? $$ |2");
    CHECK_INT(run("SELECT \"?col\".x, ? FROM (SELECT ? AS x) AS \"?col\"", out, sizeof(out)), 0);
    CHECK_STR(out, "2|1");
}

/* A count that does not match is still the database's clear error. */
static void test_count_mismatch(void)
{
    char out[200];
    CHECK(run("SELECT ? /* ? */, ?, ?", out, sizeof(out)) < 0);
    CHECK(ph_db_errmsg(conn)[0] != '\0');
}

int main(void)
{
    const char *url = getenv("PHIAL_TEST_PG_URL");
    if (!url || !*url) {
        SKIP(test_comments, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_escape_strings, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_dollar_quotes, "PHIAL_TEST_PG_URL is not set");
        SKIP(test_count_mismatch, "PHIAL_TEST_PG_URL is not set");
        TEST_END();
    }
    char err[200];
    ph_db_config cfg = {.url = url};
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    conn = ph_db_conn_new(db);
    RUN(test_comments);
    RUN(test_escape_strings);
    RUN(test_dollar_quotes);
    RUN(test_count_mismatch);
    ph_db_conn_free(conn);
    ph_db_close(db);
    TEST_END();
}
