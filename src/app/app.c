/*
 * The application object: configuration (code, environment, file,
 * defaults), routes, hooks, error pages, per-thread state and the access
 * log, and ph_app_handle(), which turns one complete request into one
 * response.  ph_app_handle knows nothing of the network: the server calls
 * it, and so do tests.
 */
#include "phial/app.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

#define MAX_PASSWORD_COLUMNS 8
#define MAX_HOOKS 16
#define MAX_ERROR_HANDLERS 32

typedef struct kv {
    char *key;
    char *value;
} kv;

typedef struct kv_list {
    kv *items;
    size_t len, cap;
} kv_list;

/* What a thread's key slot holds: the state plus the app it came from. */
typedef struct thread_slot {
    ph_app *app;
    void *state;
} thread_slot;

struct ph_app {
    char *name;
    const ph_embed_fs *embedded; /* ph_app_embed, or NULL */
    ph_router *router;
    kv_list set;  /* ph_app_config_set */
    kv_list file; /* config file */
    struct {
        ph_before_hook fn;
        void *ud;
    } before[MAX_HOOKS];
    size_t nbefore;
    struct {
        ph_after_hook fn;
        void *ud;
    } after[MAX_HOOKS];
    size_t nafter;
    struct {
        int status;
        ph_handler fn;
    } errors[MAX_ERROR_HANDLERS];
    size_t nerrors;
    ph_request_begin req_begin;
    ph_request_end req_end;
    void *req_ud;
    ph_thread_init thr_init;
    ph_thread_fini thr_fini;
    void *thr_ud;
    pthread_key_t thr_key;
    bool thr_key_made;
    char *static_root; /* realpath of the static folder, or NULL */
    bool access_log;
    ph__app_ctx *ctx; /* database and templates (context.c), or NULL */
    kv_list defaults;  /* ph_app_config_default */
    const ph_model *const *models;
    size_t nmodels;
    struct {
        const ph_model *model;
        const ph_column *column;
    } passwords[MAX_PASSWORD_COLUMNS];
    size_t npasswords;
    void *userdata;
};

static const kv builtin_defaults[] = {
    {"MAX_CONTENT_LENGTH", "1048576"}, {"MAX_URL_LENGTH", "8192"},   {"MAX_HEADER_SIZE", "16384"},
    {"MAX_FORM_PARTS", "1000"},        {"CONNECTION_TIMEOUT", "30"}, {"CONNECTION_LIMIT", "4096"},
    {"SHUTDOWN_TIMEOUT", "10"},
};

static void thread_slot_free(void *p)
{
    thread_slot *slot = p;
    if (slot->app->thr_fini)
        slot->app->thr_fini(slot->state, slot->app->thr_ud);
    free(slot);
}

ph_app *ph_app_new(const char *name)
{
    ph_app *app = calloc(1, sizeof(*app));
    if (!app)
        return NULL;
    app->name = strdup(name ? name : "app");
    app->router = ph_router_new();
    app->access_log = true;
    if (!app->name || !app->router) {
        ph_app_free(app);
        return NULL;
    }
    return app;
}

static void kv_list_free(kv_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
}

void ph_app_free(ph_app *app)
{
    if (!app)
        return;
    if (app->thr_key_made) {
        thread_slot *slot = pthread_getspecific(app->thr_key);
        if (slot) {
            pthread_setspecific(app->thr_key, NULL);
            thread_slot_free(slot);
        }
        pthread_key_delete(app->thr_key);
    }
    ph__app_ctx_free(app->ctx);
    kv_list_free(&app->set);
    kv_list_free(&app->file);
    kv_list_free(&app->defaults);
    ph_router_free(app->router);
    free(app->static_root);
    free(app->name);
    free(app);
}

/* ---- configuration ----------------------------------------------------- */

static int kv_put(kv_list *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->len; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return PH_ENOMEM;
            free(l->items[i].value);
            l->items[i].value = v;
            return 0;
        }
    }
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        kv *items = realloc(l->items, cap * sizeof(*items));
        if (!items)
            return PH_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return PH_ENOMEM;
    }
    l->items[l->len++] = (kv){k, v};
    return 0;
}

static const char *kv_get(const kv *items, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].key, key) == 0)
            return items[i].value;
    return NULL;
}

int ph_app_config_set(ph_app *app, const char *key, const char *value)
{
    return kv_put(&app->set, key, value);
}

const char *ph_app_config_get(const ph_app *app, const char *key)
{
    const char *v = ph__app_config_explicit(app, key);
    if (!v)
        v = kv_get(app->defaults.items, app->defaults.len, key);
    if (!v)
        v = kv_get(builtin_defaults, PH_COUNTOF(builtin_defaults), key);
    return v;
}

const char *ph__app_config_explicit(const ph_app *app, const char *key)
{
    const char *v = kv_get(app->set.items, app->set.len, key);
    if (!v)
        v = getenv(key);
    if (!v)
        v = kv_get(app->file.items, app->file.len, key);
    return v;
}

int ph_app_embed(ph_app *app, const ph_embed_fs *fs)
{
    app->embedded = fs;
    return 0;
}

const ph_embed_fs *ph__app_embedded(const ph_app *app)
{
    return app->embedded;
}

int ph_app_config_default(ph_app *app, const char *key, const char *value)
{
    return kv_put(&app->defaults, key, value);
}

int ph_app_config_int(const ph_app *app, const char *key, int64_t def, int64_t *out)
{
    const char *v = ph_app_config_get(app, key);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    return ph_parse_i64(ph_slice_cstr(v), out) < 0 ? PH_EINVAL : 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int ph_app_config_load_file(ph_app *app, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ph_log_error("config %s: %s", path, strerror(errno));
        return PH_EIO;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            ph_log_error("config %s:%d: expected KEY=VALUE", path, lineno);
            rc = PH_EPARSE;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        rc = kv_put(&app->file, k, v);
    }
    fclose(f);
    return rc;
}

static int limit_get(const ph_app *app, const char *key, int64_t max, int64_t *out)
{
    int rc = ph_app_config_int(app, key, 0, out);
    if (rc < 0 || *out < 0 || *out > max) {
        ph_log_error("config %s: not a number in range: \"%s\"", key, ph_app_config_get(app, key));
        return PH_EINVAL;
    }
    return 0;
}

int ph_app_limits_get(const ph_app *app, ph_app_limits *out)
{
    int64_t v[7];
    static const char *const keys[] = {
        "MAX_CONTENT_LENGTH", "MAX_URL_LENGTH",   "MAX_HEADER_SIZE", "MAX_FORM_PARTS",
        "CONNECTION_TIMEOUT", "CONNECTION_LIMIT", "SHUTDOWN_TIMEOUT"};
    for (size_t i = 0; i < PH_COUNTOF(keys); i++)
        if (limit_get(app, keys[i], (int64_t)1 << 40, &v[i]) < 0)
            return PH_EINVAL;
    out->max_content_length = (size_t)v[0];
    out->max_url_length = (size_t)v[1];
    out->max_header_size = (size_t)v[2];
    out->max_form_parts = (size_t)v[3];
    out->connection_timeout = (unsigned)(v[4] > 86400 ? 86400 : v[4]);
    out->connection_limit = (unsigned)(v[5] > 1000000 ? 1000000 : v[5]);
    out->shutdown_timeout = (unsigned)(v[6] > 86400 ? 86400 : v[6]);
    return 0;
}

/* ---- routes and hooks -------------------------------------------------- */

int ph_app_route(ph_app *app, unsigned methods, const char *pattern, const char *name,
                 ph_handler handler)
{
    char err[256];
    int rc = ph_router_add(app->router, methods, pattern, name, handler, NULL, err, sizeof(err));
    if (rc < 0)
        ph_log_error("%s: %s", app->name, rc == PH_ENOMEM ? ph_strerror(rc) : err);
    return rc;
}

int ph__app_route_data(ph_app *app, unsigned methods, const char *pattern, const char *name,
                       ph_handler handler, void *data)
{
    char err[256];
    int rc = ph_router_add(app->router, methods, pattern, name, handler, data, err, sizeof(err));
    if (rc < 0)
        ph_log_error("%s: %s", app->name, rc == PH_ENOMEM ? ph_strerror(rc) : err);
    return rc;
}

int ph_app_route_with(ph_app *app, unsigned methods, const char *pattern, const char *name,
                      ph_handler handler, void *data)
{
    return ph__app_route_data(app, methods, pattern, name, handler, data);
}

static int route_inline(ph_app *app, const char *endpoint, unsigned char mode, const char *fn)
{
    ph_route *rt = ph_router_find(app->router, endpoint);
    if (!rt) {
        ph_log_error("%s: %s: no route named '%s'", app->name, fn, endpoint);
        return PH_ENOTFOUND;
    }
    rt->run_inline = mode;
    return 0;
}

int ph_app_route_inline(ph_app *app, const char *endpoint)
{
    return route_inline(app, endpoint, PH__INLINE, "ph_app_route_inline");
}

int ph_app_route_inline_reads(ph_app *app, const char *endpoint)
{
    return route_inline(app, endpoint, PH__INLINE_READS, "ph_app_route_inline_reads");
}

bool ph__req_runs_inline(const ph_request *req)
{
    const ph_route *rt = req->route;
    if (!rt || !rt->run_inline)
        return false;
    if (rt->run_inline == PH__INLINE)
        return true;
    ph_db *db = ph_app_db(req->app);
    return (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) && db &&
           ph_db_dialect(db) == PH_DB_SQLITE;
}

bool ph__app_route_early(ph_app *app, ph_request *req)
{
    if (req->bad_status || req->route)
        return false;
    ph_match m;
    if (ph_router_match(app->router, req->method, req->path, req->path_len, req->arena, &m) !=
        PH_MATCH_OK)
        return false; /* dispatch matches again and answers 404, 405, 308 */
    req->route = m.route;
    req->params = m.params;
    return ph__req_runs_inline(req);
}

void *ph_req_route_data(const ph_request *req)
{
    return req->route ? req->route->data : NULL;
}

void ph_app_set_userdata(ph_app *app, void *userdata)
{
    app->userdata = userdata;
}

void *ph_app_userdata(const ph_app *app)
{
    return app ? app->userdata : NULL;
}

int ph_app_models(ph_app *app, const ph_model *const *models, size_t n)
{
    char err[512];
    for (size_t i = 0; i < n; i++) {
        if (!models[i] || ph_model_check(models[i], err, sizeof(err)) < 0) {
            ph_log_error("%s: model %zu: %s", app->name, i, models[i] ? err : "NULL");
            return PH_EINVAL;
        }
    }
    app->models = models;
    app->nmodels = n;
    return 0;
}

const ph_model *const *ph_app_get_models(const ph_app *app, size_t *n)
{
    *n = app->nmodels;
    return app->models;
}

int ph_app_password_column(ph_app *app, const ph_model *m, const char *column)
{
    const ph_column *c = ph_model_column(m, column);
    if (!c || (c->type != PH_T_STRING && c->type != PH_T_TEXT)) {
        ph_log_error("%s: %s.%s is not a string column of the model", app->name, m->name, column);
        return PH_EUNDEFINED;
    }
    if (app->npasswords == MAX_PASSWORD_COLUMNS)
        return PH_ELIMIT;
    app->passwords[app->npasswords].model = m;
    app->passwords[app->npasswords++].column = c;
    return 0;
}

bool ph_app_is_password_column(const ph_app *app, const ph_model *m, const ph_column *c)
{
    for (size_t i = 0; i < app->npasswords; i++)
        if (app->passwords[i].model == m && app->passwords[i].column == c)
            return true;
    return false;
}

const ph_router *ph_app_router(const ph_app *app)
{
    return app->router;
}

int ph_app_before_request(ph_app *app, ph_before_hook fn, void *userdata)
{
    if (app->nbefore == MAX_HOOKS)
        return PH_ELIMIT;
    app->before[app->nbefore].fn = fn;
    app->before[app->nbefore++].ud = userdata;
    return 0;
}

int ph_app_after_request(ph_app *app, ph_after_hook fn, void *userdata)
{
    if (app->nafter == MAX_HOOKS)
        return PH_ELIMIT;
    app->after[app->nafter].fn = fn;
    app->after[app->nafter++].ud = userdata;
    return 0;
}

int ph_app_error_handler(ph_app *app, int status, ph_handler handler)
{
    for (size_t i = 0; i < app->nerrors; i++) {
        if (app->errors[i].status == status) {
            app->errors[i].fn = handler;
            return 0;
        }
    }
    if (app->nerrors == MAX_ERROR_HANDLERS)
        return PH_ELIMIT;
    app->errors[app->nerrors].status = status;
    app->errors[app->nerrors++].fn = handler;
    return 0;
}

void ph_app_set_request_hooks(ph_app *app, ph_request_begin begin, ph_request_end end,
                              void *userdata)
{
    app->req_begin = begin;
    app->req_end = end;
    app->req_ud = userdata;
}

void ph_app_set_thread_hooks(ph_app *app, ph_thread_init init, ph_thread_fini fini, void *userdata)
{
    app->thr_init = init;
    app->thr_fini = fini;
    app->thr_ud = userdata;
    if (init && !app->thr_key_made)
        app->thr_key_made = pthread_key_create(&app->thr_key, thread_slot_free) == 0;
}

/* The calling thread's state (made on its first request); NULL when there
 * are no thread hooks or init failed. */
ph__app_ctx *ph__app_ctx_get(const ph_app *app)
{
    return app->ctx;
}

void ph__app_ctx_set(ph_app *app, ph__app_ctx *ctx)
{
    app->ctx = ctx;
}

static void *thread_state(ph_app *app)
{
    if (!app->thr_init || !app->thr_key_made)
        return NULL;
    thread_slot *slot = pthread_getspecific(app->thr_key);
    if (slot)
        return slot->state;
    void *state = app->thr_init(app->thr_ud);
    if (!state)
        return NULL;
    slot = malloc(sizeof(*slot));
    if (!slot || pthread_setspecific(app->thr_key, slot) != 0) {
        free(slot);
        if (app->thr_fini)
            app->thr_fini(state, app->thr_ud);
        return NULL;
    }
    slot->app = app;
    slot->state = state;
    return state;
}

void ph_app_set_access_log(ph_app *app, bool on)
{
    app->access_log = on;
}

const char *ph__app_static_root(const ph_app *app)
{
    return app->static_root;
}

int ph__app_set_static_root(ph_app *app, char *root)
{
    free(app->static_root);
    app->static_root = root;
    return 0;
}

char *ph_url_for(const ph_app *app, ph_arena *a, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    char *url = ph_router_url_forv(app->router, a, name, ap);
    va_end(ap);
    return url;
}

char *ph_url_for_vals(const ph_app *app, ph_arena *a, const char *name, const ph_val *vals,
                      size_t n)
{
    if (n % 2 != 0)
        return NULL;
    const char **pairs = n ? ph_arena_alloc(a, n * sizeof(*pairs)) : NULL;
    if (n && !pairs)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const ph_val *v = &vals[i];
        switch (v->type) {
        case PH_VAL_TEXT:
            pairs[i] = ph_arena_strndup(a, v->u.s.ptr, v->u.s.len);
            break;
        case PH_VAL_INT:
            pairs[i] = ph_arena_sprintf(a, "%lld", (long long)v->u.i);
            break;
        case PH_VAL_BOOL:
            pairs[i] = v->u.b ? "True" : "False";
            break;
        case PH_VAL_DOUBLE:
            pairs[i] = ph_arena_sprintf(a, "%.17g", v->u.d);
            break;
        default:
            return NULL; /* NULL and bytes have no place in a URL */
        }
        if (!pairs[i] || (i % 2 == 0 && v->type != PH_VAL_TEXT))
            return NULL;
    }
    return ph_router_url_for_pairs(app->router, a, name, pairs, n / 2);
}

int ph_get_or_404(ph_session *s, ph_response *res, const ph_model *m, int64_t id, void *out)
{
    if (!s) {
        void *null = NULL;
        memcpy(out, &null, sizeof(null));
        return PH_EMISUSE;
    }
    int rc = ph_session_get(s, m, id, out);
    if (rc == PH_ENOTFOUND) {
        ph_abort(res, 404);
        return PH_EABORTED;
    }
    return rc;
}

int ph_param_or_404(ph_request *req, ph_response *res, const ph_model *m, const char *param,
                    void *out)
{
    int64_t id;
    if (ph_req_param_int(req, param, &id) < 0) {
        void *null = NULL;
        memcpy(out, &null, sizeof(null));
        ph_abort(res, 404);
        return PH_EABORTED;
    }
    return ph_get_or_404(ph_req_db(req), res, m, id, out);
}

int ph_redirect_to(ph_request *req, ph_response *res, const char *endpoint)
{
    char *url = ph_url_for(req->app, req->arena, endpoint, NULL);
    if (!url) {
        ph_log_error("redirect to %s: no such route without parameters", endpoint);
        return PH_EUNDEFINED;
    }
    return ph_redirect(res, url, 302);
}

int ph_first_or_404(ph_query *q, ph_response *res, const ph_model *m, void *out)
{
    int rc = ph_query_expect(q, m);
    if (rc == 0)
        rc = ph_query_first(q, out);
    if (rc == PH_ENOTFOUND) {
        ph_abort(res, 404);
        return PH_EABORTED;
    }
    return rc;
}

/* ---- handling a request ------------------------------------------------ */

static const char *error_text(int status)
{
    switch (status) {
    case 400:
        return "The browser (or proxy) sent a request that this server could not understand.";
    case 404:
        return "The requested URL was not found on the server. If you entered the URL "
               "manually please check your spelling and try again.";
    case 405:
        return "The method is not allowed for the requested URL.";
    case 413:
        return "The data value transmitted exceeds the capacity limit.";
    case 414:
        return "The length of the requested URL exceeds the capacity limit for this server. "
               "The request cannot be processed.";
    case 431:
        return "One or more header fields exceeds the maximum size.";
    case 503:
        return "The server is temporarily unable to service your request due to maintenance "
               "downtime or capacity problems. Please try again later.";
    case 500:
        return "The server encountered an internal error and was unable to complete your "
               "request. Either the server is overloaded or there is an error in the "
               "application.";
    default:
        return "";
    }
}

int ph__default_error_page(ph_response *res, int status)
{
    ph_res_reset(res);
    ph_buf b;
    ph_buf_init(&b, res->arena);
    const char *reason = ph_http_reason(status);
    ph_buf_printf(&b,
                  "<!doctype html>\n<html lang=en>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>",
                  status, reason, reason);
    const char *text = res->description ? res->description : error_text(status);
    ph_buf_put_html(&b, text, strlen(text));
    ph_buf_puts(&b, "</p>\n");
    if (ph_buf_status(&b) < 0)
        return ph_html_n(res, status, "", 0);
    return ph_html_n(res, status, b.ptr, b.len);
}

/* Renders the error page for status into res: the app's handler if any
 * (falling back to the default page when it fails), else the default. */
static void error_page(ph_app *app, ph_request *req, ph_response *res, int status)
{
    for (size_t i = 0; i < app->nerrors; i++) {
        if (app->errors[i].status != status)
            continue;
        ph_res_reset(res);
        res->status = status;
        int rc = app->errors[i].fn(req, res);
        if (rc == 0 && res->status != 0 && !res->abort)
            return;
        ph_log_error("%s: error handler for %d failed: %s", app->name, status,
                     rc < 0 ? ph_strerror(rc) : "no response");
        if (status == 500)
            break;
        status = 500;
        res->description = NULL; /* the words were for the first status */
        i = (size_t)-1; /* look for a 500 handler */
    }
    ph__default_error_page(res, status);
}

/* Routing, before hooks and the handler.  Returns 0 with res filled (or
 * res->abort set), or a negative code for a 500. */
static int dispatch(ph_app *app, ph_request *req, ph_response *res)
{
    if (req->bad_status)
        return ph_abort(res, req->bad_status);
    ph_match m;
    /* a route the server matched already (ph__app_route_early) */
    ph_match_result mr = req->route ? PH_MATCH_OK
                                    : ph_router_match(app->router, req->method, req->path,
                                                      req->path_len, req->arena, &m);
    if (req->route) {
        m.route = req->route;
        m.params = req->params;
    }
    if (mr == PH_MATCH_NOMEM)
        return PH_ENOMEM;
    if (mr == PH_MATCH_METHOD_NOT_ALLOWED) {
        ph_buf allow;
        ph_buf_init(&allow, req->arena);
        if (ph_method_list(m.allowed, &allow) < 0)
            return PH_ENOMEM;
        if (strcmp(req->method, "OPTIONS") == 0) {
            int rc = ph_html_n(res, 200, "", 0);
            return rc < 0 ? rc : ph_res_header(res, "Allow", allow.ptr);
        }
        ph_abort(res, 405);
        return ph_res_header(res, "Allow", allow.ptr);
    }
    if (mr == PH_MATCH_NOT_FOUND) {
        /* Flask's strict slashes: "/pets" for a rule "/pets/" redirects */
        if (req->path_len > 0 && req->path[req->path_len - 1] != '/') {
            char *slashed = ph_arena_sprintf(req->arena, "%s/", req->path);
            ph_match m2;
            if (slashed && strlen(slashed) == req->path_len + 1 &&
                ph_router_match(app->router, req->method, slashed, req->path_len + 1, req->arena,
                                &m2) == PH_MATCH_OK) {
                char *loc = ph_arena_sprintf(req->arena, "%s/%s%s", req->raw_path,
                                             *req->query ? "?" : "", req->query);
                return loc ? ph_redirect(res, loc, 308) : PH_ENOMEM;
            }
        }
        return ph_abort(res, 404);
    }
    req->route = m.route;
    req->params = m.params;
    for (size_t i = 0; i < app->nbefore; i++) {
        int rc = app->before[i].fn(req, res, app->before[i].ud);
        if (rc > 0) {
            ph_log_error("%s: a before_request hook returned %d: 0 or a negative PH_E* code "
                         "expected",
                         app->name, rc);
            return PH_EMISUSE;
        }
        if (rc < 0)
            return rc;
        if (res->status != 0)
            return 0;
    }
    int rc = m.route->handler(req, res);
    if (rc == PH_EABORTED && res->abort)
        return 0; /* get_or_404 & co.: the abort page is the answer */
    if (rc != 0)
        return rc < 0 ? rc : PH_EMISUSE; /* 0 is the only success */
    if (res->status == 0) {
        ph_log_error("%s: %s %s: handler produced no response", app->name, req->method, req->path);
        return PH_EMISUSE;
    }
    return 0;
}

void ph_app_handle(ph_app *app, ph_request *req, ph_response *res)
{
    req->app = app;
    int err = 0;
    if (app->thr_init) {
        req->thread_state = thread_state(app);
        if (!req->thread_state) {
            ph_log_error("%s: thread state could not be created", app->name);
            err = PH_ENOMEM;
        }
    }
    if (err == 0 && app->req_begin) {
        err = app->req_begin(req, app->req_ud);
        if (err > 0) {
            ph_log_error("%s: the request-begin hook returned %d: 0 or a negative PH_E* code "
                         "expected",
                         app->name, err);
            err = PH_EMISUSE;
        }
    }
    if (err == 0)
        err = dispatch(app, req, res);
    if (err < 0) {
        const char *detail = ph__req_error_detail(req);
        /* the client's data broke a constraint or a limit: its fault, a 400;
           the database is down, locked or stalled: temporary, a 503 whose
           Retry-After tells clients and balancers when to retry; else a bug */
        bool input = err == PH_ECONSTRAINT || err == PH_ETOOLONG || err == PH_ERANGE;
        bool stalled = err == PH_ECONNLOST || err == PH_EBUSY || err == PH_ETIMEDOUT;
        int status = input ? 400 : stalled ? 503 : 500;
        res->description = NULL; /* what the handler meant to say went wrong */
        ph_log(input ? PH_LOG_INFO : PH_LOG_ERROR, "%s: %s %s: %s%s%s", app->name, req->method,
               req->path, ph_errname(err), detail ? ": " : "", detail ? detail : "");
        error_page(app, req, res, status);
        if (stalled && !ph_res_header_get(res, "Retry-After"))
            ph_res_header(res, "Retry-After", PH__RETRY_AFTER_S);
    } else if (res->abort) {
        /* keep headers an abort set (Allow) across the error page */
        size_t nh = res->nheaders;
        ph_header *h = nh ? ph_arena_memdup(req->arena, res->headers, nh * sizeof(*h)) : NULL;
        if (!h)
            nh = 0;
        res->nheaders = 0;
        error_page(app, req, res, res->status);
        for (size_t i = 0; i < nh; i++)
            if (!ph_res_header_get(res, h[i].name))
                ph_res_header_add(res, h[i].name, h[i].value);
    }
    for (size_t i = app->nafter; i-- > 0;) {
        int rc = app->after[i].fn(req, res, app->after[i].ud);
        if (rc < 0) {
            ph_log_error("%s: after_request hook failed: %s", app->name, ph_errname(rc));
            error_page(app, req, res, 500);
            if (err == 0)
                err = rc;
            break;
        }
    }
    if (app->req_end)
        app->req_end(req, err, app->req_ud);
    ph__req_db_end(req);
    if (!res->content_type)
        res->content_type = "text/html; charset=utf-8";
    if (ph_res_header(res, "Server", "Phial") < 0) {
        /* out of memory on the last step: the server adds its own */
    }
}

/* Appends s to b with quotes, backslashes and control bytes escaped, so a
 * request line cannot forge log lines. */
static void put_escaped(ph_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            char e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            ph_buf_append(b, e, 4);
        } else {
            ph_buf_putc(b, (char)*p);
        }
    }
}

void ph_app_log_access(const ph_app *app, const ph_request *req, int status, uint64_t bytes)
{
    if (!app->access_log)
        return;
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    ph_buf b;
    ph_buf_init(&b, NULL);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    double ms = (double)(ph_now_ns() - req->start_ns) / 1e6;
    ph_buf_printf(&b, "%s - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"",
                  req->remote_addr ? req->remote_addr : "-", tm.tm_mday, mon[tm.tm_mon % 12],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    put_escaped(&b, req->method ? req->method : "-");
    ph_buf_putc(&b, ' ');
    put_escaped(&b, req->raw_uri ? req->raw_uri : "-");
    ph_buf_putc(&b, ' ');
    put_escaped(&b, req->version ? req->version : "-");
    if (bytes)
        ph_buf_printf(&b, "\" %d %llu %.3fms", status, (unsigned long long)bytes, ms);
    else
        ph_buf_printf(&b, "\" %d - %.3fms", status, ms);
    if (ph_buf_status(&b) == 0)
        ph_log_raw(b.ptr, b.len);
    ph_buf_free(&b);
}
