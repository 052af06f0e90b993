/*
 * The query builder: filters (by column, or SQL fragments whose column
 * names are checked against the model and quoted), ordering, limit and
 * offset, and the terminal calls (all, first, one, count, exists, delete,
 * paginate).  Values are always bound; rows are mapped through the model's
 * offsets into objects in the session's arena, via its identity map.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ph_query {
    ph_session *s;
    const ph_model *m;
    ph_buf where;       /* "(a) AND (b)" */
    ph_buf order;       /* "\"id\" DESC, ..." */
    ph_buf order_outer; /* the same on "anon_1" (joined eager loading) */
    int8_t *lazy;       /* per relationship: the query's strategy, or -1 */
    ph_val *params;
    size_t np, capp;
    int64_t limit, offset;
    bool has_limit, has_offset;
    int err;
    /* non-NULL: the statement's text is the same every time for this key
     * (and memo_kind) on one connection, kept there (ph_db_conn_memo) */
    const void *memo_key;
    int memo_kind;
};

ph_query *ph_query_new(ph_session *s, const ph_model *m)
{
    ph_query *q = PH_ARENA_NEW(s->arena, ph_query);
    if (!q)
        return NULL;
    q->s = s;
    q->m = m;
    ph_buf_init(&q->where, s->arena);
    ph_buf_init(&q->order, s->arena);
    ph_buf_init(&q->order_outer, s->arena);
    return q;
}

static ph_query *q_fail(ph_query *q, int code, const char *fmt, const char *a)
{
    if (!q->err) {
        q->err = code;
        ph__session_error(q->s, code, fmt, a, q->m->name);
    }
    return q;
}

/* Keeps a value, copying text and bytes into the arena. */
static int add_param(ph_query *q, ph_val v)
{
    if (q->np == q->capp) {
        size_t cap = q->capp ? q->capp * 2 : 8;
        ph_val *p = ph_arena_alloc(q->s->arena, cap * sizeof(*p));
        if (!p)
            return PH_ENOMEM;
        if (q->np)
            memcpy(p, q->params, q->np * sizeof(*p));
        q->params = p;
        q->capp = cap;
    }
    if (v.type == PH_VAL_TEXT || v.type == PH_VAL_BLOB) {
        char *copy = ph_arena_memdup(q->s->arena, v.u.s.len ? v.u.s.ptr : "", v.u.s.len);
        if (!copy)
            return PH_ENOMEM;
        v.u.s.ptr = copy;
    }
    q->params[q->np++] = v;
    return 0;
}

static bool type_fits(const ph_column *c, ph_val v)
{
    switch (v.type) {
    case PH_VAL_NULL:
        return true;
    case PH_VAL_INT:
        return c->type == PH_T_INTEGER || c->type == PH_T_BIGINTEGER || c->type == PH_T_FLOAT ||
               c->type == PH_T_BOOLEAN;
    case PH_VAL_DOUBLE:
        return c->type == PH_T_FLOAT;
    case PH_VAL_BOOL:
        return c->type == PH_T_BOOLEAN;
    case PH_VAL_TEXT:
        return c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_DATETIME ||
               c->type == PH_T_DATE || c->type == PH_T_ENUM || c->type == PH_T_JSON ||
               c->type == PH_T_NUMERIC;
    case PH_VAL_DECIMAL:
        return c->type == PH_T_NUMERIC;
    case PH_VAL_BLOB:
        return c->type == PH_T_BINARY;
    case PH_VAL_DATETIME:
        return c->type == PH_T_DATETIME;
    case PH_VAL_DATE:
        return c->type == PH_T_DATE;
    }
    return false;
}

ph_query *ph_query_filter_by(ph_query *q, const char *column, ph_val value)
{
    if (q->err)
        return q;
    const ph_column *c = ph_model_column(q->m, column);
    if (!c)
        return q_fail(q, PH_EUNDEFINED, "unknown column '%s' in filter_by on %s", column);
    if (!type_fits(c, value))
        return q_fail(q, PH_ETYPE, "value of the wrong type for column '%s' of %s", column);
    if (q->where.len)
        ph_buf_puts(&q->where, " AND ");
    ph_db_put_ident(&q->where, c->name);
    if (value.type == PH_VAL_NULL) {
        ph_buf_puts(&q->where, " IS NULL");
    } else {
        ph_buf_puts(&q->where, " = ?");
        if (add_param(q, value))
            q->err = PH_ENOMEM;
    }
    if (ph_buf_status(&q->where))
        q->err = PH_ENOMEM;
    return q;
}

/* Words a filter fragment may use besides column names. */
static bool sql_keyword(const char *w, size_t n)
{
    static const char *const kw[] = {"and",   "or",      "not",     "is",   "null",   "like",
                                     "ilike", "in",      "between", "true", "false",  "escape",
                                     "glob",  "collate", "nocase",  "asc",  "desc",   "case",
                                     "when",  "then",    "else",    "end",  "exists", "distinct"};
    for (size_t i = 0; i < PH_COUNTOF(kw); i++)
        if (strlen(kw[i]) == n && strncasecmp(kw[i], w, n) == 0)
            return true;
    return false;
}

ph_query *ph_query_filter_v(ph_query *q, const char *sql, const ph_val *params, size_t nparams)
{
    if (q->err)
        return q;
    ph_buf out;
    ph_buf_init(&out, q->s->arena);
    size_t holes = 0;
    const char *p = sql;
    while (*p) {
        if (*p == '\'') { /* string literal, copied as is */
            const char *e = p + 1;
            while (*e && !(*e == '\'' && e[1] != '\''))
                e += (*e == '\'' && e[1] == '\'') ? 2 : 1;
            if (!*e)
                return q_fail(q, PH_EPARSE, "unclosed quote in filter '%s' on %s", sql);
            ph_buf_append(&out, p, (size_t)(e + 1 - p));
            p = e + 1;
        } else if (*p == '"' || isalpha((unsigned char)*p) || *p == '_') {
            const char *w = p;
            size_t n;
            if (*p == '"') {
                const char *e = strchr(p + 1, '"');
                if (!e)
                    return q_fail(q, PH_EPARSE, "unclosed quote in filter '%s' on %s", sql);
                w = p + 1;
                n = (size_t)(e - w);
                p = e + 1;
            } else {
                while (isalnum((unsigned char)*p) || *p == '_')
                    p++;
                n = (size_t)(p - w);
                const char *after = p;
                while (*after == ' ')
                    after++;
                if (*after == '(' || sql_keyword(w, n)) { /* function or keyword */
                    ph_buf_append(&out, w, n);
                    continue;
                }
            }
            const ph_column *c = ph_model_column_n(q->m, w, n);
            if (!c) {
                char name[80];
                snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), w);
                return q_fail(q, PH_EUNDEFINED, "unknown column '%s' in filter on %s", name);
            }
            ph_db_put_ident(&out, c->name);
        } else if (*p == '?') {
            holes++;
            ph_buf_putc(&out, *p++);
        } else if (*p == ';') {
            return q_fail(q, PH_EPARSE, "';' in filter '%s' on %s", sql);
        } else if (*p == '-' && p[1] == '-') {
            return q_fail(q, PH_EPARSE, "comment in filter '%s' on %s", sql);
        } else {
            ph_buf_putc(&out, *p++);
        }
    }
    if (holes != nparams) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%zu placeholders but %zu values", holes, nparams);
        return q_fail(q, PH_EMISUSE, "filter: %s on %s", msg);
    }
    if (q->where.len)
        ph_buf_puts(&q->where, " AND ");
    ph_buf_putc(&q->where, '(');
    ph_buf_slice(&q->where, ph_buf_view(&out));
    ph_buf_putc(&q->where, ')');
    for (size_t i = 0; i < nparams; i++)
        if (add_param(q, params[i]))
            q->err = PH_ENOMEM;
    if (ph_buf_status(&q->where) || ph_buf_status(&out))
        q->err = PH_ENOMEM;
    return q;
}

ph_query *ph_query_filter(ph_query *q, const char *sql, size_t nparams, ...)
{
    ph_val vals[32];
    if (nparams > PH_COUNTOF(vals))
        return q_fail(q, PH_ELIMIT, "more than 32 values in filter '%s' on %s", sql);
    va_list ap;
    va_start(ap, nparams);
    for (size_t i = 0; i < nparams; i++)
        vals[i] = va_arg(ap, ph_val);
    va_end(ap);
    return ph_query_filter_v(q, sql, vals, nparams);
}

ph_query *ph_query_order_by(ph_query *q, const char *column, ph_order order)
{
    if (q->err)
        return q;
    const ph_column *c = ph_model_column(q->m, column);
    if (!c)
        return q_fail(q, PH_EUNDEFINED, "unknown column '%s' in order_by on %s", column);
    if (q->order.len)
        ph_buf_puts(&q->order, ", ");
    ph_db_put_ident(&q->order, c->name);
    ph_buf_puts(&q->order, order == PH_DESC ? " DESC" : " ASC");
    if (q->m->nrelationships) {
        ph_db_put_ident(&q->order_outer, "anon_1");
        ph_buf_putc(&q->order_outer, '.');
        ph_db_put_ident(&q->order_outer, c->name);
        ph_buf_puts(&q->order_outer, order == PH_DESC ? " DESC, " : " ASC, ");
    }
    if (ph_buf_status(&q->order))
        q->err = PH_ENOMEM;
    return q;
}

ph_query *ph_query_limit(ph_query *q, int64_t limit)
{
    if (limit < 0)
        return q_fail(q, PH_ERANGE, "negative limit%s on %s", "");
    q->limit = limit;
    q->has_limit = true;
    return q;
}

ph_query *ph_query_options(ph_query *q, const char *rel, ph_lazy lazy)
{
    if (q->err)
        return q;
    const ph_relationship *r = ph_model_relationship(q->m, rel);
    if (!r)
        return q_fail(q, PH_EUNDEFINED, "unknown relationship '%s' in options on %s",
                      rel ? rel : "(null)");
    if ((unsigned)lazy > PH_LAZY_RAISE)
        return q_fail(q, PH_EINVAL, "unknown loading strategy for '%s' on %s", rel);
    if (!q->lazy) {
        q->lazy = ph_arena_alloc(q->s->arena, q->m->nrelationships);
        if (!q->lazy) {
            q->err = PH_ENOMEM;
            return q;
        }
        memset(q->lazy, -1, q->m->nrelationships);
    }
    q->lazy[r - q->m->relationships] = (int8_t)lazy;
    return q;
}

ph_query *ph_query_offset(ph_query *q, int64_t offset)
{
    if (offset < 0)
        return q_fail(q, PH_ERANGE, "negative offset%s on %s", "");
    q->offset = offset;
    q->has_offset = true;
    return q;
}

/* ---- SQL text -------------------------------------------------------------------- */

typedef enum { SEL_ROWS, SEL_COUNT, SEL_EXISTS, SEL_DELETE } sel_kind;

/* The values of the statement build() writes: the filters', then LIMIT's
 * and OFFSET's; how many (vals has room for np + 2). */
static size_t build_vals(const ph_query *q, sel_kind kind, bool use_limit, int64_t limit,
                         int64_t offset, ph_val *vals)
{
    if (q->np)
        memcpy(vals, q->params, q->np * sizeof(ph_val));
    size_t n = q->np;
    if (kind == SEL_ROWS || kind == SEL_COUNT) {
        if (use_limit)
            vals[n++] = PH_INT(limit);
        if (offset)
            vals[n++] = PH_INT(offset);
    }
    return n;
}

/* Builds the statement into b and its values into vals (room for np + 2). */
static int build(ph_query *q, sel_kind kind, bool use_limit, int64_t limit, int64_t offset,
                 ph_buf *b, ph_val *vals, size_t *nvals)
{
    bool pg = ph_db_conn_dialect(q->s->conn) == PH_DB_POSTGRES;
    bool paged = use_limit || offset;
    switch (kind) {
    case SEL_ROWS:
        ph_buf_puts(b, "SELECT ");
        ph__put_columns(b, q->m);
        ph_buf_puts(b, " FROM ");
        break;
    case SEL_COUNT:
        ph_buf_puts(b, paged ? "SELECT count(*) FROM (SELECT 1 FROM " : "SELECT count(*) FROM ");
        break;
    case SEL_EXISTS:
        ph_buf_puts(b, "SELECT EXISTS (SELECT 1 FROM ");
        break;
    case SEL_DELETE:
        ph_buf_puts(b, "DELETE FROM ");
        break;
    }
    ph_db_put_ident(b, q->m->table);
    if (q->where.len) {
        ph_buf_puts(b, " WHERE ");
        ph_buf_slice(b, ph_buf_view(&q->where));
    }
    if (kind == SEL_ROWS && q->order.len) {
        ph_buf_puts(b, " ORDER BY ");
        ph_buf_slice(b, ph_buf_view(&q->order));
    }
    if (kind == SEL_ROWS || kind == SEL_COUNT) {
        if (use_limit)
            ph_buf_puts(b, " LIMIT ?");
        else if (offset && !pg)
            ph_buf_puts(b, " LIMIT -1");
        if (offset)
            ph_buf_puts(b, " OFFSET ?");
    }
    *nvals = build_vals(q, kind, use_limit, limit, offset, vals);
    if (kind == SEL_EXISTS)
        ph_buf_putc(b, ')');
    if (kind == SEL_COUNT && paged)
        ph_buf_puts(b, ") AS anon_1");
    return ph_buf_status(b);
}

const char *ph_query_sql(ph_query *q)
{
    ph_buf b;
    ph_buf_init(&b, q->s->arena);
    ph_val *vals = ph_arena_alloc(q->s->arena, (q->np + 2) * sizeof(ph_val));
    size_t n;
    if (!vals ||
        build(q, SEL_ROWS, q->has_limit, q->limit, q->has_offset ? q->offset : 0, &b, vals, &n))
        return NULL;
    return b.ptr;
}

/* The relationship this query loads with a JOIN (the first one whose
 * strategy is joined), or NULL. */
static const ph_relationship *joined_rel(const ph_query *q)
{
    for (size_t i = 0; i < q->m->nrelationships; i++) {
        const ph_relationship *r = &q->m->relationships[i];
        int l = q->lazy && q->lazy[i] >= 0 ? q->lazy[i] : (int)r->lazy;
        if (l == PH_LAZY_JOINED)
            return r;
    }
    return NULL;
}

static void put_qcol(ph_buf *b, const char *alias, const char *col)
{
    ph_db_put_ident(b, alias);
    ph_buf_putc(b, '.');
    ph_db_put_ident(b, col);
}

/* Wraps the statement in b (the parent rows, with their WHERE, ORDER BY,
 * LIMIT) as SQLAlchemy does for joined eager loading:
 *   SELECT anon_1.*, t1.* FROM (...) AS anon_1 LEFT OUTER JOIN target AS t1
 *   ON ... ORDER BY <order on anon_1>, anon_1.pk, t1.pk
 * so rows of one parent are adjacent. */
static int wrap_joined(ph_query *q, const ph_relationship *rel, ph_buf *b)
{
    const ph_model *m = q->m, *t = rel->target();
    const char *mpk = ph_model_pk(m)->name, *tpk = ph_model_pk(t)->name;
    ph_buf w;
    ph_buf_init(&w, q->s->arena);
    ph_buf_puts(&w, "SELECT ");
    ph__put_columns_as(&w, "anon_1", m);
    ph_buf_puts(&w, ", ");
    ph__put_columns_as(&w, "t1", t);
    ph_buf_puts(&w, " FROM (");
    ph_buf_slice(&w, ph_buf_view(b));
    ph_buf_puts(&w, ") AS ");
    ph_db_put_ident(&w, "anon_1");
    ph_buf_puts(&w, " LEFT OUTER JOIN ");
    if (rel->kind == PH_REL_MANY_TO_MANY) {
        ph_db_put_ident(&w, rel->secondary);
        ph_buf_puts(&w, " AS ");
        ph_db_put_ident(&w, "a1");
        ph_buf_puts(&w, " ON ");
        put_qcol(&w, "a1", rel->secondary_local);
        ph_buf_puts(&w, " = ");
        put_qcol(&w, "anon_1", mpk);
        ph_buf_puts(&w, " LEFT OUTER JOIN ");
    }
    ph_db_put_ident(&w, t->table);
    ph_buf_puts(&w, " AS ");
    ph_db_put_ident(&w, "t1");
    ph_buf_puts(&w, " ON ");
    switch (rel->kind) {
    case PH_REL_MANY_TO_ONE:
        put_qcol(&w, "t1", tpk);
        ph_buf_puts(&w, " = ");
        put_qcol(&w, "anon_1", rel->local_column);
        break;
    case PH_REL_ONE_TO_MANY:
    case PH_REL_ONE_TO_ONE:
        put_qcol(&w, "t1", rel->remote_column);
        ph_buf_puts(&w, " = ");
        put_qcol(&w, "anon_1", mpk);
        break;
    case PH_REL_MANY_TO_MANY:
        put_qcol(&w, "t1", tpk);
        ph_buf_puts(&w, " = ");
        put_qcol(&w, "a1", rel->secondary_remote);
        break;
    }
    ph_buf_puts(&w, " ORDER BY ");
    ph_buf_slice(&w, ph_buf_view(&q->order_outer));
    put_qcol(&w, "anon_1", mpk);
    ph_buf_puts(&w, ", ");
    put_qcol(&w, "t1", tpk);
    if (ph_buf_status(&w))
        return PH_ENOMEM;
    *b = w;
    return 0;
}

/* Files the target object of a joined row under parent. */
static int joined_attach(ph_session *s, const ph_relationship *rel, void *parent, void *child)
{
    void *f = (char *)parent + rel->offset;
    if (rel->kind == PH_REL_MANY_TO_ONE || rel->kind == PH_REL_ONE_TO_ONE) {
        *(void **)f = child;
        return rel->kind == PH_REL_ONE_TO_ONE ? ph__rel_set_backref(s, rel, child, parent) : 0;
    }
    if (rel->kind == PH_REL_ONE_TO_MANY) {
        int rc = ph__rel_set_backref(s, rel, child, parent);
        if (rc)
            return rc;
    }
    ph_list *l = f;
    for (size_t i = 0; i < l->len; i++)
        if (l->items[i] == child)
            return 0;
    if (l->len == l->cap || !l->items) {
        size_t cap = l->len ? l->len * 2 : 4;
        void **items = ph_arena_alloc(s->arena, cap * sizeof(void *));
        if (!items)
            return PH_ENOMEM;
        if (l->len)
            memcpy(items, l->items, l->len * sizeof(void *));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = child;
    return 0;
}

/* Runs the SELECT and collects up to max rows (0: no limit of our own). */
static int run_rows(ph_query *q, bool use_limit, int64_t limit, int64_t offset, void ***out,
                    size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (q->err)
        return q->err;
    ph_session *s = q->s;
    ph_buf b;
    ph_buf_init(&b, s->arena);
    ph_val vals[64];
    ph_val *v = q->np + 2 <= PH_COUNTOF(vals)
                    ? vals
                    : ph_arena_alloc(s->arena, (q->np + 2) * sizeof(ph_val));
    size_t n;
    if (!v)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    const ph_relationship *joined = q->m->nrelationships ? joined_rel(q) : NULL;
    const ph_model *jt = joined ? joined->target() : NULL;
    const char *sql = q->memo_key ? ph_db_conn_memo(s->conn, q->memo_key, q->memo_kind) : NULL;
    if (sql) {
        n = build_vals(q, SEL_ROWS, use_limit, limit, offset, v);
    } else {
        if (build(q, SEL_ROWS, use_limit, limit, offset, &b, v, &n) ||
            (joined && wrap_joined(q, joined, &b)))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
        sql = b.ptr;
        if (q->memo_key)
            (void)ph_db_conn_memo_put(s->conn, q->memo_key, q->memo_kind, sql);
    }
    int jcol = joined ? (int)q->m->ncolumns : 0;
    int jpk = joined ? jcol + (int)(ph_model_pk(jt) - jt->columns) : 0;
    void *jparent = NULL; /* the parent of the previous joined row */
    bool jfill = false;   /* its relationship is being filled by this query */
    ph_db_rows r;
    bool fresh = s->nobjs == 0 && !joined;
    s->nqueries++;
    int rc = ph_db_query(s->conn, sql, v, n, &r);
    if (rc)
        return ph__session_error(s, rc, "SELECT FROM %s: %s", q->m->table, ph_db_errmsg(s->conn));
    size_t cap = use_limit && limit > 0 && limit < 1024 ? (size_t)limit : 16, len = 0;
    void **items = ph_arena_alloc(s->arena, cap * sizeof(void *));
    if (!items)
        rc = PH_ENOMEM;
    while (rc == 0 && (rc = ph_db_rows_next(&r)) == 1) {
        rc = 0;
        if (len == cap) {
            void **bigger = ph_arena_alloc(s->arena, cap * 2 * sizeof(void *));
            if (!bigger) {
                rc = PH_ENOMEM;
                break;
            }
            memcpy(bigger, items, len * sizeof(void *));
            items = bigger;
            cap *= 2;
        }
        void *obj;
        rc = ph__session_load_row(s, q->m, &r, fresh, &obj);
        if (rc == 0 && joined) {
            bool same = obj == jparent; /* another child of the previous row's parent */
            if (!same) {
                if (jparent && jfill)
                    rc = ph__rel_mark_loaded(s, ((ph_obj *)jparent)->state, joined);
                ph__state *pst = ((ph_obj *)obj)->state;
                jfill = !ph__rel_is_loaded(pst, joined, (size_t)(joined - q->m->relationships));
                if (jfill &&
                    (joined->kind == PH_REL_ONE_TO_MANY || joined->kind == PH_REL_MANY_TO_MANY))
                    ((ph_list *)((char *)obj + joined->offset))->len = 0;
                jparent = obj;
            }
            if (rc == 0 && jfill && !ph_db_rows_isnull(&r, jpk)) {
                void *child;
                rc = ph__session_load_row_at(s, jt, &r, jcol, false, &child);
                if (rc == 0)
                    rc = joined_attach(s, joined, obj, child);
            }
            if (same)
                continue;
        }
        if (rc == 0)
            items[len++] = obj;
        /* LIMIT reached: no step to find the end (rows are objects here) */
        if (rc == 0 && !joined && use_limit && (int64_t)len == limit)
            break;
    }
    if (rc == 0 && jparent && jfill)
        rc = ph__rel_mark_loaded(s, ((ph_obj *)jparent)->state, joined);
    ph_db_rows_close(&r);
    if (rc < 0)
        return ph__session_error(s, rc, "SELECT FROM %s: %s", q->m->table,
                                 ph_db_errmsg(s->conn)[0] ? ph_db_errmsg(s->conn)
                                                          : ph_strerror(rc));
    if (q->m->nrelationships && len) {
        rc = ph__rel_after_query(s, q->m, items, len, q->lazy, joined);
        if (rc)
            return rc;
    }
    *out = items;
    *nout = len;
    return 0;
}

int ph_query_all(ph_query *q, void *rows_out, size_t *n)
{
    void **items;
    int rc = run_rows(q, q->has_limit, q->limit, q->has_offset ? q->offset : 0, &items, n);
    memcpy(rows_out, &items, sizeof(items));
    return rc;
}

static int first_n(ph_query *q, int64_t want, void *row_out, bool exactly_one)
{
    void *null = NULL;
    memcpy(row_out, &null, sizeof(null));
    int64_t limit = q->has_limit && q->limit < want ? q->limit : want;
    void **items;
    size_t n;
    int rc = run_rows(q, true, limit, q->has_offset ? q->offset : 0, &items, &n);
    if (rc)
        return rc;
    if (n == 0)
        return ph__session_error(q->s, PH_ENOTFOUND, "no %s found", q->m->name);
    if (exactly_one && n > 1)
        return ph__session_error(q->s, PH_EMULTIPLE, "more than one %s found", q->m->name);
    memcpy(row_out, &items[0], sizeof(void *));
    return 0;
}

int ph__query_get_pk(ph_session *s, const ph_model *m, int64_t id, void *out)
{
    ph_query *q = ph_query_new(s, m);
    if (!q)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    /* the same statement for every id: its text is kept on the connection */
    q->memo_key = m;
    q->memo_kind = 0;
    if (ph_db_conn_memo(s->conn, m, 0)) {
        if (add_param(q, PH_INT(id)))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
    } else {
        ph_query_filter_by(q, ph_model_pk(m)->name, PH_INT(id));
    }
    return ph_query_first(q, out);
}

int ph_query_first(ph_query *q, void *row_out)
{
    return first_n(q, 1, row_out, false);
}

int ph_query_one(ph_query *q, void *row_out)
{
    return first_n(q, 2, row_out, true);
}

static int scalar(ph_query *q, sel_kind kind, int64_t *out)
{
    if (q->err)
        return q->err;
    ph_session *s = q->s;
    ph_buf b;
    ph_buf_init(&b, s->arena);
    ph_val *v = ph_arena_alloc(s->arena, (q->np + 2) * sizeof(ph_val));
    size_t n;
    int64_t offset = q->has_offset ? q->offset : 0;
    if (!v || build(q, kind, q->has_limit, q->limit, offset, &b, v, &n))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    int rc;
    s->nqueries++;
    if (kind == SEL_DELETE) {
        rc = ph_db_exec(s->conn, b.ptr, v, n);
        *out = rc ? 0 : ph_db_changes(s->conn);
    } else {
        rc = ph_db_query_int(s->conn, b.ptr, v, n, out);
    }
    if (rc)
        return ph__session_error(s, rc, "%s %s: %s",
                                 kind == SEL_DELETE ? "DELETE FROM" : "SELECT FROM", q->m->table,
                                 ph_db_errmsg(s->conn));
    return 0;
}

int ph_query_count(ph_query *q, int64_t *n)
{
    *n = 0;
    return scalar(q, SEL_COUNT, n);
}

int ph_query_exists(ph_query *q, bool *exists)
{
    int64_t v = 0;
    int rc = scalar(q, SEL_EXISTS, &v);
    *exists = v != 0;
    return rc;
}

int ph_query_delete(ph_query *q, int64_t *deleted)
{
    int64_t n = 0;
    if (deleted)
        *deleted = 0;
    if (q->err)
        return q->err;
    if (q->order.len || q->has_limit || q->has_offset)
        return ph__session_error(
            q->s, PH_EMISUSE, "bulk delete on %s takes no order_by, limit or offset", q->m->name);
    ph_db_conn *c = q->s->conn;
    if (!ph_db_in_transaction(c)) {
        int rc = ph_db_begin(c, true);
        if (rc)
            return ph__session_error(q->s, rc, "BEGIN: %s", ph_db_errmsg(c));
    }
    int rc = scalar(q, SEL_DELETE, &n);
    if (rc) {
        ph_session_rollback(q->s);
        return rc;
    }
    if (deleted)
        *deleted = n;
    return 0;
}

int ph_query_paginate(ph_query *q, int64_t page, int64_t per_page, ph_page *out)
{
    memset(out, 0, sizeof(*out));
    if (page < 1 || per_page < 1)
        return ph__session_error(q->s, PH_ERANGE, "page and per_page start at 1");
    bool had_limit = q->has_limit, had_offset = q->has_offset;
    q->has_limit = q->has_offset = false;
    int64_t total;
    int rc = ph_query_count(q, &total);
    q->has_limit = had_limit;
    q->has_offset = had_offset;
    if (rc)
        return rc;
    if (page > INT64_MAX / per_page)
        return ph__session_error(q->s, PH_ERANGE, "page out of range");
    void **items;
    size_t n;
    rc = run_rows(q, true, per_page, (page - 1) * per_page, &items, &n);
    if (rc)
        return rc;
    out->items = items;
    out->n = n;
    out->page = page;
    out->per_page = per_page;
    out->total = total;
    out->pages = (total + per_page - 1) / per_page;
    out->has_prev = page > 1;
    out->has_next = page < out->pages;
    return 0;
}

const ph_model *ph_query_model(const ph_query *q)
{
    return q ? q->m : NULL;
}

int ph_query_expect(ph_query *q, const ph_model *m)
{
    if (!q)
        return PH_ENOMEM;
    if (q->m == m)
        return 0;
    return ph__session_error(q->s, PH_EMISUSE, "a query on %s read as %s rows", q->m->name,
                             m->name);
}
