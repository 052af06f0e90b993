/*
 * The PostgreSQL driver over libpq: connects with a connect timeout and TCP
 * keepalives (a dead server is an error, never a hang), prepares each
 * statement once per connection under a generated name (`?`
 * rewritten to $n), runs it with text parameters, and maps SQLSTATEs to
 * Phial's codes; a dead connection is PH_ECONNLOST.
 *
 * Every round trip is sent and awaited through libpq's asynchronous calls
 * with a deadline: the server cancels a statement past statement_timeout
 * itself (SQLSTATE 57014), and a server that does not answer at all (a
 * stopped or frozen process, whose kernel still acknowledges packets so
 * keepalives cannot tell) is given up on PH_DB_TIMEOUT_GRACE_MS later, the
 * call returning PH_ETIMEDOUT and the connection dropped.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- libpq, loaded when the first postgresql:// URL is read -------------------
 *
 * libpq is opened with dlopen rather than linked: what it brings along
 * (OpenSSL, Kerberos, LDAP, GnuTLS, p11-kit) costs every process about
 * 6 MB of memory and its start-up time, which an application on SQLite
 * should not pay.  libpq-fe.h still gives the types and prototypes; each
 * PQ* name below is a pointer of the prototype's own type, so every call
 * stays checked by the compiler. */

#ifndef PH_LIBPQ_SONAME
#define PH_LIBPQ_SONAME "libpq.so.5"
#endif

#define PH__PQ_FUNCS(X)                                                                       \
    X(PQbackendPID)                                                                           \
    X(PQclear)                                                                                \
    X(PQcmdTuples)                                                                            \
    X(PQconndefaults)                                                                         \
    X(PQconnectdbParams)                                                                      \
    X(PQconninfoFree)                                                                         \
    X(PQconsumeInput)                                                                         \
    X(PQerrorMessage)                                                                         \
    X(PQfinish)                                                                               \
    X(PQflush)                                                                                \
    X(PQfreemem)                                                                              \
    X(PQgetisnull)                                                                            \
    X(PQgetlength)                                                                            \
    X(PQgetResult)                                                                            \
    X(PQgetvalue)                                                                             \
    X(PQisBusy)                                                                               \
    X(PQnfields)                                                                              \
    X(PQntuples)                                                                              \
    X(PQresultErrorField)                                                                     \
    X(PQresultStatus)                                                                         \
    X(PQsendPrepare)                                                                          \
    X(PQsendQuery)                                                                            \
    X(PQsendQueryPrepared)                                                                    \
    X(PQsetNoticeProcessor)                                                                   \
    X(PQsetnonblocking)                                                                       \
    X(PQsocket)                                                                               \
    X(PQstatus)                                                                               \
    X(PQunescapeBytea)

static struct {
#define PH__PQ_FIELD(f) __typeof__(f) *f;
    PH__PQ_FUNCS(PH__PQ_FIELD)
#undef PH__PQ_FIELD
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_error[256]; /* empty when loaded */

/* PHIAL_LIBPQ names another libpq (a path, or a soname) than the one
 * built against. */
static void pq_load_once(void)
{
    const char *name = getenv("PHIAL_LIBPQ");
    if (!name || !*name)
        name = PH_LIBPQ_SONAME;
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(pq_error, sizeof(pq_error), "PostgreSQL needs libpq, which could not be loaded "
                 "(%s); install it (Debian: apt-get install libpq5)", why ? why : name);
        return;
    }
#define PH__PQ_SYM(f)                                                                         \
    if (!pq_error[0] && !(*(void **)(void *)&pq.f = dlsym(h, #f)))                             \
        snprintf(pq_error, sizeof(pq_error), "PostgreSQL: %s has no %s", name, #f);
    PH__PQ_FUNCS(PH__PQ_SYM)
#undef PH__PQ_SYM
}

int ph__pg_load(char *err, size_t errlen)
{
    pthread_once(&pq_once, pq_load_once);
    if (!pq_error[0])
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", pq_error);
    return PH_ENOTSUP;
}

/* From here on each PQ* call goes through the loaded pointer.  A call to a
 * function missing from these names (and from PH__PQ_FUNCS) fails the
 * link, as libpq itself is not linked. */
#define PQbackendPID pq.PQbackendPID
#define PQclear pq.PQclear
#define PQcmdTuples pq.PQcmdTuples
#define PQconndefaults pq.PQconndefaults
#define PQconnectdbParams pq.PQconnectdbParams
#define PQconninfoFree pq.PQconninfoFree
#define PQconsumeInput pq.PQconsumeInput
#define PQerrorMessage pq.PQerrorMessage
#define PQfinish pq.PQfinish
#define PQflush pq.PQflush
#define PQfreemem pq.PQfreemem
#define PQgetisnull pq.PQgetisnull
#define PQgetlength pq.PQgetlength
#define PQgetResult pq.PQgetResult
#define PQgetvalue pq.PQgetvalue
#define PQisBusy pq.PQisBusy
#define PQnfields pq.PQnfields
#define PQntuples pq.PQntuples
#define PQresultErrorField pq.PQresultErrorField
#define PQresultStatus pq.PQresultStatus
#define PQsendPrepare pq.PQsendPrepare
#define PQsendQuery pq.PQsendQuery
#define PQsendQueryPrepared pq.PQsendQueryPrepared
#define PQsetNoticeProcessor pq.PQsetNoticeProcessor
#define PQsetnonblocking pq.PQsetnonblocking
#define PQsocket pq.PQsocket
#define PQstatus pq.PQstatus
#define PQunescapeBytea pq.PQunescapeBytea

bool ph__pg_known_option(const char *key)
{
    if (ph__pg_load(NULL, 0) != 0)
        return false;
    PQconninfoOption *opts = PQconndefaults();
    bool found = false;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            found = true;
    PQconninfoFree(opts);
    return found;
}

static bool has_param(const ph_db_url *u, const char *key)
{
    for (size_t i = 0; i < u->nparams; i++)
        if (strcmp(u->params[2 * i], key) == 0)
            return true;
    return false;
}

/* Adds key=value unless value is NULL or the URL sets key itself. */
static void add_kv(const char **keys, const char **vals, size_t *n, const ph_db_url *u,
                   const char *k, const char *v)
{
    if (v && !has_param(u, k) && *n < 30) {
        keys[*n] = k;
        vals[*n] = v;
        (*n)++;
    }
}

/* Server notices ("table does not exist, skipping") go to the debug log. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    ph_log_debug("PostgreSQL: %s", message);
}

int ph__pg_open(ph_db_conn *c)
{
    char why[256];
    if (ph__pg_load(why, sizeof(why)) != 0)
        return ph__db_error(c, PH_ENOTSUP, "%s", why);
    const ph_db *d = c->db;
    const ph_db_url *u = &d->url;
    const char *keys[40], *vals[40];
    size_t n = 0;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", d->connect_timeout_s);
    add_kv(keys, vals, &n, u, "host", u->host);
    add_kv(keys, vals, &n, u, "port", u->port);
    add_kv(keys, vals, &n, u, "user", u->user);
    add_kv(keys, vals, &n, u, "password", u->password);
    add_kv(keys, vals, &n, u, "dbname", u->dbname);
    add_kv(keys, vals, &n, u, "connect_timeout", timeout);
    add_kv(keys, vals, &n, u, "keepalives", "1");
    add_kv(keys, vals, &n, u, "keepalives_idle", "10");
    add_kv(keys, vals, &n, u, "keepalives_interval", "5");
    add_kv(keys, vals, &n, u, "keepalives_count", "3");
    add_kv(keys, vals, &n, u, "tcp_user_timeout", "30000"); /* unacknowledged sends: ms */
    add_kv(keys, vals, &n, u, "client_encoding", "UTF8");
    add_kv(keys, vals, &n, u, "application_name", "phial");
    for (size_t i = 0; i < u->nparams && n < 39; i++) {
        keys[n] = u->params[2 * i];
        vals[n] = u->params[2 * i + 1];
        n++;
    }
    keys[n] = vals[n] = NULL;
    PGconn *pg = PQconnectdbParams(keys, vals, 0);
    if (!pg)
        return ph__db_error(c, PH_ENOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(pg) != CONNECTION_OK) {
        const char *m = PQerrorMessage(pg);
        size_t len = strlen(m);
        while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
            len--;
        ph__db_error(c, PH_ECONNLOST, "cannot connect to PostgreSQL: %.*s", (int)len, m);
        PQfinish(pg);
        return PH_ECONNLOST;
    }
    PQsetNoticeProcessor(pg, on_notice, NULL);
    c->pg = pg;
    c->lost = false;
    if (PQsetnonblocking(pg, 1) != 0) {
        ph__pg_close(c);
        return ph__db_error(c, PH_EDB, "cannot make the PostgreSQL connection non-blocking");
    }
    if (d->statement_timeout_ms > 0) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SET statement_timeout = %d", d->statement_timeout_ms);
        int rc = ph__pg_script(c, sql);
        if (rc) {
            ph__pg_close(c);
            return rc;
        }
    }
    return 0;
}

/* A connection the server answered within this long is taken as alive
 * without asking the socket: a busy thread's statements then pay no poll.
 * A goodbye that arrives in that window is still caught, by the retry of
 * a read or BEGIN (db.c) or as PH_ECONNLOST for a write. */
#define PG_IDLE_CHECK_NS (5 * 1000000LL)

bool ph__pg_idle_ok(ph_db_conn *c)
{
    PGconn *pg = c->pg;
    if (PQstatus(pg) != CONNECTION_OK)
        return false;
    if (ph_now_ns() - c->pg_answered_ns < PG_IDLE_CHECK_NS)
        return true;
    struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
    if (p.fd < 0)
        return false;
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    /* an idle connection has nothing to read: whatever is there is the
       server saying goodbye (57P01 on shutdown) or the end of the stream */
    return n == 0;
}

/* Milliseconds left until deadline_ms (a ph_now_ns()/1e6 time); -1: none. */
static int remaining_ms(int64_t deadline_ms)
{
    if (deadline_ms < 0)
        return -1;
    int64_t left = deadline_ms - ph_now_ns() / 1000000;
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits until the socket is ready for events or the deadline passes.
 * 1 ready, 0 timed out, -1 error. */
static int wait_socket(PGconn *pg, short events, int64_t deadline_ms)
{
    struct pollfd p = {.fd = PQsocket(pg), .events = events};
    if (p.fd < 0)
        return -1;
    for (;;) {
        int n = poll(&p, 1, remaining_ms(deadline_ms));
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* The server did not answer in time: the connection is given up (its
 * session may still hold locks; closing it lets the server end them). */
static int timed_out(ph_db_conn *c)
{
    c->lost = true;
    return ph__db_error(c, PH_ETIMEDOUT,
                        "PostgreSQL did not answer within %d ms (statement timeout %d ms + %d ms): "
                        "the server is stopped or overloaded",
                        c->db->statement_timeout_ms + PH_DB_TIMEOUT_GRACE_MS,
                        c->db->statement_timeout_ms, PH_DB_TIMEOUT_GRACE_MS);
}

static int pg_error(ph_db_conn *c, PGresult *res);

/* After a PQsend* call (sent is its result): flushes the request and
 * collects the results, keeping the first failed one, else the last.
 * 0 with *out set (PQclear it), or a PH_E* code (nothing to clear). */
static int await(ph_db_conn *c, int sent, PGresult **out)
{
    PGconn *pg = c->pg;
    *out = NULL;
    if (!sent)
        return pg_error(c, NULL);
    int64_t deadline =
        c->db->statement_timeout_ms > 0
            ? ph_now_ns() / 1000000 + c->db->statement_timeout_ms + PH_DB_TIMEOUT_GRACE_MS
            : -1;
    int f;
    while ((f = PQflush(pg)) == 1) {
        int w = wait_socket(pg, POLLOUT | POLLIN, deadline);
        if (w == 0)
            return timed_out(c);
        if (w < 0 || !PQconsumeInput(pg))
            return pg_error(c, NULL);
    }
    if (f < 0)
        return pg_error(c, NULL);
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(pg)) {
            int w = wait_socket(pg, POLLIN, deadline);
            if (w == 0) {
                PQclear(keep);
                return timed_out(c);
            }
            if (w < 0 || !PQconsumeInput(pg))
                break; /* PQgetResult reports the failure */
        }
        PGresult *r = PQgetResult(pg);
        if (!r)
            break;
        bool kept_failed = keep && PQresultStatus(keep) != PGRES_COMMAND_OK &&
                           PQresultStatus(keep) != PGRES_TUPLES_OK;
        if (kept_failed) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
        if (PQstatus(pg) == CONNECTION_BAD)
            break;
    }
    if (!keep)
        return pg_error(c, NULL);
    if (PQstatus(pg) == CONNECTION_OK)
        c->pg_answered_ns = ph_now_ns();
    ExecStatusType s = PQresultStatus(keep);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        int rc = pg_error(c, keep);
        PQclear(keep);
        return rc;
    }
    *out = keep;
    return 0;
}

void ph__pg_close(ph_db_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
}

int ph__pg_backend_pid(const ph_db_conn *c)
{
    return c->pg ? PQbackendPID(c->pg) : 0;
}

static void trim_copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
    size_t len = strlen(dst);
    while (len && (dst[len - 1] == '\n' || dst[len - 1] == ' '))
        dst[--len] = '\0';
}

/* Maps a failed result (res may be NULL) to a code and message. */
static int pg_error(ph_db_conn *c, PGresult *res)
{
    PGconn *pg = c->pg;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char primary[256];
    trim_copy(primary, sizeof(primary),
              res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                  ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                  : PQerrorMessage(pg));
    if (PQstatus(pg) == CONNECTION_BAD ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0))) {
        c->lost = true;
        return ph__db_error(c, PH_ECONNLOST, "PostgreSQL connection lost: %s", primary);
    }
    if (!state)
        return ph__db_error(c, PH_EDB, "%s", primary);
    if (strncmp(state, "23", 2) == 0) {
        ph_db_errkind kind = strcmp(state, "23505") == 0   ? PH_DBERR_UNIQUE
                             : strcmp(state, "23502") == 0 ? PH_DBERR_NOT_NULL
                             : strcmp(state, "23503") == 0 ? PH_DBERR_FOREIGN_KEY
                             : strcmp(state, "23514") == 0 ? PH_DBERR_CHECK
                                                           : PH_DBERR_OTHER;
        const char *kname = kind == PH_DBERR_OTHER ? "integrity" : ph_db_errkind_name(kind);
        const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
        const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        char col[128] = "";
        bool referenced = detail && strstr(detail, "is still referenced from table");
        if (column) {
            snprintf(col, sizeof(col), "%s", column);
        } else if (detail && strncmp(detail, "Key (", 5) == 0 && !referenced) {
            /* "Key (a, b)=(1, 2) already exists.": the key's columns */
            const char *end = strstr(detail + 5, ")=(");
            if (end)
                snprintf(col, sizeof(col), "%.*s", (int)(end - detail - 5), detail + 5);
        }
        char upper[32];
        snprintf(upper, sizeof(upper), "%s", kname);
        for (char *u = upper; *u; u++)
            *u = (char)(*u >= 'a' && *u <= 'z' ? *u - 32 : *u);
        ph__db_error(c, PH_ECONSTRAINT, "%s constraint failed: %s%s%s (%s)", upper,
                     table ? table : "?", col[0] ? "." : "", col, primary);
        ph__db_errinfo_set(c, kind, table, table ? strlen(table) : 0, col[0] ? col : NULL,
                           strlen(col), cons);
        return PH_ECONSTRAINT;
    }
    if (strcmp(state, "42P01") == 0) {
        /* undefined_table: 'relation "user" does not exist' */
        const char *q1 = strchr(primary, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        ph__db_error(c, PH_EDB, "%s (SQLSTATE %s)", primary, state);
        ph__db_errinfo_set(c, PH_DBERR_NO_TABLE, q2 ? q1 + 1 : NULL, q2 ? (size_t)(q2 - q1 - 1) : 0,
                           NULL, 0, NULL);
        return PH_EDB;
    }
    int code = PH_EDB;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        code = PH_EBUSY;
    else if (strcmp(state, "57014") == 0)
        code = PH_ETIMEDOUT;
    else if (strcmp(state, "22001") == 0)
        code = PH_ETOOLONG;
    else if (strcmp(state, "53200") == 0)
        code = PH_ENOMEM;
    ph__db_error(c, code, "%s (SQLSTATE %s)", primary, state);
    if (strcmp(state, "22001") == 0)
        ph__db_errinfo_set(c, PH_DBERR_TOO_LONG, NULL, 0, NULL, 0, NULL);
    else if (strcmp(state, "22003") == 0)
        ph__db_errinfo_set(c, PH_DBERR_RANGE, NULL, 0, NULL, 0, NULL);
    else if (strncmp(state, "22", 2) == 0)
        ph__db_errinfo_set(c, PH_DBERR_INVALID, NULL, 0, NULL, 0, NULL);
    return code;
}

/* Length of the dollar-quote tag ($tag$ or $$) starting at p, or 0 when
 * p does not start one (a tag is an identifier without a leading digit). */
static size_t dollar_tag(const char *p)
{
    size_t i = 1;
    if (p[i] >= '0' && p[i] <= '9')
        return 0;
    while ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
           (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || (unsigned char)p[i] >= 0x80)
        i++;
    return p[i] == '$' ? i + 1 : 0;
}

/* `?` to $1, $2... where PostgreSQL's lexer would see an operator: not
 * inside '...' (nor E'...' with its backslash escapes), "...", $tag$...$tag$,
 * -- line comments or (nested) block comments.  NULL when out of memory. */
static char *translate(const char *sql, int *nparams)
{
    size_t len = strlen(sql), q = 0;
    for (const char *p = sql; *p; p++)
        q += *p == '?';
    char *out = malloc(len + q * 6 + 1);
    if (!out)
        return NULL;
    char *o = out;
    int k = 0;
    const char *p = sql;
    while (*p) {
        const char *from = p;
        if (*p == '\'' || *p == '"') {
            /* E'...' (or e'...') takes backslash escapes; '' and "" are a
               doubled quote and simply reopen the literal */
            bool esc = *p == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                       (p - 1 == sql || !(((p[-2] | 0x20) >= 'a' && (p[-2] | 0x20) <= 'z') ||
                                          (p[-2] >= '0' && p[-2] <= '9') || p[-2] == '_'));
            char quote = *p++;
            while (*p && *p != quote) {
                if (esc && *p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p)
                p++;
        } else if (*p == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (*p == '/' && p[1] == '*') {
            int depth = 0;
            do {
                if (*p == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (*p == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            } while (*p && depth > 0);
        } else if (*p == '$' && dollar_tag(p) &&
                   !(p > sql && (((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z') ||
                                 (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_'))) {
            size_t t = dollar_tag(p);
            const char *tag = p;
            p += t;
            while (*p && !(*p == '$' && strncmp(p, tag, t) == 0))
                p++;
            p += *p ? t : 0;
        } else if (*p == '?') {
            o += sprintf(o, "$%d", ++k);
            p++;
            continue;
        } else {
            p++;
        }
        memcpy(o, from, (size_t)(p - from));
        o += p - from;
    }
    *o = '\0';
    *nparams = k;
    return out;
}

int ph__pg_prepare(ph_db_conn *c, ph__stmt *st)
{
    int nparams;
    char *sql = translate(st->sql, &nparams);
    if (!sql)
        return ph__db_error(c, PH_ENOMEM, "out of memory");
    int sent = PQsendPrepare(c->pg, st->name, sql, 0, NULL);
    free(sql);
    PGresult *res;
    int rc = await(c, sent, &res);
    PQclear(res);
    return rc;
}

static int grow_params(ph_db_conn *c, size_t n)
{
    if (n <= c->pcap)
        return 0;
    size_t cap = n < 16 ? 16 : n * 2;
    const char **pv = realloc(c->pvals, cap * sizeof(*pv));
    if (pv)
        c->pvals = pv;
    int *pl = realloc(c->plens, cap * sizeof(*pl));
    if (pl)
        c->plens = pl;
    int *pf = realloc(c->pfmts, cap * sizeof(*pf));
    if (pf)
        c->pfmts = pf;
    char(*pt)[40] = realloc(c->ptext, cap * sizeof(*pt));
    if (pt)
        c->ptext = pt;
    if (!pv || !pl || !pf || !pt)
        return PH_ENOMEM;
    c->pcap = cap;
    return 0;
}

int ph__pg_run(ph_db_conn *c, ph__stmt *st, const ph_val *p, size_t n, ph_db_rows *rows)
{
    if (grow_params(c, n))
        return ph__db_error(c, PH_ENOMEM, "out of memory");
    ph_buf_clear(&c->pbuf);
    for (size_t i = 0; i < n; i++) {
        char *t = c->ptext[i];
        c->pfmts[i] = 0;
        c->plens[i] = 0;
        c->pvals[i] = t;
        switch (p[i].type) {
        case PH_VAL_NULL:
            c->pvals[i] = NULL;
            break;
        case PH_VAL_INT:
            snprintf(t, 40, "%lld", (long long)p[i].u.i);
            break;
        case PH_VAL_DOUBLE:
            snprintf(t, 40, "%.17g", p[i].u.d);
            break;
        case PH_VAL_BOOL:
            snprintf(t, 40, "%s", p[i].u.b ? "true" : "false");
            break;
        case PH_VAL_DATETIME: {
            /* UTC: a TIMESTAMP WITH TIME ZONE reads the offset, a plain
               TIMESTAMP ignores it */
            ph_datetime_format(p[i].u.i, t, 36);
            size_t tl = strlen(t);
            memcpy(t + tl, "+00", 4);
            break;
        }
        case PH_VAL_DECIMAL:
            ph_decimal_format(p[i].u.dec.units, p[i].u.dec.scale, t, 40);
            break;
        case PH_VAL_DATE:
            ph_date_format((int32_t)p[i].u.i, t, 40);
            break;
        case PH_VAL_TEXT:
            if (memchr(p[i].u.s.ptr, 0, p[i].u.s.len))
                return ph__db_error(c, PH_EINVAL, "text value holds a NUL byte");
            /* text format wants a NUL-terminated copy; pointers set below */
            c->plens[i] = (int)c->pbuf.len;
            ph_buf_append(&c->pbuf, p[i].u.s.ptr, p[i].u.s.len);
            ph_buf_putc(&c->pbuf, '\0');
            break;
        case PH_VAL_BLOB:
            if (p[i].u.s.len > (size_t)INT32_MAX)
                return ph__db_error(c, PH_ETOOLONG, "value too long");
            /* binary format: bytea takes the bytes as they are */
            c->pvals[i] = p[i].u.s.len ? p[i].u.s.ptr : "";
            c->plens[i] = (int)p[i].u.s.len;
            c->pfmts[i] = 1;
            break;
        }
    }
    if (ph_buf_status(&c->pbuf)) {
        ph_buf_free(&c->pbuf);
        return ph__db_error(c, PH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].type == PH_VAL_TEXT) {
            c->pvals[i] = c->pbuf.ptr + c->plens[i];
            c->plens[i] = 0;
        }
    }
    PGresult *res;
    int rc = await(c, PQsendQueryPrepared(c->pg, st->name, (int)n, c->pvals, c->plens, c->pfmts, 0),
                   &res);
    if (rc)
        return rc;
    const char *t = PQcmdTuples(res);
    c->changes = t && *t ? strtoll(t, NULL, 10) : 0;
    rows->result = res;
    rows->nrows = PQntuples(res);
    rows->ncols = PQnfields(res);
    rows->row = -1;
    return 0;
}

void ph__pg_clear(ph_db_rows *r)
{
    if (r->result)
        PQclear(r->result);
    r->result = NULL;
}

int ph__pg_script(ph_db_conn *c, const char *sql)
{
    PGresult *res;
    int rc = await(c, PQsendQuery(c->pg, sql), &res);
    if (rc == 0) {
        const char *t = PQcmdTuples(res);
        c->changes = t && *t ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(res);
    return rc;
}

bool ph__pg_isnull(ph_db_rows *r, int col)
{
    return PQgetisnull(r->result, r->row, col) != 0;
}

const char *ph__pg_text(ph_db_rows *r, int col, size_t *len)
{
    if (len)
        *len = (size_t)PQgetlength(r->result, r->row, col);
    return PQgetvalue(r->result, r->row, col);
}

int ph__pg_blob(ph_db_rows *r, int col, ph_arena *a, uint8_t **ptr, size_t *len)
{
    const char *s = PQgetvalue(r->result, r->row, col);
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)s, &n);
    if (!raw)
        return PH_ENOMEM;
    *ptr = ph_arena_memdup(a, n ? (const void *)raw : "", n);
    *len = n;
    PQfreemem(raw);
    return *ptr ? 0 : PH_ENOMEM;
}
