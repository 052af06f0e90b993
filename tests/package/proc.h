/*
 * Helpers shared by the package tests (proc.c).
 */
#ifndef PHIAL_TEST_PACKAGE_PROC_H
#define PHIAL_TEST_PACKAGE_PROC_H

#include <stddef.h>

#include "phial/core.h"

/* Runs a shell command (printf-style); its output, stdout and stderr, in
 * *out (malloc'd; out may be NULL).  The exit status, or -1. */
int pt_sh(char **out, const char *fmt, ...) PH_PRINTF(2, 3);
/* pt_sh, printing the output when the command fails; its exit status. */
int pt_run_ok(const char *what, const char *cmd);
/* A TCP port on 127.0.0.1 that is free now, or -1. */
int pt_free_port(void);
/* GET path from 127.0.0.1:port; the whole answer, NUL-terminated, in out.
 * 0, or -1 when nothing could be read. */
int pt_http_get(int port, const char *path, char *out, size_t cap);

#endif
