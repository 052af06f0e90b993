/*
 * Integration tests of the tutorial application's pages on a real database:
 * the real `app db create` and `app run`, real HTTP, a real SQLite file and,
 * when PHIAL_TEST_PG_URL is set, a real PostgreSQL.  /register stores a user
 * (password as an Argon2id hash) and answers "User registration successful";
 * bad input is a 400 with the form shown again and nothing written; /users
 * lists users with HTML escaping; the pet pages add and navigate handlers,
 * pets (backref, tags) and comments, answer 404/400 and write nothing on
 * bad input, and list handlers with their pets in two queries; a PostgreSQL connection cut under
 * the server is replaced before the next request uses it; a template with a syntax error stops
 * the start with file:line:col.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "phial/db.h"
#include "test.h"

static tc_server srv;
static char tmpdir[64];
static const char *db_url; /* the database the server runs on */

/* Runs `app ARGS` with the current environment; returns its output
 * (malloc'd) and its exit status in *status. */
static char *app_cmd(const char *args, int *status)
{
    const char *build = getenv("PHIAL_BUILD");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/app %s 2>&1", build ? build : "build", args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char *out = calloc(1, 65536);
    size_t n = out ? fread(out, 1, 65535, p) : 0;
    (void)n;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* A form POST as a browser sends it: with the session cookie and the CSRF
 * token of the form page it came from (/register: any form page gives the
 * session its token).  The session cookie the answer sets (a flash
 * message) into next when given, to follow the redirect with. */
static int post_next(const char *path, const char *body, tc_response *r, char *next,
                     size_t next_len)
{
    char cookie[4200], token[128], raw[8192];
    if (tc_csrf(srv.port, "/register", cookie, sizeof(cookie), token, sizeof(token)) < 0)
        return -1;
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Cookie: %s\r\nContent-Length: %zu\r\n\r\ncsrf_token=%s&%s",
             path, cookie, strlen(body) + strlen(token) + 12, token, body);
    int rc = tc_request(srv.port, raw, r);
    char value[4096];
    if (rc == 0 && next)
        snprintf(next, next_len, "session=%s",
                 tc_set_cookie(r, "session", value, sizeof(value)) == 0 ? value : "");
    return rc;
}

static int post(const char *path, const char *body, tc_response *r)
{
    return post_next(path, body, r, NULL, 0);
}

/* GET with a Cookie header (a redirect followed as a browser does). */
static int get_cookie(const char *path, const char *cookie, tc_response *r)
{
    char raw[8192];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n", path, cookie);
    return tc_request(srv.port, raw, r);
}

/* One integer from the server's database (a count), or -1. */
static long long db_int(const char *sql)
{
    ph_db_config cfg = {.url = db_url};
    ph_db *db;
    char err[256];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) < 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    int64_t n = -1;
    if (!c || ph_db_query_int(c, sql, NULL, 0, &n) < 0)
        n = -1;
    ph_db_conn_free(c);
    ph_db_close(db);
    return n;
}

/* A POST without the session's CSRF token (another site's form). */
static int post_no_token(const char *path, const char *body, tc_response *r)
{
    char raw[1024];
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             path, strlen(body), body);
    return tc_request(srv.port, raw, r);
}

static int get(const char *path, tc_response *r)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    return tc_request(srv.port, raw, r);
}

/* Number of rows `app db list User` prints (one per user). */
static int count_users(void)
{
    int st;
    char *out = app_cmd("db list User --columns id", &st);
    int n = 0;
    for (char *p = out; p && *p; p++)
        n += *p == '\n';
    free(out);
    return st == 0 ? n : -1;
}

static void pages_hello_and_form(void)
{
    tc_response r;
    CHECK_INT(get("/", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "Hello world");
    tc_response_free(&r);
    CHECK_INT(get("/register", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<form class=\"stacked\" action=\"\" method=\"post\">");
    CHECK_CONTAINS(r.body,
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    CHECK_CONTAINS(r.body,
                   "<label for=\"username\">Username</label><input type=\"text\" id=\"username\"");
    CHECK_CONTAINS(r.body, "name=\"password\"");
    CHECK_CONTAINS(r.body, "href=\"/static/style.css\"");
    tc_response_free(&r);
}

static void pages_register_stores_hashed_user(void)
{
    int before = count_users();
    tc_response r;
    CHECK_INT(
        post("/register", "username=Demo+User&email=demouser%40gmail.com&password=s3cret%21pw", &r),
        0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "User registration successful");
    tc_response_free(&r);
    CHECK_INT(count_users(), before + 1);
    int st;
    char *out = app_cmd("db list User --columns username,user_email,user_password", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "Demo User\tdemouser@gmail.com\t$argon2id$");
    CHECK(out && !strstr(out, "s3cret!pw"));
    free(out);
}

static void pages_register_bad_input_writes_nothing(void)
{
    int before = count_users();
    CHECK(before >= 0);
    static const char *const bodies[] = {
        "username=&email=a%40b.c&password=x", /* empty */
        "email=a%40b.c&password=x",           /* missing */
        "username=bob&email=a%40b.c",         /* no password */
    };
    for (size_t i = 0; i < PH_COUNTOF(bodies); i++) {
        tc_response r;
        CHECK_INT(post("/register", bodies[i], &r), 0);
        CHECK_INT(r.status, 400);
        CHECK_CONTAINS(r.body, "required");
        CHECK_CONTAINS(r.body, "<form");
        tc_response_free(&r);
    }
    /* 101 characters: refused before any SQL, the typed email shown again */
    char body[512];
    snprintf(body, sizeof(body), "username=%0101d&email=keep%%40me.org&password=x", 0);
    tc_response r;
    CHECK_INT(post("/register", body, &r), 0);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(r.body, "username");
    CHECK_CONTAINS(r.body, "value=\"keep@me.org\"");
    tc_response_free(&r);
    CHECK_INT(count_users(), before);
}

/* The CLI's `db add User` hashes the password too. */
static void pages_cli_add_user_hashes(void)
{
    int st;
    char *out = app_cmd("db add User username=cli user_email=c@x.org user_password=plainpw", &st);
    CHECK_INT(st, 0);
    free(out);
    out = app_cmd("db list User --columns username,user_password", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "cli\t$argon2id$");
    CHECK(out && !strstr(out, "plainpw"));
    free(out);
}

static void pages_users_escaped(void)
{
    tc_response r;
    CHECK_INT(
        post("/register", "username=%3Cb%3Eeve%3C%2Fb%3E&email=e%40x.org&password=pw123456", &r),
        0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<td>&lt;b&gt;eve&lt;/b&gt;</td>");
    CHECK_CONTAINS(r.body, "<td>Demo User</td>");
    CHECK(!strstr(r.body, "<b>eve"));
    tc_response_free(&r);
}

/* The id at the end of the response's Location header, or -1. */
static long location_id(const tc_response *r)
{
    const char *loc = tc_header_get(r, "Location");
    const char *slash = loc ? strrchr(loc, '/') : NULL;
    return slash && slash[1] ? strtol(slash + 1, NULL, 10) : -1;
}

static long add_handler(const char *name_encoded)
{
    char body[512];
    snprintf(body, sizeof(body), "handler_name=%s", name_encoded);
    tc_response r;
    if (post("/handlers", body, &r) < 0)
        return -1;
    long id = r.status == 303 ? location_id(&r) : -1;
    tc_response_free(&r);
    return id;
}

static long add_pet(long handler, const char *body)
{
    char path[64];
    snprintf(path, sizeof(path), "/handlers/%ld/pets", handler);
    tc_response r;
    if (post(path, body, &r) < 0)
        return -1;
    long id = r.status == 303 ? location_id(&r) : -1;
    tc_response_free(&r);
    return id;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Handlers, pets (with the backref and tags) and comments through the
 * pages, as a user of the tutorial's pet system would use them. */
static void pets_add_and_navigate(void)
{
    long h = add_handler("Ann+%3Ci%3EO%3C%2Fi%3E");
    CHECK(h > 0);
    long pet = add_pet(h, "pet_name=Rex&pet_category=dog&tags=senior%2C+needs+meds");
    CHECK(pet > 0);
    CHECK(add_pet(h, "pet_name=Tom&pet_category=cat&tags=senior") > 0);
    char path[64];
    snprintf(path, sizeof(path), "/handlers/%ld", h);
    tc_response r;
    CHECK_INT(get(path, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<h1>Ann &lt;i&gt;O&lt;/i&gt;</h1>");
    CHECK_CONTAINS(r.body, ">Rex</a> (dog)</li>");
    CHECK_CONTAINS(r.body, ">Tom</a> (cat)</li>");
    tc_response_free(&r);

    /* a comment: back to the pet's page, which says so once */
    snprintf(path, sizeof(path), "/pets/%ld/comments", pet);
    char cookie[4200];
    CHECK_INT(post_next(path, "comment_content=Good+boy", &r, cookie, sizeof(cookie)), 0);
    CHECK_INT(r.status, 303);
    snprintf(path, sizeof(path), "/pets/%ld", pet);
    CHECK_STR(tc_header_get(&r, "Location"), path);
    tc_response_free(&r);
    CHECK_INT(get_cookie(path, cookie, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "role=\"status\">Comment added.</li>");
    CHECK_CONTAINS(r.body, "Handled by <a href=\"/handlers/");
    CHECK_CONTAINS(r.body, ">Ann &lt;i&gt;O&lt;/i&gt;</a>"); /* pet.pet_handler */
    CHECK_CONTAINS(r.body, "<li class=\"tag\">senior</li><li class=\"tag\">needs meds</li>");
    CHECK_CONTAINS(r.body, "<li>Good boy</li>");
    tc_response_free(&r);
}

/* A tag repeated in the list ("yy,yy") is one tag, and a tag that exists
 * is reused by the next pet. */
static void pets_repeated_tag_is_one_tag(void)
{
    long h = add_handler("Yves");
    long pet = add_pet(h, "pet_name=Yy&pet_category=dog&tags=yy%2Cyy%2C+yy+%2C%2C");
    CHECK(pet > 0);
    char path[64], sql[160];
    snprintf(path, sizeof(path), "/pets/%ld", pet);
    tc_response r;
    CHECK_INT(get(path, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(count_of(r.body, "<li class=\"tag\">yy</li>"), 1);
    tc_response_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pet_tag WHERE pet_id = %ld", pet);
    CHECK_INT(db_int(sql), 1);
    CHECK(add_pet(h, "pet_name=Zz&pet_category=cat&tags=yy") > 0);
    CHECK_INT(db_int("SELECT count(*) FROM tag WHERE tag_name = 'yy'"), 1);
    CHECK_INT(db_int("SELECT count(*) FROM pet_tag pt JOIN tag t ON t.tag_id = pt.tag_id "
                     "WHERE t.tag_name = 'yy'"),
              2);
}

/* Deleting a pet deletes its comments and tag links (the tags stay), then
 * shows its handler's page with a flash. */
static void pets_delete_pet_with_comments(void)
{
    long h = add_handler("Dora");
    long pet = add_pet(h, "pet_name=Gone&pet_category=dog&tags=gone-tag");
    CHECK(pet > 0);
    char path[64], sql[200], cookie[4200];
    tc_response r;
    snprintf(path, sizeof(path), "/pets/%ld/comments", pet);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(post(path, "comment_content=bye", &r), 0);
        CHECK_INT(r.status, 303);
        tc_response_free(&r);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM petcomment WHERE pet_id = %ld", pet);
    CHECK_INT(db_int(sql), 2);
    /* without the CSRF token (another site's form): refused, nothing deleted */
    snprintf(path, sizeof(path), "/pets/%ld/delete", pet);
    CHECK_INT(post_no_token(path, "submit=Delete", &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    CHECK_INT(db_int(sql), 2);
    CHECK_INT(post_next(path, "submit=Delete", &r, cookie, sizeof(cookie)), 0);
    CHECK_INT(r.status, 303);
    char handler[64];
    snprintf(handler, sizeof(handler), "/handlers/%ld", h);
    CHECK_STR(tc_header_get(&r, "Location"), handler);
    tc_response_free(&r);
    CHECK_INT(get_cookie(handler, cookie, &r), 0);
    CHECK_CONTAINS(r.body, "Pet Gone deleted.");
    CHECK_CONTAINS(r.body, "No pets yet.");
    tc_response_free(&r);
    CHECK_INT(db_int(sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pet_tag WHERE pet_id = %ld", pet);
    CHECK_INT(db_int(sql), 0);
    CHECK_INT(db_int("SELECT count(*) FROM tag WHERE tag_name = 'gone-tag'"), 1);
    snprintf(path, sizeof(path), "/pets/%ld", pet);
    CHECK_INT(get(path, &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    snprintf(path, sizeof(path), "/pets/%ld/delete", pet); /* twice: it is gone */
    CHECK_INT(post(path, "submit=Delete", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
}

/* A handler without pets is deleted at once; one with pets only after the
 * confirmation page, and then with its pets and their comments. */
static void pets_delete_handler_asks_when_it_has_pets(void)
{
    long empty = add_handler("Empty");
    char path[64], sql[200];
    tc_response r;
    snprintf(path, sizeof(path), "/handlers/%ld/delete", empty);
    CHECK_INT(post(path, "submit=x", &r), 0);
    CHECK_INT(r.status, 303);
    CHECK_STR(tc_header_get(&r, "Location"), "/handlers");
    tc_response_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pethandler WHERE handler_id = %ld", empty);
    CHECK_INT(db_int(sql), 0);

    long h = add_handler("Full");
    long pet = add_pet(h, "pet_name=Kept&pet_category=dog");
    CHECK(pet > 0);
    snprintf(path, sizeof(path), "/pets/%ld/comments", pet);
    CHECK_INT(post(path, "comment_content=hello", &r), 0);
    tc_response_free(&r);
    snprintf(path, sizeof(path), "/handlers/%ld/delete", h);
    CHECK_INT(post(path, "submit=x", &r), 0);
    CHECK_INT(r.status, 200); /* the question, nothing deleted */
    CHECK_CONTAINS(r.body, "Delete Full?");
    CHECK_CONTAINS(r.body, "Kept");
    CHECK_CONTAINS(r.body, "name=\"confirm\"");
    tc_response_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM petcategory WHERE handler_id = %ld", h);
    CHECK_INT(db_int(sql), 1);
    CHECK_INT(post_no_token(path, "confirm=yes", &r), 0); /* another site's form */
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    CHECK_INT(db_int(sql), 1);
    CHECK_INT(post(path, "confirm=Delete+the+handler+and+its+pets", &r), 0);
    CHECK_INT(r.status, 303);
    tc_response_free(&r);
    CHECK_INT(db_int(sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pethandler WHERE handler_id = %ld", h);
    CHECK_INT(db_int(sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM petcomment WHERE pet_id = %ld", pet);
    CHECK_INT(db_int(sql), 0);
}

/* /users shows 20 users a page with links to the others; a page that is
 * not a whole number from 1 or past the last is a 404. */
static void pages_users_paginated(void)
{
    ph_db_config cfg = {.url = db_url};
    ph_db *db;
    char err[256];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    for (int i = 0; i < 45; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pageuser%02d", i);
        CHECK_INT(ph_db_exec(c,
                             "INSERT INTO \"user\" (username, user_email, user_password) "
                             "VALUES (?, 'p@x.org', '$argon2id$not-shown')",
                             (ph_val[]){PH_STR(name)}, 1),
                  0);
    }
    ph_db_conn_free(c);
    ph_db_close(db);
    long long total = db_int("SELECT count(*) FROM \"user\"");
    long long pages = (total + 19) / 20;
    CHECK(pages >= 3);
    tc_response r;
    char want[64];
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(count_of(r.body, "<tr><td>"), 20);
    snprintf(want, sizeof(want), "Page 1 of %lld", pages);
    CHECK_CONTAINS(r.body, want);
    CHECK_CONTAINS(r.body, "<a rel=\"next\" href=\"/users?page=2\">");
    CHECK(r.body && !strstr(r.body, "argon2") && !strstr(r.body, "rel=\"prev\""));
    tc_response_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/users?page=%lld", pages);
    CHECK_INT(get(path, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(count_of(r.body, "<tr><td>"), (int)(total - (pages - 1) * 20));
    CHECK_CONTAINS(r.body, "pageuser44");
    CHECK_CONTAINS(r.body, "rel=\"prev\"");
    CHECK(r.body && !strstr(r.body, "rel=\"next\""));
    tc_response_free(&r);
    snprintf(path, sizeof(path), "/users?page=%lld", pages + 1);
    const char *bad[] = {path,
                         "/users?page=0",
                         "/users?page=-2",
                         "/users?page=two",
                         "/users?page=",
                         "/users?page=99999999999999999999"};
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        CHECK_INT(get(bad[i], &r), 0);
        CHECK_INT(r.status, 404);
        CHECK_CONTAINS(r.body, "There is no such page here.");
        tc_response_free(&r);
    }
}

/* Missing rows are 404, bad values 400, and nothing is written. */
static void pets_bad_input_writes_nothing(void)
{
    long h = add_handler("Bea");
    CHECK(h > 0);
    tc_response r;
    CHECK_INT(get("/handlers/999999", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    CHECK_INT(get("/handlers/99999999999999999999", &r), 0); /* overflows: no match */
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    CHECK_INT(post("/handlers/999999/pets", "pet_name=X&pet_category=dog", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    CHECK_INT(post("/pets/999999/comments", "comment_content=hi", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
    CHECK_INT(post("/handlers", "handler_name=++", &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    char path[64], body[256];
    snprintf(path, sizeof(path), "/handlers/%ld/pets", h);
    CHECK_INT(post(path, "pet_name=&pet_category=dog", &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    snprintf(body, sizeof(body), "pet_name=%0101d&pet_category=dog", 0);
    CHECK_INT(post(path, body, &r), 0);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(r.body, "pet_name");
    tc_response_free(&r);
    /* a valid pet whose tag is too long: the pet is not written either */
    snprintf(body, sizeof(body), "pet_name=Ok&pet_category=dog&tags=%051d", 0);
    CHECK_INT(post(path, body, &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    snprintf(path, sizeof(path), "/handlers/%ld", h);
    CHECK_INT(get(path, &r), 0);
    CHECK_CONTAINS(r.body, "No pets yet.");
    tc_response_free(&r);
}

/* The handler list loads every handler's pets in one IN query: 2 queries
 * for the page however many handlers (DEBUG's X-Query-Count). */
static void pets_handler_list_is_two_queries(void)
{
    for (int i = 0; i < 20; i++) {
        char name[32], body[64];
        snprintf(name, sizeof(name), "H%02d", i);
        long h = add_handler(name);
        CHECK(h > 0);
        snprintf(body, sizeof(body), "pet_name=P%02d&pet_category=fish", i);
        CHECK(add_pet(h, body) > 0);
    }
    tc_response r;
    CHECK_INT(get("/handlers", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(tc_header_get(&r, "X-Query-Count"), "2");
    CHECK(count_of(r.body, "<li><a href=\"/handlers/") >= 22);
    CHECK_CONTAINS(r.body, ">H07</a>: 1 pet — P07</li>");
    tc_response_free(&r);
}

/* The same page with lazy loads: one query per handler, and the debug
 * N+1 detector logs a warning naming the relationship and the route. */
static void pets_lazy_list_warns_n_plus_one(void)
{
    tc_response r;
    CHECK_INT(get("/handlers", &r), 0);
    int handlers = count_of(r.body, "<li><a href=\"/handlers/");
    tc_response_free(&r);
    CHECK(handlers >= 20);
    CHECK_INT(get("/_test/handlers_lazy", &r), 0);
    CHECK_INT(r.status, 200);
    const char *qc = tc_header_get(&r, "X-Query-Count");
    CHECK(qc != NULL);
    CHECK_INT(qc ? atoi(qc) : -1, 1 + handlers);
    CHECK_CONTAINS(r.body, ">H07</a>: 1 pet — P07</li>");
    tc_response_free(&r);
    char *log = tc_server_log(&srv);
    CHECK_CONTAINS(log, "N+1 queries: PetHandler.pet_category");
    CHECK_CONTAINS(log, "test_handlers_lazy");
    free(log);
}

/* Cuts every other connection to the test database from the server side;
 * how many, or -1. */
static int kill_pg_backends(void)
{
    return (int)db_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
}

static void pages_pg_connection_cut_is_replaced_before_use(void)
{
    tc_response r;
    /* a request on every worker so each holds a connection (1 worker) */
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK(kill_pg_backends() >= 1);
    /* the stale connection is found and replaced before the request uses
       it: no 503 for the first request after the cut */
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "Demo User");
    tc_response_free(&r);
}

/* The README's route list is what `app routes` prints. */
static void pages_readme_lists_every_route(void)
{
    int st;
    char *out = app_cmd("routes", &st);
    CHECK_INT(st, 0);
    const char *top = getenv("PHIAL_TOP");
    char path[1024];
    snprintf(path, sizeof(path), "%s/README.md", top && *top ? top : ".");
    FILE *f = fopen(path, "r");
    char *readme = calloc(1, 1 << 20);
    size_t n = f && readme ? fread(readme, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    if (f)
        fclose(f);
    CHECK(out && strstr(out, "Endpoint"));
    if (out && readme && !strstr(readme, out))
        printf("  README.md does not list the routes as `app routes` prints them:\n%s", out);
    CHECK(out && readme && strstr(readme, out));
    free(readme);
    free(out);
}

static void pages_template_error_stops_start(void)
{
    char dir[128], path[192];
    snprintf(dir, sizeof(dir), "%s/badtpl", tmpdir);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/broken.html", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("<p>\n{% if x %}\n{{ y }\n", f);
    fclose(f);
    char env[256];
    snprintf(env, sizeof(env), "TEMPLATE_FOLDER=%s", dir);
    int st;
    char args[320];
    snprintf(args, sizeof(args), "run --port 1"); /* templates are compiled before serving */
    putenv(env);
    char *out = app_cmd(args, &st);
    unsetenv("TEMPLATE_FOLDER");
    CHECK(st != 0);
    CHECK_CONTAINS(out, "broken.html:3:");
    free(out);
}

/* Creates the tables with `app db create`, starts the server; 0 or -1. */
static int setup(const char *url)
{
    db_url = url;
    setenv("DATABASE_URL", url, 1);
    setenv("DEBUG", "1", 1); /* X-Query-Count */
    int st;
    free(app_cmd("db drop --yes", &st));
    char *out = app_cmd("db create", &st);
    if (st != 0)
        fprintf(stderr, "db create: %s\n", out ? out : "");
    free(out);
    /* one handler thread: the outage test knows which connection is stale */
    static const char *const env[] = {"THREADS=1", NULL};
    return st == 0 ? tc_server_start(&srv, 1, env) : -1;
}

static void teardown(void)
{
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
    int st;
    free(app_cmd("db drop --yes", &st));
}

static void run_suite(bool pg)
{
    RUN(pages_hello_and_form);
    RUN(pages_register_stores_hashed_user);
    RUN(pages_register_bad_input_writes_nothing);
    RUN(pages_users_escaped);
    RUN(pages_cli_add_user_hashes);
    RUN(pets_add_and_navigate);
    RUN(pets_repeated_tag_is_one_tag);
    RUN(pets_delete_pet_with_comments);
    RUN(pets_delete_handler_asks_when_it_has_pets);
    RUN(pets_bad_input_writes_nothing);
    RUN(pets_handler_list_is_two_queries);
    RUN(pets_lazy_list_warns_n_plus_one);
    RUN(pages_users_paginated);
    if (pg)
        RUN(pages_pg_connection_cut_is_replaced_before_use);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phial-pages.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    char url[160];
    snprintf(url, sizeof(url), "sqlite:///%s/app.db", tmpdir);
    if (setup(url) == 0) {
        run_suite(false);
        RUN(teardown);
    } else {
        printf("FAIL could not start the server on SQLite\n");
        ph_t_failed++;
    }
    const char *pg = getenv("PHIAL_TEST_PG_URL");
    if (pg && *pg) {
        if (setup(pg) == 0) {
            run_suite(true);
            RUN(teardown);
        } else {
            printf("FAIL could not start the server on PostgreSQL\n");
            ph_t_failed++;
        }
    } else {
        SKIP(pages_on_postgresql, "PHIAL_TEST_PG_URL is not set");
    }
    unsetenv("DATABASE_URL");
    unsetenv("DEBUG");
    RUN(pages_template_error_stops_start);
    RUN(pages_readme_lists_every_route);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_END();
}
