/*
 * Unit tests of the in-process test client (src/app/testclient.c): the
 * request it builds (method, query, form, JSON, raw body, headers,
 * cookies), the limits it shares with the server (413, 400), what it reads
 * back (status, headers, body, file bodies, HEAD), the cookie jar across
 * calls (set, replaced, removed by Max-Age=0 and by a past Expires), form
 * values read from a page, bad calls, and the throwaway database.
 */
#include "phial/testing.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

/* Echoes what the app saw, one "what=value" per line. */
static int v_echo(ph_request *req, ph_response *res)
{
    ph_buf b;
    ph_buf_init(&b, req->arena);
    ph_buf_printf(&b, "method=%s\npath=%s\nquery=%s\n", req->method, req->path, req->query);
    for (size_t i = 0; i < req->args.len; i++)
        ph_buf_printf(&b, "arg %s=%s\n", req->args.items[i].name, req->args.items[i].value);
    for (size_t i = 0; i < req->form.len; i++)
        ph_buf_printf(&b, "form %s=%s\n", req->form.items[i].name, req->form.items[i].value);
    for (size_t i = 0; i < req->cookies.len; i++)
        ph_buf_printf(&b, "cookie %s=%s\n", req->cookies.items[i].name,
                      req->cookies.items[i].value);
    const char *ct = ph_req_header(req, "Content-Type");
    const char *x = ph_req_header(req, "X-Test");
    ph_buf_printf(&b, "ctype=%s\nx=%s\nbody=%.*s\nremote=%s\n", ct ? ct : "-", x ? x : "-",
                  (int)req->body.len, req->body.ptr ? req->body.ptr : "", req->remote_addr);
    ph_buf_putc(&b, '\0');
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    return ph_plain(res, 200, b.ptr);
}

/* /login sets a session cookie and a second one; /logout removes the
 * session with Max-Age=0 and the other with an Expires in the past. */
static int v_login(ph_request *req, ph_response *res)
{
    const char *user = ph_req_form(req, "user");
    ph_cookie s = {.name = "session", .value = user ? user : "anon", .max_age = -1, .path = "/"};
    ph_cookie t = {.name = "theme", .value = "dark", .max_age = 3600, .path = "/"};
    int rc = ph_res_set_cookie(res, &s);
    if (rc == 0)
        rc = ph_res_set_cookie(res, &t);
    return rc ? rc : ph_plain(res, 200, "in");
}

static int v_logout(ph_request *req, ph_response *res)
{
    (void)req;
    int rc = ph_res_header_add(res, "Set-Cookie", "session=; Path=/; Max-Age=0");
    if (rc == 0)
        rc = ph_res_header_add(res, "Set-Cookie",
                               "theme=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    return rc ? rc : ph_plain(res, 200, "out");
}

static int v_whoami(ph_request *req, ph_response *res)
{
    const char *s = ph_req_cookie(req, "session");
    return ph_plain(res, 200, s ? s : "nobody");
}

static int v_form(ph_request *req, ph_response *res)
{
    (void)req;
    return ph_html(res, 200,
                   "<form><input type=\"hidden\" name=\"csrf_token\" value=\"t&amp;k&quot;1\">"
                   "<INPUT name='title' value='x &lt;y&gt;'>"
                   "<input name=bare value=plain></form>");
}

static ph_app *make_app(const char *static_dir)
{
    ph_app *app = ph_app_new("test");
    CHECK(app != NULL);
    ph_app_set_access_log(app, false);
    CHECK_INT(ph_app_config_set(app, "MAX_CONTENT_LENGTH", "64"), 0);
    CHECK_INT(ph_app_config_set(app, "MAX_FORM_PARTS", "3"), 0);
    CHECK_INT(ph_app_route(app, PH_GET | PH_POST | PH_PUT, "/echo", "echo", v_echo), 0);
    CHECK_INT(ph_app_route(app, PH_POST, "/login", "login", v_login), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/logout", "logout", v_logout), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/whoami", "whoami", v_whoami), 0);
    CHECK_INT(ph_app_route(app, PH_GET, "/form", "form", v_form), 0);
    if (static_dir)
        CHECK_INT(ph_app_static(app, static_dir), 0);
    return app;
}

static void test_request_parts(void)
{
    ph_app *app = make_app(NULL);
    ph_test_client *c = ph_test_client_new(app);
    ph_test_response r = ph_test_get(c, "/echo?a=1");
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "method=GET\npath=/echo\nquery=a=1\n");
    CHECK_CONTAINS(r.body, "remote=127.0.0.1");
    CHECK_STR(r.content_type, "text/plain; charset=utf-8");
    CHECK_INT(r.body_len, strlen(r.body));

    /* query pairs are encoded and appended; headers and one-off cookies */
    const char *query[] = {"q", "a b&c", "n", "é", NULL};
    const char *headers[] = {"X-Test", "yes", NULL};
    const char *cookies[] = {"once", "1", NULL};
    CHECK_INT(ph_test_client_open(c,
                                  &(ph_test_request){.path = "/echo?a=1",
                                                     .query = query,
                                                     .headers = headers,
                                                     .cookies = cookies,
                                                     .remote_addr = "10.0.0.7"},
                                  &r),
              0);
    CHECK_CONTAINS(r.body, "query=a=1&q=a%20b%26c&n=%C3%A9\n");
    CHECK_CONTAINS(r.body, "arg q=a b&c\narg n=é\n");
    CHECK_CONTAINS(r.body, "x=yes\n");
    CHECK_CONTAINS(r.body, "cookie once=1\n");
    CHECK_CONTAINS(r.body, "remote=10.0.0.7");
    CHECK_INT(ph_test_client_cookie_count(c), 0); /* one-off: not kept */

    /* a form body is POSTed url-encoded and parsed */
    const char *form[] = {"user", "ann o'neil", "x", "1=2", NULL};
    r = ph_test_post_form(c, "/echo", form);
    CHECK_CONTAINS(r.body, "method=POST\n");
    CHECK_CONTAINS(r.body, "form user=ann o'neil\nform x=1=2\n");
    CHECK_CONTAINS(r.body, "ctype=application/x-www-form-urlencoded\n");

    /* JSON and raw bodies arrive as sent */
    r = ph_test_post_json(c, "/echo", "{\"a\": [1, 2]}");
    CHECK_CONTAINS(r.body, "ctype=application/json\nx=-\nbody={\"a\": [1, 2]}\n");
    CHECK_INT(ph_test_client_open(c,
                                  &(ph_test_request){.method = "PUT",
                                                     .path = "/echo",
                                                     .body = "raw\0bytes",
                                                     .body_len = 9,
                                                     .content_type = "application/octet-stream"},
                                  &r),
              0);
    CHECK_CONTAINS(r.body, "method=PUT\n");
    CHECK_CONTAINS(r.body, "ctype=application/octet-stream\n");

    /* the first response is still readable after later ones */
    ph_test_response first = ph_test_get(c, "/echo?keep=1");
    ph_test_get(c, "/echo?other=2");
    CHECK_CONTAINS(first.body, "arg keep=1");
    ph_test_client_free(c);
    ph_app_free(app);
}

static void test_limits_and_errors(void)
{
    ph_app *app = make_app(NULL);
    ph_test_client *c = ph_test_client_new(app);
    char big[100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ph_test_response r = ph_test_post_json(c, "/echo", big); /* over MAX_CONTENT_LENGTH 64 */
    CHECK_INT(r.status, 413);
    const char *many[] = {"a", "1", "b", "2", "c", "3", "d", "4", NULL}; /* over MAX_FORM_PARTS */
    r = ph_test_post_form(c, "/echo", many);
    CHECK_INT(r.status, 413);
    CHECK_INT(ph_test_client_open(c,
                                  &(ph_test_request){.path = "/echo",
                                                     .body = "--x\r\nbroken",
                                                     .body_len = 11,
                                                     .content_type = "multipart/form-data"},
                                  &r),
              0);
    CHECK_INT(r.status, 400);
    CHECK_INT(ph_test_get(c, "/nowhere").status, 404);
    r = ph_test_client_open(c, &(ph_test_request){.method = "DELETE", .path = "/echo"}, &r) == 0
            ? r
            : (ph_test_response){0};
    CHECK_INT(r.status, 405);
    CHECK_CONTAINS(ph_test_response_header(&r, "Allow"), "GET");
    /* HEAD: the GET's headers, no body */
    CHECK_INT(ph_test_client_open(c, &(ph_test_request){.method = "HEAD", .path = "/echo"}, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_len, 0);
    CHECK_STR(r.body, "");
    /* calls that make no sense are refused, with status 0 */
    CHECK_INT(ph_test_client_open(c, &(ph_test_request){.path = NULL}, &r), PH_EINVAL);
    CHECK_INT(r.status, 0);
    CHECK_INT(ph_test_client_open(c, &(ph_test_request){.path = ""}, &r), PH_EINVAL);
    CHECK_INT(
        ph_test_client_open(c, &(ph_test_request){.path = "/echo", .json = "1", .body = "x"}, &r),
        PH_EINVAL);
    CHECK_INT(ph_test_get(c, NULL).status, 0);
    ph_test_client_free(c);
    ph_app_free(app);
}

static void test_cookie_jar(void)
{
    ph_app *app = make_app(NULL);
    ph_test_client *c = ph_test_client_new(app);
    CHECK_STR(ph_test_get(c, "/whoami").body, "nobody");
    const char *form[] = {"user", "ann", NULL};
    ph_test_response r = ph_test_post_form(c, "/login", form);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(ph_test_response_header(&r, "Set-Cookie"), "session=ann");
    CHECK_INT(ph_test_client_cookie_count(c), 2);
    CHECK_STR(ph_test_client_cookie(c, "session"), "ann");
    CHECK_STR(ph_test_client_cookie(c, "theme"), "dark");
    /* carried on the next calls, replaced by a new value */
    CHECK_STR(ph_test_get(c, "/whoami").body, "ann");
    const char *form2[] = {"user", "bob", NULL};
    ph_test_post_form(c, "/login", form2);
    CHECK_INT(ph_test_client_cookie_count(c), 2);
    CHECK_STR(ph_test_get(c, "/whoami").body, "bob");
    /* Max-Age=0 and an Expires in the past remove them */
    ph_test_get(c, "/logout");
    CHECK(ph_test_client_cookie(c, "session") == NULL);
    CHECK(ph_test_client_cookie(c, "theme") == NULL);
    CHECK_INT(ph_test_client_cookie_count(c), 0);
    CHECK_STR(ph_test_get(c, "/whoami").body, "nobody");
    /* set by hand, removed by hand */
    CHECK_INT(ph_test_client_set_cookie(c, "session", "carl"), 0);
    CHECK_STR(ph_test_get(c, "/whoami").body, "carl");
    CHECK_INT(ph_test_client_set_cookie(c, "session", NULL), 0);
    CHECK_STR(ph_test_get(c, "/whoami").body, "nobody");
    CHECK_INT(ph_test_client_set_cookie(c, "", "x"), PH_EINVAL);
    ph_test_client_free(c);
    ph_app_free(app);
}

static void test_form_value(void)
{
    ph_app *app = make_app(NULL);
    ph_test_client *c = ph_test_client_new(app);
    ph_test_response r = ph_test_get(c, "/form");
    CHECK_STR(ph_test_form_value(c, &r, "csrf_token"), "t&k\"1");
    CHECK_STR(ph_test_form_value(c, &r, "title"), "x <y>");
    CHECK_STR(ph_test_form_value(c, &r, "bare"), "plain");
    CHECK(ph_test_form_value(c, &r, "missing") == NULL);
    CHECK(ph_test_form_value(c, &r, "csrf") == NULL); /* names match whole */
    ph_test_client_free(c);
    ph_app_free(app);
}

static void test_file_body(void)
{
    char dir[] = "/tmp/phial-tc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof(path), "%s/a.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("from a file\n", f);
        fclose(f);
    }
    ph_app *app = make_app(dir);
    ph_test_client *c = ph_test_client_new(app);
    ph_test_response r = ph_test_get(c, "/static/a.txt");
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "from a file\n");
    CHECK(ph_test_response_header(&r, "ETag") != NULL);
    CHECK_INT(ph_test_get(c, "/static/../a.txt").status, 404);
    ph_test_client_free(c);
    ph_app_free(app);
    unlink(path);
    rmdir(dir);
}

typedef struct Item {
    ph_obj _ph;
    int64_t id;
    const char *name;
} Item;
static const ph_column Item_columns[] = {
    PH_INTEGER(Item, id, PH_PK),
    PH_STRING(Item, name, 20, PH_NOT_NULL),
};
static const ph_model Item_model = PH_MODEL(Item, "item", Item_columns);

static int v_items(ph_request *req, ph_response *res)
{
    ph_session *s = ph_req_db(req);
    if (!s)
        return PH_ENOMEM;
    if (strcmp(req->method, "POST") == 0) {
        Item *it = PH_ARENA_NEW(req->arena, Item);
        it->name = ph_req_form(req, "name");
        int rc = ph_session_add(s, &Item_model, it);
        if (rc == 0)
            rc = ph_session_commit(s);
        if (rc == PH_ETOOLONG || rc == PH_ECONSTRAINT)
            return ph_plain(res, 400, ph_session_errmsg(s));
        return rc ? rc : ph_plain(res, 201, "stored");
    }
    int64_t n = 0;
    ph_query *q = ph_query_new(s, &Item_model);
    int rc = q ? ph_query_count(q, &n) : PH_ENOMEM;
    if (rc < 0)
        return rc;
    char *body = ph_arena_sprintf(req->arena, "%lld", (long long)n);
    return ph_plain(res, 200, body);
}

/* Two throwaway databases are separate, and each is gone after destroy. */
static void test_throwaway_db(void)
{
    static const ph_model *const models[] = {&Item_model};
    ph_test_db a, b;
    char err[256];
    CHECK_INT(ph_test_db_create(&a, models, 1, err, sizeof(err)), 0);
    CHECK_INT(ph_test_db_create(&b, models, 1, err, sizeof(err)), 0);
    CHECK(strcmp(a.url, b.url) != 0);
    CHECK(strncmp(a.url, "sqlite:////", 11) == 0);
    for (int round = 0; round < 2; round++) {
        ph_app *app = ph_app_new("db");
        ph_app_set_access_log(app, false);
        CHECK_INT(ph_app_config_set(app, "DATABASE_URL", round ? b.url : a.url), 0);
        CHECK_INT(ph_app_use_database(app, err, sizeof(err)), 0);
        CHECK_INT(ph_app_route(app, PH_GET | PH_POST, "/items", "items", v_items), 0);
        ph_test_client *c = ph_test_client_new(app);
        const char *form[] = {"name", "pen", NULL};
        if (round == 0) {
            CHECK_INT(ph_test_post_form(c, "/items", form).status, 201);
            const char *too_long[] = {"name", "a name well over twenty characters", NULL};
            CHECK_INT(ph_test_post_form(c, "/items", too_long).status, 400);
            CHECK_STR(ph_test_get(c, "/items").body, "1");
        } else {
            CHECK_STR(ph_test_get(c, "/items").body, "0"); /* b knows nothing of a */
        }
        ph_test_client_free(c);
        ph_app_free(app);
    }
    char dir[sizeof(a.dir)];
    snprintf(dir, sizeof(dir), "%s", a.dir);
    ph_test_db_destroy(&a);
    ph_test_db_destroy(&b);
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK_STR(a.url, "");
    ph_test_db_destroy(&a); /* twice is harmless */
    /* nowhere to make it: an error with a message, nothing half-made */
    const char *old = getenv("TMPDIR");
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", old ? old : "");
    setenv("TMPDIR", "/nonexistent-phial-dir", 1);
    CHECK_INT(ph_test_db_create(&a, models, 1, err, sizeof(err)), PH_EIO);
    CHECK_CONTAINS(err, "/nonexistent-phial-dir");
    CHECK_STR(a.url, "");
    if (old)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
}

int main(void)
{
    RUN(test_request_parts);
    RUN(test_limits_and_errors);
    RUN(test_cookie_jar);
    RUN(test_form_value);
    RUN(test_file_body);
    RUN(test_throwaway_db);
    TEST_END();
}
