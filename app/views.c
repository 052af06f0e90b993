/*
 * The tutorial application's views.  `GET /` answers "Hello world", as the
 * tutorial's first page does; /register stores a user and answers "User
 * registration successful" (the password as an Argon2id hash, never in
 * plain text); /contact stores a message (the tutorial's practice task);
 * /users lists them a page at a time.  Error pages share the layout.  Forms are declared in
 * forms.c.  Test-only routes
 * (/_test/...) exist only in the test build (build/app-test, compiled with
 * -DPHIAL_TEST_ROUTES) and there when the environment sets
 * PHIAL_TEST_ROUTES=1; the integration tests use them to hold a request in
 * flight and to provoke a handler failure.
 */
#include "views.h"

#include "forms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int index_view(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_html(res, 200, "Hello world");
}

/* Renders name with the bound form (and extra variables of ctx when
 * given), answering 400 after a submission that failed validation. */
static int render_form(ph_request *req, ph_response *res, const char *name, ph_form *form,
                       ph_tpl_ctx *ctx)
{
    if (!ctx && !(ctx = ph_tpl_ctx_new(req->arena)))
        return PH_ENOMEM;
    if (ph_tpl_ctx_set_form(ctx, "form", form) < 0)
        return PH_ENOMEM;
    int rc = ph_render(req, res, name, ctx);
    if (rc == 0 && ph_form_is_submitted(form))
        res->status = 400;
    return rc;
}

/* The password hashes are capped (PASSWORD_HASH_CONCURRENCY): a request
 * that found no slot in time is told to come back. */
static int busy(ph_request *req, ph_response *res)
{
    char s[16];
    snprintf(s, sizeof(s), "%u", ph_password_retry_after(ph_app_security(req->app)));
    ph_abort(res, 503); /* forgets headers: Retry-After comes after it */
    return ph_res_header(res, "Retry-After", s);
}

/* The tutorial's register(), on a form derived from User: errors beside
 * the fields, values kept (never the password), a taken username refused,
 * the password stored as an Argon2id hash; nothing stored on any error. */
static int register_view(ph_request *req, ph_response *res)
{
    ph_form *form = ph_form_bind(req, &register_form);
    if (!form)
        return PH_ENOMEM;
    bool valid;
    int rc = ph_form_validate_on_submit(form, &valid);
    if (rc < 0)
        return rc;
    if (!valid)
        return render_form(req, res, "register.html", form, NULL);
    const char *password = ph_form_value(form, "password");
    char hash[PH_PASSWORD_HASH_MAX];
    rc = ph_password_hash(ph_app_security(req->app), password, strlen(password), hash);
    if (rc == PH_ELIMIT)
        return busy(req, res);
    if (rc < 0)
        return rc;
    ph_session *db = ph_req_db(req);
    User *user = PH_ARENA_NEW(req->arena, User);
    if (!db || !user)
        return PH_ENOMEM;
    if ((rc = ph_form_populate(form, user)) < 0)
        return rc;
    if (!(user->user_password = ph_arena_strdup(req->arena, hash)))
        return PH_ENOMEM;
    if ((rc = ph_session_add(db, &User_model, user)) == 0)
        rc = ph_session_commit(db);
    if (rc == PH_ECONSTRAINT) {
        /* a unique index added to the table by hand: the same answer */
        if (ph_form_add_error(form, "username", "That username is already taken.") < 0)
            return PH_ENOMEM;
        return render_form(req, res, "register.html", form, NULL);
    }
    if (rc < 0)
        return rc;
    return ph_html(res, 200, "User registration successful");
}

/* The tutorial's practice task: a contact form whose valid messages are
 * stored, then acknowledged with a flash message after a redirect. */
static int contact_view(ph_request *req, ph_response *res)
{
    ph_form *form = ph_form_bind(req, &contact_form);
    if (!form)
        return PH_ENOMEM;
    bool valid;
    int rc = ph_form_validate_on_submit(form, &valid);
    if (rc < 0)
        return rc;
    if (!valid)
        return render_form(req, res, "contact.html", form, NULL);
    ph_session *db = ph_req_db(req);
    Contact *msg = PH_ARENA_NEW(req->arena, Contact);
    if (!db || !msg)
        return PH_ENOMEM;
    if ((rc = ph_form_populate(form, msg)) < 0 ||
        (rc = ph_session_add(db, &Contact_model, msg)) < 0 || (rc = ph_session_commit(db)) < 0)
        return rc;
    if ((rc = ph_flash(req, "success", "Thank you, your message has been sent.")) < 0)
        return rc;
    char *url = ph_url_for(req->app, req->arena, "contact", NULL);
    return url ? ph_redirect(res, url, 303) : PH_ENOMEM;
}

/* Users shown per page of /users. */
#define USERS_PER_PAGE 20

int app_paginate(ph_request *req, ph_query *q, int64_t per_page, ph_page *out)
{
    int64_t page = 1;
    const char *arg = ph_req_arg(req, "page");
    if (arg && (ph_parse_i64((ph_slice){arg, strlen(arg)}, &page) < 0 || page < 1))
        return PH_ENOTFOUND;
    int rc = ph_query_paginate(q, page, per_page, out);
    if (rc < 0)
        return rc;
    return page > 1 && page > out->pages ? PH_ENOTFOUND : 0;
}

/* The users, a page at a time in the order they registered
 * (User.query.paginate()): username and email, never the password. */
static int users_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &User_model) : NULL;
    if (!q)
        return PH_ENOMEM;
    ph_page users;
    int rc = app_paginate(req, ph_query_order_by(q, "id", PH_ASC), USERS_PER_PAGE, &users);
    if (rc == PH_ENOTFOUND)
        return ph_abort(res, 404);
    if (rc < 0)
        return rc;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_models(ctx, "users", &User_model, users.items, users.n) < 0 ||
        ph_tpl_ctx_set_int(ctx, "page", users.page) < 0 ||
        ph_tpl_ctx_set_int(ctx, "pages", users.pages) < 0 ||
        ph_tpl_ctx_set_int(ctx, "total", users.total) < 0 ||
        /* links to the pages around this one, at most 7 */
        ph_tpl_ctx_set_int(ctx, "first", users.page > 3 ? users.page - 3 : 1) < 0 ||
        ph_tpl_ctx_set_int(ctx, "last",
                           users.page + 3 < users.pages ? users.page + 3 : users.pages) < 0)
        return PH_ENOMEM;
    return ph_render(req, res, "users.html", ctx);
}

/* The error pages, in the site's layout: the status's own name as the
 * heading ("Not Found") and what to do in the user's words; what went
 * wrong is logged, never shown (no SQL, no code names). */
static int error_view(ph_request *req, ph_response *res)
{
    static const struct {
        int status;
        const char *text;
    } pages[] = {
        {400, "The page could not use what was sent. Go back and try again."},
        {404, "There is no such page here. It may have been deleted."},
        {405, "This page cannot be used that way."},
        {413, "What was sent is too large."},
        {500, "The page could not be shown because of an error on our side. It has been "
              "logged; please try again later."},
        {503, "The site is busy or its database is unavailable. Please try again in a few "
              "seconds."},
    };
    int status = res->status;
    const char *text = "Please go back and try again.";
    for (size_t i = 0; i < PH_COUNTOF(pages); i++)
        if (pages[i].status == status)
            text = pages[i].text;
    if (res->description) /* what went wrong, when the framework knows */
        text = res->description;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_str(ctx, "title", ph_http_reason(status)) < 0 ||
        ph_tpl_ctx_set_str(ctx, "error", text) < 0)
        return PH_ENOMEM;
    int rc = ph_render(req, res, "error.html", ctx);
    if (rc == 0)
        res->status = status;
    return rc;
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

/* /_test/big?kb=N: N KiB (at most 32 MiB) of letters, byte i being
 * 'a' + (i * 7 + i / 251) % 26: an answer larger than a socket's buffer. */
static int test_big(ph_request *req, ph_response *res)
{
    int64_t kb = 1;
    const char *v = ph_req_arg(req, "kb");
    if (v && (ph_parse_i64(ph_slice_cstr(v), &kb) < 0 || kb < 0 || kb > 32768))
        return ph_abort(res, 400);
    size_t n = (size_t)kb * 1024;
    char *body = ph_arena_alloc(req->arena, n + 1);
    if (!body)
        return PH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + (i * 7 + i / 251) % 26);
    return ph_html_n(res, 200, body, n);
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
    if (rc == 0) /* "Hello world" waits for nothing: answered on the event loop */
        rc = ph_app_route_inline(app, "index");
    if (rc == 0)
        rc = ph_app_route(app, PH_GET | PH_POST, "/register", "register", register_view);
    if (rc == 0)
        rc = ph_app_route(app, PH_GET | PH_POST, "/contact", "contact", contact_view);
    if (rc == 0)
        rc = ph_app_route(app, PH_GET, "/users", "users", users_view);
    if (rc == 0)
        rc = app_pets_register(app);
    /* pages that only read SQLite and render: shown inside the loop turn (a
       form's POST still runs after it) */
    static const char *const reads[] = {"register", "contact", "users", "handlers", "handler",
                                        "pet"};
    for (size_t i = 0; rc == 0 && i < PH_COUNTOF(reads); i++)
        rc = ph_app_route_inline_reads(app, reads[i]);
    static const int errors[] = {400, 404, 405, 413, 500, 503};
    for (size_t i = 0; rc == 0 && i < PH_COUNTOF(errors); i++)
        rc = ph_app_error_handler(app, errors[i], error_view);
#ifdef PHIAL_TEST_ROUTES
    const char *t = getenv("PHIAL_TEST_ROUTES");
    if (rc == 0 && t && strcmp(t, "1") == 0) {
        if (rc == 0)
            rc = ph_app_route(app, PH_GET, "/_test/sleep", "test_sleep", test_sleep);
        if (rc == 0)
            rc = ph_app_route(app, PH_GET, "/_test/big", "test_big", test_big);
        if (rc == 0)
            rc = ph_app_route(app, PH_GET | PH_POST, "/_test/fail", "test_fail", test_fail);
        if (rc == 0)
            rc =
                ph_app_route(app, PH_GET | PH_POST | PH_PUT, "/_test/echo", "test_echo", test_echo);
        /* the HTTP tests post raw bodies here: no form, no CSRF token */
        if (rc == 0)
            rc = ph_csrf_exempt(app, "test_echo");
        if (rc == 0)
            rc = ph_csrf_exempt(app, "test_fail");
        if (rc == 0)
            rc = ph_app_route(app, PH_GET, "/_test/pet/<int:pet_id>", "test_pet", test_pet);
    }
    /* the durability, WAL, stall and scale-out tests measure the database
       under load, posting without pages: in the test build only, they may
       turn the CSRF check of the writing routes off (test_forms and
       test_pages test it) */
    const char *nocsrf = getenv("PHIAL_TEST_CSRF_EXEMPT");
    if (rc == 0 && nocsrf && strcmp(nocsrf, "1") == 0) {
        static const char *const writers[] = {"register",      "contact",     "handlers",
                                              "add_pet",       "add_comment", "delete_pet",
                                              "delete_handler"};
        for (size_t i = 0; rc == 0 && i < PH_COUNTOF(writers); i++)
            rc = ph_csrf_exempt(app, writers[i]);
    }
#endif
    return rc;
}
