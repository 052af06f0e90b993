/*
 * libFuzzer target for the Cookie header: the input is a header value,
 * parsed by the parser alone (small limit) and as a request's Cookie
 * header (the request's limit), then each cookie read back by name.  Any
 * crash, leak or sanitizer report is a bug.
 */
#include "phial/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    ph_params p = {0};
    int rc = ph_http_parse_cookies(a, (const char *)data, size, 4, &p);
    if (rc == 0 && p.len > 4)
        abort(); /* the limit holds */
    for (size_t i = 0; i < p.len; i++)
        if (!p.items[i].name || p.items[i].value[p.items[i].value_len] != '\0')
            abort();
    char *header = ph_arena_strndup(a, (const char *)data, size);
    ph_request *req = header ? ph_req_new(a, NULL, "GET", "/") : NULL;
    if (req && ph_req_add_header(req, "Cookie", header) == 0) {
        for (size_t i = 0; i < req->cookies.len; i++)
            if (!ph_req_cookie(req, req->cookies.items[i].name))
                abort();
        ph_req_cookie(req, "session");
    }
    ph_arena_free(a);
    return 0;
}
