/* Number parsing and the clock, shared by every layer. */
#include "phial/core.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ph_parse_i64(ph_slice s, int64_t *out)
{
    char tmp[32];
    if (s.len == 0 || s.len >= sizeof(tmp))
        return s.len ? PH_ERANGE : PH_EINVAL;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    for (size_t i = 0; i < s.len; i++) {
        char c = tmp[i];
        if (!((c >= '0' && c <= '9') || (i == 0 && (c == '-' || c == '+'))))
            return PH_EINVAL;
    }
    if (s.len == 1 && (tmp[0] == '-' || tmp[0] == '+'))
        return PH_EINVAL;
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
        return PH_ERANGE;
    *out = (int64_t)v;
    return 0;
}

int ph_parse_double(ph_slice s, double *out)
{
    char tmp[64];
    if (s.len == 0 || s.len >= sizeof(tmp))
        return s.len ? PH_ERANGE : PH_EINVAL;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != '\0' || end == tmp || tmp[0] == ' ' || tmp[0] == '\t')
        return PH_EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return PH_ERANGE;
    *out = v;
    return 0;
}

int ph_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int64_t ph_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
