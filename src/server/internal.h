/*
 * What the files of the server layer share: the worker's entry point.
 */
#ifndef PHIAL_SERVER_INTERNAL_H
#define PHIAL_SERVER_INTERNAL_H

#include "phial/server.h"

#include <sys/types.h>

/* Runs one worker on listen_fd until SIGTERM/SIGINT or the death of
 * parent; never returns (exits 0 after draining, 1 if MHD cannot start). */
_Noreturn void ph__worker_run(ph_app *app, const ph_app_limits *limits, int listen_fd, int threads,
                              pid_t parent);

/* After binding: switches to RUN_AS_USER when started as root, refuses
 * root without it unless ALLOW_ROOT=1 (privdrop.c).  0, or PH_EDENIED
 * (logged) with listen_fd closed. */
int ph__server_drop_privileges(const ph_app *app, int listen_fd);

#endif
