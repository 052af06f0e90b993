/*
 * The pet management system's pages: handlers, their pets (the tutorial's
 * handler.pet_category with its backref pet_handler), comments on pets, a
 * handler's profile (one-to-one) and tags on pets (many-to-many).  The
 * handler list loads every handler's pets with one IN query (selectin), so
 * the page runs two queries however many handlers there are.
 */
#include "views.h"

#include "forms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the object with the integer route parameter `param` as its key, or
 * answers 404.  Returns 0 with *out set, 1 when res already holds the 404,
 * or a PH_E* code. */
static int get_or_404(ph_request *req, ph_response *res, const ph_model *m, const char *param,
                      void *out)
{
    int64_t id;
    ph_session *db = ph_req_db(req);
    if (!db)
        return PH_ENOMEM;
    if (ph_req_param_int(req, param, &id) < 0)
        return ph_abort(res, 404) == 0 ? 1 : PH_ENOMEM;
    int rc = ph_session_get(db, m, id, out);
    if (rc == PH_ENOTFOUND)
        return ph_abort(res, 404) == 0 ? 1 : PH_ENOMEM;
    return rc;
}

/* A 400 with a short message (the page a form with bad values gets). */
static int bad_request(ph_request *req, ph_response *res, const char *msg)
{
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_str(ctx, "error", msg) < 0)
        return PH_ENOMEM;
    int rc = ph_render(req, res, "error.html", ctx);
    if (rc == 0)
        res->status = 400;
    return rc;
}

/* Commits; a refused value or constraint is a 400 naming it. */
static int commit_or_400(ph_request *req, ph_response *res, int *answered)
{
    ph_session *db = ph_req_db(req);
    int rc = ph_session_commit(db);
    *answered = 0;
    if (rc == PH_ETOOLONG || rc == PH_ECONSTRAINT) {
        *answered = 1;
        return bad_request(req, res, ph_session_errmsg(db));
    }
    return rc;
}

/* handlers.html with every handler, their pets loaded as `pets` says, and
 * the new-handler form (400 after a submission that failed). */
static int render_handlers(ph_request *req, ph_response *res, ph_lazy pets, ph_form *form)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &PetHandler_model) : NULL;
    if (!q || (!form && !(form = ph_form_bind(req, &handler_form))))
        return PH_ENOMEM;
    ph_query_options(q, "pet_category", pets);
    PetHandler **handlers;
    size_t n;
    int rc = ph_query_all(ph_query_order_by(q, "handler_id", PH_ASC), &handlers, &n);
    if (rc < 0)
        return rc;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx ||
        ph_tpl_ctx_set_models(ctx, "handlers", &PetHandler_model, (void *const *)handlers, n) < 0 ||
        ph_tpl_ctx_set_form(ctx, "form", form) < 0)
        return PH_ENOMEM;
    rc = ph_render(req, res, "handlers.html", ctx);
    if (rc == 0 && ph_form_is_submitted(form))
        res->status = 400;
    return rc;
}

/* GET /handlers: every handler with its pets; POST adds a handler. */
static int handlers_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    if (!db)
        return PH_ENOMEM;
    if (strcmp(req->method, "POST") == 0) {
        ph_form *form = ph_form_bind(req, &handler_form);
        PetHandler *h = PH_ARENA_NEW(req->arena, PetHandler);
        bool valid;
        if (!form || !h)
            return PH_ENOMEM;
        int rc = ph_form_validate_on_submit(form, &valid);
        if (rc < 0)
            return rc;
        if (!valid)
            return render_handlers(req, res, PH_LAZY_SELECTIN, form);
        int answered;
        if ((rc = ph_form_populate(form, h)) == 0)
            rc = ph_session_add(db, &PetHandler_model, h);
        if (rc == 0)
            rc = commit_or_400(req, res, &answered);
        if (rc < 0 || answered)
            return rc;
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)h->handler_id);
        char *url = ph_url_for(req->app, req->arena, "handler", "handler_id", id, NULL);
        return url ? ph_redirect(res, url, 303) : PH_ENOMEM;
    }
    return render_handlers(req, res, PH_LAZY_SELECTIN, NULL);
}

#ifdef PHIAL_TEST_ROUTES
/* /_test/handlers_lazy (test routes only): the handler list without the
 * selectin option, so the template lazy-loads each handler's pets -- the
 * N+1 pattern the debug-mode detector reports. */
static int handlers_lazy_view(ph_request *req, ph_response *res)
{
    return render_handlers(req, res, PH_LAZY_SELECT, NULL);
}
#endif

/* handler.html for h with the new-pet form (400 after a failed
 * submission). */
static int render_handler(ph_request *req, ph_response *res, PetHandler *h, ph_form *form)
{
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || (!form && !(form = ph_form_bind(req, &pet_form))) ||
        ph_tpl_ctx_set_model(ctx, "handler", &PetHandler_model, h) < 0 ||
        ph_tpl_ctx_set_form(ctx, "form", form) < 0)
        return PH_ENOMEM;
    int rc = ph_render(req, res, "handler.html", ctx);
    if (rc == 0 && ph_form_is_submitted(form))
        res->status = 400;
    return rc;
}

/* GET /handlers/<id>: the tutorial's handler page, pets read lazily through
 * handler.pet_category by the template. */
static int handler_view(ph_request *req, ph_response *res)
{
    PetHandler *h;
    int rc = get_or_404(req, res, &PetHandler_model, "handler_id", &h);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return render_handler(req, res, h, NULL);
}

/* POST /handlers/<id>/pets: a new pet of that handler, tags comma-separated. */
static int add_pet_view(ph_request *req, ph_response *res)
{
    PetHandler *h;
    int rc = get_or_404(req, res, &PetHandler_model, "handler_id", &h);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_session *db = ph_req_db(req);
    PetCategory *pet = PH_ARENA_NEW(req->arena, PetCategory);
    ph_form *form = ph_form_bind(req, &pet_form);
    bool valid;
    if (!pet || !form)
        return PH_ENOMEM;
    if ((rc = ph_form_validate_on_submit(form, &valid)) < 0)
        return rc;
    if (!valid)
        return render_handler(req, res, h, form);
    if ((rc = ph_form_populate(form, pet)) < 0)
        return rc;
    /* adding to the handler's collection sets the foreign key at flush */
    if ((rc = ph_list_append(db, h, "pet_category", pet)) < 0)
        return rc;
    char *tags = ph_arena_strdup(req->arena, ph_form_value(form, "tags"));
    for (char *t = tags, *next; t; t = next) {
        next = strchr(t, ',');
        if (next)
            *next++ = '\0';
        while (*t == ' ')
            t++;
        size_t n = strlen(t);
        while (n && t[n - 1] == ' ')
            t[--n] = '\0';
        if (!n)
            continue;
        Tag *tag;
        ph_query *q = ph_query_new(db, &Tag_model);
        if (!q)
            return PH_ENOMEM;
        rc = ph_query_first(ph_query_filter_by(q, "tag_name", PH_STR(t)), &tag);
        if (rc == PH_ENOTFOUND) {
            if (!(tag = PH_ARENA_NEW(req->arena, Tag)))
                return PH_ENOMEM;
            tag->tag_name = t;
            rc = 0;
        }
        if (rc < 0 || (rc = ph_list_append(db, pet, "tags", tag)) < 0)
            return rc;
    }
    int answered;
    rc = commit_or_400(req, res, &answered);
    if (rc < 0 || answered)
        return rc;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)pet->pet_id);
    char *url = ph_url_for(req->app, req->arena, "pet", "pet_id", id, NULL);
    return url ? ph_redirect(res, url, 303) : PH_ENOMEM;
}

/* Comments shown per page of a pet. */
#define COMMENTS_PER_PAGE 50

/* pet.html for pet with one page of its comments (?page=N, oldest first:
 * a pet with 100,000 comments costs one page of rows, not the whole
 * collection) and the comment form (400 after a failed submission).  A
 * page that is not a whole number from 1, or past the last page, is a 404
 * (Flask-SQLAlchemy's paginate). */
static int render_pet(ph_request *req, ph_response *res, PetCategory *pet, ph_form *form)
{
    int64_t page = 1;
    const char *arg = ph_req_arg(req, "page");
    if (arg && (ph_parse_i64((ph_slice){arg, strlen(arg)}, &page) < 0 || page < 1))
        return ph_abort(res, 404);
    ph_query *q = ph_query_new(ph_req_db(req), &PetComment_model);
    if (!q)
        return PH_ENOMEM;
    ph_query_order_by(ph_query_filter_by(q, "pet_id", PH_INT(pet->pet_id)), "comment_id", PH_ASC);
    ph_page comments;
    int rc = ph_query_paginate(q, page, COMMENTS_PER_PAGE, &comments);
    if (rc < 0)
        return rc;
    if (page > 1 && page > comments.pages)
        return ph_abort(res, 404);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || (!form && !(form = ph_form_bind(req, &comment_form))) ||
        ph_tpl_ctx_set_model(ctx, "pet", &PetCategory_model, pet) < 0 ||
        ph_tpl_ctx_set_models(ctx, "comments", &PetComment_model, comments.items, comments.n) <
            0 ||
        ph_tpl_ctx_set_int(ctx, "page", comments.page) < 0 ||
        ph_tpl_ctx_set_int(ctx, "pages", comments.pages) < 0 ||
        ph_tpl_ctx_set_int(ctx, "total", comments.total) < 0 ||
        ph_tpl_ctx_set_form(ctx, "form", form) < 0)
        return PH_ENOMEM;
    rc = ph_render(req, res, "pet.html", ctx);
    if (rc == 0 && ph_form_is_submitted(form))
        res->status = 400;
    return rc;
}

/* GET /pets/<id>[?page=N]: a pet, its handler (backref), tags, and one page
 * of its comments. */
static int pet_view(ph_request *req, ph_response *res)
{
    PetCategory *pet;
    int rc = get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return render_pet(req, res, pet, NULL);
}

/* POST /pets/<id>/comments: as the Flask peer, "Comment added" with 201. */
static int add_comment_view(ph_request *req, ph_response *res)
{
    PetCategory *pet;
    int rc = get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    PetComment *c = PH_ARENA_NEW(req->arena, PetComment);
    ph_form *form = ph_form_bind(req, &comment_form);
    bool valid;
    if (!c || !form)
        return PH_ENOMEM;
    if ((rc = ph_form_validate_on_submit(form, &valid)) < 0)
        return rc;
    if (!valid)
        return render_pet(req, res, pet, form);
    if ((rc = ph_form_populate(form, c)) < 0)
        return rc;
    /* the key, as the peer sets it: appending to pet->comments would load
       every comment of the pet first */
    c->pet_id = pet->pet_id;
    if ((rc = ph_session_add(ph_req_db(req), &PetComment_model, c)) < 0)
        return rc;
    int answered;
    rc = commit_or_400(req, res, &answered);
    if (rc < 0 || answered)
        return rc;
    return ph_html(res, 201, "Comment added");
}

int app_pets_register(ph_app *app)
{
    static const struct {
        unsigned methods;
        const char *pattern, *name;
        ph_handler fn;
    } routes[] = {
        {PH_GET | PH_POST, "/handlers", "handlers", handlers_view},
        {PH_GET, "/handlers/<int:handler_id>", "handler", handler_view},
        {PH_POST, "/handlers/<int:handler_id>/pets", "add_pet", add_pet_view},
        {PH_GET, "/pets/<int:pet_id>", "pet", pet_view},
        {PH_POST, "/pets/<int:pet_id>/comments", "add_comment", add_comment_view},
    };
    for (size_t i = 0; i < PH_COUNTOF(routes); i++) {
        int rc =
            ph_app_route(app, routes[i].methods, routes[i].pattern, routes[i].name, routes[i].fn);
        if (rc < 0)
            return rc;
    }
#ifdef PHIAL_TEST_ROUTES
    const char *t = getenv("PHIAL_TEST_ROUTES");
    if (t && strcmp(t, "1") == 0)
        return ph_app_route(app, PH_GET, "/_test/handlers_lazy", "test_handlers_lazy",
                            handlers_lazy_view);
#endif
    return 0;
}
