/*
 * Growable buffers and borrowed slices.  A buffer grows by doubling; in an
 * arena the old storage is simply abandoned (at most the final size again),
 * which keeps rendering into the request arena free of per-chunk frees.
 */
#include "phial/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

ph_slice ph_slice_cstr(const char *s)
{
    return (ph_slice){s ? s : "", s ? strlen(s) : 0};
}

bool ph_slice_eq(ph_slice a, ph_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool ph_slice_eq_cstr(ph_slice a, const char *s)
{
    return ph_slice_eq(a, ph_slice_cstr(s));
}

bool ph_slice_eq_nocase(ph_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp(a.ptr, s, n) == 0);
}

bool ph_slice_starts_with(ph_slice a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && (n == 0 || memcmp(a.ptr, prefix, n) == 0);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

ph_slice ph_slice_trim(ph_slice s)
{
    while (s.len > 0 && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

bool ph_slice_split(ph_slice *rest, char sep, ph_slice *item)
{
    if (!rest->ptr)
        return false;
    const char *p = rest->len ? memchr(rest->ptr, sep, rest->len) : NULL;
    if (!p) {
        *item = *rest;
        *rest = (ph_slice){NULL, 0};
        return true;
    }
    *item = (ph_slice){rest->ptr, (size_t)(p - rest->ptr)};
    rest->len -= item->len + 1;
    rest->ptr = p + 1;
    return true;
}

void ph_buf_init(ph_buf *b, ph_arena *arena)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->arena = arena;
    b->failed = false;
}

void ph_buf_free(ph_buf *b)
{
    if (!b->arena)
        free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

void ph_buf_clear(ph_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
    b->failed = false;
}

int ph_buf_reserve(ph_buf *b, size_t n)
{
    if (b->failed)
        return PH_ENOMEM;
    if (n >= SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return PH_ENOMEM;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p;
    if (b->arena) {
        p = ph_arena_alloc(b->arena, cap);
        if (p && b->len)
            memcpy(p, b->ptr, b->len);
    } else {
        p = realloc(b->ptr, cap);
    }
    if (!p) {
        b->failed = true;
        return PH_ENOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    b->ptr[b->len] = '\0';
    return 0;
}

int ph_buf_append(ph_buf *b, const void *p, size_t n)
{
    /* room already (the common case): no call; failed buffers have none */
    if (!(b->ptr && !b->failed && b->cap - b->len > n) && ph_buf_reserve(b, n) != 0)
        return PH_ENOMEM;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int ph_buf_puts(ph_buf *b, const char *s)
{
    return ph_buf_append(b, s, strlen(s));
}

int ph_buf_putc(ph_buf *b, char c)
{
    if (!(b->ptr && !b->failed && b->cap - b->len > 1) && ph_buf_reserve(b, 1) != 0)
        return PH_ENOMEM;
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
    return 0;
}

int ph_buf_slice(ph_buf *b, ph_slice s)
{
    return ph_buf_append(b, s.ptr, s.len);
}

int ph_buf_vprintf(ph_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = true;
        return PH_EINVAL;
    }
    if (ph_buf_reserve(b, (size_t)n) != 0)
        return PH_ENOMEM;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ph_buf_printf(ph_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ph_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int ph_buf_put_i64(ph_buf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp), *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return ph_buf_append(b, p, (size_t)(end - p));
}

int ph_buf_put_html(ph_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&#34;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        ph_buf_append(b, s + start, i - start);
        ph_buf_puts(b, rep);
        start = i + 1;
    }
    ph_buf_append(b, s + start, n - start);
    return ph_buf_status(b);
}

ph_slice ph_buf_view(const ph_buf *b)
{
    return (ph_slice){b->ptr ? b->ptr : "", b->len};
}

int ph_buf_status(const ph_buf *b)
{
    return b->failed ? PH_ENOMEM : 0;
}
