/*
 * One worker process: a libmicrohttpd daemon on the supervisor's listening
 * socket, and the glue that hides MHD's multi-call access handler.  Each
 * request gets an arena (made in the URI-log callback, freed in the
 * completion callback); the app's handler is called once, with the whole
 * request, on MHD's last call -- never on the first, where 0.9.75 would
 * answer "Connection: close" and break keep-alive and pipelining.
 *
 * Limits are decided here, before the app sees anything: request target
 * over MAX_URL_LENGTH is 414, headers over MAX_HEADER_SIZE 431, a
 * Content-Length over MAX_CONTENT_LENGTH 413 before any body is read, a
 * chunked body growing past it 413 too, HTTP/1.1 without Host 400.
 */
#include "phial/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct worker {
    ph_app *app;
    ph_app_limits limits;
    atomic_int inflight; /* requests between URI callback and completion */
} worker;

typedef enum req_state { RS_NEW, RS_BODY, RS_DONE } req_state;

/* Per-request context, in its own arena. */
typedef struct conn_req {
    ph_arena *arena;
    worker *w;
    req_state state;
    int bad_status; /* != 0: answer this error instead of the app */
    size_t url_len;
    const char *raw_uri;
    ph_request *req;
    ph_response res;
    ph_buf body;
    size_t header_bytes;
    size_t discarded; /* body bytes dropped after the limit was passed */
} conn_req;

/* How much of an over-limit chunked body is read and dropped before the
 * connection is closed without an answer. */
#define PH_DISCARD_MAX ((size_t)64 * 1024 * 1024)

static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)con;
    worker *w = cls;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return NULL;
    conn_req *cr = PH_ARENA_NEW(a, conn_req);
    if (!cr) {
        ph_arena_free(a);
        return NULL;
    }
    cr->arena = a;
    cr->w = w;
    cr->url_len = strlen(uri);
    if (cr->url_len > w->limits.max_url_length) {
        cr->bad_status = 414;
        cr->raw_uri = "/";
    } else {
        cr->raw_uri = ph_arena_strndup(a, uri, cr->url_len);
    }
    ph_buf_init(&cr->body, a);
    if (!cr->raw_uri || ph_res_init(&cr->res, a) < 0) {
        ph_arena_free(a);
        return NULL;
    }
    atomic_fetch_add(&w->inflight, 1);
    return cr;
}

static void completed(void *cls, struct MHD_Connection *con, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)con;
    (void)toe;
    worker *w = cls;
    conn_req *cr = *req_cls;
    if (!cr)
        return;
    *req_cls = NULL;
    ph_arena_free(cr->arena);
    atomic_fetch_sub(&w->inflight, 1);
}

/* MHD would percent-decode the path and query in place; we decode
 * ourselves from the raw target, so leave them alone. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    conn_req *cr = cls;
    cr->header_bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
    if (cr->header_bytes > cr->w->limits.max_header_size) {
        cr->bad_status = 431;
        return MHD_NO;
    }
    if (ph_req_add_header(cr->req, key, value) < 0) {
        cr->bad_status = 500;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Hands the finished response to MHD.  MHD_YES when queued. */
static enum MHD_Result queue(conn_req *cr, struct MHD_Connection *con)
{
    ph_response *res = &cr->res;
    struct MHD_Response *r;
    uint64_t bytes;
    if (res->fd >= 0) {
        bytes = res->file_size;
        r = MHD_create_response_from_fd64(res->file_size, res->fd);
        if (r)
            res->fd = -1; /* MHD closes it */
    } else if (res->body.len > 0) {
        bytes = res->body.len;
        r = MHD_create_response_from_buffer_with_free_callback(res->body.len, res->body.ptr, free);
        if (r) {
            res->body.ptr = NULL; /* MHD frees it */
            res->body.len = res->body.cap = 0;
        }
    } else {
        /* also a 304, for which 0.9.75 writes "Content-Length: 0" (an
           unsized response would get a chunk terminator after it) */
        bytes = 0;
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    bool ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      res->content_type ? res->content_type
                                                        : "text/html; charset=utf-8") == MHD_YES;
    for (size_t i = 0; ok && i < res->nheaders; i++) {
        const ph_header *h = &res->headers[i];
        /* MHD writes the framing headers itself and refuses them */
        if (strcasecmp(h->name, "Content-Length") == 0 ||
            strcasecmp(h->name, "Transfer-Encoding") == 0 || strcasecmp(h->name, "Date") == 0)
            continue;
        if (MHD_add_response_header(r, h->name, h->value) != MHD_YES)
            ph_log_warn("response header %s refused by libmicrohttpd", h->name);
    }
    if (ok && !ph_res_header_get(res, "Server"))
        ok = MHD_add_response_header(r, "Server", "Phial") == MHD_YES;
    if (ok && cr->state != RS_DONE)
        /* answered before the body was read: the rest is not worth reading */
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    enum MHD_Result q = ok ? MHD_queue_response(con, (unsigned)res->status, r) : MHD_NO;
    MHD_destroy_response(r);
    if (q == MHD_YES)
        ph_app_log_access(cr->w->app, cr->req, res->status, bytes);
    return q;
}

/* Answers an error decided by the server, through the app's error pages. */
static enum MHD_Result answer_error(conn_req *cr, struct MHD_Connection *con, int status)
{
    cr->req->bad_status = status;
    ph_app_handle(cr->w->app, cr->req, &cr->res);
    return queue(cr, con);
}

static void remote_addr(conn_req *cr, struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char buf[INET6_ADDRSTRLEN] = "-";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                      sizeof(buf));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                      sizeof(buf));
    }
    const char *s = ph_arena_strdup(cr->arena, buf);
    cr->req->remote_addr = s ? s : "-";
}

/* The first call: headers are in, no body yet. */
static enum MHD_Result first_call(conn_req *cr, struct MHD_Connection *con, const char *method,
                                  const char *version)
{
    worker *w = cr->w;
    cr->req = ph_req_new(cr->arena, w->app, method, cr->raw_uri);
    if (!cr->req)
        return MHD_NO;
    cr->req->raw_uri = cr->raw_uri;
    const char *v = ph_arena_strdup(cr->arena, version);
    if (v)
        cr->req->version = v;
    remote_addr(cr, con);
    if (cr->bad_status == 0)
        MHD_get_connection_values(con, MHD_HEADER_KIND, add_header, cr);
    if (cr->bad_status == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !ph_req_header(cr->req, "Host"))
        cr->bad_status = 400;
    const char *cl = ph_req_header(cr->req, "Content-Length");
    int64_t n = 0;
    if (cr->bad_status == 0 && cl) {
        if (ph_parse_i64(ph_slice_cstr(cl), &n) < 0 || n < 0)
            cr->bad_status = 400;
        else if ((uint64_t)n > w->limits.max_content_length)
            cr->bad_status = 413;
        else if (ph_buf_reserve(&cr->body, (size_t)n) < 0)
            cr->bad_status = 500;
    }
    if (cr->bad_status)
        return answer_error(cr, con, cr->bad_status);
    cr->state = RS_BODY;
    return MHD_YES;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *con, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)cls;
    (void)url;
    conn_req *cr = *req_cls;
    if (!cr)
        return MHD_NO;
    switch (cr->state) {
    case RS_NEW:
        return first_call(cr, con, method, version);
    case RS_BODY:
        if (*upload_data_size > 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            if (cr->bad_status) {
                /* discarding the rest of a body past the limit (0.9.75
                   refuses a response queued mid-body); a client that
                   keeps sending far beyond it is cut off */
                cr->discarded += n;
                return cr->discarded > PH_DISCARD_MAX ? MHD_NO : MHD_YES;
            }
            if (n > cr->w->limits.max_content_length - cr->body.len) {
                /* a chunked body past the limit: stored no further */
                cr->bad_status = 413;
                cr->discarded = n;
                ph_buf_free(&cr->body);
                return MHD_YES;
            }
            if (ph_buf_append(&cr->body, upload_data, n) < 0)
                cr->bad_status = 500;
            return MHD_YES;
        }
        cr->state = RS_DONE;
        if (cr->bad_status)
            return answer_error(cr, con, cr->bad_status);
        if (ph_req_set_body(cr->req, cr->body.ptr ? cr->body.ptr : "", cr->body.len) < 0 ||
            ph_req_parse_body(cr->req, cr->w->limits.max_form_parts) < 0)
            return answer_error(cr, con, 500);
        ph_app_handle(cr->w->app, cr->req, &cr->res);
        return queue(cr, con);
    case RS_DONE:
        break;
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    ph_log_debug("libmicrohttpd: %s", line);
}

_Noreturn void ph__worker_run(ph_app *app, const ph_app_limits *limits, int listen_fd, int threads,
                              pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        exit(0); /* the supervisor died before prctl */
    signal(SIGPIPE, SIG_IGN);

    worker *w = calloc(1, sizeof(*w));
    if (!w)
        exit(1);
    w->app = app;
    w->limits = *limits;
    atomic_init(&w->inflight, 0);
    size_t mem = limits->max_url_length + limits->max_header_size + 32 * 1024;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)limits->connection_timeout, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)limits->connection_limit, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)mem, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_logged, w},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, w},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_none, NULL},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, access_handler, w, MHD_OPTION_EXTERNAL_LOGGER,
                         mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d) {
        ph_log_error("worker: libmicrohttpd could not start");
        free(w);
        exit(1);
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (getppid() != parent)
            break;
    }

    /* drain: stop accepting, let requests in flight finish, then stop */
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    int64_t deadline = ph_now_ns() + (int64_t)limits->shutdown_timeout * 1000000000;
    while (atomic_load(&w->inflight) > 0 && ph_now_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&w->inflight) > 0)
        ph_log_warn("worker: %d request(s) still running at the shutdown deadline",
                    atomic_load(&w->inflight));
    MHD_stop_daemon(d);
    free(w);
    exit(0);
}
