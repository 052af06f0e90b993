/*
 * Scale-out: two `app run` instances on different ports of 127.0.0.1
 * behind nginx (started here with a generated config in a temp folder)
 * against one PostgreSQL (a database of this test's own in the harness's
 * cluster).  The tutorial's flow works through the balancer, with both
 * instances answering; then, under a load of comment posts from 8 client
 * threads, one instance is SIGKILLed: only the requests in flight on it
 * may fail (at most one per client), the balancer sends the rest to the
 * other instance, and every acknowledged write is in the database exactly
 * once.  CSRF is on, as in production: every form is posted with the
 * session cookie and token of a page fetched through the balancer, so
 * whichever instance answers checks what the other signed; and a token
 * and cookie from instance A are accepted by B directly, its flash shown
 * by A.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "phial/db.h"
#include "test.h"

#define CLIENTS 8
#define MAX_ACKS 100000

static char dir[] = "/tmp/phial-scaleout-XXXXXX";
static char pgurl[256];
static int lb_port;
static pid_t nginx_pid = -1;
static tc_server inst[2];

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int pg_exec(const char *url, const char *sql)
{
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    int rc = c ? ph_db_exec_script(c, sql) : -1;
    ph_db_conn_free(c);
    ph_db_close(db);
    return rc;
}

/* Rows in the contact table of the test's database, or -1. */
static int count_contacts(void)
{
    ph_db_config cfg = {.url = pgurl};
    ph_db *db = NULL;
    char err[200];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_rows rows;
    int n = -1;
    if (c && ph_db_query(c, "SELECT count(*) FROM contact", NULL, 0, &rows) == 0) {
        if (ph_db_rows_next(&rows) == 1)
            n = (int)ph_db_rows_int(&rows, 0);
        ph_db_rows_close(&rows);
    }
    ph_db_conn_free(c);
    ph_db_close(db);
    return n;
}

/* Writes the nginx config and starts nginx in the foreground; waits until
 * it accepts connections.  0 or -1. */
static int nginx_start(void)
{
    lb_port = tc_free_port();
    char path[128];
    snprintf(path, sizeof(path), "%s/nginx.conf", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "daemon off;\nworker_processes 1;\n%s"
            "error_log %s/error.log warn;\npid %s/nginx.pid;\n"
            "events { worker_connections 512; }\n"
            "http {\n  access_log off;\n"
            "  client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
            "  fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
            "  upstream phial {\n"
            "    server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n"
            "    server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n"
            "  }\n"
            "  server {\n    listen 127.0.0.1:%d;\n"
            "    location / {\n      proxy_pass http://phial;\n"
            "      proxy_set_header Host $host;\n"
            "      proxy_connect_timeout 2s;\n"
            /* a refused connect goes to the other instance; a request
               already sent (POST) is never sent twice */
            "      proxy_next_upstream error timeout;\n    }\n  }\n}\n",
            getuid() == 0 ? "user root;\n" : "", dir, dir, dir, dir, dir, dir, dir,
            inst[0].port, inst[1].port, lb_port);
    fclose(f);
    nginx_pid = fork();
    if (nginx_pid == 0) {
        execl("/usr/sbin/nginx", "nginx", "-q", "-p", dir, "-c", path, (char *)NULL);
        _exit(127);
    }
    long long deadline = tc_now_ms() + 10000;
    while (tc_now_ms() < deadline) {
        tc_conn c;
        if (tc_connect(&c, lb_port) == 0) {
            tc_close(&c);
            return 0;
        }
        if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
            nginx_pid = -1;
            return -1;
        }
        tc_sleep_ms(10);
    }
    return -1;
}

static void nginx_stop(void)
{
    if (nginx_pid <= 0)
        return;
    kill(nginx_pid, SIGTERM);
    waitpid(nginx_pid, NULL, 0);
    nginx_pid = -1;
}

/* One request to port, with a session cookie (NULL: none) and a form body
 * (NULL: none), then close.  0 or -1. */
static int request_to(int port, const char *method, const char *path, const char *cookie,
                      const char *body, tc_response *r)
{
    char raw[8192];
    int n = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s",
                     method, path, cookie ? "Cookie: " : "", cookie ? cookie : "",
                     cookie ? "\r\n" : "");
    if (body)
        n += snprintf(raw + n, sizeof(raw) - (size_t)n,
                      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
                      strlen(body));
    n += snprintf(raw + n, sizeof(raw) - (size_t)n, "\r\n%s", body ? body : "");
    if (n <= 0 || (size_t)n >= sizeof(raw))
        return -1;
    return tc_request(port, raw, r);
}

static int request(const char *method, const char *path, const char *body, tc_response *r)
{
    return request_to(lb_port, method, path, NULL, body, r);
}

/* Posts fields to action as a browser does: the session cookie and CSRF
 * token of the page `form_page`, fetched through the balancer first (so
 * the two requests may well be answered by different instances). */
static int form_post(const char *form_page, const char *action, const char *fields,
                     tc_response *r)
{
    char cookie[4200], token[128], body[1024];
    if (tc_csrf(lb_port, form_page, cookie, sizeof(cookie), token, sizeof(token)) != 0)
        return -1;
    snprintf(body, sizeof(body), "csrf_token=%s&%s", token, fields);
    return request_to(lb_port, "POST", action, cookie, body, r);
}

/* How many requests an instance's access log shows. */
static int served(const tc_server *s)
{
    char *log = tc_server_log(s);
    int n = 0;
    for (char *p = log; p && (p = strstr(p, "HTTP/1.")); p++)
        n++;
    free(log);
    return n;
}

static void scaleout_tutorial_flow(void)
{
    int before[2] = {served(&inst[0]), served(&inst[1])};
    tc_response r;
    for (int i = 0; i < 4; i++) {
        CHECK_INT(request("GET", "/", NULL, &r), 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "Hello world");
        tc_response_free(&r);
    }
    CHECK_INT(form_post("/register", "/register",
                        "username=Demo+User&email=demo%40x.io&password=s3cret-pw", &r),
              0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "User registration successful");
    tc_response_free(&r);
    for (int i = 0; i < 2; i++) { /* whichever instance answers sees it */
        CHECK_INT(request("GET", "/users", NULL, &r), 0);
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "Demo User");
        tc_response_free(&r);
    }
    CHECK_INT(form_post("/handlers", "/handlers", "handler_name=Ann", &r), 0);
    CHECK_INT(r.status, 303);
    const char *loc = tc_header_get(&r, "Location");
    char handler[128] = "";
    snprintf(handler, sizeof(handler), "%s", loc ? loc : "");
    tc_response_free(&r);
    CHECK(strncmp(handler, "/handlers/", 10) == 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/pets", handler);
    CHECK_INT(form_post(handler, path, "pet_name=Rex&pet_category=dog&tags=good", &r), 0);
    CHECK_INT(r.status, 303);
    loc = tc_header_get(&r, "Location");
    char pet[128] = "";
    snprintf(pet, sizeof(pet), "%s", loc ? loc : "");
    tc_response_free(&r);
    CHECK(strncmp(pet, "/pets/", 6) == 0);
    snprintf(path, sizeof(path), "%s/comments", pet);
    CHECK_INT(form_post(pet, path, "comment_content=first+comment", &r), 0);
    CHECK_INT(r.status, 303); /* back to the pet's page */
    tc_response_free(&r);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(request("GET", pet, NULL, &r), 0);
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "first comment");
        CHECK_CONTAINS(r.body, "Ann");
        tc_response_free(&r);
        CHECK_INT(request("GET", handler, NULL, &r), 0);
        CHECK_INT(r.status, 200);
        CHECK_CONTAINS(r.body, "Rex");
        tc_response_free(&r);
    }
    int after[2] = {served(&inst[0]), served(&inst[1])};
    printf("  tutorial flow through nginx: instance A served %d requests, B %d\n",
           after[0] - before[0], after[1] - before[1]);
    CHECK(after[0] > before[0]);
    CHECK(after[1] > before[1]);
}

/* A form page served by instance A, posted straight to B: B accepts A's
 * token and cookie (one SECRET_KEY), and the flash B stores in the cookie
 * is shown by A; a token with another session's cookie is refused by
 * either, and nothing of it stored. */
static void scaleout_session_and_csrf_across_instances(void)
{
    char cookie[4200], token[128], other[4200], other_token[128], body[512], next[4200];
    tc_response r;
    int before = count_contacts();
    CHECK_INT(tc_csrf(inst[0].port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    CHECK_INT(tc_csrf(inst[0].port, "/contact", other, sizeof(other), other_token,
                      sizeof(other_token)),
              0);
    /* A's token with the cookie of another session, at B: refused */
    snprintf(body, sizeof(body), "csrf_token=%s&name=Eve&email=eve%%40x.io&message=forged",
             token);
    CHECK_INT(request_to(inst[1].port, "POST", "/contact", other, body, &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    CHECK_INT(count_contacts(), before);
    /* with its own cookie: accepted by B, stored, a redirect and a flash */
    snprintf(body, sizeof(body), "csrf_token=%s&name=Ann&email=ann%%40x.io&message=from+A+to+B",
             token);
    CHECK_INT(request_to(inst[1].port, "POST", "/contact", cookie, body, &r), 0);
    CHECK_INT(r.status, 303);
    char value[4096] = "";
    CHECK_INT(tc_set_cookie(&r, "session", value, sizeof(value)), 0);
    tc_response_free(&r);
    CHECK_INT(count_contacts(), before + 1);
    snprintf(next, sizeof(next), "session=%s", value);
    /* A shows B's flash, once */
    CHECK_INT(request_to(inst[0].port, "GET", "/contact", next, NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "Thank you, your message has been sent.");
    CHECK(tc_set_cookie(&r, "session", value, sizeof(value)) == 0);
    tc_response_free(&r);
    snprintf(next, sizeof(next), "session=%s", value);
    CHECK_INT(request_to(inst[1].port, "GET", "/contact", next, NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "Thank you, your message has been sent.") == NULL);
    tc_response_free(&r);
}

static char *acked[MAX_ACKS];
static atomic_int nacked, nfailed, after_kill_ok;
static atomic_int stop, killed;

static void *load_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    /* a browser's session: its cookie and token from the pet's page, sent
       with every comment whichever instance answers */
    char cookie[4200], token[128];
    if (tc_csrf(lb_port, "/pets/1", cookie, sizeof(cookie), token, sizeof(token)) != 0) {
        atomic_fetch_add(&nfailed, 1);
        return NULL;
    }
    for (int seq = 0; !atomic_load(&stop); seq++) {
        char text[64], body[256];
        snprintf(text, sizeof(text), "load_%d_%d", id, seq);
        snprintf(body, sizeof(body), "csrf_token=%s&comment_content=%s", token, text);
        int was_killed = atomic_load(&killed);
        tc_response r;
        int rc = request_to(lb_port, "POST", "/pets/1/comments", cookie, body, &r);
        if (rc == 0 && r.status == 303) { /* stored: back to the pet's page */
            int i = atomic_fetch_add(&nacked, 1);
            if (i < MAX_ACKS)
                acked[i] = strdup(text);
            if (was_killed)
                atomic_fetch_add(&after_kill_ok, 1);
        } else {
            atomic_fetch_add(&nfailed, 1);
        }
        if (rc == 0)
            tc_response_free(&r);
    }
    return NULL;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scaleout_instance_killed_under_load(void)
{
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, load_client, (void *)(intptr_t)i);
    long long deadline = tc_now_ms() + 20000;
    while (atomic_load(&nacked) < 50 && tc_now_ms() < deadline)
        tc_sleep_ms(5);
    int acked_before = atomic_load(&nacked);
    pid_t w[8];
    int nw = tc_server_workers(&inst[0], w, 8);
    atomic_store(&killed, 1);
    kill(inst[0].pid, SIGKILL);
    for (int i = 0; i < nw; i++)
        kill(w[i], SIGKILL);
    /* the load goes on against the survivor */
    deadline = tc_now_ms() + 20000;
    while (atomic_load(&after_kill_ok) < 100 && tc_now_ms() < deadline)
        tc_sleep_ms(5);
    atomic_store(&stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    tc_server_stop(&inst[0], 5000); /* reaps the killed supervisor */
    int n = atomic_load(&nacked), failed = atomic_load(&nfailed);

    /* every acknowledged comment is there once */
    ph_db_config cfg = {.url = pgurl};
    ph_db *db = NULL;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_rows rows;
    size_t nfound = 0, cap = 1024;
    char **found = malloc(cap * sizeof(char *));
    CHECK_INT(ph_db_query(c, "SELECT comment_content FROM petcomment WHERE comment_content LIKE "
                             "'load\\_%' ESCAPE '\\'",
                          NULL, 0, &rows),
              0);
    while (ph_db_rows_next(&rows) == 1) {
        size_t len;
        const char *s = ph_db_rows_text(&rows, 0, &len);
        if (nfound == cap)
            found = realloc(found, (cap *= 2) * sizeof(char *));
        found[nfound++] = strndup(s, len);
    }
    ph_db_rows_close(&rows);
    qsort(found, nfound, sizeof(char *), cmpstr);
    int lost = 0, dups = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++)
        lost += bsearch(&acked[i], found, nfound, sizeof(char *), cmpstr) == NULL;
    for (size_t i = 1; i < nfound; i++)
        dups += strcmp(found[i - 1], found[i]) == 0;
    printf("  one instance SIGKILLed under %d clients: %d comments acknowledged (%d before the "
           "kill, %d after), %d requests failed, %zu found, %d lost, %d duplicated\n",
           CLIENTS, n, acked_before, atomic_load(&after_kill_ok), failed, nfound, lost, dups);
    CHECK(acked_before >= 50);
    CHECK(atomic_load(&after_kill_ok) >= 100);
    CHECK(failed <= CLIENTS); /* only what was in flight on the killed one */
    CHECK_INT(lost, 0);
    CHECK_INT(dups, 0);
    CHECK(nfound >= (size_t)n);
    for (size_t i = 0; i < nfound; i++)
        free(found[i]);
    free(found);
    for (int i = 0; i < n && i < MAX_ACKS; i++)
        free(acked[i]);
    ph_db_conn_free(c);
    ph_db_close(db);
}

int main(void)
{
    const char *url = getenv("PHIAL_TEST_PG_URL");
    struct stat st;
    if (!url || !*url) {
        SKIP(scaleout_tutorial_flow, "PHIAL_TEST_PG_URL is not set");
        SKIP(scaleout_session_and_csrf_across_instances, "PHIAL_TEST_PG_URL is not set");
        SKIP(scaleout_instance_killed_under_load, "PHIAL_TEST_PG_URL is not set");
        TEST_END();
    }
    if (stat("/usr/sbin/nginx", &st) != 0) {
        SKIP(scaleout_tutorial_flow, "nginx is not installed (tools/deps.sh installs it)");
        SKIP(scaleout_session_and_csrf_across_instances, "nginx is not installed");
        SKIP(scaleout_instance_killed_under_load, "nginx is not installed");
        TEST_END();
    }
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    const char *slash = strrchr(url, '/');
    snprintf(pgurl, sizeof(pgurl), "%.*s/phial_scaleout", (int)(slash - url), url);
    pg_exec(url, "DROP DATABASE IF EXISTS phial_scaleout");
    char env_url[300], cmd[1024];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", pgurl);
    snprintf(cmd, sizeof(cmd), "DATABASE_URL='%s' %s/app db create >/dev/null 2>&1", pgurl,
             getenv("PHIAL_BUILD"));
    const char *env[] = {env_url, "THREADS=4", NULL};
    if (pg_exec(url, "CREATE DATABASE phial_scaleout") != 0 || sh(cmd) != 0 ||
        tc_server_start(&inst[0], 1, env) != 0 || tc_server_start(&inst[1], 1, env) != 0 ||
        nginx_start() != 0) {
        printf("FAIL could not start the instances and nginx\n");
        ph_t_failed++;
    } else {
        RUN(scaleout_tutorial_flow);
        RUN(scaleout_session_and_csrf_across_instances);
        RUN(scaleout_instance_killed_under_load);
    }
    nginx_stop();
    tc_server_stop(&inst[0], 5000);
    if (inst[1].pid > 0 && tc_server_stop(&inst[1], 15000) != 0) {
        printf("FAIL the surviving instance did not stop cleanly\n");
        ph_t_failed++;
    }
    pg_exec(url, "DROP DATABASE IF EXISTS phial_scaleout");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    sh(cmd);
    TEST_END();
}
