/*
 * The router: method + path pattern -> handler, compiled when a route is
 * added (at start-up) and read-only afterwards, so workers share it freely.
 *
 * Patterns are Flask's: "/pets/<int:pet_id>", "/u/<string:name>",
 * "/files/<path:p>", and a bare "<name>" is a string.  string matches one
 * non-empty segment (no '/'), path matches the non-empty rest including
 * '/', int matches decimal digits that fit in int64 (anything else, or an
 * overflow, does not match: a 404, as in Flask).
 */
#ifndef PHIAL_ROUTER_H
#define PHIAL_ROUTER_H

#include "phial/core.h"
#include "phial/http.h"

#include <stdarg.h>
#include "phial/version.h"

PH_API_BEGIN

/* A handler: called once per request with the complete request (body read
 * and parsed); fills res and returns 0.  Any other return (a negative PH_E*
 * code) or a 0 without a response makes the app answer with its 500 page
 * and a log line.  Everything it allocates goes in req->arena. */
typedef int (*ph_handler)(ph_request *req, ph_response *res);

/* HTTP methods as bits, for route method sets and Allow headers. */
enum ph_method {
    PH_GET = 1u << 0,
    PH_HEAD = 1u << 1,
    PH_POST = 1u << 2,
    PH_PUT = 1u << 3,
    PH_DELETE = 1u << 4,
    PH_PATCH = 1u << 5,
    PH_OPTIONS = 1u << 6,
};

typedef struct ph_route {
    const char *name;    /* for url_for and `app routes` */
    const char *pattern; /* as given */
    unsigned methods;    /* PH_GET | ...; GET implies HEAD */
    ph_handler handler;
    void *data; /* for the app layer (e.g. static folder) */
    /* ph_app_route_inline (1: never waits) or ph_app_route_inline_reads
       (2: reads SQLite): how it may run on the event-loop thread */
    unsigned char run_inline;
    /* compiled form, private to the router */
    struct ph__route_seg *segs;
    size_t nsegs;
} ph_route;

typedef struct ph_router ph_router;

/* Outcome of a match. */
typedef enum ph_match_result {
    PH_MATCH_OK = 0,
    PH_MATCH_NOT_FOUND = 404,
    PH_MATCH_METHOD_NOT_ALLOWED = 405,
    PH_MATCH_NOMEM = 500, /* out of memory while copying parameters */
} ph_match_result;

typedef struct ph_match {
    const ph_route *route; /* PH_MATCH_OK: the route */
    ph_params params;      /* PH_MATCH_OK: decoded parameters, in arena */
    unsigned allowed;      /* 405: the methods the path allows (HEAD and
                              OPTIONS included) */
} ph_match;

/* An empty router; NULL when out of memory.  Free with ph_router_free. */
ph_router *ph_router_new(void);
void ph_router_free(ph_router *r);
/* Adds a route.  methods is a set of ph_method bits (0: GET); name may be
 * NULL (no reverse routing) and is copied, as is pattern.  PH_EPARSE for a
 * malformed pattern (unknown converter, unclosed '<', parameter named twice),
 * PH_EEXISTS for a name used twice, PH_ENOMEM.  An error message goes to err
 * (size errlen) when err is not NULL. */
int ph_router_add(ph_router *r, unsigned methods, const char *pattern, const char *name,
                  ph_handler handler, void *data, char *err, size_t errlen);
/* Matches method (e.g. "GET") and a decoded path of len bytes.  Routes are
 * tried in the order they were added.  HEAD matches GET routes.  Params are
 * allocated in a. */
ph_match_result ph_router_match(const ph_router *r, const char *method, const char *path,
                                size_t len, ph_arena *a, ph_match *m);
/* Builds the URL of the route called name from NULL-terminated name/value
 * pairs: each parameter of the pattern is filled (percent-encoded; a path
 * parameter keeps its '/'), pairs not in the pattern become the query
 * string.  NULL when there is no such route, a parameter is missing or
 * does not fit its converter, or out of memory.  Result in arena a. */
char *ph_router_url_for(const ph_router *r, ph_arena *a, const char *name, ...);
char *ph_router_url_forv(const ph_router *r, ph_arena *a, const char *name, va_list ap);
/* The same with npairs name/value pairs in an array (pairs[2i], pairs[2i+1]). */
char *ph_router_url_for_pairs(const ph_router *r, ph_arena *a, const char *name,
                              const char *const *pairs, size_t npairs);
/* The routes in order, for listings. */
size_t ph_router_count(const ph_router *r);
const ph_route *ph_router_route(const ph_router *r, size_t i);
/* The route named name, to change its flags at start-up; NULL if none. */
ph_route *ph_router_find(ph_router *r, const char *name);

/* Method name to bit (0 for an unknown method), and a set of bits written
 * as an Allow header value ("GET, HEAD, OPTIONS") into out. */
unsigned ph_method_bit(const char *method);
int ph_method_list(unsigned methods, ph_buf *out);

PH_API_END

#endif
