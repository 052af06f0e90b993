/*
 * The database handle and per-thread connections, independent of the
 * dialect: the prepared-statement cache keyed by SQL text, statement echo,
 * transactions, result rows, and error messages.  The dialects themselves
 * are in sqlite.c and pg.c.
 */
#include "internal.h"

#include <sqlite3.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

/* ---- handle ------------------------------------------------------------------ */

/* SQLite lets one writer in at a time and makes the others poll: its busy
 * handler sleeps and retries, so under concurrent writes a waiting writer
 * loses milliseconds per try and the order is left to chance (updates and
 * comments saw p99 latencies of 200-600 ms).  Phial's writers of one
 * database (the handler threads of a worker, and the workers forked after
 * the open) first take this lock: a robust mutex in shared memory, where
 * a waiter sleeps in the kernel and is woken by the unlock.  SQLite's lock
 * still guards against every other process; the busy handler then only
 * waits for those.  A holder that dies leaves the mutex to the next taker
 * (EOWNERDEAD), and SQLite's own lock dies with its file descriptors. */
static pthread_mutex_t *wlock_new(void)
{
    void *m = mmap(NULL, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    pthread_mutexattr_t at;
    bool ok = pthread_mutexattr_init(&at) == 0;
    ok = ok && pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED) == 0 &&
         pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST) == 0 &&
         pthread_mutex_init(m, &at) == 0;
    pthread_mutexattr_destroy(&at);
    if (!ok) {
        munmap(m, sizeof(pthread_mutex_t));
        return NULL;
    }
    return m;
}

/* Takes the write lock within the connection's busy timeout. */
static int wlock_take(ph_db_conn *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int ms = c->db->busy_timeout_ms;
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    int e = pthread_mutex_clocklock(c->db->wlock, CLOCK_MONOTONIC, &t);
    if (e == EOWNERDEAD) {
        ph_log_warn("SQLite write lock: its holder died in a transaction; taking it over");
        pthread_mutex_consistent(c->db->wlock);
        e = 0;
    }
    if (e == ETIMEDOUT)
        return ph__db_error(c, PH_EBUSY,
                            "database is locked: another writer of this application held it "
                            "for the whole busy timeout (%d ms)",
                            ms);
    if (e)
        return ph__db_error(c, PH_EBUSY, "database write lock: %s", strerror(e));
    c->wlocked = true;
    return 0;
}

static void wlock_give(ph_db_conn *c)
{
    if (c->wlocked) {
        c->wlocked = false;
        pthread_mutex_unlock(c->db->wlock);
    }
}

int ph_db_open(const ph_db_config *cfg, ph_db **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->url) {
        if (err && errlen)
            snprintf(err, errlen, "no database URL");
        return PH_EINVAL;
    }
    ph_db *db = calloc(1, sizeof(*db));
    if (!db)
        return PH_ENOMEM;
    int rc = ph_db_url_parse(cfg->url, &db->url, err, errlen);
    if (rc) {
        free(db);
        return rc;
    }
    const char *sync = cfg->synchronous ? cfg->synchronous : "NORMAL";
    static const char *const syncs[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
    bool ok = false;
    for (size_t i = 0; i < PH_COUNTOF(syncs); i++) {
        if (strcasecmp(sync, syncs[i]) == 0) {
            snprintf(db->synchronous, sizeof(db->synchronous), "%s", syncs[i]);
            ok = true;
        }
    }
    if (!ok) {
        if (err && errlen)
            snprintf(err, errlen, "synchronous must be OFF, NORMAL, FULL or EXTRA, not '%s'", sync);
        ph_db_url_free(&db->url);
        free(db);
        return PH_EINVAL;
    }
    db->echo = cfg->echo;
    db->busy_timeout_ms = cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : 5000;
    db->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 5;
    db->statement_timeout_ms = cfg->statement_timeout_ms == 0 ? 5000 : cfg->statement_timeout_ms;
    db->wal_truncate_pages = cfg->wal_truncate_pages == 0 ? 1000 : cfg->wal_truncate_pages;
    if (db->url.dialect == PH_DB_SQLITE && db->url.path[0] && strcmp(db->url.path, ":memory:"))
        db->wlock = wlock_new(); /* NULL: SQLite's own lock alone, as before */
    *out = db;
    return 0;
}

void ph_db_close(ph_db *db)
{
    if (!db)
        return;
    if (db->wlock)
        munmap(db->wlock, sizeof(pthread_mutex_t));
    ph_db_url_free(&db->url);
    free(db);
}

ph_dialect ph_db_dialect(const ph_db *db)
{
    return db->url.dialect;
}

const ph_db_url *ph_db_get_url(const ph_db *db)
{
    return &db->url;
}

ph_val ph_val_str(const char *s)
{
    if (!s)
        return PH_NULL;
    return (ph_val){.type = PH_VAL_TEXT, .u.s = {s, strlen(s)}};
}

/* ---- errors and echo --------------------------------------------------------------- */

int ph__db_error(ph_db_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    memset(&c->errinfo, 0, sizeof(c->errinfo));
    c->errinfo.kind = code ? PH_DBERR_OTHER : PH_DBERR_NONE;
    return code;
}

int ph_db_set_error(ph_db_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

void ph__db_errinfo_set(ph_db_conn *c, ph_db_errkind kind, const char *table, size_t tl,
                        const char *columns, size_t cl, const char *constraint)
{
    ph_db_errinfo *e = &c->errinfo;
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    if (table)
        snprintf(e->table, sizeof(e->table), "%.*s", (int)tl, table);
    if (columns) {
        snprintf(e->columns, sizeof(e->columns), "%.*s", (int)cl, columns);
        size_t first = strcspn(e->columns, ",");
        snprintf(e->column, sizeof(e->column), "%.*s", (int)first, e->columns);
    }
    if (constraint)
        snprintf(e->constraint, sizeof(e->constraint), "%s", constraint);
}

const ph_db_errinfo *ph_db_errinfo_get(const ph_db_conn *c)
{
    return &c->errinfo;
}

const char *ph_db_errkind_name(ph_db_errkind k)
{
    static const char *const names[] = {"none",     "unique", "not null", "foreign key", "check",
                                        "too long", "range",  "invalid",  "no table",    "other"};
    return (unsigned)k < PH_COUNTOF(names) ? names[k] : "other";
}

const char *ph_db_errmsg(const ph_db_conn *c)
{
    return c->errmsg;
}

void ph__db_echo(ph_db_conn *c, const char *sql, const ph_val *p, size_t n, int64_t ns)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    ph_buf_printf(&b, "SQL %.3f ms: %s", (double)ns / 1e6, sql);
    if (n)
        ph_buf_puts(&b, " | params (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            ph_buf_puts(&b, ", ");
        switch (p[i].type) {
        case PH_VAL_NULL:
            ph_buf_puts(&b, "NULL");
            break;
        case PH_VAL_INT:
        case PH_VAL_DATETIME:
        case PH_VAL_DATE:
            ph_buf_put_i64(&b, p[i].u.i);
            break;
        case PH_VAL_DOUBLE:
            ph_buf_printf(&b, "%g", p[i].u.d);
            break;
        case PH_VAL_BOOL:
            ph_buf_puts(&b, p[i].u.b ? "true" : "false");
            break;
        case PH_VAL_TEXT:
            ph_buf_printf(&b, "'%.*s'", (int)(p[i].u.s.len > 80 ? 80 : p[i].u.s.len), p[i].u.s.ptr);
            break;
        case PH_VAL_BLOB:
            ph_buf_printf(&b, "<%zu bytes>", p[i].u.s.len);
            break;
        case PH_VAL_DECIMAL: {
            char t[32];
            ph_decimal_format(p[i].u.dec.units, p[i].u.dec.scale, t, sizeof(t));
            ph_buf_puts(&b, t);
            break;
        }
        }
    }
    if (n)
        ph_buf_putc(&b, ')');
    if (ph_buf_status(&b) == 0)
        ph_log(PH_LOG_INFO, "%s", b.ptr);
    ph_buf_free(&b);
    (void)c;
}

/* ---- connections ---------------------------------------------------------------------- */

ph_db_conn *ph_db_conn_new(ph_db *db)
{
    ph_db_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->db = db;
    c->dialect = db->url.dialect;
    return c;
}

static void cache_clear(ph_db_conn *c)
{
    for (size_t i = 0; i < c->nslots; i++) {
        ph__stmt *st = c->slots[i];
        if (!st)
            continue;
        if (c->dialect == PH_DB_SQLITE)
            ph__sq_finalize(st);
        free(st->sql);
        free(st);
    }
    free(c->slots);
    c->slots = NULL;
    c->nslots = c->nstmts = 0;
}

static void disconnect(ph_db_conn *c)
{
    cache_clear(c);
    if (c->dialect == PH_DB_SQLITE)
        ph__sq_close(c);
    else
        ph__pg_close(c);
    c->in_tx = false;
    c->lost = false;
    wlock_give(c);
}

void ph_db_conn_free(ph_db_conn *c)
{
    if (!c)
        return;
    if (c->in_tx && !c->lost)
        ph_db_rollback(c);
    disconnect(c);
    free(c->pvals);
    free(c->plens);
    free(c->pfmts);
    free(c->ptext);
    ph_buf_free(&c->pbuf);
    for (size_t i = 0; i < c->nmemo; i++)
        free(c->memo[i].text);
    free(c->memo);
    free(c);
}

#define PH__MEMO_MAX 256

const char *ph_db_conn_memo(const ph_db_conn *c, const void *key, int kind)
{
    for (size_t i = 0; i < c->nmemo; i++)
        if (c->memo[i].key == key && c->memo[i].kind == kind)
            return c->memo[i].text;
    return NULL;
}

int ph_db_conn_memo_put(ph_db_conn *c, const void *key, int kind, const char *text)
{
    for (size_t i = 0; i < c->nmemo; i++)
        if (c->memo[i].key == key && c->memo[i].kind == kind)
            return 0; /* the text is the same every time: keep the first */
    if (c->nmemo == PH__MEMO_MAX)
        return PH_ELIMIT;
    if (c->nmemo == c->capmemo) {
        size_t cap = c->capmemo ? c->capmemo * 2 : 16;
        struct ph__memo *m = realloc(c->memo, cap * sizeof(*m));
        if (!m)
            return PH_ENOMEM;
        c->memo = m;
        c->capmemo = cap;
    }
    char *t = strdup(text);
    if (!t)
        return PH_ENOMEM;
    c->memo[c->nmemo++] = (struct ph__memo){key, kind, t};
    return 0;
}

ph_dialect ph_db_conn_dialect(const ph_db_conn *c)
{
    return c->dialect;
}

int ph_db_conn_query_only(ph_db_conn *c, bool on)
{
    if (c->dialect != PH_DB_SQLITE)
        return ph__db_error(c, PH_EMISUSE, "query_only is SQLite's");
    int rc = ph_db_conn_connect(c);
    if (rc < 0 || c->query_only == on)
        return rc;
    rc = ph_db_exec_script(c, on ? "PRAGMA query_only=1" : "PRAGMA query_only=0");
    if (rc == 0) {
        c->query_only = on;
        int full = c->db->busy_timeout_ms;
        c->busy_budget_ms = on && full > 100 ? 100 : full;
    }
    return rc;
}

int ph_db_conn_connect(ph_db_conn *c)
{
    if (c->dialect == PH_DB_SQLITE)
        return c->sq ? 0 : ph__sq_open(c);
    if (c->pg && !c->lost && (c->in_tx || ph__pg_idle_ok(c)))
        return 0;
    if (c->pg) {
        if (!c->lost)
            ph_log_info("PostgreSQL connection closed by the server while idle: reconnecting");
        disconnect(c); /* the old session's statements are gone with it */
    }
    return ph__pg_open(c);
}

size_t ph_db_cached_statements(const ph_db_conn *c)
{
    return c->nstmts;
}

int ph_db_backend_pid(const ph_db_conn *c)
{
    return c->dialect == PH_DB_POSTGRES ? ph__pg_backend_pid(c) : 0;
}

/* ---- statement cache ------------------------------------------------------------------- */

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int cache_grow(ph_db_conn *c)
{
    size_t n = c->nslots ? c->nslots * 2 : 64;
    ph__stmt **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return PH_ENOMEM;
    for (size_t i = 0; i < c->nslots; i++) {
        ph__stmt *st = c->slots[i];
        if (!st)
            continue;
        size_t j = st->hash & (n - 1);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = st;
    }
    free(c->slots);
    c->slots = slots;
    c->nslots = n;
    return 0;
}

static void stmt_discard(ph_db_conn *c, ph__stmt *st)
{
    if (c->dialect == PH_DB_SQLITE)
        ph__sq_finalize(st);
    free(st->sql);
    free(st);
}

/* The prepared statement for sql: from the cache, or prepared now (and
 * cached when there is room and no rows are open on the cached one). */
static int stmt_get(ph_db_conn *c, const char *sql, ph__stmt **out)
{
    *out = NULL;
    int rc = ph_db_conn_connect(c);
    if (rc)
        return rc;
    uint64_t h = hash_sql(sql);
    size_t slot = 0;
    if (c->nslots) {
        slot = h & (c->nslots - 1);
        while (c->slots[slot]) {
            ph__stmt *st = c->slots[slot];
            if (st->hash == h && strcmp(st->sql, sql) == 0) {
                if (!st->busy) {
                    *out = st;
                    return 0;
                }
                break; /* busy: a one-off below */
            }
            slot = (slot + 1) & (c->nslots - 1);
        }
    }
    ph__stmt *st = calloc(1, sizeof(*st));
    if (!st)
        return PH_ENOMEM;
    st->sql = strdup(sql);
    if (!st->sql) {
        free(st);
        return PH_ENOMEM;
    }
    st->hash = h;
    snprintf(st->name, sizeof(st->name), "ph_%u", c->next_id++);
    rc = c->dialect == PH_DB_SQLITE ? ph__sq_prepare(c, st) : ph__pg_prepare(c, st);
    if (rc) {
        stmt_discard(c, st);
        return rc;
    }
    bool can_cache = c->nstmts < PH__STMT_CACHE_MAX;
    if (can_cache && (c->nstmts + 1) * 2 > c->nslots && cache_grow(c) != 0)
        can_cache = false;
    if (can_cache) {
        slot = h & (c->nslots - 1);
        while (c->slots[slot]) {
            if (c->slots[slot]->hash == h && strcmp(c->slots[slot]->sql, sql) == 0) {
                can_cache = false; /* its busy twin keeps the slot */
                break;
            }
            slot = (slot + 1) & (c->nslots - 1);
        }
    }
    if (can_cache) {
        st->cached = true;
        c->slots[slot] = st;
        c->nstmts++;
    }
    *out = st;
    return 0;
}

/* ---- running statements ------------------------------------------------------------------ */

static void after_error(ph_db_conn *c, int rc)
{
    if (rc == PH_ECONNLOST)
        c->lost = true;
    if (c->lost)
        c->in_tx = false; /* the server ended it with the connection */
}

/* Whether a call that found the connection lost may run again on a new
 * one: only outside a transaction, and only for a statement that cannot
 * have written anything (a read, or BEGIN).  A restart's goodbye can arrive
 * between the idle check and the statement; this closes that window
 * without ever replaying a write. */
static bool may_retry(const ph_db_conn *c, bool was_in_tx, int rc, const char *sql)
{
    if (rc != PH_ECONNLOST || was_in_tx || c->dialect != PH_DB_POSTGRES)
        return false;
    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT ", 7) == 0 || strcasecmp(sql, "BEGIN") == 0;
}

static int query_once(ph_db_conn *c, const char *sql, const ph_val *params, size_t n,
                      ph_db_rows *rows);

int ph_db_query(ph_db_conn *c, const char *sql, const ph_val *params, size_t n, ph_db_rows *rows)
{
    bool was_in_tx = c->in_tx;
    int rc = query_once(c, sql, params, n, rows);
    if (may_retry(c, was_in_tx, rc, sql)) {
        ph_log_info("PostgreSQL connection lost before a read: retrying it on a new connection");
        rc = query_once(c, sql, params, n, rows);
    }
    return rc;
}

static int query_once(ph_db_conn *c, const char *sql, const ph_val *params, size_t n,
                      ph_db_rows *rows)
{
    memset(rows, 0, sizeof(*rows));
    rows->conn = c;
    c->errmsg[0] = '\0';
    c->errinfo.kind = PH_DBERR_NONE;
    ph__stmt *st;
    int rc = stmt_get(c, sql, &st);
    if (rc) {
        after_error(c, rc);
        return rc;
    }
    int64_t t0 = c->db->echo ? ph_now_ns() : 0;
    rows->stmt = st;
    rows->sq = c->dialect == PH_DB_SQLITE ? st->h : NULL;
    st->busy = true;
    rc = c->dialect == PH_DB_SQLITE ? ph__sq_run(c, st, params, n, rows)
                                    : ph__pg_run(c, st, params, n, rows);
    if (c->db->echo)
        ph__db_echo(c, sql, params, n, ph_now_ns() - t0);
    if (rc) {
        ph_db_rows_close(rows);
        after_error(c, rc);
    }
    return rc;
}

int ph_db_rows_next(ph_db_rows *r)
{
    if (!r->stmt)
        return 0;
    if (r->sq) {
        int s = sqlite3_step(r->sq);
        if (s == SQLITE_ROW) {
            r->row++;
            return 1;
        }
        if (s == SQLITE_DONE)
            return 0;
        return ph__sq_error(r->conn, s);
    }
    if (r->row + 1 >= r->nrows)
        return 0;
    r->row++;
    return 1;
}

void ph_db_rows_close(ph_db_rows *r)
{
    ph__stmt *st = r->stmt;
    if (!st)
        return;
    ph_db_conn *c = r->conn;
    if (c->dialect == PH_DB_SQLITE)
        ph__sq_reset(st);
    else
        ph__pg_clear(r);
    st->busy = false;
    if (!st->cached)
        stmt_discard(c, st);
    r->stmt = NULL;
    r->sq = NULL;
}

bool ph_db_rows_isnull(ph_db_rows *r, int col)
{
    return r->conn->dialect == PH_DB_SQLITE ? ph__sq_isnull(r, col) : ph__pg_isnull(r, col);
}

int64_t ph_db_rows_int(ph_db_rows *r, int col)
{
    if (r->sq)
        return sqlite3_column_int64(r->sq, col);
    const char *s = ph__pg_text(r, col, NULL);
    if (s[0] == 't')
        return 1;
    /* an integer's text, as PostgreSQL writes it: [-]digits; strtoll for
       anything longer or else (it costs five times as much) */
    const char *p = s + (s[0] == '-');
    uint64_t v = 0;
    int n = 0;
    while ((unsigned)(p[n] - '0') < 10 && n < 18) {
        v = v * 10 + (unsigned)(p[n] - '0');
        n++;
    }
    if (n > 0 && p[n] == '\0')
        return s[0] == '-' ? -(int64_t)v : (int64_t)v;
    return strtoll(s, NULL, 10);
}

double ph_db_rows_double(ph_db_rows *r, int col)
{
    if (r->conn->dialect == PH_DB_SQLITE)
        return ph__sq_double(r, col);
    return strtod(ph__pg_text(r, col, NULL), NULL);
}

bool ph_db_rows_bool(ph_db_rows *r, int col)
{
    if (r->conn->dialect == PH_DB_SQLITE)
        return ph__sq_int(r, col) != 0;
    const char *s = ph__pg_text(r, col, NULL);
    return s[0] == 't' || s[0] == '1';
}

const char *ph_db_rows_text(ph_db_rows *r, int col, size_t *len)
{
    return r->conn->dialect == PH_DB_SQLITE ? ph__sq_text(r, col, len) : ph__pg_text(r, col, len);
}

const char *ph_db_rows_textn(ph_db_rows *r, int col, size_t *len)
{
    if (r->sq) {
        const unsigned char *s = sqlite3_column_text(r->sq, col);
        *len = s ? (size_t)sqlite3_column_bytes(r->sq, col) : 0;
        return (const char *)s;
    }
    /* a NULL reads as "": only an empty value asks libpq which it is */
    const char *s = ph__pg_text(r, col, NULL);
    if (!*s && ph__pg_isnull(r, col)) {
        *len = 0;
        return NULL;
    }
    *len = strlen(s); /* text-format values hold no NUL */
    return s;
}

int ph_db_rows_blob(ph_db_rows *r, int col, ph_arena *a, uint8_t **ptr, size_t *len)
{
    if (r->conn->dialect == PH_DB_POSTGRES)
        return ph__pg_blob(r, col, a, ptr, len);
    size_t n;
    const void *p = ph__sq_blob(r, col, &n);
    *ptr = ph_arena_memdup(a, n ? p : "", n);
    *len = n;
    return *ptr ? 0 : PH_ENOMEM;
}

int ph_db_exec(ph_db_conn *c, const char *sql, const ph_val *params, size_t n)
{
    c->errmsg[0] = '\0';
    c->errinfo.kind = PH_DBERR_NONE;
    ph__stmt *st;
    int rc = stmt_get(c, sql, &st);
    if (rc) {
        after_error(c, rc);
        return rc;
    }
    int64_t t0 = c->db->echo ? ph_now_ns() : 0;
    st->busy = true;
    if (c->dialect == PH_DB_SQLITE) {
        rc = ph__sq_run(c, st, params, n, NULL);
    } else {
        ph_db_rows rows = {.conn = c, .stmt = st};
        rc = ph__pg_run(c, st, params, n, &rows);
        ph__pg_clear(&rows);
    }
    st->busy = false;
    if (!st->cached)
        stmt_discard(c, st);
    if (c->db->echo)
        ph__db_echo(c, sql, params, n, ph_now_ns() - t0);
    after_error(c, rc);
    return rc;
}

static int script_once(ph_db_conn *c, const char *sql);

int ph_db_exec_script(ph_db_conn *c, const char *sql)
{
    bool was_in_tx = c->in_tx;
    int rc = script_once(c, sql);
    if (may_retry(c, was_in_tx, rc, sql)) {
        ph_log_info("PostgreSQL connection lost at BEGIN: retrying it on a new connection");
        rc = script_once(c, sql);
    }
    return rc;
}

static int script_once(ph_db_conn *c, const char *sql)
{
    c->errmsg[0] = '\0';
    c->errinfo.kind = PH_DBERR_NONE;
    int rc = ph_db_conn_connect(c);
    if (rc == 0) {
        int64_t t0 = c->db->echo ? ph_now_ns() : 0;
        rc = c->dialect == PH_DB_SQLITE ? ph__sq_script(c, sql) : ph__pg_script(c, sql);
        if (c->db->echo)
            ph__db_echo(c, sql, NULL, 0, ph_now_ns() - t0);
    }
    after_error(c, rc);
    return rc;
}

int64_t ph_db_changes(const ph_db_conn *c)
{
    return c->changes;
}

int64_t ph_db_last_insert_id(const ph_db_conn *c)
{
    return c->last_id;
}

int ph_db_query_int(ph_db_conn *c, const char *sql, const ph_val *params, size_t n, int64_t *out)
{
    ph_db_rows r;
    int rc = ph_db_query(c, sql, params, n, &r);
    if (rc)
        return rc;
    rc = ph_db_rows_next(&r);
    if (rc == 1) {
        *out = ph_db_rows_int(&r, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = ph__db_error(c, PH_ENOTFOUND, "query returned no row");
    }
    ph_db_rows_close(&r);
    return rc;
}

/* ---- transactions ---------------------------------------------------------------------------- */

/* BEGIN, COMMIT, ROLLBACK: on SQLite through the statement cache (prepared
 * once per connection, not parsed at every transaction); on PostgreSQL as a
 * simple query, which may be retried on a new connection at BEGIN. */
static int tx_statement(ph_db_conn *c, const char *sql)
{
    if (c->dialect == PH_DB_SQLITE)
        return ph_db_exec(c, sql, NULL, 0);
    return ph_db_exec_script(c, sql);
}

int ph_db_begin(ph_db_conn *c, bool write)
{
    if (c->in_tx)
        return ph__db_error(c, PH_EMISUSE, "a transaction is already open");
    bool immediate = c->dialect == PH_DB_SQLITE && write;
    int rc = immediate && c->db->wlock ? wlock_take(c) : 0;
    if (rc)
        return rc;
    rc = tx_statement(c, immediate ? "BEGIN IMMEDIATE" : "BEGIN");
    if (rc == 0)
        c->in_tx = true;
    else
        wlock_give(c);
    return rc;
}

int ph_db_commit(ph_db_conn *c)
{
    if (!c->in_tx)
        return ph__db_error(c, PH_EMISUSE, "no transaction is open");
    int rc = tx_statement(c, "COMMIT");
    if (rc && c->in_tx && !c->lost) {
        /* SQLite keeps the transaction open after a failed COMMIT (busy):
           end it so the database is unchanged and the connection usable. */
        char msg[sizeof(c->errmsg)];
        memcpy(msg, c->errmsg, sizeof(msg));
        tx_statement(c, "ROLLBACK");
        memcpy(c->errmsg, msg, sizeof(msg));
    }
    c->in_tx = false;
    wlock_give(c);
    return rc;
}

int ph_db_rollback(ph_db_conn *c)
{
    if (!c->in_tx)
        return 0;
    c->in_tx = false;
    if (c->lost) {
        wlock_give(c);
        return 0; /* the server ended it with the connection */
    }
    int rc = tx_statement(c, "ROLLBACK");
    wlock_give(c);
    return rc;
}

bool ph_db_in_transaction(const ph_db_conn *c)
{
    return c->in_tx;
}
