/*
 * The filters Flask templates use on sequences and text beyond the basics
 * of filters.c, each with Jinja2's semantics and defaults: select, reject,
 * selectattr, rejectattr (through the tests), groupby, dictsort, slice,
 * unique, items, wordwrap (Python's textwrap), urlize, filesizeformat,
 * xmlattr, forceescape, and the `in` test.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ph_value V;

static int oom(ph__rs *rs)
{
    return ph__rs_error(rs, PH_ENOMEM, "out of memory");
}
static bool given(const V *v)
{
    return v->kind != PH_V_UNDEFINED;
}
static V mkstr(const char *p, size_t n, bool safe)
{
    V v = ph_tpl_strn(p ? p : "", n);
    v.safe = safe;
    return v;
}
static V tuple2(ph__rs *rs, V a, V b)
{
    V t = ph_tpl_list_new(rs->arena);
    t.safe = true;
    if (ph_tpl_list_push(rs->arena, &t, a) < 0 || ph_tpl_list_push(rs->arena, &t, b) < 0)
        return ph_tpl_none();
    return t;
}

/* ---- select / reject ---- */

/* Keeps the items (or item.attr when attr) for which test a[k] with the
 * following arguments is true (want) or false; no test: truthiness. */
static int select_common(ph__rs *rs, V *v, V *a, bool use_attr, bool want, V *out)
{
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    size_t k = 0;
    V attr = ph_tpl_undefined();
    if (use_attr) {
        if (!given(&a[0]))
            return ph__rs_error(rs, PH_EINVAL, "Missing parameter for attribute name");
        attr = a[0];
        k = 1;
    }
    const ph__filter_def *test = NULL;
    if (given(&a[k])) {
        if (a[k].kind != PH_V_STR)
            return ph__rs_error(rs, PH_ETYPE, "a test name must be a string");
        ph_slice tn = {a[k].u.s.ptr, a[k].u.s.len};
        if (!(test = ph__test_find(tn)))
            return ph__rs_error(rs, PH_EINVAL, "No test named '%.*s'.", (int)tn.len, tn.ptr);
    }
    size_t nargs = 0;
    while (k + 1 + nargs < PH__TPL_MAX_FARGS && given(&a[k + 1 + nargs]))
        nargs++;
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    for (size_t i = 0; i < n; i++) {
        V x = items[i], r;
        if (use_attr && (rc = ph__attr_path(rs, &items[i], &attr, &x)) < 0)
            return rc;
        bool ok;
        if (test) {
            if ((rc = ph__apply_def(rs, test, &x, &a[k + 1], nargs, &r)) < 0)
                return rc;
            ok = ph__truthy(&r);
        } else
            ok = ph__truthy(&x);
        if (ok == want && ph_tpl_list_push(rs->arena, out, items[i]) < 0)
            return oom(rs);
    }
    return 0;
}

int ph__f_select(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return select_common(rs, v, a, false, true, out);
}
int ph__f_reject(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return select_common(rs, v, a, false, false, out);
}
int ph__f_selectattr(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return select_common(rs, v, a, true, true, out);
}
int ph__f_rejectattr(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    return select_common(rs, v, a, true, false, out);
}

int ph__t_in(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    bool r;
    int rc = ph__contains(rs, v, &a[0], &r);
    if (rc < 0)
        return rc;
    *out = ph_tpl_bool(r);
    return 0;
}

/* ---- groupby, dictsort, unique ---- */

/* groupby(attribute, default=None, case_sensitive=False): (grouper, list)
 * tuples sorted by the key; without case_sensitive the grouper is the
 * first item's own value. */
int ph__f_groupby(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    bool cs = ph__truthy(&a[2]);
    V *keys = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    V *vals = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    V *orig = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    if (!keys || !vals || !orig)
        return oom(rs);
    for (size_t i = 0; i < n; i++) {
        if ((rc = ph__attr_path(rs, &items[i], &a[0], &keys[i])) < 0)
            return rc;
        if (keys[i].kind == PH_V_UNDEFINED && given(&a[1]))
            keys[i] = a[1];
        vals[i] = items[i];
    }
    /* sort (key, item) pairs; keys are folded by the sort when !cs, so
     * compare the folded keys for grouping as Jinja does */
    V *pairs = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    if (!pairs)
        return oom(rs);
    for (size_t i = 0; i < n; i++)
        pairs[i] = ph_tpl_int((int64_t)i);
    if ((rc = ph__sort_by_keys(rs, keys, pairs, n, cs, false)) < 0)
        return rc;
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ph__equal(&keys[j], &keys[i]))
            j++;
        V list = ph_tpl_list_new(rs->arena);
        for (size_t k = i; k < j; k++)
            if (ph_tpl_list_push(rs->arena, &list, vals[pairs[k].u.i]) < 0)
                return oom(rs);
        V grouper = keys[i];
        if (!cs) { /* the real key of the group's first item */
            if ((rc = ph__attr_path(rs, &vals[pairs[i].u.i], &a[0], &grouper)) < 0)
                return rc;
            if (grouper.kind == PH_V_UNDEFINED && given(&a[1]))
                grouper = a[1];
        }
        V t = tuple2(rs, grouper, list);
        if (t.kind != PH_V_LIST || ph_tpl_list_push(rs->arena, out, t) < 0)
            return oom(rs);
        i = j;
    }
    (void)orig;
    return 0;
}

/* dictsort(case_sensitive=False, by='key', reverse=False): (key, value)
 * tuples of a mapping. */
int ph__f_dictsort(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (v->kind != PH_V_MAP)
        return ph__rs_error(rs, PH_ETYPE, "dictsort: a mapping is needed");
    int pos = 0;
    if (given(&a[1])) {
        if (a[1].kind == PH_V_STR && a[1].u.s.len == 3 && memcmp(a[1].u.s.ptr, "key", 3) == 0)
            pos = 0;
        else if (a[1].kind == PH_V_STR && a[1].u.s.len == 5 &&
                 memcmp(a[1].u.s.ptr, "value", 5) == 0)
            pos = 1;
        else
            return ph__rs_error(rs, PH_EINVAL, "You can only sort by either \"key\" or \"value\"");
    }
    size_t n = v->u.map->len;
    V *keys = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    V *vals = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    if (!keys || !vals)
        return oom(rs);
    for (size_t i = 0; i < n; i++) {
        V k = v->u.map->keys[i], x = v->u.map->vals[i];
        keys[i] = pos ? x : k;
        if ((vals[i] = tuple2(rs, k, x)).kind != PH_V_LIST)
            return oom(rs);
    }
    int rc = ph__sort_by_keys(rs, keys, vals, n, ph__truthy(&a[0]), ph__truthy(&a[2]));
    if (rc < 0)
        return rc;
    *out = ph_tpl_list_new(rs->arena);
    for (size_t i = 0; i < n; i++)
        if (ph_tpl_list_push(rs->arena, out, vals[i]) < 0)
            return oom(rs);
    return 0;
}

/* unique(case_sensitive=False, attribute=None): first item of each key. */
int ph__f_unique(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    V *seen = ph_arena_alloc(rs->arena, (n + 1) * sizeof(V));
    if (!seen)
        return oom(rs);
    size_t ns = 0;
    bool cs = ph__truthy(&a[0]);
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    for (size_t i = 0; i < n; i++) {
        V k;
        if ((rc = ph__attr_path(rs, &items[i], &a[1], &k)) < 0)
            return rc;
        if (!cs && k.kind == PH_V_STR) {
            ph_slice o;
            if (ph__case_map(rs->arena, (ph_slice){k.u.s.ptr, k.u.s.len}, PH__CASE_LOWER, &o) < 0)
                return oom(rs);
            k = ph_tpl_strn(o.ptr, o.len);
        }
        if (k.kind == PH_V_LIST || k.kind == PH_V_MAP)
            return ph__rs_error(rs, PH_ETYPE, "unhashable type: '%s'",
                                k.kind == PH_V_LIST ? "list" : "dict");
        bool dup = false;
        for (size_t j = 0; j < ns && !dup; j++)
            dup = ph__equal(&seen[j], &k);
        if (dup)
            continue;
        seen[ns++] = k;
        if (ph_tpl_list_push(rs->arena, out, items[i]) < 0)
            return oom(rs);
    }
    return 0;
}

/* items(): (key, value) tuples of a mapping; undefined gives none. */
int ph__f_items(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    if (v->kind == PH_V_UNDEFINED)
        return 0;
    if (v->kind != PH_V_MAP)
        return ph__rs_error(rs, PH_ETYPE, "Can only get item pairs from a mapping.");
    for (size_t i = 0; i < v->u.map->len; i++) {
        V t = tuple2(rs, v->u.map->keys[i], v->u.map->vals[i]);
        if (t.kind != PH_V_LIST || ph_tpl_list_push(rs->arena, out, t) < 0)
            return oom(rs);
    }
    return 0;
}

/* slice(slices, fill_with=None): slices columns of nearly equal length. */
int ph__f_slice(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (a[0].kind != PH_V_INT || a[0].u.i <= 0)
        return ph__rs_error(rs, PH_ETYPE, "slice: the number of slices must be a positive integer");
    if (a[0].u.i > 100000)
        return ph__rs_error(rs, PH_ELIMIT, "slice: too many slices");
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    size_t slices = (size_t)a[0].u.i, per = n / slices, extra = n % slices, offset = 0;
    bool fill = given(&a[1]) && a[1].kind != PH_V_NONE;
    *out = ph_tpl_list_new(rs->arena);
    if (out->kind != PH_V_LIST)
        return oom(rs);
    for (size_t s = 0; s < slices; s++) {
        size_t start = offset + s * per;
        if (s < extra)
            offset++;
        size_t end = offset + (s + 1) * per;
        V col = ph_tpl_list_new(rs->arena);
        for (size_t i = start; i < end; i++)
            if (ph_tpl_list_push(rs->arena, &col, items[i]) < 0)
                return oom(rs);
        if (fill && s >= extra && ph_tpl_list_push(rs->arena, &col, a[1]) < 0)
            return oom(rs);
        if (col.kind != PH_V_LIST || ph_tpl_list_push(rs->arena, out, col) < 0)
            return oom(rs);
    }
    return 0;
}

/* ---- text ---- */

/* filesizeformat(binary=False): "1 Byte", "12 Bytes", "1.5 kB", "2.0 MiB". */
int ph__f_filesizeformat(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    double bytes;
    if (v->kind == PH_V_INT || v->kind == PH_V_BOOL)
        bytes = v->kind == PH_V_INT ? (double)v->u.i : v->u.b;
    else if (v->kind == PH_V_FLOAT)
        bytes = v->u.f;
    else if (v->kind == PH_V_STR) {
        char *end;
        char *tmp = ph_arena_strndup(rs->arena, v->u.s.ptr, v->u.s.len);
        if (!tmp)
            return oom(rs);
        bytes = strtod(tmp, &end);
        while (*end == ' ' || *end == '\t' || *end == '\n')
            end++;
        if (end == tmp || *end)
            return ph__rs_error(rs, PH_ETYPE, "could not convert string to float: '%s'", tmp);
    } else
        return ph__rs_error(rs, PH_ETYPE, "filesizeformat: a number is needed");
    bool bin = ph__truthy(&a[0]);
    double base = bin ? 1024 : 1000;
    static const char *const dec[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    static const char *const bi[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    char buf[64];
    if (bytes == 1)
        snprintf(buf, sizeof buf, "1 Byte");
    else if (bytes < base) {
        if (!isfinite(bytes))
            return ph__rs_error(rs, PH_ERANGE, "filesizeformat: not a finite number");
        snprintf(buf, sizeof buf, "%lld Bytes", (long long)bytes);
    } else {
        double unit = base;
        int i;
        for (i = 0; i < 8; i++) {
            unit *= base;
            if (bytes < unit)
                break;
        }
        if (i == 8)
            i = 7;
        snprintf(buf, sizeof buf, "%.1f %s", base * bytes / unit, bin ? bi[i] : dec[i]);
    }
    char *d = ph_arena_strdup(rs->arena, buf);
    if (!d)
        return oom(rs);
    *out = ph_tpl_str(d);
    return 0;
}

/* forceescape: escapes even Markup (str() of it, then escaped). */
int ph__f_forceescape(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V plain;
    int rc = ph__to_str(rs, v, &plain);
    if (rc < 0)
        return rc;
    plain.safe = false;
    return ph__escape(rs, &plain, out);
}

/* xmlattr(autospace=True): ' key="value"' for each item not none or
 * undefined, both escaped; keys with whitespace, / > = are errors. */
int ph__f_xmlattr(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (v->kind != PH_V_MAP)
        return ph__rs_error(rs, PH_ETYPE, "xmlattr: a mapping is needed");
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    int rc;
    bool first = true;
    for (size_t i = 0; i < v->u.map->len; i++) {
        const V *val = &v->u.map->vals[i];
        if (val->kind == PH_V_NONE || val->kind == PH_V_UNDEFINED)
            continue;
        V k, x;
        ph_slice ks;
        if ((rc = ph__str_of(rs->arena, &v->u.map->keys[i], &ks)) < 0)
            return oom(rs);
        for (size_t j = 0; j < ks.len; j++) {
            uint32_t c;
            size_t at = j;
            c = ph__utf8_next(ks.ptr, ks.len, &at);
            if (c == '/' || c == '>' || c == '=' || ph__uc_isspace(c))
                return ph__rs_error(rs, PH_EINVAL, "Invalid character in attribute name: '%.*s'",
                                    (int)ks.len, ks.ptr);
            j = at - 1;
        }
        if ((rc = ph__escape(rs, &v->u.map->keys[i], &k)) < 0 || (rc = ph__escape(rs, val, &x)) < 0)
            return rc;
        if (!first || !given(&a[0]) || ph__truthy(&a[0]))
            ph_buf_putc(&b, ' ');
        first = false;
        ph_buf_append(&b, k.u.s.ptr, k.u.s.len);
        ph_buf_puts(&b, "=\"");
        ph_buf_append(&b, x.u.s.ptr, x.u.s.len);
        ph_buf_putc(&b, '"');
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = mkstr(b.ptr, b.len, ph__autoesc(rs));
    return 0;
}

/* ---- wordwrap: Python's textwrap.TextWrapper(width, expand_tabs=False,
 * replace_whitespace=False, break_long_words, break_on_hyphens) on each
 * line, lines joined with wrapstring ---- */

typedef struct chunk {
    const char *p;
    size_t n;   /* bytes */
    size_t len; /* code points */
    bool ws;
} chunk;

static bool tw_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_alpha_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static size_t cps(const char *p, size_t n)
{
    return ph__utf8_len(p, n);
}

/* Splits a line into whitespace runs and words; with hyphens, a word
 * also breaks after a hyphen between letters (textwrap's wordsep_re, in
 * its common cases). */
static int tw_chunks(ph__rs *rs, const char *s, size_t n, bool hyphens, chunk **out, size_t *nout)
{
    chunk *c = ph_arena_alloc(rs->arena, (n + 1) * sizeof(chunk));
    if (!c)
        return oom(rs);
    size_t k = 0, i = 0;
    while (i < n) {
        size_t st = i;
        bool ws = tw_space(s[i]);
        while (i < n && tw_space(s[i]) == ws) {
            i++;
            if (!ws && hyphens && i < n && s[i - 1] == '-' && i >= st + 3 &&
                is_alpha_byte((unsigned char)s[i - 2]) && is_alpha_byte((unsigned char)s[i - 3]) &&
                is_alpha_byte((unsigned char)s[i]))
                break;
        }
        c[k].p = s + st;
        c[k].n = i - st;
        c[k].len = cps(s + st, i - st);
        c[k++].ws = ws;
    }
    *out = c;
    *nout = k;
    return 0;
}

/* byte length of the first k code points of p */
static size_t cp_bytes(const char *p, size_t n, size_t k)
{
    size_t pos = 0;
    while (pos < n && k > 0) {
        pos++;
        while (pos < n && ((unsigned char)p[pos] & 0xC0) == 0x80)
            pos++;
        k--;
    }
    return pos;
}

static int tw_wrap_line(ph__rs *rs, const char *s, size_t n, size_t width, bool break_long,
                        bool hyphens, ph_slice wrapstring, bool *first_line, ph_buf *b)
{
    chunk *ch = NULL;
    size_t nch = 0;
    int rc = tw_chunks(rs, s, n, hyphens, &ch, &nch);
    if (rc < 0)
        return rc;
    size_t ci = 0; /* next chunk */
    bool any = false;
    /* the current line's chunks, as (pointer, bytes, code points) */
    chunk *line = ph_arena_alloc(rs->arena, (nch * 2 + 2) * sizeof(chunk));
    if (!line)
        return oom(rs);
    while (ci < nch) {
        size_t nl = 0, cur = 0;
        if (ch[ci].ws && any) /* drop leading whitespace of later lines */
            ci++;
        while (ci < nch && cur + ch[ci].len <= width) {
            cur += ch[ci].len;
            line[nl++] = ch[ci++];
        }
        if (ci < nch && ch[ci].len > width) {
            /* a word longer than the line */
            size_t space = width > cur ? width - cur : 1;
            if (width < 1)
                space = 1;
            if (break_long) {
                chunk *w = &ch[ci];
                size_t end = space;
                if (hyphens && w->len > space) {
                    /* the last hyphen within space, if not only hyphens before it */
                    size_t lim = cp_bytes(w->p, w->n, space);
                    for (size_t h = lim; h > 0; h--)
                        if (w->p[h - 1] == '-' && h - 1 > 0) {
                            bool other = false;
                            for (size_t q = 0; q < h - 1; q++)
                                other |= w->p[q] != '-';
                            if (other) {
                                end = cps(w->p, h);
                            }
                            break;
                        }
                }
                size_t eb = cp_bytes(w->p, w->n, end);
                line[nl].p = w->p;
                line[nl].n = eb;
                line[nl].len = end;
                line[nl++].ws = false;
                w->p += eb;
                w->n -= eb;
                w->len -= end;
            } else if (nl == 0)
                line[nl++] = ch[ci++];
        }
        if (nl && line[nl - 1].ws)
            nl--;
        if (nl) {
            if (!*first_line)
                ph_buf_slice(b, wrapstring);
            *first_line = false;
            for (size_t i = 0; i < nl; i++)
                ph_buf_append(b, line[i].p, line[i].n);
        }
        any = true;
        /* textwrap drops a chunk consumed entirely above */
        while (ci < nch && ch[ci].n == 0)
            ci++;
    }
    return 0;
}

int ph__f_wordwrap(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    int64_t width = 79;
    if (given(&a[0])) {
        if (a[0].kind != PH_V_INT)
            return ph__rs_error(rs, PH_ETYPE, "wordwrap: width must be an integer");
        width = a[0].u.i;
    }
    if (width <= 0)
        return ph__rs_error(rs, PH_EINVAL, "invalid width %lld (must be > 0)", (long long)width);
    bool break_long = !given(&a[1]) || ph__truthy(&a[1]);
    bool hyphens = !given(&a[3]) || ph__truthy(&a[3]);
    ph_slice ws = PH_SLICE("\n"), s;
    if (given(&a[2]) && a[2].kind != PH_V_NONE && ph__str_of(rs->arena, &a[2], &ws) < 0)
        return oom(rs);
    if (ph__str_of(rs->arena, v, &s) < 0)
        return oom(rs);
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    /* str.splitlines(): \n, \r\n, \r and the other line boundaries */
    size_t i = 0;
    bool firstl = true;
    while (i < s.len) {
        size_t st = i;
        while (i < s.len && s.ptr[i] != '\n' && s.ptr[i] != '\r' && s.ptr[i] != '\v' &&
               s.ptr[i] != '\f' && s.ptr[i] != 0x1c && s.ptr[i] != 0x1d && s.ptr[i] != 0x1e)
            i++;
        if (!firstl)
            ph_buf_slice(&b, ws);
        firstl = false;
        bool first_piece = true;
        int rc = tw_wrap_line(rs, s.ptr + st, i - st, (size_t)width, break_long, hyphens, ws,
                              &first_piece, &b);
        if (rc < 0)
            return rc;
        if (i < s.len && s.ptr[i] == '\r' && i + 1 < s.len && s.ptr[i + 1] == '\n')
            i++;
        if (i < s.len)
            i++;
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = mkstr(b.ptr, b.len, false);
    return 0;
}

/* ---- urlize ---- */

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}
static bool is_lower_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool has_prefix(const char *p, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(p, pre, k) == 0;
}
static bool has_prefix_ci(const char *p, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != pre[i])
            return false;
    }
    return true;
}

/* The part after the host: optional ":port" (1-5 digits), then optional
 * [/?#] and anything (no whitespace here). */
static bool url_tail_ok(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == ':') {
        size_t d = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d || i - d > 5)
            return false;
    }
    return i == n || p[i] == '/' || p[i] == '?' || p[i] == '#';
}

static bool label_ok(const char *p, size_t n, bool dash_pct)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_word((unsigned char)p[i]) && !(dash_pct && (p[i] == '-' || p[i] == '%')))
            return false;
    return true;
}

static bool tld_ok(const char *p, size_t n)
{
    if (has_prefix_ci(p, n, "xn--")) {
        if (n - 4 < 2 || n - 4 > 59)
            return false;
        for (size_t i = 4; i < n; i++)
            if (!is_word((unsigned char)p[i]) && p[i] != '%')
                return false;
        return true;
    }
    if (n < 2 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alpha((unsigned char)p[i]))
            return false;
    return true;
}

/* Jinja's _http_re: "http(s)://" or "www." then a host ending in a tld;
 * or a bare domain under com/net/int/edu/gov/org/info/mil; or http(s) to
 * an IPv4 address; then an optional port and path. */
static bool http_like(const char *p, size_t n)
{
    size_t hs = 0;
    bool scheme = false;
    if (has_prefix_ci(p, n, "https://"))
        hs = 8, scheme = true;
    else if (has_prefix_ci(p, n, "http://"))
        hs = 7, scheme = true;
    else if (has_prefix_ci(p, n, "www."))
        hs = 4;
    size_t he = hs;
    while (he < n && p[he] != ':' && p[he] != '/' && p[he] != '?' && p[he] != '#')
        he++;
    const char *h = p + hs;
    size_t hn = he - hs;
    if (hs) {
        /* labels: ([\w%-]+\.)* tld */
        size_t last = hn;
        while (last > 0 && h[last - 1] != '.')
            last--;
        bool ok = tld_ok(h + last, hn - last);
        size_t st = 0;
        for (size_t i = 0; ok && i < last; i++)
            if (h[i] == '.') {
                ok = label_ok(h + st, i - st, true);
                st = i + 1;
            }
        if (ok && url_tail_ok(p + he, n - he))
            return true;
        if (scheme) { /* IPv4 */
            int parts = 0;
            size_t i = 0;
            bool ip = true;
            while (ip && i <= hn) {
                size_t d = i;
                while (i < hn && h[i] >= '0' && h[i] <= '9')
                    i++;
                ip = i > d && i - d <= 3;
                parts++;
                if (i < hn && h[i] == '.' && parts < 4)
                    i++;
                else
                    break;
            }
            if (ip && parts == 4 && i == hn && url_tail_ok(p + he, n - he))
                return true;
        }
    }
    /* bare domain: ([\w%-]{2,63}\.)+ (com|net|...) */
    size_t last = hn + hs;
    const char *d = p;
    size_t dn = he;
    last = dn;
    while (last > 0 && d[last - 1] != '.')
        last--;
    if (last == 0)
        return false;
    static const char *const tlds[] = {"com", "net", "int", "edu", "gov", "org", "info", "mil"};
    bool tok = false;
    for (size_t i = 0; i < PH_COUNTOF(tlds); i++)
        if (dn - last == strlen(tlds[i]) && has_prefix_ci(d + last, dn - last, tlds[i]))
            tok = true;
    if (!tok)
        return false;
    size_t st = 0;
    for (size_t i = 0; i < last; i++)
        if (d[i] == '.') {
            if (i - st < 2 || i - st > 63 || !label_ok(d + st, i - st, true))
                return false;
            st = i + 1;
        }
    return url_tail_ok(p + he, n - he);
}

/* ^\S+@\w[\w.-]*\.\w+$ */
static bool email_like(const char *p, size_t n)
{
    const char *at = memchr(p, '@', n);
    if (!at)
        return false;
    /* \S+ is greedy: the last '@' that leaves a valid domain */
    for (const char *q = p + n; q > p; q--) {
        if (q[-1] != '@')
            continue;
        const char *dom = q;
        size_t dn = (size_t)(p + n - dom);
        if (q - 1 == p || dn < 3 || !is_word((unsigned char)dom[0]))
            continue;
        size_t dot = dn;
        while (dot > 0 && dom[dot - 1] != '.')
            dot--;
        if (dot < 2 || dot == dn)
            continue;
        bool ok = true;
        for (size_t i = 1; i < dot - 1 && ok; i++)
            ok = is_word((unsigned char)dom[i]) || dom[i] == '.' || dom[i] == '-';
        for (size_t i = dot; i < dn && ok; i++)
            ok = is_word((unsigned char)dom[i]);
        if (ok)
            return true;
    }
    return false;
}

static size_t count_of(const char *p, size_t n, const char *x)
{
    size_t k = strlen(x), c = 0;
    for (size_t i = 0; i + k <= n;)
        if (memcmp(p + i, x, k) == 0) {
            c++;
            i += k;
        } else
            i++;
    return c;
}

/* urlize(trim_url_limit=None, nofollow=False, target=None, rel=None):
 * links for the URLs and e-mail addresses of the (escaped) text, with
 * rel="noopener" (Jinja's default policy) plus nofollow / rel. */
int ph__f_urlize(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    if (given(&a[4]) && a[4].kind != PH_V_NONE)
        return ph__rs_error(rs, PH_EINVAL, "urlize: extra_schemes is not supported");
    int64_t trim = -1;
    if (given(&a[0]) && a[0].kind != PH_V_NONE) {
        if (a[0].kind != PH_V_INT)
            return ph__rs_error(rs, PH_ETYPE, "urlize: trim_url_limit must be an integer");
        trim = a[0].u.i;
    }
    /* rel: the sorted set of words of rel, nofollow, noopener */
    ph_slice words[34];
    size_t nw = 0;
    if (given(&a[3]) && a[3].kind != PH_V_NONE) {
        ph_slice r;
        if (ph__str_of(rs->arena, &a[3], &r) < 0)
            return oom(rs);
        for (size_t i = 0; i < r.len && nw < 32;) {
            while (i < r.len && tw_space(r.ptr[i]))
                i++;
            size_t st = i;
            while (i < r.len && !tw_space(r.ptr[i]))
                i++;
            if (i > st)
                words[nw++] = (ph_slice){r.ptr + st, i - st};
        }
    }
    if (ph__truthy(&a[1]))
        words[nw++] = PH_SLICE("nofollow");
    words[nw++] = PH_SLICE("noopener");
    for (size_t i = 1; i < nw; i++) /* insertion sort, then unique */
        for (size_t j = i; j > 0; j--) {
            size_t m = words[j].len < words[j - 1].len ? words[j].len : words[j - 1].len;
            int c = memcmp(words[j].ptr, words[j - 1].ptr, m);
            if (c > 0 || (c == 0 && words[j].len >= words[j - 1].len))
                break;
            ph_slice t = words[j];
            words[j] = words[j - 1];
            words[j - 1] = t;
        }
    ph_buf attrs;
    ph_buf_init(&attrs, rs->arena);
    ph_buf_puts(&attrs, " rel=\"");
    for (size_t i = 0; i < nw; i++) {
        if (i && ph_slice_eq(words[i], words[i - 1]))
            continue;
        if (i)
            ph_buf_putc(&attrs, ' ');
        V w = ph_tpl_strn(words[i].ptr, words[i].len), ew;
        if (ph__escape(rs, &w, &ew) < 0)
            return PH_ENOMEM;
        ph_buf_append(&attrs, ew.u.s.ptr, ew.u.s.len);
    }
    ph_buf_putc(&attrs, '"');
    if (given(&a[2]) && a[2].kind != PH_V_NONE && ph__truthy(&a[2])) {
        V et;
        if (ph__escape(rs, &a[2], &et) < 0)
            return PH_ENOMEM;
        ph_buf_puts(&attrs, " target=\"");
        ph_buf_append(&attrs, et.u.s.ptr, et.u.s.len);
        ph_buf_putc(&attrs, '"');
    }
    if (ph_buf_status(&attrs) < 0)
        return oom(rs);
    V esc;
    int rc = ph__escape(rs, v, &esc);
    if (rc < 0)
        return rc;
    const char *s = esc.u.s.ptr;
    size_t n = esc.u.s.len;
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    for (size_t i = 0; i < n;) {
        size_t st = i;
        bool ws = tw_space(s[i]) || s[i] == 0x1c || s[i] == 0x1d || s[i] == 0x1e || s[i] == 0x1f;
        while (i < n && (tw_space(s[i]) || s[i] == 0x1c || s[i] == 0x1d || s[i] == 0x1e ||
                         s[i] == 0x1f) == ws)
            i++;
        if (ws) {
            ph_buf_append(&b, s + st, i - st);
            continue;
        }
        const char *w = s + st;
        size_t wn = i - st, hb = 0;
        /* head: ( < &lt; */
        for (;;) {
            if (hb < wn && (w[hb] == '(' || w[hb] == '<'))
                hb++;
            else if (has_prefix(w + hb, wn - hb, "&lt;"))
                hb += 4;
            else
                break;
        }
        const char *mid = w + hb;
        size_t mn = wn - hb, tb = mn;
        /* tail: ) > . , \n &gt; */
        for (;;) {
            if (tb > 0 && (mid[tb - 1] == ')' || mid[tb - 1] == '>' || mid[tb - 1] == '.' ||
                           mid[tb - 1] == ',' || mid[tb - 1] == '\n'))
                tb--;
            else if (tb >= 4 && memcmp(mid + tb - 4, "&gt;", 4) == 0)
                tb -= 4;
            else
                break;
        }
        const char *tail = mid + tb;
        size_t tn = mn - tb;
        mn = tb;
        /* balance parentheses from the tail */
        static const char *const pairs[3][2] = {{"(", ")"}, {"<", ">"}, {"&lt;", "&gt;"}};
        for (int k = 0; k < 3; k++) {
            size_t sc = count_of(mid, mn, pairs[k][0]);
            if (sc <= count_of(mid, mn, pairs[k][1]))
                continue;
            size_t moves = count_of(tail, tn, pairs[k][1]);
            if (moves > sc)
                moves = sc;
            size_t el = strlen(pairs[k][1]);
            for (size_t m = 0; m < moves; m++) {
                const char *hit = memmem(tail, tn, pairs[k][1], el);
                size_t adv = (size_t)(hit - tail) + el;
                mn += adv; /* mid and tail are contiguous */
                tail += adv;
                tn -= adv;
            }
        }
        ph_buf_append(&b, w, hb);
        size_t shown = mn;
        bool trimmed = false;
        if (trim >= 0 && cps(mid, mn) > (size_t)trim) {
            shown = cp_bytes(mid, mn, (size_t)trim);
            trimmed = true;
        }
        if (http_like(mid, mn)) {
            bool has_scheme = has_prefix(mid, mn, "https://") || has_prefix(mid, mn, "http://");
            ph_buf_puts(&b, has_scheme ? "<a href=\"" : "<a href=\"https://");
            ph_buf_append(&b, mid, mn);
            ph_buf_putc(&b, '"');
            ph_buf_append(&b, attrs.ptr, attrs.len);
            ph_buf_putc(&b, '>');
            ph_buf_append(&b, mid, shown);
            if (trimmed)
                ph_buf_puts(&b, "...");
            ph_buf_puts(&b, "</a>");
        } else if (has_prefix(mid, mn, "mailto:") && email_like(mid + 7, mn - 7)) {
            ph_buf_puts(&b, "<a href=\"");
            ph_buf_append(&b, mid, mn);
            ph_buf_puts(&b, "\">");
            ph_buf_append(&b, mid + 7, mn - 7);
            ph_buf_puts(&b, "</a>");
        } else if (memchr(mid, '@', mn) && !has_prefix(mid, mn, "www.") && !memchr(mid, ':', mn) &&
                   email_like(mid, mn)) {
            ph_buf_puts(&b, "<a href=\"mailto:");
            ph_buf_append(&b, mid, mn);
            ph_buf_puts(&b, "\">");
            ph_buf_append(&b, mid, mn);
            ph_buf_puts(&b, "</a>");
        } else
            ph_buf_append(&b, mid, mn);
        ph_buf_append(&b, tail, tn);
    }
    if (ph_buf_status(&b) < 0)
        return oom(rs);
    *out = mkstr(b.ptr, b.len, ph__autoesc(rs));
    return 0;
}

/* pprint: Python's repr of the value (pprint.pformat wraps what does not
 * fit in 80 columns; this does not). */
int ph__f_pprint(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    ph_buf b;
    ph_buf_init(&b, rs->arena);
    V l = ph_tpl_list_new(rs->arena);
    if (ph_tpl_list_push(rs->arena, &l, *v) < 0 || ph_tpl_value_str(&b, &l) < 0 || b.len < 2)
        return oom(rs);
    *out = mkstr(b.ptr + 1, b.len - 2, false); /* "[repr]" without the brackets */
    return 0;
}

/* random: one item, chosen with the C library's arc4random. */
int ph__f_random(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)e;
    (void)a;
    V *items;
    size_t n;
    int rc = ph__iterate(rs, v, &items, &n);
    if (rc < 0)
        return rc;
    if (n == 0) { /* Jinja: an undefined value */
        *out = ph_tpl_undefined();
        return 0;
    }
    *out = items[n > 1 ? arc4random_uniform((uint32_t)(n > UINT32_MAX ? UINT32_MAX : n)) : 0];
    return 0;
}

/* the tests `filter` and `test`: whether a filter / test of that name exists */
int ph__t_filter(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)rs;
    (void)e;
    (void)a;
    *out = ph_tpl_bool(v->kind == PH_V_STR && ph__filter_find((ph_slice){v->u.s.ptr, v->u.s.len}));
    return 0;
}
int ph__t_test(ph__rs *rs, const ph__expr *e, V *v, V *a, V *out)
{
    (void)rs;
    (void)e;
    (void)a;
    *out = ph_tpl_bool(v->kind == PH_V_STR && ph__test_find((ph_slice){v->u.s.ptr, v->u.s.len}));
    return 0;
}
