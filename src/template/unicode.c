/*
 * Unicode case mapping for the template language, through libunistring
 * (full mappings from Unicode's SpecialCasing: "ß".upper() is "SS", final
 * sigma lowercases to "ς"), arranged to give exactly what Python's str
 * methods and Jinja's filters give: upper, lower, casefold, capitalize
 * (first character titlecased), str.title() (Python's cased-letter rule),
 * swapcase, and Jinja's title filter (first character of each word
 * uppercased, words split at whitespace, '-', '(', '{', '[', '<').
 * Text that is not valid UTF-8 is returned unchanged.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>

uint32_t ph__utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k = *i;
    unsigned c = p[k];
    *i = k + 1;
    if (c < 0x80)
        return c;
    size_t extra = c >= 0xF8 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra == 0 || extra > n - k - 1)
        return 0xFFFD;
    uint32_t cp = c & (0x3Fu >> extra);
    for (size_t j = 1; j <= extra; j++) {
        if ((p[k + j] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (p[k + j] & 0x3Fu);
    }
    *i = k + extra + 1;
    return cp;
}

bool ph__uc_isspace(uint32_t c)
{
    /* Python's str.isspace(): bidi classes WS, B, S and category Zs */
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_cased(uint32_t c)
{
    return uc_is_property_lowercase(c) || uc_is_property_uppercase(c) ||
           uc_is_property_titlecase(c);
}

typedef uint8_t *(*map_fn)(const uint8_t *, size_t, const char *, uninorm_t, uint8_t *, size_t *);

/* Appends fn(s) to b; false when s is not UTF-8 (nothing appended) or
 * out of memory (b failed). */
static bool append_mapped(ph_buf *b, map_fn fn, const char *s, size_t n)
{
    if (n == 0)
        return true;
    uint8_t tmp[64];
    size_t len = sizeof tmp;
    uint8_t *r = fn((const uint8_t *)s, n, NULL, NULL, tmp, &len);
    if (!r)
        return false;
    ph_buf_append(b, (const char *)r, len);
    if (r != tmp)
        free(r);
    return true;
}

int ph__case_map(ph_arena *a, ph_slice s, int mode, ph_slice *out)
{
    ph_buf b;
    ph_buf_init(&b, a);
    bool ok = true;
    switch (mode) {
    case PH__CASE_UPPER:
        ok = append_mapped(&b, u8_toupper, s.ptr, s.len);
        break;
    case PH__CASE_LOWER:
        ok = append_mapped(&b, u8_tolower, s.ptr, s.len);
        break;
    case PH__CASE_FOLD:
        ok = append_mapped(&b, u8_casefold, s.ptr, s.len);
        break;
    case PH__CASE_CAP: {
        if (!s.len)
            break;
        size_t i = 0;
        ph__utf8_next(s.ptr, s.len, &i);
        ok = append_mapped(&b, u8_totitle, s.ptr, i) &&
             append_mapped(&b, u8_tolower, s.ptr + i, s.len - i);
        break;
    }
    case PH__CASE_STRTITLE:
    case PH__CASE_SWAP: {
        bool prev_cased = false;
        for (size_t i = 0; i < s.len && ok;) {
            size_t st = i;
            uint32_t c = ph__utf8_next(s.ptr, s.len, &i);
            map_fn fn = NULL;
            if (mode == PH__CASE_STRTITLE) {
                fn = prev_cased ? u8_tolower : u8_totitle;
                prev_cased = is_cased(c);
            } else if (uc_is_property_uppercase(c))
                fn = u8_tolower;
            else if (uc_is_property_lowercase(c))
                fn = u8_toupper;
            if (fn)
                ok = append_mapped(&b, fn, s.ptr + st, i - st);
            else
                ph_buf_append(&b, s.ptr + st, i - st);
        }
        break;
    }
    case PH__CASE_TITLE: {
        /* re.split(r"([-\s({\[<]+)"): item[0].upper() + item[1:].lower() */
        for (size_t i = 0; i < s.len && ok;) {
            size_t st = i;
            uint32_t c = ph__utf8_next(s.ptr, s.len, &i);
            if (c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || ph__uc_isspace(c)) {
                ph_buf_append(&b, s.ptr + st, i - st);
                continue;
            }
            size_t first_end = i;
            while (i < s.len) {
                size_t j = i;
                uint32_t d = ph__utf8_next(s.ptr, s.len, &j);
                if (d == '-' || d == '(' || d == '{' || d == '[' || d == '<' || ph__uc_isspace(d))
                    break;
                i = j;
            }
            ok = append_mapped(&b, u8_toupper, s.ptr + st, first_end - st) &&
                 append_mapped(&b, u8_tolower, s.ptr + first_end, i - first_end);
        }
        break;
    }
    default:
        return PH_EINVAL;
    }
    if (!ok && !b.failed) { /* not UTF-8: unchanged */
        *out = s;
        return 0;
    }
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    *out = (ph_slice){b.ptr ? b.ptr : "", b.len};
    return 0;
}
