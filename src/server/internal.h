/*
 * What the files of the server layer share: the worker's entry point.
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

/* How long a handler may run on the thread that runs the worker's loop
 * before another thread takes the loop from it (worker.c). */
#define PH__STALL_NS (20 * 1000000LL)

/* Runs one worker on listen_fd until SIGTERM/SIGINT or the death of
 * parent, with `threads` handler threads (at least one) and one more
 * taking turns at its loop and handlers; never returns (exits 0 after
 * draining, 1 if it cannot start). */
_Noreturn void ph__worker_run(ph_app *app, const ph_app_limits *limits, const ph__server_cfg *cfg,
                              int listen_fd, int threads, pid_t parent);

/* After binding: switches to RUN_AS_USER when started as root, refuses
 * root without it unless ALLOW_ROOT=1 (privdrop.c).  0, or PH_EDENIED
 * (logged) with listen_fd closed. */
int ph__server_drop_privileges(const ph_app *app, int listen_fd);

#endif
