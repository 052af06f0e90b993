/*
 * The live schema and the models' schema, side by side: reading tables,
 * columns, primary keys, indexes, unique constraints, foreign keys and
 * triggers from SQLite (sqlite_master and the table-valued pragmas) or
 * PostgreSQL (pg_catalog, current_schema()), deriving the same shape from
 * the model descriptors through the DDL Phial emits, and comparing the two
 * (`db check`, the start-up check, and the input of `db migrate`).
 */
#include "internal.h"
#include "migrate_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canonical types and defaults ------------------------------------------------------ */

/* PostgreSQL's own spelling (format_type) of the types SQLAlchemy writes:
 * a new column type is one line here if its DDL name differs. */
static const struct {
    const char *ddl, *pg;
} pg_names[] = {
    {"SERIAL", "integer"},
    {"INTEGER", "integer"},
    {"BIGSERIAL", "bigint"},
    {"BIGINT", "bigint"},
    {"SMALLINT", "smallint"},
    {"FLOAT", "double precision"},
    {"REAL", "real"},
    {"BOOLEAN", "boolean"},
    {"TEXT", "text"},
    {"DATE", "date"},
    {"BYTEA", "bytea"},
    {"JSON", "json"},
    {"JSONB", "jsonb"},
    {"TIMESTAMP WITHOUT TIME ZONE", "timestamp without time zone"},
    {"TIMESTAMP WITH TIME ZONE", "timestamp with time zone"},
    {"VARCHAR", "character varying"},
    {"NUMERIC", "numeric"},
};

/* Upper case, runs of blanks as one space, none next to parentheses and
 * commas: "varchar ( 100 )" -> "VARCHAR(100)". */
static char *canon_text(ph_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = ph_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    bool space = false;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = k > 0;
            continue;
        }
        if (space && *p != '(' && *p != ')' && *p != ',' && out[k - 1] != '(' &&
            out[k - 1] != ',')
            out[k++] = ' ';
        space = false;
        out[k++] = (char)toupper((unsigned char)*p);
    }
    out[k] = '\0';
    return out;
}

/* The canonical type compared on dialect d.  SQLite keeps the declared
 * text (normalized); PostgreSQL maps SQLAlchemy's DDL names to
 * format_type's. */
static const char *canon_type(ph_dialect d, ph_arena *a, const char *decl, bool from_ddl)
{
    char *t = canon_text(a, decl);
    if (!t || d == PH_DB_SQLITE || !from_ddl)
        return t;
    for (size_t i = 0; i < PH_COUNTOF(pg_names); i++) {
        size_t n = strlen(pg_names[i].ddl);
        if (strncmp(t, pg_names[i].ddl, n) == 0 && (t[n] == '\0' || t[n] == '('))
            return canon_text(a, ph_arena_sprintf(a, "%s%s", pg_names[i].pg, t + n));
    }
    return t;
}

/* A server default as compared: outer parentheses and a trailing ::type
 * cast removed, a quoted string unquoted, keywords upper case. */
static const char *canon_default(ph_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
        s++;
        n -= 2;
    }
    /* a cast after a quoted literal or a number: 'x'::character varying */
    bool inq = false;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == '\'')
            inq = !inq;
        else if (!inq && s[i] == ':' && s[i + 1] == ':') {
            n = i;
            break;
        }
    }
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
        char *out = ph_arena_alloc(a, n);
        if (!out)
            return NULL;
        size_t k = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            out[k++] = s[i];
            if (s[i] == '\'' && i + 2 < n && s[i + 1] == '\'')
                i++;
        }
        out[k] = '\0';
        return out;
    }
    char *t = ph_arena_strndup(a, s, n);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(t, "NOW()") == 0 || strcmp(t, "CURRENT_TIMESTAMP") == 0)
        return "CURRENT_TIMESTAMP";
    if (strcmp(t, "TRUE") == 0)
        return "1";
    if (strcmp(t, "FALSE") == 0)
        return "0";
    return t;
}

static bool is_number(const char *s)
{
    char *end;
    if (!*s)
        return false;
    strtod(s, &end);
    return *end == '\0';
}

const char *ph__default_literal(ph_dialect d, const ph_column *c, ph_arena *a)
{
    const char *v = c->default_value;
    if (!v)
        return NULL;
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
    case PH_T_FLOAT:
        if (is_number(v))
            return v;
        break;
    case PH_T_BOOLEAN: {
        bool t = strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "True") == 0;
        if (d == PH_DB_SQLITE)
            return t ? "1" : "0";
        return t ? "true" : "false";
    }
    case PH_T_DATETIME:
        if (strcmp(v, "now") == 0)
            return "CURRENT_TIMESTAMP";
        break;
    default:
        break;
    }
    ph_buf b;
    ph_buf_init(&b, a);
    ph_buf_putc(&b, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '\'')
            ph_buf_putc(&b, '\'');
        ph_buf_putc(&b, *p);
    }
    ph_buf_putc(&b, '\'');
    return ph_buf_status(&b) ? NULL : b.ptr;
}

/* ---- small growable arrays in an arena ------------------------------------------------ */

static void *grow(ph_arena *a, void *items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return items;
    size_t nc = *cap ? *cap * 2 : 8;
    void *ni = ph_arena_calloc(a, nc, size);
    if (!ni)
        return NULL;
    if (n)
        memcpy(ni, items, n * size);
    *cap = nc;
    return ni;
}

ph__stable *ph__schema_table(const ph__schema *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

ph__scol *ph__stable_col(const ph__stable *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static char *dup_text(ph_arena *a, ph_db_rows *r, int col)
{
    size_t len;
    const char *t = ph_db_rows_textn(r, col, &len);
    return t ? ph_arena_strndup(a, t, len) : NULL;
}

/* ---- SQLite --------------------------------------------------------------------------- */

static int sqlite_table(ph_db_conn *c, ph_arena *a, ph__stable *t)
{
    ph_val v = PH_STR(t->name);
    ph_db_rows r;
    size_t cap = 0;
    int rc = ph_db_query(c,
                         "SELECT name, type, \"notnull\", dflt_value, pk FROM "
                         "pragma_table_info(?) ORDER BY cid",
                         &v, 1, &r);
    if (rc)
        return rc;
    ph_buf pk;
    ph_buf_init(&pk, a);
    int pkn[64];
    const char *pkname[64];
    size_t npk = 0;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (!(t->cols = grow(a, t->cols, &cap, t->ncols, sizeof(*t->cols)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__scol *col = &t->cols[t->ncols++];
        col->name = dup_text(a, &r, 0);
        col->decl = dup_text(a, &r, 1);
        col->type = canon_type(PH_DB_SQLITE, a, col->decl ? col->decl : "", false);
        col->notnull = ph_db_rows_int(&r, 2) != 0;
        col->dflt = dup_text(a, &r, 3);
        int k = (int)ph_db_rows_int(&r, 4);
        if (k > 0 && npk < PH_COUNTOF(pkn)) {
            pkn[npk] = k;
            pkname[npk++] = col->name;
        }
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;
    for (int k = 1; k <= (int)npk; k++)
        for (size_t i = 0; i < npk; i++)
            if (pkn[i] == k) {
                if (pk.len)
                    ph_buf_putc(&pk, ',');
                ph_buf_puts(&pk, pkname[i]);
            }
    t->pk = npk ? pk.ptr : "";
    if (ph_buf_status(&pk))
        return PH_ENOMEM;

    cap = 0;
    rc = ph_db_query(c,
                     "SELECT il.name, il.\"unique\", il.origin, "
                     "(SELECT group_concat(name, ',') FROM (SELECT name FROM "
                     "pragma_index_info(il.name) ORDER BY seqno)), "
                     "(SELECT sql FROM sqlite_master m WHERE m.type = 'index' AND m.name = "
                     "il.name) FROM pragma_index_list(?) il WHERE il.origin <> 'pk' "
                     "ORDER BY il.name",
                     &v, 1, &r);
    if (rc)
        return rc;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (!(t->idx = grow(a, t->idx, &cap, t->nidx, sizeof(*t->idx)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__sidx *ix = &t->idx[t->nidx++];
        ix->name = dup_text(a, &r, 0);
        ix->unique = ph_db_rows_int(&r, 1) != 0;
        char *origin = dup_text(a, &r, 2);
        ix->constraint = origin && strcmp(origin, "u") == 0;
        ix->cols = dup_text(a, &r, 3);
        if (!ix->cols)
            ix->cols = "";
        ix->sql = dup_text(a, &r, 4);
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;

    cap = 0;
    rc = ph_db_query(c,
                     "SELECT id, \"table\", \"from\", \"to\", on_delete FROM "
                     "pragma_foreign_key_list(?) ORDER BY id, seq",
                     &v, 1, &r);
    if (rc)
        return rc;
    int64_t last = -1;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        int64_t id = ph_db_rows_int(&r, 0);
        char *from = dup_text(a, &r, 2), *to = dup_text(a, &r, 3);
        if (id == last && t->nfks) {
            ph__sfk *fk = &t->fks[t->nfks - 1];
            fk->cols = ph_arena_sprintf(a, "%s,%s", fk->cols, from ? from : "");
            fk->ref_cols = ph_arena_sprintf(a, "%s,%s", fk->ref_cols, to ? to : "");
            continue;
        }
        last = id;
        if (!(t->fks = grow(a, t->fks, &cap, t->nfks, sizeof(*t->fks)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__sfk *fk = &t->fks[t->nfks++];
        fk->cols = from ? from : "";
        fk->ref_table = dup_text(a, &r, 1);
        fk->ref_cols = to ? to : "";
        char *od = dup_text(a, &r, 4);
        fk->ondelete = od && strcmp(od, "NO ACTION") != 0 ? od : "";
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;

    cap = 0;
    rc = ph_db_query(c, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                     &v, 1, &r);
    if (rc)
        return rc;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (!(t->triggers = grow(a, t->triggers, &cap, t->ntriggers, sizeof(*t->triggers)))) {
            rc = PH_ENOMEM;
            break;
        }
        t->triggers[t->ntriggers++] = dup_text(a, &r, 0);
    }
    ph_db_rows_close(&r);
    return rc < 0 ? rc : 0;
}

/* ---- PostgreSQL ----------------------------------------------------------------------- */

#define PG_OID                                                                                     \
    "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "          \
    "c.relnamespace WHERE n.nspname = current_schema() AND c.relname = ?)"
#define PG_COLS(arr, rel)                                                                          \
    "(SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(" arr ") WITH ORDINALITY "     \
    "k(attnum, ord) JOIN pg_catalog.pg_attribute a ON a.attrelid = " rel                           \
    " AND a.attnum = k.attnum)"

static int pg_table(ph_db_conn *c, ph_arena *a, ph__stable *t)
{
    ph_val v = PH_STR(t->name);
    ph_db_rows r;
    size_t cap = 0;
    int rc = ph_db_query(c,
                         "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
                         "a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM "
                         "pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON "
                         "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = " PG_OID
                         " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                         &v, 1, &r);
    if (rc)
        return rc;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (!(t->cols = grow(a, t->cols, &cap, t->ncols, sizeof(*t->cols)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__scol *col = &t->cols[t->ncols++];
        col->name = dup_text(a, &r, 0);
        col->decl = dup_text(a, &r, 1);
        col->type = canon_type(PH_DB_POSTGRES, a, col->decl ? col->decl : "", false);
        col->notnull = ph_db_rows_bool(&r, 2);
        col->dflt = dup_text(a, &r, 3);
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;

    t->pk = "";
    cap = 0;
    rc = ph_db_query(c,
                     "SELECT ic.relname, i.indisunique, i.indisprimary, con.conname IS NOT NULL, "
                     PG_COLS("i.indkey::int2[]", "i.indrelid") ", "
                     "pg_catalog.pg_get_indexdef(i.indexrelid), con.conname FROM "
                     "pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = "
                     "i.indexrelid LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = "
                     "i.indexrelid AND con.contype = 'u' WHERE i.indrelid = " PG_OID
                     " ORDER BY ic.relname",
                     &v, 1, &r);
    if (rc)
        return rc;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (ph_db_rows_bool(&r, 2)) {
            t->pk = dup_text(a, &r, 4);
            continue;
        }
        if (!(t->idx = grow(a, t->idx, &cap, t->nidx, sizeof(*t->idx)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__sidx *ix = &t->idx[t->nidx++];
        ix->unique = ph_db_rows_bool(&r, 1);
        ix->constraint = ph_db_rows_bool(&r, 3);
        ix->name = ix->constraint ? dup_text(a, &r, 6) : dup_text(a, &r, 0);
        ix->cols = dup_text(a, &r, 4);
        ix->sql = dup_text(a, &r, 5);
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;
    if (!t->pk)
        t->pk = "";

    cap = 0;
    rc = ph_db_query(c,
                     "SELECT con.conname, " PG_COLS("con.conkey", "con.conrelid") ", rc.relname, "
                     PG_COLS("con.confkey", "con.confrelid") ", con.confdeltype::text FROM "
                     "pg_catalog.pg_constraint con JOIN pg_catalog.pg_class rc ON rc.oid = "
                     "con.confrelid WHERE con.contype = 'f' AND con.conrelid = " PG_OID
                     " ORDER BY con.conname",
                     &v, 1, &r);
    if (rc)
        return rc;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        if (!(t->fks = grow(a, t->fks, &cap, t->nfks, sizeof(*t->fks)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__sfk *fk = &t->fks[t->nfks++];
        fk->name = dup_text(a, &r, 0);
        fk->cols = dup_text(a, &r, 1);
        fk->ref_table = dup_text(a, &r, 2);
        fk->ref_cols = dup_text(a, &r, 3);
        size_t len;
        const char *act = ph_db_rows_text(&r, 4, &len);
        fk->ondelete = len != 1         ? ""
                       : act[0] == 'c' ? "CASCADE"
                       : act[0] == 'n' ? "SET NULL"
                       : act[0] == 'r' ? "RESTRICT"
                       : act[0] == 'd' ? "SET DEFAULT"
                                       : "";
    }
    ph_db_rows_close(&r);
    return rc < 0 ? rc : 0;
}

int ph__schema_read(ph_db_conn *c, ph_arena *a, ph__schema *s)
{
    memset(s, 0, sizeof(*s));
    ph_dialect d = ph_db_conn_dialect(c);
    int rc = ph_db_conn_connect(c);
    if (rc)
        return rc;
    ph_db_rows r;
    rc = ph_db_query(c,
                     d == PH_DB_SQLITE
                         ? "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT "
                           "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                         : "SELECT c.relname, NULL FROM pg_catalog.pg_class c JOIN "
                           "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                           "current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname",
                     NULL, 0, &r);
    if (rc)
        return rc;
    size_t cap = 0;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        char *name = dup_text(a, &r, 0);
        if (!name) {
            rc = PH_ENOMEM;
            break;
        }
        if (strcmp(name, PH_MIGRATE_VERSION_TABLE) == 0)
            continue;
        if (!(s->tables = grow(a, s->tables, &cap, s->n, sizeof(*s->tables)))) {
            rc = PH_ENOMEM;
            break;
        }
        ph__stable *t = &s->tables[s->n++];
        t->name = name;
        t->sql = dup_text(a, &r, 1);
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->n; i++) {
        rc = d == PH_DB_SQLITE ? sqlite_table(c, a, &s->tables[i]) : pg_table(c, a, &s->tables[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the models ------------------------------------------------------------------------ */

static int model_table(ph_dialect d, const ph_model *m, ph_arena *a, ph__stable *t)
{
    t->name = m->table;
    t->model = m;
    ph_buf ddl;
    ph_buf_init(&ddl, a);
    int rc = ph_orm_ddl(d, m, &ddl);
    if (rc)
        return rc;
    const char *split = strstr(ddl.ptr, ";\n");
    t->sql = split ? ph_arena_strndup(a, ddl.ptr, (size_t)(split - ddl.ptr)) : ddl.ptr;
    t->index_sql = split ? split + 2 : "";
    t->cols = ph_arena_calloc(a, m->ncolumns ? m->ncolumns : 1, sizeof(*t->cols));
    t->idx = ph_arena_calloc(a, m->ncolumns ? m->ncolumns : 1, sizeof(*t->idx));
    t->fks = ph_arena_calloc(a, m->ncolumns ? m->ncolumns : 1, sizeof(*t->fks));
    if (!t->sql || !t->cols || !t->idx || !t->fks)
        return PH_ENOMEM;
    ph_buf pk;
    ph_buf_init(&pk, a);
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        char tmp[64];
        ph__scol *col = &t->cols[t->ncols++];
        col->name = c->name;
        col->col = c;
        col->decl = ph_arena_strdup(a, ph__orm_column_type(d, m, c, tmp, sizeof(tmp)));
        col->type = canon_type(d, a, col->decl ? col->decl : "", true);
        col->notnull = (c->flags & (PH_PK | PH_NOT_NULL)) != 0;
        col->dflt = ph__default_literal(d, c, a);
        if (!col->decl || !col->type)
            return PH_ENOMEM;
        if (c->flags & PH_PK) {
            if (pk.len)
                ph_buf_putc(&pk, ',');
            ph_buf_puts(&pk, c->name);
        }
        if (c->flags & PH_INDEX) {
            ph__sidx *ix = &t->idx[t->nidx++];
            ix->name = ph_arena_sprintf(a, "ix_%s_%s", m->table, c->name);
            ix->cols = c->name;
            ix->unique = (c->flags & PH_UNIQUE) != 0;
        } else if ((c->flags & PH_UNIQUE) && !(c->flags & PH_PK)) {
            ph__sidx *ix = &t->idx[t->nidx++];
            ix->cols = c->name;
            ix->unique = ix->constraint = true;
        }
        if (c->foreign_key) {
            const char *dot = strrchr(c->foreign_key, '.');
            if (!dot)
                return PH_EINVAL;
            ph__sfk *fk = &t->fks[t->nfks++];
            fk->cols = c->name;
            fk->ref_table = ph_arena_strndup(a, c->foreign_key, (size_t)(dot - c->foreign_key));
            fk->ref_cols = dot + 1;
            static const char *const actions[] = {"", "CASCADE", "SET NULL", "RESTRICT"};
            fk->ondelete = actions[c->ondelete];
        }
    }
    t->pk = pk.ptr ? pk.ptr : "";
    return ph_buf_status(&pk);
}

int ph__schema_of_models(ph_dialect d, const ph_model *const *models, size_t n, ph_arena *a,
                         ph__schema *s)
{
    memset(s, 0, sizeof(*s));
    const ph_model **order = ph_arena_calloc(a, n ? n : 1, sizeof(*order));
    s->tables = ph_arena_calloc(a, n ? n : 1, sizeof(*s->tables));
    if (!order || !s->tables)
        return PH_ENOMEM;
    int rc = ph_orm_sort(models, n, order);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = model_table(d, order[i], a, &s->tables[s->n++]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- comparison ---------------------------------------------------------------------------- */

static int add_diff(ph_schema_diff *sd, ph_diff_kind k, const char *table, const char *name,
                    const char *db, const char *model)
{
    if (!(sd->items = grow(sd->arena, sd->items, &sd->cap, sd->n, sizeof(*sd->items))))
        return PH_ENOMEM;
    sd->items[sd->n++] = (ph_diff){k, table, name, db, model};
    return 0;
}

/* Whether the live default matches the model's (see ph_migrate_compare). */
static bool default_matches(ph_arena *a, const ph__scol *live, const ph__scol *want)
{
    if (!live->dflt)
        return true;
    if (strncmp(live->dflt, "nextval(", 8) == 0 && want->col && (want->col->flags & PH_PK))
        return true; /* SERIAL */
    if (!want->dflt)
        return false;
    const char *l = canon_default(a, live->dflt), *w = canon_default(a, want->dflt);
    return l && w && strcmp(l, w) == 0;
}

static const char *fk_text(ph_arena *a, const ph__sfk *fk)
{
    return ph_arena_sprintf(a, "REFERENCES %s(%s)%s%s", fk->ref_table, fk->ref_cols,
                            *fk->ondelete ? " ON DELETE " : "", fk->ondelete);
}

static int compare_table(ph_schema_diff *sd, ph__stable *live, ph__stable *want)
{
    ph_arena *a = sd->arena;
    const char *tn = want->name;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < want->ncols; i++) {
        ph__scol *w = &want->cols[i];
        ph__scol *l = ph__stable_col(live, w->name);
        if (!l) {
            rc = add_diff(sd, PH_DIFF_COLUMN_MISSING, tn, w->name, NULL, w->decl);
            continue;
        }
        if (strcmp(l->type, w->type) != 0)
            rc = add_diff(sd, PH_DIFF_TYPE, tn, w->name, l->decl, w->decl);
        if (rc == 0 && l->notnull != w->notnull)
            rc = add_diff(sd, PH_DIFF_NULLABLE, tn, w->name, l->notnull ? "NOT NULL" : "NULL",
                          w->notnull ? "NOT NULL" : "NULL");
        if (rc == 0 && !default_matches(a, l, w))
            rc = add_diff(sd, PH_DIFF_DEFAULT, tn, w->name, l->dflt, w->dflt ? w->dflt : "none");
    }
    for (size_t i = 0; rc == 0 && i < live->ncols; i++)
        if (!ph__stable_col(want, live->cols[i].name))
            rc = add_diff(sd, PH_DIFF_COLUMN_EXTRA, tn, live->cols[i].name, live->cols[i].decl,
                          NULL);
    if (rc == 0 && strcmp(live->pk, want->pk) != 0)
        rc = add_diff(sd, PH_DIFF_PRIMARY_KEY, tn, want->pk, live->pk, want->pk);
    for (size_t i = 0; i < live->nidx; i++)
        live->idx[i].matched = false;
    /* UNIQUE constraints first (any unique index on the same columns does),
     * then named indexes (same columns and uniqueness) */
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; rc == 0 && i < want->nidx; i++) {
            ph__sidx *w = &want->idx[i];
            if (w->constraint != (pass == 0))
                continue;
            ph__sidx *hit = NULL;
            for (size_t k = 0; k < live->nidx && !hit; k++) {
                ph__sidx *l = &live->idx[k];
                if (!l->matched && l->unique == w->unique && strcmp(l->cols, w->cols) == 0 &&
                    (w->constraint || !l->constraint))
                    hit = l;
            }
            if (hit)
                hit->matched = true;
            else
                rc = add_diff(sd, w->constraint ? PH_DIFF_UNIQUE_MISSING : PH_DIFF_INDEX_MISSING,
                              tn, w->cols, NULL, w->name ? w->name : "UNIQUE");
        }
    for (size_t k = 0; rc == 0 && k < live->nidx; k++) {
        ph__sidx *l = &live->idx[k];
        if (!l->matched)
            rc = add_diff(sd, l->unique ? PH_DIFF_UNIQUE_EXTRA : PH_DIFF_INDEX_EXTRA, tn, l->cols,
                          l->name, NULL);
    }
    for (size_t k = 0; k < live->nfks; k++)
        live->fks[k].matched = false;
    for (size_t i = 0; rc == 0 && i < want->nfks; i++) {
        ph__sfk *w = &want->fks[i];
        ph__sfk *hit = NULL;
        for (size_t k = 0; k < live->nfks && !hit; k++) {
            ph__sfk *l = &live->fks[k];
            if (!l->matched && strcmp(l->cols, w->cols) == 0 &&
                strcmp(l->ref_table, w->ref_table) == 0 && strcmp(l->ref_cols, w->ref_cols) == 0 &&
                strcmp(l->ondelete, w->ondelete) == 0)
                hit = l;
        }
        if (hit)
            hit->matched = true;
        else
            rc = add_diff(sd, PH_DIFF_FK_MISSING, tn, w->cols, NULL, fk_text(a, w));
    }
    for (size_t k = 0; rc == 0 && k < live->nfks; k++)
        if (!live->fks[k].matched)
            rc = add_diff(sd, PH_DIFF_FK_EXTRA, tn, live->fks[k].cols, fk_text(a, &live->fks[k]),
                          NULL);
    return rc;
}

int ph_migrate_compare(ph_db_conn *c, const ph_model *const *models, size_t n,
                       ph_schema_diff **out)
{
    *out = NULL;
    ph_schema_diff *sd = calloc(1, sizeof(*sd));
    ph_arena *a = ph_arena_new(0);
    if (!sd || !a) {
        free(sd);
        ph_arena_free(a);
        return ph_db_set_error(c, PH_ENOMEM, "out of memory");
    }
    sd->arena = a;
    sd->dialect = ph_db_conn_dialect(c);
    int rc = ph__schema_read(c, a, &sd->live);
    if (rc) {
        ph_schema_diff_free(sd);
        return rc;
    }
    rc = ph__schema_of_models(sd->dialect, models, n, a, &sd->want);
    if (rc) {
        ph_schema_diff_free(sd);
        return ph_db_set_error(c, rc, "the models' schema: %s", ph_strerror(rc));
    }
    for (size_t i = 0; rc == 0 && i < sd->want.n; i++) {
        ph__stable *w = &sd->want.tables[i];
        ph__stable *l = ph__schema_table(&sd->live, w->name);
        rc = l ? compare_table(sd, l, w)
               : add_diff(sd, PH_DIFF_TABLE_MISSING, w->name, NULL, NULL, w->name);
    }
    for (size_t i = 0; rc == 0 && i < sd->live.n; i++)
        if (!ph__schema_table(&sd->want, sd->live.tables[i].name))
            rc = add_diff(sd, PH_DIFF_TABLE_EXTRA, sd->live.tables[i].name, NULL,
                          sd->live.tables[i].name, NULL);
    if (rc) {
        ph_schema_diff_free(sd);
        return ph_db_set_error(c, rc, "out of memory");
    }
    *out = sd;
    return 0;
}

void ph_schema_diff_free(ph_schema_diff *d)
{
    if (!d)
        return;
    ph_arena_free(d->arena);
    free(d);
}

size_t ph_schema_diff_count(const ph_schema_diff *d)
{
    return d->n;
}

const ph_diff *ph_schema_diff_at(const ph_schema_diff *d, size_t i)
{
    return i < d->n ? &d->items[i] : NULL;
}

int ph_schema_diff_print(const ph_schema_diff *d, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const ph_diff *x = &d->items[i];
        const char *db = x->db ? x->db : "", *m = x->model ? x->model : "";
        int w = 0;
        switch (x->kind) {
        case PH_DIFF_TABLE_MISSING:
            w = fprintf(f, "table %s: missing from the database\n", x->table);
            break;
        case PH_DIFF_TABLE_EXTRA:
            w = fprintf(f, "table %s: in the database, in no model\n", x->table);
            break;
        case PH_DIFF_COLUMN_MISSING:
            w = fprintf(f, "table %s: column %s is missing (model: %s)\n", x->table, x->name, m);
            break;
        case PH_DIFF_COLUMN_EXTRA:
            w = fprintf(f, "table %s: column %s (%s) is in no model\n", x->table, x->name, db);
            break;
        case PH_DIFF_TYPE:
            w = fprintf(f, "table %s: column %s has type %s, the model %s\n", x->table, x->name,
                        db, m);
            break;
        case PH_DIFF_NULLABLE:
            w = fprintf(f, "table %s: column %s is %s, the model %s\n", x->table, x->name, db, m);
            break;
        case PH_DIFF_DEFAULT:
            w = fprintf(f, "table %s: column %s has default %s, the model %s\n", x->table,
                        x->name, db, m);
            break;
        case PH_DIFF_PRIMARY_KEY:
            w = fprintf(f, "table %s: primary key (%s), the model (%s)\n", x->table, db, m);
            break;
        case PH_DIFF_UNIQUE_MISSING:
            w = fprintf(f, "table %s: UNIQUE (%s) is missing\n", x->table, x->name);
            break;
        case PH_DIFF_UNIQUE_EXTRA:
            w = fprintf(f, "table %s: UNIQUE (%s) [%s] is in no model\n", x->table, x->name, db);
            break;
        case PH_DIFF_INDEX_MISSING:
            w = fprintf(f, "table %s: index %s (%s) is missing\n", x->table, m, x->name);
            break;
        case PH_DIFF_INDEX_EXTRA:
            w = fprintf(f, "table %s: index %s (%s) is in no model\n", x->table, db, x->name);
            break;
        case PH_DIFF_FK_MISSING:
            w = fprintf(f, "table %s: foreign key (%s) %s is missing\n", x->table, x->name, m);
            break;
        case PH_DIFF_FK_EXTRA:
            w = fprintf(f, "table %s: foreign key (%s) %s is in no model\n", x->table, x->name,
                        db);
            break;
        }
        if (w < 0)
            return PH_EIO;
    }
    return 0;
}

int ph_migrate_check_schema(ph_db_conn *c, const ph_model *const *models, size_t n, char *err,
                            size_t errlen)
{
    ph_schema_diff *d;
    int rc = ph_migrate_compare(c, models, n, &d);
    if (rc) {
        snprintf(err, errlen, "cannot read the database's schema: %s", ph_db_errmsg(c));
        return rc;
    }
    for (size_t i = 0; i < d->n; i++) {
        const ph_diff *x = &d->items[i];
        if (x->kind == PH_DIFF_TABLE_MISSING) {
            snprintf(err, errlen,
                     "the database has no table %s: run `db upgrade` (or `db create` for a new "
                     "database without migrations)",
                     x->table);
            rc = PH_ENOTFOUND;
            break;
        }
        if (x->kind == PH_DIFF_COLUMN_MISSING) {
            snprintf(err, errlen,
                     "table %s has no column %s: run `db upgrade` (`db migrate -m MESSAGE` "
                     "first if no migration adds it)",
                     x->table, x->name);
            rc = PH_ENOTFOUND;
            break;
        }
    }
    ph_schema_diff_free(d);
    return rc;
}
