/*
 * The benchmark routes.  The TechEmpower Framework Benchmarks test types
 * under the Flask peer's paths and following the published rules: /json,
 * /plaintext, /db, /queries?queries=N, /fortunes and /updates?queries=N
 * over the World and Fortune tables (N is clamped to 1..500; a missing or
 * malformed N counts as 1).  And, where the application's own pages differ
 * from the peer's (navigation, a handler's profile), the peer's pages served
 * byte for byte from the same queries: /bench/users and
 * /bench/handlers/<id>, templates in templates/bench/, and the peer's
 * answer to a comment (POST /bench/pets/<id>/comments).  The bodies are the
 * bytes the peer sends (Flask's jsonify: compact JSON with sorted keys and a
 * final newline), so a benchmark compares frameworks, not pages.
 */
#include "views.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { WORLD_ROWS = 10000, MAX_QUERIES = 500 };

/* Random numbers: splitmix64, one state per thread seeded once from
 * libsodium (whose every call is a getrandom system call: one a request
 * was an eighth of /db's system calls); the ids need no cryptographic
 * strength.  A request copies the thread's state and gives it back. */
typedef struct rng {
    uint64_t s;
} rng;

static _Thread_local uint64_t thread_rng;
static _Thread_local bool thread_rng_seeded;

static void rng_seed(rng *r)
{
    if (!thread_rng_seeded) {
        randombytes_buf(&thread_rng, sizeof(thread_rng));
        thread_rng_seeded = true;
    }
    r->s = thread_rng;
}

static void rng_done(const rng *r)
{
    thread_rng = r->s;
}

/* A random World id in 1..10000 (the modulo bias of 2^64 % 10000 is
 * below 1e-15). */
static int64_t random_world_id(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (int64_t)(z % WORLD_ROWS) + 1;
}

/* The `queries` argument as the rules say: 1 when missing or not an
 * integer ("", "abc", "1.5", "0x10"), clamped to 1..500 otherwise (also
 * when it overflows).  Blanks around the number are allowed, as Python's
 * int() allows them. */
static int query_count(const ph_request *req)
{
    const char *s = ph_req_arg(req, "queries");
    if (!s)
        return 1;
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return 1;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v <= MAX_QUERIES)
            v = v * 10 + (*s - '0');
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s)
        return 1;
    if (neg || v < 1)
        return 1;
    return v > MAX_QUERIES ? MAX_QUERIES : (int)v;
}

/* Sends b as an application/json 200, or its allocation failure. */
static int send_json(ph_response *res, const ph_buf *b)
{
    int rc = ph_buf_status(b);
    if (rc == 0)
        rc = ph_res_body(res, b->ptr, b->len);
    if (rc == 0)
        rc = ph_res_content_type(res, "application/json");
    res->status = 200;
    return rc;
}

/* {"id":N,"randomNumber":M}, as the peer's World.serialize() through jsonify. */
static void put_world(ph_buf *b, const World *w)
{
    ph_buf_puts(b, "{\"id\":");
    ph_buf_put_i64(b, w->id);
    ph_buf_puts(b, ",\"randomNumber\":");
    ph_buf_put_i64(b, w->randomnumber);
    ph_buf_putc(b, '}');
}

static int json_view(ph_request *req, ph_response *res)
{
    (void)req;
    static const char body[] = "{\"message\":\"Hello, World!\"}\n";
    int rc = ph_res_body(res, body, sizeof(body) - 1);
    if (rc == 0)
        rc = ph_res_content_type(res, "application/json");
    res->status = 200;
    return rc;
}

static int plaintext_view(ph_request *req, ph_response *res)
{
    (void)req;
    static const char body[] = "Hello, World!";
    int rc = ph_res_body(res, body, sizeof(body) - 1);
    if (rc == 0)
        rc = ph_res_content_type(res, "text/plain");
    res->status = 200;
    return rc;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Loads n random Worlds into out.  For updates the ids are distinct (as
 * the peer's random.sample) and in ascending order: the session writes them
 * in the order they were loaded, and concurrent transactions that lock rows
 * in one order cannot deadlock (PostgreSQL answered some with 40P01).
 * 0 or a PH_E* code. */
static int load_worlds(ph_session *db, rng *r, int n, bool for_update, World **out)
{
    int64_t ids[MAX_QUERIES];
    for (int i = 0; i < n; i++) {
        bool again;
        do {
            ids[i] = random_world_id(r);
            again = false;
            for (int j = 0; for_update && j < i; j++)
                again = again || ids[j] == ids[i];
        } while (again);
    }
    if (for_update)
        qsort(ids, (size_t)n, sizeof ids[0], id_cmp);
    for (int i = 0; i < n; i++) {
        int rc = ph_session_get(db, &World_model, ids[i], &out[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int db_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    World *w;
    rng r;
    if (!db)
        return PH_ENOMEM;
    rng_seed(&r);
    int rc = load_worlds(db, &r, 1, false, &w);
    rng_done(&r);
    if (rc < 0)
        return rc;
    ph_buf b;
    ph_buf_init(&b, req->arena);
    put_world(&b, w);
    ph_buf_putc(&b, '\n');
    return send_json(res, &b);
}

/* /queries and /updates: n Worlds as a JSON array; /updates gives each a
 * new random number and commits them in one transaction before answering. */
static int worlds_view(ph_request *req, ph_response *res, bool update)
{
    ph_session *db = ph_req_db(req);
    int n = query_count(req);
    World **w = ph_arena_alloc(req->arena, (size_t)n * sizeof *w);
    rng r;
    if (!db || !w)
        return PH_ENOMEM;
    rng_seed(&r);
    int rc = load_worlds(db, &r, n, update, w);
    if (rc >= 0 && update)
        for (int i = 0; i < n; i++)
            w[i]->randomnumber = random_world_id(&r);
    rng_done(&r);
    if (rc < 0)
        return rc;
    if (update) {
        if ((rc = ph_session_commit(db)) < 0)
            return rc;
    }
    ph_buf b;
    ph_buf_init(&b, req->arena);
    ph_buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            ph_buf_putc(&b, ',');
        put_world(&b, w[i]);
    }
    ph_buf_puts(&b, "]\n");
    return send_json(res, &b);
}

static int queries_view(ph_request *req, ph_response *res)
{
    return worlds_view(req, res, false);
}

static int updates_view(ph_request *req, ph_response *res)
{
    return worlds_view(req, res, true);
}

static int fortune_cmp(const void *a, const void *b)
{
    return strcmp((*(Fortune *const *)a)->message, (*(Fortune *const *)b)->message);
}

/* Every fortune plus one made at request time, sorted by message in code
 * (byte order of UTF-8 is code point order, as Python sorts), escaped by
 * the template. */
static int fortunes_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &Fortune_model) : NULL;
    if (!q)
        return PH_ENOMEM;
    Fortune **rows;
    size_t n;
    int rc = ph_query_all(q, &rows, &n);
    if (rc < 0)
        return rc;
    Fortune **all = ph_arena_alloc(req->arena, (n + 1) * sizeof *all);
    Fortune *extra = PH_ARENA_NEW(req->arena, Fortune);
    if (!all || !extra)
        return PH_ENOMEM;
    if (n)
        memcpy(all, rows, n * sizeof *all);
    extra->id = 0;
    extra->message = "Additional fortune added at request time.";
    all[n++] = extra;
    qsort(all, n, sizeof *all, fortune_cmp);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_models(ctx, "fortunes", &Fortune_model, (void *const *)all, n) < 0)
        return PH_ENOMEM;
    return ph_render(req, res, "bench/fortunes.html", ctx);
}

/* The peer's /users page: every user by id (one query). */
static int bench_users_view(ph_request *req, ph_response *res)
{
    ph_session *db = ph_req_db(req);
    ph_query *q = db ? ph_query_new(db, &User_model) : NULL;
    if (!q)
        return PH_ENOMEM;
    User **users;
    size_t n;
    int rc = ph_query_all(ph_query_order_by(q, "id", PH_ASC), &users, &n);
    if (rc < 0)
        return rc;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_models(ctx, "users", &User_model, (void *const *)users, n) < 0)
        return PH_ENOMEM;
    return ph_render(req, res, "bench/users.html", ctx);
}

/* The peer's /handlers/<id> page: the handler, then its pets read lazily
 * by the template (two queries); 404 for an unknown handler. */
static int bench_handler_view(ph_request *req, ph_response *res)
{
    PetHandler *h;
    int rc = app_get_or_404(req, res, &PetHandler_model, "handler_id", &h);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(req->arena);
    if (!ctx || ph_tpl_ctx_set_model(ctx, "handler", &PetHandler_model, h) < 0)
        return PH_ENOMEM;
    return ph_render(req, res, "bench/handler.html", ctx);
}

/* The peer's comment post: the pet or 404, the comment stored under its
 * key (400 without the field), committed, then "Comment added" with 201.
 * The app's own route answers with a redirect and a flash instead.  The
 * CSRF token is checked here as on every form post of the app. */
static int bench_comment_view(ph_request *req, ph_response *res)
{
    PetCategory *pet;
    int rc = app_get_or_404(req, res, &PetCategory_model, "pet_id", &pet);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    ph_session *db = ph_req_db(req);
    const char *text = ph_req_form(req, "comment_content");
    if (!text)
        return ph_abort(res, 400);
    PetComment *c = PH_ARENA_NEW(req->arena, PetComment);
    if (!c)
        return PH_ENOMEM;
    c->comment_content = text;
    c->pet_id = pet->pet_id;
    if ((rc = ph_session_add(db, &PetComment_model, c)) < 0 || (rc = ph_session_commit(db)) < 0)
        return rc;
    return ph_html(res, 201, "Comment added");
}

int app_techempower_register(ph_app *app)
{
    static const struct {
        const char *pattern, *name;
        ph_handler fn;
    } routes[] = {
        {"/json", "tfb_json", json_view},
        {"/plaintext", "tfb_plaintext", plaintext_view},
        {"/db", "tfb_db", db_view},
        {"/queries", "tfb_queries", queries_view},
        {"/fortunes", "tfb_fortunes", fortunes_view},
        {"/updates", "tfb_updates", updates_view},
        {"/bench/users", "bench_users", bench_users_view},
        {"/bench/handlers/<int:handler_id>", "bench_handler", bench_handler_view},
    };
    for (size_t i = 0; i < PH_COUNTOF(routes); i++) {
        int rc = ph_app_route(app, PH_GET, routes[i].pattern, routes[i].name, routes[i].fn);
        if (rc < 0)
            return rc;
    }
    /* no database, nothing to wait for: answered on the event loop */
    int rc = ph_app_route_inline(app, "tfb_json");
    if (rc == 0)
        rc = ph_app_route_inline(app, "tfb_plaintext");
    /* reads and renders only (/updates writes: after the loop turn) */
    static const char *const reads[] = {"tfb_db", "tfb_queries", "tfb_fortunes", "bench_users",
                                        "bench_handler"};
    for (size_t i = 0; rc == 0 && i < PH_COUNTOF(reads); i++)
        rc = ph_app_route_inline_reads(app, reads[i]);
    if (rc < 0)
        return rc;
    return ph_app_route(app, PH_POST, "/bench/pets/<int:pet_id>/comments", "bench_comment",
                        bench_comment_view);
}
