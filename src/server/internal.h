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

#endif
