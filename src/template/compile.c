/*
 * The template compiler: a lexer that splits the source into text and tag
 * tokens (whitespace control, comments, raw blocks, Jinja's newline rules)
 * and a recursive-descent parser that builds the tree the renderer walks.
 * Everything is allocated in the template's own arena; a syntax error stops
 * the compile with "name:line:col: message".  Nesting is capped so hostile
 * input cannot overflow the stack.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind {
    T_EOF,
    T_TEXT,
    T_VAR_BEGIN,
    T_VAR_END,
    T_BLOCK_BEGIN,
    T_BLOCK_END,
    T_NAME,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_OP
} tok_kind;

typedef struct tok {
    tok_kind kind;
    int line, col;
    ph_slice s; /* text, name, string value, operator */
    int64_t i;
    double f;
} tok;

typedef struct cstate {
    ph__tpl *t;
    ph_arena *a;
    const char *src;
    size_t len, pos;
    int line;
    size_t line_start;
    tok *toks;
    size_t ntoks, captoks, cur;
    int depth;
    int rc;
    char *err;
    size_t errlen;
    bool failed;
    ph__blockdef *blocks;
    size_t nblocks, capblocks;
    ph__node **refs;
    size_t nrefs, caprefs;
    int in_macro;
    int body_depth;       /* 1 while parsing the template's top level */
    ph__macro *cur_macro; /* innermost macro or call block being parsed */
} cstate;

static void cerr(cstate *c, int line, int col, const char *fmt, ...) PH_PRINTF(4, 5);
static void cerr(cstate *c, int line, int col, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    if (c->rc == 0)
        c->rc = PH_EPARSE;
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->t->name, line, col);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
}

static void *grow(cstate *c, void *arr, size_t *cap, size_t len, size_t elem)
{
    if (len < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 16;
    void *n = ph_arena_alloc(c->a, nc * elem);
    if (!n) {
        c->rc = PH_ENOMEM;
        cerr(c, 0, 0, "out of memory");
        return NULL;
    }
    if (len)
        memcpy(n, arr, len * elem);
    *cap = nc;
    return n;
}

/* ---- lexer ---- */

static int col_at(cstate *c, size_t pos)
{
    /* column of pos on its line (1-based) */
    size_t p = pos;
    while (p > 0 && c->src[p - 1] != '\n')
        p--;
    return (int)(pos - p) + 1;
}

static int line_at(cstate *c, size_t pos)
{
    /* incremental: c->line is the line of c->line_start */
    while (c->line_start < pos) {
        if (c->src[c->line_start] == '\n')
            c->line++;
        c->line_start++;
    }
    return c->line;
}

static tok *push_tok(cstate *c, tok_kind k, size_t pos)
{
    tok *nt = grow(c, c->toks, &c->captoks, c->ntoks, sizeof(tok));
    if (!nt)
        return NULL;
    c->toks = nt;
    tok *t = &c->toks[c->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = k;
    t->line = line_at(c, pos);
    t->col = col_at(c, pos);
    return t;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}
static bool is_name_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}
static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static void emit_text(cstate *c, size_t start, size_t end, bool lstrip, bool rstrip)
{
    if (lstrip)
        while (start < end && is_space(c->src[start]))
            start++;
    if (rstrip)
        while (end > start && is_space(c->src[end - 1]))
            end--;
    if (end > start) {
        tok *t = push_tok(c, T_TEXT, start);
        if (t)
            t->s = (ph_slice){c->src + start, end - start};
    }
}

/* Reads a string literal starting at the quote; decoded into the arena. */
static bool lex_string(cstate *c, size_t *pp, tok *t)
{
    size_t p = *pp;
    char q = c->src[p++];
    char *out = ph_arena_alloc(c->a, c->len - p + 1);
    if (!out) {
        c->rc = PH_ENOMEM;
        cerr(c, t->line, t->col, "out of memory");
        return false;
    }
    size_t o = 0;
    while (p < c->len && c->src[p] != q) {
        char ch = c->src[p++];
        if (ch == '\\' && p < c->len) {
            char e = c->src[p++];
            switch (e) {
            case 'n':
                out[o++] = '\n';
                break;
            case 't':
                out[o++] = '\t';
                break;
            case 'r':
                out[o++] = '\r';
                break;
            case '\\':
                out[o++] = '\\';
                break;
            case '\'':
                out[o++] = '\'';
                break;
            case '"':
                out[o++] = '"';
                break;
            case '0':
                out[o++] = '\0';
                break;
            case '\n':
                break;
            default:
                out[o++] = '\\';
                out[o++] = e;
            }
        } else
            out[o++] = ch;
    }
    if (p >= c->len) {
        cerr(c, t->line, t->col, "unterminated string");
        return false;
    }
    out[o] = '\0';
    t->s = (ph_slice){out, o};
    *pp = p + 1;
    return true;
}

/* Tokens of one tag body until its end marker; returns false on error. */
static bool lex_tag(cstate *c, size_t *pp, bool is_var, bool *strip_after)
{
    size_t p = *pp;
    int paren = 0;
    for (;;) {
        while (p < c->len && is_space(c->src[p]))
            p++;
        if (p >= c->len) {
            cerr(c, line_at(c, p), col_at(c, p), "unexpected end of template inside %s",
                 is_var ? "'{{'" : "'{%'");
            return false;
        }
        const char *s = c->src + p;
        size_t rem = c->len - p;
        char end1 = is_var ? '}' : '%';
        if (paren == 0 || !is_var) {
            if (rem >= 3 && s[0] == '-' && s[1] == end1 && s[2] == '}') {
                *strip_after = true;
                push_tok(c, is_var ? T_VAR_END : T_BLOCK_END, p);
                *pp = p + 3;
                return !c->failed;
            }
            if (rem >= 2 && s[0] == end1 && s[1] == '}') {
                *strip_after = false;
                push_tok(c, is_var ? T_VAR_END : T_BLOCK_END, p);
                *pp = p + 2;
                return !c->failed;
            }
        }
        tok *t;
        if (is_name_start(*s)) {
            size_t st = p;
            while (p < c->len && (is_name_start(c->src[p]) || is_digit(c->src[p])))
                p++;
            if (!(t = push_tok(c, T_NAME, st)))
                return false;
            t->s = (ph_slice){c->src + st, p - st};
        } else if (is_digit(*s)) {
            size_t st = p;
            bool isf = false;
            while (p < c->len && (is_digit(c->src[p]) || c->src[p] == '_'))
                p++;
            if (p + 1 < c->len && c->src[p] == '.' && is_digit(c->src[p + 1])) {
                isf = true;
                p++;
                while (p < c->len && (is_digit(c->src[p]) || c->src[p] == '_'))
                    p++;
            }
            if (p < c->len && (c->src[p] == 'e' || c->src[p] == 'E')) {
                size_t q = p + 1;
                if (q < c->len && (c->src[q] == '+' || c->src[q] == '-'))
                    q++;
                if (q < c->len && is_digit(c->src[q])) {
                    isf = true;
                    p = q;
                    while (p < c->len && is_digit(c->src[p]))
                        p++;
                }
            }
            char num[64];
            size_t nn = 0;
            for (size_t i = st; i < p && nn < sizeof num - 1; i++)
                if (c->src[i] != '_')
                    num[nn++] = c->src[i];
            num[nn] = '\0';
            if (!(t = push_tok(c, isf ? T_FLOAT : T_INT, st)))
                return false;
            if (isf) {
                t->f = strtod(num, NULL);
            } else if (ph_parse_i64((ph_slice){num, nn}, &t->i) < 0) {
                cerr(c, t->line, t->col, "integer literal too large");
                return false;
            }
        } else if (*s == '"' || *s == '\'') {
            if (!(t = push_tok(c, T_STRING, p)) || !lex_string(c, &p, t))
                return false;
        } else {
            static const char *const ops2[] = {"//", "**", "==", "!=", "<=", ">="};
            size_t n = 0;
            for (size_t i = 0; i < PH_COUNTOF(ops2); i++)
                if (rem >= 2 && s[0] == ops2[i][0] && s[1] == ops2[i][1])
                    n = 2;
            if (!n && strchr("+-*/%~<>()[]{},.:|=", *s) && *s)
                n = 1;
            if (!n) {
                cerr(c, line_at(c, p), col_at(c, p), "unexpected char '%c'", *s);
                return false;
            }
            if (*s == '(' || *s == '[' || *s == '{')
                paren++;
            else if ((*s == ')' || *s == ']' || *s == '}') && paren > 0)
                paren--;
            if (!(t = push_tok(c, T_OP, p)))
                return false;
            t->s = (ph_slice){s, n};
            p += n;
        }
    }
}

/* At p (just after "{%" and an optional -/+), whether the tag is "raw". */
static bool is_raw_tag(cstate *c, size_t p, size_t *after, bool *strip_after)
{
    while (p < c->len && is_space(c->src[p]))
        p++;
    if (c->len - p < 3 || memcmp(c->src + p, "raw", 3) != 0)
        return false;
    p += 3;
    while (p < c->len && is_space(c->src[p]))
        p++;
    *strip_after = false;
    if (p < c->len && c->src[p] == '-') {
        *strip_after = true;
        p++;
    }
    if (c->len - p >= 2 && c->src[p] == '%' && c->src[p + 1] == '}') {
        *after = p + 2;
        return true;
    }
    return false;
}

static bool lex(cstate *c)
{
    size_t p = 0;
    bool lstrip_next = false;
    while (p < c->len) {
        /* find the next tag opener */
        size_t q = p;
        const char *open = NULL;
        while (q + 1 < c->len) {
            if (c->src[q] == '{' &&
                (c->src[q + 1] == '{' || c->src[q + 1] == '%' || c->src[q + 1] == '#')) {
                open = c->src + q;
                break;
            }
            q++;
        }
        if (!open) {
            emit_text(c, p, c->len, lstrip_next, false);
            break;
        }
        size_t after = q + 2;
        bool strip_before = false;
        if (after < c->len && c->src[after] == '-') {
            strip_before = true;
            after++;
        } else if (after < c->len && c->src[after] == '+')
            after++;
        int tl = line_at(c, q), tc = col_at(c, q);
        if (open[1] == '#') {
            emit_text(c, p, q, lstrip_next, strip_before);
            size_t e = after;
            while (e + 1 < c->len && !(c->src[e] == '#' && c->src[e + 1] == '}'))
                e++;
            if (e + 1 >= c->len) {
                cerr(c, tl, tc, "missing end of comment tag");
                return false;
            }
            lstrip_next = e > after && c->src[e - 1] == '-';
            p = e + 2;
            continue;
        }
        size_t raw_after;
        bool raw_strip;
        if (open[1] == '%' && is_raw_tag(c, after, &raw_after, &raw_strip)) {
            emit_text(c, p, q, lstrip_next, strip_before);
            /* find {% endraw %} */
            size_t e = raw_after;
            for (;;) {
                while (e + 1 < c->len && !(c->src[e] == '{' && c->src[e + 1] == '%'))
                    e++;
                if (e + 1 >= c->len) {
                    cerr(c, tl, tc, "missing end of raw directive");
                    return false;
                }
                size_t k = e + 2;
                bool sb = false;
                if (k < c->len && (c->src[k] == '-' || c->src[k] == '+')) {
                    sb = c->src[k] == '-';
                    k++;
                }
                while (k < c->len && is_space(c->src[k]))
                    k++;
                if (c->len - k >= 6 && memcmp(c->src + k, "endraw", 6) == 0) {
                    k += 6;
                    while (k < c->len && is_space(c->src[k]))
                        k++;
                    bool sa = false;
                    if (k < c->len && c->src[k] == '-') {
                        sa = true;
                        k++;
                    }
                    if (c->len - k >= 2 && c->src[k] == '%' && c->src[k + 1] == '}') {
                        emit_text(c, raw_after, e, raw_strip, sb);
                        lstrip_next = sa;
                        p = k + 2;
                        break;
                    }
                }
                e += 2;
            }
            continue;
        }
        emit_text(c, p, q, lstrip_next, strip_before);
        bool is_var = open[1] == '{';
        if (!push_tok(c, is_var ? T_VAR_BEGIN : T_BLOCK_BEGIN, q))
            return false;
        p = after;
        if (!lex_tag(c, &p, is_var, &lstrip_next))
            return false;
    }
    push_tok(c, T_EOF, c->len);
    return !c->failed;
}

/* ---- parser ---- */

static tok *peek(cstate *c)
{
    return &c->toks[c->cur];
}
static tok *peek2(cstate *c)
{
    return c->cur + 1 < c->ntoks ? &c->toks[c->cur + 1] : &c->toks[c->ntoks - 1];
}
static tok *next(cstate *c)
{
    tok *t = &c->toks[c->cur];
    if (t->kind != T_EOF)
        c->cur++;
    return t;
}
static bool is_op(const tok *t, const char *op)
{
    return t->kind == T_OP && ph_slice_eq_cstr(t->s, op);
}
static bool is_name(const tok *t, const char *n)
{
    return t->kind == T_NAME && ph_slice_eq_cstr(t->s, n);
}

static const char *tok_desc(const tok *t)
{
    switch (t->kind) {
    case T_EOF:
        return "end of template";
    case T_TEXT:
        return "template data";
    case T_VAR_BEGIN:
        return "'{{'";
    case T_VAR_END:
        return "'}}'";
    case T_BLOCK_BEGIN:
        return "'{%'";
    case T_BLOCK_END:
        return "'%}'";
    case T_NAME:
        return "name";
    case T_STRING:
        return "string";
    case T_INT:
        return "integer";
    case T_FLOAT:
        return "float";
    case T_OP:
        return "operator";
    }
    return "token";
}

static bool expect_op(cstate *c, const char *op)
{
    tok *t = peek(c);
    if (!is_op(t, op)) {
        if (t->kind == T_OP || t->kind == T_NAME)
            cerr(c, t->line, t->col, "expected '%s', got '%.*s'", op, (int)t->s.len, t->s.ptr);
        else
            cerr(c, t->line, t->col, "expected '%s', got %s", op, tok_desc(t));
        return false;
    }
    next(c);
    return true;
}

static bool expect_kind(cstate *c, tok_kind k, const char *what)
{
    tok *t = peek(c);
    if (t->kind != k) {
        if (t->kind == T_OP || t->kind == T_NAME)
            cerr(c, t->line, t->col, "expected %s, got '%.*s'", what, (int)t->s.len, t->s.ptr);
        else
            cerr(c, t->line, t->col, "expected %s, got %s", what, tok_desc(t));
        return false;
    }
    next(c);
    return true;
}

static ph__expr *new_expr(cstate *c, ph__ekind k, const tok *t)
{
    ph__expr *e = PH_ARENA_NEW(c->a, ph__expr);
    if (!e) {
        c->rc = PH_ENOMEM;
        cerr(c, t->line, t->col, "out of memory");
        return NULL;
    }
    e->kind = k;
    e->line = t->line;
    return e;
}

static ph__expr *parse_expr(cstate *c, bool condexpr);
static ph__expr *parse_unary(cstate *c, bool with_filter);
static ph__expr *parse_filter_call(cstate *c, ph__expr *e);

static bool enter(cstate *c, const tok *t)
{
    if (++c->depth > PH__TPL_MAX_PARSE_DEPTH) {
        c->rc = PH_ELIMIT;
        cerr(c, t->line, t->col, "template nested too deeply");
        return false;
    }
    return true;
}

/* Parses "(a, b, k=v)" after the '(' has been consumed. */
static bool parse_args(cstate *c, ph__expr ***args, size_t *nargs, ph_slice **kwn, ph__expr ***kwv,
                       size_t *nkw)
{
    size_t capa = 0, capk = 0, capn = 0;
    *args = NULL;
    *nargs = 0;
    *kwn = NULL;
    *kwv = NULL;
    *nkw = 0;
    while (!is_op(peek(c), ")")) {
        if (*nargs || *nkw)
            if (!expect_op(c, ","))
                return false;
        if (is_op(peek(c), ")"))
            break;
        tok *t = peek(c);
        if (t->kind == T_NAME && is_op(peek2(c), "=")) {
            next(c);
            next(c);
            ph__expr *v = parse_expr(c, true);
            if (!v)
                return false;
            size_t cn = capn;
            ph_slice *nn = grow(c, *kwn, &cn, *nkw, sizeof(ph_slice));
            ph__expr **nv = grow(c, *kwv, &capk, *nkw, sizeof(ph__expr *));
            capn = cn;
            if (!nn || !nv)
                return false;
            *kwn = nn;
            *kwv = nv;
            (*kwn)[*nkw] = t->s;
            (*kwv)[(*nkw)++] = v;
        } else {
            if (*nkw) {
                cerr(c, t->line, t->col, "positional argument follows keyword argument");
                return false;
            }
            ph__expr *v = parse_expr(c, true);
            if (!v)
                return false;
            ph__expr **na = grow(c, *args, &capa, *nargs, sizeof(ph__expr *));
            if (!na)
                return false;
            *args = na;
            (*args)[(*nargs)++] = v;
        }
    }
    next(c);
    return true;
}

static ph__expr *parse_list_like(cstate *c, const tok *t, const char *close)
{
    ph__expr *e = new_expr(c, E_LIST, t);
    if (!e)
        return NULL;
    size_t cap = 0;
    while (!is_op(peek(c), close)) {
        if (e->u.list.n && !expect_op(c, ","))
            return NULL;
        if (is_op(peek(c), close))
            break;
        ph__expr *x = parse_expr(c, true);
        if (!x)
            return NULL;
        ph__expr **ni = grow(c, e->u.list.items, &cap, e->u.list.n, sizeof(ph__expr *));
        if (!ni)
            return NULL;
        e->u.list.items = ni;
        e->u.list.items[e->u.list.n++] = x;
    }
    next(c);
    return e;
}

static ph__expr *parse_primary(cstate *c)
{
    tok *t = next(c);
    ph__expr *e;
    switch (t->kind) {
    case T_NAME:
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") ||
            is_name(t, "False")) {
            if (!(e = new_expr(c, E_CONST, t)))
                return NULL;
            e->u.cval = ph_tpl_bool(t->s.ptr[0] == 't' || t->s.ptr[0] == 'T');
            return e;
        }
        if (is_name(t, "none") || is_name(t, "None")) {
            if (!(e = new_expr(c, E_CONST, t)))
                return NULL;
            e->u.cval = ph_tpl_none();
            return e;
        }
        if (!(e = new_expr(c, E_NAME, t)))
            return NULL;
        e->u.name = t->s;
        if (c->cur_macro && is_name(t, "varargs"))
            c->cur_macro->varargs = true;
        if (c->cur_macro && is_name(t, "kwargs"))
            c->cur_macro->kwargs = true;
        return e;
    case T_STRING: {
        if (!(e = new_expr(c, E_CONST, t)))
            return NULL;
        if (peek(c)->kind != T_STRING) {
            e->u.cval = ph_tpl_strn(t->s.ptr, t->s.len);
            return e;
        }
        ph_buf b;
        ph_buf_init(&b, c->a);
        ph_buf_slice(&b, t->s);
        while (peek(c)->kind == T_STRING)
            ph_buf_slice(&b, next(c)->s);
        if (ph_buf_status(&b) < 0) {
            c->rc = PH_ENOMEM;
            cerr(c, t->line, t->col, "out of memory");
            return NULL;
        }
        e->u.cval = ph_tpl_strn(b.ptr, b.len);
        return e;
    }
    case T_INT:
        if (!(e = new_expr(c, E_CONST, t)))
            return NULL;
        e->u.cval = ph_tpl_int(t->i);
        return e;
    case T_FLOAT:
        if (!(e = new_expr(c, E_CONST, t)))
            return NULL;
        e->u.cval = ph_tpl_float(t->f);
        return e;
    case T_OP:
        if (is_op(t, "(")) {
            if (is_op(peek(c), ")")) { /* empty tuple */
                next(c);
                if ((e = new_expr(c, E_LIST, t)))
                    e->u.list.tuple = true;
                return e;
            }
            e = parse_expr(c, true);
            if (!e)
                return NULL;
            if (is_op(peek(c), ",")) { /* a tuple: a list here */
                ph__expr *l = new_expr(c, E_LIST, t);
                if (!l)
                    return NULL;
                l->u.list.tuple = true;
                size_t cap = 0;
                ph__expr **ni = grow(c, NULL, &cap, 0, sizeof(ph__expr *));
                if (!ni)
                    return NULL;
                l->u.list.items = ni;
                l->u.list.items[l->u.list.n++] = e;
                while (is_op(peek(c), ",")) {
                    next(c);
                    if (is_op(peek(c), ")"))
                        break;
                    ph__expr *x = parse_expr(c, true);
                    if (!x)
                        return NULL;
                    ni = grow(c, l->u.list.items, &cap, l->u.list.n, sizeof(ph__expr *));
                    if (!ni)
                        return NULL;
                    l->u.list.items = ni;
                    l->u.list.items[l->u.list.n++] = x;
                }
                e = l;
            }
            return expect_op(c, ")") ? e : NULL;
        }
        if (is_op(t, "["))
            return parse_list_like(c, t, "]");
        if (is_op(t, "{")) {
            e = new_expr(c, E_DICT, t);
            if (!e)
                return NULL;
            size_t capk = 0, capv = 0;
            while (!is_op(peek(c), "}")) {
                if (e->u.list.n && !expect_op(c, ","))
                    return NULL;
                if (is_op(peek(c), "}"))
                    break;
                ph__expr *k = parse_expr(c, true);
                if (!k || !expect_op(c, ":"))
                    return NULL;
                ph__expr *v = parse_expr(c, true);
                if (!v)
                    return NULL;
                ph__expr **nk = grow(c, e->u.list.items, &capk, e->u.list.n, sizeof(ph__expr *));
                ph__expr **nv = grow(c, e->u.list.vals, &capv, e->u.list.n, sizeof(ph__expr *));
                if (!nk || !nv)
                    return NULL;
                e->u.list.items = nk;
                e->u.list.vals = nv;
                e->u.list.items[e->u.list.n] = k;
                e->u.list.vals[e->u.list.n++] = v;
            }
            next(c);
            return e;
        }
        cerr(c, t->line, t->col, "unexpected '%.*s'", (int)t->s.len, t->s.ptr);
        return NULL;
    default:
        cerr(c, t->line, t->col, "unexpected %s", tok_desc(t));
        return NULL;
    }
}

static ph__expr *parse_postfix(cstate *c, ph__expr *e)
{
    for (;;) {
        tok *t = peek(c);
        if (is_op(t, ".")) {
            next(c);
            tok *n = next(c);
            if (n->kind == T_NAME) {
                ph__expr *a = new_expr(c, E_ATTR, t);
                if (!a)
                    return NULL;
                a->u.attr.obj = e;
                a->u.attr.name = n->s;
                e = a;
            } else if (n->kind == T_INT) {
                ph__expr *k = new_expr(c, E_CONST, n), *a = new_expr(c, E_ITEM, t);
                if (!k || !a)
                    return NULL;
                k->u.cval = ph_tpl_int(n->i);
                a->u.item.obj = e;
                a->u.item.key = k;
                e = a;
            } else {
                cerr(c, n->line, n->col, "expected name or number after '.'");
                return NULL;
            }
        } else if (is_op(t, "[")) {
            next(c);
            ph__expr *parts[3] = {NULL, NULL, NULL};
            int np = 0;
            bool is_slice = false;
            for (;;) {
                if (is_op(peek(c), ":")) {
                    next(c);
                    is_slice = true;
                    if (++np > 2) {
                        cerr(c, t->line, t->col, "invalid slice");
                        return NULL;
                    }
                    continue;
                }
                if (is_op(peek(c), "]"))
                    break;
                if (parts[np]) {
                    tok *b = peek(c);
                    cerr(c, b->line, b->col, "expected ']'");
                    return NULL;
                }
                if (!(parts[np] = parse_expr(c, true)))
                    return NULL;
            }
            next(c);
            ph__expr *a;
            if (is_slice) {
                if (!(a = new_expr(c, E_SLICE, t)))
                    return NULL;
                a->u.slice.obj = e;
                a->u.slice.start = parts[0];
                a->u.slice.stop = parts[1];
                a->u.slice.step = parts[2];
            } else {
                if (!parts[0]) {
                    cerr(c, t->line, t->col, "expected an index");
                    return NULL;
                }
                if (!(a = new_expr(c, E_ITEM, t)))
                    return NULL;
                a->u.item.obj = e;
                a->u.item.key = parts[0];
            }
            e = a;
        } else if (is_op(t, "(")) {
            next(c);
            ph__expr *a = new_expr(c, E_CALL, t);
            if (!a)
                return NULL;
            a->u.call.fn = e;
            if (!parse_args(c, &a->u.call.args, &a->u.call.nargs, &a->u.call.kwnames,
                            &a->u.call.kwargs, &a->u.call.nkwargs))
                return NULL;
            e = a;
        } else
            return e;
    }
}

/* Binds filter/test arguments to the definition's parameters at compile
 * time (an unknown keyword or too many arguments is a compile error). */
static bool bind_fargs(cstate *c, const tok *t, ph__expr *f, ph__expr **args, size_t nargs,
                       ph_slice *kwn, ph__expr **kwv, size_t nkw)
{
    const ph__filter_def *d = f->u.filter.def;
    size_t np = 0;
    while (np < PH__TPL_MAX_FARGS && d->params[np])
        np++;
    if (nargs > np) {
        cerr(c, t->line, t->col, "too many arguments for '%s'", d->name);
        return false;
    }
    for (size_t i = 0; i < nargs; i++)
        f->u.filter.args[i] = args[i];
    for (size_t k = 0; k < nkw; k++) {
        size_t i;
        for (i = 0; i < np; i++)
            if (ph_slice_eq_cstr(kwn[k], d->params[i]))
                break;
        if (i == np && d->varkw) {
            size_t capn = f->u.filter.nkw, capv = f->u.filter.nkw;
            ph_slice *nn = grow(c, f->u.filter.kwnames, &capn, f->u.filter.nkw, sizeof(ph_slice));
            ph__expr **nv = grow(c, f->u.filter.kwvals, &capv, f->u.filter.nkw, sizeof(ph__expr *));
            if (!nn || !nv)
                return false;
            f->u.filter.kwnames = nn;
            f->u.filter.kwvals = nv;
            f->u.filter.kwnames[f->u.filter.nkw] = kwn[k];
            f->u.filter.kwvals[f->u.filter.nkw++] = kwv[k];
            continue;
        }
        if (i == np) {
            cerr(c, t->line, t->col, "'%s' got an unexpected keyword argument '%.*s'", d->name,
                 (int)kwn[k].len, kwn[k].ptr);
            return false;
        }
        if (f->u.filter.args[i]) {
            cerr(c, t->line, t->col, "'%s' got multiple values for argument '%s'", d->name,
                 d->params[i]);
            return false;
        }
        f->u.filter.args[i] = kwv[k];
    }
    return true;
}

/* One filter applied to e, the '|' already read: a name and optional
 * arguments.  The new expression, or NULL after an error. */
static ph__expr *parse_filter_call(cstate *c, ph__expr *e)
{
    tok *n = next(c);
    if (n->kind != T_NAME) {
        cerr(c, n->line, n->col, "expected a filter name");
        return NULL;
    }
    /* dotted filter names are not supported */
    const ph__filter_def *d = ph__filter_find(n->s);
    if (!d) {
        cerr(c, n->line, n->col, "no filter named '%.*s'", (int)n->s.len, n->s.ptr);
        return NULL;
    }
    ph__expr *f = new_expr(c, E_FILTER, n);
    if (!f)
        return NULL;
    f->u.filter.x = e;
    f->u.filter.def = d;
    if (is_op(peek(c), "(")) {
        next(c);
        ph__expr **args, **kwv;
        ph_slice *kwn;
        size_t nargs, nkw;
        if (!parse_args(c, &args, &nargs, &kwn, &kwv, &nkw) ||
            !bind_fargs(c, n, f, args, nargs, kwn, kwv, nkw))
            return NULL;
    }
    return f;
}

/* The filters of a filter block or a block set ("f(x) | g"), applied to
 * the variable PH__FILTERBLOCK_VAR that holds the rendered body. */
static ph__expr *parse_filter_chain(cstate *c, const tok *t)
{
    ph__expr *e = new_expr(c, E_NAME, t);
    if (!e)
        return NULL;
    e->u.name = PH_SLICE(PH__FILTERBLOCK_VAR);
    for (;;) {
        if (!(e = parse_filter_call(c, e)))
            return NULL;
        if (!is_op(peek(c), "|"))
            return e;
        next(c);
    }
}

static ph__expr *parse_filter_expr(cstate *c, ph__expr *e)
{
    for (;;) {
        tok *t = peek(c);
        if (is_op(t, "|")) {
            next(c);
            if (!(e = parse_filter_call(c, e)))
                return NULL;
        } else if (is_name(t, "is")) {
            next(c);
            bool neg = false;
            if (is_name(peek(c), "not")) {
                next(c);
                neg = true;
            }
            tok *n = next(c);
            if (n->kind != T_NAME) {
                cerr(c, n->line, n->col, "expected a test name");
                return NULL;
            }
            const ph__filter_def *d = ph__test_find(n->s);
            if (!d) {
                cerr(c, n->line, n->col, "no test named '%.*s'", (int)n->s.len, n->s.ptr);
                return NULL;
            }
            ph__expr *f = new_expr(c, E_TEST, n);
            if (!f)
                return NULL;
            f->u.filter.x = e;
            f->u.filter.def = d;
            f->u.filter.negate = neg;
            tok *a = peek(c);
            if (is_op(a, "(")) {
                next(c);
                ph__expr **args, **kwv;
                ph_slice *kwn;
                size_t nargs, nkw;
                if (!parse_args(c, &args, &nargs, &kwn, &kwv, &nkw) ||
                    !bind_fargs(c, n, f, args, nargs, kwn, kwv, nkw))
                    return NULL;
            } else if ((a->kind == T_NAME && !is_name(a, "and") && !is_name(a, "or") &&
                        !is_name(a, "else") && !is_name(a, "if") && !is_name(a, "is") &&
                        !is_name(a, "in") && !is_name(a, "not")) ||
                       a->kind == T_STRING || a->kind == T_INT || a->kind == T_FLOAT ||
                       is_op(a, "[") || is_op(a, "{")) {
                ph__expr *arg = parse_primary(c);
                if (!arg || !(arg = parse_postfix(c, arg)))
                    return NULL;
                if (!bind_fargs(c, n, f, &arg, 1, NULL, NULL, 0))
                    return NULL;
            }
            e = f;
        } else
            return e;
    }
}

static ph__expr *parse_unary(cstate *c, bool with_filter)
{
    tok *t = peek(c);
    if (!enter(c, t))
        return NULL;
    ph__expr *e;
    if (is_op(t, "-") || is_op(t, "+")) {
        next(c);
        ph__expr *x = parse_unary(c, false);
        if (!x)
            return NULL;
        if (!(e = new_expr(c, t->s.ptr[0] == '-' ? E_NEG : E_POS, t)))
            return NULL;
        e->u.un = x;
    } else {
        e = parse_primary(c);
        if (e)
            e = parse_postfix(c, e);
    }
    if (e && with_filter)
        e = parse_filter_expr(c, e);
    c->depth--;
    return e;
}

static ph__expr *binop(cstate *c, const tok *t, ph__op op, ph__expr *l, ph__expr *r)
{
    if (!l || !r)
        return NULL;
    ph__expr *e = new_expr(c, E_BINOP, t);
    if (!e)
        return NULL;
    e->u.bin.op = op;
    e->u.bin.l = l;
    e->u.bin.r = r;
    return e;
}

static ph__expr *parse_pow(cstate *c)
{
    ph__expr *l = parse_unary(c, true);
    while (l && is_op(peek(c), "**")) {
        tok *t = next(c);
        l = binop(c, t, OP_POW, l, parse_unary(c, true));
    }
    return l;
}

static ph__expr *parse_math2(cstate *c)
{
    ph__expr *l = parse_pow(c);
    for (;;) {
        tok *t = peek(c);
        ph__op op;
        if (is_op(t, "*"))
            op = OP_MUL;
        else if (is_op(t, "/"))
            op = OP_DIV;
        else if (is_op(t, "//"))
            op = OP_FLOORDIV;
        else if (is_op(t, "%"))
            op = OP_MOD;
        else
            return l;
        if (!l)
            return NULL;
        next(c);
        l = binop(c, t, op, l, parse_pow(c));
    }
}

static ph__expr *parse_concat(cstate *c)
{
    ph__expr *l = parse_math2(c);
    while (l && is_op(peek(c), "~")) {
        tok *t = next(c);
        l = binop(c, t, OP_CONCAT, l, parse_math2(c));
    }
    return l;
}

static ph__expr *parse_math1(cstate *c)
{
    ph__expr *l = parse_concat(c);
    for (;;) {
        tok *t = peek(c);
        if (!l || !(is_op(t, "+") || is_op(t, "-")))
            return l;
        next(c);
        l = binop(c, t, t->s.ptr[0] == '+' ? OP_ADD : OP_SUB, l, parse_concat(c));
    }
}

static ph__expr *parse_compare(cstate *c)
{
    ph__expr *l = parse_math1(c);
    if (!l)
        return NULL;
    ph__expr *e = NULL;
    size_t cap = 0, capo = 0;
    for (;;) {
        tok *t = peek(c);
        ph__op op;
        if (is_op(t, "=="))
            op = OP_EQ;
        else if (is_op(t, "!="))
            op = OP_NE;
        else if (is_op(t, "<"))
            op = OP_LT;
        else if (is_op(t, ">"))
            op = OP_GT;
        else if (is_op(t, "<="))
            op = OP_LE;
        else if (is_op(t, ">="))
            op = OP_GE;
        else if (is_name(t, "in"))
            op = OP_IN;
        else if (is_name(t, "not") && is_name(peek2(c), "in")) {
            next(c);
            op = OP_NOTIN;
        } else
            return e ? e : l;
        next(c);
        ph__expr *r = parse_math1(c);
        if (!r)
            return NULL;
        if (!e) {
            if (!(e = new_expr(c, E_CMP, t)))
                return NULL;
            e->u.cmp.first = l;
        }
        ph__op *no = grow(c, e->u.cmp.ops, &capo, e->u.cmp.n, sizeof(ph__op));
        ph__expr **nr = grow(c, e->u.cmp.rest, &cap, e->u.cmp.n, sizeof(ph__expr *));
        if (!no || !nr)
            return NULL;
        e->u.cmp.ops = no;
        e->u.cmp.rest = nr;
        e->u.cmp.ops[e->u.cmp.n] = op;
        e->u.cmp.rest[e->u.cmp.n++] = r;
    }
}

static ph__expr *parse_not(cstate *c)
{
    tok *t = peek(c);
    if (is_name(t, "not")) {
        next(c);
        if (!enter(c, t))
            return NULL;
        ph__expr *x = parse_not(c);
        c->depth--;
        if (!x)
            return NULL;
        ph__expr *e = new_expr(c, E_NOT, t);
        if (e)
            e->u.un = x;
        return e;
    }
    return parse_compare(c);
}

static ph__expr *parse_and(cstate *c)
{
    ph__expr *l = parse_not(c);
    while (l && is_name(peek(c), "and")) {
        tok *t = next(c);
        ph__expr *r = parse_not(c), *e = r ? new_expr(c, E_AND, t) : NULL;
        if (!e)
            return NULL;
        e->u.bin.l = l;
        e->u.bin.r = r;
        l = e;
    }
    return l;
}

static ph__expr *parse_or(cstate *c)
{
    ph__expr *l = parse_and(c);
    while (l && is_name(peek(c), "or")) {
        tok *t = next(c);
        ph__expr *r = parse_and(c), *e = r ? new_expr(c, E_OR, t) : NULL;
        if (!e)
            return NULL;
        e->u.bin.l = l;
        e->u.bin.r = r;
        l = e;
    }
    return l;
}

static ph__expr *parse_expr(cstate *c, bool condexpr)
{
    tok *t0 = peek(c);
    if (!enter(c, t0))
        return NULL;
    ph__expr *e = parse_or(c);
    while (e && condexpr && is_name(peek(c), "if")) {
        tok *t = next(c);
        ph__expr *cond = parse_or(c), *b = NULL;
        if (!cond)
            return NULL;
        if (is_name(peek(c), "else")) {
            next(c);
            if (!(b = parse_expr(c, true)))
                return NULL;
        }
        ph__expr *n = new_expr(c, E_COND, t);
        if (!n)
            return NULL;
        n->u.cond.c = cond;
        n->u.cond.a = e;
        n->u.cond.b = b;
        e = n;
    }
    c->depth--;
    return e;
}

/* ---- statements ---- */

static ph__node *new_node(cstate *c, ph__nkind k, const tok *t)
{
    ph__node *n = PH_ARENA_NEW(c->a, ph__node);
    if (!n) {
        c->rc = PH_ENOMEM;
        cerr(c, t->line, t->col, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->line = t->line;
    return n;
}

/* Parses nodes until a {% tag %} whose name is one of ends (NULL-terminated)
 * or EOF (only when ends is empty).  On return the current token is that
 * name.  *end_tok receives it. */
static bool parse_body(cstate *c, ph__body *body, const char *const *ends, tok **end_tok);

static bool block_end(cstate *c)
{
    return expect_kind(c, T_BLOCK_END, "'%}'");
}

static bool add_ref(cstate *c, ph__node *n)
{
    ph__node **r = grow(c, c->refs, &c->caprefs, c->nrefs, sizeof(ph__node *));
    if (!r)
        return false;
    c->refs = r;
    c->refs[c->nrefs++] = n;
    return true;
}

static bool parse_targets(cstate *c, ph_slice **names, int *n)
{
    *n = 0;
    *names = NULL;
    size_t cap = 0;
    bool paren = false;
    if (is_op(peek(c), "(")) {
        next(c);
        paren = true;
    }
    for (;;) {
        tok *t = next(c);
        if (t->kind != T_NAME) {
            cerr(c, t->line, t->col, "expected a name");
            return false;
        }
        ph_slice *nn = grow(c, *names, &cap, (size_t)*n, sizeof(ph_slice));
        if (!nn)
            return false;
        *names = nn;
        (*names)[(*n)++] = t->s;
        if (paren && is_op(peek(c), ")"))
            break;
        if (!is_op(peek(c), ","))
            break;
        next(c);
    }
    if (paren && !expect_op(c, ")"))
        return false;
    return true;
}

/* "with context" 1, "without context" 0, nothing -1. */
static int parse_context_clause(cstate *c)
{
    if ((is_name(peek(c), "with") || is_name(peek(c), "without")) &&
        is_name(peek2(c), "context")) {
        bool with = is_name(next(c), "with");
        next(c);
        return with;
    }
    return -1;
}

static ph__node *parse_tag(cstate *c, tok *bt)
{
    tok *t = next(c);
    if (t->kind != T_NAME) {
        cerr(c, t->line, t->col, "expected a tag name");
        return NULL;
    }
    ph__node *n;
    tok *end;
    if (is_name(t, "if")) {
        if (!(n = new_node(c, N_IF, t)))
            return NULL;
        size_t cap = 0, capb = 0;
        for (;;) {
            ph__expr *cond = parse_expr(c, true);
            if (!cond || !block_end(c))
                return NULL;
            ph__expr **nc = grow(c, n->u.ifs.conds, &cap, n->u.ifs.n, sizeof(ph__expr *));
            ph__body *nb = grow(c, n->u.ifs.bodies, &capb, n->u.ifs.n, sizeof(ph__body));
            if (!nc || !nb)
                return NULL;
            n->u.ifs.conds = nc;
            n->u.ifs.bodies = nb;
            n->u.ifs.conds[n->u.ifs.n] = cond;
            static const char *const ends[] = {"elif", "else", "endif", NULL};
            if (!parse_body(c, &n->u.ifs.bodies[n->u.ifs.n++], ends, &end))
                return NULL;
            if (is_name(end, "elif"))
                continue;
            if (is_name(end, "else")) {
                static const char *const ends2[] = {"endif", NULL};
                if (!block_end(c) || !parse_body(c, &n->u.ifs.els, ends2, &end))
                    return NULL;
            }
            break;
        }
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "for")) {
        if (!(n = new_node(c, N_FOR, t)))
            return NULL;
        if (!parse_targets(c, &n->u.loop.names, &n->u.loop.nnames))
            return NULL;
        tok *in = next(c);
        if (!is_name(in, "in")) {
            cerr(c, in->line, in->col, "expected 'in'");
            return NULL;
        }
        if (!(n->u.loop.iter = parse_expr(c, false)))
            return NULL;
        if (is_name(peek(c), "if")) {
            next(c);
            if (!(n->u.loop.filter = parse_expr(c, false)))
                return NULL;
        }
        if (is_name(peek(c), "recursive")) {
            next(c);
            n->u.loop.recursive = true;
        }
        static const char *const ends[] = {"else", "endfor", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.loop.body, ends, &end))
            return NULL;
        if (is_name(end, "else")) {
            static const char *const ends2[] = {"endfor", NULL};
            if (!block_end(c) || !parse_body(c, &n->u.loop.els, ends2, &end))
                return NULL;
        }
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "set")) {
        if (!(n = new_node(c, N_SET, t)))
            return NULL;
        if (peek(c)->kind == T_NAME && is_op(peek2(c), ".")) {
            /* set ns.attr = value */
            if (!(n->u.set.names = PH_ARENA_NEW(c->a, ph_slice))) {
                c->rc = PH_ENOMEM;
                cerr(c, t->line, t->col, "out of memory");
                return NULL;
            }
            n->u.set.names[0] = next(c)->s;
            n->u.set.nnames = 1;
            next(c);
            tok *at = next(c);
            if (at->kind != T_NAME) {
                cerr(c, at->line, at->col, "expected an attribute name");
                return NULL;
            }
            n->u.set.attr = at->s;
            if (!expect_op(c, "=") || !(n->u.set.value = parse_expr(c, true)))
                return NULL;
            return block_end(c) ? n : NULL;
        }
        if (!parse_targets(c, &n->u.set.names, &n->u.set.nnames))
            return NULL;
        if (is_op(peek(c), "=")) {
            next(c);
            if (!(n->u.set.value = parse_expr(c, true)))
                return NULL;
            /* a, b = 1, 2 */
            if (is_op(peek(c), ",")) {
                ph__expr *l = new_expr(c, E_LIST, t);
                if (!l)
                    return NULL;
                size_t cap = 0;
                ph__expr **ni = grow(c, NULL, &cap, 0, sizeof(ph__expr *));
                if (!ni)
                    return NULL;
                l->u.list.items = ni;
                l->u.list.tuple = true;
                l->u.list.items[l->u.list.n++] = n->u.set.value;
                while (is_op(peek(c), ",")) {
                    next(c);
                    ph__expr *x = parse_expr(c, true);
                    if (!x)
                        return NULL;
                    if (!(ni = grow(c, l->u.list.items, &cap, l->u.list.n, sizeof(ph__expr *))))
                        return NULL;
                    l->u.list.items = ni;
                    l->u.list.items[l->u.list.n++] = x;
                }
                n->u.set.value = l;
            }
            return block_end(c) ? n : NULL;
        }
        if (n->u.set.nnames != 1) {
            cerr(c, t->line, t->col, "expected '='");
            return NULL;
        }
        n->kind = N_SETBLOCK;
        if (is_op(peek(c), "|")) { /* {% set x | filter %} */
            next(c);
            if (!(n->u.set.chain = parse_filter_chain(c, t)))
                return NULL;
        }
        static const char *const ends[] = {"endset", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.set.body, ends, &end))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "block")) {
        if (!(n = new_node(c, N_BLOCK, t)))
            return NULL;
        tok *nm = next(c);
        if (nm->kind != T_NAME) {
            cerr(c, nm->line, nm->col, "expected a block name");
            return NULL;
        }
        if (c->in_macro) {
            cerr(c, t->line, t->col, "blocks are not allowed inside macros");
            return NULL;
        }
        n->u.block.name = nm->s;
        while (is_name(peek(c), "scoped") || is_name(peek(c), "required"))
            next(c);
        for (size_t i = 0; i < c->nblocks; i++)
            if (ph_slice_eq(c->blocks[i].name, nm->s)) {
                cerr(c, nm->line, nm->col, "block '%.*s' defined twice", (int)nm->s.len, nm->s.ptr);
                return NULL;
            }
        ph__blockdef *nb = grow(c, c->blocks, &c->capblocks, c->nblocks, sizeof(ph__blockdef));
        if (!nb)
            return NULL;
        c->blocks = nb;
        c->blocks[c->nblocks].name = nm->s;
        c->blocks[c->nblocks++].node = n;
        static const char *const ends[] = {"endblock", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.block.body, ends, &end))
            return NULL;
        tok *en = peek(c);
        if (en->kind == T_NAME) {
            next(c);
            if (!ph_slice_eq(en->s, nm->s)) {
                cerr(c, en->line, en->col, "mismatched endblock: expected '%.*s'", (int)nm->s.len,
                     nm->s.ptr);
                return NULL;
            }
        }
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "extends")) {
        if (c->body_depth != 1) {
            cerr(c, t->line, t->col, "extends is only supported at the top level");
            return NULL;
        }
        if (!(n = new_node(c, N_EXTENDS, t)))
            return NULL;
        if (!(n->u.inc.name = parse_expr(c, true)) || !add_ref(c, n))
            return NULL;
        if (!c->t->extends)
            c->t->extends = n;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "include")) {
        if (!(n = new_node(c, N_INCLUDE, t)))
            return NULL;
        if (!(n->u.inc.name = parse_expr(c, true)))
            return NULL;
        if (is_name(peek(c), "ignore") && is_name(peek2(c), "missing")) {
            next(c);
            next(c);
            n->u.inc.ignore_missing = true;
        }
        n->u.inc.context = parse_context_clause(c);
        if (!add_ref(c, n))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "filter")) {
        if (!(n = new_node(c, N_FILTERBLOCK, t)))
            return NULL;
        if (!(n->u.fblock.chain = parse_filter_chain(c, t)))
            return NULL;
        static const char *const ends[] = {"endfilter", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.fblock.body, ends, &end))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "import") || is_name(t, "from")) {
        bool from = is_name(t, "from");
        if (!(n = new_node(c, N_IMPORT, t)))
            return NULL;
        if (!(n->u.inc.name = parse_expr(c, true)))
            return NULL;
        tok *kw = next(c);
        if (!is_name(kw, from ? "import" : "as")) {
            cerr(c, kw->line, kw->col, "expected '%s'", from ? "import" : "as");
            return NULL;
        }
        size_t capn = 0, capa = 0;
        for (;;) {
            tok *nm = next(c);
            if (nm->kind != T_NAME) {
                cerr(c, nm->line, nm->col, "expected a name");
                return NULL;
            }
            if (!from) {
                n->u.inc.alias = nm->s;
                break;
            }
            ph_slice *nn = grow(c, n->u.inc.names, &capn, n->u.inc.nnames, sizeof(ph_slice));
            ph_slice *na = grow(c, n->u.inc.aliases, &capa, n->u.inc.nnames, sizeof(ph_slice));
            if (!nn || !na)
                return NULL;
            n->u.inc.names = nn;
            n->u.inc.aliases = na;
            n->u.inc.names[n->u.inc.nnames] = nm->s;
            n->u.inc.aliases[n->u.inc.nnames] = nm->s;
            if (is_name(peek(c), "as")) {
                next(c);
                tok *al = next(c);
                if (al->kind != T_NAME) {
                    cerr(c, al->line, al->col, "expected a name");
                    return NULL;
                }
                n->u.inc.aliases[n->u.inc.nnames] = al->s;
            }
            n->u.inc.nnames++;
            if (!is_op(peek(c), ","))
                break;
            next(c);
            if (is_name(peek(c), "with") || is_name(peek(c), "without"))
                break;
        }
        n->u.inc.context = parse_context_clause(c);
        if (!add_ref(c, n))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "macro") || is_name(t, "call")) {
        bool is_call = is_name(t, "call");
        if (!(n = new_node(c, is_call ? N_CALLBLOCK : N_MACRO, t)))
            return NULL;
        ph__macro *m = PH_ARENA_NEW(c->a, ph__macro);
        if (!m)
            return NULL;
        m->line = t->line;
        m->tpl = c->t;
        ph__macro *outer = c->cur_macro;
        if (is_call) {
            n->u.cblock.caller = m;
            m->name = PH_SLICE("caller");
            if (!is_op(peek(c), "(")) {
                /* no parameters: parse the call right away */
                ph__expr *call = parse_expr(c, true);
                if (!call)
                    return NULL;
                if (call->kind != E_CALL) {
                    cerr(c, t->line, t->col, "expected a macro call");
                    return NULL;
                }
                n->u.cblock.call = call;
                static const char *const cends[] = {"endcall", NULL};
                c->in_macro++;
                c->cur_macro = m;
                bool ok = block_end(c) && parse_body(c, &m->body, cends, &end);
                c->in_macro--;
                c->cur_macro = outer;
                return ok && block_end(c) ? n : NULL;
            }
        } else {
            n->u.macro = m;
            tok *nm = next(c);
            if (nm->kind != T_NAME) {
                cerr(c, nm->line, nm->col, "expected a macro name");
                return NULL;
            }
            m->name = nm->s;
        }
        if (!expect_op(c, "("))
            return NULL;
        size_t cap = 0, capd = 0;
        while (!is_op(peek(c), ")")) {
            if (m->nparams && !expect_op(c, ","))
                return NULL;
            tok *p = next(c);
            if (p->kind != T_NAME) {
                cerr(c, p->line, p->col, "expected a parameter name");
                return NULL;
            }
            ph_slice *np = grow(c, m->params, &cap, m->nparams, sizeof(ph_slice));
            ph__expr **nd = grow(c, m->defaults, &capd, m->nparams, sizeof(ph__expr *));
            if (!np || !nd)
                return NULL;
            m->params = np;
            m->defaults = nd;
            m->params[m->nparams] = p->s;
            m->defaults[m->nparams] = NULL;
            if (is_op(peek(c), "=")) {
                next(c);
                if (!(m->defaults[m->nparams] = parse_expr(c, true)))
                    return NULL;
            } else if (m->nparams && m->defaults[m->nparams - 1]) {
                cerr(c, p->line, p->col, "non-default argument follows default argument");
                return NULL;
            }
            m->nparams++;
        }
        next(c);
        if (is_call) {
            ph__expr *call = parse_expr(c, true);
            if (!call)
                return NULL;
            if (call->kind != E_CALL) {
                cerr(c, t->line, t->col, "expected a macro call");
                return NULL;
            }
            n->u.cblock.call = call;
        }
        static const char *const ends[] = {"endmacro", NULL};
        static const char *const cends[] = {"endcall", NULL};
        c->in_macro++;
        c->cur_macro = m;
        bool ok = block_end(c) && parse_body(c, &m->body, is_call ? cends : ends, &end);
        c->in_macro--;
        c->cur_macro = outer;
        if (!ok)
            return NULL;
        if (outer) { /* Jinja looks for the names in nested macros too */
            outer->varargs |= m->varargs;
            outer->kwargs |= m->kwargs;
        }
        if (peek(c)->kind == T_NAME)
            next(c);
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "with")) {
        if (!(n = new_node(c, N_WITH, t)))
            return NULL;
        size_t capn = 0, capv = 0;
        while (!(peek(c)->kind == T_BLOCK_END)) {
            if (n->u.with.n && !expect_op(c, ","))
                return NULL;
            tok *nm = next(c);
            if (nm->kind != T_NAME || !expect_op(c, "=")) {
                if (nm->kind != T_NAME)
                    cerr(c, nm->line, nm->col, "expected a name");
                return NULL;
            }
            ph__expr *v = parse_expr(c, true);
            if (!v)
                return NULL;
            ph_slice *nn = grow(c, n->u.with.names, &capn, n->u.with.n, sizeof(ph_slice));
            ph__expr **nv = grow(c, n->u.with.vals, &capv, n->u.with.n, sizeof(ph__expr *));
            if (!nn || !nv)
                return NULL;
            n->u.with.names = nn;
            n->u.with.vals = nv;
            n->u.with.names[n->u.with.n] = nm->s;
            n->u.with.vals[n->u.with.n++] = v;
        }
        static const char *const ends[] = {"endwith", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.with.body, ends, &end))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    if (is_name(t, "autoescape")) {
        if (!(n = new_node(c, N_AUTOESCAPE, t)) || !(n->u.autoesc.on = parse_expr(c, true)))
            return NULL;
        static const char *const ends[] = {"endautoescape", NULL};
        if (!block_end(c) || !parse_body(c, &n->u.autoesc.body, ends, &end))
            return NULL;
        return block_end(c) ? n : NULL;
    }
    (void)bt;
    cerr(c, t->line, t->col, "encountered unknown tag '%.*s'", (int)t->s.len, t->s.ptr);
    return NULL;
}

static bool parse_body(cstate *c, ph__body *body, const char *const *ends, tok **end_tok)
{
    size_t cap = 0;
    body->items = NULL;
    body->n = 0;
    tok *first = peek(c);
    if (!enter(c, first))
        return false;
    c->body_depth++;
    for (;;) {
        tok *t = peek(c);
        ph__node *n = NULL;
        if (t->kind == T_EOF) {
            if (ends[0]) {
                cerr(c, t->line, t->col, "unexpected end of template, expected '%s'", ends[0]);
                return false;
            }
            break;
        }
        if (t->kind == T_TEXT) {
            next(c);
            if (!(n = new_node(c, N_TEXT, t)))
                return false;
            n->u.text = t->s;
        } else if (t->kind == T_VAR_BEGIN) {
            next(c);
            if (!(n = new_node(c, N_OUTPUT, t)))
                return false;
            if (!(n->u.expr = parse_expr(c, true)) ||
                !expect_kind(c, T_VAR_END, "end of print statement '}}'"))
                return false;
        } else if (t->kind == T_BLOCK_BEGIN) {
            tok *nm = peek2(c);
            bool is_end = false;
            for (size_t i = 0; ends[i]; i++)
                if (is_name(nm, ends[i]))
                    is_end = true;
            if (is_end) {
                next(c);
                next(c);
                *end_tok = nm;
                break;
            }
            static const char *const known_ends[] = {"endif",    "endfor",    "else",   "elif",
                                                     "endblock", "endmacro",  "endset", "endwith",
                                                     "endraw",   "endfilter", "endcall",
                                                     "endautoescape"};
            for (size_t i = 0; i < PH_COUNTOF(known_ends); i++)
                if (is_name(nm, known_ends[i])) {
                    if (ends[0])
                        cerr(c, nm->line, nm->col, "encountered unknown tag '%s', expected '%s'",
                             known_ends[i], ends[0]);
                    else
                        cerr(c, nm->line, nm->col, "unexpected '%s'", known_ends[i]);
                    return false;
                }
            next(c);
            if (!(n = parse_tag(c, t)))
                return false;
        } else {
            cerr(c, t->line, t->col, "unexpected %s", tok_desc(t));
            return false;
        }
        ph__node **ni = grow(c, body->items, &cap, body->n, sizeof(ph__node *));
        if (!ni)
            return false;
        body->items = ni;
        body->items[body->n++] = n;
    }
    c->depth--;
    c->body_depth--;
    return true;
}

ph__tpl *ph__tpl_compile(const char *name, const char *src, size_t len, bool autoescape, int *rc,
                         char *err, size_t errlen)
{
    ph__tpl *t = NULL;
    ph_arena *a = ph_arena_new(len * 4 + 4096);
    if (!a || !(t = PH_ARENA_NEW(a, ph__tpl)) || !(t->name = ph_arena_strdup(a, name))) {
        ph_arena_free(a);
        *rc = PH_ENOMEM;
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    t->arena = a;
    t->autoescape = autoescape;
    /* Newlines normalized to \n, one trailing newline removed (Jinja's
     * keep_trailing_newline=False). */
    char *s = ph_arena_alloc(a, len + 1);
    if (!s) {
        ph_arena_free(a);
        *rc = PH_ENOMEM;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else
            s[n++] = src[i];
    }
    if (n && s[n - 1] == '\n')
        n--;
    s[n] = '\0';
    cstate c = {.t = t, .a = a, .src = s, .len = n, .line = 1, .err = err, .errlen = errlen};
    tok *end = NULL;
    static const char *const none[] = {NULL};
    if (lex(&c) && parse_body(&c, &t->body, none, &end) && !c.failed) {
        t->blocks = c.blocks;
        t->nblocks = c.nblocks;
        t->refs = c.refs;
        t->nrefs = c.nrefs;
        *rc = 0;
        return t;
    }
    *rc = c.rc ? c.rc : PH_EPARSE;
    ph_arena_free(a);
    return NULL;
}

void ph__tpl_free(ph__tpl *t)
{
    if (t) {
        free(t->path);
        ph_arena_free(t->arena);
    }
}

const ph__node *ph__tpl_block(const ph__tpl *t, ph_slice name)
{
    for (size_t i = 0; i < t->nblocks; i++)
        if (ph_slice_eq(t->blocks[i].name, name))
            return t->blocks[i].node;
    return NULL;
}
