/*
 * The renderer: walks a compiled template with a render state (variable
 * scopes, inheritance chain, current block), evaluates expressions with
 * Python/Jinja semantics (integer floor division and modulo, Markup-aware
 * concatenation, chained comparisons), calls macros, registered functions
 * and methods, and writes output with autoescape.  Nothing is parsed here;
 * the compiled set is only read.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ph__kind_name(const ph_value *v);

int ph__rs_error(ph__rs *rs, int code, const char *fmt, ...)
{
    if (!rs->errmsg) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        rs->errmsg =
            ph_arena_sprintf(rs->arena, "%s:%d: %s", rs->tpl ? rs->tpl->name : "?", rs->line, msg);
        if (!rs->errmsg)
            rs->errmsg = "out of memory";
    }
    return code;
}

static int oom(ph__rs *rs)
{
    return ph__rs_error(rs, PH_ENOMEM, "out of memory");
}
static int put_escaped(ph_buf *b, const char *s, size_t n);

/* ph_buf_append with the common case (room left) inlined. */
static inline void out_append(ph_buf *b, const char *s, size_t n)
{
    if (b->ptr && !b->failed && b->cap - b->len > n) {
        memcpy(b->ptr + b->len, s, n);
        b->len += n;
        b->ptr[b->len] = '\0';
    } else
        ph_buf_append(b, s, n);
}

/* ---- variables ---- */

/* Whether two names of the same length are equal: short names (nearly
 * all) compared in place, not through a memcmp call. */
static inline bool same_name(const char *a, const char *b, size_t n)
{
    if (n > 16)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static inline const ph_value *lookup(const ph__rs *rs, ph_slice name)
{
    for (size_t i = rs->nvars; i > rs->floor; i--) {
        const ph__var *v = &rs->vars[i - 1];
        if (v->name.len == name.len && same_name(v->name.ptr, name.ptr, name.len))
            return &v->val;
    }
    const ph_value *r;
    if (rs->hide_top) {
        if (rs->modvars && (r = ph_tpl_map_get(rs->modvars, name)) != NULL)
            return r;
    } else if (rs->floor > rs->top_start)
        for (size_t i = rs->top_end; i > rs->top_start; i--) {
            const ph__var *v = &rs->vars[i - 1];
            if (v->name.len == name.len && memcmp(v->name.ptr, name.ptr, name.len) == 0)
                return &v->val;
        }
    r = ph_tpl_map_get(rs->ctx, name);
    if (r)
        return r;
    return ph_tpl_map_get(&rs->set->globals, name);
}

static size_t scope_start_of(const ph__rs *rs);

static int push_var(ph__rs *rs, ph_slice name, ph_value val)
{
    if (rs->nvars == rs->capvars) {
        size_t nc = rs->capvars ? rs->capvars * 2 : 32;
        ph__var *nv = ph_arena_alloc(rs->arena, nc * sizeof(ph__var));
        if (!nv)
            return oom(rs);
        if (rs->nvars)
            memcpy(nv, rs->vars, rs->nvars * sizeof(ph__var));
        rs->vars = nv;
        rs->capvars = nc;
    }
    rs->vars[rs->nvars].name = name;
    rs->vars[rs->nvars++].val = val;
    if (rs->in_toplevel)
        rs->top_end = rs->nvars;
    return 0;
}

/* current scope starts where the innermost for/macro/block/include began */
static size_t scope_start_of(const ph__rs *rs)
{
    return rs->sstart;
}

typedef struct scope_save {
    size_t nvars, floor, top_end;
    bool in_toplevel;
    size_t sstart;
} scope_save;

static int set_var(ph__rs *rs, ph_slice name, ph_value val, size_t sstart)
{
    for (size_t i = rs->nvars; i > sstart; i--)
        if (ph_slice_eq(rs->vars[i - 1].name, name)) {
            rs->vars[i - 1].val = val;
            return 0;
        }
    return push_var(rs, name, val);
}

/* ---- helpers ---- */

static bool strict(const ph__rs *rs)
{
    return rs->opts && rs->opts->strict;
}

static int undefined_error(ph__rs *rs, const ph__expr *e)
{
    if (e && e->kind == E_NAME)
        return ph__rs_error(rs, PH_EUNDEFINED, "'%.*s' is undefined", (int)e->u.name.len,
                            e->u.name.ptr);
    if (e && e->kind == E_ATTR)
        return ph__rs_error(rs, PH_EUNDEFINED, "attribute '%.*s' is undefined",
                            (int)e->u.attr.name.len, e->u.attr.name.ptr);
    return ph__rs_error(rs, PH_EUNDEFINED, "undefined value");
}

int ph__escape(ph__rs *rs, const ph_value *v, ph_value *out)
{
    if (v->kind == PH_V_STR && v->safe) {
        *out = *v;
        return 0;
    }
    ph_slice s;
    int rc = ph__str_of(rs->arena, v, &s);
    if (rc < 0)
        return ph__rs_error(rs, rc, "cannot convert value to string");
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    if (put_escaped(&b, s.ptr, s.len) < 0)
        return oom(rs);
    *out = ph_tpl_strn(b.ptr ? b.ptr : "", b.len);
    out->safe = true;
    return 0;
}

/* HTML-escapes s into b (& < > " ' as markupsafe does), in as few
 * appends as the text allows. */
static int put_escaped(ph_buf *b, const char *s, size_t n)
{
    static const unsigned char special[256] = {
        ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5};
    static const char *const ent[] = {"", "&amp;", "&lt;", "&gt;", "&#34;", "&#39;"};
    static const size_t entlen[] = {0, 5, 4, 4, 5, 5};
    if ((!b->ptr || b->cap - b->len <= n) && ph_buf_reserve(b, n) < 0)
        return PH_ENOMEM;
    size_t i = 0;
    while (i < n) {
        size_t st = i;
        while (i + 4 <= n && !(special[(unsigned char)s[i]] | special[(unsigned char)s[i + 1]] |
                               special[(unsigned char)s[i + 2]] | special[(unsigned char)s[i + 3]]))
            i += 4;
        while (i < n && !special[(unsigned char)s[i]])
            i++;
        if (i > st)
            out_append(b, s + st, i - st);
        if (i < n) {
            unsigned k = special[(unsigned char)s[i++]];
            out_append(b, ent[k], entlen[k]);
        }
    }
    return b->failed ? PH_ENOMEM : 0;
}

static inline int write_value(ph__rs *rs, ph_buf *out, const ph_value *v)
{
    int rc;
    switch (v->kind) {
    case PH_V_STR:
        if (ph__autoesc(rs) && !v->safe)
            rc = put_escaped(out, v->u.s.ptr, v->u.s.len);
        else {
            out_append(out, v->u.s.ptr, v->u.s.len);
            rc = out->failed ? PH_ENOMEM : 0;
        }
        break;
    case PH_V_INT: {
        char tmp[24], *end = tmp + sizeof tmp, *p = end;
        uint64_t u = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v->u.i < 0)
            *--p = '-';
        out_append(out, p, (size_t)(end - p));
        rc = out->failed ? PH_ENOMEM : 0;
        break;
    }
    case PH_V_UNDEFINED:
        return 0;
    default: {
        ph_slice s;
        if ((rc = ph__str_of(rs->arena, v, &s)) < 0)
            return ph__rs_error(rs, rc, "cannot print value");
        if (ph__autoesc(rs))
            rc = put_escaped(out, s.ptr, s.len);
        else
            rc = ph_buf_append(out, s.ptr, s.len);
    }
    }
    return rc < 0 ? oom(rs) : 0;
}

/* ---- arithmetic ---- */

static bool is_intlike(const ph_value *v)
{
    return v->kind == PH_V_INT || v->kind == PH_V_BOOL;
}
static int64_t ival(const ph_value *v)
{
    return v->kind == PH_V_INT ? v->u.i : v->u.b;
}
static bool is_number(const ph_value *v)
{
    return is_intlike(v) || v->kind == PH_V_FLOAT;
}
static double fval(const ph_value *v)
{
    return v->kind == PH_V_FLOAT ? v->u.f : (double)ival(v);
}

static const char *op_sym(ph__op op)
{
    static const char *const s[] = {"+",  "-",  "*", "/", "//", "%",  "**", "~",
                                    "==", "!=", "<", ">", "<=", ">=", "in", "not in"};
    return s[op];
}

static int concat_strs(ph__rs *rs, const ph_value *a, const ph_value *b, bool markup, ph_value *out)
{
    ph_value x = *a, y = *b;
    int rc;
    if (markup) {
        if ((rc = ph__escape(rs, a, &x)) < 0 || (rc = ph__escape(rs, b, &y)) < 0)
            return rc;
    } else {
        ph_slice s;
        if ((rc = ph__str_of(rs->arena, a, &s)) < 0)
            return oom(rs);
        x = ph_tpl_strn(s.ptr, s.len);
        if ((rc = ph__str_of(rs->arena, b, &s)) < 0)
            return oom(rs);
        y = ph_tpl_strn(s.ptr, s.len);
    }
    size_t n = x.u.s.len + y.u.s.len;
    char *p = ph_arena_alloc(rs->arena, n + 1);
    if (!p)
        return oom(rs);
    memcpy(p, x.u.s.ptr, x.u.s.len);
    memcpy(p + x.u.s.len, y.u.s.ptr, y.u.s.len);
    p[n] = '\0';
    *out = ph_tpl_strn(p, n);
    out->safe = markup;
    return 0;
}

int ph__contains(ph__rs *rs, const ph_value *x, const ph_value *seq, bool *res)
{
    *res = false;
    if (seq->kind == PH_V_STR) {
        if (x->kind != PH_V_STR)
            return ph__rs_error(rs, PH_ETYPE,
                                "'in <string>' requires string as left operand, not %s",
                                ph__kind_name(x));
        if (x->u.s.len == 0) {
            *res = true;
            return 0;
        }
        *res = memmem(seq->u.s.ptr, seq->u.s.len, x->u.s.ptr, x->u.s.len) != NULL;
        return 0;
    }
    if (seq->kind == PH_V_LIST) {
        for (size_t i = 0; i < seq->u.list->len; i++)
            if (ph__equal(x, &seq->u.list->items[i])) {
                *res = true;
                break;
            }
        return 0;
    }
    if (seq->kind == PH_V_MAP) {
        for (size_t i = 0; i < seq->u.map->len; i++)
            if (ph__equal(x, &seq->u.map->keys[i])) {
                *res = true;
                break;
            }
        return 0;
    }
    if (seq->kind == PH_V_MODELS) {
        if (x->kind == PH_V_MODEL)
            for (size_t i = 0; i < seq->u.ms.len; i++)
                if (seq->u.ms.items[i] == x->u.m.obj)
                    *res = true;
        return 0;
    }
    if (seq->kind == PH_V_UNDEFINED)
        return ph__rs_error(rs, PH_EUNDEFINED, "undefined value in 'in'");
    return ph__rs_error(rs, PH_ETYPE, "argument of type '%s' is not iterable", ph__kind_name(seq));
}

static int arith(ph__rs *rs, ph__op op, const ph_value *a, const ph_value *b, ph_value *out)
{
    if (op == OP_CONCAT)
        return concat_strs(rs, a, b,
                           ph__autoesc(rs) && ((a->kind == PH_V_STR && a->safe) ||
                                                   (b->kind == PH_V_STR && b->safe)),
                           out);
    if (a->kind == PH_V_UNDEFINED || b->kind == PH_V_UNDEFINED)
        return ph__rs_error(rs, PH_EUNDEFINED, "undefined value in '%s'", op_sym(op));
    if (is_intlike(a) && is_intlike(b)) {
        int64_t x = ival(a), y = ival(b), r;
        switch (op) {
        case OP_ADD:
            if (__builtin_add_overflow(x, y, &r))
                goto overflow;
            *out = ph_tpl_int(r);
            return 0;
        case OP_SUB:
            if (__builtin_sub_overflow(x, y, &r))
                goto overflow;
            *out = ph_tpl_int(r);
            return 0;
        case OP_MUL:
            if (__builtin_mul_overflow(x, y, &r))
                goto overflow;
            *out = ph_tpl_int(r);
            return 0;
        case OP_DIV:
            if (y == 0)
                return ph__rs_error(rs, PH_ETYPE, "division by zero");
            *out = ph_tpl_float((double)x / (double)y);
            return 0;
        case OP_FLOORDIV:
        case OP_MOD: {
            if (y == 0)
                return ph__rs_error(rs, PH_ETYPE, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1)
                goto overflow;
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q -= 1;
                m += y;
            }
            *out = ph_tpl_int(op == OP_MOD ? m : q);
            return 0;
        }
        case OP_POW: {
            if (y < 0) {
                if (x == 0)
                    return ph__rs_error(rs, PH_ETYPE, "0.0 cannot be raised to a negative power");
                *out = ph_tpl_float(pow((double)x, (double)y));
                return 0;
            }
            int64_t res = 1, base = x;
            while (y) {
                if (y & 1)
                    if (__builtin_mul_overflow(res, base, &res))
                        goto overflow;
                y >>= 1;
                if (y && __builtin_mul_overflow(base, base, &base))
                    goto overflow;
            }
            *out = ph_tpl_int(res);
            return 0;
        }
        default:
            break;
        }
    } else if (is_number(a) && is_number(b)) {
        double x = fval(a), y = fval(b);
        switch (op) {
        case OP_ADD:
            *out = ph_tpl_float(x + y);
            return 0;
        case OP_SUB:
            *out = ph_tpl_float(x - y);
            return 0;
        case OP_MUL:
            *out = ph_tpl_float(x * y);
            return 0;
        case OP_DIV:
            if (y == 0)
                return ph__rs_error(rs, PH_ETYPE, "float division by zero");
            *out = ph_tpl_float(x / y);
            return 0;
        case OP_FLOORDIV:
        case OP_MOD: {
            if (y == 0)
                return ph__rs_error(rs, PH_ETYPE, "float floor division or modulo by zero");
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0)))
                m += y;
            if (op == OP_MOD) {
                if (m == 0)
                    m = copysign(0.0, y);
                *out = ph_tpl_float(m);
            } else {
                double q = (x - m) / y;
                double fq = floor(q);
                if (q - fq > 0.5)
                    fq += 1;
                *out = ph_tpl_float(fq);
            }
            return 0;
        }
        case OP_POW:
            if (x == 0 && y < 0)
                return ph__rs_error(rs, PH_ETYPE, "0.0 cannot be raised to a negative power");
            if (x < 0 && floor(y) != y)
                return ph__rs_error(rs, PH_ETYPE, "complex result not supported");
            *out = ph_tpl_float(pow(x, y));
            return 0;
        default:
            break;
        }
    } else if (a->kind == PH_V_STR && b->kind == PH_V_STR && op == OP_ADD) {
        return concat_strs(rs, a, b, a->safe || b->safe, out);
    } else if (op == OP_MUL &&
               ((a->kind == PH_V_STR && is_intlike(b)) || (b->kind == PH_V_STR && is_intlike(a)))) {
        const ph_value *s = a->kind == PH_V_STR ? a : b;
        int64_t n = a->kind == PH_V_STR ? ival(b) : ival(a);
        if (n < 0)
            n = 0;
        if (s->u.s.len && (uint64_t)n > (64u << 20) / s->u.s.len)
            return ph__rs_error(rs, PH_ELIMIT, "string repetition too large");
        size_t len = s->u.s.len * (size_t)n;
        char *p = ph_arena_alloc(rs->arena, len + 1);
        if (!p)
            return oom(rs);
        for (int64_t i = 0; i < n; i++)
            memcpy(p + (size_t)i * s->u.s.len, s->u.s.ptr, s->u.s.len);
        p[len] = '\0';
        *out = ph_tpl_strn(p, len);
        out->safe = s->safe;
        return 0;
    } else if (a->kind == PH_V_LIST && b->kind == PH_V_LIST && op == OP_ADD) {
        *out = ph_tpl_list_new(rs->arena);
        for (size_t i = 0; i < a->u.list->len; i++)
            if (ph_tpl_list_push(rs->arena, out, a->u.list->items[i]) < 0)
                return oom(rs);
        for (size_t i = 0; i < b->u.list->len; i++)
            if (ph_tpl_list_push(rs->arena, out, b->u.list->items[i]) < 0)
                return oom(rs);
        return 0;
    } else if (a->kind == PH_V_STR && op == OP_MOD) {
        ph_buf buf;
        ph_buf_init(&buf, rs->arena);
        int rc;
        if (b->kind == PH_V_LIST)
            rc = ph__percent_format(rs, (ph_slice){a->u.s.ptr, a->u.s.len}, b->u.list->items,
                                    b->u.list->len, false, &buf);
        else
            rc = ph__percent_format(rs, (ph_slice){a->u.s.ptr, a->u.s.len}, b, 1, true, &buf);
        if (rc < 0)
            return rc;
        *out = ph_tpl_strn(buf.ptr ? buf.ptr : "", buf.len);
        return 0;
    }
    return ph__rs_error(rs, PH_ETYPE, "unsupported operand type(s) for %s: '%s' and '%s'",
                        op_sym(op), ph__kind_name(a), ph__kind_name(b));
overflow:
    return ph__rs_error(rs, PH_ERANGE, "integer overflow in '%s'", op_sym(op));
}

/* ---- evaluation ---- */

/* Inlined at every use: constants and names, most of what a page
 * evaluates, then cost no call (GCC stops inlining it on its own once the
 * file grows). */
static inline __attribute__((always_inline)) int eval(ph__rs *rs, const ph__expr *e,
                                                      ph_value *out);
static int render_body(ph__rs *rs, const ph__body *b, ph_buf *out);
static int render_root(ph__rs *rs, const ph__tpl *t, ph_buf *out);
static int render_isolated(ph__rs *rs, const ph__tpl *t, const ph_value *ctx, ph_buf *out,
                           ph_value *mod);

static int slice_value(ph__rs *rs, const ph__expr *e, const ph_value *obj, ph_value *out)
{
    ph_value sv[3];
    const ph__expr *pe[3] = {e->u.slice.start, e->u.slice.stop, e->u.slice.step};
    bool given[3];
    int64_t iv[3] = {0, 0, 1};
    for (int i = 0; i < 3; i++) {
        given[i] = pe[i] != NULL;
        if (!given[i])
            continue;
        int rc = eval(rs, pe[i], &sv[i]);
        if (rc < 0)
            return rc;
        if (sv[i].kind == PH_V_NONE) {
            given[i] = false;
            continue;
        }
        if (!is_intlike(&sv[i]))
            return ph__rs_error(rs, PH_ETYPE, "slice indices must be integers");
        iv[i] = ival(&sv[i]);
    }
    if (iv[2] == 0)
        return ph__rs_error(rs, PH_ETYPE, "slice step cannot be zero");
    ph_value *items;
    size_t n;
    if (obj->kind == PH_V_UNDEFINED) {
        *out = *obj;
        return 0;
    }
    if (obj->kind != PH_V_STR && obj->kind != PH_V_LIST && obj->kind != PH_V_MODELS)
        return ph__rs_error(rs, PH_ETYPE, "'%s' object is not subscriptable", ph__kind_name(obj));
    int rc = ph__iterate(rs, obj, &items, &n);
    if (rc < 0)
        return rc;
    int64_t len = (int64_t)n, step = iv[2], start, stop;
    if (step > 0) {
        start = given[0] ? iv[0] : 0;
        stop = given[1] ? iv[1] : len;
        if (start < 0)
            start += len;
        if (start < 0)
            start = 0;
        if (start > len)
            start = len;
        if (stop < 0)
            stop += len;
        if (stop < 0)
            stop = 0;
        if (stop > len)
            stop = len;
    } else {
        start = given[0] ? iv[0] : len - 1;
        stop = given[1] ? iv[1] : -1 - len;
        if (start < 0)
            start += len;
        if (start < -1)
            start = -1;
        if (start >= len)
            start = len - 1;
        if (stop < 0)
            stop += len;
        if (stop < -1)
            stop = -1;
        if (stop >= len)
            stop = len - 1;
    }
    if (obj->kind == PH_V_STR) {
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
            ph_buf_append(&b, items[i].u.s.ptr, items[i].u.s.len);
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        *out = ph_tpl_strn(b.ptr ? b.ptr : "", b.len);
        out->safe = obj->safe;
        return 0;
    }
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
        if (ph_tpl_list_push(rs->arena, out, items[i]) < 0)
            return oom(rs);
    return 0;
}

static int call_super(ph__rs *rs, ph_value *out)
{
    if (!rs->in_block)
        return ph__rs_error(rs, PH_EUNDEFINED, "'super' is undefined");
    for (size_t k = rs->block_level + 1; k < rs->nchain; k++) {
        const ph__node *b = ph__tpl_block(rs->chain[k], rs->block_name);
        if (!b)
            continue;
        size_t save_level = rs->block_level;
        const ph__tpl *save_tpl = rs->tpl;
        rs->block_level = k;
        rs->tpl = rs->chain[k];
        ph_buf buf;
        ph_buf_init(&buf, rs->arena);
        int rc = render_body(rs, &b->u.block.body, &buf);
        rs->block_level = save_level;
        rs->tpl = save_tpl;
        if (rc < 0)
            return rc;
        if (ph_buf_status(&buf) < 0)
            return oom(rs);
        *out = ph_tpl_strn(buf.ptr ? buf.ptr : "", buf.len);
        out->safe = ph__autoesc(rs);
        return 0;
    }
    return ph__rs_error(rs, PH_EUNDEFINED, "there is no parent block called '%.*s'",
                        (int)rs->block_name.len, rs->block_name.ptr);
}

static int eval_call(ph__rs *rs, const ph__expr *e, ph_value *out)
{
    const ph__expr *fe = e->u.call.fn;
    if (fe->kind == E_NAME && ph_slice_eq_cstr(fe->u.name, "super") && !lookup(rs, fe->u.name))
        return call_super(rs, out);
    ph_value fn;
    int rc;
    if (fe->kind == E_ATTR && fe->u.attr.name.len == 5 &&
        memcmp(fe->u.attr.name.ptr, "cycle", 5) == 0 && e->u.call.nkwargs == 0) {
        /* loop.cycle(...): evaluate only the argument it picks */
        ph_value obj;
        if ((rc = eval(rs, fe->u.attr.obj, &obj)) < 0)
            return rc;
        if (obj.kind == PH_V_LOOP && e->u.call.nargs > 0) {
            const ph__loop *l = obj.u.p;
            return eval(rs, e->u.call.args[l->index0 % e->u.call.nargs], out);
        }
        rs->line = fe->line;
        if ((rc = ph__getattr(rs, &obj, fe->u.attr.name, &fn)) < 0)
            return rc;
    } else if ((rc = eval(rs, fe, &fn)) < 0)
        return rc;
    size_t na = e->u.call.nargs, nk = e->u.call.nkwargs;
    ph_value *args = ph_arena_alloc(rs->arena, (na + 1) * sizeof(ph_value));
    ph_tpl_kwarg *kw = ph_arena_alloc(rs->arena, (nk + 1) * sizeof(ph_tpl_kwarg));
    if (!args || !kw)
        return oom(rs);
    for (size_t i = 0; i < na; i++)
        if ((rc = eval(rs, e->u.call.args[i], &args[i])) < 0)
            return rc;
    for (size_t i = 0; i < nk; i++) {
        kw[i].name = e->u.call.kwnames[i];
        if ((rc = eval(rs, e->u.call.kwargs[i], &kw[i].value)) < 0)
            return rc;
    }
    rs->line = e->line;
    if (fn.kind == PH_V_UNDEFINED)
        return undefined_error(rs, fe);
    return ph__call_value(rs, &fn, args, na, kw, nk, out);
}

static int eval_filter(ph__rs *rs, const ph__expr *e, ph_value *out)
{
    ph_value x, args[PH__TPL_MAX_FARGS];
    int rc = eval(rs, e->u.filter.x, &x);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PH__TPL_MAX_FARGS; i++) {
        if (e->u.filter.args[i]) {
            if ((rc = eval(rs, e->u.filter.args[i], &args[i])) < 0)
                return rc;
        } else {
            args[i].kind = PH_V_UNDEFINED;
            args[i].safe = false;
        }
    }
    rs->line = e->line;
    if ((rc = e->u.filter.def->fn(rs, e, &x, args, out)) < 0)
        return rc;
    if (e->kind == E_TEST && e->u.filter.negate)
        out->u.b = !out->u.b;
    return 0;
}

static int eval_slow(ph__rs *rs, const ph__expr *e, ph_value *out);

/* Evaluates e into *out.  0 or a negative code (message in rs). */
static inline __attribute__((always_inline)) int eval(ph__rs *rs, const ph__expr *e,
                                                      ph_value *out)
{
    /* leaves need no depth accounting */
    if (e->kind == E_CONST) {
        *out = e->u.cval;
        return 0;
    }
    if (e->kind == E_NAME) {
        const ph_value *v = lookup(rs, e->u.name);
        if (v) {
            *out = *v;
            return 0;
        }
    }
    /* name.attr on a model (a row's field in a loop): no frame either */
    if (e->kind == E_ATTR && e->u.attr.obj->kind == E_NAME) {
        const ph_value *v = lookup(rs, e->u.attr.obj->u.name);
        if (v && v->kind == PH_V_MODEL) {
            rs->line = e->line;
            return ph__getattr_expr(rs, v, e, out);
        }
    }
    return eval_slow(rs, e, out);
}

int ph__eval(ph__rs *rs, const ph__expr *e, ph_value *out)
{
    return eval(rs, e, out);
}

static int eval_slow(ph__rs *rs, const ph__expr *e, ph_value *out)
{
    if (++rs->depth > PH__TPL_MAX_RENDER_DEPTH) {
        rs->depth--;
        return ph__rs_error(rs, PH_ELIMIT, "maximum recursion depth exceeded");
    }
    int rc = 0;
    ph_value a, b;
    switch (e->kind) {
    case E_CONST:
        *out = e->u.cval;
        break;
    case E_NAME: {
        const ph_value *v = lookup(rs, e->u.name);
        if (v)
            *out = *v;
        else if (ph_slice_eq_cstr(e->u.name, "range") || ph_slice_eq_cstr(e->u.name, "dict") ||
                 ph_slice_eq_cstr(e->u.name, "namespace") ||
                 ph_slice_eq_cstr(e->u.name, "joiner") || ph_slice_eq_cstr(e->u.name, "cycler") ||
                 ph_slice_eq_cstr(e->u.name, "self")) {
            out->kind = PH_V_METHOD;
            ph__method *m = PH_ARENA_NEW(rs->arena, ph__method);
            if (!m) {
                rc = oom(rs);
                break;
            }
            m->self = ph_tpl_none();
            m->name = e->u.name;
            out->u.p = m;
            out->safe = false;
        } else
            *out = ph_tpl_undefined();
        break;
    }
    case E_ATTR:
        if ((rc = eval(rs, e->u.attr.obj, &a)) < 0)
            break;
        if (a.kind == PH_V_UNDEFINED && strict(rs)) {
            rs->line = e->line;
            rc = undefined_error(rs, e->u.attr.obj);
            break;
        }
        rs->line = e->line;
        rc = ph__getattr_expr(rs, &a, e, out);
        break;
    case E_ITEM:
        if ((rc = eval(rs, e->u.item.obj, &a)) < 0 || (rc = eval(rs, e->u.item.key, &b)) < 0)
            break;
        if (a.kind == PH_V_UNDEFINED && strict(rs)) {
            rs->line = e->line;
            rc = undefined_error(rs, e->u.item.obj);
            break;
        }
        rs->line = e->line;
        rc = ph__getitem(rs, &a, &b, out);
        break;
    case E_SLICE:
        if ((rc = eval(rs, e->u.slice.obj, &a)) < 0)
            break;
        rs->line = e->line;
        rc = slice_value(rs, e, &a, out);
        break;
    case E_BINOP:
        if ((rc = eval(rs, e->u.bin.l, &a)) < 0 || (rc = eval(rs, e->u.bin.r, &b)) < 0)
            break;
        rs->line = e->line;
        if (e->u.bin.op != OP_CONCAT && (a.kind == PH_V_UNDEFINED || b.kind == PH_V_UNDEFINED)) {
            rc = undefined_error(rs, a.kind == PH_V_UNDEFINED ? e->u.bin.l : e->u.bin.r);
            break;
        }
        rc = arith(rs, e->u.bin.op, &a, &b, out);
        break;
    case E_NEG:
    case E_POS:
        if ((rc = eval(rs, e->u.un, &a)) < 0)
            break;
        rs->line = e->line;
        if (a.kind == PH_V_INT || a.kind == PH_V_BOOL) {
            int64_t v = ival(&a);
            if (e->kind == E_NEG && v == INT64_MIN) {
                rc = ph__rs_error(rs, PH_ERANGE, "integer overflow");
                break;
            }
            *out = ph_tpl_int(e->kind == E_NEG ? -v : v);
        } else if (a.kind == PH_V_FLOAT)
            *out = ph_tpl_float(e->kind == E_NEG ? -a.u.f : a.u.f);
        else if (a.kind == PH_V_UNDEFINED)
            rc = undefined_error(rs, e->u.un);
        else
            rc = ph__rs_error(rs, PH_ETYPE, "bad operand type for unary %s: '%s'",
                              e->kind == E_NEG ? "-" : "+", ph__kind_name(&a));
        break;
    case E_NOT:
        if ((rc = eval(rs, e->u.un, &a)) < 0)
            break;
        *out = ph_tpl_bool(!ph__truthy(&a));
        break;
    case E_AND:
    case E_OR:
        if ((rc = eval(rs, e->u.bin.l, &a)) < 0)
            break;
        if (ph__truthy(&a) == (e->kind == E_OR))
            *out = a;
        else
            rc = eval(rs, e->u.bin.r, out);
        break;
    case E_COND:
        if ((rc = eval(rs, e->u.cond.c, &a)) < 0)
            break;
        if (ph__truthy(&a))
            rc = eval(rs, e->u.cond.a, out);
        else if (e->u.cond.b)
            rc = eval(rs, e->u.cond.b, out);
        else
            *out = ph_tpl_undefined();
        break;
    case E_CMP: {
        if ((rc = eval(rs, e->u.cmp.first, &a)) < 0)
            break;
        bool res = true;
        for (size_t i = 0; i < e->u.cmp.n && res; i++) {
            if ((rc = eval(rs, e->u.cmp.rest[i], &b)) < 0)
                break;
            rs->line = e->line;
            int c;
            switch (e->u.cmp.ops[i]) {
            case OP_EQ:
                res = ph__equal(&a, &b);
                break;
            case OP_NE:
                res = !ph__equal(&a, &b);
                break;
            case OP_IN:
            case OP_NOTIN:
                rc = ph__contains(rs, &a, &b, &res);
                if (e->u.cmp.ops[i] == OP_NOTIN)
                    res = !res;
                break;
            default:
                if ((rc = ph__compare(rs, &a, &b, &c)) < 0)
                    break;
                switch (e->u.cmp.ops[i]) {
                case OP_LT:
                    res = c < 0;
                    break;
                case OP_GT:
                    res = c > 0;
                    break;
                case OP_LE:
                    res = c <= 0;
                    break;
                default:
                    res = c >= 0;
                    break;
                }
            }
            if (rc < 0)
                break;
            a = b;
        }
        if (rc >= 0)
            *out = ph_tpl_bool(res);
        break;
    }
    case E_CALL:
        rc = eval_call(rs, e, out);
        break;
    case E_FILTER:
    case E_TEST:
        rc = eval_filter(rs, e, out);
        break;
    case E_LIST:
        *out = ph_tpl_list_new(rs->arena);
        if (out->kind != PH_V_LIST) {
            rc = oom(rs);
            break;
        }
        out->safe = e->u.list.tuple; /* on a list, `safe` marks a tuple */
        for (size_t i = 0; i < e->u.list.n && rc >= 0; i++) {
            if ((rc = eval(rs, e->u.list.items[i], &a)) < 0)
                break;
            if (ph_tpl_list_push(rs->arena, out, a) < 0)
                rc = oom(rs);
        }
        break;
    case E_DICT:
        *out = ph_tpl_map_new(rs->arena);
        if (out->kind != PH_V_MAP) {
            rc = oom(rs);
            break;
        }
        for (size_t i = 0; i < e->u.list.n && rc >= 0; i++) {
            if ((rc = eval(rs, e->u.list.items[i], &a)) < 0 ||
                (rc = eval(rs, e->u.list.vals[i], &b)) < 0)
                break;
            if (a.kind == PH_V_LIST || a.kind == PH_V_MAP) {
                rc = ph__rs_error(rs, PH_ETYPE, "unhashable type: '%s'", ph__kind_name(&a));
                break;
            }
            if (ph_tpl_map_set(rs->arena, out, a, b) < 0)
                rc = oom(rs);
        }
        break;
    }
    rs->depth--;
    return rc;
}

/* ---- macros and calls ---- */

/* Calls macro m (or, with cl, a call block's body in its call site's
 * scope; with bm, a macro of an imported template in that template's
 * scope), passing `caller` when given. */
static int call_macro_ex(ph__rs *rs, const ph__macro *m, ph_value *args, size_t nargs,
                         ph_tpl_kwarg *kw, size_t nkw, const ph_value *caller,
                         const ph__closure *cl, const ph__bmacro *bm, ph_value *out)
{
    if (nargs > m->nparams && !m->varargs)
        return ph__rs_error(rs, PH_ETYPE, "macro '%.*s' takes not more than %zu argument(s)",
                            (int)m->name.len, m->name.ptr, m->nparams);
    ph_value kwmap = {.kind = PH_V_UNDEFINED};
    for (size_t k = 0; k < nkw; k++) {
        size_t i;
        for (i = 0; i < m->nparams; i++)
            if (ph_slice_eq(m->params[i], kw[k].name))
                break;
        if (i == m->nparams) {
            if (!m->kwargs)
                return ph__rs_error(rs, PH_ETYPE, "macro '%.*s' takes no keyword argument '%.*s'",
                                    (int)m->name.len, m->name.ptr, (int)kw[k].name.len,
                                    kw[k].name.ptr);
            if (kwmap.kind != PH_V_MAP && (kwmap = ph_tpl_map_new(rs->arena)).kind != PH_V_MAP)
                return oom(rs);
            if (ph_tpl_map_set(rs->arena, &kwmap, ph_tpl_strn(kw[k].name.ptr, kw[k].name.len),
                               kw[k].value) < 0)
                return oom(rs);
            continue;
        }
        if (i < nargs)
            return ph__rs_error(rs, PH_ETYPE,
                                "macro '%.*s' got multiple values for argument '%.*s'",
                                (int)m->name.len, m->name.ptr, (int)kw[k].name.len, kw[k].name.ptr);
    }
    /* Markup when the caller autoescapes, as Jinja */
    bool esc = cl ? cl->autoescape : ph__autoesc(rs);
    size_t save_n = rs->nvars, save_floor = rs->floor, save_top = rs->top_end;
    size_t save_top_start = rs->top_start;
    bool save_top_flag = rs->in_toplevel, save_in_block = rs->in_block;
    bool save_hide = rs->hide_top;
    const ph_value *save_mod = rs->modvars, *save_ctx = rs->ctx;
    int save_esc = rs->esc_override;
    const ph__tpl *save_tpl = rs->tpl;
    int save_line = rs->line;
    if (rs->in_toplevel)
        rs->top_end = rs->nvars;
    rs->in_toplevel = false;
    rs->floor = rs->nvars;
    size_t save_sstart = rs->sstart;
    rs->sstart = rs->nvars;
    rs->tpl = m->tpl;
    rs->in_block = false;
    rs->esc_override = -1;
    int rc = 0;
    if (cl) {
        /* the call site's locals, copied into this frame; its top level */
        for (size_t i = cl->floor; i < cl->nvars && rc >= 0; i++)
            rc = push_var(rs, rs->vars[i].name, rs->vars[i].val);
        rs->top_start = cl->top_start;
        rs->top_end = cl->top_end;
        rs->hide_top = cl->hide_top;
        rs->modvars = cl->modvars;
        rs->ctx = cl->ctx;
    } else if (bm) {
        rs->hide_top = true;
        rs->modvars = bm->modvars;
        rs->ctx = bm->ctx;
    }
    if (caller && rc >= 0)
        rc = push_var(rs, PH_SLICE("caller"), *caller);
    for (size_t i = 0; i < m->nparams && rc >= 0; i++) {
        ph_value v = ph_tpl_undefined();
        bool have = false;
        if (i < nargs) {
            v = args[i];
            have = true;
        } else
            for (size_t k = 0; k < nkw; k++)
                if (ph_slice_eq(m->params[i], kw[k].name)) {
                    v = kw[k].value;
                    have = true;
                }
        if (!have && m->defaults[i])
            rc = eval(rs, m->defaults[i], &v);
        if (rc >= 0)
            rc = push_var(rs, m->params[i], v);
    }
    if (m->varargs && rc >= 0) {
        ph_value va = ph_tpl_list_new(rs->arena);
        va.safe = true; /* a tuple */
        for (size_t i = m->nparams; i < nargs && rc >= 0; i++)
            if (ph_tpl_list_push(rs->arena, &va, args[i]) < 0)
                rc = oom(rs);
        if (rc >= 0)
            rc = push_var(rs, PH_SLICE("varargs"), va);
    }
    if (m->kwargs && rc >= 0) {
        if (kwmap.kind != PH_V_MAP && (kwmap = ph_tpl_map_new(rs->arena)).kind != PH_V_MAP)
            rc = oom(rs);
        else
            rc = push_var(rs, PH_SLICE("kwargs"), kwmap);
    }
    ph_buf buf;
    ph_buf_init(&buf, rs->arena);
    if (rc >= 0)
        rc = render_body(rs, &m->body, &buf);
    rs->nvars = save_n;
    rs->floor = save_floor;
    rs->sstart = save_sstart;
    rs->top_end = save_top;
    rs->top_start = save_top_start;
    rs->in_toplevel = save_top_flag;
    rs->in_block = save_in_block;
    rs->hide_top = save_hide;
    rs->modvars = save_mod;
    rs->ctx = save_ctx;
    rs->esc_override = save_esc;
    rs->tpl = save_tpl;
    rs->line = save_line;
    if (rc < 0)
        return rc;
    if (ph_buf_status(&buf) < 0)
        return oom(rs);
    *out = ph_tpl_strn(buf.ptr ? buf.ptr : "", buf.len);
    out->safe = esc;
    return 0;
}

static int call_macro_value(ph__rs *rs, const ph_value *fn, ph_value *args, size_t nargs,
                            ph_tpl_kwarg *kw, size_t nkw, const ph_value *caller, ph_value *out)
{
    if (fn->safe) { /* bound to an imported template */
        const ph__bmacro *bm = fn->u.p;
        return call_macro_ex(rs, bm->m, args, nargs, kw, nkw, caller, NULL, bm, out);
    }
    return call_macro_ex(rs, fn->u.p, args, nargs, kw, nkw, caller, NULL, NULL, out);
}

static int loop_run(ph__rs *rs, const ph__node *n, const ph_value *seq, size_t depth0,
                    ph_buf *out);
static int render_block_by_name(ph__rs *rs, ph_slice name, ph_value *out);

int ph__call_method(ph__rs *rs, const ph__method *m, ph_value *args, size_t nargs, ph_tpl_kwarg *kw,
                    size_t nkw, ph_value *out);

int ph__call_value(ph__rs *rs, const ph_value *fn, ph_value *args, size_t nargs, ph_tpl_kwarg *kw,
                   size_t nkw, ph_value *out)
{
    switch (fn->kind) {
    case PH_V_FUNC: {
        ph_tpl_call call = {.userdata = fn->u.fn.userdata,
                            .render_userdata = rs->opts ? rs->opts->userdata : NULL,
                            .arena = rs->arena,
                            .args = args,
                            .nargs = nargs,
                            .kwargs = kw,
                            .nkwargs = nkw};
        *out = ph_tpl_none();
        int rc = fn->u.fn.fn(&call, out);
        if (rc < 0)
            return ph__rs_error(rs, rc, "%s", call.errmsg ? call.errmsg : ph_strerror(rc));
        return 0;
    }
    case PH_V_MACRO:
        return call_macro_value(rs, fn, args, nargs, kw, nkw, NULL, out);
    case PH_V_CALLER: {
        const ph__closure *cl = fn->u.p;
        return call_macro_ex(rs, cl->m, args, nargs, kw, nkw, NULL, cl, NULL, out);
    }
    case PH_V_LOOP: { /* loop(children) in a recursive for */
        const ph__loop *l = fn->u.p;
        if (!l->node || !l->node->u.loop.recursive)
            return ph__rs_error(rs, PH_ETYPE,
                                "Tried to call non recursive loop.  Maybe you forgot the "
                                "'recursive' modifier.");
        if (nargs != 1 || nkw)
            return ph__rs_error(rs, PH_ETYPE, "loop() takes exactly one argument");
        ph_buf buf;
        ph_buf_init(&buf, rs->arena);
        int rc = loop_run(rs, l->node, &args[0], l->depth0 + 1, &buf);
        if (rc < 0)
            return rc;
        if (ph_buf_status(&buf) < 0)
            return oom(rs);
        *out = ph_tpl_strn(buf.ptr ? buf.ptr : "", buf.len);
        out->safe = ph__autoesc(rs);
        return 0;
    }
    case PH_V_METHOD: {
        const ph__method *m = fn->u.p;
        if (ph_slice_eq_cstr(m->name, "\x01block")) /* self.name() */
            return render_block_by_name(rs, (ph_slice){m->self.u.s.ptr, m->self.u.s.len}, out);
        return ph__call_method(rs, fn->u.p, args, nargs, kw, nkw, out);
    }
    case PH_V_UNDEFINED:
        return ph__rs_error(rs, PH_EUNDEFINED, "undefined value is not callable");
    default:
        return ph__rs_error(rs, PH_ETYPE, "'%s' object is not callable", ph__kind_name(fn));
    }
}

/* ---- statements ---- */

static int assign(ph__rs *rs, const ph_slice *names, int nnames, const ph_value *v, size_t sstart)
{
    if (nnames == 1)
        return set_var(rs, names[0], *v, sstart);
    ph_value *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    if (n != (size_t)nnames)
        return ph__rs_error(rs, PH_ETYPE, "cannot unpack %zu values into %d names", n, nnames);
    for (int i = 0; i < nnames; i++)
        if ((rc = set_var(rs, names[i], items[i], sstart)) < 0)
            return rc;
    return 0;
}

/* Enters a non-opaque scope (for, block, include, with). */
static void scope_enter(ph__rs *rs, scope_save *s)
{
    s->nvars = rs->nvars;
    s->floor = rs->floor;
    s->top_end = rs->top_end;
    s->in_toplevel = rs->in_toplevel;
    if (rs->in_toplevel)
        rs->top_end = rs->nvars;
    rs->in_toplevel = false;
    s->sstart = rs->sstart;
    rs->sstart = rs->nvars;
}

static void scope_leave(ph__rs *rs, const scope_save *s)
{
    rs->nvars = s->nvars;
    rs->floor = s->floor;
    rs->top_end = s->top_end;
    rs->in_toplevel = s->in_toplevel;
    rs->sstart = s->sstart;
}

/* Row i of a list of models walked in place, as ph_tpl_model makes it (a
 * NULL row is None), without the call. */
static inline ph_value model_item(const ph_value *seq, size_t i)
{
    void *obj = seq->u.ms.items[i];
    if (!obj || !seq->u.ms.model)
        return ph_tpl_none();
    return (ph_value){.kind = PH_V_MODEL, .u.m = {.model = seq->u.ms.model, .obj = obj}};
}

/* Runs the body of for-node n over seq (the else body when nothing is
 * left after the loop's filter); depth0 counts recursive loop() calls. */
static int loop_run(ph__rs *rs, const ph__node *n, const ph_value *seq, size_t depth0,
                    ph_buf *out)
{
    ph_value *items = NULL;
    size_t count;
    int rc = 0;
    rs->line = n->line;
    /* model objects (a query's rows) are walked in place, not copied */
    bool in_place = seq->kind == PH_V_MODELS && !n->u.loop.filter;
    if (in_place)
        count = seq->u.ms.len;
    else if ((rc = ph__iterate(rs, seq, &items, &count)) < 0)
        return rc;
    /* items of a map are its keys; take a stable copy when filtering */
    scope_save sv;
    scope_enter(rs, &sv);
    size_t sstart = rs->nvars;
    if (n->u.loop.filter) {
        ph_value *kept = ph_arena_alloc(rs->arena, (count + 1) * sizeof(ph_value));
        if (!kept) {
            scope_leave(rs, &sv);
            return oom(rs);
        }
        size_t k = 0;
        for (size_t i = 0; i < count && rc >= 0; i++) {
            rs->nvars = sstart;
            if ((rc = assign(rs, n->u.loop.names, n->u.loop.nnames, &items[i], sstart)) < 0)
                break;
            ph_value c;
            if ((rc = eval(rs, n->u.loop.filter, &c)) < 0)
                break;
            if (ph__truthy(&c))
                kept[k++] = items[i];
        }
        if (rc < 0) {
            scope_leave(rs, &sv);
            return rc;
        }
        items = kept;
        count = k;
    }
    ph__loop *lp = PH_ARENA_NEW(rs->arena, ph__loop);
    if (!lp) {
        scope_leave(rs, &sv);
        return oom(rs);
    }
    lp->length = count;
    lp->items = items;
    if (in_place)
        lp->models = *seq;
    lp->node = n;
    lp->depth0 = depth0;
    ph_value loopv = {.kind = PH_V_LOOP, .u.p = lp};
    for (size_t i = 0; i < count; i++) {
        rs->nvars = sstart;
        lp->index0 = i;
        if ((rc = push_var(rs, PH_SLICE("loop"), loopv)) < 0)
            break;
        ph_value item = in_place ? model_item(seq, i) : items[i];
        /* the scope is empty but for loop: one target needs no search */
        if (n->u.loop.nnames == 1)
            rc = push_var(rs, n->u.loop.names[0], item);
        else
            rc = assign(rs, n->u.loop.names, n->u.loop.nnames, &item, sstart);
        if (rc < 0)
            break;
        if ((rc = render_body(rs, &n->u.loop.body, out)) < 0)
            break;
    }
    scope_leave(rs, &sv);
    if (rc >= 0 && count == 0)
        rc = render_body(rs, &n->u.loop.els, out);
    return rc;
}

static int render_for(ph__rs *rs, const ph__node *n, ph_buf *out)
{
    ph_value seq;
    int rc = eval(rs, n->u.loop.iter, &seq);
    if (rc < 0)
        return rc;
    return loop_run(rs, n, &seq, 0, out);
}

static const ph__tpl *resolve(ph__rs *rs, const ph__node *n, bool *missing_ok)
{
    if (n->u.inc.target)
        return n->u.inc.target;
    ph_value v;
    if (eval(rs, n->u.inc.name, &v) < 0)
        return NULL;
    rs->line = n->line;
    if (v.kind == PH_V_LIST) { /* the first that exists */
        for (size_t i = 0; i < v.u.list->len; i++) {
            const ph_value *x = &v.u.list->items[i];
            if (x->kind == PH_V_STR) {
                const ph__tpl *t = ph__set_find(rs->set, (ph_slice){x->u.s.ptr, x->u.s.len});
                if (t)
                    return t;
            }
        }
    } else if (v.kind == PH_V_STR) {
        const ph__tpl *t = ph__set_find(rs->set, (ph_slice){v.u.s.ptr, v.u.s.len});
        if (t)
            return t;
    }
    if (missing_ok && *missing_ok) {
        *missing_ok = false; /* tells the caller: nothing to do */
        return NULL;
    }
    ph_slice s;
    if (ph__str_of(rs->arena, &v, &s) < 0)
        s = PH_SLICE("?");
    ph__rs_error(rs, PH_ENOTFOUND, "template '%.*s' not found", (int)s.len, s.ptr);
    return NULL;
}

/* Renders t in a fresh top level that sees ctx (a map or NULL) and the
 * globals but none of the render's variables: an include without context,
 * or an imported template.  With mod, the variables t set at its top level
 * are collected into a new map *mod (names starting with '_' stay private,
 * as in Jinja), its macros bound to that map.  The render state is
 * restored on return. */
static int render_isolated(ph__rs *rs, const ph__tpl *t, const ph_value *ctx, ph_buf *out,
                           ph_value *mod)
{
    ph__rs save = *rs;
    rs->floor = rs->sstart = rs->top_start = rs->top_end = rs->nvars;
    rs->in_toplevel = true;
    rs->hide_top = false;
    rs->modvars = NULL;
    rs->ctx = ctx;
    rs->esc_override = -1;
    rs->in_block = false;
    int rc = render_root(rs, t, out);
    if (rc >= 0 && mod) {
        ph_value *mp = PH_ARENA_NEW(rs->arena, ph_value);
        if (!mp)
            rc = oom(rs);
        else if ((*mp = ph_tpl_map_new(rs->arena)).kind != PH_V_MAP)
            rc = oom(rs);
        for (size_t i = save.nvars; i < rs->nvars && rc >= 0; i++) {
            ph__var *v = &rs->vars[i];
            if (v->name.len && v->name.ptr[0] == '_')
                continue;
            ph_value val = v->val;
            if (val.kind == PH_V_MACRO && !val.safe) {
                ph__bmacro *bm = PH_ARENA_NEW(rs->arena, ph__bmacro);
                if (!bm) {
                    rc = oom(rs);
                    break;
                }
                bm->m = val.u.p;
                bm->modvars = mp;
                bm->ctx = ctx;
                val.u.p = bm;
                val.safe = true; /* bound */
            }
            if (ph_tpl_map_set(rs->arena, mp, ph_tpl_strn(v->name.ptr, v->name.len), val) < 0)
                rc = oom(rs);
        }
        if (rc >= 0)
            *mod = *mp;
    }
    const char *errmsg = rs->errmsg;
    ph__var *vars = rs->vars;
    size_t capvars = rs->capvars;
    *rs = save;
    rs->errmsg = errmsg;
    rs->vars = vars; /* the array may have moved while growing */
    rs->capvars = capvars;
    return rc;
}

/* self.name(): block name as the most derived template defines it. */
static int render_block_by_name(ph__rs *rs, ph_slice name, ph_value *out)
{
    for (size_t k = 0; k < rs->nchain; k++) {
        const ph__node *d = ph__tpl_block(rs->chain[k], name);
        if (!d)
            continue;
        ph__rs save = *rs;
        bool esc = ph__autoesc(rs);
        scope_save sv;
        scope_enter(rs, &sv);
        rs->block_level = k;
        rs->block_name = name;
        rs->in_block = true;
        rs->tpl = rs->chain[k];
        rs->esc_override = -1;
        ph_buf buf;
        ph_buf_init(&buf, rs->arena);
        int rc = render_body(rs, &d->u.block.body, &buf);
        scope_leave(rs, &sv);
        const char *errmsg = rs->errmsg;
        ph__var *vars = rs->vars;
        size_t capvars = rs->capvars;
        *rs = save;
        rs->errmsg = errmsg;
        rs->vars = vars;
        rs->capvars = capvars;
        if (rc < 0)
            return rc;
        if (ph_buf_status(&buf) < 0)
            return oom(rs);
        *out = ph_tpl_strn(buf.ptr ? buf.ptr : "", buf.len);
        out->safe = esc;
        return 0;
    }
    return ph__rs_error(rs, PH_EUNDEFINED, "no block named '%.*s'", (int)name.len, name.ptr);
}

static int render_node(ph__rs *rs, const ph__node *n, ph_buf *out)
{
    int rc = 0;
    rs->line = n->line;
    if (rs->suppress) {
        /* after extends: only definitions run */
        if (n->kind != N_SET && n->kind != N_MACRO && n->kind != N_SETBLOCK && n->kind != N_IMPORT)
            return 0;
    }
    switch (n->kind) {
    case N_TEXT:
        out_append(out, n->u.text.ptr, n->u.text.len);
        return out->failed ? oom(rs) : 0;
    case N_OUTPUT: {
        ph_value v;
        if ((rc = eval(rs, n->u.expr, &v)) < 0)
            return rc;
        if (v.kind == PH_V_UNDEFINED && strict(rs)) {
            rs->line = n->line;
            return undefined_error(rs, n->u.expr);
        }
        return write_value(rs, out, &v);
    }
    case N_IF:
        for (size_t i = 0; i < n->u.ifs.n; i++) {
            ph_value c;
            if ((rc = eval(rs, n->u.ifs.conds[i], &c)) < 0)
                return rc;
            if (c.kind == PH_V_UNDEFINED && strict(rs))
                return undefined_error(rs, n->u.ifs.conds[i]);
            if (ph__truthy(&c))
                return render_body(rs, &n->u.ifs.bodies[i], out);
        }
        return render_body(rs, &n->u.ifs.els, out);
    case N_FOR:
        return render_for(rs, n, out);
    case N_SET: {
        ph_value v;
        if ((rc = eval(rs, n->u.set.value, &v)) < 0)
            return rc;
        if (n->u.set.attr.len) {
            ph_value *ns = (ph_value *)lookup(rs, n->u.set.names[0]);
            rs->line = n->line;
            if (!ns || ns->kind != PH_V_MAP || ns->safe != true)
                return ph__rs_error(rs, PH_ETYPE,
                                    "cannot assign attribute on non-namespace object");
            /* namespaces are made per render, in the render arena */
            if (ph_tpl_map_set(rs->arena, ns, ph_tpl_strn(n->u.set.attr.ptr, n->u.set.attr.len),
                               v) < 0)
                return oom(rs);
            return 0;
        }
        return assign(rs, n->u.set.names, n->u.set.nnames, &v, scope_start_of(rs));
    }
    case N_SETBLOCK: {
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        bool sup = rs->suppress;
        rs->suppress = false;
        rc = render_body(rs, &n->u.set.body, &b);
        rs->suppress = sup;
        if (rc < 0)
            return rc;
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        ph_value v = ph_tpl_strn(b.ptr ? b.ptr : "", b.len);
        v.safe = ph__autoesc(rs);
        if (n->u.set.chain) { /* {% set x | filter %} */
            size_t save_n = rs->nvars;
            if ((rc = push_var(rs, PH_SLICE(PH__FILTERBLOCK_VAR), v)) < 0)
                return rc;
            rc = eval(rs, n->u.set.chain, &v);
            rs->nvars = save_n;
            if (rs->in_toplevel)
                rs->top_end = rs->nvars;
            if (rc < 0)
                return rc;
        }
        return set_var(rs, n->u.set.names[0], v, scope_start_of(rs));
    }
    case N_MACRO: {
        ph_value v = {.kind = PH_V_MACRO, .u.p = n->u.macro};
        return set_var(rs, n->u.macro->name, v, scope_start_of(rs));
    }
    case N_WITH: {
        scope_save sv;
        scope_enter(rs, &sv);
        rs->floor = sv.floor; /* lookups unchanged */
        for (size_t i = 0; i < n->u.with.n && rc >= 0; i++) {
            ph_value v;
            if ((rc = eval(rs, n->u.with.vals[i], &v)) >= 0)
                rc = push_var(rs, n->u.with.names[i], v);
        }
        if (rc >= 0)
            rc = render_body(rs, &n->u.with.body, out);
        scope_leave(rs, &sv);
        return rc;
    }
    case N_BLOCK: {
        size_t level = 0;
        const ph__node *def = n;
        for (size_t k = 0; k < rs->nchain; k++) {
            const ph__node *d = ph__tpl_block(rs->chain[k], n->u.block.name);
            if (d) {
                def = d;
                level = k;
                break;
            }
        }
        size_t save_level = rs->block_level;
        ph_slice save_name = rs->block_name;
        bool save_in = rs->in_block;
        const ph__tpl *save_tpl = rs->tpl;
        scope_save sv;
        scope_enter(rs, &sv);
        rs->block_level = level;
        rs->block_name = n->u.block.name;
        rs->in_block = true;
        if (rs->nchain)
            rs->tpl = rs->chain[level];
        rc = render_body(rs, &def->u.block.body, out);
        scope_leave(rs, &sv);
        rs->block_level = save_level;
        rs->block_name = save_name;
        rs->in_block = save_in;
        rs->tpl = save_tpl;
        return rc;
    }
    case N_INCLUDE: {
        bool missing_ok = n->u.inc.ignore_missing;
        const ph__tpl *t = resolve(rs, n, &missing_ok);
        if (!t)
            return (n->u.inc.ignore_missing && !missing_ok && !rs->errmsg) ? 0 : PH_ENOTFOUND;
        if (n->u.inc.context == 0) /* without context: globals only */
            return render_isolated(rs, t, NULL, out, NULL);
        const ph__tpl **save_chain = rs->chain;
        size_t save_nchain = rs->nchain, save_level = rs->block_level;
        bool save_in = rs->in_block;
        ph_slice save_name = rs->block_name;
        const ph__tpl *save_tpl = rs->tpl;
        scope_save sv;
        scope_enter(rs, &sv);
        rs->in_block = false;
        /* an included template sees the caller's variables but not its loop */
        rc = push_var(rs, PH_SLICE("loop"), ph_tpl_undefined());
        if (rc >= 0)
            rc = render_root(rs, t, out);
        scope_leave(rs, &sv);
        rs->chain = save_chain;
        rs->nchain = save_nchain;
        rs->block_level = save_level;
        rs->in_block = save_in;
        rs->block_name = save_name;
        rs->tpl = save_tpl;
        rs->suppress = false;
        return rc;
    }
    case N_IMPORT: {
        const ph__tpl *t = resolve(rs, n, NULL);
        if (!t)
            return PH_ENOTFOUND;
        /* Jinja imports without context unless told otherwise */
        ph_value mod;
        ph_buf scratch;
        ph_buf_init(&scratch, rs->arena);
        if ((rc = render_isolated(rs, t, n->u.inc.context == 1 ? rs->ctx : NULL, &scratch, &mod)) <
            0)
            return rc;
        rs->line = n->line;
        if (n->u.inc.nnames == 0)
            return set_var(rs, n->u.inc.alias, mod, scope_start_of(rs));
        for (size_t i = 0; i < n->u.inc.nnames; i++) {
            /* a name the module lacks is undefined (Jinja errors on use) */
            const ph_value *v = ph_tpl_map_get(&mod, n->u.inc.names[i]);
            ph_value undef = ph_tpl_undefined();
            if ((rc = set_var(rs, n->u.inc.aliases[i], v ? *v : undef, scope_start_of(rs))) < 0)
                return rc;
        }
        return 0;
    }
    case N_AUTOESCAPE: {
        ph_value on;
        if ((rc = eval(rs, n->u.autoesc.on, &on)) < 0)
            return rc;
        int save = rs->esc_override;
        rs->esc_override = ph__truthy(&on);
        rc = render_body(rs, &n->u.autoesc.body, out);
        rs->esc_override = save;
        return rc;
    }
    case N_FILTERBLOCK: {
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        scope_save sv;
        scope_enter(rs, &sv);
        rc = render_body(rs, &n->u.fblock.body, &b);
        if (rc >= 0 && ph_buf_status(&b) < 0)
            rc = oom(rs);
        ph_value body = ph_tpl_strn(b.ptr ? b.ptr : "", b.len), v;
        body.safe = ph__autoesc(rs);
        if (rc >= 0)
            rc = push_var(rs, PH_SLICE(PH__FILTERBLOCK_VAR), body);
        if (rc >= 0 && (rc = eval(rs, n->u.fblock.chain, &v)) >= 0)
            rc = write_value(rs, out, &v);
        scope_leave(rs, &sv);
        return rc;
    }
    case N_CALLBLOCK: {
        const ph__expr *ce = n->u.cblock.call;
        ph_value fn;
        if ((rc = eval(rs, ce->u.call.fn, &fn)) < 0)
            return rc;
        size_t na = ce->u.call.nargs, nk = ce->u.call.nkwargs;
        ph_value *args = ph_arena_alloc(rs->arena, (na + 1) * sizeof(ph_value));
        ph_tpl_kwarg *kw = ph_arena_alloc(rs->arena, (nk + 1) * sizeof(ph_tpl_kwarg));
        ph__closure *cl = PH_ARENA_NEW(rs->arena, ph__closure);
        if (!args || !kw || !cl)
            return oom(rs);
        for (size_t i = 0; i < na; i++)
            if ((rc = eval(rs, ce->u.call.args[i], &args[i])) < 0)
                return rc;
        for (size_t i = 0; i < nk; i++) {
            kw[i].name = ce->u.call.kwnames[i];
            if ((rc = eval(rs, ce->u.call.kwargs[i], &kw[i].value)) < 0)
                return rc;
        }
        rs->line = n->line;
        if (fn.kind != PH_V_MACRO)
            return ph__rs_error(rs, PH_ETYPE, "{%% call %%} needs a macro");
        cl->m = n->u.cblock.caller;
        cl->floor = rs->floor;
        cl->nvars = rs->nvars;
        cl->top_start = rs->top_start;
        cl->top_end = rs->in_toplevel ? rs->nvars : rs->top_end;
        cl->autoescape = ph__autoesc(rs);
        cl->hide_top = rs->hide_top;
        cl->modvars = rs->modvars;
        cl->ctx = rs->ctx;
        ph_value callerv = {.kind = PH_V_CALLER, .u.p = cl};
        ph_value v;
        if ((rc = call_macro_value(rs, &fn, args, na, kw, nk, &callerv, &v)) < 0)
            return rc;
        return write_value(rs, out, &v);
    }
    case N_EXTENDS:
        return 0; /* handled by render_root */
    }
    return 0;
}

static int render_body(ph__rs *rs, const ph__body *b, ph_buf *out)
{
    if (++rs->depth > PH__TPL_MAX_RENDER_DEPTH) {
        rs->depth--;
        return ph__rs_error(rs, PH_ELIMIT, "maximum recursion depth exceeded");
    }
    int rc = 0;
    for (size_t i = 0; i < b->n && rc >= 0; i++) {
        const ph__node *n = b->items[i];
        /* the two common nodes inline; the rest in render_node */
        if (n->kind == N_TEXT && !rs->suppress) {
            out_append(out, n->u.text.ptr, n->u.text.len);
        } else if (n->kind == N_OUTPUT && !rs->suppress && !strict(rs)) {
            ph_value v;
            rs->line = n->line;
            if ((rc = eval(rs, n->u.expr, &v)) >= 0)
                rc = write_value(rs, out, &v);
        } else
            rc = render_node(rs, n, out);
    }
    rs->depth--;
    if (rc >= 0 && out->failed)
        rc = oom(rs);
    return rc;
}

#define PH__TPL_MAX_CHAIN 32

/* Renders t as a root: runs its top level; when it extends another
 * template, output stops at the extends and the parent renders with t's
 * blocks in the chain. */
static int render_root(ph__rs *rs, const ph__tpl *t, ph_buf *out)
{
    const ph__tpl **chain = ph_arena_alloc(rs->arena, PH__TPL_MAX_CHAIN * sizeof(*chain));
    if (!chain)
        return oom(rs);
    rs->chain = chain;
    rs->nchain = 0;
    int rc = 0;
    while (t) {
        if (rs->nchain == PH__TPL_MAX_CHAIN)
            return ph__rs_error(rs, PH_ELIMIT, "template inheritance too deep (or circular)");
        chain[rs->nchain++] = t;
        rs->tpl = t;
        rs->suppress = false;
        const ph__tpl *parent = NULL;
        if (++rs->depth > PH__TPL_MAX_RENDER_DEPTH) {
            rs->depth--;
            return ph__rs_error(rs, PH_ELIMIT, "maximum recursion depth exceeded");
        }
        for (size_t i = 0; i < t->body.n && rc >= 0; i++) {
            const ph__node *n = t->body.items[i];
            if (n->kind == N_EXTENDS) {
                if (parent || rs->suppress) {
                    rs->line = n->line;
                    rc = ph__rs_error(rs, PH_EPARSE, "extended multiple times");
                    break;
                }
                rs->line = n->line;
                if (!(parent = resolve(rs, n, NULL))) {
                    rc = PH_ENOTFOUND;
                    break;
                }
                rs->suppress = true;
                continue;
            }
            rc = render_node(rs, n, out);
        }
        rs->depth--;
        rs->suppress = false;
        if (rc < 0)
            return rc;
        t = parent;
    }
    return ph_buf_status(out) < 0 ? oom(rs) : 0;
}

int ph__render_tpl(const ph_tpl_set *set, const ph__tpl *t, const ph_tpl_ctx *ctx,
                   const ph_tpl_render_opts *opts, ph_arena *arena, ph_buf *out,
                   const char **errmsg);
int ph__render_tpl(const ph_tpl_set *set, const ph__tpl *t, const ph_tpl_ctx *ctx,
                   const ph_tpl_render_opts *opts, ph_arena *arena, ph_buf *out,
                   const char **errmsg)
{
    ph__rs rs = {.set = set,
                 .opts = opts,
                 .arena = arena,
                 .ctx = ctx ? ph_tpl_ctx_vars(ctx) : NULL,
                 .in_toplevel = true,
                 .esc_override = -1,
                 .tpl = t};
    if (out->cap - out->len < 8192)
        ph_buf_reserve(out, 8192); /* fewer regrowths for a typical page */
    int rc = render_root(&rs, t, out);
    if (errmsg)
        *errmsg = rc < 0 ? rs.errmsg : NULL;
    return rc;
}
