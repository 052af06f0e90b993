/*
 * Dates and times as text, the way SQLAlchemy stores them on SQLite
 * ('YYYY-MM-DD HH:MM:SS.ffffff', 'YYYY-MM-DD') and PostgreSQL prints them:
 * conversion between those strings and Phial's day / microsecond counts
 * (proleptic Gregorian, naive UTC).
 */
#include "internal.h"

#include <stdio.h>

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void ph_datetime_format(int64_t usec, char *out, size_t outlen)
{
    int64_t days = floordiv(usec, 86400000000LL);
    int64_t rem = usec - days * 86400000000LL;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    snprintf(out, outlen, "%04lld-%02u-%02u %02d:%02d:%02d.%06d", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (int)frac);
}

void ph_date_format(int32_t days, char *out, size_t outlen)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, outlen, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* Reads exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return false;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

static int parse_date(const char *s, size_t len, size_t *i, int64_t *days)
{
    int y, m, d;
    if (!digits(s, len, i, 4, &y) || *i >= len || s[(*i)++] != '-' || !digits(s, len, i, 2, &m) ||
        *i >= len || s[(*i)++] != '-' || !digits(s, len, i, 2, &d))
        return PH_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    /* years 0001-9999, as Python's datetime and PostgreSQL's ISO dates */
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return PH_EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return PH_EINVAL;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int ph_date_parse(const char *s, size_t len, int32_t *days)
{
    size_t i = 0;
    int64_t d;
    if (parse_date(s, len, &i, &d) || i != len)
        return PH_EINVAL;
    *days = (int32_t)d;
    return 0;
}

int ph_datetime_parse(const char *s, size_t len, int64_t *usec)
{
    size_t i = 0;
    int64_t days;
    if (parse_date(s, len, &i, &days))
        return PH_EINVAL;
    int h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    if (i < len) {
        if (s[i] != ' ' && s[i] != 'T')
            return PH_EINVAL;
        i++;
        if (!digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || !digits(s, len, &i, 2, &mi))
            return PH_EINVAL;
        if (i < len && s[i] == ':') {
            i++;
            if (!digits(s, len, &i, 2, &sec))
                return PH_EINVAL;
            if (i < len && s[i] == '.') {
                i++;
                int n = 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (n < 6) {
                        frac = frac * 10 + (s[i] - '0');
                        n++;
                    }
                    i++;
                }
                if (n == 0)
                    return PH_EINVAL;
                for (; n < 6; n++)
                    frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return PH_EINVAL;
    }
    /* a UTC offset (TIMESTAMP WITH TIME ZONE): Z, +HH, +HH:MM, +HHMM */
    int64_t offset = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-') && i > 10) {
        int sign = s[i++] == '-' ? -1 : 1, oh = 0, om = 0;
        if (!digits(s, len, &i, 2, &oh))
            return PH_EINVAL;
        if (i < len && s[i] == ':')
            i++;
        if (i < len && !digits(s, len, &i, 2, &om))
            return PH_EINVAL;
        if (oh > 15 || om > 59)
            return PH_EINVAL;
        offset = sign * ((int64_t)oh * 3600 + om * 60) * 1000000LL;
    }
    if (i != len)
        return PH_EINVAL;
    int64_t t =
        days * 86400000000LL + ((int64_t)h * 3600 + mi * 60 + sec) * 1000000LL + frac - offset;
    /* an offset must not carry the instant out of years 0001-9999 (UTC),
       where ph_datetime_format could not write it back */
    static const int64_t lo = -719162LL * 86400000000LL;     /* 0001-01-01 */
    static const int64_t hi = 2932897LL * 86400000000LL - 1; /* 9999-12-31 end */
    if (t < lo || t > hi)
        return PH_EINVAL;
    *usec = t;
    return 0;
}
