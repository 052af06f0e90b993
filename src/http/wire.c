/*
 * Phial's strict HTTP/1.1 request-head parser and chunked-body decoder (see
 * wire.h).  Written against RFC 9110/9112 and checked case by case against
 * nginx 1.22's answers: whatever could let two parsers disagree on where a
 * request ends (two Content-Lengths, Content-Length with Transfer-Encoding,
 * a malformed length, an unknown coding, folded or nameless header lines,
 * stray CR or NUL bytes, two Hosts) is refused with one status.
 *
 * Nothing here allocates: results point into the caller's bytes.
 */
#include "wire.h"

#include <string.h>

/* RFC 9110 tchar: the bytes of a token (method, header name). */
static bool is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && memchr(extra, c, sizeof(extra) - 1) != NULL;
}

static bool eq_nocase(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + 32);
        if (a != b)
            return false;
    }
    return true;
}

/* How many bytes of empty lines may come before a request line (RFC 9112
 * 2.2: a server should ignore at least one). */
#define MAX_LEADING_BLANK 16
/* Room for the method, the spaces and the version around the target. */
#define LINE_SLACK 64
#define MAX_METHOD 32

long ph__wire_head_end(const char *buf, size_t len, const ph_wire_limits *lim, ph_wire_scan *st)
{
    if (!st->started) {
        size_t i = st->pos;
        while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
            i++;
        if (i > MAX_LEADING_BLANK)
            return -400;
        st->pos = i;
        if (i == len)
            return 0;
        st->started = true;
        st->start = i;
    }
    size_t i = st->pos;
    if (st->line_end == 0) {
        const char *lf = i < len ? memchr(buf + i, '\n', len - i) : NULL;
        if (!lf) {
            st->pos = len;
            return len - st->start > lim->max_url + LINE_SLACK ? -414 : 0;
        }
        st->line_end = (size_t)(lf - buf) + 1;
        if (st->line_end - st->start > lim->max_url + LINE_SLACK)
            return -414;
        i = st->line_end;
    }
    size_t le = st->line_end;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (!lf)
            break;
        size_t k = (size_t)(lf - buf);
        bool end = false;
        if (k == le || (k == le + 1 && buf[le] == '\r'))
            end = true; /* no header lines at all */
        else if (buf[k - 1] == '\n' || (buf[k - 1] == '\r' && buf[k - 2] == '\n'))
            end = true;
        if (end) {
            if (k + 1 - le > lim->max_header + 2)
                return -431;
            return (long)(k + 1);
        }
        i = k + 1;
    }
    st->pos = len;
    if (len - le > lim->max_header + 2)
        return -431;
    return 0;
}

/* One line [p, lf) without its CR; 400 when a CR is anywhere else. */
static int line_bounds(const char *p, const char *end, const char **eol, const char **next)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf)
        return 400;
    const char *e = lf;
    if (e > p && e[-1] == '\r')
        e--;
    if (memchr(p, '\r', (size_t)(e - p)))
        return 400; /* a bare CR */
    *eol = e;
    *next = lf + 1;
    return 0;
}

/* Parses "HTTP/x.y" into its minor version (0 or 1); 400 or 505. */
static int parse_version(const char *p, size_t n, int *minor)
{
    if (n < 8 || memcmp(p, "HTTP/", 5) != 0)
        return 400;
    size_t i = 5;
    unsigned major = 0, mn = 0;
    size_t d = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && d < 3) {
        major = major * 10 + (unsigned)(p[i++] - '0');
        d++;
    }
    if (d == 0 || i >= n || p[i] != '.')
        return 400;
    i++;
    d = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && d < 3) {
        mn = mn * 10 + (unsigned)(p[i++] - '0');
        d++;
    }
    if (d == 0 || i != n)
        return 400;
    if (major == 0)
        return 400;
    if (major > 1)
        return 505;
    *minor = mn >= 1 ? 1 : 0;
    return 0;
}

/* The Host value as nginx accepts it: no '/', '\\', NUL or "..", not
 * empty, no leading dot. */
static bool host_ok(const char *p, size_t n)
{
    if (n == 0 || p[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '/' || c == '\\' || c <= 0x20 || c == 0x7f)
            return false;
        if (c == '.' && i + 1 < n && p[i + 1] == '.')
            return false;
    }
    return true;
}

/* Whether a comma-separated list value holds token tok (case-insensitive). */
static bool list_has(const char *p, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        size_t s = i;
        while (i < n && p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e > s && eq_nocase(p + s, e - s, tok))
            return true;
    }
    return false;
}

int ph__wire_head_parse(const char *buf, size_t len, const ph_wire_limits *lim,
                        ph_wire_header *hdrs, size_t cap, ph_wire_head *out)
{
    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    const char *p = buf, *end = buf + len;
    size_t blank = 0;
    while (p < end && (*p == '\r' || *p == '\n')) {
        p++;
        if (++blank > MAX_LEADING_BLANK)
            return 400;
    }
    const char *eol, *next;
    if (line_bounds(p, end, &eol, &next) != 0)
        return 400;
    /* request line: method SP target SP version */
    if ((size_t)(eol - p) > lim->max_url + LINE_SLACK)
        return 414;
    const char *m = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == m || p == eol || *p != ' ' || (size_t)(p - m) > MAX_METHOD)
        return 400;
    out->method = m;
    out->method_len = (size_t)(p - m);
    const char *t = ++p;
    while (p < eol && *p != ' ') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c == 0x7f)
            return 400; /* NUL, tab, other controls in the target */
        p++;
    }
    size_t tlen = (size_t)(p - t);
    if (tlen == 0 || p == eol)
        return 400;
    if (tlen > lim->max_url)
        return 414;
    int rc = parse_version(p + 1, (size_t)(eol - p - 1), &out->minor);
    if (rc)
        return rc;
    if (t[0] == '/') {
        out->target = t;
        out->target_len = tlen;
    } else if (tlen == 1 && t[0] == '*') {
        if (!(out->method_len == 7 && memcmp(out->method, "OPTIONS", 7) == 0))
            return 400;
        out->target = t;
        out->target_len = 1;
    } else {
        /* absolute-form: http(s)://authority/path -- the path is served */
        size_t skip = 0;
        if (tlen > 7 && eq_nocase(t, 7, "http://"))
            skip = 7;
        else if (tlen > 8 && eq_nocase(t, 8, "https://"))
            skip = 8;
        if (!skip)
            return 400;
        const char *a = t + skip, *te = t + tlen;
        const char *slash = memchr(a, '/', (size_t)(te - a));
        if (memchr(a, '?', (size_t)((slash ? slash : te) - a)) || slash == a)
            return 400;
        if (!slash) {
            out->target = "/";
            out->target_len = 1;
        } else {
            out->target = slash;
            out->target_len = (size_t)(te - slash);
        }
    }

    /* header fields */
    bool host = false, te_seen = false, conn_close = false, conn_keep = false;
    size_t hbytes = 0;
    p = next;
    for (;;) {
        if (line_bounds(p, end, &eol, &next) != 0)
            return 400;
        if (eol == p)
            break; /* the empty line */
        hbytes += (size_t)(next - p);
        if (hbytes > lim->max_header)
            return 431;
        if (*p == ' ' || *p == '\t')
            return 400; /* obs-fold, or whitespace before a name */
        const char *n = p;
        while (p < eol && is_tchar((unsigned char)*p))
            p++;
        if (p == n || p == eol || *p != ':')
            return 400; /* empty name, a space or other byte before ':' */
        size_t nlen = (size_t)(p - n);
        p++;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p, *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        /* NUL and other controls: 400 (accumulated without a branch, so
           the compiler checks a long value, a cookie, many bytes a step) */
        unsigned ctl = 0;
        for (const char *q = v; q < ve; q++) {
            unsigned char c = (unsigned char)*q;
            ctl |= (unsigned)((c < 0x20 && c != '\t') | (c == 0x7f));
        }
        if (ctl)
            return 400;
        size_t vlen = (size_t)(ve - v);
        if (out->nheaders >= cap)
            return 431;
        hdrs[out->nheaders++] = (ph_wire_header){n, nlen, v, vlen};

        if (eq_nocase(n, nlen, "host")) {
            if (host || !host_ok(v, vlen))
                return 400;
            host = true;
        } else if (eq_nocase(n, nlen, "content-length")) {
            if (out->content_length >= 0 || vlen == 0 || vlen > 19)
                return 400;
            int64_t cl = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return 400; /* "+5", "5, 5", "0x5", "-1" */
                cl = cl * 10 + (v[i] - '0');
            }
            if (cl < 0)
                return 400;
            out->content_length = cl;
        } else if (eq_nocase(n, nlen, "transfer-encoding")) {
            if (te_seen)
                return 400; /* a second Transfer-Encoding line */
            te_seen = true;
            if (!eq_nocase(v, vlen, "chunked"))
                return 501;
            out->chunked = true;
        } else if (eq_nocase(n, nlen, "connection")) {
            conn_close = conn_close || list_has(v, vlen, "close");
            conn_keep = conn_keep || list_has(v, vlen, "keep-alive");
        } else if (eq_nocase(n, nlen, "expect")) {
            out->expect_continue = eq_nocase(v, vlen, "100-continue");
        }
        p = next;
    }
    out->head_len = (size_t)(next - buf);
    if (out->minor == 1 && !host)
        return 400;
    if (out->chunked && out->content_length >= 0)
        return 400;
    if (out->chunked && out->minor == 0)
        return 400;
    if (out->content_length >= 0 && (uint64_t)out->content_length > lim->max_body)
        return 413;
    out->keep_alive = out->minor == 1 ? !conn_close : (conn_keep && !conn_close);
    if (out->minor == 0)
        out->expect_continue = false;
    return 0;
}

/* ---- chunked bodies ------------------------------------------------------ */

enum {
    C_SIZE,       /* first hex digit of a chunk size */
    C_SIZE_MORE,  /* more digits, or what ends the size */
    C_EXT,        /* chunk extension up to the end of the line */
    C_SIZE_LF,    /* LF after the size line's CR */
    C_DATA,       /* chunk data */
    C_DATA_END,   /* CR or LF after the data */
    C_DATA_LF,    /* LF after that CR */
    C_TRAILER,    /* start of a trailer line, or the final empty line */
    C_TRAILER_IN, /* inside a trailer line */
    C_TRAILER_LF, /* LF after a trailer line's CR */
    C_LAST_LF,    /* LF after the final empty line's CR */
};

#define MAX_SIZE_LINE 4096
#define MAX_HEX_DIGITS 16

int ph__wire_chunked_feed(ph_wire_chunked *st, const char *p, size_t n, uint64_t max_body,
                          size_t max_trailer, ph_wire_data_fn fn, void *ud, size_t *used)
{
    size_t i = 0;
    int rc = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        switch (st->state) {
        case C_SIZE:
        case C_SIZE_MORE: {
            int hv = (c >= '0' && c <= '9')   ? c - '0'
                     : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                     : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                              : -1;
            if (hv >= 0) {
                /* leading zeros do not count as digits, but do as line */
                if ((st->remaining != 0 || hv != 0) && ++st->digits > MAX_HEX_DIGITS) {
                    rc = 400;
                    goto out;
                }
                if (++st->line > MAX_SIZE_LINE) {
                    rc = 400;
                    goto out;
                }
                st->remaining = st->remaining * 16 + (uint64_t)hv;
                st->state = C_SIZE_MORE;
                i++;
                break;
            }
            if (st->state == C_SIZE) {
                rc = 400; /* "+5", "0x5", " 5", empty */
                goto out;
            }
            if (c == ';' || c == ' ' || c == '\t')
                st->state = C_EXT;
            else if (c == '\r')
                st->state = C_SIZE_LF;
            else if (c == '\n')
                goto size_done;
            else {
                rc = 400;
                goto out;
            }
            st->line++;
            i++;
            break;
        }
        case C_EXT:
            if (c == '\r')
                st->state = C_SIZE_LF;
            else if (c == '\n')
                goto size_done;
            else if ((c < 0x20 && c != '\t') || c == 0x7f || ++st->line > MAX_SIZE_LINE) {
                rc = 400;
                goto out;
            }
            i++;
            break;
        case C_SIZE_LF:
            if (c != '\n') {
                rc = 400;
                goto out;
            }
        size_done:
            i++;
            if (st->remaining > max_body || st->total + st->remaining > max_body) {
                rc = 413; /* known as soon as the size line ends */
                goto out;
            }
            st->line = 0;
            st->digits = 0;
            st->state = st->remaining == 0 ? C_TRAILER : C_DATA;
            break;
        case C_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > st->remaining)
                take = (size_t)st->remaining;
            if (fn && (rc = fn(ud, p + i, take)) != 0)
                goto out;
            st->remaining -= take;
            st->total += take;
            i += take;
            if (st->remaining == 0)
                st->state = C_DATA_END;
            break;
        }
        case C_DATA_END:
            if (c == '\r')
                st->state = C_DATA_LF;
            else if (c == '\n')
                st->state = C_SIZE;
            else {
                rc = 400;
                goto out;
            }
            i++;
            break;
        case C_DATA_LF:
            if (c != '\n') {
                rc = 400;
                goto out;
            }
            st->state = C_SIZE;
            i++;
            break;
        case C_TRAILER:
            if (c == '\r') {
                st->state = C_LAST_LF;
                i++;
                break;
            }
            if (c == '\n') {
                i++;
                rc = 1;
                goto out;
            }
            if (c == ' ' || c == '\t' || !is_tchar(c)) {
                rc = 400;
                goto out;
            }
            st->state = C_TRAILER_IN;
            break;
        case C_TRAILER_IN:
            if (++st->trailer > max_trailer) {
                rc = 400;
                goto out;
            }
            if (c == '\r')
                st->state = C_TRAILER_LF;
            else if (c == '\n')
                st->state = C_TRAILER;
            else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                rc = 400;
                goto out;
            }
            i++;
            break;
        case C_TRAILER_LF:
        case C_LAST_LF:
            if (c != '\n') {
                rc = 400;
                goto out;
            }
            i++;
            if (st->state == C_LAST_LF) {
                rc = 1;
                goto out;
            }
            st->state = C_TRAILER;
            break;
        default:
            rc = 400;
            goto out;
        }
    }
out:
    *used = i;
    return rc;
}
