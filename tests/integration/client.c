/*
 * The integration tests' raw-socket HTTP client and server start/stop
 * helper (see client.h).  The server is started with PR_SET_PDEATHSIG so
 * that it dies with the test program even when a test crashes.
 */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tc_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int tc_connect(tc_conn *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

void tc_close(tc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

int tc_send(tc_conn *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int tc_send_str(tc_conn *c, const char *s)
{
    return tc_send(c, s, strlen(s));
}

/* Reads more bytes into the buffer before deadline; 0, or -1. */
static int fill(tc_conn *c, long long deadline)
{
    if (c->eof)
        return -1;
    long long left = deadline - tc_now_ms();
    if (left <= 0)
        return -1;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)left);
    if (pr <= 0)
        return -1;
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *b = realloc(c->buf, cap);
        if (!b)
            return -1;
        c->buf = b;
        c->cap = cap;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
    if (n <= 0) {
        c->eof = true;
        return -1;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return 0;
}

static void consume(tc_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    if (c->buf)
        c->buf[c->len] = '\0';
}

/* Ensures at least n buffered bytes. */
static int need(tc_conn *c, size_t n, long long deadline)
{
    while (c->len < n)
        if (fill(c, deadline) < 0)
            return -1;
    return 0;
}

static char *find_crlf(tc_conn *c, size_t from)
{
    for (size_t i = from; i + 1 < c->len; i++)
        if (c->buf[i] == '\r' && c->buf[i + 1] == '\n')
            return c->buf + i;
    return NULL;
}

static int append_body(tc_response *r, const char *p, size_t n)
{
    char *b = realloc(r->body, r->body_len + n + 1);
    if (!b)
        return -1;
    memcpy(b + r->body_len, p, n);
    r->body = b;
    r->body_len += n;
    b[r->body_len] = '\0';
    return 0;
}

void tc_response_free(tc_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->reason);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *tc_header_get(const tc_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

int tc_read(tc_conn *c, tc_response *r, bool head, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    long long deadline = tc_now_ms() + timeout_ms;
    char *end;
    while (!(end = c->buf ? strstr(c->buf, "\r\n\r\n") : NULL))
        if (fill(c, deadline) < 0)
            return -1;
    size_t hlen = (size_t)(end - c->buf) + 4;
    /* status line */
    char *line_end = find_crlf(c, 0);
    int status = 0, off = 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d %n", &status, &off) < 1)
        return -1;
    r->status = status;
    r->reason = strndup(c->buf + off, (size_t)(line_end - (c->buf + off)));
    char *p = line_end + 2;
    while (p < end) {
        char *e = strstr(p, "\r\n");
        char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon) {
            tc_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
            if (!h)
                return -1;
            r->headers = h;
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            h[r->nheaders].name = strndup(p, (size_t)(colon - p));
            h[r->nheaders].value = strndup(v, (size_t)(e - v));
            r->nheaders++;
        }
        p = e + 2;
    }
    consume(c, hlen);
    r->body = calloc(1, 1);
    if (head || status == 204 || status == 304 || status / 100 == 1)
        return 0;
    const char *te = tc_header_get(r, "Transfer-Encoding");
    const char *cl = tc_header_get(r, "Content-Length");
    if (te && strcasecmp(te, "chunked") == 0) {
        for (;;) {
            char *e;
            while (!(e = find_crlf(c, 0)))
                if (fill(c, deadline) < 0)
                    return -1;
            size_t n = strtoul(c->buf, NULL, 16);
            size_t l = (size_t)(e - c->buf) + 2;
            if (need(c, l + n + 2, deadline) < 0)
                return -1;
            if (append_body(r, c->buf + l, n) < 0)
                return -1;
            consume(c, l + n + 2);
            if (n == 0)
                return 0;
        }
    }
    if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        if (need(c, n, deadline) < 0)
            return -1;
        if (append_body(r, c->buf, n) < 0)
            return -1;
        consume(c, n);
        return 0;
    }
    while (fill(c, deadline) == 0) {
    }
    if (append_body(r, c->buf ? c->buf : "", c->len) < 0)
        return -1;
    consume(c, c->len);
    return c->eof ? 0 : -1;
}

bool tc_closed(tc_conn *c, int timeout_ms)
{
    long long deadline = tc_now_ms() + timeout_ms;
    while (fill(c, deadline) == 0) {
    }
    return c->eof;
}

int tc_request(int port, const char *raw, tc_response *r)
{
    tc_conn c;
    memset(r, 0, sizeof(*r));
    if (tc_connect(&c, port) < 0)
        return -1;
    bool head = strncmp(raw, "HEAD ", 5) == 0;
    int rc = tc_send_str(&c, raw) == 0 ? tc_read(&c, r, head, 10000) : -1;
    tc_close(&c);
    return rc;
}

int tc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int tc_child_setup(pid_t parent, const char *log_path)
{
    /* the child must not outlive this test program */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        return -1;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    return 0;
}

static int server_start_once(tc_server *s, int workers, const char *const *extra_env)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->workers = workers;
    s->port = tc_free_port();
    if (s->port < 0)
        return -1;
    snprintf(s->log_path, sizeof(s->log_path), "/tmp/phial-itest-%ld-%d.log", (long)getpid(),
             s->port);
    snprintf(s->db_path, sizeof(s->db_path), "/tmp/phial-itest-%ld-%d.db", (long)getpid(),
             s->port);
    const char *build = getenv("PHIAL_BUILD");
    char exe[1024], port[16], nw[16];
    snprintf(exe, sizeof(exe), "%s/app-test", build && *build ? build : "build");
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(nw, sizeof(nw), "%d", workers);
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (tc_child_setup(parent, s->log_path) < 0)
            _exit(127);
        const char *top = getenv("PHIAL_TOP");
        if (top && *top && chdir(top) != 0)
            _exit(127);
        setenv("PHIAL_TEST_ROUTES", "1", 1);
        setenv("SECRET_KEY", TC_SECRET_KEY, 0);
        for (size_t i = 0; extra_env && extra_env[i]; i++)
            putenv((char *)extra_env[i]);
        if (!getenv("DATABASE_URL")) {
            char url[160];
            snprintf(url, sizeof(url), "sqlite:///%s", s->db_path);
            setenv("DATABASE_URL", url, 1);
            pid_t c = fork();
            if (c == 0) {
                char *dargv[] = {exe, "db", "create", NULL};
                execv(exe, dargv);
                _exit(127);
            }
            int st = 1;
            if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                _exit(126);
        }
        char *argv[] = {exe, "run", "--host", "127.0.0.1", "--port", port, "--workers", nw, NULL};
        execv(exe, argv);
        _exit(127);
    }
    s->pid = pid;
    /* ready when it accepts a connection; bounded */
    long long deadline = tc_now_ms() + 15000;
    while (tc_now_ms() < deadline) {
        tc_conn c;
        if (tc_connect(&c, s->port) == 0) {
            tc_close(&c);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            s->pid = -1;
            return -1;
        }
        tc_sleep_ms(10);
    }
    kill(pid, SIGKILL); /* never ready: its log is kept for the caller */
    waitpid(pid, NULL, 0);
    s->pid = -1;
    return -1;
}

/* Starts the server; when it exits at start-up because another program
 * took the free port between tc_free_port and its bind (tests run beside
 * others), again on a new port, at most three times.  Any other start-up
 * failure prints the end of its log, so a CI log says why. */
int tc_server_start(tc_server *s, int workers, const char *const *extra_env)
{
    for (int attempt = 0;; attempt++) {
        if (server_start_once(s, workers, extra_env) == 0)
            return 0;
        char *log = tc_server_log(s);
        bool taken = log && strstr(log, "Address already in use");
        if (!taken || attempt == 2) {
            size_t n = log ? strlen(log) : 0;
            printf("  the server did not start; the end of its log:\n%s\n",
                   log ? log + (n > 2000 ? n - 2000 : 0) : "(none)");
        }
        free(log);
        tc_server_stop(s, 0); /* removes its log and database */
        if (!taken || attempt == 2)
            return -1;
    }
}

/* The server's own SQLite file and its WAL companions. */
static void remove_db(const tc_server *s)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[160];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s%s", s->db_path, suffix[i]);
        unlink(path);
    }
}

int tc_server_stop(tc_server *s, int timeout_ms)
{
    if (s->pid <= 0) {
        unlink(s->log_path);
        remove_db(s);
        return -1;
    }
    kill(s->pid, SIGTERM);
    long long deadline = tc_now_ms() + timeout_ms;
    int st = 0;
    pid_t r;
    while ((r = waitpid(s->pid, &st, WNOHANG)) == 0 && tc_now_ms() < deadline)
        tc_sleep_ms(10);
    if (r == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    s->pid = -1;
    /* a sanitizer report from the supervisor or any worker fails the stop */
    char *log = tc_server_log(s);
    bool sanitizer = log && (strstr(log, "Sanitizer") || strstr(log, "runtime error:"));
    if (sanitizer)
        fprintf(stderr, "  server output with a sanitizer report:\n%s\n", log);
    free(log);
    unlink(s->log_path);
    remove_db(s);
    if (sanitizer)
        return 99;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

char *tc_server_log(const tc_server *s)
{
    FILE *f = fopen(s->log_path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int tc_server_workers(const tc_server *s, pid_t *out, int max)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)s->pid, (long)s->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    long v;
    while (n < max && fscanf(f, "%ld", &v) == 1)
        out[n++] = (pid_t)v;
    fclose(f);
    return n;
}

int tc_set_cookie(const tc_response *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *v = r->headers[i].value;
        if (strcasecmp(r->headers[i].name, "Set-Cookie") != 0 || strncmp(v, name, nl) != 0 ||
            v[nl] != '=')
            continue;
        size_t len = strcspn(v + nl + 1, ";");
        if (len + 1 > n)
            return -1;
        memcpy(out, v + nl + 1, len);
        out[len] = '\0';
        return 0;
    }
    return -1;
}

int tc_csrf(int port, const char *path, char *cookie, size_t cookie_len, char *token,
            size_t token_len)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    tc_response r;
    if (tc_request(port, raw, &r) < 0)
        return -1;
    int rc = -1;
    char value[4096];
    const char *t = r.body ? strstr(r.body, "name=\"csrf_token\" value=\"") : NULL;
    if (t && tc_set_cookie(&r, "session", value, sizeof(value)) == 0 &&
        (size_t)snprintf(cookie, cookie_len, "session=%s", value) < cookie_len) {
        t += strlen("name=\"csrf_token\" value=\"");
        size_t len = strcspn(t, "\"");
        if (len + 1 <= token_len) {
            memcpy(token, t, len);
            token[len] = '\0';
            rc = 0;
        }
    }
    tc_response_free(&r);
    return rc;
}
