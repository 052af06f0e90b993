/*
 * The tutorial application through the in-process test client: each test
 * builds the app (its views, a throwaway SQLite database with its models,
 * its templates found under ROOT_PATH) and walks the pages the tutorial
 * describes -- "/" answers Hello world, /register shows the form, stores a
 * user (as an Argon2id hash) and answers "User registration successful",
 * bad input is shown again with the error and stores nothing, /users
 * lists who registered.
 */
#include "phial/testing.h"
#include "test.h"

#include <sodium.h>

#include "../../app/models.h"
#include "../../app/views.h"

typedef struct fixture {
    ph_test_db db;
    ph_app *app;
    ph_test_client *c;
} fixture;

static int setup(fixture *f)
{
    char err[512];
    memset(f, 0, sizeof(*f));
    if (ph_test_db_create(&f->db, app_models, app_nmodels, err, sizeof(err)) < 0) {
        fprintf(stderr, "  database: %s\n", err);
        return -1;
    }
    const char *top = getenv("PHIAL_TOP");
    f->app = ph_app_new("tutorial");
    if (!f->app)
        return -1;
    ph_app_set_access_log(f->app, false);
    if (ph_app_config_set(f->app, "DATABASE_URL", f->db.url) < 0 ||
        ph_app_config_set(f->app, "ROOT_PATH", top && *top ? top : ".") < 0 ||
        ph_app_config_default(f->app, "TEMPLATE_FOLDER", "app/templates") < 0 ||
        ph_app_config_default(f->app, "STATIC_FOLDER", "app/static") < 0 ||
        app_views_register(f->app) < 0 || ph_app_models(f->app, app_models, app_nmodels) < 0 ||
        ph_app_config_set(f->app, "SECRET_KEY", "tutorial-test-key-0123456789abcdef") < 0 ||
        ph_test_app_ready(f->app, err, sizeof(err)) < 0 ||
        ph_app_use_security(f->app, err, sizeof(err)) < 0) {
        fprintf(stderr, "  app: %s\n", err);
        return -1;
    }
    f->c = ph_test_client_new(f->app);
    return f->c ? 0 : -1;
}

static void teardown(fixture *f)
{
    ph_test_client_free(f->c);
    ph_app_free(f->app);
    ph_test_db_destroy(&f->db);
}

static void test_hello_world(void)
{
    fixture f;
    CHECK_INT(setup(&f), 0);
    if (f.c) {
        ph_test_response r = ph_test_get(f.c, "/");
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "Hello world");
        r = ph_test_get(f.c, "/static/style.css");
        CHECK_INT(r.status, 200);
    }
    teardown(&f);
}

static void test_register(void)
{
    fixture f;
    CHECK_INT(setup(&f), 0);
    if (f.c) {
        ph_test_response r = ph_test_get(f.c, "/register");
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "<h1>Registration Form</h1>");
        const char *tok = ph_test_form_value(f.c, &r, "csrf_token");
        CHECK(tok != NULL);
        const char *form[] = {"username", "Demo User", "email",      "demouser@gmail.com",
                              "password", "secret-pw", "csrf_token", tok ? tok : "", NULL};
        r = ph_test_post_form(f.c, "/register", form);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "User registration successful");
        r = ph_test_get(f.c, "/users");
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "Demo User");
        CHECK(strstr(r.body, "secret-pw") == NULL);
        /* the stored password is an Argon2id hash of what was typed */
        ph_db *db;
        char err[256];
        CHECK_INT(ph_db_open(&(ph_db_config){.url = f.db.url}, &db, err, sizeof(err)), 0);
        ph_db_conn *conn = ph_db_conn_new(db);
        ph_arena *a = ph_arena_new(0);
        ph_session *s = ph_session_new(a, conn);
        User **users;
        size_t n = 0;
        CHECK_INT(ph_query_all(ph_query_new(s, &User_model), &users, &n), 0);
        CHECK_INT(n, 1);
        if (n == 1) {
            CHECK(strncmp(users[0]->user_password, "$argon2id$", 10) == 0);
            CHECK_INT(crypto_pwhash_str_verify(users[0]->user_password, "secret-pw", 9), 0);
        }
        ph_arena_free(a);
        ph_db_conn_free(conn);
        ph_db_close(db);
    }
    teardown(&f);
}

static void test_register_bad_input(void)
{
    fixture f;
    CHECK_INT(setup(&f), 0);
    if (f.c) {
        ph_test_response r = ph_test_get(f.c, "/register");
        const char *tok = ph_test_form_value(f.c, &r, "csrf_token");
        CHECK(tok != NULL);
        tok = tok ? tok : "";
        const char *missing[] = {"username", "ann", "email", "", "password", "pw",
                                 "csrf_token", tok, NULL};
        r = ph_test_post_form(f.c, "/register", missing);
        CHECK_INT(r.status, 400);
        CHECK_CONTAINS(r.body, "Email is required.");
        CHECK_STR(ph_test_form_value(f.c, &r, "username"), "ann"); /* shown again */
        char longname[130];
        memset(longname, 'n', 101);
        longname[101] = '\0';
        const char *too_long[] = {"username", longname, "email",      "a@b.c",
                                  "password", "pw",     "csrf_token", tok,     NULL};
        r = ph_test_post_form(f.c, "/register", too_long);
        CHECK_INT(r.status, 400);
        CHECK_CONTAINS(r.body, "username");
        r = ph_test_get(f.c, "/users");
        CHECK(strstr(r.body, "ann") == NULL); /* nothing stored */
        CHECK(strstr(r.body, "nnnnnnnnnn") == NULL);
    }
    teardown(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_hello_world);
    RUN(test_register);
    RUN(test_register_bad_input);
    TEST_END();
}
