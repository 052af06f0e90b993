/*
 * What the ORM's files share: the session and object-state structs, and
 * the mapping between struct fields and bound values / result columns.
 * Not a public header.
 */
#ifndef PHIAL_ORM_INTERNAL_H
#define PHIAL_ORM_INTERNAL_H

#include "phial/orm.h"

typedef enum ph__status {
    PH__NEW = 1,    /* added, INSERT pending */
    PH__PERSISTENT, /* in the database and the identity map */
    PH__DELETED,    /* DELETE pending (or flushed, not committed) */
    PH__GONE        /* forgotten: deleted and committed, or expunged */
} ph__status;

/* Per-relationship state of one object: whether it is loaded, and what it
 * held at load / last commit (the snapshot compared at flush). */
typedef struct ph__relstate {
    void *ptr;    /* many-to-one / one-to-one: the pointer */
    void **items; /* one-to-many / many-to-many: the members */
    size_t n;
    bool loaded;  /* pointer kinds (lists keep ph_list.loaded) */
    bool tracked; /* ptr / items hold a snapshot */
    int8_t lazy;  /* loading strategy set by the query that loaded the
                     object (ph_query_options), or -1: the descriptor's */
} ph__relstate;

/* Per-object state, pointed to by obj->_ph.state; in the session arena. */
typedef struct ph__state {
    void *obj;
    const ph_model *model;
    ph__status status;
    bool flushed_insert; /* inserted in the open transaction */
    bool flushed_delete; /* deleted in the open transaction */
    bool in_map;         /* entered in the identity map */
    int64_t pk_before;   /* pk before the INSERT (restored on rollback) */
    unsigned char *snap; /* copy of the struct at load / last commit */
    ph__relstate *rels;  /* one per relationship of the model, made on first
                            use; NULL for models without relationships */
} ph__state;

/* Lazy loads of one relationship in a session (the N+1 detector). */
typedef struct ph__lazycount {
    const ph_relationship *rel;
    const ph_model *model;
    unsigned n;
    bool warned;
} ph__lazycount;

/* A lazy load that runs a query more often than this in one session is
 * reported in debug mode. */
#define PH__N1_THRESHOLD 5

struct ph_session {
    ph_arena *arena;
    ph_db_conn *conn;
    bool closed;
    ph__state **objs; /* every object attached, in order of attachment */
    size_t nobjs, capobjs;
    /* identity map: open addressing of (model, pk) -> obj, built lazily:
       objs[mapped..nobjs) are entered on the next lookup, so a request that
       loads rows and never looks one up pays nothing for it */
    void **map;
    size_t mapcap, mapn, mapped;
    size_t maptombs; /* slots holding a tombstone (removed objects) */
    char errmsg[512];
    ph_db_errinfo errinfo; /* details of the last failure */
    bool has_rels;     /* an object whose model has relationships is attached */
    bool debug;        /* ph_session_set_debug */
    const char *label; /* its label, in the arena */
    uint64_t nqueries; /* statements sent (ph_session_query_count) */
    ph__lazycount *lazy;
    size_t nlazy, caplazy;
    int eager_depth; /* chained eager loads in progress */
    int pending_err; /* a failed add/delete/append/remove: the next flush fails */
};
/* Keeps rc (< 0) as the session's pending error, returned by the next
 * flush or commit, so a failed add cannot be lost unnoticed; returns rc. */
int ph__session_pending(ph_session *s, int rc);

/* The value of column c of obj, to bind; strings borrowed from obj. */
ph_val ph__field_val(const ph_column *c, const void *obj);
/* Sets column c of obj from result column col; text copied into a. */
int ph__field_load(const ph_column *c, void *obj, ph_db_rows *r, int col, ph_arena *a);
/* ph_session_get's query for an object not in the identity map: by
 * primary key, its SQL text built once per connection. */
int ph__query_get_pk(ph_session *s, const ph_model *m, int64_t id, void *out);
/* Appends the quoted column list of m: "id", "username", ... */
int ph__put_columns(ph_buf *b, const ph_model *m);
/* Builds an object of m from the current row (columns in model order),
 * or returns the one already in the identity map.  fresh: the identity
 * map held nothing when the query started (rows of one result have
 * distinct keys, so no lookup is needed). */
int ph__session_load_row(ph_session *s, const ph_model *m, ph_db_rows *r, bool fresh, void **out);
/* The same from result column col0 on (joins: the target's columns follow
 * the parent's). */
int ph__session_load_row_at(ph_session *s, const ph_model *m, ph_db_rows *r, int col0, bool fresh,
                            void **out);
/* The object of model m with key pk in the identity map, or NULL. */
void *ph__map_find(ph_session *s, const ph_model *m, int64_t pk);
/* Appends the columns of m qualified by alias: "t1"."id", "t1"."name"... */
int ph__put_columns_as(ph_buf *b, const char *alias, const ph_model *m);

/* ---- relationships (relationship.c) ---- */

/* The relationship states of st (made on first use); NULL when out of memory. */
ph__relstate *ph__relstate_of(ph_session *s, ph__state *st);
/* Whether relationship r (index ri in its model) of obj is loaded. */
bool ph__rel_is_loaded(const ph__state *st, const ph_relationship *r, size_t ri);
/* Sets the many-to-one backref of a freshly loaded child (of r, a
 * one-to-many or one-to-one) to its parent, when the child has not loaded
 * it yet. */
int ph__rel_set_backref(ph_session *s, const ph_relationship *r, void *child, void *parent);
/* Marks r loaded on st's object and snapshots it. */
int ph__rel_mark_loaded(ph_session *s, ph__state *st, const ph_relationship *r);
/* Loads r for every object of objs (model m) that has not loaded it, in
 * one query per 500 objects (none for many-to-one targets already in the
 * identity map): selectin loading, and lazy loading with n == 1. */
int ph__rel_load_many(ph_session *s, const ph_model *m, void *const *objs, size_t n,
                      const ph_relationship *r);
/* After a query of m loaded items: eager loads by the descriptors' and the
 * query's strategies (lazy[i] for relationship i, -1: the descriptor's);
 * joined: the relationship the query already loaded with a JOIN, or NULL. */
int ph__rel_after_query(ph_session *s, const ph_model *m, void **items, size_t n,
                        const int8_t *lazy, const ph_relationship *joined);
/* Unit of work: cascades before the flush (save-update adds reachable new
 * objects; delete and delete-orphan mark children deleted; children of a
 * deleted parent without delete cascade get NULL foreign keys). */
int ph__rel_preflush(ph_session *s);
/* Whether st's relationships differ from their snapshot. */
bool ph__rel_changed(const ph__state *st);
/* Sets st's foreign keys from its many-to-one pointers (before its write). */
int ph__rel_set_fks(ph_session *s, ph__state *st);
/* Sets the foreign keys of st's children (after st's INSERT / UPDATE). */
int ph__rel_push_fks(ph_session *s, ph__state *st);
/* Writes the association-table rows of changed many-to-many lists. */
int ph__rel_write_assoc(ph_session *s, ph_buf *sql);
/* Deletes the association rows of st (DELETE pending). */
int ph__rel_delete_assoc(ph_session *s, ph__state *st, ph_buf *sql);
/* After commit: the relationships' current values become the snapshot. */
int ph__rel_commit(ph_session *s, ph__state *st);
/* After rollback: the relationships get back their snapshot. */
void ph__rel_restore(ph_session *s, ph__state *st);
/* Sets the session's message and returns code; the details are those of
 * the connection's last failure when it has one, else kind
 * PH_DBERR_OTHER with no names. */
int ph__session_error(ph_session *s, int code, const char *fmt, ...) PH_PRINTF(3, 4);
/* ph_orm_validate that also fills the details (kind, table, column). */
int ph__validate(const ph_model *m, const void *obj, uint64_t mask, char *msg, size_t msglen,
                 ph_db_errinfo *info);
/* The primary key of obj (model m). */
int64_t ph__pk_get(const ph_model *m, const void *obj);
/* The SQL type ph_orm_ddl writes for column c of m ("VARCHAR(100)",
 * "SERIAL"); tmp (size len >= 32) may hold it.  Read by the migrations'
 * comparison so that one source of truth decides types. */
const char *ph__orm_column_type(ph_dialect d, const ph_model *m, const ph_column *c, char *tmp,
                                size_t len);

#endif
