/*
 * DDL: CREATE TABLE / CREATE INDEX (and PostgreSQL's CREATE TYPE for
 * Enum columns) text exactly as SQLAlchemy 1.4 emits it for SQLite and
 * PostgreSQL (so databases made by Flask-SQLAlchemy and by Phial are
 * interchangeable), model ordering by foreign keys, create_all / drop_all,
 * and the start-up check of which tables are missing.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serial: the column is the model's only primary key (autoincrement). */
static const char *sql_type(ph_dialect d, const ph_column *c, bool serial, char *tmp, size_t len)
{
    bool pk = serial && (c->flags & PH_PK) != 0;
    switch (c->type) {
    case PH_T_INTEGER:
        return d == PH_DB_POSTGRES && pk ? "SERIAL" : "INTEGER";
    case PH_T_BIGINTEGER:
        return d == PH_DB_POSTGRES && pk ? "BIGSERIAL" : "BIGINT";
    case PH_T_FLOAT:
        return "FLOAT";
    case PH_T_BOOLEAN:
        return "BOOLEAN";
    case PH_T_STRING:
        snprintf(tmp, len, "VARCHAR(%d)", c->length);
        return tmp;
    case PH_T_TEXT:
        return "TEXT";
    case PH_T_NUMERIC:
        snprintf(tmp, len, "NUMERIC(%d, %d)", c->length, c->scale);
        return tmp;
    case PH_T_JSON:
        return "JSON";
    case PH_T_ENUM: {
        if (d == PH_DB_POSTGRES)
            return NULL; /* the type's name, written by the caller */
        size_t longest = 0;
        for (const char *const *v = c->enum_values; v && *v; v++)
            longest = strlen(*v) > longest ? strlen(*v) : longest;
        snprintf(tmp, len, "VARCHAR(%zu)", longest);
        return tmp;
    }
    case PH_T_DATETIME:
        if (d == PH_DB_SQLITE)
            return "DATETIME";
        return c->flags & PH_TIMEZONE ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE";
    case PH_T_DATE:
        return "DATE";
    case PH_T_BINARY:
        return d == PH_DB_POSTGRES ? "BYTEA" : "BLOB";
    }
    return "?";
}

/* Appends s as an SQL string literal, quotes doubled. */
static void put_literal(ph_buf *out, const char *s)
{
    ph_buf_putc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            ph_buf_putc(out, '\'');
        ph_buf_putc(out, *s);
    }
    ph_buf_putc(out, '\'');
}

/* Appends CREATE TYPE name AS ENUM ('a', 'b') for Enum column c. */
static void put_create_type(ph_buf *out, const ph_column *c)
{
    ph_buf_puts(out, "CREATE TYPE ");
    ph_db_put_ident_min(out, PH_DB_POSTGRES, c->enum_name);
    ph_buf_puts(out, " AS ENUM (");
    for (const char *const *v = c->enum_values; v && *v; v++) {
        if (v != c->enum_values)
            ph_buf_puts(out, ", ");
        put_literal(out, *v);
    }
    ph_buf_putc(out, ')');
}

/* Whether column c is the first of models[0..n) (up to model mi, column
 * ci) to name its Enum type: a type shared by several columns is made
 * once. */
static bool first_of_type(const ph_model *const *models, size_t mi, size_t ci)
{
    const char *name = models[mi]->columns[ci].enum_name;
    for (size_t i = 0; i <= mi; i++)
        for (size_t k = 0; k < (i == mi ? ci : models[i]->ncolumns); k++)
            if (models[i]->columns[k].type == PH_T_ENUM && models[i]->columns[k].enum_name &&
                strcmp(models[i]->columns[k].enum_name, name) == 0)
                return false;
    return true;
}

int ph_orm_ddl_types(ph_dialect d, const ph_model *m, ph_buf *out)
{
    if (d != PH_DB_POSTGRES)
        return 0;
    const ph_model *one[] = {m};
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c->type != PH_T_ENUM || !c->enum_name || !first_of_type(one, 0, i))
            continue;
        put_create_type(out, c);
        ph_buf_puts(out, ";\n");
    }
    return ph_buf_status(out);
}

/* Whether a PostgreSQL type exists in the current schema: 1, 0 or a code. */
static int type_exists(ph_db_conn *c, const char *name)
{
    ph_val v = PH_STR(name);
    int64_t n = 0;
    int rc = ph_db_query_int(c,
                             "SELECT count(*) FROM pg_catalog.pg_type t JOIN "
                             "pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
                             "WHERE n.nspname = current_schema() AND t.typname = ?",
                             &v, 1, &n);
    return rc ? rc : n > 0;
}

/* PostgreSQL: creates the Enum types of models that do not exist yet
 * (create), or drops those that exist (after the tables). */
static int enum_types(ph_db_conn *c, const ph_model *const *models, size_t n, bool create,
                      ph_buf *b)
{
    if (ph_db_conn_dialect(c) != PH_DB_POSTGRES)
        return 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < models[i]->ncolumns; k++) {
            const ph_column *col = &models[i]->columns[k];
            if (col->type != PH_T_ENUM || !col->enum_name || !first_of_type(models, i, k))
                continue;
            int exists = type_exists(c, col->enum_name);
            if (exists < 0)
                return exists;
            if (create == (exists == 1))
                continue;
            ph_buf_clear(b);
            if (create) {
                put_create_type(b, col);
            } else {
                ph_buf_puts(b, "DROP TYPE ");
                ph_db_put_ident(b, col->enum_name);
            }
            int rc = ph_buf_status(b);
            if (rc == 0)
                rc = ph_db_exec_script(c, b->ptr);
            if (rc) {
                char msg[400];
                snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
                return ph_db_set_error(c, rc, "%s type %s: %s", create ? "create" : "drop",
                                       col->enum_name, msg);
            }
        }
    }
    return 0;
}

int ph_orm_ddl(ph_dialect d, const ph_model *m, ph_buf *out)
{
    const ph_column *pk = ph_model_pk(m);
    if (!pk)
        return PH_EINVAL;
    size_t npk = ph_model_npk(m);
    ph_buf_puts(out, "CREATE TABLE ");
    ph_db_put_ident_min(out, d, m->table);
    ph_buf_puts(out, " (\n");
    char tmp[32];
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        ph_buf_putc(out, '\t');
        ph_db_put_ident_min(out, d, c->name);
        ph_buf_putc(out, ' ');
        const char *ty = sql_type(d, c, npk == 1, tmp, sizeof(tmp));
        if (ty)
            ph_buf_puts(out, ty);
        else
            ph_db_put_ident_min(out, d, c->enum_name);
        if (c->server_default) {
            ph_buf_puts(out, " DEFAULT ");
            put_literal(out, c->server_default);
        }
        if (c->flags & (PH_PK | PH_NOT_NULL))
            ph_buf_puts(out, " NOT NULL");
        ph_buf_puts(out, ", \n");
    }
    ph_buf_puts(out, "\tPRIMARY KEY (");
    for (size_t i = 0, k = 0; i < m->ncolumns; i++) {
        if (!(m->columns[i].flags & PH_PK))
            continue;
        if (k++)
            ph_buf_puts(out, ", ");
        ph_db_put_ident_min(out, d, m->columns[i].name);
    }
    ph_buf_putc(out, ')');
    /* table-level uniques first: SQLAlchemy orders constraints by creation,
       and __table_args__ are made before the columns' own constraints */
    for (size_t u = 0; u < m->nuniques; u++) {
        ph_buf_puts(out, ", \n\tUNIQUE (");
        const ph_unique *uq = &m->uniques[u];
        for (size_t k = 0; k < PH_COUNTOF(uq->columns) && uq->columns[k]; k++) {
            if (k)
                ph_buf_puts(out, ", ");
            ph_db_put_ident_min(out, d, uq->columns[k]);
        }
        ph_buf_putc(out, ')');
    }
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if ((c->flags & PH_UNIQUE) && !(c->flags & PH_INDEX) && !(c->flags & PH_PK)) {
            ph_buf_puts(out, ", \n\tUNIQUE (");
            ph_db_put_ident_min(out, d, c->name);
            ph_buf_putc(out, ')');
        }
    }
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (!c->foreign_key)
            continue;
        const char *dot = strrchr(c->foreign_key, '.');
        if (!dot)
            return PH_EINVAL;
        char table[128];
        snprintf(table, sizeof(table), "%.*s", (int)(dot - c->foreign_key), c->foreign_key);
        ph_buf_puts(out, ", \n\tFOREIGN KEY(");
        ph_db_put_ident_min(out, d, c->name);
        ph_buf_puts(out, ") REFERENCES ");
        ph_db_put_ident_min(out, d, table);
        ph_buf_puts(out, " (");
        ph_db_put_ident_min(out, d, dot + 1);
        ph_buf_putc(out, ')');
        static const char *const actions[] = {"", " ON DELETE CASCADE", " ON DELETE SET NULL",
                                              " ON DELETE RESTRICT"};
        ph_buf_puts(out, actions[c->ondelete]);
    }
    ph_buf_puts(out, "\n);\n");
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (!(c->flags & PH_INDEX))
            continue;
        ph_buf_puts(out, c->flags & PH_UNIQUE ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
        char name[256];
        snprintf(name, sizeof(name), "ix_%s_%s", m->table, c->name);
        ph_db_put_ident_min(out, d, name);
        ph_buf_puts(out, " ON ");
        ph_db_put_ident_min(out, d, m->table);
        ph_buf_puts(out, " (");
        ph_db_put_ident_min(out, d, c->name);
        ph_buf_puts(out, ");\n");
    }
    return ph_buf_status(out);
}

/* Whether model a has a foreign key to model b (not itself). */
static bool depends_on(const ph_model *a, const ph_model *b)
{
    if (a == b)
        return false;
    size_t tlen = strlen(b->table);
    for (size_t i = 0; i < a->ncolumns; i++) {
        const char *fk = a->columns[i].foreign_key;
        if (fk && strncmp(fk, b->table, tlen) == 0 && fk[tlen] == '.')
            return true;
    }
    return false;
}

int ph_orm_sort(const ph_model *const *models, size_t n, const ph_model **order)
{
    bool *placed = calloc(n ? n : 1, sizeof(bool));
    if (!placed)
        return PH_ENOMEM;
    size_t k = 0;
    while (k < n) {
        bool progress = false;
        for (size_t i = 0; i < n; i++) {
            if (placed[i])
                continue;
            bool ready = true;
            for (size_t j = 0; j < n && ready; j++)
                if (!placed[j] && j != i && depends_on(models[i], models[j]))
                    ready = false;
            if (ready) {
                placed[i] = true;
                order[k++] = models[i];
                progress = true;
                break; /* restart: keep the given order among ready models */
            }
        }
        if (!progress) {
            free(placed);
            return PH_EINVAL;
        }
    }
    free(placed);
    return 0;
}

int ph_orm_table_exists(ph_db_conn *c, const char *table)
{
    const char *sql =
        ph_db_conn_dialect(c) == PH_DB_SQLITE
            ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
            : "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
              "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
              "AND c.relname = ? AND c.relkind IN ('r', 'p')";
    ph_val v = PH_STR(table);
    int64_t n = 0;
    int rc = ph_db_query_int(c, sql, &v, 1, &n);
    return rc ? rc : n > 0;
}

int ph_orm_missing_tables(ph_db_conn *c, const ph_model *const *models, size_t n,
                          const ph_model **missing, size_t *nmissing)
{
    *nmissing = 0;
    for (size_t i = 0; i < n; i++) {
        int exists = ph_orm_table_exists(c, models[i]->table);
        if (exists < 0)
            return exists;
        if (!exists)
            missing[(*nmissing)++] = models[i];
    }
    return 0;
}

static int create_or_drop(ph_db_conn *c, const ph_model *const *models, size_t n, bool create)
{
    const ph_model **order = calloc(n ? n : 1, sizeof(*order));
    if (!order)
        return ph_db_set_error(c, PH_ENOMEM, "out of memory");
    int rc = ph_orm_sort(models, n, order);
    if (rc) {
        free(order);
        return ph_db_set_error(c, rc, "the models' foreign keys form a cycle");
    }
    ph_buf b;
    ph_buf_init(&b, NULL);
    rc = ph_db_begin(c, true);
    if (rc == 0 && create)
        rc = enum_types(c, models, n, true, &b);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const ph_model *m = create ? order[k] : order[n - 1 - k];
        int exists = ph_orm_table_exists(c, m->table);
        if (exists < 0) {
            rc = exists;
            break;
        }
        if (create == (exists == 1))
            continue;
        ph_buf_clear(&b);
        if (create) {
            rc = ph_orm_ddl(ph_db_conn_dialect(c), m, &b);
        } else {
            ph_buf_puts(&b, "DROP TABLE ");
            ph_db_put_ident(&b, m->table);
            rc = ph_buf_status(&b);
        }
        if (rc) {
            ph_db_set_error(c, rc, "cannot make the DDL of %s", m->name);
            break;
        }
        rc = ph_db_exec_script(c, b.ptr);
        if (rc) {
            char msg[400];
            snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
            ph_db_set_error(c, rc, "%s table %s: %s", create ? "create" : "drop", m->table, msg);
        }
    }
    if (rc == 0 && !create)
        rc = enum_types(c, models, n, false, &b);
    if (rc == 0) {
        rc = ph_db_commit(c);
    } else if (ph_db_in_transaction(c)) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
        ph_db_rollback(c);
        ph_db_set_error(c, rc, "%s", msg);
    }
    ph_buf_free(&b);
    free(order);
    return rc;
}

int ph_orm_create_all(ph_db_conn *c, const ph_model *const *models, size_t n)
{
    return create_or_drop(c, models, n, true);
}

int ph_orm_drop_all(ph_db_conn *c, const ph_model *const *models, size_t n)
{
    return create_or_drop(c, models, n, false);
}

const char *ph__orm_column_type(ph_dialect d, const ph_model *m, const ph_column *c, char *tmp,
                                size_t len)
{
    return sql_type(d, c, ph_model_npk(m) == 1, tmp, len);
}
