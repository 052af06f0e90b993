/*
 * A worker's handler thread pool: a FIFO of jobs that N threads take from,
 * and a FIFO of finished jobs that the event-loop thread takes back after
 * a wake-up (or on its next turn, for a job marked quiet).  Handlers may
 * block (a database wait, a password hash) without holding up the loop or
 * the other threads.  The threads live as long as the worker, so each
 * keeps its own thread state (the app's per-thread database connection)
 * from one request to the next.
 *
 * Only `active` threads take jobs as they come: a thread that finishes one
 * takes the next without sleeping, and a queue of short jobs is served by
 * few threads that stay on the CPU, rather than by a wake-up and a context
 * switch per job (on a 2-core machine, 8 threads each woken per request
 * made PostgreSQL's /db 10-25% slower than 2).  Waiting threads are woken
 * last-in first-out, so the same few threads, with their warm caches and
 * database connections, do the work.  The other threads are spares: a
 * thread whose job has run PH__POOL_STALL_NS (a slow handler, a long
 * database wait) no longer counts as active, and a spare takes the next
 * job in its place; the loop thread looks for that (ph__pool_check) while
 * jobs run.  The queue's own wait says nothing (under load every job
 * waits), the running jobs' age does.  So a slow request holds up the
 * ones behind it by at most that, and a fast workload pays no hand-offs.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct waiter {
    pthread_cond_t cv;
    bool woken;
} waiter;

struct ph__pool {
    pthread_mutex_t mu;
    ph__job *head, *tail; /* waiting jobs */
    pthread_mutex_t done_mu;
    ph__job *done_head, *done_tail;
    bool wake_sent;          /* since the loop last took the done jobs */
    _Atomic int watched;     /* ph__pool_watch */
    bool stop;
    int active;       /* threads that take jobs without a stall */
    int64_t *started; /* per thread: when its job started (or it finished
                         one and looks for the next), 0 when waiting */
    waiter *waiters;  /* per thread */
    int *idle;        /* waiting threads, the last to wait on top */
    int nidle;
    int nstarted; /* threads that took their index */
    int n, cap;   /* threads started, and asked for */
    size_t ctx_size;
    void (*wake)(void *);
    void *wake_ud;
    pthread_t *threads;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Threads (p->mu held) other than `self` that count as active: running a
 * job that started less than a stall ago, or between two jobs.  The others
 * wait for work or are held up by their job. */
static int fresh(const ph__pool *p, int64_t now, int self)
{
    int k = 0;
    for (int i = 0; i < p->nstarted; i++) {
        int64_t t = p->started[i];
        k += i != self && t && now - t < PH__POOL_STALL_NS;
    }
    return k;
}

/* Wakes the thread that waited last (p->mu held); false if none waits.
 * It counts as active from now: until it runs, the next submit or check
 * would otherwise see a free place and wake another (on a loaded machine,
 * where wake-ups take a while, every thread ended up taking work and
 * stayed so: 7 of 8 after a burst of 256 connections). */
static bool wake_one(ph__pool *p)
{
    if (p->nidle == 0)
        return false;
    int self = p->idle[--p->nidle];
    p->started[self] = now_ns();
    waiter *w = &p->waiters[self];
    w->woken = true;
    pthread_cond_signal(&w->cv);
    return true;
}

/* Takes `self` off the waiting stack when it stops waiting unwoken (the
 * pool is stopping), keeping the order of the others. */
static void unlist(ph__pool *p, int self)
{
    for (int i = 0; i < p->nidle; i++) {
        if (p->idle[i] == self) {
            memmove(&p->idle[i], &p->idle[i + 1], (size_t)(p->nidle - i - 1) * sizeof(int));
            p->nidle--;
            return;
        }
    }
}

/* Waits (p->mu held) until thread `self` may take a job; false: stopping
 * with nothing left.  A job is taken while fewer than `active` other
 * threads count as active; ph__pool_check wakes a spare when they have
 * all run past a stall. */
static bool wait_for_job(ph__pool *p, int self)
{
    waiter *w = &p->waiters[self];
    for (;;) {
        if (p->head && (p->stop || fresh(p, now_ns(), self) < p->active))
            return true;
        if (p->stop)
            return false;
        p->started[self] = 0; /* waiting: not active */
        w->woken = false;
        p->idle[p->nidle++] = self;
        while (!w->woken && !p->stop)
            pthread_cond_wait(&w->cv, &p->mu);
        if (!w->woken)
            unlist(p, self); /* stopping: still listed */
    }
}

static void *thread_main(void *arg)
{
    ph__pool *p = arg;
    void *ctx = p->ctx_size ? calloc(1, p->ctx_size) : NULL;
    pthread_mutex_lock(&p->mu);
    int self = p->nstarted++;
    while (wait_for_job(p, self)) {
        ph__job *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->started[self] = now_ns();
        pthread_mutex_unlock(&p->mu);

        j->next = NULL;
        j->quiet = false;
        j->run(j, ctx);

        /* j may be reused or freed by the loop as soon as it is listed:
           read before. A loop that watched before its last take sees
           either this job listed or (its count read here, under the same
           lock) is woken. */
        bool quiet = j->quiet, wake = false;
        pthread_mutex_lock(&p->done_mu);
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        if ((!quiet || atomic_load(&p->watched) > 0) && !p->wake_sent)
            wake = p->wake_sent = true;
        pthread_mutex_unlock(&p->done_mu);
        if (wake)
            p->wake(p->wake_ud);
        pthread_mutex_lock(&p->mu);
        p->started[self] = now_ns(); /* between jobs: still active */
    }
    p->started[self] = 0;
    pthread_mutex_unlock(&p->mu);
    free(ctx);
    return NULL;
}

ph__pool *ph__pool_new(int n, int active, size_t thread_ctx_size, void (*wake)(void *),
                       void *wake_ud)
{
    ph__pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    p->started = calloc((size_t)n, sizeof(*p->started));
    p->waiters = calloc((size_t)n, sizeof(*p->waiters));
    p->idle = calloc((size_t)n, sizeof(*p->idle));
    if (!p->threads || !p->started || !p->waiters || !p->idle) {
        free(p->threads);
        free(p->started);
        free(p->waiters);
        free(p->idle);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->cap = n;
    for (int i = 0; i < n; i++)
        pthread_cond_init(&p->waiters[i].cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
    p->active = active < 1 ? 1 : active > n ? n : active;
    p->ctx_size = thread_ctx_size;
    p->wake = wake;
    p->wake_ud = wake_ud;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, thread_main, p) != 0)
            break;
        p->n++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->n == 0) {
        ph__pool_free(p);
        return NULL;
    }
    return p;
}

void ph__pool_submit(ph__pool *p, ph__job *first, ph__job *last, int n)
{
    int64_t now = now_ns();
    last->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = first;
    else
        p->head = first;
    p->tail = last;
    /* wake no more threads than there are jobs and free active places: a
       busy thread takes the next job without sleeping */
    int room = p->active - fresh(p, now, -1);
    for (int woke = 0; woke < n && woke < room && wake_one(p); woke++)
        ;
    pthread_mutex_unlock(&p->mu);
}

bool ph__pool_check(ph__pool *p)
{
    pthread_mutex_lock(&p->mu);
    int64_t now = now_ns();
    int room = p->head ? p->active - fresh(p, now, -1) : 0;
    for (int woke = 0; woke < room && wake_one(p); woke++)
        ;
    bool busy = p->head != NULL;
    for (int i = 0; !busy && i < p->nstarted; i++)
        busy = p->started[i] != 0;
    pthread_mutex_unlock(&p->mu);
    return busy;
}

ph__job *ph__pool_take_done(ph__pool *p)
{
    pthread_mutex_lock(&p->done_mu);
    ph__job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    p->wake_sent = false;
    pthread_mutex_unlock(&p->done_mu);
    return j;
}

void ph__pool_watch(ph__pool *p, int delta)
{
    atomic_fetch_add(&p->watched, delta);
}

void ph__pool_free(ph__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    for (int i = 0; i < p->n; i++)
        pthread_cond_signal(&p->waiters[i].cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    for (int i = 0; i < p->cap; i++)
        pthread_cond_destroy(&p->waiters[i].cv);
    pthread_mutex_destroy(&p->done_mu);
    free(p->threads);
    free(p->started);
    free(p->waiters);
    free(p->idle);
    free(p);
}
