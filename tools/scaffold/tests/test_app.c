/*
 * __NAME__'s tests: each one builds the application on a throwaway SQLite
 * database and talks to it with Phial's in-process test client (no
 * socket, no server), the way Flask's app.test_client() does.
 */
#include "../src/app.h"
#include "../src/models.h"

#include <phial/testing.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

/* One test's application and client on a fresh database. */
typedef struct fixture {
    ph_test_db db;
    ph_app *app;
    ph_test_client *client;
} fixture;

static int setup(fixture *f)
{
    char err[256];
    if (ph_test_db_create(&f->db, __NAME___models, __NAME___nmodels, err, sizeof(err)) < 0) {
        fprintf(stderr, "database: %s\n", err);
        return -1;
    }
    f->app = __NAME___app_new();
    if (!f->app || ph_app_config_set(f->app, "DATABASE_URL", f->db.url) < 0 ||
        ph_app_config_set(f->app, "SECRET_KEY", "__NAME__-test-secret-key-0123456789") < 0)
        return -1;
    ph_app_set_access_log(f->app, false);
    /* as `run` serves it: sessions and CSRF on */
    if (ph_test_app_ready(f->app, err, sizeof(err)) < 0 ||
        ph_app_use_security(f->app, err, sizeof(err)) < 0) {
        fprintf(stderr, "app: %s\n", err);
        return -1;
    }
    f->client = ph_test_client_new(f->app);
    return f->client ? 0 : -1;
}

static void teardown(fixture *f)
{
    ph_test_client_free(f->client);
    ph_app_free(f->app);
    ph_test_db_destroy(&f->db);
}

static void test_index_empty(ph_test_client *c)
{
    ph_test_response r = ph_test_get(c, "/");
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "Hello from __NAME__") != NULL);
    CHECK(strstr(r.body, "No notes yet.") != NULL);
}

/* Posts a title to /notes as the page's form does: with the CSRF token
 * the page carries (the client keeps the session cookie). */
static ph_test_response post_note(ph_test_client *c, const char *title)
{
    ph_test_response page = ph_test_get(c, "/");
    const char *token = ph_test_form_value(c, &page, "csrf_token");
    const char *form[] = {"title", title, "csrf_token", token ? token : "", NULL};
    return ph_test_post_form(c, "/notes", form);
}

/* Without the page's token (another site's form) nothing is stored. */
static void test_csrf_refused(ph_test_client *c)
{
    const char *form[] = {"title", "forged", NULL};
    ph_test_response r = ph_test_post_form(c, "/notes", form);
    CHECK(r.status == 400);
    r = ph_test_get(c, "/");
    CHECK(strstr(r.body, "No notes yet.") != NULL);
}

static void test_add_note(ph_test_client *c)
{
    ph_test_response r = post_note(c, "Buy <milk> & eggs");
    CHECK(r.status == 303);
    CHECK(ph_test_response_header(&r, "Location") &&
          strcmp(ph_test_response_header(&r, "Location"), "/") == 0);
    r = ph_test_get(c, "/");
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "<li>Buy &lt;milk&gt; &amp; eggs</li>") != NULL); /* escaped */
    CHECK(strstr(r.body, "No notes yet.") == NULL);
}

static void test_bad_titles(ph_test_client *c)
{
    ph_test_response r = post_note(c, "");
    CHECK(r.status == 400);
    CHECK(strstr(r.body, "A note needs a title.") != NULL);
    char longer[120];
    memset(longer, 'x', 101);
    longer[101] = '\0';
    r = post_note(c, longer);
    CHECK(r.status == 400);
    const char *kept = ph_test_form_value(c, &r, "title"); /* the form shows it again */
    CHECK(kept && strcmp(kept, longer) == 0);
    r = ph_test_get(c, "/");
    CHECK(strstr(r.body, "No notes yet.") != NULL); /* nothing was stored */
}

static void test_static_and_errors(ph_test_client *c)
{
    ph_test_response r = ph_test_get(c, "/static/style.css");
    CHECK(r.status == 200);
    CHECK(strncmp(r.content_type, "text/css", 8) == 0);
    CHECK(ph_test_get(c, "/no-such-page").status == 404);
    CHECK(ph_test_get(c, "/notes").status == 405);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(ph_test_client *c);
    } tests[] = {
        {"index_empty", test_index_empty},
        {"csrf_refused", test_csrf_refused},
        {"add_note", test_add_note},
        {"bad_titles", test_bad_titles},
        {"static_and_errors", test_static_and_errors},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        fixture f = {0};
        int before = failures;
        if (setup(&f) < 0)
            failures++;
        else
            tests[i].fn(f.client);
        teardown(&f);
        bool ok = failures == before;
        failed += !ok;
        printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
    }
    size_t n = sizeof(tests) / sizeof(tests[0]);
    printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
    return failed ? 1 : 0;
}
