/*
 * What the files of the server layer share: the worker's entry point and
 * the handler thread pool.
 */
#ifndef PHIAL_SERVER_INTERNAL_H
#define PHIAL_SERVER_INTERNAL_H

#include "phial/server.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* The server's own settings beyond ph_app_limits, read from the app's
 * config at start-up (see the README's limits table). */
typedef struct ph__server_cfg {
    unsigned header_timeout_ms; /* HEADER_TIMEOUT: whole head, from its first byte */
    unsigned body_timeout_ms;   /* BODY_TIMEOUT: whole body, from the end of the head */
    unsigned idle_timeout_ms;   /* CONNECTION_TIMEOUT: keep-alive idle, and write progress */
    unsigned per_address;       /* CONNECTION_LIMIT_PER_ADDRESS (per worker) */
} ph__server_cfg;

/* Reads the settings above; 0 or PH_EINVAL (logged). */
int ph__server_cfg_get(const ph_app *app, const ph_app_limits *lim, ph__server_cfg *out);

/* Runs one worker on listen_fd until SIGTERM/SIGINT or the death of
 * parent; never returns (exits 0 after draining, 1 if it cannot start). */
_Noreturn void ph__worker_run(ph_app *app, const ph_app_limits *limits, const ph__server_cfg *cfg,
                              int listen_fd, int threads, pid_t parent);

/* ---- the handler thread pool (pool.c) ------------------------------------ */

/* A unit of work: run(job) on a pool thread, then done(job) back on the
 * loop thread (through the wake-up the pool was made with).  A job that
 * run() marks quiet (its answer sent whole, nothing for the loop to do
 * at once) is handed back without a wake-up: the loop takes it on its next
 * turn (ph__pool_take_done from a prepare callback), unless the loop has
 * said it waits for one (ph__pool_watch). */
typedef struct ph__job {
    struct ph__job *next;
    void (*run)(struct ph__job *job, void *thread_ctx);
    bool quiet; /* set by run() */
} ph__job;

/* How long a job may run before its thread stops counting as active and a
 * spare takes the next job, and how many of a worker's handler threads
 * take jobs as they come (two: one can wait on the database while the
 * other runs). */
#define PH__POOL_STALL_NS (50 * 1000000LL)
#define PH__POOL_ACTIVE 2

typedef struct ph__pool ph__pool;

/* Starts n threads (signals blocked in them), of which `active` take jobs
 * as they come and the rest only in place of one whose job has run
 * PH__POOL_STALL_NS.
 * wake(wake_ud) is called from a pool thread when a job is finished that
 * is not quiet (or any while the loop watches), once until the loop next
 * takes the done jobs.
 * thread_ctx_size bytes of zeroed per-thread memory are given to every
 * run.  NULL on failure. */
ph__pool *ph__pool_new(int n, int active, size_t thread_ctx_size, void (*wake)(void *),
                       void *wake_ud);
/* Queues n jobs linked first..last through next (loop thread), waking at
 * most n waiting threads. */
void ph__pool_submit(ph__pool *p, ph__job *first, ph__job *last, int n);
/* Loop thread, every PH__POOL_STALL_NS / 2 while it answers true: wakes
 * spare threads for queued jobs when the active ones have all run past a
 * stall.  True while jobs are queued or running. */
bool ph__pool_check(ph__pool *p);
/* Takes every finished job, oldest first (loop thread); NULL when none. */
ph__job *ph__pool_take_done(ph__pool *p);
/* Loop thread: +1 when it needs to hear of a running job's end at once
 * (input came for its connection, or it must close it), -1 when that job
 * is back.  While any is watched, every finished job wakes the loop. */
void ph__pool_watch(ph__pool *p, int delta);
/* Stops the threads once the queue is empty, joins them (their thread
 * state is released by the app's thread hooks) and frees the pool. */
void ph__pool_free(ph__pool *p);

/* After binding: switches to RUN_AS_USER when started as root, refuses
 * root without it unless ALLOW_ROOT=1 (privdrop.c).  0, or PH_EDENIED
 * (logged) with listen_fd closed. */
int ph__server_drop_privileges(const ph_app *app, int listen_fd);

#endif
