/*
 * Integration tests of the benchmark routes on the real server, on a real
 * SQLite file and, when PHIAL_TEST_PG_URL is set, a real PostgreSQL loaded
 * with the TechEmpower data set of the Flask peer
 * (../shared/peers/techempower-data.sql next to the repository, or
 * PHIAL_PEERS_DIR).  Each TechEmpower test type answers as the published
 * rules say: exact bodies and content types for /json and /plaintext,
 * World rows as the database holds them for /db and /queries (the count
 * clamped to 1..500, bad values counted as 1), /fortunes byte for byte what
 * the peer (python3 + Flask, run in this test) sends, /updates writing the
 * numbers it answers; Server and Date headers on every response.  The
 * peer-page routes /bench/users and /bench/handlers/<id> are byte for byte
 * the peer's /users and /handlers/<id>; POST /bench/pets/<id>/comments
 * answers as the peer's comment route, behind the app's CSRF check.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "phial/db.h"
#include "phial/http.h"
#include "test.h"

static tc_server srv;
static char tmpdir[64];
static char peers[512];     /* the folder holding flask/ and techempower-data.sql */
static char sqlite_url[160]; /* the SQLite database the peer reads */

/* Runs `app ARGS` with the current environment; its exit status. */
static int app_cmd(const char *args)
{
    const char *build = getenv("PHIAL_BUILD");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/app %s >/dev/null 2>&1", build ? build : "build", args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The whole file (malloc'd, NUL-terminated) and its length, or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    size_t got;
    while (p && (got = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p)
        p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

/* Opens a connection to url for checks from the test's side. */
static ph_db_conn *db_connect(const char *url, ph_db **db)
{
    ph_db_config cfg = {.url = url};
    char err[256];
    if (ph_db_open(&cfg, db, err, sizeof(err)) < 0) {
        fprintf(stderr, "db: %s\n", err);
        return NULL;
    }
    ph_db_conn *c = ph_db_conn_new(*db);
    if (!c)
        ph_db_close(*db);
    return c;
}

static void db_disconnect(ph_db_conn *c, ph_db *db)
{
    ph_db_conn_free(c);
    ph_db_close(db);
}

/* Loads the TechEmpower data set and the page fixtures: 100 users, a
 * handler with 20 pets (names that need escaping among them). */
static int load_data(const char *url)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/techempower-data.sql", peers);
    char *sql = slurp(path, NULL);
    ph_db *db;
    ph_db_conn *c = sql ? db_connect(url, &db) : NULL;
    if (!c) {
        free(sql);
        return -1;
    }
    int rc = ph_db_exec_script(c, sql);
    if (rc < 0)
        fprintf(stderr, "data: %s\n", ph_db_errmsg(c));
    for (int i = 1; rc == 0 && i <= 100; i++) {
        char name[64], mail[64];
        snprintf(name, sizeof(name), "user%d <b>&'\"", i);
        snprintf(mail, sizeof(mail), "user%d@example.com", i);
        ph_val v[] = {PH_STR(name), PH_STR(mail), PH_STR("x")};
        rc = ph_db_exec(c,
                        "INSERT INTO \"user\" (username, user_email, user_password) "
                        "VALUES (?, ?, ?)",
                        v, 3);
    }
    if (rc == 0)
        rc = ph_db_exec(c, "INSERT INTO pethandler (handler_id, handler_name) VALUES (1, ?)",
                        (ph_val[]){PH_STR("Ann & <Bo>")}, 1);
    for (int i = 1; rc == 0 && i <= 20; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pet %d \"<i>\"", i);
        ph_val v[] = {PH_STR(name), PH_STR(i % 2 ? "cat" : "dog")};
        rc = ph_db_exec(c,
                        "INSERT INTO petcategory (pet_name, pet_category, handler_id) "
                        "VALUES (?, ?, 1)",
                        v, 2);
    }
    if (rc < 0)
        fprintf(stderr, "fixtures: %s\n", ph_db_errmsg(c));
    db_disconnect(c, db);
    free(sql);
    return rc;
}

static int get(const char *path, tc_response *r)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    return tc_request(srv.port, raw, r);
}

/* GETs path and checks what every response must carry: 200, Server, a
 * valid Date, and content type ctype.  0 with r filled (free it), or -1. */
static int get_ok(const char *path, const char *ctype, tc_response *r)
{
    if (get(path, r) != 0) {
        CHECK(!"request failed");
        return -1;
    }
    CHECK_INT(r->status, 200);
    const char *server = tc_header_get(r, "Server");
    CHECK(server && *server);
    const char *date = tc_header_get(r, "Date");
    time_t t;
    CHECK(date && ph_http_date_parse(date, &t) == 0);
    CHECK_STR(tc_header_get(r, "Content-Type"), ctype);
    return 0;
}

/* The randomnumber of World id in the database, or -1. */
static int64_t world_number(ph_db_conn *c, int64_t id)
{
    int64_t v = -1;
    ph_val p[] = {PH_INT(id)};
    if (ph_db_query_int(c, "SELECT randomnumber FROM world WHERE id = ?", p, 1, &v) < 0)
        return -1;
    return v;
}

/* Parses a body of World objects ({"id":N,"randomNumber":M}, alone or in a
 * JSON array as the peer writes them) into ids/nums; how many, or -1 when
 * the body is not in that exact form. */
static int parse_worlds(const char *body, bool array, int64_t *ids, int64_t *nums, int max)
{
    const char *p = body;
    int n = 0;
    if (array && *p++ != '[')
        return -1;
    for (;;) {
        long long id, num;
        int used = 0;
        if (n == max || sscanf(p, "{\"id\":%lld,\"randomNumber\":%lld}%n", &id, &num, &used) != 2 ||
            used == 0)
            return -1;
        ids[n] = id;
        nums[n++] = num;
        p += used;
        if (!array)
            break;
        if (*p == ']') {
            p++;
            break;
        }
        if (*p++ != ',')
            return -1;
    }
    return strcmp(p, "\n") == 0 ? n : -1;
}

static void tfb_json_and_plaintext(void)
{
    tc_response r;
    if (get_ok("/json", "application/json", &r) == 0) {
        CHECK_STR(r.body, "{\"message\":\"Hello, World!\"}\n");
        tc_response_free(&r);
    }
    if (get_ok("/plaintext", "text/plain", &r) == 0) {
        CHECK_STR(r.body, "Hello, World!");
        CHECK_INT((int)r.body_len, 13);
        tc_response_free(&r);
    }
}

/* /db: one World, as the database holds it; ids spread over 1..10000. */
static void tfb_db_answers_a_stored_row(void)
{
    ph_db *db;
    ph_db_conn *c = db_connect(getenv("DATABASE_URL"), &db);
    CHECK(c != NULL);
    int64_t first = -1;
    bool differ = false;
    for (int i = 0; c && i < 20; i++) {
        tc_response r;
        if (get_ok("/db", "application/json", &r) != 0)
            break;
        int64_t id = 0, num = 0;
        CHECK_INT(parse_worlds(r.body, false, &id, &num, 1), 1);
        CHECK(id >= 1 && id <= 10000);
        CHECK_INT((int)num, (int)world_number(c, id));
        differ = differ || (first >= 0 && id != first);
        if (first < 0)
            first = id;
        tc_response_free(&r);
    }
    CHECK(differ); /* 20 draws from 10000 are not all the same id */
    if (c)
        db_disconnect(c, db);
}

/* /queries?queries=N: N rows for 1..500, clamped above, 1 for anything that
 * is not an integer at least 1. */
static void tfb_queries_clamped(void)
{
    static const struct {
        const char *query;
        int rows;
    } cases[] = {
        {"", 1},          {"?queries=", 1},     {"?queries=abc", 1}, {"?queries=0", 1},
        {"?queries=-5", 1}, {"?queries=1.5", 1}, {"?queries=0x10", 1}, {"?queries=7", 7},
        {"?queries=500", 500}, {"?queries=501", 500}, {"?queries=99999999999999999999", 500},
        {"?queries=20&queries=3", 20}, {"?other=9", 1},
    };
    static int64_t ids[600], nums[600];
    ph_db *db;
    ph_db_conn *c = db_connect(getenv("DATABASE_URL"), &db);
    CHECK(c != NULL);
    for (size_t i = 0; c && i < PH_COUNTOF(cases); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/queries%s", cases[i].query);
        tc_response r;
        if (get_ok(path, "application/json", &r) != 0)
            continue;
        int n = parse_worlds(r.body, true, ids, nums, 600);
        if (n != cases[i].rows)
            fprintf(stderr, "  %s: %d rows, expected %d\n", path, n, cases[i].rows);
        CHECK_INT(n, cases[i].rows);
        for (int k = 0; k < n && k < 10; k++)
            CHECK_INT((int)nums[k], (int)world_number(c, ids[k]));
        tc_response_free(&r);
    }
    if (c)
        db_disconnect(c, db);
}

/* Runs the peer on the SQLite data and returns its answer to path as
 * "<status>\n<content-type>\n<body>" (malloc'd), or NULL. */
static char *peer_get(const char *path, size_t *len)
{
    char out[128], cmd[2048];
    snprintf(out, sizeof(out), "%s/peer.out", tmpdir);
    const char *top = getenv("PHIAL_TOP");
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 %s/tests/integration/flask_peer.py %s/flask '%s' '%s' %s",
             top ? top : ".", peers, sqlite_url, path, out);
    if (system(cmd) != 0)
        return NULL;
    char *s = slurp(out, len);
    unlink(out);
    return s;
}

/* Phial's answer to path (status, content type, body), compared byte for
 * byte with the peer's answer to peer_path. */
static void same_as_peer(const char *path, const char *peer_path)
{
    size_t plen;
    char *want = peer_get(peer_path, &plen);
    CHECK(want != NULL);
    tc_response r;
    CHECK_INT(get(path, &r), 0);
    char head[256];
    int hl = snprintf(head, sizeof(head), "%d\n%s\n", r.status,
                      tc_header_get(&r, "Content-Type") ? tc_header_get(&r, "Content-Type") : "");
    bool same = want && plen == (size_t)hl + r.body_len && memcmp(want, head, (size_t)hl) == 0 &&
                memcmp(want + hl, r.body, r.body_len) == 0;
    if (!same)
        fprintf(stderr, "  %s differs from the peer's %s:\n--- peer\n%s\n--- phial\n%s%s\n", path,
                peer_path, want ? want : "(none)", head, r.body ? r.body : "");
    CHECK(same);
    CHECK(tc_header_get(&r, "Server") && tc_header_get(&r, "Date"));
    tc_response_free(&r);
    free(want);
}

static void tfb_fortunes_same_bytes_as_peer(void)
{
    tc_response r;
    if (get_ok("/fortunes", "text/html; charset=utf-8", &r) == 0) {
        /* the rules: 12 rows plus the one added at request time, sorted, escaped */
        int rows = 0;
        for (const char *p = r.body; (p = strstr(p, "<tr><td>")); p++)
            rows++;
        CHECK_INT(rows, 13);
        CHECK_CONTAINS(r.body, "<tr><td>0</td><td>Additional fortune added at request time.</td>");
        CHECK_CONTAINS(r.body, "&lt;script&gt;alert(&#34;This should not be displayed");
        CHECK(strstr(r.body, "<tr><td>11</td>") < strstr(r.body, "<tr><td>4</td>"));
        CHECK(strstr(r.body, "フレームワークのベンチマーク") != NULL);
        tc_response_free(&r);
    }
    same_as_peer("/fortunes", "/fortunes");
}

static void bench_pages_same_bytes_as_peer(void)
{
    same_as_peer("/bench/users", "/users");
    same_as_peer("/bench/handlers/1", "/handlers/1");
    tc_response r;
    CHECK_INT(get("/bench/handlers/424242", &r), 0);
    CHECK_INT(r.status, 404);
    tc_response_free(&r);
}

/* /updates?queries=N: N distinct rows, each stored with the number the
 * answer gives; the count is clamped as for /queries. */
static void tfb_updates_write_what_they_answer(void)
{
    static const struct {
        const char *query;
        int rows;
    } cases[] = {{"?queries=abc", 1}, {"?queries=0", 1}, {"?queries=15", 15},
                 {"?queries=501", 500}, {"", 1}};
    static int64_t ids[600], nums[600];
    ph_db *db;
    ph_db_conn *c = db_connect(getenv("DATABASE_URL"), &db);
    CHECK(c != NULL);
    for (size_t i = 0; c && i < PH_COUNTOF(cases); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/updates%s", cases[i].query);
        tc_response r;
        if (get_ok(path, "application/json", &r) != 0)
            continue;
        int n = parse_worlds(r.body, true, ids, nums, 600);
        CHECK_INT(n, cases[i].rows);
        int stored = 0, distinct = 1;
        for (int k = 0; k < n; k++) {
            stored += world_number(c, ids[k]) == nums[k];
            for (int j = 0; j < k; j++)
                distinct = distinct && ids[j] != ids[k];
            CHECK(nums[k] >= 1 && nums[k] <= 10000);
        }
        CHECK_INT(stored, n);
        CHECK(distinct);
        tc_response_free(&r);
    }
    if (c)
        db_disconnect(c, db);
}

/* POSTs a comment form to path with the given extra fields and Cookie. */
static int post_comment(const char *path, const char *fields, const char *cookie, tc_response *r)
{
    char raw[2048];
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: x\r\n%s%s%s"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             path, cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "",
             strlen(fields), fields);
    return tc_request(srv.port, raw, r);
}

/* POST /bench/pets/<id>/comments answers as the peer's comment route
 * (201, "Comment added", text/html) and stores the comment; it checks the
 * CSRF token of the app's pet page, as the benchmark sends it; 404 for an
 * unknown pet, 400 without the field. */
static void bench_comment_like_peer(void)
{
    char cookie[2048], token[256], fields[512];
    CHECK_INT(tc_csrf(srv.port, "/pets/1", cookie, sizeof(cookie), token, sizeof(token)), 0);
    ph_db *db;
    ph_db_conn *c = db_connect(getenv("DATABASE_URL"), &db);
    CHECK(c != NULL);
    const char *count_sql = "SELECT count(*) FROM petcomment WHERE pet_id = 1 AND "
                            "comment_content = 'A very good dog.'";
    int64_t before = -1, after = -1;
    if (c)
        ph_db_query_int(c, count_sql, NULL, 0, &before);
    tc_response r;
    snprintf(fields, sizeof(fields), "comment_content=A+very+good+dog.&csrf_token=%s", token);
    if (post_comment("/bench/pets/1/comments", fields, cookie, &r) == 0) {
        CHECK_INT(r.status, 201);
        CHECK_STR(r.body, "Comment added");
        CHECK_STR(tc_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
        CHECK(tc_header_get(&r, "Server") && tc_header_get(&r, "Date"));
        tc_response_free(&r);
    }
    if (c)
        ph_db_query_int(c, count_sql, NULL, 0, &after);
    CHECK_INT((int)after, (int)before + 1);
    if (post_comment("/bench/pets/9999/comments", fields, cookie, &r) == 0) {
        CHECK_INT(r.status, 404);
        tc_response_free(&r);
    }
    snprintf(fields, sizeof(fields), "other=1&csrf_token=%s", token);
    if (post_comment("/bench/pets/1/comments", fields, cookie, &r) == 0) {
        CHECK_INT(r.status, 400);
        tc_response_free(&r);
    }
    /* no token, or no session cookie: refused, nothing stored */
    if (post_comment("/bench/pets/1/comments", "comment_content=A+very+good+dog.", cookie, &r) ==
        0) {
        CHECK_INT(r.status, 400);
        tc_response_free(&r);
    }
    snprintf(fields, sizeof(fields), "comment_content=A+very+good+dog.&csrf_token=%s", token);
    if (post_comment("/bench/pets/1/comments", fields, NULL, &r) == 0) {
        CHECK_INT(r.status, 400);
        tc_response_free(&r);
    }
    if (c) {
        ph_db_query_int(c, count_sql, NULL, 0, &after);
        CHECK_INT((int)after, (int)before + 1);
        db_disconnect(c, db);
    }
}

static int setup(const char *url)
{
    setenv("DATABASE_URL", url, 1);
    app_cmd("db drop --yes");
    if (app_cmd("db create") != 0 || load_data(url) != 0)
        return -1;
    return tc_server_start(&srv, 1, NULL);
}

static void teardown(void)
{
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
    app_cmd("db drop --yes");
}

static void run_suite(void)
{
    RUN(tfb_json_and_plaintext);
    RUN(tfb_db_answers_a_stored_row);
    RUN(tfb_queries_clamped);
    RUN(tfb_fortunes_same_bytes_as_peer);
    RUN(bench_pages_same_bytes_as_peer);
    RUN(tfb_updates_write_what_they_answer);
    RUN(bench_comment_like_peer);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *dir = getenv("PHIAL_PEERS_DIR");
    const char *top = getenv("PHIAL_TOP");
    snprintf(peers, sizeof(peers), "%s", dir && *dir ? dir : "");
    if (!*peers)
        snprintf(peers, sizeof(peers), "%s/../shared/peers", top && *top ? top : ".");
    char probe[600];
    snprintf(probe, sizeof(probe), "%s/flask/app.py", peers);
    if (access(probe, R_OK) != 0) {
        SKIP(techempower_routes, "the Flask peer is not next to the repository "
                                 "(../shared/peers; or set PHIAL_PEERS_DIR)");
        TEST_END();
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phial-tfb.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    snprintf(sqlite_url, sizeof(sqlite_url), "sqlite:///%s/app.db", tmpdir);
    if (setup(sqlite_url) == 0) {
        run_suite();
        RUN(teardown);
    } else {
        printf("FAIL could not load the data or start the server on SQLite\n");
        ph_t_failed++;
    }
    const char *pg = getenv("PHIAL_TEST_PG_URL");
    if (pg && *pg) {
        /* the peer's answers still come from the SQLite file: same data */
        setenv("DATABASE_URL", sqlite_url, 1);
        app_cmd("db create");
        int loaded = load_data(sqlite_url);
        if (loaded == 0 && setup(pg) == 0) {
            run_suite();
            RUN(teardown);
        } else {
            printf("FAIL could not load the data or start the server on PostgreSQL\n");
            ph_t_failed++;
        }
    } else {
        SKIP(techempower_on_postgresql, "PHIAL_TEST_PG_URL is not set");
    }
    unsetenv("DATABASE_URL");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_END();
}
