/*
 * The router: patterns compiled into segment lists when a route is added,
 * matched in order against a decoded path, and turned back into URLs by
 * route name (url_for).  The router owns an arena for everything it
 * compiles; it is read-only once the server starts.
 */
#include "phial/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Segments a route may have (literals and parameters): more is refused
 * when the route is added. */
#define MAX_SEGS 64

typedef enum seg_kind { SEG_LITERAL, SEG_STRING, SEG_INT, SEG_PATH } seg_kind;

struct ph__route_seg {
    seg_kind kind;
    const char *text; /* literal text, or parameter name */
    size_t len;       /* of a literal */
};

struct ph_router {
    ph_arena *arena;
    ph_route **routes;
    size_t len, cap;
};

ph_router *ph_router_new(void)
{
    ph_router *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->arena = ph_arena_new(0);
    if (!r->arena) {
        free(r);
        return NULL;
    }
    return r;
}

void ph_router_free(ph_router *r)
{
    if (!r)
        return;
    free(r->routes);
    ph_arena_free(r->arena);
    free(r);
}

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {{"GET", PH_GET},       {"HEAD", PH_HEAD},   {"POST", PH_POST},      {"PUT", PH_PUT},
               {"DELETE", PH_DELETE}, {"PATCH", PH_PATCH}, {"OPTIONS", PH_OPTIONS}};

unsigned ph_method_bit(const char *method)
{
    for (size_t i = 0; i < PH_COUNTOF(methods); i++)
        if (strcmp(method, methods[i].name) == 0)
            return methods[i].bit;
    return 0;
}

int ph_method_list(unsigned set, ph_buf *out)
{
    bool first = true;
    for (size_t i = 0; i < PH_COUNTOF(methods); i++) {
        if (set & methods[i].bit) {
            if (!first)
                ph_buf_puts(out, ", ");
            ph_buf_puts(out, methods[i].name);
            first = false;
        }
    }
    return ph_buf_status(out);
}

static int fail(char *err, size_t errlen, int code, const char *pattern, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "route \"%s\": %s", pattern, why);
    return code;
}

static bool valid_ident(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Compiles pattern into segments (literal runs and parameters). */
static int compile(ph_router *r, ph_route *rt, const char *pattern, char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *p = pattern; *p; p++)
        if (*p == '<')
            cap += 2;
    struct ph__route_seg *segs = ph_arena_calloc(r->arena, cap, sizeof(*segs));
    if (!segs)
        return PH_ENOMEM;
    size_t n = 0;
    const char *p = pattern;
    if (*p != '/')
        return fail(err, errlen, PH_EPARSE, pattern, "must start with '/'");
    while (*p) {
        if (*p == '<') {
            const char *close = strchr(p, '>');
            if (!close)
                return fail(err, errlen, PH_EPARSE, pattern, "unclosed '<'");
            const char *colon = memchr(p, ':', (size_t)(close - p));
            seg_kind kind = SEG_STRING;
            const char *name = p + 1;
            if (colon) {
                size_t cl = (size_t)(colon - (p + 1));
                if (cl == 6 && strncmp(p + 1, "string", 6) == 0)
                    kind = SEG_STRING;
                else if (cl == 3 && strncmp(p + 1, "int", 3) == 0)
                    kind = SEG_INT;
                else if (cl == 4 && strncmp(p + 1, "path", 4) == 0)
                    kind = SEG_PATH;
                else
                    return fail(err, errlen, PH_EPARSE, pattern, "unknown converter");
                name = colon + 1;
            }
            size_t nl = (size_t)(close - name);
            if (!valid_ident(name, nl))
                return fail(err, errlen, PH_EPARSE, pattern, "bad parameter name");
            if (n > 0 && segs[n - 1].kind != SEG_LITERAL)
                return fail(err, errlen, PH_EPARSE, pattern,
                            "two parameters need a literal between them");
            for (size_t i = 0; i < n; i++)
                if (segs[i].kind != SEG_LITERAL && strlen(segs[i].text) == nl &&
                    strncmp(segs[i].text, name, nl) == 0)
                    return fail(err, errlen, PH_EPARSE, pattern, "parameter named twice");
            char *nm = ph_arena_strndup(r->arena, name, nl);
            if (!nm)
                return PH_ENOMEM;
            segs[n++] = (struct ph__route_seg){kind, nm, nl};
            p = close + 1;
        } else {
            const char *q = p;
            while (*q && *q != '<') {
                if (*q == '>')
                    return fail(err, errlen, PH_EPARSE, pattern, "stray '>'");
                q++;
            }
            char *lit = ph_arena_strndup(r->arena, p, (size_t)(q - p));
            if (!lit)
                return PH_ENOMEM;
            segs[n++] = (struct ph__route_seg){SEG_LITERAL, lit, (size_t)(q - p)};
            p = q;
        }
    }
    if (n > MAX_SEGS)
        return fail(err, errlen, PH_ELIMIT, pattern, "more than 64 literals and parameters");
    rt->segs = segs;
    rt->nsegs = n;
    return 0;
}

int ph_router_add(ph_router *r, unsigned method_set, const char *pattern, const char *name,
                  ph_handler handler, void *data, char *err, size_t errlen)
{
    if (!pattern || !handler)
        return fail(err, errlen, PH_EINVAL, pattern ? pattern : "(null)",
                    "pattern and handler are required");
    if (name)
        for (size_t i = 0; i < r->len; i++)
            if (r->routes[i]->name && strcmp(r->routes[i]->name, name) == 0)
                return fail(err, errlen, PH_EEXISTS, pattern, "route name already used");
    ph_route *rt = PH_ARENA_NEW(r->arena, ph_route);
    if (!rt)
        return PH_ENOMEM;
    if (method_set == 0)
        method_set = PH_GET;
    if (method_set & PH_GET)
        method_set |= PH_HEAD;
    rt->methods = method_set;
    rt->handler = handler;
    rt->data = data;
    rt->pattern = ph_arena_strdup(r->arena, pattern);
    rt->name = name ? ph_arena_strdup(r->arena, name) : NULL;
    if (!rt->pattern || (name && !rt->name))
        return PH_ENOMEM;
    int rc = compile(r, rt, pattern, err, errlen);
    if (rc < 0)
        return rc;
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        ph_route **v = realloc(r->routes, cap * sizeof(*v));
        if (!v)
            return PH_ENOMEM;
        r->routes = v;
        r->cap = cap;
    }
    r->routes[r->len++] = rt;
    return 0;
}

/* Whether s (n bytes) is digits that fit an int64 (Flask's int: no sign). */
static bool int_ok(const char *s, size_t n)
{
    if (n == 0 || n > 19)
        return false;
    int64_t v;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return ph_parse_i64((ph_slice){s, n}, &v) == 0;
}

/* Ways of splitting one path that a match may try before giving up: a
 * pattern such as /<a>-<b>-<c> against a path of 8,000 dashes must not
 * cost seconds, as a backtracking regex would. */
#define MAX_STEPS 4096

typedef struct match_state {
    const ph_route *rt;
    const char *path;
    size_t len;
    size_t ends[MAX_SEGS]; /* where each segment ends, on success */
    unsigned steps;
} match_state;

/* Whether segments i.. of the route match path[pos..len).  A parameter
 * takes the longest run that lets the rest match (werkzeug's regex
 * semantics): <string:> and <int:> never cross '/', <path:> may. */
static bool match_at(match_state *ms, size_t i, size_t pos)
{
    const ph_route *rt = ms->rt;
    if (i == rt->nsegs)
        return pos == ms->len;
    if (++ms->steps > MAX_STEPS)
        return false;
    const struct ph__route_seg *s = &rt->segs[i];
    if (s->kind == SEG_LITERAL) {
        if (ms->len - pos < s->len || memcmp(ms->path + pos, s->text, s->len) != 0)
            return false;
        ms->ends[i] = pos + s->len;
        return match_at(ms, i + 1, pos + s->len);
    }
    size_t limit = ms->len;
    if (s->kind != SEG_PATH) {
        const char *slash = memchr(ms->path + pos, '/', ms->len - pos);
        limit = slash ? (size_t)(slash - ms->path) : ms->len;
    }
    const char *nul = memchr(ms->path + pos, '\0', limit - pos);
    if (nul)
        limit = (size_t)(nul - ms->path);
    bool last = i + 1 == rt->nsegs;
    for (size_t end = limit; end > pos; end--) {
        if (last && end != ms->len)
            return false;
        if (!last) {
            /* the next segment is a literal: only where it starts */
            const struct ph__route_seg *nx = &rt->segs[i + 1];
            if (ms->len - end < nx->len || ms->path[end] != nx->text[0])
                continue;
        }
        if (s->kind == SEG_INT && !int_ok(ms->path + pos, end - pos))
            continue;
        if (match_at(ms, i + 1, end)) {
            ms->ends[i] = end;
            return true;
        }
        if (ms->steps > MAX_STEPS)
            return false;
    }
    return false;
}

/* Matches path against rt; on success adds params (if a is not NULL;
 * *oom set when that fails). */
static bool match_route(const ph_route *rt, const char *path, size_t len, ph_arena *a,
                        ph_params *params, bool *oom)
{
    /* ends[] is written before it is read: not zeroed for every route tried */
    match_state ms;
    ms.rt = rt;
    ms.path = path;
    ms.len = len;
    ms.steps = 0;
    if (rt->nsegs > MAX_SEGS || !match_at(&ms, 0, 0))
        return false;
    size_t pos = 0;
    for (size_t i = 0; a && i < rt->nsegs; i++) {
        const struct ph__route_seg *s = &rt->segs[i];
        size_t end = ms.ends[i];
        if (s->kind != SEG_LITERAL) {
            char *v = ph_arena_strndup(a, path + pos, end - pos);
            if (!v || ph_params_add(a, params, s->text, v, end - pos) < 0) {
                *oom = true;
                return false;
            }
        }
        pos = end;
    }
    return true;
}

ph_match_result ph_router_match(const ph_router *r, const char *method, const char *path,
                                size_t len, ph_arena *a, ph_match *m)
{
    memset(m, 0, sizeof(*m));
    unsigned bit = ph_method_bit(method);
    if (bit == PH_HEAD)
        bit = PH_HEAD | PH_GET;
    unsigned allowed = 0;
    for (size_t i = 0; i < r->len; i++) {
        const ph_route *rt = r->routes[i];
        if (!match_route(rt, path, len, NULL, NULL, NULL))
            continue;
        if (rt->methods & bit) {
            bool oom = false;
            if (!match_route(rt, path, len, a, &m->params, &oom) && oom)
                return PH_MATCH_NOMEM;
            m->route = rt;
            return PH_MATCH_OK;
        }
        allowed |= rt->methods;
    }
    if (allowed) {
        m->allowed = allowed | PH_OPTIONS;
        return PH_MATCH_METHOD_NOT_ALLOWED;
    }
    return PH_MATCH_NOT_FOUND;
}

static const char *find_arg(const char *const *pairs, size_t n, const char *name, bool *used)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (strcmp(pairs[i], name) == 0) {
            used[i / 2] = true;
            return pairs[i + 1];
        }
    }
    return NULL;
}

char *ph_router_url_forv(const ph_router *r, ph_arena *a, const char *name, va_list ap)
{
    const char *pairs[64];
    size_t n = 0;
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        if (n + 2 > PH_COUNTOF(pairs) || !v)
            return NULL;
        pairs[n++] = k;
        pairs[n++] = v;
    }
    return ph_router_url_for_pairs(r, a, name, pairs, n / 2);
}

char *ph_router_url_for_pairs(const ph_router *r, ph_arena *a, const char *name,
                              const char *const *pairs, size_t npairs)
{
    const ph_route *rt = NULL;
    for (size_t i = 0; i < r->len && !rt; i++)
        if (r->routes[i]->name && strcmp(r->routes[i]->name, name) == 0)
            rt = r->routes[i];
    size_t n = npairs * 2;
    if (!rt || npairs > 32)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!pairs[i])
            return NULL;
    bool used[32] = {false};
    ph_buf b;
    ph_buf_init(&b, a);
    for (size_t i = 0; i < rt->nsegs; i++) {
        const struct ph__route_seg *s = &rt->segs[i];
        if (s->kind == SEG_LITERAL) {
            ph_buf_append(&b, s->text, s->len);
            continue;
        }
        const char *v = find_arg(pairs, n, s->text, used);
        if (!v || !*v)
            return NULL;
        if (s->kind == SEG_INT && !int_ok(v, strlen(v)))
            return NULL;
        ph_url_encode(&b, v, strlen(v), s->kind == SEG_PATH);
    }
    char sep = '?';
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (used[i / 2])
            continue;
        ph_buf_putc(&b, sep);
        sep = '&';
        ph_url_encode(&b, pairs[i], strlen(pairs[i]), false);
        ph_buf_putc(&b, '=');
        ph_url_encode(&b, pairs[i + 1], strlen(pairs[i + 1]), false);
    }
    if (ph_buf_status(&b) < 0)
        return NULL;
    return b.ptr ? b.ptr : ph_arena_strdup(a, "");
}

char *ph_router_url_for(const ph_router *r, ph_arena *a, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    char *url = ph_router_url_forv(r, a, name, ap);
    va_end(ap);
    return url;
}

size_t ph_router_count(const ph_router *r)
{
    return r->len;
}

const ph_route *ph_router_route(const ph_router *r, size_t i)
{
    return i < r->len ? r->routes[i] : NULL;
}

ph_route *ph_router_find(ph_router *r, const char *name)
{
    for (size_t i = 0; i < r->len; i++)
        if (r->routes[i]->name && strcmp(r->routes[i]->name, name) == 0)
            return r->routes[i];
    return NULL;
}
