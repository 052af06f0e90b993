/*
 * Crash durability on SQLite: 20 rounds of the real server (2 workers x 4
 * threads) taking concurrent registrations and comments from 6 client
 * threads, each round ended by SIGKILL of every server process in the
 * middle of the load.  A write the server acknowledged (200 "User
 * registration successful", a comment's 303 back to the pet) must be in the database
 * afterwards; nothing may be stored twice; PRAGMA integrity_check must say
 * "ok" after every round.  Writes in flight at the kill may or may not be
 * there: they were never acknowledged.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "phial/db.h"
#include "test.h"

#define ROUNDS 20
#define CLIENTS 6
#define MAX_ACKS 200000

static char dir[] = "/tmp/phial-durable-XXXXXX";
static char url[160];

/* Acknowledged writes: "u..." usernames and "c..." comment texts. */
static char *acked[MAX_ACKS];
static atomic_int nacked, nregs;

typedef struct worker_arg {
    int port, round, id;
    atomic_int *stop;
} worker_arg;

static void ack(const char *name)
{
    if (name[0] == 'u')
        atomic_fetch_add(&nregs, 1);
    int i = atomic_fetch_add(&nacked, 1);
    if (i < MAX_ACKS)
        acked[i] = strdup(name);
}

static void *client(void *p)
{
    worker_arg *a = p;
    for (int seq = 0; !atomic_load(a->stop); seq++) {
        char name[64], body[200], raw[512];
        /* registrations hash a password (Argon2id, slow by design): two
           clients register every other request, the rest only comment */
        bool reg = a->id < 2 && seq % 2 == 0;
        if (reg) {
            snprintf(name, sizeof(name), "u%d_%d_%d", a->round, a->id, seq);
            snprintf(body, sizeof(body), "username=%s&email=%s%%40x.io&password=secret-pw", name,
                     name);
        } else {
            snprintf(name, sizeof(name), "c%d_%d_%d", a->round, a->id, seq);
            snprintf(body, sizeof(body), "comment_content=%s", name);
        }
        snprintf(raw, sizeof(raw),
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                 reg ? "/register" : "/pets/1/comments", strlen(body), body);
        tc_response r;
        const char *loc;
        if (tc_request(a->port, raw, &r) != 0)
            continue; /* killed under us: in flight, not acknowledged */
        if ((reg && r.status == 200 && strcmp(r.body, "User registration successful") == 0) ||
            (!reg && r.status == 303 && (loc = tc_header_get(&r, "Location")) &&
             strncmp(loc, "/pets/1", 7) == 0))
            ack(name);
        tc_response_free(&r);
    }
    return NULL;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every username and comment text in the database, sorted; *n set. */
static char **found_names(ph_db_conn *c, size_t *n)
{
    size_t cap = 1024;
    char **out = malloc(cap * sizeof(char *));
    *n = 0;
    static const char *const q[] = {"SELECT username FROM user",
                                    "SELECT comment_content FROM petcomment"};
    for (size_t k = 0; k < 2; k++) {
        ph_db_rows r;
        if (ph_db_query(c, q[k], NULL, 0, &r) != 0)
            continue;
        while (ph_db_rows_next(&r) == 1) {
            size_t len;
            const char *s = ph_db_rows_text(&r, 0, &len);
            if (*n == cap)
                out = realloc(out, (cap *= 2) * sizeof(char *));
            out[(*n)++] = strndup(s, len);
        }
        ph_db_rows_close(&r);
    }
    qsort(out, *n, sizeof(char *), cmpstr);
    return out;
}

/* PRAGMA integrity_check's answer (static buffer). */
static const char *integrity(ph_db_conn *c)
{
    static char res[256];
    ph_db_rows r;
    snprintf(res, sizeof(res), "(query failed)");
    if (ph_db_query(c, "PRAGMA integrity_check", NULL, 0, &r) == 0) {
        if (ph_db_rows_next(&r) == 1) {
            size_t len;
            const char *s = ph_db_rows_text(&r, 0, &len);
            snprintf(res, sizeof(res), "%.*s", (int)len, s);
        }
        ph_db_rows_close(&r);
    }
    return res;
}

static void durability_sigkill_rounds(void)
{
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    char env_url[200];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", url);
    const char *env[] = {env_url, "THREADS=4", "ACCESS_LOG=0", "PHIAL_TEST_CSRF_EXEMPT=1", NULL};
    int bad_integrity = 0, rounds = 0;
    long long t_start = tc_now_ms();
    for (int round = 0; round < ROUNDS; round++) {
        tc_server s;
        if (tc_server_start(&s, 2, env) != 0) {
            CHECK(0);
            break;
        }
        atomic_int stop = 0;
        pthread_t th[CLIENTS];
        worker_arg args[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            args[i] = (worker_arg){.port = s.port, .round = round, .id = i, .stop = &stop};
            pthread_create(&th[i], NULL, client, &args[i]);
        }
        /* the load is running once a write is acknowledged (every fifth
           round: a registration, which hashes a password and is slow);
           the kill then lands at a different point of it each round */
        int before = atomic_load(&nacked), regs_before = atomic_load(&nregs);
        long long deadline = tc_now_ms() + 20000;
        while (tc_now_ms() < deadline &&
               (round % 5 == 0 ? atomic_load(&nregs) == regs_before
                               : atomic_load(&nacked) == before))
            tc_sleep_ms(5);
        tc_sleep_ms(100 + (round * 37) % 300);
        pid_t w[16];
        int nw = tc_server_workers(&s, w, 16);
        kill(s.pid, SIGKILL);
        for (int i = 0; i < nw; i++)
            kill(w[i], SIGKILL);
        atomic_store(&stop, 1);
        for (int i = 0; i < CLIENTS; i++)
            pthread_join(th[i], NULL);
        tc_server_stop(&s, 5000); /* reaps the supervisor */
        for (int i = 0; i < nw; i++) /* workers are gone before the check */
            while (kill(w[i], 0) == 0)
                tc_sleep_ms(5);
        ph_db_conn *c = ph_db_conn_new(db);
        const char *ic = integrity(c);
        if (strcmp(ic, "ok") != 0) {
            printf("  round %d: integrity_check: %s\n", round, ic);
            bad_integrity++;
        }
        ph_db_conn_free(c);
        rounds++;
    }
    ph_db_conn *c = ph_db_conn_new(db);
    size_t nfound;
    char **found = found_names(c, &nfound);
    int n = atomic_load(&nacked);
    CHECK(n <= MAX_ACKS);
    int lost = 0, dups = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++) {
        if (!bsearch(&acked[i], found, nfound, sizeof(char *), cmpstr)) {
            if (lost++ < 5)
                printf("  acknowledged but not found: %s\n", acked[i]);
        }
    }
    for (size_t i = 1; i < nfound; i++)
        dups += strcmp(found[i - 1], found[i]) == 0;
    int regs = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++)
        regs += acked[i][0] == 'u';
    printf("  %d SIGKILL rounds in %lld ms: %d writes acknowledged (%d registrations, %d "
           "comments), %zu found (%zu in flight at a kill and committed), %d lost, %d duplicated, "
           "integrity_check not ok in %d rounds\n",
           rounds, tc_now_ms() - t_start, n, regs, n - regs, nfound, nfound - (size_t)n + lost,
           lost, dups, bad_integrity);
    CHECK_INT(rounds, ROUNDS);
    CHECK(n >= ROUNDS); /* the load did run: every round waited for an acknowledged write */
    CHECK(regs >= ROUNDS / 5);
    CHECK_INT(lost, 0);
    CHECK_INT(dups, 0);
    CHECK_INT(bad_integrity, 0);
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
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    snprintf(url, sizeof(url), "sqlite:///%s/durable.db", dir);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "export DATABASE_URL=%s; %s/app db create >/dev/null && %s/app db add PetHandler "
             "handler_name=Ann >/dev/null && %s/app db add PetCategory pet_name=Rex "
             "pet_category=dog handler_id=1 >/dev/null",
             url, getenv("PHIAL_BUILD"), getenv("PHIAL_BUILD"), getenv("PHIAL_BUILD"));
    if (system(cmd) != 0) {
        printf("FAIL could not create the database\n");
        return 1;
    }
    RUN(durability_sigkill_rounds);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    TEST_END();
}
