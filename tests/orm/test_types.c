/*
 * Every column type round-trips on SQLite and PostgreSQL through the
 * session, with defaults applied and NULLs kept (the Kinds model of
 * fixture.c beside Sample): Numeric exact to the last digit, Enum and JSON
 * checked before any SQL, a timezone-aware DateTime read back in UTC
 * whatever the server's zone, server defaults read back into the struct,
 * a multi-column unique naming its columns.  Also: a zeroed field is
 * unset and a NOT NULL column without a default refuses it by name,
 * ph_model_check refuses a default a plain scalar cannot tell from zero,
 * and dirty tracking sees a string changed in place.
 */
#include "fixture.h"
#include "test.h"

#include <string.h>
#include <time.h>

static fx F;

#define RUN_ON(d, fn)                                                                              \
    do {                                                                                           \
        int fx_rc_ = open_kinds((d));                                                              \
        if (fx_rc_ == 1) {                                                                         \
            SKIP(fn, "PHIAL_TEST_PG_URL is not set");                                              \
        } else if (fx_rc_ < 0) {                                                                   \
            ph_t_failed++;                                                                         \
            printf("FAIL %s (cannot open the database)\n", #fn);                                   \
        } else {                                                                                   \
            RUN(fn);                                                                               \
            close_kinds();                                                                         \
        }                                                                                          \
    } while (0)

static const ph_model *const kinds_models[] = {&Parent_model, &Kinds_model};
static int64_t parent_id;

/* The fixture's database plus the kinds table (and its Enum type), and
 * one parent row for kinds.owner. */
static int open_kinds(ph_dialect d)
{
    int rc = fx_open(&F, d, false);
    if (rc)
        return rc;
    if (ph_orm_drop_all(F.c, kinds_models + 1, 1) != 0 ||
        ph_orm_create_all(F.c, kinds_models, 2) != 0) {
        fprintf(stderr, "open_kinds: %s\n", ph_db_errmsg(F.c));
        fx_close(&F);
        return -1;
    }
    Parent *p = PH_ARENA_NEW(F.a, Parent);
    p->name = "owner";
    if (ph_session_add(F.s, &Parent_model, p) || ph_session_commit(F.s)) {
        fx_close(&F);
        return -1;
    }
    parent_id = p->id;
    fx_new_session(&F);
    return 0;
}

static void close_kinds(void)
{
    ph_orm_drop_all(F.c, kinds_models + 1, 1);
    fx_close(&F);
}

static Kinds *new_kinds(const char *label)
{
    Kinds *k = PH_ARENA_NEW(F.a, Kinds);
    k->owner = parent_id;
    k->label = label;
    return k;
}

static Kinds *reload(int64_t id)
{
    fx_new_session(&F);
    Kinds *k = NULL;
    CHECK_INT(ph_session_get(F.s, &Kinds_model, id, &k), 0);
    return k;
}

/* A zeroed struct: every default applied (client-side ones into the struct
 * before the INSERT, server ones read back after it), the rest NULL. */
static void test_defaults_and_nulls(void)
{
    Kinds *k = PH_ARENA_NEW(F.a, Kinds);
    k->owner = parent_id;
    int64_t before = (int64_t)time(NULL) * 1000000;
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    if (ph_session_errmsg(F.s)[0])
        fprintf(stderr, "  %s\n", ph_session_errmsg(F.s));
    /* in the struct at once */
    CHECK_STR(k->state, "todo");
    CHECK(k->tax.set && k->tax.v.units == 825);
    CHECK(k->created.set && k->created.v.usec >= before &&
          k->created.v.usec <= (int64_t)(time(NULL) + 1) * 1000000);
    CHECK_STR(k->label, "x'y");
    CHECK(k->rank.set && k->rank.v == 7);
    CHECK(k->big.set && k->big.v == 5);
    CHECK_INT(k->price.units, 0);
    CHECK(k->done == false);
    int64_t created = k->created.v.usec;
    /* and in the database */
    Kinds *g = reload(k->id);
    if (!g)
        return;
    CHECK_STR(g->state, "todo");
    CHECK(g->tax.set && g->tax.v.units == 825);
    CHECK(g->created.set && g->created.v.usec == created);
    CHECK_STR(g->label, "x'y");
    CHECK(g->rank.set && g->rank.v == 7);
    CHECK(g->big.set && g->big.v == 5);
    CHECK_INT(g->price.units, 0);
    CHECK(g->done == false);
    /* no default: NULL kept */
    CHECK(g->meta == NULL);
    CHECK(!g->at.set);
    CHECK(g->body == NULL);
}

/* 64-bit integers at the edges of the driver's own decimal parse (up to
 * 18 digits) and of int64_t read back exactly. */
static void test_integers_round_trip(void)
{
    static const int64_t vals[] = {0, 1, -1, 7, -42, 999999999999999999, -999999999999999999,
                                   1000000000000000000, -1000000000000000000, INT64_MAX,
                                   INT64_MIN + 1, INT64_MIN, 123456789012345678};
    for (size_t i = 0; i < PH_COUNTOF(vals); i++) {
        char label[16];
        snprintf(label, sizeof label, "int%zu", i);
        Kinds *k = new_kinds(ph_arena_strdup(F.a, label));
        k->big = (ph_int64_opt){vals[i], true};
        k->rank = (ph_int64_opt){(int64_t)i - 5, true};
        CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
        CHECK_INT(ph_session_commit(F.s), 0);
        int64_t id = k->id;
        Kinds *g = reload(id);
        if (!g)
            return;
        if (!g->big.set || g->big.v != vals[i])
            fprintf(stderr, "  %lld read back as %lld\n", (long long)vals[i], (long long)g->big.v);
        CHECK(g->big.set && g->big.v == vals[i]);
        CHECK(g->rank.set && g->rank.v == (int64_t)i - 5);
        CHECK(g->id == id);
    }
}

static void test_values_round_trip(void)
{
    Kinds *k = new_kinds("values");
    k->price = (ph_decimal){-9876543210}; /* -98765432.10 */
    k->tax = (ph_decimal_opt){{1}, true};                       /* 0.0001 */
    k->state = "doing";
    k->meta = "{\"tags\": [\"a\", \"b\"], \"n\": 1.5, \"ok\": true, \"none\": null}";
    CHECK_INT(ph_datetime_parse("2024-02-29 23:30:00.000001", 26, &k->at.v.usec), 0);
    k->at.set = true;
    k->done = true;
    k->rank = (ph_int64_opt){-3, true};
    k->big = (ph_int64_opt){INT64_MIN, true};
    k->body = "";
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    if (ph_session_errmsg(F.s)[0])
        fprintf(stderr, "  %s\n", ph_session_errmsg(F.s));
    int64_t at = k->at.v.usec;
    Kinds *g = reload(k->id);
    if (!g)
        return;
    CHECK(g->price.units == -9876543210);
    CHECK(g->tax.set && g->tax.v.units == 1);
    CHECK_STR(g->state, "doing");
    CHECK_CONTAINS(g->meta, "\"tags\"");
    CHECK(g->meta && ph_json_valid(g->meta, strlen(g->meta)));
    CHECK(g->at.set && g->at.v.usec == at);
    CHECK(g->done == true);
    CHECK(g->rank.set && g->rank.v == -3);
    CHECK(g->big.set && g->big.v == INT64_MIN);
    CHECK_STR(g->body, ""); /* "" is a value, not NULL */
    CHECK_STR(g->label, "values");
    /* the textual form, as the CLI and templates show it */
    ph_buf b;
    ph_buf_init(&b, F.a);
    ph_column_format(ph_model_column(&Kinds_model, "price"), g, &b);
    CHECK_STR(b.ptr, "-98765432.10");
    ph_buf_clear(&b);
    ph_column_format(ph_model_column(&Kinds_model, "tax"), g, &b);
    CHECK_STR(b.ptr, "0.0001");
}

/* A timezone-aware DateTime is UTC in the struct whatever the server's
 * zone: PostgreSQL answers in its session's TimeZone with an offset. */
static void test_timezone_aware(void)
{
    if (F.d == PH_DB_POSTGRES)
        CHECK_INT(ph_db_exec_script(F.c, "SET TIME ZONE 'Asia/Kolkata'"), 0);
    Kinds *k = new_kinds("tz");
    CHECK_INT(ph_datetime_parse("2024-06-01 12:00:00", 19, &k->at.v.usec), 0);
    k->at.set = true;
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    int64_t at = k->at.v.usec;
    Kinds *g = reload(k->id);
    CHECK(g && g->at.set && g->at.v.usec == at);
    if (F.d == PH_DB_POSTGRES) {
        /* the server itself holds 12:00 UTC (17:30 in Kolkata) */
        ph_db_rows r;
        CHECK_INT(ph_db_query(F.c,
                              "SELECT to_char(at AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || "
                              "to_char(at, 'HH24:MI') FROM kinds WHERE label = 'tz'",
                              NULL, 0, &r),
                  0);
        size_t n;
        CHECK_INT(ph_db_rows_next(&r), 1);
        CHECK_STR(ph_db_rows_text(&r, 0, &n), "12:00 17:30");
        ph_db_rows_close(&r);
        CHECK_INT(ph_db_exec_script(F.c, "SET TIME ZONE 'UTC'"), 0);
    }
}

/* Numeric is exact: a value SQLite's REAL and a C double cannot hold
 * exactly still reads back digit for digit (15 significant digits on
 * SQLite, the precision on PostgreSQL). */
static void test_numeric_exact(void)
{
    Kinds *k = new_kinds("exact");
    /* 0.10 + 0.20 in binary is 0.30000000000000004 */
    CHECK_INT(ph_decimal_parse("0.10", 4, 10, 2, false, &k->price.units), 0);
    int64_t twenty;
    CHECK_INT(ph_decimal_parse("0.20", 4, 10, 2, false, &twenty), 0);
    k->price.units += twenty;
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    int64_t id = k->id; /* k goes with the old session's arena */
    Kinds *g = reload(id);
    CHECK(g && g->price.units == 30);
    if (!g)
        return;
    /* 99999999.99: ten digits, the most Numeric(10, 2) holds */
    g->price.units = 9999999999;
    CHECK_INT(ph_session_commit(F.s), 0);
    g = reload(id);
    CHECK(g && g->price.units == 9999999999);
    if (!g)
        return;
    /* one digit more is refused before any SQL, naming the column */
    g->price.units = 10000000000;
    CHECK_INT(ph_session_commit(F.s), PH_ERANGE);
    CHECK_STR(ph_session_error_column(F.s), "price");
    /* the text parser: exact, refuses what does not fit */
    int64_t u = 0;
    CHECK_INT(ph_decimal_parse("12.3", 4, 10, 2, false, &u), 0);
    CHECK_INT(u, 1230);
    CHECK_INT(ph_decimal_parse("-0.05", 5, 10, 2, false, &u), 0);
    CHECK_INT(u, -5);
    CHECK_INT(ph_decimal_parse("1.5e3", 5, 10, 2, false, &u), 0);
    CHECK_INT(u, 150000);
    CHECK_INT(ph_decimal_parse("12.345", 6, 10, 2, false, &u), PH_ERANGE);
    CHECK_INT(ph_decimal_parse("12.345", 6, 10, 2, true, &u), 0);
    CHECK_INT(u, 1235);
    CHECK_INT(ph_decimal_parse("12.340", 6, 10, 2, false, &u), 0);
    CHECK_INT(ph_decimal_parse("123456789", 9, 10, 2, false, &u), PH_ERANGE);
    CHECK_INT(ph_decimal_parse("1.2.3", 5, 10, 2, false, &u), PH_EINVAL);
    CHECK_INT(ph_decimal_parse("", 0, 10, 2, false, &u), PH_EINVAL);
    CHECK_INT(ph_decimal_parse("abc", 3, 10, 2, false, &u), PH_EINVAL);
    CHECK_INT(ph_decimal_parse("1e", 2, 10, 2, false, &u), PH_EINVAL);
    char t[32];
    ph_decimal_format(-5, 2, t, sizeof(t));
    CHECK_STR(t, "-0.05");
    ph_decimal_format(INT64_MIN, 4, t, sizeof(t));
    CHECK_STR(t, "-922337203685477.5808");
}

/* Bad Enum and JSON values never reach the database. */
static void test_enum_and_json_checked(void)
{
    Kinds *k = new_kinds("bad");
    k->state = "later";
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    uint64_t q = ph_session_query_count(F.s);
    CHECK_INT(ph_session_commit(F.s), PH_EINVAL);
    CHECK_INT(ph_session_query_count(F.s), q);
    CHECK(ph_session_errinfo(F.s)->kind == PH_DBERR_INVALID);
    CHECK_STR(ph_session_error_column(F.s), "state");
    k = new_kinds("bad2");
    k->meta = "{\"a\": 1,}";
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), PH_EINVAL);
    CHECK_STR(ph_session_error_column(F.s), "meta");
    CHECK_INT(fx_count(&F, "kinds"), 0);
    /* the text parser used by forms and the CLI refuses them too */
    Kinds tmp = {0};
    const ph_column *st = ph_model_column(&Kinds_model, "state");
    CHECK_INT(ph_column_parse(st, &tmp, "done", 4, F.a), 0);
    CHECK_STR(tmp.state, "done");
    CHECK_INT(ph_column_parse(st, &tmp, "DONE", 4, F.a), PH_EINVAL);
    const ph_column *mc = ph_model_column(&Kinds_model, "meta");
    CHECK_INT(ph_column_parse(mc, &tmp, "[1, 2]", 6, F.a), 0);
    CHECK_INT(ph_column_parse(mc, &tmp, "[1, 2", 5, F.a), PH_EINVAL);
}

/* The multi-column unique: the same label for the same owner is taken,
 * and the error names both columns. */
static void test_multi_column_unique(void)
{
    CHECK_INT(ph_session_add(F.s, &Kinds_model, new_kinds("same")), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(ph_session_add(F.s, &Kinds_model, new_kinds("same")), 0);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    const ph_db_errinfo *e = ph_session_errinfo(F.s);
    CHECK(e->kind == PH_DBERR_UNIQUE);
    CHECK_STR(e->table, "kinds");
    CHECK_STR(e->column, "owner");
    CHECK_STR(e->columns, "owner, label");
    CHECK_INT(fx_count(&F, "kinds"), 1);
}

/* A NOT NULL column without a default refuses an unset field by name,
 * before any SQL; one with a default takes it. */
static void test_not_null_without_default(void)
{
    Sample *s = PH_ARENA_NEW(F.a, Sample); /* name: NOT NULL, no default */
    CHECK_INT(ph_session_add(F.s, &Sample_model, s), 0);
    uint64_t q = ph_session_query_count(F.s);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_INT(ph_session_query_count(F.s), q);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "sample.name");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "no default");
    CHECK_STR(ph_session_error_column(F.s), "name");
}

/* Strings of loaded rows are const; a change made through a cast, in
 * place, is still seen (the snapshot holds a copy of the bytes). */
static void test_dirty_in_place(void)
{
    Kinds *k = new_kinds("abc");
    k->body = "hello";
    CHECK_INT(ph_session_add(F.s, &Kinds_model, k), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    int64_t id = k->id;
    Kinds *g = reload(id);
    if (!g)
        return;
    CHECK(!ph_session_is_dirty(F.s, g));
    ((char *)g->body)[0] = 'j'; /* what const is there to prevent */
    CHECK(ph_session_is_dirty(F.s, g));
    CHECK_INT(ph_session_commit(F.s), 0);
    g = reload(id);
    CHECK_STR(g ? g->body : NULL, "jello");
    /* and after that commit the new bytes are the snapshot */
    CHECK(g && !ph_session_is_dirty(F.s, g));
}

/* The new types through JSON (jsonify and request bodies): a JSON column
 * is the document itself, Numeric exact text, Enum checked. */
static void test_json_of_new_types(void)
{
    ph_arena *a = ph_arena_new(0);
    Kinds k = {0};
    char err[200];
    json_t *in = json_loads("{\"meta\": {\"a\": [1, 2]}, \"price\": \"1.25\", \"tax\": 0.5,"
                            " \"state\": \"done\", \"owner\": 1, \"label\": \"x\"}",
                            0, NULL);
    CHECK_INT(ph_model_from_json(&Kinds_model, &k, in, a, err, sizeof(err)), 0);
    CHECK_INT(k.price.units, 125);
    CHECK(k.tax.set && k.tax.v.units == 5000);
    CHECK_STR(k.state, "done");
    CHECK_STR(k.meta, "{\"a\":[1,2]}");
    json_t *out = ph_model_to_json(&Kinds_model, &k, NULL);
    CHECK(out != NULL);
    CHECK(json_is_object(json_object_get(out, "meta")));
    CHECK_STR(json_string_value(json_object_get(out, "price")), "1.25");
    CHECK_STR(json_string_value(json_object_get(out, "tax")), "0.5000");
    CHECK_STR(json_string_value(json_object_get(out, "state")), "done");
    CHECK(json_is_null(json_object_get(out, "body")));
    json_decref(out);
    json_decref(in);
    in = json_loads("{\"state\": \"someday\"}", 0, NULL);
    CHECK(ph_model_from_json(&Kinds_model, &k, in, a, err, sizeof(err)) < 0);
    CHECK_CONTAINS(err, "state");
    json_decref(in);
    in = json_loads("{\"price\": \"1.255\"}", 0, NULL); /* below the scale */
    CHECK(ph_model_from_json(&Kinds_model, &k, in, a, err, sizeof(err)) < 0);
    CHECK_CONTAINS(err, "price");
    json_decref(in);
    ph_arena_free(a);
}

/* Declarations a plain scalar cannot honour are refused at start-up. */
static void test_model_check_defaults(void)
{
    typedef struct Bad {
        ph_obj _ph;
        int64_t id;
        int64_t n; /* NOT NULL, default 1: 0 would be "unset" and 1 at once */
    } Bad;
    static const ph_column bad_cols[] = {
        PH_INTEGER(Bad, id, PH_PK),
        PH_INTEGER(Bad, n, PH_NOT_NULL, .default_value = "1"),
    };
    static const ph_model Bad_model = PH_MODEL(Bad, "bad", bad_cols);
    static const ph_column zero_cols[] = {
        PH_INTEGER(Bad, id, PH_PK),
        PH_INTEGER(Bad, n, PH_NOT_NULL, .default_value = "0"),
    };
    static const ph_model Zero_model = PH_MODEL(Bad, "zero", zero_cols);
    static const ph_column srv_cols[] = {
        PH_INTEGER(Bad, id, PH_PK),
        PH_INTEGER(Bad, n, PH_NOT_NULL, .server_default = "9"),
    };
    static const ph_model Srv_model = PH_MODEL(Bad, "srv", srv_cols);
    static const ph_column num_cols[] = {
        PH_INTEGER(Bad, id, PH_PK),
        PH_INTEGER(Bad, n, PH_NOT_NULL, .default_value = "x"),
    };
    static const ph_model Num_model = PH_MODEL(Bad, "num", num_cols);
    char err[300];
    CHECK_INT(ph_model_check(&Bad_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "Bad.n");
    CHECK_CONTAINS(err, "_opt");
    CHECK_INT(ph_model_check(&Srv_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "Bad.n");
    CHECK_INT(ph_model_check(&Num_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "cannot be parsed");
    CHECK_INT(ph_model_check(&Zero_model, err, sizeof(err)), 0);
    CHECK_INT(ph_model_check(&Kinds_model, err, sizeof(err)), 0);
}

int main(void)
{
    RUN(test_model_check_defaults);
    RUN(test_json_of_new_types);
    ph_dialect ds[] = {PH_DB_SQLITE, PH_DB_POSTGRES};
    for (size_t i = 0; i < PH_COUNTOF(ds); i++) {
        printf("-- %s\n", ds[i] == PH_DB_SQLITE ? "SQLite" : "PostgreSQL");
        RUN_ON(ds[i], test_defaults_and_nulls);
        RUN_ON(ds[i], test_values_round_trip);
        RUN_ON(ds[i], test_integers_round_trip);
        RUN_ON(ds[i], test_timezone_aware);
        RUN_ON(ds[i], test_numeric_exact);
        RUN_ON(ds[i], test_enum_and_json_checked);
        RUN_ON(ds[i], test_multi_column_unique);
        RUN_ON(ds[i], test_not_null_without_default);
        RUN_ON(ds[i], test_dirty_in_place);
    }
    TEST_END();
}
