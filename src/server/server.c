/*
 * The supervisor: parses the server options, binds the listening socket,
 * forks the workers and keeps them alive.  A worker that dies is replaced
 * (with a short back-off if it dies right after starting); SIGTERM or
 * SIGINT is passed on to the workers, which drain, and the supervisor
 * exits 0 once they are gone (killing stragglers after SHUTDOWN_TIMEOUT).
 *
 * The supervisor stays single-threaded (it forks) and waits for signals
 * with sigtimedwait on a blocked set, so it needs no signal handlers.
 */
#include "phial/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (!s || ph_parse_i64(ph_slice_cstr(s), &v) < 0 || v < lo || v > hi)
        return PH_EINVAL;
    *out = (int)v;
    return 0;
}

static int bad(char *err, size_t errlen, const char *what, const char *value)
{
    if (err && errlen)
        snprintf(err, errlen, "invalid %s: \"%s\"", what, value ? value : "");
    return PH_EINVAL;
}

int ph_server_options_init(ph_server_options *o, char *err, size_t errlen)
{
    *o = (ph_server_options){.host = "127.0.0.1", .port = 5000, .workers = 0, .threads = 0};
    const char *v;
    if ((v = getenv("HOST")) && *v)
        o->host = v;
    if ((v = getenv("PORT")) && *v && parse_int(v, 0, 65535, &o->port) < 0)
        return bad(err, errlen, "PORT", v);
    if ((v = getenv("WORKERS")) && *v && parse_int(v, 0, 1024, &o->workers) < 0)
        return bad(err, errlen, "WORKERS", v);
    if ((v = getenv("THREADS")) && *v && parse_int(v, 0, 1024, &o->threads) < 0)
        return bad(err, errlen, "THREADS", v);
    return 0;
}

int ph_server_options_parse(ph_server_options *o, int argc, char **argv, char *err, size_t errlen)
{
    static const char *const names[] = {"--host", "--port", "--workers", "--threads"};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        int which = -1;
        for (int k = 0; k < (int)PH_COUNTOF(names); k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                which = k;
                if (a[n] == '=')
                    val = a + n + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                break;
            }
        }
        if (which < 0) {
            if (err && errlen)
                snprintf(err, errlen, "unknown option \"%s\"", a);
            return PH_EINVAL;
        }
        if (!val)
            return bad(err, errlen, names[which] + 2, "");
        switch (which) {
        case 0:
            if (!*val)
                return bad(err, errlen, "host", val);
            o->host = val;
            break;
        case 1:
            if (parse_int(val, 0, 65535, &o->port) < 0)
                return bad(err, errlen, "port", val);
            break;
        case 2:
            if (parse_int(val, 0, 1024, &o->workers) < 0)
                return bad(err, errlen, "workers", val);
            break;
        case 3:
            if (parse_int(val, 0, 1024, &o->threads) < 0)
                return bad(err, errlen, "threads", val);
            break;
        }
    }
    return 0;
}

/* A whole number of seconds from the config, def when unset; PH_EINVAL
 * (logged) when not in 1..86400. */
static int seconds(const ph_app *app, const char *key, int64_t def, unsigned *out)
{
    int64_t v;
    if (ph_app_config_int(app, key, def, &v) < 0 || v < 1 || v > 86400) {
        ph_log_error("config %s: not a number of seconds in 1..86400: \"%s\"", key,
                     ph_app_config_get(app, key));
        return PH_EINVAL;
    }
    *out = (unsigned)v * 1000;
    return 0;
}

int ph__server_cfg_get(const ph_app *app, const ph_app_limits *lim, ph__server_cfg *out)
{
    unsigned idle = lim->connection_timeout ? lim->connection_timeout : 1;
    int64_t per;
    if (seconds(app, "HEADER_TIMEOUT", idle < 10 ? idle : 10, &out->header_timeout_ms) < 0 ||
        seconds(app, "BODY_TIMEOUT", idle, &out->body_timeout_ms) < 0)
        return PH_EINVAL;
    out->idle_timeout_ms = idle * 1000;
    if (ph_app_config_int(app, "CONNECTION_LIMIT_PER_ADDRESS", 256, &per) < 0 || per < 1 ||
        per > 1000000) {
        ph_log_error("config CONNECTION_LIMIT_PER_ADDRESS: not a number in 1..1000000: \"%s\"",
                     ph_app_config_get(app, "CONNECTION_LIMIT_PER_ADDRESS"));
        return PH_EINVAL;
    }
    out->per_address = (unsigned)per;
    return 0;
}

/* A listening, non-blocking socket on host:port; -1 (logged) on failure.
 * *port_out gets the bound port (useful for port 0). */
static int listen_on(const char *host, int port, int *port_out)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        ph_log_error("cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        ph_log_error("cannot listen on %s:%d: %s", host, port, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    *port_out = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char hbuf[64], sbuf[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), sbuf, sizeof(sbuf),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            *port_out = atoi(sbuf);
    }
    return fd;
}

/* One listening socket per worker, all bound with SO_REUSEPORT to the
 * address fds[0] has: the kernel spreads new connections over them by a
 * hash of their addresses, each waking one worker.  With one shared socket
 * the worker that woke first took every connection of a burst (64 against
 * 1 under wrk).  fds[0] was bound without the option, so that a port in
 * use (by another server of the same user too, which SO_REUSEPORT would
 * let in) was refused and port 0 chose a free port; it is replaced here.
 * The supervisor keeps them all open, so a socket's queue outlives its
 * worker and waits for the one that replaces it. */
static int listen_group(int *fds, int n)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fds[0], (struct sockaddr *)&ss, &sl) < 0) {
        ph_log_error("cannot listen: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    close(fds[0]);
    for (int i = 0; i < n; i++) {
        int one = 1;
        fds[i] = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0 || setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
            bind(fds[i], (struct sockaddr *)&ss, sl) < 0 || listen(fds[i], 1024) < 0) {
            ph_log_error("cannot listen for worker %d: %s", i + 1, strerror(errno));
            if (fds[i] >= 0)
                close(fds[i]);
            while (--i >= 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

typedef struct slot {
    int fd; /* its listening socket */
    pid_t pid;
    int64_t started_ns;
    int64_t restart_at_ns;
} slot;

static pid_t spawn(ph_app *app, const ph_app_limits *limits, const ph__server_cfg *cfg,
                   const slot *slots, int nslots, int self, int threads)
{
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* the other workers' sockets: left open here, they would go on
           queueing connections after their workers stop */
        for (int i = 0; i < nslots; i++)
            if (i != self)
                close(slots[i].fd);
        ph__worker_run(app, limits, cfg, slots[self].fd, threads, parent);
    }
    if (pid < 0)
        ph_log_error("fork: %s", strerror(errno));
    return pid;
}

static void describe_exit(int st, char *buf, size_t n)
{
    if (WIFEXITED(st))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "stopped");
}

/* Reaps dead workers; returns how many are still running. */
static int reap(slot *slots, int n, bool stopping)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (slots[i].pid != pid)
                continue;
            slots[i].pid = 0;
            if (!stopping) {
                char why[64];
                describe_exit(st, why, sizeof(why));
                ph_log_warn("worker %ld %s; starting a new one", (long)pid, why);
                int64_t now = ph_now_ns();
                /* dying within a second of starting: back off a little */
                slots[i].restart_at_ns =
                    now - slots[i].started_ns < 1000000000 ? now + 500000000 : now;
            }
        }
    }
    int alive = 0;
    for (int i = 0; i < n; i++)
        alive += slots[i].pid > 0;
    return alive;
}

int ph_server_run(ph_app *app, const ph_server_options *o)
{
    ph_app_limits limits;
    if (ph_app_limits_get(app, &limits) < 0)
        return PH_EINVAL;
    ph__server_cfg cfg;
    if (ph__server_cfg_get(app, &limits, &cfg) < 0)
        return PH_EINVAL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    int nworkers = o->workers > 0 ? o->workers : (int)cores;
    /* handlers may block on the database: several threads per core */
    int threads = o->threads > 0 ? o->threads : (int)(cores * 4 < 64 ? cores * 4 : 64);
    /* every connection is a descriptor: allow as many as the system does */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int port = 0;
    slot *slots = calloc((size_t)nworkers, sizeof(*slots));
    int *fds = calloc((size_t)nworkers, sizeof(*fds));
    if (!slots || !fds) {
        free(slots);
        free(fds);
        return PH_ENOMEM;
    }
    fds[0] = listen_on(o->host, o->port, &port);
    if (fds[0] < 0 || (nworkers > 1 && listen_group(fds, nworkers) < 0)) {
        free(slots);
        free(fds);
        return PH_EIO;
    }
    for (int i = 0; i < nworkers; i++)
        slots[i].fd = fds[i];
    free(fds);
    /* RUN_AS_USER: after binding (a port below 1024 needs root) */
    if (ph__server_drop_privileges(app, slots[0].fd) < 0) { /* closes slots[0].fd */
        for (int i = 1; i < nworkers; i++)
            close(slots[i].fd);
        free(slots);
        return PH_EDENIED;
    }

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);

    bool v6 = strchr(o->host, ':') != NULL;
    printf("Serving on http://%s%s%s:%d\n", v6 ? "[" : "", o->host, v6 ? "]" : "", port);
    fflush(stdout);
    ph_log_info("%d worker(s), %d handler thread(s) each and one more, taking turns at the "
                "loop: the one running it runs the handlers, and a handler that has run %lld ms "
                "loses it to a waiting thread",
                nworkers, threads, PH__STALL_NS / 1000000);

    bool stopping = false;
    while (!stopping) {
        int64_t now = ph_now_ns();
        for (int i = 0; i < nworkers; i++) {
            if (slots[i].pid == 0 && now >= slots[i].restart_at_ns) {
                pid_t pid = spawn(app, &limits, &cfg, slots, nworkers, i, threads);
                if (pid > 0) {
                    slots[i].pid = pid;
                    slots[i].started_ns = now;
                } else {
                    slots[i].restart_at_ns = now + 1000000000;
                }
            }
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            ph_log_info("signal %d: shutting down", sig);
            stopping = true;
        }
        reap(slots, nworkers, stopping);
    }

    /* the workers stop accepting and finish what they have */
    for (int i = 0; i < nworkers; i++)
        close(slots[i].fd);
    for (int i = 0; i < nworkers; i++)
        if (slots[i].pid > 0)
            kill(slots[i].pid, SIGTERM);
    int64_t deadline = ph_now_ns() + ((int64_t)limits.shutdown_timeout + 2) * 1000000000;
    while (reap(slots, nworkers, true) > 0 && ph_now_ns() < deadline) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigtimedwait(&chld, NULL, &ts);
    }
    for (int i = 0; i < nworkers; i++) {
        if (slots[i].pid > 0) {
            ph_log_warn("worker %ld did not stop in time: killed", (long)slots[i].pid);
            kill(slots[i].pid, SIGKILL);
            waitpid(slots[i].pid, NULL, 0);
        }
    }
    free(slots);
    sigprocmask(SIG_SETMASK, &old, NULL);
    ph_log_info("stopped");
    return 0;
}
