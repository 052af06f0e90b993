/*
 * The SQLite driver: opens a connection with WAL, a bounded busy wait,
 * foreign keys on and the configured synchronous level; prepares, binds and
 * steps statements; maps SQLite's result codes to Phial's; and keeps the
 * WAL file bounded.
 *
 * Why the WAL needs help: SQLite's automatic checkpoint (PASSIVE, after a
 * commit that leaves 1000 pages) never waits for readers, so under a steady
 * stream of overlapping readers it never completes, the writer can never
 * start the log over, and the file grows without end (157 MB in 30 s under
 * 2 workers x 16 threads).  Here a commit that leaves the WAL at
 * wal_truncate_pages or more runs a TRUNCATE checkpoint that waits for the
 * readers of older snapshots (a short, bounded wait) and then cuts the file
 * to zero bytes; if readers hold out past that wait, the next commit past
 * another wal_truncate_pages tries again, and meanwhile a passive
 * checkpoint copies what it can; a log that starts over is cut back to the
 * bound (journal_size_limit).  The last connection closed (shutdown)
 * checkpoints and removes the WAL, as SQLite does when it can take the
 * lock; ph__sq_close truncates it first in case another process still has
 * the database open.
 */
#include "internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* How long a truncating checkpoint after a commit waits for readers (ms):
 * long enough for a page's reads to end, short enough not to be noticed. */
#define WAL_CHECKPOINT_WAIT_MS 250

/* Error details from a constraint message: SQLite names "table.column"
 * (", "-separated for a multi-column unique) after the colon, except for
 * foreign keys, where it names nothing. */
static void sq_errinfo(ph_db_conn *c, int rc, const char *msg)
{
    ph_db_errkind kind;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        kind = PH_DBERR_UNIQUE;
        break;
    case SQLITE_CONSTRAINT_NOTNULL:
        kind = PH_DBERR_NOT_NULL;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        kind = PH_DBERR_FOREIGN_KEY;
        break;
    case SQLITE_CONSTRAINT_CHECK:
        kind = PH_DBERR_CHECK;
        break;
    default:
        kind = PH_DBERR_OTHER;
        break;
    }
    const char *colon = strstr(msg, "failed: ");
    if (!colon || kind == PH_DBERR_CHECK || kind == PH_DBERR_OTHER) {
        ph__db_errinfo_set(c, kind, NULL, 0, NULL, 0, NULL);
        return;
    }
    /* "t.a, t.b": the table once, the columns without it */
    const char *p = colon + 8, *dot = strchr(p, '.');
    char cols[128];
    size_t n = 0;
    const char *table = p;
    size_t tl = dot ? (size_t)(dot - p) : 0;
    while (dot && n < sizeof(cols) - 1) {
        const char *col = dot + 1;
        size_t cl = strcspn(col, ",");
        int k = snprintf(cols + n, sizeof(cols) - n, "%s%.*s", n ? ", " : "", (int)cl, col);
        n += k > 0 ? (size_t)k : 0;
        if (n >= sizeof(cols))
            n = sizeof(cols) - 1;
        if (!col[cl])
            break;
        dot = strchr(col + cl, '.');
    }
    cols[n] = '\0';
    ph__db_errinfo_set(c, kind, tl ? table : NULL, tl, n ? cols : NULL, n, NULL);
}

int ph__sq_error(ph_db_conn *c, int rc)
{
    sqlite3 *db = c->sq;
    int code;
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        code = PH_ECONSTRAINT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = PH_EBUSY;
        break;
    case SQLITE_NOMEM:
        code = PH_ENOMEM;
        break;
    case SQLITE_TOOBIG:
        code = PH_ETOOLONG;
        break;
    default:
        code = PH_EDB;
        break;
    }
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    ph__db_error(c, code, "%s", msg);
    if (code == PH_ECONSTRAINT)
        sq_errinfo(c, rc, msg);
    else if (strncmp(msg, "no such table: ", 15) == 0)
        ph__db_errinfo_set(c, PH_DBERR_NO_TABLE, msg + 15, strlen(msg + 15), NULL, 0, NULL);
    return code;
}

/* The busy handler: sleeps in growing steps until the connection's budget
 * (busy_timeout_ms, or a checkpoint's shorter wait) is spent.  Like
 * sqlite3_busy_timeout, but with a budget that can change per call. */
static int on_busy(void *arg, int count)
{
    ph_db_conn *c = arg;
    static const int steps[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    int spent = 0, n = (int)PH_COUNTOF(steps);
    for (int i = 0; i < count; i++)
        spent += i < n ? steps[i] : 100;
    int step = count < n ? steps[count] : 100;
    if (spent >= c->busy_budget_ms)
        return 0;
    if (spent + step > c->busy_budget_ms)
        step = c->busy_budget_ms - spent;
    struct timespec ts = {step / 1000, (long)(step % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

int ph__sq_checkpoint(ph_db_conn *c, int mode, int budget_ms)
{
    int saved = c->busy_budget_ms;
    c->busy_budget_ms = budget_ms;
    int rc = sqlite3_wal_checkpoint_v2(c->sq, NULL, mode, NULL, NULL);
    c->busy_budget_ms = saved;
    return rc == SQLITE_OK ? 0 : ph__sq_error(c, rc);
}

/* After each commit (SQLite's WAL hook): keeps the WAL under the bound. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int pages)
{
    ph_db_conn *c = arg;
    int limit = c->db->wal_truncate_pages;
    (void)schema;
    if (pages < (limit > 0 && limit < 1000 ? limit : 1000))
        return SQLITE_OK;
    if (limit > 0 && pages + limit < c->wal_next_truncate)
        c->wal_next_truncate = limit; /* the log started over: back to the bound */
    if (limit > 0 && pages >= c->wal_next_truncate) {
        if (ph__sq_checkpoint(c, SQLITE_CHECKPOINT_RESTART, WAL_CHECKPOINT_WAIT_MS) == 0) {
            c->wal_next_truncate = limit;
            return SQLITE_OK;
        }
        /* readers held out: try again after another `limit` pages */
        c->wal_next_truncate = pages + limit;
        ph_log_debug("SQLite WAL at %d pages: readers held the truncating checkpoint off", pages);
    }
    /* what SQLite's auto-checkpoint would do: copy what no reader needs */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

/* SQLite's memory statistics (sqlite3_memory_used) take one process-wide
 * mutex on every allocation: with a connection per handler thread that
 * lock is contended on every statement.  Phial reads none of them, so they
 * are turned off before SQLite initialises (a no-op if the application
 * initialised it first). */
static void sq_config_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int ph__sq_open(ph_db_conn *c)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sq_config_once);
    const ph_db *d = c->db;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        d->url.path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ph__db_error(c, PH_EDB, "cannot open SQLite database '%s': %s", d->url.path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return PH_EDB;
    }
    c->sq = db;
    sqlite3_extended_result_codes(db, 1);
    c->busy_budget_ms = d->busy_timeout_ms;
    c->wal_next_truncate = d->wal_truncate_pages;
    sqlite3_busy_handler(db, on_busy, c);
    char sql[160];
    bool mem = strcmp(d->url.path, ":memory:") == 0 || d->url.path[0] == '\0';
    snprintf(sql, sizeof(sql), "%sPRAGMA foreign_keys = ON; PRAGMA synchronous = %s;",
             mem ? "" : "PRAGMA journal_mode = WAL; ", d->synchronous);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = ph__sq_error(c, rc);
        char msg[sizeof(c->errmsg)];
        memcpy(msg, c->errmsg, sizeof(msg));
        ph__db_error(c, code, "cannot set up SQLite database '%s': %s", d->url.path, msg);
        sqlite3_close(db);
        c->sq = NULL;
        return code;
    }
    if (!mem && d->wal_truncate_pages > 0) {
        /* a log that starts over after a complete checkpoint is cut back to
           the bound too (it is otherwise reused at its largest size) */
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld",
                 (long long)d->wal_truncate_pages * 4096);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    if (!mem)
        sqlite3_wal_hook(db, on_wal_commit, c);
    return 0;
}

void ph__sq_close(ph_db_conn *c)
{
    if (!c->sq)
        return;
    /* another connection (thread or process) may keep the database open,
       and only the last close removes the WAL: leave it empty either way */
    if (sqlite3_get_autocommit(c->sq) && strcmp(c->db->url.path, ":memory:") != 0 &&
        c->db->url.path[0] != '\0')
        ph__sq_checkpoint(c, SQLITE_CHECKPOINT_TRUNCATE, WAL_CHECKPOINT_WAIT_MS);
    sqlite3_close(c->sq);
    c->sq = NULL;
}

int ph__sq_prepare(ph_db_conn *c, ph__stmt *st)
{
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v3(c->sq, st->sql, -1, SQLITE_PREPARE_PERSISTENT, &h, NULL);
    if (rc != SQLITE_OK)
        return ph__sq_error(c, rc);
    if (!h)
        return ph__db_error(c, PH_EINVAL, "empty SQL statement");
    st->h = h;
    return 0;
}

void ph__sq_finalize(ph__stmt *st)
{
    if (st->h)
        sqlite3_finalize(st->h);
    st->h = NULL;
}

void ph__sq_reset(ph__stmt *st)
{
    sqlite3_reset(st->h);
    sqlite3_clear_bindings(st->h);
}

static int bind(ph_db_conn *c, sqlite3_stmt *h, const ph_val *p, size_t n)
{
    int want = sqlite3_bind_parameter_count(h);
    if ((size_t)want != n)
        return ph__db_error(c, PH_EMISUSE,
                            "statement has %d placeholders but %zu values were given", want, n);
    for (size_t i = 0; i < n; i++) {
        int k = (int)i + 1, rc = SQLITE_OK;
        char t[40];
        switch (p[i].type) {
        case PH_VAL_NULL:
            rc = sqlite3_bind_null(h, k);
            break;
        case PH_VAL_INT:
            rc = sqlite3_bind_int64(h, k, p[i].u.i);
            break;
        case PH_VAL_DOUBLE:
            rc = sqlite3_bind_double(h, k, p[i].u.d);
            break;
        case PH_VAL_BOOL:
            rc = sqlite3_bind_int(h, k, p[i].u.b ? 1 : 0);
            break;
        case PH_VAL_TEXT:
            rc = sqlite3_bind_text64(h, k, p[i].u.s.len ? p[i].u.s.ptr : "", p[i].u.s.len,
                                     SQLITE_STATIC, SQLITE_UTF8);
            break;
        case PH_VAL_BLOB:
            rc = sqlite3_bind_blob64(h, k, p[i].u.s.len ? p[i].u.s.ptr : "", p[i].u.s.len,
                                     SQLITE_STATIC);
            break;
        case PH_VAL_DATETIME:
            ph_datetime_format(p[i].u.i, t, sizeof(t));
            rc = sqlite3_bind_text(h, k, t, -1, SQLITE_TRANSIENT);
            break;
        case PH_VAL_DATE:
            ph_date_format((int32_t)p[i].u.i, t, sizeof(t));
            rc = sqlite3_bind_text(h, k, t, -1, SQLITE_TRANSIENT);
            break;
        case PH_VAL_DECIMAL:
            /* text: a NUMERIC column stores it as INTEGER or REAL, as
               SQLAlchemy's Numeric does on SQLite */
            ph_decimal_format(p[i].u.dec.units, p[i].u.dec.scale, t, sizeof(t));
            rc = sqlite3_bind_text(h, k, t, -1, SQLITE_TRANSIENT);
            break;
        }
        if (rc != SQLITE_OK)
            return ph__sq_error(c, rc);
    }
    return 0;
}

int ph__sq_run(ph_db_conn *c, ph__stmt *st, const ph_val *p, size_t n, ph_db_rows *rows)
{
    sqlite3_stmt *h = st->h;
    int rc = bind(c, h, p, n);
    if (rc) {
        ph__sq_reset(st);
        return rc;
    }
    if (rows) {
        rows->ncols = sqlite3_column_count(h);
        return 0;
    }
    int s;
    while ((s = sqlite3_step(h)) == SQLITE_ROW) {
    }
    if (s != SQLITE_DONE) {
        rc = ph__sq_error(c, s);
        ph__sq_reset(st);
        return rc;
    }
    c->changes = sqlite3_changes64(c->sq);
    c->last_id = sqlite3_last_insert_rowid(c->sq);
    ph__sq_reset(st);
    return 0;
}

int ph__sq_script(ph_db_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->sq, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ph__sq_error(c, rc);
    c->changes = sqlite3_changes64(c->sq);
    return 0;
}

static sqlite3_stmt *H(ph_db_rows *r)
{
    return ((ph__stmt *)r->stmt)->h;
}

bool ph__sq_isnull(ph_db_rows *r, int col)
{
    return sqlite3_column_type(H(r), col) == SQLITE_NULL;
}

int64_t ph__sq_int(ph_db_rows *r, int col)
{
    return sqlite3_column_int64(H(r), col);
}

double ph__sq_double(ph_db_rows *r, int col)
{
    return sqlite3_column_double(H(r), col);
}

const char *ph__sq_text(ph_db_rows *r, int col, size_t *len)
{
    const unsigned char *s = sqlite3_column_text(H(r), col);
    *len = (size_t)sqlite3_column_bytes(H(r), col);
    if (!s) {
        *len = 0;
        return "";
    }
    return (const char *)s;
}

const void *ph__sq_blob(ph_db_rows *r, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(H(r), col);
    *len = (size_t)sqlite3_column_bytes(H(r), col);
    return p;
}
