/*
 * What the files of src/template share: the compiled tree (expressions and
 * statements), the template and set structures, the render state, and the
 * helpers that the lexer/parser, the renderer and the filters call.
 */
#ifndef PHIAL_TEMPLATE_INTERNAL_H
#define PHIAL_TEMPLATE_INTERNAL_H

#include "phial/template.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define PH__TPL_MAX_PARSE_DEPTH 100  /* nesting of tags and expressions */
#define PH__TPL_MAX_RENDER_DEPTH 600 /* recursive eval/render frames */
#define PH__TPL_MAX_FARGS 8          /* parameters of a filter or test */

typedef struct ph__tpl ph__tpl;
typedef struct ph__expr ph__expr;
typedef struct ph__node ph__node;
typedef struct ph__rs ph__rs;

typedef enum ph__op {
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_FLOORDIV,
    OP_MOD,
    OP_POW,
    OP_CONCAT,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_GT,
    OP_LE,
    OP_GE,
    OP_IN,
    OP_NOTIN
} ph__op;

typedef enum ph__ekind {
    E_CONST,
    E_NAME,
    E_ATTR,
    E_ITEM,
    E_SLICE,
    E_BINOP,
    E_NEG,
    E_POS,
    E_NOT,
    E_AND,
    E_OR,
    E_COND,
    E_CMP,
    E_CALL,
    E_FILTER,
    E_TEST,
    E_LIST,
    E_DICT
} ph__ekind;

/* A filter or test: evaluated value, bound arguments (undefined = not
 * given), the render state for errors and allocation. */
typedef int (*ph__filter_fn)(ph__rs *rs, const ph__expr *e, ph_value *v, ph_value *args,
                             ph_value *out);
typedef struct ph__filter_def {
    const char *name;
    ph__filter_fn fn;
    const char *params[PH__TPL_MAX_FARGS]; /* "_0", "_1"...: positional only */
    bool varkw; /* other keyword arguments go to filter.kwnames/kwvals */
} ph__filter_def;

struct ph__expr {
    ph__ekind kind;
    int line;
    union {
        ph_value cval; /* E_CONST */
        ph_slice name; /* E_NAME */
        struct {
            ph__expr *obj;
            ph_slice name;
            /* the model column or relationship this name found last: a
             * cache, checked against the model at each use (templates
             * are shared by the threads that render them) */
            const void *_Atomic hit;
        } attr;
        struct {
            ph__expr *obj, *key;
        } item;
        struct {
            ph__expr *obj, *start, *stop, *step;
        } slice;
        struct {
            ph__op op;
            ph__expr *l, *r;
        } bin;
        ph__expr *un;
        struct {
            ph__expr *c, *a, *b; /* a if c else b; b may be NULL */
        } cond;
        struct {
            ph__expr *first;
            size_t n;
            ph__op *ops;
            ph__expr **rest;
        } cmp;
        struct {
            ph__expr *fn;
            ph__expr **args;
            size_t nargs;
            ph_slice *kwnames;
            ph__expr **kwargs;
            size_t nkwargs;
        } call;
        struct {
            ph__expr *x; /* NULL for a filter block (unused) */
            const ph__filter_def *def;
            ph__expr *args[PH__TPL_MAX_FARGS];
            bool negate; /* tests: is not */
            ph_slice *kwnames; /* keywords beyond params (def->varkw) */
            ph__expr **kwvals;
            size_t nkw;
        } filter;
        struct {
            ph__expr **items;
            ph__expr **vals; /* E_DICT */
            size_t n;
            bool tuple; /* (a, b): prints as a tuple */
        } list;
    } u;
};

typedef enum ph__nkind {
    N_TEXT,
    N_OUTPUT,
    N_IF,
    N_FOR,
    N_SET,
    N_SETBLOCK,
    N_BLOCK,
    N_INCLUDE,
    N_MACRO,
    N_EXTENDS,
    N_WITH,
    N_IMPORT,
    N_FILTERBLOCK,
    N_CALLBLOCK,
    N_AUTOESCAPE
} ph__nkind;

/* Name of the variable holding a filter block's rendered body. */
#define PH__FILTERBLOCK_VAR "\x01filterblock"

typedef struct ph__body {
    ph__node **items;
    size_t n;
} ph__body;

typedef struct ph__macro {
    ph_slice name;
    ph_slice *params;
    ph__expr **defaults; /* NULL entries: no default */
    size_t nparams;
    ph__body body;
    const ph__tpl *tpl;
    int line;
    bool varargs, kwargs; /* the body reads `varargs` / `kwargs` */
} ph__macro;

struct ph__node {
    ph__nkind kind;
    int line;
    union {
        ph_slice text;
        ph__expr *expr;
        struct {
            ph__expr **conds; /* n conditions, then an optional else body */
            ph__body *bodies;
            size_t n;
            ph__body els;
        } ifs;
        struct {
            ph_slice *names;
            int nnames;
            ph__expr *iter;
            ph__expr *filter; /* for x in y if cond */
            ph__body body, els;
            bool recursive;
        } loop;
        struct {
            ph_slice *names;
            int nnames;
            ph_slice attr; /* set ns.attr = ... when attr.len > 0 */
            ph__expr *value;
            ph__body body; /* N_SETBLOCK */
            ph__expr *chain; /* N_SETBLOCK: filters applied to the body, or NULL */
        } set;
        struct {
            ph__expr *on; /* {% autoescape expr %} */
            ph__body body;
        } autoesc;
        struct {
            ph_slice name;
            ph__body body;
        } block;
        struct {
            ph__expr *name;
            const ph__tpl *target; /* resolved at link time, or NULL */
            bool ignore_missing;
            /* N_IMPORT: "import x as alias" (nnames 0) or "from x import
             * names[i] as aliases[i]" */
            ph_slice alias;
            ph_slice *names, *aliases;
            size_t nnames;
            int context; /* with context 1, without 0, not said -1 */
        } inc;
        ph__macro *macro;
        struct {
            ph__expr *chain; /* filters applied to PH__FILTERBLOCK_VAR */
            ph__body body;
        } fblock;
        struct {
            ph__macro *caller; /* the block's body and its parameters */
            ph__expr *call;    /* E_CALL of the macro */
        } cblock;
        struct {
            ph_slice *names;
            ph__expr **vals;
            size_t n;
            ph__body body;
        } with;
    } u;
};

typedef struct ph__blockdef {
    ph_slice name;
    const ph__node *node;
} ph__blockdef;

struct ph__tpl {
    char *name;
    char *path; /* file it came from, or NULL */
    time_t mtime;
    bool autoescape;
    ph_arena *arena; /* owns the tree and the source copy */
    ph__body body;
    ph__blockdef *blocks;
    size_t nblocks;
    ph__node *extends; /* first extends node (at top level), or NULL */
    ph__node **refs;   /* include/extends nodes to link */
    size_t nrefs;
};

struct ph_tpl_set {
    ph__tpl **tpls;
    size_t n, cap;
    ph_arena *arena;  /* globals */
    ph_value globals; /* map */
    bool debug;
    char *dir; /* for debug reloads of new files: unused */
    pthread_mutex_t lock;
};

/* ---- compile ---- */

/* Compiles src (copied into the template's arena).  NULL on error with
 * "name:line:col: message" in err and *rc set. */
ph__tpl *ph__tpl_compile(const char *name, const char *src, size_t len, bool autoescape, int *rc,
                         char *err, size_t errlen);
void ph__tpl_free(ph__tpl *t);
const ph__filter_def *ph__filter_find(ph_slice name);
const ph__filter_def *ph__test_find(ph_slice name);
const ph__tpl *ph__set_find(const ph_tpl_set *set, ph_slice name);
/* Block of that name defined in t, or NULL. */
const ph__node *ph__tpl_block(const ph__tpl *t, ph_slice name);

/* ---- render state ---- */

typedef struct ph__var {
    ph_slice name;
    ph_value val;
} ph__var;

typedef struct ph__loop {
    size_t index0, length;
    const ph_value *items; /* for previtem/nextitem (may be NULL) */
    ph_value models;       /* PH_V_MODELS iterated in place (items NULL) */
    const ph__node *node;  /* the for: loop(...) of a recursive loop */
    size_t depth0;         /* recursion level of a recursive loop */
    ph_value last;         /* loop.changed(): the previous arguments */
    bool has_last;
} ph__loop;

/* `caller`: the call block plus the call site's scope, so that its body
 * sees the variables of the place it was written. */
typedef struct ph__closure {
    const ph__macro *m;
    size_t floor, nvars, top_start, top_end;
    bool autoescape; /* of the call site */
    bool hide_top;   /* the call site's lookup rules (see ph__rs) */
    const ph_value *modvars, *ctx;
} ph__closure;

/* A macro of an imported template: it sees that template's top-level
 * variables (modvars) and, imported with context, the importer's
 * variables (ctx), never the caller's. */
typedef struct ph__bmacro {
    const ph__macro *m;
    const ph_value *modvars; /* map */
    const ph_value *ctx;     /* map or NULL */
} ph__bmacro;

/* A bound method, or an object with state (joiner, cycler): name says
 * which; state is arena memory of the render. */
typedef struct ph__method {
    ph_value self;
    ph_slice name;
    void *state;
} ph__method;

struct ph__rs {
    const ph_tpl_set *set;
    const ph_tpl_render_opts *opts;
    ph_arena *arena;
    const ph_value *ctx; /* map or NULL */
    ph__var *vars;
    size_t nvars, capvars;
    size_t floor;       /* lookups do not go below this (macro frames) */
    size_t sstart;      /* start of the innermost scope: where set writes */
    size_t top_start;   /* vars [top_start, top_end) are the template's top */
    size_t top_end;     /* level (imported templates start a new one) */
    bool in_toplevel;   /* whether sets go to the top level */
    const ph__tpl *tpl; /* template being rendered (for errors, autoescape) */
    int line;
    int depth;
    /* inheritance chain: leaf first */
    const ph__tpl **chain;
    size_t nchain;
    /* current block for super(): chain level and name */
    size_t block_level;
    ph_slice block_name;
    bool in_block;
    bool suppress; /* child template after extends: no output */
    int esc_override; /* {% autoescape %}: 0/1, or -1 (the template's) */
    /* Lookups inside an imported template or an include without context:
     * the top-level vars of the render are hidden, modvars (the imported
     * template's top level) is searched instead. */
    bool hide_top;
    const ph_value *modvars;
    const char *errmsg;
};

/* Whether output is escaped at this point of the render. */
static inline bool ph__autoesc(const ph__rs *rs)
{
    return rs->esc_override >= 0 ? rs->esc_override != 0 : rs->tpl->autoescape;
}

int ph__rs_error(ph__rs *rs, int code, const char *fmt, ...) PH_PRINTF(3, 4);
bool ph__truthy(const ph_value *v);
/* str(v) as a new arena string */
int ph__to_str(ph__rs *rs, const ph_value *v, ph_value *out);
int ph__str_of(ph_arena *a, const ph_value *v, ph_slice *out);
/* Python equality and ordering; ordering fails with PH_ETYPE */
bool ph__equal(const ph_value *a, const ph_value *b);
int ph__compare(ph__rs *rs, const ph_value *a, const ph_value *b, int *res);
/* getattr/getitem; undefined when missing */
int ph__getattr(ph__rs *rs, const ph_value *obj, ph_slice name, ph_value *out);
/* ph__getattr for the attribute expression e (E_ATTR) on obj, through e's cache */
int ph__getattr_expr(ph__rs *rs, const ph_value *obj, const ph__expr *e, ph_value *out);
int ph__getitem(ph__rs *rs, const ph_value *obj, const ph_value *key, ph_value *out);
/* Items of an iterable as an array in the arena (maps: keys). */
int ph__iterate(ph__rs *rs, const ph_value *v, ph_value **items, size_t *n);
size_t ph__utf8_len(const char *s, size_t n);
int ph__escape(ph__rs *rs, const ph_value *v, ph_value *out);
void ph__datetime_str(int64_t usec, char *buf, size_t n);
void ph__date_str(int32_t days, char *buf, size_t n);
/* Python %-formatting; mapping_ok: a single map argument serves %(key)s */
int ph__percent_format(ph__rs *rs, ph_slice fmt, const ph_value *args, size_t nargs,
                       bool mapping_ok, ph_buf *out);
int ph__call_value(ph__rs *rs, const ph_value *fn, ph_value *args, size_t nargs, ph_tpl_kwarg *kw,
                   size_t nkw, ph_value *out);
/* Evaluates an expression of the tree (for filters with extra keywords). */
int ph__eval(ph__rs *rs, const ph__expr *e, ph_value *out);
/* Python's `x in seq`. */
int ph__contains(ph__rs *rs, const ph_value *x, const ph_value *seq, bool *res);
/* item.attr for a Jinja attribute path ("a.b", "tags.0"); attr not given
 * or none: the item itself. */
int ph__attr_path(ph__rs *rs, const ph_value *item, const ph_value *attr, ph_value *out);
/* Applies test or filter def to v with positional args (missing ones
 * undefined). */
int ph__apply_def(ph__rs *rs, const ph__filter_def *d, ph_value *v, const ph_value *args,
                  size_t nargs, ph_value *out);

/* ---- Unicode (unicode.c, through libunistring) ---- */

enum { PH__CASE_UPPER, PH__CASE_LOWER, PH__CASE_TITLE, PH__CASE_CAP, PH__CASE_STRTITLE,
       PH__CASE_SWAP, PH__CASE_FOLD };
/* Python's str.upper/lower/capitalize/title/swapcase/casefold, and
 * Jinja's title filter (PH__CASE_TITLE), on UTF-8 s into the arena.  0, or
 * PH_ENOMEM / PH_EINVAL (not UTF-8). */
int ph__case_map(ph_arena *a, ph_slice s, int mode, ph_slice *out);
/* Python's str.isspace() for one code point. */
bool ph__uc_isspace(uint32_t c);
/* Decodes one code point at s[*i] (advancing *i); invalid bytes give
 * U+FFFD. */
uint32_t ph__utf8_next(const char *s, size_t n, size_t *i);

/* Python's str methods (strmethods.c) on self (a string): 0 or a
 * negative code, or 1 when name is not one of them. */
int ph__str_method(ph__rs *rs, ph_slice name, const ph_value *self, ph_value *args, size_t nargs,
                   ph_tpl_kwarg *kw, size_t nkw, ph_value *out);

/* ---- filters of filters_seq.c ---- */

#define PH__FILTER(name) int name(ph__rs *rs, const ph__expr *e, ph_value *v, ph_value *a, ph_value *out)
PH__FILTER(ph__f_select);
PH__FILTER(ph__f_reject);
PH__FILTER(ph__f_selectattr);
PH__FILTER(ph__f_rejectattr);
PH__FILTER(ph__f_groupby);
PH__FILTER(ph__f_dictsort);
PH__FILTER(ph__f_slice);
PH__FILTER(ph__f_unique);
PH__FILTER(ph__f_items);
PH__FILTER(ph__f_wordwrap);
PH__FILTER(ph__f_urlize);
PH__FILTER(ph__f_filesizeformat);
PH__FILTER(ph__f_xmlattr);
PH__FILTER(ph__f_forceescape);
PH__FILTER(ph__t_in);
PH__FILTER(ph__f_pprint);
PH__FILTER(ph__f_random);
PH__FILTER(ph__t_filter);
PH__FILTER(ph__t_test);
/* Stable sort of n values by keys (compared with Python's rules; strings
 * case-folded unless cs); rev reverses.  Sorts vals along with keys. */
int ph__sort_by_keys(ph__rs *rs, ph_value *keys, ph_value *vals, size_t n, bool cs, bool rev);

#endif
