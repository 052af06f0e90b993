/*
 * Proves that the typed entry points of phial/typed.h turn the usual
 * mistakes into build errors naming the mistake -- a missing `&`, the
 * wrong model, the wrong result type, a filter value that is not a value,
 * a field the struct does not have, an ignored commit -- and that the
 * correct program builds.  Each case is compiled with $CC and -Werror.
 */
#include "fixture.h"
#include "test.h"

#include <stdio.h>

/* Two models and a function body using them. */
static int compile(const char *body, char **out)
{
    char source[4096];
    snprintf(source, sizeof(source),
             "#include \"phial/orm.h\"\n"
             "typedef struct Todo { ph_obj _ph; int64_t id; const char *title; bool done; } Todo;\n"
             "typedef struct Tag { ph_obj _ph; int64_t id; const char *name; } Tag;\n"
             "static const ph_column Todo_columns[] = { PH_INTEGER(Todo, id, PH_PK),\n"
             "    PH_STRING(Todo, title, 100, PH_NOT_NULL), PH_BOOLEAN(Todo, done, PH_NOT_NULL) };\n"
             "static const ph_column Tag_columns[] = { PH_INTEGER(Tag, id, PH_PK),\n"
             "    PH_STRING(Tag, name, 50, PH_NOT_NULL) };\n"
             "const ph_model Todo_model = PH_MODEL(Todo, \"todo\", Todo_columns);\n"
             "const ph_model Tag_model = PH_MODEL(Tag, \"tag\", Tag_columns);\n"
             "int use(ph_session *db);\n"
             "int use(ph_session *db) {\n"
             "    Todo *t = 0; Todo **todos = 0; Tag *tag = 0; size_t n = 0;\n"
             "    ph_query *q = PH_QUERY(db, Todo);\n"
             "    (void)t; (void)todos; (void)tag; (void)n; (void)q;\n"
             "    %s\n"
             "    return 0;\n"
             "}\n",
             body);
    return fx_compile_source("api", source, out);
}

static void expect_fail(const char *body, const char *msg)
{
    char *out;
    int status = compile(body, &out);
    CHECK(status != 0);
    CHECK_CONTAINS(out, msg);
    if (status == 0)
        fprintf(stderr, "  built, but should not have: %s\n", body);
    free(out);
}

static void test_correct_program_builds(void)
{
    char *out;
    int status = compile("if (PH_GET(db, Todo, 1, &t) != 0) return 1;\n"
                         "PH_ADD(db, Todo, t); PH_ADD(db, Tag, tag); PH_DELETE(db, Tag, tag);\n"
                         "PH_FILTER_BY(q, Todo, done, false);\n"
                         "PH_FILTER_BY(q, Todo, title, \"milk\");\n"
                         "int64_t lo = 1; unsigned hi = 9; const char *s = \"x\";\n"
                         "PH_FILTER(q, \"id > ? AND id < ? AND title <> ?\", lo, hi, s);\n"
                         "PH_FILTER(q, \"title = ? OR done = ?\", PH_NULL, true);\n"
                         "PH_ORDER_BY(q, Todo, id, PH_DESC);\n"
                         "if (PH_ALL(q, Todo, &todos, &n) != 0) return 1;\n"
                         "if (PH_FIRST(q, Todo, &t) != 0) return 1;\n"
                         "if (ph_session_commit(db) != 0) return 1;",
                         &out);
    CHECK_INT(status, 0);
    if (status)
        fprintf(stderr, "%s\n", out ? out : "");
    free(out);
}

static void test_mistakes_fail_the_build(void)
{
    /* ph_session_get(db, &Todo_model, 1, t): the missing & */
    expect_fail("if (PH_GET(db, Todo, 1, t) != 0) return 1;",
                "PH_GET(s, Todo, id, out): out must be a Todo ** (the address of a Todo *)");
    /* ph_session_get(db, &Tag_model, 1, &todo): the wrong model */
    expect_fail("if (PH_GET(db, Tag, 1, &t) != 0) return 1;",
                "PH_GET(s, Tag, id, out): out must be a Tag **");
    /* ph_query_all(q, todos, &n): rows instead of their address */
    expect_fail("if (PH_ALL(q, Todo, todos, &n) != 0) return 1;",
                "PH_ALL(q, Todo, rows, n): rows must be a Todo ***");
    /* ph_session_add(db, &Tag_model, todo) */
    expect_fail("PH_ADD(db, Tag, t);", "PH_ADD(s, Tag, obj): obj must be a Tag *");
    /* a value that is not a filter value */
    expect_fail("PH_FILTER(q, \"id = ?\", &n);",
                "ph_filter_value_must_be_an_integer_double_bool_string_or_ph_val");
    /* a field the struct does not have */
    expect_fail("PH_FILTER_BY(q, Todo, titel, \"x\");", "no member named");
    expect_fail("PH_ORDER_BY(q, Todo, created, PH_ASC);", "no member named");
    /* a commit whose result is ignored */
    expect_fail("ph_session_commit(db);", "warn_unused_result");
    expect_fail("PH_ALL(q, Todo, &todos, &n);", "warn_unused_result");
}

int main(void)
{
    RUN(test_correct_program_builds);
    RUN(test_mistakes_fail_the_build);
    TEST_END();
}
