/*
 * The raw-C baseline of the side-by-side benchmarks: every workload of
 * bench/http written by hand directly on libmicrohttpd and sqlite3 or
 * libpq, with no framework and no ORM -- one process, libmicrohttpd's epoll
 * thread pool, one database connection per thread with its statements
 * prepared once.  It runs the same queries as the Flask peer and sends the
 * same bytes as the peer's templates (the harness checks that), so the gap
 * between Phial and this server is what the framework costs.
 *
 *   baseline --port P --db URL [--threads N]
 *
 * URL is sqlite:///relative.db, sqlite:////absolute.db or a libpq
 * postgresql:// URL.  The tables are the peer's (user, pethandler,
 * petcategory, petcomment, world, fortune) and must exist.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { WORLD_ROWS = 10000, MAX_QUERIES = 500, MAX_BODY = 65536, MAX_FORTUNES = 64 };

/* The statements, in the same order for both databases. */
enum { Q_USERS, Q_HANDLER, Q_PETS, Q_PET, Q_COMMENT, Q_WORLD, Q_UPDATE, Q_FORTUNES, NQ };

static const char *const sql_sqlite[NQ] = {
    "SELECT id, username, user_email, user_password FROM \"user\" ORDER BY id",
    "SELECT handler_id, handler_name FROM pethandler WHERE handler_id = ?",
    "SELECT pet_id, pet_name, pet_category, handler_id FROM petcategory WHERE handler_id = ?",
    "SELECT pet_id, pet_name, pet_category, handler_id FROM petcategory WHERE pet_id = ?",
    "INSERT INTO petcomment (comment_content, pet_id) VALUES (?, ?)",
    "SELECT id, randomnumber FROM world WHERE id = ?",
    "UPDATE world SET randomnumber = ? WHERE id = ?",
    "SELECT id, message FROM fortune",
};
static const char *const sql_pg[NQ] = {
    "SELECT id, username, user_email, user_password FROM \"user\" ORDER BY id",
    "SELECT handler_id, handler_name FROM pethandler WHERE handler_id = $1",
    "SELECT pet_id, pet_name, pet_category, handler_id FROM petcategory WHERE handler_id = $1",
    "SELECT pet_id, pet_name, pet_category, handler_id FROM petcategory WHERE pet_id = $1",
    "INSERT INTO petcomment (comment_content, pet_id) VALUES ($1, $2) RETURNING comment_id",
    "SELECT id, randomnumber FROM world WHERE id = $1",
    "UPDATE world SET randomnumber = $1 WHERE id = $2",
    "SELECT id, message FROM fortune",
};
static const char *const qname[NQ] = {"users", "handler", "pets", "pet",
                                      "comment", "world", "update", "fortunes"};

typedef struct server {
    const char *url;
    bool pg;
    const char *sqlite_path;
} server;

/* One thread's connection and prepared statements. */
typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[NQ];
    PGconn *pg;
} conn;

/* libmicrohttpd runs each connection on one pool thread: the connection of
 * that thread lives here, made on its first request. */
static _Thread_local conn *thread_conn;

/* A growable output buffer. */
typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_int(buf *b, long long v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", v);
    put(b, t, (size_t)n);
}

/* HTML-escapes as markupsafe does (& < > " '). */
static void put_html(buf *b, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&#34;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        put(b, s + from, i - from);
        puts_(b, e);
        from = i + 1;
    }
    put(b, s + from, n - from);
}

/* ---- the database ------------------------------------------------------- */

static void conn_free(conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < NQ; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    if (c->pg)
        PQfinish(c->pg);
    free(c);
}

/* The calling thread's connection, opened and prepared on first use; NULL
 * when the database cannot be reached (the request gets a 503). */
static conn *get_conn(const server *s)
{
    if (thread_conn)
        return thread_conn;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (s->pg) {
        c->pg = PQconnectdb(s->url);
        if (PQstatus(c->pg) != CONNECTION_OK) {
            fprintf(stderr, "baseline: %s", PQerrorMessage(c->pg));
            conn_free(c);
            return NULL;
        }
        for (int i = 0; i < NQ; i++) {
            PGresult *r = PQprepare(c->pg, qname[i], sql_pg[i], 0, NULL);
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!ok) {
                fprintf(stderr, "baseline: %s", PQerrorMessage(c->pg));
                conn_free(c);
                return NULL;
            }
        }
    } else {
        if (sqlite3_open_v2(s->sqlite_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK ||
            sqlite3_exec(c->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                         "PRAGMA foreign_keys=ON",
                         NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "baseline: %s\n", sqlite3_errmsg(c->db));
            conn_free(c);
            return NULL;
        }
        sqlite3_busy_timeout(c->db, 5000);
        for (int i = 0; i < NQ; i++)
            if (sqlite3_prepare_v3(c->db, sql_sqlite[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
                                   NULL) != SQLITE_OK) {
                fprintf(stderr, "baseline: %s: %s\n", sql_sqlite[i], sqlite3_errmsg(c->db));
                conn_free(c);
                return NULL;
            }
    }
    thread_conn = c;
    return c;
}

/* A result set over either database: rows are read with row_next and the
 * column accessors. */
typedef struct rows {
    conn *c;
    sqlite3_stmt *st;
    PGresult *r;
    int row, nrows;
    bool failed;
} rows;

/* Runs statement q with up to two integer or text parameters (text when
 * the int is ignored: pass txt non-NULL).  Check rows.failed. */
static rows run(conn *c, int q, int nparams, const long long *ints, const char *txt)
{
    rows rs = {.c = c, .row = -1};
    if (c->pg) {
        char v[2][24];
        const char *vals[2] = {NULL, NULL};
        for (int i = 0; i < nparams; i++) {
            if (i == 0 && txt) {
                vals[i] = txt;
            } else {
                snprintf(v[i], sizeof(v[i]), "%lld", ints[i]);
                vals[i] = v[i];
            }
        }
        rs.r = PQexecPrepared(c->pg, qname[q], nparams, vals, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(rs.r);
        rs.failed = st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK;
        rs.nrows = rs.failed ? 0 : PQntuples(rs.r);
        if (rs.failed)
            fprintf(stderr, "baseline: %s", PQerrorMessage(c->pg));
        return rs;
    }
    rs.st = c->st[q];
    for (int i = 0; i < nparams; i++) {
        if (i == 0 && txt)
            sqlite3_bind_text(rs.st, 1, txt, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(rs.st, i + 1, ints[i]);
    }
    return rs;
}

/* Advances to the next row: true when there is one. */
static bool row_next(rows *rs)
{
    if (rs->failed)
        return false;
    if (rs->r)
        return ++rs->row < rs->nrows;
    int rc = sqlite3_step(rs->st);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "baseline: %s\n", sqlite3_errmsg(rs->c->db));
        rs->failed = true;
    }
    return false;
}

static long long col_int(rows *rs, int i)
{
    return rs->r ? strtoll(PQgetvalue(rs->r, rs->row, i), NULL, 10)
                 : sqlite3_column_int64(rs->st, i);
}

static const char *col_text(rows *rs, int i, size_t *len)
{
    if (rs->r) {
        *len = (size_t)PQgetlength(rs->r, rs->row, i);
        return PQgetvalue(rs->r, rs->row, i);
    }
    const char *t = (const char *)sqlite3_column_text(rs->st, i);
    *len = (size_t)sqlite3_column_bytes(rs->st, i);
    return t ? t : "";
}

/* Runs a statement that returns no rows to its end. */
static bool run_done(rows *rs)
{
    while (row_next(rs)) {
    }
    return !rs->failed;
}

static void rows_close(rows *rs)
{
    if (rs->r)
        PQclear(rs->r);
    if (rs->st) {
        sqlite3_reset(rs->st);
        sqlite3_clear_bindings(rs->st);
    }
}

/* BEGIN / COMMIT / ROLLBACK (not prepared: fixed strings, cheap on both). */
static bool exec_plain(conn *c, const char *sql)
{
    if (c->pg) {
        PGresult *r = PQexec(c->pg, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        return ok;
    }
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* ---- responses ------------------------------------------------------------ */

/* Queues status with body (taken over, freed by libmicrohttpd). */
static enum MHD_Result reply(struct MHD_Connection *mc, unsigned status, const char *type, buf *b)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        b->len = 0;
        status = 500;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(b->len, b->p ? b->p : (void *)"", b->p ? MHD_RESPMEM_MUST_FREE
                                                                            : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(b->p);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Server", "baseline");
    enum MHD_Result ok = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_static(struct MHD_Connection *mc, unsigned status, const char *type,
                                    const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Server", "baseline");
    enum MHD_Result ok = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    return ok;
}

static const char HTML[] = "text/html; charset=utf-8";
static const char JSON[] = "application/json";

static enum MHD_Result unavailable(struct MHD_Connection *mc)
{
    return reply_static(mc, 503, HTML, "Service Unavailable");
}

static enum MHD_Result not_found(struct MHD_Connection *mc)
{
    return reply_static(mc, 404, HTML, "Not Found");
}

/* ---- the workloads ----------------------------------------------------------- */

static enum MHD_Result users_page(struct MHD_Connection *mc, conn *c)
{
    buf b = {0};
    puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"UTF-8\"><title>Users"
              "</title></head>\n<body>\n<table>\n<tr><th>id</th><th>username</th><th>email</th>"
              "</tr>\n");
    rows rs = run(c, Q_USERS, 0, NULL, NULL);
    size_t n;
    const char *t;
    while (row_next(&rs)) {
        puts_(&b, "<tr><td>");
        put_int(&b, col_int(&rs, 0));
        puts_(&b, "</td><td>");
        t = col_text(&rs, 1, &n);
        put_html(&b, t, n);
        puts_(&b, "</td><td>");
        t = col_text(&rs, 2, &n);
        put_html(&b, t, n);
        puts_(&b, "</td></tr>\n");
    }
    bool failed = rs.failed;
    rows_close(&rs);
    if (failed) {
        free(b.p);
        return unavailable(mc);
    }
    puts_(&b, "</table>\n</body>\n</html>");
    return reply(mc, 200, HTML, &b);
}

static enum MHD_Result handler_page(struct MHD_Connection *mc, conn *c, long long id)
{
    buf b = {0};
    size_t n;
    const char *t;
    rows rs = run(c, Q_HANDLER, 1, &id, NULL);
    if (!row_next(&rs)) {
        bool failed = rs.failed;
        rows_close(&rs);
        return failed ? unavailable(mc) : not_found(mc);
    }
    t = col_text(&rs, 1, &n);
    puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"UTF-8\"><title>");
    put_html(&b, t, n);
    puts_(&b, "</title></head>\n<body>\n<h1>");
    put_html(&b, t, n);
    puts_(&b, "</h1>\n<ul>\n");
    rows_close(&rs);
    rs = run(c, Q_PETS, 1, &id, NULL);
    while (row_next(&rs)) {
        puts_(&b, "<li>");
        t = col_text(&rs, 1, &n);
        put_html(&b, t, n);
        puts_(&b, " (");
        t = col_text(&rs, 2, &n);
        put_html(&b, t, n);
        puts_(&b, ")</li>\n");
    }
    bool failed = rs.failed;
    rows_close(&rs);
    if (failed) {
        free(b.p);
        return unavailable(mc);
    }
    puts_(&b, "</ul>\n</body>\n</html>");
    return reply(mc, 200, HTML, &b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes application/x-www-form-urlencoded value of name from body into
 * out (NUL-terminated); false when absent. */
static bool form_value(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nl && memcmp(body + i, name, nl) == 0 && body[i + nl] == '=') {
            size_t o = 0;
            for (size_t k = i + nl + 1; k < end && o + 1 < cap; k++) {
                char ch = body[k];
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && k + 2 < end && hexval(body[k + 1]) >= 0 &&
                           hexval(body[k + 2]) >= 0) {
                    ch = (char)(hexval(body[k + 1]) * 16 + hexval(body[k + 2]));
                    k += 2;
                }
                out[o++] = ch;
            }
            out[o] = '\0';
            return true;
        }
        i = end + 1;
    }
    return false;
}

static enum MHD_Result add_comment(struct MHD_Connection *mc, conn *c, long long pet_id,
                                   const buf *body)
{
    char text[256];
    if (!form_value(body->p ? body->p : "", body->len, "comment_content", text, sizeof(text)))
        return reply_static(mc, 400, HTML, "Bad Request");
    rows rs = run(c, Q_PET, 1, &pet_id, NULL);
    bool found = row_next(&rs), failed = rs.failed;
    rows_close(&rs);
    if (failed)
        return unavailable(mc);
    if (!found)
        return not_found(mc);
    /* the peer's statements: the INSERT in its own transaction */
    bool ok = exec_plain(c, c->pg ? "BEGIN" : "BEGIN IMMEDIATE");
    if (ok) {
        long long p[2] = {0, pet_id};
        rs = run(c, Q_COMMENT, 2, p, text);
        ok = run_done(&rs);
        rows_close(&rs);
        ok = ok ? exec_plain(c, "COMMIT") : (exec_plain(c, "ROLLBACK"), false);
    }
    return ok ? reply_static(mc, 201, HTML, "Comment added") : unavailable(mc);
}

/* The `queries` argument: 1..500, 1 when missing or not an integer. */
static int query_count(struct MHD_Connection *mc)
{
    const char *s = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "queries");
    if (!s || !*s)
        return 1;
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (*e || e == s)
        return 1;
    if (v < 1)
        return 1;
    return v > MAX_QUERIES || errno == ERANGE ? MAX_QUERIES : (int)v;
}

static unsigned random_id(unsigned *seed)
{
    return (unsigned)(rand_r(seed) % WORLD_ROWS) + 1;
}

/* The randomnumber of World id into *num: false on a database failure. */
static bool world_get(conn *c, long long id, long long *num)
{
    rows rs = run(c, Q_WORLD, 1, &id, NULL);
    bool found = row_next(&rs);
    *num = found ? col_int(&rs, 1) : 0;
    bool ok = !rs.failed && found;
    rows_close(&rs);
    return ok;
}

static int id_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* /db, /queries and /updates with the peer's statements in the peer's
 * order: every SELECT first, then, for updates, every UPDATE in one
 * transaction (SQLite: BEGIN IMMEDIATE, as a read lock upgraded later fails
 * with SQLITE_BUSY instead of waiting).  Updates take their ids in
 * ascending order, as Phial does: concurrent transactions that lock rows in
 * one order cannot deadlock on PostgreSQL. */
static enum MHD_Result worlds(struct MHD_Connection *mc, conn *c, bool array, bool update,
                              unsigned *seed)
{
    int n = array ? query_count(mc) : 1;
    long long ids[MAX_QUERIES], nums[MAX_QUERIES];
    for (int i = 0; i < n; i++) {
        bool again;
        do { /* distinct ids for updates, as the peer's random.sample */
            ids[i] = random_id(seed);
            again = false;
            for (int j = 0; update && j < i; j++)
                again = again || ids[j] == ids[i];
        } while (again);
    }
    if (update)
        qsort(ids, (size_t)n, sizeof ids[0], id_cmp);
    bool ok = true;
    for (int i = 0; ok && i < n; i++)
        ok = world_get(c, ids[i], &nums[i]);
    if (ok && update) {
        ok = exec_plain(c, c->pg ? "BEGIN" : "BEGIN IMMEDIATE");
        for (int i = 0; ok && i < n; i++) {
            nums[i] = random_id(seed);
            long long p[2] = {nums[i], ids[i]};
            rows rs = run(c, Q_UPDATE, 2, p, NULL);
            ok = run_done(&rs);
            rows_close(&rs);
        }
        ok = ok ? exec_plain(c, "COMMIT") : (exec_plain(c, "ROLLBACK"), false);
    }
    if (!ok)
        return unavailable(mc);
    buf b = {0};
    if (array)
        puts_(&b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            puts_(&b, ",");
        puts_(&b, "{\"id\":");
        put_int(&b, ids[i]);
        puts_(&b, ",\"randomNumber\":");
        put_int(&b, nums[i]);
        puts_(&b, "}");
    }
    puts_(&b, array ? "]\n" : "\n");
    return reply(mc, 200, JSON, &b);
}

typedef struct fortune {
    long long id;
    char *msg;
} fortune;

static int fortune_cmp(const void *a, const void *b)
{
    return strcmp(((const fortune *)a)->msg, ((const fortune *)b)->msg);
}

static enum MHD_Result fortunes(struct MHD_Connection *mc, conn *c)
{
    fortune f[MAX_FORTUNES + 1];
    int n = 0;
    rows rs = run(c, Q_FORTUNES, 0, NULL, NULL);
    while (n < MAX_FORTUNES && row_next(&rs)) {
        size_t len;
        const char *t = col_text(&rs, 1, &len);
        f[n].id = col_int(&rs, 0);
        f[n].msg = strndup(t, len);
        n++;
    }
    bool failed = rs.failed;
    rows_close(&rs);
    f[n].id = 0;
    f[n++].msg = strdup("Additional fortune added at request time.");
    qsort(f, (size_t)n, sizeof f[0], fortune_cmp);
    buf b = {0};
    puts_(&b, "<!DOCTYPE html>\n<html><head><title>Fortunes</title></head><body><table><tr><th>"
              "id</th><th>message</th></tr>\n");
    for (int i = 0; i < n; i++) {
        puts_(&b, "<tr><td>");
        put_int(&b, f[i].id);
        puts_(&b, "</td><td>");
        if (f[i].msg)
            put_html(&b, f[i].msg, strlen(f[i].msg));
        else
            b.oom = true;
        puts_(&b, "</td></tr>\n");
        free(f[i].msg);
    }
    puts_(&b, "</table></body></html>");
    if (failed) {
        free(b.p);
        return unavailable(mc);
    }
    return reply(mc, 200, HTML, &b);
}

/* Parses "/prefix<int>suffix" into *id. */
static bool path_id(const char *url, const char *prefix, const char *suffix, long long *id)
{
    size_t pl = strlen(prefix);
    if (strncmp(url, prefix, pl) != 0)
        return false;
    char *e;
    long long v = strtoll(url + pl, &e, 10);
    if (e == url + pl || strcmp(e, suffix) != 0 || v < 0)
        return false;
    *id = v;
    return true;
}

typedef struct request {
    buf body;
} request;

static enum MHD_Result handle(void *cls, struct MHD_Connection *mc, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)version;
    const server *s = cls;
    bool post = strcmp(method, "POST") == 0;
    request *r = *req_cls;
    if (!r) {
        /* libmicrohttpd 0.9.75 closes the connection after a response queued
         * on the first call: answer on the second, as servers on it do */
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *req_cls = r;
        return MHD_YES;
    }
    if (post) { /* collect the body first */
        if (*upload_size) {
            if (r->body.len + *upload_size > MAX_BODY)
                return MHD_NO;
            put(&r->body, upload, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return reply_static(mc, 405, HTML, "Method Not Allowed");
    }
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)(uintptr_t)&seed ^ (unsigned)getpid();
    long long id;
    if (!post && strcmp(url, "/") == 0)
        return reply_static(mc, 200, HTML, "Hello world");
    if (!post && strcmp(url, "/plaintext") == 0)
        return reply_static(mc, 200, "text/plain", "Hello, World!");
    if (!post && strcmp(url, "/json") == 0)
        return reply_static(mc, 200, JSON, "{\"message\":\"Hello, World!\"}\n");
    conn *c = get_conn(s);
    if (!c)
        return unavailable(mc);
    if (post) {
        if (path_id(url, "/pets/", "/comments", &id))
            return add_comment(mc, c, id, &r->body);
        return not_found(mc);
    }
    if (strcmp(url, "/users") == 0)
        return users_page(mc, c);
    if (path_id(url, "/handlers/", "", &id))
        return handler_page(mc, c, id);
    if (strcmp(url, "/db") == 0)
        return worlds(mc, c, false, false, &seed);
    if (strcmp(url, "/queries") == 0)
        return worlds(mc, c, true, false, &seed);
    if (strcmp(url, "/updates") == 0)
        return worlds(mc, c, true, true, &seed);
    if (strcmp(url, "/fortunes") == 0)
        return fortunes(mc, c);
    return not_found(mc);
}

static void completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    request *r = *req_cls;
    if (r) {
        free(r->body.p);
        free(r);
        *req_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    server s = {0};
    int port = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--db") == 0)
            s.url = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atol(argv[i + 1]);
    }
    if (port <= 0 || port > 65535 || !s.url || threads < 1) {
        fprintf(stderr, "usage: %s --port P --db URL [--threads N]\n", argv[0]);
        return 2;
    }
    if (strncmp(s.url, "sqlite:///", 10) == 0) {
        s.sqlite_path = s.url + 10; /* sqlite:////abs -> /abs; sqlite:///rel -> rel */
    } else if (strncmp(s.url, "postgresql://", 13) == 0 || strncmp(s.url, "postgres://", 11) == 0) {
        s.pg = true;
    } else {
        fprintf(stderr, "baseline: unsupported database URL %s\n", s.url);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the pool threads inherit the mask */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle, &s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, 10000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "baseline: cannot listen on port %d\n", port);
        return 1;
    }
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d); /* per-thread connections are left to the OS at exit */
    return 0;
}
