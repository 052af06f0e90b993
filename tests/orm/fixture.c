/*
 * The ORM tests' fixture and models (see fixture.h).
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ph_column Sample_columns[] = {
    PH_INTEGER(Sample, id, PH_PK),
    PH_STRING(Sample, name, 10, PH_NOT_NULL | PH_UNIQUE),
    PH_TEXT(Sample, note, PH_INDEX),
    PH_BOOLEAN(Sample, flag, PH_NOT_NULL),
    PH_FLOAT(Sample, score, 0),
    PH_DATETIME(Sample, created, 0),
    PH_DATE(Sample, day, 0),
    PH_BINARY(Sample, data, 0),
    PH_BIGINTEGER(Sample, big, 0, .default_value = "3"),
    PH_INTEGER(Sample, order, 0),
};
const ph_model Sample_model = PH_MODEL(Sample, "sample", Sample_columns);

static const ph_column Parent_columns[] = {
    PH_INTEGER(Parent, id, PH_PK),
    PH_STRING(Parent, name, 50, PH_NOT_NULL),
};
const ph_model Parent_model = PH_MODEL(Parent, "parent", Parent_columns);

static const ph_column Child_columns[] = {
    PH_INTEGER(Child, id, PH_PK),
    PH_INTEGER(Child, parent_id, PH_NOT_NULL, .foreign_key = "parent.id",
               .ondelete = PH_ONDELETE_CASCADE),
    PH_STRING(Child, code, 20, PH_UNIQUE | PH_INDEX),
};
const ph_model Child_model = PH_MODEL(Child, "child", Child_columns);

static const char *const todo_states[] = {"todo", "doing", "done", NULL};
static const ph_column Kinds_columns[] = {
    PH_INTEGER(Kinds, id, PH_PK),
    PH_NUMERIC(Kinds, price, 10, 2, PH_NOT_NULL, .server_default = "0"),
    PH_NUMERIC(Kinds, tax, 5, 4, 0, .default_value = "0.0825"),
    PH_ENUM(Kinds, state, todo_states, "todo_state", PH_NOT_NULL, .default_value = "todo"),
    PH_JSON(Kinds, meta, 0),
    PH_DATETIME(Kinds, at, PH_TIMEZONE | PH_INDEX),
    PH_DATETIME(Kinds, created, PH_NOT_NULL, .default_value = "now"),
    PH_INTEGER(Kinds, owner, PH_NOT_NULL, .foreign_key = "parent.id"),
    PH_STRING(Kinds, label, 20, PH_NOT_NULL, .server_default = "x'y"),
    PH_BOOLEAN(Kinds, done, PH_NOT_NULL, .default_value = "false"),
    PH_INTEGER(Kinds, rank, PH_NOT_NULL, .server_default = "7"),
    PH_BIGINTEGER(Kinds, big, 0, .default_value = "5"),
    PH_TEXT(Kinds, body, 0),
};
static const ph_unique Kinds_uniques[] = {{{"owner", "label"}}};
const ph_model Kinds_model = PH_MODEL(Kinds, "kinds", Kinds_columns, PH_UNIQUES(Kinds_uniques));

const ph_model *const fx_models[] = {&Child_model, &Sample_model, &Parent_model};
const size_t fx_nmodels = PH_COUNTOF(fx_models);

const char *fx_pg_url(void)
{
    const char *u = getenv("PHIAL_TEST_PG_URL");
    return u && *u ? u : NULL;
}

void fx_temp_path(char *out, size_t len, const char *name)
{
    static unsigned counter; /* test-only: unique names within one process */
    const char *dir = getenv("PHIAL_BUILD");
    snprintf(out, len, "%s/phial-test-%ld-%u-%s", dir && *dir ? dir : "/tmp", (long)getpid(),
             counter++, name);
}

int fx_open(fx *f, ph_dialect d, bool memory)
{
    memset(f, 0, sizeof(*f));
    f->d = d;
    if (d == PH_DB_POSTGRES) {
        if (!fx_pg_url())
            return 1;
        snprintf(f->url, sizeof(f->url), "%s", fx_pg_url());
    } else if (memory) {
        snprintf(f->url, sizeof(f->url), "sqlite:///:memory:");
    } else {
        fx_temp_path(f->path, sizeof(f->path), "orm.db");
        snprintf(f->url, sizeof(f->url), "sqlite:///%s", f->path);
    }
    char err[256];
    ph_db_config cfg = {.url = f->url, .echo = getenv("PHIAL_TEST_ECHO") != NULL};
    if (ph_db_open(&cfg, &f->db, err, sizeof(err)) != 0) {
        fprintf(stderr, "fx_open: %s\n", err);
        return -1;
    }
    f->c = ph_db_conn_new(f->db);
    if (ph_orm_drop_all(f->c, fx_models, fx_nmodels) != 0 ||
        ph_orm_create_all(f->c, fx_models, fx_nmodels) != 0) {
        fprintf(stderr, "fx_open: %s\n", ph_db_errmsg(f->c));
        fx_close(f);
        return -1;
    }
    fx_new_session(f);
    return 0;
}

void fx_new_session(fx *f)
{
    ph_arena_free(f->a);
    f->a = ph_arena_new(0);
    f->s = ph_session_new(f->a, f->c);
}

void fx_close(fx *f)
{
    ph_arena_free(f->a);
    f->a = NULL;
    ph_db_conn_free(f->c);
    f->c = NULL;
    ph_db_close(f->db);
    f->db = NULL;
    if (f->path[0]) {
        char p[600];
        unlink(f->path);
        snprintf(p, sizeof(p), "%s-wal", f->path);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", f->path);
        unlink(p);
    }
}

int64_t fx_count(fx *f, const char *table)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    ph_buf_puts(&b, "SELECT count(*) FROM ");
    ph_db_put_ident(&b, table);
    int64_t n = -1;
    if (ph_db_query_int(f->c, b.ptr, NULL, 0, &n) != 0)
        n = -1;
    ph_buf_free(&b);
    return n;
}

int fx_compile_source(const char *name, const char *source, char **out)
{
    const char *dir = getenv("PHIAL_BUILD");
    const char *top = getenv("PHIAL_TOP");
    const char *cc = getenv("CC");
    char src[512], log[600], cmd[2048];
    snprintf(src, sizeof(src), "%s/phial-%s-%ld.c", dir && *dir ? dir : "/tmp", name,
             (long)getpid());
    snprintf(log, sizeof(log), "%s.log", src);
    *out = NULL;
    FILE *f = fopen(src, "w");
    if (!f)
        return -1;
    fputs(source, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "%s -std=c11 -Wall -Wextra -Wpedantic -Werror -I%s/include -c %s -o /dev/null >%s 2>&1",
             cc && *cc ? cc : "cc", top && *top ? top : ".", src, log);
    int status = system(cmd);
    f = fopen(log, "r");
    if (f) {
        char *buf = calloc(1, 65536);
        if (buf && fread(buf, 1, 65535, f) == 0)
            buf[0] = '\0';
        fclose(f);
        *out = buf;
    }
    unlink(src);
    unlink(log);
    return status;
}
