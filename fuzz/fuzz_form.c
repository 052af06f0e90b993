/*
 * libFuzzer target for the form decoders: the input is a request body,
 * url-encoded or (when it starts with "--") multipart/form-data, bound to
 * a form with every kind of field and validator; the bound form is then
 * rendered into HTML.  Any crash, leak or sanitizer report is a bug, and a
 * value kept by a field must be valid UTF-8 without NUL.
 */
#include "phial/form.h"
#include "phial/security.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const colours[] = {"red", "green", NULL};
static const ph_choice sizes[] = {{"s", "Small"}, {"l", "Large"}, {NULL, NULL}};

static int custom(ph_form *f, const char *value, void *ud, const char **msg)
{
    (void)f;
    (void)ud;
    *msg = "no";
    return strstr(value, "x") ? PH_EINVAL : 0;
}

static const ph_field fields[] = {
    PH_FORM_FIELD(PH_FIELD_TEXT, "name", "Name", PH_REQUIRED(), PH_LENGTH(2, 10)),
    PH_FORM_FIELD(PH_FIELD_EMAIL, "email", "Email", PH_EMAIL()),
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "password", "Password", PH_REQUIRED()),
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "confirm", "Confirm", PH_EQUAL_TO("password")),
    PH_FORM_FIELD(PH_FIELD_TEXTAREA, "message", NULL, PH_OPTIONAL(), PH_LENGTH(-1, 50)),
    PH_FORM_FIELD(PH_FIELD_INTEGER, "age", "Age", PH_NUMBER_RANGE(0, 150)),
    PH_FORM_FIELD(PH_FIELD_TEXT, "code", "Code", PH_REGEXP("[A-Z]{2}[0-9]+")),
    PH_FORM_FIELD(PH_FIELD_TEXT, "colour", "Colour", PH_ANY_OF(colours)),
    PH_FORM_FIELD(PH_FIELD_TEXT, "word", "Word", PH_CUSTOM(custom, NULL)),
    {.kind = PH_FIELD_SELECT, .name = "size", .label = "Size", .choices = sizes},
    {.kind = PH_FIELD_CHECKBOX, .name = "agree", .label = "Agree"},
    {.kind = PH_FIELD_HIDDEN, .name = "next"},
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Send"),
};
static const ph_form_def def = PH_FORM(fields);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    ph_arena *a = ph_arena_new(0);
    ph_request *req = a ? ph_req_new(a, NULL, "POST", "/form") : NULL;
    if (!req)
        goto done;
    bool multipart = size >= 2 && data[0] == '-' && data[1] == '-';
    ph_req_add_header(req, "Content-Type", multipart ? "multipart/form-data; boundary=b"
                                                     : "application/x-www-form-urlencoded");
    if (ph_req_set_body(req, data, size) < 0 || ph_req_parse_body(req, 100) < 0)
        goto done;
    ph_form *f = ph_form_bind(req, &def);
    bool valid;
    if (!f || ph_form_validate(f, &valid) < 0)
        goto done;
    for (size_t i = 0; i < def.nfields; i++) {
        const char *v = ph_form_value(f, fields[i].name);
        if (!v || !ph_text_valid(v, strlen(v)))
            abort();
    }
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    if (ctx)
        ph_tpl_ctx_set_form(ctx, "form", f);
done:
    ph_arena_free(a);
    return 0;
}
