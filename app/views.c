/*
 * The tutorial application's views.  `GET /` answers "Hello world", as the
 * tutorial's first page does; /register stores a user and answers "User
 * registration successful" (the password as an Argon2id hash, never in
 * plain text); /users lists them.  Test-only routes (/_test/...) exist only
 * in the test build (build/app-test, compiled with -DPHIAL_TEST_ROUTES) and
 * there when the environment sets PHIAL_TEST_ROUTES=1; the integration
 * tests use them to hold a request in flight and to provoke a handler
 * failure.
 */
#include "views.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int index_view(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_html(res, 200, "Hello world");
}

/* register.html again, answering status, with the values the user typed
 * (never the password) and what was wrong. */
static int register_form(ph_request *req, ph_response *res, int status, const char *error)
{
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_str(ctx, "username", ph_req_form(req, "username")) < 0 ||
        ph_tpl_ctx_set_str(ctx, "email", ph_req_form(req, "email")) < 0 ||
        (error && ph_tpl_ctx_set_str(ctx, "error", error) < 0))
        return PH_ENOMEM;
    int rc = ph_render(req, res, "register.html", ctx);
    if (rc == 0)
        res->status = status;
    return rc;
}

/* The tutorial's register(): GET shows the form; POST stores the user. */
static int register_view(ph_request *req, ph_response *res)
{
    if (strcmp(req->method, "POST") != 0)
        return register_form(req, res, 200, NULL);
    const char *username = ph_req_form(req, "username");
    const char *email = ph_req_form(req, "email");
    const char *password = ph_req_form(req, "password");
    if (!username || !*username || !email || !*email || !password || !*password)
        return register_form(req, res, 400, "Username, email and password are all required.");
    if (strlen(password) > 1024)
        return register_form(req, res, 400, "That password is too long.");
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return PH_ENOMEM;
    ph_session *db = ph_req_db(req);
    User *user = PH_ARENA_NEW(req->arena, User);
    if (!db || !user)
        return PH_ENOMEM;
    user->username = (char *)username;
    user->user_email = (char *)email;
    user->user_password = ph_arena_strdup(req->arena, hash);
    int rc = ph_session_add(db, &User_model, user);
    if (rc == 0)
        rc = ph_session_commit(db);
    if (rc == PH_ETOOLONG || rc == PH_ECONSTRAINT)
        return register_form(req, res, 400, ph_session_errmsg(db));
    if (rc < 0)
        return rc;
    return ph_html(res, 200, "User registration successful");
}

/* Every user, in the order they registered (User.query.all()). */
static int users_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &User_model) : NULL;
    if (!q)
        return PH_ENOMEM;
    User **users;
    size_t n;
    int rc = ph_query_all(ph_query_order_by(q, "id", PH_ASC), &users, &n);
    if (rc < 0)
        return rc;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_models(ctx, "users", &User_model, (void *const *)users, n) < 0)
        return PH_ENOMEM;
    return ph_render(req, res, "users.html", ctx);
}

#ifdef PHIAL_TEST_ROUTES /* build/app-test only: the deployed app has none */
/* /_test/sleep?ms=N: answers "slept N" after N milliseconds (at most 10 s). */
static int test_sleep(ph_request *req, ph_response *res)
{
    int64_t ms = 0;
    const char *v = ph_req_arg(req, "ms");
    if (v && ph_parse_i64(ph_slice_cstr(v), &ms) < 0)
        return ph_abort(res, 400);
    if (ms < 0 || ms > 10000)
        ms = 10000;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    char *body = ph_arena_sprintf(req->arena, "slept %lld", (long long)ms);
    return body ? ph_html(res, 200, body) : PH_ENOMEM;
}

/* /_test/fail: a handler that fails (the app answers 500). */
static int test_fail(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return PH_EIO;
}

/* /_test/echo: the request as the app saw it, one "name=value" per line. */
static int test_echo(ph_request *req, ph_response *res)
{
    ph_buf b;
    ph_buf_init(&b, req->arena);
    ph_buf_printf(&b, "method=%s\npath=%s\nquery=%s\nbody=%zu\n", req->method, req->path,
                  req->query, req->body.len);
    for (size_t i = 0; i < req->args.len; i++)
        ph_buf_printf(&b, "arg:%s=%s\n", req->args.items[i].name, req->args.items[i].value);
    for (size_t i = 0; i < req->form.len; i++)
        ph_buf_printf(&b, "form:%s=%s\n", req->form.items[i].name, req->form.items[i].value);
    for (size_t i = 0; i < req->nfiles; i++)
        ph_buf_printf(&b, "file:%s=%s (%s, %zu bytes)\n", req->files[i].field,
                      req->files[i].filename, req->files[i].content_type, req->files[i].len);
    for (size_t i = 0; i < req->cookies.len; i++)
        ph_buf_printf(&b, "cookie:%s=%s\n", req->cookies.items[i].name,
                      req->cookies.items[i].value);
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    int rc = ph_html_n(res, 200, b.ptr, b.len);
    if (rc == 0)
        rc = ph_res_content_type(res, "text/plain; charset=utf-8");
    return rc;
}

/* /_test/pet/<int:pet_id>: a typed parameter and url_for. */
static int test_pet(ph_request *req, ph_response *res)
{
    int64_t id;
    if (ph_req_param_int(req, "pet_id", &id) < 0)
        return ph_abort(res, 404);
    char *self =
        ph_url_for(req->app, req->arena, "test_pet", "pet_id", ph_req_param(req, "pet_id"), NULL);
    char *body = ph_arena_sprintf(req->arena, "pet %lld at %s", (long long)id, self ? self : "?");
    return body ? ph_html(res, 200, body) : PH_ENOMEM;
}
#endif

int app_views_register(ph_app *app)
{
    int rc = ph_app_route(app, PH_GET, "/", "index", index_view);
    if (rc == 0)
        rc = ph_app_route(app, PH_GET | PH_POST, "/register", "register", register_view);
    if (rc == 0)
        rc = ph_app_route(app, PH_GET, "/users", "users", users_view);
    if (rc == 0)
        rc = app_pets_register(app);
#ifdef PHIAL_TEST_ROUTES
    const char *t = getenv("PHIAL_TEST_ROUTES");
    if (rc == 0 && t && strcmp(t, "1") == 0) {
        if (rc == 0)
            rc = ph_app_route(app, PH_GET, "/_test/sleep", "test_sleep", test_sleep);
        if (rc == 0)
            rc = ph_app_route(app, PH_GET | PH_POST, "/_test/fail", "test_fail", test_fail);
        if (rc == 0)
            rc =
                ph_app_route(app, PH_GET | PH_POST | PH_PUT, "/_test/echo", "test_echo", test_echo);
        if (rc == 0)
            rc = ph_app_route(app, PH_GET, "/_test/pet/<int:pet_id>", "test_pet", test_pet);
    }
#endif
    return rc;
}
