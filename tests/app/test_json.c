/*
 * JSON in and out, in process (ph_app_handle, no socket), on an SQLite
 * file: ph_req_json with its 400s, ph_model_from_json with its field
 * errors, PH_JSON_ROW / PH_JSON_ROWS, relationships opted in,
 * PH_GET_OR_404 and PH_URL_FOR with integer values.
 */
#include "phial/phial.h"
#include "test.h"

#include <unistd.h>

typedef struct Item Item;
typedef struct Box {
    ph_obj _ph;
    int64_t id;
    const char *label;
    ph_list items;
} Box;
struct Item {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_double_opt weight;
    bool fragile;
    int64_t box_id;
    Box *box;
};
PH_MODEL_EXTERN(Box);
PH_MODEL_EXTERN(Item);
static const ph_column Box_columns[] = {PH_INTEGER(Box, id, PH_PK),
                                        PH_STRING(Box, label, 20, PH_NOT_NULL)};
static const ph_relationship Box_rels[] = {
    PH_ONE_TO_MANY(Box, items, Item, "box_id", .backref = "box")};
static const ph_column Item_columns[] = {
    PH_INTEGER(Item, id, PH_PK), PH_STRING(Item, name, 20, PH_NOT_NULL), PH_FLOAT(Item, weight, 0),
    PH_BOOLEAN(Item, fragile, PH_NOT_NULL),
    PH_INTEGER(Item, box_id, PH_NOT_NULL, .foreign_key = "box.id")};
static const ph_relationship Item_rels[] = {
    PH_MANY_TO_ONE(Item, box, Box, "box_id", .backref = "items")};
const ph_model Box_model = PH_MODEL_RELS(Box, "box", Box_columns, Box_rels);
const ph_model Item_model = PH_MODEL_RELS(Item, "item", Item_columns, Item_rels);

/* POST /boxes/<id>/items: a JSON body becomes an Item of the box. */
static int add_item(ph_request *req, ph_response *res)
{
    int64_t id;
    if (ph_req_param_int(req, "box_id", &id) < 0)
        return ph_abort(res, 404);
    ph_session *db = ph_req_db(req);
    Box *box;
    int rc = PH_GET_OR_404(db, res, Box, id, &box);
    if (rc)
        return rc;
    json_t *body = ph_req_json(req, res);
    if (!body)
        return 0;
    Item *it = PH_ARENA_NEW(req->arena, Item);
    char err[256];
    if (ph_model_from_json(&Item_model, it, body, req->arena, err, sizeof(err)) < 0)
        return ph_json(res, 400, json_pack("{s:s}", "error", err));
    PH_APPEND(db, Box, box, items, it);
    if (ph_session_commit(db) != 0)
        return ph_json(res, 400, json_pack("{s:s}", "error", ph_session_errmsg(db)));
    ph_res_header(res, "Location", PH_URL_FOR(req, "box", "box_id", box->id));
    return PH_JSON_ROW(res, 201, Item, it);
}

/* GET /boxes/<id>: the box with its items. */
static int show_box(ph_request *req, ph_response *res)
{
    int64_t id;
    if (ph_req_param_int(req, "box_id", &id) < 0)
        return ph_abort(res, 404);
    Box *box;
    int rc = PH_GET_OR_404(ph_req_db(req), res, Box, id, &box);
    if (rc)
        return rc;
    return ph_json(res, 200, ph_model_to_json(&Box_model, box, (const char *[]){"items", NULL}));
}

/* GET /items: every item, as an array. */
static int list_items(ph_request *req, ph_response *res)
{
    Item **rows;
    size_t n;
    ph_query *q = PH_QUERY(ph_req_db(req), Item);
    PH_ORDER_BY(q, Item, id, PH_ASC);
    int rc = PH_ALL(q, Item, &rows, &n);
    return rc ? rc : PH_JSON_ROWS(res, 200, Item, rows, n);
}

typedef struct call {
    ph_arena *arena;
    ph_request *req;
    ph_response res;
} call;

static void run(call *c, ph_app *app, const char *method, const char *uri, const char *ctype,
                const char *body)
{
    c->arena = ph_arena_new(0);
    c->req = ph_req_new(c->arena, app, method, uri);
    if (ctype)
        ph_req_add_header(c->req, "Content-Type", ctype);
    if (body)
        ph_req_set_body(c->req, body, strlen(body));
    ph_res_init(&c->res, c->arena);
    ph_app_handle(app, c->req, &c->res);
}

static const char *text(const call *c)
{
    return c->res.body.ptr ? c->res.body.ptr : "";
}

static void done(call *c)
{
    ph_arena_free(c->arena);
}

static void test_json_round_trip(void)
{
    char path[] = "/tmp/phial-json-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    ph_app *app = ph_app_new("json");
    ph_app_config_set(app, "DATABASE_URL", url);
    char err[256];
    CHECK_INT(ph_app_use_database(app, err, sizeof(err)), 0);
    const ph_model *models[] = {&Box_model, &Item_model};
    CHECK_INT(ph_app_models(app, models, 2), 0);
    CHECK_INT(ph_orm_create_all(ph_app_thread_conn(app), models, 2), 0);
    CHECK_INT(ph_db_exec(ph_app_thread_conn(app), "INSERT INTO box (label) VALUES ('tools')", NULL,
                         0),
              0);
    CHECK_INT(ph_app_route(app, PH_POST, "/boxes/<int:box_id>/items", "add_item", add_item), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/boxes/<int:box_id>", "box", show_box), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/items", "items", list_items), 0);

    call c;
    run(&c, app, "POST", "/boxes/1/items", "application/json",
        "{\"name\": \"hammer\", \"weight\": 1.5, \"fragile\": false}");
    CHECK_INT(c.res.status, 201);
    CHECK_STR(text(&c), "{\"id\":1,\"name\":\"hammer\",\"weight\":1.5,\"fragile\":false,\"box_id\":1}");
    CHECK_STR(c.res.content_type, "application/json");
    CHECK_STR(ph_res_header_get(&c.res, "Location"), "/boxes/1");
    done(&c);
    run(&c, app, "POST", "/boxes/1/items", "application/json; charset=utf-8",
        "{\"name\": \"glass \\u00e9\", \"weight\": null, \"fragile\": true}");
    CHECK_INT(c.res.status, 201);
    CHECK_CONTAINS(text(&c), "\"weight\":null");
    done(&c);

    /* bad input: wrong content type, not JSON, a repeated key, an unknown
       field, a wrong type, null for NOT NULL, too long -- 400 each, and
       nothing stored */
    static const char *const bad[][3] = {
        {"text/plain", "{\"name\": \"saw\", \"fragile\": false}", "Bad Request"},
        {"application/json", "{\"name\": ", "Bad Request"},
        {"application/json", "{\"name\": \"a\", \"name\": \"b\", \"fragile\": false}",
         "Bad Request"},
        {"application/json", "{\"name\": \"saw\", \"colour\": 1}", "Item has no field 'colour'"},
        {"application/json", "{\"name\": 5, \"fragile\": false}", "Item.name: a value of the wrong"},
        {"application/json", "{\"name\": null, \"fragile\": false}", "Item.name must not be null"},
        {"application/json", "{\"id\": 9, \"name\": \"x\", \"fragile\": false}",
         "Item.id is set by the database"},
        {"application/json", "{\"name\": \"a very long name indeed\", \"fragile\": false}",
         "item.name"},
        {"application/json", "[1, 2]", "a JSON object is expected"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(&c, app, "POST", "/boxes/1/items", bad[i][0], bad[i][1]);
        CHECK_INT(c.res.status, 400);
        CHECK_CONTAINS(text(&c), bad[i][2]);
        done(&c);
    }
    run(&c, app, "POST", "/boxes/7/items", "application/json", "{\"name\": \"x\"}");
    CHECK_INT(c.res.status, 404);
    done(&c);

    run(&c, app, "GET", "/items", NULL, NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(text(&c), "[{\"id\":1,\"name\":\"hammer\",\"weight\":1.5,\"fragile\":false,\"box_id\":1},"
                        "{\"id\":2,\"name\":\"glass \xc3\xa9\",\"weight\":null,\"fragile\":true,"
                        "\"box_id\":1}]");
    done(&c);
    run(&c, app, "GET", "/boxes/1", NULL, NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_CONTAINS(text(&c), "{\"id\":1,\"label\":\"tools\",\"items\":[{\"id\":1,");
    done(&c);
    run(&c, app, "GET", "/boxes/2", NULL, NULL);
    CHECK_INT(c.res.status, 404);
    CHECK_CONTAINS(text(&c), "Not Found");
    done(&c);
    ph_app_free(app);
    unlink(path);
}

int main(void)
{
    RUN(test_json_round_trip);
    TEST_END();
}
