/*
 * __NAME__'s pages: / lists the notes with a form to add one; POST /notes
 * stores a note and goes back to /.  A title that is empty or longer than
 * 100 characters shows the form again with the error (400).
 */
#include "app.h"
#include "models.h"

#include <string.h>

/* index.html with every note, the form's value and an error (or none). */
static int render_index(ph_request *req, ph_response *res, int status, const char *title,
                        const char *error)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &Note_model) : NULL;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!q || !ctx)
        return PH_ENOMEM;
    Note **notes;
    size_t n;
    int rc = ph_query_all(ph_query_order_by(q, "id", PH_ASC), &notes, &n);
    if (rc < 0)
        return rc;
    if (ph_tpl_ctx_set_models(ctx, "notes", &Note_model, (void *const *)notes, n) < 0 ||
        ph_tpl_ctx_set_str(ctx, "title", title ? title : "") < 0 ||
        (error && ph_tpl_ctx_set_str(ctx, "error", error) < 0))
        return PH_ENOMEM;
    rc = ph_render(req, res, "index.html", ctx);
    if (rc == 0)
        res->status = status;
    return rc;
}

static int index_view(ph_request *req, ph_response *res)
{
    return render_index(req, res, 200, NULL, NULL);
}

static int add_note(ph_request *req, ph_response *res)
{
    const char *title = ph_req_form(req, "title");
    if (!title || !*title)
        return render_index(req, res, 400, title, "A note needs a title.");
    ph_session *db = ph_req_db(req);
    Note *note = PH_ARENA_NEW(req->arena, Note);
    if (!db || !note)
        return PH_ENOMEM;
    note->title = title;
    int rc = ph_session_add(db, &Note_model, note);
    if (rc == 0)
        rc = ph_session_commit(db);
    if (rc == PH_ETOOLONG || rc == PH_ECONSTRAINT)
        return render_index(req, res, 400, title, ph_session_errmsg(db));
    if (rc < 0)
        return rc;
    return ph_redirect(res, "/", 303);
}

int __NAME___views_register(ph_app *app)
{
    int rc = ph_app_route(app, PH_GET, "/", "index", index_view);
    if (rc == 0)
        rc = ph_app_route(app, PH_POST, "/notes", "add_note", add_note);
    return rc;
}
