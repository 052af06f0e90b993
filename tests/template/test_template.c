/*
 * Unit tests for src/template: syntax errors with file:line:col, value
 * helpers (float repr, dates, JSON), model objects read through their
 * descriptor (every column type, relationship lists and pointers, the lazy
 * loader callback), registered globals, strict mode, runtime errors,
 * loading a folder, debug reloads, hostile nesting, imported macros and
 * globals, errors of the newer syntax, and concurrent renders.
 */
#include "phial/template.h"
#include "test.h"

#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Renders src (named name) with ctx; returns the output or "ERR:<msg>". */
static const char *render_opts(ph_arena *a, const char *name, const char *src, ph_tpl_ctx *ctx,
                               const ph_tpl_render_opts *opts)
{
    char err[512];
    ph_tpl_set *set = ph_tpl_set_new();
    int rc = ph_tpl_set_add_string(set, name, src, strlen(src), -1, err, sizeof err);
    const char *res;
    if (rc < 0) {
        res = ph_arena_sprintf(a, "ERR:%s", err);
    } else {
        ph_buf b;
        ph_buf_init(&b, a);
        const char *msg = NULL;
        rc = ph_tpl_render(set, name, ctx, opts, a, &b, &msg);
        res = rc < 0 ? ph_arena_sprintf(a, "ERR:%s", msg ? msg : "?") : (b.ptr ? b.ptr : "");
    }
    ph_tpl_set_free(set);
    return res;
}

static const char *render(ph_arena *a, const char *src, ph_tpl_ctx *ctx)
{
    return render_opts(a, "t.html", src, ctx, NULL);
}

/* ---- syntax errors ---- */

static void test_syntax_error_positions(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(render(a, "ab\ncd {{ 1 + }}", NULL), "ERR:t.html:2:11: unexpected '}}'");
    CHECK_STR(render(a, "{% if x %}\n  abc", NULL),
              "ERR:t.html:2:6: unexpected end of template, expected 'elif'");
    CHECK_STR(render(a, "x\n\n  {% frob %}", NULL),
              "ERR:t.html:3:6: encountered unknown tag 'frob'");
    CHECK_STR(render(a, "{{ x|nope }}", NULL), "ERR:t.html:1:6: no filter named 'nope'");
    CHECK_STR(render(a, "{{ x is nope }}", NULL), "ERR:t.html:1:9: no test named 'nope'");
    CHECK_STR(render(a, "{{ 'abc }}", NULL), "ERR:t.html:1:4: unterminated string");
    CHECK_STR(render(a, "a {# never closed", NULL), "ERR:t.html:1:3: missing end of comment tag");
    CHECK_STR(render(a, "{{ a $ b }}", NULL), "ERR:t.html:1:6: unexpected char '$'");
    CHECK_STR(render(a, "{% for x in y %}{% endif %}", NULL),
              "ERR:t.html:1:20: encountered unknown tag 'endif', expected 'else'");
    CHECK_STR(render(a, "{% block a %}{% endblock %}{% block a %}{% endblock %}", NULL),
              "ERR:t.html:1:37: block 'a' defined twice");
    CHECK_STR(render(a, "{{ x(1, a=2, 3) }}", NULL),
              "ERR:t.html:1:14: positional argument follows keyword argument");
    CHECK_STR(render(a, "{{ x|truncate(5, foo=1) }}", NULL),
              "ERR:t.html:1:6: 'truncate' got an unexpected keyword argument 'foo'");
    CHECK_STR(render(a, "{% raw %}abc", NULL), "ERR:t.html:1:1: missing end of raw directive");
    CHECK_STR(render(a, "{{ 99999999999999999999 }}", NULL),
              "ERR:t.html:1:4: integer literal too large");
    CHECK_STR(render(a, "{% if x %}{% extends 'b.html' %}{% endif %}", NULL),
              "ERR:t.html:1:14: extends is only supported at the top level");
    ph_arena_free(a);
}

static void test_deep_nesting_is_an_error(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_buf src;
    ph_buf_init(&src, a);
    for (int i = 0; i < 5000; i++)
        ph_buf_puts(&src, "{% if x %}");
    CHECK_CONTAINS(render(a, src.ptr, NULL), "nested too deeply");
    ph_buf_clear(&src);
    ph_buf_puts(&src, "{{ ");
    for (int i = 0; i < 1000; i++)
        ph_buf_puts(&src, "(");
    ph_buf_puts(&src, "1");
    for (int i = 0; i < 1000; i++)
        ph_buf_puts(&src, ")");
    ph_buf_puts(&src, " }}");
    CHECK_CONTAINS(render(a, src.ptr, NULL), "nested too deeply");
    ph_buf_clear(&src);
    ph_buf_puts(&src, "{{ 1");
    for (int i = 0; i < 20000; i++)
        ph_buf_puts(&src, "|abs");
    ph_buf_puts(&src, " }}");
    /* a long chain parses (it is not nesting) but evaluating it recurses */
    CHECK_STR(render(a, src.ptr, NULL), "ERR:t.html:1: maximum recursion depth exceeded");
    ph_buf_clear(&src);
    ph_buf_puts(&src, "{{ 1");
    for (int i = 0; i < 100; i++)
        ph_buf_puts(&src, "|abs");
    ph_buf_puts(&src, " }}");
    CHECK_STR(render(a, src.ptr, NULL), "1");
    CHECK_CONTAINS(render(a, "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", NULL),
                   "maximum recursion depth exceeded");
    /* values nested at run time (through a namespace) are bounded too */
    const char *nest = "{% set ns = namespace(x=1) %}{% for i in range(50000) %}"
                       "{% set ns.x = [ns.x] %}{% endfor %}";
    CHECK_STR(render(a, ph_arena_sprintf(a, "%s{{ ns.x == ns.x }}", nest), NULL), "False");
    CHECK_CONTAINS(render(a, ph_arena_sprintf(a, "%s{{ ns.x < ns.x }}", nest), NULL),
                   "nested too deeply");
    CHECK_CONTAINS(render(a, ph_arena_sprintf(a, "%s{{ ns.x }}", nest), NULL), "ERR:");
    CHECK_CONTAINS(render(a, ph_arena_sprintf(a, "%s{{ ns.x|tojson }}", nest), NULL), "ERR:");
    CHECK_CONTAINS(render(a, ph_arena_sprintf(a, "%s{{ ns.x in [ns.x] }}", nest), NULL), "False");
    ph_arena_free(a);
}

/* ---- values ---- */

static void test_float_repr(void)
{
    char b[64];
    static const struct {
        double v;
        const char *s;
    } cases[] = {{2.5, "2.5"},
                 {1.0, "1.0"},
                 {0.1, "0.1"},
                 {1e20, "1e+20"},
                 {1e16, "1e+16"},
                 {1e15, "1000000000000000.0"},
                 {0.0001, "0.0001"},
                 {1e-05, "1e-05"},
                 {-0.0, "-0.0"},
                 {0.30000000000000004, "0.30000000000000004"},
                 {123456.789, "123456.789"},
                 {1.5e-7, "1.5e-07"},
                 {-2.75, "-2.75"},
                 {1.7976931348623157e308, "1.7976931348623157e+308"}};
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        ph_tpl_format_float(cases[i].v, b, sizeof b);
        CHECK_STR(b, cases[i].s);
    }
}

static void test_json_context(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    char err[256];
    const char *j = "{\"n\": 3, \"f\": 2.0, \"s\": \"<x>\", \"l\": [1, [2]], \"m\": {\"k\": null}, "
                    "\"t\": true}";
    CHECK_INT(ph_tpl_ctx_set_json(ctx, j, strlen(j), err, sizeof err), 0);
    CHECK_STR(render(a, "{{ n }} {{ f }} {{ s }} {{ l }} {{ m.k }} {{ t }}", ctx),
              "3 2.0 &lt;x&gt; [1, [2]] None True");
    CHECK_INT(ph_tpl_ctx_set_json(ctx, "[1]", 3, err, sizeof err), PH_ETYPE);
    CHECK_INT(ph_tpl_ctx_set_json(ctx, "{\"a\":", 5, err, sizeof err), PH_EPARSE);
    ph_buf deep;
    ph_buf_init(&deep, a);
    ph_buf_puts(&deep, "{\"a\":");
    for (int i = 0; i < 500; i++)
        ph_buf_putc(&deep, '[');
    for (int i = 0; i < 500; i++)
        ph_buf_putc(&deep, ']');
    ph_buf_putc(&deep, '}');
    CHECK(ph_tpl_ctx_set_json(ctx, deep.ptr, deep.len, err, sizeof err) < 0);
    ph_arena_free(a);
}

static void test_ctx_builders(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    char name[] = "bob";
    CHECK_INT(ph_tpl_ctx_set_str(ctx, "name", name), 0);
    name[0] = 'X'; /* copied */
    ph_tpl_ctx_set_int(ctx, "i", -42);
    ph_tpl_ctx_set_float(ctx, "f", 0.5);
    ph_tpl_ctx_set_bool(ctx, "b", true);
    ph_tpl_ctx_set_none(ctx, "n");
    ph_tpl_ctx_set_safe(ctx, "h", "<b>x</b>");
    ph_value l = ph_tpl_list_new(a);
    ph_tpl_list_push(a, &l, ph_tpl_int(1));
    ph_tpl_list_push(a, &l, ph_tpl_str("two"));
    ph_value m = ph_tpl_map_new(a);
    ph_tpl_map_set_cstr(a, &m, "k", ph_tpl_str("v"));
    ph_tpl_map_set_cstr(a, &m, "k", ph_tpl_str("w")); /* replaces */
    ph_tpl_ctx_set(ctx, "l", l);
    ph_tpl_ctx_set(ctx, "m", m);
    CHECK_STR(render(a,
                     "{{ name }} {{ i }} {{ f }} {{ b }} {{ n }} {{ h }} {{ l|join('/') }} {{ m.k "
                     "}}{{ m|length }}",
                     ctx),
              "bob -42 0.5 True None <b>x</b> 1/two w1");
    ph_arena_free(a);
}

static void test_value_str_and_copy(void)
{
    ph_arena *a = ph_arena_new(0);
    ph_value l = ph_tpl_list_new(a);
    ph_tpl_list_push(a, &l, ph_tpl_str("it's"));
    ph_tpl_list_push(a, &l, ph_tpl_str("a\"b"));
    ph_tpl_list_push(a, &l, ph_tpl_float(1e22));
    ph_tpl_list_push(a, &l, ph_tpl_none());
    ph_tpl_list_push(a, &l, ph_tpl_bool(false));
    ph_value m = ph_tpl_map_new(a);
    ph_tpl_map_set(a, &m, ph_tpl_int(1), l);
    ph_buf b;
    ph_buf_init(&b, a);
    CHECK_INT(ph_tpl_value_str(&b, &m), 0);
    CHECK_STR(b.ptr, "{1: [\"it's\", 'a\"b', 1e+22, None, False]}");
    /* a deep copy survives the source arena */
    ph_arena *a2 = ph_arena_new(0);
    ph_value c;
    CHECK_INT(ph_tpl_value_copy(a2, &m, &c), 0);
    ph_arena_free(a);
    ph_buf_init(&b, a2);
    CHECK_INT(ph_tpl_value_str(&b, &c), 0);
    CHECK_STR(b.ptr, "{1: [\"it's\", 'a\"b', 1e+22, None, False]}");
    CHECK(ph_tpl_map_get(&c, PH_SLICE("x")) == NULL);
    ph_arena_free(a2);
}

static void test_lexer_details(void)
{
    ph_arena *a = ph_arena_new(0);
    /* "}}" inside a dict literal does not end the tag; "%}" in a string
       does not end a block; a "-" right before "}}" strips */
    CHECK_STR(render(a, "{{ {'a': {'b': 1}}['a']['b'] }}", NULL), "1");
    CHECK_STR(render(a, "{% set s = '%}' %}{{ s }}", NULL), "%}");
    CHECK_STR(render(a, "a {{ 1 -}}  b", NULL), "a 1b");
    CHECK_STR(render(a, "{{ 1_000 + 0.5e1 }} {{ 'a' 'b' }}", NULL), "1005.0 ab");
    CHECK_STR(render(a, "x\r\ny\r\n", NULL), "x\ny");
    CHECK_STR(render(a, "{# a #}{#- b -#} c", NULL), "c");
    CHECK_STR(render(a, "{% raw %}{{ x }}{% endraw %}", NULL), "{{ x }}");
    CHECK_STR(render(a, "", NULL), "");
    CHECK_STR(render(a, "{", NULL), "{");
    CHECK_STR(render(a, "{{ '\\n'|length }}", NULL), "1");
    ph_arena_free(a);
}

/* ---- models ---- */

typedef struct Owner Owner;
typedef struct Pet {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_int64_opt owner_id;
    Owner *owner;
} Pet;

struct Owner {
    ph_obj _ph;
    int64_t id;
    const char *username;
    ph_int64_opt age;
    double score;
    ph_double_opt weight;
    bool active;
    ph_bool_opt verified;
    ph_datetime created;
    ph_datetime_opt seen;
    ph_date born;
    ph_date_opt died;
    const char *bio;
    ph_bytes avatar;
    ph_list pets;
    Pet *best;
};

static const ph_model *pet_model(void);
static const ph_model *owner_model(void);

static const ph_column Pet_columns[] = {
    PH_INTEGER(Pet, id, PH_PK),
    PH_STRING(Pet, name, 50, PH_NOT_NULL),
    PH_INTEGER(Pet, owner_id, 0, .foreign_key = "owner.id"),
};
static const ph_relationship Pet_rels[] = {
    {.name = "owner",
     .kind = PH_REL_MANY_TO_ONE,
     .offset = offsetof(Pet, owner),
     .target = owner_model,
     .local_column = "owner_id"},
};
static const ph_model Pet_model = PH_MODEL_RELS(Pet, "pet", Pet_columns, Pet_rels);

static const ph_column Owner_columns[] = {
    PH_INTEGER(Owner, id, PH_PK),   PH_STRING(Owner, username, 100, PH_NOT_NULL),
    PH_INTEGER(Owner, age, 0),      PH_FLOAT(Owner, score, PH_NOT_NULL),
    PH_FLOAT(Owner, weight, 0),     PH_BOOLEAN(Owner, active, PH_NOT_NULL),
    PH_BOOLEAN(Owner, verified, 0), PH_DATETIME(Owner, created, PH_NOT_NULL),
    PH_DATETIME(Owner, seen, 0),    PH_DATE(Owner, born, PH_NOT_NULL),
    PH_DATE(Owner, died, 0),        PH_TEXT(Owner, bio, 0),
    PH_BINARY(Owner, avatar, 0),
};
static const ph_relationship Owner_rels[] = {
    {.name = "pets",
     .kind = PH_REL_ONE_TO_MANY,
     .offset = offsetof(Owner, pets),
     .target = pet_model,
     .remote_column = "owner_id"},
    {.name = "best",
     .kind = PH_REL_ONE_TO_ONE,
     .offset = offsetof(Owner, best),
     .target = pet_model,
     .remote_column = "owner_id"},
};
static const ph_model Owner_model = PH_MODEL_RELS(Owner, "owner", Owner_columns, Owner_rels);

static const ph_model *pet_model(void)
{
    return &Pet_model;
}
static const ph_model *owner_model(void)
{
    return &Owner_model;
}

typedef struct loader_state {
    int calls;
    Pet *pets[2];
    Owner *owner;
} loader_state;

static int fake_loader(void *ud, const ph_model *m, void *obj, const ph_relationship *rel)
{
    loader_state *st = ud;
    st->calls++;
    if (m == &Owner_model && strcmp(rel->name, "pets") == 0) {
        Owner *o = obj;
        o->pets.items = (void **)st->pets;
        o->pets.len = 2;
        o->pets.loaded = true;
        return 0;
    }
    if (m == &Pet_model && strcmp(rel->name, "owner") == 0) {
        ((Pet *)obj)->owner = st->owner;
        return 0;
    }
    if (strcmp(rel->name, "best") == 0)
        return 0; /* nothing there */
    return PH_EDB;
}

static void test_model_fields(void)
{
    ph_arena *a = ph_arena_new(0);
    Owner o = {.id = 7,
               .username = "ann<",
               .age = {0},
               .score = 2.5,
               .weight = {.v = 61.0, .set = true},
               .active = true,
               .verified = {0},
               .created = {.usec = 1700000000123456LL},
               .seen = {.set = false},
               .born = {.days = 19000},
               .died = {.set = false},
               .bio = NULL,
               .avatar = {(uint8_t *)"img", 3}};
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    ph_tpl_ctx_set_model(ctx, "user", &Owner_model, &o);
    CHECK_STR(render(a,
                     "{{ user.id }}|{{ user.username }}|{{ user.age }}|{{ user.score }}|"
                     "{{ user.weight }}|{{ user.active }}|{{ user.verified }}|"
                     "{{ user.created }}|{{ user.seen }}|{{ user.born }}|{{ user.died }}|"
                     "{{ user.bio }}|{{ user.avatar }}|[{{ user.nope }}]|{{ user }}",
                     ctx),
              "7|ann&lt;|None|2.5|61.0|True|None|2023-11-14 22:13:20.123456|None|2022-01-08|"
              "None|None|img|[]|&lt;Owner 7&gt;");
    o.age = (ph_int64_opt){.v = 30, .set = true};
    o.created.usec = 0;
    o.born.days = -1;
    CHECK_STR(render(a,
                     "{{ user.age + 1 }} {{ user.created }} {{ user.born }} "
                     "{{ user.age is none }} {{ user['username']|upper }}",
                     ctx),
              "31 1970-01-01 00:00:00 1969-12-31 False ANN&lt;");
    ph_arena_free(a);
}

static void test_model_relationships_and_loader(void)
{
    ph_arena *a = ph_arena_new(0);
    Owner o = {.id = 1, .username = "ann"};
    Pet p1 = {.id = 10, .name = "Rex", .owner_id = {.v = 1, .set = true}};
    Pet p2 = {.id = 11, .name = "Tom", .owner_id = {.v = 1, .set = true}};
    Pet stray = {.id = 12, .name = "Stray", .owner_id = {0}};
    loader_state st = {.pets = {&p1, &p2}, .owner = &o};
    ph_tpl_render_opts opts = {.load_relationship = fake_loader, .userdata = &st};
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    ph_tpl_ctx_set_model(ctx, "o", &Owner_model, &o);
    ph_tpl_ctx_set_model(ctx, "p", &Pet_model, &p1);
    ph_tpl_ctx_set_model(ctx, "stray", &Pet_model, &stray);
    /* without a loader: empty / none */
    CHECK_STR(render(a,
                     "[{% for x in o.pets %}{{ x.name }}{% else %}none{% endfor %}]"
                     "[{{ p.owner }}][{{ o.pets|length }}]",
                     ctx),
              "[none][None][0]");
    /* with a loader: loaded once, then read from the struct */
    const char *src = "{% for x in o.pets %}{{ loop.index }}{{ x.name }}({{ x.owner.username }}) "
                      "{% endfor %}{{ o.pets|length }} {{ p.owner.username }} [{{ stray.owner }}]"
                      " [{{ o.best }}]";
    CHECK_STR(render_opts(a, "t.html", src, ctx, &opts), "1Rex(ann) 2Tom(ann) 2 ann [None] [None]");
    /* pets loaded once; owner of p1 once (p2 then sees it? no: each pet
       loads its own owner), best tried once; stray has a NULL FK: no call */
    CHECK_INT(st.calls, 4);
    CHECK(o.pets.loaded);
    int before = st.calls;
    CHECK_STR(render_opts(a, "t.html", "{{ o.pets|map(attribute='name')|join(',') }}", ctx, &opts),
              "Rex,Tom");
    CHECK_INT(st.calls, before);
    /* a list of models from the context, and sort/attribute filters */
    ph_tpl_ctx_set_list(ctx, "owned", &Pet_model, &o.pets);
    CHECK_STR(render(a, "{% for x in owned %}{{ x.name }}{% endfor %}", ctx), "RexTom");
    void *objs[] = {&p2, &p1};
    ph_tpl_ctx_set_models(ctx, "pets", &Pet_model, objs, 2);
    CHECK_STR(render(a,
                     "{% for x in pets|sort(attribute='name') %}{{ x.id }}{% endfor %} "
                     "{{ pets[0].name }} {{ pets|length }} {{ pets|first is defined }}",
                     ctx),
              "1011 Tom 2 True");
    /* model rows are walked in place: the loop's neighbours still work */
    CHECK_STR(render(a,
                     "{% for x in pets %}{{ x.name }}<{{ loop.previtem.name }}|"
                     "{{ loop.nextitem.name }}>{% endfor %}"
                     "{% for x in pets if x.name != 'Tom' %}{{ x.name }}{{ loop.length }}{% endfor %}",
                     ctx),
              "Tom<|Rex>Rex<Tom|>Rex1");
    /* a loader error is a render error */
    Owner o2 = {.id = 2, .username = "x"};
    static const ph_relationship bad = {.name = "bad",
                                        .kind = PH_REL_ONE_TO_MANY,
                                        .offset = offsetof(Owner, pets),
                                        .target = pet_model};
    (void)bad;
    ph_tpl_ctx_set_model(ctx, "o2", &Owner_model, &o2);
    CHECK_STR(render_opts(a, "t.html", "{{ o2.pets|length }}", ctx, &opts), "2");
    /* one expression on models of two kinds in turn: each finds its own
     * column (Pet's name is column 1, Owner's column 1 is username; p's
     * owner was loaded above) */
    CHECK_STR(render(a,
                     "{% for x in [o, p, o, stray, p] %}{{ x.id }}:{{ x.name }}:{{ x.username }}:"
                     "{{ x.owner }}|{% endfor %}",
                     ctx),
              "1::ann:|10:Rex::&lt;Owner 1&gt;|1::ann:|12:Stray::None|10:Rex::&lt;Owner 1&gt;|");
    ph_arena_free(a);
}

/* ---- globals, strict mode, runtime errors ---- */

static int url_for(ph_tpl_call *c, ph_value *out)
{
    ph_buf b;
    ph_buf_init(&b, c->arena);
    if (c->nargs != 1 || c->args[0].kind != PH_V_STR) {
        c->errmsg = "url_for: endpoint name expected";
        return PH_EINVAL;
    }
    ph_buf_putc(&b, '/');
    ph_buf_append(&b, c->args[0].u.s.ptr, c->args[0].u.s.len);
    for (size_t i = 0; i < c->nkwargs; i++) {
        ph_buf_putc(&b, '/');
        ph_tpl_value_str(&b, &c->kwargs[i].value);
    }
    *out = ph_tpl_strn(b.ptr, b.len);
    return ph_buf_status(&b);
}

static int csrf_token(ph_tpl_call *c, ph_value *out)
{
    *out = ph_tpl_str(c->render_userdata ? (const char *)c->render_userdata : "none");
    return 0;
}

static void test_globals(void)
{
    ph_arena *a = ph_arena_new(0);
    char err[256];
    ph_tpl_set *set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_add_function(set, "url_for", url_for, NULL), 0);
    CHECK_INT(ph_tpl_set_add_function(set, "csrf_token", csrf_token, NULL), 0);
    ph_value site = ph_tpl_str("Pets & Co");
    CHECK_INT(ph_tpl_set_add_global(set, "site", &site), 0);
    const char *src =
        "<a href=\"{{ url_for('pet', pet_id=3) }}\">{{ site }}</a> {{ csrf_token() }} "
        "{{ url_for(1) }}";
    CHECK_INT(ph_tpl_set_add_string(set, "g.html", src, strlen(src), -1, err, sizeof err), 0);
    const char *ok = "<a href=\"{{ url_for('pet', pet_id=3) }}\">{{ site }}</a> {{ csrf_token() }}";
    CHECK_INT(ph_tpl_set_add_string(set, "ok.html", ok, strlen(ok), -1, err, sizeof err), 0);
    ph_buf b;
    ph_buf_init(&b, a);
    const char *msg;
    ph_tpl_render_opts opts = {.userdata = "tok123"};
    CHECK_INT(ph_tpl_render(set, "ok.html", NULL, &opts, a, &b, &msg), 0);
    CHECK_STR(b.ptr, "<a href=\"/pet/3\">Pets &amp; Co</a> tok123");
    ph_buf_clear(&b);
    CHECK_INT(ph_tpl_render(set, "g.html", NULL, &opts, a, &b, &msg), PH_EINVAL);
    CHECK_CONTAINS(msg, "url_for: endpoint name expected");
    CHECK_CONTAINS(msg, "g.html:1:");
    ph_buf_clear(&b);
    CHECK_INT(ph_tpl_render(set, "missing.html", NULL, NULL, a, &b, &msg), PH_ENOTFOUND);
    ph_tpl_set_free(set);
    ph_arena_free(a);
}

static void test_runtime_errors_and_strict(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(render(a, "line1\n{{ 1 + 'a' }}", NULL),
              "ERR:t.html:2: unsupported operand type(s) for +: 'int' and 'str'");
    CHECK_STR(render(a, "{{ 1 // 0 }}", NULL), "ERR:t.html:1: integer division or modulo by zero");
    CHECK_STR(render(a, "\n\n{{ x() }}", NULL), "ERR:t.html:3: 'x' is undefined");
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    ph_tpl_ctx_set_int(ctx, "n", 1);
    CHECK_STR(render(a, "{{ n() }}", ctx), "ERR:t.html:1: 'int' object is not callable");
    CHECK_STR(render(a, "{{ 9223372036854775807 + 1 }}", NULL),
              "ERR:t.html:1: integer overflow in '+'");
    /* default Undefined: attribute of undefined is undefined (lenient) */
    CHECK_STR(render(a, "[{{ nope }}][{{ nope.attr }}][{{ nope['x'].y }}]", NULL), "[][][]");
    ph_tpl_render_opts strict = {.strict = true};
    CHECK_STR(render_opts(a, "t.html", "{{ nope }}", NULL, &strict),
              "ERR:t.html:1: 'nope' is undefined");
    CHECK_STR(render_opts(a, "t.html", "{% for x in nope %}{% endfor %}", NULL, &strict),
              "ERR:t.html:1: undefined value is not iterable");
    CHECK_STR(
        render_opts(a, "t.html", "{{ nope is defined }} {{ nope|default('d') }}", NULL, &strict),
        "False d");
    ph_arena_free(a);
}

/* Flask-WTF style: form macros in a template imported without context
 * still reach the registered globals (csrf_token) and get the form as an
 * argument; the render's variables stay out of them. */
static void test_imported_macros_and_globals(void)
{
    ph_arena *a = ph_arena_new(0);
    char err[256];
    ph_tpl_set *set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_add_function(set, "csrf_token", csrf_token, NULL), 0);
    const char *macros =
        "{% set cls = 'field' %}"
        "{% macro hidden_tag() %}<input type=hidden value=\"{{ csrf_token() }}\">{% endmacro %}"
        "{% macro field(f) %}<p class={{ cls }}>{{ f.label }}{{ secret }}</p>{% endmacro %}";
    const char *page = "{% import 'forms/_macros.html' as m %}{{ m.hidden_tag() }}"
                       "{{ m.field(form) }}{{ m.cls }}";
    CHECK_INT(ph_tpl_set_add_string(set, "forms/_macros.html", macros, strlen(macros), -1, err,
                                    sizeof err),
              0);
    CHECK_INT(ph_tpl_set_add_string(set, "page.html", page, strlen(page), -1, err, sizeof err), 0);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    char jerr[128];
    static const char json[] = "{\"form\": {\"label\": \"Name\"}, \"secret\": \"S\"}";
    CHECK_INT(ph_tpl_ctx_set_json(ctx, json, sizeof json - 1, jerr, sizeof jerr), 0);
    ph_buf b;
    ph_buf_init(&b, a);
    const char *msg = NULL;
    ph_tpl_render_opts opts = {.userdata = "tok9"};
    CHECK_INT(ph_tpl_render(set, "page.html", ctx, &opts, a, &b, &msg), 0);
    CHECK_STR(b.ptr, "<input type=hidden value=\"tok9\"><p class=field>Name</p>field");
    ph_tpl_set_free(set);
    ph_arena_free(a);
}

/* Bad arguments and runaway recursion of the new syntax are errors that
 * name the template and line, never a crash. */
static void test_new_syntax_errors(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(render(a, "\n{{ [1]|select('nosuch')|list }}", NULL),
              "ERR:t.html:2: No test named 'nosuch'.");
    CHECK_STR(render(a, "{{ [1]|slice(0)|list }}", NULL),
              "ERR:t.html:1: slice: the number of slices must be a positive integer");
    CHECK_STR(render(a, "{{ 'a'|wordwrap(0) }}", NULL),
              "ERR:t.html:1: invalid width 0 (must be > 0)");
    CHECK_STR(render(a, "{{ '{}{}'.format(1) }}", NULL),
              "ERR:t.html:1: Replacement index 1 out of range for positional args tuple");
    CHECK_STR(render(a, "{{ '{:q}'.format(1) }}", NULL),
              "ERR:t.html:1: Unknown format code 'q' for object of type 'int'");
    CHECK_STR(render(a, "{{ 'x'.center(1000000) }}", NULL), "ERR:t.html:1: center: width too large");
    CHECK_STR(render(a, "{% macro m() %}{% endmacro %}{{ m(1) }}", NULL),
              "ERR:t.html:1: macro 'm' takes not more than 0 argument(s)");
    CHECK_STR(render(a, "{% for x in [1] %}{{ loop([2]) }}{% endfor %}", NULL),
              "ERR:t.html:1: Tried to call non recursive loop.  Maybe you forgot the 'recursive' "
              "modifier.");
    CHECK_CONTAINS(render(a, "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", NULL),
                   "maximum recursion depth exceeded");
    CHECK_CONTAINS(render_opts(a, "t.html", "{% import 't.html' as m %}", NULL, NULL),
                   "maximum recursion depth exceeded");
    CHECK_STR(render(a, "{% set x | nofilter %}{% endset %}", NULL),
              "ERR:t.html:1:12: no filter named 'nofilter'");
    CHECK_STR(render(a, "{% autoescape false %}x", NULL),
              "ERR:t.html:1:24: unexpected end of template, expected 'endautoescape'");
    /* a string method called without its argument (found by fuzz_template) */
    CHECK_STR(render(a, "{{ 'ab'.endswith() }}", NULL),
              "ERR:t.html:1: endswith: expected a string argument, not 'nothing'");
    CHECK_STR(render(a, "{{ 'ab'.startswith(()) }}", NULL), "False");
    /* the values a template can compute stay bounded */
    CHECK_STR(render(a, "{{ '{:>100001}'.format(1) }}", NULL),
              "ERR:t.html:1: Invalid format specifier '>100001'");
    ph_arena_free(a);
}

/* ---- folders, linking, debug reload ---- */

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void test_load_dir(void)
{
    char dir[] = "/tmp/phial-tpl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p[512], err[512];
    snprintf(p, sizeof p, "%s/admin", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/base.html", dir);
    write_file(p, "<h1>{% block t %}{% endblock %}</h1>\n");
    snprintf(p, sizeof p, "%s/admin/x.html", dir);
    write_file(p, "{% extends 'base.html' %}{% block t %}{{ v }}{% endblock %}\n");
    snprintf(p, sizeof p, "%s/plain.txt", dir);
    write_file(p, "{{ v }}");
    ph_tpl_set *set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_load_dir(set, dir, err, sizeof err), 0);
    CHECK(ph_tpl_set_has(set, "admin/x.html"));
    CHECK(ph_tpl_set_has(set, "plain.txt"));
    ph_arena *a = ph_arena_new(0);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    ph_tpl_ctx_set_str(ctx, "v", "<&>");
    ph_buf b;
    ph_buf_init(&b, a);
    const char *msg;
    CHECK_INT(ph_tpl_render(set, "admin/x.html", ctx, NULL, a, &b, &msg), 0);
    CHECK_STR(b.ptr, "<h1>&lt;&amp;&gt;</h1>");
    ph_buf_clear(&b);
    CHECK_INT(ph_tpl_render(set, "plain.txt", ctx, NULL, a, &b, &msg), 0);
    CHECK_STR(b.ptr, "<&>");

    /* debug mode: a changed file is recompiled */
    ph_tpl_set_debug(set, true);
    snprintf(p, sizeof p, "%s/plain.txt", dir);
    write_file(p, "new {{ v }}");
    struct stat st;
    stat(p, &st);
    struct timespec ts[2] = {{st.st_mtime + 5, 0}, {st.st_mtime + 5, 0}};
    utimensat(AT_FDCWD, p, ts, 0);
    ph_buf_clear(&b);
    CHECK_INT(ph_tpl_render(set, "plain.txt", ctx, NULL, a, &b, &msg), 0);
    CHECK_STR(b.ptr, "new <&>");
    ph_tpl_set_free(set);

    /* a syntax error stops the load, with file:line:col */
    snprintf(p, sizeof p, "%s/admin/bad.html", dir);
    write_file(p, "ok\n{% for %}");
    set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_load_dir(set, dir, err, sizeof err), PH_EPARSE);
    CHECK_STR(err, "admin/bad.html:2:8: expected a name");
    CHECK(!ph_tpl_set_has(set, "base.html"));
    ph_tpl_set_free(set);
    /* a missing include is reported at load time */
    write_file(p, "{% include 'gone.html' %}");
    set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_load_dir(set, dir, err, sizeof err), PH_ENOTFOUND);
    CHECK_STR(err, "admin/bad.html:1: template 'gone.html' not found");
    ph_tpl_set_free(set);
    set = ph_tpl_set_new();
    CHECK_INT(ph_tpl_set_load_dir(set, "/nonexistent/dir", err, sizeof err), PH_EIO);
    ph_tpl_set_free(set);
    ph_arena_free(a);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* ---- concurrency ---- */

typedef struct thr {
    const ph_tpl_set *set;
    int ok;
} thr;

static void *render_many(void *arg)
{
    thr *t = arg;
    ph_arena *a = ph_arena_new(0);
    for (int i = 0; i < 200; i++) {
        ph_arena_reset(a);
        ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
        ph_tpl_ctx_set_int(ctx, "n", i);
        ph_buf b;
        ph_buf_init(&b, a);
        const char *msg;
        if (ph_tpl_render(t->set, "c.html", ctx, NULL, a, &b, &msg) == 0 &&
            strcmp(b.ptr, ph_arena_sprintf(a, "[%d:%d]", i, i * 2)) == 0)
            t->ok++;
    }
    ph_arena_free(a);
    return NULL;
}

static void test_concurrent_renders(void)
{
    ph_tpl_set *set = ph_tpl_set_new();
    char err[256];
    const char *base = "[{% block x %}{% endblock %}]";
    const char *child = "{% extends 'b.html' %}{% block x %}{{ n }}:{{ n * 2 }}{% endblock %}";
    CHECK_INT(ph_tpl_set_add_string(set, "c.html", child, strlen(child), -1, err, sizeof err), 0);
    CHECK_INT(ph_tpl_set_add_string(set, "b.html", base, strlen(base), -1, err, sizeof err), 0);
    CHECK_INT(ph_tpl_set_link(set, err, sizeof err), 0);
    pthread_t th[4];
    thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr){set, 0};
        pthread_create(&th[i], NULL, render_many, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].ok, 200);
    }
    ph_tpl_set_free(set);
}

int main(void)
{
    RUN(test_syntax_error_positions);
    RUN(test_deep_nesting_is_an_error);
    RUN(test_float_repr);
    RUN(test_value_str_and_copy);
    RUN(test_lexer_details);
    RUN(test_json_context);
    RUN(test_ctx_builders);
    RUN(test_model_fields);
    RUN(test_model_relationships_and_loader);
    RUN(test_globals);
    RUN(test_runtime_errors_and_strict);
    RUN(test_imported_macros_and_globals);
    RUN(test_new_syntax_errors);
    RUN(test_load_dir);
    RUN(test_concurrent_renders);
    TEST_END();
}
