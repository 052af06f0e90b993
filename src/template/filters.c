/*
 * Filters, tests and methods of the template language, with Jinja2's
 * semantics (and its default arguments): default, length, upper, title,
 * truncate, join, sort, round, format (Python %-formatting), urlencode,
 * striptags, ...; the tests defined, none, even, divisibleby, ...; and the
 * few methods templates call on values (dict.items(), str.upper(),
 * loop.cycle(), range()).  Case mapping is Unicode's (unicode.c).
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ph__kind_name(const ph_value *v);

typedef ph_value V;

static int oom(ph__rs *rs)
{
    return ph__rs_error(rs, PH_ENOMEM, "out of memory");
}
static bool given(const V *v)
{
    return v->kind != PH_V_UNDEFINED;
}
static bool is_int(const V *v)
{
    return v->kind == PH_V_INT || v->kind == PH_V_BOOL;
}
static int64_t ival(const V *v)
{
    return v->kind == PH_V_INT ? v->u.i : v->u.b;
}
static bool is_num(const V *v)
{
    return is_int(v) || v->kind == PH_V_FLOAT;
}
static double fval(const V *v)
{
    return v->kind == PH_V_FLOAT ? v->u.f : (double)ival(v);
}

static int str_arg(ph__rs *rs, const V *v, ph_slice *s)
{
    int rc = ph__str_of(rs->arena, v, s);
    return rc < 0 ? oom(rs) : 0;
}

static V mkstr(const char *p, size_t n, bool safe)
{
    V v = ph_tpl_strn(p, n);
    v.safe = safe;
    return v;
}

static V bufval(ph_buf *b, bool safe)
{
    return mkstr(b->ptr ? b->ptr : "", b->len, safe);
}

static bool vsafe(const V *v)
{
    return v->kind == PH_V_STR && v->safe;
}

/* ---- filters ---- */

static int f_default(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)rs;
    (void)e;
    bool use = v->kind == PH_V_UNDEFINED || (ph__truthy(&a[1]) && !ph__truthy(v));
    *out = use ? (given(&a[0]) ? a[0] : ph_tpl_strn("", 0)) : *v;
    return 0;
}

static int length_of(ph__rs *rs, const V *v, int64_t *n)
{
    switch (v->kind) {
    case PH_V_STR:
        *n = (int64_t)ph__utf8_len(v->u.s.ptr, v->u.s.len);
        return 0;
    case PH_V_LIST:
        *n = (int64_t)v->u.list->len;
        return 0;
    case PH_V_MAP:
        *n = (int64_t)v->u.map->len;
        return 0;
    case PH_V_MODELS:
        *n = (int64_t)v->u.ms.len;
        return 0;
    case PH_V_UNDEFINED:
        *n = 0;
        return 0;
    default:
        return ph__rs_error(rs, PH_ETYPE, "object of type '%s' has no len()", ph__kind_name(v));
    }
}

static int f_length(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    int64_t n = 0;
    int rc = length_of(rs, v, &n);
    if (rc < 0)
        return rc;
    *out = ph_tpl_int(n);
    return 0;
}

enum {
    CASE_UPPER = PH__CASE_UPPER,
    CASE_LOWER = PH__CASE_LOWER,
    CASE_TITLE = PH__CASE_TITLE,
    CASE_CAP = PH__CASE_CAP
};

static int change_case(ph__rs *rs, V *v, int mode, V *out)
{
    ph_slice s, r;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    if (ph__case_map(rs->arena, s, mode, &r) < 0)
        return oom(rs);
    *out = mkstr(r.ptr, r.len, vsafe(v));
    return 0;
}

static int f_upper(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return change_case(rs, v, CASE_UPPER, out);
}
static int f_lower(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return change_case(rs, v, CASE_LOWER, out);
}
static int f_title(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return change_case(rs, v, CASE_TITLE, out);
}
static int f_capitalize(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return change_case(rs, v, CASE_CAP, out);
}

static bool in_chars(char c, ph_slice chars, bool ws)
{
    if (ws)
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    return memchr(chars.ptr, c, chars.len) != NULL;
}

static int strip(ph__rs *rs, V *v, V *chars, bool left, bool right, V *out)
{
    ph_slice s, cs = {"", 0};
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    bool ws = !given(chars) || chars->kind == PH_V_NONE;
    if (!ws && str_arg(rs, chars, &cs) < 0)
        return PH_ENOMEM;
    size_t b = 0, e = s.len;
    if (left)
        while (b < e && in_chars(s.ptr[b], cs, ws))
            b++;
    if (right)
        while (e > b && in_chars(s.ptr[e - 1], cs, ws))
            e--;
    *out = mkstr(s.ptr + b, e - b, vsafe(v));
    return 0;
}

static int f_trim(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return strip(rs, v, &a[0], true, true, out);
}

static int f_escape(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return ph__escape(rs, v, out);
}

static int f_safe(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    if (vsafe(v)) {
        *out = *v;
        return 0;
    }
    int rc = ph__to_str(rs, v, out);
    out->safe = true;
    return rc;
}

static int f_string(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return ph__to_str(rs, v, out);
}

int ph__attr_path(ph__rs *rs, const V *item, const V *attr, V *out)
{
    if (!given(attr) || attr->kind == PH_V_NONE) {
        *out = *item;
        return 0;
    }
    if (is_int(attr))
        return ph__getitem(rs, item, attr, out);
    ph_slice s;
    if (str_arg(rs, attr, &s) < 0)
        return PH_ENOMEM;
    /* dotted paths, numeric parts as indexes: "a.b", "tags.0" */
    V cur = *item;
    size_t st = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.ptr[i] != '.')
            continue;
        ph_slice part = {s.ptr + st, i - st};
        int64_t idx;
        V nx, key;
        int rc;
        if (part.len && ph_parse_i64(part, &idx) == 0 && part.ptr[0] != '-' && part.ptr[0] != '+')
            key = ph_tpl_int(idx);
        else
            key = ph_tpl_strn(part.ptr, part.len);
        if ((rc = ph__getitem(rs, &cur, &key, &nx)) < 0)
            return rc;
        if (nx.kind == PH_V_UNDEFINED && cur.kind == PH_V_MAP && key.kind == PH_V_STR &&
            (rc = ph__getattr(rs, &cur, part, &nx)) < 0)
            return rc;
        cur = nx;
        st = i + 1;
    }
    *out = cur;
    return 0;
}

static int f_join(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    V *vals = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    if (!vals)
        return oom(rs);
    bool any_safe = vsafe(&a[0]);
    for (size_t i = 0; i < n; i++) {
        if ((rc = ph__attr_path(rs, &items[i], &a[1], &vals[i])) < 0)
            return rc;
        any_safe |= vsafe(&vals[i]);
    }
    bool markup = ph__autoesc(rs) && any_safe;
    V d = given(&a[0]) ? a[0] : ph_tpl_strn("", 0);
    if (markup && (rc = ph__escape(rs, &d, &d)) < 0)
        return rc;
    ph_slice ds;
    if (str_arg(rs, &d, &ds) < 0)
        return PH_ENOMEM;
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ph_buf_slice(&b, ds);
        V x = vals[i];
        if (markup && (rc = ph__escape(rs, &x, &x)) < 0)
            return rc;
        ph_slice s;
        if (str_arg(rs, &x, &s) < 0)
            return PH_ENOMEM;
        ph_buf_slice(&b, s);
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, markup);
    return 0;
}

/* byte offset of code point k in s (or s.len) */
static size_t cp_offset(ph_slice s, size_t k)
{
    size_t pos = 0, cp = 0;
    while (pos < s.len && cp < k) {
        pos++;
        while (pos < s.len && ((unsigned char)s.ptr[pos] & 0xC0) == 0x80)
            pos++;
        cp++;
    }
    return pos;
}

static int f_truncate(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    ph_slice s, end = PH_SLICE("...");
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    int64_t length = given(&a[0]) ? (is_int(&a[0]) ? ival(&a[0]) : -1) : 255;
    bool killwords = ph__truthy(&a[1]);
    if (given(&a[2]) && str_arg(rs, &a[2], &end) < 0)
        return PH_ENOMEM;
    int64_t leeway = given(&a[3]) && a[3].kind != PH_V_NONE ? (is_int(&a[3]) ? ival(&a[3]) : 0) : 5;
    if (!given(&a[0]) || !is_int(&a[0]))
        if (given(&a[0]))
            return ph__rs_error(rs, PH_ETYPE, "truncate: length must be an integer");
    int64_t endlen = given(&a[2]) ? (int64_t)ph__utf8_len(end.ptr, end.len) : 3;
    if (length < endlen)
        return ph__rs_error(rs, PH_ETYPE, "expected length >= %lld, got %lld", (long long)endlen,
                            (long long)length);
    if (leeway < 0)
        return ph__rs_error(rs, PH_ETYPE, "expected leeway >= 0, got %lld", (long long)leeway);
    int64_t slen = (s.len <= (uint64_t)(length + leeway)) ? (int64_t)s.len
                                                          : (int64_t)ph__utf8_len(s.ptr, s.len);
    if (slen <= length + leeway) {
        *out = mkstr(s.ptr, s.len, vsafe(v));
        return 0;
    }
    size_t cut = cp_offset(s, (size_t)(length - endlen));
    if (!killwords) {
        size_t k = cut;
        while (k > 0 && s.ptr[k - 1] != ' ')
            k--;
        if (k > 0)
            cut = k - 1;
    }
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    ph_buf_append(&b, s.ptr, cut);
    ph_buf_slice(&b, end);
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, false);
    return 0;
}

static bool strip_ws_slice(ph_slice *s)
{
    while (s->len && isspace((unsigned char)s->ptr[0])) {
        s->ptr++;
        s->len--;
    }
    while (s->len && isspace((unsigned char)s->ptr[s->len - 1]))
        s->len--;
    return s->len > 0;
}

static bool parse_int_base(ph_slice s, int base, int64_t *out)
{
    char tmp[80];
    size_t n = 0;
    if (!strip_ws_slice(&s))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '_') {
            if (i == 0 || i + 1 == s.len || s.ptr[i + 1] == '_')
                return false;
            continue;
        }
        if (n + 1 >= sizeof tmp)
            return false;
        tmp[n++] = s.ptr[i];
    }
    tmp[n] = '\0';
    const char *p = tmp;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    else if (base == 8 && p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        p += 2;
    else if (base == 2 && p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        p += 2;
    if (!*p || !isalnum((unsigned char)*p))
        return false;
    char *end;
    errno = 0;
    unsigned long long u = strtoull(p, &end, base);
    if (*end || errno || u > (unsigned long long)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

static bool parse_float_py(ph_slice s, double *out)
{
    char tmp[80];
    if (!strip_ws_slice(&s) || s.len >= sizeof tmp)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] != '_')
            tmp[n++] = s.ptr[i];
    tmp[n] = '\0';
    /* refuse hex floats and C-only spellings */
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == 'x' || tmp[i] == 'X' || tmp[i] == 'p' || tmp[i] == 'P')
            return false;
    char *end;
    double d = strtod(tmp, &end);
    if (*end || end == tmp)
        return false;
    *out = d;
    return true;
}

static int f_int(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V dflt = given(&a[0]) ? a[0] : ph_tpl_int(0);
    int base = given(&a[1]) && is_int(&a[1]) ? (int)ival(&a[1]) : 10;
    int64_t r;
    double d;
    switch (v->kind) {
    case PH_V_INT:
    case PH_V_BOOL:
        *out = ph_tpl_int(ival(v));
        return 0;
    case PH_V_FLOAT:
        if (isfinite(v->u.f) && fabs(v->u.f) < 9.2e18) {
            *out = ph_tpl_int((int64_t)v->u.f);
            return 0;
        }
        if (isnan(v->u.f)) {
            *out = dflt;
            return 0;
        }
        return ph__rs_error(rs, PH_ERANGE, "cannot convert float to integer");
    case PH_V_STR: {
        ph_slice s = {v->u.s.ptr, v->u.s.len};
        if (base >= 2 && base <= 36 && parse_int_base(s, base, &r)) {
            *out = ph_tpl_int(r);
            return 0;
        }
        if (parse_float_py(s, &d) && isfinite(d) && fabs(d) < 9.2e18) {
            *out = ph_tpl_int((int64_t)d);
            return 0;
        }
        *out = dflt;
        return 0;
    }
    default:
        *out = dflt;
        return 0;
    }
}

static int f_float(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)rs;
    V dflt = given(&a[0]) ? a[0] : ph_tpl_float(0.0);
    double d;
    if (is_num(v))
        *out = ph_tpl_float(fval(v));
    else if (v->kind == PH_V_STR && parse_float_py((ph_slice){v->u.s.ptr, v->u.s.len}, &d))
        *out = ph_tpl_float(d);
    else
        *out = dflt;
    return 0;
}

static int replace_str(ph__rs *rs, ph_slice s, ph_slice old, ph_slice nw, int64_t count, bool safe,
                       V *out)
{
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    size_t ncp = ph__utf8_len(s.ptr, s.len);
    if (old.len == 0) {
        /* Python inserts new between every character (and at both ends) */
        int64_t done = 0;
        size_t pos = 0;
        for (size_t k = 0; k <= ncp; k++) {
            if (count < 0 || done < count) {
                ph_buf_slice(&b, nw);
                done++;
            }
            if (k == ncp)
                break;
            size_t st = pos++;
            while (pos < s.len && ((unsigned char)s.ptr[pos] & 0xC0) == 0x80)
                pos++;
            ph_buf_append(&b, s.ptr + st, pos - st);
        }
    } else {
        size_t pos = 0;
        int64_t done = 0;
        while (pos <= s.len) {
            const char *hit = (count < 0 || done < count)
                                  ? memmem(s.ptr + pos, s.len - pos, old.ptr, old.len)
                                  : NULL;
            if (!hit) {
                ph_buf_append(&b, s.ptr + pos, s.len - pos);
                break;
            }
            ph_buf_append(&b, s.ptr + pos, (size_t)(hit - (s.ptr + pos)));
            ph_buf_slice(&b, nw);
            pos = (size_t)(hit - s.ptr) + old.len;
            done++;
        }
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, safe);
    return 0;
}

static int f_replace(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    ph_slice s, o, n;
    V vo = a[0], vn = a[1];
    bool safe = false;
    V sv = *v;
    int rc;
    if (ph__autoesc(rs)) {
        if (vsafe(&vo) || (vsafe(&vn) && !vsafe(v))) {
            if ((rc = ph__escape(rs, v, &sv)) < 0)
                return rc;
        }
        if (vsafe(&sv)) {
            safe = true;
            if ((rc = ph__escape(rs, &vo, &vo)) < 0 || (rc = ph__escape(rs, &vn, &vn)) < 0)
                return rc;
        }
    }
    if (str_arg(rs, &sv, &s) < 0 || str_arg(rs, &vo, &o) < 0 || str_arg(rs, &vn, &n) < 0)
        return PH_ENOMEM;
    int64_t count = given(&a[2]) && is_int(&a[2]) ? ival(&a[2]) : -1;
    return replace_str(rs, s, o, n, count, safe, out);
}

static int f_first(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    *out = n ? items[0] : ph_tpl_undefined();
    return 0;
}

static int f_last(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    *out = n ? items[n - 1] : ph_tpl_undefined();
    return 0;
}

typedef struct sort_item {
    V key, val;
} sort_item;

/* Merge sort (stable, like Python's) with an error-reporting comparison.
 * Keys are already case-folded when the sort ignores case. */
static int sort_cmp(ph__rs *rs, const V *a, const V *b, int *res)
{
    return ph__compare(rs, a, b, res);
}

static int merge_sort(ph__rs *rs, sort_item *it, sort_item *tmp, size_t n, bool rev)
{
    if (n < 2)
        return 0;
    size_t h = n / 2;
    int rc;
    if ((rc = merge_sort(rs, it, tmp, h, rev)) < 0 ||
        (rc = merge_sort(rs, it + h, tmp, n - h, rev)) < 0)
        return rc;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c;
        if ((rc = sort_cmp(rs, &it[j].key, &it[i].key, &c)) < 0)
            return rc;
        /* take right only when strictly before left (stability) */
        bool right = rev ? c > 0 : c < 0;
        tmp[k++] = right ? it[j++] : it[i++];
    }
    while (i < h)
        tmp[k++] = it[i++];
    while (j < n)
        tmp[k++] = it[j++];
    memcpy(it, tmp, n * sizeof(sort_item));
    return 0;
}

/* Jinja's ignore_case: a string key lowercased (each part of a
 * multi-attribute key). */
static int fold_key(ph__rs *rs, V *k)
{
    if (k->kind == PH_V_STR) {
        ph_slice o;
        if (ph__case_map(rs->arena, (ph_slice){k->u.s.ptr, k->u.s.len}, PH__CASE_LOWER, &o) < 0)
            return oom(rs);
        *k = ph_tpl_strn(o.ptr, o.len);
    } else if (k->kind == PH_V_LIST && k->safe) {
        V c = ph_tpl_list_new(rs->arena);
        c.safe = true;
        for (size_t i = 0; i < k->u.list->len; i++) {
            V x = k->u.list->items[i];
            int rc = fold_key(rs, &x);
            if (rc < 0)
                return rc;
            if (ph_tpl_list_push(rs->arena, &c, x) < 0)
                return oom(rs);
        }
        *k = c;
    }
    return 0;
}

int ph__sort_by_keys(ph__rs *rs, V *keys, V *vals, size_t n, bool cs, bool rev)
{
    sort_item *it = ph_arena_alloc(rs->arena, (n + 1) * sizeof(sort_item));
    sort_item *tmp = ph_arena_alloc(rs->arena, (n + 1) * sizeof(sort_item));
    if (!it || !tmp)
        return oom(rs);
    int rc;
    for (size_t i = 0; i < n; i++) {
        it[i].key = keys[i];
        it[i].val = vals[i];
        if (!cs && (rc = fold_key(rs, &it[i].key)) < 0)
            return rc;
    }
    if ((rc = merge_sort(rs, it, tmp, n, rev)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        keys[i] = it[i].key;
        vals[i] = it[i].val;
    }
    return 0;
}

/* The key of item for attribute: a path, or with multi several paths
 * separated by commas ("city,age") giving a tuple of values. */
static int sort_key(ph__rs *rs, const V *item, const V *attr, bool multi, V *out)
{
    ph_slice s;
    if (!multi || attr->kind != PH_V_STR || !memchr(attr->u.s.ptr, ',', attr->u.s.len))
        return ph__attr_path(rs, item, attr, out);
    s = (ph_slice){attr->u.s.ptr, attr->u.s.len};
    *out = ph_tpl_list_new(rs->arena);
    out->safe = true;
    size_t st = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.ptr[i] != ',')
            continue;
        V part = ph_tpl_strn(s.ptr + st, i - st), x;
        int rc = ph__attr_path(rs, item, &part, &x);
        if (rc < 0)
            return rc;
        if (ph_tpl_list_push(rs->arena, out, x) < 0)
            return oom(rs);
        st = i + 1;
    }
    return 0;
}

static int sorted_items_m(ph__rs *rs, V *v, V *attr, bool cs, bool rev, bool multi,
                          sort_item **out, size_t *n)
{
    V *items;
    int rc = ph__iterate(rs, v, &items, n);
    if (rc < 0)
        return rc;
    sort_item *it = ph_arena_alloc(rs->arena, (*n + 1) * sizeof(sort_item));
    sort_item *tmp = ph_arena_alloc(rs->arena, (*n + 1) * sizeof(sort_item));
    if (!it || !tmp)
        return oom(rs);
    for (size_t i = 0; i < *n; i++) {
        it[i].val = items[i];
        if ((rc = sort_key(rs, &items[i], attr, multi, &it[i].key)) < 0)
            return rc;
        if (!cs && (rc = fold_key(rs, &it[i].key)) < 0)
            return rc;
    }
    if ((rc = merge_sort(rs, it, tmp, *n, rev)) < 0)
        return rc;
    *out = it;
    return 0;
}

static int sorted_items(ph__rs *rs, V *v, V *attr, bool cs, bool rev, sort_item **out, size_t *n)
{
    return sorted_items_m(rs, v, attr, cs, rev, false, out, n);
}

static int f_sort(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    sort_item *it;
    size_t n;
    int rc = sorted_items_m(rs, v, &a[2], ph__truthy(&a[1]), ph__truthy(&a[0]), true, &it, &n);
    if (rc < 0)
        return rc;
    *out = ph_tpl_list_new(rs->arena);
    for (size_t i = 0; i < n; i++)
        if (ph_tpl_list_push(rs->arena, out, it[i].val) < 0)
            return oom(rs);
    return 0;
}

static int minmax(ph__rs *rs, V *v, V *a, bool max, V *out)
{
    sort_item *it;
    size_t n;
    int rc = sorted_items(rs, v, &a[1], ph__truthy(&a[0]), false, &it, &n);
    if (rc < 0)
        return rc;
    if (!n) {
        *out = ph_tpl_undefined();
        return 0;
    }
    if (!max) {
        *out = it[0].val;
        return 0;
    }
    /* Python's max returns the first maximal item */
    size_t k = n - 1;
    while (k > 0) {
        int c;
        if ((rc = sort_cmp(rs, &it[k - 1].key, &it[n - 1].key, &c)) < 0)
            return rc;
        if (c != 0)
            break;
        k--;
    }
    *out = it[k].val;
    return 0;
}

static int f_max(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return minmax(rs, v, a, true, out);
}
static int f_min(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return minmax(rs, v, a, false, out);
}

static int f_reverse(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    if (v->kind == PH_V_STR) {
        ph_buf b;
        ph_buf_init(&b, rs->arena);
        for (size_t i = n; i > 0; i--)
            ph_buf_append(&b, items[i - 1].u.s.ptr, items[i - 1].u.s.len);
        if (ph_buf_status(&b) < 0)
            return oom(rs);
        *out = bufval(&b, v->safe);
        return 0;
    }
    *out = ph_tpl_list_new(rs->arena);
    for (size_t i = n; i > 0; i--)
        if (ph_tpl_list_push(rs->arena, out, items[i - 1]) < 0)
            return oom(rs);
    return 0;
}

static double round_half_even_decimal(double x, int64_t p)
{
    /* Python's round(x, p): correctly rounded from the exact binary value */
    char tmp[512];
    if (!isfinite(x))
        return x;
    if (p > 300)
        return x;
    if (p < -300)
        return 0.0 * x;
    if (p >= 0) {
        snprintf(tmp, sizeof tmp, "%.*f", (int)p, x);
        return strtod(tmp, NULL);
    }
    double m = pow(10.0, (double)-p);
    double y = x / m;
    double r = nearbyint(y);
    return r * m;
}

static int f_round(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    int64_t p = given(&a[0]) && is_int(&a[0]) ? ival(&a[0]) : 0;
    ph_slice method = PH_SLICE("common");
    if (given(&a[1]) && str_arg(rs, &a[1], &method) < 0)
        return PH_ENOMEM;
    if (!is_num(v))
        return ph__rs_error(rs, PH_ETYPE, "round: '%s' is not a number", ph__kind_name(v));
    if (ph_slice_eq_cstr(method, "common")) {
        if (is_int(v) && p >= 0) {
            *out = ph_tpl_int(ival(v));
            return 0;
        }
        *out = ph_tpl_float(round_half_even_decimal(fval(v), p));
        return 0;
    }
    bool ceil_m = ph_slice_eq_cstr(method, "ceil");
    if (!ceil_m && !ph_slice_eq_cstr(method, "floor"))
        return ph__rs_error(rs, PH_EINVAL, "method must be common, ceil or floor");
    double m = pow(10.0, (double)p);
    double x = fval(v) * m;
    *out = ph_tpl_float((ceil_m ? ceil(x) : floor(x)) / m);
    return 0;
}

static int f_format(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    size_t n = 0;
    for (int i = 0; i < PH__TPL_MAX_FARGS; i++)
        if (given(&a[i]))
            n = (size_t)i + 1;
    ph_slice s;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    int rc;
    if (e->u.filter.nkw) { /* '%(a)s'|format(a=1) */
        if (n)
            return ph__rs_error(rs, PH_EINVAL,
                                "can't handle positional and keyword arguments at the same time");
        V map = ph_tpl_map_new(rs->arena);
        for (size_t i = 0; i < e->u.filter.nkw; i++) {
            V x;
            if ((rc = ph__eval(rs, e->u.filter.kwvals[i], &x)) < 0)
                return rc;
            ph_slice k = e->u.filter.kwnames[i];
            if (ph_tpl_map_set(rs->arena, &map, ph_tpl_strn(k.ptr, k.len), x) < 0)
                return oom(rs);
        }
        rc = ph__percent_format(rs, s, &map, 1, true, &b);
    } else
        rc = ph__percent_format(rs, s, a, n, false, &b);
    if (rc < 0)
        return rc;
    *out = bufval(&b, false);
    return 0;
}

static void url_quote(ph_buf *b, ph_slice s, bool for_qs)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (c == '/' && !for_qs))
            ph_buf_putc(b, (char)c);
        else if (c == ' ' && for_qs)
            ph_buf_putc(b, '+');
        else {
            char t[3] = {'%', hex[c >> 4], hex[c & 15]};
            ph_buf_append(b, t, 3);
        }
    }
}

static int f_urlencode(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    ph_slice s;
    if (v->kind == PH_V_MAP || v->kind == PH_V_LIST) {
        size_t n = v->kind == PH_V_MAP ? v->u.map->len : v->u.list->len;
        for (size_t i = 0; i < n; i++) {
            V k, val;
            if (v->kind == PH_V_MAP) {
                k = v->u.map->keys[i];
                val = v->u.map->vals[i];
            } else {
                V *pair;
                size_t pn;
                int rc = ph__iterate(rs, &v->u.list->items[i], &pair, &pn);
                if (rc < 0)
                    return rc;
                if (pn != 2)
                    return ph__rs_error(rs, PH_ETYPE, "urlencode: expected pairs");
                k = pair[0];
                val = pair[1];
            }
            if (i)
                ph_buf_putc(&b, '&');
            if (str_arg(rs, &k, &s) < 0)
                return PH_ENOMEM;
            url_quote(&b, s, true);
            ph_buf_putc(&b, '=');
            if (str_arg(rs, &val, &s) < 0)
                return PH_ENOMEM;
            url_quote(&b, s, true);
        }
    } else {
        if (str_arg(rs, v, &s) < 0)
            return PH_ENOMEM;
        url_quote(&b, s, false);
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, false);
    return 0;
}

static void put_utf8(ph_buf *b, unsigned long cp)
{
    char t[4];
    if (cp < 0x80) {
        ph_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 63));
        ph_buf_append(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 63));
        t[2] = (char)(0x80 | (cp & 63));
        ph_buf_append(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 63));
        t[2] = (char)(0x80 | ((cp >> 6) & 63));
        t[3] = (char)(0x80 | (cp & 63));
        ph_buf_append(b, t, 4);
    }
}

/* Decodes the common HTML entities (the named ones markupsafe emits and
 * numeric references). */
static void html_unescape(ph_buf *b, const char *s, size_t n)
{
    static const struct {
        const char *name;
        const char *rep;
    } ents[] = {{"amp;", "&"},  {"lt;", "<"},          {"gt;", ">"},         {"quot;", "\""},
                {"apos;", "'"}, {"nbsp;", "\xc2\xa0"}, {"copy;", "\xc2\xa9"}};
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            ph_buf_putc(b, s[i]);
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < PH_COUNTOF(ents) && !done; k++) {
            size_t l = strlen(ents[k].name);
            if (n - i - 1 >= l && memcmp(s + i + 1, ents[k].name, l) == 0) {
                ph_buf_puts(b, ents[k].rep);
                i += l;
                done = true;
            }
        }
        if (!done && i + 2 < n && s[i + 1] == '#') {
            size_t j = i + 2;
            bool hex = j < n && (s[j] == 'x' || s[j] == 'X');
            if (hex)
                j++;
            unsigned long cp = 0;
            size_t st = j;
            while (j < n && j - st < 8 &&
                   (hex ? isxdigit((unsigned char)s[j]) : isdigit((unsigned char)s[j]))) {
                cp = cp * (hex ? 16 : 10) +
                     (unsigned long)(isdigit((unsigned char)s[j])
                                         ? s[j] - '0'
                                         : (tolower((unsigned char)s[j]) - 'a' + 10));
                j++;
            }
            if (j > st && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
                put_utf8(b, cp);
                i = (j < n && s[j] == ';') ? j : j - 1;
                done = true;
            }
        }
        if (!done)
            ph_buf_putc(b, '&');
    }
}

static int f_striptags(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    ph_slice s;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    /* remove comments, then tags */
    ph_buf t1, t2, t3;
    ph_buf_init(&t1, rs->arena);
    ph_buf_init(&t2, rs->arena);
    ph_buf_init(&t3, rs->arena);
    for (size_t i = 0; i < s.len;) {
        if (s.len - i >= 4 && memcmp(s.ptr + i, "<!--", 4) == 0) {
            const char *end = memmem(s.ptr + i + 4, s.len - i - 4, "-->", 3);
            if (end) {
                i = (size_t)(end - s.ptr) + 3;
                continue;
            }
        }
        ph_buf_putc(&t1, s.ptr[i++]);
    }
    ph_slice s1 = ph_buf_view(&t1);
    for (size_t i = 0; i < s1.len;) {
        if (s1.ptr[i] == '<') {
            const char *end = memchr(s1.ptr + i + 1, '>', s1.len - i - 1);
            if (end) {
                i = (size_t)(end - s1.ptr) + 1;
                continue;
            }
        }
        ph_buf_putc(&t2, s1.ptr[i++]);
    }
    ph_slice s2 = ph_buf_view(&t2);
    /* " ".join(value.split()) */
    ph_buf w;
    ph_buf_init(&w, rs->arena);
    bool first = true;
    for (size_t i = 0; i < s2.len;) {
        while (i < s2.len && isspace((unsigned char)s2.ptr[i]))
            i++;
        size_t st = i;
        while (i < s2.len && !isspace((unsigned char)s2.ptr[i]))
            i++;
        if (i > st) {
            if (!first)
                ph_buf_putc(&w, ' ');
            ph_buf_append(&w, s2.ptr + st, i - st);
            first = false;
        }
    }
    ph_slice ws = ph_buf_view(&w);
    html_unescape(&t3, ws.ptr, ws.len);
    if (ph_buf_status(&t3) < 0 || ph_buf_status(&w) < 0 || ph_buf_status(&t1) < 0 ||
        ph_buf_status(&t2) < 0)
        return oom(rs);
    *out = bufval(&t3, false);
    return 0;
}

static int f_abs(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    if (is_int(v)) {
        int64_t x = ival(v);
        if (x == INT64_MIN)
            return ph__rs_error(rs, PH_ERANGE, "integer overflow");
        *out = ph_tpl_int(x < 0 ? -x : x);
    } else if (v->kind == PH_V_FLOAT)
        *out = ph_tpl_float(fabs(v->u.f));
    else
        return ph__rs_error(rs, PH_ETYPE, "bad operand type for abs(): '%s'", ph__kind_name(v));
    return 0;
}

static int f_center(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    ph_slice s;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    int64_t width = given(&a[0]) && is_int(&a[0]) ? ival(&a[0]) : 80;
    int64_t len = (int64_t)ph__utf8_len(s.ptr, s.len);
    if (width > 100000)
        return ph__rs_error(rs, PH_ELIMIT, "center: width too large");
    if (width <= len) {
        *out = mkstr(s.ptr, s.len, false);
        return 0;
    }
    int64_t marg = width - len;
    int64_t left = marg / 2 + (marg & width & 1);
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    for (int64_t i = 0; i < left; i++)
        ph_buf_putc(&b, ' ');
    ph_buf_slice(&b, s);
    for (int64_t i = 0; i < marg - left; i++)
        ph_buf_putc(&b, ' ');
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, false);
    return 0;
}

static int f_list(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    *out = ph_tpl_list_new(rs->arena);
    for (size_t i = 0; i < n; i++)
        if (ph_tpl_list_push(rs->arena, out, items[i]) < 0)
            return oom(rs);
    return 0;
}

static int f_sum(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    V acc = given(&a[1]) ? a[1] : ph_tpl_int(0);
    for (size_t i = 0; i < n; i++) {
        V x;
        if ((rc = ph__attr_path(rs, &items[i], &a[0], &x)) < 0)
            return rc;
        if (!is_num(&acc) || !is_num(&x))
            return ph__rs_error(rs, PH_ETYPE, "unsupported operand type(s) for +: '%s' and '%s'",
                                ph__kind_name(&acc), ph__kind_name(&x));
        if (is_int(&acc) && is_int(&x)) {
            int64_t r;
            if (__builtin_add_overflow(ival(&acc), ival(&x), &r))
                return ph__rs_error(rs, PH_ERANGE, "integer overflow");
            acc = ph_tpl_int(r);
        } else
            acc = ph_tpl_float(fval(&acc) + fval(&x));
    }
    *out = acc;
    return 0;
}

static int f_wordcount(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    ph_slice s;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    int64_t n = 0;
    bool in = false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool w = isalnum(c) || c == '_' || c >= 0x80;
        if (w && !in)
            n++;
        in = w;
    }
    *out = ph_tpl_int(n);
    return 0;
}

static int f_indent(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    ph_slice s, ind;
    if (str_arg(rs, v, &s) < 0)
        return PH_ENOMEM;
    char spaces[64];
    if (given(&a[0]) && a[0].kind == PH_V_STR) {
        ind = (ph_slice){a[0].u.s.ptr, a[0].u.s.len};
    } else {
        int64_t w = given(&a[0]) && is_int(&a[0]) ? ival(&a[0]) : 4;
        if (w < 0)
            w = 0;
        if (w > 63)
            w = 63;
        memset(spaces, ' ', (size_t)w);
        ind = (ph_slice){spaces, (size_t)w};
    }
    bool first = ph__truthy(&a[1]), blank = ph__truthy(&a[2]);
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    if (first)
        ph_buf_slice(&b, ind);
    /* lines of s + "\n" split like str.splitlines() on \n */
    size_t pos = 0, line = 0;
    while (pos <= s.len) {
        const char *nl = memchr(s.ptr + pos, '\n', s.len - pos);
        size_t end = nl ? (size_t)(nl - s.ptr) : s.len;
        if (!nl && pos == s.len && line > 0)
            break;
        if (line > 0) {
            ph_buf_putc(&b, '\n');
            if (blank || end > pos)
                ph_buf_slice(&b, ind);
        }
        ph_buf_append(&b, s.ptr + pos, end - pos);
        line++;
        if (!nl)
            break;
        pos = end + 1;
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, vsafe(v));
    return 0;
}

static int f_batch(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (!is_int(&a[0]) || ival(&a[0]) <= 0)
        return ph__rs_error(rs, PH_ETYPE, "batch: linecount must be a positive integer");
    size_t per = (size_t)ival(&a[0]);
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    *out = ph_tpl_list_new(rs->arena);
    V cur = ph_tpl_none();
    for (size_t i = 0; i < n; i++) {
        if (i % per == 0) {
            cur = ph_tpl_list_new(rs->arena);
            if (ph_tpl_list_push(rs->arena, out, cur) < 0)
                return oom(rs);
        }
        if (ph_tpl_list_push(rs->arena, &cur, items[i]) < 0)
            return oom(rs);
    }
    if (given(&a[1]) && cur.kind == PH_V_LIST)
        while (cur.u.list->len < per)
            if (ph_tpl_list_push(rs->arena, &cur, a[1]) < 0)
                return oom(rs);
    return 0;
}

static int f_attr(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    ph_slice s;
    if (str_arg(rs, &a[0], &s) < 0)
        return PH_ENOMEM;
    if (v->kind == PH_V_MAP) { /* getattr only: dict keys are not attributes */
        *out = ph_tpl_undefined();
        return 0;
    }
    return ph__getattr(rs, v, s, out);
}

static int f_map(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    const ph__filter_def *fd = NULL;
    if (given(&a[0])) {
        ph_slice s;
        if (str_arg(rs, &a[0], &s) < 0)
            return PH_ENOMEM;
        if (!(fd = ph__filter_find(s)))
            return ph__rs_error(rs, PH_EINVAL, "no filter named '%.*s'", (int)s.len, s.ptr);
    } else if (!given(&a[6]))
        return ph__rs_error(rs, PH_EINVAL, "map requires a filter or attribute");
    *out = ph_tpl_list_new(rs->arena);
    for (size_t i = 0; i < n; i++) {
        V r;
        if (fd) { /* map('replace', 'a', '4'): the filter's own arguments */
            size_t nf = 0;
            while (nf < 5 && given(&a[1 + nf]))
                nf++;
            if ((rc = ph__apply_def(rs, fd, &items[i], &a[1], nf, &r)) < 0)
                return rc;
        } else {
            if ((rc = ph__attr_path(rs, &items[i], &a[6], &r)) < 0)
                return rc;
            if (r.kind == PH_V_UNDEFINED && given(&a[7]))
                r = a[7];
        }
        if (ph_tpl_list_push(rs->arena, out, r) < 0)
            return oom(rs);
    }
    return 0;
}

static int f_tojson(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out);

static const ph__filter_def filters[] = {
    {"abs", f_abs, {NULL}, false},
    {"attr", f_attr, {"name"}, false},
    {"batch", f_batch, {"linecount", "fill_with"}, false},
    {"capitalize", f_capitalize, {NULL}, false},
    {"center", f_center, {"width"}, false},
    {"count", f_length, {NULL}, false},
    {"d", f_default, {"default_value", "boolean"}, false},
    {"default", f_default, {"default_value", "boolean"}, false},
    {"e", f_escape, {NULL}, false},
    {"escape", f_escape, {NULL}, false},
    {"first", f_first, {NULL}, false},
    {"float", f_float, {"default"}, false},
    {"forceescape", ph__f_forceescape, {NULL}, false},
    {"groupby", ph__f_groupby, {"attribute", "default", "case_sensitive"}, false},
    {"filesizeformat", ph__f_filesizeformat, {"binary"}, false},
    {"dictsort", ph__f_dictsort, {"case_sensitive", "by", "reverse"}, false},
    {"items", ph__f_items, {NULL}, false},
    {"pprint", ph__f_pprint, {NULL}, false},
    {"random", ph__f_random, {NULL}, false},
    {"reject", ph__f_reject, {"_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7"}, false},
    {"rejectattr", ph__f_rejectattr, {"_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7"}, false},
    {"select", ph__f_select, {"_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7"}, false},
    {"selectattr", ph__f_selectattr, {"_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7"}, false},
    {"slice", ph__f_slice, {"slices", "fill_with"}, false},
    {"unique", ph__f_unique, {"case_sensitive", "attribute"}, false},
    {"urlize", ph__f_urlize, {"trim_url_limit", "nofollow", "target", "rel", "extra_schemes"}, false},
    {"wordwrap", ph__f_wordwrap, {"width", "break_long_words", "wrapstring", "break_on_hyphens"}, false},
    {"xmlattr", ph__f_xmlattr, {"autospace"}, false},
    {"format", f_format, {"_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7"}, true},
    {"indent", f_indent, {"width", "first", "blank"}, false},
    {"int", f_int, {"default", "base"}, false},
    {"join", f_join, {"d", "attribute"}, false},
    {"last", f_last, {NULL}, false},
    {"length", f_length, {NULL}, false},
    {"list", f_list, {NULL}, false},
    {"lower", f_lower, {NULL}, false},
    {"map", f_map, {"_0", "_1", "_2", "_3", "_4", "_5", "attribute", "default"}, false},
    {"max", f_max, {"case_sensitive", "attribute"}, false},
    {"min", f_min, {"case_sensitive", "attribute"}, false},
    {"replace", f_replace, {"old", "new", "count"}, false},
    {"reverse", f_reverse, {NULL}, false},
    {"round", f_round, {"precision", "method"}, false},
    {"safe", f_safe, {NULL}, false},
    {"sort", f_sort, {"reverse", "case_sensitive", "attribute"}, false},
    {"string", f_string, {NULL}, false},
    {"striptags", f_striptags, {NULL}, false},
    {"sum", f_sum, {"attribute", "start"}, false},
    {"title", f_title, {NULL}, false},
    {"tojson", f_tojson, {"indent"}, false},
    {"trim", f_trim, {"chars"}, false},
    {"truncate", f_truncate, {"length", "killwords", "end", "leeway"}, false},
    {"upper", f_upper, {NULL}, false},
    {"urlencode", f_urlencode, {NULL}, false},
    {"wordcount", f_wordcount, {NULL}, false},
};

/* tojson: compact JSON with the HTML-sensitive characters escaped as Jinja
 * does (<, >, &, ' as \u00XX); result is safe. */
/* Python's json.dumps layout: compact with ", " or, with an indent,
 * one item a line. */
typedef struct json_fmt {
    ph_slice indent; /* NULL ptr: no indent */
} json_fmt;

static void json_nl(ph_buf *b, const json_fmt *f, int level)
{
    ph_buf_putc(b, '\n');
    for (int i = 0; i < level; i++)
        ph_buf_slice(b, f->indent);
}

static int json_out(ph__rs *rs, ph_buf *b, const V *v, int depth, const json_fmt *f)
{
    if (depth > 100)
        return ph__rs_error(rs, PH_ELIMIT, "tojson: nested too deeply");
    char tmp[64];
    switch (v->kind) {
    case PH_V_NONE:
    case PH_V_UNDEFINED:
        ph_buf_puts(b, "null");
        return 0;
    case PH_V_BOOL:
        ph_buf_puts(b, v->u.b ? "true" : "false");
        return 0;
    case PH_V_INT:
        ph_buf_put_i64(b, v->u.i);
        return 0;
    case PH_V_FLOAT:
        if (isnan(v->u.f))
            ph_buf_puts(b, "NaN");
        else if (isinf(v->u.f))
            ph_buf_puts(b, v->u.f > 0 ? "Infinity" : "-Infinity");
        else {
            ph_tpl_format_float(v->u.f, tmp, sizeof tmp);
            ph_buf_puts(b, tmp);
        }
        return 0;
    case PH_V_STR:
        ph_buf_putc(b, '"');
        for (size_t i = 0; i < v->u.s.len; i++) {
            unsigned char c = (unsigned char)v->u.s.ptr[i];
            if (c == '"')
                ph_buf_puts(b, "\\\"");
            else if (c == '\\')
                ph_buf_puts(b, "\\\\");
            else if (c == '\n')
                ph_buf_puts(b, "\\n");
            else if (c == '\r')
                ph_buf_puts(b, "\\r");
            else if (c == '\t')
                ph_buf_puts(b, "\\t");
            else if (c == '<' || c == '>' || c == '&' || c == '\'' || c < 0x20)
                ph_buf_printf(b, "\\u%04x", c);
            else if (c >= 0x80) {
                /* ensure_ascii: decode UTF-8 to \uXXXX */
                unsigned long cp;
                size_t extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
                cp = c & (0x3F >> extra);
                if (i + extra >= v->u.s.len)
                    extra = 0;
                for (size_t k = 0; k < extra; k++)
                    cp = (cp << 6) | ((unsigned char)v->u.s.ptr[i + 1 + k] & 0x3F);
                i += extra;
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    ph_buf_printf(b, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10),
                                  0xDC00 + (cp & 0x3FF));
                } else
                    ph_buf_printf(b, "\\u%04lx", cp);
            } else
                ph_buf_putc(b, (char)c);
        }
        ph_buf_putc(b, '"');
        return 0;
    case PH_V_LIST:
    case PH_V_MODELS: {
        V *items;
        size_t n;
        int rc = ph__iterate(rs, v, &items, &n);
        if (rc < 0)
            return rc;
        ph_buf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                ph_buf_puts(b, f->indent.ptr ? "," : ", ");
            if (f->indent.ptr)
                json_nl(b, f, depth + 1);
            if ((rc = json_out(rs, b, &items[i], depth + 1, f)) < 0)
                return rc;
        }
        if (f->indent.ptr && n)
            json_nl(b, f, depth);
        ph_buf_putc(b, ']');
        return 0;
    }
    case PH_V_MAP: {
        ph_buf_putc(b, '{');
        /* Jinja sorts keys */
        sort_item *it;
        size_t n;
        V none = ph_tpl_undefined();
        V m = *v;
        int rc = sorted_items(rs, &m, &none, true, false, &it, &n);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (i)
                ph_buf_puts(b, f->indent.ptr ? "," : ", ");
            if (f->indent.ptr)
                json_nl(b, f, depth + 1);
            V key = it[i].val;
            if ((rc = json_out(rs, b, &key, depth + 1, f)) < 0)
                return rc;
            ph_buf_puts(b, ": ");
            const V *val = NULL;
            for (size_t k = 0; k < v->u.map->len; k++)
                if (ph__equal(&v->u.map->keys[k], &key))
                    val = &v->u.map->vals[k];
            if ((rc = json_out(rs, b, val, depth + 1, f)) < 0)
                return rc;
        }
        if (f->indent.ptr && n)
            json_nl(b, f, depth);
        ph_buf_putc(b, '}');
        return 0;
    }
    default:
        return ph__rs_error(rs, PH_ETYPE, "Object of type %s is not JSON serializable",
                            ph__kind_name(v));
    }
}

static int f_tojson(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    json_fmt f = {{NULL, 0}};
    if (is_int(&a[0])) { /* indent=2: that many spaces */
        int64_t n = ival(&a[0]);
        if (n > 64)
            return ph__rs_error(rs, PH_ELIMIT, "tojson: indent over 64");
        char *sp = ph_arena_alloc(rs->arena, 65);
        if (!sp)
            return oom(rs);
        memset(sp, ' ', 64);
        f.indent = (ph_slice){sp, n > 0 ? (size_t)n : 0};
    } else if (a[0].kind == PH_V_STR)
        f.indent = (ph_slice){a[0].u.s.ptr, a[0].u.s.len};
    else if (given(&a[0]) && a[0].kind != PH_V_NONE)
        return ph__rs_error(rs, PH_ETYPE, "tojson: indent must be an integer or a string");
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    int rc = json_out(rs, &b, v, 0, &f);
    if (rc < 0)
        return rc;
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = bufval(&b, true);
    return 0;
}

int ph__apply_def(ph__rs *rs, const ph__filter_def *d, V *v, const V *args, size_t nargs, V *out)
{
    static const ph__expr none_expr;
    V a[PH__TPL_MAX_FARGS];
    size_t np = 0;
    while (np < PH__TPL_MAX_FARGS && d->params[np])
        np++;
    if (nargs > np)
        return ph__rs_error(rs, PH_ETYPE, "too many arguments for '%s'", d->name);
    for (size_t i = 0; i < PH__TPL_MAX_FARGS; i++)
        a[i] = i < nargs ? args[i] : ph_tpl_undefined();
    return d->fn(rs, &none_expr, v, a, out);
}

const ph__filter_def *ph__filter_find(ph_slice name)
{
    for (size_t i = 0; i < PH_COUNTOF(filters); i++)
        if (ph_slice_eq_cstr(name, filters[i].name))
            return &filters[i];
    return NULL;
}

/* ---- tests ---- */

#define TEST_FN(fname, expr)                                                                       \
    static int fname(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)                            \
    {                                                                                              \
        (void)rs;                                                                                  \
        (void)e;                                                                                   \
        (void)a;                                                                                   \
        *out = ph_tpl_bool(expr);                                                                  \
        return 0;                                                                                  \
    }

TEST_FN(t_defined, v->kind != PH_V_UNDEFINED)
TEST_FN(t_undefined, v->kind == PH_V_UNDEFINED)
TEST_FN(t_none, v->kind == PH_V_NONE)
TEST_FN(t_string, v->kind == PH_V_STR)
TEST_FN(t_number, v->kind == PH_V_INT || v->kind == PH_V_FLOAT)
TEST_FN(t_integer, v->kind == PH_V_INT)
TEST_FN(t_float, v->kind == PH_V_FLOAT)
TEST_FN(t_boolean, v->kind == PH_V_BOOL)
TEST_FN(t_true, v->kind == PH_V_BOOL && v->u.b)
TEST_FN(t_false, v->kind == PH_V_BOOL && !v->u.b)
TEST_FN(t_mapping, v->kind == PH_V_MAP)
TEST_FN(t_sequence, v->kind == PH_V_STR || v->kind == PH_V_LIST || v->kind == PH_V_MAP ||
                        v->kind == PH_V_MODELS)
TEST_FN(t_iterable, v->kind == PH_V_STR || v->kind == PH_V_LIST || v->kind == PH_V_MAP ||
                        v->kind == PH_V_MODELS)
TEST_FN(t_callable, v->kind == PH_V_FUNC || v->kind == PH_V_MACRO || v->kind == PH_V_METHOD ||
                        v->kind == PH_V_CALLER)
TEST_FN(t_escaped, v->kind == PH_V_STR && v->safe)
TEST_FN(t_eq, ph__equal(v, &a[0]))
TEST_FN(t_ne, !ph__equal(v, &a[0]))
TEST_FN(t_sameas, v->kind == a[0].kind &&
                      (v->kind == PH_V_NONE || v->kind == PH_V_UNDEFINED ||
                       (v->kind == PH_V_BOOL && v->u.b == a[0].u.b) ||
                       (v->kind == PH_V_INT && v->u.i == a[0].u.i) ||
                       ((v->kind == PH_V_LIST || v->kind == PH_V_MAP || v->kind == PH_V_MODEL) &&
                        v->u.p == a[0].u.p)))

static int t_evenodd(ph__rs *rs, V *v, int want, V *out)
{
    if (!is_num(v))
        return ph__rs_error(rs, PH_ETYPE, "not all arguments converted during string formatting");
    if (v->kind == PH_V_FLOAT) {
        double m = fmod(v->u.f, 2.0);
        if (m < 0)
            m += 2.0;
        *out = ph_tpl_bool(m == (double)want);
    } else {
        int64_t m = ival(v) % 2;
        if (m < 0)
            m += 2;
        *out = ph_tpl_bool(m == want);
    }
    return 0;
}
static int t_even(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return t_evenodd(rs, v, 0, out);
}
static int t_odd(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return t_evenodd(rs, v, 1, out);
}
static int t_divisibleby(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (!is_num(v) || !is_num(&a[0]))
        return ph__rs_error(rs, PH_ETYPE, "divisibleby needs numbers");
    if (is_int(v) && is_int(&a[0])) {
        if (ival(&a[0]) == 0)
            return ph__rs_error(rs, PH_ETYPE, "integer division or modulo by zero");
        if (ival(&a[0]) == -1) {
            *out = ph_tpl_bool(true);
            return 0;
        }
        *out = ph_tpl_bool(ival(v) % ival(&a[0]) == 0);
    } else {
        if (fval(&a[0]) == 0)
            return ph__rs_error(rs, PH_ETYPE, "float modulo");
        *out = ph_tpl_bool(fmod(fval(v), fval(&a[0])) == 0);
    }
    return 0;
}

static int t_cmp(ph__rs *rs, V *v, V *a, int want, V *out)
{
    int c;
    int rc = ph__compare(rs, v, a, &c);
    if (rc < 0)
        return rc;
    bool r = want == 0 ? c < 0 : want == 1 ? c > 0 : want == 2 ? c <= 0 : c >= 0;
    *out = ph_tpl_bool(r);
    return 0;
}
static int t_lt(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return t_cmp(rs, v, &a[0], 0, out);
}
static int t_gt(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return t_cmp(rs, v, &a[0], 1, out);
}
static int t_le(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return t_cmp(rs, v, &a[0], 2, out);
}
static int t_ge(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return t_cmp(rs, v, &a[0], 3, out);
}

static int t_lowerupper(ph__rs *rs, V *v, bool upper, V *out)
{
    (void)rs;
    if (v->kind != PH_V_STR) {
        *out = ph_tpl_bool(false);
        return 0;
    }
    bool any = false, ok = true;
    for (size_t i = 0; i < v->u.s.len; i++) {
        unsigned char c = (unsigned char)v->u.s.ptr[i];
        if (isalpha(c)) {
            any = true;
            if (upper ? islower(c) : isupper(c))
                ok = false;
        }
    }
    *out = ph_tpl_bool(any && ok);
    return 0;
}
static int t_lower(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return t_lowerupper(rs, v, false, out);
}
static int t_upper(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    return t_lowerupper(rs, v, true, out);
}

static const ph__filter_def tests[] = {
    {"boolean", t_boolean, {NULL}, false},
    {"callable", t_callable, {NULL}, false},
    {"defined", t_defined, {NULL}, false},
    {"divisibleby", t_divisibleby, {"num"}, false},
    {"eq", t_eq, {"b"}, false},
    {"equalto", t_eq, {"b"}, false},
    {"escaped", t_escaped, {NULL}, false},
    {"even", t_even, {NULL}, false},
    {"false", t_false, {NULL}, false},
    {"float", t_float, {NULL}, false},
    {"ge", t_ge, {"b"}, false},
    {"greaterthan", t_gt, {"b"}, false},
    {"gt", t_gt, {"b"}, false},
    {"integer", t_integer, {NULL}, false},
    {"iterable", t_iterable, {NULL}, false},
    {"le", t_le, {"b"}, false},
    {"lessthan", t_lt, {"b"}, false},
    {"in", ph__t_in, {"seq"}, false},
    {"filter", ph__t_filter, {NULL}, false},
    {"test", ph__t_test, {NULL}, false},
    {"lower", t_lower, {NULL}, false},
    {"lt", t_lt, {"b"}, false},
    {"mapping", t_mapping, {NULL}, false},
    {"ne", t_ne, {"b"}, false},
    {"none", t_none, {NULL}, false},
    {"number", t_number, {NULL}, false},
    {"odd", t_odd, {NULL}, false},
    {"sameas", t_sameas, {"other"}, false},
    {"sequence", t_sequence, {NULL}, false},
    {"string", t_string, {NULL}, false},
    {"true", t_true, {NULL}, false},
    {"undefined", t_undefined, {NULL}, false},
    {"upper", t_upper, {NULL}, false},
};

const ph__filter_def *ph__test_find(ph_slice name)
{
    for (size_t i = 0; i < PH_COUNTOF(tests); i++)
        if (ph_slice_eq_cstr(name, tests[i].name))
            return &tests[i];
    return NULL;
}

/* ---- %-formatting ---- */

static void pad_out(ph_buf *b, const char *body, size_t blen, size_t signlen, int64_t width,
                    bool left, bool zero)
{
    int64_t padn = width - (int64_t)ph__utf8_len(body, blen);
    if (padn <= 0) {
        ph_buf_append(b, body, blen);
        return;
    }
    if (left) {
        ph_buf_append(b, body, blen);
        for (int64_t i = 0; i < padn; i++)
            ph_buf_putc(b, ' ');
    } else if (zero) {
        ph_buf_append(b, body, signlen);
        for (int64_t i = 0; i < padn; i++)
            ph_buf_putc(b, '0');
        ph_buf_append(b, body + signlen, blen - signlen);
    } else {
        for (int64_t i = 0; i < padn; i++)
            ph_buf_putc(b, ' ');
        ph_buf_append(b, body, blen);
    }
}

int ph__percent_format(ph__rs *rs, ph_slice fmt, const ph_value *args, size_t nargs,
                       bool mapping_ok, ph_buf *out)
{
    size_t ai = 0;
    const V *mapping = (mapping_ok && nargs == 1 && args[0].kind == PH_V_MAP) ? &args[0] : NULL;
    bool used_mapping = false;
    for (size_t i = 0; i < fmt.len; i++) {
        char c = fmt.ptr[i];
        if (c != '%') {
            ph_buf_putc(out, c);
            continue;
        }
        if (++i >= fmt.len)
            return ph__rs_error(rs, PH_ETYPE, "incomplete format");
        const V *arg = NULL;
        if (fmt.ptr[i] == '(') {
            size_t st = ++i;
            while (i < fmt.len && fmt.ptr[i] != ')')
                i++;
            if (i >= fmt.len)
                return ph__rs_error(rs, PH_ETYPE, "incomplete format key");
            if (!mapping)
                return ph__rs_error(rs, PH_ETYPE, "format requires a mapping");
            arg = ph_tpl_map_get(mapping, (ph_slice){fmt.ptr + st, i - st});
            if (!arg)
                return ph__rs_error(rs, PH_ETYPE, "format: key '%.*s' not found", (int)(i - st),
                                    fmt.ptr + st);
            used_mapping = true;
            i++;
        }
        bool left = false, plus = false, space = false, alt = false, zero = false;
        for (; i < fmt.len; i++) {
            char f = fmt.ptr[i];
            if (f == '-')
                left = true;
            else if (f == '+')
                plus = true;
            else if (f == ' ')
                space = true;
            else if (f == '#')
                alt = true;
            else if (f == '0')
                zero = true;
            else
                break;
        }
        int64_t width = 0, prec = -1;
        while (i < fmt.len && isdigit((unsigned char)fmt.ptr[i]) && width < 100000)
            width = width * 10 + (fmt.ptr[i++] - '0');
        if (i < fmt.len && fmt.ptr[i] == '.') {
            i++;
            prec = 0;
            while (i < fmt.len && isdigit((unsigned char)fmt.ptr[i]) && prec < 1000)
                prec = prec * 10 + (fmt.ptr[i++] - '0');
        }
        if (width >= 100000 || prec >= 1000)
            return ph__rs_error(rs, PH_ELIMIT, "format width or precision too large");
        while (i < fmt.len && (fmt.ptr[i] == 'l' || fmt.ptr[i] == 'h' || fmt.ptr[i] == 'L'))
            i++;
        if (i >= fmt.len)
            return ph__rs_error(rs, PH_ETYPE, "incomplete format");
        char conv = fmt.ptr[i];
        if (conv == '%') {
            ph_buf_putc(out, '%');
            continue;
        }
        if (!arg) {
            if (mapping && nargs == 1 && !used_mapping && ai == 0) {
                arg = &args[ai++];
            } else {
                if (ai >= nargs)
                    return ph__rs_error(rs, PH_ETYPE, "not enough arguments for format string");
                arg = &args[ai++];
            }
        }
        char body[512];
        size_t blen = 0, signlen = 0;
        switch (conv) {
        case 's':
        case 'r':
        case 'a': {
            ph_slice s;
            if (conv == 's') {
                if (str_arg(rs, arg, &s) < 0)
                    return PH_ENOMEM;
            } else {
                ph_buf rb;
                ph_buf_init(&rb, rs->arena);
                V wrap = ph_tpl_list_new(rs->arena);
                if (ph_tpl_list_push(rs->arena, &wrap, *arg) < 0)
                    return oom(rs);
                if (ph_tpl_value_str(&rb, &wrap) < 0)
                    return oom(rs);
                s = ph_buf_view(&rb);
                s.ptr++;
                s.len -= 2;
            }
            if (prec >= 0)
                s.len = cp_offset(s, (size_t)prec);
            pad_out(out, s.ptr, s.len, 0, width, left, false);
            continue;
        }
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'o':
        case 'c': {
            int64_t v;
            if (is_int(arg))
                v = ival(arg);
            else if (arg->kind == PH_V_FLOAT && (conv == 'd' || conv == 'i' || conv == 'u')) {
                if (!isfinite(arg->u.f) || fabs(arg->u.f) >= 9.2e18)
                    return ph__rs_error(rs, PH_ERANGE, "cannot convert float to integer");
                v = (int64_t)arg->u.f;
            } else if (conv == 'c' && arg->kind == PH_V_STR &&
                       ph__utf8_len(arg->u.s.ptr, arg->u.s.len) == 1) {
                pad_out(out, arg->u.s.ptr, arg->u.s.len, 0, width, left, false);
                continue;
            } else
                return ph__rs_error(rs, PH_ETYPE, "%%%c format: %s is required, not %s", conv,
                                    (conv == 'x' || conv == 'X' || conv == 'o' || conv == 'c')
                                        ? "an integer"
                                        : "a real number",
                                    ph__kind_name(arg));
            if (conv == 'c') {
                ph_buf cb;
                ph_buf_init(&cb, rs->arena);
                if (v < 0 || v > 0x10FFFF)
                    return ph__rs_error(rs, PH_ERANGE, "%%c arg not in range");
                put_utf8(&cb, (unsigned long)v);
                pad_out(out, cb.ptr ? cb.ptr : "", cb.len, 0, width, left, false);
                continue;
            }
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            if (v < 0)
                body[blen++] = '-';
            else if (plus)
                body[blen++] = '+';
            else if (space)
                body[blen++] = ' ';
            if (alt && (conv == 'x' || conv == 'X' || conv == 'o')) {
                body[blen++] = '0';
                body[blen++] = conv == 'o' ? 'o' : conv;
            }
            signlen = blen;
            char digits[80];
            int dn = snprintf(digits, sizeof digits,
                              conv == 'x'   ? "%llx"
                              : conv == 'X' ? "%llX"
                              : conv == 'o' ? "%llo"
                                            : "%llu",
                              (unsigned long long)mag);
            for (int64_t k = dn; k < prec && blen < 400; k++)
                body[blen++] = '0';
            memcpy(body + blen, digits, (size_t)dn);
            blen += (size_t)dn;
            pad_out(out, body, blen, signlen, width, left, zero);
            continue;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G': {
            double d;
            if (is_num(arg))
                d = fval(arg);
            else
                return ph__rs_error(rs, PH_ETYPE, "must be real number, not %s",
                                    ph__kind_name(arg));
            char cf[16];
            int k = 0;
            cf[k++] = '%';
            if (plus)
                cf[k++] = '+';
            else if (space)
                cf[k++] = ' ';
            if (alt)
                cf[k++] = '#';
            cf[k++] = '.';
            cf[k++] = '*';
            cf[k++] = conv;
            cf[k] = '\0';
            char *dyn = NULL;
            int n = snprintf(body, sizeof body, cf, (int)(prec < 0 ? 6 : prec), d);
            const char *bp = body;
            if (n < 0)
                return ph__rs_error(rs, PH_ETYPE, "bad format");
            if ((size_t)n >= sizeof body) {
                dyn = ph_arena_alloc(rs->arena, (size_t)n + 1);
                if (!dyn)
                    return oom(rs);
                snprintf(dyn, (size_t)n + 1, cf, (int)(prec < 0 ? 6 : prec), d);
                bp = dyn;
            }
            signlen = (bp[0] == '-' || bp[0] == '+' || bp[0] == ' ') ? 1 : 0;
            bool finite = isfinite(d);
            pad_out(out, bp, (size_t)n, signlen, width, left, zero && finite);
            continue;
        }
        default:
            return ph__rs_error(rs, PH_ETYPE, "unsupported format character '%c'", conv);
        }
    }
    if (ai < nargs && !used_mapping && !(mapping && ai == 0))
        return ph__rs_error(rs, PH_ETYPE, "not all arguments converted during string formatting");
    return ph_buf_status(out) < 0 ? oom(rs) : 0;
}

/* ---- methods ---- */

static const V *kwarg(ph_tpl_kwarg *kw, size_t nkw, const char *name)
{
    for (size_t i = 0; i < nkw; i++)
        if (ph_slice_eq_cstr(kw[i].name, name))
            return &kw[i].value;
    return NULL;
}

int ph__call_method(ph__rs *rs, const ph__method *m, ph_value *args, size_t nargs, ph_tpl_kwarg *kw,
                    size_t nkw, ph_value *out);
int ph__call_method(ph__rs *rs, const ph__method *m, ph_value *args, size_t nargs, ph_tpl_kwarg *kw,
                    size_t nkw, ph_value *out)
{
    const V *self = &m->self;
    ph_slice name = m->name;
    V undef = ph_tpl_undefined();
    V noargs[PH__TPL_MAX_FARGS];
    for (int i = 0; i < PH__TPL_MAX_FARGS; i++)
        noargs[i] = undef;
    for (size_t i = 0; i < nargs && i < PH__TPL_MAX_FARGS; i++)
        noargs[i] = args[i];
    V s = *self;
    if (ph_slice_eq_cstr(name, "\x01joiner")) { /* state: [sep, used] */
        V *st = m->state;
        if (st[1].u.b) {
            *out = st[0];
            return 0;
        }
        st[1].u.b = true;
        *out = ph_tpl_strn("", 0);
        return 0;
    }
    if (ph_slice_eq_cstr(name, "\x01cycler.next") || ph_slice_eq_cstr(name, "\x01cycler")) {
        V *st = m->state; /* [items, position] */
        const ph_vlist *l = st[0].u.list;
        if (!l->len)
            return ph__rs_error(rs, PH_ETYPE, "cycler has no items");
        *out = l->items[st[1].u.i % (int64_t)l->len];
        st[1].u.i = (st[1].u.i + 1) % (int64_t)l->len;
        return 0;
    }
    if (ph_slice_eq_cstr(name, "\x01cycler.reset")) {
        V *st = m->state;
        st[1].u.i = 0;
        *out = ph_tpl_none();
        return 0;
    }
    if (self->kind == PH_V_NONE && (ph_slice_eq_cstr(name, "joiner") ||
                                     ph_slice_eq_cstr(name, "cycler"))) {
        bool j = name.ptr[0] == 'j';
        ph__method *obj = PH_ARENA_NEW(rs->arena, ph__method);
        V *st = ph_arena_alloc(rs->arena, 2 * sizeof(V));
        if (!obj || !st)
            return oom(rs);
        if (j) {
            const V *sep = nargs ? &args[0] : kwarg(kw, nkw, "sep");
            st[0] = sep ? *sep : ph_tpl_strn(", ", 2);
            st[1] = ph_tpl_bool(false);
        } else {
            st[0] = ph_tpl_list_new(rs->arena);
            for (size_t i = 0; i < nargs; i++)
                if (ph_tpl_list_push(rs->arena, &st[0], args[i]) < 0)
                    return oom(rs);
            st[1] = ph_tpl_int(0);
        }
        obj->name = j ? PH_SLICE("\x01joiner") : PH_SLICE("\x01cycler");
        obj->self = ph_tpl_none();
        obj->state = st;
        out->kind = PH_V_METHOD;
        out->safe = false;
        out->u.p = obj;
        return 0;
    }
    if (self->kind == PH_V_NONE && ph_slice_eq_cstr(name, "self"))
        return ph__rs_error(rs, PH_ETYPE, "'TemplateReference' object is not callable");
    if (self->kind == PH_V_NONE) { /* builtins */
        if (ph_slice_eq_cstr(name, "range")) {
            int64_t a0 = 0, a1, st = 1;
            for (size_t i = 0; i < nargs; i++)
                if (!is_int(&args[i]))
                    return ph__rs_error(rs, PH_ETYPE, "range() arguments must be integers");
            if (nargs == 1) {
                a1 = ival(&args[0]);
            } else if (nargs == 2 || nargs == 3) {
                a0 = ival(&args[0]);
                a1 = ival(&args[1]);
                if (nargs == 3)
                    st = ival(&args[2]);
            } else
                return ph__rs_error(rs, PH_ETYPE, "range expected 1 to 3 arguments");
            if (st == 0)
                return ph__rs_error(rs, PH_ETYPE, "range() arg 3 must not be zero");
            *out = ph_tpl_list_new(rs->arena);
            int64_t count = 0;
            for (int64_t i = a0; st > 0 ? i < a1 : i > a1; i += st) {
                if (++count > 100000)
                    return ph__rs_error(rs, PH_ELIMIT, "range too big (over 100000 items)");
                if (ph_tpl_list_push(rs->arena, out, ph_tpl_int(i)) < 0)
                    return oom(rs);
                if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st))
                    break;
            }
            return 0;
        }
        /* dict(k=v), namespace(k=v): a namespace is a map marked with the
         * (otherwise unused) safe flag, so that `set ns.x` may write it */
        *out = ph_tpl_map_new(rs->arena);
        if (out->kind != PH_V_MAP)
            return oom(rs);
        for (size_t i = 0; i < nkw; i++)
            if (ph_tpl_map_set(rs->arena, out, ph_tpl_strn(kw[i].name.ptr, kw[i].name.len),
                               kw[i].value) < 0)
                return oom(rs);
        out->safe = ph_slice_eq_cstr(name, "namespace");
        return 0;
    }
    if (self->kind == PH_V_LOOP && ph_slice_eq_cstr(name, "changed")) {
        ph__loop *l = (ph__loop *)self->u.p; /* the render's own loop state */
        V now = ph_tpl_list_new(rs->arena);
        for (size_t i = 0; i < nargs; i++)
            if (ph_tpl_list_push(rs->arena, &now, args[i]) < 0)
                return oom(rs);
        bool changed = !l->has_last || !ph__equal(&l->last, &now);
        l->last = now;
        l->has_last = true;
        *out = ph_tpl_bool(changed);
        return 0;
    }
    if (self->kind == PH_V_LOOP) {
        const ph__loop *l = self->u.p;
        if (nargs == 0)
            return ph__rs_error(rs, PH_ETYPE, "no items for cycling given");
        *out = args[l->index0 % nargs];
        return 0;
    }
    if (self->kind == PH_V_MAP) {
        const ph_vmap *mp = self->u.map;
        if (ph_slice_eq_cstr(name, "get")) {
            if (nargs < 1)
                return ph__rs_error(rs, PH_ETYPE, "get expected at least 1 argument");
            for (size_t i = 0; i < mp->len; i++)
                if (ph__equal(&mp->keys[i], &args[0])) {
                    *out = mp->vals[i];
                    return 0;
                }
            *out = nargs > 1 ? args[1] : ph_tpl_none();
            return 0;
        }
        *out = ph_tpl_list_new(rs->arena);
        for (size_t i = 0; i < mp->len; i++) {
            V item;
            if (ph_slice_eq_cstr(name, "items")) {
                item = ph_tpl_list_new(rs->arena);
                item.safe = true; /* a (key, value) tuple */
                if (ph_tpl_list_push(rs->arena, &item, mp->keys[i]) < 0 ||
                    ph_tpl_list_push(rs->arena, &item, mp->vals[i]) < 0)
                    return oom(rs);
            } else if (ph_slice_eq_cstr(name, "keys"))
                item = mp->keys[i];
            else if (ph_slice_eq_cstr(name, "values"))
                item = mp->vals[i];
            else
                return ph__rs_error(rs, PH_ETYPE, "'dict' object has no method '%.*s'",
                                    (int)name.len, name.ptr);
            if (ph_tpl_list_push(rs->arena, out, item) < 0)
                return oom(rs);
        }
        return 0;
    }
    static const ph__expr none_expr;
    if (self->kind == PH_V_STR) {
        int rc = ph__str_method(rs, name, self, args, nargs, kw, nkw, out);
        if (rc != 1)
            return rc;
        if (ph_slice_eq_cstr(name, "upper"))
            return change_case(rs, &s, CASE_UPPER, out);
        if (ph_slice_eq_cstr(name, "lower"))
            return change_case(rs, &s, CASE_LOWER, out);
        if (ph_slice_eq_cstr(name, "title"))
            return change_case(rs, &s, CASE_TITLE, out);
        if (ph_slice_eq_cstr(name, "capitalize"))
            return change_case(rs, &s, CASE_CAP, out);
        if (ph_slice_eq_cstr(name, "strip"))
            return strip(rs, &s, &noargs[0], true, true, out);
        if (ph_slice_eq_cstr(name, "lstrip"))
            return strip(rs, &s, &noargs[0], true, false, out);
        if (ph_slice_eq_cstr(name, "rstrip"))
            return strip(rs, &s, &noargs[0], false, true, out);
        if (ph_slice_eq_cstr(name, "replace"))
            return f_replace(rs, &none_expr, &s, noargs, out);
        if (ph_slice_eq_cstr(name, "startswith") || ph_slice_eq_cstr(name, "endswith") ||
            ph_slice_eq_cstr(name, "count")) {
            if (nargs < 1 || args[0].kind != PH_V_STR)
                return ph__rs_error(rs, PH_ETYPE, "%.*s: expected a string argument", (int)name.len,
                                    name.ptr);
            ph_slice x = {args[0].u.s.ptr, args[0].u.s.len}, h = {s.u.s.ptr, s.u.s.len};
            if (name.ptr[0] == 'c') {
                int64_t n = 0;
                if (x.len == 0)
                    n = (int64_t)ph__utf8_len(h.ptr, h.len) + 1;
                else
                    for (const char *p = h.ptr;
                         (p = memmem(p, h.len - (size_t)(p - h.ptr), x.ptr, x.len)) != NULL;
                         p += x.len)
                        n++;
                *out = ph_tpl_int(n);
                return 0;
            }
            bool r = x.len <= h.len &&
                     memcmp(name.ptr[0] == 's' ? h.ptr : h.ptr + h.len - x.len, x.ptr, x.len) == 0;
            *out = ph_tpl_bool(r);
            return 0;
        }
        if (ph_slice_eq_cstr(name, "split")) {
            const V *sep = nargs > 0 ? &args[0] : kwarg(kw, nkw, "sep");
            *out = ph_tpl_list_new(rs->arena);
            const char *p = s.u.s.ptr;
            size_t n = s.u.s.len;
            if (!sep || sep->kind == PH_V_NONE) {
                for (size_t i = 0; i < n;) {
                    while (i < n && isspace((unsigned char)p[i]))
                        i++;
                    size_t st = i;
                    while (i < n && !isspace((unsigned char)p[i]))
                        i++;
                    if (i > st && ph_tpl_list_push(rs->arena, out, ph_tpl_strn(p + st, i - st)) < 0)
                        return oom(rs);
                }
                return 0;
            }
            if (sep->kind != PH_V_STR || sep->u.s.len == 0)
                return ph__rs_error(rs, PH_ETYPE, "empty separator");
            size_t pos = 0;
            for (;;) {
                const char *hit = memmem(p + pos, n - pos, sep->u.s.ptr, sep->u.s.len);
                size_t end = hit ? (size_t)(hit - p) : n;
                if (ph_tpl_list_push(rs->arena, out, ph_tpl_strn(p + pos, end - pos)) < 0)
                    return oom(rs);
                if (!hit)
                    break;
                pos = end + sep->u.s.len;
            }
            return 0;
        }
        if (ph_slice_eq_cstr(name, "join")) {
            V ja[PH__TPL_MAX_FARGS];
            for (int i = 0; i < PH__TPL_MAX_FARGS; i++)
                ja[i] = undef;
            ja[0] = s;
            if (nargs < 1)
                return ph__rs_error(rs, PH_ETYPE, "join() takes exactly one argument");
            return f_join(rs, &none_expr, &args[0], ja, out);
        }
    }
    return ph__rs_error(rs, PH_ETYPE, "'%s' object has no method '%.*s'", ph__kind_name(self),
                        (int)name.len, name.ptr);
}
