/*
 * The pet management system's pages: handlers, their pets (the tutorial's
 * handler.pet_category with its backref pet_handler), comments on pets, a
 * handler's profile (one-to-one) and tags on pets (many-to-many).  The
 * handler list loads every handler's pets with one IN query (selectin), so
 * the page runs two queries however many handlers there are.  Every form
 * posts with CSRF; every success redirects to the page it changed with a
 * flash message; every mistake is shown beside its field in the user's
 * words (no SQL, no code names).
 */
#include "views.h"

#include "forms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Comments shown per page of a pet. */
#define COMMENTS_PER_PAGE 50
/* Tag.tag_name is String(50) (the message below says it in words). */
#define TAG_MAX_CHARS 50

int app_get_or_404(ph_request *req, ph_response *res, const ph_model *m, const char *param,
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

/* Commits; a value the database refused (a race the form's checks could
 * not see: a tag made at the same instant by another request) becomes an
 * error beside `field` in the user's words, *refused set, nothing stored. */
static int commit_or_refuse(ph_request *req, ph_form *form, const char *field, bool *refused)
{
    int rc = ph_session_commit(ph_req_db(req));
    *refused = rc == PH_ETOOLONG || rc == PH_ECONSTRAINT;
    if (!*refused)
        return rc;
    return ph_form_add_error(form, field, "This could not be saved as it is; please try again.");
}

/* A 303 to the page of endpoint with its integer parameter, after a flash. */
static int redirect_flash(ph_request *req, ph_response *res, const char *message,
                          const char *endpoint, const char *param, int64_t id)
{
    int rc = ph_flash(req, "success", message);
    if (rc < 0)
        return rc;
    char v[24];
    snprintf(v, sizeof(v), "%lld", (long long)id);
    char *url = ph_url_for(req->app, req->arena, endpoint, param, param ? v : NULL, NULL);
    return url ? ph_redirect(res, url, 303) : PH_ENOMEM;
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
        bool refused = false;
        if ((rc = ph_form_populate(form, h)) == 0)
            rc = ph_session_add(db, &PetHandler_model, h);
        if (rc == 0)
            rc = commit_or_refuse(req, form, "handler_name", &refused);
        if (rc < 0)
            return rc;
        if (refused)
            return render_handlers(req, res, PH_LAZY_SELECTIN, form);
        char *msg = ph_arena_sprintf(req->arena, "Handler %s added.", h->handler_name);
        return msg ? redirect_flash(req, res, msg, "handler", "handler_id", h->handler_id)
                   : PH_ENOMEM;
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
 * submission) and the delete button. */
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
    int rc = app_get_or_404(req, res, &PetHandler_model, "handler_id", &h);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return render_handler(req, res, h, NULL);
}

/* The tags of the comma-separated list text, trimmed, empty ones dropped
 * and each name once ("yy, yy" is one tag), into names (request arena);
 * *n their number.  A tag longer than the column allows is an error beside
 * the field.  0 or PH_ENOMEM. */
static int parse_tags(ph_request *req, ph_form *form, const char ***names, size_t *n)
{
    char *tags = ph_arena_strdup(req->arena, ph_form_value(form, "tags"));
    size_t cap = 1;
    for (const char *p = tags; p && *p; p++)
        cap += *p == ',';
    *names = ph_arena_alloc(req->arena, cap * sizeof(**names));
    *n = 0;
    if (!tags || !*names)
        return PH_ENOMEM;
    for (char *t = tags, *next; t; t = next) {
        next = strchr(t, ',');
        if (next)
            *next++ = '\0';
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = '\0';
        bool seen = len == 0;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = strcmp((*names)[i], t) == 0;
        if (seen)
            continue;
        if (ph_utf8_chars(t, len) > TAG_MAX_CHARS)
            return ph_form_add_error(form, "tags", "Each tag must be at most 50 characters.");
        (*names)[(*n)++] = t;
    }
    return 0;
}

/* POST /handlers/<id>/pets: a new pet of that handler, tags comma-separated;
 * then the pet's page. */
static int add_pet_view(ph_request *req, ph_response *res)
{
    PetHandler *h;
    int rc = app_get_or_404(req, res, &PetHandler_model, "handler_id", &h);
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
    const char **names = NULL;
    size_t ntags = 0;
    if (valid && (rc = parse_tags(req, form, &names, &ntags)) < 0)
        return rc;
    if (!valid || ph_form_errors(form, "tags", &(size_t){0}))
        return render_handler(req, res, h, form);
    if ((rc = ph_form_populate(form, pet)) < 0)
        return rc;
    /* adding to the handler's collection sets the foreign key at flush */
    if ((rc = ph_list_append(db, h, "pet_category", pet)) < 0)
        return rc;
    for (size_t i = 0; i < ntags; i++) {
        Tag *tag;
        ph_query *q = ph_query_new(db, &Tag_model);
        if (!q)
            return PH_ENOMEM;
        rc = ph_query_first(ph_query_filter_by(q, "tag_name", PH_STR(names[i])), &tag);
        if (rc == PH_ENOTFOUND) {
            if (!(tag = PH_ARENA_NEW(req->arena, Tag)))
                return PH_ENOMEM;
            tag->tag_name = names[i];
            rc = 0;
        }
        if (rc < 0 || (rc = ph_list_append(db, pet, "tags", tag)) < 0)
            return rc;
    }
    bool refused;
    if ((rc = commit_or_refuse(req, form, "tags", &refused)) < 0)
        return rc;
    if (refused)
        return render_handler(req, res, h, form);
    char *msg = ph_arena_sprintf(req->arena, "Pet %s added.", pet->pet_name);
    return msg ? redirect_flash(req, res, msg, "pet", "pet_id", pet->pet_id) : PH_ENOMEM;
}

/* Binds a delete button's form and checks its submission (the CSRF token):
 * 0 with *form, PH_EINVAL when refused, or a PH_E* code. */
static int posted_button(ph_request *req, const ph_form_def *def, ph_form **form)
{
    bool valid;
    if (!(*form = ph_form_bind(req, def)))
        return PH_ENOMEM;
    int rc = ph_form_validate_on_submit(*form, &valid);
    return rc < 0 ? rc : valid ? 0 : PH_EINVAL;
}

/* POST /handlers/<id>/delete: a handler without pets is deleted at once;
 * one with pets only from the confirmation page this answers first (its
 * "confirm" button), and then with its pets and their comments.  Then the
 * handler list. */
static int delete_handler_view(ph_request *req, ph_response *res)
{
    PetHandler *h;
    int rc = app_get_or_404(req, res, &PetHandler_model, "handler_id", &h);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_session *db = ph_req_db(req);
    ph_form *form;
    if ((rc = posted_button(req, &delete_handler_form, &form)) == PH_EINVAL)
        return ph_abort(res, 400);
    if (rc < 0)
        return rc;
    if ((rc = ph_session_load(db, h, "pet_category")) < 0 ||
        (rc = ph_session_load(db, h, "profile")) < 0)
        return rc;
    if (h->pet_category.len && !*ph_form_value(form, "confirm")) {
        ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
        if (!ctx || ph_tpl_ctx_set_model(ctx, "handler", &PetHandler_model, h) < 0 ||
            ph_tpl_ctx_set_form(ctx, "form", form) < 0)
            return PH_ENOMEM;
        return ph_render(req, res, "handler_delete.html", ctx);
    }
    /* the pets go first, each with its comments (cascade) and tag links */
    for (size_t i = 0; i < h->pet_category.len && rc == 0; i++)
        rc = ph_session_delete(db, h->pet_category.items[i]);
    if (rc == 0 && h->profile)
        rc = ph_session_delete(db, h->profile);
    if (rc == 0)
        rc = ph_session_delete(db, h);
    if (rc < 0 || (rc = ph_session_commit(db)) < 0)
        return rc;
    char *msg = ph_arena_sprintf(req->arena, "Handler %s deleted.", h->handler_name);
    return msg ? redirect_flash(req, res, msg, "handlers", NULL, 0) : PH_ENOMEM;
}

/* pet.html for pet with one page of its comments (?page=N, oldest first:
 * a pet with 100,000 comments costs one page of rows, not the whole
 * collection), the comment form (400 after a failed submission) and the
 * delete button.  A page that is not a whole number from 1, or past the
 * last page, is a 404 (Flask-SQLAlchemy's paginate). */
static int render_pet(ph_request *req, ph_response *res, PetCategory *pet, ph_form *form)
{
    ph_query *q = ph_query_new(ph_req_db(req), &PetComment_model);
    if (!q)
        return PH_ENOMEM;
    ph_query_order_by(ph_query_filter_by(q, "pet_id", PH_INT(pet->pet_id)), "comment_id", PH_ASC);
    ph_page comments;
    int rc = app_paginate(req, q, COMMENTS_PER_PAGE, &comments);
    if (rc == PH_ENOTFOUND)
        return ph_abort(res, 404);
    if (rc < 0)
        return rc;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || (!form && !(form = ph_form_bind(req, &comment_form))) ||
        ph_tpl_ctx_set_model(ctx, "pet", &PetCategory_model, pet) < 0 ||
        ph_tpl_ctx_set_models(ctx, "comments", &PetComment_model, comments.items, comments.n) < 0 ||
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
    int rc = app_get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return render_pet(req, res, pet, NULL);
}

/* POST /pets/<id>/comments: a comment on the pet, then back to the pet's
 * page (its last page, where the new comment is) with a flash. */
static int add_comment_view(ph_request *req, ph_response *res)
{
    PetCategory *pet;
    int rc = app_get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_session *db = ph_req_db(req);
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
    /* the key, as the Flask peer sets it: appending to pet->comments would
       load every comment of the pet first */
    c->pet_id = pet->pet_id;
    if ((rc = ph_session_add(db, &PetComment_model, c)) < 0)
        return rc;
    bool refused;
    if ((rc = commit_or_refuse(req, form, "comment_content", &refused)) < 0)
        return rc;
    if (refused)
        return render_pet(req, res, pet, form);
    int64_t n;
    ph_query *q = ph_query_new(db, &PetComment_model);
    if (!q)
        return PH_ENOMEM;
    if ((rc = ph_query_count(ph_query_filter_by(q, "pet_id", PH_INT(pet->pet_id)), &n)) < 0)
        return rc;
    if ((rc = ph_flash(req, "success", "Comment added.")) < 0)
        return rc;
    char id[24], page[24];
    snprintf(id, sizeof(id), "%lld", (long long)pet->pet_id);
    snprintf(page, sizeof(page), "%lld",
             (long long)((n + COMMENTS_PER_PAGE - 1) / COMMENTS_PER_PAGE));
    char *url = n > COMMENTS_PER_PAGE
                    ? ph_url_for(req->app, req->arena, "pet", "pet_id", id, "page", page, NULL)
                    : ph_url_for(req->app, req->arena, "pet", "pet_id", id, NULL);
    return url ? ph_redirect(res, url, 303) : PH_ENOMEM;
}

/* POST /pets/<id>/delete: the pet, its comments (cascade) and its tag
 * links; the tags stay for other pets.  Then its handler's page. */
static int delete_pet_view(ph_request *req, ph_response *res)
{
    PetCategory *pet;
    int rc = app_get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_session *db = ph_req_db(req);
    ph_form *form;
    if ((rc = posted_button(req, &delete_pet_form, &form)) == PH_EINVAL)
        return ph_abort(res, 400);
    if (rc < 0)
        return rc;
    if ((rc = ph_session_delete(db, pet)) < 0 || (rc = ph_session_commit(db)) < 0)
        return rc;
    char *msg = ph_arena_sprintf(req->arena, "Pet %s deleted.", pet->pet_name);
    return msg ? redirect_flash(req, res, msg, "handler", "handler_id", pet->handler_id)
               : PH_ENOMEM;
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
        {PH_POST, "/handlers/<int:handler_id>/delete", "delete_handler", delete_handler_view},
        {PH_POST, "/pets/<int:pet_id>/comments", "add_comment", add_comment_view},
        {PH_POST, "/pets/<int:pet_id>/delete", "delete_pet", delete_pet_view},
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
