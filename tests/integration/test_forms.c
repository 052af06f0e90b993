/*
 * Integration tests of forms, the signed session, CSRF and flash over real
 * HTTP against the real `app run` on a real SQLite file: the contact
 * page's full round trip (GET, token and cookie, an invalid POST with
 * errors and kept values, a valid POST, the flash shown once after the
 * redirect); CSRF missing, wrong, expired and from another session -> 400
 * and no row; every single-byte change of a session cookie rejected;
 * values that are not UTF-8 text -> 400 and no row; passwords stored as
 * Argon2id; the security headers on every response, error pages included;
 * 50 concurrent registrations while GET / keeps answering about as fast as
 * before; SECRET_KEY required to serve, and the instance key made once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "phial/security.h"
#include "test.h"

static tc_server srv;
static char tmpdir[64];

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

/* Rows of a model, counted with `app db list`. */
static int count_rows(const char *model)
{
    char args[128];
    snprintf(args, sizeof(args), "db list %s --columns id", model);
    int st;
    char *out = app_cmd(args, &st);
    int n = 0;
    for (char *p = out; p && *p; p++)
        n += *p == '\n';
    free(out);
    return st == 0 ? n : -1;
}

/* One request; cookie ("session=...") and body may be NULL. */
static int http(const char *method, const char *path, const char *cookie, const char *body,
                tc_response *r)
{
    static char raw[16384];
    int n = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: x\r\n", method, path);
    if (cookie)
        n += snprintf(raw + n, sizeof(raw) - (size_t)n, "Cookie: %s\r\n", cookie);
    if (body)
        n += snprintf(raw + n, sizeof(raw) - (size_t)n,
                      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
                      strlen(body));
    snprintf(raw + n, sizeof(raw) - (size_t)n, "\r\n%s", body ? body : "");
    return tc_request(srv.port, raw, r);
}

static void check_security_headers(const tc_response *r, const char *what)
{
    const char *a = tc_header_get(r, "X-Content-Type-Options"),
               *b = tc_header_get(r, "X-Frame-Options"), *c = tc_header_get(r, "Referrer-Policy");
    if (!a || strcmp(a, "nosniff") != 0 || !b || strcmp(b, "DENY") != 0 || !c ||
        strcmp(c, "strict-origin-when-cross-origin") != 0) {
        fprintf(stderr, "  %s (status %d): security headers missing\n", what, r->status);
        CHECK(false);
    }
}

/* GET, an invalid POST (errors, kept values, no row), a valid POST (303,
 * row stored), the flash shown on the next page and only there. */
static void contact_round_trip(void)
{
    char cookie[4200], token[128], body[1024];
    int before = count_rows("Contact");
    CHECK(before >= 0);
    CHECK_INT(tc_csrf(srv.port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    tc_response r;
    /* the page itself */
    CHECK_INT(http("GET", "/contact", cookie, NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<label for=\"name\">Name</label>");
    CHECK_CONTAINS(r.body, "<textarea id=\"message\" name=\"message\"");
    CHECK_CONTAINS(r.body, "<a href=\"/contact\">Contact</a>"); /* in the navigation */
    CHECK(!strstr(r.body, "None"));
    tc_response_free(&r);
    /* invalid: every error beside its field, values kept, nothing stored */
    snprintf(body, sizeof(body), "csrf_token=%s&name=Ann+%%3Cb%%3E&email=not-an-address&message=+++",
             token);
    CHECK_INT(http("POST", "/contact", cookie, body, &r), 0);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(r.body, "value=\"Ann &lt;b&gt;\"");
    CHECK_CONTAINS(r.body, "value=\"not-an-address\"");
    CHECK_CONTAINS(r.body, "Enter a valid email address.");
    CHECK_CONTAINS(r.body, "Message is required.");
    tc_response_free(&r);
    CHECK_INT(count_rows("Contact"), before);
    /* valid: stored, then a redirect whose cookie carries the flash */
    snprintf(body, sizeof(body),
             "csrf_token=%s&name=Ann&email=ann%%40example.org&message=Hello+%%C3%%A9t%%C3%%A9",
             token);
    CHECK_INT(http("POST", "/contact", cookie, body, &r), 0);
    CHECK_INT(r.status, 303);
    CHECK_STR(tc_header_get(&r, "Location"), "/contact");
    char value[4096], next[4200];
    CHECK_INT(tc_set_cookie(&r, "session", value, sizeof(value)), 0);
    const char *sc = tc_header_get(&r, "Set-Cookie");
    CHECK_CONTAINS(sc, "HttpOnly");
    CHECK_CONTAINS(sc, "SameSite=Lax");
    CHECK_CONTAINS(sc, "Path=/");
    tc_response_free(&r);
    CHECK_INT(count_rows("Contact"), before + 1);
    snprintf(next, sizeof(next), "session=%s", value);
    CHECK_INT(http("GET", "/contact", next, NULL, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "<li class=\"flash success\" role=\"status\">Thank you, your message "
                           "has been sent.</li>");
    /* shown once: the page's own cookie no longer holds it */
    CHECK_INT(tc_set_cookie(&r, "session", value, sizeof(value)), 0);
    tc_response_free(&r);
    snprintf(next, sizeof(next), "session=%s", value);
    CHECK_INT(http("GET", "/contact", next, NULL, &r), 0);
    CHECK(r.body && !strstr(r.body, "Thank you"));
    tc_response_free(&r);
    int st;
    char *out = app_cmd("db list Contact --columns name,email,message", &st);
    CHECK_CONTAINS(out, "Ann\tann@example.org\tHello été");
    free(out);
}

/* Missing, wrong, expired and other-session tokens: 400 naming the
 * problem, and no row written. */
static void csrf_refusals_write_nothing(void)
{
    char cookie[4200], token[128], cookie2[4200], token2[128], body[1024];
    CHECK_INT(tc_csrf(srv.port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    CHECK_INT(tc_csrf(srv.port, "/contact", cookie2, sizeof(cookie2), token2, sizeof(token2)), 0);
    /* an expired token of this very session, made with the server's key */
    ph_security_config c;
    ph_security_config_defaults(&c);
    c.secret_key = TC_SECRET_KEY;
    ph_security *sec;
    char err[256], *expired = NULL;
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), 0);
    ph_arena *a = ph_arena_new(0);
    ph_usersession_status st;
    ph_usersession *s = ph_usersession_decode(sec, a, cookie + strlen("session="), time(NULL), &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    CHECK_INT(ph_csrf_token_new(sec, s, a, time(NULL) - 2 * 3600, &expired), 0);
    char wrong[128];
    snprintf(wrong, sizeof(wrong), "%s", token);
    wrong[strlen(wrong) - 2] = wrong[strlen(wrong) - 2] == 'A' ? 'B' : 'A';
    static const char fields[] = "name=Eve&email=eve%40example.org&message=spam";
    const struct {
        const char *what, *cookie, *token, *reason;
    } cases[] = {
        {"missing", cookie, NULL, "The CSRF token is missing."},
        {"empty", cookie, "", "The CSRF token is missing."},
        {"wrong", cookie, wrong, "The CSRF token is invalid."},
        {"expired", cookie, expired, "The CSRF token has expired."},
        {"other session", cookie2, token, "The CSRF token is invalid."},
        {"no session", NULL, token, "The CSRF session token is missing."},
    };
    int before = count_rows("Contact"), users = count_rows("User");
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        if (cases[i].token)
            snprintf(body, sizeof(body), "csrf_token=%s&%s", cases[i].token, fields);
        else
            snprintf(body, sizeof(body), "%s", fields);
        tc_response r;
        CHECK_INT(http("POST", "/contact", cases[i].cookie, body, &r), 0);
        if (r.status != 400 || !r.body || !strstr(r.body, cases[i].reason)) {
            fprintf(stderr, "  %s: %d %s\n", cases[i].what, r.status, r.body ? r.body : "");
            CHECK(false);
        }
        check_security_headers(&r, cases[i].what);
        /* on the app's own 400 page, with its navigation */
        CHECK_CONTAINS(r.body, "href=\"/contact\"");
        tc_response_free(&r);
        /* the same on /register: no user either */
        snprintf(body, sizeof(body), "%s%s%susername=eve&email=eve%%40x.org&password=longenough",
                 cases[i].token ? "csrf_token=" : "", cases[i].token ? cases[i].token : "",
                 cases[i].token ? "&" : "");
        CHECK_INT(http("POST", "/register", cases[i].cookie, body, &r), 0);
        CHECK_INT(r.status, 400);
        tc_response_free(&r);
    }
    CHECK_INT(count_rows("Contact"), before);
    CHECK_INT(count_rows("User"), users);
    /* the header form of the token is accepted too (X-CSRFToken) */
    char raw[8192];
    snprintf(raw, sizeof(raw),
             "POST /handlers HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nX-CSRFToken: %s\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\n"
             "handler_name=Hester",
             cookie, token);
    tc_response r;
    CHECK_INT(tc_request(srv.port, raw, &r), 0);
    CHECK_INT(r.status, 303);
    tc_response_free(&r);
    ph_arena_free(a);
    ph_security_free(sec);
}

/* A session holding a flash message, then every single-byte change of its
 * cookie (each position, a byte of the cookie alphabet and one outside
 * it): none shows the message.  The unchanged cookie does. */
static void cookie_byte_changes_rejected(void)
{
    char cookie[4200], token[128], body[512], value[4096], m[4200];
    CHECK_INT(tc_csrf(srv.port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    snprintf(body, sizeof(body), "csrf_token=%s&name=Bo&email=bo%%40example.org&message=Hi", token);
    tc_response r;
    CHECK_INT(http("POST", "/contact", cookie, body, &r), 0);
    CHECK_INT(r.status, 303);
    CHECK_INT(tc_set_cookie(&r, "session", value, sizeof(value)), 0);
    tc_response_free(&r);
    snprintf(m, sizeof(m), "session=%s", value);
    CHECK_INT(http("GET", "/contact", m, NULL, &r), 0);
    CHECK_CONTAINS(r.body, "Thank you");
    tc_response_free(&r);
    size_t n = strlen(value), shown = 0, tried = 0;
    for (size_t i = 0; i < n; i++) {
        const char subst[2] = {value[i] == 'A' ? 'B' : 'A', '~'};
        for (int k = 0; k < 2; k++) {
            snprintf(m, sizeof(m), "session=%s", value);
            m[strlen("session=") + i] = subst[k];
            if (http("GET", "/contact", m, NULL, &r) < 0) {
                CHECK(false);
                continue;
            }
            tried++;
            if (r.status != 200 || !r.body || strstr(r.body, "Thank you")) {
                if (shown++ < 3)
                    fprintf(stderr, "  byte %zu -> %c: status %d\n", i, subst[k], r.status);
            }
            tc_response_free(&r);
        }
    }
    CHECK_INT(shown, 0);
    CHECK_INT(tried, 2 * n);
}

/* Query or form values that are not UTF-8 text: 400, nothing stored. */
static void non_text_input_is_400(void)
{
    char cookie[4200], token[128], body[512];
    CHECK_INT(tc_csrf(srv.port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    int before = count_rows("Contact");
    static const char *const bad[] = {"name=%FF%FE", "name=a%00b", "name=%C0%AF", "name=%ED%A0%80"};
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        snprintf(body, sizeof(body), "csrf_token=%s&%s&email=a%%40b.co&message=x", token, bad[i]);
        tc_response r;
        CHECK_INT(http("POST", "/contact", cookie, body, &r), 0);
        CHECK_INT(r.status, 400);
        CHECK_CONTAINS(r.body, "not valid UTF-8 text");
        tc_response_free(&r);
    }
    tc_response r;
    CHECK_INT(http("GET", "/contact?x=%FF", NULL, NULL, &r), 0);
    CHECK_INT(r.status, 400);
    tc_response_free(&r);
    CHECK_INT(count_rows("Contact"), before);
}

static void register_stores_argon2id(void)
{
    char cookie[4200], token[128], body[512];
    CHECK_INT(tc_csrf(srv.port, "/register", cookie, sizeof(cookie), token, sizeof(token)), 0);
    snprintf(body, sizeof(body),
             "csrf_token=%s&username=argon&email=argon%%40example.org&password=correct+horse", token);
    tc_response r;
    CHECK_INT(http("POST", "/register", cookie, body, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "User registration successful");
    tc_response_free(&r);
    /* the same name again: a form error, no second row */
    int users = count_rows("User");
    CHECK_INT(http("POST", "/register", cookie, body, &r), 0);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(r.body, "That username is already taken.");
    CHECK_CONTAINS(r.body, "value=\"argon\"");
    CHECK(!strstr(r.body, "correct horse"));
    tc_response_free(&r);
    CHECK_INT(count_rows("User"), users);
    int st;
    char *out = app_cmd("db list User --columns username,user_password", &st);
    CHECK_CONTAINS(out, "argon\t$argon2id$v=19$m=19456,t=2,p=1$");
    free(out);
}

static void headers_on_every_response(void)
{
    static const struct {
        const char *method, *path;
        int status;
    } cases[] = {
        {"GET", "/", 200},           {"GET", "/register", 200},   {"GET", "/contact", 200},
        {"GET", "/static/style.css", 200}, {"GET", "/nope", 404}, {"DELETE", "/", 405},
        {"GET", "/_test/fail", 500}, {"POST", "/contact", 400},   {"GET", "/contact?x=%00", 400},
        {"GET", "/handlers/999999", 404}, {"GET", "/users", 200},
    };
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        tc_response r;
        CHECK_INT(http(cases[i].method, cases[i].path, NULL, NULL, &r), 0);
        if (r.status != cases[i].status) {
            fprintf(stderr, "  %s %s: %d\n", cases[i].method, cases[i].path, r.status);
            CHECK(false);
        }
        check_security_headers(&r, cases[i].path);
        tc_response_free(&r);
    }
    /* a limit answered before the body is read */
    tc_response r;
    CHECK_INT(tc_request(srv.port,
                         "POST /contact HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
                         &r),
              0);
    CHECK_INT(r.status, 413);
    check_security_headers(&r, "413");
    tc_response_free(&r);
    /* the errors the connection layer answers before any route: a target
     * or a head too long, a request in doubt, an unknown transfer coding */
    static char big[20000];
    memset(big, 'a', sizeof(big) - 1);
    char raw[sizeof(big) + 128];
    const struct {
        const char *fmt;
        int status;
    } early[] = {
        {"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-Long: %s\r\n\r\n", 431},
        {"GET /%.0s HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
        {"POST /contact%.0s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
    };
    for (size_t i = 0; i < PH_COUNTOF(early); i++) {
        snprintf(raw, sizeof(raw), early[i].fmt, big);
        CHECK_INT(tc_request(srv.port, raw, &r), 0);
        CHECK_INT(r.status, early[i].status);
        char what[16];
        snprintf(what, sizeof(what), "%d", early[i].status);
        check_security_headers(&r, what);
        tc_response_free(&r);
    }
}

/* ---- 50 concurrent registrations ----------------------------------------------- */

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* Median latency in ms of n GET / on fresh connections. */
static long long get_index_median(int n, int *failures)
{
    long long t[64];
    for (int i = 0; i < n; i++) {
        long long t0 = tc_now_ms();
        tc_response r;
        if (http("GET", "/", NULL, NULL, &r) < 0 || r.status != 200)
            (*failures)++;
        else
            tc_response_free(&r);
        t[i] = tc_now_ms() - t0;
    }
    qsort(t, (size_t)n, sizeof(t[0]), cmp_ll);
    return t[n / 2];
}

static void concurrent_registrations_keep_index_fast(void)
{
    enum { N = 50 };
    static char cookies[N][4200], tokens[N][128], raw[N][8192];
    int failures = 0;
    long long base = get_index_median(15, &failures);
    CHECK_INT(failures, 0);
    /* one registration alone: the cost of one hash, measured here */
    char cookie[4200], token[128], body[512];
    CHECK_INT(tc_csrf(srv.port, "/register", cookie, sizeof(cookie), token, sizeof(token)), 0);
    snprintf(body, sizeof(body), "csrf_token=%s&username=alone&email=a%%40b.co&password=12345678",
             token);
    long long t0 = tc_now_ms();
    tc_response r;
    CHECK_INT(http("POST", "/register", cookie, body, &r), 0);
    long long one = tc_now_ms() - t0;
    CHECK_INT(r.status, 200);
    tc_response_free(&r);
    int users = count_rows("User");
    tc_conn conns[N];
    for (int i = 0; i < N; i++) {
        CHECK_INT(tc_csrf(srv.port, "/register", cookies[i], sizeof(cookies[i]), tokens[i],
                          sizeof(tokens[i])),
                  0);
        snprintf(body, sizeof(body),
                 "csrf_token=%s&username=flood%02d&email=f%d%%40b.co&password=password%02d",
                 tokens[i], i, i, i);
        snprintf(raw[i], sizeof(raw[i]),
                 "POST /register HTTP/1.1\r\nHost: x\r\nCookie: %.4199s\r\nConnection: close\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%.511s",
                 cookies[i], strlen(body), body);
    }
    for (int i = 0; i < N; i++) {
        conns[i].fd = -1;
        if (tc_connect(&conns[i], srv.port) == 0)
            CHECK_INT(tc_send_str(&conns[i], raw[i]), 0);
        else
            CHECK(false);
    }
    /* while they are being answered: GET / as usual, every one of them
     * (the event loop only moves bytes; the hashes wait for their own cap
     * and threads) */
    long long during = get_index_median(15, &failures);
    CHECK_INT(failures, 0);
    int ok = 0, busy = 0, other = 0;
    for (int i = 0; i < N; i++) {
        tc_response rr;
        if (conns[i].fd >= 0 && tc_read(&conns[i], &rr, false, 60000) == 0) {
            if (rr.status == 200 && strstr(rr.body, "User registration successful"))
                ok++;
            else if (rr.status == 503 && tc_header_get(&rr, "Retry-After"))
                busy++;
            else {
                other++;
                fprintf(stderr, "  registration %d: %d\n", i, rr.status);
            }
            tc_response_free(&rr);
        } else {
            other++;
        }
        tc_close(&conns[i]);
    }
    printf("   GET / median %lld ms before, %lld ms during 50 registrations "
           "(one registration alone: %lld ms); %d stored, %d answered 503\n",
           base, during, one, ok, busy);
    CHECK_INT(other, 0);
    CHECK(ok > 0);
    CHECK_INT(count_rows("User"), users + ok); /* a 503 stored nothing */
    /* GET / never waited behind the hashes: its median stays within the
     * time of a couple of registrations, measured in this run */
    CHECK(during <= base + 2 * one + 20);
}

/* ---- start-up ---------------------------------------------------------------- */

static void serving_needs_a_secret_key(void)
{
    char args[64];
    snprintf(args, sizeof(args), "run --port %d </dev/null", tc_free_port());
    int st;
    char *out = app_cmd(args, &st);
    CHECK_INT(st, 1);
    CHECK_CONTAINS(out, "SECRET_KEY is not set");
    free(out);
    /* SECRET_KEY_FILE: made once (0600) by the supervisor, the same key on
     * the next start, so sessions survive a restart */
    char path[160], envf[200], k1[65], k2[65], err[256];
    snprintf(path, sizeof(path), "%s/inst/secret_key", tmpdir);
    snprintf(envf, sizeof(envf), "SECRET_KEY_FILE=%s", path);
    const char *const env[] = {"SECRET_KEY=", envf, NULL};
    tc_server s;
    CHECK_INT(tc_server_start(&s, 2, env), 0);
    char cookie[4200], token[128];
    CHECK_INT(tc_csrf(s.port, "/contact", cookie, sizeof(cookie), token, sizeof(token)), 0);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
    struct stat sb;
    CHECK_INT(stat(path, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);
    CHECK_INT(ph_security_instance_key(path, k1, err, sizeof(err)), 0);
    CHECK_INT(tc_server_start(&s, 1, env), 0);
    /* the first server's session and token are good on the second */
    char body[512], raw[8192];
    snprintf(body, sizeof(body), "csrf_token=%s&name=Kay&email=kay%%40example.org&message=again",
             token);
    snprintf(raw, sizeof(raw),
             "POST /contact HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             cookie, strlen(body), body);
    tc_response r;
    CHECK_INT(tc_request(s.port, raw, &r), 0);
    CHECK_INT(r.status, 303);
    tc_response_free(&r);
    CHECK_INT(tc_server_stop(&s, 20000), 0);
    CHECK_INT(ph_security_instance_key(path, k2, err, sizeof(err)), 0);
    CHECK_STR(k1, k2);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phial-forms.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    char url[160];
    snprintf(url, sizeof(url), "sqlite:///%s/app.db", tmpdir);
    setenv("DATABASE_URL", url, 1);
    unsetenv("SECRET_KEY");
    int st;
    free(app_cmd("db create", &st));
    RUN(serving_needs_a_secret_key);
    static const char *const env[] = {"PASSWORD_HASH_CONCURRENCY=1", "PASSWORD_HASH_WAIT_MS=250",
                                      "THREADS=16", "ACCESS_LOG=0", NULL};
    if (st == 0 && tc_server_start(&srv, 2, env) == 0) {
        RUN(contact_round_trip);
        RUN(csrf_refusals_write_nothing);
        RUN(cookie_byte_changes_rejected);
        RUN(non_text_input_is_400);
        RUN(register_stores_argon2id);
        RUN(headers_on_every_response);
        RUN(concurrent_registrations_keep_index_fast);
        CHECK_INT(tc_server_stop(&srv, 20000), 0);
    } else {
        printf("FAIL could not start the server\n");
        ph_t_failed++;
    }
    unsetenv("DATABASE_URL");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_END();
}
