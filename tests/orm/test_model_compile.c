/*
 * Proves that a model whose C field types do not match its column types
 * fails the build: compiles small bad models with $CC (default cc) and
 * checks each fails with the static-assertion message naming the field,
 * and that the good version of the same model -- every column type, with
 * and without options -- compiles clean under -Wpedantic.
 */
#include "fixture.h"
#include "test.h"

#include <stdio.h>

/* Compiles a model snippet; returns the compiler's exit status and its
 * output (heap, caller frees) in *out. */
static int compile(const char *fields, const char *columns, char **out)
{
    char source[2048];
    snprintf(source, sizeof(source),
             "#include \"phial/model.h\"\n"
             "static const char *const states[] = {\"a\", \"b\", NULL};\n"
             "typedef struct User { ph_obj _ph; %s } User;\n"
             "static const ph_column User_columns[] = { %s };\n"
             "const ph_model User_model = PH_MODEL(User, \"user\", User_columns);\n",
             fields, columns);
    return fx_compile_source("model", source, out);
}

static void expect_fail(const char *fields, const char *columns, const char *msg)
{
    char *out;
    int status = compile(fields, columns, &out);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "static assert");
    CHECK_CONTAINS(out, msg);
    free(out);
}

static void test_good_model_compiles(void)
{
    char *out;
    int status = compile(
        "int64_t id; const char *username; ph_int64_opt age; bool ok; ph_bool_opt on;"
        "ph_decimal price; ph_decimal_opt tax; const char *state; const char *meta;"
        "ph_datetime_opt at; ph_date day; const char *note; ph_bytes data; double f;",
        "PH_INTEGER(User, id, PH_PK), PH_STRING(User, username, 100, PH_NOT_NULL),"
        "PH_INTEGER(User, age, 0), PH_BOOLEAN(User, ok, PH_NOT_NULL),"
        "PH_BOOLEAN(User, on, PH_NOT_NULL, .default_value = \"true\"),"
        "PH_NUMERIC(User, price, 10, 2, PH_NOT_NULL), PH_NUMERIC(User, tax, 5, 4, 0),"
        "PH_ENUM(User, state, states, \"state\", PH_NOT_NULL, .default_value = \"a\"),"
        "PH_JSON(User, meta, 0), PH_DATETIME(User, at, PH_TIMEZONE | PH_INDEX),"
        "PH_DATE(User, day, PH_NOT_NULL), PH_TEXT(User, note, 0, .server_default = \"x\"),"
        "PH_BINARY(User, data, 0), PH_FLOAT(User, f, PH_NOT_NULL)",
        &out);
    CHECK_INT(status, 0);
    if (status)
        fprintf(stderr, "%s\n", out ? out : "");
    free(out);
}

static void test_bad_models_fail(void)
{
    expect_fail("int id;", "PH_INTEGER(User, id, PH_PK)",
                "User.id: C type must be int64_t (NOT NULL/PK) or ph_int64_opt");
    expect_fail("int64_t id; char username[101];",
                "PH_INTEGER(User, id, PH_PK), PH_STRING(User, username, 100, PH_NOT_NULL)",
                "User.username: C type must be const char *");
    /* strings of loaded rows are read-only: a plain char * is refused */
    expect_fail("int64_t id; char *username;",
                "PH_INTEGER(User, id, PH_PK), PH_STRING(User, username, 100, PH_NOT_NULL)",
                "User.username: C type must be const char *");
    expect_fail("int64_t id; char *note;", "PH_INTEGER(User, id, PH_PK), PH_TEXT(User, note, 0)",
                "User.note: C type must be const char *");
    expect_fail("int64_t id; int64_t age;", "PH_INTEGER(User, id, PH_PK), PH_INTEGER(User, age, 0)",
                "User.age: C type must be int64_t (NOT NULL/PK) or ph_int64_opt");
    expect_fail("int64_t id; double price;",
                "PH_INTEGER(User, id, PH_PK), PH_NUMERIC(User, price, 10, 2, PH_NOT_NULL)",
                "User.price: C type must be ph_decimal (NOT NULL) or ph_decimal_opt");
    expect_fail("int64_t id; ph_decimal price;",
                "PH_INTEGER(User, id, PH_PK), PH_NUMERIC(User, price, 10, 2, 0)",
                "User.price: C type must be ph_decimal (NOT NULL) or ph_decimal_opt");
    expect_fail("int64_t id; int state;",
                "PH_INTEGER(User, id, PH_PK), PH_ENUM(User, state, states, \"s\", 0)",
                "User.state: C type must be const char *");
    expect_fail("int64_t id; char *meta;", "PH_INTEGER(User, id, PH_PK), PH_JSON(User, meta, 0)",
                "User.meta: C type must be const char *");
    expect_fail("int64_t id; int ok;",
                "PH_INTEGER(User, id, PH_PK), PH_BOOLEAN(User, ok, PH_NOT_NULL)",
                "User.ok: C type must be bool");
    expect_fail("int64_t id; double when;",
                "PH_INTEGER(User, id, PH_PK), PH_DATETIME(User, when, PH_NOT_NULL)",
                "User.when: C type must be ph_datetime");
}

int main(void)
{
    RUN(test_good_model_compiles);
    RUN(test_bad_models_fail);
    TEST_END();
}
