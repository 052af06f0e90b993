/*
 * The pet page shows a pet's comments a page (50) at a time, over the real
 * server on a real SQLite file: page 1 holds the oldest 50 and links to
 * the next, the last page the rest and a link back; a page that is not a
 * whole number from 1, or past the last, is a 404.  The page runs the same
 * number of statements (X-Query-Count, DEBUG=1) for 120 comments as for
 * 3,000, and posting a comment to a pet with 3,000 runs no more statements
 * than to a pet with none: neither loads the whole collection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "phial/db.h"
#include "test.h"

static char dir[] = "/tmp/phial-petpages-XXXXXX";
static char url[160];
static tc_server srv;

static int get(const char *path, tc_response *r)
{
    char raw[256];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    return tc_request(srv.port, raw, r);
}

static long query_count(const tc_response *r)
{
    const char *v = tc_header_get(r, "X-Query-Count");
    return v ? atol(v) : -1;
}

/* Adds n comments "comment <i>" to pet `pet` directly in the database. */
static int add_comments(int pet, int n)
{
    ph_db_config cfg = {.url = url};
    ph_db *db = NULL;
    char err[200];
    if (ph_db_open(&cfg, &db, err, sizeof(err)) != 0)
        return -1;
    ph_db_conn *c = ph_db_conn_new(db);
    int rc = ph_db_begin(c, true);
    for (int i = 0; rc == 0 && i < n; i++) {
        char text[32];
        snprintf(text, sizeof(text), "comment %d.", i);
        rc = ph_db_exec(c, "INSERT INTO petcomment (comment_content, pet_id) VALUES (?, ?)",
                        (ph_val[]){PH_STR(text), PH_INT(pet)}, 2);
    }
    rc = rc ? rc : ph_db_commit(c);
    ph_db_conn_free(c);
    ph_db_close(db);
    return rc;
}

static void pet_page_paginates(void)
{
    CHECK_INT(add_comments(1, 120), 0);
    tc_response r;
    CHECK_INT(get("/pets/1", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "comment 0.");
    CHECK_CONTAINS(r.body, "comment 49.");
    CHECK(r.body && !strstr(r.body, "comment 50."));
    CHECK_CONTAINS(r.body, "Page 1 of 3");
    CHECK_CONTAINS(r.body, "href=\"/pets/1?page=2\"");
    CHECK_CONTAINS(r.body, "(120)");
    long q120 = query_count(&r);
    tc_response_free(&r);
    CHECK_INT(get("/pets/1?page=3", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "comment 100.");
    CHECK_CONTAINS(r.body, "comment 119.");
    CHECK(r.body && !strstr(r.body, "comment 99."));
    CHECK_CONTAINS(r.body, "Page 3 of 3");
    CHECK_CONTAINS(r.body, "href=\"/pets/1?page=2\"");
    tc_response_free(&r);
    static const char *const bad[] = {"/pets/1?page=4", "/pets/1?page=0", "/pets/1?page=-1",
                                      "/pets/1?page=abc", "/pets/1?page=", "/pets/1?page=1e3",
                                      "/pets/1?page=99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(get(bad[i], &r), 0);
        if (r.status != 404)
            printf("  %s: %d\n", bad[i], r.status);
        CHECK_INT(r.status, 404);
        tc_response_free(&r);
    }
    /* a pet without comments: page 1 exists and says so */
    CHECK_INT(get("/pets/2", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "No comments yet.");
    long q0 = query_count(&r);
    tc_response_free(&r);
    /* many more comments: the same statements, one page of rows */
    CHECK_INT(add_comments(1, 2880), 0);
    CHECK_INT(get("/pets/1", &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "Page 1 of 60");
    long q3000 = query_count(&r);
    tc_response_free(&r);
    printf("  statements for the pet page: %ld (no comments), %ld (120), %ld (3000)\n", q0, q120,
           q3000);
    CHECK(q120 > 0);
    CHECK_INT(q3000, q120);
}

static void posting_a_comment_loads_no_others(void)
{
    char raw[512];
    const char *body = "comment_content=one+more";
    long counts[2];
    for (int pet = 1; pet <= 2; pet++) { /* 3000 comments, then none */
        snprintf(raw, sizeof(raw),
                 "POST /pets/%d/comments HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                 pet, strlen(body), body);
        tc_response r;
        CHECK_INT(tc_request(srv.port, raw, &r), 0);
        CHECK_INT(r.status, 303); /* back to the pet's page */
        counts[pet - 1] = query_count(&r);
        tc_response_free(&r);
    }
    printf("  statements to post a comment: %ld (pet with 3000), %ld (pet with none)\n",
           counts[0], counts[1]);
    CHECK(counts[0] > 0);
    CHECK_INT(counts[0], counts[1]);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    snprintf(url, sizeof(url), "sqlite:///%s/pets.db", dir);
    char cmd[1400];
    const char *b = getenv("PHIAL_BUILD");
    snprintf(cmd, sizeof(cmd),
             "export DATABASE_URL=%s; %s/app db create >/dev/null && %s/app db add PetHandler "
             "handler_name=Ann >/dev/null && %s/app db add PetCategory pet_name=Rex "
             "pet_category=dog handler_id=1 >/dev/null && %s/app db add PetCategory "
             "pet_name=Tom pet_category=cat handler_id=1 >/dev/null",
             url, b, b, b, b);
    char env_url[200];
    snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", url);
    const char *env[] = {env_url, "DEBUG=1", "ACCESS_LOG=0", "PHIAL_TEST_CSRF_EXEMPT=1", NULL};
    if (system(cmd) != 0 || tc_server_start(&srv, 1, env) != 0) {
        printf("FAIL could not set up the database and server\n");
        ph_t_failed++;
    } else {
        RUN(pet_page_paginates);
        RUN(posting_a_comment_loads_no_others);
        CHECK_INT(tc_server_stop(&srv, 10000), 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    TEST_END();
}
