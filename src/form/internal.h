/*
 * What the files of the form layer share: the bound form and field, and
 * the helpers between binding (form.c), validation (validate.c) and
 * rendering (render.c).
 */
#ifndef PHIAL_FORM_INTERNAL_H
#define PHIAL_FORM_INTERNAL_H

#include "phial/form.h"

typedef struct ph__bound {
    const ph_field *def;
    const ph_column *col; /* the model column it fills, or NULL */
    ph_field_kind kind;   /* resolved (AUTO from the column) */
    const char *value;    /* stripped, valid UTF-8, "" when absent */
    size_t len;
    bool present;  /* submitted */
    bool text_ok;  /* the submitted bytes were valid UTF-8 without NUL */
    const char **errors;
    size_t nerrors, caperrors;
} ph__bound;

struct ph_form {
    const ph_form_def *def;
    ph_request *req;
    ph__bound *fields;
    bool submitted, validated;
    const char *csrf_error;
    size_t nerrors;
};

const ph_column *ph__form_column(const ph_form_def *def, const ph_field *fd);
ph_field_kind ph__form_kind(const ph__bound *b);
const ph__bound *ph__form_find(const ph_form *f, const char *name);
/* Appends msg (kept as is: it must outlive the request) to b's errors. */
int ph__form_error(ph_form *f, ph__bound *b, const char *msg);
/* Runs the column's implied checks and the field's validators. */
int ph__form_validate_field(ph_form *f, ph__bound *b);
/* The field's label: its own, else made from the name. */
const char *ph__form_label(ph_arena *a, const ph_field *fd);
/* Bytes of the whitespace character at / ending just before the end of
 * s (n bytes), or 0. */
size_t ph__form_space_at(const char *s, size_t n);
size_t ph__form_space_before(const char *s, size_t n);

#endif
