/*
 * Phial templates: Jinja2 templates compiled once at start-up and rendered by
 * walking the compiled tree.  A template set (ph_tpl_set) holds every
 * template of a folder, the registered global functions and values, and is
 * read-only after loading, so many threads may render from it at once (in
 * debug mode a changed file is recompiled under the set's lock).
 *
 * Values (ph_value) are small tagged unions.  Strings, lists and maps are
 * borrowed: a value built for a render lives in the caller's arena (or is
 * borrowed from data that outlives the render).  Model objects are read
 * through their descriptor (phial/model.h); the template module knows
 * nothing of HTTP or SQL.
 *
 *     ph_tpl_set *set = ph_tpl_set_new();
 *     if (ph_tpl_set_load_dir(set, "app/templates", err, sizeof err) < 0) ...
 *     ph_tpl_ctx *ctx = ph_tpl_ctx_new(arena);
 *     ph_tpl_ctx_set_model(ctx, "user", &User_model, user);
 *     ph_buf out; ph_buf_init(&out, arena);
 *     const char *msg;
 *     if (ph_tpl_render(set, "register.html", ctx, NULL, arena, &out, &msg) < 0) ...
 *
 * Supported: the Jinja2 that Flask applications use (README, Templates):
 * every statement of Jinja's default environment (for with recursive
 * loops, loop.changed(), extends/block/super()/self, include and import
 * with or without context, macros with varargs/kwargs, call blocks, set
 * blocks with filters, autoescape blocks, ...), all built-in filters and
 * tests, Python's string methods, and Unicode case mapping with Python's
 * rules.  Not supported: the sandbox and extensions.  Unlike Jinja's
 * default Undefined, an attribute of an undefined value is undefined
 * (empty) instead of an error (strict mode makes it an error).
 */
#ifndef PHIAL_TEMPLATE_H
#define PHIAL_TEMPLATE_H

#include "phial/core.h"
#include "phial/model.h"
#include "phial/version.h"

PH_API_BEGIN

/* ---- values ------------------------------------------------------------- */

typedef enum ph_vkind {
    PH_V_UNDEFINED, /* a name that does not exist: renders empty */
    PH_V_NONE,
    PH_V_BOOL,
    PH_V_INT,
    PH_V_FLOAT,
    PH_V_STR, /* UTF-8 bytes, not NUL-terminated in general; `safe` = Markup */
    PH_V_LIST,
    PH_V_MAP,    /* ordered by insertion, like a Python dict */
    PH_V_FUNC,   /* a C callable registered by the application */
    PH_V_MODEL,  /* {model, obj}: fields read through the descriptor */
    PH_V_MODELS, /* a borrowed array of model objects (a ph_list's items) */
    PH_V_MACRO,  /* internal: a template macro */
    PH_V_LOOP,   /* internal: the `loop` variable of a for */
    PH_V_METHOD, /* internal: a bound method (`d.items`, `loop.cycle`) */
    PH_V_CALLER  /* internal: `caller` inside a macro invoked by {% call %} */
} ph_vkind;

struct ph_vlist;
struct ph_vmap;
struct ph_tpl_call;

typedef struct ph_value ph_value;

/* A C function callable from templates.  Fills *out (allocate in
 * call->arena) and returns 0, or returns a negative PH_E* code and may set
 * call->errmsg (a string that lives at least as long as the arena). */
typedef int (*ph_tpl_fn)(struct ph_tpl_call *call, ph_value *out);

struct ph_value {
    ph_vkind kind;
    bool safe; /* PH_V_STR: already escaped (Markup); PH_V_LIST: a tuple
                  (printed "(a, b)"); PH_V_MAP: a namespace() (writable by
                  `set ns.attr`) */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *ptr;
            size_t len;
        } s;
        struct ph_vlist *list;
        struct ph_vmap *map;
        struct {
            ph_tpl_fn fn;
            void *userdata;
        } fn;
        struct {
            const ph_model *model;
            void *obj;
        } m;
        struct {
            const ph_model *model;
            void *const *items;
            size_t len;
        } ms;
        const void *p; /* internal kinds */
    } u;
};

typedef struct ph_vlist {
    ph_value *items;
    size_t len, cap;
} ph_vlist;

typedef struct ph_vmap {
    ph_value *keys;
    ph_value *vals;
    size_t len, cap;
} ph_vmap;

typedef struct ph_tpl_kwarg {
    ph_slice name;
    ph_value value;
} ph_tpl_kwarg;

/* What a registered function receives.  Everything is borrowed for the
 * duration of the call. */
typedef struct ph_tpl_call {
    void *userdata;        /* given at registration */
    void *render_userdata; /* ph_tpl_render_opts.userdata (the request) */
    ph_arena *arena;       /* the render's arena: allocate the result here */
    const ph_value *args;
    size_t nargs;
    const ph_tpl_kwarg *kwargs;
    size_t nkwargs;
    const char *errmsg; /* out: set on error (optional) */
} ph_tpl_call;

/* Scalar constructors; strings are borrowed (they must outlive the use). */
ph_value ph_tpl_undefined(void);
ph_value ph_tpl_none(void);
ph_value ph_tpl_bool(bool b);
ph_value ph_tpl_int(int64_t i);
ph_value ph_tpl_float(double f);
ph_value ph_tpl_str(const char *s); /* NULL gives none */
ph_value ph_tpl_strn(const char *s, size_t n);
ph_value ph_tpl_safe(const char *s);                 /* Markup: never escaped again */
ph_value ph_tpl_model(const ph_model *m, void *obj); /* obj NULL gives none */
ph_value ph_tpl_models(const ph_model *m, void *const *objs, size_t n);
ph_value ph_tpl_func(ph_tpl_fn fn, void *userdata);
/* An empty list / map in an arena (kind none and NULL on out of memory:
 * check with ph_tpl_list_push / ph_tpl_map_set which then fail). */
ph_value ph_tpl_list_new(ph_arena *a);
ph_value ph_tpl_map_new(ph_arena *a);
/* Appends (the list grows in arena a).  0, PH_ENOMEM or PH_ETYPE. */
int ph_tpl_list_push(ph_arena *a, ph_value *list, ph_value item);
/* Sets key (borrowed; replaces an existing key).  0, PH_ENOMEM, PH_ETYPE. */
int ph_tpl_map_set(ph_arena *a, ph_value *map, ph_value key, ph_value val);
int ph_tpl_map_set_cstr(ph_arena *a, ph_value *map, const char *key, ph_value val);
/* Value of a string key in a map, or NULL. */
const ph_value *ph_tpl_map_get(const ph_value *map, ph_slice key);
/* Deep copy of v into arena a (strings, lists, maps); models and
 * functions are copied by reference.  0 or PH_ENOMEM / PH_ELIMIT. */
int ph_tpl_value_copy(ph_arena *a, const ph_value *v, ph_value *out);
/* Appends str(v) as Python prints it (floats as repr, None, True, lists
 * as their repr) to b.  0 or a negative code. */
int ph_tpl_value_str(ph_buf *b, const ph_value *v);
/* Python's repr of a float ("2.5", "1.0", "1e+20") into buf (>= 32 bytes). */
void ph_tpl_format_float(double f, char *buf, size_t n);
/* Converts a JSON text (jansson) to a value in arena a: objects become
 * maps, arrays lists, integers ints, reals floats.  0, or PH_EPARSE /
 * PH_ELIMIT (nesting over 200) with a message in err. */
int ph_tpl_value_from_json(ph_arena *a, const char *json, size_t len, ph_value *out, char *err,
                           size_t errlen);

/* ---- render contexts ------------------------------------------------------- */

/* The variables of one render: a map in an arena.  Names and string values
 * given to the set_* functions are copied into the arena (except through
 * ph_tpl_ctx_set, which takes the value as is). */
typedef struct ph_tpl_ctx ph_tpl_ctx;

/* NULL when out of memory.  Freed with the arena. */
ph_tpl_ctx *ph_tpl_ctx_new(ph_arena *a);
/* Each returns 0 or PH_ENOMEM (a NULL ctx gives PH_EINVAL). */
int ph_tpl_ctx_set(ph_tpl_ctx *c, const char *name, ph_value v);
int ph_tpl_ctx_set_str(ph_tpl_ctx *c, const char *name, const char *s);
int ph_tpl_ctx_set_safe(ph_tpl_ctx *c, const char *name, const char *html);
int ph_tpl_ctx_set_int(ph_tpl_ctx *c, const char *name, int64_t i);
int ph_tpl_ctx_set_float(ph_tpl_ctx *c, const char *name, double f);
int ph_tpl_ctx_set_bool(ph_tpl_ctx *c, const char *name, bool b);
int ph_tpl_ctx_set_none(ph_tpl_ctx *c, const char *name);
/* A model object (borrowed: it must outlive the render). */
int ph_tpl_ctx_set_model(ph_tpl_ctx *c, const char *name, const ph_model *m, void *obj);
/* n model objects (objs borrowed), e.g. the items of a query result. */
int ph_tpl_ctx_set_models(ph_tpl_ctx *c, const char *name, const ph_model *m, void *const *objs,
                          size_t n);
/* The objects of a relationship list or query result (borrowed). */
int ph_tpl_ctx_set_list(ph_tpl_ctx *c, const char *name, const ph_model *m, const ph_list *l);
/* The JSON object's members as variables.  0, PH_EPARSE, PH_ETYPE (not an
 * object), PH_ELIMIT; message in err. */
int ph_tpl_ctx_set_json(ph_tpl_ctx *c, const char *json, size_t len, char *err, size_t errlen);
/* The map holding the variables (borrowed). */
const ph_value *ph_tpl_ctx_vars(const ph_tpl_ctx *c);
ph_arena *ph_tpl_ctx_arena(const ph_tpl_ctx *c);

/* ---- template sets ------------------------------------------------------------ */

typedef struct ph_tpl_set ph_tpl_set;

/* An empty set (NULL when out of memory).  Free with ph_tpl_set_free. */
ph_tpl_set *ph_tpl_set_new(void);
void ph_tpl_set_free(ph_tpl_set *set);
/* Debug mode: every render checks the files' mtimes and recompiles those
 * that changed (renders then serialize on the set's lock).  Set before
 * rendering starts. */
void ph_tpl_set_debug(ph_tpl_set *set, bool debug);
/* Compiles every file under dir (recursively; names relative with '/':
 * "admin/x.html"), then resolves extends/include by name.  Autoescape is on
 * for .html .htm .xml .svg (like Jinja's select_autoescape).  On a syntax
 * error nothing is added and err holds "file:line:col: message".
 * 0, PH_EPARSE, PH_EIO, PH_ENOTFOUND (a referenced template is missing),
 * PH_ENOMEM. */
int ph_tpl_set_load_dir(ph_tpl_set *set, const char *dir, char *err, size_t errlen);
/* Compiles one template from memory under name (src copied; it replaces a
 * template of the same name).  autoescape: 1 on, 0 off, -1 by name.
 * References to templates not yet added are resolved when rendering. */
int ph_tpl_set_add_string(ph_tpl_set *set, const char *name, const char *src, size_t len,
                          int autoescape, char *err, size_t errlen);
/* Resolves references between templates; PH_ENOTFOUND with the first
 * missing one in err.  Called by ph_tpl_set_load_dir. */
int ph_tpl_set_link(ph_tpl_set *set, char *err, size_t errlen);
/* Registers a global function (url_for, csrf_token, ...).  Names are
 * copied.  0, PH_ENOMEM. */
int ph_tpl_set_add_function(ph_tpl_set *set, const char *name, ph_tpl_fn fn, void *userdata);
/* Registers a global value (deep-copied into the set). */
int ph_tpl_set_add_global(ph_tpl_set *set, const char *name, const ph_value *v);
/* Whether a template of that name exists. */
bool ph_tpl_set_has(const ph_tpl_set *set, const char *name);

/* ---- rendering ------------------------------------------------------------------ */

typedef struct ph_tpl_render_opts {
    /* Loads a relationship that is not loaded yet (ph_list.loaded false, or
     * a NULL pointer).  0 or a negative code.  NULL: treated as empty. */
    int (*load_relationship)(void *userdata, const ph_model *m, void *obj,
                             const ph_relationship *rel);
    void *userdata; /* for load_relationship and ph_tpl_call.render_userdata */
    bool strict;    /* undefined names are errors (Jinja's StrictUndefined) */
} ph_tpl_render_opts;

/* Renders template name with ctx's variables (ctx may be NULL), appending
 * to out.  Temporary values live in arena.  opts may be NULL.  0, or a
 * negative code (PH_ENOTFOUND, PH_ETYPE, PH_EUNDEFINED, PH_ELIMIT, PH_ERANGE,
 * PH_ENOMEM, or the code of a callback) with *errmsg (arena memory, may be
 * NULL) saying "name:line: problem".  On error out holds partial output. */
int ph_tpl_render(const ph_tpl_set *set, const char *name, const ph_tpl_ctx *ctx,
                  const ph_tpl_render_opts *opts, ph_arena *arena, ph_buf *out,
                  const char **errmsg);

PH_API_END

#endif
