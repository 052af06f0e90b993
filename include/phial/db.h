/*
 * The database driver layer under the ORM: database URLs, the app-wide
 * database handle, per-thread connections to SQLite or PostgreSQL, bound
 * values, a per-connection prepared-statement cache, transactions, and
 * database errors mapped to Phial's codes (PH_ECONSTRAINT, PH_EBUSY,
 * PH_ECONNLOST, PH_EDB).
 *
 * Ownership and threads in one paragraph: a ph_db is made once at start-up
 * from a URL and a config and is read-only afterwards, so every thread may
 * share it.  Each thread makes its own ph_db_conn with ph_db_conn_new (the
 * caller owns it and frees it with ph_db_conn_free before the ph_db); it
 * connects on first use and keeps its connection and prepared statements
 * across requests.  Before a PostgreSQL connection is used outside a
 * transaction it is checked without a round trip (a server that restarted
 * has closed it): a stale one is replaced then, so the first request after
 * a restart succeeds.  A connection lost during a call makes that call
 * return PH_ECONNLOST (PH_ETIMEDOUT for a server that stopped answering)
 * and is replaced on the next use.
 *
 * Bounds: a PostgreSQL connect waits at most connect_timeout_s, a
 * statement at most statement_timeout_ms (+ PH_DB_TIMEOUT_GRACE_MS); a
 * SQLite lock wait at most busy_timeout_ms; the SQLite WAL is truncated
 * once it reaches wal_truncate_pages, and by the last connection closed.
 *
 * SQL given to this layer uses `?` placeholders on both dialects (they are
 * rewritten to $1, $2... for PostgreSQL) and quotes identifiers itself.
 */
#ifndef PHIAL_DB_H
#define PHIAL_DB_H

#include "phial/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "phial/version.h"

PH_API_BEGIN

/* ---- URLs ------------------------------------------------------------------ */

typedef enum ph_dialect { PH_DB_SQLITE = 1, PH_DB_POSTGRES = 2 } ph_dialect;

/* The default database, as in the tutorial. */
#define PH_DB_DEFAULT_URL "sqlite:///registration.db"

/* A parsed database URL.  Every string is owned by the struct (freed by
 * ph_db_url_free) and decoded (percent-escapes resolved). */
typedef struct ph_db_url {
    ph_dialect dialect;
    char *path;     /* SQLite: file path (relative to the working folder) or ":memory:" */
    char *host;     /* PostgreSQL: NULL when absent (libpq's default) */
    char *port;     /* PostgreSQL: digits, or NULL */
    char *user;     /* PostgreSQL: NULL when absent */
    char *password; /* PostgreSQL: NULL when absent */
    char *dbname;   /* PostgreSQL: NULL when absent */
    char **params;  /* PostgreSQL: key, value, key, value... (from ?k=v&...) */
    size_t nparams; /* number of key/value pairs */
} ph_db_url;

/* Parses `sqlite:///relative.db`, `sqlite:////abs/path.db`,
 * `sqlite:///:memory:` (also `sqlite://`), and
 * `postgresql://user:pass@host:port/db?sslmode=...` (also `postgres://`).
 * 0, or PH_EINVAL with a message naming what is wrong written to err (size
 * errlen; err may be NULL), or PH_ENOMEM.  On failure *out is left empty
 * (ph_db_url_free on it is harmless). */
int ph_db_url_parse(const char *url, ph_db_url *out, char *err, size_t errlen);
void ph_db_url_free(ph_db_url *u);

/* The database URL of a configuration, looked up through lookup(ud, name):
 * DATABASE_URL, else SQLALCHEMY_DATABASE_URI, else PH_DB_DEFAULT_URL.
 * lookup returns NULL (or "") for an unset name; it may be NULL (then the
 * default is returned).  The result is borrowed from lookup or static. */
const char *ph_db_url_resolve(const char *(*lookup)(void *ud, const char *name), void *ud);

/* ---- bound values ------------------------------------------------------------- */

typedef enum ph_valtype {
    PH_VAL_NULL,
    PH_VAL_INT,
    PH_VAL_DOUBLE,
    PH_VAL_BOOL,
    PH_VAL_TEXT,     /* s.ptr/s.len: UTF-8, borrowed */
    PH_VAL_BLOB,     /* s.ptr/s.len: bytes, borrowed */
    PH_VAL_DATETIME, /* i: microseconds since 1970 (naive UTC) */
    PH_VAL_DATE,     /* i: days since 1970-01-01 */
    PH_VAL_DECIMAL   /* dec: units / 10^scale, sent as exact decimal text */
} ph_valtype;

/* A value bound to a `?` placeholder.  Strings are borrowed for the call. */
typedef struct ph_val {
    ph_valtype type;
    union {
        int64_t i;
        double d;
        bool b;
        ph_slice s;
        struct {
            int64_t units;
            int scale;
        } dec;
    } u;
} ph_val;

#define PH_NULL ((ph_val){.type = PH_VAL_NULL})
#define PH_INT(x) ((ph_val){.type = PH_VAL_INT, .u.i = (int64_t)(x)})
#define PH_DOUBLE(x) ((ph_val){.type = PH_VAL_DOUBLE, .u.d = (double)(x)})
#define PH_BOOL(x) ((ph_val){.type = PH_VAL_BOOL, .u.b = (x)})
/* A NUL-terminated string; NULL gives SQL NULL. */
#define PH_STR(x) ph_val_str(x)
#define PH_TEXTN(p, n) ((ph_val){.type = PH_VAL_TEXT, .u.s = {(p), (n)}})
#define PH_BLOB(p, n) ((ph_val){.type = PH_VAL_BLOB, .u.s = {(const char *)(p), (n)}})
/* A Numeric value: units / 10^scale (PH_DECIMAL(1234, 2) is 12.34). */
#define PH_DECIMAL(units_, scale_)                                                                 \
    ((ph_val){.type = PH_VAL_DECIMAL, .u.dec = {(int64_t)(units_), (scale_)}})
ph_val ph_val_str(const char *s);

/* ---- the database handle ------------------------------------------------------ */

typedef struct ph_db ph_db;
typedef struct ph_db_conn ph_db_conn;

typedef struct ph_db_config {
    const char *url;         /* required */
    bool echo;               /* log every statement and its duration (SQLALCHEMY_ECHO) */
    int busy_timeout_ms;     /* SQLite; 0: 5000 */
    const char *synchronous; /* SQLite: "OFF", "NORMAL" (NULL), "FULL", "EXTRA" */
    int connect_timeout_s;   /* PostgreSQL; 0: 5 */
    /* PostgreSQL: the server cancels a statement running longer (SET
     * statement_timeout), and the client gives up on a server that does not
     * answer within this plus PH_DB_TIMEOUT_GRACE_MS (a frozen server): the
     * call returns PH_ETIMEDOUT and the connection is replaced.  0: 5000;
     * negative: no limit. */
    int statement_timeout_ms;
    /* SQLite: after a commit leaves the WAL at this many pages or more, it is
     * checkpointed and truncated (PRAGMA wal_checkpoint(TRUNCATE)).  0: 1000
     * pages (4 MB with 4 KB pages); negative: SQLite's own passive
     * auto-checkpoint only. */
    int wal_truncate_pages;
} ph_db_config;

/* How long past its statement timeout the client waits for a PostgreSQL
 * server's answer before it calls the server frozen. */
#define PH_DB_TIMEOUT_GRACE_MS 1000

/* Parses the URL and keeps the config (copied); connects nothing.
 * 0 and *out set (free with ph_db_close), or PH_EINVAL/PH_ENOMEM with a
 * message in err.  The handle is read-only afterwards: thread-safe. */
int ph_db_open(const ph_db_config *cfg, ph_db **out, char *err, size_t errlen);
/* Frees the handle; every ph_db_conn made from it must be freed first. */
void ph_db_close(ph_db *db);
ph_dialect ph_db_dialect(const ph_db *db);
const ph_db_url *ph_db_get_url(const ph_db *db);

/* ---- connections ----------------------------------------------------------------- */

/* A connection for the calling thread; it connects on first use.  NULL
 * when out of memory.  Owned by the caller; used by one thread at a time. */
ph_db_conn *ph_db_conn_new(ph_db *db);
/* Finalizes cached statements, rolls back an open transaction, closes. */
void ph_db_conn_free(ph_db_conn *c);
/* Connects now if not connected (or if the connection was lost). */
int ph_db_conn_connect(ph_db_conn *c);
ph_dialect ph_db_conn_dialect(const ph_db_conn *c);
/* SQLite: makes c refuse every write (PRAGMA query_only) and wait at most
 * 100 ms for a lock -- a reader in WAL mode waits only while another
 * connection recovers or resets the WAL -- or gives it back its writes and
 * its busy timeout; nothing is run when c is already so.  For a connection
 * of an event-loop thread.  0, PH_EDB, or PH_EMISUSE on PostgreSQL. */
int ph_db_conn_query_only(ph_db_conn *c, bool on);
/* The message of the last failure on c ("" if none); valid until the next
 * call on c. */
const char *ph_db_errmsg(const ph_db_conn *c);
/* What failed, for an application to act on (a form shows "already taken"
 * beside the field named by column): filled from SQLite's message and
 * extended result code, or from libpq's PG_DIAG_* fields.  Names only, never
 * SQL text or values. */
typedef enum ph_db_errkind {
    PH_DBERR_NONE = 0,     /* the last call succeeded */
    PH_DBERR_UNIQUE,       /* UNIQUE or PRIMARY KEY: the value is taken */
    PH_DBERR_NOT_NULL,     /* NULL in a NOT NULL column */
    PH_DBERR_FOREIGN_KEY,  /* no such parent row, or rows still refer to it */
    PH_DBERR_CHECK,        /* a CHECK constraint */
    PH_DBERR_TOO_LONG,     /* longer than String(n) */
    PH_DBERR_RANGE,        /* a number out of its column's range */
    PH_DBERR_INVALID,      /* not a value of the column's type (JSON, Enum, Numeric) */
    PH_DBERR_NO_TABLE,     /* the table does not exist (run `db create`) */
    PH_DBERR_OTHER         /* anything else: see the message */
} ph_db_errkind;

typedef struct ph_db_errinfo {
    ph_db_errkind kind;
    char table[64];       /* "" when the database does not say */
    char column[64];      /* the first column involved, "" when not known */
    char columns[128];    /* every column, ", "-separated (multi-column unique) */
    char constraint[64];  /* PostgreSQL's constraint name, "" on SQLite */
} ph_db_errinfo;

/* The details of the last failure on c (kind PH_DBERR_NONE after a
 * success); valid until the next call on c. */
const ph_db_errinfo *ph_db_errinfo_get(const ph_db_conn *c);
/* The kind's name: "unique", "not null", "foreign key"... (static). */
const char *ph_db_errkind_name(ph_db_errkind k);
/* Sets c's message (for layers above that fail on c's behalf); returns code. */
int ph_db_set_error(ph_db_conn *c, int code, const char *fmt, ...) PH_PRINTF(3, 4);
/* Text a layer above derives the same way every time on one connection
 * (the SQL of a statement it builds from a model), kept under (key, kind)
 * until c is freed.  ph_db_conn_memo returns it (owned by c) or NULL;
 * ph_db_conn_memo_put keeps a copy: 0, or PH_ENOMEM / PH_ELIMIT (256
 * entries) when it could not, which only costs the caller a rebuild. */
const char *ph_db_conn_memo(const ph_db_conn *c, const void *key, int kind);
int ph_db_conn_memo_put(ph_db_conn *c, const void *key, int kind, const char *text);
/* Number of prepared statements cached on c (for tests). */
size_t ph_db_cached_statements(const ph_db_conn *c);
/* The server process id (PostgreSQL) or 0 (SQLite / not connected). */
int ph_db_backend_pid(const ph_db_conn *c);

/* Runs one statement with params[0..n) bound; rows it returns are
 * discarded.  0 or a PH_E* code (message in ph_db_errmsg). */
int ph_db_exec(ph_db_conn *c, const char *sql, const ph_val *params, size_t n);
/* Runs SQL text that may hold several statements, with no parameters and
 * no statement cache (DDL scripts). */
int ph_db_exec_script(ph_db_conn *c, const char *sql);
/* Rows changed by the last ph_db_exec. */
int64_t ph_db_changes(const ph_db_conn *c);
/* Rowid of the last INSERT (SQLite only; PostgreSQL uses RETURNING). */
int64_t ph_db_last_insert_id(const ph_db_conn *c);

/* Transactions.  ph_db_begin(c, true) takes the write lock at once on
 * SQLite (BEGIN IMMEDIATE), after queueing on the handle's own write lock,
 * shared by its connections and by processes forked after ph_db_open, for
 * at most the busy timeout (PH_EBUSY).  A write outside a transaction only
 * meets SQLite's lock and its busy handler. */
int ph_db_begin(ph_db_conn *c, bool write);
int ph_db_commit(ph_db_conn *c);
int ph_db_rollback(ph_db_conn *c);
bool ph_db_in_transaction(const ph_db_conn *c);

/* ---- result rows ------------------------------------------------------------------ */

/* Rows of a query.  Fields are private.  Always ph_db_rows_close it (also
 * after an error; closing twice is harmless). */
typedef struct ph_db_rows {
    ph_db_conn *conn;
    void *stmt;   /* private: the statement (cached or one-off) */
    void *result; /* private: PostgreSQL result */
    void *sq;     /* private: the sqlite3_stmt (SQLite) for direct column reads */
    int row, nrows;
    int ncols;
} ph_db_rows;

/* Runs a query.  0 (then read with ph_db_rows_next) or a PH_E* code. */
int ph_db_query(ph_db_conn *c, const char *sql, const ph_val *params, size_t n, ph_db_rows *rows);
/* 1: a row is ready; 0: no more rows; <0: a PH_E* code. */
int ph_db_rows_next(ph_db_rows *r);
void ph_db_rows_close(ph_db_rows *r);
/* Column readers for the current row; col from 0.  Text is borrowed until
 * the next ph_db_rows_next / close.  A NULL reads as 0 / "" / false. */
bool ph_db_rows_isnull(ph_db_rows *r, int col);
int64_t ph_db_rows_int(ph_db_rows *r, int col);
double ph_db_rows_double(ph_db_rows *r, int col);
bool ph_db_rows_bool(ph_db_rows *r, int col);
const char *ph_db_rows_text(ph_db_rows *r, int col, size_t *len);
/* Text of the column, or NULL for SQL NULL (one call instead of two). */
const char *ph_db_rows_textn(ph_db_rows *r, int col, size_t *len);
/* Bytes copied into arena a; 0 or PH_ENOMEM. */
int ph_db_rows_blob(ph_db_rows *r, int col, ph_arena *a, uint8_t **ptr, size_t *len);

/* Convenience: the first column of the first row as an integer (count,
 * exists).  PH_ENOTFOUND when there is no row. */
int ph_db_query_int(ph_db_conn *c, const char *sql, const ph_val *params, size_t n, int64_t *out);

/* ---- identifiers ------------------------------------------------------------------- */

/* Appends name as a quoted identifier ("user"), doubling quotes. */
int ph_db_put_ident(ph_buf *b, const char *name);
/* Appends name quoted only where the dialect needs it, exactly as
 * SQLAlchemy does (reserved words, upper case, odd characters): DDL. */
int ph_db_put_ident_min(ph_buf *b, ph_dialect d, const char *name);

/* ---- date and time text ------------------------------------------------------------- */

/* 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite form); out >= 32. */
void ph_datetime_format(int64_t usec, char *out, size_t outlen);
/* 'YYYY-MM-DD'; out >= 16. */
void ph_date_format(int32_t days, char *out, size_t outlen);
/* Parses 'YYYY-MM-DD[ T]HH:MM[:SS[.f...]]' (or just a date), optionally
 * followed by a UTC offset (Z, +HH, +HH:MM, +HHMM, as PostgreSQL prints a
 * TIMESTAMP WITH TIME ZONE): the result is UTC.  0 or PH_EINVAL. */
int ph_datetime_parse(const char *s, size_t len, int64_t *usec);
int ph_date_parse(const char *s, size_t len, int32_t *days);

/* ---- exact decimals (Numeric) ----------------------------------------------------- */

/* Numeric text ("-12.34", "1.5e3") to a scaled integer for
 * Numeric(precision, scale): 0, PH_EINVAL (not a number) or PH_ERANGE
 * (more integer digits than precision - scale allows, or non-zero digits
 * below the scale -- those are rounded half away from zero instead when
 * round is true, as for values read back from SQLite's REAL storage). */
int ph_decimal_parse(const char *s, size_t len, int precision, int scale, bool round,
                     int64_t *units);
/* units / 10^scale as text with exactly scale decimals: "12.30"; out >= 24. */
void ph_decimal_format(int64_t units, int scale, char *out, size_t outlen);

PH_API_END

#endif
