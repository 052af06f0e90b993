/* The Todo application's pages and JSON API (flask/app.py's views). */
#include "todo.h"

/* Appends the tag called name (found or new) to todo, once. */
static void add_tag(ph_session *db, Todo *todo, ph_slice name)
{
    name = ph_slice_trim(name);
    for (size_t i = 0; i < todo->tags.len; i++)
        if (ph_slice_eq_cstr(name, ((Tag *)todo->tags.items[i])->name))
            return;
    char *s = ph_arena_strndup(ph_session_arena(db), name.ptr, name.len);
    Tag *tag;
    if (name.len && PH_FIND_BY(db, Tag, name, s, &tag) == PH_ENOTFOUND) {
        tag = PH_ARENA_NEW(ph_session_arena(db), Tag);
        tag->name = s;
    }
    if (name.len)
        PH_APPEND(db, Todo, todo, tags, tag);
}

/* A new todo titled title (trimmed), added to the request's session. */
static Todo *new_todo(ph_request *req, const char *title)
{
    ph_slice t = ph_slice_trim(ph_slice_cstr(title));
    Todo *todo = PH_ARENA_NEW(req->arena, Todo);
    todo->title = t.len ? ph_arena_strndup(req->arena, t.ptr, t.len) : NULL;
    PH_ADD(ph_req_db(req), Todo, todo);
    return todo;
}

/* Every todo, oldest first, with its tags (one query for all of them). */
static int all_todos(ph_request *req, Todo ***todos, size_t *n)
{
    ph_query *q = PH_QUERY(ph_req_db(req), Todo);
    PH_ORDER_BY(q, Todo, id, PH_ASC);
    PH_OPTIONS(q, Todo, tags, PH_LAZY_SELECTIN);
    return PH_ALL(q, Todo, todos, n);
}

static int index_view(ph_request *req, ph_response *res)
{
    Todo **todos;
    size_t n;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    int rc = all_todos(req, &todos, &n);
    rc = rc ? rc : ph_tpl_ctx_set_models(ctx, "todos", &Todo_model, (void **)todos, n);
    return rc ? rc : ph_render(req, res, "index.html", ctx);
}

static int create(ph_request *req, ph_response *res)
{
    Todo *todo = new_todo(req, ph_req_form(req, "title"));
    ph_slice tags = ph_slice_cstr(ph_req_form(req, "tags")), tag;
    while (ph_slice_split(&tags, ',', &tag))
        add_tag(ph_req_db(req), todo, tag);
    int rc = ph_session_commit(ph_req_db(req));
    return rc ? rc : ph_redirect_to(req, res, "index");
}

static int toggle(ph_request *req, ph_response *res)
{
    Todo *todo;
    int rc = PH_PARAM_OR_404(req, res, Todo, "id", &todo);
    if (rc == 0)
        todo->done = !todo->done;
    rc = rc ? rc : ph_session_commit(ph_req_db(req));
    return rc ? rc : ph_redirect_to(req, res, "index");
}

static int delete (ph_request *req, ph_response *res)
{
    Todo *todo;
    int rc = PH_PARAM_OR_404(req, res, Todo, "id", &todo);
    if (rc == 0)
        PH_DELETE(ph_req_db(req), Todo, todo);
    rc = rc ? rc : ph_session_commit(ph_req_db(req));
    return rc ? rc : ph_redirect_to(req, res, "index");
}

static const char *const with_tags[] = {"tags", NULL};

static int api_list(ph_request *req, ph_response *res)
{
    Todo **todos;
    size_t n;
    int rc = all_todos(req, &todos, &n);
    return rc ? rc : ph_json(res, 200, ph_rows_to_json(&Todo_model, (void **)todos, n, with_tags));
}

static int api_create(ph_request *req, ph_response *res)
{
    json_t *data = ph_req_json(req, res), *tag;
    if (!data)
        return 0;
    Todo *todo = new_todo(req, json_string_value(json_object_get(data, "title")));
    size_t i;
    json_array_foreach(json_object_get(data, "tags"), i, tag)
        add_tag(ph_req_db(req), todo, ph_slice_cstr(json_string_value(tag)));
    if (ph_session_commit(ph_req_db(req)) != 0)
        return ph_json(res, 400, json_pack("{s:s}", "error", ph_session_errmsg(ph_req_db(req))));
    return ph_json(res, 201, ph_model_to_json(&Todo_model, todo, with_tags));
}

int todo_setup(ph_app *app)
{
    int rc = ph_app_models(app, todo_models, PH_COUNTOF(todo_models));
    rc = rc ? rc : ph_app_route(app, PH_GET, "/", "index", index_view);
    rc = rc ? rc : ph_app_route(app, PH_POST, "/todos", "create", create);
    rc = rc ? rc : ph_app_route(app, PH_POST, "/todos/<int:id>/toggle", "toggle", toggle);
    rc = rc ? rc : ph_app_route(app, PH_POST, "/todos/<int:id>/delete", "delete", delete);
    rc = rc ? rc : ph_app_route(app, PH_GET, "/api/todos", "api_list", api_list);
    rc = rc ? rc : ph_app_route(app, PH_POST, "/api/todos", "api_create", api_create);
    return rc ? rc : ph_csrf_exempt(app, "api_create"); /* JSON only: no cross-site form */
}
