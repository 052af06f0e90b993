/*
 * Numeric values as exact decimals: text ("-12.34", "1.5e3") to a scaled
 * 64-bit integer for a column's precision and scale and back, with no
 * binary floating point in between.  The drivers send Numeric values as
 * this text; the ORM reads them back with it.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const int64_t pow10_[] = {1,
                                 10,
                                 100,
                                 1000,
                                 10000,
                                 100000,
                                 1000000,
                                 10000000,
                                 100000000,
                                 1000000000,
                                 10000000000,
                                 100000000000,
                                 1000000000000,
                                 10000000000000,
                                 100000000000000,
                                 1000000000000000,
                                 10000000000000000,
                                 100000000000000000,
                                 1000000000000000000};

int ph_decimal_parse(const char *s, size_t len, int precision, int scale, bool round,
                     int64_t *units)
{
    if (precision < 1 || precision > 18 || scale < 0 || scale > precision)
        return PH_EINVAL;
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    /* the digits without the point, leading zeros dropped */
    char dig[64];
    size_t nd = 0, ndig_total = 0;
    long point = -1, exp = 0;
    for (; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            ndig_total++;
            if (nd == 0 && s[i] == '0') {
                if (point >= 0)
                    point++; /* zeros after the point still shift */
                continue;
            }
            if (nd == sizeof(dig))
                return PH_ERANGE;
            dig[nd++] = s[i];
            if (point >= 0)
                point++;
        } else if (s[i] == '.' && point < 0) {
            point = 0;
        } else {
            break;
        }
    }
    if (ndig_total == 0)
        return PH_EINVAL;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        if (i == len)
            return PH_EINVAL;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if ((exp = exp * 10 + (s[i] - '0')) > 1000)
                return PH_ERANGE;
        exp = eneg ? -exp : exp;
    }
    if (i != len)
        return PH_EINVAL;
    /* value = dig * 10^(exp - fraction digits); units = value * 10^scale */
    long shift = exp - (point < 0 ? 0 : point) + scale;
    int64_t v = 0;
    bool round_up = false;
    for (size_t k = 0; k < nd; k++) {
        long pos = (long)(nd - k) - 1 + shift; /* power of ten of this digit in units */
        if (pos < 0) {
            /* a digit below the scale: refused, or rounded half away from 0 */
            if (dig[k] != '0' && !round)
                return PH_ERANGE;
            if (pos == -1 && dig[k] >= '5')
                round_up = true;
            continue;
        }
        if (pos > 17)
            return PH_ERANGE;
        v += (dig[k] - '0') * pow10_[pos];
    }
    if (round_up)
        v++;
    if (v >= pow10_[precision])
        return PH_ERANGE;
    *units = neg ? -v : v;
    return 0;
}

void ph_decimal_format(int64_t units, int scale, char *out, size_t outlen)
{
    uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    if (scale <= 0 || scale > 18) {
        snprintf(out, outlen, "%s%" PRIu64, units < 0 ? "-" : "", u);
        return;
    }
    uint64_t p = (uint64_t)pow10_[scale];
    snprintf(out, outlen, "%s%" PRIu64 ".%0*" PRIu64, units < 0 ? "-" : "", u / p, scale, u % p);
}
