/*
 * What the app gives each request beyond HTTP: a database session on the
 * worker thread's own connection, and the compiled templates with Flask's
 * globals (url_for).  The database handle and the template set are made at
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

struct ph__app_ctx {
    ph_db *db;
    pthread_key_t conn_key; /* the calling thread's ph_db_conn */
    bool key_made;
    ph_tpl_set *templates;
    bool debug;
};

struct ph__req_ctx {
    ph_session *session;
};

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
    if (req->ctx && req->ctx->session)
        return req->ctx->session;
    ph__app_ctx *actx = ph__app_ctx_get(req->app);
    ph_db_conn *c = ph_app_thread_conn(req->app);
    if (!c)
        return NULL;
    if (!req->ctx && !(req->ctx = PH_ARENA_NEW(req->arena, struct ph__req_ctx)))
        return NULL;
    req->ctx->session = ph_session_new(req->arena, c);
    if (req->ctx->session && actx->debug)
        ph_session_set_debug(req->ctx->session, true,
                             req->route && req->route->name ? req->route->name : req->path);
    return req->ctx->session;
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
