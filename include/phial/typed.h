/*
 * Typed entry points of the ORM: macros over the void * calls of
 * phial/orm.h that name the model's struct, so that the compiler checks
 * what C can check -- the object's type against the model, the address of
 * a result, the field names of columns and relationships, the values of a
 * filter -- and a mistake fails the build with a message naming it.
 *
 *     Todo *t;
 *     if (PH_GET(db, Todo, 1, &t) == 0) ...            // t is a Todo *
 *     PH_ADD(db, Todo, t);                              // t must be a Todo *
 *     ph_query *q = PH_QUERY(db, Todo);
 *     PH_FILTER_BY(q, Todo, done, false);               // field checked: offsetof
 *     PH_FILTER(q, "id > ? AND id < ?", 1, 9);          // values converted, counted
 *     PH_ORDER_BY(q, Todo, created, PH_DESC);
 *     Todo **rows; size_t n;
 *     if (PH_ALL(q, Todo, &rows, &n) == 0) ...          // &rows must be a Todo ***
 *
 * The model of struct T is the object T_model (PH_MODEL names it so).
 * Filter values may be any integer type, double, bool, a string (char * or
 * const char *) or a ph_val (PH_NULL, PH_BLOB(...)); anything else fails the
 * build naming the rule.  At most 16 values per PH_FILTER; without values
 * call ph_query_filter(q, sql, 0).  The generic void * calls stay for code
 * that works on any model (the CLI, forms); applications use these.
 *
 * What C cannot check at build time -- column names inside a PH_FILTER
 * fragment, a relationship's target type -- is checked when the query is
 * built and reported by its terminal call; the model descriptors
 * themselves are checked at start-up by ph_app_models (ph_model_check).
 */
#ifndef PHIAL_TYPED_H
#define PHIAL_TYPED_H

#include "phial/orm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phial/version.h"

PH_API_BEGIN

/* p, if it has exactly type Type; otherwise a build error saying msg. */
#define PH__EXPECT(p, Type, msg) ((p) + PH__CHECK(_Generic((p), Type : 1, default : 0), msg))
/* The name of field f of T as a string, if T has such a field. */
#define PH__FIELD_NAME(T, f) (#f + 0 * offsetof(T, f))

/* ---- session ------------------------------------------------------------------------ */

/* ph_session_get: *out becomes the T with primary key id. */
#define PH_GET(s, T, id, out)                                                                      \
    ph_session_get((s), &T##_model, (id),                                                          \
                   PH__EXPECT(out, T **, "PH_GET(s, " #T ", id, out): out must be a " #T " ** "    \
                                         "(the address of a " #T " *)"))
/* ph_session_add of a new T. */
#define PH_ADD(s, T, obj)                                                                          \
    ph_session_add((s), &T##_model,                                                                \
                   PH__EXPECT(obj, T *, "PH_ADD(s, " #T ", obj): obj must be a " #T " *"))
/* ph_session_delete of a T. */
#define PH_DELETE(s, T, obj)                                                                       \
    ph_session_delete((s), PH__EXPECT(obj, T *, "PH_DELETE(s, " #T ", obj): obj must be a " #T " *"))
/* ph_session_load of relationship field rel of a T (the field is checked). */
#define PH_LOAD(s, T, obj, rel)                                                                    \
    ph_session_load((s), PH__EXPECT(obj, T *, "PH_LOAD(s, " #T ", obj, rel): obj must be a " #T   \
                                              " *"),                                               \
                    PH__FIELD_NAME(T, rel))
/* ph_list_append / ph_list_remove on list field rel of a T. */
#define PH_APPEND(s, T, obj, rel, child)                                                           \
    ph_list_append((s),                                                                            \
                   PH__EXPECT(obj, T *, "PH_APPEND(s, " #T ", obj, rel, child): obj must be a " #T \
                                        " *"),                                                     \
                   PH__FIELD_NAME(T, rel), (child))
#define PH_REMOVE(s, T, obj, rel, child)                                                           \
    ph_list_remove((s),                                                                            \
                   PH__EXPECT(obj, T *, "PH_REMOVE(s, " #T ", obj, rel, child): obj must be a " #T \
                                        " *"),                                                     \
                   PH__FIELD_NAME(T, rel), (child))

/* ---- query ------------------------------------------------------------------------------ */

/* A query on T's model (ph_query_new). */
#define PH_QUERY(s, T) ph_query_new((s), &T##_model)
/* WHERE field = value; field is checked against T, value converted as a
 * filter value. */
#define PH_FILTER_BY(q, T, field, value)                                                           \
    ph_query_filter_by((q), PH__FIELD_NAME(T, field), PH_V(value))
#define PH_ORDER_BY(q, T, field, order) ph_query_order_by((q), PH__FIELD_NAME(T, field), (order))
#define PH_OPTIONS(q, T, rel, lazy) ph_query_options((q), PH__FIELD_NAME(T, rel), (lazy))
/* WHERE (sql) with one value per `?`, counted by the compiler. */
#define PH_FILTER(q, sql, ...)                                                                     \
    ph_query_filter_v((q), (sql), (const ph_val[]){PH__MAP(PH_V, __VA_ARGS__)},                     \
                      PH__NARGS(__VA_ARGS__))
/* Terminal calls: the result's type is checked against T at build time,
 * the query's model against T's at run time (PH_EMISUSE). */
#define PH_ALL(q, T, rows, n)                                                                      \
    ph__all((q), &T##_model,                                                                       \
            PH__EXPECT(rows, T ***, "PH_ALL(q, " #T ", rows, n): rows must be a " #T " *** "       \
                                    "(the address of a " #T " **)"),                               \
            (n))
#define PH_FIRST(q, T, out)                                                                        \
    ph__first((q), &T##_model,                                                                     \
              PH__EXPECT(out, T **, "PH_FIRST(q, " #T ", out): out must be a " #T " **"), false)
#define PH_ONE(q, T, out)                                                                          \
    ph__first((q), &T##_model,                                                                     \
              PH__EXPECT(out, T **, "PH_ONE(q, " #T ", out): out must be a " #T " **"), true)

PH_NODISCARD static inline int ph__all(ph_query *q, const ph_model *m, void *rows, size_t *n)
{
    int rc = ph_query_expect(q, m);
    return rc < 0 ? rc : ph_query_all(q, rows, n);
}

PH_NODISCARD static inline int ph__first(ph_query *q, const ph_model *m, void *out, bool one)
{
    int rc = ph_query_expect(q, m);
    if (rc < 0)
        return rc;
    return one ? ph_query_one(q, out) : ph_query_first(q, out);
}

/* User.query.filter_by(field=value).first(): 0 with *out set, or
 * PH_ENOTFOUND with *out NULL. */
#define PH_FIND_BY(s, T, field, value, out)                                                        \
    ph__first(ph_query_filter_by(PH_QUERY(s, T), PH__FIELD_NAME(T, field), PH_V(value)),          \
              &T##_model,                                                                          \
              PH__EXPECT(out, T **, "PH_FIND_BY(s, " #T ", field, value, out): out must be a " #T \
                                    " **"),                                                        \
              false)

/* ---- filter values ------------------------------------------------------------------------ */

/* The type named in the build error for a value that cannot be a filter
 * value. */
struct ph_filter_value_must_be_an_integer_double_bool_string_or_ph_val {
    char never;
};

static inline ph_val ph__v_i64(long long x)
{
    return PH_INT(x);
}
static inline ph_val ph__v_u64(unsigned long long x)
{
    return PH_INT((int64_t)x);
}
static inline ph_val ph__v_double(double x)
{
    return PH_DOUBLE(x);
}
static inline ph_val ph__v_bool(bool x)
{
    return PH_BOOL(x);
}
static inline ph_val ph__v_str(const char *x)
{
    return ph_val_str(x);
}
static inline ph_val ph__v_val(ph_val x)
{
    return x;
}
ph_val ph__v_bad(struct ph_filter_value_must_be_an_integer_double_bool_string_or_ph_val x);

/* x as a ph_val, chosen by its C type. */
#define PH_V(x)                                                                                    \
    _Generic((x),                                                                                  \
        signed char: ph__v_i64,                                                                    \
        short: ph__v_i64,                                                                          \
        int: ph__v_i64,                                                                            \
        long: ph__v_i64,                                                                           \
        long long: ph__v_i64,                                                                      \
        unsigned char: ph__v_u64,                                                                  \
        unsigned short: ph__v_u64,                                                                 \
        unsigned: ph__v_u64,                                                                       \
        unsigned long: ph__v_u64,                                                                  \
        unsigned long long: ph__v_u64,                                                             \
        float: ph__v_double,                                                                       \
        double: ph__v_double,                                                                      \
        bool: ph__v_bool,                                                                          \
        char *: ph__v_str,                                                                         \
        const char *: ph__v_str,                                                                   \
        ph_val: ph__v_val,                                                                         \
        default: ph__v_bad)(x)

/* Argument counting and mapping, up to 16 arguments. */
#define PH__NARGS(...)                                                                             \
    PH__NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PH__NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define PH__CAT(a, b) PH__CAT_(a, b)
#define PH__CAT_(a, b) a##b
#define PH__MAP(f, ...) PH__CAT(PH__MAP_, PH__NARGS(__VA_ARGS__))(f, __VA_ARGS__)
#define PH__MAP_1(f, x) f(x)
#define PH__MAP_2(f, x, ...) f(x), PH__MAP_1(f, __VA_ARGS__)
#define PH__MAP_3(f, x, ...) f(x), PH__MAP_2(f, __VA_ARGS__)
#define PH__MAP_4(f, x, ...) f(x), PH__MAP_3(f, __VA_ARGS__)
#define PH__MAP_5(f, x, ...) f(x), PH__MAP_4(f, __VA_ARGS__)
#define PH__MAP_6(f, x, ...) f(x), PH__MAP_5(f, __VA_ARGS__)
#define PH__MAP_7(f, x, ...) f(x), PH__MAP_6(f, __VA_ARGS__)
#define PH__MAP_8(f, x, ...) f(x), PH__MAP_7(f, __VA_ARGS__)
#define PH__MAP_9(f, x, ...) f(x), PH__MAP_8(f, __VA_ARGS__)
#define PH__MAP_10(f, x, ...) f(x), PH__MAP_9(f, __VA_ARGS__)
#define PH__MAP_11(f, x, ...) f(x), PH__MAP_10(f, __VA_ARGS__)
#define PH__MAP_12(f, x, ...) f(x), PH__MAP_11(f, __VA_ARGS__)
#define PH__MAP_13(f, x, ...) f(x), PH__MAP_12(f, __VA_ARGS__)
#define PH__MAP_14(f, x, ...) f(x), PH__MAP_13(f, __VA_ARGS__)
#define PH__MAP_15(f, x, ...) f(x), PH__MAP_14(f, __VA_ARGS__)
#define PH__MAP_16(f, x, ...) f(x), PH__MAP_15(f, __VA_ARGS__)

PH_API_END

#endif
