/*
 * Unit tests of the handler thread pool's hand-back (src/server/pool.c):
 * a finished job wakes the loop unless run() marked it quiet, a quiet one
 * wakes it all the same while the loop watches, one wake-up stands for
 * every job finished until the loop takes them, and the jobs come back
 * oldest first.  Deterministic: each case waits for its jobs to be listed
 * as done (ph__pool_take_done), then counts the wake-ups.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "../../src/server/internal.h"
#include "test.h"

typedef struct tjob {
    ph__job job; /* first: the pool gives it back */
    bool quiet;
    int id;
} tjob;

static _Atomic int wakes;

static void on_wake(void *ud)
{
    (void)ud;
    atomic_fetch_add(&wakes, 1);
}

static void run(ph__job *j, void *ctx)
{
    (void)ctx;
    j->quiet = ((tjob *)(void *)j)->quiet;
}

static void submit(ph__pool *p, tjob *t, int id, bool quiet)
{
    *t = (tjob){.quiet = quiet, .id = id};
    t->job.run = run;
    ph__pool_submit(p, &t->job, &t->job, 1);
}

/* Takes the done jobs until n have come back (10 s at most), in order of
 * their ids into ids[]. */
static int take(ph__pool *p, int n, int *ids)
{
    int got = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (got < n) {
        for (ph__job *j = ph__pool_take_done(p); j; j = j->next)
            ids[got < n ? got++ : n - 1] = ((tjob *)(void *)j)->id;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10)
            break;
        if (got < n)
            sched_yield();
    }
    return got;
}

/* Waits until every one of the submitted jobs has been listed (the pool
 * is idle again) without taking them. */
static void settle(ph__pool *p)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ph__pool_check(p)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10)
            break;
        sched_yield();
    }
}

static void quiet_jobs_do_not_wake(void)
{
    ph__pool *p = ph__pool_new(2, 1, 0, on_wake, NULL);
    CHECK(p != NULL);
    if (!p)
        return;
    tjob a, b, c;
    int ids[3] = {0};

    atomic_store(&wakes, 0);
    submit(p, &a, 1, false);
    CHECK_INT(take(p, 1, ids), 1);
    CHECK_INT(atomic_load(&wakes), 1); /* a plain job wakes the loop */

    atomic_store(&wakes, 0);
    submit(p, &a, 2, true);
    CHECK_INT(take(p, 1, ids), 1);
    CHECK_INT(ids[0], 2);
    CHECK_INT(atomic_load(&wakes), 0); /* a quiet one does not */

    atomic_store(&wakes, 0);
    ph__pool_watch(p, 1); /* the loop has news for a running request */
    submit(p, &a, 3, true);
    CHECK_INT(take(p, 1, ids), 1);
    CHECK_INT(atomic_load(&wakes), 1); /* so even a quiet one wakes it */
    ph__pool_watch(p, -1);

    /* quiet, quiet, plain, nothing taken between: one wake-up for all,
       which the plain one sends; all three back oldest first */
    atomic_store(&wakes, 0);
    submit(p, &a, 4, true);
    settle(p);
    submit(p, &b, 5, true);
    settle(p);
    CHECK_INT(atomic_load(&wakes), 0);
    submit(p, &c, 6, false);
    settle(p);
    CHECK_INT(atomic_load(&wakes), 1);
    CHECK_INT(take(p, 3, ids), 3);
    CHECK(ids[0] == 4 && ids[1] == 5 && ids[2] == 6);

    /* plain, plain, nothing taken between: one wake-up; after the take,
       the next plain job wakes again */
    atomic_store(&wakes, 0);
    submit(p, &a, 7, false);
    settle(p);
    submit(p, &b, 8, false);
    settle(p);
    CHECK_INT(atomic_load(&wakes), 1);
    CHECK_INT(take(p, 2, ids), 2);
    submit(p, &a, 9, false);
    CHECK_INT(take(p, 1, ids), 1);
    CHECK_INT(atomic_load(&wakes), 2);
    ph__pool_free(p);
}

int main(void)
{
    RUN(quiet_jobs_do_not_wake);
    TEST_END();
}
