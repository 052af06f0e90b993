/*
 * Unit tests of src/http/request.c and src/http/response.c: building a
 * request (path decoding, query, headers, cookies, body parsing and its
 * error statuses) and a response (headers, cookies with every attribute,
 * redirects, bodies from memory and files).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "phial/http.h"
#include "test.h"

static void test_request_basics(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_request *req = ph_req_new(a, NULL, "GET", "/pets/a%20b/%C3%A9?x=1&x=2&q=a+b");
    CHECK(req != NULL);
    CHECK_STR(req->method, "GET");
    CHECK_STR(req->path, "/pets/a b/\xc3\xa9");
    CHECK_STR(req->raw_path, "/pets/a%20b/%C3%A9");
    CHECK_STR(req->query, "x=1&x=2&q=a+b");
    CHECK_STR(ph_req_arg(req, "x"), "1");
    CHECK_INT(ph_params_count(&req->args, "x"), 2);
    CHECK_STR(ph_req_arg(req, "q"), "a b");
    CHECK_INT(req->bad_status, 0);
    /* '+' in a path is a plus */
    req = ph_req_new(a, NULL, "GET", "/a+b%00c");
    CHECK_STR(req->path, "/a+b");
    CHECK_INT(req->path_len, 6);
    req = ph_req_new(a, NULL, "GET", "/");
    CHECK_STR(req->query, "");
    CHECK_INT(req->args.len, 0);
    ph_arena_free(a);
}

static void test_request_headers_cookies(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_request *req = ph_req_new(a, NULL, "POST", "/");
    CHECK_INT(ph_req_add_header(req, "Content-Type", "text/plain"), 0);
    CHECK_INT(ph_req_add_header(req, "X-Thing", "1"), 0);
    CHECK_INT(ph_req_add_header(req, "cookie", "a=1; b=\"two\""), 0);
    CHECK_STR(ph_req_header(req, "content-type"), "text/plain");
    CHECK_STR(ph_req_header(req, "X-THING"), "1");
    CHECK(ph_req_header(req, "X-Other") == NULL);
    CHECK_STR(ph_req_cookie(req, "a"), "1");
    CHECK_STR(ph_req_cookie(req, "b"), "two");
    CHECK(ph_req_cookie(req, "c") == NULL);
    ph_arena_free(a);
}

static ph_request *with_body(ph_arena *a, const char *ct, const char *body)
{
    ph_request *req = ph_req_new(a, NULL, "POST", "/submit");
    if (ct)
        ph_req_add_header(req, "Content-Type", ct);
    ph_req_set_body(req, body, strlen(body));
    ph_req_parse_body(req, 5);
    return req;
}

static void test_request_body(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_request *req = with_body(a, "application/x-www-form-urlencoded; charset=utf-8",
                                "username=bob&user_email=bob%40x.org&pw=a+b");
    CHECK_INT(req->bad_status, 0);
    CHECK_STR(ph_req_form(req, "username"), "bob");
    CHECK_STR(ph_req_form(req, "user_email"), "bob@x.org");
    CHECK_STR(ph_req_form(req, "pw"), "a b");
    CHECK_INT(req->body.len, strlen("username=bob&user_email=bob%40x.org&pw=a+b"));

    req = with_body(a, "multipart/form-data; boundary=b",
                    "--b\r\nContent-Disposition: form-data; name=\"up\"; filename=\"f.txt\"\r\n"
                    "Content-Type: text/plain\r\n\r\nhi\r\n--b--\r\n");
    CHECK_INT(req->bad_status, 0);
    const ph_upload *up = ph_req_file(req, "up");
    CHECK(up != NULL);
    if (up) {
        CHECK_STR(up->filename, "f.txt");
        CHECK_STR(up->data, "hi");
    }
    CHECK(ph_req_file(req, "other") == NULL);

    /* malformed multipart: 400; too many fields: 413 */
    req = with_body(a, "multipart/form-data; boundary=b", "--b\r\ntruncated");
    CHECK_INT(req->bad_status, 400);
    req = with_body(a, "multipart/form-data", "--b\r\n");
    CHECK_INT(req->bad_status, 400);
    req = with_body(a, "application/x-www-form-urlencoded", "a&b&c&d&e&f&g");
    CHECK_INT(req->bad_status, 413);
    /* other types are left raw */
    req = with_body(a, "application/json", "{\"a\":1}");
    CHECK_INT(req->bad_status, 0);
    CHECK_INT(req->form.len, 0);
    CHECK_STR(req->body.ptr, "{\"a\":1}");
    ph_arena_free(a);
}

static void test_request_param_int(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_request *req = ph_req_new(a, NULL, "GET", "/");
    ph_params_add(a, &req->params, "pet_id", "42", 2);
    ph_params_add(a, &req->params, "name", "x", 1);
    int64_t v = 0;
    CHECK_INT(ph_req_param_int(req, "pet_id", &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(ph_req_param_int(req, "name", &v), PH_EINVAL);
    CHECK_INT(ph_req_param_int(req, "none", &v), PH_ENOTFOUND);
    CHECK_STR(ph_req_param(req, "name"), "x");
    ph_arena_free(a);
}

static void test_response_headers(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_response res;
    CHECK_INT(ph_res_init(&res, a), 0);
    CHECK_INT(res.status, 0);
    CHECK_INT(ph_html(&res, 201, "made"), 0);
    CHECK_INT(res.status, 201);
    CHECK_STR(res.content_type, "text/html; charset=utf-8");
    CHECK_INT(res.body.len, 4);
    CHECK_INT(ph_res_header(&res, "X-A", "1"), 0);
    CHECK_INT(ph_res_header(&res, "x-a", "2"), 0); /* replaces */
    CHECK_STR(ph_res_header_get(&res, "X-A"), "2");
    CHECK_INT(res.nheaders, 1);
    CHECK_INT(ph_res_header_add(&res, "Link", "<a>"), 0);
    CHECK_INT(ph_res_header_add(&res, "Link", "<b>"), 0);
    CHECK_INT(res.nheaders, 3);
    /* header injection is refused */
    CHECK_INT(ph_res_header(&res, "X-Evil", "a\r\nSet-Cookie: x=1"), PH_EINVAL);
    CHECK_INT(ph_res_header(&res, "Bad Name", "v"), PH_EINVAL);
    CHECK_INT(ph_res_header(&res, "", "v"), PH_EINVAL);
    CHECK_INT(ph_res_header(&res, "Content-Type", "application/json"), 0);
    CHECK_STR(ph_res_header_get(&res, "content-type"), "application/json");
    CHECK_INT(ph_plain(&res, 200, "x"), 0);
    CHECK_STR(res.content_type, "text/plain; charset=utf-8");
    ph_arena_free(a); /* frees the heap body through the cleanup hook */
}

static void test_response_cookies(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_response res;
    ph_res_init(&res, a);
    ph_cookie c = {.name = "session",
                   .value = "abc",
                   .max_age = 3600,
                   .expires = 784111777,
                   .path = "/",
                   .domain = "example.org",
                   .secure = true,
                   .http_only = true,
                   .same_site = PH_SAMESITE_LAX};
    CHECK_INT(ph_res_set_cookie(&res, &c), 0);
    CHECK_STR(ph_res_header_get(&res, "Set-Cookie"),
              "session=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
              "Domain=example.org; Secure; HttpOnly; Path=/; SameSite=Lax");
    ph_cookie s = {.name = "theme", .value = "dark", .max_age = -1};
    CHECK_INT(ph_res_set_cookie(&res, &s), 0);
    CHECK_INT(res.nheaders, 2); /* Set-Cookie accumulates */
    CHECK_STR(res.headers[1].value, "theme=dark");
    ph_cookie strict = {.name = "x", .value = "", .max_age = -1, .same_site = PH_SAMESITE_STRICT};
    CHECK_INT(ph_res_set_cookie(&res, &strict), 0);
    CHECK_STR(res.headers[2].value, "x=; SameSite=Strict");
    CHECK_INT(ph_res_delete_cookie(&res, "session", NULL), 0);
    CHECK_STR(res.headers[3].value,
              "session=; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; Path=/");
    ph_cookie bad1 = {.name = "a b", .value = "v", .max_age = -1};
    ph_cookie bad2 = {.name = "a", .value = "v;w", .max_age = -1};
    ph_cookie bad3 = {.name = "a", .value = "v", .max_age = -1, .path = "/\r\nX: y"};
    ph_cookie bad4 = {.name = "", .value = "v", .max_age = -1};
    CHECK_INT(ph_res_set_cookie(&res, &bad1), PH_EINVAL);
    CHECK_INT(ph_res_set_cookie(&res, &bad2), PH_EINVAL);
    CHECK_INT(ph_res_set_cookie(&res, &bad3), PH_EINVAL);
    CHECK_INT(ph_res_set_cookie(&res, &bad4), PH_EINVAL);
    ph_arena_free(a);
}

static void test_redirect(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_response res;
    ph_res_init(&res, a);
    CHECK_INT(ph_redirect(&res, "/pets?a=1&b=\"2\"", 302), 0);
    CHECK_INT(res.status, 302);
    CHECK_STR(ph_res_header_get(&res, "Location"), "/pets?a=1&b=\"2\"");
    CHECK_CONTAINS(res.body.ptr, "href=\"/pets?a=1&amp;b=&#34;2&#34;\"");
    CHECK_INT(ph_redirect(&res, "/x", 200), PH_EINVAL);
    CHECK_INT(ph_redirect(&res, "/x\r\nSet-Cookie: a=b", 302), PH_EINVAL);
    ph_arena_free(a);
}

static void test_response_file_and_abort(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_response res;
    ph_res_init(&res, a);
    char path[] = "/tmp/phial-test-file-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "12345", 5) == 5);
    close(fd);
    CHECK_INT(ph_res_file(&res, 200, path, "text/plain"), 0);
    CHECK(res.fd >= 0);
    CHECK_INT(res.file_size, 5);
    CHECK_STR(res.content_type, "text/plain");
    CHECK_INT(ph_res_file(&res, 200, "/nonexistent/x", NULL), PH_ENOTFOUND);
    CHECK_INT(ph_res_file(&res, 200, "/tmp", NULL), PH_ENOTFOUND);
    /* a body replaces the file (and closes it) */
    CHECK_INT(ph_html(&res, 200, "x"), 0);
    CHECK_INT(res.fd, -1);
    CHECK_INT(ph_res_file(&res, 200, path, NULL), 0);
    CHECK_INT(ph_abort(&res, 404), 0);
    CHECK(res.abort);
    CHECK_INT(res.status, 404);
    CHECK_INT(res.fd, -1);
    CHECK_INT(ph_res_file(&res, 200, path, NULL), 0); /* left open: the arena closes it */
    unlink(path);
    ph_arena_free(a);
}

int main(void)
{
    RUN(test_request_basics);
    RUN(test_request_headers_cookies);
    RUN(test_request_body);
    RUN(test_request_param_int);
    RUN(test_response_headers);
    RUN(test_response_cookies);
    RUN(test_redirect);
    RUN(test_response_file_and_abort);
    TEST_END();
}
