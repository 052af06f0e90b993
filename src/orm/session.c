/*
 * The session: a unit of work over one connection.  It keeps every object
 * it loaded or was given (identity map keyed by model and primary key, a
 * snapshot of each loaded row for dirty tracking), validates pending
 * changes before any SQL, and flushes them as INSERTs (keys written back),
 * UPDATEs of changed columns only and DELETEs, parents before children, in
 * one write transaction.  A failure rolls everything back, in the database
 * and in the session.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- fields <-> values ---------------------------------------------------------- */

ph_val ph__field_val(const ph_column *c, const void *obj)
{
    const char *f = (const char *)obj + c->offset;
    if (ph_column_is_null(c, obj))
        return PH_NULL;
    /* the value member comes first in every *_opt type */
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        return PH_INT(*(const int64_t *)f);
    case PH_T_FLOAT:
        return PH_DOUBLE(*(const double *)f);
    case PH_T_BOOLEAN:
        return PH_BOOL(*(const bool *)f);
    case PH_T_DATETIME:
        return (ph_val){.type = PH_VAL_DATETIME, .u.i = ((const ph_datetime *)f)->usec};
    case PH_T_DATE:
        return (ph_val){.type = PH_VAL_DATE, .u.i = ((const ph_date *)f)->days};
    case PH_T_NUMERIC:
        return (ph_val){.type = PH_VAL_DECIMAL,
                        .u.dec = {((const ph_decimal *)f)->units, c->scale}};
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON:
        return PH_STR(*(const char *const *)f);
    case PH_T_BINARY: {
        const ph_bytes *b = (const ph_bytes *)f;
        return PH_BLOB(b->ptr, b->len);
    }
    }
    return PH_NULL;
}

/* The body of ph__field_load, inlined into the row loop below. */
static inline int field_load(const ph_column *c, void *obj, ph_db_rows *r, int col, ph_arena *a)
{
    char *f = (char *)obj + c->offset;
    bool opt = c->nullable_ctype;
    if (c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_ENUM ||
        c->type == PH_T_JSON) {
        size_t len;
        const char *t = ph_db_rows_textn(r, col, &len);
        if (!t) {
            *(const char **)f = NULL;
            return 0;
        }
        char *s = ph_arena_alloc(a, len + 1);
        if (!s)
            return PH_ENOMEM;
        memcpy(s, t, len);
        s[len] = '\0';
        *(const char **)f = s;
        return 0;
    }
    /* a NULL reads as 0 for the NOT NULL C types: ask only for *_opt ones */
    bool null = (opt || c->type == PH_T_BINARY) && ph_db_rows_isnull(r, col);
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER: {
        int64_t v = null ? 0 : ph_db_rows_int(r, col);
        if (opt)
            *(ph_int64_opt *)f = (ph_int64_opt){v, !null};
        else
            *(int64_t *)f = v;
        return 0;
    }
    case PH_T_FLOAT: {
        double v = null ? 0 : ph_db_rows_double(r, col);
        if (opt)
            *(ph_double_opt *)f = (ph_double_opt){v, !null};
        else
            *(double *)f = v;
        return 0;
    }
    case PH_T_BOOLEAN: {
        bool v = null ? false : ph_db_rows_bool(r, col);
        if (opt)
            *(ph_bool_opt *)f = (ph_bool_opt){v, !null};
        else
            *(bool *)f = v;
        return 0;
    }
    case PH_T_NUMERIC: {
        int64_t v = 0;
        if (!null) {
            size_t len;
            const char *t = ph_db_rows_text(r, col, &len);
            /* SQLite keeps NUMERIC as INTEGER or REAL: 15 significant digits */
            if (ph_decimal_parse(t, len, c->length, c->scale, true, &v))
                return PH_EPARSE;
        }
        if (opt)
            *(ph_decimal_opt *)f = (ph_decimal_opt){{v}, !null};
        else
            *(ph_decimal *)f = (ph_decimal){v};
        return 0;
    }
    case PH_T_DATETIME:
    case PH_T_DATE: {
        int64_t v = 0;
        if (!null) {
            size_t len;
            const char *t = ph_db_rows_text(r, col, &len);
            if (c->type == PH_T_DATETIME) {
                if (ph_datetime_parse(t, len, &v))
                    return PH_EPARSE;
            } else {
                int32_t d;
                if (ph_date_parse(t, len, &d))
                    return PH_EPARSE;
                v = d;
            }
        }
        if (c->type == PH_T_DATETIME) {
            if (opt)
                *(ph_datetime_opt *)f = (ph_datetime_opt){{v}, !null};
            else
                *(ph_datetime *)f = (ph_datetime){v};
        } else {
            if (opt)
                *(ph_date_opt *)f = (ph_date_opt){{(int32_t)v}, !null};
            else
                *(ph_date *)f = (ph_date){(int32_t)v};
        }
        return 0;
    }
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON:
        return 0; /* above */
    case PH_T_BINARY: {
        ph_bytes *b = (ph_bytes *)f;
        if (null) {
            *b = (ph_bytes){NULL, 0};
            return 0;
        }
        uint8_t *p;
        int rc = ph_db_rows_blob(r, col, a, &p, &b->len);
        b->ptr = p;
        return rc;
    }
    }
    return 0;
}

int ph__field_load(const ph_column *c, void *obj, ph_db_rows *r, int col, ph_arena *a)
{
    return field_load(c, obj, r, col, a);
}

int ph__put_columns(ph_buf *b, const ph_model *m)
{
    for (size_t i = 0; i < m->ncolumns; i++) {
        if (i)
            ph_buf_puts(b, ", ");
        ph_db_put_ident(b, m->columns[i].name);
    }
    return ph_buf_status(b);
}

int64_t ph__pk_get(const ph_model *m, const void *obj)
{
    const ph_column *pk = ph_model_pk(m);
    return *(const int64_t *)((const char *)obj + pk->offset);
}

static void pk_set(const ph_model *m, void *obj, int64_t v)
{
    const ph_column *pk = ph_model_pk(m);
    *(int64_t *)((char *)obj + pk->offset) = v;
}

/* ---- validation ------------------------------------------------------------------- */

size_t ph_utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static int invalid(ph_db_errinfo *info, ph_db_errkind kind, const ph_model *m,
                   const ph_column *c, int code)
{
    if (info) {
        memset(info, 0, sizeof(*info));
        info->kind = kind;
        snprintf(info->table, sizeof(info->table), "%s", m->table);
        snprintf(info->column, sizeof(info->column), "%s", c->name);
        snprintf(info->columns, sizeof(info->columns), "%s", c->name);
    }
    return code;
}

int ph_orm_validate(const ph_model *m, const void *obj, uint64_t mask, char *msg, size_t msglen)
{
    return ph__validate(m, obj, mask, msg, msglen, NULL);
}

int ph__validate(const ph_model *m, const void *obj, uint64_t mask, char *msg, size_t msglen,
                 ph_db_errinfo *info)
{
    for (size_t i = 0; i < m->ncolumns; i++) {
        if (!(mask & (1ull << i)))
            continue;
        const ph_column *c = &m->columns[i];
        if (c->flags & PH_PK)
            continue;
        if ((c->flags & PH_NOT_NULL) && ph_column_is_null(c, obj)) {
            snprintf(msg, msglen,
                     "NOT NULL constraint failed: %s.%s (the field is unset and the column "
                     "has no default)",
                     m->table, c->name);
            return invalid(info, PH_DBERR_NOT_NULL, m, c, PH_ECONSTRAINT);
        }
        if (ph_column_is_null(c, obj))
            continue;
        const char *f = (const char *)obj + c->offset;
        if (c->type == PH_T_ENUM) {
            const char *v = *(const char *const *)f;
            if (!ph_enum_has(c, v, strlen(v))) {
                snprintf(msg, msglen, "invalid value for %s.%s: '%.40s' is not one of its Enum values",
                         m->table, c->name, v);
                return invalid(info, PH_DBERR_INVALID, m, c, PH_EINVAL);
            }
        }
        if (c->type == PH_T_JSON) {
            const char *v = *(const char *const *)f;
            if (!ph_json_valid(v, strlen(v))) {
                snprintf(msg, msglen, "invalid value for %s.%s: not a JSON document", m->table,
                         c->name);
                return invalid(info, PH_DBERR_INVALID, m, c, PH_EINVAL);
            }
        }
        if (c->type == PH_T_NUMERIC && c->length >= 1 && c->length <= 18) {
            int64_t u = ((const ph_decimal *)f)->units, lim = 1;
            for (int k = 0; k < c->length; k++)
                lim *= 10;
            if (u >= lim || u <= -lim) {
                snprintf(msg, msglen,
                         "value out of range for %s.%s: Numeric(%d, %d) holds %d digits", m->table,
                         c->name, c->length, c->scale, c->length);
                return invalid(info, PH_DBERR_RANGE, m, c, PH_ERANGE);
            }
        }
        if (c->type == PH_T_INTEGER && !ph_column_is_null(c, obj)) {
            /* INTEGER is 32 bits on PostgreSQL: refuse on both dialects alike */
            int64_t v = *(const int64_t *)((const char *)obj + c->offset);
            if (v > INT32_MAX || v < INT32_MIN) {
                snprintf(msg, msglen, "value out of range for %s.%s: %lld is not a 32-bit Integer",
                         m->table, c->name, (long long)v);
                return invalid(info, PH_DBERR_RANGE, m, c, PH_ERANGE);
            }
        }
        if (c->type == PH_T_STRING && c->length > 0) {
            const char *s = *(const char *const *)((const char *)obj + c->offset);
            if (s) {
                size_t n = ph_utf8_chars(s, strlen(s));
                if (n > (size_t)c->length) {
                    snprintf(msg, msglen,
                             "value too long for %s.%s: %zu characters, String(%d) allows %d",
                             m->table, c->name, n, c->length, c->length);
                    return invalid(info, PH_DBERR_TOO_LONG, m, c, PH_ETOOLONG);
                }
            }
        }
    }
    return 0;
}

/* ---- session ---------------------------------------------------------------------- */

int ph__session_error(ph_session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
    const ph_db_errinfo *ci = ph_db_errinfo_get(s->conn);
    if (ci->kind != PH_DBERR_NONE) {
        s->errinfo = *ci;
    } else {
        memset(&s->errinfo, 0, sizeof(s->errinfo));
        s->errinfo.kind = PH_DBERR_OTHER;
    }
    return code;
}

static void session_cleanup(void *p)
{
    ph_session_close(p);
}

ph_session *ph_session_new(ph_arena *a, ph_db_conn *conn)
{
    ph_session *s = PH_ARENA_NEW(a, ph_session);
    if (!s)
        return NULL;
    s->arena = a;
    s->conn = conn;
    if (ph_arena_cleanup_add(a, session_cleanup, s) != 0)
        return NULL;
    return s;
}

void ph_session_close(ph_session *s)
{
    if (!s || s->closed)
        return;
    if (ph_db_in_transaction(s->conn))
        ph_db_rollback(s->conn);
    s->closed = true;
}

ph_arena *ph_session_arena(const ph_session *s)
{
    return s->arena;
}

ph_db_conn *ph_session_conn(const ph_session *s)
{
    return s->conn;
}

const char *ph_session_errmsg(const ph_session *s)
{
    return s->errmsg;
}

const ph_db_errinfo *ph_session_errinfo(const ph_session *s)
{
    return &s->errinfo;
}

const char *ph_session_error_column(const ph_session *s)
{
    return s->errinfo.column[0] ? s->errinfo.column : NULL;
}

uint64_t ph_session_query_count(const ph_session *s)
{
    return s->nqueries;
}

int ph_session_set_debug(ph_session *s, bool on, const char *label)
{
    s->debug = on;
    s->label = NULL;
    if (label && !(s->label = ph_arena_strdup(s->arena, label)))
        return PH_ENOMEM;
    return 0;
}

size_t ph_session_count(const ph_session *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nobjs; i++)
        n += s->objs[i]->status == PH__PERSISTENT || s->objs[i]->status == PH__DELETED;
    return n;
}

/* ---- identity map --------------------------------------------------------------------- */

/* Model and key mixed into all 64 bits.  Keys of one model are mostly
 * dense (1, 2, 3...); placed side by side they would form one run of
 * occupied slots as long as the result, and a key of another model landing
 * in that run (a pet among its 128k comments) would be found only at the
 * run's end -- a scan per lookup, quadratic over a load. */
static size_t map_hash(const ph_model *m, int64_t pk)
{
    uint64_t h = (uint64_t)(uintptr_t)m * 0x9E3779B97F4A7C15ull ^ (uint64_t)pk;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (size_t)h;
}

/* A tombstone: a slot that held an object since removed. */
#define TOMB(s) ((void *)&(s)->map)

static int map_put(ph_session *s, void *obj);

/* Enters the objects attached since the last lookup. */
static int map_sync(ph_session *s)
{
    for (; s->mapped < s->nobjs; s->mapped++) {
        ph__state *st = s->objs[s->mapped];
        if (!st->in_map && (st->status == PH__PERSISTENT || st->status == PH__DELETED)) {
            int rc = map_put(s, st->obj);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void *map_find(ph_session *s, const ph_model *m, int64_t pk);

void *ph__map_find(ph_session *s, const ph_model *m, int64_t pk)
{
    return map_find(s, m, pk);
}

static void *map_find(ph_session *s, const ph_model *m, int64_t pk)
{
    if (map_sync(s) || !s->mapcap)
        return NULL;
    size_t mask = s->mapcap - 1, i = map_hash(m, pk) & mask;
    for (;;) {
        void *o = s->map[i];
        if (!o)
            return NULL;
        if (o != TOMB(s)) {
            const ph_obj *h = o;
            if (h->model == m && ph__pk_get(m, o) == pk)
                return o;
        }
        i = (i + 1) & mask;
    }
}

/* Rehashes into a table of 4x the size (x4: few rehashes for big
 * results), or of the same size when tombstones, not live objects, filled
 * it (add / delete cycles in one long session). */
static int map_grow(ph_session *s)
{
    size_t oldcap = s->mapcap;
    void **old = s->map;
    size_t cap = !oldcap ? 64 : (s->mapn + 1) * 10 > oldcap * 4 ? oldcap * 4 : oldcap;
    void **map = ph_arena_calloc(s->arena, cap, sizeof(void *));
    if (!map)
        return PH_ENOMEM;
    s->map = map;
    s->mapcap = cap;
    s->mapn = 0;
    s->maptombs = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i] && old[i] != (void *)&s->map)
            map_put(s, old[i]); /* room is certain: cannot fail */
    return 0;
}

/* Inserts obj (model m, key pk) without looking for a twin. */
static int map_put_pk(ph_session *s, void *obj, const ph_model *m, int64_t pk)
{
    /* tombstones count as used: a probe stops only at an empty slot, so
       the table must always keep some */
    if ((s->mapn + s->maptombs + 1) * 10 > s->mapcap * 7) {
        int rc = map_grow(s);
        if (rc)
            return rc;
    }
    size_t mask = s->mapcap - 1, i = map_hash(m, pk) & mask;
    while (s->map[i] && s->map[i] != TOMB(s))
        i = (i + 1) & mask;
    if (s->map[i] == TOMB(s))
        s->maptombs--;
    s->map[i] = obj;
    s->mapn++;
    ((ph__state *)((ph_obj *)obj)->state)->in_map = true;
    return 0;
}

static int map_put(ph_session *s, void *obj)
{
    const ph_obj *h = obj;
    return map_put_pk(s, obj, h->model, ph__pk_get(h->model, obj));
}

static void map_remove(ph_session *s, void *obj)
{
    if (!s->mapcap)
        return;
    const ph_obj *h = obj;
    size_t mask = s->mapcap - 1, i = map_hash(h->model, ph__pk_get(h->model, obj)) & mask;
    while (s->map[i]) {
        if (s->map[i] == obj) {
            s->map[i] = TOMB(s);
            s->mapn--;
            s->maptombs++;
            ((ph__state *)((ph_obj *)obj)->state)->in_map = false;
            return;
        }
        i = (i + 1) & mask;
    }
}

/* ---- attaching objects ----------------------------------------------------------------- */

static int push_state(ph_session *s, ph__state *st)
{
    if (s->nobjs == s->capobjs) {
        size_t cap = s->capobjs ? s->capobjs * 2 : 64;
        ph__state **objs = ph_arena_alloc(s->arena, cap * sizeof(*objs));
        if (!objs)
            return PH_ENOMEM;
        if (s->nobjs)
            memcpy(objs, s->objs, s->nobjs * sizeof(*objs));
        s->objs = objs;
        s->capobjs = cap;
    }
    s->objs[s->nobjs++] = st;
    return 0;
}

static ph__state *state_of(const void *obj)
{
    return ((const ph_obj *)obj)->state;
}

/* Whether a column's field points to bytes the snapshot must copy. */
static bool by_pointer(const ph_column *c)
{
    return c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_ENUM ||
           c->type == PH_T_JSON || c->type == PH_T_BINARY;
}

/* The snapshot compared at flush: the struct, with the bytes of strings
 * and ph_bytes copied, so that a change is seen however it was made (a
 * new pointer, or new bytes written where the old pointer points).  When
 * out of memory, a field keeps the object's pointer: a change of pointer
 * is still seen. */
static void snapshot(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    memcpy(st->snap, st->obj, m->size);
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (!by_pointer(c) || ph_column_is_null(c, st->obj))
            continue;
        char *f = (char *)st->snap + c->offset;
        if (c->type == PH_T_BINARY) {
            ph_bytes *b = (ph_bytes *)f;
            const uint8_t *copy = ph_arena_memdup(s->arena, b->len ? b->ptr : (const void *)"", b->len);
            if (copy)
                b->ptr = copy;
        } else {
            const char *copy = ph_arena_strdup(s->arena, *(const char **)f);
            if (copy)
                *(const char **)f = copy;
        }
    }
}

static int session_add(ph_session *s, const ph_model *m, void *obj)
{
    if (s->closed)
        return ph__session_error(s, PH_EMISUSE, "the session is closed");
    ph_obj *h = obj;
    if (h->session == s) {
        ph__state *st = h->state;
        if (h->model != m)
            return ph__session_error(s, PH_EMISUSE, "object is a %s, not a %s", h->model->name,
                                     m->name);
        if (st->status == PH__DELETED && !st->flushed_delete)
            st->status = PH__PERSISTENT;
        return 0;
    }
    if (h->session || h->model || h->state)
        return ph__session_error(
            s, PH_EMISUSE, "the %s belongs to another session (or its _ph header is not zeroed)",
            m->name);
    if (m->nrelationships)
        s->has_rels = true;
    else if (ph_model_npk(m) != 1)
        return ph__session_error(s, PH_EMISUSE,
                                 "%s is an association table: edit it through the many-to-many "
                                 "relationships that name it",
                                 m->name);
    ph__state *st = ph_arena_calloc(s->arena, 1, sizeof(*st) + m->size);
    if (!st)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    st->obj = obj;
    st->model = m;
    st->status = PH__NEW;
    st->snap = (unsigned char *)(st + 1);
    if (push_state(s, st))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    h->model = m;
    h->session = s;
    h->state = st;
    return 0;
}

static int session_delete(ph_session *s, void *obj)
{
    ph_obj *h = obj;
    if (h->session != s || !h->state)
        return ph__session_error(s, PH_EMISUSE, "the object is not in this session");
    ph__state *st = h->state;
    if (st->status == PH__NEW) {
        st->status = PH__GONE;
        memset(h, 0, sizeof(*h));
    } else if (st->status == PH__PERSISTENT) {
        st->status = PH__DELETED;
    }
    return 0;
}

int ph__session_pending(ph_session *s, int rc)
{
    if (rc < 0 && s->pending_err == 0)
        s->pending_err = rc;
    return rc;
}

int ph_session_add(ph_session *s, const ph_model *m, void *obj)
{
    return ph__session_pending(s, session_add(s, m, obj));
}

int ph_session_delete(ph_session *s, void *obj)
{
    return ph__session_pending(s, session_delete(s, obj));
}

/* The body of ph__session_load_row(_at): inlined into both, so the plain
 * query path keeps col0 a constant 0. */
static inline int load_row(ph_session *s, const ph_model *m, ph_db_rows *r, int col0, bool fresh,
                           void **out)
{
    if (!fresh) {
        const ph_column *pkc = ph_model_pk(m);
        int64_t pk = ph_db_rows_int(r, col0 + (int)(pkc - m->columns));
        void *found = map_find(s, m, pk);
        if (found) {
            *out = found;
            return 0;
        }
    }
    /* the text columns first: their lengths size the one allocation below
       (the row's pointers stay valid until the next step) */
    const char *text[64];
    size_t tlen[64], tbytes = 0;
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_ENUM ||
            c->type == PH_T_JSON) {
            text[i] = ph_db_rows_textn(r, col0 + (int)i, &tlen[i]);
            if (text[i])
                tbytes += 2 * (tlen[i] + 1);
        }
    }
    /* object, state, snapshot and the strings in one allocation */
    size_t osize = (m->size + 15) & ~(size_t)15;
    size_t ssize = (m->size + 7) & ~(size_t)7;
    char *mem = ph_arena_alloc(s->arena, osize + sizeof(ph__state) + ssize + tbytes);
    if (!mem)
        return PH_ENOMEM;
    char *strings = mem + osize + sizeof(ph__state) + ssize;
    void *obj = mem;
    ph__state *st = (ph__state *)(mem + osize);
    if (m->nrelationships) {
        memset(obj, 0, m->size); /* relationship fields start empty */
        s->has_rels = true;
    } else
        memset(obj, 0, sizeof(ph_obj)); /* every column is written below */
    memset(st, 0, sizeof(*st));
    st->obj = obj;
    st->model = m;
    st->status = PH__PERSISTENT;
    st->snap = (unsigned char *)(st + 1);
    ph_obj *h = obj;
    h->model = m;
    h->session = s;
    h->state = st;
    /* strings are copied twice in one allocation: the field's copy and the
       snapshot's (cheaper than a separate snapshot pass) */
    const char *snapstr[64];
    bool deep = false;
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_ENUM ||
            c->type == PH_T_JSON) {
            size_t len = tlen[i];
            char *p = NULL;
            if (text[i]) {
                p = strings;
                strings += 2 * (len + 1);
                memcpy(p, text[i], len);
                p[len] = '\0';
                memcpy(p + len + 1, p, len + 1);
            }
            *(const char **)((char *)obj + c->offset) = p;
            snapstr[i] = p ? p + len + 1 : NULL;
            continue;
        }
        deep = deep || c->type == PH_T_BINARY;
        int rc = field_load(c, obj, r, col0 + (int)i, s->arena);
        if (rc)
            return rc;
    }
    if (deep) {
        snapshot(s, st);
    } else {
        memcpy(st->snap, obj, m->size);
    }
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_ENUM ||
            c->type == PH_T_JSON)
            *(const char **)(st->snap + c->offset) = snapstr[i];
    }
    int rc = push_state(s, st); /* entered in the identity map on the next lookup */
    if (rc)
        return rc;
    *out = obj;
    return 0;
}

int ph__session_load_row(ph_session *s, const ph_model *m, ph_db_rows *r, bool fresh, void **out)
{
    return load_row(s, m, r, 0, fresh, out);
}

int ph__session_load_row_at(ph_session *s, const ph_model *m, ph_db_rows *r, int col0, bool fresh,
                            void **out)
{
    return load_row(s, m, r, col0, fresh, out);
}

int ph_session_get(ph_session *s, const ph_model *m, int64_t id, void *out)
{
    void *null = NULL;
    memcpy(out, &null, sizeof(null));
    void *found = map_find(s, m, id);
    if (found) {
        if (state_of(found)->status == PH__DELETED)
            return ph__session_error(s, PH_ENOTFOUND, "%s %lld is deleted", m->name, (long long)id);
        memcpy(out, &found, sizeof(found));
        return 0;
    }
    return ph__query_get_pk(s, m, id, out);
}

/* ---- dirty tracking ---------------------------------------------------------------------- */

static bool column_changed(const ph_column *c, const void *obj, const unsigned char *snap)
{
    const char *f = (const char *)obj + c->offset;
    const char *o = (const char *)snap + c->offset;
    switch (c->type) {
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON: {
        const char *a = *(const char *const *)f, *b = *(const char *const *)o;
        if (a == b)
            return false;
        return !a || !b || strcmp(a, b) != 0;
    }
    case PH_T_BINARY: {
        const ph_bytes *a = (const ph_bytes *)f, *b = (const ph_bytes *)o;
        if (a->ptr == b->ptr && a->len == b->len)
            return false;
        if (!a->ptr || !b->ptr || a->len != b->len)
            return true;
        return memcmp(a->ptr, b->ptr, a->len) != 0;
    }
    default: {
        bool na = ph_column_is_null(c, obj), nb = ph_column_is_null(c, snap);
        if (na || nb)
            return na != nb;
        /* the value member comes first in every *_opt type */
        size_t vsize = c->type == PH_T_BOOLEAN ? sizeof(bool)
                       : c->type == PH_T_DATE  ? sizeof(int32_t)
                       : c->type == PH_T_FLOAT ? sizeof(double)
                                               : sizeof(int64_t);
        return memcmp(f, o, vsize) != 0;
    }
    }
}

static uint64_t dirty_mask(const ph__state *st)
{
    const ph_model *m = st->model;
    uint64_t mask = 0;
    for (size_t i = 0; i < m->ncolumns; i++)
        if (!(m->columns[i].flags & PH_PK) && column_changed(&m->columns[i], st->obj, st->snap))
            mask |= 1ull << i;
    return mask;
}

bool ph_session_is_dirty(ph_session *s, const void *obj)
{
    const ph_obj *h = obj;
    if (h->session != s || !h->state)
        return false;
    const ph__state *st = h->state;
    if (st->status == PH__NEW || (st->status == PH__DELETED && !st->flushed_delete))
        return true;
    return st->status == PH__PERSISTENT &&
           (dirty_mask(st) != 0 || (st->model->nrelationships && ph__rel_changed(st)));
}

/* ---- flush --------------------------------------------------------------------------------- */

static void apply_defaults(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (!c->default_value || !ph_column_is_null(c, st->obj))
            continue;
        if (c->type == PH_T_DATETIME && strcmp(c->default_value, "now") == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ph_datetime v = {(int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000};
            if (c->nullable_ctype)
                *(ph_datetime_opt *)PH_FIELD(st->obj, c) = (ph_datetime_opt){v, true};
            else
                *(ph_datetime *)PH_FIELD(st->obj, c) = v;
        } else {
            ph_column_parse(c, st->obj, c->default_value, strlen(c->default_value), s->arena);
        }
    }
}

static int db_fail(ph_session *s, int rc, const char *verb, const ph_model *m)
{
    const char *msg = ph_db_errmsg(s->conn);
    if (rc == PH_ECONSTRAINT && strcmp(msg, "FOREIGN KEY constraint failed") == 0) {
        /* SQLite names no column: name the model's foreign keys */
        char cols[256] = "";
        size_t used = 0;
        if (strcmp(verb, "DELETE FROM") == 0) {
            snprintf(cols, sizeof(cols), "rows of other tables refer to this %s", m->table);
        } else {
            for (size_t i = 0; i < m->ncolumns && used < sizeof(cols); i++) {
                const ph_column *c = &m->columns[i];
                if (c->foreign_key) {
                    int k = snprintf(cols + used, sizeof(cols) - used, "%s%s.%s -> %s",
                                     used ? ", " : "", m->table, c->name, c->foreign_key);
                    used += k > 0 ? (size_t)k : 0;
                }
            }
        }
        ph__session_error(s, rc, "%s %s: FOREIGN KEY constraint failed (%s)", verb, m->table, cols);
        /* the column, when the model has a single foreign key to blame */
        const ph_column *only = NULL;
        size_t nfk = 0;
        for (size_t i = 0; i < m->ncolumns; i++)
            if (m->columns[i].foreign_key && nfk++ == 0)
                only = &m->columns[i];
        snprintf(s->errinfo.table, sizeof(s->errinfo.table), "%s", m->table);
        if (nfk == 1 && strcmp(verb, "DELETE FROM") != 0) {
            snprintf(s->errinfo.column, sizeof(s->errinfo.column), "%s", only->name);
            snprintf(s->errinfo.columns, sizeof(s->errinfo.columns), "%s", only->name);
        }
        return rc;
    }
    ph__session_error(s, rc, "%s %s: %s", verb, m->table, msg);
    if (!s->errinfo.table[0])
        snprintf(s->errinfo.table, sizeof(s->errinfo.table), "%s", m->table);
    return rc;
}

/* Whether column c of obj is left to the database's server default. */
static bool server_fills(const ph_column *c, const void *obj)
{
    return c->server_default && !(c->flags & PH_PK) && ph_column_is_null(c, obj);
}

/* Reads the row of INSERT ... RETURNING pk, server-defaulted columns. */
static int read_returning(ph_session *s, ph__state *st, ph_db_rows *r, int64_t *newpk)
{
    const ph_model *m = st->model;
    int rc = ph_db_rows_next(r);
    if (rc != 1)
        return rc < 0 ? rc : PH_EDB;
    *newpk = ph_db_rows_int(r, 0);
    int col = 1;
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (server_fills(c, st->obj)) {
            rc = ph__field_load(c, st->obj, r, col++, s->arena);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int do_insert(ph_session *s, ph__state *st, ph_buf *sql, ph_val *vals)
{
    const ph_model *m = st->model;
    const ph_column *pk = ph_model_pk(m);
    int64_t pkv = ph__pk_get(m, st->obj);
    bool pg = ph_db_conn_dialect(s->conn) == PH_DB_POSTGRES;
    ph_buf_clear(sql);
    ph_buf_puts(sql, "INSERT INTO ");
    ph_db_put_ident(sql, m->table);
    size_t n = 0, nserver = 0;
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c == pk && pkv == 0)
            continue;
        if (server_fills(c, st->obj)) {
            nserver++;
            continue;
        }
        ph_buf_puts(sql, n ? ", " : " (");
        ph_db_put_ident(sql, c->name);
        vals[n++] = ph__field_val(c, st->obj);
    }
    if (n == 0) {
        ph_buf_puts(sql, " DEFAULT VALUES");
    } else {
        ph_buf_puts(sql, ") VALUES (");
        for (size_t i = 0; i < n; i++)
            ph_buf_puts(sql, i ? ", ?" : "?");
        ph_buf_putc(sql, ')');
    }
    /* RETURNING: the new key on PostgreSQL, and the values the database
       gave server-defaulted columns (SQLite >= 3.35 has it too) */
    bool returning = pg || nserver;
    if (returning) {
        ph_buf_puts(sql, " RETURNING ");
        ph_db_put_ident(sql, pk->name);
        for (size_t i = 0; i < m->ncolumns; i++) {
            if (server_fills(&m->columns[i], st->obj)) {
                ph_buf_puts(sql, ", ");
                ph_db_put_ident(sql, m->columns[i].name);
            }
        }
    }
    if (ph_buf_status(sql))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    int rc;
    int64_t newpk = pkv;
    s->nqueries++;
    if (returning) {
        ph_db_rows r;
        rc = ph_db_query(s->conn, sql->ptr, vals, n, &r);
        if (rc == 0)
            rc = read_returning(s, st, &r, &newpk);
        ph_db_rows_close(&r);
    } else {
        rc = ph_db_exec(s->conn, sql->ptr, vals, n);
        if (rc == 0 && pkv == 0)
            newpk = ph_db_last_insert_id(s->conn);
    }
    if (rc)
        return db_fail(s, rc, "INSERT INTO", m);
    st->pk_before = pkv;
    pk_set(m, st->obj, newpk);
    st->flushed_insert = true;
    st->status = PH__PERSISTENT;
    snapshot(s, st);
    if (map_put(s, st->obj))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    return 0;
}

static int do_update(ph_session *s, ph__state *st, uint64_t mask, ph_buf *sql, ph_val *vals)
{
    const ph_model *m = st->model;
    const ph_column *pk = ph_model_pk(m);
    ph_buf_clear(sql);
    ph_buf_puts(sql, "UPDATE ");
    ph_db_put_ident(sql, m->table);
    size_t n = 0;
    for (size_t i = 0; i < m->ncolumns; i++) {
        if (!(mask & (1ull << i)))
            continue;
        ph_buf_puts(sql, n ? ", " : " SET ");
        ph_db_put_ident(sql, m->columns[i].name);
        ph_buf_puts(sql, " = ?");
        vals[n++] = ph__field_val(&m->columns[i], st->obj);
    }
    ph_buf_puts(sql, " WHERE ");
    ph_db_put_ident(sql, pk->name);
    ph_buf_puts(sql, " = ?");
    vals[n++] = PH_INT(ph__pk_get(m, st->obj));
    if (ph_buf_status(sql))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    s->nqueries++;
    int rc = ph_db_exec(s->conn, sql->ptr, vals, n);
    if (rc)
        return db_fail(s, rc, "UPDATE", m);
    if (ph_db_changes(s->conn) != 1)
        return ph__session_error(s, PH_ENOTFOUND, "UPDATE %s: row %s=%lld is gone", m->table,
                                 pk->name, (long long)ph__pk_get(m, st->obj));
    return 0;
}

static int do_delete(ph_session *s, ph__state *st, ph_buf *sql)
{
    const ph_model *m = st->model;
    ph_buf_clear(sql);
    ph_buf_puts(sql, "DELETE FROM ");
    ph_db_put_ident(sql, m->table);
    ph_buf_puts(sql, " WHERE ");
    ph_db_put_ident(sql, ph_model_pk(m)->name);
    ph_buf_puts(sql, " = ?");
    if (ph_buf_status(sql))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    ph_val v = PH_INT(ph__pk_get(m, st->obj));
    s->nqueries++;
    int rc = ph_db_exec(s->conn, sql->ptr, &v, 1);
    if (rc)
        return db_fail(s, rc, "DELETE FROM", m);
    st->flushed_delete = true;
    return 0;
}

/* Restores the session (and the objects) to the last committed state. */
static void restore(ph_session *s)
{
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        const ph_model *m = st->model;
        if (st->status == PH__GONE)
            continue;
        if (st->status == PH__NEW || st->flushed_insert) {
            if (st->flushed_insert) {
                if (st->in_map)
                    map_remove(s, st->obj);
                pk_set(m, st->obj, st->pk_before);
            }
            st->status = PH__GONE;
            memset(st->obj, 0, sizeof(ph_obj)); /* expunged: the caller may add it again */
            continue;
        }
        st->status = PH__PERSISTENT;
        st->flushed_delete = false;
        for (size_t k = 0; k < m->ncolumns; k++) {
            const ph_column *c = &m->columns[k];
            memcpy((char *)st->obj + c->offset, st->snap + c->offset, c->size);
        }
        if (st->rels)
            ph__rel_restore(s, st);
    }
}

static int flush(ph_session *s)
{
    /* 0: relationship cascades (save-update, delete, delete-orphan) */
    if (s->has_rels) {
        int rc = ph__rel_preflush(s);
        if (rc)
            return rc;
    }
    /* 1: defaults and validation, before any SQL */
    size_t work = 0, maxcols = 0;
    const ph_model *models[64];
    size_t nmodels = 0;
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        uint64_t mask = 0;
        /* with relationships, every live object may get a foreign key from
           a parent written in this flush: its model takes part */
        bool take = s->has_rels && st->status == PH__PERSISTENT;
        if (st->status == PH__NEW) {
            apply_defaults(s, st);
            mask = ~0ull;
            for (size_t k = 0; k < st->model->ncolumns; k++)
                if (server_fills(&st->model->columns[k], st->obj))
                    mask &= ~(1ull << k); /* the database gives it a value */
        } else if (st->status == PH__PERSISTENT) {
            mask = dirty_mask(st);
        } else if (st->status == PH__DELETED && !st->flushed_delete) {
            mask = 0;
        } else {
            continue;
        }
        if (take && st->model->nrelationships && ph__rel_changed(st))
            work++;
        if (st->status != PH__DELETED && mask == 0 && !take)
            continue;
        if (mask) {
            int rc = ph__validate(st->model, st->obj, mask, s->errmsg, sizeof(s->errmsg),
                                  &s->errinfo);
            if (rc)
                return rc;
        }
        work += mask != 0 || st->status != PH__PERSISTENT;
        if (st->model->ncolumns > maxcols)
            maxcols = st->model->ncolumns;
        bool seen = false;
        for (size_t k = 0; k < nmodels; k++)
            seen = seen || models[k] == st->model;
        if (!seen) {
            if (nmodels == PH_COUNTOF(models))
                return ph__session_error(s, PH_ELIMIT, "more than 64 models in one flush");
            models[nmodels++] = st->model;
        }
    }
    if (work == 0)
        return 0;
    const ph_model *order[64];
    if (ph_orm_sort(models, nmodels, order))
        return ph__session_error(s, PH_EINVAL, "the models' foreign keys form a cycle");

    /* 2: SQL, in one write transaction */
    int rc = 0;
    if (!ph_db_in_transaction(s->conn)) {
        rc = ph_db_begin(s->conn, true);
        if (rc)
            return ph__session_error(s, rc, "BEGIN: %s", ph_db_errmsg(s->conn));
    }
    ph_buf sql;
    ph_buf_init(&sql, s->arena);
    ph_val *vals = ph_arena_alloc(s->arena, (maxcols + 1) * sizeof(ph_val));
    if (!vals)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < nmodels; k++) {
        for (size_t i = 0; rc == 0 && i < s->nobjs; i++) {
            ph__state *st = s->objs[i];
            if (st->model != order[k])
                continue;
            bool rels = s->has_rels && st->model->nrelationships;
            if (rels && (st->status == PH__NEW || st->status == PH__PERSISTENT))
                rc = ph__rel_set_fks(s, st);
            if (rc)
                break;
            if (st->status == PH__NEW) {
                rc = do_insert(s, st, &sql, vals);
            } else if (st->status == PH__PERSISTENT) {
                uint64_t mask = dirty_mask(st);
                if (mask) {
                    if (s->has_rels) /* foreign keys set above: check them too */
                        rc = ph__validate(st->model, st->obj, mask, s->errmsg, sizeof(s->errmsg),
                                          &s->errinfo);
                    if (rc == 0)
                        rc = do_update(s, st, mask, &sql, vals);
                }
            } else {
                continue;
            }
            if (rc == 0 && rels)
                rc = ph__rel_push_fks(s, st);
        }
    }
    if (rc == 0 && s->has_rels)
        rc = ph__rel_write_assoc(s, &sql);
    for (size_t k = nmodels; rc == 0 && k-- > 0;) {
        for (size_t i = 0; rc == 0 && i < s->nobjs; i++) {
            ph__state *st = s->objs[i];
            if (st->model == order[k] && st->status == PH__DELETED && !st->flushed_delete) {
                if (st->model->nrelationships)
                    rc = ph__rel_delete_assoc(s, st, &sql);
                if (rc == 0)
                    rc = do_delete(s, st, &sql);
            }
        }
    }
    return rc;
}

int ph_session_flush(ph_session *s)
{
    if (s->closed)
        return ph__session_error(s, PH_EMISUSE, "the session is closed");
    if (s->pending_err) {
        /* the message of the failed call is kept */
        int rc = s->pending_err;
        s->pending_err = 0;
        ph_session_rollback(s);
        return rc;
    }
    s->errmsg[0] = '\0';
    memset(&s->errinfo, 0, sizeof(s->errinfo));
    int rc = flush(s);
    if (rc)
        ph_session_rollback(s);
    return rc;
}

int ph_session_commit(ph_session *s)
{
    int rc = ph_session_flush(s);
    if (rc)
        return rc;
    if (!ph_db_in_transaction(s->conn))
        return 0;
    rc = ph_db_commit(s->conn);
    if (rc) {
        ph__session_error(s, rc, "COMMIT: %s", ph_db_errmsg(s->conn));
        restore(s);
        return rc;
    }
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        if (st->status == PH__PERSISTENT && st->model->nrelationships)
            ph__rel_commit(s, st); /* out of memory: the snapshot stays older */
        st->flushed_insert = false;
        if (st->status == PH__PERSISTENT) {
            snapshot(s, st);
        } else if (st->status == PH__DELETED && st->flushed_delete) {
            if (st->in_map)
                map_remove(s, st->obj);
            st->status = PH__GONE;
            memset(st->obj, 0, sizeof(ph_obj));
        }
    }
    return 0;
}

void ph_session_rollback(ph_session *s)
{
    s->pending_err = 0;
    if (ph_db_in_transaction(s->conn)) {
        char msg[sizeof(s->errmsg)];
        memcpy(msg, s->errmsg, sizeof(msg));
        ph_db_rollback(s->conn);
        memcpy(s->errmsg, msg, sizeof(msg));
    }
    restore(s);
}
