/*
 * The Todo example's own tests, with Phial's in-process test client (no
 * socket) on a throwaway SQLite file: the page, creating with tags
 * (repeated tags once), toggling, deleting with its tag links, the JSON
 * API and its 400s, 404s for missing todos, a post without the page's
 * CSRF token -- each bad input leaving the database as it was.  Built and
 * run by `make test` against the installed Phial (pkg-config), like any
 * application's tests.
 */
#include "../todo.h"

#include <phial/testing.h>

#include <stdio.h>
#include <string.h>

static int failed_checks, passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failed_checks++;                                                                       \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
        }                                                                                          \
    } while (0)
#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long t_a = (long long)(a), t_b = (long long)(b);                                      \
        if (t_a != t_b) {                                                                          \
            failed_checks++;                                                                       \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a,    \
                    #b, t_a, t_b);                                                                 \
        }                                                                                          \
    } while (0)
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *t_h = (hay);                                                                   \
        if (!t_h || !strstr(t_h, (needle))) {                                                      \
            failed_checks++;                                                                       \
            fprintf(stderr, "  %s:%d: \"%s\" not found in:\n%s\n", __FILE__, __LINE__, (needle),   \
                    t_h ? t_h : "(null)");                                                         \
        }                                                                                          \
    } while (0)
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        failed_checks = 0;                                                                         \
        fn();                                                                                      \
        printf("%s %s\n", failed_checks ? "FAIL" : "ok  ", #fn);                                   \
        *(failed_checks ? &failed : &passed) += 1;                                                 \
    } while (0)

static ph_app *app;
static ph_test_client *client;

static int64_t count(const char *table)
{
    char sql[64];
    int64_t n = -1;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if (ph_db_query_int(ph_app_thread_conn(app), sql, NULL, 0, &n) < 0)
        return -1;
    return n;
}

/* Posts form (name, value, ..., NULL) to path with the CSRF token of the
 * index page, as the page's forms do. */
static ph_test_response post(const char *path, const char *const *form)
{
    ph_test_response page = ph_test_get(client, "/");
    const char *token = ph_test_form_value(client, &page, "csrf_token");
    const char *full[16];
    size_t n = 0;
    for (; form[n] && n < 12; n++)
        full[n] = form[n];
    full[n++] = "csrf_token";
    full[n++] = token ? token : "";
    full[n] = NULL;
    return ph_test_post_form(client, path, full);
}

/* A post without the page's token is refused and writes nothing; so is a
 * wrong token. */
static void test_csrf_refused(void)
{
    ph_test_response r = ph_test_post_form(client, "/todos", (const char *[]){"title", "x", NULL});
    CHECK_INT(r.status, 400);
    r = ph_test_post_form(client, "/todos",
                          (const char *[]){"title", "x", "csrf_token", "forged", NULL});
    CHECK_INT(r.status, 400);
    CHECK_INT(count("todo"), 0);
}

static void test_pages(void)
{
    ph_test_response r = ph_test_get(client, "/");
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "Nothing to do.");
    r = post("/todos",
             (const char *[]){"title", " Buy milk ", "tags", "home, errands, home, ", NULL});
    CHECK_INT(r.status, 302);
    CHECK_CONTAINS(ph_test_response_header(&r, "Location"), "/");
    CHECK_INT(count("todo"), 1);
    CHECK_INT(count("tag"), 2);
    CHECK_INT(count("todo_tag"), 2);
    r = ph_test_get(client, "/");
    CHECK_CONTAINS(r.body, "Buy milk <small>#home</small> <small>#errands</small>\n");
    CHECK_CONTAINS(r.body, "<button>Done</button>");
    /* a second todo reuses the existing tag */
    r = post("/todos", (const char *[]){"title", "Call <mum>", "tags", "home", NULL});
    CHECK_INT(r.status, 302);
    CHECK_INT(count("tag"), 2);
    r = ph_test_get(client, "/");
    CHECK_CONTAINS(r.body, "Call &lt;mum&gt;"); /* escaped */
    r = post("/todos/1/toggle", (const char *[]){NULL});
    CHECK_INT(r.status, 302);
    r = ph_test_get(client, "/");
    CHECK_CONTAINS(r.body, "<li class=\"done\">Buy milk");
    CHECK_CONTAINS(r.body, "<button>Undo</button>");
}

static void test_bad_input_changes_nothing(void)
{
    static const char *const bad[][4] = {
        {"title", "", NULL, NULL},
        {"title", "   ", NULL, NULL},
        {"tags", "x", NULL, NULL},
        {"title", "ok", "tags", "an-exceedingly-long-tag-name-that-cannot-fit-in-fifty-chars"},
        {"title",
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "0123456789012345678901234567890123456789012345678901234567890123456789",
         NULL, NULL},
        {"title", "not \xff UTF-8", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *form[5] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL};
        ph_test_response r = post("/todos", form);
        CHECK_INT(r.status, 400);
    }
    CHECK_INT(count("todo"), 2);
    CHECK_INT(count("tag"), 2);
    CHECK_INT(post("/todos/99/toggle", (const char *[]){NULL}).status, 404);
    CHECK_INT(post("/todos/99/delete", (const char *[]){NULL}).status, 404);
    CHECK_INT(ph_test_get(client, "/todos/1/toggle").status, 405);
}

static void test_json_api(void)
{
    ph_test_response r = ph_test_post_json(
        client, "/api/todos", "{\"title\": \"Write report\", \"tags\": [\"work\", \"work\"]}");
    CHECK_INT(r.status, 201);
    CHECK_CONTAINS(r.body, "{\"id\":3,\"title\":\"Write report\",\"done\":false,");
    CHECK_CONTAINS(r.body, "\"tags\":[{\"id\":3,\"name\":\"work\"}]}");
    static const char *const bad[][2] = {
        {"text/plain", "{\"title\": \"x\"}"},
        {"application/json", "{\"title\": "},
        {"application/json", "{\"tags\": [\"a\"]}"},
        {"application/json", "{\"title\": \"   \"}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ph_test_request req = {.method = "POST",
                               .path = "/api/todos",
                               .body = bad[i][1],
                               .body_len = strlen(bad[i][1]),
                               .content_type = bad[i][0]};
        CHECK_INT(ph_test_client_open(client, &req, &r), 0);
        CHECK_INT(r.status, 400);
    }
    CHECK_INT(count("todo"), 3);
    r = ph_test_get(client, "/api/todos");
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.content_type, "application/json");
    CHECK_CONTAINS(r.body, "[{\"id\":1,\"title\":\"Buy milk\",\"done\":true,");
    CHECK_CONTAINS(r.body,
                   "\"tags\":[{\"id\":1,\"name\":\"home\"},{\"id\":2,\"name\":\"errands\"}]}");
}

static void test_delete(void)
{
    CHECK_INT(post("/todos/1/delete", (const char *[]){NULL}).status, 302);
    CHECK_INT(count("todo"), 2);
    CHECK_INT(count("todo_tag"), 2); /* its two links went with it */
    CHECK_INT(count("tag"), 3);      /* tags stay */
}

int main(void)
{
    char err[256];
    ph_test_db db;
    if (ph_test_db_create(&db, todo_models, 3, err, sizeof(err)) < 0) {
        fprintf(stderr, "database: %s\n", err);
        return 1;
    }
    app = ph_app_new("todo");
    int rc = app ? todo_setup(app) : PH_ENOMEM;
    if (rc == 0) {
        ph_app_set_access_log(app, false);
        if (ph_app_config_set(app, "DATABASE_URL", db.url) < 0 ||
            ph_app_config_set(app, "SECRET_KEY", "todo-test-secret-key-0123456789abcdef") < 0 ||
            ph_test_app_ready(app, err, sizeof(err)) < 0 ||
            ph_app_use_security(app, err, sizeof(err)) < 0)
            rc = PH_EINVAL;
    }
    client = rc == 0 ? ph_test_client_new(app) : NULL;
    if (client) {
        RUN(test_csrf_refused);
        RUN(test_pages);
        RUN(test_bad_input_changes_nothing);
        RUN(test_json_api);
        RUN(test_delete);
    } else {
        fprintf(stderr, "app: %s\n", rc ? err : "out of memory");
        failed++;
    }
    ph_test_client_free(client);
    ph_app_free(app);
    ph_test_db_destroy(&db);
    printf("%d passed, %d failed, 0 skipped\n", passed, failed);
    return failed ? 1 : 0;
}
