/*
 * Phial forms (Flask-WTF for C): a form is declared once, as a const table
 * of fields with labels and validators; bound to a request it holds what
 * was submitted, checks the CSRF token and every validator, keeps each
 * field's value (never a password's) and its own error messages worded for
 * the person filling it, and renders itself in templates.
 *
 *     static const ph_field contact_fields[] = {
 *         PH_FORM_FIELD(PH_FIELD_TEXT, "name", "Name", PH_REQUIRED()),
 *         PH_FORM_FIELD(PH_FIELD_EMAIL, "email", "Email", PH_REQUIRED(), PH_EMAIL()),
 *         PH_FORM_FIELD(PH_FIELD_TEXTAREA, "message", "Message", PH_REQUIRED()),
 *         PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Send"),
 *     };
 *     static const ph_form_def contact_form = PH_FORM(contact_fields);
 *
 *     ph_form *f = ph_form_bind(req, &contact_form);
 *     bool ok;
 *     if ((rc = ph_form_validate_on_submit(f, &ok)) < 0) return rc;
 *     if (ok) { ... ph_form_value(f, "name") ... }
 *     ph_tpl_ctx_set_form(ctx, "form", f);     // {{ form.name.label }} ...
 *
 * A form derived from a model names it in PH_FORM_MODEL and, per field,
 * the column it fills (PH_FORM_COLUMN, or .column): the column's
 * constraints become validators without being written again -- NOT NULL
 * gives required, String(n) a maximum of n characters, Integer a whole
 * number, unique a uniqueness check through the ORM.  Extra validators are
 * listed as usual.  ph_form_populate copies the values into a model object.
 *
 * Values: text fields are stripped of surrounding whitespace; a value that
 * is not valid UTF-8 or holds a NUL byte is a field error (the app's
 * request check answers 400 before that).  Lengths are counted in
 * characters, not bytes.
 */
#ifndef PHIAL_FORM_H
#define PHIAL_FORM_H

#include "phial/core.h"
#include "phial/http.h"
#include "phial/model.h"
#include "phial/template.h"
#include "phial/version.h"

PH_API_BEGIN

typedef enum ph_field_kind {
    PH_FIELD_AUTO, /* from the column's type (text, textarea, integer, checkbox) */
    PH_FIELD_TEXT,
    PH_FIELD_EMAIL,
    PH_FIELD_PASSWORD, /* never re-shown */
    PH_FIELD_TEXTAREA,
    PH_FIELD_INTEGER,
    PH_FIELD_SELECT,
    PH_FIELD_CHECKBOX,
    PH_FIELD_HIDDEN,
    PH_FIELD_SUBMIT
} ph_field_kind;

typedef enum ph_validator_kind {
    PH_VALID_END,       /* placeholder (ignored) */
    PH_VALID_REQUIRED,  /* DataRequired: absent or whitespace alone is empty */
    PH_VALID_OPTIONAL,  /* empty: skip the remaining validators */
    PH_VALID_LENGTH,    /* min..max characters (-1: no bound) */
    PH_VALID_EMAIL,     /* an address's syntax */
    PH_VALID_EQUAL_TO,  /* same value as field `arg` */
    PH_VALID_RANGE,     /* a whole number min..max */
    PH_VALID_REGEXP,    /* matches POSIX extended regexp `arg` (whole value) */
    PH_VALID_ANY_OF,    /* one of `choices` */
    PH_VALID_UNIQUE,    /* no row of `model` has `arg` (column) = value */
    PH_VALID_CUSTOM     /* fn */
} ph_validator_kind;

struct ph_form;
struct ph_form_field;

/* A custom check: 0 when value (NUL-terminated, already stripped) is
 * fine, PH_EINVAL with *message set (a string that outlives the request)
 * when not, or another negative code for a fault (database down). */
typedef int (*ph_validator_fn)(struct ph_form *form, const char *value, void *userdata,
                               const char **message);

typedef struct ph_validator {
    ph_validator_kind kind;
    int64_t min, max;           /* LENGTH, RANGE; -1: no bound for LENGTH */
    const char *arg;            /* EQUAL_TO field, REGEXP pattern, UNIQUE column */
    const char *const *choices; /* ANY_OF: NULL-terminated */
    const ph_model *model;      /* UNIQUE */
    ph_validator_fn fn;         /* CUSTOM */
    void *userdata;
    const char *message; /* replaces the default message */
} ph_validator;

#define PH_REQUIRED(...) {.kind = PH_VALID_REQUIRED, __VA_ARGS__}
#define PH_OPTIONAL() {.kind = PH_VALID_OPTIONAL}
/* (The arguments after the kind fill min, max / arg / choices / fn,
 * userdata in the order of ph_validator's members, so options may follow
 * and no call leaves the variable part empty: -Wpedantic clean.) */
#define PH_LENGTH(...) {.kind = PH_VALID_LENGTH, .min = __VA_ARGS__}
#define PH_EMAIL(...) {.kind = PH_VALID_EMAIL, __VA_ARGS__}
#define PH_EQUAL_TO(...) {.kind = PH_VALID_EQUAL_TO, .arg = __VA_ARGS__}
#define PH_NUMBER_RANGE(...) {.kind = PH_VALID_RANGE, .min = __VA_ARGS__}
#define PH_REGEXP(...) {.kind = PH_VALID_REGEXP, .arg = __VA_ARGS__}
#define PH_ANY_OF(...) {.kind = PH_VALID_ANY_OF, .choices = __VA_ARGS__}
#define PH_UNIQUE_IN(...) {.kind = PH_VALID_UNIQUE, PH__UNIQUE_IN(__VA_ARGS__, )}
#define PH__UNIQUE_IN(model_ptr, column, ...) .model = (model_ptr), .arg = (column), __VA_ARGS__
#define PH_CUSTOM(...) {.kind = PH_VALID_CUSTOM, .fn = __VA_ARGS__}

/* A choice of a select field. */
typedef struct ph_choice {
    const char *value;
    const char *label;
} ph_choice;

typedef struct ph_field {
    ph_field_kind kind;
    const char *name;  /* form field name (and HTML id) */
    const char *label; /* NULL: from the name ("user_email" -> "User email") */
    const ph_validator *validators; /* nvalidators of them */
    size_t nvalidators;
    const ph_choice *choices;       /* SELECT: ended by {NULL, NULL} */
    const char *column;             /* derived forms: the model column it fills */
    const char *default_value;      /* shown before a submission */
} ph_field;

/* A field with validators: PH_FORM_FIELD(PH_FIELD_TEXT, "name", "Name",
 * PH_REQUIRED(), PH_LENGTH(2, 50)).  Options go through designated initializers. */
#define PH_FORM_FIELD(kind_, name_, ...)                                                           \
    {.kind = (kind_), .name = (name_), PH__LABEL_VALIDATORS(__VA_ARGS__, )}
/* A field filling column col_ of the form's model, its constraints taken
 * from the column; extra validators after the label. */
#define PH_FORM_COLUMN(kind_, name_, col_, ...)                                                    \
    {.kind = (kind_), .name = (name_), .column = (col_), PH__LABEL_VALIDATORS(__VA_ARGS__, )}
#define PH__LABEL_VALIDATORS(label_, ...) .label = (label_), PH__VALIDATORS(__VA_ARGS__)
/* The validator list of a field, counted by the compiler (the leading
 * placeholder makes an empty list valid C). */
#define PH__VALIDATORS(...)                                                                        \
    .validators = (const ph_validator[]){{PH_VALID_END}, __VA_ARGS__} + 1,                         \
    .nvalidators = PH_COUNTOF(((const ph_validator[]){{PH_VALID_END}, __VA_ARGS__})) - 1

typedef struct ph_form_def {
    const ph_field *fields;
    size_t nfields;
    const ph_model *model; /* derived forms: the model the columns belong to */
} ph_form_def;

#define PH_FORM(fields_) {.fields = (fields_), .nfields = PH_COUNTOF(fields_)}
#define PH_FORM_MODEL(fields_, model_)                                                             \
    {.fields = (fields_), .nfields = PH_COUNTOF(fields_), .model = (model_)}

/* Checks a definition once at start-up: names unique and not "csrf_token",
 * columns that exist in the model, EQUAL_TO naming a field, regexps that
 * compile, select fields with choices.  0 or PH_EINVAL with err. */
int ph_form_def_check(const ph_form_def *def, char *err, size_t errlen);

typedef struct ph_form ph_form;

/* Binds def to the request: on POST, PUT, PATCH and DELETE the values come
 * from the submitted form, otherwise from the fields' defaults.  Lives in
 * the request arena (and is the request context's bound form).  NULL when
 * out of memory. */
ph_form *ph_form_bind(ph_request *req, const ph_form_def *def);
/* Whether the request submitted this form (a POST, PUT, PATCH, DELETE). */
bool ph_form_is_submitted(const ph_form *f);
/* *valid is true only for a submission whose CSRF token is valid and whose
 * every validator passes (errors are kept per field; a CSRF error on the
 * form).  0, or a negative code when a check could not run (a uniqueness
 * check with the database down: PH_ECONNLOST, ...). */
int ph_form_validate_on_submit(ph_form *f, bool *valid);
/* Runs the validators without the CSRF and method checks (tests, forms not
 * posted by a browser).  Same returns. */
int ph_form_validate(ph_form *f, bool *valid);

/* The value of a field (stripped; "" when absent), or NULL for an unknown
 * name.  Borrowed from the request arena. */
const char *ph_form_value(const ph_form *f, const char *name);
/* An integer field's value: 0, PH_ENOTFOUND (empty / unknown), PH_EINVAL. */
int ph_form_int(const ph_form *f, const char *name, int64_t *out);
/* Whether a checkbox was checked. */
bool ph_form_checked(const ph_form *f, const char *name);
/* A field's errors (borrowed); *n their number.  NULL for none. */
const char *const *ph_form_errors(const ph_form *f, const char *name, size_t *n);
/* The form-level CSRF error, or NULL. */
const char *ph_form_csrf_error(const ph_form *f);
/* Adds an error to a field after validation (e.g. a constraint the
 * database reported); msg copied.  0, PH_ENOTFOUND, PH_ENOMEM. */
int ph_form_add_error(ph_form *f, const char *name, const char *msg);
/* Copies every field that names a column into obj (an object of the
 * form's model): strings into the request arena, integers parsed, checkbox
 * as bool; an empty optional field leaves NULL.  0, PH_EMISUSE (no model)
 * or PH_ENOMEM. */
int ph_form_populate(const ph_form *f, void *obj);

/* The form as a template value (a map in the request arena):
 *   form.<field>.label       <label for="id">Label</label>
 *   form.<field>.input(class_="x", placeholder="...")  the widget
 *   form.<field>.errors      list of messages;  form.<field>.data  the value ("" when absent)
 *   form.<field>.row(...)    label, widget and errors together
 *   form.hidden_tag()        the CSRF field and the hidden fields
 *   form.csrf_token          the token;  form.errors  every message
 * Keyword arguments become attributes (class_ -> class, data_x -> data-x;
 * true alone, false omitted).  0 or PH_ENOMEM. */
int ph_tpl_ctx_set_form(ph_tpl_ctx *ctx, const char *name, ph_form *f);

/* ---- checks the validators use (exposed for tests and custom checks) ---- */

/* Whether s is empty once leading and trailing whitespace (ASCII and
 * Unicode spaces) is removed. */
bool ph_form_blank(const char *s);
/* Whether s is an email address: local@domain, one '@', dots not leading,
 * trailing or doubled, a domain of at least two labels, no whitespace. */
bool ph_form_email_valid(const char *s);

PH_API_END

#endif
