/*
 * libFuzzer target for multipart/form-data: the input's first line is the
 * Content-Type header value (the boundary is read from it), the rest the
 * body.  Parsed by the parser alone, then as a request body; every field
 * and file read back.  Any crash, leak or sanitizer report is a bug.
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
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    if (!nl)
        return 0;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    char *ct = ph_arena_strndup(a, in, (size_t)(nl - in));
    const char *body = nl + 1;
    size_t blen = size - (size_t)(body - in);
    ph_params form = {0};
    ph_upload *files = NULL;
    size_t nfiles = 0;
    if (ct && ph_http_parse_multipart(a, ct, body, blen, 100, &form, &files, &nfiles) == 0) {
        for (size_t i = 0; i < nfiles; i++)
            if (!files[i].field || !files[i].content_type || files[i].data[files[i].len] != '\0' ||
                files[i].len > blen)
                abort();
        for (size_t i = 0; i < form.len; i++)
            if (form.items[i].value[form.items[i].value_len] != '\0')
                abort();
    }
    ph_request *req = ct ? ph_req_new(a, NULL, "POST", "/upload") : NULL;
    if (req && ph_req_add_header(req, "Content-Type", ct) == 0 &&
        ph_req_set_body(req, body, blen) == 0 && ph_req_parse_body(req, 100) == 0) {
        ph_req_file(req, "file");
        ph_req_form(req, "name");
    }
    ph_arena_free(a);
    return 0;
}
