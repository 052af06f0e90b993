/*
 * One registration.db shared by the Flask version of the tutorial (the
 * peer in ../shared/peers/flask, served by Werkzeug through
 * flask_serve.py) and Phial, both servers really running: the file is made
 * by Flask (its create_all) and a user registered through Flask; `app run`
 * on it refuses to start, naming `db create`, instead of answering 500
 * later; `db create` adds only Phial's own tables, the tutorial's tables
 * left exactly as Flask made them; then Phial lists the Flask user (never
 * its password), a user registered through Phial is listed by Flask, a
 * handler and pet added through Phial show on Flask's handler page, and a
 * comment posted to Flask shows on Phial's pet page.  Skipped when the
 * peer or Debian's Flask-SQLAlchemy is not there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "test.h"

static char dir[] = "/tmp/phial-flask-shared-XXXXXX";
static char db_url[200], peer_dir[600];
static pid_t flask_pid = -1;
static int flask_port;
static tc_server srv;

/* Runs `app ARGS` on the shared file; its output (malloc'd), exit status
 * in *st. */
static char *app_cmd(const char *args, int *st)
{
    const char *b = getenv("PHIAL_BUILD");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "DATABASE_URL='%s' %s/app %s 2>&1", db_url, b ? b : "build", args);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    if (!p || !out) {
        if (p)
            pclose(p);
        *st = -1;
        return out;
    }
    size_t n = fread(out, 1, 65535, p);
    (void)n;
    int s = pclose(p);
    *st = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
    return out;
}

/* The CREATE statement of a table in the shared file, via the sqlite3
 * shell (malloc'd, "" when absent). */
static char *table_sql(const char *table)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s/registration.db' \"SELECT sql FROM sqlite_master "
             "WHERE name = '%s'\" 2>&1",
             dir, table);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 8192);
    if (p && out) {
        size_t n = fread(out, 1, 8191, p);
        (void)n;
    }
    if (p)
        pclose(p);
    return out;
}

static int flask_start(void)
{
    const char *top = getenv("PHIAL_TOP");
    char script[700], port[16], log[200];
    snprintf(script, sizeof(script), "%s/tests/integration/flask_serve.py",
             top && *top ? top : ".");
    snprintf(log, sizeof(log), "%s/flask.log", dir);
    flask_port = tc_free_port();
    snprintf(port, sizeof(port), "%d", flask_port);
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (tc_child_setup(parent, log) < 0)
            _exit(127);
        setenv("DATABASE_URL", db_url, 1);
        if (chdir(dir) != 0)
            _exit(127);
        execl("/usr/bin/python3", "python3", script, peer_dir, port, (char *)NULL);
        _exit(127);
    }
    flask_pid = pid;
    for (long long end = tc_now_ms() + 30000; tc_now_ms() < end; tc_sleep_ms(20)) {
        tc_conn c;
        if (tc_connect(&c, flask_port) == 0) {
            tc_close(&c);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            flask_pid = -1;
            return -1;
        }
    }
    return -1;
}

static void flask_stop(void)
{
    if (flask_pid <= 0)
        return;
    kill(flask_pid, SIGTERM);
    waitpid(flask_pid, NULL, 0);
    flask_pid = -1;
}

static int get(int port, const char *path, tc_response *r)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    return tc_request(port, raw, r);
}

/* A form POST; with token, first the session cookie and CSRF token of a
 * Phial form page, as a browser would have them. */
static int post(int port, const char *path, const char *body, bool token, tc_response *r)
{
    char cookie[4200] = "", tok[128] = "", raw[8192], hdr[4300] = "";
    if (token) {
        if (tc_csrf(port, "/register", cookie, sizeof(cookie), tok, sizeof(tok)) < 0)
            return -1;
        snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", cookie);
    }
    char full[1024];
    snprintf(full, sizeof(full), "%s%s%s%s", token ? "csrf_token=" : "", tok, token ? "&" : "",
             body);
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\n%sContent-Length: %zu\r\n\r\n%s",
             path, hdr, strlen(full), full);
    return tc_request(port, raw, r);
}

static char *user_sql_before;

static void flask_makes_the_file_and_registers(void)
{
    tc_response r;
    CHECK_INT(post(flask_port, "/register",
                   "username=flask_user&email=flask%40example.com&password=flask-pw", false, &r),
              0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "User registration successful");
    tc_response_free(&r);
    user_sql_before = table_sql("user");
    CHECK_CONTAINS(user_sql_before, "CREATE TABLE");
}

static void phial_refuses_to_serve_it_until_db_create(void)
{
    int st;
    char *out = app_cmd("run --port 1", &st);
    CHECK_INT(st, 1);
    CHECK_CONTAINS(out, "lacks the tables");
    CHECK_CONTAINS(out, "db create");
    free(out);
    out = app_cmd("db create", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "contact");
    free(out);
    /* the tutorial's tables are as Flask made them */
    char *after = table_sql("user");
    CHECK_STR(after, user_sql_before);
    free(after);
}

static void both_list_each_others_users(void)
{
    char env_url[220];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", db_url);
    const char *env[] = {env_url, "ACCESS_LOG=0", NULL};
    CHECK_INT(tc_server_start(&srv, 1, env), 0);
    tc_response r;
    CHECK_INT(get(srv.port, "/users", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<td>flask_user</td><td>flask@example.com</td>");
    CHECK(r.body && !strstr(r.body, "flask-pw"));
    tc_response_free(&r);
    CHECK_INT(post(srv.port, "/register",
                   "username=phial_user&email=phial%40example.com&password=phial-pw-123", true, &r),
              0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK_INT(get(flask_port, "/users", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<td>phial_user</td><td>phial@example.com</td>");
    CHECK_CONTAINS(r.body, "<td>flask_user</td>");
    tc_response_free(&r);
}

static void pets_and_comments_cross_over(void)
{
    tc_response r;
    CHECK_INT(post(srv.port, "/handlers", "handler_name=Shared", true, &r), 0);
    CHECK_INT(r.status, 303);
    char handler[64], pets[80], pet[64];
    snprintf(handler, sizeof(handler), "%s",
             tc_header_get(&r, "Location") ? tc_header_get(&r, "Location") : "");
    tc_response_free(&r);
    snprintf(pets, sizeof(pets), "%s/pets", handler);
    CHECK_INT(post(srv.port, pets, "pet_name=Rex&pet_category=dog&tags=shared", true, &r), 0);
    CHECK_INT(r.status, 303);
    snprintf(pet, sizeof(pet), "%s",
             tc_header_get(&r, "Location") ? tc_header_get(&r, "Location") : "");
    tc_response_free(&r);
    CHECK_INT(get(flask_port, handler, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<h1>Shared</h1>");
    CHECK_CONTAINS(r.body, "<li>Rex (dog)</li>");
    tc_response_free(&r);
    char comments[80];
    snprintf(comments, sizeof(comments), "%s/comments", pet);
    CHECK_INT(post(flask_port, comments, "comment_content=Hello+from+Flask", false, &r), 0);
    CHECK_INT(r.status, 201);
    tc_response_free(&r);
    CHECK_INT(get(srv.port, pet, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<li>Hello from Flask</li>");
    CHECK_CONTAINS(r.body, "<li class=\"tag\">shared</li>");
    tc_response_free(&r);
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *top = getenv("PHIAL_TOP");
    const char *peers = getenv("PHIAL_PEERS_DIR");
    if (peers && *peers)
        snprintf(peer_dir, sizeof(peer_dir), "%s/flask", peers);
    else
        snprintf(peer_dir, sizeof(peer_dir), "%s/../shared/peers/flask", top && *top ? top : ".");
    char app_py[700];
    snprintf(app_py, sizeof(app_py), "%s/app.py", peer_dir);
    if (access(app_py, R_OK) != 0) {
        SKIP(flask_shared_database, "the Flask peer (../shared/peers/flask) is not here");
        TEST_END();
    }
    if (system("/usr/bin/python3 -c 'import flask_sqlalchemy' >/dev/null 2>&1") != 0) {
        SKIP(flask_shared_database, "python3-flask-sqlalchemy is not installed (make deps-test)");
        TEST_END();
    }
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        ph_t_failed++;
        TEST_END();
    }
    snprintf(db_url, sizeof(db_url), "sqlite:///%s/registration.db", dir);
    if (flask_start() != 0) {
        printf("FAIL the Flask peer did not start (see %s/flask.log)\n", dir);
        ph_t_failed++;
        TEST_END();
    }
    RUN(flask_makes_the_file_and_registers);
    RUN(phial_refuses_to_serve_it_until_db_create);
    RUN(both_list_each_others_users);
    RUN(pets_and_comments_cross_over);
    flask_stop();
    free(user_sql_before);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    TEST_END();
}
