/*
 * What the files of the database layer share: the handle and connection
 * structs, the prepared-statement record, and the two drivers' entry points
 * (sqlite.c, pg.c) that db.c dispatches to.  Not a public header.
 */
#ifndef PHIAL_DB_INTERNAL_H
#define PHIAL_DB_INTERNAL_H

#include "phial/db.h"

#include <pthread.h>

/* Most statements a connection keeps prepared; beyond, statements run
 * one-off (an app that builds unbounded SQL text cannot exhaust memory). */
#define PH__STMT_CACHE_MAX 512

/* A prepared statement.  Cached ones live until the connection closes;
 * a one-off (cached false) is finalized when its rows are closed. */
typedef struct ph__stmt {
    char *sql; /* the `?` form: the cache key (heap) */
    uint64_t hash;
    void *h;       /* SQLite: sqlite3_stmt * */
    char name[24]; /* PostgreSQL: server-side statement name */
    bool busy;     /* rows are open on it */
    bool cached;
} ph__stmt;

struct ph_db {
    ph_db_url url;
    bool echo;
    int busy_timeout_ms;
    char synchronous[8];
    int connect_timeout_s;
    int statement_timeout_ms; /* <= 0: none */
    int wal_truncate_pages;   /* <= 0: passive auto-checkpoint only */
    /* SQLite file databases: the write lock of the process and of the
     * processes forked after the open (shared memory, robust mutex), so
     * that writers queue in the kernel instead of polling SQLite's lock */
    pthread_mutex_t *wlock;
};

struct ph_db_conn {
    ph_db *db;
    ph_dialect dialect;
    void *sq;  /* sqlite3 * */
    void *pg;  /* PGconn * */
    bool lost; /* PostgreSQL connection found dead: replace on next use */
    bool in_tx;
    bool query_only; /* ph_db_conn_query_only */
    bool wlocked;    /* holds db->wlock: a BEGIN IMMEDIATE is open */
    ph__stmt **slots; /* open addressing, nslots a power of two */
    size_t nslots, nstmts;
    unsigned next_id;
    int64_t pg_answered_ns; /* PostgreSQL: when the server last answered (ph_now_ns) */
    int64_t changes;
    int64_t last_id;
    /* PostgreSQL parameter scratch, grown as needed */
    const char **pvals;
    int *plens, *pfmts;
    char (*ptext)[40];
    size_t pcap;
    ph_buf pbuf; /* NUL-terminated copies of text parameters */
    /* SQLite: the busy handler's budget for the current wait (ms), and the
     * WAL size at which the next truncating checkpoint is tried */
    int busy_budget_ms;
    int wal_next_truncate;
    /* ph_db_conn_memo's entries, searched in order */
    struct ph__memo {
        const void *key;
        int kind;
        char *text;
    } *memo;
    size_t nmemo, capmemo;
    char errmsg[512];
    ph_db_errinfo errinfo; /* details of the last failure */
};

/* Sets c->errmsg from a format and returns code; the error details
 * become kind PH_DBERR_OTHER (a driver fills them in afterwards). */
int ph__db_error(ph_db_conn *c, int code, const char *fmt, ...) PH_PRINTF(3, 4);
/* Sets c's error details; table / columns may be NULL or not terminated
 * (lengths tl / cl), columns a ", "-separated list. */
void ph__db_errinfo_set(ph_db_conn *c, ph_db_errkind kind, const char *table, size_t tl,
                        const char *columns, size_t cl, const char *constraint);
/* Logs a statement when echo is on. */
void ph__db_echo(ph_db_conn *c, const char *sql, const ph_val *p, size_t n, int64_t ns);

/* Maps a SQLite result code to a PH_E* code and sets c's message. */
int ph__sq_error(ph_db_conn *c, int rc);
int ph__sq_open(ph_db_conn *c);
/* Checkpoints the WAL in SQLite's mode (SQLITE_CHECKPOINT_RESTART: the next
 * commit starts the log over; _TRUNCATE: cuts it to zero bytes), waiting
 * for readers at most budget_ms; 0 or a PH_E* code. */
int ph__sq_checkpoint(ph_db_conn *c, int mode, int budget_ms);
void ph__sq_close(ph_db_conn *c);
int ph__sq_prepare(ph_db_conn *c, ph__stmt *st);
void ph__sq_finalize(ph__stmt *st);
/* Binds and, for rows == NULL, runs to completion (changes set); else
 * leaves the statement ready to step (db.c steps it). */
int ph__sq_run(ph_db_conn *c, ph__stmt *st, const ph_val *p, size_t n, ph_db_rows *rows);
void ph__sq_reset(ph__stmt *st);
int ph__sq_script(ph_db_conn *c, const char *sql);
bool ph__sq_isnull(ph_db_rows *r, int col);
int64_t ph__sq_int(ph_db_rows *r, int col);
double ph__sq_double(ph_db_rows *r, int col);
const char *ph__sq_text(ph_db_rows *r, int col, size_t *len);
const void *ph__sq_blob(ph_db_rows *r, int col, size_t *len);

/* Opens libpq (dlopen, once): 0, or PH_ENOTSUP with why in err. */
int ph__pg_load(char *err, size_t errlen);
/* Whether key is a connection option libpq knows (false when not loaded). */
bool ph__pg_known_option(const char *key);
int ph__pg_open(ph_db_conn *c);
/* Whether an idle connection is still usable: false when the server has
 * closed it or sent something unasked (a restart's termination notice).
 * Costs one poll(2) with a zero timeout, no round trip. */
bool ph__pg_idle_ok(ph_db_conn *c);
void ph__pg_close(ph_db_conn *c);
int ph__pg_prepare(ph_db_conn *c, ph__stmt *st);
int ph__pg_run(ph_db_conn *c, ph__stmt *st, const ph_val *p, size_t n, ph_db_rows *rows);
void ph__pg_clear(ph_db_rows *r);
int ph__pg_script(ph_db_conn *c, const char *sql);
int ph__pg_backend_pid(const ph_db_conn *c);
bool ph__pg_isnull(ph_db_rows *r, int col);
/* A value as text (len may be NULL); "" for a NULL. */
const char *ph__pg_text(ph_db_rows *r, int col, size_t *len);
int ph__pg_blob(ph_db_rows *r, int col, ph_arena *a, uint8_t **ptr, size_t *len);

#endif
