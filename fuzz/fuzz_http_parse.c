/*
 * libFuzzer target for the HTTP input parsers: the first byte picks the
 * parser, the rest is the input -- percent-decoding, query strings, Cookie
 * headers, multipart bodies (the first line is the Content-Type value),
 * header parameters, HTTP dates, and a whole request built from a target
 * plus a body.  Errors are answers; any crash, leak or sanitizer report is
 * a bug.
 */
#include "phial/http.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    unsigned which = data[0] % 6;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    char *z = ph_arena_strndup(a, in, n); /* NUL-terminated copy (stops at a NUL) */
    ph_params p = {0};
    switch (which) {
    case 0: {
        size_t out;
        ph_url_decode(a, in, n, data[0] & 0x80, &out);
        ph_buf b;
        ph_buf_init(&b, a);
        ph_url_encode(&b, in, n, data[0] & 0x40);
        break;
    }
    case 1:
        ph_http_parse_urlencoded(a, in, n, 1000, &p);
        break;
    case 2:
        ph_http_parse_cookies(a, in, n, 200, &p);
        break;
    case 3: {
        const char *nl = memchr(in, '\n', n);
        if (!nl)
            break;
        char *ct = ph_arena_strndup(a, in, (size_t)(nl - in));
        ph_upload *files = NULL;
        size_t nf = 0;
        if (ct)
            ph_http_parse_multipart(a, ct, nl + 1, n - (size_t)(nl + 1 - in), 100, &p, &files, &nf);
        break;
    }
    case 4:
        if (z) {
            time_t t;
            ph_http_header_param(a, z, "boundary");
            ph_http_date_parse(z, &t);
            ph_http_mime_type(z);
        }
        break;
    case 5: {
        /* "target\nContent-Type\nbody" */
        const char *nl1 = memchr(in, '\n', n);
        const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', n - (size_t)(nl1 + 1 - in)) : NULL;
        if (!nl2)
            break;
        char *target = ph_arena_strndup(a, in, (size_t)(nl1 - in));
        char *ct = ph_arena_strndup(a, nl1 + 1, (size_t)(nl2 - nl1 - 1));
        if (!target || !ct)
            break;
        ph_request *req = ph_req_new(a, NULL, "POST", target);
        if (!req)
            break;
        ph_req_add_header(req, "Content-Type", ct);
        ph_req_add_header(req, "Cookie", ct);
        ph_req_set_body(req, nl2 + 1, n - (size_t)(nl2 + 1 - in));
        ph_req_parse_body(req, 100);
        break;
    }
    }
    ph_arena_free(a);
    return 0;
}
