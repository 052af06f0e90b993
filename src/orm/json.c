/*
 * Model rows as JSON and back, through their descriptors (jansson values):
 * Flask's jsonify of a model's to_dict(), and a JSON request body applied
 * to a new or loaded object.  Columns map by type -- integers, floats,
 * booleans, strings; dates and times as ISO text; binary as base64; SQL
 * NULL as null -- and relationships are included only when named.
 */
#include "phial/orm.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The value of column c of obj as a new JSON value; NULL when out of
 * memory. */
static json_t *column_json(const ph_column *c, const void *obj)
{
    const char *f = (const char *)obj + c->offset;
    if (ph_column_is_null(c, obj))
        return json_null();
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        return json_integer((json_int_t) * (const int64_t *)f);
    case PH_T_FLOAT:
        return json_real(*(const double *)f);
    case PH_T_BOOLEAN:
        return json_boolean(*(const bool *)f);
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
        return json_string(*(const char *const *)f);
    case PH_T_JSON: {
        /* the document itself, not a string holding it */
        const char *doc = *(const char *const *)f;
        return json_loadb(doc, strlen(doc), JSON_DECODE_ANY, NULL);
    }
    case PH_T_BINARY: {
        const ph_bytes *b = (const ph_bytes *)f;
        size_t n = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
        char *text = malloc(n);
        if (!text)
            return NULL;
        sodium_bin2base64(text, n, b->ptr, b->len, sodium_base64_VARIANT_ORIGINAL);
        json_t *v = json_string(text);
        free(text);
        return v;
    }
    default: {
        /* dates, times, Numeric ("12.30", exact) and any other type: the
           text the column stores */
        ph_buf b;
        ph_buf_init(&b, NULL);
        json_t *v = ph_column_format(c, obj, &b) == 0 && b.ptr ? json_string(b.ptr) : NULL;
        ph_buf_free(&b);
        return v;
    }
    }
}

/* The columns of obj as a new object, or NULL when out of memory. */
static json_t *columns_json(const ph_model *m, const void *obj)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < m->ncolumns; i++) {
        json_t *v = column_json(&m->columns[i], obj);
        if (!v || json_object_set_new(o, m->columns[i].name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *ph_model_to_json(const ph_model *m, const void *obj, const char *const *rels)
{
    if (!m || !obj)
        return NULL;
    json_t *o = columns_json(m, obj);
    const ph_obj *h = obj;
    for (size_t k = 0; o && rels && rels[k]; k++) {
        const ph_relationship *r = ph_model_relationship(m, rels[k]);
        if (!r || (h->session && ph_session_load_rel(h->session, (void *)obj, r) < 0)) {
            json_decref(o);
            return NULL;
        }
        const ph_model *t = r->target();
        const char *f = (const char *)obj + r->offset;
        json_t *v;
        if (r->kind == PH_REL_ONE_TO_MANY || r->kind == PH_REL_MANY_TO_MANY) {
            const ph_list *l = (const ph_list *)f;
            v = json_array();
            for (size_t i = 0; v && i < l->len; i++) {
                json_t *item = columns_json(t, l->items[i]);
                if (!item || json_array_append_new(v, item) < 0) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else {
            const void *p = *(void *const *)f;
            v = p ? columns_json(t, p) : json_null();
        }
        if (!v || json_object_set_new(o, r->name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *ph_rows_to_json(const ph_model *m, void *const *rows, size_t n, const char *const *rels)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = ph_model_to_json(m, rows[i], rels);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int json_fail(char *err, size_t errlen, int code, const char *fmt, const char *a,
                     const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return code;
}

int ph_model_from_json(const ph_model *m, void *obj, const json_t *o, ph_arena *a, char *err,
                       size_t errlen)
{
    if (!json_is_object(o))
        return json_fail(err, errlen, PH_ETYPE, "a JSON object is expected%s%s", "", "");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        const ph_column *c = ph_model_column(m, key);
        if (!c)
            return json_fail(err, errlen, PH_EUNDEFINED, "%s has no field '%s'", m->name, key);
        if (c->flags & PH_PK)
            return json_fail(err, errlen, PH_EINVAL, "%s.%s is set by the database", m->name,
                             key);
        char num[64];
        const char *text = NULL;
        size_t len = 0;
        bool textual = c->type == PH_T_STRING || c->type == PH_T_TEXT ||
                       c->type == PH_T_DATE || c->type == PH_T_DATETIME ||
                       c->type == PH_T_BINARY || c->type == PH_T_ENUM;
        if (c->type == PH_T_JSON && !json_is_null(v)) {
            /* a JSON column takes any value: stored as its compact text */
            char *doc = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            int rc = doc ? ph_column_parse(c, obj, doc, strlen(doc), a) : PH_ENOMEM;
            free(doc);
            if (rc < 0)
                return json_fail(err, errlen, rc, "%s.%s: not a valid value", m->name, key);
            continue;
        }
        if (json_is_null(v)) {
            if (c->flags & PH_NOT_NULL)
                return json_fail(err, errlen, PH_ECONSTRAINT, "%s.%s must not be null", m->name,
                                 key);
        } else if (json_is_string(v)) {
            if (!textual && c->type != PH_T_INTEGER && c->type != PH_T_BIGINTEGER &&
                c->type != PH_T_FLOAT && c->type != PH_T_NUMERIC)
                return json_fail(err, errlen, PH_ETYPE, "%s.%s must not be a string", m->name,
                                 key);
            text = json_string_value(v);
            len = json_string_length(v);
            if (memchr(text, '\0', len))
                return json_fail(err, errlen, PH_EINVAL, "%s.%s holds a NUL character",
                                 m->name, key);
        } else if (json_is_boolean(v) && c->type == PH_T_BOOLEAN) {
            text = json_is_true(v) ? "true" : "false";
            len = strlen(text);
        } else if (json_is_integer(v) && !textual && c->type != PH_T_BOOLEAN) {
            len = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                                   json_integer_value(v));
            text = num;
        } else if (json_is_real(v) && c->type == PH_T_FLOAT) {
            len = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
            text = num;
        } else if (json_is_real(v) && c->type == PH_T_NUMERIC) {
            /* 15 significant digits: what a double holds exactly in decimal
               (12.3 stays "12.3"); send a string for more */
            len = (size_t)snprintf(num, sizeof(num), "%.15g", json_real_value(v));
            text = num;
        } else {
            return json_fail(err, errlen, PH_ETYPE, "%s.%s: a value of the wrong type", m->name,
                             key);
        }
        int rc = ph_column_parse(c, obj, text, len, a);
        if (rc < 0)
            return json_fail(err, errlen, rc, "%s.%s: not a valid value", m->name, key);
    }
    return 0;
}
