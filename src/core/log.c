/*
 * Leveled logging to stderr, one write(2) per line so that lines from several
 * worker processes never interleave.
 */
#include "phial/core.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_int ph_log_threshold = PH_LOG_INFO;

void ph_log_set_level(ph_log_level level)
{
    atomic_store(&ph_log_threshold, (int)level);
}

ph_log_level ph_log_get_level(void)
{
    return (ph_log_level)atomic_load(&ph_log_threshold);
}

int ph_log_parse_level(const char *s, ph_log_level *out)
{
    static const struct {
        const char *name;
        ph_log_level level;
    } names[] = {{"debug", PH_LOG_DEBUG},  {"info", PH_LOG_INFO},   {"warn", PH_LOG_WARN},
                 {"warning", PH_LOG_WARN}, {"error", PH_LOG_ERROR}, {"off", PH_LOG_OFF}};
    for (size_t i = 0; s && i < PH_COUNTOF(names); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return PH_EINVAL;
}

void ph_log_raw(const char *line, size_t len)
{
    /* one writev(2) for the line and its newline: lines of processes
       sharing stderr do not interleave (a short write, rare on a pipe or
       file, is finished with further writes) */
    struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
    int n = 2;
    struct iovec *v = iov;
    while (n > 0) {
        ssize_t w = writev(STDERR_FILENO, v, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        while (n > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
}

void ph_log(ph_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if ((int)level < atomic_load(&ph_log_threshold) || level >= PH_LOG_OFF)
        return;
    char line[2048];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ [%ld] %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)getpid(), names[level]);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2; /* truncated */
    ph_log_raw(line, len);
}
