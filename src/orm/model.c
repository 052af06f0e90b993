/*
 * Model metadata at run time: looking up columns and relationships by
 * name, checking a descriptor at registration (one primary key, unique
 * names, fields covered without overlaps, parseable defaults that a
 * zeroed field can tell apart from a value), and reading and writing a
 * field as text for the CLI, forms, templates and the drivers (Numeric as
 * exact decimal text, Enum and JSON checked).
 */
#include "phial/db.h"
#include "phial/model.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const ph_column *ph_model_column_n(const ph_model *m, const char *name, size_t n)
{
    for (size_t i = 0; i < m->ncolumns; i++) {
        const char *cn = m->columns[i].name;
        if (strncmp(cn, name, n) == 0 && cn[n] == '\0')
            return &m->columns[i];
    }
    return NULL;
}

const ph_column *ph_model_column(const ph_model *m, const char *name)
{
    return name ? ph_model_column_n(m, name, strlen(name)) : NULL;
}

const ph_column *ph_model_pk(const ph_model *m)
{
    if (m->ncolumns && (m->columns[0].flags & PH_PK)) /* the usual place */
        return &m->columns[0];
    for (size_t i = 0; i < m->ncolumns; i++)
        if (m->columns[i].flags & PH_PK)
            return &m->columns[i];
    return NULL;
}

size_t ph_model_npk(const ph_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->ncolumns; i++)
        n += (m->columns[i].flags & PH_PK) != 0;
    return n;
}

const ph_relationship *ph_model_relationship(const ph_model *m, const char *name)
{
    for (size_t i = 0; name && i < m->nrelationships; i++)
        if (strcmp(m->relationships[i].name, name) == 0)
            return &m->relationships[i];
    return NULL;
}

const char *ph_coltype_name(ph_coltype t)
{
    switch (t) {
    case PH_T_INTEGER:
        return "INTEGER";
    case PH_T_BIGINTEGER:
        return "BIGINT";
    case PH_T_FLOAT:
        return "FLOAT";
    case PH_T_BOOLEAN:
        return "BOOLEAN";
    case PH_T_STRING:
        return "VARCHAR";
    case PH_T_TEXT:
        return "TEXT";
    case PH_T_DATETIME:
        return "DATETIME";
    case PH_T_DATE:
        return "DATE";
    case PH_T_BINARY:
        return "BLOB";
    case PH_T_NUMERIC:
        return "NUMERIC";
    case PH_T_ENUM:
        return "VARCHAR";
    case PH_T_JSON:
        return "JSON";
    }
    return "?";
}

bool ph_enum_has(const ph_column *c, const char *s, size_t len)
{
    for (const char *const *v = c->enum_values; v && *v; v++)
        if (strlen(*v) == len && memcmp(*v, s, len) == 0)
            return true;
    return false;
}

bool ph_json_valid(const char *s, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    json_decref(j);
    return j != NULL;
}

bool ph_column_is_null(const ph_column *c, const void *obj)
{
    const char *f = (const char *)obj + c->offset;
    switch (c->type) {
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON:
        return *(const char *const *)f == NULL;
    case PH_T_BINARY:
        return ((const ph_bytes *)f)->ptr == NULL;
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        return c->nullable_ctype && !((const ph_int64_opt *)f)->set;
    case PH_T_FLOAT:
        return c->nullable_ctype && !((const ph_double_opt *)f)->set;
    case PH_T_BOOLEAN:
        return c->nullable_ctype && !((const ph_bool_opt *)f)->set;
    case PH_T_DATETIME:
        return c->nullable_ctype && !((const ph_datetime_opt *)f)->set;
    case PH_T_DATE:
        return c->nullable_ctype && !((const ph_date_opt *)f)->set;
    case PH_T_NUMERIC:
        return c->nullable_ctype && !((const ph_decimal_opt *)f)->set;
    }
    return false;
}

static int parse_bool(const char *t, bool *out)
{
    static const char *const yes[] = {"1", "true", "t", "yes", "y", "on"};
    static const char *const no[] = {"0", "false", "f", "no", "n", "off"};
    for (size_t i = 0; i < PH_COUNTOF(yes); i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(t, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return PH_EINVAL;
}

int ph_column_parse(const ph_column *c, void *obj, const char *text, size_t len, ph_arena *a)
{
    char *f = (char *)obj + c->offset;
    bool opt = c->nullable_ctype;
    if (!text) {
        /* unset: a NULL pointer, or a zeroed *_opt (set false) */
        memset(f, 0, c->size);
        return 0;
    }
    char tmp[64];
    bool textual = c->type == PH_T_STRING || c->type == PH_T_TEXT || c->type == PH_T_BINARY ||
                   c->type == PH_T_ENUM || c->type == PH_T_JSON;
    if (!textual) {
        if (len >= sizeof(tmp))
            return PH_EINVAL;
        memcpy(tmp, text, len);
        tmp[len] = '\0';
    }
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER: {
        int64_t v;
        int rc = ph_parse_i64((ph_slice){text, len}, &v);
        if (rc)
            return rc;
        if (c->type == PH_T_INTEGER && (v > INT32_MAX || v < INT32_MIN))
            return PH_ERANGE;
        if (opt)
            *(ph_int64_opt *)f = (ph_int64_opt){v, true};
        else
            *(int64_t *)f = v;
        return 0;
    }
    case PH_T_FLOAT: {
        double v;
        int rc = ph_parse_double((ph_slice){text, len}, &v);
        if (rc)
            return rc;
        if (opt)
            *(ph_double_opt *)f = (ph_double_opt){v, true};
        else
            *(double *)f = v;
        return 0;
    }
    case PH_T_BOOLEAN: {
        bool v;
        if (parse_bool(tmp, &v))
            return PH_EINVAL;
        if (opt)
            *(ph_bool_opt *)f = (ph_bool_opt){v, true};
        else
            *(bool *)f = v;
        return 0;
    }
    case PH_T_DATETIME: {
        int64_t v;
        if (ph_datetime_parse(text, len, &v))
            return PH_EINVAL;
        if (opt)
            *(ph_datetime_opt *)f = (ph_datetime_opt){{v}, true};
        else
            *(ph_datetime *)f = (ph_datetime){v};
        return 0;
    }
    case PH_T_DATE: {
        int32_t v;
        if (ph_date_parse(text, len, &v))
            return PH_EINVAL;
        if (opt)
            *(ph_date_opt *)f = (ph_date_opt){{v}, true};
        else
            *(ph_date *)f = (ph_date){v};
        return 0;
    }
    case PH_T_NUMERIC: {
        int64_t v;
        int rc = ph_decimal_parse(text, len, c->length, c->scale, false, &v);
        if (rc)
            return rc;
        if (opt)
            *(ph_decimal_opt *)f = (ph_decimal_opt){{v}, true};
        else
            *(ph_decimal *)f = (ph_decimal){v};
        return 0;
    }
    case PH_T_ENUM:
    case PH_T_JSON:
    case PH_T_STRING:
    case PH_T_TEXT: {
        if (c->type == PH_T_ENUM && !ph_enum_has(c, text, len))
            return PH_EINVAL;
        if (c->type == PH_T_JSON && !ph_json_valid(text, len))
            return PH_EINVAL;
        const char *s = ph_arena_strndup(a, text, len);
        if (!s)
            return PH_ENOMEM;
        *(const char **)f = s;
        return 0;
    }
    case PH_T_BINARY: {
        uint8_t *p = ph_arena_memdup(a, len ? text : "", len);
        if (!p)
            return PH_ENOMEM;
        *(ph_bytes *)f = (ph_bytes){p, len};
        return 0;
    }
    }
    return PH_EINVAL;
}

int ph_column_format(const ph_column *c, const void *obj, ph_buf *out)
{
    const char *f = (const char *)obj + c->offset;
    if (ph_column_is_null(c, obj))
        return ph_buf_puts(out, "None");
    char t[40];
    switch (c->type) {
    case PH_T_INTEGER:
    case PH_T_BIGINTEGER:
        return ph_buf_put_i64(out, *(const int64_t *)f);
    case PH_T_FLOAT:
        return ph_buf_printf(out, "%.17g", *(const double *)f);
    case PH_T_BOOLEAN:
        return ph_buf_puts(out, *(const bool *)f ? "True" : "False");
    case PH_T_DATETIME:
        ph_datetime_format(((const ph_datetime *)f)->usec, t, sizeof(t));
        return ph_buf_puts(out, t);
    case PH_T_DATE:
        ph_date_format(((const ph_date *)f)->days, t, sizeof(t));
        return ph_buf_puts(out, t);
    case PH_T_NUMERIC:
        ph_decimal_format(((const ph_decimal *)f)->units, c->scale, t, sizeof(t));
        return ph_buf_puts(out, t);
    case PH_T_STRING:
    case PH_T_TEXT:
    case PH_T_ENUM:
    case PH_T_JSON:
        return ph_buf_puts(out, *(const char *const *)f);
    case PH_T_BINARY: {
        const ph_bytes *b = (const ph_bytes *)f;
        return ph_buf_append(out, b->ptr, b->len);
    }
    }
    return 0;
}

static int check_fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return PH_EINVAL;
}

/* Whether column c is a foreign key to table. */
static bool fk_to(const ph_column *c, const char *table)
{
    size_t n = strlen(table);
    return c && c->foreign_key && strncmp(c->foreign_key, table, n) == 0 &&
           c->foreign_key[n] == '.';
}

static int check_relationship(const ph_model *m, const ph_relationship *r, char *err, size_t errlen)
{
    char what[160];
    snprintf(what, sizeof(what), "%s.%s", m->name, r->name ? r->name : "?");
    if (!r->name || !r->target || !r->target())
        return check_fail(err, errlen, "%s: a relationship needs a name and a target%s", what, "");
    const ph_model *t = r->target();
    for (const ph_relationship *o = m->relationships; o < r; o++)
        if (strcmp(o->name, r->name) == 0)
            return check_fail(err, errlen, "%s: name declared twice%s", what, "");
    if (ph_model_column(m, r->name))
        return check_fail(err, errlen, "%s: a column has the same name%s", what, "");
    switch (r->kind) {
    case PH_REL_MANY_TO_ONE:
        if (!fk_to(ph_model_column(m, r->local_column), t->table))
            return check_fail(err, errlen, "%s: %s must be a column with a foreign key to %s", what,
                              r->local_column ? r->local_column : "(no column)");
        break;
    case PH_REL_ONE_TO_MANY:
    case PH_REL_ONE_TO_ONE:
        if (!fk_to(ph_model_column(t, r->remote_column), m->table)) {
            char col[160];
            snprintf(col, sizeof(col), "%s.%s", t->name,
                     r->remote_column ? r->remote_column : "(no column)");
            return check_fail(err, errlen,
                              "%s: %s must be a column with a foreign key to this "
                              "model's table",
                              what, col);
        }
        break;
    case PH_REL_MANY_TO_MANY:
        if (!r->secondary || !r->secondary_local || !r->secondary_remote)
            return check_fail(err, errlen,
                              "%s: a many-to-many needs its association table and "
                              "its two columns%s",
                              what, "");
        if (r->cascade & (PH_CASCADE_DELETE | PH_CASCADE_DELETE_ORPHAN))
            return check_fail(err, errlen,
                              "%s: delete cascades are for one-to-many and "
                              "one-to-one%s",
                              what, "");
        break;
    default:
        return check_fail(err, errlen, "%s: unknown relationship kind%s", what, "");
    }
    if (r->kind == PH_REL_MANY_TO_ONE && (r->cascade & PH_CASCADE_DELETE_ORPHAN))
        return check_fail(err, errlen, "%s: delete-orphan goes on the one-to-many side%s", what,
                          "");
    if (r->backref) {
        const ph_relationship *b = ph_model_relationship(t, r->backref);
        if (!b)
            return check_fail(err, errlen, "%s: backref %s is not a relationship of the target",
                              what, r->backref);
        bool inverse = false;
        switch (r->kind) {
        case PH_REL_MANY_TO_ONE:
            inverse = (b->kind == PH_REL_ONE_TO_MANY || b->kind == PH_REL_ONE_TO_ONE) &&
                      b->remote_column && strcmp(b->remote_column, r->local_column) == 0;
            break;
        case PH_REL_ONE_TO_MANY:
        case PH_REL_ONE_TO_ONE:
            inverse = b->kind == PH_REL_MANY_TO_ONE && b->local_column &&
                      strcmp(b->local_column, r->remote_column) == 0;
            break;
        case PH_REL_MANY_TO_MANY:
            inverse = b->kind == PH_REL_MANY_TO_MANY && b->secondary &&
                      strcmp(b->secondary, r->secondary) == 0 && b->secondary_local &&
                      strcmp(b->secondary_local, r->secondary_remote) == 0 && b->secondary_remote &&
                      strcmp(b->secondary_remote, r->secondary_local) == 0;
            break;
        }
        inverse = inverse && b->target && b->target() == m;
        if (!inverse)
            return check_fail(err, errlen,
                              "%s: backref %s is not the inverse relationship "
                              "(same foreign key or association table, pointing "
                              "back)",
                              what, r->backref);
        if (b->backref && strcmp(b->backref, r->name) != 0)
            return check_fail(err, errlen, "%s: its backref names %s instead", what, b->backref);
    }
    return 0;
}

int ph_model_check(const ph_model *m, char *err, size_t errlen)
{
    size_t npk = 0;
    if (m->ncolumns == 0 || m->ncolumns > 64)
        return check_fail(err, errlen, "%s: a model has 1 to 64 columns%s", m->name, "");
    for (size_t i = 0; i < m->ncolumns; i++) {
        const ph_column *c = &m->columns[i];
        if (c->flags & PH_PK)
            npk++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->columns[j].name, c->name) == 0)
                return check_fail(err, errlen, "%s: column %s declared twice", m->name, c->name);
        if ((c->flags & PH_PK) && c->type != PH_T_INTEGER && c->type != PH_T_BIGINTEGER)
            return check_fail(err, errlen, "%s.%s: the primary key must be Integer or BigInteger",
                              m->name, c->name);
        if (c->type == PH_T_STRING && c->length <= 0)
            return check_fail(err, errlen, "%s.%s: String needs a length", m->name, c->name);
        if (c->foreign_key && !strchr(c->foreign_key, '.'))
            return check_fail(err, errlen, "%s.%s: foreign key must be \"table.column\"", m->name,
                              c->name);
        if (c->type == PH_T_NUMERIC &&
            (c->length < 1 || c->length > 18 || c->scale < 0 || c->scale > c->length))
            return check_fail(err, errlen,
                              "%s.%s: Numeric needs 1 <= precision <= 18 and 0 <= scale <= "
                              "precision",
                              m->name, c->name);
        if (c->type == PH_T_ENUM && (!c->enum_values || !c->enum_values[0] || !c->enum_name))
            return check_fail(err, errlen,
                              "%s.%s: Enum needs its values (NULL-terminated) and a type name",
                              m->name, c->name);
        if ((c->flags & PH_TIMEZONE) && c->type != PH_T_DATETIME)
            return check_fail(err, errlen, "%s.%s: PH_TIMEZONE is for DateTime columns",
                              m->name, c->name);
        const char *defaults[2] = {c->default_value, c->server_default};
        for (int k = 0; k < 2; k++) {
            const char *dv = defaults[k];
            if (!dv)
                continue;
            if ((c->flags & PH_PK) && k == 1)
                return check_fail(err, errlen, "%s.%s: a primary key has no server default",
                                  m->name, c->name);
            bool now = k == 0 && c->type == PH_T_DATETIME && strcmp(dv, "now") == 0;
            ph_arena *a = ph_arena_new(256);
            if (!a)
                return PH_ENOMEM;
            void *obj = ph_arena_calloc(a, 1, m->size);
            int rc = !obj ? PH_ENOMEM : now ? 0 : ph_column_parse(c, obj, dv, strlen(dv), a);
            /* a plain scalar field cannot be unset: its zero stands for the
               default, which is only honest when the default is zero */
            bool zero = true;
            for (size_t b = 0; rc == 0 && !now && b < c->size; b++)
                zero = zero && ((unsigned char *)obj)[c->offset + b] == 0;
            bool scalar = !c->nullable_ctype;
            ph_arena_free(a);
            if (rc)
                return check_fail(err, errlen, "%s.%s: the default cannot be parsed", m->name,
                                  c->name);
            if (scalar && (now || !zero))
                return check_fail(err, errlen,
                                  "%s.%s: a field with a non-zero default must be able to be "
                                  "unset: use the *_opt C type (ph_int64_opt, ph_bool_opt...)",
                                  m->name, c->name);
        }
    }
    for (size_t u = 0; u < m->nuniques; u++) {
        size_t k = 0;
        for (; k < PH_COUNTOF(m->uniques[u].columns) && m->uniques[u].columns[k]; k++)
            if (!ph_model_column(m, m->uniques[u].columns[k]))
                return check_fail(err, errlen, "%s: unique constraint names no column %s",
                                  m->name, m->uniques[u].columns[k]);
        if (k == 0)
            return check_fail(err, errlen, "%s: a unique constraint needs columns%s", m->name,
                              "");
    }
    if (npk == 0)
        return check_fail(err, errlen, "%s: a model needs exactly one primary key%s", m->name, "");
    if (npk > 1) { /* an association table: its primary key is its foreign keys */
        for (size_t i = 0; i < m->ncolumns; i++) {
            const ph_column *c = &m->columns[i];
            if ((c->flags & PH_PK) && (c->type != PH_T_INTEGER || !c->foreign_key))
                return check_fail(err, errlen,
                                  "%s.%s: a model needs exactly one primary key, or is an "
                                  "association table whose key columns are Integer foreign keys",
                                  m->name, c->name);
        }
        if (m->nrelationships)
            return check_fail(err, errlen, "%s: an association table has no relationships%s",
                              m->name, "");
    }
    for (size_t i = 0; i < m->nrelationships; i++) {
        int rc = check_relationship(m, &m->relationships[i], err, errlen);
        if (rc)
            return rc;
    }
    /* Coverage: columns and relationship fields cover the struct after the
       header, up to padding (a field the descriptor forgot is found here;
       the macros make overlaps impossible). */
    size_t covered_to = sizeof(ph_obj);
    for (;;) {
        size_t next = SIZE_MAX, end = 0;
        for (size_t i = 0; i < m->ncolumns; i++) {
            const ph_column *c = &m->columns[i];
            if (c->offset >= covered_to && c->offset < next) {
                next = c->offset;
                end = c->offset + c->size;
            }
        }
        for (size_t i = 0; i < m->nrelationships; i++) {
            const ph_relationship *r = &m->relationships[i];
            size_t sz = (r->kind == PH_REL_ONE_TO_MANY || r->kind == PH_REL_MANY_TO_MANY)
                            ? sizeof(ph_list)
                            : sizeof(void *);
            if (r->offset >= covered_to && r->offset < next) {
                next = r->offset;
                end = r->offset + sz;
            }
        }
        if (next == SIZE_MAX)
            break;
        if (next - covered_to >= sizeof(void *)) {
            char where[64];
            snprintf(where, sizeof(where), "%zu undescribed bytes at offset %zu", next - covered_to,
                     covered_to);
            return check_fail(err, errlen, "%s: %s", m->name, where);
        }
        covered_to = end;
    }
    if (m->size - covered_to >= sizeof(void *)) {
        char where[64];
        snprintf(where, sizeof(where), "%zu undescribed bytes at offset %zu", m->size - covered_to,
                 covered_to);
        return check_fail(err, errlen, "%s: %s", m->name, where);
    }
    return 0;
}
