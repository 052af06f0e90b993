/*
 * The ORM: DDL for models (create_all / drop_all, as Flask-SQLAlchemy
 * emits it), the session (unit of work with an identity map and dirty
 * tracking) and the query builder.  It works on a ph_db_conn and knows
 * nothing of HTTP.
 *
 *     ph_session *s = ph_session_new(arena, conn);
 *     User *u = PH_ARENA_NEW(arena, User);
 *     u->username = "alice"; ...
 *     ph_session_add(s, &User_model, u);
 *     if (ph_session_commit(s) != 0) puts(ph_session_errmsg(s));   // u->id is set
 *
 *     ph_query *q = ph_query_new(s, &User_model);
 *     ph_query_filter_by(q, "username", PH_STR("alice"));
 *     ph_query_order_by(q, "id", PH_DESC);
 *     User **rows; size_t n;
 *     int rc = ph_query_all(q, &rows, &n);
 *
 * Memory: a session lives in an arena the caller owns (e.g. the request
 * arena); every row it loads, every query and every result array lives in
 * the same arena and is freed with it.  Objects the caller adds stay the
 * caller's; strings the caller assigns must live as long as the session.
 * Strings of loaded rows are read-only: assign a new string to change one.
 *
 * Errors: every call returns 0 or a PH_E* code with a message in
 * ph_session_errmsg.  PH_ECONSTRAINT (unique / NOT NULL / foreign key),
 * PH_ETOOLONG and PH_ERANGE are the user's input (a 4xx or a form error);
 * PH_EBUSY and PH_ECONNLOST are the database's (a 503: the connection is
 * replaced on its next use); the database is unchanged after any of them.
 * Queries do not autoflush: call ph_session_flush to see pending changes.
 *
 * Relationships (declared with PH_ONE_TO_MANY & co. in phial/model.h) are
 * plain fields: a `Target *` or a ph_list.  They are loaded on demand with
 * ph_session_load (lazy), for a whole result with ph_query_options
 * (selectin / joined), and written at flush: children of a new parent get
 * its new key, a changed pointer changes the foreign key, removed members
 * get NULL (or are deleted: delete-orphan), many-to-many changes write the
 * association table, and deleting a parent deletes (cascade delete) or
 * orphans its children -- all in the one transaction of the commit.
 */
#ifndef PHIAL_ORM_H
#define PHIAL_ORM_H

#include "phial/core.h"
#include "phial/db.h"
#include "phial/model.h"
#include "phial/version.h"

PH_API_BEGIN

#include <jansson.h>

/* ---- DDL ------------------------------------------------------------------------ */

/* Appends the CREATE TABLE statement of m and then its CREATE INDEX
 * statements, each ended by ";\n", exactly as SQLAlchemy 1.4 writes them for
 * the dialect.  0 or PH_ENOMEM / PH_EINVAL (bad descriptor). */
int ph_orm_ddl(ph_dialect d, const ph_model *m, ph_buf *out);
/* Appends the CREATE TYPE ... AS ENUM statements m's Enum columns need on
 * PostgreSQL (each ended by ";\n"; nothing on SQLite), to run before its
 * CREATE TABLE; create_all makes the types that do not exist yet and
 * drop_all drops them after the tables.  0 or PH_ENOMEM. */
int ph_orm_ddl_types(ph_dialect d, const ph_model *m, ph_buf *out);
/* Orders models so that every model comes after the models its foreign
 * keys point to (parents first).  order receives n pointers.  0, or
 * PH_EINVAL on a foreign-key cycle. */
int ph_orm_sort(const ph_model *const *models, size_t n, const ph_model **order);
/* Creates, in one transaction, each table that does not exist yet (and
 * its indexes), parents first.  0 or a PH_E* code (ph_db_errmsg(c)). */
int ph_orm_create_all(ph_db_conn *c, const ph_model *const *models, size_t n);
/* Drops each table that exists, children first, in one transaction. */
int ph_orm_drop_all(ph_db_conn *c, const ph_model *const *models, size_t n);
/* Whether a table exists: 1, 0, or a PH_E* code. */
int ph_orm_table_exists(ph_db_conn *c, const char *table);
/* The start-up check: which of models[0..n) have no table yet.  Their
 * models are written to missing (room for n, in the given order) and
 * their number to *nmissing; `db create` (ph_orm_create_all) makes them.
 * 0 or a PH_E* code (message in ph_db_errmsg(c)). */
int ph_orm_missing_tables(ph_db_conn *c, const ph_model *const *models, size_t n,
                          const ph_model **missing, size_t *nmissing);

/* ---- values of fields ---------------------------------------------------------------- */

/* Checks an object's fields before any SQL: NULL in a NOT NULL column
 * (PH_ECONSTRAINT), strings longer than String(n) characters (PH_ETOOLONG)
 * and Integer values beyond 32 bits (PH_ERANGE).  Only columns in mask (bit i: column i; ~0 for
 * all) are checked; msg (size msglen) names table and column. */
int ph_orm_validate(const ph_model *m, const void *obj, uint64_t mask, char *msg, size_t msglen);
/* Number of UTF-8 characters in s[0..n). */
size_t ph_utf8_chars(const char *s, size_t n);

/* ---- session -------------------------------------------------------------------------- */

typedef struct ph_session ph_session;

/* A session on conn whose memory is a (the caller's arena; the session is
 * closed when the arena is reset or freed, so free the arena before the
 * connection).  NULL when out of memory. */
ph_session *ph_session_new(ph_arena *a, ph_db_conn *conn);
/* Rolls back what is not committed; the session is unusable afterwards.
 * Called by the arena's cleanup; calling it earlier is fine. */
void ph_session_close(ph_session *s);
ph_arena *ph_session_arena(const ph_session *s);
ph_db_conn *ph_session_conn(const ph_session *s);

/* Errors of add, delete, ph_list_append and ph_list_remove are also kept
 * by the session: the next flush or commit fails with the first of them
 * (and rolls back), so code written as Flask's -- add, add, commit, check
 * the commit -- loses nothing unnoticed.  Calls whose result carries data
 * (get, load, flush, commit, the query's terminal calls) are
 * warn_unused_result. */

/* Adds a new object (its _ph header zeroed) to be inserted at the next
 * flush; obj stays the caller's and must live as long as the session.
 * Adding an object already in this session does nothing.  0, PH_EMISUSE
 * (object of another session, or m is not the object's model), PH_ENOMEM. */
int ph_session_add(ph_session *s, const ph_model *m, void *obj);
/* Marks a persistent object for DELETE at the next flush (a pending new one
 * is simply forgotten).  0 or PH_EMISUSE (not in this session). */
int ph_session_delete(ph_session *s, void *obj);
/* Sends pending INSERTs (new keys written back into the structs), UPDATEs
 * of changed columns only, and DELETEs, inside the session's write
 * transaction (begun if needed).  Parents are inserted before children,
 * children deleted before parents.  0 or a PH_E* code. */
PH_NODISCARD int ph_session_flush(ph_session *s);
/* Flushes and commits, as one transaction.  On failure the transaction is
 * rolled back (the database is unchanged), the session returns to its
 * last committed state as after ph_session_rollback, and the error is
 * returned (message in ph_session_errmsg). */
PH_NODISCARD int ph_session_commit(ph_session *s);
/* Rolls back the open transaction; pending new objects are forgotten (their
 * keys reset), pending deletes cancelled, and loaded objects get back the
 * values they had at load or last commit. */
void ph_session_rollback(ph_session *s);
/* The message of the last failure ("" if none); lives with the session.
 * For the developer and the log: it names tables and columns, never SQL
 * text, but may quote the database's own words. */
const char *ph_session_errmsg(const ph_session *s);
/* What the last failure was about, for the application to act on: kind
 * (unique, not null, foreign key, too long...), table and column, from the
 * checks made before any SQL or from the database's error details.  A form
 * shows "already taken" beside the field named by column.  Lives with the
 * session; like the message it tells of the last failure (kind
 * PH_DBERR_NONE before any, and after a flush or commit that succeeded). */
const ph_db_errinfo *ph_session_errinfo(const ph_session *s);
/* The column the last failure names, or NULL when it names none (e.g. a
 * foreign key on SQLite when the model has several). */
const char *ph_session_error_column(const ph_session *s);
/* Loads the object with primary key id, or finds it in the identity map.
 * 0 with *out set, PH_ENOTFOUND (*out NULL), or another PH_E* code. */
PH_NODISCARD int ph_session_get(ph_session *s, const ph_model *m, int64_t id, void *out);
/* Whether obj has changes not yet flushed (new, deleted, dirty columns, or
 * relationship pointers / list members that differ from their snapshot). */
bool ph_session_is_dirty(ph_session *s, const void *obj);
/* Number of objects in the identity map (for tests). */
size_t ph_session_count(const ph_session *s);

/* Number of SQL statements the session has sent: every SELECT (queries,
 * lazy and eager relationship loads), INSERT, UPDATE and DELETE
 * (association rows included); BEGIN / COMMIT / ROLLBACK are not counted. */
uint64_t ph_session_query_count(const ph_session *s);
/* Debug mode (off by default): when one relationship is lazy-loaded with a
 * query more than 5 times in the session, one warning is logged
 * (ph_log_warn) naming Model.relationship and label (e.g. the route: the
 * N+1 query detector).  label is copied; NULL is fine.  0 or PH_ENOMEM. */
int ph_session_set_debug(ph_session *s, bool on, const char *label);

/* ---- relationships ----------------------------------------------------------------------- */

/* Loads relationship rel of obj if it is not loaded yet (C has no
 * attribute hooks: this is the first access of SQLAlchemy's lazy loading).
 * A many-to-one whose target is in the identity map costs no query.
 * Loaded objects live in the session's arena; the ph_list storage too.
 * An object of no session is left as it is (0).  0, PH_EUNDEFINED (no such
 * relationship), PH_EMISUSE (object of another session, or the
 * relationship is lazy="raise": the message names it), or a database error. */
PH_NODISCARD int ph_session_load(ph_session *s, void *obj, const char *rel);
/* The same with the descriptor's entry (rel must be one of obj's model's). */
PH_NODISCARD int ph_session_load_rel(ph_session *s, void *obj, const ph_relationship *rel);
/* The same, shaped as the template engine's loader callback
 * (ph_tpl_render_opts.load_relationship, userdata = the ph_session). */
int ph_orm_load_relationship(void *session, const ph_model *m, void *obj,
                             const ph_relationship *rel);

/* Appends child to the list relationship rel of obj (one-to-many or
 * many-to-many), loading the list first if needed, and syncs the backref
 * in memory as SQLAlchemy's backref events do: the child's many-to-one
 * pointer is set (and the child leaves its old parent's loaded list), or
 * obj joins the child's loaded many-to-many list.  A transient child is
 * added to the session (save-update cascade).  obj must be in s; the list
 * grows in the session's arena.  Appending a member again does nothing.
 * Written at the next flush.  0, PH_EUNDEFINED, PH_EMISUSE, PH_ENOMEM or a
 * database error (of the load). */
int ph_list_append(ph_session *s, void *obj, const char *rel, void *child);
/* Removes child from the list; the backref is cleared in memory.  At flush
 * the child's foreign key is set to NULL (PH_ECONSTRAINT if NOT NULL), or
 * the child is deleted under cascade delete-orphan; a many-to-many row is
 * deleted.  0, PH_ENOTFOUND (not a member) or as ph_list_append. */
int ph_list_remove(ph_session *s, void *obj, const char *rel, void *child);

/* ---- query ------------------------------------------------------------------------------- */

typedef struct ph_query ph_query;

typedef enum ph_order { PH_ASC, PH_DESC } ph_order;

/* A query on model m, in the session's arena.  NULL when out of memory.
 * Builder calls return q for chaining; an error (unknown column, bad
 * fragment) is kept and returned by the terminal call. */
ph_query *ph_query_new(ph_session *s, const ph_model *m);
/* WHERE column = value (column IS NULL for PH_NULL).  The column is checked
 * against the model. */
ph_query *ph_query_filter_by(ph_query *q, const char *column, ph_val value);
/* WHERE (sql), a fragment with `?` placeholders and exactly nparams values
 * given after it (ph_val each): ph_query_filter(q, "id > ? AND id < ?", 2,
 * PH_INT(1), PH_INT(9)).  Words in the fragment that are not SQL keywords
 * must be column names of the model. */
ph_query *ph_query_filter(ph_query *q, const char *sql, size_t nparams, ...);
ph_query *ph_query_filter_v(ph_query *q, const char *sql, const ph_val *params, size_t nparams);
ph_query *ph_query_order_by(ph_query *q, const char *column, ph_order order);
ph_query *ph_query_limit(ph_query *q, int64_t limit);
ph_query *ph_query_offset(ph_query *q, int64_t offset);
/* Loading strategy of relationship rel for the rows of this query,
 * overriding the descriptor's .lazy: PH_LAZY_SELECTIN (one IN query per
 * relationship for all rows: the N+1 fix), PH_LAZY_JOINED (a LEFT OUTER
 * JOIN in this query; one joined relationship per query, further ones are
 * loaded by selectin), PH_LAZY_SELECT (lazy) or PH_LAZY_RAISE (lazy loads
 * of it on these rows fail with PH_EMISUSE).  Objects loaded eagerly get
 * their own model's default eager relationships too (.lazy in the
 * descriptor; a few levels deep).  Unknown rel: PH_EUNDEFINED at the
 * terminal call. */
ph_query *ph_query_options(ph_query *q, const char *rel, ph_lazy lazy);

/* Terminal calls.  rows_out is the address of a `T **` (T the model's
 * struct), row_out of a `T *`; arrays and rows live in the session's arena;
 * rows already in the identity map are returned as they are. */
PH_NODISCARD int ph_query_all(ph_query *q, void *rows_out, size_t *n);
/* The first row, or *row_out NULL and PH_ENOTFOUND. */
PH_NODISCARD int ph_query_first(ph_query *q, void *row_out);
/* Exactly one row: PH_ENOTFOUND or PH_EMULTIPLE otherwise. */
PH_NODISCARD int ph_query_one(ph_query *q, void *row_out);
PH_NODISCARD int ph_query_count(ph_query *q, int64_t *n);
PH_NODISCARD int ph_query_exists(ph_query *q, bool *exists);
/* Bulk DELETE of the matching rows, in the session's write transaction
 * (committed by ph_session_commit).  Objects already loaded stay in the
 * identity map.  *deleted may be NULL. */
PH_NODISCARD int ph_query_delete(ph_query *q, int64_t *deleted);

typedef struct ph_page {
    void **items; /* T * each; in the session's arena */
    size_t n;
    int64_t page, per_page, total, pages;
    bool has_prev, has_next;
} ph_page;

/* Page `page` (from 1) of per_page rows, with the total count. */
PH_NODISCARD int ph_query_paginate(ph_query *q, int64_t page, int64_t per_page, ph_page *out);
/* The model the query reads. */
const ph_model *ph_query_model(const ph_query *q);
/* 0 when q reads model m; otherwise PH_EMISUSE with the session's message
 * naming both (the typed macros of phial/typed.h call it).  NULL q (out of
 * memory at ph_query_new): PH_ENOMEM. */
PH_NODISCARD int ph_query_expect(ph_query *q, const ph_model *m);
/* The SQL the query would run (SELECT form), in the session's arena. */
const char *ph_query_sql(ph_query *q);

/* ---- JSON -------------------------------------------------------------------------------- */

/* obj (a row of model m) as a new JSON object (jansson; the caller owns
 * the reference): every column by type -- numbers, booleans, strings,
 * dates and times as the text the column stores, binary as base64, SQL
 * NULL as null -- plus the relationships named in rels (NULL-terminated,
 * or NULL for none), loaded through obj's session if needed, as nested
 * objects or arrays of their columns.  NULL when out of memory, for an
 * unknown relationship, or when loading one fails. */
json_t *ph_model_to_json(const ph_model *m, const void *obj, const char *const *rels);
/* rows[0..n) of model m as a new JSON array of such objects. */
json_t *ph_rows_to_json(const ph_model *m, void *const *rows, size_t n, const char *const *rels);
/* Sets the fields of obj named by the keys of JSON object o (other fields
 * are left as they are), copying strings into a.  0, or with a message in
 * err naming the field: PH_ETYPE (not an object, a value of the wrong
 * type), PH_EUNDEFINED (no such field), PH_EINVAL (the primary key, a NUL
 * in a string, a value that does not parse), PH_ECONSTRAINT (null for a
 * NOT NULL column), PH_ERANGE.  Lengths and NOT NULL of fields not given
 * are checked at flush (ph_orm_validate). */
int ph_model_from_json(const ph_model *m, void *obj, const json_t *o, ph_arena *a, char *err,
                       size_t errlen);
PH_API_END

#include "phial/typed.h"

#endif
