/*
 * Database stalls contained, over real sockets against the real server:
 * the harness's throwaway PostgreSQL cluster (PHIAL_TEST_PG_DIR, driven
 * with tests/pg-cluster.sh) is restarted, stopped, started and frozen
 * (SIGSTOP) under `app run`, and a
 * SQLite write lock is held by another connection.  Expected: after a
 * restart every request succeeds (stale connections replaced before use);
 * a stopped, frozen or locked database gives 503 with Retry-After within
 * the configured timeouts, while a page that does not touch the database
 * is answered at once (a handler waiting on the database loses the event
 * loop to another thread after 20 ms); the
 * service recovers as soon as the database does.  Every time is compared
 * with the configured bounds or with another time of the same run.
 */
#include <pthread.h>
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

#define STATEMENT_TIMEOUT_MS 1000
#define CONNECT_TIMEOUT_S 2
#define BUSY_TIMEOUT_MS 500

static char pgdir[256];
static char pgurl[256];
static tc_server srv;

/* Runs a shell command; its exit status. */
static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* pg-cluster.sh VERB on the harness's cluster: 0 or its exit status. */
static int cluster(const char *verb)
{
    const char *top = getenv("PHIAL_TOP");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "sh %s/tests/pg-cluster.sh %s %s >/dev/null 2>&1", top ? top : ".",
             verb, pgdir);
    return sh(cmd);
}

/* The cluster's processes: the postmaster (first line of postmaster.pid)
 * and its children.  Returns how many went into out. */
static int cluster_pids(pid_t *out, int max)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/data/postmaster.pid", pgdir);
    FILE *f = fopen(path, "r");
    long pm = 0;
    if (!f || fscanf(f, "%ld", &pm) != 1) {
        if (f)
            fclose(f);
        return 0;
    }
    fclose(f);
    int n = 0;
    out[n++] = (pid_t)pm;
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "pgrep -P %ld", pm);
    FILE *p = popen(cmd, "r");
    long pid;
    while (p && n < max && fscanf(p, "%ld", &pid) == 1)
        out[n++] = (pid_t)pid;
    if (p)
        pclose(p);
    return n;
}

static void signal_all(const pid_t *pids, int n, int sig)
{
    for (int i = 0; i < n; i++)
        kill(pids[i], sig);
}

static int get(const char *path, tc_response *r)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    return tc_request(srv.port, raw, r);
}

static int post(const char *path, const char *body, tc_response *r)
{
    char raw[1024];
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             path, strlen(body), body);
    return tc_request(srv.port, raw, r);
}

/* One request on a thread, timed. */
typedef struct job {
    const char *path;
    int status;
    char retry_after[16];
    long long ms;
    pthread_t th;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    tc_response r;
    long long t0 = tc_now_ms();
    j->status = get(j->path, &r) == 0 ? r.status : -1;
    j->ms = tc_now_ms() - t0;
    if (j->status > 0) {
        const char *ra = tc_header_get(&r, "Retry-After");
        snprintf(j->retry_after, sizeof(j->retry_after), "%s", ra ? ra : "");
        tc_response_free(&r);
    }
    return NULL;
}

/* n concurrent GETs of path; how many answered want. */
static int concurrent(const char *path, int n, int want)
{
    job jobs[16];
    for (int i = 0; i < n; i++) {
        jobs[i] = (job){.path = path};
        pthread_create(&jobs[i].th, NULL, run_job, &jobs[i]);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(jobs[i].th, NULL);
        ok += jobs[i].status == want;
    }
    return ok;
}

static void stall_pg_restart_stop_start(void)
{
    /* every handler thread gets a connection */
    CHECK_INT(concurrent("/users", 8, 200), 8);
    long long t0 = tc_now_ms();
    CHECK_INT(cluster("restart"), 0);
    printf("  PostgreSQL restarted in %lld ms\n", tc_now_ms() - t0);
    /* the first requests after the restart, on every thread: all served */
    CHECK_INT(concurrent("/users", 8, 200), 8);

    CHECK_INT(cluster("stop"), 0);
    job j = {.path = "/users"};
    run_job(&j);
    printf("  PostgreSQL stopped: /users %d in %lld ms, Retry-After: %s\n", j.status, j.ms,
           j.retry_after);
    CHECK_INT(j.status, 503);
    CHECK(j.retry_after[0] != '\0' && atoi(j.retry_after) > 0);
    CHECK(j.ms < CONNECT_TIMEOUT_S * 1000 + 2000);
    tc_response r;
    CHECK_INT(get("/", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);

    CHECK_INT(cluster("start-existing"), 0);
    CHECK_INT(concurrent("/users", 8, 200), 8);
}

static void stall_pg_frozen(void)
{
    CHECK_INT(concurrent("/users", 8, 200), 8);
    pid_t pids[64];
    int n = cluster_pids(pids, 64);
    CHECK(n >= 2);
    /* whatever happens below, the cluster is thawed in 20 s */
    pid_t watchdog = fork();
    if (watchdog == 0) {
        sleep(20);
        signal_all(pids, n, SIGCONT);
        _exit(0);
    }
    signal_all(pids, n, SIGSTOP);
    job stuck = {.path = "/users"};
    pthread_create(&stuck.th, NULL, run_job, &stuck);
    tc_sleep_ms(200); /* pacing: let /users reach the database first */
    job hello = {.path = "/"};
    run_job(&hello);
    pthread_join(stuck.th, NULL);
    printf("  PostgreSQL frozen: /users %d in %lld ms (Retry-After: %s), meanwhile / %d in %lld "
           "ms\n",
           stuck.status, stuck.ms, stuck.retry_after, hello.status, hello.ms);
    CHECK_INT(stuck.status, 503);
    CHECK(stuck.retry_after[0] != '\0');
    /* given up within the statement timeout + grace (+ slack), not hung */
    CHECK(stuck.ms >= STATEMENT_TIMEOUT_MS);
    CHECK(stuck.ms < STATEMENT_TIMEOUT_MS + PH_DB_TIMEOUT_GRACE_MS + 3000);
    CHECK_INT(hello.status, 200);
    CHECK(hello.ms * 2 < stuck.ms);
    /* still frozen: a new connection gives up within the connect timeout */
    job again = {.path = "/users"};
    run_job(&again);
    printf("  still frozen: /users %d in %lld ms\n", again.status, again.ms);
    CHECK_INT(again.status, 503);
    CHECK(again.ms < CONNECT_TIMEOUT_S * 1000 + STATEMENT_TIMEOUT_MS + PH_DB_TIMEOUT_GRACE_MS +
                         3000);
    signal_all(pids, n, SIGCONT);
    kill(watchdog, SIGKILL);
    waitpid(watchdog, NULL, 0);
    /* thawed: served again at once */
    CHECK_INT(concurrent("/users", 4, 200), 4);
}

static void stall_sqlite_lock(void)
{
    char dir[] = "/tmp/phial-stall-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char url[160], env_url[200];
    snprintf(url, sizeof(url), "sqlite:///%s/app.db", dir);
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", url);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "DATABASE_URL=%s %s/app db create >/dev/null 2>&1", url,
             getenv("PHIAL_BUILD"));
    CHECK_INT(sh(cmd), 0);
    char busy[64];
    snprintf(busy, sizeof(busy), "SQLITE_BUSY_TIMEOUT_MS=%d", BUSY_TIMEOUT_MS);
    const char *env[] = {env_url, busy, "THREADS=4", "ACCESS_LOG=0", "PHIAL_TEST_CSRF_EXEMPT=1", NULL};
    tc_server s2;
    CHECK_INT(tc_server_start(&s2, 1, env), 0);
    tc_server saved = srv;
    srv = s2;
    /* another process-like holder of the write lock */
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *holder = ph_db_conn_new(db);
    CHECK_INT(ph_db_begin(holder, true), 0);
    tc_response r;
    long long t0 = tc_now_ms();
    CHECK_INT(post("/register", "username=locked&email=l%40x.io&password=pw123456", &r), 0);
    long long ms = tc_now_ms() - t0;
    printf("  SQLite write lock held elsewhere: /register %d in %lld ms (busy timeout %d ms), "
           "Retry-After: %s\n",
           r.status, ms, BUSY_TIMEOUT_MS,
           tc_header_get(&r, "Retry-After") ? tc_header_get(&r, "Retry-After") : "none");
    CHECK_INT(r.status, 503);
    CHECK(tc_header_get(&r, "Retry-After") != NULL);
    CHECK(ms >= BUSY_TIMEOUT_MS - 50);
    CHECK(ms < BUSY_TIMEOUT_MS * 10);
    tc_response_free(&r);
    /* reads go on meanwhile (WAL) */
    CHECK_INT(get("/users", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    CHECK_INT(ph_db_rollback(holder), 0);
    CHECK_INT(post("/register", "username=unlocked&email=u%40x.io&password=pw123456", &r), 0);
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    int64_t n = -1;
    CHECK_INT(ph_db_query_int(holder, "SELECT count(*) FROM user", NULL, 0, &n), 0);
    CHECK_INT(n, 1); /* the refused registration wrote nothing */
    ph_db_conn_free(holder);
    ph_db_close(db);
    srv = saved;
    CHECK_INT(tc_server_stop(&s2, 10000), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    sh(cmd);
}

/* Runs one statement on the database at url (a fresh connection). */
static int pg_exec(const char *url, const char *sql)
{
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    int rc = c ? ph_db_exec_script(c, sql) : -1;
    if (rc)
        fprintf(stderr, "  %s: %s\n", sql, c ? ph_db_errmsg(c) : "");
    ph_db_conn_free(c);
    ph_db_close(db);
    return rc;
}

int main(void)
{
    RUN(stall_sqlite_lock);
    /* the harness's own throwaway cluster, which this test may stop,
       restart and freeze (the tests run one after another) */
    const char *url = getenv("PHIAL_TEST_PG_URL"), *dir = getenv("PHIAL_TEST_PG_DIR");
    if (!url || !*url || !dir || !*dir) {
        SKIP(stall_pg_restart_stop_start, "PHIAL_TEST_PG_URL/PHIAL_TEST_PG_DIR are not set");
        SKIP(stall_pg_frozen, "PHIAL_TEST_PG_URL/PHIAL_TEST_PG_DIR are not set");
        TEST_END();
    }
    snprintf(pgdir, sizeof(pgdir), "%s", dir);
    /* a database of this test's own in that cluster */
    const char *slash = strrchr(url, '/');
    snprintf(pgurl, sizeof(pgurl), "%.*s/phial_stalls", (int)(slash - url), url);
    pg_exec(url, "DROP DATABASE IF EXISTS phial_stalls");
    char env_url[300], st[64], ct[64];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", pgurl);
    snprintf(st, sizeof(st), "DATABASE_STATEMENT_TIMEOUT_MS=%d", STATEMENT_TIMEOUT_MS);
    snprintf(ct, sizeof(ct), "DATABASE_CONNECT_TIMEOUT=%d", CONNECT_TIMEOUT_S);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "DATABASE_URL='%s' %s/app db create >/dev/null 2>&1", pgurl,
             getenv("PHIAL_BUILD"));
    const char *env[] = {env_url, st, ct, "THREADS=4", "ACCESS_LOG=0", "PHIAL_TEST_CSRF_EXEMPT=1", NULL};
    if (pg_exec(url, "CREATE DATABASE phial_stalls") != 0 || sh(cmd) != 0 ||
        tc_server_start(&srv, 1, env) != 0) {
        printf("FAIL could not start the server on PostgreSQL\n");
        ph_t_failed++;
    } else {
        RUN(stall_pg_restart_stop_start);
        RUN(stall_pg_frozen);
        int rc = tc_server_stop(&srv, 15000);
        if (rc != 0) {
            printf("FAIL server exit status %d\n", rc);
            ph_t_failed++;
        }
    }
    /* the cluster is left running, as the harness started it */
    pid_t pids[4];
    if (cluster_pids(pids, 1) == 0 || kill(pids[0], 0) != 0)
        cluster("start-existing");
    pg_exec(url, "DROP DATABASE IF EXISTS phial_stalls");
    TEST_END();
}
