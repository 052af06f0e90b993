/*
 * Parsers for what a client sends: percent-encoding, query strings and
 * url-encoded bodies, Cookie headers, multipart/form-data bodies, header
 * parameters and HTTP dates.  Every parser is bounded (item counts and
 * input length), allocates only in the given arena, and treats malformed
 * input as an answer, never a crash.  Fuzzed by fuzz/fuzz_http_parse.c.
 */
#include "phial/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

char *ph_url_decode(ph_arena *a, const char *s, size_t n, bool plus_as_space, size_t *out_len)
{
    char *out = ph_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n) {
            int hi = ph_hexval(s[i + 1]), lo = ph_hexval(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out[j++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out[j++] = (plus_as_space && c == '+') ? ' ' : c;
    }
    out[j] = '\0';
    if (out_len)
        *out_len = j;
    return out;
}

int ph_url_encode(ph_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            ph_buf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            ph_buf_append(out, esc, 3);
        }
    }
    return ph_buf_status(out);
}

int ph_params_add(ph_arena *a, ph_params *p, const char *name, const char *value, size_t value_len)
{
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        ph_param *items = ph_arena_alloc(a, cap * sizeof(*items));
        if (!items)
            return PH_ENOMEM;
        if (p->len)
            memcpy(items, p->items, p->len * sizeof(*items));
        p->items = items;
        p->cap = cap;
    }
    p->items[p->len++] = (ph_param){name, value, value_len};
    return 0;
}

const char *ph_params_get(const ph_params *p, const char *name)
{
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    return NULL;
}

const char *ph_params_get_nocase(const ph_params *p, const char *name)
{
    for (size_t i = 0; i < p->len; i++)
        if (strcasecmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    return NULL;
}

size_t ph_params_count(const ph_params *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->items[i].name, name) == 0)
            n++;
    return n;
}

const char *ph_params_get_nth(const ph_params *p, const char *name, size_t nth)
{
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->items[i].name, name) == 0 && nth-- == 0)
            return p->items[i].value;
    return NULL;
}

int ph_http_parse_urlencoded(ph_arena *a, const char *s, size_t n, size_t max_items, ph_params *out)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != '&')
            i++;
        size_t end = i;
        i++; /* skip '&' */
        if (end == start)
            continue;
        if (out->len >= max_items)
            return PH_ELIMIT;
        const char *eq = memchr(s + start, '=', end - start);
        size_t klen = eq ? (size_t)(eq - (s + start)) : end - start;
        char *key = ph_url_decode(a, s + start, klen, true, NULL);
        size_t vlen = 0;
        char *val = eq ? ph_url_decode(a, eq + 1, (size_t)(s + end - (eq + 1)), true, &vlen)
                       : ph_arena_strdup(a, "");
        if (!key || !val)
            return PH_ENOMEM;
        if (ph_params_add(a, out, key, val, vlen) < 0)
            return PH_ENOMEM;
    }
    return 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int ph_http_parse_cookies(ph_arena *a, const char *s, size_t n, size_t max_items, ph_params *out)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != ';')
            i++;
        size_t end = i++;
        while (start < end && is_ows(s[start]))
            start++;
        while (end > start && is_ows(s[end - 1]))
            end--;
        const char *eq = memchr(s + start, '=', end - start);
        if (!eq || eq == s + start)
            continue;
        size_t kend = (size_t)(eq - s);
        while (kend > start && is_ows(s[kend - 1]))
            kend--;
        size_t vstart = (size_t)(eq - s) + 1;
        while (vstart < end && is_ows(s[vstart]))
            vstart++;
        if (end - vstart >= 2 && s[vstart] == '"' && s[end - 1] == '"') {
            vstart++;
            end--;
        }
        if (out->len >= max_items)
            return PH_ELIMIT;
        char *key = ph_arena_strndup(a, s + start, kend - start);
        char *val = ph_arena_strndup(a, s + vstart, end - vstart);
        if (!key || !val || ph_params_add(a, out, key, val, end - vstart) < 0)
            return PH_ENOMEM;
    }
    return 0;
}

char *ph_http_header_param(ph_arena *a, const char *value, const char *param)
{
    size_t plen = strlen(param);
    const char *p = value;
    /* skip the first element ("form-data", "multipart/form-data"), which a
       quoted string cannot be part of */
    p += strcspn(p, ";");
    while (*p == ';') {
        p++;
        while (is_ows(*p))
            p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ';' && !is_ows(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (is_ows(*p))
            p++;
        if (*p != '=') {
            p += strcspn(p, ";");
            continue;
        }
        p++;
        while (is_ows(*p))
            p++;
        bool match = nlen == plen && strncasecmp(name, param, plen) == 0;
        if (*p == '"') {
            /* quoted-string: a ';' inside belongs to the value; \x is x */
            ph_buf b;
            ph_buf_init(&b, a);
            const char *q = p + 1;
            while (*q && *q != '"') {
                if (*q == '\\' && q[1])
                    q++;
                if (match)
                    ph_buf_putc(&b, *q);
                q++;
            }
            if (*q != '"')
                return NULL; /* unterminated: malformed */
            if (match)
                return b.failed ? NULL : b.ptr ? b.ptr : ph_arena_strdup(a, "");
            p = q + 1;
            p += strcspn(p, ";");
            continue;
        }
        size_t n = strcspn(p, "; \t");
        if (match)
            return ph_arena_strndup(a, p, n);
        p += n;
        p += strcspn(p, ";");
    }
    return NULL;
}

/* ---- multipart/form-data ------------------------------------------------- */

/* memmem over bounded input. */
static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen)
        return NULL;
    const char *end = hay + hlen - nlen;
    for (const char *p = hay; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p)
            return NULL;
        if (memcmp(p, needle, nlen) == 0)
            return p;
    }
    return NULL;
}

/* Parses the headers of one part (from p to hdr_end, "\r\n"-separated). */
static int part_headers(ph_arena *a, const char *p, const char *hdr_end, char **name,
                        char **filename, char **ctype)
{
    *name = *filename = *ctype = NULL;
    while (p < hdr_end) {
        const char *eol = find(p, (size_t)(hdr_end - p) + 2, "\r\n", 2);
        if (!eol)
            eol = hdr_end;
        char *line = ph_arena_strndup(a, p, (size_t)(eol - p));
        if (!line)
            return PH_ENOMEM;
        if (strlen(line) != (size_t)(eol - p))
            return PH_EPARSE; /* NUL in a header */
        char *colon = strchr(line, ':');
        if (!colon)
            return PH_EPARSE;
        *colon = '\0';
        char *v = colon + 1;
        while (is_ows(*v))
            v++;
        if (strcasecmp(line, "Content-Disposition") == 0) {
            if (strncasecmp(v, "form-data", 9) != 0)
                return PH_EPARSE;
            *name = ph_http_header_param(a, v, "name");
            *filename = ph_http_header_param(a, v, "filename");
        } else if (strcasecmp(line, "Content-Type") == 0) {
            *ctype = v;
        }
        p = eol + 2;
    }
    return *name ? 0 : PH_EPARSE;
}

int ph_http_parse_multipart(ph_arena *a, const char *content_type, const char *body, size_t len,
                            size_t max_parts, ph_params *form, ph_upload **files, size_t *nfiles)
{
    char *boundary = ph_http_header_param(a, content_type, "boundary");
    if (!boundary || !*boundary || strlen(boundary) > 200)
        return PH_EPARSE;
    size_t blen = strlen(boundary);
    /* delimiter = "\r\n--" boundary; the first one may lack the CRLF */
    char *delim = ph_arena_sprintf(a, "\r\n--%s", boundary);
    if (!delim)
        return PH_ENOMEM;
    size_t dlen = blen + 4;

    const char *p;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        const char *d = find(body, len, delim, dlen);
        if (!d)
            return PH_EPARSE;
        p = d + dlen;
    }
    const char *end = body + len;
    size_t nparts = 0, files_cap = 0;
    ph_upload *up = *files;
    size_t nup = *nfiles;
    files_cap = nup;
    for (;;) {
        /* after a delimiter: "--" ends, CRLF starts a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break;
        while (p < end && is_ows(*p))
            p++; /* transport padding */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return PH_EPARSE;
        p += 2;
        if (++nparts > max_parts)
            return PH_ELIMIT;
        const char *hdr_end;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hdr_end = p; /* no headers at all: rejected below */
        } else {
            hdr_end = find(p, (size_t)(end - p), "\r\n\r\n", 4);
            if (!hdr_end)
                return PH_EPARSE;
        }
        char *name, *filename, *ctype;
        int rc = part_headers(a, p, hdr_end, &name, &filename, &ctype);
        if (rc < 0)
            return rc;
        const char *data = hdr_end + (hdr_end == p ? 2 : 4);
        if (data > end)
            return PH_EPARSE;
        const char *d = find(data, (size_t)(end - data), delim, dlen);
        if (!d)
            return PH_EPARSE; /* truncated */
        size_t dl = (size_t)(d - data);
        char *copy = ph_arena_strndup(a, data, dl);
        if (!copy)
            return PH_ENOMEM;
        if (filename) {
            if (nup == files_cap) {
                files_cap = files_cap ? files_cap * 2 : 4;
                ph_upload *n = ph_arena_alloc(a, files_cap * sizeof(*n));
                if (!n)
                    return PH_ENOMEM;
                if (nup)
                    memcpy(n, up, nup * sizeof(*n));
                up = n;
            }
            up[nup++] =
                (ph_upload){name, filename, ctype ? ctype : "application/octet-stream", copy, dl};
            *files = up;
            *nfiles = nup;
        } else if (ph_params_add(a, form, name, copy, dl) < 0) {
            return PH_ENOMEM;
        }
        p = d + dlen;
    }
    return 0;
}

/* ---- dates, reasons, types ------------------------------------------------ */

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void ph_http_date(time_t t, char out[30])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* built by hand: strftime's %a/%b follow the locale */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u;
    memcpy(out, wdays[tm.tm_wday % 7], 3);
    out[3] = ',';
    out[4] = ' ';
    out[5] = (char)('0' + tm.tm_mday / 10);
    out[6] = (char)('0' + tm.tm_mday % 10);
    out[7] = ' ';
    memcpy(out + 8, months[tm.tm_mon % 12], 3);
    out[11] = ' ';
    out[12] = (char)('0' + y / 1000);
    out[13] = (char)('0' + y / 100 % 10);
    out[14] = (char)('0' + y / 10 % 10);
    out[15] = (char)('0' + y % 10);
    out[16] = ' ';
    out[17] = (char)('0' + tm.tm_hour / 10);
    out[18] = (char)('0' + tm.tm_hour % 10);
    out[19] = ':';
    out[20] = (char)('0' + tm.tm_min / 10);
    out[21] = (char)('0' + tm.tm_min % 10);
    out[22] = ':';
    out[23] = (char)('0' + tm.tm_sec / 10);
    out[24] = (char)('0' + tm.tm_sec % 10);
    memcpy(out + 25, " GMT", 5);
}

/* The number in s[0..n) if it is n ASCII digits, else -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int ph_http_date_parse(const char *s, time_t *out)
{
    /* exactly "Sun, 06 Nov 1994 08:49:37 GMT": every digit where a digit
       belongs (no signs, no spaces), a real calendar day */
    if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
        memcmp(s + 26, "GMT", 3) != 0)
        return PH_EPARSE;
    int d = digits(s + 5, 2), y = digits(s + 12, 4), h = digits(s + 17, 2),
        mi = digits(s + 20, 2), se = digits(s + 23, 2), m = -1, wd = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months[i], 3) == 0)
            m = i;
    for (int i = 0; i < 7; i++)
        if (memcmp(s, wdays[i], 3) == 0)
            wd = i;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 0 || wd < 0 || d < 1 || d > mdays[m] || y < 1970 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60)
        return PH_EPARSE;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 1 && d == 29 && !leap)
        return PH_EPARSE;
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = m, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    if (t < 0)
        return PH_EPARSE;
    *out = t;
    return 0;
}

const char *ph_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

const char *ph_http_mime_type(const char *filename)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/vnd.microsoft.icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"pdf", "application/pdf"},
        {"map", "application/json"},
        {"wasm", "application/wasm"},
    };
    const char *slash = strrchr(filename, '/');
    const char *dot = strrchr(slash ? slash : filename, '.');
    if (dot)
        for (size_t i = 0; i < PH_COUNTOF(types); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}
