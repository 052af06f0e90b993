/*
 * The HTTP request and response as a Phial handler sees them, and the
 * parsers behind them (percent-decoding, query strings, url-encoded and
 * multipart form bodies, cookies).  Nothing here knows about the network
 * library or about databases: a request can be built in a test with
 * ph_req_new() and a response read back field by field.
 *
 * Ownership: a request and everything parsed from it live in the request
 * arena (req->arena) and die with it.  A response keeps its headers in the
 * same arena; its body is heap memory owned by the response until the
 * server hands it to the network library (or the arena's cleanup frees it),
 * so handlers never free anything.
 */
#ifndef PHIAL_HTTP_H
#define PHIAL_HTTP_H

#include "phial/core.h"

#include <jansson.h>
#include <time.h>
#include "phial/version.h"

PH_API_BEGIN

struct ph_app;
struct ph_route;

/* One name/value pair (header, query argument, form field, cookie, route
 * parameter).  Both are NUL-terminated; value may also contain NUL bytes,
 * value_len counts them. */
typedef struct ph_param {
    const char *name;
    const char *value;
    size_t value_len;
} ph_param;

/* A growable list of pairs in an arena, in the order they came. */
typedef struct ph_params {
    ph_param *items;
    size_t len;
    size_t cap;
} ph_params;

/* A file of a multipart/form-data body. */
typedef struct ph_upload {
    const char *field;        /* form field name */
    const char *filename;     /* as the client sent it; never a safe path */
    const char *content_type; /* "application/octet-stream" when absent */
    const char *data;         /* the bytes (also NUL-terminated) */
    size_t len;
} ph_upload;

typedef struct ph_request {
    ph_arena *arena;         /* everything for this request lives here */
    struct ph_app *app;      /* the app serving it (NULL in parser tests) */
    const char *method;      /* "GET", as sent */
    const char *version;     /* "HTTP/1.1" */
    const char *raw_uri;     /* request target as sent: "/a%20b?x=1" */
    const char *raw_path;    /* its path part, still encoded */
    const char *path;        /* percent-decoded ("+" stays "+") */
    size_t path_len;         /* may differ from strlen when %00 was sent */
    const char *query;       /* raw query string without '?', "" if none */
    const char *remote_addr; /* "127.0.0.1", or "-" */
    ph_params headers;       /* names as sent; look up with ph_req_header */
    ph_params args;          /* query arguments, repeated keys kept */
    ph_params form;          /* url-encoded or multipart fields */
    ph_params cookies;
    ph_params params; /* route parameters, decoded */
    ph_upload *files;
    size_t nfiles;
    ph_slice body;                /* the raw body (NUL-terminated, len bytes) */
    const struct ph_route *route; /* matched route, NULL before routing */
    void *user;                   /* per-request context for the app layer
                                     (database session, user session, ...) */
    void *thread_state;           /* the worker thread's state (see app.h) */
    struct ph__req_ctx *ctx;      /* app layer's own: database session */
    int64_t start_ns;             /* monotonic time the request arrived */
    int bad_status;               /* != 0: malformed input, answer this status */
} ph_request;

typedef struct ph_header {
    const char *name;
    const char *value;
} ph_header;

typedef struct ph_response {
    ph_arena *arena;
    int status;         /* 0: no response produced yet */
    ph_header *headers; /* in arena; Content-Type is kept apart */
    size_t nheaders;
    size_t cap;
    const char *content_type; /* NULL: "text/html; charset=utf-8" */
    ph_buf body;              /* heap memory, owned by the response */
    int fd;                   /* >= 0: body is this file (owned) */
    uint64_t file_size;
    bool abort; /* ph_abort: the app renders its error page */
    /* ph_abort_description: what went wrong, in words for the person who
       sent the request, for the error page to show (Flask's
       e.description); NULL: the page's own words */
    const char *description;
} ph_response;

/* SameSite attribute values for a cookie. */
typedef enum ph_samesite {
    PH_SAMESITE_UNSET,
    PH_SAMESITE_LAX,
    PH_SAMESITE_STRICT,
    PH_SAMESITE_NONE
} ph_samesite;

/* A cookie to set.  max_age < 0 and expires == 0 mean "not sent"; a cookie
 * with neither is a session cookie. */
typedef struct ph_cookie {
    const char *name;
    const char *value;
    int64_t max_age;  /* seconds; use -1 for unset */
    time_t expires;   /* 0: unset */
    const char *path; /* NULL: unset ("/" is usual) */
    const char *domain;
    bool secure;
    bool http_only;
    ph_samesite same_site;
} ph_cookie;

/* ---- parsers (all allocate in arena a; all bounded) -------------------- */

/* Percent-decodes n bytes of s into a new NUL-terminated string (its length
 * in *out_len if non-NULL).  plus_as_space turns '+' into ' ' (query and
 * form).  A malformed escape ("%zz", a trailing "%") is kept as it is, as
 * werkzeug does.  NULL only when out of memory. */
char *ph_url_decode(ph_arena *a, const char *s, size_t n, bool plus_as_space, size_t *out_len);
/* Appends s percent-encoded: unreserved characters (and, if keep_slash,
 * '/') stay, everything else becomes %XX.  0 or PH_ENOMEM. */
int ph_url_encode(ph_buf *out, const char *s, size_t n, bool keep_slash);
/* Parses "a=1&b=2&a=3" (query or url-encoded body) into out, appending.
 * Keys without '=' get an empty value; empty segments are skipped.  At most
 * max_items pairs: PH_ELIMIT beyond.  0, PH_ELIMIT or PH_ENOMEM. */
int ph_http_parse_urlencoded(ph_arena *a, const char *s, size_t n, size_t max_items,
                             ph_params *out);
/* Parses a Cookie header ("a=1; b=\"2\"") into out, appending; quotes are
 * removed, pairs without '=' are skipped.  0, PH_ELIMIT or PH_ENOMEM. */
int ph_http_parse_cookies(ph_arena *a, const char *s, size_t n, size_t max_items, ph_params *out);
/* Parses a multipart/form-data body.  content_type is the whole header
 * value (the boundary is read from it).  Fields without a filename go to
 * form, parts with one to *files (array in arena).  PH_EPARSE for a missing
 * boundary or a malformed/truncated body, PH_ELIMIT past max_parts, or
 * PH_ENOMEM. */
int ph_http_parse_multipart(ph_arena *a, const char *content_type, const char *body, size_t len,
                            size_t max_parts, ph_params *form, ph_upload **files, size_t *nfiles);
/* The value of parameter `param` in a header value like
 * "multipart/form-data; boundary=xyz" (quotes removed), or NULL. */
char *ph_http_header_param(ph_arena *a, const char *value, const char *param);

/* Appends a pair (copying nothing: name and value must live in a). */
int ph_params_add(ph_arena *a, ph_params *p, const char *name, const char *value, size_t value_len);
/* First value for name (exact match), or NULL. */
const char *ph_params_get(const ph_params *p, const char *name);
/* First value for name, ASCII case-insensitive, or NULL. */
const char *ph_params_get_nocase(const ph_params *p, const char *name);
/* Number of values for name, and the i-th of them (NULL past the end). */
size_t ph_params_count(const ph_params *p, const char *name);
const char *ph_params_get_nth(const ph_params *p, const char *name, size_t i);

/* Formats an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out (at
 * least 30 bytes). */
void ph_http_date(time_t t, char out[30]);
/* Parses an IMF-fixdate; 0 or PH_EPARSE. */
int ph_http_date_parse(const char *s, time_t *out);
/* Standard reason phrase ("Not Found"); "Unknown" for others. */
const char *ph_http_reason(int status);

/* ---- request ----------------------------------------------------------- */

/* A request for method and request target (path with optional query), in
 * arena a, with the path decoded and the query parsed.  Used by the server
 * and by tests.  NULL when out of memory.  Input that cannot be served (too
 * many query arguments) sets req->bad_status to the status to answer. */
ph_request *ph_req_new(ph_arena *a, struct ph_app *app, const char *method, const char *uri);
/* Adds a header (copies both); a Cookie header is parsed.  0 or PH_ENOMEM. */
int ph_req_add_header(ph_request *req, const char *name, const char *value);
/* Sets the raw body (copies it) without parsing it.  0 or PH_ENOMEM. */
int ph_req_set_body(ph_request *req, const void *body, size_t len);
/* Parses the body by Content-Type into form/files.  Bad input sets
 * req->bad_status (400 malformed, 413 too many parts) and returns 0;
 * PH_ENOMEM when out of memory. */
int ph_req_parse_body(ph_request *req, size_t max_parts);

/* Header value by name (case-insensitive), or NULL. */
const char *ph_req_header(const ph_request *req, const char *name);
/* First query argument / form field / cookie / route parameter, or NULL. */
const char *ph_req_arg(const ph_request *req, const char *name);
const char *ph_req_form(const ph_request *req, const char *name);
const char *ph_req_cookie(const ph_request *req, const char *name);
const char *ph_req_param(const ph_request *req, const char *name);
/* A route parameter as an integer: 0, PH_ENOTFOUND or PH_EINVAL. */
int ph_req_param_int(const ph_request *req, const char *name, int64_t *out);
/* request.get_json(): the body parsed as JSON (jansson; borrowed, freed
 * with the request).  A body without Content-Type application/json, or
 * one that is not JSON (or repeats a key), gets 400: the answer is put in res
 * (an abort: the app's error page) and NULL returned, so a handler ends
 * with `if (!body) return 0;`. */
json_t *ph_req_json(ph_request *req, ph_response *res);
/* The uploaded file of a field, or NULL. */
const ph_upload *ph_req_file(const ph_request *req, const char *field);

/* ---- response ---------------------------------------------------------- */

/* Initializes res for a request whose arena is a (registers the cleanup
 * that frees a body or file never sent).  0 or PH_ENOMEM. */
int ph_res_init(ph_response *res, ph_arena *a);
/* Forgets status, headers, body and file (used before an error page). */
void ph_res_reset(ph_response *res);

/* Sets a header (replacing an earlier one of the same name, except for
 * Set-Cookie which accumulates); name and value are copied.  A value with
 * CR or LF is refused with PH_EINVAL.  0, PH_EINVAL or PH_ENOMEM. */
int ph_res_header(ph_response *res, const char *name, const char *value);
/* Adds a header without replacing (e.g. several Link headers). */
int ph_res_header_add(ph_response *res, const char *name, const char *value);
/* The value of a response header (case-insensitive), or NULL. */
const char *ph_res_header_get(const ph_response *res, const char *name);
/* Sets Content-Type (copied). */
int ph_res_content_type(ph_response *res, const char *type);
/* Replaces the body with n bytes (copied).  0 or PH_ENOMEM. */
int ph_res_body(ph_response *res, const void *p, size_t n);
/* Status plus an HTML body (text/html; charset=utf-8). */
int ph_html_n(ph_response *res, int status, const char *body, size_t len);
/* Status plus a NUL-terminated body as text/html; charset=utf-8 (Flask's
 * default for a returned string). */
int ph_html(ph_response *res, int status, const char *body);
/* jsonify(): status plus value serialised compactly as application/json.
 * Takes the reference (value is freed in every case); NULL value (a failed
 * jansson constructor) is PH_ENOMEM.  0 or PH_ENOMEM. */
int ph_json(ph_response *res, int status, json_t *value);
/* A plain-text body (text/plain; charset=utf-8). */
int ph_plain(ph_response *res, int status, const char *body);
/* Flask's abort(status): the app answers with its error page for status
 * (a custom one if registered).  Returns 0, so `return ph_abort(res, 404);`
 * ends a handler. */
int ph_abort(ph_response *res, int status);
/* Flask's abort(status, description=...): the same, the page showing
 * description (not copied: a literal or the request's arena) in place of
 * its own words -- res->description in an error handler. */
int ph_abort_description(ph_response *res, int status, const char *description);
/* A redirect: status (301, 302, 303, 307, 308) with Location and a small
 * HTML body as Flask sends.  0, PH_EINVAL or PH_ENOMEM. */
int ph_redirect(ph_response *res, const char *url, int status);
/* Adds a Set-Cookie header with every attribute set in c.  PH_EINVAL for
 * a name or value that cannot go in a cookie. */
int ph_res_set_cookie(ph_response *res, const ph_cookie *c);
/* Deletes a cookie (Max-Age=0, expired date) on path (NULL: "/"). */
int ph_res_delete_cookie(ph_response *res, const char *name, const char *path);
/* Sends a file as the body: opens path, sets the size; content_type NULL
 * guesses from the extension.  0, PH_ENOTFOUND (missing, not a regular
 * file), PH_EIO. */
int ph_res_file(ph_response *res, int status, const char *path, const char *content_type);
/* Content type for a file name's extension ("text/css; charset=utf-8"),
 * "application/octet-stream" when unknown.  Static string. */
const char *ph_http_mime_type(const char *filename);

PH_API_END

#endif
