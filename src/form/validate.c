/*
 * The validators of Phial forms, with messages worded for the person
 * filling the form ("Username must be at most 100 characters."): required
 * (whitespace alone is empty), optional, length in characters, email
 * syntax, equal-to, number range, regexp, any-of, unique in a table
 * (through the ORM) and custom functions; plus the checks a model column
 * implies (NOT NULL, String(n), Integer, unique) for derived forms.
 */
#include "phial/form.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>

#include "phial/app.h"
#include "phial/orm.h"

#include "internal.h"

size_t ph__form_space_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
        return 1;
    if (n >= 2 && p[0] == 0xc2 && (p[1] == 0xa0 || p[1] == 0x85)) /* NBSP, NEL */
        return 2;
    if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
    if (n >= 3 && ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) || /* U+205F */
                   (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) || /* U+3000 */
                   (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)))  /* U+1680 */
        return 3;
    return 0;
}

size_t ph__form_space_before(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (ph__form_space_at(s + n - k, k) == k)
            return k;
    return 0;
}

bool ph_form_blank(const char *s)
{
    size_t n = strlen(s), k;
    while (n && (k = ph__form_space_at(s, n)) > 0) {
        s += k;
        n -= k;
    }
    return n == 0;
}

static bool atext(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

bool ph_form_email_valid(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@') || n > 254)
        return false;
    size_t local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!atext(c)) {
            return false;
        }
    }
    const char *d = at + 1;
    size_t labels = 0, len = 0;
    const char *label = d, *last = d;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            len = (size_t)(p - label);
            if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
                return false;
            labels++;
            last = label;
            if (!*p)
                break;
            label = p + 1;
            continue;
        }
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && c != '-' && c < 0x80)
            return false;
    }
    if (labels < 2 || len < 2)
        return false;
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits = digits && isdigit((unsigned char)last[i]);
    return !digits;
}

const char *ph__form_label(ph_arena *a, const ph_field *fd)
{
    if (fd->label)
        return fd->label;
    char *l = ph_arena_strdup(a, fd->name);
    if (!l)
        return fd->name;
    for (char *p = l; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (*l >= 'a' && *l <= 'z')
        *l = (char)(*l - 'a' + 'A');
    return l;
}

/* The label as it reads inside a sentence: "That username is taken." */
static const char *label_lower(ph_arena *a, const char *label)
{
    char *l = ph_arena_strdup(a, label);
    if (l && l[0] >= 'A' && l[0] <= 'Z' && !(l[1] >= 'A' && l[1] <= 'Z'))
        l[0] = (char)(l[0] - 'A' + 'a');
    return l ? l : label;
}

static int fail(ph_form *f, ph__bound *b, const ph_validator *v, const char *fmt, ...)
    PH_PRINTF(4, 5);

static int fail(ph_form *f, ph__bound *b, const ph_validator *v, const char *fmt, ...)
{
    if (v && v->message)
        return ph__form_error(f, b, v->message);
    va_list ap;
    va_start(ap, fmt);
    char *m = ph_arena_vsprintf(f->req->arena, fmt, ap);
    va_end(ap);
    return m ? ph__form_error(f, b, m) : PH_ENOMEM;
}

static int check_unique(ph_form *f, ph__bound *b, const ph_validator *v, const ph_model *m,
                        const char *column, const char *label)
{
    ph_session *db = ph_req_db(f->req);
    ph_query *q = db ? ph_query_new(db, m) : NULL;
    if (!q)
        return f->req->app && ph_app_db(f->req->app) ? PH_ENOMEM : PH_EMISUSE;
    bool exists = false;
    int rc = ph_query_exists(ph_query_filter_by(q, column, PH_TEXTN(b->value, b->len)), &exists);
    if (rc < 0)
        return rc;
    if (exists)
        return fail(f, b, v, "That %s is already taken.", label_lower(f->req->arena, label));
    return 0;
}

static int run(ph_form *f, ph__bound *b, const ph_validator *v, const char *label, bool *stop)
{
    ph_arena *a = f->req->arena;
    size_t chars = ph_utf8_len(b->value, b->len);
    switch (v->kind) {
    case PH_VALID_END:
        return 0;
    case PH_VALID_REQUIRED:
        if (b->len == 0) {
            *stop = true;
            return fail(f, b, v, "%s is required.", label);
        }
        return 0;
    case PH_VALID_OPTIONAL:
        if (b->len == 0)
            *stop = true;
        return 0;
    case PH_VALID_LENGTH:
        if (b->len == 0 && v->min <= 0)
            return 0;
        if ((v->min >= 0 && (int64_t)chars < v->min) || (v->max >= 0 && (int64_t)chars > v->max)) {
            if (v->min > 0 && v->max >= 0)
                return fail(f, b, v, "%s must be between %lld and %lld characters.", label,
                            (long long)v->min, (long long)v->max);
            if (v->max >= 0)
                return fail(f, b, v, "%s must be at most %lld characters.", label,
                            (long long)v->max);
            return fail(f, b, v, "%s must be at least %lld characters.", label,
                        (long long)v->min);
        }
        return 0;
    case PH_VALID_EMAIL:
        if (b->len && !ph_form_email_valid(b->value))
            return fail(f, b, v, "Enter a valid email address.");
        return 0;
    case PH_VALID_EQUAL_TO: {
        const ph__bound *o = ph__form_find(f, v->arg);
        if (!o || o->len != b->len || memcmp(o->value, b->value, b->len) != 0)
            return fail(f, b, v, "%s must match %s.", label,
                        o ? label_lower(a, ph__form_label(a, o->def)) : v->arg);
        return 0;
    }
    case PH_VALID_RANGE: {
        int64_t x;
        if (b->len == 0)
            return 0;
        if (ph_parse_i64((ph_slice){b->value, b->len}, &x) < 0 || x < v->min || x > v->max)
            return fail(f, b, v, "%s must be a number from %lld to %lld.", label,
                        (long long)v->min, (long long)v->max);
        return 0;
    }
    case PH_VALID_REGEXP: {
        if (b->len == 0)
            return 0;
        regex_t re;
        char *anchored = ph_arena_sprintf(a, "^(%s)$", v->arg);
        if (!anchored)
            return PH_ENOMEM;
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
            return PH_EINVAL;
        int m = regexec(&re, b->value, 0, NULL, 0);
        regfree(&re);
        if (m != 0)
            return fail(f, b, v, "%s is not in the expected format.", label);
        return 0;
    }
    case PH_VALID_ANY_OF:
        for (const char *const *c = v->choices; c && *c; c++)
            if (strcmp(*c, b->value) == 0)
                return 0;
        return fail(f, b, v, "%s must be one of the choices offered.", label);
    case PH_VALID_UNIQUE:
        if (b->len == 0)
            return 0;
        return check_unique(f, b, v, v->model, v->arg, label);
    case PH_VALID_CUSTOM: {
        const char *msg = NULL;
        int rc = v->fn(f, b->value, v->userdata, &msg);
        if (rc == PH_EINVAL)
            return ph__form_error(f, b, v->message ? v->message : msg ? msg : "Invalid value.");
        return rc;
    }
    }
    return 0;
}

int ph__form_validate_field(ph_form *f, ph__bound *b)
{
    ph_arena *a = f->req->arena;
    const char *label = ph__form_label(a, b->def);
    if (b->kind == PH_FIELD_SUBMIT)
        return 0;
    if (!b->text_ok)
        return fail(f, b, NULL, "%s holds characters that are not text (invalid UTF-8 or a NUL "
                                "byte).", label);
    bool stop = false;
    int rc;
    /* what the column implies, first */
    const ph_column *c = b->col;
    bool explicit_optional = false;
    for (size_t i = 0; i < b->def->nvalidators; i++)
        explicit_optional |= b->def->validators[i].kind == PH_VALID_OPTIONAL;
    if (c && (c->flags & PH_NOT_NULL) && !(c->flags & PH_PK) && !c->default_value &&
        b->kind != PH_FIELD_CHECKBOX && !explicit_optional) {
        ph_validator req = {.kind = PH_VALID_REQUIRED};
        if ((rc = run(f, b, &req, label, &stop)) < 0 || stop)
            return rc;
    }
    if (b->len == 0 && !(c && (c->flags & PH_NOT_NULL))) {
        /* an empty optional field: only an explicit required can object */
        for (size_t i = 0; i < b->def->nvalidators; i++)
            if (b->def->validators[i].kind == PH_VALID_REQUIRED)
                return run(f, b, &b->def->validators[i], label, &stop);
        /* ...and an equal-to whose other field is not empty */
        for (size_t i = 0; i < b->def->nvalidators; i++)
            if (b->def->validators[i].kind == PH_VALID_EQUAL_TO &&
                (rc = run(f, b, &b->def->validators[i], label, &stop)) < 0)
                return rc;
        return 0;
    }
    if (b->len && b->kind == PH_FIELD_INTEGER) {
        int64_t x;
        if (ph_parse_i64((ph_slice){b->value, b->len}, &x) < 0)
            return fail(f, b, NULL, "%s must be a whole number.", label);
    }
    if (b->len && b->kind == PH_FIELD_SELECT) {
        bool found = false;
        for (const ph_choice *ch = b->def->choices; ch && ch->value && !found; ch++)
            found = strcmp(ch->value, b->value) == 0;
        if (!found)
            return fail(f, b, NULL, "Choose one of the options offered for %s.",
                        label_lower(a, label));
    }
    if (c && c->type == PH_T_STRING && c->length > 0) {
        ph_validator len = {.kind = PH_VALID_LENGTH, .min = -1, .max = c->length};
        size_t before = b->nerrors;
        if ((rc = run(f, b, &len, label, &stop)) < 0 || b->nerrors > before)
            return rc;
    }
    for (size_t i = 0; i < b->def->nvalidators && !stop; i++)
        if ((rc = run(f, b, &b->def->validators[i], label, &stop)) < 0)
            return rc;
    if (c && (c->flags & PH_UNIQUE) && b->nerrors == 0 && b->len)
        return check_unique(f, b, NULL, f->def->model, c->name, label);
    return 0;
}
