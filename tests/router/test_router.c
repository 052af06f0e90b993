/*
 * Unit tests of src/router/router.c: pattern compilation and its errors,
 * matching with converters (int, string, path, bare), 404 and 405 with the
 * allowed methods, HEAD on GET routes, and url_for with percent-encoding.
 */
#include <string.h>

#include "phial/router.h"
#include "test.h"

static int h_index(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return 0;
}

static int h_other(ph_request *req, ph_response *res)
{
    (void)req;
    (void)res;
    return 1;
}

static ph_router *make(void)
{
    ph_router *r = ph_router_new();
    char err[128];
    int rc = 0;
    rc |= ph_router_add(r, PH_GET, "/", "index", h_index, NULL, err, sizeof(err));
    rc |= ph_router_add(r, PH_GET | PH_POST, "/register", "register", h_other, NULL, err,
                        sizeof(err));
    rc |= ph_router_add(r, PH_GET, "/pets/<int:pet_id>", "pet", h_index, NULL, err, sizeof(err));
    rc |= ph_router_add(r, PH_POST | PH_DELETE, "/pets/<int:pet_id>", "pet_edit", h_other, NULL,
                        err, sizeof(err));
    rc |= ph_router_add(r, PH_GET, "/users/<name>/pets/<string:pet>", "user_pet", h_index, NULL,
                        err, sizeof(err));
    rc |= ph_router_add(r, PH_GET, "/files/<path:p>", "files", h_index, NULL, err, sizeof(err));
    rc |= ph_router_add(r, PH_GET, "/docs/<path:p>/edit", "doc_edit", h_index, NULL, err,
                        sizeof(err));
    rc |= ph_router_add(r, PH_GET, "/report/<name>.csv", "report", h_index, NULL, err, sizeof(err));
    CHECK_INT(rc, 0);
    return r;
}

static ph_match_result m(const ph_router *r, ph_arena *a, const char *method, const char *path,
                         ph_match *out)
{
    return ph_router_match(r, method, path, strlen(path), a, out);
}

static void test_static_routes(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    ph_match mt;
    CHECK_INT(m(r, a, "GET", "/", &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "index");
    CHECK_INT(mt.params.len, 0);
    CHECK_INT(m(r, a, "POST", "/register", &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "register");
    CHECK_INT(m(r, a, "GET", "/register/", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/nope", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "", &mt), PH_MATCH_NOT_FOUND);
    /* HEAD is answered by GET routes */
    CHECK_INT(m(r, a, "HEAD", "/", &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "index");
    ph_arena_free(a);
    ph_router_free(r);
}

static void test_converters(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    ph_match mt;
    CHECK_INT(m(r, a, "GET", "/pets/42", &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "pet");
    CHECK_STR(ph_params_get(&mt.params, "pet_id"), "42");
    CHECK_INT(m(r, a, "GET", "/pets/9223372036854775807", &mt), PH_MATCH_OK);
    /* not an int, negative, overflowing, empty: 404 as in Flask */
    CHECK_INT(m(r, a, "GET", "/pets/abc", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/pets/-1", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/pets/9223372036854775808", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/pets/99999999999999999999999", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/pets/", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/pets/4x", &mt), PH_MATCH_NOT_FOUND);
    /* string and bare: one segment */
    CHECK_INT(m(r, a, "GET", "/users/bob/pets/rex", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "name"), "bob");
    CHECK_STR(ph_params_get(&mt.params, "pet"), "rex");
    CHECK_INT(m(r, a, "GET", "/users/bob/x/pets/rex", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/users//pets/rex", &mt), PH_MATCH_NOT_FOUND);
    /* path: the rest, slashes included */
    CHECK_INT(m(r, a, "GET", "/files/a/b/c.txt", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "p"), "a/b/c.txt");
    CHECK_INT(m(r, a, "GET", "/files/", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/docs/x/y/edit", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "p"), "x/y");
    /* a string followed by a literal in the same segment */
    CHECK_INT(m(r, a, "GET", "/report/june.csv", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "name"), "june");
    /* a NUL byte never matches a parameter */
    ph_match_result res = ph_router_match(r, "GET", "/files/a\0b", 10, a, &mt);
    CHECK_INT(res, PH_MATCH_NOT_FOUND);
    ph_arena_free(a);
    ph_router_free(r);
}

static void test_405(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    ph_match mt;
    CHECK_INT(m(r, a, "PUT", "/", &mt), PH_MATCH_METHOD_NOT_ALLOWED);
    ph_buf b;
    ph_buf_init(&b, a);
    ph_method_list(mt.allowed, &b);
    CHECK_STR(b.ptr, "GET, HEAD, OPTIONS");
    /* methods of every route with that path are allowed */
    CHECK_INT(m(r, a, "PATCH", "/pets/3", &mt), PH_MATCH_METHOD_NOT_ALLOWED);
    ph_buf_clear(&b);
    ph_method_list(mt.allowed, &b);
    CHECK_STR(b.ptr, "GET, HEAD, POST, DELETE, OPTIONS");
    CHECK_INT(m(r, a, "DELETE", "/pets/3", &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "pet_edit");
    /* an unknown method on a known path is a 405 too */
    CHECK_INT(m(r, a, "BREW", "/", &mt), PH_MATCH_METHOD_NOT_ALLOWED);
    CHECK_INT(m(r, a, "OPTIONS", "/register", &mt), PH_MATCH_METHOD_NOT_ALLOWED);
    ph_arena_free(a);
    ph_router_free(r);
}

static void test_bad_patterns(void)
{
    ph_router *r = ph_router_new();
    char err[128] = "";
    CHECK_INT(ph_router_add(r, 0, "/a/<int:id", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_CONTAINS(err, "unclosed");
    CHECK_INT(ph_router_add(r, 0, "/a/<float:x>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_CONTAINS(err, "converter");
    CHECK_INT(ph_router_add(r, 0, "/a/<x>/<x>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "/a/<x><y>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "/a/<1x>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "/a/<>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "/a/x>", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "a", "a", h_index, NULL, err, sizeof(err)), PH_EPARSE);
    CHECK_INT(ph_router_add(r, 0, "/a", "a", NULL, NULL, err, sizeof(err)), PH_EINVAL);
    CHECK_INT(ph_router_add(r, 0, "/a", "a", h_index, NULL, NULL, 0), 0);
    CHECK_INT(ph_router_add(r, 0, "/b", "a", h_index, NULL, err, sizeof(err)), PH_EEXISTS);
    CHECK_INT(ph_router_add(r, 0, "/c", NULL, h_index, NULL, err, sizeof(err)), 0);
    CHECK_INT(ph_router_count(r), 2);
    CHECK_INT(ph_router_route(r, 0)->methods, PH_GET | PH_HEAD);
    CHECK(ph_router_route(r, 2) == NULL);
    ph_router_free(r);
}

static void test_url_for(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(ph_router_url_for(r, a, "index", NULL), "/");
    CHECK_STR(ph_router_url_for(r, a, "pet", "pet_id", "3", NULL), "/pets/3");
    CHECK(ph_router_url_for(r, a, "pet", "pet_id", "x", NULL) == NULL);
    CHECK(ph_router_url_for(r, a, "pet", NULL) == NULL);
    CHECK(ph_router_url_for(r, a, "nope", NULL) == NULL);
    CHECK_STR(ph_router_url_for(r, a, "user_pet", "name", "a b/c", "pet", "é", NULL),
              "/users/a%20b%2Fc/pets/%C3%A9");
    CHECK_STR(ph_router_url_for(r, a, "files", "p", "dir/my file.txt", NULL),
              "/files/dir/my%20file.txt");
    /* extra pairs become the query string */
    CHECK_STR(ph_router_url_for(r, a, "pet", "pet_id", "3", "page", "2", "q", "a&b", NULL),
              "/pets/3?page=2&q=a%26b");
    CHECK_STR(ph_router_url_for(r, a, "index", "next", "/x", NULL), "/?next=%2Fx");
    /* the URL routes back to the same parameters */
    char *url = ph_router_url_for(r, a, "user_pet", "name", "bob", "pet", "rex", NULL);
    ph_match mt;
    CHECK_INT(m(r, a, "GET", url, &mt), PH_MATCH_OK);
    CHECK_STR(mt.route->name, "user_pet");
    ph_arena_free(a);
    ph_router_free(r);
}

static void test_methods(void)
{
    CHECK_INT(ph_method_bit("GET"), PH_GET);
    CHECK_INT(ph_method_bit("OPTIONS"), PH_OPTIONS);
    CHECK_INT(ph_method_bit("get"), 0);
    CHECK_INT(ph_method_bit("BREW"), 0);
}

/* A parameter followed by a literal takes the longest run that lets the
 * rest match, as werkzeug's rules do. */
static void test_parameter_then_literal(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    ph_match mt;
    char err[256];
    CHECK_INT(ph_router_add(r, PH_GET, "/data/<name>.json", "file", h_index, NULL, err,
                            sizeof(err)),
              0);
    CHECK_INT(ph_router_add(r, PH_GET, "/span/<a>-<b>", "span", h_index, NULL, err, sizeof(err)),
              0);
    CHECK_INT(ph_router_add(r, PH_GET, "/span3/<a>-<b>-<c>.x", "span3", h_index, NULL, err,
                            sizeof(err)),
              0);
    CHECK_INT(ph_router_add(r, PH_GET, "/v/<int:major>.<int:minor>", "ver", h_index, NULL, err,
                            sizeof(err)),
              0);
    CHECK_INT(m(r, a, "GET", "/data/report.v2.json", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "name"), "report.v2");
    CHECK_INT(m(r, a, "GET", "/data/.json", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/data/a/b.json", &mt), PH_MATCH_NOT_FOUND);
    CHECK_INT(m(r, a, "GET", "/report/q1.2026.csv", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "name"), "q1.2026");
    CHECK_INT(m(r, a, "GET", "/span/a-b-c", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "a"), "a-b");
    CHECK_STR(ph_params_get(&mt.params, "b"), "c");
    CHECK_INT(m(r, a, "GET", "/span3/a-b-c.x", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "c"), "c");
    CHECK_INT(m(r, a, "GET", "/v/10.2", &mt), PH_MATCH_OK);
    CHECK_STR(ph_params_get(&mt.params, "major"), "10");
    CHECK_INT(m(r, a, "GET", "/v/1.x", &mt), PH_MATCH_NOT_FOUND);
    /* a path made to make a backtracking matcher work hard gets its answer
       after a bounded number of steps */
    char *hostile = calloc(1, 8100);
    if (hostile) {
        memcpy(hostile, "/span3/", 7);
        memset(hostile + 7, '-', 8000);
        CHECK_INT(m(r, a, "GET", hostile, &mt), PH_MATCH_NOT_FOUND);
        free(hostile);
    }
    ph_arena_free(a);
    ph_router_free(r);
}

/* Out of memory while copying parameters is not a 404. */
static void test_match_out_of_memory(void)
{
    ph_router *r = make();
    ph_arena *a = ph_arena_new(0);
    ph_match mt;
    ph_arena_set_limit(a, 1);
    CHECK_INT(m(r, a, "GET", "/pets/12", &mt), PH_MATCH_NOMEM);
    ph_arena_set_limit(a, 0);
    CHECK_INT(m(r, a, "GET", "/pets/12", &mt), PH_MATCH_OK);
    ph_arena_free(a);
    ph_router_free(r);
}

int main(void)
{
    RUN(test_parameter_then_literal);
    RUN(test_match_out_of_memory);
    RUN(test_static_routes);
    RUN(test_converters);
    RUN(test_405);
    RUN(test_bad_patterns);
    RUN(test_url_for);
    RUN(test_methods);
    TEST_END();
}
