/*
 * The in-process test client (include/phial/testing.h): a request built in
 * memory goes through the same steps the server takes -- ph_req_new, the
 * headers, the body limit, ph_req_parse_body with MAX_FORM_PARTS, then
 * ph_app_handle -- and the answer is copied into memory the client keeps.
 * The cookie jar is a small list of name/value pairs fed by every
 * Set-Cookie; it ignores Path and Domain (one host, every path), which is
 * what a test of one application needs.  Also the throwaway SQLite
 * database of ph_test_db_create.
 */
#include "phial/testing.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct jar_cookie {
    char *name;
    char *value;
} jar_cookie;

struct ph_test_client {
    ph_app *app;
    ph_arena *keep; /* every response's copy, until the client is freed */
    jar_cookie *jar;
    size_t njar, capjar;
};

int ph_test_app_ready(ph_app *app, char *err, size_t errlen)
{
    int rc = ph_app_use_database(app, err, errlen);
    return rc < 0 ? rc : ph_app_use_folders(app, err, errlen);
}

ph_test_client *ph_test_client_new(ph_app *app)
{
    ph_test_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->app = app;
    c->keep = ph_arena_new(0);
    if (!c->keep) {
        free(c);
        return NULL;
    }
    return c;
}

void ph_test_client_free(ph_test_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->njar; i++) {
        free(c->jar[i].name);
        free(c->jar[i].value);
    }
    free(c->jar);
    ph_arena_free(c->keep);
    free(c);
}

static jar_cookie *jar_find(const ph_test_client *c, const char *name, size_t n)
{
    for (size_t i = 0; i < c->njar; i++)
        if (strlen(c->jar[i].name) == n && memcmp(c->jar[i].name, name, n) == 0)
            return &c->jar[i];
    return NULL;
}

const char *ph_test_client_cookie(const ph_test_client *c, const char *name)
{
    jar_cookie *k = jar_find(c, name, strlen(name));
    return k ? k->value : NULL;
}

size_t ph_test_client_cookie_count(const ph_test_client *c)
{
    return c->njar;
}

/* Sets or (value NULL) removes name[0..n) in the jar. */
static int jar_set(ph_test_client *c, const char *name, size_t n, const char *value, size_t vlen)
{
    jar_cookie *k = jar_find(c, name, n);
    if (!value) {
        if (k) {
            free(k->name);
            free(k->value);
            *k = c->jar[--c->njar];
        }
        return 0;
    }
    char *v = strndup(value, vlen);
    if (!v)
        return PH_ENOMEM;
    if (k) {
        free(k->value);
        k->value = v;
        return 0;
    }
    if (c->njar == c->capjar) {
        size_t cap = c->capjar ? 2 * c->capjar : 8;
        jar_cookie *j = realloc(c->jar, cap * sizeof(*j));
        if (!j) {
            free(v);
            return PH_ENOMEM;
        }
        c->jar = j;
        c->capjar = cap;
    }
    char *nm = strndup(name, n);
    if (!nm) {
        free(v);
        return PH_ENOMEM;
    }
    c->jar[c->njar++] = (jar_cookie){nm, v};
    return 0;
}

int ph_test_client_set_cookie(ph_test_client *c, const char *name, const char *value)
{
    if (!name || !*name)
        return PH_EINVAL;
    return jar_set(c, name, strlen(name), value, value ? strlen(value) : 0);
}

/* One Set-Cookie header: "name=value; Path=/; Max-Age=0; ...". */
static int jar_take(ph_test_client *c, const char *h)
{
    const char *semi = strchr(h, ';');
    size_t pair = semi ? (size_t)(semi - h) : strlen(h);
    const char *eq = memchr(h, '=', pair);
    if (!eq || eq == h)
        return 0; /* not a cookie a browser would keep */
    size_t nlen = (size_t)(eq - h);
    const char *v = eq + 1;
    size_t vlen = pair - nlen - 1;
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
        v++, vlen -= 2;
    bool expired = false;
    for (const char *a = semi; a && *a;) {
        a++;
        while (*a == ' ')
            a++;
        const char *next = strchr(a, ';');
        size_t alen = next ? (size_t)(next - a) : strlen(a);
        if (alen > 8 && strncasecmp(a, "Max-Age=", 8) == 0)
            expired = strtoll(a + 8, NULL, 10) <= 0;
        else if (alen > 8 && strncasecmp(a, "Expires=", 8) == 0) {
            char date[64];
            time_t t;
            snprintf(date, sizeof(date), "%.*s", (int)(alen - 8), a + 8);
            if (ph_http_date_parse(date, &t) == 0 && t <= time(NULL))
                expired = true;
        }
        a = next;
    }
    return jar_set(c, h, nlen, expired ? NULL : v, vlen);
}

/* Appends name=value&... percent-encoded. */
static void put_pairs(ph_buf *b, const char *const *kv)
{
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        if (i > 0)
            ph_buf_putc(b, '&');
        ph_url_encode(b, kv[i], strlen(kv[i]), false);
        ph_buf_putc(b, '=');
        ph_url_encode(b, kv[i + 1], strlen(kv[i + 1]), false);
    }
}

/* Reads a file body (static files) into b. */
static int read_fd(int fd, ph_buf *b)
{
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0)
            return PH_EIO;
        if (n == 0)
            return 0;
        if (ph_buf_append(b, chunk, (size_t)n) < 0)
            return PH_ENOMEM;
    }
}

static char *keep_str(ph_test_client *c, const char *s)
{
    return s ? ph_arena_strdup(c->keep, s) : NULL;
}

/* Copies what the app answered into the client's memory and feeds the
 * jar. */
static int take_response(ph_test_client *c, const ph_request *req, ph_response *res,
                         ph_test_response *out)
{
    out->status = res->status;
    out->content_type =
        keep_str(c, res->content_type ? res->content_type : "text/html; charset=utf-8");
    ph_buf body;
    ph_buf_init(&body, c->keep);
    int rc = 0;
    if (res->fd >= 0) {
        rc = read_fd(res->fd, &body);
    } else if (res->body.len)
        rc = ph_buf_append(&body, res->body.ptr, res->body.len);
    if (strcmp(req->method, "HEAD") == 0)
        ph_buf_clear(&body);
    if (rc == 0)
        rc = ph_buf_putc(&body, '\0');
    if (rc < 0)
        return rc;
    out->body = body.ptr;
    out->body_len = body.len - 1;
    ph_header *hs = res->nheaders ? ph_arena_alloc(c->keep, res->nheaders * sizeof(*hs)) : NULL;
    if (res->nheaders && !hs)
        return PH_ENOMEM;
    for (size_t i = 0; i < res->nheaders; i++) {
        hs[i].name = keep_str(c, res->headers[i].name);
        hs[i].value = keep_str(c, res->headers[i].value);
        if (!hs[i].name || !hs[i].value)
            return PH_ENOMEM;
        if (strcasecmp(hs[i].name, "Set-Cookie") == 0 && (rc = jar_take(c, hs[i].value)) < 0)
            return rc;
    }
    out->headers = hs;
    out->nheaders = res->nheaders;
    if (!out->content_type)
        return PH_ENOMEM;
    return 0;
}

/* The request as the server would build it; NULL when out of memory. */
static ph_request *build_request(ph_test_client *c, ph_arena *a, const ph_test_request *r,
                                 const char *method, const ph_app_limits *lim)
{
    ph_buf uri;
    ph_buf_init(&uri, a);
    ph_buf_puts(&uri, r->path);
    if (r->query && r->query[0]) {
        ph_buf_putc(&uri, strchr(r->path, '?') ? '&' : '?');
        put_pairs(&uri, r->query);
    }
    ph_buf_putc(&uri, '\0');
    if (ph_buf_status(&uri) < 0)
        return NULL;
    ph_request *req = ph_req_new(a, c->app, method, uri.ptr);
    if (!req)
        return NULL;
    req->remote_addr = r->remote_addr ? r->remote_addr : "127.0.0.1";
    int rc = ph_req_add_header(req, "Host", "localhost");
    for (size_t i = 0; rc == 0 && r->headers && r->headers[i] && r->headers[i + 1]; i += 2)
        rc = ph_req_add_header(req, r->headers[i], r->headers[i + 1]);
    /* the jar's cookies and this request's own, in one Cookie header */
    ph_buf ck;
    ph_buf_init(&ck, a);
    for (size_t i = 0; i < c->njar; i++)
        ph_buf_printf(&ck, "%s%s=%s", ck.len ? "; " : "", c->jar[i].name, c->jar[i].value);
    for (size_t i = 0; r->cookies && r->cookies[i] && r->cookies[i + 1]; i += 2)
        ph_buf_printf(&ck, "%s%s=%s", ck.len ? "; " : "", r->cookies[i], r->cookies[i + 1]);
    if (rc == 0 && ck.len) {
        ph_buf_putc(&ck, '\0');
        rc = ph_buf_status(&ck) < 0 ? PH_ENOMEM : ph_req_add_header(req, "Cookie", ck.ptr);
    }
    /* the body */
    ph_buf body;
    ph_buf_init(&body, a);
    const char *ctype = NULL;
    if (r->form) {
        put_pairs(&body, r->form);
        ctype = "application/x-www-form-urlencoded";
    } else if (r->json) {
        ph_buf_puts(&body, r->json);
        ctype = "application/json";
    } else if (r->body) {
        ph_buf_append(&body, r->body, r->body_len);
        ctype = r->content_type;
    }
    if (rc == 0 && ph_buf_status(&body) < 0)
        rc = PH_ENOMEM;
    if (rc == 0 && ctype && !ph_params_get_nocase(&req->headers, "Content-Type"))
        rc = ph_req_add_header(req, "Content-Type", ctype);
    if (rc == 0 && (body.len || r->form || r->json || r->body)) {
        char len[32];
        snprintf(len, sizeof(len), "%zu", body.len);
        rc = ph_req_add_header(req, "Content-Length", len);
    }
    if (rc < 0)
        return NULL;
    if (req->bad_status)
        return req;
    if (body.len > lim->max_content_length) {
        req->bad_status = 413; /* as the server: refused before the body is read */
        return req;
    }
    if (ph_req_set_body(req, body.ptr ? body.ptr : "", body.len) < 0 ||
        ph_req_parse_body(req, lim->max_form_parts) < 0)
        return NULL;
    return req;
}

int ph_test_client_open(ph_test_client *c, const ph_test_request *r, ph_test_response *out)
{
    memset(out, 0, sizeof(*out));
    if (!c || !r || !r->path || !*r->path || (!!r->form + !!r->json + !!r->body) > 1)
        return PH_EINVAL;
    const char *method = r->method ? r->method : r->form || r->json || r->body ? "POST" : "GET";
    ph_app_limits lim;
    if (ph_app_limits_get(c->app, &lim) < 0)
        return PH_EINVAL;
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return PH_ENOMEM;
    ph_response res;
    int rc = ph_res_init(&res, a);
    ph_request *req = rc == 0 ? build_request(c, a, r, method, &lim) : NULL;
    if (!req)
        rc = PH_ENOMEM;
    if (rc == 0) {
        ph_app_handle(c->app, req, &res);
        rc = take_response(c, req, &res, out);
    }
    ph_arena_free(a);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

ph_test_response ph_test_get(ph_test_client *c, const char *path)
{
    ph_test_response out;
    ph_test_client_open(c, &(ph_test_request){.method = "GET", .path = path}, &out);
    return out;
}

ph_test_response ph_test_post_form(ph_test_client *c, const char *path, const char *const *form)
{
    static const char *const none[] = {NULL};
    ph_test_response out;
    ph_test_client_open(
        c, &(ph_test_request){.method = "POST", .path = path, .form = form ? form : none}, &out);
    return out;
}

ph_test_response ph_test_post_json(ph_test_client *c, const char *path, const char *json)
{
    ph_test_response out;
    ph_test_client_open(c, &(ph_test_request){.method = "POST", .path = path, .json = json}, &out);
    return out;
}

const char *ph_test_response_header(const ph_test_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    if (strcasecmp(name, "Content-Type") == 0)
        return r->content_type;
    return NULL;
}

/* The value of attribute attr in the tag [tag, end), or NULL; *len set. */
static const char *attr_value(const char *tag, const char *end, const char *attr, size_t *len)
{
    size_t al = strlen(attr);
    for (const char *p = tag; p + al < end; p++) {
        if ((p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n') || strncasecmp(p, attr, al) != 0 ||
            p[al] != '=')
            continue;
        const char *v = p + al + 1;
        char q = (*v == '"' || *v == '\'') ? *v++ : 0;
        const char *e = v;
        while (e < end && (q ? *e != q : (*e != ' ' && *e != '>' && *e != '/')))
            e++;
        *len = (size_t)(e - v);
        return v;
    }
    return NULL;
}

const char *ph_test_form_value(ph_test_client *c, const ph_test_response *r, const char *name)
{
    if (!r->body)
        return NULL;
    for (const char *p = r->body; (p = strcasestr(p, "<input"));) {
        const char *end = strchr(p, '>');
        if (!end)
            return NULL;
        size_t nl, vl;
        const char *n = attr_value(p + 1, end, "name", &nl);
        if (n && nl == strlen(name) && memcmp(n, name, nl) == 0) {
            const char *v = attr_value(p + 1, end, "value", &vl);
            ph_buf b;
            ph_buf_init(&b, c->keep);
            static const struct {
                const char *ent;
                char ch;
            } ents[] = {{"&quot;", '"'}, {"&#34;", '"'}, {"&#39;", '\''}, {"&#x27;", '\''},
                        {"&amp;", '&'},  {"&lt;", '<'},  {"&gt;", '>'}};
            for (size_t i = 0; v && i < vl;) {
                size_t k = 0;
                for (; k < PH_COUNTOF(ents); k++) {
                    size_t el = strlen(ents[k].ent);
                    if (i + el <= vl && memcmp(v + i, ents[k].ent, el) == 0) {
                        ph_buf_putc(&b, ents[k].ch);
                        i += el;
                        break;
                    }
                }
                if (k == PH_COUNTOF(ents))
                    ph_buf_putc(&b, v[i++]);
            }
            ph_buf_putc(&b, '\0');
            return ph_buf_status(&b) < 0 ? NULL : b.ptr;
        }
        p = end;
    }
    return NULL;
}

/* ---- throwaway database --------------------------------------------------- */

int ph_test_db_create(ph_test_db *db, const ph_model *const *models, size_t nmodels, char *err,
                      size_t errlen)
{
    memset(db, 0, sizeof(*db));
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 400)
        tmp = "/tmp";
    snprintf(db->dir, sizeof(db->dir), "%s/phial-test-XXXXXX", tmp);
    if (!mkdtemp(db->dir)) {
        snprintf(err, errlen, "cannot make a folder under %s", tmp);
        db->dir[0] = '\0';
        return PH_EIO;
    }
    snprintf(db->path, sizeof(db->path), "%s/test.db", db->dir);
    snprintf(db->url, sizeof(db->url), "sqlite:///%s", db->path);
    ph_db *h = NULL;
    int rc = ph_db_open(&(ph_db_config){.url = db->url}, &h, err, errlen);
    ph_db_conn *conn = rc == 0 ? ph_db_conn_new(h) : NULL;
    if (rc == 0 && !conn)
        rc = PH_ENOMEM;
    if (rc == 0 && nmodels && (rc = ph_orm_create_all(conn, models, nmodels)) < 0)
        snprintf(err, errlen, "creating the tables: %s", ph_db_errmsg(conn));
    ph_db_conn_free(conn);
    ph_db_close(h);
    if (rc < 0)
        ph_test_db_destroy(db);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void ph_test_db_destroy(ph_test_db *db)
{
    if (db->dir[0])
        nftw(db->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    memset(db, 0, sizeof(*db));
}
