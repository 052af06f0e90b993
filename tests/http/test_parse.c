/*
 * Unit tests of src/http/parse.c: percent-decoding and encoding, query and
 * url-encoded bodies, cookies, multipart bodies (good and malformed),
 * header parameters, HTTP dates and MIME types.
 */
#include <string.h>

#include "phial/http.h"
#include "test.h"

static void test_url_decode(void)
{
    ph_arena *a = ph_arena_new(0);
    size_t n;
    CHECK_STR(ph_url_decode(a, "a%20b+c", 7, false, &n), "a b+c");
    CHECK_INT(n, 5);
    CHECK_STR(ph_url_decode(a, "a%20b+c", 7, true, NULL), "a b c");
    /* malformed escapes are kept as they are */
    CHECK_STR(ph_url_decode(a, "%zz%4", 5, true, NULL), "%zz%4");
    CHECK_STR(ph_url_decode(a, "%", 1, true, NULL), "%");
    CHECK_STR(ph_url_decode(a, "%%41", 4, true, NULL), "%A");
    CHECK_STR(ph_url_decode(a, "%c3%A9", 6, false, NULL), "\xc3\xa9");
    /* %00 decodes to a NUL byte, counted in the length */
    char *s = ph_url_decode(a, "x%00y", 5, false, &n);
    CHECK_INT(n, 3);
    CHECK(s && s[1] == '\0' && s[2] == 'y');
    /* only n bytes are read */
    CHECK_STR(ph_url_decode(a, "ab%41", 3, false, NULL), "ab%");
    ph_arena_free(a);
}

static void test_url_encode(void)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    CHECK_INT(ph_url_encode(&b, "a b/c?d=é~", strlen("a b/c?d=é~"), false), 0);
    CHECK_STR(b.ptr, "a%20b%2Fc%3Fd%3D%C3%A9~");
    ph_buf_clear(&b);
    ph_url_encode(&b, "dir/file name.txt", 17, true);
    CHECK_STR(b.ptr, "dir/file%20name.txt");
    ph_buf_free(&b);
}

static void test_urlencoded(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_params p = {0};
    const char *q = "a=1&b=two+words&a=3&&empty=&flag&x%5B%5D=%41";
    CHECK_INT(ph_http_parse_urlencoded(a, q, strlen(q), 100, &p), 0);
    CHECK_INT(p.len, 6);
    CHECK_STR(ph_params_get(&p, "a"), "1");
    CHECK_INT(ph_params_count(&p, "a"), 2);
    CHECK_STR(ph_params_get_nth(&p, "a", 1), "3");
    CHECK(ph_params_get_nth(&p, "a", 2) == NULL);
    CHECK_STR(ph_params_get(&p, "b"), "two words");
    CHECK_STR(ph_params_get(&p, "empty"), "");
    CHECK_STR(ph_params_get(&p, "flag"), "");
    CHECK_STR(ph_params_get(&p, "x[]"), "A");
    CHECK(ph_params_get(&p, "nope") == NULL);
    /* bounded */
    ph_params p2 = {0};
    CHECK_INT(ph_http_parse_urlencoded(a, "a&b&c&d", 7, 3, &p2), PH_ELIMIT);
    /* empty input */
    ph_params p3 = {0};
    CHECK_INT(ph_http_parse_urlencoded(a, "", 0, 3, &p3), 0);
    CHECK_INT(p3.len, 0);
    ph_arena_free(a);
}

static void test_huge_counts(void)
{
    ph_arena *a = ph_arena_new(0);
    size_t n = 200000;
    char *q = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        q[2 * i] = 'k';
        q[2 * i + 1] = '&';
    }
    q[2 * n] = '\0';
    ph_params p = {0};
    CHECK_INT(ph_http_parse_urlencoded(a, q, 2 * n, 1000, &p), PH_ELIMIT);
    CHECK_INT(p.len, 1000);
    ph_params c = {0};
    for (size_t i = 0; i < n; i++) {
        q[2 * i] = i % 2 ? 'x' : ';';
        q[2 * i + 1] = '=';
    }
    CHECK(ph_http_parse_cookies(a, q, 2 * n, 50, &c) == 0 || c.len <= 50);
    free(q);
    ph_arena_free(a);
}

static void test_cookies(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_params p = {0};
    const char *h = "session=abc.def;  theme=\"dark\" ; bad; =novalue; empty=; sp = x ";
    CHECK_INT(ph_http_parse_cookies(a, h, strlen(h), 100, &p), 0);
    CHECK_STR(ph_params_get(&p, "session"), "abc.def");
    CHECK_STR(ph_params_get(&p, "theme"), "dark");
    CHECK_STR(ph_params_get(&p, "empty"), "");
    CHECK_STR(ph_params_get(&p, "sp"), "x");
    CHECK(ph_params_get(&p, "bad") == NULL);
    CHECK_INT(p.len, 4);
    ph_params p2 = {0};
    CHECK_INT(ph_http_parse_cookies(a, "a=1;b=2;c=3", 11, 2, &p2), PH_ELIMIT);
    ph_arena_free(a);
}

static void test_header_param(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(ph_http_header_param(a, "multipart/form-data; boundary=xyz", "boundary"), "xyz");
    CHECK_STR(ph_http_header_param(a, "multipart/form-data;BOUNDARY=\"a b\"", "boundary"), "a b");
    CHECK_STR(ph_http_header_param(a, "form-data; name=\"f\"; filename=\"x.txt\"", "filename"),
              "x.txt");
    CHECK_STR(ph_http_header_param(a, "form-data; name=\"f\"; filename=\"x.txt\"", "name"), "f");
    CHECK(ph_http_header_param(a, "multipart/form-data", "boundary") == NULL);
    CHECK(ph_http_header_param(a, "x; boundary=\"unclosed", "boundary") == NULL);
    /* a ';' or a parameter inside a quoted value is the value's */
    const char *cd = "form-data; filename=\"a; name=admin\"; name=\"upload\"";
    CHECK_STR(ph_http_header_param(a, cd, "name"), "upload");
    CHECK_STR(ph_http_header_param(a, cd, "filename"), "a; name=admin");
    CHECK_STR(ph_http_header_param(a, "form-data; name=\"q\\\"x\"", "name"), "q\"x");
    CHECK_STR(ph_http_header_param(a, "form-data; xname=1; name=2", "name"), "2");
    CHECK_STR(ph_http_header_param(a, "form-data; name=\"\"", "name"), "");
    ph_arena_free(a);
}

#define CT "multipart/form-data; boundary=XyZ"

static int mp(ph_arena *a, const char *body, ph_params *form, ph_upload **files, size_t *nf)
{
    memset(form, 0, sizeof(*form));
    *files = NULL;
    *nf = 0;
    return ph_http_parse_multipart(a, CT, body, strlen(body), 100, form, files, nf);
}

static void test_multipart(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_params form;
    ph_upload *files;
    size_t nf;
    const char *body = "preamble\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"user\"\r\n\r\n"
                       "alice\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "line1\r\nline2\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"bin\"; filename=\"b.bin\"\r\n\r\n"
                       "\r\n"
                       "--XyZ--\r\nepilogue";
    CHECK_INT(mp(a, body, &form, &files, &nf), 0);
    CHECK_INT(form.len, 1);
    CHECK_STR(ph_params_get(&form, "user"), "alice");
    CHECK_INT(nf, 2);
    if (nf == 2) {
        CHECK_STR(files[0].field, "doc");
        CHECK_STR(files[0].filename, "a.txt");
        CHECK_STR(files[0].content_type, "text/plain");
        CHECK_INT(files[0].len, 12);
        CHECK(memcmp(files[0].data, "line1\r\nline2", 12) == 0);
        CHECK_STR(files[1].content_type, "application/octet-stream");
        CHECK_INT(files[1].len, 0);
    }
    /* binary data with NUL bytes and boundary-like text */
    const char bin[] = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"z\"\r\n\r\n"
                       "a\0b--XyZ\r\n--XyZ--";
    memset(&form, 0, sizeof(form));
    files = NULL;
    nf = 0;
    CHECK_INT(ph_http_parse_multipart(a, CT, bin, sizeof(bin) - 1, 10, &form, &files, &nf), 0);
    CHECK_INT(nf, 1);
    if (nf == 1)
        CHECK_INT(files[0].len, 8);
    ph_arena_free(a);
}

static void test_multipart_malformed(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_params form = {0};
    ph_upload *files = NULL;
    size_t nf = 0;
    /* missing boundary */
    CHECK_INT(
        ph_http_parse_multipart(a, "multipart/form-data", "--x\r\n", 5, 10, &form, &files, &nf),
        PH_EPARSE);
    CHECK_INT(ph_http_parse_multipart(a, "multipart/form-data; boundary=", "--\r\n", 4, 10, &form,
                                      &files, &nf),
              PH_EPARSE);
    static const char *const bad[] = {
        "",
        "no delimiter at all",
        "--XyZ",
        "--XyZ\r\n",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ",
        "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--",
        "--XyZ\r\nNo-Colon-Here\r\n\r\nv\r\n--XyZ--",
        "--XyZ\r\n\r\nv\r\n--XyZ--",
        "--XyZjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--",
    };
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        int rc = mp(a, bad[i], &form, &files, &nf);
        if (rc != PH_EPARSE)
            fprintf(stderr, "  case %zu: %s\n", i, ph_errname(rc));
        CHECK_INT(rc, PH_EPARSE);
    }
    /* too many parts */
    ph_buf b;
    ph_buf_init(&b, a);
    for (int i = 0; i < 20; i++)
        ph_buf_printf(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    ph_buf_puts(&b, "--XyZ--\r\n");
    memset(&form, 0, sizeof(form));
    CHECK_INT(ph_http_parse_multipart(a, CT, b.ptr, b.len, 10, &form, &files, &nf), PH_ELIMIT);
    memset(&form, 0, sizeof(form));
    CHECK_INT(ph_http_parse_multipart(a, CT, b.ptr, b.len, 20, &form, &files, &nf), 0);
    CHECK_INT(form.len, 20);
    ph_arena_free(a);
}

static void test_dates(void)
{
    char d[30];
    ph_http_date(784111777, d);
    CHECK_STR(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    time_t t;
    CHECK_INT(ph_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    CHECK_INT(t, 784111777);
    CHECK_INT(ph_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Sun, 06 Xyz 1994 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("", &t), PH_EPARSE);
    /* signs, spaces and impossible days are not dates */
    CHECK_INT(ph_http_date_parse("Sun, -6 Nov 1994 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Sun, 06 Nov 1994 -8:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Sun,  6 Nov 1994 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Sun, 30 Feb 2024 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Sun, 29 Feb 2023 08:49:37 GMT", &t), PH_EPARSE);
    CHECK_INT(ph_http_date_parse("Thu, 29 Feb 2024 00:00:00 GMT", &t), 0);
    CHECK_INT(ph_http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    CHECK_INT(t, 0);
    CHECK_INT(ph_http_date_parse(NULL, &t), PH_EPARSE);
}

static void test_mime(void)
{
    CHECK_STR(ph_http_mime_type("style.css"), "text/css; charset=utf-8");
    CHECK_STR(ph_http_mime_type("a/b/app.JS"), "text/javascript; charset=utf-8");
    CHECK_STR(ph_http_mime_type("logo.png"), "image/png");
    CHECK_STR(ph_http_mime_type("x.tar.gz"), "application/octet-stream");
    CHECK_STR(ph_http_mime_type("dir.d/noext"), "application/octet-stream");
    CHECK_STR(ph_http_reason(404), "Not Found");
    CHECK_STR(ph_http_reason(501), "Not Implemented"); /* the framing layer's answers */
    CHECK_STR(ph_http_reason(505), "HTTP Version Not Supported");
    CHECK_STR(ph_http_reason(429), "Too Many Requests");
    CHECK_STR(ph_http_reason(799), "Unknown");
}

int main(void)
{
    RUN(test_url_decode);
    RUN(test_url_encode);
    RUN(test_urlencoded);
    RUN(test_huge_counts);
    RUN(test_cookies);
    RUN(test_header_param);
    RUN(test_multipart);
    RUN(test_multipart_malformed);
    RUN(test_dates);
    RUN(test_mime);
    TEST_END();
}
