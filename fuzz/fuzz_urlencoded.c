/*
 * libFuzzer target for url-encoded bodies (application/x-www-form-urlencoded):
 * the input is a request body parsed as the server parses a POST (the
 * body limits, the form parser), then read back by name.  The parser
 * alone is run too with a small item limit, so PH_ELIMIT paths are
 * reached.  Any crash, leak or sanitizer report is a bug.
 */
#include "phial/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    ph_params p = {0};
    int rc = ph_http_parse_urlencoded(a, (const char *)data, size, 8, &p);
    if (rc == 0 && p.len > 8)
        abort(); /* the limit holds */
    ph_request *req = ph_req_new(a, NULL, "POST", "/form");
    if (req && ph_req_add_header(req, "Content-Type", "application/x-www-form-urlencoded") == 0 &&
        ph_req_set_body(req, data, size) == 0 && ph_req_parse_body(req, 100) == 0) {
        for (size_t i = 0; i < req->form.len; i++) {
            const ph_param *it = &req->form.items[i];
            if (it->value[it->value_len] != '\0' || !ph_req_form(req, it->name))
                abort();
        }
    }
    ph_arena_free(a);
    return 0;
}
