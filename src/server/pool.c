/*
 * A worker's handler thread pool: a FIFO of jobs that N threads take from,
 * and a FIFO of finished jobs that the event-loop thread takes back after
 * a wake-up.  Handlers may block (a database wait, a password hash) without
 * holding up the loop or the other threads.  The threads live as long as
 * the worker, so each keeps its own thread state (the app's per-thread
 * database connection) from one request to the next.
 */
#include <signal.h>
#include <stdlib.h>

#include "internal.h"

struct ph__pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ph__job *head, *tail; /* waiting jobs */
    pthread_mutex_t done_mu;
    ph__job *done_head, *done_tail;
    bool stop;
    int idle; /* threads waiting for a job */
    int n;
    size_t ctx_size;
    void (*wake)(void *);
    void *wake_ud;
    pthread_t *threads;
};

static void *thread_main(void *arg)
{
    ph__pool *p = arg;
    void *ctx = p->ctx_size ? calloc(1, p->ctx_size) : NULL;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        ph__job *j = p->head;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            break; /* stopping and nothing left */
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);

        j->next = NULL;
        j->run(j, ctx);

        pthread_mutex_lock(&p->done_mu);
        bool was_empty = p->done_head == NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        pthread_mutex_unlock(&p->done_mu);
        if (was_empty)
            p->wake(p->wake_ud);
    }
    free(ctx);
    return NULL;
}

ph__pool *ph__pool_new(int n, size_t thread_ctx_size, void (*wake)(void *), void *wake_ud)
{
    ph__pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
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
    last->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = first;
    else
        p->head = first;
    p->tail = last;
    /* wake no more threads than there are jobs: a busy thread takes the
       next job without sleeping */
    int wake = n < p->idle ? n : p->idle;
    for (int i = 0; i < wake; i++)
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

ph__job *ph__pool_take_done(ph__pool *p)
{
    pthread_mutex_lock(&p->done_mu);
    ph__job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->done_mu);
    return j;
}

void ph__pool_free(ph__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->done_mu);
    free(p->threads);
    free(p);
}
