/*
 * Every invalid input a user can give on the tutorial application's pages,
 * over real HTTP against the real server on a fresh SQLite file: each is
 * answered with the form again (400) and the error in words beside its
 * field -- after the field's input, before the next field -- or with a
 * 404 for a row that does not exist; no answer shows SQL or an internal
 * code name; and afterwards every table holds exactly the rows it held
 * before.  A post without the session's CSRF token is refused (400) on
 * every writing route, with nothing written.  The limits are counted in
 * characters: a 50-character tag of two-byte letters is stored, a
 * 51-character one is not.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "phial/db.h"
#include "test.h"

static tc_server srv;
static char db_url[200];

/* The rows of every table of the app, as "table=N ..." into out. */
static void table_counts(char *out, size_t n)
{
    static const char *const tables[] = {"\"user\"",   "contact", "pethandler", "petcategory",
                                         "petcomment", "tag",     "pet_tag",    "handlerprofile"};
    ph_db_config cfg = {.url = db_url};
    ph_db *db;
    char err[256];
    size_t len = 0;
    out[0] = '\0';
    if (ph_db_open(&cfg, &db, err, sizeof(err)) < 0) {
        snprintf(out, n, "(cannot open: %s)", err);
        return;
    }
    ph_db_conn *c = ph_db_conn_new(db);
    for (size_t i = 0; c && i < PH_COUNTOF(tables) && len < n; i++) {
        char sql[64];
        int64_t rows = -1;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        if (ph_db_query_int(c, sql, NULL, 0, &rows) < 0)
            rows = -1;
        len += (size_t)snprintf(out + len, n - len, "%s=%lld ", tables[i], (long long)rows);
    }
    ph_db_conn_free(c);
    ph_db_close(db);
}

/* POSTs body to path as the browser does (session cookie and CSRF token)
 * or, with token false, as another site's form would (neither). */
static int post(const char *path, const char *body, bool token, tc_response *r)
{
    char cookie[4200] = "", tok[128] = "";
    memset(r, 0, sizeof(*r));
    if (token && tc_csrf(srv.port, "/register", cookie, sizeof(cookie), tok, sizeof(tok)) < 0)
        return -1;
    size_t cap = strlen(body) + 6000;
    char *raw = malloc(cap);
    if (!raw)
        return -1;
    if (token)
        snprintf(raw, cap,
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nCookie: %s\r\nContent-Length: "
                 "%zu\r\n\r\ncsrf_token=%s&%s",
                 path, cookie, strlen(body) + strlen(tok) + 12, tok, body);
    else
        snprintf(raw, cap,
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                 path, strlen(body), body);
    int rc = tc_request(srv.port, raw, r);
    free(raw);
    return rc;
}

/* Whether body shows field's error (id FIELD-errors) right after the
 * field's own input: no other input or field between them. */
static bool error_beside(const char *body, const char *field)
{
    char id[64], eid[80];
    snprintf(id, sizeof(id), "id=\"%s\"", field);
    snprintf(eid, sizeof(eid), "id=\"%s-errors\"", field);
    const char *in = body ? strstr(body, id) : NULL;
    const char *err = in ? strstr(in, eid) : NULL;
    if (!err)
        return false;
    for (const char *p = in + strlen(id); p < err; p++)
        if (strncmp(p, "<input", 6) == 0 || strncmp(p, "<textarea", 9) == 0 ||
            strncmp(p, "class=\"field\"", 13) == 0)
            return false;
    return true;
}

/* What no page may show a user. */
static void check_no_internals(const tc_response *r, const char *what)
{
    static const char *const words[] = {"PH_E",   "INSERT INTO", "SELECT ", "constraint",
                                        "SQLITE", "sqlite",      "UNIQUE",  "NOT NULL"};
    for (size_t i = 0; i < PH_COUNTOF(words); i++) {
        if (r->body && strstr(r->body, words[i])) {
            printf("  %s shows \"%s\"\n", what, words[i]);
            CHECK(0);
        }
    }
}

static char *repeat(const char *unit, int n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * (size_t)n + 1);
    if (!s)
        return NULL;
    for (int i = 0; i < n; i++)
        memcpy(s + u * (size_t)i, unit, u);
    s[u * (size_t)n] = '\0';
    return s;
}

typedef struct bad_case {
    const char *path;
    char *body;        /* malloc'd */
    int status;        /* 400 (the form again) or 404 */
    const char *field; /* whose error it is (400), or NULL */
    const char *words; /* the error, as the user reads it */
} bad_case;

static bad_case bad(const char *path, int status, const char *field, const char *words,
                    const char *fmt, const char *arg)
{
    size_t n = strlen(fmt) + (arg ? strlen(arg) : 0) + 1;
    char *body = malloc(n);
    if (body)
        snprintf(body, n, fmt, arg ? arg : "");
    return (bad_case){path, body, status, field, words};
}

static void every_bad_input_is_refused_beside_its_field(void)
{
    char *l101 = repeat("a", 101), *l121 = repeat("a", 121), *l151 = repeat("a", 151),
         *l51 = repeat("a", 51), *l201 = repeat("a", 201), *l2001 = repeat("a", 2001),
         *l1025 = repeat("a", 1025), *tags501 = repeat("abcd%2C", 101), *e51 = repeat("%C3%A9", 51);
    char email101[160];
    snprintf(email101, sizeof(email101), "%.90s%%40example.com", l101); /* 102 characters */
    const bad_case cases[] = {
        /* /register */
        bad("/register", 400, "username", "Username is required.",
            "username=%s&email=a%%40example.com&password=longenough", ""),
        bad("/register", 400, "username", "Username is required.",
            "username=+%%09+&email=a%%40example.com&password=longenough", NULL),
        bad("/register", 400, "username", "Username is required.",
            "email=a%%40example.com&password=longenough", NULL),
        bad("/register", 400, "username", "Username must be at most 100 characters.",
            "username=%s&email=a%%40example.com&password=longenough", l101),
        bad("/register", 400, "username", "That username is already taken.",
            "username=taken&email=b%%40example.com&password=longenough", NULL),
        bad("/register", 400, "email", "Email is required.",
            "username=newone&email=&password=longenough", NULL),
        bad("/register", 400, "email", "Enter a valid email address.",
            "username=newone&email=not-an-email&password=longenough", NULL),
        bad("/register", 400, "email", "Enter a valid email address.",
            "username=newone&email=ann%%40example&password=longenough", NULL),
        bad("/register", 400, "email", "Email must be at most 100 characters.",
            "username=newone&email=%s&password=longenough", email101),
        bad("/register", 400, "password", "Password is required.",
            "username=newone&email=n%%40example.com&password=", NULL),
        bad("/register", 400, "password", "Password must be between 8 and 1024 characters.",
            "username=newone&email=n%%40example.com&password=short", NULL),
        bad("/register", 400, "password", "Password must be between 8 and 1024 characters.",
            "username=newone&email=n%%40example.com&password=%s", l1025),
        /* /contact */
        bad("/contact", 400, "name", "Name is required.", "name=&email=a%%40example.com&message=hi",
            NULL),
        bad("/contact", 400, "name", "Name must be at most 100 characters.",
            "name=%s&email=a%%40example.com&message=hi", l101),
        bad("/contact", 400, "email", "Enter a valid email address.",
            "name=Ann&email=ann%%40example&message=hi", NULL),
        bad("/contact", 400, "email", "Email must be at most 120 characters.",
            "name=Ann&email=%s%%40example.com&message=hi", l121),
        bad("/contact", 400, "message", "Message is required.",
            "name=Ann&email=a%%40example.com&message=+++", NULL),
        bad("/contact", 400, "message", "Message must be at most 2000 characters.",
            "name=Ann&email=a%%40example.com&message=%s", l2001),
        /* /handlers */
        bad("/handlers", 400, "handler_name", "New handler is required.", "handler_name=", NULL),
        bad("/handlers", 400, "handler_name", "New handler is required.", "handler_name=+%%09",
            NULL),
        bad("/handlers", 400, "handler_name", "New handler must be at most 150 characters.",
            "handler_name=%s", l151),
        /* /handlers/<id>/pets */
        bad("/handlers/1/pets", 400, "pet_name", "Name is required.", "pet_name=&pet_category=dog",
            NULL),
        bad("/handlers/1/pets", 400, "pet_category", "Kind is required.",
            "pet_name=Rex&pet_category=", NULL),
        bad("/handlers/1/pets", 400, "pet_name", "Name must be at most 100 characters.",
            "pet_name=%s&pet_category=dog", l101),
        bad("/handlers/1/pets", 400, "pet_category", "Kind must be at most 50 characters.",
            "pet_name=Rex&pet_category=%s", l51),
        bad("/handlers/1/pets", 400, "tags", "Each tag must be at most 50 characters.",
            "pet_name=Rex&pet_category=dog&tags=ok%%2C+%s", l51),
        bad("/handlers/1/pets", 400, "tags", "Each tag must be at most 50 characters.",
            "pet_name=Rex&pet_category=dog&tags=%s", e51),
        bad("/handlers/1/pets", 400, "tags", "Tags must be at most 500 characters.",
            "pet_name=Rex&pet_category=dog&tags=%s", tags501),
        bad("/handlers/999/pets", 404, NULL, "There is no such page here.",
            "pet_name=Rex&pet_category=dog", NULL),
        /* /pets/<id>/comments */
        bad("/pets/1/comments", 400, "comment_content", "Comment is required.",
            "comment_content=", NULL),
        bad("/pets/1/comments", 400, "comment_content", "Comment is required.",
            "comment_content=%%0D%%0A+", NULL),
        bad("/pets/1/comments", 400, "comment_content", "Comment must be at most 200 characters.",
            "comment_content=%s", l201),
        bad("/pets/999/comments", 404, NULL, "There is no such page here.", "comment_content=hi",
            NULL),
        /* deleting what is not there */
        bad("/pets/999/delete", 404, NULL, "There is no such page here.", "submit=x", NULL),
        bad("/handlers/999/delete", 404, NULL, "There is no such page here.", "confirm=x", NULL),
        /* not text: invalid UTF-8, a NUL */
        bad("/register", 400, NULL, "", "username=%%FF&email=a%%40example.com&password=longenough",
            NULL),
        bad("/handlers", 400, NULL, "", "handler_name=a%%00b", NULL),
        bad("/pets/1/comments", 400, NULL, "", "comment_content=%%C3", NULL),
    };
    char before[512], after[512];
    table_counts(before, sizeof(before));
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        const bad_case *c = &cases[i];
        tc_response r;
        ph_t_checks_failed = 0;
        CHECK(c->body != NULL);
        CHECK_INT(post(c->path, c->body ? c->body : "", true, &r), 0);
        CHECK_INT(r.status, c->status);
        CHECK_CONTAINS(r.body, c->words);
        if (c->field)
            CHECK(error_beside(r.body, c->field));
        check_no_internals(&r, c->path);
        table_counts(after, sizeof(after));
        CHECK_STR(after, before);
        if (ph_t_checks_failed)
            printf("  case %zu: POST %s %.80s\n", i, c->path, c->body ? c->body : "");
        tc_response_free(&r);
    }
    for (size_t i = 0; i < PH_COUNTOF(cases); i++)
        free(cases[i].body);
    free(l101), free(l121), free(l151), free(l51), free(l201), free(l2001), free(l1025);
    free(tags501), free(e51);
}

/* Every writing route refuses a post without the session's token. */
static void every_writing_route_needs_its_csrf_token(void)
{
    static const struct {
        const char *path, *body;
    } routes[] = {
        {"/register", "username=csrf&email=c%40example.com&password=longenough"},
        {"/contact", "name=Ann&email=a%40example.com&message=hi"},
        {"/handlers", "handler_name=Eve"},
        {"/handlers/1/pets", "pet_name=Tom&pet_category=cat"},
        {"/pets/1/comments", "comment_content=hi"},
        {"/pets/1/delete", "submit=x"},
        {"/handlers/1/delete", "confirm=x"},
    };
    char before[512], after[512];
    table_counts(before, sizeof(before));
    for (size_t i = 0; i < PH_COUNTOF(routes); i++) {
        tc_response r;
        CHECK_INT(post(routes[i].path, routes[i].body, false, &r), 0);
        if (r.status != 400)
            printf("  POST %s without a token: %d\n", routes[i].path, r.status);
        CHECK_INT(r.status, 400);
        check_no_internals(&r, routes[i].path);
        tc_response_free(&r);
    }
    table_counts(after, sizeof(after));
    CHECK_STR(after, before);
}

/* The limits count characters: 50 two-byte letters make a tag. */
static void limits_count_characters(void)
{
    char *e50 = repeat("%C3%A9", 50);
    char body[512];
    snprintf(body, sizeof(body), "pet_name=Zo%%C3%%A9&pet_category=cat&tags=%s", e50);
    free(e50);
    tc_response r;
    CHECK_INT(post("/handlers/1/pets", body, true, &r), 0);
    CHECK_INT(r.status, 303);
    tc_response_free(&r);
    char before[512];
    table_counts(before, sizeof(before));
    CHECK_CONTAINS(before, "tag=1 ");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *env[] = {"ACCESS_LOG=0", NULL};
    if (tc_server_start(&srv, 1, env) != 0) {
        printf("FAIL could not start the server\n");
        ph_t_failed++;
        TEST_END();
    }
    snprintf(db_url, sizeof(db_url), "sqlite:///%s", srv.db_path);
    /* what the cases refer to: user "taken", handler 1 with pet 1 */
    tc_response r;
    int seeded = post("/register", "username=taken&email=t%40example.com&password=longenough", true,
                      &r) == 0 &&
                 r.status == 200;
    tc_response_free(&r);
    seeded = seeded && post("/handlers", "handler_name=Ann", true, &r) == 0 && r.status == 303;
    tc_response_free(&r);
    seeded = seeded && post("/handlers/1/pets", "pet_name=Rex&pet_category=dog", true, &r) == 0 &&
             r.status == 303;
    tc_response_free(&r);
    if (!seeded) {
        printf("FAIL could not add the user, handler and pet the cases use\n");
        ph_t_failed++;
    } else {
        RUN(every_bad_input_is_refused_beside_its_field);
        RUN(every_writing_route_needs_its_csrf_token);
        RUN(limits_count_characters);
    }
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
    TEST_END();
}
