/*
 * One worker process: a libuv event loop that owns the connections, and
 * handler threads that take turns running it (leader/followers).  The loop
 * reads, finds and parses request heads with Phial's strict parser
 * (src/http/wire.c), reads bodies (Content-Length or chunked), enforces
 * the limits and deadlines, and writes the answers -- head and body in one
 * writev, a file body in 64 KiB pieces.
 *
 * The thread that runs the loop (the leader) also runs the handlers of the
 * requests one loop turn has completed, one after another, between two
 * turns -- outside uv_run, so that the loop can change hands: a request is
 * read, answered and its answer sent on one thread, with no hand-off and
 * no wake-up of another thread, as a thread-per-connection server does.
 * A watchdog thread looks at the leader every PH__STALL_NS / 2 while it
 * has work: once a handler has run PH__STALL_NS (a slow page, a database
 * wait, a password hash), a waiting follower takes the loop and the
 * requests behind, and the old leader, when its handler returns, sends its
 * answer, gives the request back to the loop and waits as a follower.  So
 * a slow request holds up the ones behind it by at most PH__STALL_NS plus
 * a tick, while a fast workload never crosses threads.  A leader starts a
 * handler only while a follower waits to take the loop from it, so one
 * thread always keeps the loop.  Routes the app marked inline
 * (ph_app_route_inline: they never wait) are answered inside the loop
 * turn, as soon as their head is read.
 *
 * One request at a time per connection: bytes of pipelined requests wait in
 * the connection's input buffer (reading pauses past a bound), so answers
 * leave in order.  Memory per connection grows with what has arrived: an
 * idle connection holds no buffer, a head is kept only until parsed, a body
 * grows as it comes and a Content-Length over the limit is refused before
 * any of it is read.
 *
 * Deadlines are whole-message, never restarted by a byte: HEADER_TIMEOUT
 * from a head's first byte, BODY_TIMEOUT from the end of the head (both
 * answered 408), CONNECTION_TIMEOUT for an idle keep-alive connection and
 * for each piece of a response to leave.  A request whose framing is in
 * doubt gets one error status, then the connection is shut down and what
 * the client still sends is read and dropped (bounded) before the close,
 * so the answer is not lost to a reset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <uv.h>

#include "../app/internal.h"
#include "../http/wire.h"
#include "internal.h"

#define READ_CHUNK (64 * 1024)
#define FILE_CHUNK (64 * 1024)
#define ARENA_CACHE 64
/* What the cached arenas may keep in all: beyond it a returned arena is
 * freed, so a burst of requests in flight (every one holds an arena) does
 * not leave the worker holding a large block per request of the burst. */
#define ARENA_CACHE_BYTES (1024 * 1024)
/* A request arena's first block: a request's head, parsed, and a small
 * answer fit; a page grows it.  Every request in flight holds one, queued
 * for a handler thread too (128 of them a worker under 256 connections).
 * It is also what an arena keeps when a handler thread has sent its
 * answer. */
#define REQUEST_ARENA_FIRST (4 * 1024)
#define ADDR_BUCKETS 1024
/* How long and how much a connection closed after an error is read from
 * and dropped, so the client sees the answer rather than a reset. */
#define LINGER_MS 2000
#define LINGER_BYTES (1024 * 1024)

typedef enum conn_state {
    CS_IDLE,    /* between requests, nothing of the next one yet */
    CS_HEAD,    /* part of a head has arrived */
    CS_BODY,    /* reading a body */
    CS_HANDLER, /* its handler is queued or running */
    CS_WRITE,   /* the response is leaving */
    CS_LINGER,  /* shut down after an error: reading and dropping */
    CS_CLOSED,  /* uv_close called */
} conn_state;

typedef struct addr_entry {
    struct addr_entry *next;
    unsigned char key[17]; /* family byte + address */
    unsigned count;
} addr_entry;

typedef struct worker worker;

typedef struct conn {
    struct conn *next_job; /* in the worker's pending or given-back list */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_write_t creq; /* 100 Continue */
    uv_shutdown_t sreq;
    worker *w;
    conn_state state;
    int handles; /* open libuv handles; freed at 0 */
    addr_entry *addr;
    char addr_str[INET6_ADDRSTRLEN];

    int fd;              /* the socket's, for run_request_send */
    bool close_deferred; /* conn_close while its handler runs: done in respond */
    bool continue_sent;  /* a 100 Continue may still be queued: the loop writes */

    /* input not consumed yet: part of a head, or pipelined requests */
    char *in;
    size_t in_len, in_cap;
    ph_wire_scan scan;
    bool reading;
    bool peer_gone;
    unsigned served; /* requests answered on it */

    /* the request in progress */
    ph_arena *arena;
    ph_request *req;
    ph_response res;
    int minor;
    bool keep_alive;
    bool is_head;
    bool chunked;
    uint64_t body_left;
    ph_wire_chunked ch;
    ph_buf body;
    int err_status;  /* != 0: answer this status, then close */
    bool run_inline; /* its route runs inside the loop turn (ph_app_route_inline) */
    size_t lingered;

    /* the response leaving */
    size_t pre_sent; /* bytes of it run_request_send sent */
    bool pre_failed; /* its send failed: the peer is gone */
    ph_buf out_head; /* in the arena */
    const char *out_body;
    size_t out_body_len;
    int file_fd;
    uint64_t file_off, file_left;
    char *file_buf;
} conn;

/* Per handler-thread memory: the Date header, formatted once a second. */
typedef struct thread_ctx {
    time_t date_t;
    char date[30];
} thread_ctx;

struct worker {
    ph_app *app;
    ph_app_limits lim;
    ph__server_cfg cfg;
    ph_wire_limits wl;
    pid_t parent;
    uv_loop_t loop;
    uv_tcp_t listener;
    bool listening;
    bool accept_pending; /* a connection waits for a free slot */
    uv_signal_t sig_term, sig_int;
    uv_timer_t parent_timer, stop_timer;
    uv_async_t wake;             /* a deposed leader gave a request back */
    thread_ctx *tctx;            /* the leader's */
    bool in_run;                 /* the leader is inside uv_run */
    conn *pend_head, *pend_tail; /* requests whose handlers run after this turn */
    bool draining;
    unsigned nconns;
    char rbuf[READ_CHUNK];
    ph_arena *arenas[ARENA_CACHE];
    size_t arena_bytes[ARENA_CACHE]; /* what each cached one keeps */
    int narenas;
    size_t cached_bytes;
    bool inline_running; /* an inline request is being answered up the stack */
    addr_entry *addrs[ADDR_BUCKETS];
    /* every connection, to close idle ones when draining */
    conn **all;
    size_t nall, capall;

    /* the threads (leader/followers); under mu unless atomic */
    pthread_mutex_t mu;
    pthread_cond_t follow_cv;    /* followers wait here for the loop */
    pthread_cond_t wd_cv;        /* the watchdog waits here (CLOCK_MONOTONIC) */
    _Atomic int64_t job_since;   /* when the leader's handler started; 0: none */
    _Atomic uint64_t jobs;       /* handlers the leaders started */
    _Atomic bool wd_idle;        /* the watchdog sleeps until a handler starts */
    bool need_leader;            /* a follower is asked to take the loop */
    bool finished;               /* the loop is over: every thread stops */
    _Atomic int nfollowers;      /* waiting on follow_cv (changed under mu) */
    conn *back_head, *back_tail; /* given back by deposed leaders */
    pthread_t *threads;          /* the followers started */
    int nthreads;
    pthread_t watchdog;
    bool watchdog_started;
};

/* How often the watchdog looks while handlers run. */
#define TICK_NS (PH__STALL_NS / 2)

static void on_timeout(uv_timer_t *t);
static void process(conn *c);
static void read_start(conn *c);

/* ---- small pieces -------------------------------------------------------- */

static ph_arena *arena_get(worker *w)
{
    if (w->narenas > 0) {
        w->narenas--;
        w->cached_bytes -= w->arena_bytes[w->narenas];
        return w->arenas[w->narenas];
    }
    return ph_arena_new(REQUEST_ARENA_FIRST);
}

static void arena_put(worker *w, ph_arena *a)
{
    if (!a)
        return;
    ph_arena_reset(a);
    size_t kept = ph_arena_reserved(a);
    if (w->narenas < ARENA_CACHE && w->cached_bytes + kept <= ARENA_CACHE_BYTES) {
        w->arena_bytes[w->narenas] = kept;
        w->arenas[w->narenas++] = a;
        w->cached_bytes += kept;
    } else {
        ph_arena_free(a);
    }
}

static unsigned addr_hash(const unsigned char *k)
{
    unsigned h = 2166136261u;
    for (int i = 0; i < 17; i++)
        h = (h ^ k[i]) * 16777619u;
    return h % ADDR_BUCKETS;
}

/* Counts a connection from the peer of fd; NULL when over the per-address
 * limit (or out of memory). */
static addr_entry *addr_acquire(worker *w, conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    unsigned char key[17] = {0};
    snprintf(c->addr_str, sizeof(c->addr_str), "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&ss;
            key[0] = 4;
            memcpy(key + 1, &s4->sin_addr, 4);
            inet_ntop(AF_INET, &s4->sin_addr, c->addr_str, sizeof(c->addr_str));
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&ss;
            key[0] = 6;
            memcpy(key + 1, &s6->sin6_addr, 16);
            inet_ntop(AF_INET6, &s6->sin6_addr, c->addr_str, sizeof(c->addr_str));
        }
    }
    unsigned b = addr_hash(key);
    addr_entry *e = w->addrs[b];
    while (e && memcmp(e->key, key, sizeof(key)) != 0)
        e = e->next;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return NULL;
        memcpy(e->key, key, sizeof(key));
        e->next = w->addrs[b];
        w->addrs[b] = e;
    }
    if (e->count >= w->cfg.per_address)
        return NULL;
    e->count++;
    return e;
}

static void addr_release(worker *w, addr_entry *e)
{
    if (!e || --e->count > 0)
        return;
    addr_entry **pp = &w->addrs[addr_hash(e->key)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    free(e);
}

static void in_consume(conn *c, size_t n)
{
    if (n >= c->in_len) {
        c->in_len = 0;
    } else {
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
    }
    if (c->in_len == 0 && c->in_cap > 16 * 1024) {
        free(c->in); /* a big head or pipeline passed: do not keep its memory */
        c->in = NULL;
        c->in_cap = 0;
    }
}

static int in_append(conn *c, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 512;
        while (cap < c->in_len + n)
            cap *= 2;
        char *m = realloc(c->in, cap);
        if (!m)
            return PH_ENOMEM;
        c->in = m;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

/* How much unprocessed input a connection may hold before reading pauses. */
static size_t in_bound(const worker *w)
{
    return w->lim.max_url_length + w->lim.max_header_size + 64 * 1024;
}

/* ---- closing -------------------------------------------------------------- */

static void conn_forget(worker *w, conn *c)
{
    for (size_t i = 0; i < w->nall; i++) {
        if (w->all[i] == c) {
            w->all[i] = w->all[--w->nall];
            return;
        }
    }
}

static void accept_more(worker *w);
static void maybe_finish_drain(worker *w);

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->handles > 0)
        return;
    worker *w = c->w;
    free(c->in);
    free(c->file_buf);
    ph_buf_free(&c->body);
    if (c->arena)
        arena_put(w, c->arena);
    addr_release(w, c->addr);
    conn_forget(w, c);
    free(c);
    w->nconns--;
    if (w->accept_pending)
        accept_more(w);
    maybe_finish_drain(w);
}

/* Closes a connection (the leader). */
static void conn_close(conn *c)
{
    if (c->state == CS_CLOSED)
        return;
    if (c->state == CS_HANDLER) {
        /* a deposed leader may be writing to the socket: closing it now
           could hand its number to a new connection under that write */
        c->close_deferred = true;
        return;
    }
    c->state = CS_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_linger_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    conn *c = s->data;
    if (status < 0 || c->peer_gone)
        conn_close(c);
}

/* After an error answer: no more writes, read and drop for a while. */
static void conn_linger(conn *c)
{
    read_start(c);
    c->state = CS_LINGER;
    c->in_len = 0;
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0 || c->peer_gone) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
}

/* ---- requests --------------------------------------------------------------- */

/* Starts a request in c's arena for method/target (NUL-terminated). */
static int req_begin(conn *c, const char *method, const char *target, const char *version)
{
    worker *w = c->w;
    if (!c->arena && !(c->arena = arena_get(w)))
        return PH_ENOMEM;
    c->req = ph_req_new(c->arena, w->app, method, target);
    if (!c->req || ph_res_init(&c->res, c->arena) < 0)
        return PH_ENOMEM;
    c->req->raw_uri = c->req->raw_uri ? c->req->raw_uri : target;
    c->req->version = version;
    c->req->remote_addr = ph_arena_strdup(c->arena, c->addr_str);
    if (!c->req->remote_addr)
        c->req->remote_addr = "-";
    c->req->start_ns = ph_now_ns();
    return 0;
}

static void run_request(conn *c, thread_ctx *tc);
static void respond(conn *c);

/* Queues the request (or its error) for its handler, which the leader runs
 * when the loop turn is over (lead).  An inline route whose head has just
 * been read (now: no body, so nothing of the connection's input is left to
 * consume after it) is answered at once, so a turn of inline requests from
 * many connections reuses one warm arena instead of holding one per
 * connection until the end of the turn; one nested in another's answer
 * (pipelined) is queued, so they never recurse. */
static void dispatch(conn *c, bool now)
{
    worker *w = c->w;
    uv_timer_stop(&c->timer);
    c->state = CS_HANDLER;
    c->run_inline = c->err_status == 0 && ph__app_route_early(w->app, c->req);
    if (now && c->run_inline && !w->inline_running) {
        w->inline_running = true;
        run_request(c, w->tctx);
        respond(c);
        w->inline_running = false;
        return;
    }
    c->next_job = NULL;
    if (w->pend_tail)
        w->pend_tail->next_job = c;
    else
        w->pend_head = c;
    w->pend_tail = c;
    /* queued before the loop waits (a timer, a write callback): the turn
       must not block with it */
    if (w->in_run)
        uv_stop(&w->loop);
}

/* Answers status (decided by the server) and closes after it. */
static void fail(conn *c, int status)
{
    c->err_status = status;
    c->keep_alive = false;
    c->in_len = 0;
    if (!c->req) {
        if (req_begin(c, "GET", "/", "HTTP/1.1") < 0) {
            conn_close(c);
            return;
        }
        /* nothing of the request can be trusted: log it as unknown */
        c->req->method = "-";
        c->req->raw_uri = "-";
        c->req->version = "-";
    }
    c->req->bad_status = status;
    dispatch(c, false);
}

static int body_sink(void *ud, const char *p, size_t n)
{
    conn *c = ud;
    return ph_buf_append(&c->body, p, n) < 0 ? PH_ENOMEM : 0;
}

/* Feeds body bytes; returns how many were used.  May dispatch or fail. */
static size_t body_feed(conn *c, const char *p, size_t n)
{
    if (c->chunked) {
        size_t used = 0;
        int rc = ph__wire_chunked_feed(&c->ch, p, n, c->w->lim.max_content_length,
                                       c->w->lim.max_header_size, body_sink, c, &used);
        if (rc == 1)
            dispatch(c, false);
        else if (rc > 1)
            fail(c, rc);
        else if (rc < 0)
            fail(c, 500);
        return used;
    }
    size_t take = n < c->body_left ? n : (size_t)c->body_left;
    if (ph_buf_append(&c->body, p, take) < 0) {
        fail(c, 500);
        return take;
    }
    c->body_left -= take;
    if (c->body_left == 0)
        dispatch(c, false);
    return take;
}

static void on_continue_written(uv_write_t *wr, int status)
{
    (void)wr;
    (void)status;
}

/* A complete head is in c->in[0..len): parse it and start the request. */
static void head_done(conn *c, size_t len)
{
    worker *w = c->w;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += c->in[i] == '\n';
    if (!c->arena && !(c->arena = arena_get(w))) {
        conn_close(c);
        return;
    }
    ph_wire_header *hdrs = ph_arena_alloc(c->arena, lines * sizeof(*hdrs));
    if (!hdrs) {
        fail(c, 500);
        return;
    }
    ph_wire_head h;
    int st = ph__wire_head_parse(c->in, len, &w->wl, hdrs, lines, &h);
    if (st) {
        fail(c, st);
        return;
    }
    /* NUL-terminate method, target and each name and value in place: the
       bytes are copied by ph_req_* and the head is consumed right after */
    char *method = ph_arena_strndup(c->arena, h.method, h.method_len);
    char *target = ph_arena_strndup(c->arena, h.target, h.target_len);
    if (!method || !target || req_begin(c, method, target, h.minor ? "HTTP/1.1" : "HTTP/1.0") < 0) {
        fail(c, 500);
        return;
    }
    for (size_t i = 0; i < h.nheaders; i++) {
        ((char *)hdrs[i].name)[hdrs[i].name_len] = '\0';
        ((char *)hdrs[i].value)[hdrs[i].value_len] = '\0';
        if (ph_req_add_header(c->req, hdrs[i].name, hdrs[i].value) < 0) {
            fail(c, 500);
            return;
        }
    }
    c->minor = h.minor;
    c->keep_alive = h.keep_alive && !w->draining;
    c->is_head = h.method_len == 4 && memcmp(h.method, "HEAD", 4) == 0;
    in_consume(c, len);
    memset(&c->scan, 0, sizeof(c->scan));
    ph_buf_init(&c->body, NULL);
    if (!h.chunked && h.content_length <= 0) {
        dispatch(c, true);
        return;
    }
    c->chunked = h.chunked;
    c->body_left = h.chunked ? 0 : (uint64_t)h.content_length;
    memset(&c->ch, 0, sizeof(c->ch));
    c->state = CS_BODY;
    uv_timer_start(&c->timer, on_timeout, w->cfg.body_timeout_ms, 0);
    if (h.expect_continue && c->in_len == 0) {
        c->continue_sent = true;
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init(cont, sizeof(cont) - 1);
        uv_write(&c->creq, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written);
    }
}

/* Moves the connection on with what is in c->in. */
static void process(conn *c)
{
    worker *w = c->w;
    while (c->in_len > 0) {
        if (c->state == CS_IDLE || c->state == CS_HEAD) {
            long r = ph__wire_head_end(c->in, c->in_len, &w->wl, &c->scan);
            if (r < 0) {
                fail(c, (int)-r);
                return;
            }
            if (r == 0) {
                if (c->state == CS_IDLE && c->scan.started) {
                    c->state = CS_HEAD;
                    uv_timer_start(&c->timer, on_timeout, w->cfg.header_timeout_ms, 0);
                }
                return;
            }
            if (c->state == CS_IDLE)
                c->state = CS_HEAD;
            head_done(c, (size_t)r);
        } else if (c->state == CS_BODY) {
            size_t used = body_feed(c, c->in, c->in_len);
            if (c->state == CS_HANDLER || c->state == CS_BODY)
                in_consume(c, used);
        } else {
            return; /* busy: pipelined bytes wait */
        }
    }
}

/* ---- reading ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    *buf = uv_buf_init(c->w->rbuf, sizeof(c->w->rbuf));
}

static void read_stop(conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        c->peer_gone = true;
        read_stop(c);
        if (c->state == CS_HANDLER || c->state == CS_WRITE)
            return; /* finish (the write will fail), then close */
        conn_close(c);
        return;
    }
    const char *p = buf->base;
    size_t n = (size_t)nread;
    if (c->err_status && c->state != CS_LINGER)
        return; /* after an error nothing more is processed */
    switch (c->state) {
    case CS_LINGER:
        c->lingered += n;
        if (c->lingered > LINGER_BYTES)
            conn_close(c);
        return;
    case CS_CLOSED:
        return;
    case CS_BODY:
        if (c->in_len == 0) {
            /* the common case: body bytes go straight to the body */
            size_t used = body_feed(c, p, n);
            p += used;
            n -= used;
            if (c->state != CS_HANDLER && c->state != CS_BODY)
                return; /* failed: nothing after it is processed */
        }
        break;
    default:
        break;
    }
    if (in_append(c, p, n) < 0) {
        conn_close(c);
        return;
    }
    if (c->state == CS_HANDLER || c->state == CS_WRITE) {
        /* a pipelined request: taken up when this one ends */
        if (c->in_len > in_bound(c->w))
            read_stop(c);
        return;
    }
    process(c);
}

static void read_start(conn *c)
{
    if (!c->reading && !c->peer_gone && c->state != CS_CLOSED) {
        c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    }
}

static void on_timeout(uv_timer_t *t)
{
    conn *c = t->data;
    switch (c->state) {
    case CS_IDLE:
        conn_close(c); /* an idle keep-alive connection: no answer */
        break;
    case CS_HEAD:
    case CS_BODY:
        read_stop(c);
        fail(c, 408);
        break;
    case CS_WRITE:
        ph_log_info("closing a connection whose client stopped reading");
        conn_close(c);
        break;
    default:
        break;
    }
}

/* ---- responses ------------------------------------------------------------ */

static bool skip_header(const char *name)
{
    return strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
           strcasecmp(name, "Date") == 0 || strcasecmp(name, "Connection") == 0 ||
           strcasecmp(name, "Content-Type") == 0;
}

/* Serialises the response head into c->out_head (handler thread). */
static void build_head(conn *c, thread_ctx *tc)
{
    ph_response *res = &c->res;
    ph_buf *b = &c->out_head;
    ph_buf_init(b, c->arena);
    time_t now = time(NULL);
    if (now != tc->date_t) {
        ph_http_date(now, tc->date);
        tc->date_t = now;
    }
    int status = res->status ? res->status : 500;
    bool no_body = status == 204 || status == 304 || status < 200;
    ph_buf_puts(b, "HTTP/1.1 ");
    ph_buf_put_i64(b, status);
    ph_buf_putc(b, ' ');
    ph_buf_puts(b, ph_http_reason(status));
    ph_buf_puts(b, "\r\nDate: ");
    ph_buf_puts(b, tc->date);
    if (!no_body) {
        ph_buf_puts(b, "\r\nContent-Type: ");
        ph_buf_puts(b, res->content_type ? res->content_type : "text/html; charset=utf-8");
    }
    bool server = false;
    for (size_t i = 0; i < res->nheaders; i++) {
        const ph_header *h = &res->headers[i];
        if (skip_header(h->name))
            continue;
        server = server || strcasecmp(h->name, "Server") == 0;
        ph_buf_puts(b, "\r\n");
        ph_buf_puts(b, h->name);
        ph_buf_puts(b, ": ");
        ph_buf_puts(b, h->value);
    }
    if (!server)
        ph_buf_puts(b, "\r\nServer: Phial");
    uint64_t len = res->fd >= 0 ? res->file_size : res->body.len;
    if (!no_body) {
        ph_buf_puts(b, "\r\nContent-Length: ");
        ph_buf_put_i64(b, (int64_t)len);
    }
    if (!c->keep_alive)
        ph_buf_puts(b, "\r\nConnection: close");
    else if (c->minor == 0)
        ph_buf_puts(b, "\r\nConnection: keep-alive");
    ph_buf_puts(b, "\r\n\r\n");
    if (no_body || c->is_head) {
        c->out_body = NULL;
        c->out_body_len = 0;
        c->file_left = 0;
    } else if (res->fd >= 0) {
        c->out_body = NULL;
        c->out_body_len = 0;
        c->file_fd = res->fd;
        c->file_off = 0;
        c->file_left = res->file_size;
    } else {
        c->out_body = res->body.ptr;
        c->out_body_len = res->body.len;
        c->file_left = 0;
    }
    ph_app_log_access(c->w->app, c->req, status, c->is_head || no_body ? 0 : len);
}

/* The app answers the request, the head is serialised. */
static void run_request(conn *c, thread_ctx *tc)
{
    worker *w = c->w;
    if (c->err_status == 0) {
        if (ph_req_set_body(c->req, c->body.ptr ? c->body.ptr : "", c->body.len) < 0 ||
            ph_req_parse_body(c->req, w->lim.max_form_parts) < 0)
            c->req->bad_status = 500;
    }
    ph_buf_free(&c->body);
    ph_app_handle(w->app, c->req, &c->res);
    build_head(c, tc);
}

/* The leader's handlers: the answer is sent from here when the socket
 * takes it whole -- by a leader deposed while its handler ran too, which
 * no longer owns the loop -- and the request's memory is given back at
 * once.  Not for a file body, an error answer (the loop lingers after it)
 * or after a 100 Continue (which libuv may still hold): respond writes
 * those.  The socket stays open meanwhile: conn_close waits for respond. */
static void run_request_send(conn *c, thread_ctx *tc)
{
    run_request(c, tc);
    if (c->err_status || c->file_left > 0 || c->continue_sent || c->fd < 0 ||
        ph_buf_status(&c->out_head) < 0)
        return;
    struct iovec iov[2] = {{c->out_head.ptr, c->out_head.len},
                           {(void *)c->out_body, c->out_body_len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = c->out_body_len > 0 ? 2 : 1};
    size_t total = c->out_head.len + c->out_body_len;
    ssize_t n;
    do
        n = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        c->pre_failed = errno != EAGAIN && errno != EWOULDBLOCK;
        return;
    }
    c->pre_sent = (size_t)n;
    if (c->pre_sent == total)
        ph_arena_reset_keep(c->arena, REQUEST_ARENA_FIRST); /* the loop caches it */
}

static void write_next(conn *c);

/* The request is over: free it and go on with the next. */
static void request_end(conn *c)
{
    worker *w = c->w;
    bool keep = c->keep_alive && !c->peer_gone && c->err_status == 0 && !w->draining;
    if (c->err_status)
        keep = false;
    free(c->file_buf);
    c->file_buf = NULL;
    c->file_left = 0;
    c->req = NULL;
    arena_put(w, c->arena); /* frees the body, closes a file */
    c->arena = NULL;
    if (!keep) {
        if (c->err_status && !c->peer_gone)
            conn_linger(c);
        else
            conn_close(c);
        return;
    }
    c->err_status = 0;
    c->chunked = false;
    c->continue_sent = false;
    c->served++;
    c->state = CS_IDLE;
    uv_timer_start(&c->timer, on_timeout, w->cfg.idle_timeout_ms, 0);
    read_start(c);
    process(c);
}

/* The peer is gone mid-answer: the request ends and the connection with it. */
static void write_failed(conn *c)
{
    c->peer_gone = true;
    c->err_status = c->err_status ? c->err_status : 1;
    read_stop(c);
    request_end(c);
}

static void on_written(uv_write_t *wr, int status)
{
    conn *c = wr->data;
    if (c->state == CS_CLOSED)
        return;
    if (status < 0) {
        write_failed(c);
        return;
    }
    if (c->file_left > 0) {
        write_next(c);
        return;
    }
    uv_timer_stop(&c->timer);
    request_end(c);
}

/* Sends the next piece of a file body. */
static void write_next(conn *c)
{
    if (!c->file_buf && !(c->file_buf = malloc(FILE_CHUNK))) {
        conn_close(c);
        return;
    }
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    ssize_t n = pread(c->file_fd, c->file_buf, want, (off_t)c->file_off);
    if (n <= 0) {
        /* the file shrank or failed: the framing cannot be kept */
        ph_log_error("static file read failed: %s", n < 0 ? strerror(errno) : "file shrank");
        c->keep_alive = false;
        c->err_status = 500;
        c->peer_gone = true;
        request_end(c);
        return;
    }
    c->file_off += (uint64_t)n;
    c->file_left -= (uint64_t)n;
    uv_buf_t b = uv_buf_init(c->file_buf, (unsigned)n);
    c->wreq.data = c;
    uv_timer_start(&c->timer, on_timeout, c->w->cfg.idle_timeout_ms, 0);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
        conn_close(c);
}

/* The leader: a request's handler is done; send its answer. */
static void respond(conn *c)
{
    if (c->state == CS_CLOSED)
        return;
    c->state = CS_WRITE;
    if (c->close_deferred) {
        c->err_status = c->err_status ? c->err_status : 1;
        conn_close(c);
        return;
    }
    if (c->pre_failed) {
        write_failed(c);
        return;
    }
    size_t pre = c->pre_sent;
    c->pre_sent = 0;
    if (pre > 0 && pre == c->out_head.len + c->out_body_len) {
        request_end(c); /* sent whole by the handler thread */
        return;
    }
    if (c->peer_gone) {
        request_end(c);
        return;
    }
    if (ph_buf_status(&c->out_head) < 0) {
        c->err_status = 500;
        conn_close(c);
        return;
    }
    uv_buf_t b[2];
    b[0] = uv_buf_init(c->out_head.ptr, (unsigned)c->out_head.len);
    unsigned nb = 1;
    if (c->out_body_len > 0)
        b[nb++] = uv_buf_init((char *)c->out_body, (unsigned)c->out_body_len);
    /* what run_request_send sent of it already */
    for (unsigned i = 0; i < nb && pre > 0; i++) {
        size_t k = pre < b[i].len ? pre : b[i].len;
        b[i].base += k;
        b[i].len -= (unsigned)k;
        pre -= k;
    }
    /* Most answers fit the socket's buffer: written here, the request ends
       now and its arena goes back to the cache before the next request of
       this loop turn takes one (a turn of inline requests reuses one warm
       arena instead of holding one per connection until the write
       callbacks of the next turn). */
    int n = uv_try_write((uv_stream_t *)&c->tcp, b, nb);
    if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
        write_failed(c);
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0;
    unsigned first = 0;
    while (first < nb && sent >= b[first].len) {
        sent -= b[first].len;
        first++;
    }
    if (first == nb) {
        if (c->file_left > 0) {
            write_next(c);
            return;
        }
        request_end(c);
        return;
    }
    b[first].base += sent;
    b[first].len -= sent;
    c->wreq.data = c;
    uv_timer_start(&c->timer, on_timeout, c->w->cfg.idle_timeout_ms, 0);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b + first, nb - first, on_written) < 0)
        conn_close(c);
}

/* Requests given back by deposed leaders: their answers go on here. */
static void on_wake(uv_async_t *a)
{
    worker *w = a->data;
    pthread_mutex_lock(&w->mu);
    conn *c = w->back_head;
    w->back_head = w->back_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (c) {
        conn *next = c->next_job;
        respond(c);
        c = next;
    }
}

/* ---- accepting ------------------------------------------------------------- */

static void conn_start(worker *w, conn *c)
{
    w->nconns++;
    c->handles = 2;
    c->tcp.data = c;
    c->timer.data = c;
    c->file_fd = -1;
    if (w->nall == w->capall) {
        size_t cap = w->capall ? w->capall * 2 : 256;
        conn **m = realloc(w->all, cap * sizeof(*m));
        if (!m) {
            conn_close(c);
            return;
        }
        w->all = m;
        w->capall = cap;
    }
    w->all[w->nall++] = c;
    if (!(c->addr = addr_acquire(w, c))) {
        conn_close(c); /* over the per-address limit */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_os_fd_t fd;
    c->fd = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? fd : -1;
    c->state = CS_IDLE;
    uv_timer_start(&c->timer, on_timeout, w->cfg.idle_timeout_ms, 0);
    read_start(c);
}

static conn *conn_new(worker *w)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    return c;
}

static void accept_one(worker *w)
{
    conn *c = conn_new(w);
    if (!c)
        return;
    if (uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)&c->tcp) < 0) {
        w->nconns++; /* balanced in on_handle_closed */
        c->handles = 2;
        c->tcp.data = c->timer.data = c;
        conn_close(c);
        return;
    }
    conn_start(w, c);
}

static void accept_more(worker *w)
{
    if (!w->listening || w->nconns >= w->lim.connection_limit)
        return;
    w->accept_pending = false;
    accept_one(w);
}

static void on_connection(uv_stream_t *s, int status)
{
    worker *w = s->data;
    if (status < 0)
        return;
    if (w->nconns >= w->lim.connection_limit) {
        /* leave it in the backlog until a slot frees (libuv stops
           watching the listening socket meanwhile) */
        w->accept_pending = true;
        return;
    }
    accept_one(w);
}

/* ---- stopping --------------------------------------------------------------- */

static void on_closed_quiet(uv_handle_t *h)
{
    (void)h;
}

static void maybe_finish_drain(worker *w)
{
    if (!w->draining || w->nconns > 0)
        return;
    if (!uv_is_closing((uv_handle_t *)&w->wake)) {
        uv_close((uv_handle_t *)&w->wake, on_closed_quiet);
        uv_close((uv_handle_t *)&w->stop_timer, on_closed_quiet);
        uv_close((uv_handle_t *)&w->parent_timer, on_closed_quiet);
        uv_close((uv_handle_t *)&w->sig_term, on_closed_quiet);
        uv_close((uv_handle_t *)&w->sig_int, on_closed_quiet);
    }
}

static void on_stop_deadline(uv_timer_t *t)
{
    worker *w = t->data;
    ph_log_warn("worker: %u connection(s) still open at the shutdown deadline", w->nconns);
    exit(0);
}

/* Stops accepting after taking what is already queued, closes idle
 * connections, lets the others finish. */
static void drain(worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    if (w->listening) {
        if (w->accept_pending) {
            w->accept_pending = false;
            accept_one(w);
        }
        uv_os_fd_t lfd;
        if (uv_fileno((uv_handle_t *)&w->listener, &lfd) == 0) {
            for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                conn *c = conn_new(w);
                if (!c || uv_tcp_open(&c->tcp, fd) < 0) {
                    close(fd);
                    if (c) {
                        w->nconns++;
                        c->handles = 2;
                        c->tcp.data = c->timer.data = c;
                        conn_close(c);
                    }
                    continue;
                }
                conn_start(w, c);
            }
        }
        w->listening = false;
        uv_close((uv_handle_t *)&w->listener, on_closed_quiet);
    }
    for (size_t i = w->nall; i-- > 0;) {
        conn *c = w->all[i];
        if (c->state == CS_IDLE && c->in_len == 0 && c->served > 0)
            conn_close(c); /* idle between requests */
        else if (c->state == CS_IDLE && c->in_len == 0)
            /* just taken from the backlog: its request is on its way */
            uv_timer_start(&c->timer, on_timeout, 1000, 0);
        else if (c->state == CS_HEAD || c->state == CS_BODY || c->state == CS_IDLE)
            c->keep_alive = false; /* (a deposed leader may be reading it otherwise) */
    }
    uv_timer_start(&w->stop_timer, on_stop_deadline, (uint64_t)w->lim.shutdown_timeout * 1000, 0);
    maybe_finish_drain(w);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    drain(s->data);
}

static void on_parent_check(uv_timer_t *t)
{
    worker *w = t->data;
    if (getppid() != w->parent)
        drain(w);
}

/* ---- the threads: leader, followers, watchdog --------------------------------- */

/* A deposed leader's request, its handler done and its answer sent (or
 * left for respond): back to the loop, which takes it in on_wake (woken
 * by follow, once this thread is counted as a follower again). */
static void give_back(worker *w, conn *c)
{
    c->next_job = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->back_tail)
        w->back_tail->next_job = c;
    else
        w->back_head = c;
    w->back_tail = c;
    pthread_mutex_unlock(&w->mu);
}

/* Runs the loop and, between its turns, the handlers of the requests a
 * turn completed -- first those a deposed leader left queued.  A handler
 * starts only while a follower waits to take the loop from it: the last
 * free thread keeps the loop (reading, writing, deadlines, inline routes)
 * and the requests stay queued until a thread is free again.  Returns
 * true when the loop is over, false when a follower took it while a
 * handler ran here (that request given back). */
static bool lead(worker *w, thread_ctx *tc)
{
    w->tctx = tc;
    for (int alive = 1;;) {
        conn *c;
        while ((c = w->pend_head) && atomic_load(&w->nfollowers) > 0) {
            w->pend_head = c->next_job;
            if (!w->pend_head)
                w->pend_tail = NULL;
            c->next_job = NULL;
            int64_t since = ph_now_ns();
            atomic_store(&w->job_since, since);
            atomic_fetch_add(&w->jobs, 1);
            if (atomic_load(&w->wd_idle)) {
                /* the first handler after a quiet spell: the watchdog
                   looks again (it rechecks jobs under mu, so this signal
                   is not lost) */
                pthread_mutex_lock(&w->mu);
                pthread_cond_signal(&w->wd_cv);
                pthread_mutex_unlock(&w->mu);
            }
            run_request_send(c, tc);
            if (!atomic_compare_exchange_strong(&w->job_since, &since, 0)) {
                /* deposed: the loop, and every connection, is another
                   thread's now */
                give_back(w, c);
                return false;
            }
            respond(c);
        }
        if (!alive)
            return true;
        w->in_run = true;
        alive = uv_run(&w->loop, UV_RUN_ONCE);
        w->in_run = false;
    }
}

/* A thread of the worker: leads at once (the worker's first thread) or
 * waits to be asked, and again after being deposed, until the loop is
 * over. */
static void follow(worker *w, bool lead_now)
{
    thread_ctx tc = {0};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (!lead_now) {
            w->nfollowers++;
            /* the loop takes the request given back, and may run the
               requests it kept queued while no thread was free (at
               start-up too: none may have been free yet); until the
               loop is over, as the handle is closed then */
            if (!w->finished)
                uv_async_send(&w->wake);
            while (!w->finished && !w->need_leader)
                pthread_cond_wait(&w->follow_cv, &w->mu);
            w->nfollowers--;
            if (w->finished)
                break;
            w->need_leader = false;
        }
        pthread_mutex_unlock(&w->mu);
        bool over = lead(w, &tc);
        pthread_mutex_lock(&w->mu);
        if (over) {
            w->finished = true;
            pthread_cond_broadcast(&w->follow_cv);
            pthread_cond_signal(&w->wd_cv);
            break;
        }
        lead_now = false;
    }
    pthread_mutex_unlock(&w->mu);
}

static void *follower_main(void *arg)
{
    follow(arg, false);
    return NULL;
}

/* Every TICK_NS while handlers run (asleep otherwise): a handler that has
 * run PH__STALL_NS loses the loop to a waiting follower.  None waiting (every
 * thread holds a slow request): the leader keeps it, and the next tick
 * looks again. */
static void *watchdog_main(void *arg)
{
    worker *w = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->finished) {
        uint64_t n = atomic_load(&w->jobs);
        if (atomic_load(&w->job_since) == 0 && n == seen) {
            /* no handler ran for a whole tick: sleep until one starts */
            atomic_store(&w->wd_idle, true);
            if (atomic_load(&w->jobs) == n)
                pthread_cond_wait(&w->wd_cv, &w->mu);
            atomic_store(&w->wd_idle, false);
            seen = atomic_load(&w->jobs);
            continue;
        }
        seen = n;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + TICK_NS;
        ts.tv_sec = (time_t)(at / 1000000000);
        ts.tv_nsec = (long)(at % 1000000000);
        pthread_cond_timedwait(&w->wd_cv, &w->mu, &ts);
        int64_t since = atomic_load(&w->job_since);
        if (since != 0 && ph_now_ns() - since >= PH__STALL_NS && w->nfollowers > 0 &&
            !w->need_leader && atomic_compare_exchange_strong(&w->job_since, &since, 0)) {
            w->need_leader = true;
            pthread_cond_signal(&w->follow_cv);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Starts `threads` followers and the watchdog, signals blocked in them
 * (the loop's signal handles are served through the first thread, which
 * leaves them unblocked).  With the first thread, threads + 1 in all, of
 * which at most `threads` run handlers at once and one keeps the loop. */
static int threads_start(worker *w, int threads)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->follow_cv, NULL);
    pthread_cond_init(&w->wd_cv, &ca);
    pthread_condattr_destroy(&ca);
    int n = threads > 0 ? threads : 1;
    if (!(w->threads = calloc((size_t)n, sizeof(*w->threads))))
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < n && pthread_create(&w->threads[i], NULL, follower_main, w) == 0; i++)
        w->nthreads++;
    w->watchdog_started = pthread_create(&w->watchdog, NULL, watchdog_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w->nthreads > 0 && w->watchdog_started ? 0 : -1;
}

/* After the loop is over (finished set, every thread told): joins them. */
static void threads_join(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->follow_cv);
    pthread_cond_signal(&w->wd_cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    if (w->watchdog_started)
        pthread_join(w->watchdog, NULL);
    free(w->threads);
}

_Noreturn void ph__worker_run(ph_app *app, const ph_app_limits *limits, const ph__server_cfg *cfg,
                              int listen_fd, int threads, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        exit(0); /* the supervisor died before prctl */
    signal(SIGPIPE, SIG_IGN);

    worker *w = calloc(1, sizeof(*w));
    if (!w)
        exit(1);
    w->app = app;
    w->lim = *limits;
    w->cfg = *cfg;
    w->parent = parent;
    w->wl = (ph_wire_limits){.max_url = limits->max_url_length,
                             .max_header = limits->max_header_size,
                             .max_body = limits->max_content_length};
    if (uv_loop_init(&w->loop) < 0) {
        ph_log_error("worker: event loop could not start");
        exit(1);
    }
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    if (threads_start(w, threads) < 0) {
        ph_log_error("worker: handler threads could not start");
        exit(1);
    }
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    if (uv_tcp_open(&w->listener, listen_fd) < 0 ||
        uv_listen((uv_stream_t *)&w->listener, 1024, on_connection) < 0) {
        ph_log_error("worker: cannot listen");
        exit(1);
    }
    w->listening = true;
    uv_signal_init(&w->loop, &w->sig_term);
    uv_signal_init(&w->loop, &w->sig_int);
    w->sig_term.data = w->sig_int.data = w;
    uv_signal_start(&w->sig_term, on_signal, SIGTERM);
    uv_signal_start(&w->sig_int, on_signal, SIGINT);
    uv_timer_init(&w->loop, &w->parent_timer);
    uv_timer_init(&w->loop, &w->stop_timer);
    w->parent_timer.data = w->stop_timer.data = w;
    uv_timer_start(&w->parent_timer, on_parent_check, 500, 500);
    /* the supervisor blocked these to wait for them; here libuv takes them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &set, NULL);

    follow(w, true);

    threads_join(w);
    /* the other threads closed their database connections as they ended;
       this one, which led first and may have run every handler, closes
       its own with the app (the last SQLite connection closed empties
       the WAL) */
    ph_app_free(w->app);
    uv_loop_close(&w->loop);
    while (w->narenas > 0)
        ph_arena_free(w->arenas[--w->narenas]);
    free(w->all);
    free(w);
    exit(0);
}
