/*
 * Unit tests of the request-head parser and the chunked decoder
 * (src/http/wire.c): heads found the same whether they arrive whole or a
 * byte at a time, limits decided while the bytes arrive, each refused form
 * with its status, and chunked bodies decoded the same in any split.
 */
#include <string.h>

#include "../../src/http/wire.h"
#include "test.h"

static const ph_wire_limits lim = {.max_url = 100, .max_header = 200, .max_body = 1000};

static long end_whole(const char *s)
{
    ph_wire_scan st = {0};
    return ph__wire_head_end(s, strlen(s), &lim, &st);
}

static long end_bytewise(const char *s)
{
    ph_wire_scan st = {0};
    size_t n = strlen(s);
    for (size_t i = 1; i <= n; i++) {
        long r = ph__wire_head_end(s, i, &lim, &st);
        if (r != 0)
            return r;
    }
    return 0;
}

static void test_head_end(void)
{
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\n\r\n",
        "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        long w = end_whole(heads[i]);
        CHECK_INT(w, (long)strlen(heads[i]));
        CHECK_INT(end_bytewise(heads[i]), w);
    }
    /* incomplete */
    CHECK_INT(end_whole("GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    CHECK_INT(end_whole("GET / HTTP/1.1\r\nHost: x\r\n\r"), 0);
    /* limits decided before the end arrives */
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "GET /", 5);
    CHECK_INT(end_whole(big), -414);
    CHECK_INT(end_bytewise(big), -414);
    char hdr[400];
    strcpy(hdr, "GET / HTTP/1.1\r\nX: ");
    size_t l = strlen(hdr);
    memset(hdr + l, 'h', sizeof(hdr) - l - 1);
    hdr[sizeof(hdr) - 1] = '\0';
    CHECK_INT(end_whole(hdr), -431);
    CHECK_INT(end_bytewise(hdr), -431);
    CHECK_INT(end_whole("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET"), -400);
}

static int parse(const char *s, ph_wire_head *h, ph_wire_header *hdrs)
{
    return ph__wire_head_parse(s, strlen(s), &lim, hdrs, 16, h);
}

static void test_head_parse_ok(void)
{
    ph_wire_head h;
    ph_wire_header hd[16];
    CHECK_INT(parse("POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length:  12 \r\n"
                    "Connection: x, close\r\nExpect: 100-continue\r\nX-E:\r\n\r\n",
                    &h, hd),
              0);
    CHECK_INT(h.method_len, 4);
    CHECK(memcmp(h.target, "/a?b=c", 6) == 0 && h.target_len == 6);
    CHECK_INT(h.minor, 1);
    CHECK_INT(h.content_length, 12);
    CHECK(!h.keep_alive && h.expect_continue && !h.chunked);
    CHECK_INT(h.nheaders, 5);
    CHECK(hd[1].value_len == 2 && memcmp(hd[1].value, "12", 2) == 0);
    CHECK_INT(hd[4].value_len, 0);
    CHECK_INT(parse("GET http://h:80/p/q?x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, hd), 0);
    CHECK(h.target_len == 6 && memcmp(h.target, "/p/q?x", 6) == 0);
    CHECK(h.keep_alive && h.minor == 0);
    CHECK_INT(parse("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", &h, hd), 0);
    CHECK(h.target_len == 1 && h.target[0] == '/');
    CHECK_INT(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &h, hd), 0);
    CHECK_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, hd), 0);
    CHECK(h.chunked && h.content_length == -1);
}

static void test_head_parse_refused(void)
{
    static const struct {
        const char *head;
        int status;
    } bad[] = {
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n 2\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n\tA: 1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA(: 1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r2\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\x01\r\n\r\n", 400},
        {"GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET http://?q HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n",
         414},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ph_wire_head h;
        ph_wire_header hd[16];
        int st = parse(bad[i].head, &h, hd);
        if (st != bad[i].status)
            fprintf(stderr, "  case %zu: %d, expected %d\n", i, st, bad[i].status);
        CHECK_INT(st, bad[i].status);
    }
    /* a NUL in the target or in a value */
    static const char nul1[] = "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char nul2[] = "GET / HTTP/1.1\r\nHost: x\r\nA: a\0b\r\n\r\n";
    ph_wire_head h;
    ph_wire_header hd[16];
    CHECK_INT(ph__wire_head_parse(nul1, sizeof(nul1) - 1, &lim, hd, 16, &h), 400);
    CHECK_INT(ph__wire_head_parse(nul2, sizeof(nul2) - 1, &lim, hd, 16, &h), 400);
    /* more fields than room: 431, never an overflow */
    CHECK_INT(ph__wire_head_parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n", 33, &lim, hd, 1, &h),
              431);
}

/* A field value of 100 bytes (a cookie's length, checked many bytes a
 * step): each control byte (NUL to 0x1f but tab, and DEL) at each place
 * is refused; a tab or a byte >= 0x80 there is kept, value and all. */
static void test_header_value_controls(void)
{
    static const char pre[] = "GET / HTTP/1.1\r\nHost: x\r\nCookie: ";
    enum { VLEN = 100 };
    char req[sizeof(pre) - 1 + VLEN + 4];
    int wrong = 0;
    for (int b = 0; b < 256; b++) {
        if (b == '\r' || b == '\n')
            continue; /* line ends: their own cases above */
        bool control = (b < 0x20 && b != '\t') || b == 0x7f;
        for (size_t at = 0; at < VLEN; at++) {
            if ((b == ' ' || b == '\t') && (at == 0 || at == VLEN - 1))
                continue; /* leading and trailing blanks are trimmed */
            memcpy(req, pre, sizeof(pre) - 1);
            memset(req + sizeof(pre) - 1, 'v', VLEN);
            req[sizeof(pre) - 1 + at] = (char)b;
            memcpy(req + sizeof(pre) - 1 + VLEN, "\r\n\r\n", 4);
            ph_wire_head h;
            ph_wire_header hd[16];
            int st = ph__wire_head_parse(req, sizeof(req), &lim, hd, 16, &h);
            bool ok = control ? st == 400
                              : st == 0 && h.nheaders == 2 && hd[1].value_len == VLEN &&
                                    (unsigned char)hd[1].value[at] == b;
            if (!ok && wrong++ < 5)
                fprintf(stderr, "  byte 0x%02x at %zu: %d\n", b, at, st);
        }
    }
    CHECK_INT(wrong, 0);
}

typedef struct out {
    char p[2048];
    size_t len;
} out;

static int sink(void *ud, const char *p, size_t n)
{
    out *o = ud;
    if (o->len + n > sizeof(o->p))
        return -1;
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

/* Decodes s in pieces of step bytes; the answer, the data in o, *used. */
static int chunked(const char *s, size_t step, out *o, size_t *used)
{
    ph_wire_chunked st = {0};
    size_t n = strlen(s), off = 0;
    o->len = 0;
    int rc = 0;
    while (off < n) {
        size_t piece = n - off < step ? n - off : step, u = 0;
        rc = ph__wire_chunked_feed(&st, s + off, piece, 1000, 100, sink, o, &u);
        off += u;
        if (rc)
            break;
    }
    *used = off;
    return rc;
}

static void test_chunked(void)
{
    const char *body = "5\r\nhello\r\n6;name=\"v\"\r\n world\r\n000\r\nX-T: 1\r\n\r\nNEXT";
    for (size_t step = 1; step <= 9; step++) {
        out o;
        size_t used;
        CHECK_INT(chunked(body, step, &o, &used), 1);
        CHECK_INT(o.len, 11);
        CHECK(memcmp(o.p, "hello world", 11) == 0);
        CHECK_INT(used, strlen(body) - 4); /* "NEXT" is the next request's */
    }
    static const struct {
        const char *body;
        int rc;
    } cases[] = {
        {"0\r\n\r\n", 1},
        {"0\n\n", 1},
        {"a\r\n0123456789\r\n0\r\n\r\n", 1},
        {"zz\r\n", 400},
        {"+5\r\nhello\r\n", 400},
        {"0x5\r\nhello\r\n", 400},
        {" 5\r\nhello\r\n", 400},
        {"\r\n", 400},
        {"5\r\nhelloXX", 400},
        {"5\rX", 400},
        {"3e9\r\n", 413},  /* 1001 bytes */
        {"3e8\r\n", 0},    /* 1000: fine, waits for the data */
        {"10000000000000000\r\n", 400},
        {"0000000000000000000005\r\nhello\r\n0\r\n\r\n", 1},
        {"0\r\n X: 1\r\n\r\n", 400},
        {"0\r\nX: 1\x01\r\n\r\n", 400},
        {"5;a\x01\r\nhello", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 3; step += 2) {
            out o;
            size_t used;
            int rc = chunked(cases[i].body, step, &o, &used);
            if (rc != cases[i].rc)
                fprintf(stderr, "  chunked case %zu (step %zu): %d, expected %d\n", i, step, rc,
                        cases[i].rc);
            CHECK_INT(rc, cases[i].rc);
        }
    }
    /* two chunks that together pass the limit: 413 at the second size */
    char two[1200];
    strcpy(two, "1f4\r\n");
    memset(two + 5, 'a', 500);
    strcpy(two + 505, "\r\n1f5\r\n");
    out o;
    size_t used;
    CHECK_INT(chunked(two, 64, &o, &used), 413);
    CHECK_INT(o.len, 500);
    /* a long trailer section is refused */
    char tr[800] = "0\r\n";
    for (int i = 0; i < 20; i++)
        strcat(tr, "X-Trailer-Field: 1234567\r\n");
    strcat(tr, "\r\n");
    CHECK_INT(chunked(tr, 7, &o, &used), 400);
}

int main(void)
{
    RUN(test_head_end);
    RUN(test_head_parse_ok);
    RUN(test_head_parse_refused);
    RUN(test_header_value_controls);
    RUN(test_chunked);
    TEST_END();
}
