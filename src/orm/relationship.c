/*
 * Relationships: loading them (lazy on request, selectin for a whole
 * result, the identity map first for many-to-one), editing lists with the
 * backref kept in step, and their part of the unit of work: save-update,
 * delete and delete-orphan cascades, foreign keys set from pointers and
 * from parents' lists, NULLed for orphans, and association-table rows for
 * many-to-many.  Per-object relationship state (loaded flags, snapshot of
 * pointers and list members) is made only for models that have
 * relationships, so the others pay nothing.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Keys per IN query.  The list is padded to a power of two (repeating the
 * last key) so that few distinct statements reach the statement cache. */
#define IN_CHUNK 512

static bool is_list(const ph_relationship *r)
{
    return r->kind == PH_REL_ONE_TO_MANY || r->kind == PH_REL_MANY_TO_MANY;
}

static void *field(void *obj, const ph_relationship *r)
{
    return (char *)obj + r->offset;
}

static ph__state *state_of(const void *obj)
{
    return ((const ph_obj *)obj)->state;
}

static size_t rel_index(const ph_model *m, const ph_relationship *r)
{
    return (size_t)(r - m->relationships);
}

static bool rel_of(const ph_model *m, const ph_relationship *r)
{
    return m->nrelationships && r >= m->relationships && r < m->relationships + m->nrelationships;
}

/* The foreign key value of column c in obj; false when NULL. */
static bool fk_get(const ph_column *c, const void *obj, int64_t *v)
{
    const char *f = (const char *)obj + c->offset;
    if (c->nullable_ctype) {
        const ph_int64_opt *o = (const ph_int64_opt *)f;
        *v = o->v;
        return o->set;
    }
    *v = *(const int64_t *)f;
    return true;
}

static void fk_set(const ph_column *c, void *obj, int64_t v)
{
    char *f = (char *)obj + c->offset;
    if (c->nullable_ctype)
        *(ph_int64_opt *)f = (ph_int64_opt){v, true};
    else
        *(int64_t *)f = v;
}

static bool fk_can_null(const ph_column *c)
{
    return c->nullable_ctype && !(c->flags & (PH_NOT_NULL | PH_PK));
}

static void fk_set_null(const ph_column *c, void *obj)
{
    *(ph_int64_opt *)((char *)obj + c->offset) = (ph_int64_opt){0, false};
}

static bool items_have(void *const *items, size_t n, const void *o)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] == o)
            return true;
    return false;
}

/* A set of 64-bit keys (object pointers, primary keys) in the session's
 * arena, so that comparing a collection with its snapshot, or gathering
 * keys, costs O(n) rather than a scan per member.  Below SMALL members the
 * plain scan is kept: no allocation for the common short list. */
#define SMALL 16

typedef struct keyset {
    uint64_t *keys;
    unsigned char *used;
    size_t mask; /* capacity - 1; capacity a power of two >= 2 * members */
    bool on;     /* false: not built (few members), scan instead */
} keyset;

static size_t key_slot(const keyset *ks, uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & ks->mask;
}

/* An empty set for up to n keys; 0 or PH_ENOMEM. */
static int keyset_init(ph_session *s, keyset *ks, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    ks->keys = ph_arena_alloc(s->arena, cap * sizeof(uint64_t));
    ks->used = ph_arena_calloc(s->arena, cap, 1);
    if (!ks->keys || !ks->used)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    ks->mask = cap - 1;
    ks->on = true;
    return 0;
}

/* Adds k; true when it was not there yet. */
static bool keyset_add(keyset *ks, uint64_t k)
{
    size_t i = key_slot(ks, k);
    while (ks->used[i]) {
        if (ks->keys[i] == k)
            return false;
        i = (i + 1) & ks->mask;
    }
    ks->used[i] = 1;
    ks->keys[i] = k;
    return true;
}

static bool keyset_has(const keyset *ks, uint64_t k)
{
    size_t i = key_slot(ks, k);
    while (ks->used[i]) {
        if (ks->keys[i] == k)
            return true;
        i = (i + 1) & ks->mask;
    }
    return false;
}

/* The set of items[0..n) (built only when n > SMALL). */
static int members_set(ph_session *s, keyset *ks, void *const *items, size_t n)
{
    ks->on = false;
    if (n <= SMALL)
        return 0;
    int rc = keyset_init(s, ks, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        keyset_add(ks, (uint64_t)(uintptr_t)items[i]);
    return rc;
}

/* Whether o is among items[0..n), whose set ks was made by members_set. */
static bool member(const keyset *ks, void *const *items, size_t n, const void *o)
{
    return ks->on ? keyset_has(ks, (uint64_t)(uintptr_t)o) : items_have(items, n, o);
}

static int list_push(ph_arena *a, ph_list *l, void *item)
{
    if (l->len == l->cap || !l->items) {
        size_t cap = l->cap > l->len ? l->cap * 2 : (l->len ? l->len * 2 : 4);
        void **items = ph_arena_alloc(a, cap * sizeof(void *));
        if (!items)
            return PH_ENOMEM;
        if (l->len)
            memcpy(items, l->items, l->len * sizeof(void *));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = item;
    return 0;
}

static bool list_del(ph_list *l, const void *item)
{
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == item) {
            memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(void *));
            l->len--;
            return true;
        }
    }
    return false;
}

/* ---- state -------------------------------------------------------------------------- */

ph__relstate *ph__relstate_of(ph_session *s, ph__state *st)
{
    if (!st->rels) {
        size_t n = st->model->nrelationships;
        st->rels = ph_arena_calloc(s->arena, n ? n : 1, sizeof(ph__relstate));
        if (!st->rels)
            return NULL;
        for (size_t i = 0; i < n; i++)
            st->rels[i].lazy = -1;
    }
    return st->rels;
}

bool ph__rel_is_loaded(const ph__state *st, const ph_relationship *r, size_t ri)
{
    if (is_list(r))
        return ((const ph_list *)field(st->obj, r))->loaded;
    return st->rels && st->rels[ri].loaded;
}

/* Snapshot of relationship r of st (rs: its state). */
static int rel_snapshot(ph_session *s, ph__state *st, const ph_relationship *r, ph__relstate *rs)
{
    if (is_list(r)) {
        const ph_list *l = field(st->obj, r);
        rs->n = l->len;
        rs->items = NULL;
        if (l->len) {
            rs->items = ph_arena_memdup(s->arena, l->items, l->len * sizeof(void *));
            if (!rs->items)
                return PH_ENOMEM;
        }
    } else {
        rs->ptr = *(void **)field(st->obj, r);
    }
    rs->tracked = true;
    return 0;
}

int ph__rel_mark_loaded(ph_session *s, ph__state *st, const ph_relationship *r)
{
    ph__relstate *rs = ph__relstate_of(s, st);
    if (!rs)
        return PH_ENOMEM;
    rs += rel_index(st->model, r);
    if (is_list(r))
        ((ph_list *)field(st->obj, r))->loaded = true;
    else
        rs->loaded = true;
    return rel_snapshot(s, st, r, rs);
}

/* ---- loading ------------------------------------------------------------------------ */

int ph__put_columns_as(ph_buf *b, const char *alias, const ph_model *m)
{
    for (size_t i = 0; i < m->ncolumns; i++) {
        if (i)
            ph_buf_puts(b, ", ");
        ph_db_put_ident(b, alias);
        ph_buf_putc(b, '.');
        ph_db_put_ident(b, m->columns[i].name);
    }
    return ph_buf_status(b);
}

/* The relationship of r's target that points back at one parent (r's
 * backref, when it is not a list), or NULL. */
static const ph_relationship *backref_of(const ph_relationship *r, const ph_model *t)
{
    if (!r->backref)
        return NULL;
    const ph_relationship *b = ph_model_relationship(t, r->backref);
    return b && !is_list(b) ? b : NULL;
}

/* Sets child's backref b (index bi in its model; NULL: none) to parent,
 * unless it is loaded already. */
static int set_backref(ph_session *s, const ph_relationship *b, size_t bi, void *child,
                       void *parent)
{
    if (!b)
        return 0;
    ph__state *cst = state_of(child);
    if (ph__rel_is_loaded(cst, b, bi))
        return 0;
    *(void **)field(child, b) = parent;
    return ph__rel_mark_loaded(s, cst, b);
}

int ph__rel_set_backref(ph_session *s, const ph_relationship *r, void *child, void *parent)
{
    const ph_model *t = r->target();
    const ph_relationship *b = backref_of(r, t);
    return set_backref(s, b, b ? rel_index(t, b) : 0, child, parent);
}

/* Runs one SELECT of the targets of r for keys[0..nk) and files each row
 * under its parent. */
static int load_chunk(ph_session *s, const ph_model *m, const ph_relationship *r,
                      const int64_t *keys, size_t nk)
{
    const ph_model *t = r->target();
    const ph_column *tpk = ph_model_pk(t);
    int col0 = 0, fkcol = -1;
    if (r->kind == PH_REL_MANY_TO_MANY) {
        col0 = 1;
        fkcol = 0;
    } else if (r->kind != PH_REL_MANY_TO_ONE) {
        fkcol = (int)(ph_model_column(t, r->remote_column) - t->columns);
    }
    size_t padded = 1;
    while (padded < nk)
        padded *= 2;
    ph_val *vals = ph_arena_alloc(s->arena, padded * sizeof(ph_val));
    if (!vals)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    for (size_t i = 0; i < padded; i++)
        vals[i] = PH_INT(keys[i < nk ? i : nk - 1]);
    nk = padded;
    /* the text depends on the relationship and the padded count only: kept
     * on the connection under both */
    const char *sql = ph_db_conn_memo(s->conn, r, (int)padded);
    ph_buf b;
    ph_buf_init(&b, s->arena);
    if (!sql) {
        ph_buf_puts(&b, "SELECT ");
        if (r->kind == PH_REL_MANY_TO_MANY) {
            ph_db_put_ident(&b, "a1");
            ph_buf_putc(&b, '.');
            ph_db_put_ident(&b, r->secondary_local);
            ph_buf_puts(&b, ", ");
        }
        ph__put_columns_as(&b, "t1", t);
        ph_buf_puts(&b, " FROM ");
        ph_db_put_ident(&b, t->table);
        ph_buf_puts(&b, " AS ");
        ph_db_put_ident(&b, "t1");
        const char *keyalias = "t1", *keycol;
        switch (r->kind) {
        case PH_REL_MANY_TO_ONE:
            keycol = tpk->name;
            break;
        case PH_REL_ONE_TO_MANY:
        case PH_REL_ONE_TO_ONE:
            keycol = r->remote_column;
            break;
        default:
            ph_buf_puts(&b, " JOIN ");
            ph_db_put_ident(&b, r->secondary);
            ph_buf_puts(&b, " AS ");
            ph_db_put_ident(&b, "a1");
            ph_buf_puts(&b, " ON ");
            ph_db_put_ident(&b, "a1");
            ph_buf_putc(&b, '.');
            ph_db_put_ident(&b, r->secondary_remote);
            ph_buf_puts(&b, " = ");
            ph_db_put_ident(&b, "t1");
            ph_buf_putc(&b, '.');
            ph_db_put_ident(&b, tpk->name);
            keyalias = "a1";
            keycol = r->secondary_local;
            break;
        }
        ph_buf_puts(&b, " WHERE ");
        ph_db_put_ident(&b, keyalias);
        ph_buf_putc(&b, '.');
        ph_db_put_ident(&b, keycol);
        ph_buf_puts(&b, " IN (");
        for (size_t i = 0; i < padded; i++)
            ph_buf_puts(&b, i ? ", ?" : "?");
        ph_buf_puts(&b, ") ORDER BY ");
        if (r->kind == PH_REL_MANY_TO_MANY) {
            ph_db_put_ident(&b, "a1");
            ph_buf_putc(&b, '.');
            ph_db_put_ident(&b, r->secondary_local);
            ph_buf_puts(&b, ", ");
        }
        ph_db_put_ident(&b, "t1");
        ph_buf_putc(&b, '.');
        ph_db_put_ident(&b, tpk->name);
        if (ph_buf_status(&b))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
        sql = b.ptr;
        (void)ph_db_conn_memo_put(s->conn, r, (int)padded, sql);
    }
    ph_db_rows rows;
    s->nqueries++;
    int rc = ph_db_query(s->conn, sql, vals, nk, &rows);
    if (rc)
        return ph__session_error(s, rc, "loading %s.%s: %s", m->name, r->name,
                                 ph_db_errmsg(s->conn));
    void *last_parent = NULL;
    int64_t last_key = 0;
    bool have_last = false;
    /* the children's way back to their parent: looked up once, not a row */
    const ph_relationship *back = r->kind != PH_REL_MANY_TO_MANY ? backref_of(r, t) : NULL;
    size_t back_i = back ? rel_index(t, back) : 0;
    while ((rc = ph_db_rows_next(&rows)) == 1) {
        void *child;
        rc = ph__session_load_row_at(s, t, &rows, col0, false, &child);
        if (rc)
            break;
        if (r->kind == PH_REL_MANY_TO_ONE)
            continue; /* filed by key below */
        /* the parent, by the key as the database has it (rows of one
           parent come together: looked up once) */
        int64_t key = ph_db_rows_int(&rows, fkcol < 0 ? 0 : fkcol);
        if (!have_last || key != last_key) {
            last_parent = ph__map_find(s, m, key);
            last_key = key;
            have_last = true;
        }
        void *parent = last_parent;
        if (!parent)
            continue;
        if (r->kind == PH_REL_ONE_TO_ONE) {
            *(void **)field(parent, r) = child;
        } else {
            /* rows come ordered by parent then child (ORDER BY), so a
               duplicate (a repeated association row) is the last member */
            ph_list *l = field(parent, r);
            if ((!l->len || l->items[l->len - 1] != child) &&
                (rc = list_push(s->arena, l, child)) != 0)
                break;
        }
        if ((rc = set_backref(s, back, back_i, child, parent)) != 0)
            break;
    }
    ph_db_rows_close(&rows);
    if (rc < 0)
        return ph__session_error(s, rc, "loading %s.%s: %s", m->name, r->name,
                                 ph_db_errmsg(s->conn)[0] ? ph_db_errmsg(s->conn)
                                                          : ph_strerror(rc));
    return 0;
}

static bool has_default_eager(const ph_model *t)
{
    for (size_t i = 0; i < t->nrelationships; i++)
        if (t->relationships[i].lazy == PH_LAZY_SELECTIN ||
            t->relationships[i].lazy == PH_LAZY_JOINED)
            return true;
    return false;
}

/* The targets just loaded for parents[0..n) get their own descriptors'
 * eager relationships, as SQLAlchemy chains eager loaders (joined ones are
 * loaded by selectin here).  Depth-limited; already loaded ones are
 * skipped, so backrefs eager on both sides end. */
static int eager_targets(ph_session *s, const ph_relationship *r, void *const *parents, size_t n,
                         size_t nloaded)
{
    void **kids = ph_arena_alloc(s->arena, nloaded * sizeof(void *));
    if (!kids)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_list(r)) {
            const ph_list *l = field(parents[i], r);
            for (size_t j = 0; j < l->len && k < nloaded; j++)
                kids[k++] = l->items[j];
        } else if (*(void **)field(parents[i], r) && k < nloaded) {
            kids[k++] = *(void **)field(parents[i], r);
        }
    }
    s->eager_depth++;
    int rc = ph__rel_after_query(s, r->target(), kids, k, NULL, NULL);
    s->eager_depth--;
    return rc;
}

int ph__rel_load_many(ph_session *s, const ph_model *m, void *const *objs, size_t n,
                      const ph_relationship *r)
{
    if (!rel_of(m, r))
        return ph__session_error(s, PH_EMISUSE, "%s is not a relationship of %s",
                                 r && r->name ? r->name : "?", m->name);
    const ph_model *t = r->target();
    size_t ri = rel_index(m, r);
    const ph_column *lc =
        r->kind == PH_REL_MANY_TO_ONE ? ph_model_column(m, r->local_column) : NULL;
    int64_t *keys = ph_arena_alloc(s->arena, (n ? n : 1) * sizeof(int64_t));
    void **need = ph_arena_alloc(s->arena, (n ? n : 1) * sizeof(void *));
    if (!keys || !need)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    size_t nk = 0, nn = 0;
    keyset seen = {0};
    if (r->kind == PH_REL_MANY_TO_ONE && n > SMALL && keyset_init(s, &seen, n))
        return PH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        void *o = objs[i];
        const ph_obj *h = o;
        if (!o || h->session != s || !h->state || h->model != m)
            continue;
        ph__state *st = h->state;
        if (ph__rel_is_loaded(st, r, ri))
            continue;
        if (st->status == PH__NEW || st->status == PH__GONE) {
            /* nothing in the database yet: what the object holds is all */
            if (ph__rel_mark_loaded(s, st, r))
                return ph__session_error(s, PH_ENOMEM, "out of memory");
            continue;
        }
        if (is_list(r))
            ((ph_list *)field(o, r))->len = 0;
        else
            *(void **)field(o, r) = NULL;
        if (r->kind == PH_REL_MANY_TO_ONE) {
            int64_t k;
            void *found = NULL;
            if (fk_get(lc, o, &k))
                found = ph__map_find(s, t, k);
            if (found || !fk_get(lc, o, &k)) { /* identity map hit, or NULL key */
                *(void **)field(o, r) = found;
                if (ph__rel_mark_loaded(s, st, r))
                    return ph__session_error(s, PH_ENOMEM, "out of memory");
                continue;
            }
            bool dup = false;
            if (seen.on)
                dup = !keyset_add(&seen, (uint64_t)k);
            else
                for (size_t j = 0; j < nk && !dup; j++)
                    dup = keys[j] == k;
            if (!dup)
                keys[nk++] = k;
        } else {
            keys[nk++] = ph__pk_get(m, o);
        }
        need[nn++] = o;
    }
    for (size_t i = 0; i < nk; i += IN_CHUNK) {
        int rc = load_chunk(s, m, r, keys + i, nk - i < IN_CHUNK ? nk - i : IN_CHUNK);
        if (rc)
            return rc;
    }
    size_t nloaded = 0;
    for (size_t i = 0; i < nn; i++) {
        if (r->kind == PH_REL_MANY_TO_ONE) {
            int64_t k;
            fk_get(lc, need[i], &k);
            *(void **)field(need[i], r) = ph__map_find(s, t, k);
        }
        if (ph__rel_mark_loaded(s, state_of(need[i]), r))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
        nloaded +=
            is_list(r) ? ((ph_list *)field(need[i], r))->len : *(void **)field(need[i], r) != NULL;
    }
    if (nloaded && has_default_eager(t) && s->eager_depth < 4)
        return eager_targets(s, r, need, nn, nloaded);
    return 0;
}

static void count_lazy(ph_session *s, const ph_model *m, const ph_relationship *r)
{
    ph__lazycount *c = NULL;
    for (size_t i = 0; i < s->nlazy && !c; i++)
        if (s->lazy[i].rel == r)
            c = &s->lazy[i];
    if (!c) {
        if (s->nlazy == s->caplazy) {
            size_t cap = s->caplazy ? s->caplazy * 2 : 8;
            ph__lazycount *l = ph_arena_alloc(s->arena, cap * sizeof(*l));
            if (!l)
                return;
            if (s->nlazy)
                memcpy(l, s->lazy, s->nlazy * sizeof(*l));
            s->lazy = l;
            s->caplazy = cap;
        }
        c = &s->lazy[s->nlazy++];
        *c = (ph__lazycount){.rel = r, .model = m};
    }
    c->n++;
    if (s->debug && !c->warned && c->n > PH__N1_THRESHOLD) {
        c->warned = true;
        ph_log_warn("N+1 queries: %s.%s lazy-loaded %u times in one session (%s); load it "
                    "with ph_query_options(q, \"%s\", PH_LAZY_SELECTIN)",
                    m->name, r->name, c->n, s->label ? s->label : "no label", r->name);
    }
}

int ph_session_load_rel(ph_session *s, void *obj, const ph_relationship *rel)
{
    const ph_obj *h = obj;
    if (!h->session)
        return 0; /* transient: nothing to load */
    if (h->session != s || !h->state)
        return ph__session_error(s, PH_EMISUSE, "the object is not in this session");
    if (s->closed)
        return ph__session_error(s, PH_EMISUSE, "the session is closed");
    const ph_model *m = h->model;
    if (!rel_of(m, rel))
        return ph__session_error(s, PH_EMISUSE, "%s is not a relationship of %s",
                                 rel && rel->name ? rel->name : "?", m->name);
    ph__state *st = h->state;
    size_t ri = rel_index(m, rel);
    if (ph__rel_is_loaded(st, rel, ri))
        return 0;
    int lazy = st->rels && st->rels[ri].lazy >= 0 ? st->rels[ri].lazy : (int)rel->lazy;
    if (lazy == PH_LAZY_RAISE && st->status != PH__NEW)
        return ph__session_error(s, PH_EMISUSE,
                                 "%s.%s is not loaded and refuses lazy loading (lazy=\"raise\"): "
                                 "load it with ph_query_options(q, \"%s\", PH_LAZY_SELECTIN)",
                                 m->name, rel->name, rel->name);
    uint64_t before = s->nqueries;
    int rc = ph__rel_load_many(s, m, &obj, 1, rel);
    if (rc == 0 && s->nqueries != before)
        count_lazy(s, m, rel);
    return rc;
}

int ph_session_load(ph_session *s, void *obj, const char *rel)
{
    const ph_obj *h = obj;
    const ph_model *m = h->model;
    const ph_relationship *r = m ? ph_model_relationship(m, rel) : NULL;
    if (m && !r)
        return ph__session_error(s, PH_EUNDEFINED, "%s has no relationship %s", m->name,
                                 rel ? rel : "(null)");
    return r ? ph_session_load_rel(s, obj, r) : 0;
}

int ph_orm_load_relationship(void *session, const ph_model *m, void *obj,
                             const ph_relationship *rel)
{
    ph_session *s = session;
    const ph_obj *h = obj;
    if (h->model && h->model != m)
        return ph__session_error(s, PH_EMISUSE, "object is a %s, not a %s", h->model->name,
                                 m->name);
    return ph_session_load_rel(s, obj, rel);
}

int ph__rel_after_query(ph_session *s, const ph_model *m, void **items, size_t n,
                        const int8_t *lazy, const ph_relationship *joined)
{
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        int l = lazy && lazy[i] >= 0 ? lazy[i] : (int)r->lazy;
        if (r == joined) { /* loaded by the query's JOIN: chain its targets' eager loads */
            size_t nloaded = 0;
            for (size_t k = 0; k < n; k++)
                nloaded += is_list(r) ? ((ph_list *)field(items[k], r))->len
                                      : *(void **)field(items[k], r) != NULL;
            int rc = nloaded && has_default_eager(r->target()) && s->eager_depth < 4
                         ? eager_targets(s, r, items, n, nloaded)
                         : 0;
            if (rc)
                return rc;
            continue;
        }
        if (l == PH_LAZY_SELECTIN || l == PH_LAZY_JOINED) {
            int rc = ph__rel_load_many(s, m, items, n, r);
            if (rc)
                return rc;
        } else if (lazy && lazy[i] >= 0) {
            /* remember the query's choice on each object */
            for (size_t k = 0; k < n; k++) {
                ph__relstate *rs = ph__relstate_of(s, state_of(items[k]));
                if (!rs)
                    return ph__session_error(s, PH_ENOMEM, "out of memory");
                rs[i].lazy = lazy[i];
            }
        }
    }
    return 0;
}

/* ---- editing lists ------------------------------------------------------------------ */

static int list_rel(ph_session *s, void *obj, const char *rel, void *child,
                    const ph_relationship **out)
{
    const ph_obj *h = obj;
    if (s->closed)
        return ph__session_error(s, PH_EMISUSE, "the session is closed");
    if (h->session != s || !h->state)
        return ph__session_error(s, PH_EMISUSE, "the object is not in this session (add it)");
    const ph_relationship *r = ph_model_relationship(h->model, rel);
    if (!r)
        return ph__session_error(s, PH_EUNDEFINED, "%s has no relationship %s", h->model->name,
                                 rel ? rel : "(null)");
    if (!is_list(r))
        return ph__session_error(s, PH_EMISUSE, "%s.%s is not a list: assign the pointer",
                                 h->model->name, r->name);
    const ph_obj *ch = child;
    if (!child || (ch->model && ch->model != r->target()))
        return ph__session_error(s, PH_EMISUSE, "%s.%s holds %s objects", h->model->name, r->name,
                                 r->target()->name);
    if (ch->session && ch->session != s)
        return ph__session_error(s, PH_EMISUSE, "the %s belongs to another session",
                                 r->target()->name);
    *out = r;
    if (!ph__rel_is_loaded(h->state, r, rel_index(h->model, r)))
        return ph__rel_load_many(s, h->model, &obj, 1, r);
    return 0;
}

static int list_append(ph_session *s, void *obj, const char *rel, void *child)
{
    const ph_relationship *r;
    int rc = list_rel(s, obj, rel, child, &r);
    if (rc)
        return rc;
    const ph_model *t = r->target();
    if (!((ph_obj *)child)->session && (rc = ph_session_add(s, t, child)) != 0)
        return rc;
    ph_list *l = field(obj, r);
    if (items_have(l->items, l->len, child))
        return 0;
    if (list_push(s->arena, l, child))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    const ph_relationship *b = r->backref ? ph_model_relationship(t, r->backref) : NULL;
    if (!b)
        return 0;
    ph__state *cst = state_of(child);
    ph__relstate *rs = ph__relstate_of(s, cst);
    if (!rs)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    size_t bi = rel_index(t, b);
    if (r->kind == PH_REL_ONE_TO_MANY) {
        void **pp = field(child, b);
        void *old = *pp;
        if (old && old != obj) { /* it leaves its old parent */
            ph__state *ost = state_of(old);
            if (ost && ph__rel_is_loaded(ost, r, rel_index(ost->model, r)))
                list_del(field(old, r), child);
        }
        *pp = obj;
        rs[bi].loaded = true; /* set by hand: no lazy load over it */
    } else {
        ph_list *bl = field(child, b);
        if (cst->status == PH__NEW && !bl->loaded)
            bl->loaded = true;
        if (bl->loaded && !items_have(bl->items, bl->len, obj) && list_push(s->arena, bl, obj))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
    }
    return 0;
}

static int list_remove(ph_session *s, void *obj, const char *rel, void *child)
{
    const ph_relationship *r;
    int rc = list_rel(s, obj, rel, child, &r);
    if (rc)
        return rc;
    const ph_model *t = r->target();
    if (!list_del(field(obj, r), child))
        return ph__session_error(s, PH_ENOTFOUND, "the %s is not in %s.%s", t->name,
                                 ((ph_obj *)obj)->model->name, r->name);
    const ph_relationship *b = r->backref ? ph_model_relationship(t, r->backref) : NULL;
    if (!b || !((ph_obj *)child)->state)
        return 0;
    ph__state *cst = state_of(child);
    ph__relstate *rs = ph__relstate_of(s, cst);
    if (!rs)
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    if (r->kind == PH_REL_ONE_TO_MANY) {
        void **pp = field(child, b);
        if (*pp == obj)
            *pp = NULL;
        rs[rel_index(t, b)].loaded = true;
    } else {
        ph_list *bl = field(child, b);
        if (bl->loaded)
            list_del(bl, obj);
    }
    return 0;
}

/* ---- unit of work ------------------------------------------------------------------- */

/* The members of r on st now (items/n) and at the snapshot (sitems/sn). */
static void members(const ph__state *st, const ph_relationship *r, size_t ri, void *const **items,
                    size_t *n, void *const **sitems, size_t *sn, void **one, void **sone)
{
    const ph__relstate *rs = st->rels ? &st->rels[ri] : NULL;
    if (is_list(r)) {
        const ph_list *l = field(st->obj, r);
        *items = (void *const *)l->items;
        *n = l->len;
        *sitems = rs && rs->tracked ? (void *const *)rs->items : NULL;
        *sn = rs && rs->tracked ? rs->n : 0;
    } else {
        *one = *(void **)field(st->obj, r);
        *sone = rs && rs->tracked ? rs->ptr : NULL;
        *items = (void *const *)one;
        *n = *one != NULL;
        *sitems = (void *const *)sone;
        *sn = *sone != NULL;
    }
}

/* Same members in the same order: the common case, checked in O(n). */
static bool unchanged(void *const *items, size_t n, void *const *sitems, size_t sn)
{
    if (n != sn)
        return false;
    for (size_t k = 0; k < n; k++)
        if (items[k] != sitems[k])
            return false;
    return true;
}

static bool live(const void *o)
{
    const ph__state *st = state_of(o);
    return st && (st->status == PH__NEW || st->status == PH__PERSISTENT);
}

bool ph__rel_changed(const ph__state *st)
{
    const ph_model *m = st->model;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        void *const *items, *const *sitems;
        size_t n, sn;
        void *one, *sone;
        members(st, r, i, &items, &n, &sitems, &sn, &one, &sone);
        if (unchanged(items, n, sitems, sn))
            continue;
        if (n != sn)
            return true;
        /* same length, another order: changed unless the same members */
        keyset ks;
        if (members_set(((ph_obj *)st->obj)->session, &ks, sitems, sn))
            return true; /* out of memory: flushing what did not change is harmless */
        for (size_t k = 0; k < n; k++)
            if (!member(&ks, sitems, sn, items[k]))
                return true;
    }
    return false;
}

static int cascade_delete(ph_session *s, ph__state *st);

/* Children of a deleted parent: deleted (cascade delete) or orphaned. */
static int delete_children(ph_session *s, ph__state *st, const ph_relationship *r)
{
    const ph_model *m = st->model, *t = r->target();
    void *obj = st->obj;
    int rc = ph__rel_load_many(s, m, &obj, 1, r);
    if (rc)
        return rc;
    void *one = NULL;
    void **items;
    size_t n;
    if (is_list(r)) {
        ph_list *l = field(obj, r);
        items = l->items;
        n = l->len;
    } else {
        one = *(void **)field(obj, r);
        items = &one;
        n = one != NULL;
    }
    const ph_column *fk = ph_model_column(t, r->remote_column);
    int64_t pk = ph__pk_get(m, obj);
    for (size_t i = 0; i < n; i++) {
        void *c = items[i];
        ph__state *cst = state_of(c);
        if (!cst || (cst->status != PH__NEW && cst->status != PH__PERSISTENT))
            continue;
        if (r->cascade & PH_CASCADE_DELETE) {
            if (cst->status == PH__NEW) {
                if ((rc = ph_session_delete(s, c)) != 0)
                    return rc;
                continue;
            }
            if ((rc = ph_session_delete(s, c)) != 0)
                return rc;
            if ((rc = cascade_delete(s, cst)) != 0)
                return rc;
            continue;
        }
        int64_t v;
        if (cst->status == PH__PERSISTENT && fk_get(fk, c, &v) && v == pk) {
            if (!fk_can_null(fk))
                return ph__session_error(
                    s, PH_ECONSTRAINT,
                    "cannot delete %s %lld: its %s %lld would lose its %s (%s.%s is NOT NULL and "
                    "%s.%s does not cascade delete)",
                    m->name, (long long)pk, t->name, (long long)ph__pk_get(t, c), m->name, t->table,
                    fk->name, m->name, r->name);
            fk_set_null(fk, c);
        }
    }
    return 0;
}

static int cascade_delete(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        if (r->kind != PH_REL_ONE_TO_MANY && r->kind != PH_REL_ONE_TO_ONE)
            continue;
        int rc = delete_children(s, st, r);
        if (rc)
            return rc;
    }
    return 0;
}

int ph__rel_preflush(ph_session *s)
{
    /* save-update: objects reachable from the session join it (the array
       grows while we walk it, so their own relationships are walked too) */
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        const ph_model *m = st->model;
        if (!m->nrelationships || (st->status != PH__NEW && st->status != PH__PERSISTENT))
            continue;
        for (size_t k = 0; k < m->nrelationships; k++) {
            const ph_relationship *r = &m->relationships[k];
            void *const *items, *const *sitems;
            size_t n, sn;
            void *one, *sone;
            members(st, r, k, &items, &n, &sitems, &sn, &one, &sone);
            for (size_t j = 0; j < n; j++) {
                ph_obj *h = items[j];
                if (h->session == s)
                    continue;
                int rc = ph_session_add(s, r->target(), items[j]);
                if (rc)
                    return rc;
            }
        }
    }
    /* delete-orphan: members removed from a collection (and not moved to
       another parent) are deleted */
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        const ph_model *m = st->model;
        if (!m->nrelationships || st->status != PH__PERSISTENT)
            continue;
        for (size_t k = 0; k < m->nrelationships; k++) {
            const ph_relationship *r = &m->relationships[k];
            if (!(r->cascade & PH_CASCADE_DELETE_ORPHAN))
                continue;
            const ph_model *t = r->target();
            const ph_relationship *b = r->backref ? ph_model_relationship(t, r->backref) : NULL;
            void *const *items, *const *sitems;
            size_t n, sn;
            void *one, *sone;
            members(st, r, k, &items, &n, &sitems, &sn, &one, &sone);
            if (unchanged(items, n, sitems, sn))
                continue;
            keyset now;
            int rc = members_set(s, &now, items, n);
            if (rc)
                return rc;
            for (size_t j = 0; j < sn; j++) {
                void *c = sitems[j];
                if (member(&now, items, n, c) || !state_of(c) ||
                    state_of(c)->status != PH__PERSISTENT)
                    continue;
                void *np = b ? *(void **)field(c, b) : NULL;
                if (np && np != st->obj)
                    continue; /* moved, not orphaned */
                if ((rc = ph_session_delete(s, c)) != 0)
                    return rc;
            }
        }
    }
    /* delete: children of deleted parents */
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        if (st->model->nrelationships && st->status == PH__DELETED && !st->flushed_delete) {
            int rc = cascade_delete(s, st);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int ph__rel_set_fks(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        if (r->kind != PH_REL_MANY_TO_ONE)
            continue;
        void *cur = *(void **)field(st->obj, r);
        void *snap = st->rels && st->rels[i].tracked ? st->rels[i].ptr : NULL;
        if (cur == snap && !(st->status == PH__NEW && cur))
            continue;
        const ph_column *fk = ph_model_column(m, r->local_column);
        if (cur) {
            if (live(cur))
                fk_set(fk, st->obj, ph__pk_get(r->target(), cur));
        } else {
            if (!fk_can_null(fk))
                return ph__session_error(
                    s, PH_ECONSTRAINT,
                    "%s.%s was set to NULL but %s.%s is NOT NULL (delete the %s instead)", m->name,
                    r->name, m->table, fk->name, m->name);
            fk_set_null(fk, st->obj);
        }
    }
    return 0;
}

int ph__rel_push_fks(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    int64_t pk = ph__pk_get(m, st->obj);
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        if (r->kind != PH_REL_ONE_TO_MANY && r->kind != PH_REL_ONE_TO_ONE)
            continue;
        const ph_model *t = r->target();
        const ph_column *fk = ph_model_column(t, r->remote_column);
        const ph_relationship *b = r->backref ? ph_model_relationship(t, r->backref) : NULL;
        void *const *items, *const *sitems;
        size_t n, sn;
        void *one, *sone;
        members(st, r, i, &items, &n, &sitems, &sn, &one, &sone);
        if (!st->flushed_insert && unchanged(items, n, sitems, sn))
            continue;
        keyset now, before;
        int rc = members_set(s, &now, items, n);
        if (rc == 0)
            rc = members_set(s, &before, sitems, sn);
        if (rc)
            return rc;
        for (size_t k = 0; k < n; k++) {
            void *c = items[k];
            if (!live(c) || (!st->flushed_insert && member(&before, sitems, sn, c)))
                continue;
            void *np = b ? *(void **)field(c, b) : NULL;
            if (np && np != st->obj && live(np))
                continue; /* its own pointer says otherwise: it wins */
            fk_set(fk, c, pk);
        }
        for (size_t k = 0; k < sn; k++) {
            void *c = sitems[k];
            int64_t v;
            if (member(&now, items, n, c) || !state_of(c) || state_of(c)->status != PH__PERSISTENT ||
                !fk_get(fk, c, &v) || v != pk)
                continue;
            void *np = b ? *(void **)field(c, b) : NULL;
            if (np && np != st->obj)
                continue;
            if (!fk_can_null(fk))
                return ph__session_error(
                    s, PH_ECONSTRAINT,
                    "the %s %lld removed from %s.%s would lose its %s: %s.%s is NOT NULL (delete "
                    "it, or use cascade delete-orphan)",
                    t->name, (long long)ph__pk_get(t, c), m->name, r->name, m->name, t->table,
                    fk->name);
            fk_set_null(fk, c);
        }
    }
    return 0;
}

typedef struct assoc_op {
    const char *table, *col1, *col2;
    int64_t v1, v2;
    bool add;
} assoc_op;

static int assoc_exec(ph_session *s, const assoc_op *op, ph_buf *sql)
{
    ph_buf_clear(sql);
    if (op->add) {
        ph_buf_puts(sql, "INSERT INTO ");
        ph_db_put_ident(sql, op->table);
        ph_buf_puts(sql, " (");
        ph_db_put_ident(sql, op->col1);
        ph_buf_puts(sql, ", ");
        ph_db_put_ident(sql, op->col2);
        ph_buf_puts(sql, ") VALUES (?, ?)");
    } else {
        ph_buf_puts(sql, "DELETE FROM ");
        ph_db_put_ident(sql, op->table);
        ph_buf_puts(sql, " WHERE ");
        ph_db_put_ident(sql, op->col1);
        ph_buf_puts(sql, " = ? AND ");
        ph_db_put_ident(sql, op->col2);
        ph_buf_puts(sql, " = ?");
    }
    if (ph_buf_status(sql))
        return ph__session_error(s, PH_ENOMEM, "out of memory");
    ph_val v[2] = {PH_INT(op->v1), PH_INT(op->v2)};
    s->nqueries++;
    int rc = ph_db_exec(s->conn, sql->ptr, v, 2);
    if (rc)
        return ph__session_error(s, rc, "%s %s: %s", op->add ? "INSERT INTO" : "DELETE FROM",
                                 op->table, ph_db_errmsg(s->conn));
    return 0;
}

static bool op_same(const assoc_op *a, const assoc_op *b)
{
    return a->v1 == b->v1 && a->v2 == b->v2 && a->add == b->add &&
           strcmp(a->table, b->table) == 0 && strcmp(a->col1, b->col1) == 0;
}

static uint64_t op_hash(const assoc_op *op)
{
    return (uint64_t)op->v1 * 0x9e3779b97f4a7c15ull ^ (uint64_t)op->v2 ^ (uint64_t)op->add << 63;
}

/* The slot of op in index (a keyset of indexes into ops, hashed by the
 * op): the one holding an equal op, or the free one where it would go. */
static size_t op_slot(const keyset *index, const assoc_op *ops, const assoc_op *op)
{
    size_t i = key_slot(index, op_hash(op));
    while (index->used[i] && !op_same(&ops[index->keys[i]], op))
        i = (i + 1) & index->mask;
    return i;
}

int ph__rel_write_assoc(ph_session *s, ph_buf *sql)
{
    assoc_op *ops = NULL;
    size_t nops = 0, cap = 0;
    keyset index = {0};
    for (size_t i = 0; i < s->nobjs; i++) {
        ph__state *st = s->objs[i];
        const ph_model *m = st->model;
        if (!m->nrelationships || st->status != PH__PERSISTENT)
            continue;
        for (size_t k = 0; k < m->nrelationships; k++) {
            const ph_relationship *r = &m->relationships[k];
            if (r->kind != PH_REL_MANY_TO_MANY)
                continue;
            void *const *items, *const *sitems;
            size_t n, sn;
            void *one, *sone;
            members(st, r, k, &items, &n, &sitems, &sn, &one, &sone);
            if (unchanged(items, n, sitems, sn))
                continue;
            keyset sets[2];
            int rc = members_set(s, &sets[0], items, n);
            if (rc == 0)
                rc = members_set(s, &sets[1], sitems, sn);
            if (rc)
                return rc;
            for (int pass = 0; pass < 2; pass++) {
                void *const *a = pass == 0 ? items : sitems, *const *other = pass ? items : sitems;
                size_t na = pass == 0 ? n : sn, nother = pass ? n : sn;
                const keyset *oset = &sets[pass ? 0 : 1];
                for (size_t j = 0; j < na; j++) {
                    void *c = a[j];
                    if (member(oset, other, nother, c) || !state_of(c) ||
                        state_of(c)->status != PH__PERSISTENT)
                        continue;
                    assoc_op op = {.table = r->secondary, .add = pass == 0};
                    int64_t mine = ph__pk_get(m, st->obj), theirs = ph__pk_get(r->target(), c);
                    if (strcmp(r->secondary_local, r->secondary_remote) < 0) {
                        op.col1 = r->secondary_local, op.v1 = mine;
                        op.col2 = r->secondary_remote, op.v2 = theirs;
                    } else {
                        op.col1 = r->secondary_remote, op.v1 = theirs;
                        op.col2 = r->secondary_local, op.v2 = mine;
                    }
                    /* both sides of a backref list the change: once */
                    if ((nops + 1) * 2 > index.mask + 1 || !index.on) {
                        if (keyset_init(s, &index, nops + 1))
                            return PH_ENOMEM;
                        for (size_t q = 0; q < nops; q++) {
                            size_t at = op_slot(&index, ops, &ops[q]);
                            index.used[at] = 1;
                            index.keys[at] = q;
                        }
                    }
                    size_t slot = op_slot(&index, ops, &op);
                    if (index.used[slot])
                        continue;
                    index.used[slot] = 1;
                    index.keys[slot] = nops;
                    if (nops == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        assoc_op *bigger = ph_arena_alloc(s->arena, ncap * sizeof(*bigger));
                        if (!bigger)
                            return ph__session_error(s, PH_ENOMEM, "out of memory");
                        if (nops)
                            memcpy(bigger, ops, nops * sizeof(*ops));
                        ops = bigger;
                        cap = ncap;
                    }
                    ops[nops++] = op;
                }
            }
        }
    }
    /* removals first: a pair removed and added back is not a duplicate */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nops; i++)
            if (ops[i].add == (pass == 1)) {
                int rc = assoc_exec(s, &ops[i], sql);
                if (rc)
                    return rc;
            }
    return 0;
}

int ph__rel_delete_assoc(ph_session *s, ph__state *st, ph_buf *sql)
{
    const ph_model *m = st->model;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        if (r->kind != PH_REL_MANY_TO_MANY)
            continue;
        bool done = false; /* one statement per association table */
        for (size_t k = 0; k < i && !done; k++)
            done = m->relationships[k].kind == PH_REL_MANY_TO_MANY &&
                   strcmp(m->relationships[k].secondary, r->secondary) == 0 &&
                   strcmp(m->relationships[k].secondary_local, r->secondary_local) == 0;
        if (done)
            continue;
        ph_buf_clear(sql);
        ph_buf_puts(sql, "DELETE FROM ");
        ph_db_put_ident(sql, r->secondary);
        ph_buf_puts(sql, " WHERE ");
        ph_db_put_ident(sql, r->secondary_local);
        ph_buf_puts(sql, " = ?");
        if (ph_buf_status(sql))
            return ph__session_error(s, PH_ENOMEM, "out of memory");
        ph_val v = PH_INT(ph__pk_get(m, st->obj));
        s->nqueries++;
        int rc = ph_db_exec(s->conn, sql->ptr, &v, 1);
        if (rc)
            return ph__session_error(s, rc, "DELETE FROM %s: %s", r->secondary,
                                     ph_db_errmsg(s->conn));
    }
    return 0;
}

int ph__rel_commit(ph_session *s, ph__state *st)
{
    const ph_model *m = st->model;
    ph__relstate *rs = ph__relstate_of(s, st);
    if (!rs)
        return PH_ENOMEM;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        if (st->flushed_insert) { /* a new object's lists are complete */
            if (is_list(r))
                ((ph_list *)field(st->obj, r))->loaded = true;
            else if (*(void **)field(st->obj, r))
                rs[i].loaded = true;
        }
        void *const *items, *const *sitems;
        size_t n, sn;
        void *one, *sone;
        members(st, r, i, &items, &n, &sitems, &sn, &one, &sone);
        if (unchanged(items, n, sitems, sn) && (rs[i].tracked || !ph__rel_is_loaded(st, r, i)))
            continue; /* the snapshot still holds (or nothing to hold) */
        int rc = rel_snapshot(s, st, r, &rs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

void ph__rel_restore(ph_session *s, ph__state *st)
{
    (void)s;
    const ph_model *m = st->model;
    if (!st->rels)
        return;
    for (size_t i = 0; i < m->nrelationships; i++) {
        const ph_relationship *r = &m->relationships[i];
        ph__relstate *rs = &st->rels[i];
        if (!rs->tracked)
            continue;
        if (is_list(r)) {
            ph_list *l = field(st->obj, r);
            if (rs->n > l->cap || !l->items) {
                void **items = ph_arena_alloc(s->arena, (rs->n ? rs->n : 1) * sizeof(void *));
                if (!items)
                    continue;
                l->items = items;
                l->cap = rs->n ? rs->n : 1;
            }
            if (rs->n)
                memcpy(l->items, rs->items, rs->n * sizeof(void *));
            l->len = rs->n;
        } else {
            *(void **)field(st->obj, r) = rs->ptr;
        }
    }
}

int ph_list_append(ph_session *s, void *obj, const char *rel, void *child)
{
    return ph__session_pending(s, list_append(s, obj, rel, child));
}

int ph_list_remove(ph_session *s, void *obj, const char *rel, void *child)
{
    int rc = list_remove(s, obj, rel, child);
    /* removing what is not a member changes nothing: no pending error */
    return rc == PH_ENOTFOUND ? rc : ph__session_pending(s, rc);
}
