/*
 * What the app gives each request beyond HTTP, in one request context: a
 * database session on the worker thread's own connection, the signed
 * cookie session with its flash messages, the CSRF state and the bound
 * form; and the compiled templates with Flask's globals (url_for,
 * csrf_token, get_flashed_messages).  The security plug-in (SECRET_KEY,
 * the CSRF and text checks before each handler, the cookie and security
 * headers after it) is turned on by ph_app_use_security.  The database handle and the template set are made at
 * start-up and read-only afterwards; each worker thread opens its database
 * connection on its first request that needs one and keeps it (with its
 * prepared statements) until the thread ends.  A request's session lives in
 * the request arena: whatever it did not commit is rolled back when the
 * response has been sent.
 */
#include "phial/app.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include <time.h>

struct ph__app_ctx {
    ph_db *db;
    pthread_key_t conn_key; /* the calling thread's ph_db_conn */
    bool key_made;
    ph_tpl_set *templates;
    bool debug;
    ph_security *security;
    char **csrf_exempt; /* endpoint names */
    size_t ncsrf_exempt;
};

struct ph__req_ctx {
    ph_session *session;
    ph_usersession *user; /* decoded on first use */
    bool had_cookie;      /* the request sent a session cookie */
    const char *csrf_token;
    bool csrf_checked;
    int csrf_rc;
    const char *csrf_why;
    const ph_flash_msg *flashes; /* taken this request */
    size_t nflashes;
    bool flashes_taken;
    struct ph_form *form;
};

/* The request's context, made on first use. */
static struct ph__req_ctx *req_ctx(ph_request *req)
{
    if (!req->ctx)
        req->ctx = PH_ARENA_NEW(req->arena, struct ph__req_ctx);
    return req->ctx;
}

static void conn_free(void *p)
{
    ph_db_conn_free(p);
}

void ph__app_ctx_free(ph__app_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->key_made) {
        /* other threads freed theirs when they ended; this one's is ours */
        ph_db_conn *c = pthread_getspecific(ctx->conn_key);
        if (c) {
            pthread_setspecific(ctx->conn_key, NULL);
            ph_db_conn_free(c);
        }
        pthread_key_delete(ctx->conn_key);
    }
    ph_db_close(ctx->db);
    ph_tpl_set_free(ctx->templates);
    ph_security_free(ctx->security);
    for (size_t i = 0; i < ctx->ncsrf_exempt; i++)
        free(ctx->csrf_exempt[i]);
    free(ctx->csrf_exempt);
    free(ctx);
}

static ph__app_ctx *ctx_of(ph_app *app)
{
    ph__app_ctx *ctx = ph__app_ctx_get(app);
    if (ctx)
        return ctx;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    const char *debug = ph_app_config_get(app, "DEBUG");
    ctx->debug = debug && (strcmp(debug, "1") == 0 || strcasecmp(debug, "true") == 0);
    ph__app_ctx_set(app, ctx);
    return ctx;
}

static bool config_true(const ph_app *app, const char *key)
{
    const char *v = ph_app_config_get(app, key);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

static const char *config_lookup(void *ud, const char *name)
{
    return ph_app_config_get(ud, name);
}

const char *ph_app_database_url(const ph_app *app)
{
    return ph_db_url_resolve(config_lookup, (void *)app);
}

/* DEBUG: how many statements the request's session ran, as a header (the
 * integration tests read it to catch N+1 pages). */
static int query_count_header(ph_request *req, ph_response *res, void *ud)
{
    (void)ud;
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)ph_req_query_count(req));
    return ph_res_header(res, "X-Query-Count", n);
}

int ph_app_use_database(ph_app *app, char *err, size_t errlen)
{
    ph__app_ctx *ctx = ctx_of(app);
    if (!ctx)
        return PH_ENOMEM;
    if (ctx->db) {
        snprintf(err, errlen, "the app already has a database");
        return PH_EMISUSE;
    }
    ph_db_config cfg = {
        .url = ph_app_database_url(app),
        .echo = config_true(app, "SQLALCHEMY_ECHO"),
        .synchronous = ph_app_config_get(app, "SQLITE_SYNCHRONOUS"),
    };
    /* the bounds of every database wait: whole numbers in range, or the
       start stops naming the key */
    static const struct {
        const char *key;
        int64_t min, max;
        size_t off;
    } waits[] = {
        {"SQLITE_BUSY_TIMEOUT_MS", 0, 3600000, offsetof(ph_db_config, busy_timeout_ms)},
        {"DATABASE_CONNECT_TIMEOUT", 0, 3600, offsetof(ph_db_config, connect_timeout_s)},
        {"DATABASE_STATEMENT_TIMEOUT_MS", -1, 3600000,
         offsetof(ph_db_config, statement_timeout_ms)},
        {"SQLITE_WAL_TRUNCATE_PAGES", -1, 1000000, offsetof(ph_db_config, wal_truncate_pages)},
    };
    for (size_t i = 0; i < PH_COUNTOF(waits); i++) {
        int64_t v;
        if (ph_app_config_int(app, waits[i].key, 0, &v) < 0 || v < waits[i].min ||
            v > waits[i].max) {
            snprintf(err, errlen, "%s must be a whole number from %lld to %lld, not '%s'",
                     waits[i].key, (long long)waits[i].min, (long long)waits[i].max,
                     ph_app_config_get(app, waits[i].key));
            return PH_EINVAL;
        }
        *(int *)((char *)&cfg + waits[i].off) = (int)v;
    }
    int rc = ph_db_open(&cfg, &ctx->db, err, errlen);
    if (rc < 0)
        return rc;
    if (pthread_key_create(&ctx->conn_key, conn_free) != 0) {
        ph_db_close(ctx->db);
        ctx->db = NULL;
        snprintf(err, errlen, "no thread key left");
        return PH_ENOMEM;
    }
    ctx->key_made = true;
    if (ctx->debug && (rc = ph_app_after_request(app, query_count_header, NULL)) < 0) {
        snprintf(err, errlen, "too many after_request hooks");
        return rc;
    }
    return 0;
}

ph_db *ph_app_db(const ph_app *app)
{
    ph__app_ctx *ctx = ph__app_ctx_get(app);
    return ctx ? ctx->db : NULL;
}

ph_db_conn *ph_app_thread_conn(ph_app *app)
{
    ph__app_ctx *ctx = ph__app_ctx_get(app);
    if (!ctx || !ctx->db)
        return NULL;
    ph_db_conn *c = pthread_getspecific(ctx->conn_key);
    if (c)
        return c;
    c = ph_db_conn_new(ctx->db);
    if (c && pthread_setspecific(ctx->conn_key, c) != 0) {
        ph_db_conn_free(c);
        c = NULL;
    }
    return c;
}

ph_session *ph_req_db(ph_request *req)
{
    if (!req->app)
        return NULL;
    bool on_loop = ph__req_runs_inline(req);
    if (on_loop && req->route->run_inline == PH__INLINE) {
        /* on the event-loop thread: a wait here would hold up the worker */
        ph_log_error("%s: route '%s' runs inline (ph_app_route_inline) and may not use the "
                     "database",
                     req->path, req->route->name ? req->route->name : req->route->pattern);
        return NULL;
    }
    if (req->ctx && req->ctx->session)
        return req->ctx->session;
    ph__app_ctx *actx = ph__app_ctx_get(req->app);
    ph_db_conn *c = ph_app_thread_conn(req->app);
    if (!c)
        return NULL;
    /* an inline-reads page reads with a connection that refuses writes; a
       thread that also runs other requests (the test client's) gets them
       back for those */
    if (actx->db && ph_db_dialect(actx->db) == PH_DB_SQLITE &&
        ph_db_conn_query_only(c, on_loop) < 0) {
        ph_log_error("%s: %s", req->path, ph_db_errmsg(c));
        return NULL;
    }
    if (!req_ctx(req))
        return NULL;
    req->ctx->session = ph_session_new(req->arena, c);
    if (req->ctx->session && actx->debug)
        ph_session_set_debug(req->ctx->session, true,
                             req->route && req->route->name ? req->route->name : req->path);
    return req->ctx->session;
}

void ph__req_db_end(ph_request *req)
{
    if (req->ctx && req->ctx->session)
        ph_session_close(req->ctx->session);
}

int64_t ph_req_query_count(const ph_request *req)
{
    return req->ctx && req->ctx->session ? (int64_t)ph_session_query_count(req->ctx->session) : 0;
}

/* ---- templates ------------------------------------------------------------ */

/* url_for('endpoint', name=value, ...) in templates: the URL of a route,
 * keyword arguments filling its parameters, the rest as the query string. */
static int tpl_url_for(ph_tpl_call *call, ph_value *out)
{
    const ph_app *app = call->userdata;
    if (call->nargs != 1 || call->args[0].kind != PH_V_STR) {
        call->errmsg = "url_for() takes the endpoint name and keyword arguments";
        return PH_ETYPE;
    }
    if (call->nkwargs > 32) {
        call->errmsg = "url_for(): too many arguments";
        return PH_ELIMIT;
    }
    const char *pairs[64];
    for (size_t i = 0; i < call->nkwargs; i++) {
        ph_buf b;
        ph_buf_init(&b, call->arena);
        ph_tpl_value_str(&b, &call->kwargs[i].value);
        ph_buf_append(&b, "", 0);
        pairs[2 * i] =
            ph_arena_strndup(call->arena, call->kwargs[i].name.ptr, call->kwargs[i].name.len);
        pairs[2 * i + 1] = b.ptr;
        if (ph_buf_status(&b) < 0 || !pairs[2 * i])
            return PH_ENOMEM;
    }
    const char *endpoint =
        ph_arena_strndup(call->arena, call->args[0].u.s.ptr, call->args[0].u.s.len);
    char *url = endpoint ? ph_router_url_for_pairs(ph_app_router(app), call->arena, endpoint, pairs,
                                                   call->nkwargs)
                         : NULL;
    if (!url) {
        call->errmsg = ph_arena_sprintf(call->arena,
                                        "url_for('%s'): no such route, or a parameter is "
                                        "missing or does not fit",
                                        endpoint ? endpoint : "?");
        return PH_EINVAL;
    }
    *out = ph_tpl_str(url);
    return 0;
}

/* csrf_token() in templates: the request's token. */
static int tpl_csrf_token(ph_tpl_call *call, ph_value *out)
{
    ph_request *req = call->render_userdata;
    const char *tok = req ? ph_csrf_token(req) : NULL;
    if (!tok) {
        call->errmsg = "csrf_token(): the app has no SECRET_KEY (ph_app_use_security)";
        return PH_EMISUSE;
    }
    *out = ph_tpl_str(tok);
    return 0;
}

/* get_flashed_messages(with_categories=false, category_filter=[]): the
 * messages flashed on earlier requests, taken out of the session. */
static int tpl_flashes(ph_tpl_call *call, ph_value *out)
{
    ph_request *req = call->render_userdata;
    bool with_cat = false;
    const ph_value *filter = NULL;
    for (size_t i = 0; i < call->nargs; i++) {
        if (i == 0)
            with_cat = call->args[0].kind == PH_V_BOOL && call->args[0].u.b;
        else if (i == 1)
            filter = &call->args[1];
    }
    for (size_t i = 0; i < call->nkwargs; i++) {
        if (ph_slice_eq_cstr(call->kwargs[i].name, "with_categories"))
            with_cat = call->kwargs[i].value.kind == PH_V_BOOL && call->kwargs[i].value.u.b;
        else if (ph_slice_eq_cstr(call->kwargs[i].name, "category_filter"))
            filter = &call->kwargs[i].value;
        else {
            call->errmsg = "get_flashed_messages() takes with_categories and category_filter";
            return PH_EINVAL;
        }
    }
    if (filter && filter->kind != PH_V_LIST)
        filter = NULL;
    const ph_flash_msg *msgs = NULL;
    size_t n = req ? ph_get_flashed_messages(req, &msgs) : 0;
    *out = ph_tpl_list_new(call->arena);
    for (size_t i = 0; i < n; i++) {
        if (filter && filter->u.list->len) {
            bool keep = false;
            for (size_t k = 0; k < filter->u.list->len && !keep; k++) {
                const ph_value *c = &filter->u.list->items[k];
                keep = c->kind == PH_V_STR && c->u.s.len == strlen(msgs[i].category) &&
                       memcmp(c->u.s.ptr, msgs[i].category, c->u.s.len) == 0;
            }
            if (!keep)
                continue;
        }
        ph_value item = ph_tpl_str(msgs[i].message);
        if (with_cat) {
            item = ph_tpl_list_new(call->arena);
            item.safe = true; /* a tuple, as Flask's (category, message) */
            if (ph_tpl_list_push(call->arena, &item, ph_tpl_str(msgs[i].category)) < 0 ||
                ph_tpl_list_push(call->arena, &item, ph_tpl_str(msgs[i].message)) < 0)
                return PH_ENOMEM;
        }
        if (ph_tpl_list_push(call->arena, out, item) < 0)
            return PH_ENOMEM;
    }
    return 0;
}

static int load_dir(ph_tpl_set *set, const void *dir, char *err, size_t errlen)
{
    return ph_tpl_set_load_dir(set, dir, err, errlen);
}

int ph_app_use_templates(ph_app *app, const char *dir, char *err, size_t errlen)
{
    return ph__app_use_templates_from(app, load_dir, dir, err, errlen);
}

int ph__app_use_templates_from(ph_app *app,
                               int (*load)(ph_tpl_set *set, const void *src, char *err,
                                           size_t errlen),
                               const void *src, char *err, size_t errlen)
{
    ph__app_ctx *ctx = ctx_of(app);
    if (!ctx)
        return PH_ENOMEM;
    if (ctx->templates) {
        snprintf(err, errlen, "the app already has templates");
        return PH_EMISUSE;
    }
    ph_tpl_set *set = ph_tpl_set_new();
    if (!set)
        return PH_ENOMEM;
    ph_tpl_set_debug(set, ctx->debug);
    int rc = ph_tpl_set_add_function(set, "url_for", tpl_url_for, app);
    if (rc == 0)
        rc = ph_tpl_set_add_function(set, "csrf_token", tpl_csrf_token, NULL);
    if (rc == 0)
        rc = ph_tpl_set_add_function(set, "get_flashed_messages", tpl_flashes, NULL);
    if (rc == 0)
        rc = load(set, src, err, errlen);
    if (rc < 0) {
        ph_tpl_set_free(set);
        return rc;
    }
    ctx->templates = set;
    return 0;
}

ph_tpl_set *ph_app_templates(const ph_app *app)
{
    ph__app_ctx *ctx = ph__app_ctx_get(app);
    return ctx ? ctx->templates : NULL;
}

/* The template engine's hook for a relationship it reads that is not
 * loaded yet: loaded through the request's session. */
static int load_relationship(void *ud, const ph_model *m, void *obj, const ph_relationship *rel)
{
    ph_session *s = ph_req_db(ud);
    if (!s)
        return PH_ENOMEM;
    return ph_orm_load_relationship(s, m, obj, rel);
}

int ph_render(ph_request *req, ph_response *res, const char *name, const ph_tpl_ctx *ctx)
{
    const ph_tpl_set *set = req->app ? ph_app_templates(req->app) : NULL;
    if (!set) {
        ph_log_error("render %s: the app has no templates", name);
        return PH_EMISUSE;
    }
    ph_tpl_render_opts opts = {
        .load_relationship = ph_app_db(req->app) ? load_relationship : NULL,
        .userdata = req,
    };
    ph_buf out;
    ph_buf_init(&out, req->arena);
    const char *msg = NULL;
    int rc = ph_tpl_render(set, name, ctx, &opts, req->arena, &out, &msg);
    if (rc < 0) {
        ph_log_error("render %s: %s", name, msg ? msg : ph_strerror(rc));
        return rc;
    }
    return ph_html_n(res, 200, out.ptr ? out.ptr : "", out.len);
}

const char *ph__req_error_detail(const ph_request *req)
{
    if (!req->ctx || !req->ctx->session)
        return NULL;
    const char *m = ph_session_errmsg(req->ctx->session);
    if (m && *m)
        return m;
    m = ph_db_errmsg(ph_session_conn(req->ctx->session));
    return m && *m ? m : NULL;
}

int ph_render_status(ph_request *req, ph_response *res, int status, const char *name,
                     const ph_tpl_ctx *ctx)
{
    int rc = ph_render(req, res, name, ctx);
    if (rc == 0)
        res->status = status;
    return rc;
}

/* ---- the security plug-in --------------------------------------------------- */

static bool is_unsafe_method(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
           strcmp(m, "DELETE") == 0;
}

/* The app's 400 page, naming what was wrong (the CSRF check, text that is
 * not UTF-8). */
static int bad_request(ph_response *res, const char *why)
{
    return ph_abort_description(res, 400, why);
}

static bool params_are_text(const ph_params *p)
{
    for (size_t i = 0; i < p->len; i++)
        if (!ph_text_valid(p->items[i].name, strlen(p->items[i].name)) ||
            !ph_text_valid(p->items[i].value, p->items[i].value_len))
            return false;
    return true;
}

/* Before every handler: query and form values must be text; an unsafe
 * method needs a valid CSRF token unless its route is exempt. */
static int security_before(ph_request *req, ph_response *res, void *ud)
{
    ph__app_ctx *ctx = ud;
    if (!params_are_text(&req->args) || !params_are_text(&req->form))
        return bad_request(res, "A value sent with the request is not valid UTF-8 text, or "
                                "holds a NUL byte.");
    if (!is_unsafe_method(req->method))
        return 0;
    const char *ep = req->route ? req->route->name : NULL;
    for (size_t i = 0; ep && i < ctx->ncsrf_exempt; i++)
        if (strcmp(ctx->csrf_exempt[i], ep) == 0)
            return 0;
    const char *why = NULL;
    int rc = ph_req_csrf_check(req, &why);
    if (rc == PH_ENOMEM)
        return rc;
    if (rc < 0) {
        ph_log_info("%s %s: %s", req->method, req->path, why ? why : "CSRF check failed");
        return bad_request(res, why ? why : "The CSRF token is invalid.");
    }
    return 0;
}

/* Each header the handler did not set itself (added, not replaced: the
 * lookup just found none). */
static int security_headers(ph_response *res, const ph_security_config *c)
{
    int rc = 0;
    if (c->nosniff && !ph_res_header_get(res, "X-Content-Type-Options"))
        rc = ph_res_header_add(res, "X-Content-Type-Options", "nosniff");
    if (rc == 0 && c->frame_options && *c->frame_options &&
        !ph_res_header_get(res, "X-Frame-Options"))
        rc = ph_res_header_add(res, "X-Frame-Options", c->frame_options);
    if (rc == 0 && c->referrer_policy && *c->referrer_policy &&
        !ph_res_header_get(res, "Referrer-Policy"))
        rc = ph_res_header_add(res, "Referrer-Policy", c->referrer_policy);
    if (rc == 0 && c->csp && *c->csp && !ph_res_header_get(res, "Content-Security-Policy"))
        rc = ph_res_header_add(res, "Content-Security-Policy", c->csp);
    return rc;
}

/* The Set-Cookie for a changed session: the new value, or a deletion when
 * it became empty. */
static int save_usersession(ph_request *req, ph_response *res, ph__app_ctx *ctx)
{
    struct ph__req_ctx *rc = req->ctx;
    if (!rc || !rc->user || !ph_usersession_modified(rc->user))
        return 0;
    const ph_security_config *c = ph_security_settings(ctx->security);
    const ph_flash_msg *f;
    bool empty = ph_usersession_len(rc->user) == 0;
    if (empty) {
        /* peek without taking: a session holding only flashes is not empty */
        size_t n = ph_usersession_take_flashes(rc->user, &f);
        for (size_t i = 0; i < n; i++)
            ph_usersession_flash(rc->user, f[i].category, f[i].message);
        empty = n == 0;
    }
    if (empty)
        return rc->had_cookie ? ph_res_delete_cookie(res, c->cookie_name, "/") : 0;
    char *value;
    int err = ph_usersession_encode(ctx->security, rc->user, req->arena, time(NULL), &value);
    if (err < 0) {
        ph_log_error("%s %s: the session cookie could not be written: %s", req->method, req->path,
                     err == PH_ETOOLONG ? "it holds more than a cookie can carry"
                                        : ph_strerror(err));
        return err;
    }
    ph_cookie ck = {
        .name = c->cookie_name,
        .value = value,
        .max_age = c->lifetime_s,
        .path = "/",
        .secure = c->cookie_secure,
        .http_only = c->cookie_httponly,
        .same_site = (ph_samesite)c->cookie_samesite,
    };
    err = ph_res_set_cookie(res, &ck);
    if (err == 0 && !ph_res_header_get(res, "Vary"))
        err = ph_res_header(res, "Vary", "Cookie");
    return err;
}

/* After every response (error pages included): the session cookie, then
 * the security headers.  A cookie that cannot be written turns the answer
 * into a 500 (never a success whose session change was silently lost). */
static int security_after(ph_request *req, ph_response *res, void *ud)
{
    ph__app_ctx *ctx = ud;
    if (save_usersession(req, res, ctx) < 0)
        ph__default_error_page(res, 500);
    return security_headers(res, ph_security_settings(ctx->security));
}

static const char *config_get_cb(void *ud, const char *key)
{
    return ph_app_config_get(ud, key);
}

int ph_app_use_security(ph_app *app, char *err, size_t errlen)
{
    ph__app_ctx *ctx = ctx_of(app);
    if (!ctx)
        return PH_ENOMEM;
    if (ctx->security) {
        snprintf(err, errlen, "the app already uses security");
        return PH_EMISUSE;
    }
    ph_security_config cfg;
    ph_security_config_defaults(&cfg);
    int rc = ph_security_config_read(&cfg, config_get_cb, app, err, errlen);
    if (rc < 0)
        return rc;
    char key[65];
    if (!cfg.secret_key || !*cfg.secret_key) {
        const char *file = ph_app_config_get(app, "SECRET_KEY_FILE");
        if ((!file || !*file) && ctx->debug)
            file = "instance/secret_key";
        if (file && *file) {
            if ((rc = ph_security_instance_key(file, key, err, errlen)) < 0)
                return rc;
            cfg.secret_key = key;
        }
    }
    rc = ph_security_new(&cfg, &ctx->security, err, errlen);
    ph_secure_wipe(key, sizeof(key));
    if (rc < 0)
        return rc;
    if ((rc = ph_app_before_request(app, security_before, ctx)) < 0 ||
        (rc = ph_app_after_request(app, security_after, ctx)) < 0) {
        snprintf(err, errlen, "too many request hooks");
        return rc;
    }
    return 0;
}

ph_security *ph_app_security(const ph_app *app)
{
    ph__app_ctx *ctx = ph__app_ctx_get(app);
    return ctx ? ctx->security : NULL;
}

int ph_csrf_exempt(ph_app *app, const char *endpoint)
{
    ph__app_ctx *ctx = ctx_of(app);
    if (!ctx)
        return PH_ENOMEM;
    char **l = realloc(ctx->csrf_exempt, (ctx->ncsrf_exempt + 1) * sizeof(*l));
    if (!l)
        return PH_ENOMEM;
    ctx->csrf_exempt = l;
    if (!(l[ctx->ncsrf_exempt] = strdup(endpoint)))
        return PH_ENOMEM;
    ctx->ncsrf_exempt++;
    return 0;
}

ph_usersession *ph_req_usersession(ph_request *req)
{
    ph__app_ctx *actx = req->app ? ph__app_ctx_get(req->app) : NULL;
    if (!actx || !actx->security || !req_ctx(req))
        return NULL;
    struct ph__req_ctx *rc = req->ctx;
    if (!rc->user) {
        const char *name = ph_security_settings(actx->security)->cookie_name;
        const char *cookie = ph_req_cookie(req, name);
        rc->had_cookie = cookie != NULL;
        rc->user = ph_usersession_decode(actx->security, req->arena, cookie, time(NULL), NULL);
    }
    return rc->user;
}

const char *ph_usersession_get(ph_request *req, const char *key)
{
    ph_usersession *s = ph_req_usersession(req);
    return s ? ph_usersession_lookup(s, key) : NULL;
}

int ph_usersession_set(ph_request *req, const char *key, const char *value)
{
    ph_usersession *s = ph_req_usersession(req);
    return s ? ph_usersession_put(s, key, value) : PH_EMISUSE;
}

int ph_usersession_remove(ph_request *req, const char *key)
{
    ph_usersession *s = ph_req_usersession(req);
    return s ? ph_usersession_del(s, key) : PH_EMISUSE;
}

int ph_usersession_clear(ph_request *req)
{
    ph_usersession *s = ph_req_usersession(req);
    if (!s)
        return PH_EMISUSE;
    ph_usersession_reset(s);
    req->ctx->csrf_token = NULL;
    return 0;
}

int ph_flash(ph_request *req, const char *category, const char *message)
{
    ph_usersession *s = ph_req_usersession(req);
    return s ? ph_usersession_flash(s, category, message) : PH_EMISUSE;
}

size_t ph_get_flashed_messages(ph_request *req, const ph_flash_msg **out)
{
    *out = NULL;
    ph_usersession *s = ph_req_usersession(req);
    if (!s)
        return 0;
    struct ph__req_ctx *rc = req->ctx;
    if (!rc->flashes_taken) {
        rc->nflashes = ph_usersession_take_flashes(s, &rc->flashes);
        rc->flashes_taken = true;
    }
    *out = rc->flashes;
    return rc->nflashes;
}

const char *ph_csrf_token(ph_request *req)
{
    ph_usersession *s = ph_req_usersession(req);
    if (!s)
        return NULL;
    struct ph__req_ctx *rc = req->ctx;
    if (!rc->csrf_token) {
        char *tok;
        if (ph_csrf_token_new(ph_app_security(req->app), s, req->arena, time(NULL), &tok) < 0)
            return NULL;
        rc->csrf_token = tok;
    }
    return rc->csrf_token;
}

int ph_req_csrf_check(ph_request *req, const char **why)
{
    *why = NULL;
    /* an exempt route's requests pass, for its forms too */
    const ph__app_ctx *actx = req->app ? ph__app_ctx_get(req->app) : NULL;
    const char *ep = req->route ? req->route->name : NULL;
    for (size_t i = 0; actx && ep && i < actx->ncsrf_exempt; i++)
        if (strcmp(actx->csrf_exempt[i], ep) == 0)
            return 0;
    ph_usersession *s = ph_req_usersession(req);
    if (!s) {
        *why = "CSRF protection is not configured (no SECRET_KEY).";
        return req->app && ph_app_security(req->app) ? PH_ENOMEM : PH_EMISUSE;
    }
    struct ph__req_ctx *rc = req->ctx;
    if (!rc->csrf_checked) {
        const char *tok = ph_req_form(req, "csrf_token");
        if (!tok)
            tok = ph_req_header(req, "X-CSRFToken");
        if (!tok)
            tok = ph_req_header(req, "X-CSRF-Token");
        rc->csrf_rc = ph_csrf_check(ph_app_security(req->app), s, tok, time(NULL), &rc->csrf_why);
        rc->csrf_checked = true;
    }
    *why = rc->csrf_why;
    return rc->csrf_rc;
}

struct ph_form *ph_req_form_bound(const ph_request *req)
{
    return req->ctx ? req->ctx->form : NULL;
}

void ph__req_bind_form(ph_request *req, struct ph_form *form)
{
    if (req_ctx(req))
        req->ctx->form = form;
}
