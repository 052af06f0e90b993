/*
 * libFuzzer target for the router: the input's first line is a route
 * pattern (compiled, errors fine), the rest is a path matched against it
 * and a fixed table; url_for is then built with the path as every value.
 * Any crash, leak or sanitizer report is a bug.
 */
#include "phial/router.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    if (!nl)
        return 0;
    ph_router *r = ph_router_new();
    ph_arena *a = ph_arena_new(0);
    if (!r || !a)
        goto done;
    char *pattern = ph_arena_strndup(a, in, (size_t)(nl - in));
    const char *path = nl + 1;
    size_t plen = size - (size_t)(path - in);
    char *zpath = ph_arena_strndup(a, path, plen);
    if (!pattern || !zpath)
        goto done;
    char err[128];
    ph_router_add(r, PH_GET, "/", "index", h, NULL, NULL, 0);
    ph_router_add(r, PH_GET | PH_POST, "/pets/<int:pet_id>", "pet", h, NULL, NULL, 0);
    ph_router_add(r, PH_GET, "/f/<path:p>/edit", "f", h, NULL, NULL, 0);
    ph_router_add(r, PH_GET, "/u/<name>.<string:ext>", "u", h, NULL, NULL, 0);
    ph_router_add(r, PH_PUT, pattern, "fuzz", h, NULL, err, sizeof(err));
    ph_match m;
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "BREW"};
    for (size_t i = 0; i < PH_COUNTOF(methods); i++)
        ph_router_match(r, methods[i], path, plen, a, &m);
    ph_router_url_for(r, a, "fuzz", "pet_id", zpath, "name", zpath, "p", zpath, "ext", zpath, "x",
                      zpath, NULL);
    ph_router_url_for(r, a, "pet", "pet_id", zpath, NULL);
    ph_router_url_for(r, a, "f", "p", zpath, "q", zpath, NULL);
done:
    ph_arena_free(a);
    ph_router_free(r);
    return 0;
}
