/*
 * Request framing over a real socket: every case of the hardening issue
 * (Content-Length with Transfer-Encoding, two Content-Lengths,
 * "Content-Length : 5", unknown codings, malformed and huge lengths, two
 * Hosts, no Host, folded lines, empty names, bare CR, NUL bytes) gets the
 * status nginx 1.22 gives it, one well-formed reply, then a close -- and
 * the request smuggled after it is never answered.  Also: what stays
 * accepted (LF line ends, a blank line first, absolute-form, trailers),
 * 100-continue, and answers that do not wait for a body.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "test.h"

static tc_server srv;

#define SM "GET /_test/echo?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST_HEAD "POST /_test/echo HTTP/1.1\r\nHost: x\r\n"

typedef struct framing_case {
    const char *name;
    const char *raw;
    size_t len; /* 0: strlen(raw) (cases with a NUL give it) */
    int status;
    bool closes;
} framing_case;

static const framing_case cases[] = {
    {"CL + TE", POST_HEAD "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SM, 0,
     400, true},
    {"two different CLs", POST_HEAD "Content-Length: 5\r\nContent-Length: 49\r\n\r\nhello" SM, 0,
     400, true},
    {"two equal CLs", POST_HEAD "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" SM, 0, 400,
     true},
    {"space before colon", POST_HEAD "Content-Length : 49\r\n\r\nhello" SM, 0, 400, true},
    {"TE gzip", POST_HEAD "Transfer-Encoding: gzip\r\n\r\nhello" SM, 0, 501, true},
    {"TE chunked, gzip", POST_HEAD "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" SM, 0, 501,
     true},
    {"TE gzip, chunked", POST_HEAD "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" SM, 0, 501,
     true},
    {"TE twice",
     POST_HEAD "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SM, 0,
     400, true},
    {"TE in HTTP/1.0",
     "POST /_test/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SM, 0, 400, true},
    {"CL +5", POST_HEAD "Content-Length: +5\r\n\r\nhello" SM, 0, 400, true},
    {"CL 5, 5", POST_HEAD "Content-Length: 5, 5\r\n\r\nhello" SM, 0, 400, true},
    {"CL 0x5", POST_HEAD "Content-Length: 0x5\r\n\r\nhello" SM, 0, 400, true},
    {"CL -1", POST_HEAD "Content-Length: -1\r\n\r\nhello" SM, 0, 400, true},
    {"CL of 20 digits", POST_HEAD "Content-Length: 99999999999999999999\r\n\r\nhello" SM, 0, 400,
     true},
    {"CL over the limit", POST_HEAD "Content-Length: 2000000\r\n\r\nhello" SM, 0, 413, true},
    {"two Hosts", "GET /_test/echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" SM, 0, 400, true},
    {"no Host", "GET /_test/echo HTTP/1.1\r\n\r\n" SM, 0, 400, true},
    {"Host with a slash", "GET /_test/echo HTTP/1.1\r\nHost: a/b\r\n\r\n" SM, 0, 400, true},
    {"folded line", "GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  more\r\n\r\n" SM, 0, 400,
     true},
    {"empty header name", "GET /_test/echo HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n" SM, 0, 400, true},
    {"space in a name", "GET /_test/echo HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n" SM, 0, 400, true},
    {"bare CR in a value", "GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" SM, 0, 400,
     true},
    {"bare CR in the request line", "GET /_test/echo\r HTTP/1.1\r\nHost: x\r\n\r\n" SM, 0, 400,
     true},
    {"NUL in the target", "GET /_test/echo\0.png HTTP/1.1\r\nHost: x\r\n\r\n" SM,
     sizeof("GET /_test/echo\0.png HTTP/1.1\r\nHost: x\r\n\r\n" SM) - 1, 400, true},
    {"NUL in a value", "GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n" SM,
     sizeof("GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n" SM) - 1, 400, true},
    {"HTTP/2.0 request line", "GET /_test/echo HTTP/2.0\r\nHost: x\r\n\r\n" SM, 0, 505, true},
    {"garbage version", "GET /_test/echo HTTX/1.1\r\nHost: x\r\n\r\n" SM, 0, 400, true},
    {"lower-case version", "GET /_test/echo http/1.1\r\nHost: x\r\n\r\n" SM, 0, 400, true},
    {"chunk size zz", POST_HEAD "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" SM, 0,
     400, true},
    {"chunk size +5", POST_HEAD "Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n" SM, 0,
     400, true},
    {"chunk size 0x5", POST_HEAD "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n" SM,
     0, 400, true},
    {"chunk without CRLF", POST_HEAD "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n" SM,
     0, 400, true},
    {"chunk size of 17 digits",
     POST_HEAD "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello" SM, 0, 400, true},
    {"chunk over the limit", POST_HEAD "Transfer-Encoding: chunked\r\n\r\n200000\r\nhello" SM, 0,
     413, true},
};

/* Sends raw on a new connection, reads until the server closes (or
 * timeout_ms), and returns what came back (malloc'd) and whether it closed. */
static char *exchange(const char *raw, size_t len, int timeout_ms, bool *closed, size_t *outlen)
{
    tc_conn c;
    *closed = false;
    *outlen = 0;
    if (tc_connect(&c, srv.port) < 0)
        return NULL;
    tc_send(&c, raw, len);
    *closed = tc_closed(&c, timeout_ms);
    char *out = malloc(c.len + 1);
    if (out) {
        memcpy(out, c.buf ? c.buf : "", c.len);
        out[c.len] = '\0';
        *outlen = c.len;
    }
    tc_close(&c);
    return out;
}

static int count_status_lines(const char *p, size_t n)
{
    int k = 0;
    for (size_t i = 0; i + 9 <= n; i++)
        if (memcmp(p + i, "HTTP/1.1 ", 9) == 0)
            k++;
    return k;
}

static void test_framing_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const framing_case *fc = &cases[i];
        size_t len = fc->len ? fc->len : strlen(fc->raw);
        bool closed;
        size_t n;
        char *out = exchange(fc->raw, len, 3000, &closed, &n);
        CHECK(out != NULL);
        if (!out)
            continue;
        int status = n > 12 ? atoi(out + 9) : 0;
        int replies = count_status_lines(out, n);
        bool smuggled = strstr(out, "smuggled") != NULL;
        bool ok = status == fc->status && replies == 1 && closed == fc->closes && !smuggled;
        printf("  %-28s -> %d, %d reply, %s%s\n", fc->name, status, replies,
               closed ? "closed" : "open", smuggled ? ", SMUGGLED" : "");
        if (!ok)
            fprintf(stderr, "  case \"%s\": expected %d then close, got:\n%s\n", fc->name,
                    fc->status, out);
        CHECK_INT(status, fc->status);
        CHECK_INT(replies, 1);
        CHECK(closed == fc->closes);
        CHECK(!smuggled);
        if (fc->closes)
            CHECK(strstr(out, "\r\nConnection: close\r\n") != NULL);
        free(out);
    }
}

/* What nginx accepts stays accepted, and the next request is served. */
static void test_accepted_forms(void)
{
    static const char *const ok[] = {
        "GET /_test/echo HTTP/1.1\nHost: x\n\n",
        "\r\nGET /_test/echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://x/_test/echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9\r\n\r\n",
        "GET /_test/echo HTTP/1.2\r\nHost: x\r\n\r\n",
        POST_HEAD "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        POST_HEAD "Transfer-Encoding: ChunKed\r\n\r\n0005\r\nhello\r\n0\r\n\r\n",
        POST_HEAD "Content-Length:  5  \r\n\r\nhello",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        tc_conn c;
        CHECK_INT(tc_connect(&c, srv.port), 0);
        CHECK_INT(tc_send_str(&c, ok[i]), 0);
        CHECK_INT(tc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        tc_response r;
        CHECK_INT(tc_read(&c, &r, false, 5000), 0);
        if (r.status != 200)
            fprintf(stderr, "  request %zu answered %d\n", i, r.status);
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "path=/_test/echo\n");
        if (strncmp(ok[i], "POST", 4) == 0)
            CHECK_CONTAINS(r.body, "body=5\n");
        tc_response_free(&r);
        CHECK_INT(tc_read(&c, &r, false, 5000), 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "Hello world");
        tc_response_free(&r);
        tc_close(&c);
    }
}

static void test_expect_continue(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, POST_HEAD "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"), 0);
    tc_response r;
    /* the interim answer comes before any body byte is sent */
    CHECK_INT(tc_read(&c, &r, true, 5000), 0);
    CHECK_INT(r.status, 100);
    tc_response_free(&r);
    CHECK_INT(tc_send_str(&c, "hello"), 0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "body=5\n");
    tc_response_free(&r);
    tc_close(&c);
    /* over the limit: 413 at once, no 100 */
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, POST_HEAD "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"),
              0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 413);
    tc_response_free(&r);
    CHECK(tc_closed(&c, 5000));
    tc_close(&c);
}

/* A bad request in a pipeline: the ones before it are answered, nothing
 * after it is. */
static void test_pipeline_stops_at_error(void)
{
    bool closed;
    size_t n;
    char *out = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                         "ab" SM,
                         strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: "
                                "2\r\n\r\nab" SM),
                         3000, &closed, &n);
    CHECK(out != NULL);
    if (!out)
        return;
    CHECK_INT(count_status_lines(out, n), 2);
    CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    CHECK(strstr(out, "Hello world") != NULL);
    CHECK(strstr(out, "HTTP/1.1 400 ") != NULL);
    CHECK(strstr(out, "smuggled") == NULL);
    CHECK(closed);
    free(out);
}

/* HTTP/1.0 closes unless asked to keep alive; Connection: close closes. */
static void test_connection_header(void)
{
    bool closed;
    size_t n;
    char *out = exchange("GET / HTTP/1.0\r\n\r\n", 18, 3000, &closed, &n);
    CHECK(out && closed && strstr(out, "Connection: close\r\n"));
    free(out);
    out = exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" SM,
                   strlen("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" SM), 3000,
                   &closed, &n);
    CHECK(out && closed && count_status_lines(out, n) == 1 && !strstr(out, "smuggled"));
    free(out);
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(tc_header_get(&r, "Connection"), "keep-alive");
    tc_response_free(&r);
    CHECK_INT(tc_send_str(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    tc_close(&c);
}

/* The error answers are well formed: one head, a sized body, Server. */
static void test_error_reply_shape(void)
{
    tc_conn c;
    CHECK_INT(tc_connect(&c, srv.port), 0);
    CHECK_INT(tc_send_str(&c, POST_HEAD "Content-Length: 0x5\r\n\r\nhello"), 0);
    tc_response r;
    CHECK_INT(tc_read(&c, &r, false, 5000), 0);
    CHECK_INT(r.status, 400);
    CHECK_STR(tc_header_get(&r, "Server"), "Phial");
    CHECK(tc_header_get(&r, "Content-Length") != NULL);
    CHECK(tc_header_get(&r, "Date") != NULL);
    CHECK_CONTAINS(r.body, "Bad Request");
    tc_response_free(&r);
    CHECK(tc_closed(&c, 5000));
    CHECK_INT(count_status_lines(c.buf ? c.buf : "", c.len), 0); /* nothing after it */
    tc_close(&c);
    char *log = tc_server_log(&srv);
    CHECK_CONTAINS(log, "\"- - -\" 400 ");
    free(log);
}

static void test_clean_stop(void)
{
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tc_server_start(&srv, 1, NULL) < 0) {
        printf("FAIL could not start the server\n");
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    RUN(test_framing_cases);
    RUN(test_accepted_forms);
    RUN(test_expect_continue);
    RUN(test_pipeline_stops_at_error);
    RUN(test_connection_header);
    RUN(test_error_reply_shape);
    RUN(test_clean_stop);
    TEST_END();
}
