/*
 * Tests of the DDL: Phial's CREATE TABLE / CREATE INDEX text equals what
 * Flask-SQLAlchemy emits for the same models on SQLite and PostgreSQL
 * (tests/orm/flask_ddl.py, run with /usr/bin/python3), models sort parents
 * first, and create_all / drop_all work and skip what exists, on both.
 */
#include "fixture.h"
#include "test.h"

#include "../../app/models.h"

static void put_ddl(ph_buf *b, ph_dialect d, const char *dname, const ph_model *m)
{
    ph_buf_printf(b, "-- %s %s\n", dname, m->table);
    ph_orm_ddl_types(d, m, b);
    ph_orm_ddl(d, m, b);
}

static void test_ddl_matches_flask_sqlalchemy(void)
{
    const ph_model *models[] = {&User_model,           &World_model,       &Fortune_model,
                                &Sample_model,         &Parent_model,      &Child_model,
                                &PetHandler_model,     &PetCategory_model, &PetComment_model,
                                &HandlerProfile_model, &Tag_model,         &PetTag_model,
                                &Kinds_model};
    ph_buf mine;
    ph_buf_init(&mine, NULL);
    for (size_t i = 0; i < PH_COUNTOF(models); i++)
        put_ddl(&mine, PH_DB_SQLITE, "sqlite", models[i]);
    for (size_t i = 0; i < PH_COUNTOF(models); i++)
        put_ddl(&mine, PH_DB_POSTGRES, "postgresql", models[i]);
    CHECK_INT(ph_buf_status(&mine), 0);

    const char *top = getenv("PHIAL_TOP");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/orm/flask_ddl.py", top ? top : ".");
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    ph_buf theirs;
    ph_buf_init(&theirs, NULL);
    char chunk[4096];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        ph_buf_append(&theirs, chunk, n);
    int status = p ? pclose(p) : -1;
    CHECK_INT(status, 0);
    CHECK(theirs.len > 100);
    CHECK_STR(mine.ptr, theirs.ptr);
    ph_buf_free(&mine);
    ph_buf_free(&theirs);
}

static void test_sort_parents_first(void)
{
    const ph_model *order[3];
    CHECK_INT(ph_orm_sort(fx_models, fx_nmodels, order), 0);
    size_t parent = 9, child = 9;
    for (size_t i = 0; i < 3; i++) {
        if (order[i] == &Parent_model)
            parent = i;
        if (order[i] == &Child_model)
            child = i;
    }
    CHECK(parent < child);
}

static void test_model_check(void)
{
    char err[200];
    for (size_t i = 0; i < app_nmodels; i++)
        CHECK_INT(ph_model_check(app_models[i], err, sizeof(err)), 0);
    const ph_model *all[] = {&Sample_model, &Parent_model, &Child_model, &Kinds_model};
    for (size_t i = 0; i < PH_COUNTOF(all); i++) {
        int rc = ph_model_check(all[i], err, sizeof(err));
        CHECK_INT(rc, 0);
        if (rc)
            fprintf(stderr, "  %s\n", err);
    }
    CHECK(ph_model_column(&User_model, "username") == &User_model.columns[1]);
    CHECK(ph_model_column(&User_model, "nope") == NULL);
    CHECK(ph_model_pk(&User_model) == &User_model.columns[0]);
}

typedef struct Gappy {
    ph_obj _ph;
    int64_t id;
    int64_t forgotten; /* not in the descriptor */
    const char *name;
} Gappy;

static const ph_column Gappy_columns[] = {
    PH_INTEGER(Gappy, id, PH_PK),
    PH_STRING(Gappy, name, 10, 0),
};
static const ph_model Gappy_model = PH_MODEL(Gappy, "gappy", Gappy_columns);

static const ph_column NoPk_columns[] = {
    PH_INTEGER(Gappy, id, PH_NOT_NULL),
    PH_INTEGER(Gappy, forgotten, PH_NOT_NULL, .default_value = "zero"),
    PH_STRING(Gappy, name, 10, 0),
};
static const ph_model NoPk_model = PH_MODEL(Gappy, "nopk", NoPk_columns);

static void test_model_check_errors(void)
{
    char err[200];
    CHECK_INT(ph_model_check(&Gappy_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "Gappy: 8 undescribed bytes at offset 32");
    CHECK_INT(ph_model_check(&NoPk_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "forgotten: the default cannot be parsed");
}

static void create_drop_on(ph_dialect d)
{
    fx f;
    int rc = fx_open(&f, d, false);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK_INT(ph_orm_table_exists(f.c, "child"), 1);
    CHECK_INT(ph_orm_table_exists(f.c, "parent"), 1);
    CHECK_INT(ph_orm_table_exists(f.c, "nope"), 0);
    /* create_all again: existing tables are skipped, rows kept */
    CHECK_INT(
        ph_db_exec(f.c, "INSERT INTO \"parent\" (\"name\") VALUES (?)", (ph_val[]){PH_STR("p")}, 1),
        0);
    CHECK_INT(ph_orm_create_all(f.c, fx_models, fx_nmodels), 0);
    CHECK_INT(fx_count(&f, "parent"), 1);
    /* the app's models, with the reserved word "user" */
    CHECK_INT(ph_orm_create_all(f.c, app_models, app_nmodels), 0);
    CHECK_INT(ph_orm_table_exists(f.c, "user"), 1);
    CHECK_INT(ph_orm_drop_all(f.c, app_models, app_nmodels), 0);
    CHECK_INT(ph_orm_table_exists(f.c, "user"), 0);
    CHECK_INT(ph_orm_drop_all(f.c, fx_models, fx_nmodels), 0);
    CHECK_INT(ph_orm_table_exists(f.c, "child"), 0);
    CHECK_INT(ph_orm_table_exists(f.c, "parent"), 0);
    CHECK_INT(ph_orm_drop_all(f.c, fx_models, fx_nmodels), 0); /* nothing to drop */
    fx_close(&f);
}

static void test_create_drop_sqlite(void)
{
    create_drop_on(PH_DB_SQLITE);
}

static void test_create_drop_pg(void)
{
    create_drop_on(PH_DB_POSTGRES);
}

int main(void)
{
    RUN(test_ddl_matches_flask_sqlalchemy);
    RUN(test_sort_parents_first);
    RUN(test_model_check);
    RUN(test_model_check_errors);
    RUN(test_create_drop_sqlite);
    if (fx_pg_url())
        RUN(test_create_drop_pg);
    else
        SKIP(test_create_drop_pg, "PHIAL_TEST_PG_URL is not set");
    TEST_END();
}
