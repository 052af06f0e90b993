/*
 * Proves that the relationship macros check their fields at compile time:
 * a one-to-many or many-to-many field must be a ph_list, a many-to-one or
 * one-to-one field a pointer to the target's struct.  Compiles small
 * models with $CC (default cc): the good one builds, each bad one fails
 * with the static-assertion message naming the field.
 */
#include "fixture.h"
#include "test.h"

#include <stdio.h>

/* Two models A (id, list or pointer field `kids`) and B (id, a_id FK,
 * field `parent`) with the relationship entries given; returns the
 * compiler's exit status and its output (heap, caller frees) in *out. */
static int compile(const char *a_field, const char *a_rel, const char *b_field, const char *b_rel,
                   char **out)
{
    char source[4096];
    snprintf(source, sizeof(source),
             "#include \"phial/model.h\"\n"
             "typedef struct A A; typedef struct B B;\n"
             "struct A { ph_obj _ph; int64_t id; %s };\n"
             "struct B { ph_obj _ph; int64_t id; int64_t a_id; %s };\n"
             "PH_MODEL_EXTERN(A);\nPH_MODEL_EXTERN(B);\n"
             "static const ph_column A_columns[] = { PH_INTEGER(A, id, PH_PK) };\n"
             "static const ph_relationship A_rels[] = { %s };\n"
             "const ph_model A_model = PH_MODEL_RELS(A, \"a\", A_columns, A_rels);\n"
             "static const ph_column B_columns[] = { PH_INTEGER(B, id, PH_PK),\n"
             "    PH_INTEGER(B, a_id, PH_NOT_NULL, .foreign_key = \"a.id\") };\n"
             "static const ph_relationship B_rels[] = { %s };\n"
             "const ph_model B_model = PH_MODEL_RELS(B, \"b\", B_columns, B_rels);\n",
             a_field, b_field, a_rel, b_rel);
    return fx_compile_source("relc", source, out);
}

#define ONE_TO_MANY "PH_ONE_TO_MANY(A, kids, B, \"a_id\", .backref = \"parent\")"
#define MANY_TO_ONE "PH_MANY_TO_ONE(B, parent, A, \"a_id\", .backref = \"kids\")"

static void test_good_relationships_compile(void)
{
    char *out;
    int status = compile("ph_list kids;", ONE_TO_MANY, "A *parent;", MANY_TO_ONE, &out);
    CHECK_INT(status, 0);
    if (status)
        fprintf(stderr, "%s\n", out ? out : "");
    free(out);
    status = compile("B *kids;", "PH_ONE_TO_ONE(A, kids, B, \"a_id\", .backref = \"parent\")",
                     "A *parent;", MANY_TO_ONE, &out);
    CHECK_INT(status, 0);
    free(out);
    status = compile("ph_list kids;", "PH_MANY_TO_MANY(A, kids, B, \"a_b\", \"a_id\", \"b_id\")",
                     "ph_list parent;",
                     "PH_MANY_TO_MANY(B, parent, A, \"a_b\", \"b_id\", \"a_id\")", &out);
    CHECK_INT(status, 0);
    free(out);
}

static void expect_fail(const char *a_field, const char *a_rel, const char *b_field,
                        const char *b_rel, const char *msg)
{
    char *out;
    int status = compile(a_field, a_rel, b_field, b_rel, &out);
    CHECK(status != 0);
    /* gcc: "static assertion failed"; clang: "static_assert failed" */
    CHECK(out && (strstr(out, "static assert") || strstr(out, "static_assert")));
    CHECK_CONTAINS(out, msg);
    free(out);
}

static void test_bad_relationships_fail(void)
{
    expect_fail("B **kids;", ONE_TO_MANY, "A *parent;", MANY_TO_ONE,
                "A.kids: C type must be ph_list (one-to-many)");
    expect_fail("ph_list kids;", ONE_TO_MANY, "B *parent;", MANY_TO_ONE,
                "B.parent: C type must be A * (many-to-one)");
    expect_fail("ph_list kids;", ONE_TO_MANY, "int64_t parent;", MANY_TO_ONE,
                "B.parent: C type must be A * (many-to-one)");
    expect_fail("ph_list kids;", "PH_ONE_TO_ONE(A, kids, B, \"a_id\")", "A *parent;", MANY_TO_ONE,
                "A.kids: C type must be B * (one-to-one)");
    expect_fail("B *kids;", "PH_MANY_TO_MANY(A, kids, B, \"a_b\", \"a_id\", \"b_id\")",
                "A *parent;", MANY_TO_ONE, "A.kids: C type must be ph_list (many-to-many)");
}

int main(void)
{
    RUN(test_good_relationships_compile);
    RUN(test_bad_relationships_fail);
    TEST_END();
}
