/*
 * The Todo example's own tests, in process (ph_app_handle, no socket) on a
 * fresh SQLite file: the page, creating with tags (repeated tags once),
 * toggling, deleting with its tag links, the JSON API and its 400s, 404s
 * for missing todos -- each bad input leaving the database as it was --
 * and its size against the same app in Flask.
 */
#include "test.h"
#include "todo.h"

#include <unistd.h>

static ph_app *app;
static char db_path[64];
/* What a browser keeps: the session cookie and the page's CSRF token. */
static char cookie[4096], token[512];

typedef struct call {
    ph_arena *arena;
    ph_request *req;
    ph_response res;
} call;

static void run(call *c, const char *method, const char *uri, const char *ctype, const char *body)
{
    c->arena = ph_arena_new(0);
    c->req = ph_req_new(c->arena, app, method, uri);
    if (ctype)
        ph_req_add_header(c->req, "Content-Type", ctype);
    if (cookie[0])
        ph_req_add_header(c->req, "Cookie", cookie);
    if (body) {
        /* a form post carries the token its page gave, as the page's form does */
        char *full = ph_arena_sprintf(c->arena, "%s%scsrf_token=%s", body, *body ? "&" : "",
                                      token);
        if (strcmp(ctype, "application/x-www-form-urlencoded") != 0)
            full = (char *)body;
        ph_req_set_body(c->req, full, strlen(full));
        ph_req_parse_body(c->req, 100);
    }
    ph_res_init(&c->res, c->arena);
    ph_app_handle(app, c->req, &c->res);
    const char *set = ph_res_header_get(&c->res, "Set-Cookie");
    if (set)
        snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set, ";"), set);
    const char *t = c->res.body.ptr ? strstr(c->res.body.ptr, "name=\"csrf_token\" value=\"") : NULL;
    if (t) {
        t += strlen("name=\"csrf_token\" value=\"");
        snprintf(token, sizeof(token), "%.*s", (int)strcspn(t, "\""), t);
    }
}

static const char *text(const call *c)
{
    return c->res.body.ptr ? c->res.body.ptr : "";
}

static void done(call *c)
{
    ph_arena_free(c->arena);
}

static int64_t count(const char *table)
{
    char sql[64];
    int64_t n = -1;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if (ph_db_query_int(ph_app_thread_conn(app), sql, NULL, 0, &n) < 0)
        return -1;
    return n;
}

static const char *const form = "application/x-www-form-urlencoded";

/* With the app's CSRF protection on, a post without the page's token is
 * refused and writes nothing. */
static void test_csrf_refused(void)
{
    call c;
    run(&c, "POST", "/todos", form, "title=sneaky");
    CHECK_INT(c.res.status, 400);
    done(&c);
    CHECK_INT(count("todo"), 0);
}

static void test_pages(void)
{
    call c;
    run(&c, "GET", "/", NULL, NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_CONTAINS(text(&c), "Nothing to do.");
    done(&c);
    run(&c, "POST", "/todos", form, "title=+Buy+milk+&tags=home%2C+errands%2C+home%2C+");
    CHECK_INT(c.res.status, 302);
    CHECK_STR(ph_res_header_get(&c.res, "Location"), "/");
    done(&c);
    CHECK_INT(count("todo"), 1);
    CHECK_INT(count("tag"), 2);
    CHECK_INT(count("todo_tag"), 2);
    run(&c, "GET", "/", NULL, NULL);
    CHECK_CONTAINS(text(&c), "Buy milk <small>#home</small> <small>#errands</small>\n");
    CHECK_CONTAINS(text(&c), "<button>Done</button>");
    done(&c);
    /* a second todo reuses the existing tag */
    run(&c, "POST", "/todos", form, "title=Call+%3Cmum%3E&tags=home");
    CHECK_INT(c.res.status, 302);
    done(&c);
    CHECK_INT(count("tag"), 2);
    run(&c, "GET", "/", NULL, NULL);
    CHECK_CONTAINS(text(&c), "Call &lt;mum&gt;"); /* escaped */
    done(&c);
    run(&c, "POST", "/todos/1/toggle", form, "");
    CHECK_INT(c.res.status, 302);
    done(&c);
    run(&c, "GET", "/", NULL, NULL);
    CHECK_CONTAINS(text(&c), "<li class=\"done\">Buy milk");
    CHECK_CONTAINS(text(&c), "<button>Undo</button>");
    done(&c);
}

static void test_bad_input_changes_nothing(void)
{
    static const char *const bad[] = {
        "title=", "title=+++", "tags=x",
        "title=ok&tags=an-exceedingly-long-tag-name-that-cannot-fit-in-fifty-chars",
        "title=0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        call c;
        run(&c, "POST", "/todos", form, bad[i]);
        CHECK_INT(c.res.status, 400);
        done(&c);
    }
    CHECK_INT(count("todo"), 2);
    CHECK_INT(count("tag"), 2);
    call c;
    run(&c, "POST", "/todos/99/toggle", form, "");
    CHECK_INT(c.res.status, 404);
    done(&c);
    run(&c, "POST", "/todos/99/delete", form, "");
    CHECK_INT(c.res.status, 404);
    done(&c);
    run(&c, "GET", "/todos/1/toggle", NULL, NULL);
    CHECK_INT(c.res.status, 405);
    done(&c);
}

static void test_json_api(void)
{
    call c;
    run(&c, "POST", "/api/todos", "application/json",
        "{\"title\": \"Write report\", \"tags\": [\"work\", \"work\"]}");
    CHECK_INT(c.res.status, 201);
    CHECK_CONTAINS(text(&c), "{\"id\":3,\"title\":\"Write report\",\"done\":false,");
    CHECK_CONTAINS(text(&c), "\"tags\":[{\"id\":3,\"name\":\"work\"}]}");
    done(&c);
    static const char *const bad[][2] = {
        {"text/plain", "{\"title\": \"x\"}"},
        {"application/json", "{\"title\": "},
        {"application/json", "{\"tags\": [\"a\"]}"},
        {"application/json", "{\"title\": \"   \"}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(&c, "POST", "/api/todos", bad[i][0], bad[i][1]);
        CHECK_INT(c.res.status, 400);
        done(&c);
    }
    CHECK_INT(count("todo"), 3);
    run(&c, "GET", "/api/todos", NULL, NULL);
    CHECK_INT(c.res.status, 200);
    CHECK_STR(c.res.content_type, "application/json");
    CHECK_CONTAINS(text(&c), "[{\"id\":1,\"title\":\"Buy milk\",\"done\":true,");
    CHECK_CONTAINS(text(&c), "\"tags\":[{\"id\":1,\"name\":\"home\"},{\"id\":2,\"name\":\"errands\"}]}");
    done(&c);
}

static void test_delete(void)
{
    call c;
    run(&c, "POST", "/todos/1/delete", form, "");
    CHECK_INT(c.res.status, 302);
    done(&c);
    CHECK_INT(count("todo"), 2);
    CHECK_INT(count("todo_tag"), 2); /* its two links went with it */
    CHECK_INT(count("tag"), 3);      /* tags stay */
}

static void test_size_against_flask(void)
{
    const char *top = getenv("PHIAL_TOP");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/examples/todo/tests/lines.sh", top && *top ? top : ".");
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    const char *top = getenv("PHIAL_TOP");
    char dir[512], url[128], err[256];
    snprintf(db_path, sizeof(db_path), "/tmp/phial-todo-%ld.db", (long)getpid());
    snprintf(url, sizeof(url), "sqlite:///%s", db_path);
    snprintf(dir, sizeof(dir), "%s/examples/todo/templates", top && *top ? top : ".");
    app = ph_app_new("todo");
    CHECK(app != NULL);
    if (!app)
        TEST_END();
    ph_app_set_access_log(app, false);
    ph_app_config_set(app, "DATABASE_URL", url);
    CHECK_INT(todo_setup(app), 0);
    ph_app_config_set(app, "SECRET_KEY", "todo-test-secret-key-0123456789abcdef");
    CHECK_INT(ph_app_use_database(app, err, sizeof(err)), 0);
    CHECK_INT(ph_app_use_security(app, err, sizeof(err)), 0);
    CHECK_INT(ph_app_use_templates(app, dir, err, sizeof(err)), 0);
    CHECK_INT(ph_orm_create_all(ph_app_thread_conn(app), todo_models, 3), 0);
    RUN(test_csrf_refused);
    RUN(test_pages);
    RUN(test_bad_input_changes_nothing);
    RUN(test_json_api);
    RUN(test_delete);
    RUN(test_size_against_flask);
    ph_app_free(app);
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[80];
        snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    TEST_END();
}
