/*
 * Building a ph_response: status, headers, a body from memory or a file,
 * redirects and cookies.  Headers live in the request arena; the body is
 * heap memory so that the server can hand it to the network library
 * without a copy (an arena cleanup frees what was never handed over).
 */
#include "phial/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void response_cleanup(void *p)
{
    ph_response *res = p;
    ph_buf_free(&res->body);
    if (res->fd >= 0) {
        close(res->fd);
        res->fd = -1;
    }
}

int ph_res_init(ph_response *res, ph_arena *a)
{
    memset(res, 0, sizeof(*res));
    res->arena = a;
    res->fd = -1;
    ph_buf_init(&res->body, NULL);
    return ph_arena_cleanup_add(a, response_cleanup, res);
}

void ph_res_reset(ph_response *res)
{
    ph_buf_free(&res->body);
    if (res->fd >= 0)
        close(res->fd);
    res->fd = -1;
    res->file_size = 0;
    res->status = 0;
    res->nheaders = 0;
    res->content_type = NULL;
    res->abort = false;
}

int ph_abort(ph_response *res, int status)
{
    return ph_abort_description(res, status, NULL);
}

int ph_abort_description(ph_response *res, int status, const char *description)
{
    ph_res_reset(res);
    res->status = status;
    res->abort = true;
    res->description = description;
    return 0;
}

static bool header_value_ok(const char *v)
{
    return strpbrk(v, "\r\n") == NULL;
}

static bool header_name_ok(const char *n)
{
    if (!*n)
        return false;
    for (const char *p = n; *p; p++)
        if (*p <= ' ' || *p == ':' || *p >= 127)
            return false;
    return true;
}

int ph_res_header_add(ph_response *res, const char *name, const char *value)
{
    if (!header_name_ok(name) || !header_value_ok(value))
        return PH_EINVAL;
    if (strcasecmp(name, "Content-Type") == 0)
        return ph_res_content_type(res, value);
    if (res->nheaders == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 8;
        ph_header *h = ph_arena_alloc(res->arena, cap * sizeof(*h));
        if (!h)
            return PH_ENOMEM;
        if (res->nheaders)
            memcpy(h, res->headers, res->nheaders * sizeof(*h));
        res->headers = h;
        res->cap = cap;
    }
    const char *n = ph_arena_strdup(res->arena, name);
    const char *v = ph_arena_strdup(res->arena, value);
    if (!n || !v)
        return PH_ENOMEM;
    res->headers[res->nheaders++] = (ph_header){n, v};
    return 0;
}

int ph_res_header(ph_response *res, const char *name, const char *value)
{
    if (!header_name_ok(name) || !header_value_ok(value))
        return PH_EINVAL;
    if (strcasecmp(name, "Set-Cookie") != 0) {
        size_t j = 0;
        for (size_t i = 0; i < res->nheaders; i++)
            if (strcasecmp(res->headers[i].name, name) != 0)
                res->headers[j++] = res->headers[i];
        res->nheaders = j;
    }
    return ph_res_header_add(res, name, value);
}

const char *ph_res_header_get(const ph_response *res, const char *name)
{
    if (strcasecmp(name, "Content-Type") == 0)
        return res->content_type;
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

int ph_res_content_type(ph_response *res, const char *type)
{
    if (!header_value_ok(type))
        return PH_EINVAL;
    const char *t = ph_arena_strdup(res->arena, type);
    if (!t)
        return PH_ENOMEM;
    res->content_type = t;
    return 0;
}

int ph_res_body(ph_response *res, const void *p, size_t n)
{
    if (res->fd >= 0) {
        close(res->fd);
        res->fd = -1;
        res->file_size = 0;
    }
    ph_buf_clear(&res->body);
    res->body.failed = false;
    if (n == 0)
        return 0;
    return ph_buf_append(&res->body, p, n);
}

int ph_html_n(ph_response *res, int status, const char *body, size_t len)
{
    res->status = status;
    res->content_type = "text/html; charset=utf-8";
    return ph_res_body(res, body, len);
}

int ph_html(ph_response *res, int status, const char *body)
{
    return ph_html_n(res, status, body, strlen(body));
}

int ph_plain(ph_response *res, int status, const char *body)
{
    int rc = ph_html_n(res, status, body, strlen(body));
    res->content_type = "text/plain; charset=utf-8";
    return rc;
}

int ph_json(ph_response *res, int status, json_t *value)
{
    if (!value)
        return PH_ENOMEM;
    /* compact, in the value's own key order; any Unicode kept as UTF-8 */
    size_t n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    int rc = n == 0 ? PH_ENOMEM : 0;
    if (rc == 0) {
        ph_buf_clear(&res->body);
        rc = ph_buf_reserve(&res->body, n + 1);
    }
    if (rc == 0) {
        json_dumpb(value, res->body.ptr, n, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        res->body.len = n;
        res->body.ptr[n] = '\0';
        res->status = status;
        res->content_type = "application/json";
    }
    json_decref(value);
    return rc;
}

int ph_redirect(ph_response *res, const char *url, int status)
{
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
        return PH_EINVAL;
    int rc = ph_res_header(res, "Location", url);
    if (rc < 0)
        return rc;
    ph_buf b;
    ph_buf_init(&b, res->arena);
    ph_buf_puts(&b, "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
                    "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to "
                    "the target URL: <a href=\"");
    ph_buf_put_html(&b, url, strlen(url));
    ph_buf_puts(&b, "\">");
    ph_buf_put_html(&b, url, strlen(url));
    ph_buf_puts(&b, "</a>. If not, click the link.\n");
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    return ph_html_n(res, status, b.ptr, b.len);
}

static bool cookie_token_ok(const char *s, bool value)
{
    if (!s || (!value && !*s))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p >= 127 || *p == ';' || *p == ',' || *p == '"' || *p == '\\')
            return false;
        if (!value && strchr("()<>@:/[]?={}", *p))
            return false;
    }
    return true;
}

int ph_res_set_cookie(ph_response *res, const ph_cookie *c)
{
    if (!cookie_token_ok(c->name, false) || !cookie_token_ok(c->value, true))
        return PH_EINVAL;
    if ((c->path && (strpbrk(c->path, ";\r\n") || !*c->path)) ||
        (c->domain && (strpbrk(c->domain, ";\r\n ") || !*c->domain)))
        return PH_EINVAL;
    ph_buf b;
    ph_buf_init(&b, res->arena);
    ph_buf_printf(&b, "%s=%s", c->name, c->value);
    if (c->expires != 0) {
        char date[30];
        ph_http_date(c->expires, date);
        ph_buf_printf(&b, "; Expires=%s", date);
    }
    if (c->max_age >= 0)
        ph_buf_printf(&b, "; Max-Age=%lld", (long long)c->max_age);
    if (c->domain)
        ph_buf_printf(&b, "; Domain=%s", c->domain);
    if (c->secure)
        ph_buf_puts(&b, "; Secure");
    if (c->http_only)
        ph_buf_puts(&b, "; HttpOnly");
    if (c->path)
        ph_buf_printf(&b, "; Path=%s", c->path);
    static const char *const ss[] = {NULL, "Lax", "Strict", "None"};
    if (c->same_site > PH_SAMESITE_UNSET && c->same_site <= PH_SAMESITE_NONE)
        ph_buf_printf(&b, "; SameSite=%s", ss[c->same_site]);
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    return ph_res_header_add(res, "Set-Cookie", b.ptr);
}

int ph_res_delete_cookie(ph_response *res, const char *name, const char *path)
{
    ph_cookie c = {
        .name = name, .value = "", .max_age = 0, .expires = 1, .path = path ? path : "/"};
    return ph_res_set_cookie(res, &c);
}

int ph_res_file(ph_response *res, int status, const char *path, const char *content_type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) ? PH_ENOTFOUND : PH_EIO;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return PH_ENOTFOUND;
    }
    ph_buf_clear(&res->body);
    if (res->fd >= 0)
        close(res->fd);
    res->fd = fd;
    res->file_size = (uint64_t)st.st_size;
    res->status = status;
    res->content_type =
        content_type ? ph_arena_strdup(res->arena, content_type) : ph_http_mime_type(path);
    return res->content_type ? 0 : PH_ENOMEM;
}
