/*
 * A bound form as a template value: a map with one entry per field
 * (label, input(), row(), errors, data, name, id), the CSRF token,
 * hidden_tag() and every error.  Widgets are written here with every
 * value HTML-escaped; attributes come from the template's keyword
 * arguments (class_="x" gives class="x", as WTForms).
 */
#include "phial/form.h"

#include <stdio.h>
#include <string.h>

#include "phial/app.h"

#include "internal.h"

typedef struct field_ref {
    ph_form *form;
    ph__bound *b;
} field_ref;

static void attr(ph_buf *out, const char *name, const char *value)
{
    ph_buf_printf(out, " %s=\"", name);
    ph_buf_put_html(out, value, strlen(value));
    ph_buf_putc(out, '"');
}

/* Keyword arguments as attributes: a trailing '_' dropped (class_),
 * other '_' as '-' (data_x), true alone, false/none omitted.  Names that
 * are not plain words are refused. */
static int put_kwargs(ph_tpl_call *call, ph_buf *out, const char *skip)
{
    for (size_t i = 0; i < call->nkwargs; i++) {
        ph_slice n = call->kwargs[i].name;
        const ph_value *v = &call->kwargs[i].value;
        char name[64];
        size_t len = n.len;
        if (len && n.ptr[len - 1] == '_')
            len--;
        if (len == 0 || len >= sizeof(name)) {
            call->errmsg = "an attribute name is empty or too long";
            return PH_EINVAL;
        }
        for (size_t k = 0; k < len; k++) {
            char c = n.ptr[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-')) {
                call->errmsg = "an attribute name may hold letters, digits, '_' and '-' only";
                return PH_EINVAL;
            }
            name[k] = c == '_' ? '-' : c;
        }
        name[len] = '\0';
        if (skip && strcmp(name, skip) == 0)
            continue;
        if (v->kind == PH_V_BOOL || v->kind == PH_V_NONE || v->kind == PH_V_UNDEFINED) {
            if (v->kind == PH_V_BOOL && v->u.b)
                ph_buf_printf(out, " %s", name);
            continue;
        }
        ph_buf s;
        ph_buf_init(&s, call->arena);
        if (ph_tpl_value_str(&s, v) < 0)
            return PH_ENOMEM;
        ph_buf_printf(out, " %s=\"", name);
        ph_buf_put_html(out, s.ptr ? s.ptr : "", s.len);
        ph_buf_putc(out, '"');
    }
    return 0;
}

static bool has_kwarg(ph_tpl_call *call, const char *name)
{
    for (size_t i = 0; i < call->nkwargs; i++)
        if (ph_slice_eq_cstr(call->kwargs[i].name, name))
            return true;
    return false;
}

/* The widget of field r into out. */
static int widget(ph_tpl_call *call, const field_ref *r, ph_buf *out)
{
    const ph__bound *b = r->b;
    const ph_field *fd = b->def;
    ph_arena *a = call->arena;
    const char *label = ph__form_label(a, fd);
    int64_t maxlen = -1;
    bool required = false;
    if (b->col && b->col->type == PH_T_STRING && b->col->length > 0)
        maxlen = b->col->length;
    if (b->col && (b->col->flags & PH_NOT_NULL) && !(b->col->flags & PH_PK) &&
        b->kind != PH_FIELD_CHECKBOX)
        required = true;
    for (size_t i = 0; i < fd->nvalidators; i++) {
        const ph_validator *v = &fd->validators[i];
        if (v->kind == PH_VALID_REQUIRED)
            required = true;
        else if (v->kind == PH_VALID_LENGTH && v->max >= 0 && (maxlen < 0 || v->max < maxlen))
            maxlen = v->max;
    }
    int rc;
    switch (b->kind) {
    case PH_FIELD_TEXTAREA:
        ph_buf_puts(out, "<textarea");
        attr(out, "id", fd->name);
        attr(out, "name", fd->name);
        break;
    case PH_FIELD_SELECT:
        ph_buf_puts(out, "<select");
        attr(out, "id", fd->name);
        attr(out, "name", fd->name);
        break;
    default: {
        static const char *const types[] = {
            [PH_FIELD_AUTO] = "text",        [PH_FIELD_TEXT] = "text",
            [PH_FIELD_EMAIL] = "email",      [PH_FIELD_PASSWORD] = "password",
            [PH_FIELD_TEXTAREA] = "text",    [PH_FIELD_INTEGER] = "number",
            [PH_FIELD_SELECT] = "text",      [PH_FIELD_CHECKBOX] = "checkbox",
            [PH_FIELD_HIDDEN] = "hidden",    [PH_FIELD_SUBMIT] = "submit",
        };
        ph_buf_printf(out, "<input type=\"%s\"", types[b->kind]);
        attr(out, "id", fd->name);
        attr(out, "name", fd->name);
        if (b->kind == PH_FIELD_SUBMIT)
            attr(out, "value", label);
        else if (b->kind == PH_FIELD_CHECKBOX) {
            attr(out, "value", "y");
            if (ph_form_checked(r->form, fd->name))
                ph_buf_puts(out, " checked");
        } else if (b->kind != PH_FIELD_PASSWORD && !has_kwarg(call, "value"))
            attr(out, "value", b->value); /* a password is never shown again */
        break;
    }
    }
    if (maxlen >= 0 && b->kind != PH_FIELD_SELECT && b->kind != PH_FIELD_CHECKBOX &&
        b->kind != PH_FIELD_SUBMIT && b->kind != PH_FIELD_HIDDEN && !has_kwarg(call, "maxlength"))
        ph_buf_printf(out, " maxlength=\"%lld\"", (long long)maxlen);
    if (required && b->kind != PH_FIELD_SUBMIT && b->kind != PH_FIELD_HIDDEN &&
        !has_kwarg(call, "required"))
        ph_buf_puts(out, " required");
    if (b->nerrors)
        ph_buf_printf(out, " aria-invalid=\"true\" aria-describedby=\"%s-errors\"", fd->name);
    if ((rc = put_kwargs(call, out, NULL)) < 0)
        return rc;
    if (b->kind == PH_FIELD_TEXTAREA) {
        ph_buf_putc(out, '>');
        ph_buf_put_html(out, b->value, b->len);
        ph_buf_puts(out, "</textarea>");
    } else if (b->kind == PH_FIELD_SELECT) {
        ph_buf_putc(out, '>');
        for (const ph_choice *c = fd->choices; c && c->value; c++) {
            ph_buf_puts(out, "<option");
            attr(out, "value", c->value);
            if (strcmp(c->value, b->value) == 0)
                ph_buf_puts(out, " selected");
            ph_buf_putc(out, '>');
            const char *l = c->label ? c->label : c->value;
            ph_buf_put_html(out, l, strlen(l));
            ph_buf_puts(out, "</option>");
        }
        ph_buf_puts(out, "</select>");
    } else {
        ph_buf_putc(out, '>');
    }
    return ph_buf_status(out);
}

static void put_errors(const ph__bound *b, ph_buf *out)
{
    if (!b->nerrors)
        return;
    ph_buf_printf(out, "<ul class=\"errors\" id=\"%s-errors\">", b->def->name);
    for (size_t i = 0; i < b->nerrors; i++) {
        ph_buf_puts(out, "<li>");
        ph_buf_put_html(out, b->errors[i], strlen(b->errors[i]));
        ph_buf_puts(out, "</li>");
    }
    ph_buf_puts(out, "</ul>");
}

static int fn_input(ph_tpl_call *call, ph_value *out)
{
    ph_buf b;
    ph_buf_init(&b, call->arena);
    int rc = widget(call, call->userdata, &b);
    if (rc < 0)
        return rc;
    *out = ph_tpl_strn(b.ptr ? b.ptr : "", b.len);
    out->safe = true;
    return 0;
}

static void put_label(const ph__bound *b, ph_arena *a, ph_buf *out)
{
    const char *l = ph__form_label(a, b->def);
    ph_buf_puts(out, "<label");
    attr(out, "for", b->def->name);
    ph_buf_putc(out, '>');
    ph_buf_put_html(out, l, strlen(l));
    ph_buf_puts(out, "</label>");
}

/* label, widget and errors: the usual row of a form. */
static int fn_row(ph_tpl_call *call, ph_value *out)
{
    const field_ref *r = call->userdata;
    ph_buf b;
    ph_buf_init(&b, call->arena);
    if (r->b->kind != PH_FIELD_SUBMIT && r->b->kind != PH_FIELD_HIDDEN &&
        r->b->kind != PH_FIELD_CHECKBOX)
        put_label(r->b, call->arena, &b);
    int rc = widget(call, r, &b);
    if (rc < 0)
        return rc;
    if (r->b->kind == PH_FIELD_CHECKBOX)
        put_label(r->b, call->arena, &b);
    put_errors(r->b, &b);
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    *out = ph_tpl_strn(b.ptr ? b.ptr : "", b.len);
    out->safe = true;
    return 0;
}

/* form.hidden_tag(): the CSRF field plus every hidden field. */
static int fn_hidden_tag(ph_tpl_call *call, ph_value *out)
{
    ph_form *f = call->userdata;
    const char *tok = ph_csrf_token(f->req);
    if (!tok) {
        call->errmsg = "hidden_tag(): no CSRF token (the app has no SECRET_KEY: "
                       "ph_app_use_security)";
        return PH_EMISUSE;
    }
    ph_buf b;
    ph_buf_init(&b, call->arena);
    ph_buf_puts(&b, "<input type=\"hidden\" id=\"csrf_token\" name=\"csrf_token\"");
    attr(&b, "value", tok);
    ph_buf_putc(&b, '>');
    for (size_t i = 0; i < f->def->nfields; i++) {
        if (f->fields[i].kind != PH_FIELD_HIDDEN)
            continue;
        field_ref r = {f, &f->fields[i]};
        ph_tpl_call sub = *call;
        sub.nkwargs = 0;
        int rc = widget(&sub, &r, &b);
        if (rc < 0)
            return rc;
    }
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    *out = ph_tpl_strn(b.ptr, b.len);
    out->safe = true;
    return 0;
}

int ph_tpl_ctx_set_form(ph_tpl_ctx *ctx, const char *name, ph_form *f)
{
    ph_arena *a = ph_tpl_ctx_arena(ctx);
    ph_value form = ph_tpl_map_new(a), all = ph_tpl_list_new(a);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->def->nfields; i++) {
        ph__bound *b = &f->fields[i];
        field_ref *r = PH_ARENA_NEW(a, field_ref);
        ph_value fv = ph_tpl_map_new(a), errs = ph_tpl_list_new(a);
        if (!r)
            return PH_ENOMEM;
        *r = (field_ref){f, b};
        for (size_t k = 0; rc == 0 && k < b->nerrors; k++) {
            rc = ph_tpl_list_push(a, &errs, ph_tpl_str(b->errors[k]));
            if (rc == 0)
                rc = ph_tpl_list_push(a, &all, ph_tpl_str(b->errors[k]));
        }
        ph_buf lb;
        ph_buf_init(&lb, a);
        put_label(b, a, &lb);
        if (ph_buf_status(&lb) < 0)
            return PH_ENOMEM;
        ph_value label = ph_tpl_strn(lb.ptr, lb.len);
        label.safe = true;
        const char *text = ph__form_label(a, b->def);
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "name", ph_tpl_str(b->def->name));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "id", ph_tpl_str(b->def->name));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "label", label);
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "label_text", ph_tpl_str(text));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "data",
                                     ph_tpl_str(b->kind == PH_FIELD_PASSWORD ? "" : b->value));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "errors", errs);
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "input", ph_tpl_func(fn_input, r));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &fv, "row", ph_tpl_func(fn_row, r));
        if (rc == 0)
            rc = ph_tpl_map_set_cstr(a, &form, b->def->name, fv);
    }
    if (f->csrf_error && rc == 0)
        rc = ph_tpl_list_push(a, &all, ph_tpl_str(f->csrf_error));
    const char *tok = ph_csrf_token(f->req);
    if (rc == 0)
        rc = ph_tpl_map_set_cstr(a, &form, "hidden_tag", ph_tpl_func(fn_hidden_tag, f));
    if (rc == 0)
        rc = ph_tpl_map_set_cstr(a, &form, "csrf_token", tok ? ph_tpl_str(tok) : ph_tpl_str(""));
    if (rc == 0)
        rc = ph_tpl_map_set_cstr(a, &form, "csrf_error",
                                 f->csrf_error ? ph_tpl_str(f->csrf_error) : ph_tpl_none());
    if (rc == 0)
        rc = ph_tpl_map_set_cstr(a, &form, "errors", all);
    if (rc == 0)
        rc = ph_tpl_ctx_set(ctx, name, form);
    return rc;
}
