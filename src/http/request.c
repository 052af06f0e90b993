/*
 * Building a ph_request from its parts (method, request target, headers,
 * body) and reading it back: the server fills one per request, tests build
 * them directly.  Everything lives in the request arena.
 */
#include "phial/http.h"

#include <string.h>
#include <strings.h>

/* Bounds on counts that outside input controls. */
#define PH_MAX_QUERY_ARGS 1000
#define PH_MAX_COOKIES 200

ph_request *ph_req_new(ph_arena *a, struct ph_app *app, const char *method, const char *uri)
{
    ph_request *req = PH_ARENA_NEW(a, ph_request);
    if (!req)
        return NULL;
    req->arena = a;
    req->app = app;
    req->method = ph_arena_strdup(a, method);
    req->version = "HTTP/1.1";
    req->raw_uri = ph_arena_strdup(a, uri);
    req->remote_addr = "-";
    req->start_ns = ph_now_ns();
    if (!req->method || !req->raw_uri)
        return NULL;
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    req->raw_path = ph_arena_strndup(a, uri, plen);
    req->query = ph_arena_strdup(a, q ? q + 1 : "");
    req->path = ph_url_decode(a, uri, plen, false, &req->path_len);
    if (!req->raw_path || !req->query || !req->path)
        return NULL;
    int rc =
        ph_http_parse_urlencoded(a, req->query, strlen(req->query), PH_MAX_QUERY_ARGS, &req->args);
    if (rc == PH_ENOMEM)
        return NULL;
    if (rc < 0)
        req->bad_status = 400;
    return req;
}

int ph_req_add_header(ph_request *req, const char *name, const char *value)
{
    char *n = ph_arena_strdup(req->arena, name);
    char *v = ph_arena_strdup(req->arena, value ? value : "");
    if (!n || !v)
        return PH_ENOMEM;
    if (ph_params_add(req->arena, &req->headers, n, v, strlen(v)) < 0)
        return PH_ENOMEM;
    if (strcasecmp(n, "Cookie") == 0) {
        int rc = ph_http_parse_cookies(req->arena, v, strlen(v), PH_MAX_COOKIES, &req->cookies);
        if (rc == PH_ENOMEM)
            return rc;
        if (rc < 0)
            req->bad_status = 400;
    }
    return 0;
}

int ph_req_set_body(ph_request *req, const void *body, size_t len)
{
    char *copy = ph_arena_alloc(req->arena, len + 1);
    if (!copy)
        return PH_ENOMEM;
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    req->body = (ph_slice){copy, len};
    return 0;
}

int ph_req_parse_body(ph_request *req, size_t max_parts)
{
    const char *ct = ph_req_header(req, "Content-Type");
    if (!ct || req->body.len == 0)
        return 0;
    int rc = 0;
    if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        rc = ph_http_parse_urlencoded(req->arena, req->body.ptr, req->body.len, max_parts,
                                      &req->form);
    } else if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        rc = ph_http_parse_multipart(req->arena, ct, req->body.ptr, req->body.len, max_parts,
                                     &req->form, &req->files, &req->nfiles);
    }
    if (rc == PH_ENOMEM)
        return rc;
    if (rc == PH_ELIMIT)
        req->bad_status = 413;
    else if (rc < 0)
        req->bad_status = 400;
    return 0;
}

static void json_release(void *p)
{
    json_decref(p);
}

json_t *ph_req_json(ph_request *req, ph_response *res)
{
    const char *ct = ph_req_header(req, "Content-Type");
    size_t tl = ct ? strcspn(ct, "; \t") : 0;
    if (!ct || tl != 16 || strncasecmp(ct, "application/json", 16) != 0) {
        ph_log_info("%s %s: a JSON body needs Content-Type: application/json", req->method,
                    req->path);
        ph_abort(res, 400);
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body.ptr ? req->body.ptr : "", req->body.len,
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        ph_log_info("%s %s: bad JSON body: %s (line %d, column %d)", req->method, req->path,
                    jerr.text, jerr.line, jerr.column);
        ph_abort(res, 400);
        return NULL;
    }
    if (ph_arena_cleanup_add(req->arena, json_release, v) < 0) {
        json_decref(v);
        ph_abort(res, 500);
        return NULL;
    }
    return v;
}

const char *ph_req_header(const ph_request *req, const char *name)
{
    return ph_params_get_nocase(&req->headers, name);
}

const char *ph_req_arg(const ph_request *req, const char *name)
{
    return ph_params_get(&req->args, name);
}

const char *ph_req_form(const ph_request *req, const char *name)
{
    return ph_params_get(&req->form, name);
}

const char *ph_req_cookie(const ph_request *req, const char *name)
{
    return ph_params_get(&req->cookies, name);
}

const char *ph_req_param(const ph_request *req, const char *name)
{
    return ph_params_get(&req->params, name);
}

int ph_req_param_int(const ph_request *req, const char *name, int64_t *out)
{
    const char *v = ph_req_param(req, name);
    if (!v)
        return PH_ENOTFOUND;
    return ph_parse_i64(ph_slice_cstr(v), out) < 0 ? PH_EINVAL : 0;
}

const ph_upload *ph_req_file(const ph_request *req, const char *field)
{
    for (size_t i = 0; i < req->nfiles; i++)
        if (strcmp(req->files[i].field, field) == 0)
            return &req->files[i];
    return NULL;
}
