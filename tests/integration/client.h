/*
 * A small HTTP/1.1 client over raw sockets for the integration tests, and
 * a helper that starts and stops the real `app run` server.  Bytes are sent
 * exactly as given, so tests can send malformed, pipelined or oversized
 * requests; responses are read with Content-Length or chunked framing.
 */
#ifndef PHIAL_TEST_CLIENT_H
#define PHIAL_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A connection with its read buffer (responses may arrive together). */
typedef struct tc_conn {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
} tc_conn;

typedef struct tc_header {
    char *name;
    char *value;
} tc_header;

typedef struct tc_response {
    int status;
    char *reason;
    tc_header *headers;
    size_t nheaders;
    char *body; /* NUL-terminated; body_len bytes */
    size_t body_len;
} tc_response;

/* Connects to 127.0.0.1:port; 0 or -1. */
int tc_connect(tc_conn *c, int port);
void tc_close(tc_conn *c);
/* Sends all n bytes (may fail with -1 when the server closed early). */
int tc_send(tc_conn *c, const void *p, size_t n);
int tc_send_str(tc_conn *c, const char *s);
/* Reads one response (no body when head is true or the status has none),
 * waiting at most timeout_ms in all.  0, or -1 on timeout / close / junk. */
int tc_read(tc_conn *c, tc_response *r, bool head, int timeout_ms);
/* Whether the server closed the connection within timeout_ms. */
bool tc_closed(tc_conn *c, int timeout_ms);
void tc_response_free(tc_response *r);
/* The first header with that name (case-insensitive), or NULL. */
const char *tc_header_get(const tc_response *r, const char *name);
/* connect + send raw + read one response + close.  0 or -1. */
int tc_request(int port, const char *raw, tc_response *r);

/* GETs path and reads what a browser keeps for a form: the session cookie
 * ("session=..." as a Cookie header value, into cookie) and the CSRF token
 * of the page's form (its csrf_token field, into token).  0 or -1. */
int tc_csrf(int port, const char *path, char *cookie, size_t cookie_len, char *token,
            size_t token_len);
/* The value of cookie `name` in the response's Set-Cookie headers, copied
 * into out ("" when absent: returns -1). */
int tc_set_cookie(const tc_response *r, const char *name, char *out, size_t n);

/* In a child just forked by a test program (parent its pid): the child
 * gets SIGKILL when the test program dies, and its stdout and stderr go to
 * log_path.  0, or -1 when the parent is already gone (the child exits). */
int tc_child_setup(pid_t parent, const char *log_path);

/* A free TCP port on 127.0.0.1 (bound, read, closed), or -1. */
int tc_free_port(void);

/* The SECRET_KEY test servers run with (tests sign cookies with it). */
#define TC_SECRET_KEY "phial-integration-tests-secret-key-0123456789"

typedef struct tc_server {
    pid_t pid;
    int port;
    int workers;
    char log_path[128]; /* the server's stdout+stderr */
    char db_path[128];  /* its SQLite file when extra_env names no DATABASE_URL */
} tc_server;

/* Starts $PHIAL_BUILD/app run on a free port with `workers` workers and
 * PHIAL_TEST_ROUTES=1, SECRET_KEY=TC_SECRET_KEY (unless extra_env or the
 * environment sets one) plus extra_env ("K=V" strings, NULL-terminated, may be
 * NULL); waits (bounded) until it accepts connections.  Without a
 * DATABASE_URL (in extra_env or the environment) the server gets a new
 * SQLite file of its own, its tables made by `app db create`.  0 or -1. */
int tc_server_start(tc_server *s, int workers, const char *const *extra_env);
/* SIGTERM, then waits up to timeout_ms (SIGKILL after it); returns the
 * exit status (0..255), 128+signal when killed, 99 when the output holds a
 * sanitizer report (printed), -1 if not running.  Removes the log.  Safe to
 * call twice. */
int tc_server_stop(tc_server *s, int timeout_ms);
/* The server's output so far (malloc'd, NUL-terminated), or NULL. */
char *tc_server_log(const tc_server *s);
/* The supervisor's children (worker pids) into out; returns how many. */
int tc_server_workers(const tc_server *s, pid_t *out, int max);
/* Milliseconds on a monotonic clock. */
long long tc_now_ms(void);
/* Sleeps ms milliseconds (for pacing inside a test, never for readiness). */
void tc_sleep_ms(int ms);

#endif
