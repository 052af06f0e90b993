/*
 * The SQLite WAL stays bounded under sustained mixed load and is gone
 * after shutdown.  The real server (2 workers x 8 threads) on a real
 * SQLite file gets comments posted and pages read by 12 client threads for
 * a few seconds while the WAL's size is sampled; its largest size must
 * stay within the README's bound (SQLITE_WAL_TRUNCATE_PAGES pages of 4 KB,
 * set low here to 100 so a few seconds pass it many times, plus the
 * commits that land while a checkpoint waits), with enough written to have
 * passed that bound several times over.  After SIGTERM the
 * WAL file is removed (or empty).  The same load with the bound off
 * (SQLITE_WAL_TRUNCATE_PAGES=-1: SQLite's passive checkpoint only) is run
 * first and its largest WAL printed, for comparison.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "test.h"

#define LOAD_MS 6000
#define CLIENTS 12
#define BOUND_PAGES 100

static char dir[] = "/tmp/phial-wal-XXXXXX";
static char dbpath[128], walpath[140];

typedef struct load {
    int port;
    atomic_int stop;
    atomic_long writes, reads, errors;
} load;

static void *client(void *arg)
{
    load *l = arg;
    static const char *const reads[] = {"/pets/1", "/users", "/handlers", "/handlers/1"};
    unsigned i = (unsigned)(uintptr_t)pthread_self();
    while (!atomic_load(&l->stop)) {
        i = i * 1103515245u + 12345u;
        tc_response r;
        int rc;
        bool write = (i >> 16) % 3 == 0;
        if (write) {
            const char *body = "comment_content=a+comment+long+enough+to+fill+some+bytes+of+a+page";
            char raw[512];
            snprintf(raw, sizeof(raw),
                     "POST /pets/1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
            rc = tc_request(l->port, raw, &r);
        } else {
            char raw[256];
            snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
                     reads[(i >> 8) % (sizeof(reads) / sizeof(reads[0]))]);
            rc = tc_request(l->port, raw, &r);
        }
        if (rc == 0 && r.status == (write ? 303 : 200)) { /* a comment: back to the pet */
            atomic_fetch_add(write ? &l->writes : &l->reads, 1);
        } else {
            if (atomic_fetch_add(&l->errors, 1) < 3)
                printf("  %s: %s\n", write ? "POST" : "GET",
                       rc == 0 ? r.reason : "no response");
        }
        if (rc == 0)
            tc_response_free(&r);
    }
    return NULL;
}

static long long wal_size(void)
{
    struct stat st;
    return stat(walpath, &st) == 0 ? (long long)st.st_size : -1;
}

/* Runs the load against a fresh database; the largest WAL seen in *max,
 * the WAL after SIGTERM in *after.  0 or -1. */
static int run(const char *bound_env, long long *max, long long *after, long *writes,
               long *errors)
{
    char cmd[1600];
    snprintf(cmd, sizeof(cmd), "rm -f %s %s-wal %s-shm", dbpath, dbpath, dbpath);
    if (system(cmd) != 0)
        return -1;
    char env_url[200];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=sqlite:///%s", dbpath);
    snprintf(cmd, sizeof(cmd),
             "%s %s/app db create >/dev/null && %s %s/app db add PetHandler handler_name=Ann "
             ">/dev/null && %s %s/app db add PetCategory pet_name=Rex pet_category=dog "
             "handler_id=1 >/dev/null",
             env_url, getenv("PHIAL_BUILD"), env_url, getenv("PHIAL_BUILD"), env_url,
             getenv("PHIAL_BUILD"));
    if (system(cmd) != 0)
        return -1;
    const char *env[] = {env_url, "THREADS=8", "ACCESS_LOG=0", bound_env, "PHIAL_TEST_CSRF_EXEMPT=1", NULL};
    tc_server s;
    if (tc_server_start(&s, 2, env) != 0)
        return -1;
    load l = {.port = s.port};
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client, &l);
    *max = 0;
    long long end = tc_now_ms() + LOAD_MS;
    while (tc_now_ms() < end) {
        long long w = wal_size();
        if (w > *max)
            *max = w;
        tc_sleep_ms(10); /* sampling period */
    }
    atomic_store(&l.stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    long long w = wal_size();
    if (w > *max)
        *max = w;
    int rc = tc_server_stop(&s, 15000);
    *after = wal_size();
    *writes = atomic_load(&l.writes);
    *errors = atomic_load(&l.errors);
    printf("  %s: %ld comments and %ld reads in %d ms (%ld failed), largest WAL %lld bytes, "
           "after SIGTERM %lld\n",
           bound_env, *writes, (long)atomic_load(&l.reads), LOAD_MS, *errors, *max, *after);
    return rc == 0 ? 0 : -1;
}

static void wal_bounded_under_load(void)
{
    long long max, after, base_max, base_after;
    long writes, errors;
    CHECK_INT(run("SQLITE_WAL_TRUNCATE_PAGES=-1", &base_max, &base_after, &writes, &errors), 0);
    char bound[64];
    snprintf(bound, sizeof(bound), "SQLITE_WAL_TRUNCATE_PAGES=%d", BOUND_PAGES);
    CHECK_INT(run(bound, &max, &after, &writes, &errors), 0);
    CHECK_INT(errors, 0);
    /* each comment's commit writes at least one 4 KB page: the load wrote
       the bound's worth of WAL at least twice over */
    CHECK(writes >= 2 * BOUND_PAGES);
    /* the bound, plus what the commits of other threads and workers add
       while a truncating checkpoint waits for readers (250 ms at the
       measured commit rate, three pages each, doubled) */
    long long extra = writes * 250 / LOAD_MS * 3 * 2;
    printf("  bound %d pages + %lld pages of commits during a checkpoint wait: %lld bytes "
           "allowed\n",
           BOUND_PAGES, extra, (BOUND_PAGES + extra) * 4096);
    CHECK(max <= (BOUND_PAGES + extra) * 4096);
    CHECK(after <= 0);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/wal.db", dir);
    snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
    RUN(wal_bounded_under_load);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    TEST_END();
}
