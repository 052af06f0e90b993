/*
 * Python's str methods as templates call them ('a b'.split(' ', 1),
 * '{:>8.2f}'.format(x), name.startswith(('a', 'b')), ...), with Python's
 * arguments, defaults and errors.  Indexes count code points, as in
 * Python; a method on Markup escapes its string arguments and returns
 * Markup, as markupsafe does.
 */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ph_value V;

const char *ph__kind_name(const ph_value *v);

static int oom(ph__rs *rs)
{
    return ph__rs_error(rs, PH_ENOMEM, "out of memory");
}

static bool is_int(const V *v)
{
    return v->kind == PH_V_INT || v->kind == PH_V_BOOL;
}
static int64_t ival(const V *v)
{
    return v->kind == PH_V_INT ? v->u.i : v->u.b;
}

/* Argument i, or keyword name, or NULL. */
static const V *arg(V *args, size_t nargs, ph_tpl_kwarg *kw, size_t nkw, size_t i, const char *name)
{
    if (i < nargs)
        return &args[i];
    for (size_t k = 0; name && k < nkw; k++)
        if (ph_slice_eq_cstr(kw[k].name, name))
            return &kw[k].value;
    return NULL;
}

static bool none_or_missing(const V *v)
{
    return !v || v->kind == PH_V_NONE;
}

/* byte offset of code point k of s (or s.len) */
static size_t cp_off(const char *s, size_t n, size_t k)
{
    size_t pos = 0;
    while (pos < n && k > 0) {
        pos++;
        while (pos < n && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos++;
        k--;
    }
    return pos;
}

/* Python's slice bounds start:end (either may be none) over len code
 * points, as byte offsets of s. */
static int bounds(ph__rs *rs, const char *s, size_t n, const V *start, const V *end, size_t *b0,
                  size_t *b1)
{
    int64_t len = (int64_t)ph__utf8_len(s, n), st = 0, en = len;
    if (!none_or_missing(start)) {
        if (!is_int(start))
            return ph__rs_error(rs, PH_ETYPE, "slice indices must be integers or None");
        st = ival(start);
    }
    if (!none_or_missing(end)) {
        if (!is_int(end))
            return ph__rs_error(rs, PH_ETYPE, "slice indices must be integers or None");
        en = ival(end);
    }
    if (st < 0)
        st = st + len < 0 ? 0 : st + len;
    if (en < 0)
        en = en + len < 0 ? 0 : en + len;
    if (st > len)
        st = len;
    if (en > len)
        en = len;
    if (en < st)
        en = st;
    *b0 = cp_off(s, n, (size_t)st);
    *b1 = cp_off(s, n, (size_t)en);
    return 0;
}

static int need_str(ph__rs *rs, const V *v, const char *method, ph_slice *out)
{
    if (!v || v->kind != PH_V_STR)
        return ph__rs_error(rs, PH_ETYPE, "%s: expected a string argument, not '%s'", method,
                            v ? ph__kind_name(v) : "nothing");
    *out = (ph_slice){v->u.s.ptr, v->u.s.len};
    return 0;
}

static const char *find_sub(const char *h, size_t hn, ph_slice x, bool rev)
{
    if (x.len > hn)
        return NULL;
    if (!rev)
        return x.len ? memmem(h, hn, x.ptr, x.len) : h;
    for (size_t i = hn - x.len + 1; i > 0; i--)
        if (memcmp(h + i - 1, x.ptr, x.len) == 0)
            return h + i - 1;
    return NULL;
}

static V mk(const char *p, size_t n, bool safe)
{
    V v = ph_tpl_strn(p ? p : "", n);
    v.safe = safe;
    return v;
}

static V tuple_new(ph__rs *rs)
{
    V t = ph_tpl_list_new(rs->arena);
    t.safe = true;
    return t;
}

/* ---- split family ---- */

static int push_str(ph__rs *rs, V *list, const char *p, size_t n, bool safe)
{
    return ph_tpl_list_push(rs->arena, list, mk(p, n, safe)) < 0 ? oom(rs) : 0;
}

/* split/rsplit(sep=None, maxsplit=-1) */
static int do_split(ph__rs *rs, ph_slice s, bool safe, const V *sep, const V *maxv, bool rev,
                    V *out)
{
    int64_t max = -1;
    if (maxv) {
        if (!is_int(maxv))
            return ph__rs_error(rs, PH_ETYPE, "maxsplit must be an integer");
        max = ival(maxv);
    }
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    /* pieces collected left to right; rsplit collects from the right */
    size_t cap = s.len + 2, np = 0;
    ph_slice *pc = ph_arena_alloc(rs->arena, cap * sizeof(ph_slice));
    if (!pc)
        return oom(rs);
    if (none_or_missing(sep)) {
        /* runs of whitespace; no empty strings */
        if (!rev) {
            size_t i = 0;
            while (i < s.len) {
                size_t j = i, st;
                while (j < s.len) { /* skip spaces */
                    size_t k = j;
                    if (!ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                        break;
                    j = k;
                }
                if (j >= s.len)
                    break;
                st = j;
                if (max >= 0 && (int64_t)np == max) {
                    /* the rest, trailing whitespace stripped */
                    size_t e = s.len;
                    while (e > st) {
                        size_t b = e - 1;
                        while (b > st && ((unsigned char)s.ptr[b] & 0xC0) == 0x80)
                            b--;
                        size_t k = b;
                        if (!ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                            break;
                        e = b;
                    }
                    pc[np++] = (ph_slice){s.ptr + st, e - st};
                    break;
                }
                while (j < s.len) {
                    size_t k = j;
                    if (ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                        break;
                    j = k;
                }
                pc[np++] = (ph_slice){s.ptr + st, j - st};
                i = j;
            }
        } else {
            size_t e = s.len;
            while (e > 0) {
                /* skip trailing spaces */
                while (e > 0) {
                    size_t b = e - 1;
                    while (b > 0 && ((unsigned char)s.ptr[b] & 0xC0) == 0x80)
                        b--;
                    size_t k = b;
                    if (!ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                        break;
                    e = b;
                }
                if (e == 0)
                    break;
                if (max >= 0 && (int64_t)np == max) {
                    size_t st = 0;
                    while (st < e) {
                        size_t k = st;
                        if (!ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                            break;
                        st = k;
                    }
                    pc[np++] = (ph_slice){s.ptr + st, e - st};
                    break;
                }
                size_t b = e;
                while (b > 0) {
                    size_t c = b - 1;
                    while (c > 0 && ((unsigned char)s.ptr[c] & 0xC0) == 0x80)
                        c--;
                    size_t k = c;
                    if (ph__uc_isspace(ph__utf8_next(s.ptr, s.len, &k)))
                        break;
                    b = c;
                }
                pc[np++] = (ph_slice){s.ptr + b, e - b};
                e = b;
            }
        }
    } else {
        ph_slice x = {0};
        int rc = need_str(rs, sep, "split", &x);
        if (rc < 0)
            return rc;
        if (x.len == 0)
            return ph__rs_error(rs, PH_EINVAL, "empty separator");
        if (!rev) {
            size_t pos = 0;
            for (;;) {
                const char *hit = (max >= 0 && (int64_t)np == max)
                                      ? NULL
                                      : find_sub(s.ptr + pos, s.len - pos, x, false);
                size_t e = hit ? (size_t)(hit - s.ptr) : s.len;
                pc[np++] = (ph_slice){s.ptr + pos, e - pos};
                if (!hit)
                    break;
                pos = e + x.len;
            }
        } else {
            size_t end = s.len;
            for (;;) {
                const char *hit =
                    (max >= 0 && (int64_t)np == max) ? NULL : find_sub(s.ptr, end, x, true);
                size_t b = hit ? (size_t)(hit - s.ptr) + x.len : 0;
                pc[np++] = (ph_slice){s.ptr + b, end - b};
                if (!hit)
                    break;
                end = (size_t)(hit - s.ptr);
            }
        }
    }
    for (size_t i = 0; i < np; i++) {
        ph_slice p = rev ? pc[np - 1 - i] : pc[i];
        int rc = push_str(rs, out, p.ptr, p.len, safe);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int do_splitlines(ph__rs *rs, ph_slice s, bool safe, bool keep, V *out)
{
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    size_t i = 0;
    while (i < s.len) {
        size_t st = i, e;
        for (;;) {
            if (i >= s.len) {
                e = i;
                break;
            }
            size_t k = i;
            uint32_t c = ph__utf8_next(s.ptr, s.len, &k);
            if (c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
                c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029) {
                e = i;
                if (c == '\r' && k < s.len && s.ptr[k] == '\n')
                    k++;
                i = k;
                break;
            }
            i = k;
        }
        int rc = push_str(rs, out, s.ptr + st, (keep ? i : e) - st, safe);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- str.format ---- */

typedef struct fspec {
    uint32_t fill;
    char align; /* 0 < > ^ = */
    char sign;  /* 0 + - ' ' */
    bool alt, zero;
    int64_t width, prec; /* -1: none */
    char group;          /* 0 , _ */
    char type;           /* 0 or the letter */
} fspec;

static bool parse_spec(ph_slice s, fspec *f)
{
    memset(f, 0, sizeof *f);
    f->fill = ' ';
    f->width = f->prec = -1;
    size_t i = 0;
    /* [[fill]align] */
    if (s.len) {
        size_t k = 0;
        uint32_t c = ph__utf8_next(s.ptr, s.len, &k);
        if (k < s.len && strchr("<>^=", s.ptr[k])) {
            f->fill = c;
            f->align = s.ptr[k];
            i = k + 1;
        } else if (strchr("<>^=", s.ptr[0])) {
            f->align = s.ptr[0];
            i = 1;
        }
    }
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-' || s.ptr[i] == ' '))
        f->sign = s.ptr[i++];
    if (i < s.len && s.ptr[i] == '#') {
        f->alt = true;
        i++;
    }
    if (i < s.len && s.ptr[i] == '0') {
        f->zero = true;
        i++;
    }
    if (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
        f->width = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            f->width = f->width * 10 + (s.ptr[i++] - '0');
            if (f->width > 100000) /* a bound on what a template may make */
                return false;
        }
    }
    if (i < s.len && (s.ptr[i] == ',' || s.ptr[i] == '_'))
        f->group = s.ptr[i++];
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        f->prec = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            f->prec = f->prec * 10 + (s.ptr[i++] - '0');
            if (f->prec > 300) /* snprintf into fixed buffers below */
                return false;
        }
    }
    if (i < s.len)
        f->type = s.ptr[i++];
    return i == s.len;
}

static void put_cp(ph_buf *b, uint32_t c, int64_t n)
{
    char u[4];
    size_t k;
    if (c < 0x80) {
        u[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        k = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        k = 4;
    }
    for (int64_t i = 0; i < n; i++)
        ph_buf_append(b, u, k);
}

/* Pads body (sign/prefix the first signlen bytes) to the spec's width. */
static void pad(ph_buf *b, const fspec *f, const char *body, size_t n, size_t signlen,
                char defalign)
{
    int64_t len = (int64_t)ph__utf8_len(body, n);
    int64_t padn = f->width > len ? f->width - len : 0;
    char al = f->align ? f->align : defalign;
    uint32_t fill = f->fill;
    if (!f->align && f->zero && defalign == '>') {
        al = '=';
        fill = '0';
    }
    if (al == '<') {
        ph_buf_append(b, body, n);
        put_cp(b, fill, padn);
    } else if (al == '^') {
        put_cp(b, fill, padn / 2);
        ph_buf_append(b, body, n);
        put_cp(b, fill, padn - padn / 2);
    } else if (al == '=') {
        ph_buf_append(b, body, signlen);
        put_cp(b, fill, padn);
        ph_buf_append(b, body + signlen, n - signlen);
    } else {
        put_cp(b, fill, padn);
        ph_buf_append(b, body, n);
    }
}

/* Inserts group separators every 3 digits of the integer part of digits
 * (which starts at `from`). */
static void group_digits(char *out, size_t cap, const char *digits, char sep)
{
    size_t n = strlen(digits), ip = 0;
    while (ip < n && digits[ip] >= '0' && digits[ip] <= '9')
        ip++;
    size_t o = 0;
    for (size_t i = 0; i < ip && o + 2 < cap; i++) {
        out[o++] = digits[i];
        size_t left = ip - i - 1;
        if (left && left % 3 == 0)
            out[o++] = sep;
    }
    for (size_t i = ip; i < n && o + 1 < cap; i++)
        out[o++] = digits[i];
    out[o] = '\0';
}

static int format_number(ph__rs *rs, const V *v, const fspec *f, ph_buf *b)
{
    char body[1600], num[1024];
    char type = f->type;
    bool isint = is_int(v) && (type == 0 || strchr("dxXobcn", type));
    const char *prefix = "";
    if (isint) {
        int64_t x = ival(v);
        uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        if (type == 'c') {
            ph_buf tmp;
            ph_buf_init(&tmp, rs->arena);
            put_cp(&tmp, (uint32_t)u, 1);
            pad(b, f, tmp.ptr, tmp.len, 0, '<');
            return 0;
        }
        if (type == 'x' || type == 'X')
            snprintf(num, sizeof num, type == 'x' ? "%llx" : "%llX", (unsigned long long)u);
        else if (type == 'o')
            snprintf(num, sizeof num, "%llo", (unsigned long long)u);
        else if (type == 'b') {
            char tmp[70];
            size_t k = 0;
            do {
                tmp[k++] = (char)('0' + (u & 1));
                u >>= 1;
            } while (u);
            for (size_t i = 0; i < k; i++)
                num[i] = tmp[k - 1 - i];
            num[k] = '\0';
        } else
            snprintf(num, sizeof num, "%llu", (unsigned long long)u);
        if (f->alt)
            prefix = type == 'x'   ? "0x"
                     : type == 'X' ? "0X"
                     : type == 'o' ? "0o"
                     : type == 'b' ? "0b"
                                   : "";
        const char *sg = x < 0 ? "-" : f->sign == '+' ? "+" : f->sign == ' ' ? " " : "";
        char grouped[1500];
        if (f->group)
            group_digits(grouped, sizeof grouped, num, f->group);
        else
            snprintf(grouped, sizeof grouped, "%s", num);
        int n = snprintf(body, sizeof body, "%s%s%s", sg, prefix, grouped);
        pad(b, f, body, (size_t)n, strlen(sg) + strlen(prefix), '>');
        return 0;
    }
    double d = v->kind == PH_V_FLOAT ? v->u.f : (double)ival(v);
    if (type && !strchr("eEfFgGn%", type))
        return ph__rs_error(rs, PH_EINVAL, "Unknown format code '%c' for object of type '%s'", type,
                            v->kind == PH_V_FLOAT ? "float" : "int");
    bool neg = signbit(d) && !isnan(d);
    double a = fabs(d);
    int prec = f->prec >= 0 ? (int)f->prec : 6;
    if (isinf(a) || isnan(a))
        snprintf(num, sizeof num, "%s", isnan(a) ? "nan" : "inf");
    else if (type == 'f' || type == 'F')
        snprintf(num, sizeof num, "%.*f", prec, a);
    else if (type == '%')
        snprintf(num, sizeof num, "%.*f%%", prec, a * 100);
    else if (type == 'e' || type == 'E')
        snprintf(num, sizeof num, type == 'e' ? "%.*e" : "%.*E", prec, a);
    else if (type == 'g' || type == 'G' || type == 'n' || f->prec >= 0) {
        snprintf(num, sizeof num, type == 'G' ? "%.*G" : "%.*g", prec ? prec : 1, a);
        size_t nl = strlen(num);
        if (!type && !strpbrk(num, ".e") && nl + 3 < sizeof num) { /* at least one decimal */
            num[nl] = '.';
            num[nl + 1] = '0';
            num[nl + 2] = '\0';
        }
    } else if (v->kind == PH_V_FLOAT)
        ph_tpl_format_float(a, num, sizeof num);
    else
        snprintf(num, sizeof num, "%lld", (long long)ival(v));
    if (isupper((unsigned char)type) && (isinf(a) || isnan(a)))
        for (char *p = num; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    const char *sg = neg ? "-" : f->sign == '+' ? "+" : f->sign == ' ' ? " " : "";
    char grouped[1500];
    if (f->group)
        group_digits(grouped, sizeof grouped, num, f->group);
    else
        snprintf(grouped, sizeof grouped, "%s", num);
    int n = snprintf(body, sizeof body, "%s%s", sg, grouped);
    pad(b, f, body, (size_t)n, strlen(sg), '>');
    return 0;
}

/* format(v, spec) as Python's built-in format(). */
static int format_value(ph__rs *rs, const V *v, ph_slice spec, bool escape, ph_buf *b)
{
    fspec f;
    if (!parse_spec(spec, &f))
        return ph__rs_error(rs, PH_EINVAL, "Invalid format specifier '%.*s'", (int)spec.len,
                            spec.ptr);
    if ((v->kind == PH_V_INT || v->kind == PH_V_FLOAT || (v->kind == PH_V_BOOL && spec.len)) &&
        !(f.type == 's'))
        return format_number(rs, v, &f, b);
    if (spec.len && v->kind != PH_V_STR && v->kind != PH_V_UNDEFINED)
        return ph__rs_error(rs, PH_ETYPE, "unsupported format string passed to %s.__format__",
                            ph__kind_name(v));
    if (f.type && f.type != 's')
        return ph__rs_error(rs, PH_EINVAL, "Unknown format code '%c' for object of type 'str'",
                            f.type);
    ph_slice s;
    V esc;
    if (escape) {
        int rc = ph__escape(rs, v, &esc);
        if (rc < 0)
            return rc;
        s = (ph_slice){esc.u.s.ptr, esc.u.s.len};
    } else if (ph__str_of(rs->arena, v, &s) < 0)
        return oom(rs);
    if (f.prec >= 0)
        s.len = cp_off(s.ptr, s.len, (size_t)f.prec);
    pad(b, &f, s.ptr, s.len, 0, '<');
    return 0;
}

/* str.format(*args, **kwargs): {} {0} {name} {0.attr} {0[key]} with
 * !r/!s conversions and format specs. */
static int do_format(ph__rs *rs, ph_slice s, bool markup, V *args, size_t nargs, ph_tpl_kwarg *kw,
                     size_t nkw, V *out)
{
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    size_t autonum = 0;
    bool manual = false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '}') {
            if (i + 1 < s.len && s.ptr[i + 1] == '}') {
                ph_buf_putc(&b, '}');
                i++;
                continue;
            }
            return ph__rs_error(rs, PH_EINVAL, "Single '}' encountered in format string");
        }
        if (c != '{') {
            ph_buf_putc(&b, c);
            continue;
        }
        if (i + 1 < s.len && s.ptr[i + 1] == '{') {
            ph_buf_putc(&b, '{');
            i++;
            continue;
        }
        size_t st = ++i;
        int depth = 1;
        while (i < s.len && depth) {
            if (s.ptr[i] == '{')
                depth++;
            else if (s.ptr[i] == '}')
                depth--;
            if (depth)
                i++;
        }
        if (i >= s.len)
            return ph__rs_error(rs, PH_EINVAL, "expected '}' before end of string");
        ph_slice field = {s.ptr + st, i - st}, spec = {"", 0};
        char conv = 0;
        const char *colon = memchr(field.ptr, ':', field.len);
        if (colon) {
            spec = (ph_slice){colon + 1, field.len - (size_t)(colon + 1 - field.ptr)};
            field.len = (size_t)(colon - field.ptr);
        }
        if (memchr(spec.ptr, '{', spec.len))
            return ph__rs_error(rs, PH_EINVAL, "nested replacement fields are not supported");
        const char *bang = memchr(field.ptr, '!', field.len);
        if (bang) {
            if ((size_t)(bang - field.ptr) + 2 != field.len || !strchr("rsa", bang[1]))
                return ph__rs_error(rs, PH_EINVAL, "invalid conversion in format string");
            conv = bang[1];
            field.len = (size_t)(bang - field.ptr);
        }
        /* the first part: index, name or empty */
        size_t k = 0;
        while (k < field.len && field.ptr[k] != '.' && field.ptr[k] != '[')
            k++;
        ph_slice first = {field.ptr, k};
        V val;
        int64_t idx;
        if (first.len == 0) {
            if (manual)
                return ph__rs_error(rs, PH_EINVAL,
                                    "cannot switch from manual field specification "
                                    "to automatic field numbering");
            if (autonum >= nargs)
                return ph__rs_error(rs, PH_ERANGE,
                                    "Replacement index %zu out of range for "
                                    "positional args tuple",
                                    autonum);
            val = args[autonum++];
        } else if (ph_parse_i64(first, &idx) == 0) {
            if (autonum)
                return ph__rs_error(rs, PH_EINVAL,
                                    "cannot switch from automatic field numbering "
                                    "to manual field specification");
            manual = true;
            if (idx < 0 || (size_t)idx >= nargs)
                return ph__rs_error(rs, PH_ERANGE,
                                    "Replacement index %lld out of range for "
                                    "positional args tuple",
                                    (long long)idx);
            val = args[idx];
        } else {
            const V *kv = NULL;
            for (size_t q = 0; q < nkw; q++)
                if (ph_slice_eq(kw[q].name, first))
                    kv = &kw[q].value;
            if (!kv)
                return ph__rs_error(rs, PH_EINVAL, "KeyError: '%.*s'", (int)first.len, first.ptr);
            val = *kv;
        }
        /* .attr and [key] parts */
        while (k < field.len) {
            V nx;
            int rc;
            if (field.ptr[k] == '.') {
                size_t a = ++k;
                while (k < field.len && field.ptr[k] != '.' && field.ptr[k] != '[')
                    k++;
                rc = ph__getattr(rs, &val, (ph_slice){field.ptr + a, k - a}, &nx);
            } else {
                size_t a = ++k;
                while (k < field.len && field.ptr[k] != ']')
                    k++;
                if (k >= field.len)
                    return ph__rs_error(rs, PH_EINVAL, "Missing ']' in format string");
                ph_slice ks = {field.ptr + a, k - a};
                V key = ph_parse_i64(ks, &idx) == 0 ? ph_tpl_int(idx) : ph_tpl_strn(ks.ptr, ks.len);
                k++;
                rc = ph__getitem(rs, &val, &key, &nx);
            }
            if (rc < 0)
                return rc;
            val = nx;
        }
        if (conv == 'r' || conv == 'a') {
            ph_buf rb;
            ph_buf_init(&rb, rs->arena);
            V l = ph_tpl_list_new(rs->arena);
            if (ph_tpl_list_push(rs->arena, &l, val) < 0 || ph_tpl_value_str(&rb, &l) < 0)
                return oom(rs);
            /* "[repr]" without the brackets */
            val = mk(rb.ptr + 1, rb.len - 2, false);
        } else if (conv == 's') {
            int rc = ph__to_str(rs, &val, &val);
            if (rc < 0)
                return rc;
        }
        int rc = format_value(rs, &val, spec, markup, &b);
        if (rc < 0)
            return rc;
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = mk(b.ptr, b.len, markup);
    return 0;
}

/* ---- the methods ---- */

static bool pred(uint32_t c, char which)
{
    switch (which) {
    case 'd':
        return c >= '0' && c <= '9';
    case 'a':
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xAA;
    case 'n':
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c >= 0xAA;
    case 's':
        return ph__uc_isspace(c);
    }
    return false;
}

int ph__str_method(ph__rs *rs, ph_slice name, const V *self, V *args, size_t nargs,
                   ph_tpl_kwarg *kw, size_t nkw, V *out)
{
    ph_slice s = {self->u.s.ptr, self->u.s.len};
    bool safe = self->safe;
    int rc;
#define IS(n) ph_slice_eq_cstr(name, n)
    if (IS("format"))
        return do_format(rs, s, safe, args, nargs, kw, nkw, out);
    if (IS("split") || IS("rsplit"))
        return do_split(rs, s, safe, arg(args, nargs, kw, nkw, 0, "sep"),
                        arg(args, nargs, kw, nkw, 1, "maxsplit"), IS("rsplit"), out);
    if (IS("splitlines")) {
        const V *k = arg(args, nargs, kw, nkw, 0, "keepends");
        return do_splitlines(rs, s, safe, k && ph__truthy(k), out);
    }
    if (IS("find") || IS("rfind") || IS("index") || IS("rindex") || IS("count")) {
        ph_slice x = {0};
        if ((rc = need_str(rs, nargs ? &args[0] : NULL, "find", &x)) < 0)
            return rc;
        size_t b0, b1;
        if ((rc = bounds(rs, s.ptr, s.len, nargs > 1 ? &args[1] : NULL, nargs > 2 ? &args[2] : NULL,
                         &b0, &b1)) < 0)
            return rc;
        if (IS("count")) {
            int64_t n = 0;
            if (!x.len)
                n = (int64_t)ph__utf8_len(s.ptr + b0, b1 - b0) + 1;
            else
                for (const char *p = s.ptr + b0;
                     (p = find_sub(p, (size_t)(s.ptr + b1 - p), x, false)) != NULL; p += x.len)
                    n++;
            *out = ph_tpl_int(n);
            return 0;
        }
        bool rev = name.ptr[0] == 'r';
        const char *hit = find_sub(s.ptr + b0, b1 - b0, x, rev);
        if (!hit) {
            if (IS("index") || IS("rindex"))
                return ph__rs_error(rs, PH_ENOTFOUND, "substring not found");
            *out = ph_tpl_int(-1);
            return 0;
        }
        *out = ph_tpl_int((int64_t)ph__utf8_len(s.ptr, (size_t)(hit - s.ptr)));
        return 0;
    }
    if (IS("startswith") || IS("endswith")) {
        const V *x = nargs ? &args[0] : NULL;
        size_t b0, b1;
        if ((rc = bounds(rs, s.ptr, s.len, nargs > 1 ? &args[1] : NULL, nargs > 2 ? &args[2] : NULL,
                         &b0, &b1)) < 0)
            return rc;
        const V *opts = x;
        size_t nopt = 1;
        if (x && x->kind == PH_V_LIST) {
            opts = x->u.list->items;
            nopt = x->u.list->len;
        }
        bool r = false;
        for (size_t i = 0; i < nopt && !r; i++) {
            ph_slice p = {"", 0};
            if ((rc = need_str(rs, opts ? &opts[i] : NULL,
                               name.ptr[0] == 's' ? "startswith" : "endswith", &p)) < 0)
                return rc;
            size_t n = b1 - b0;
            r = p.len <= n &&
                memcmp(name.ptr[0] == 's' ? s.ptr + b0 : s.ptr + b1 - p.len, p.ptr, p.len) == 0;
        }
        *out = ph_tpl_bool(r);
        return 0;
    }
    if (IS("isdigit") || IS("isdecimal") || IS("isnumeric") || IS("isalpha") || IS("isalnum") ||
        IS("isspace")) {
        char which = IS("isalpha") ? 'a' : IS("isalnum") ? 'n' : IS("isspace") ? 's' : 'd';
        bool r = s.len > 0;
        for (size_t i = 0; i < s.len && r;)
            r = pred(ph__utf8_next(s.ptr, s.len, &i), which);
        *out = ph_tpl_bool(r);
        return 0;
    }
    if (IS("islower") || IS("isupper") || IS("istitle")) {
        /* a string equal to its lower/upper/title form and with a cased
         * character */
        ph_slice m, l, u;
        int mode = IS("islower")   ? PH__CASE_LOWER
                   : IS("isupper") ? PH__CASE_UPPER
                                   : PH__CASE_STRTITLE;
        if (ph__case_map(rs->arena, s, mode, &m) < 0 ||
            ph__case_map(rs->arena, s, PH__CASE_LOWER, &l) < 0 ||
            ph__case_map(rs->arena, s, PH__CASE_UPPER, &u) < 0)
            return oom(rs);
        bool cased = !ph_slice_eq(l, u);
        *out = ph_tpl_bool(cased && ph_slice_eq(m, s));
        return 0;
    }
    if (IS("swapcase") || IS("casefold") || IS("title")) {
        ph_slice m;
        if (ph__case_map(rs->arena, s,
                         IS("swapcase") ? PH__CASE_SWAP
                         : IS("title")  ? PH__CASE_STRTITLE
                                        : PH__CASE_FOLD,
                         &m) < 0)
            return oom(rs);
        *out = mk(m.ptr, m.len, safe);
        return 0;
    }
    if (IS("center") || IS("ljust") || IS("rjust") || IS("zfill")) {
        const V *w = nargs ? &args[0] : NULL;
        if (!w || !is_int(w))
            return ph__rs_error(rs, PH_ETYPE, "%.*s: the width must be an integer", (int)name.len,
                                name.ptr);
        int64_t width = ival(w), len = (int64_t)ph__utf8_len(s.ptr, s.len);
        if (width > 100000)
            return ph__rs_error(rs, PH_ELIMIT, "%.*s: width too large", (int)name.len, name.ptr);
        uint32_t fill = ' ';
        if (!IS("zfill") && nargs > 1) {
            ph_slice fs;
            if ((rc = need_str(rs, &args[1], "fillchar", &fs)) < 0)
                return rc;
            size_t k = 0;
            if (!fs.len || (fill = ph__utf8_next(fs.ptr, fs.len, &k), k != fs.len))
                return ph__rs_error(rs, PH_ETYPE,
                                    "The fill character must be exactly one character long");
        }
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        int64_t padn = width > len ? width - len : 0;
        if (IS("zfill")) {
            size_t sg = s.len && (s.ptr[0] == '+' || s.ptr[0] == '-') ? 1 : 0;
            ph_buf_append(&b, s.ptr, sg);
            put_cp(&b, '0', padn);
            ph_buf_append(&b, s.ptr + sg, s.len - sg);
        } else if (IS("ljust")) {
            ph_buf_append(&b, s.ptr, s.len);
            put_cp(&b, fill, padn);
        } else if (IS("rjust")) {
            put_cp(&b, fill, padn);
            ph_buf_append(&b, s.ptr, s.len);
        } else {
            /* Python: left = pad/2 + (pad & width & 1) */
            int64_t left = padn / 2 + (padn & width & 1);
            put_cp(&b, fill, left);
            ph_buf_append(&b, s.ptr, s.len);
            put_cp(&b, fill, padn - left);
        }
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        *out = mk(b.ptr, b.len, safe);
        return 0;
    }
    if (IS("partition") || IS("rpartition")) {
        ph_slice x = {0};
        if ((rc = need_str(rs, nargs ? &args[0] : NULL, "partition", &x)) < 0)
            return rc;
        if (!x.len)
            return ph__rs_error(rs, PH_EINVAL, "empty separator");
        bool rev = name.ptr[0] == 'r';
        const char *hit = find_sub(s.ptr, s.len, x, rev);
        V t = tuple_new(rs);
        V parts[3];
        if (!hit) {
            parts[0] = rev ? mk("", 0, safe) : mk(s.ptr, s.len, safe);
            parts[1] = mk("", 0, safe);
            parts[2] = rev ? mk(s.ptr, s.len, safe) : mk("", 0, safe);
        } else {
            parts[0] = mk(s.ptr, (size_t)(hit - s.ptr), safe);
            parts[1] = mk(x.ptr, x.len, safe);
            parts[2] = mk(hit + x.len, s.len - (size_t)(hit - s.ptr) - x.len, safe);
        }
        for (int i = 0; i < 3; i++)
            if (ph_tpl_list_push(rs->arena, &t, parts[i]) < 0)
                return oom(rs);
        *out = t;
        return 0;
    }
    if (IS("removeprefix") || IS("removesuffix")) {
        ph_slice x = {0};
        if ((rc = need_str(rs, nargs ? &args[0] : NULL, "removeprefix", &x)) < 0)
            return rc;
        bool pre = IS("removeprefix");
        if (x.len <= s.len && memcmp(pre ? s.ptr : s.ptr + s.len - x.len, x.ptr, x.len) == 0)
            *out = mk(pre ? s.ptr + x.len : s.ptr, s.len - x.len, safe);
        else
            *out = *self;
        return 0;
    }
    if (IS("expandtabs")) {
        const V *t = arg(args, nargs, kw, nkw, 0, "tabsize");
        int64_t ts = t && is_int(t) ? ival(t) : 8;
        if (ts > 1000)
            return ph__rs_error(rs, PH_ELIMIT, "expandtabs: tabsize too large");
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        int64_t col = 0;
        for (size_t i = 0; i < s.len;) {
            size_t st = i;
            uint32_t c = ph__utf8_next(s.ptr, s.len, &i);
            if (c == '\t') {
                int64_t n = ts > 0 ? ts - col % ts : 0;
                put_cp(&b, ' ', n);
                col += n;
            } else {
                ph_buf_append(&b, s.ptr + st, i - st);
                col = (c == '\n' || c == '\r') ? 0 : col + 1;
            }
        }
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        *out = mk(b.ptr, b.len, safe);
        return 0;
    }
    if (IS("replace")) {
        ph_slice o, n;
        if ((rc = need_str(rs, nargs ? &args[0] : NULL, "replace", &o)) < 0 ||
            (rc = need_str(rs, nargs > 1 ? &args[1] : NULL, "replace", &n)) < 0)
            return rc;
        const V *cv = arg(args, nargs, kw, nkw, 2, "count");
        int64_t count = cv && is_int(cv) ? ival(cv) : -1;
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        size_t pos = 0;
        int64_t done = 0;
        if (!o.len) { /* between every character */
            for (size_t i = 0; i <= s.len;) {
                if (count < 0 || done < count) {
                    ph_buf_append(&b, n.ptr, n.len);
                    done++;
                }
                if (i == s.len)
                    break;
                size_t st = i;
                ph__utf8_next(s.ptr, s.len, &i);
                ph_buf_append(&b, s.ptr + st, i - st);
            }
        } else {
            for (;;) {
                const char *hit = (count >= 0 && done >= count)
                                      ? NULL
                                      : find_sub(s.ptr + pos, s.len - pos, o, false);
                if (!hit) {
                    ph_buf_append(&b, s.ptr + pos, s.len - pos);
                    break;
                }
                ph_buf_append(&b, s.ptr + pos, (size_t)(hit - s.ptr) - pos);
                ph_buf_append(&b, n.ptr, n.len);
                pos = (size_t)(hit - s.ptr) + o.len;
                done++;
            }
        }
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        *out = mk(b.ptr, b.len, safe);
        return 0;
    }
#undef IS
    return 1; /* not one of these */
}
