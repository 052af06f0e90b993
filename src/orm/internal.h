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
} ph__state;

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
    char errmsg[512];
};

/* The value of column c of obj, to bind; strings borrowed from obj. */
ph_val ph__field_val(const ph_column *c, const void *obj);
/* Sets column c of obj from result column col; text copied into a. */
int ph__field_load(const ph_column *c, void *obj, ph_db_rows *r, int col, ph_arena *a);
/* Appends the quoted column list of m: "id", "username", ... */
int ph__put_columns(ph_buf *b, const ph_model *m);
/* Builds an object of m from the current row (columns in model order),
 * or returns the one already in the identity map.  fresh: the identity
 * map held nothing when the query started (rows of one result have
 * distinct keys, so no lookup is needed). */
int ph__session_load_row(ph_session *s, const ph_model *m, ph_db_rows *r, bool fresh, void **out);
int ph__session_error(ph_session *s, int code, const char *fmt, ...) PH_PRINTF(3, 4);
/* The primary key of obj (model m). */
int64_t ph__pk_get(const ph_model *m, const void *obj);

#endif
