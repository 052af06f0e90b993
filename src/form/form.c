/*
 * Forms bound to a request: reading the submitted values, running the CSRF
 * check and the validators (those listed, plus those a model column
 * implies), keeping values and errors per field, filling a model object.
 * The validators themselves are in validate.c, the template view of a form
 * in render.c.
 */
#include "phial/form.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phial/app.h"
#include "phial/security.h"

#include "internal.h"

const ph_column *ph__form_column(const ph_form_def *def, const ph_field *fd)
{
    if (!def->model || !fd->column)
        return NULL;
    for (size_t i = 0; i < def->model->ncolumns; i++)
        if (strcmp(def->model->columns[i].name, fd->column) == 0)
            return &def->model->columns[i];
    return NULL;
}

ph_field_kind ph__form_kind(const ph__bound *b)
{
    if (b->def->kind != PH_FIELD_AUTO || !b->col)
        return b->def->kind == PH_FIELD_AUTO ? PH_FIELD_TEXT : b->def->kind;
    switch (b->col->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        return PH_FIELD_INTEGER;
    case PH_T_BOOLEAN:
        return PH_FIELD_CHECKBOX;
    case PH_T_TEXT:
        return PH_FIELD_TEXTAREA;
    case PH_T_STRING:
        return b->col->length > 255 ? PH_FIELD_TEXTAREA : PH_FIELD_TEXT;
    default:
        return PH_FIELD_TEXT;
    }
}

int ph_form_def_check(const ph_form_def *def, char *err, size_t errlen)
{
    for (size_t i = 0; i < def->nfields; i++) {
        const ph_field *fd = &def->fields[i];
        if (!fd->name || !*fd->name || strcmp(fd->name, "csrf_token") == 0 ||
            strcmp(fd->name, "hidden_tag") == 0 || strcmp(fd->name, "errors") == 0) {
            snprintf(err, errlen, "field %zu: a name is required (not csrf_token, hidden_tag "
                                  "or errors)", i);
            return PH_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(def->fields[j].name, fd->name) == 0) {
                snprintf(err, errlen, "field \"%s\" is declared twice", fd->name);
                return PH_EINVAL;
            }
        if (fd->column && !ph__form_column(def, fd)) {
            snprintf(err, errlen, "field \"%s\": %s has no column \"%s\"", fd->name,
                     def->model ? def->model->table : "the form (no model)", fd->column);
            return PH_EINVAL;
        }
        if (fd->kind == PH_FIELD_SELECT && (!fd->choices || !fd->choices[0].value)) {
            snprintf(err, errlen, "field \"%s\": a select field needs choices", fd->name);
            return PH_EINVAL;
        }
        for (size_t k = 0; k < fd->nvalidators; k++) {
            const ph_validator *v = &fd->validators[k];
            bool found = false;
            switch (v->kind) {
            case PH_VALID_EQUAL_TO:
                for (size_t j = 0; v->arg && j < def->nfields; j++)
                    found = found || strcmp(def->fields[j].name, v->arg) == 0;
                if (!found) {
                    snprintf(err, errlen, "field \"%s\": equal-to names no field", fd->name);
                    return PH_EINVAL;
                }
                break;
            case PH_VALID_REGEXP: {
                regex_t re;
                if (!v->arg || regcomp(&re, v->arg, REG_EXTENDED | REG_NOSUB) != 0) {
                    snprintf(err, errlen, "field \"%s\": the regexp does not compile", fd->name);
                    return PH_EINVAL;
                }
                regfree(&re);
                break;
            }
            case PH_VALID_UNIQUE:
                for (size_t c = 0; v->model && v->arg && c < v->model->ncolumns; c++)
                    found = found || strcmp(v->model->columns[c].name, v->arg) == 0;
                if (!found) {
                    snprintf(err, errlen, "field \"%s\": unique-in names no column", fd->name);
                    return PH_EINVAL;
                }
                break;
            case PH_VALID_ANY_OF:
                if (!v->choices) {
                    snprintf(err, errlen, "field \"%s\": any-of without choices", fd->name);
                    return PH_EINVAL;
                }
                break;
            case PH_VALID_CUSTOM:
                if (!v->fn) {
                    snprintf(err, errlen, "field \"%s\": custom validator without a function",
                             fd->name);
                    return PH_EINVAL;
                }
                break;
            default:
                break;
            }
        }
    }
    return 0;
}

static bool is_submit_method(const char *m)
{
    return m && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
                 strcmp(m, "DELETE") == 0);
}

/* s without leading and trailing whitespace (ASCII and Unicode spaces),
 * in arena a. */
static char *strip(ph_arena *a, const char *s, size_t n, size_t *out_len)
{
    size_t lo = 0, hi = n, k;
    while (lo < hi && (k = ph__form_space_at(s + lo, hi - lo)) > 0)
        lo += k;
    while (hi > lo && (k = ph__form_space_before(s + lo, hi - lo)) > 0)
        hi -= k;
    *out_len = hi - lo;
    return ph_arena_strndup(a, s + lo, hi - lo);
}

ph_form *ph_form_bind(ph_request *req, const ph_form_def *def)
{
    ph_form *f = PH_ARENA_NEW(req->arena, ph_form);
    if (!f)
        return NULL;
    f->def = def;
    f->req = req;
    f->submitted = is_submit_method(req->method);
    f->fields = ph_arena_calloc(req->arena, def->nfields ? def->nfields : 1, sizeof(*f->fields));
    if (!f->fields)
        return NULL;
    for (size_t i = 0; i < def->nfields; i++) {
        ph__bound *b = &f->fields[i];
        b->def = &def->fields[i];
        b->col = ph__form_column(def, b->def);
        b->kind = ph__form_kind(b);
        const char *raw = NULL;
        size_t raw_len = 0;
        if (f->submitted) {
            for (size_t k = 0; k < req->form.len; k++) {
                if (strcmp(req->form.items[k].name, b->def->name) == 0) {
                    raw = req->form.items[k].value;
                    raw_len = req->form.items[k].value_len;
                    break;
                }
            }
            b->present = raw != NULL;
        } else if (b->def->default_value) {
            raw = b->def->default_value;
            raw_len = strlen(raw);
        }
        if (!raw)
            raw = "";
        b->text_ok = ph_text_valid(raw, raw_len);
        if (!b->text_ok) {
            /* never keep bytes that are not text: nothing of them is shown */
            b->value = "";
            b->len = 0;
        } else if (b->kind == PH_FIELD_PASSWORD || b->kind == PH_FIELD_HIDDEN) {
            b->value = ph_arena_strndup(req->arena, raw, raw_len);
            b->len = raw_len;
        } else {
            b->value = strip(req->arena, raw, raw_len, &b->len);
        }
        if (!b->value)
            return NULL;
    }
    ph__req_bind_form(req, f);
    return f;
}

bool ph_form_is_submitted(const ph_form *f)
{
    return f->submitted;
}

static ph__bound *find(const ph_form *f, const char *name)
{
    for (size_t i = 0; i < f->def->nfields; i++)
        if (strcmp(f->def->fields[i].name, name) == 0)
            return &f->fields[i];
    return NULL;
}

const ph__bound *ph__form_find(const ph_form *f, const char *name)
{
    return find(f, name);
}

int ph__form_error(ph_form *f, ph__bound *b, const char *msg)
{
    if (b->nerrors == b->caperrors) {
        size_t cap = b->caperrors ? b->caperrors * 2 : 4;
        const char **e = ph_arena_calloc(f->req->arena, cap, sizeof(*e));
        if (!e)
            return PH_ENOMEM;
        if (b->nerrors)
            memcpy(e, b->errors, b->nerrors * sizeof(*e));
        b->errors = e;
        b->caperrors = cap;
    }
    b->errors[b->nerrors++] = msg;
    f->nerrors++;
    return 0;
}

int ph_form_validate(ph_form *f, bool *valid)
{
    *valid = false;
    f->validated = true;
    for (size_t i = 0; i < f->def->nfields; i++) {
        int rc = ph__form_validate_field(f, &f->fields[i]);
        if (rc < 0)
            return rc;
    }
    *valid = f->nerrors == 0 && !f->csrf_error;
    return 0;
}

int ph_form_validate_on_submit(ph_form *f, bool *valid)
{
    *valid = false;
    if (!f->submitted)
        return 0;
    const char *why = NULL;
    int rc = ph_req_csrf_check(f->req, &why);
    if (rc == PH_ENOMEM)
        return rc;
    if (rc < 0)
        f->csrf_error = why ? why : "The CSRF token is invalid.";
    bool fields_ok;
    rc = ph_form_validate(f, &fields_ok);
    if (rc < 0)
        return rc;
    *valid = fields_ok && !f->csrf_error;
    return 0;
}

const char *ph_form_value(const ph_form *f, const char *name)
{
    const ph__bound *b = find(f, name);
    return b ? b->value : NULL;
}

int ph_form_int(const ph_form *f, const char *name, int64_t *out)
{
    const ph__bound *b = find(f, name);
    if (!b || !b->len)
        return PH_ENOTFOUND;
    return ph_parse_i64((ph_slice){b->value, b->len}, out) < 0 ? PH_EINVAL : 0;
}

bool ph_form_checked(const ph_form *f, const char *name)
{
    const ph__bound *b = find(f, name);
    if (!b)
        return false;
    return f->submitted ? b->present && strcmp(b->value, "") != 0 && strcmp(b->value, "0") != 0 &&
                              strcmp(b->value, "false") != 0 && strcmp(b->value, "off") != 0
                        : b->def->default_value != NULL;
}

const char *const *ph_form_errors(const ph_form *f, const char *name, size_t *n)
{
    const ph__bound *b = find(f, name);
    *n = b ? b->nerrors : 0;
    return b && b->nerrors ? b->errors : NULL;
}

const char *ph_form_csrf_error(const ph_form *f)
{
    return f->csrf_error;
}

int ph_form_add_error(ph_form *f, const char *name, const char *msg)
{
    ph__bound *b = find(f, name);
    if (!b)
        return PH_ENOTFOUND;
    const char *m = ph_arena_strdup(f->req->arena, msg);
    return m ? ph__form_error(f, b, m) : PH_ENOMEM;
}

int ph_form_populate(const ph_form *f, void *obj)
{
    if (!f->def->model)
        return PH_EMISUSE;
    for (size_t i = 0; i < f->def->nfields; i++) {
        const ph__bound *b = &f->fields[i];
        const ph_column *c = b->col;
        if (!c)
            continue;
        char *field = (char *)obj + c->offset;
        switch (c->type) {
        case PH_T_STRING:
        case PH_T_TEXT: {
            char *v = NULL;
            if (b->len || (c->flags & PH_NOT_NULL))
                if (!(v = ph_arena_strndup(f->req->arena, b->value, b->len)))
                    return PH_ENOMEM;
            memcpy(field, &v, sizeof(v));
            break;
        }
        case PH_T_INTEGER:
        case PH_T_BIGINTEGER: {
            int64_t x = 0;
            bool null = ph_parse_i64((ph_slice){b->value, b->len}, &x) < 0;
            if (c->nullable_ctype) {
                ph_int64_opt o = {x, null};
                memcpy(field, &o, sizeof(o));
            } else {
                memcpy(field, &x, sizeof(x));
            }
            break;
        }
        case PH_T_BOOLEAN: {
            bool on = ph_form_checked(f, b->def->name);
            if (c->nullable_ctype) {
                ph_bool_opt o = {on, false};
                memcpy(field, &o, sizeof(o));
            } else {
                memcpy(field, &on, sizeof(on));
            }
            break;
        }
        default:
            return PH_ENOTSUP;
        }
    }
    return 0;
}
