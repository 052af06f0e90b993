/*
 * libFuzzer target for the query string: the input is a request target
 * ("/path?a=1&b=%zz..."), parsed as a request's (path decoded, arguments
 * parsed up to the request's limit), then read back the way handlers and
 * the app read it: every argument looked up by name, checked for UTF-8.
 * The raw bytes (NUL included) go through the url-encoded parser too.  A
 * value must keep its length, its NUL terminator, and a name must be
 * NUL-terminated.  Any crash, leak or sanitizer report is a bug.
 */
#include "phial/http.h"
#include "phial/security.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const ph_params *p)
{
    for (size_t i = 0; i < p->len; i++) {
        const ph_param *it = &p->items[i];
        if (!it->name || !it->value || it->value[it->value_len] != '\0')
            abort();
        ph_text_valid(it->value, it->value_len);
        /* lookups are linear: a few, so that a long query stays fast */
        if (i < 16 && (ph_params_get(p, it->name) == NULL || ph_params_count(p, it->name) == 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    ph_params p = {0};
    ph_http_parse_urlencoded(a, (const char *)data, size, 1000, &p);
    walk(&p);
    char *target = ph_arena_strndup(a, (const char *)data, size); /* stops at a NUL */
    ph_request *req = target ? ph_req_new(a, NULL, "GET", target) : NULL;
    if (req) {
        walk(&req->args);
        ph_req_arg(req, "a");
        ph_req_arg(req, "");
        if (req->path && strlen(req->path) > req->path_len)
            abort();
    }
    ph_arena_free(a);
    return 0;
}
