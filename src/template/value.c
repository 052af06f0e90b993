/*
 * Template values: constructors, lists and maps in arenas, render contexts,
 * str() and repr() as Python prints them (floats as shortest round-trip
 * repr), equality and ordering with Python semantics, attribute and item
 * lookup (including model objects read through their descriptor and
 * relationships loaded through the render's loader callback), and the
 * conversion of JSON contexts.
 */
#include "internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ph_value ph_tpl_undefined(void)
{
    return (ph_value){.kind = PH_V_UNDEFINED};
}
ph_value ph_tpl_none(void)
{
    return (ph_value){.kind = PH_V_NONE};
}
ph_value ph_tpl_bool(bool b)
{
    return (ph_value){.kind = PH_V_BOOL, .u.b = b};
}
ph_value ph_tpl_int(int64_t i)
{
    return (ph_value){.kind = PH_V_INT, .u.i = i};
}
ph_value ph_tpl_float(double f)
{
    return (ph_value){.kind = PH_V_FLOAT, .u.f = f};
}

ph_value ph_tpl_strn(const char *s, size_t n)
{
    ph_value v = {.kind = PH_V_STR};
    v.u.s.ptr = s ? s : "";
    v.u.s.len = s ? n : 0;
    return v;
}

ph_value ph_tpl_str(const char *s)
{
    return s ? ph_tpl_strn(s, strlen(s)) : ph_tpl_none();
}

ph_value ph_tpl_safe(const char *s)
{
    ph_value v = ph_tpl_str(s);
    if (v.kind == PH_V_STR)
        v.safe = true;
    return v;
}

ph_value ph_tpl_model(const ph_model *m, void *obj)
{
    if (!obj || !m)
        return ph_tpl_none();
    ph_value v = {.kind = PH_V_MODEL};
    v.u.m.model = m;
    v.u.m.obj = obj;
    return v;
}

ph_value ph_tpl_models(const ph_model *m, void *const *objs, size_t n)
{
    ph_value v = {.kind = PH_V_MODELS};
    v.u.ms.model = m;
    v.u.ms.items = objs;
    v.u.ms.len = objs ? n : 0;
    return v;
}

ph_value ph_tpl_func(ph_tpl_fn fn, void *userdata)
{
    ph_value v = {.kind = PH_V_FUNC};
    v.u.fn.fn = fn;
    v.u.fn.userdata = userdata;
    return v;
}

ph_value ph_tpl_list_new(ph_arena *a)
{
    ph_vlist *l = PH_ARENA_NEW(a, ph_vlist);
    if (!l)
        return ph_tpl_none();
    return (ph_value){.kind = PH_V_LIST, .u.list = l};
}

ph_value ph_tpl_map_new(ph_arena *a)
{
    ph_vmap *m = PH_ARENA_NEW(a, ph_vmap);
    if (!m)
        return ph_tpl_none();
    return (ph_value){.kind = PH_V_MAP, .u.map = m};
}

int ph_tpl_list_push(ph_arena *a, ph_value *list, ph_value item)
{
    if (list->kind != PH_V_LIST)
        return PH_ETYPE;
    ph_vlist *l = list->u.list;
    if (l->len == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        ph_value *ni = ph_arena_alloc(a, nc * sizeof(ph_value));
        if (!ni)
            return PH_ENOMEM;
        if (l->len)
            memcpy(ni, l->items, l->len * sizeof(ph_value));
        l->items = ni;
        l->cap = nc;
    }
    l->items[l->len++] = item;
    return 0;
}

static ph_value *map_find(const ph_vmap *m, const ph_value *key)
{
    for (size_t i = 0; i < m->len; i++)
        if (ph__equal(&m->keys[i], key))
            return &m->vals[i];
    return NULL;
}

int ph_tpl_map_set(ph_arena *a, ph_value *map, ph_value key, ph_value val)
{
    if (map->kind != PH_V_MAP)
        return PH_ETYPE;
    ph_vmap *m = map->u.map;
    ph_value *old = map_find(m, &key);
    if (old) {
        *old = val;
        return 0;
    }
    if (m->len == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        ph_value *nk = ph_arena_alloc(a, nc * sizeof(ph_value));
        ph_value *nv = ph_arena_alloc(a, nc * sizeof(ph_value));
        if (!nk || !nv)
            return PH_ENOMEM;
        if (m->len) {
            memcpy(nk, m->keys, m->len * sizeof(ph_value));
            memcpy(nv, m->vals, m->len * sizeof(ph_value));
        }
        m->keys = nk;
        m->vals = nv;
        m->cap = nc;
    }
    m->keys[m->len] = key;
    m->vals[m->len] = val;
    m->len++;
    return 0;
}

int ph_tpl_map_set_cstr(ph_arena *a, ph_value *map, const char *key, ph_value val)
{
    return ph_tpl_map_set(a, map, ph_tpl_str(key), val);
}

const ph_value *ph_tpl_map_get(const ph_value *map, ph_slice key)
{
    if (!map || map->kind != PH_V_MAP)
        return NULL;
    const ph_vmap *m = map->u.map;
    for (size_t i = 0; i < m->len; i++) {
        const ph_value *k = &m->keys[i];
        if (k->kind == PH_V_STR && k->u.s.len == key.len &&
            memcmp(k->u.s.ptr, key.ptr, key.len) == 0)
            return &m->vals[i];
    }
    return NULL;
}

static int value_copy(ph_arena *a, const ph_value *v, ph_value *out, int depth)
{
    if (depth > 200)
        return PH_ELIMIT;
    *out = *v;
    switch (v->kind) {
    case PH_V_STR:
        out->u.s.ptr = ph_arena_memdup(a, v->u.s.ptr, v->u.s.len + 1);
        if (!out->u.s.ptr)
            return PH_ENOMEM;
        ((char *)out->u.s.ptr)[v->u.s.len] = '\0';
        return 0;
    case PH_V_LIST: {
        *out = ph_tpl_list_new(a);
        out->safe = v->safe;
        for (size_t i = 0; i < v->u.list->len; i++) {
            ph_value c;
            int rc = value_copy(a, &v->u.list->items[i], &c, depth + 1);
            if (rc < 0 || (rc = ph_tpl_list_push(a, out, c)) < 0)
                return rc;
        }
        return 0;
    }
    case PH_V_MAP: {
        *out = ph_tpl_map_new(a);
        out->safe = v->safe;
        for (size_t i = 0; i < v->u.map->len; i++) {
            ph_value k, c;
            int rc = value_copy(a, &v->u.map->keys[i], &k, depth + 1);
            if (rc < 0 || (rc = value_copy(a, &v->u.map->vals[i], &c, depth + 1)) < 0 ||
                (rc = ph_tpl_map_set(a, out, k, c)) < 0)
                return rc;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int ph_tpl_value_copy(ph_arena *a, const ph_value *v, ph_value *out)
{
    return value_copy(a, v, out, 0);
}

/* ---- contexts ---- */

struct ph_tpl_ctx {
    ph_arena *arena;
    ph_value vars;
};

ph_tpl_ctx *ph_tpl_ctx_new(ph_arena *a)
{
    ph_tpl_ctx *c = PH_ARENA_NEW(a, ph_tpl_ctx);
    if (!c)
        return NULL;
    c->arena = a;
    c->vars = ph_tpl_map_new(a);
    return c->vars.kind == PH_V_MAP ? c : NULL;
}

int ph_tpl_ctx_set(ph_tpl_ctx *c, const char *name, ph_value v)
{
    if (!c || !name)
        return PH_EINVAL;
    char *n = ph_arena_strdup(c->arena, name);
    if (!n)
        return PH_ENOMEM;
    return ph_tpl_map_set(c->arena, &c->vars, ph_tpl_str(n), v);
}

int ph_tpl_ctx_set_str(ph_tpl_ctx *c, const char *name, const char *s)
{
    if (!c)
        return PH_EINVAL;
    if (!s)
        return ph_tpl_ctx_set(c, name, ph_tpl_none());
    char *d = ph_arena_strdup(c->arena, s);
    return d ? ph_tpl_ctx_set(c, name, ph_tpl_str(d)) : PH_ENOMEM;
}

int ph_tpl_ctx_set_safe(ph_tpl_ctx *c, const char *name, const char *html)
{
    if (!c)
        return PH_EINVAL;
    char *d = ph_arena_strdup(c->arena, html ? html : "");
    return d ? ph_tpl_ctx_set(c, name, ph_tpl_safe(d)) : PH_ENOMEM;
}

int ph_tpl_ctx_set_int(ph_tpl_ctx *c, const char *name, int64_t i)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_int(i));
}
int ph_tpl_ctx_set_float(ph_tpl_ctx *c, const char *name, double f)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_float(f));
}
int ph_tpl_ctx_set_bool(ph_tpl_ctx *c, const char *name, bool b)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_bool(b));
}
int ph_tpl_ctx_set_none(ph_tpl_ctx *c, const char *name)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_none());
}
int ph_tpl_ctx_set_model(ph_tpl_ctx *c, const char *name, const ph_model *m, void *obj)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_model(m, obj));
}
int ph_tpl_ctx_set_models(ph_tpl_ctx *c, const char *name, const ph_model *m, void *const *objs,
                          size_t n)
{
    return ph_tpl_ctx_set(c, name, ph_tpl_models(m, objs, n));
}

int ph_tpl_ctx_set_list(ph_tpl_ctx *c, const char *name, const ph_model *m, const ph_list *l)
{
    if (!l)
        return ph_tpl_ctx_set(c, name, ph_tpl_models(m, NULL, 0));
    return ph_tpl_ctx_set(c, name, ph_tpl_models(m, (void *const *)l->items, l->len));
}

int ph_tpl_ctx_set_json(ph_tpl_ctx *c, const char *json, size_t len, char *err, size_t errlen)
{
    if (!c)
        return PH_EINVAL;
    ph_value v;
    int rc = ph_tpl_value_from_json(c->arena, json, len, &v, err, errlen);
    if (rc < 0)
        return rc;
    if (v.kind != PH_V_MAP) {
        if (err && errlen)
            snprintf(err, errlen, "context JSON must be an object");
        return PH_ETYPE;
    }
    for (size_t i = 0; i < v.u.map->len; i++)
        if ((rc = ph_tpl_map_set(c->arena, &c->vars, v.u.map->keys[i], v.u.map->vals[i])) < 0)
            return rc;
    return 0;
}

const ph_value *ph_tpl_ctx_vars(const ph_tpl_ctx *c)
{
    return c ? &c->vars : NULL;
}
ph_arena *ph_tpl_ctx_arena(const ph_tpl_ctx *c)
{
    return c ? c->arena : NULL;
}

/* ---- JSON ---- */

static int from_json(ph_arena *a, json_t *j, ph_value *out, int depth)
{
    if (depth > 200)
        return PH_ELIMIT;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        *out = ph_tpl_map_new(a);
        if (out->kind != PH_V_MAP)
            return PH_ENOMEM;
        const char *k;
        json_t *jv;
        json_object_foreach(j, k, jv)
        {
            ph_value v;
            int rc = from_json(a, jv, &v, depth + 1);
            if (rc < 0)
                return rc;
            char *kd = ph_arena_strdup(a, k);
            if (!kd || (rc = ph_tpl_map_set(a, out, ph_tpl_str(kd), v)) < 0)
                return kd ? rc : PH_ENOMEM;
        }
        return 0;
    }
    case JSON_ARRAY: {
        *out = ph_tpl_list_new(a);
        if (out->kind != PH_V_LIST)
            return PH_ENOMEM;
        size_t i;
        json_t *jv;
        json_array_foreach(j, i, jv)
        {
            ph_value v;
            int rc = from_json(a, jv, &v, depth + 1);
            if (rc < 0 || (rc = ph_tpl_list_push(a, out, v)) < 0)
                return rc;
        }
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(j);
        char *d = ph_arena_memdup(a, json_string_value(j), n + 1);
        if (!d)
            return PH_ENOMEM;
        *out = ph_tpl_strn(d, n);
        return 0;
    }
    case JSON_INTEGER:
        *out = ph_tpl_int((int64_t)json_integer_value(j));
        return 0;
    case JSON_REAL:
        *out = ph_tpl_float(json_real_value(j));
        return 0;
    case JSON_TRUE:
        *out = ph_tpl_bool(true);
        return 0;
    case JSON_FALSE:
        *out = ph_tpl_bool(false);
        return 0;
    default:
        *out = ph_tpl_none();
        return 0;
    }
}

int ph_tpl_value_from_json(ph_arena *a, const char *json, size_t len, ph_value *out, char *err,
                           size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j) {
        if (err && errlen)
            snprintf(err, errlen, "JSON:%d:%d: %s", je.line, je.column, je.text);
        return PH_EPARSE;
    }
    int rc = from_json(a, j, out, 0);
    json_decref(j);
    if (rc == PH_ELIMIT && err && errlen)
        snprintf(err, errlen, "JSON nested too deeply");
    return rc;
}

/* ---- printing ---- */

void ph_tpl_format_float(double f, char *buf, size_t n)
{
    if (isnan(f)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, n, f < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    /* tmp: [-]d.ddde[+-]xx; digits and exponent */
    char digits[24];
    int nd = 0;
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    size_t o = 0;
    char out[64];
    if (neg)
        out[o++] = '-';
    if (exp < -4 || exp >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int i = 1; i < nd; i++)
                out[o++] = digits[i];
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > exp; i--)
            out[o++] = '0';
        for (int i = 0; i < nd; i++)
            out[o++] = digits[i];
        out[o] = '\0';
    } else {
        for (int i = 0; i <= exp; i++)
            out[o++] = i < nd ? digits[i] : '0';
        out[o++] = '.';
        if (nd > exp + 1)
            for (int i = exp + 1; i < nd; i++)
                out[o++] = digits[i];
        else
            out[o++] = '0';
        out[o] = '\0';
    }
    snprintf(buf, n, "%s", out);
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

void ph__date_str(int32_t days, char *buf, size_t n)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, n, "%04lld-%02u-%02u", (long long)y, m, d);
}

void ph__datetime_str(int64_t usec, char *buf, size_t n)
{
    int64_t secs = usec / 1000000, frac = usec % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (frac)
        snprintf(buf, n, "%04lld-%02u-%02u %02d:%02d:%02d.%06lld", (long long)y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
    else
        snprintf(buf, n, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)y, m, d, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60));
}

static int put_repr_str(ph_buf *b, const char *s, size_t n)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = (sq && !dq) ? '"' : '\'';
    ph_buf_putc(b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q || c == '\\') {
            ph_buf_putc(b, '\\');
            ph_buf_putc(b, (char)c);
        } else if (c == '\n')
            ph_buf_puts(b, "\\n");
        else if (c == '\t')
            ph_buf_puts(b, "\\t");
        else if (c == '\r')
            ph_buf_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f)
            ph_buf_printf(b, "\\x%02x", c);
        else
            ph_buf_putc(b, (char)c);
    }
    ph_buf_putc(b, q);
    return ph_buf_status(b);
}

static int value_out(ph_buf *b, const ph_value *v, bool repr, int depth);

static void model_repr(ph_buf *b, const ph_model *m, void *obj)
{
    ph_buf_printf(b, "<%s", m->name);
    for (size_t i = 0; i < m->ncolumns; i++)
        if (m->columns[i].flags & PH_PK) {
            const ph_column *c = &m->columns[i];
            if (c->type == PH_T_INTEGER || c->type == PH_T_BIGINTEGER) {
                if (c->nullable_ctype) {
                    const ph_int64_opt *o = PH_FIELD(obj, c);
                    if (!o->set)
                        ph_buf_puts(b, " (transient)");
                    else
                        ph_buf_printf(b, " %lld", (long long)o->v);
                } else
                    ph_buf_printf(b, " %lld", (long long)*(const int64_t *)PH_FIELD(obj, c));
            }
            break;
        }
    ph_buf_putc(b, '>');
}

static int value_out(ph_buf *b, const ph_value *v, bool repr, int depth)
{
    char tmp[64];
    if (depth > 100)
        return PH_ELIMIT;
    switch (v->kind) {
    case PH_V_UNDEFINED:
        return repr ? ph_buf_puts(b, "Undefined") : 0;
    case PH_V_NONE:
        return ph_buf_puts(b, "None");
    case PH_V_BOOL:
        return ph_buf_puts(b, v->u.b ? "True" : "False");
    case PH_V_INT:
        return ph_buf_put_i64(b, v->u.i);
    case PH_V_FLOAT:
        ph_tpl_format_float(v->u.f, tmp, sizeof tmp);
        return ph_buf_puts(b, tmp);
    case PH_V_STR:
        if (repr)
            return put_repr_str(b, v->u.s.ptr, v->u.s.len);
        return ph_buf_append(b, v->u.s.ptr, v->u.s.len);
    case PH_V_LIST:
    case PH_V_MODELS: {
        size_t n = v->kind == PH_V_LIST ? v->u.list->len : v->u.ms.len;
        bool tuple = v->kind == PH_V_LIST && v->safe; /* `safe` on a list: a tuple */
        ph_buf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                ph_buf_puts(b, ", ");
            if (v->kind == PH_V_LIST) {
                int rc = value_out(b, &v->u.list->items[i], true, depth + 1);
                if (rc < 0)
                    return rc;
            } else
                model_repr(b, v->u.ms.model, v->u.ms.items[i]);
        }
        if (tuple && n == 1)
            ph_buf_putc(b, ',');
        ph_buf_putc(b, tuple ? ')' : ']');
        return ph_buf_status(b);
    }
    case PH_V_MAP: {
        ph_buf_putc(b, '{');
        for (size_t i = 0; i < v->u.map->len; i++) {
            if (i)
                ph_buf_puts(b, ", ");
            int rc = value_out(b, &v->u.map->keys[i], true, depth + 1);
            if (rc < 0)
                return rc;
            ph_buf_puts(b, ": ");
            if ((rc = value_out(b, &v->u.map->vals[i], true, depth + 1)) < 0)
                return rc;
        }
        ph_buf_putc(b, '}');
        return ph_buf_status(b);
    }
    case PH_V_MODEL:
        model_repr(b, v->u.m.model, v->u.m.obj);
        return ph_buf_status(b);
    case PH_V_FUNC:
        return ph_buf_puts(b, "<function>");
    case PH_V_MACRO:
        return ph_buf_puts(b, "<Macro>");
    case PH_V_LOOP:
        return ph_buf_puts(b, "<LoopContext>");
    case PH_V_METHOD:
        return ph_buf_puts(b, "<method>");
    case PH_V_CALLER:
        return ph_buf_puts(b, "<Macro 'caller'>");
    }
    return 0;
}

int ph_tpl_value_str(ph_buf *b, const ph_value *v)
{
    return value_out(b, v, false, 0);
}

int ph__str_of(ph_arena *a, const ph_value *v, ph_slice *out)
{
    if (v->kind == PH_V_STR) {
        *out = (ph_slice){v->u.s.ptr, v->u.s.len};
        return 0;
    }
    if (v->kind == PH_V_UNDEFINED) {
        *out = (ph_slice){"", 0};
        return 0;
    }
    ph_buf b;
    ph_buf_init(&b, a);
    int rc = value_out(&b, v, false, 0);
    if (rc < 0)
        return rc;
    if ((rc = ph_buf_status(&b)) < 0)
        return rc;
    *out = ph_buf_view(&b);
    return 0;
}

int ph__to_str(ph__rs *rs, const ph_value *v, ph_value *out)
{
    ph_slice s;
    int rc = ph__str_of(rs->arena, v, &s);
    if (rc < 0)
        return ph__rs_error(rs, rc, "cannot convert value to string");
    *out = ph_tpl_strn(s.ptr, s.len);
    out->safe = v->kind == PH_V_STR && v->safe;
    return 0;
}

bool ph__truthy(const ph_value *v)
{
    switch (v->kind) {
    case PH_V_UNDEFINED:
    case PH_V_NONE:
        return false;
    case PH_V_BOOL:
        return v->u.b;
    case PH_V_INT:
        return v->u.i != 0;
    case PH_V_FLOAT:
        return v->u.f != 0.0;
    case PH_V_STR:
        return v->u.s.len != 0;
    case PH_V_LIST:
        return v->u.list->len != 0;
    case PH_V_MAP:
        return v->u.map->len != 0;
    case PH_V_MODELS:
        return v->u.ms.len != 0;
    default:
        return true;
    }
}

size_t ph__utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static bool is_num(const ph_value *v)
{
    return v->kind == PH_V_INT || v->kind == PH_V_FLOAT || v->kind == PH_V_BOOL;
}
static double num_f(const ph_value *v)
{
    return v->kind == PH_V_FLOAT ? v->u.f : v->kind == PH_V_INT ? (double)v->u.i : v->u.b;
}

static bool equal_d(const ph_value *a, const ph_value *b, int depth);

bool ph__equal(const ph_value *a, const ph_value *b)
{
    return equal_d(a, b, 0);
}

/* Values nested deeper than this compare unequal (a bound on recursion). */
#define PH__MAX_CMP_DEPTH 200

static bool equal_d(const ph_value *a, const ph_value *b, int depth)
{
    if (depth > PH__MAX_CMP_DEPTH)
        return false;
    if (is_num(a) && is_num(b)) {
        if (a->kind != PH_V_FLOAT && b->kind != PH_V_FLOAT) {
            int64_t x = a->kind == PH_V_INT ? a->u.i : a->u.b;
            int64_t y = b->kind == PH_V_INT ? b->u.i : b->u.b;
            return x == y;
        }
        return num_f(a) == num_f(b);
    }
    if (a->kind != b->kind) {
        if ((a->kind == PH_V_LIST || a->kind == PH_V_MODELS) &&
            (b->kind == PH_V_LIST || b->kind == PH_V_MODELS)) {
            /* compare through lengths only when both empty */
            size_t na = a->kind == PH_V_LIST ? a->u.list->len : a->u.ms.len;
            size_t nb = b->kind == PH_V_LIST ? b->u.list->len : b->u.ms.len;
            return na == 0 && nb == 0;
        }
        return false;
    }
    switch (a->kind) {
    case PH_V_UNDEFINED:
    case PH_V_NONE:
        return true;
    case PH_V_STR:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    case PH_V_LIST:
        if (a->u.list->len != b->u.list->len)
            return false;
        for (size_t i = 0; i < a->u.list->len; i++)
            if (!equal_d(&a->u.list->items[i], &b->u.list->items[i], depth + 1))
                return false;
        return true;
    case PH_V_MAP:
        if (a->u.map->len != b->u.map->len)
            return false;
        for (size_t i = 0; i < a->u.map->len; i++) {
            const ph_value *o = map_find(b->u.map, &a->u.map->keys[i]);
            if (!o || !equal_d(o, &a->u.map->vals[i], depth + 1))
                return false;
        }
        return true;
    case PH_V_MODEL:
        return a->u.m.obj == b->u.m.obj;
    case PH_V_MODELS:
        return a->u.ms.items == b->u.ms.items && a->u.ms.len == b->u.ms.len;
    case PH_V_FUNC:
        return a->u.fn.fn == b->u.fn.fn && a->u.fn.userdata == b->u.fn.userdata;
    default:
        return a->u.p == b->u.p;
    }
}

static const char *kind_name(const ph_value *v)
{
    switch (v->kind) {
    case PH_V_UNDEFINED:
        return "Undefined";
    case PH_V_NONE:
        return "NoneType";
    case PH_V_BOOL:
        return "bool";
    case PH_V_INT:
        return "int";
    case PH_V_FLOAT:
        return "float";
    case PH_V_STR:
        return "str";
    case PH_V_LIST:
    case PH_V_MODELS:
        return "list";
    case PH_V_MAP:
        return "dict";
    case PH_V_MODEL:
        return v->u.m.model->name;
    default:
        return "function";
    }
}

const char *ph__kind_name(const ph_value *v);
const char *ph__kind_name(const ph_value *v)
{
    return kind_name(v);
}

static int compare_d(ph__rs *rs, const ph_value *a, const ph_value *b, int *res, int depth);

int ph__compare(ph__rs *rs, const ph_value *a, const ph_value *b, int *res)
{
    return compare_d(rs, a, b, res, 0);
}

static int compare_d(ph__rs *rs, const ph_value *a, const ph_value *b, int *res, int depth)
{
    if (depth > PH__MAX_CMP_DEPTH)
        return ph__rs_error(rs, PH_ELIMIT, "values nested too deeply to compare");
    if (is_num(a) && is_num(b)) {
        if (a->kind != PH_V_FLOAT && b->kind != PH_V_FLOAT) {
            int64_t x = a->kind == PH_V_INT ? a->u.i : a->u.b;
            int64_t y = b->kind == PH_V_INT ? b->u.i : b->u.b;
            *res = x < y ? -1 : x > y;
        } else {
            double x = num_f(a), y = num_f(b);
            *res = x < y ? -1 : x > y;
        }
        return 0;
    }
    if (a->kind == PH_V_STR && b->kind == PH_V_STR) {
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = memcmp(a->u.s.ptr, b->u.s.ptr, n);
        *res = c ? (c < 0 ? -1 : 1) : (a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len);
        return 0;
    }
    if (a->kind == PH_V_LIST && b->kind == PH_V_LIST) {
        size_t n = a->u.list->len < b->u.list->len ? a->u.list->len : b->u.list->len;
        for (size_t i = 0; i < n; i++) {
            if (ph__equal(&a->u.list->items[i], &b->u.list->items[i]))
                continue;
            return compare_d(rs, &a->u.list->items[i], &b->u.list->items[i], res, depth + 1);
        }
        *res = a->u.list->len < b->u.list->len ? -1 : a->u.list->len > b->u.list->len;
        return 0;
    }
    if (a->kind == PH_V_UNDEFINED || b->kind == PH_V_UNDEFINED)
        return ph__rs_error(rs, PH_EUNDEFINED, "undefined value in comparison");
    return ph__rs_error(rs, PH_ETYPE, "'<' not supported between instances of '%s' and '%s'",
                        kind_name(a), kind_name(b));
}

/* ---- attribute and item lookup ---- */

/* Whether NUL-terminated cn equals the slice. */
static inline bool name_is(const char *cn, ph_slice name)
{
    size_t i = 0;
    for (; i < name.len; i++)
        if (cn[i] != name.ptr[i] || cn[i] == '\0')
            return false;
    return cn[i] == '\0';
}

static const ph_column *find_column(const ph_model *m, ph_slice name)
{
    for (size_t i = 0; i < m->ncolumns; i++)
        if (name_is(m->columns[i].name, name))
            return &m->columns[i];
    return NULL;
}

static const ph_relationship *find_rel(const ph_model *m, ph_slice name)
{
    for (size_t i = 0; i < m->nrelationships; i++) {
        const char *rn = m->relationships[i].name;
        if (rn[0] == name.ptr[0] && strncmp(rn, name.ptr, name.len) == 0 && rn[name.len] == '\0')
            return &m->relationships[i];
    }
    return NULL;
}

static int column_value(ph__rs *rs, void *obj, const ph_column *c, ph_value *out)
{
    const void *f = PH_FIELD(obj, c);
    char tmp[48];
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        out->safe = false;
        if (c->nullable_ctype && !((const ph_int64_opt *)f)->set) {
            out->kind = PH_V_NONE;
        } else {
            out->kind = PH_V_INT;
            out->u.i = c->nullable_ctype ? ((const ph_int64_opt *)f)->v : *(const int64_t *)f;
        }
        return 0;
    case PH_T_FLOAT:
        if (c->nullable_ctype) {
            const ph_double_opt *o = f;
            *out = !o->set ? ph_tpl_none() : ph_tpl_float(o->v);
        } else
            *out = ph_tpl_float(*(const double *)f);
        return 0;
    case PH_T_BOOLEAN:
        if (c->nullable_ctype) {
            const ph_bool_opt *o = f;
            *out = !o->set ? ph_tpl_none() : ph_tpl_bool(o->v);
        } else
            *out = ph_tpl_bool(*(const bool *)f);
        return 0;
    case PH_T_NUMERIC: {
        /* exact decimal text ("12.30"), as Jinja prints a Decimal */
        if (ph_column_is_null(c, obj)) {
            *out = ph_tpl_none();
            return 0;
        }
        ph_buf nb;
        ph_buf_init(&nb, rs->arena);
        if (ph_column_format(c, obj, &nb) != 0 || ph_buf_status(&nb) != 0)
            return ph__rs_error(rs, PH_ENOMEM, "out of memory");
        *out = ph_tpl_str(nb.ptr);
        return 0;
    }
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON: {
        const char *sv = *(const char *const *)f;
        out->kind = sv ? PH_V_STR : PH_V_NONE;
        out->safe = false;
        out->u.s.ptr = sv;
        out->u.s.len = sv ? strlen(sv) : 0;
        return 0;
    }
    case PH_T_DATETIME:
    case PH_T_DATE: {
        bool null = false;
        if (c->type == PH_T_DATETIME) {
            ph_datetime d;
            if (c->nullable_ctype) {
                const ph_datetime_opt *o = f;
                null = !o->set;
                d = o->v;
            } else
                d = *(const ph_datetime *)f;
            ph__datetime_str(d.usec, tmp, sizeof tmp);
        } else {
            ph_date d;
            if (c->nullable_ctype) {
                const ph_date_opt *o = f;
                null = !o->set;
                d = o->v;
            } else
                d = *(const ph_date *)f;
            ph__date_str(d.days, tmp, sizeof tmp);
        }
        if (null) {
            *out = ph_tpl_none();
            return 0;
        }
        char *s = ph_arena_strdup(rs->arena, tmp);
        if (!s)
            return ph__rs_error(rs, PH_ENOMEM, "out of memory");
        *out = ph_tpl_str(s);
        return 0;
    }
    case PH_T_BINARY: {
        const ph_bytes *bt = f;
        *out = bt->ptr ? ph_tpl_strn((const char *)bt->ptr, bt->len) : ph_tpl_none();
        return 0;
    }
    }
    *out = ph_tpl_undefined();
    return 0;
}

static int rel_value(ph__rs *rs, const ph_model *m, void *obj, const ph_relationship *r,
                     ph_value *out)
{
    const ph_model *target = r->target ? r->target() : NULL;
    if (r->kind == PH_REL_ONE_TO_MANY || r->kind == PH_REL_MANY_TO_MANY) {
        ph_list *l = (ph_list *)((char *)obj + r->offset);
        if (!l->loaded && rs->opts && rs->opts->load_relationship) {
            int rc = rs->opts->load_relationship(rs->opts->userdata, m, obj, r);
            if (rc < 0)
                return ph__rs_error(rs, rc, "cannot load %s.%s: %s", m->name, r->name,
                                    ph_strerror(rc));
        }
        *out = ph_tpl_models(target, (void *const *)l->items, l->len);
        return 0;
    }
    void **pp = (void **)((char *)obj + r->offset);
    if (!*pp && rs->opts && rs->opts->load_relationship) {
        bool try_load = true;
        if (r->kind == PH_REL_MANY_TO_ONE && r->local_column) {
            const ph_column *c = find_column(m, ph_slice_cstr(r->local_column));
            if (c && c->nullable_ctype && (c->type == PH_T_INTEGER || c->type == PH_T_BIGINTEGER) &&
                !((const ph_int64_opt *)PH_FIELD(obj, c))->set)
                try_load = false;
        }
        if (try_load) {
            int rc = rs->opts->load_relationship(rs->opts->userdata, m, obj, r);
            if (rc < 0)
                return ph__rs_error(rs, rc, "cannot load %s.%s: %s", m->name, r->name,
                                    ph_strerror(rc));
        }
    }
    *out = ph_tpl_model(target, *pp);
    return 0;
}

int ph__getattr_expr(ph__rs *rs, const ph_value *obj, const ph__expr *e, ph_value *out)
{
    ph_slice name = e->u.attr.name;
    if (obj->kind != PH_V_MODEL || name.len == 0)
        return ph__getattr(rs, obj, name, out);
    const ph_model *m = obj->u.m.model;
    const void *_Atomic *cache = (const void *_Atomic *)&e->u.attr.hit;
    uintptr_t h = (uintptr_t)atomic_load_explicit(cache, memory_order_relaxed);
    /* one expression sees one model, nearly always: its last find first */
    if (h >= (uintptr_t)m->columns && h < (uintptr_t)(m->columns + m->ncolumns))
        return column_value(rs, obj->u.m.obj, (const ph_column *)h, out);
    if (m->nrelationships && h >= (uintptr_t)m->relationships &&
        h < (uintptr_t)(m->relationships + m->nrelationships))
        return rel_value(rs, m, obj->u.m.obj, (const ph_relationship *)h, out);
    const ph_column *c = find_column(m, name);
    if (c) {
        atomic_store_explicit(cache, c, memory_order_relaxed);
        return column_value(rs, obj->u.m.obj, c, out);
    }
    const ph_relationship *r = find_rel(m, name);
    if (r) {
        atomic_store_explicit(cache, r, memory_order_relaxed);
        return rel_value(rs, m, obj->u.m.obj, r, out);
    }
    *out = ph_tpl_undefined();
    return 0;
}

int ph__getattr(ph__rs *rs, const ph_value *obj, ph_slice name, ph_value *out)
{
    *out = ph_tpl_undefined();
    if (name.len == 0)
        return 0;
    switch (obj->kind) {
    case PH_V_MAP: {
        const ph_value *v = ph_tpl_map_get(obj, name);
        if (v) {
            *out = *v;
            return 0;
        }
        break;
    }
    case PH_V_MODEL: {
        const ph_model *m = obj->u.m.model;
        const ph_column *c = find_column(m, name);
        if (c)
            return column_value(rs, obj->u.m.obj, c, out);
        const ph_relationship *r = find_rel(m, name);
        if (r)
            return rel_value(rs, m, obj->u.m.obj, r, out);
        return 0;
    }
    case PH_V_LOOP: {
        const ph__loop *l = obj->u.p;
        if (name.ptr[0] == 'c' && ph_slice_eq_cstr(name, "cycle"))
            break;
        if (ph_slice_eq_cstr(name, "index"))
            *out = ph_tpl_int((int64_t)l->index0 + 1);
        else if (ph_slice_eq_cstr(name, "index0"))
            *out = ph_tpl_int((int64_t)l->index0);
        else if (ph_slice_eq_cstr(name, "revindex"))
            *out = ph_tpl_int((int64_t)(l->length - l->index0));
        else if (ph_slice_eq_cstr(name, "revindex0"))
            *out = ph_tpl_int((int64_t)(l->length - l->index0 - 1));
        else if (ph_slice_eq_cstr(name, "first"))
            *out = ph_tpl_bool(l->index0 == 0);
        else if (ph_slice_eq_cstr(name, "last"))
            *out = ph_tpl_bool(l->index0 + 1 == l->length);
        else if (ph_slice_eq_cstr(name, "length"))
            *out = ph_tpl_int((int64_t)l->length);
        else if (ph_slice_eq_cstr(name, "depth"))
            *out = ph_tpl_int((int64_t)l->depth0 + 1);
        else if (ph_slice_eq_cstr(name, "depth0"))
            *out = ph_tpl_int((int64_t)l->depth0);
        else if (ph_slice_eq_cstr(name, "changed"))
            break;
        else if (ph_slice_eq_cstr(name, "previtem") || ph_slice_eq_cstr(name, "nextitem")) {
            bool prev = name.ptr[0] == 'p';
            if (prev ? l->index0 == 0 : l->index0 + 1 >= l->length)
                return 0;
            size_t k = prev ? l->index0 - 1 : l->index0 + 1;
            if (l->items)
                *out = l->items[k];
            else if (l->models.kind == PH_V_MODELS)
                *out = ph_tpl_model(l->models.u.ms.model, l->models.u.ms.items[k]);
        } else if (ph_slice_eq_cstr(name, "cycle"))
            break;
        return 0;
    }
    case PH_V_LIST:
        /* groupby's (grouper, list) tuples */
        if (obj->safe && obj->u.list->len == 2) {
            if (ph_slice_eq_cstr(name, "grouper"))
                *out = obj->u.list->items[0];
            else if (ph_slice_eq_cstr(name, "list"))
                *out = obj->u.list->items[1];
        }
        return 0;
    case PH_V_METHOD: {
        const ph__method *mt = obj->u.p;
        if (ph_slice_eq_cstr(mt->name, "self")) { /* self.blockname */
            ph__method *b = PH_ARENA_NEW(rs->arena, ph__method);
            if (!b)
                return ph__rs_error(rs, PH_ENOMEM, "out of memory");
            b->name = PH_SLICE("\x01block");
            b->self = ph_tpl_strn(name.ptr, name.len);
            out->kind = PH_V_METHOD;
            out->u.p = b;
            return 0;
        }
        if (ph_slice_eq_cstr(mt->name, "\x01cycler")) {
            const ph_value *st = mt->state; /* [items list, position] */
            if (ph_slice_eq_cstr(name, "current")) {
                const ph_vlist *l = st[0].u.list;
                *out = l->len ? l->items[st[1].u.i % (int64_t)l->len] : ph_tpl_none();
                return 0;
            }
            if (ph_slice_eq_cstr(name, "next") || ph_slice_eq_cstr(name, "reset")) {
                ph__method *b = PH_ARENA_NEW(rs->arena, ph__method);
                if (!b)
                    return ph__rs_error(rs, PH_ENOMEM, "out of memory");
                b->name = name.ptr[0] == 'n' ? PH_SLICE("\x01cycler.next")
                                             : PH_SLICE("\x01cycler.reset");
                b->state = mt->state;
                b->self = ph_tpl_none();
                out->kind = PH_V_METHOD;
                out->u.p = b;
            }
        }
        return 0;
    }
    default:
        break;
    }
    /* methods */
    static const char *const methods[] = {"items",   "keys",  "values",     "get",      "upper",
                                          "lower",   "strip", "startswith", "endswith", "split",
                                          "replace", "title", "capitalize", "cycle",    "lstrip",
                                          "rstrip",  "join",  "count",      "format",
                                          "changed", "find", "rfind", "index", "rindex",
                                          "isdigit", "isalpha", "isalnum", "isspace",
                                          "islower", "isupper", "istitle", "swapcase",
                                          "center", "ljust", "rjust", "zfill", "partition",
                                          "rpartition", "rsplit", "splitlines",
                                          "removeprefix", "removesuffix", "casefold",
                                          "expandtabs", "isdecimal", "isnumeric"};
    bool ok = false;
    if (obj->kind == PH_V_MAP || obj->kind == PH_V_STR || obj->kind == PH_V_LOOP)
        for (size_t i = 0; i < PH_COUNTOF(methods) && !ok; i++)
            if (methods[i][0] == name.ptr[0] && ph_slice_eq_cstr(name, methods[i]))
                ok = true;
    if (ok) {
        ph__method *mt = PH_ARENA_NEW(rs->arena, ph__method);
        if (!mt)
            return ph__rs_error(rs, PH_ENOMEM, "out of memory");
        mt->self = *obj;
        mt->name = name;
        out->kind = PH_V_METHOD;
        out->u.p = mt;
    }
    return 0;
}

int ph__getitem(ph__rs *rs, const ph_value *obj, const ph_value *key, ph_value *out)
{
    *out = ph_tpl_undefined();
    if (key->kind == PH_V_INT || key->kind == PH_V_BOOL) {
        int64_t i = key->kind == PH_V_INT ? key->u.i : key->u.b;
        size_t n;
        if (obj->kind == PH_V_LIST)
            n = obj->u.list->len;
        else if (obj->kind == PH_V_MODELS)
            n = obj->u.ms.len;
        else if (obj->kind == PH_V_STR) {
            /* characters by code point */
            size_t len = ph__utf8_len(obj->u.s.ptr, obj->u.s.len);
            if (i < 0)
                i += (int64_t)len;
            if (i < 0 || (size_t)i >= len)
                return 0;
            const char *s = obj->u.s.ptr;
            size_t pos = 0, cp = 0;
            while (pos < obj->u.s.len) {
                size_t st = pos++;
                while (pos < obj->u.s.len && ((unsigned char)s[pos] & 0xC0) == 0x80)
                    pos++;
                if (cp++ == (size_t)i) {
                    *out = ph_tpl_strn(s + st, pos - st);
                    return 0;
                }
            }
            return 0;
        } else if (obj->kind == PH_V_MAP) {
            const ph_value *v = map_find(obj->u.map, key);
            if (v)
                *out = *v;
            return 0;
        } else
            return 0;
        if (i < 0)
            i += (int64_t)n;
        if (i < 0 || (size_t)i >= n)
            return 0;
        if (obj->kind == PH_V_LIST)
            *out = obj->u.list->items[i];
        else
            *out = ph_tpl_model(obj->u.ms.model, obj->u.ms.items[i]);
        return 0;
    }
    if (key->kind == PH_V_STR) {
        if (obj->kind == PH_V_MAP) {
            const ph_value *v = map_find(obj->u.map, key);
            if (v)
                *out = *v;
            return 0;
        }
        return ph__getattr(rs, obj, (ph_slice){key->u.s.ptr, key->u.s.len}, out);
    }
    if (obj->kind == PH_V_MAP) {
        const ph_value *v = map_find(obj->u.map, key);
        if (v)
            *out = *v;
    }
    return 0;
}

int ph__iterate(ph__rs *rs, const ph_value *v, ph_value **items, size_t *n)
{
    switch (v->kind) {
    case PH_V_LIST:
        *items = v->u.list->items;
        *n = v->u.list->len;
        return 0;
    case PH_V_MAP:
        *items = v->u.map->keys;
        *n = v->u.map->len;
        return 0;
    case PH_V_UNDEFINED:
        if (rs->opts && rs->opts->strict)
            return ph__rs_error(rs, PH_EUNDEFINED, "undefined value is not iterable");
        *items = NULL;
        *n = 0;
        return 0;
    case PH_V_MODELS: {
        ph_value *a = ph_arena_alloc(rs->arena, (v->u.ms.len + 1) * sizeof(ph_value));
        if (!a)
            return ph__rs_error(rs, PH_ENOMEM, "out of memory");
        for (size_t i = 0; i < v->u.ms.len; i++)
            a[i] = ph_tpl_model(v->u.ms.model, v->u.ms.items[i]);
        *items = a;
        *n = v->u.ms.len;
        return 0;
    }
    case PH_V_STR: {
        size_t len = ph__utf8_len(v->u.s.ptr, v->u.s.len);
        ph_value *a = ph_arena_alloc(rs->arena, (len + 1) * sizeof(ph_value));
        if (!a)
            return ph__rs_error(rs, PH_ENOMEM, "out of memory");
        const char *s = v->u.s.ptr;
        size_t pos = 0, k = 0;
        while (pos < v->u.s.len) {
            size_t st = pos++;
            while (pos < v->u.s.len && ((unsigned char)s[pos] & 0xC0) == 0x80)
                pos++;
            a[k] = ph_tpl_strn(s + st, pos - st);
            a[k++].safe = v->safe;
        }
        *items = a;
        *n = k;
        return 0;
    }
    default:
        return ph__rs_error(rs, PH_ETYPE, "'%s' object is not iterable", kind_name(v));
    }
}
