/*
 * Integration tests of the HTTP layer: start the real `app run` and speak
 * raw HTTP to it -- the first page, keep-alive and pipelining, HEAD, 404,
 * 405 + Allow, the limits (413 by Content-Length and while streaming
 * chunked, 414, 431, 400 without Host), static files (types, ETag, 304,
 * traversal), forms, the access log, a killed worker being replaced, and
 * SIGTERM draining a request in flight before exiting 0.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "test.h"

/* One server for the tests that do not stop or kill it. */
static tc_server srv;
static bool srv_up;

static int get(const char *raw, tc_response *r)
{
    return tc_request(srv.port, raw, r);
}

static void test_hello(void)
{
    tc_response r;
    CHECK_INT(get("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "Hello world");
    CHECK_STR(tc_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    CHECK_STR(tc_header_get(&r, "Content-Length"), "11");
    CHECK_STR(tc_header_get(&r, "Server"), "Phial");
    CHECK(tc_header_get(&r, "Date") != NULL);
    CHECK(tc_header_get(&r, "Connection") == NULL); /* keep-alive */
    tc_response_free(&r);
}

static void test_pipelining(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /_test/pet/7 HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"),
              0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "Hello world");
    CHECK(tc_header_get(&r, "Connection") == NULL);
    tc_response_free(&r);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "pet 7 at /_test/pet/7");
    tc_response_free(&r);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    /* still open: one more request on the same connection */
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    tc_close(&c);
}

/* An inline route ("/", inside a loop turn) pipelined behind a slow one
 * (which loses the loop to another thread) still answers second: one
 * request at a time per connection, whichever thread runs it. */
static void test_pipelining_inline_behind_slow(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, "GET /_test/sleep?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /_test/sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n"),
              0);
    static const char *const want[] = {"slept 300", "Hello world", "slept 0"};
    for (int i = 0; i < 3; i++) {
        tc_response r;
        CHECK_INT(tc_read(&c, &r, false, 5000), 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, want[i]);
        tc_response_free(&r);
    }
    tc_close(&c);
}

static void test_head(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(
        tc_send_str(&c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, true, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(tc_header_get(&r, "Content-Length"), "11");
    CHECK_STR(tc_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    tc_response_free(&r);
    /* the next response starts right away: HEAD sent no body */
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "Hello world");
    tc_response_free(&r);
    tc_close(&c);
}

static void test_404_405(void)
{
    tc_response r;
    CHECK_INT(get("GET /no/such/page HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 404);
    CHECK_CONTAINS(r.body, "Not Found");
    CHECK_STR(tc_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    tc_response_free(&r);
    CHECK_INT(get("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 405);
    CHECK_STR(tc_header_get(&r, "Allow"), "GET, HEAD, OPTIONS");
    tc_response_free(&r);
    CHECK_INT(get("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 405);
    tc_response_free(&r);
    CHECK_INT(get("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(tc_header_get(&r, "Allow"), "GET, HEAD, OPTIONS");
    tc_response_free(&r);
    /* an int converter that overflows is a 404, as in Flask */
    CHECK_INT(get("GET /_test/pet/99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    CHECK_INT(get("GET /_test/pet/abc HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
}

static void test_500_keeps_serving(void)
{
    tc_response r;
    CHECK_INT(get("GET /_test/fail HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 500);
    CHECK_CONTAINS(r.body, "Internal Server Error");
    tc_response_free(&r);
    CHECK_INT(get("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
}

static void test_413_content_length(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    /* only the headers are sent: the answer must not wait for the body */
    CHECK_INT(tc_send_str(&c, "POST /_test/echo HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 2000000\r\n\r\n"),
              0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 413);
    CHECK_STR(tc_header_get(&r, "Connection"), "close");
    CHECK_STR(tc_header_get(&r, "Server"), "Phial");
    tc_response_free(&r);
    tc_close(&c);
    /* just under the limit is fine */
    CHECK_INT(tc_connect(&c, srv.port), 0);
    size_t n = 1024 * 1024;
    char *body = malloc(n);
    memset(body, 'a', n);
    CHECK_INT(tc_send_str(&c, "PUT /_test/echo HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 1048576\r\n\r\n"),
              0);
    CHECK_INT(tc_send(&c, body, n), 0);
    CHECK_INT(tc_read(&c, &r, false, 10000), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "body=1048576\n");
    tc_response_free(&r);
    free(body);
    tc_close(&c);
}

static void test_413_chunked(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, "POST /_test/echo HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"),
              0);
    char *chunk = malloc(65536 + 16);
    int hl = snprintf(chunk, 16, "%x\r\n", 65536);
    memset(chunk + hl, 'b', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    for (int i = 0; i < 20; i++) /* 1.25 MiB */
        tc_send(&c, chunk, (size_t)hl + 65536 + 2);
    tc_send_str(&c, "0\r\n\r\n");
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 10000), 0);
    CHECK_INT(r.status, 413);
    tc_response_free(&r);
    tc_close(&c);
    free(chunk);
    /* a small chunked body is read whole */
    CHECK_INT(get("POST /_test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                  "4\r\na=1&\r\n5\r\nb=x+y\r\n0\r\n\r\n",
                  &r),
              0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "form:a=1\n");
    CHECK_CONTAINS(r.body, "form:b=x y\n");
    tc_response_free(&r);
}

static void test_414_431_400(void)
{
    tc_response r;
    size_t n = 10000;
    char *req = malloc(n + 200);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_INT(get(req, &r), 0);
    CHECK_INT(r.status, 414);
    CHECK_STR(tc_header_get(&r, "Server"), "Phial");
    tc_response_free(&r);
    free(req);

    /* far past the limit: answered as soon as the limit is passed */
    n = 200000;
    req = malloc(n + 200);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_INT(get(req, &r), 0);
    CHECK_INT(r.status, 414);
    tc_response_free(&r);
    free(req);

    n = 20000;
    req = malloc(n + 200);
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    size_t l = strlen(req);
    memset(req + l, 'h', n);
    strcpy(req + l + n, "\r\n\r\n");
    CHECK_INT(get(req, &r), 0);
    CHECK_INT(r.status, 431);
    CHECK_STR(tc_header_get(&r, "Server"), "Phial");
    tc_response_free(&r);
    free(req);

    n = 200000;
    req = malloc(n + 200);
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    l = strlen(req);
    memset(req + l, 'h', n);
    strcpy(req + l + n, "\r\n\r\n");
    CHECK_INT(get(req, &r), 0);
    CHECK_INT(r.status, 431);
    tc_response_free(&r);
    free(req);

    CHECK_INT(get("GET / HTTP/1.1\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    /* HTTP/1.0 needs no Host */
    CHECK_INT(get("GET / HTTP/1.0\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
}

static void test_static(void)
{
    tc_response r;
    CHECK_INT(get("GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(tc_header_get(&r, "Content-Type"), "text/css; charset=utf-8");
    CHECK(tc_header_get(&r, "Last-Modified") != NULL);
    CHECK_CONTAINS(r.body, "body");
    const char *etag = tc_header_get(&r, "ETag");
    CHECK(etag != NULL);
    char raw[512];
    snprintf(raw, sizeof(raw),
             "GET /static/style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n",
             etag ? etag : "\"x\"");
    char lm[64];
    snprintf(lm, sizeof(lm), "%s",
             tc_header_get(&r, "Last-Modified") ? tc_header_get(&r, "Last-Modified") : "");
    tc_response_free(&r);
    CHECK_INT(get(raw, &r), 0);
    CHECK_INT(r.status, 304);
    CHECK_INT(r.body_len, 0);
    tc_response_free(&r);
    /* a 304 has no body: the next response on the connection follows */
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, raw), 0);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 304);
    tc_response_free(&r);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "Hello world");
    tc_response_free(&r);
    tc_close(&c);
    snprintf(raw, sizeof(raw),
             "GET /static/style.css HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: %s\r\n\r\n", lm);
    CHECK_INT(get(raw, &r), 0);
    CHECK_INT(r.status, 304);
    tc_response_free(&r);
    CHECK_INT(
        get("GET /static/style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n\r\n", &r),
        0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);

    static const char *const bad[] = {
        "/static/../Makefile",
        "/static/%2e%2e/Makefile",
        "/static/%2E%2E/%2e%2e/etc/passwd",
        "/static/..%2fMakefile",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/style.css%00.png",
        "/static/./style.css/..",
        "/static/nope.css",
        "/static/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", bad[i]);
        CHECK_INT(get(raw, &r), 0);
        if (r.status != 404)
            fprintf(stderr, "  %s answered %d\n", bad[i], r.status);
        CHECK_INT(r.status, 404);
        tc_response_free(&r);
    }
}

/* head + Content-Length + body, sent on a fresh connection. */
static int post(const char *head, const char *body, tc_response *r)
{
    size_t n = strlen(head) + strlen(body) + 64;
    char *raw = malloc(n);
    snprintf(raw, n, "%sContent-Length: %zu\r\n\r\n%s", head, strlen(body), body);
    int rc = get(raw, r);
    free(raw);
    return rc;
}

static void test_forms_and_query(void)
{
    tc_response r;
    const char *mp_head = "POST /_test/echo?x=1&x=2&y=%41%zz HTTP/1.1\r\nHost: x\r\n"
                          "Cookie: session=abc; theme=\"dark\"\r\n"
                          "Content-Type: multipart/form-data; boundary=BOUND\r\n";
    const char *mp =
        "--BOUND\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nRex\r\n"
        "--BOUND\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"rex.png\"\r\n"
        "Content-Type: image/png\r\n\r\nPNGDATA\r\n--BOUND--\r\n";
    CHECK_INT(post(mp_head, mp, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "arg:x=1\narg:x=2\narg:y=A%zz\n");
    CHECK_CONTAINS(r.body, "form:name=Rex\n");
    CHECK_CONTAINS(r.body, "file:photo=rex.png (image/png, 7 bytes)\n");
    CHECK_CONTAINS(r.body, "cookie:session=abc\ncookie:theme=dark\n");
    tc_response_free(&r);
    /* a truncated multipart body is a 400 */
    CHECK_INT(post("POST /_test/echo HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: multipart/form-data; boundary=BOUND\r\n",
                   "--BOUND\r\nContent-Disposition:", &r),
              0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    /* no boundary */
    CHECK_INT(post("POST /_test/echo HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: multipart/form-data\r\n",
                   "abc", &r),
              0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
}

static void test_access_log(void)
{
    tc_response r;
    CHECK_INT(get("GET /?log=me HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    tc_response_free(&r);
    char *log = tc_server_log(&srv);
    CHECK(log != NULL);
    char *line = log ? strstr(log, "\"GET /?log=me HTTP/1.1\" 200 11 ") : NULL;
    CHECK(line != NULL);
    if (line && log) {
        char *bol = line;
        while (bol > log && bol[-1] != '\n')
            bol--;
        CHECK(strncmp(bol, "127.0.0.1 - - [", 15) == 0);
        CHECK(strstr(bol, " +0000] \"GET") != NULL);
        char *eol = strchr(line, '\n');
        CHECK(eol && eol - line > 2 && strncmp(eol - 2, "ms", 2) == 0);
    }
    free(log);
}

static void test_clean_stop(void)
{
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
}

static void test_worker_replaced(void)
{
    tc_server s;
    if (tc_server_start(&s, 2, NULL) < 0) {
        CHECK(!"server started");
        return;
    }
    pid_t pids[8];
    int n = 0;
    long long deadline = tc_now_ms() + 10000;
    while ((n = tc_server_workers(&s, pids, 8)) < 2 && tc_now_ms() < deadline)
        tc_sleep_ms(10);
    CHECK_INT(n, 2);
    if (n >= 1) {
        pid_t victim = pids[0];
        CHECK_INT(kill(victim, SIGKILL), 0);
        /* requests keep succeeding while the worker is replaced */
        int ok = 0;
        for (int i = 0; i < 50; i++) {
            tc_response r;
            if (tc_request(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0 && r.status == 200)
                ok++;
            tc_response_free(&r);
        }
        CHECK_INT(ok, 50);
        /* a new worker appears */
        bool replaced = false;
        deadline = tc_now_ms() + 10000;
        while (!replaced && tc_now_ms() < deadline) {
            n = tc_server_workers(&s, pids, 8);
            replaced = n == 2 && pids[0] != victim && pids[1] != victim;
            if (!replaced)
                tc_sleep_ms(20);
        }
        CHECK(replaced);
        tc_response r;
        CHECK_INT(tc_request(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
        CHECK_INT(r.status, 200);
        tc_response_free(&r);
    }
    CHECK_INT(tc_server_stop(&s, 20000), 0);
}

static void sigterm_drains(const char *const *env)
{
    tc_server s;
    if (tc_server_start(&s, 1, env) < 0) {
        CHECK(!"server started");
        return;
    }
    tc_conn c;
    CHECK_INT(tc_connect(&c, s.port), 0);
    CHECK_INT(tc_send_str(&c, "GET /_test/sleep?ms=600 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_sleep_ms(200); /* let the request reach its handler */
    long long t0 = tc_now_ms();
    CHECK_INT(kill(s.pid, SIGTERM), 0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 10000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "slept 600");
    tc_response_free(&r);
    tc_close(&c);
    /* the supervisor exits 0, soon after the request is done */
    int st = -1;
    pid_t w = 0;
    while ((w = waitpid(s.pid, &st, WNOHANG)) == 0 && tc_now_ms() - t0 < 15000)
        tc_sleep_ms(10);
    CHECK_INT(w, s.pid);
    CHECK(w == s.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (w == s.pid)
        s.pid = -1;
    char *log = tc_server_log(&s);
    CHECK_CONTAINS(log, "Serving on http://127.0.0.1:");
    CHECK(log && !strstr(log, "Sanitizer") && !strstr(log, "runtime error:"));
    free(log);
    tc_server_stop(&s, 1000);
}

static void test_sigterm_drains(void)
{
    sigterm_drains(NULL);
}

static void test_sigterm_drains_thread_pool(void)
{
    static const char *const env[] = {"THREADS=3", NULL};
    sigterm_drains(env);
}

static void test_idle_timeout(void)
{
    static const char *const env[] = {"CONNECTION_TIMEOUT=1", NULL};
    tc_server s;
    if (tc_server_start(&s, 1, env) < 0) {
        CHECK(!"server started");
        return;
    }
    /* an idle connection is closed by the server */
    tc_conn c;
    CHECK_INT(tc_connect(&c, s.port), 0);
    long long t0 = tc_now_ms();
    CHECK(tc_closed(&c, 5000));
    CHECK(tc_now_ms() - t0 < 4000);
    tc_close(&c);
    /* so is a slow one that never finishes its headers */
    CHECK_INT(tc_connect(&c, s.port), 0);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHo"), 0);
    CHECK(tc_closed(&c, 5000));
    tc_close(&c);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
}

static void test_thread_pool(void)
{
    static const char *const env[] = {"THREADS=4", NULL};
    tc_server s;
    if (tc_server_start(&s, 1, env) < 0) {
        CHECK(!"server started");
        return;
    }
    /* four slow requests on one worker run side by side on its handler
       threads (paced a little, as clients arrive) */
    tc_conn c[4];
    long long t0 = tc_now_ms();
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            tc_sleep_ms(50);
        CHECK_INT(tc_connect(&c[i], s.port), 0);
        CHECK_INT(tc_send_str(&c[i], "GET /_test/sleep?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    }
    for (int i = 0; i < 4; i++) {
        tc_response r;
        CHECK_INT(tc_read(&c[i], &r, false, 10000), 0);
        CHECK_INT(r.status, 200);
        tc_response_free(&r);
        tc_close(&c[i]);
    }
    long long took = tc_now_ms() - t0;
    if (took >= 1500)
        fprintf(stderr, "  4 x 400 ms took %lld ms\n", took);
    CHECK(took < 1500);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
}

/* More slow requests than handler threads: with THREADS=2 (three threads,
 * of which two may run handlers while the third keeps the loop), three
 * 500 ms requests at once.  Two run side by side, each losing the loop to
 * a waiting thread after 20 ms; the third thread keeps the loop and runs
 * no handler, so an inline page ("/") is answered at once meanwhile; the
 * third slow request starts as soon as a thread is free, so the three end
 * after two rounds (not three), and a fast request queued behind them is
 * answered before the last one ends -- no thread is lost, nothing waits
 * for good. */
static void test_more_slow_requests_than_threads(void)
{
    static const char *const env[] = {"THREADS=2", NULL};
    tc_server s;
    if (tc_server_start(&s, 1, env) < 0) {
        CHECK(!"server started");
        return;
    }
    tc_conn c[3], fast;
    long long t0 = tc_now_ms();
    for (int i = 0; i < 3; i++) {
        CHECK_INT(tc_connect(&c[i], s.port), 0);
        CHECK_INT(tc_send_str(&c[i], "GET /_test/sleep?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    }
    tc_sleep_ms(100); /* pacing: the slow requests are read first */
    tc_response r;
    long long hello = tc_now_ms();
    CHECK_INT(tc_request(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    hello = tc_now_ms() - hello;
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK(hello < 250);
    CHECK_INT(tc_connect(&fast, s.port), 0);
    CHECK_INT(tc_send_str(&fast, "GET /_test/pet/7 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(tc_read(&fast, &r, false, 10000), 0);
    long long fast_ms = tc_now_ms() - t0;
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "pet 7 at /_test/pet/7");
    tc_response_free(&r);
    tc_close(&fast);
    long long last = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_INT(tc_read(&c[i], &r, false, 10000), 0);
        long long t = tc_now_ms() - t0;
        last = t > last ? t : last;
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "slept 500");
        tc_response_free(&r);
        tc_close(&c[i]);
    }
    printf("  three 500 ms requests on two handler threads: all done after %lld ms, a fast one "
           "behind them after %lld ms, \"/\" meanwhile in %lld ms\n",
           last, fast_ms, hello);
    CHECK(last >= 1000); /* two threads: the third waited for one */
    CHECK(last < 1400);
    CHECK(fast_ms < last);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
}

/* Whether pid is gone (or a zombie nobody reaped yet). */
static bool gone(pid_t pid)
{
    char path[64], buf[256] = "";
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static void test_workers_follow_supervisor(void)
{
    tc_server s;
    if (tc_server_start(&s, 2, NULL) < 0) {
        CHECK(!"server started");
        return;
    }
    pid_t pids[8];
    int n = 0;
    long long deadline = tc_now_ms() + 10000;
    while ((n = tc_server_workers(&s, pids, 8)) < 2 && tc_now_ms() < deadline)
        tc_sleep_ms(10);
    CHECK_INT(n, 2);
    CHECK_INT(kill(s.pid, SIGKILL), 0);
    waitpid(s.pid, NULL, 0);
    s.pid = -1;
    deadline = tc_now_ms() + 10000;
    bool all_gone = false;
    while (!all_gone && tc_now_ms() < deadline) {
        all_gone = true;
        for (int i = 0; i < n; i++)
            all_gone = all_gone && gone(pids[i]);
        if (!all_gone)
            tc_sleep_ms(20);
    }
    CHECK(all_gone);
    for (int i = 0; i < n; i++)
        if (!gone(pids[i]))
            kill(pids[i], SIGKILL); /* never leave one behind */
    tc_server_stop(&s, 1000);
}

static void test_connection_limit(void)
{
    static const char *const env[] = {"CONNECTION_LIMIT=2", NULL};
    tc_server s;
    if (tc_server_start(&s, 1, env) < 0) {
        CHECK(!"server started");
        return;
    }
    tc_conn held[2], extra;
    tc_response r;
    for (int i = 0; i < 2; i++) {
        CHECK_INT(tc_connect(&held[i], s.port), 0);
        CHECK_INT(tc_send_str(&held[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        CHECK_INT(tc_read(&held[i], &r, false, 5000), 0);
        tc_response_free(&r);
    }
    /* a third connection is not served while two are open... */
    CHECK_INT(tc_connect(&extra, s.port), 0);
    CHECK_INT(tc_send_str(&extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    int got = tc_read(&extra, &r, false, 700);
    if (got == 0)
        fprintf(stderr, "  third connection answered %d\n", r.status);
    CHECK(got != 0);
    tc_response_free(&r);
    /* ...and is once one of them goes */
    tc_close(&held[0]);
    if (extra.eof) {
        tc_close(&extra); /* refused outright: a new one must work now */
        CHECK_INT(tc_connect(&extra, s.port), 0);
        CHECK_INT(tc_send_str(&extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    }
    CHECK_INT(tc_read(&extra, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    tc_close(&extra);
    tc_close(&held[1]);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
}

/* The inodes of the established TCP connections whose local port is port
 * (from /proc/net/tcp); returns how many (at most max). */
static int established_inodes(int port, unsigned long *out, int max)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int n = 0;
    while (f && n < max && fgets(line, sizeof(line), f)) {
        unsigned lport, st;
        unsigned long inode;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*d %lu", &lport, &st,
                   &inode) == 3 &&
            (int)lport == port && st == 1)
            out[n++] = inode;
    }
    if (f)
        fclose(f);
    return n;
}

/* How many of the sockets open in process pid are among inodes. */
static int sockets_among(pid_t pid, const unsigned long *inodes, int n)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(dir);
    int count = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[320], target[64];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, target, sizeof(target) - 1);
        unsigned long inode;
        if (k <= 0)
            continue;
        target[k] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) != 1)
            continue;
        for (int i = 0; i < n; i++)
            count += inodes[i] == inode;
    }
    if (d)
        closedir(d);
    return count;
}

/* 64 connections opened at once are spread over both workers (each has a
 * listening socket of its own, SO_REUSEPORT): with one shared socket, the
 * worker that woke first took nearly all of a burst.  The kernel spreads
 * them by a hash of their addresses: fewer than 16 of 64 on one worker has
 * a probability of about 2e-5. */
static void test_connections_spread_over_workers(void)
{
    enum { N = 64 };
    tc_conn c[N];
    int opened = 0;
    for (int i = 0; i < N; i++)
        if (tc_connect(&c[i], srv.port) == 0)
            opened++;
    CHECK_INT(opened, N);
    if (opened != N)
        return;
    int answered = 0;
    for (int i = 0; i < N; i++) {
        tc_response r;
        if (tc_send_str(&c[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0 &&
            tc_read(&c[i], &r, false, 5000) == 0) {
            answered += r.status == 200;
            tc_response_free(&r);
        }
    }
    CHECK_INT(answered, N);
    unsigned long inodes[4 * N];
    int ni = established_inodes(srv.port, inodes, 4 * N);
    pid_t w[4];
    int nw = tc_server_workers(&srv, w, 4);
    CHECK_INT(nw, 2);
    int total = 0;
    for (int i = 0; i < nw; i++) {
        int k = sockets_among(w[i], inodes, ni);
        printf("     worker %d: %d of %d connections\n", i + 1, k, N);
        CHECK(k >= 16);
        total += k;
    }
    CHECK(total >= N); /* and any still open from the tests before */
    for (int i = 0; i < N; i++)
        tc_close(&c[i]);
}

/* A second server on the port of a running one (2 workers each) is
 * refused, as SO_REUSEPORT alone would let it in to share the traffic. */
static void test_port_in_use_refused(void)
{
    const char *build = getenv("PHIAL_BUILD");
    char cmd[1536], out[160];
    snprintf(out, sizeof(out), "/tmp/phial-itest-%ld-inuse.log", (long)getpid());
    snprintf(cmd, sizeof(cmd),
             "DATABASE_URL=sqlite:///%s SECRET_KEY=%s timeout 20 %s/app-test run --host "
             "127.0.0.1 --port %d --workers 2 >%s 2>&1",
             srv.db_path, TC_SECRET_KEY, build && *build ? build : "build", srv.port, out);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124);
    FILE *f = fopen(out, "r");
    char buf[4096] = "";
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    CHECK(strstr(buf, "cannot listen") != NULL);
    unlink(out);
    /* the first server is still the one answering */
    tc_conn c;
    tc_response r;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    tc_close(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    srv_up = tc_server_start(&srv, 2, NULL) == 0;
    if (!srv_up) {
        printf("FAIL could not start the server\n");
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    RUN(test_hello);
    RUN(test_connections_spread_over_workers);
    RUN(test_port_in_use_refused);
    RUN(test_pipelining);
    RUN(test_pipelining_inline_behind_slow);
    RUN(test_head);
    RUN(test_404_405);
    RUN(test_500_keeps_serving);
    RUN(test_413_content_length);
    RUN(test_413_chunked);
    RUN(test_414_431_400);
    RUN(test_static);
    RUN(test_forms_and_query);
    RUN(test_access_log);
    RUN(test_clean_stop);
    RUN(test_worker_replaced);
    RUN(test_sigterm_drains);
    RUN(test_sigterm_drains_thread_pool);
    RUN(test_idle_timeout);
    RUN(test_thread_pool);
    RUN(test_more_slow_requests_than_threads);
    RUN(test_connection_limit);
    RUN(test_workers_follow_supervisor);
    TEST_END();
}
