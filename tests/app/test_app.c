/*
 * Unit tests of src/app: ph_app_handle without any network -- routing to
 * handlers, 404/405 pages (default and custom), handler failures as 500s,
 * before/after hooks, per-request and per-thread hooks, configuration
 * precedence, static files (types, ETag, 304, traversal), the access-log
 * line, and two apps living in one process.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phial/app.h"
#include "phial/orm.h"
#include "../../src/app/internal.h" /* ph__app_route_early */
#include "test.h"

typedef struct call {
    ph_arena *arena;
    ph_request *req;
    ph_response res;
} call;

/* Runs one request through app; free with call_done. */
static void call_run(call *c, ph_app *app, const char *method, const char *uri,
                     const char *const *headers)
{
    c->arena = ph_arena_new(0);
    c->req = ph_req_new(c->arena, app, method, uri);
    for (size_t i = 0; headers && headers[i]; i += 2)
        ph_req_add_header(c->req, headers[i], headers[i + 1]);
    ph_res_init(&c->res, c->arena);
    ph_app_handle(app, c->req, &c->res);
}

static const char *body(const call *c)
{
    return c->res.body.ptr ? c->res.body.ptr : "";
}

static void call_done(call *c)
{
    ph_arena_free(c->arena);
}

static int v_index(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_html(res, 200, "Hello world");
}

static int v_pet(ph_request *req, ph_response *res)
{
    int64_t id;
    if (ph_req_param_int(req, "pet_id", &id) < 0)
        return PH_EINVAL;
    char *s = ph_arena_sprintf(req->arena, "pet %lld (%s)", (long long)id,
                               req->user ? (const char *)req->user : "-");
    return ph_html(res, 200, s);
}

static int v_fail(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return PH_EDB;
}

static int v_nothing(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return 0;
}

static int v_positive(ph_request *req, ph_response *res)
{
    (void)req;
    ph_html(res, 200, "looks fine");
    return 1; /* not 0: a failure all the same */
}

static int v_abort(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_abort(res, 404);
}

static ph_app *make_app(void)
{
    ph_app *app = ph_app_new("test");
    ph_app_set_access_log(app, false);
    CHECK_INT(ph_app_route(app, PH_GET, "/", "index", v_index), 0);
    CHECK_INT(ph_app_route(app, PH_GET | PH_POST, "/pets/<int:pet_id>", "pet", v_pet), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/fail", "fail", v_fail), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/nothing", "nothing", v_nothing), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/abort", "abort", v_abort), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/positive", "positive", v_positive), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/dir/", "dir", v_index), 0);
    return app;
}

static void test_hello(void)
{
    ph_app *app = make_app();
    call c;
    call_run(&c, app, "GET", "/", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(body(&c), "Hello world");
    CHECK_STR(c.res.content_type, "text/html; charset=utf-8");
    CHECK_STR(ph_res_header_get(&c.res, "Server"), "Phial");
    call_done(&c);
    call_run(&c, app, "GET", "/pets/12", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(body(&c), "pet 12 (-)");
    CHECK_STR(c.req->route->name, "pet");
    call_done(&c);
    ph_app_free(app);
}

static void test_errors(void)
{
    ph_app *app = make_app();
    call c;
    call_run(&c, app, "GET", "/missing", NULL);
    CHECK_INT(c.res.status, 404);
    CHECK_CONTAINS(body(&c), "<title>404 Not Found</title>");
    call_done(&c);
    call_run(&c, app, "GET", "/pets/99999999999999999999", NULL);
    CHECK_INT(c.res.status, 404);
    call_done(&c);
    call_run(&c, app, "DELETE", "/pets/1", NULL);
    CHECK_INT(c.res.status, 405);
    CHECK_STR(ph_res_header_get(&c.res, "Allow"), "GET, HEAD, POST, OPTIONS");
    call_done(&c);
    call_run(&c, app, "OPTIONS", "/pets/1", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(ph_res_header_get(&c.res, "Allow"), "GET, HEAD, POST, OPTIONS");
    call_done(&c);
    call_run(&c, app, "GET", "/fail", NULL);
    CHECK_INT(c.res.status, 500);
    CHECK_CONTAINS(body(&c), "Internal Server Error");
    call_done(&c);
    call_run(&c, app, "GET", "/nothing", NULL);
    CHECK_INT(c.res.status, 500);
    call_done(&c);
    call_run(&c, app, "GET", "/positive", NULL);
    CHECK_INT(c.res.status, 500);
    CHECK_CONTAINS(body(&c), "Internal Server Error");
    call_done(&c);
    call_run(&c, app, "GET", "/abort", NULL);
    CHECK_INT(c.res.status, 404);
    CHECK_CONTAINS(body(&c), "Not Found");
    call_done(&c);
    /* a rule ending in '/' visited without it redirects, as in Flask */
    call_run(&c, app, "GET", "/dir?x=1", NULL);
    CHECK_INT(c.res.status, 308);
    CHECK_STR(ph_res_header_get(&c.res, "Location"), "/dir/?x=1");
    call_done(&c);
    call_run(&c, app, "GET", "/dir/", NULL);
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    /* HEAD runs the GET handler; the server drops the body */
    call_run(&c, app, "HEAD", "/", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_INT(c.res.body.len, 11);
    call_done(&c);
    /* bad input found while parsing: too many query arguments */
    ph_buf q;
    ph_buf_init(&q, NULL);
    ph_buf_puts(&q, "/?");
    for (int i = 0; i < 1100; i++)
        ph_buf_puts(&q, "a=1&");
    call_run(&c, app, "GET", q.ptr, NULL);
    CHECK_INT(c.res.status, 400);
    call_done(&c);
    ph_buf_free(&q);
    ph_app_free(app);
}

static int page_404(ph_request *req, ph_response *res)
{
    char *s = ph_arena_sprintf(req->arena, "<h1>Lost: %s</h1>", req->path);
    return ph_html_n(res, 404, s, strlen(s));
}

static int page_500_broken(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return PH_EIO;
}

static void test_custom_error_pages(void)
{
    ph_app *app = make_app();
    CHECK_INT(ph_app_error_handler(app, 404, page_404), 0);
    call c;
    call_run(&c, app, "GET", "/where", NULL);
    CHECK_INT(c.res.status, 404);
    CHECK_STR(body(&c), "<h1>Lost: /where</h1>");
    call_done(&c);
    call_run(&c, app, "GET", "/abort", NULL);
    CHECK_STR(body(&c), "<h1>Lost: /abort</h1>");
    call_done(&c);
    /* an error handler that fails falls back to the default 500 page */
    CHECK_INT(ph_app_error_handler(app, 500, page_500_broken), 0);
    call_run(&c, app, "GET", "/fail", NULL);
    CHECK_INT(c.res.status, 500);
    CHECK_CONTAINS(body(&c), "Internal Server Error");
    call_done(&c);
    ph_app_free(app);
}

typedef struct hook_log {
    char trail[256];
    int end_err;
    int threads_made;
    int threads_freed;
} hook_log;

static void trail(hook_log *h, const char *s)
{
    size_t n = strlen(h->trail);
    snprintf(h->trail + n, sizeof(h->trail) - n, "%s;", s);
}

static int before_a(ph_request *req, ph_response *res, void *ud)
{
    (void)res;
    trail(ud, "before");
    if (strcmp(req->path, "/pets/7") == 0)
        return ph_html(res, 403, "no pet 7");
    return 0;
}

static int after_a(ph_request *req, ph_response *res, void *ud)
{
    (void)req;
    trail(ud, "after");
    return ph_res_header(res, "X-After", "yes");
}

static int begin_a(ph_request *req, void *ud)
{
    trail(ud, "begin");
    req->user = "session";
    return 0;
}

static void end_a(ph_request *req, int err, void *ud)
{
    (void)req;
    hook_log *h = ud;
    h->end_err = err;
    trail(ud, "end");
}

static void *thread_init(void *ud)
{
    hook_log *h = ud;
    h->threads_made++;
    return h;
}

static void thread_fini(void *state, void *ud)
{
    (void)state;
    hook_log *h = ud;
    h->threads_freed++;
}

static void test_hooks(void)
{
    ph_app *app = make_app();
    hook_log h = {.end_err = 99};
    ph_app_before_request(app, before_a, &h);
    ph_app_after_request(app, after_a, &h);
    ph_app_set_request_hooks(app, begin_a, end_a, &h);
    ph_app_set_thread_hooks(app, thread_init, thread_fini, &h);
    call c;
    call_run(&c, app, "GET", "/pets/3", NULL);
    CHECK_STR(body(&c), "pet 3 (session)");
    CHECK_STR(h.trail, "begin;before;after;end;");
    CHECK_STR(ph_res_header_get(&c.res, "X-After"), "yes");
    CHECK_INT(h.end_err, 0);
    CHECK(c.req->thread_state == &h);
    call_done(&c);
    /* a before hook's response skips the handler */
    h.trail[0] = '\0';
    call_run(&c, app, "GET", "/pets/7", NULL);
    CHECK_INT(c.res.status, 403);
    CHECK_STR(body(&c), "no pet 7");
    CHECK_STR(h.trail, "begin;before;after;end;");
    call_done(&c);
    /* the end hook sees the handler's error (to roll back) */
    call_run(&c, app, "GET", "/fail", NULL);
    CHECK_INT(h.end_err, PH_EDB);
    CHECK_INT(c.res.status, 500);
    CHECK_STR(ph_res_header_get(&c.res, "X-After"), "yes");
    call_done(&c);
    CHECK_INT(h.threads_made, 1); /* one state for this thread */
    ph_app_free(app);
    CHECK_INT(h.threads_freed, 1);
}

static void test_config(void)
{
    ph_app *app = ph_app_new("cfg");
    char path[] = "/tmp/phial-cfg-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n\nSECRET_KEY = from-file\nDATABASE_URL='sqlite:///x.db'\n"
                       "PHIAL_TEST_CFG_ENV=file\nMAX_CONTENT_LENGTH=10\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    CHECK_INT(ph_app_config_load_file(app, path), 0);
    CHECK_STR(ph_app_config_get(app, "SECRET_KEY"), "from-file");
    CHECK_STR(ph_app_config_get(app, "DATABASE_URL"), "sqlite:///x.db");
    /* environment wins over the file, code wins over both */
    setenv("PHIAL_TEST_CFG_ENV", "env", 1);
    CHECK_STR(ph_app_config_get(app, "PHIAL_TEST_CFG_ENV"), "env");
    CHECK_INT(ph_app_config_set(app, "PHIAL_TEST_CFG_ENV", "code"), 0);
    CHECK_STR(ph_app_config_get(app, "PHIAL_TEST_CFG_ENV"), "code");
    unsetenv("PHIAL_TEST_CFG_ENV");
    CHECK(ph_app_config_get(app, "NOT_SET_ANYWHERE") == NULL);
    int64_t v = 0;
    CHECK_INT(ph_app_config_int(app, "MAX_CONTENT_LENGTH", 5, &v), 0);
    CHECK_INT(v, 10);
    CHECK_INT(ph_app_config_int(app, "NOT_SET_ANYWHERE", 5, &v), 0);
    CHECK_INT(v, 5);
    CHECK_INT(ph_app_config_int(app, "SECRET_KEY", 5, &v), PH_EINVAL);
    ph_app_limits lim;
    CHECK_INT(ph_app_limits_get(app, &lim), 0);
    CHECK_INT(lim.max_content_length, 10);
    CHECK_INT(lim.connection_timeout, 30);
    CHECK_INT(ph_app_config_set(app, "CONNECTION_TIMEOUT", "soon"), 0);
    CHECK_INT(ph_app_limits_get(app, &lim), PH_EINVAL);
    /* a bad file */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "NOEQUALS\n", 9) == 9);
    close(fd);
    CHECK_INT(ph_app_config_load_file(app, path), PH_EPARSE);
    unlink(path);
    CHECK_INT(ph_app_config_load_file(app, path), PH_EIO);
    /* defaults */
    ph_app *d = ph_app_new(NULL);
    CHECK_INT(ph_app_limits_get(d, &lim), 0);
    CHECK_INT(lim.max_content_length, 1048576);
    ph_app_free(d);
    ph_app_free(app);
}

static char tmpdir[64];

static void write_file(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static void test_static(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phial-static-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    char p[256], q[256];
    snprintf(p, sizeof(p), "%s/static", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/static/css", tmpdir);
    mkdir(p, 0700);
    write_file("static/css/site.css", "body{}");
    write_file("static/app.js", "1;");
    write_file("secret.txt", "secret");
    snprintf(p, sizeof(p), "%s/secret.txt", tmpdir);
    snprintf(q, sizeof(q), "%s/static/link.txt", tmpdir);
    CHECK_INT(symlink(p, q), 0);

    ph_app *app = make_app();
    snprintf(p, sizeof(p), "%s/static", tmpdir);
    CHECK_INT(ph_app_static(app, p), 0);
    CHECK_INT(ph_app_static(app, "/nonexistent/folder"), PH_ENOTFOUND); /* keeps the first */
    call c;
    call_run(&c, app, "GET", "/static/css/site.css", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(c.res.content_type, "text/css; charset=utf-8");
    CHECK(c.res.fd >= 0);
    CHECK_INT(c.res.file_size, 6);
    const char *etag = ph_res_header_get(&c.res, "ETag");
    const char *lm = ph_res_header_get(&c.res, "Last-Modified");
    CHECK(etag && lm);
    char etag_copy[64], lm_copy[64];
    snprintf(etag_copy, sizeof(etag_copy), "%s", etag ? etag : "");
    snprintf(lm_copy, sizeof(lm_copy), "%s", lm ? lm : "");
    call_done(&c);
    call_run(&c, app, "GET", "/static/app.js", NULL);
    CHECK_STR(c.res.content_type, "text/javascript; charset=utf-8");
    call_done(&c);

    const char *inm[] = {"If-None-Match", etag_copy, NULL};
    call_run(&c, app, "GET", "/static/css/site.css", inm);
    CHECK_INT(c.res.status, 304);
    CHECK_INT(c.res.fd, -1);
    call_done(&c);
    const char *inm_list[] = {"If-None-Match", "\"zz\", W/", NULL};
    call_run(&c, app, "GET", "/static/css/site.css", inm_list);
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    const char *ims[] = {"If-Modified-Since", lm_copy, NULL};
    call_run(&c, app, "GET", "/static/css/site.css", ims);
    CHECK_INT(c.res.status, 304);
    call_done(&c);
    const char *ims_old[] = {"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT", NULL};
    call_run(&c, app, "GET", "/static/css/site.css", ims_old);
    CHECK_INT(c.res.status, 200);
    call_done(&c);

    static const char *const bad[] = {
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/css/../../secret.txt",
        "/static/..%2fsecret.txt",
        "/static/css%2fsite.css",
        "/static/css%5csite.css",
        "/static//etc/passwd",
        "/static/link.txt",
        "/static/css/site.css%00.js",
        "/static/css",
        "/static/./app.js",
        "/static/missing.js",
        "/static/css/site.css/",
    };
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        call_run(&c, app, "GET", bad[i], NULL);
        if (c.res.status != 404)
            fprintf(stderr, "  %s gave %d\n", bad[i], c.res.status);
        CHECK_INT(c.res.status, 404);
        CHECK_INT(c.res.fd, -1);
        call_done(&c);
    }
    ph_app_free(app);
    snprintf(p, sizeof(p), "rm -rf '%s'", tmpdir);
    CHECK_INT(system(p), 0);
}

static void test_url_for_and_two_apps(void)
{
    ph_app *a1 = make_app();
    ph_app *a2 = ph_app_new("second");
    ph_app_set_access_log(a2, false);
    CHECK_INT(ph_app_route(a2, PH_GET, "/other/<name>", "index", v_index), 0);
    ph_arena *ar = ph_arena_new(0);
    CHECK_STR(ph_url_for(a1, ar, "pet", "pet_id", "3", NULL), "/pets/3");
    CHECK_STR(ph_url_for(a1, ar, "index", NULL), "/");
    CHECK_STR(ph_url_for(a2, ar, "index", "name", "x y", NULL), "/other/x%20y");
    ph_arena_free(ar);
    call c;
    call_run(&c, a2, "GET", "/", NULL);
    CHECK_INT(c.res.status, 404);
    call_done(&c);
    call_run(&c, a1, "GET", "/", NULL);
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    ph_app_free(a1);
    ph_app_free(a2);
}

static void test_access_log(void)
{
    ph_app *app = make_app();
    ph_app_set_access_log(app, true);
    char path[] = "/tmp/phial-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    call c;
    call_run(&c, app, "GET", "/?q=\"x\"", NULL);
    c.req->remote_addr = "10.0.0.1";
    ph_app_log_access(app, c.req, c.res.status, c.res.body.len);
    ph_app_log_access(app, c.req, 304, 0);
    call_done(&c);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    CHECK(strncmp(buf, "10.0.0.1 - - [", 14) == 0);
    CHECK_CONTAINS(buf, " +0000] \"GET /?q=\\x22x\\x22 HTTP/1.1\" 200 11 ");
    CHECK_CONTAINS(buf, "ms\n");
    CHECK_CONTAINS(buf, "\" 304 - ");
    ph_app_free(app);
}

static int begin_positive(ph_request *req, void *ud)
{
    (void)req;
    (void)ud;
    return 1; /* a mistake: only 0 or a negative code are meaningful */
}

/* A hook's positive return is a 500 with a page, never status 0. */
static void test_begin_hook_positive_is_500(void)
{
    ph_app *app = make_app();
    ph_app_set_request_hooks(app, begin_positive, NULL, NULL);
    call c;
    call_run(&c, app, "GET", "/", NULL);
    CHECK_INT(c.res.status, 500);
    CHECK_CONTAINS(body(&c), "Internal Server Error");
    call_done(&c);
    ph_app_free(app);
}

typedef struct Missing {
    ph_obj _ph;
    int64_t id;
} Missing;
static const ph_column Missing_columns[] = {PH_INTEGER(Missing, id, PH_PK)};
static const ph_model Missing_model = PH_MODEL(Missing, "missing_table", Missing_columns);

/* stderr into a temporary file from log_begin to log_end, which reads it
 * into buf (the log lines a call wrote). */
typedef struct log_capture {
    char path[32];
    int fd, saved;
} log_capture;

static void log_begin(log_capture *l)
{
    snprintf(l->path, sizeof(l->path), "/tmp/phial-log-XXXXXX");
    l->fd = mkstemp(l->path);
    fflush(stderr);
    l->saved = dup(2);
    dup2(l->fd, 2);
}

static void log_end(log_capture *l, char *buf, size_t n)
{
    fflush(stderr);
    dup2(l->saved, 2);
    close(l->saved);
    ssize_t r = pread(l->fd, buf, n - 1, 0);
    buf[r > 0 ? r : 0] = '\0';
    close(l->fd);
    unlink(l->path);
}

static int v_missing(ph_request *req, ph_response *res)
{
    Missing **rows;
    size_t n;
    int rc = ph_query_all(ph_query_new(ph_req_db(req), &Missing_model), &rows, &n);
    return rc < 0 ? rc : ph_html(res, 200, "found");
}

/* An app named name on a new, empty SQLite file: its path in db (to
 * unlink after) and its URL in url. */
static ph_app *app_on_temp_db(const char *name, char db[32], char url[64])
{
    snprintf(db, 32, "/tmp/phial-%.8s-XXXXXX", name);
    int fd = mkstemp(db);
    CHECK(fd >= 0);
    close(fd);
    snprintf(url, 64, "sqlite:///%s", db);
    ph_app *app = ph_app_new(name);
    ph_app_config_set(app, "DATABASE_URL", url);
    char err[256];
    CHECK_INT(ph_app_use_database(app, err, sizeof(err)), 0);
    return app;
}

/* The log line of a failed request carries the database's own words. */
static void test_database_error_is_logged_with_its_message(void)
{
    char db[32], url[64];
    ph_app *app = app_on_temp_db("missing", db, url);
    CHECK_INT(ph_app_route(app, PH_GET, "/m", "m", v_missing), 0);
    log_capture lc;
    log_begin(&lc);
    call c;
    call_run(&c, app, "GET", "/m", NULL);
    char log[4096];
    log_end(&lc, log, sizeof(log));
    CHECK_INT(c.res.status, 500);
    call_done(&c);
    CHECK_CONTAINS(log, "GET /m: PH_EDB");
    CHECK_CONTAINS(log, "no such table: missing_table");
    ph_app_free(app);
    unlink(db);
}

static int v_inline_db(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    return db ? ph_html(res, 200, "used the database") : PH_EMISUSE;
}

/* ph_app_route_inline: an inline route answers as any other; one that
 * reaches for the database is refused it (a 500 whose log says why, never
 * a wait on the event loop); an unknown name is an error. */
static void test_inline_routes(void)
{
    char db[32], url[64];
    ph_app *app = app_on_temp_db("inl", db, url);
    CHECK_INT(ph_app_route(app, PH_GET, "/pets/<int:pet_id>", "pet", v_pet), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/db", "dbroute", v_inline_db), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/db2", "dbroute2", v_inline_db), 0);
    CHECK_INT(ph_app_route_inline(app, "pet"), 0);
    CHECK_INT(ph_app_route_inline(app, "dbroute"), 0);
    log_capture lc;
    log_begin(&lc);
    CHECK_INT(ph_app_route_inline(app, "no_such_route"), PH_ENOTFOUND);
    call c;
    call_run(&c, app, "GET", "/pets/7", NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(body(&c), "pet 7 (-)");
    call_done(&c);
    /* as the server does it: routed first (saying it may run inline),
       then handled with that match */
    c.arena = ph_arena_new(0);
    c.req = ph_req_new(c.arena, app, "GET", "/pets/8");
    ph_res_init(&c.res, c.arena);
    CHECK(ph__app_route_early(app, c.req));
    CHECK_STR(ph_req_param(c.req, "pet_id"), "8");
    ph_app_handle(app, c.req, &c.res);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(body(&c), "pet 8 (-)");
    call_done(&c);
    c.arena = ph_arena_new(0); /* not inline, or not found: handled as usual */
    c.req = ph_req_new(c.arena, app, "GET", "/db2");
    CHECK(!ph__app_route_early(app, c.req));
    ph_arena_free(c.arena);
    c.arena = ph_arena_new(0);
    c.req = ph_req_new(c.arena, app, "GET", "/nowhere");
    ph_res_init(&c.res, c.arena);
    CHECK(!ph__app_route_early(app, c.req));
    ph_app_handle(app, c.req, &c.res);
    CHECK_INT(c.res.status, 404);
    call_done(&c);
    call_run(&c, app, "GET", "/db", NULL);
    CHECK_INT(c.res.status, 500);
    call_done(&c);
    call_run(&c, app, "GET", "/db2", NULL); /* not inline: the database is there */
    CHECK_INT(c.res.status, 200);
    CHECK_STR(body(&c), "used the database");
    call_done(&c);
    char log[4096];
    log_end(&lc, log, sizeof(log));
    CHECK_CONTAINS(log, "no route named 'no_such_route'");
    CHECK_CONTAINS(log, "route 'dbroute' runs inline (ph_app_route_inline) and may not use the "
                        "database");
    ph_app_free(app);
    unlink(db);
}

static int v_reads(ph_request *req, ph_response *res)
{
    ph_session *s = ph_req_db(req);
    if (!s)
        return PH_EMISUSE;
    ph_db_conn *c = ph_session_conn(s);
    const char *sql = strcmp(req->method, "GET") == 0 && !ph_req_arg(req, "write")
                          ? "SELECT count(*) FROM note"
                          : "INSERT INTO note (t) VALUES ('x')";
    int rc = ph_db_exec(c, sql, NULL, 0);
    return rc < 0 ? rc : ph_html(res, 200, "done");
}

static int count_notes(const char *url)
{
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_rows r;
    int n = -1;
    if (ph_db_query(c, "SELECT count(*) FROM note", NULL, 0, &r) == 0) {
        if (ph_db_rows_next(&r) == 1)
            n = (int)ph_db_rows_int(&r, 0);
        ph_db_rows_close(&r);
    }
    ph_db_conn_free(c);
    ph_db_close(db);
    return n;
}

/* ph_app_route_inline_reads on SQLite: its GET runs inline and may read;
 * a write there is refused (query_only) and nothing stored; its POST runs
 * as any route, writing, on the same thread's connection afterwards. */
static void test_inline_reads_routes(void)
{
    char db[32], url[64];
    ph_app *app = app_on_temp_db("reads", db, url);
    ph_db_conn *setup = ph_db_conn_new(ph_app_db(app));
    CHECK_INT(ph_db_exec_script(setup, "CREATE TABLE note (t TEXT)"), 0);
    ph_db_conn_free(setup);
    CHECK_INT(ph_app_route(app, PH_GET | PH_POST, "/notes", "notes", v_reads), 0);
    CHECK_INT(ph_app_route_inline_reads(app, "notes"), 0);
    CHECK_INT(ph_app_route_inline_reads(app, "nope"), PH_ENOTFOUND);
    call c;
    c.arena = ph_arena_new(0); /* the server's question: GET inline, POST not */
    c.req = ph_req_new(c.arena, app, "GET", "/notes");
    CHECK(ph__app_route_early(app, c.req));
    c.req = ph_req_new(c.arena, app, "POST", "/notes");
    CHECK(!ph__app_route_early(app, c.req));
    ph_arena_free(c.arena);
    call_run(&c, app, "GET", "/notes", NULL);
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    log_capture lc;
    log_begin(&lc);
    call_run(&c, app, "GET", "/notes?write=1", NULL);
    char log[4096];
    log_end(&lc, log, sizeof(log));
    CHECK_INT(c.res.status, 500);
    call_done(&c);
    CHECK_CONTAINS(log, "readonly");
    CHECK_INT(count_notes(url), 0);
    call_run(&c, app, "POST", "/notes", NULL);
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    CHECK_INT(count_notes(url), 1);
    call_run(&c, app, "GET", "/notes", NULL); /* reads again after the write */
    CHECK_INT(c.res.status, 200);
    call_done(&c);
    ph_app_free(app);
    unlink(db);
}

static int v_forbidden(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_abort_description(res, 403, "You may not <see> this.");
}

static int v_forbidden_page(ph_request *req, ph_response *res)
{
    (void)req;
    char *b = ph_arena_sprintf(res->arena, "custom: %s",
                               res->description ? res->description : "(none)");
    return b ? ph_html(res, res->status, b) : PH_ENOMEM;
}

/* abort(403, description=...): the default page shows the words (escaped),
 * an error handler reads them in res->description; a plain abort has none. */
static void test_abort_description(void)
{
    ph_app *app = ph_app_new("desc");
    CHECK_INT(ph_app_route(app, PH_GET, "/f", "f", v_forbidden), 0);
    call c;
    call_run(&c, app, "GET", "/f", NULL);
    CHECK_INT(c.res.status, 403);
    CHECK_CONTAINS(body(&c), "<h1>Forbidden</h1>");
    CHECK_CONTAINS(body(&c), "You may not &lt;see&gt; this.");
    call_done(&c);
    CHECK_INT(ph_app_error_handler(app, 403, v_forbidden_page), 0);
    CHECK_INT(ph_app_error_handler(app, 404, v_forbidden_page), 0);
    call_run(&c, app, "GET", "/f", NULL);
    CHECK_INT(c.res.status, 403);
    CHECK_STR(body(&c), "custom: You may not <see> this.");
    call_done(&c);
    call_run(&c, app, "GET", "/nowhere", NULL);
    CHECK_INT(c.res.status, 404);
    CHECK_STR(body(&c), "custom: (none)");
    call_done(&c);
    ph_app_free(app);
}

int main(void)
{
    RUN(test_abort_description);
    RUN(test_inline_routes);
    RUN(test_inline_reads_routes);
    RUN(test_begin_hook_positive_is_500);
    RUN(test_database_error_is_logged_with_its_message);
    RUN(test_hello);
    RUN(test_errors);
    RUN(test_custom_error_pages);
    RUN(test_hooks);
    RUN(test_config);
    RUN(test_static);
    RUN(test_url_for_and_two_apps);
    RUN(test_access_log);
    TEST_END();
}
