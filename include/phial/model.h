/*
 * Model metadata: a C struct plus a descriptor table, declared once and
 * checked by the compiler.  The ORM (DDL, session, query), the templates and
 * the forms all read the same descriptor.
 *
 *     typedef struct User {
 *         ph_obj      _ph;         // session state: first member, not a column
 *         int64_t     id;
 *         const char *username;    // strings of loaded rows are read-only
 *     } User;
 *
 *     static const ph_column User_columns[] = {
 *         PH_INTEGER(User, id, PH_PK),
 *         PH_STRING(User, username, 100, PH_NOT_NULL | PH_UNIQUE),
 *     };
 *     const ph_model User_model = PH_MODEL(User, "user", User_columns);
 *
 * C types by column type (a mismatch is a compile error):
 *
 *   column                 NOT NULL / primary key     nullable (or NOT NULL + default)
 *   Integer, BigInteger    int64_t                    ph_int64_opt
 *   Float                  double                     ph_double_opt
 *   Boolean                bool                       ph_bool_opt
 *   Numeric(p, s)          ph_decimal                 ph_decimal_opt
 *   DateTime               ph_datetime                ph_datetime_opt
 *   Date                   ph_date                    ph_date_opt
 *   String(n), Text, Enum, JSON   const char *  (NULL is unset / SQL NULL)
 *   LargeBinary            ph_bytes (ptr NULL is unset / SQL NULL)
 *
 * A zeroed field is unset (see "NULL and defaults" below the column
 * struct): an *_opt type is {v, set}, {0} being unset.
 *
 * Every column macro takes the flags (0 for none) and then options as
 * designated initializers:
 *   PH_INTEGER(PetCategory, handler_id, PH_NOT_NULL,
 *              .foreign_key = "pethandler.handler_id")
 *   PH_INTEGER(World, randomnumber, PH_NOT_NULL, .default_value = "0")
 *   PH_STRING(Todo, title, 200, PH_NOT_NULL, .server_default = "untitled")
 *
 * Relationships (db.relationship) are fields too -- a `Target *` for
 * many-to-one and one-to-one, a ph_list for one-to-many and many-to-many --
 * described in a second array (checked by the compiler like the columns):
 *
 *     // models.h, after the structs: declares PetHandler_model and the
 *     // accessor the relationship entries point to
 *     PH_MODEL_EXTERN(PetHandler);
 *     PH_MODEL_EXTERN(PetCategory);
 *
 *     static const ph_relationship PetHandler_rels[] = {
 *         PH_ONE_TO_MANY(PetHandler, pet_category, PetCategory, "handler_id",
 *                        .backref = "pet_handler"),   // the fk, then options
 *     };
 *     const ph_model PetHandler_model = PH_MODEL_RELS(PetHandler, "pethandler",
 *                                                     PetHandler_columns, PetHandler_rels);
 *     ...
 *         PH_MANY_TO_ONE(PetCategory, pet_handler, PetHandler, "handler_id",
 *                        .backref = "pet_category"),
 *
 * Both directions are declared; ph_model_check verifies they agree.  A
 * many-to-many names its association table, declared as a model whose two
 * Integer foreign-key columns are both PH_PK (create_all makes it).
 */
#ifndef PHIAL_MODEL_H
#define PHIAL_MODEL_H

#include "phial/core.h"

#include <stddef.h>
#include "phial/version.h"

PH_API_BEGIN

/* ---- value types for columns ----------------------------------------------
 * A zeroed field means unset.  The *_opt types are a value and `set`:
 * {0} is unset (SQL NULL, or the column's default on insert); write
 * `(ph_int64_opt){.v = 5, .set = true}` to give a value.  A string or
 * ph_bytes is unset when its pointer is NULL ("" is a value). */

typedef struct ph_int64_opt {
    int64_t v;
    bool set;
} ph_int64_opt;
typedef struct ph_double_opt {
    double v;
    bool set;
} ph_double_opt;
typedef struct ph_bool_opt {
    bool v;
    bool set;
} ph_bool_opt;
/* Naive UTC timestamp in microseconds since 1970-01-01 00:00:00, stored as
 * SQLAlchemy does: 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite, TIMESTAMP on
 * PostgreSQL. */
typedef struct ph_datetime {
    int64_t usec;
} ph_datetime;
typedef struct ph_datetime_opt {
    ph_datetime v;
    bool set;
} ph_datetime_opt;
/* Days since 1970-01-01; 'YYYY-MM-DD' on SQLite, DATE on PostgreSQL. */
typedef struct ph_date {
    int32_t days;
} ph_date;
typedef struct ph_date_opt {
    ph_date v;
    bool set;
} ph_date_opt;
/* Numeric(precision, scale) as a scaled integer: the value is
 * units / 10^scale (Numeric(10, 2): 12.34 is {1234}), so no binary
 * rounding anywhere; at most 18 digits. */
typedef struct ph_decimal {
    int64_t units;
} ph_decimal;
typedef struct ph_decimal_opt {
    ph_decimal v;
    bool set;
} ph_decimal_opt;
typedef struct ph_bytes {
    const uint8_t *ptr; /* NULL: unset (SQL NULL); read-only in loaded rows */
    size_t len;
} ph_bytes;

/* ---- object header ------------------------------------------------------------ */

struct ph_session;
struct ph_model;

/* The first member of every model struct, named _ph.  Owned by the session:
 * zero it (a zeroed struct is a new, transient object) and do not touch it. */
typedef struct ph_obj {
    const struct ph_model *model;
    struct ph_session *session;
    void *state; /* session-private: snapshot, flags */
} ph_obj;

/* ---- columns --------------------------------------------------------------------- */

typedef enum ph_coltype {
    PH_T_INTEGER,
    PH_T_BIGINTEGER,
    PH_T_FLOAT,
    PH_T_BOOLEAN,
    PH_T_STRING, /* String(n): length is n */
    PH_T_TEXT,
    PH_T_DATETIME,
    PH_T_DATE,
    PH_T_BINARY,
    PH_T_NUMERIC, /* Numeric(p, s): length is p, scale is s */
    PH_T_ENUM,    /* Enum: one of enum_values; VARCHAR(longest) / a PostgreSQL ENUM type */
    PH_T_JSON     /* JSON: the document as text, validated before any SQL */
} ph_coltype;

enum ph_column_flags {
    PH_PK = 1u << 0,       /* primary key (Integer: autoincrement) */
    PH_NOT_NULL = 1u << 1, /* nullable=False */
    PH_UNIQUE = 1u << 2,
    PH_INDEX = 1u << 3,
    PH_TIMEZONE = 1u << 4, /* DateTime(timezone=True): TIMESTAMP WITH TIME ZONE */
};

typedef enum ph_ondelete {
    PH_ONDELETE_NONE, /* no clause: the database's NO ACTION */
    PH_ONDELETE_CASCADE,
    PH_ONDELETE_SET_NULL,
    PH_ONDELETE_RESTRICT
} ph_ondelete;

/* A column's descriptor; read by the DDL, the session, queries, forms,
 * templates and migrations.  Fields after `ondelete` are options set by
 * designated initializers after a column macro's flags. */
typedef struct ph_column {
    const char *name; /* column and field name */
    ph_coltype type;
    unsigned flags;          /* PH_PK | PH_NOT_NULL | ... */
    size_t offset;           /* of the field in the struct */
    size_t size;             /* of the field */
    int length;              /* String(n): n characters; Numeric: precision; 0 otherwise */
    int scale;               /* Numeric: digits after the point; 0 otherwise */
    bool nullable_ctype;     /* field can be unset: a *_opt type or a pointer */
    const char *foreign_key; /* "table.column", or NULL */
    ph_ondelete ondelete;
    /* default=: text parsed per type, given to an unset field on insert
       (before validation, so the struct holds it afterwards); "now" for
       DateTime is the time of the flush. */
    const char *default_value;
    /* server_default=: a literal the database applies (DDL `DEFAULT '...'`);
       an unset field is left out of the INSERT and read back from it. */
    const char *server_default;
    /* Enum: the allowed strings, NULL-terminated; enum_name names the
       PostgreSQL type (CREATE TYPE enum_name AS ENUM (...)). */
    const char *const *enum_values;
    const char *enum_name;
} ph_column;

/* NULL and defaults.  A zeroed field is unset.  On insert an unset field
 * gets its column's default (default_value, or the database's
 * server_default), else SQL NULL where the column allows it; a NOT NULL
 * column with neither is refused before any SQL (PH_ECONSTRAINT, the
 * message and ph_session_errinfo name the column).  A scalar C type
 * (int64_t, bool, double...) cannot be unset, so a NOT NULL column with a
 * default whose value is not zero must use the *_opt type: ph_model_check
 * refuses the mismatch at start-up.  To store NULL in a nullable column
 * that has a default, update the row after its insert. */

/* ---- relationships (read by the ORM's relationship loader) ---------------------- */

typedef enum ph_relkind {
    PH_REL_MANY_TO_ONE, /* pet->pet_handler: a pointer, FK on this side */
    PH_REL_ONE_TO_MANY, /* handler->pet_category: a ph_list, FK on the far side */
    PH_REL_ONE_TO_ONE,  /* a pointer; FK (unique) on the far side */
    PH_REL_MANY_TO_MANY /* a ph_list through an association table */
} ph_relkind;

typedef enum ph_lazy {
    PH_LAZY_SELECT,   /* loaded on first access (lazy=True) */
    PH_LAZY_SELECTIN, /* eager: one IN query for all parents of a result */
    PH_LAZY_JOINED,   /* eager: LEFT OUTER JOIN in the parent's query */
    PH_LAZY_RAISE     /* a lazy load is refused with PH_EMISUSE */
} ph_lazy;

enum ph_cascade_flags {
    PH_CASCADE_SAVE_UPDATE = 1u << 0, /* the default */
    PH_CASCADE_DELETE = 1u << 1,
    PH_CASCADE_DELETE_ORPHAN = 1u << 2,
};

/* Cascades (ph_relationship.cascade).  save-update is always on (as in
 * SQLAlchemy's default "save-update, merge"): objects reachable through a
 * relationship of an object in the session are added at flush.  delete:
 * deleting the parent deletes the children (loaded first).  delete-orphan:
 * a child removed from the parent's collection is deleted.  Without delete,
 * deleting a parent sets its children's foreign keys to NULL, or fails with
 * PH_ECONSTRAINT when that column is NOT NULL. */

/* A list of related objects (one-to-many, many-to-many).  Read items[i] with
 * a plain assignment: `PetCategory *p = h->pet_category.items[i];`.  The
 * session owns the storage. */
typedef struct ph_list {
    void **items;
    size_t len;
    size_t cap;
    bool loaded;
} ph_list;

typedef struct ph_relationship {
    const char *name; /* field name: "pet_category" */
    ph_relkind kind;
    size_t offset;                                  /* of the pointer or ph_list field */
    const struct ph_model *(*target)(void);         /* the far model (a function so
                                                       that models may refer to each
                                                       other in any order) */
    const char *local_column;                       /* many-to-one: FK column on this model */
    const char *remote_column;                      /* one-to-many / one-to-one: FK on the target */
    const char *secondary;                          /* many-to-many: association table */
    const char *secondary_local, *secondary_remote; /* its two FK columns */
    const char *backref;                            /* name of the inverse relationship, or NULL */
    ph_lazy lazy;
    unsigned cascade;
} ph_relationship;

/* ---- the model -------------------------------------------------------------------- */

typedef struct ph_model {
    const char *name;  /* C struct name: "User" */
    const char *table; /* "user" */
    size_t size;       /* sizeof the struct */
    const ph_column *columns;
    size_t ncolumns;
    const ph_relationship *relationships;
    size_t nrelationships;
    const struct ph_unique *uniques; /* multi-column unique constraints */
    size_t nuniques;
} ph_model;

/* Column by name, or NULL. */
const ph_column *ph_model_column(const ph_model *m, const char *name);
const ph_column *ph_model_column_n(const ph_model *m, const char *name, size_t n);
/* The primary-key column, or NULL.  A model has exactly one, except an
 * association table (many-to-many), whose primary key is its two foreign
 * keys: this returns the first and ph_model_npk tells 2. */
const ph_column *ph_model_pk(const ph_model *m);
size_t ph_model_npk(const ph_model *m);
/* Relationship by name, or NULL. */
const ph_relationship *ph_model_relationship(const ph_model *m, const char *name);
/* SQL type name as Flask-SQLAlchemy spells it: "INTEGER", "VARCHAR(100)". */
const char *ph_coltype_name(ph_coltype t);
/* Checks a descriptor at registration: one primary key (or an
 * association table: only Integer primary-key columns that are all foreign
 * keys, and no relationships), names unique, fields covered without
 * overlaps, defaults parseable and distinguishable from a value (a NOT
 * NULL scalar field with a non-zero default must be an *_opt type),
 * Numeric precision 1..18, Enum values and PostgreSQL type name given,
 * multi-column uniques naming columns, and its relationships consistent: the
 * foreign-key columns they name exist on the right side and point to the
 * right table, and a backref names an inverse relationship of the target
 * that points back (and names this one as its backref, if it names one).
 * 0 or PH_EINVAL with a message written to err (size errlen). */
int ph_model_check(const ph_model *m, char *err, size_t errlen);

/* Whether the field of column c in obj is SQL NULL. */
bool ph_column_is_null(const ph_column *c, const void *obj);
/* Sets the field of column c in obj from text (integers, decimals,
 * true/false/1/0, 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]', strings and bytes as
 * they are), copying strings into arena a.  NULL text sets SQL NULL (or 0 /
 * false for a NOT NULL scalar).  0, PH_EINVAL (not a number...), PH_ERANGE
 * or PH_ENOMEM. */
int ph_column_parse(const ph_column *c, void *obj, const char *text, size_t len, ph_arena *a);
/* Appends the field's value as text; SQL NULL appends "None" (as Python
 * prints it).  0 or PH_ENOMEM. */
int ph_column_format(const ph_column *c, const void *obj, ph_buf *out);

/* Whether s[0..len) is one of an Enum column's values. */
bool ph_enum_has(const ph_column *c, const char *s, size_t len);
/* Whether s[0..len) is one JSON document (any value; jansson). */
bool ph_json_valid(const char *s, size_t len);

/* Field address inside an object. */
#define PH_FIELD(obj, col) ((void *)((char *)(obj) + (col)->offset))

/* ---- declaration macros --------------------------------------------------------- */

/* An expression equal to 0 that fails the build when cond is false; usable
 * inside an initializer (C11 allows _Static_assert in a member list). */
#define PH__CHECK(cond, msg)                                                                       \
    (0 * sizeof(struct {                                                                           \
         _Static_assert(cond, msg);                                                                \
         char ph_ok_;                                                                              \
     }))
/* Whether field f of T has exactly type Type (no decay, no qualifiers). */
#define PH__HAS_TYPE(T, f, Type) _Generic(&((T *)0)->f, Type * : 1, default : 0)
#define PH__REQUIRED(fl) (((fl) & (PH_PK | PH_NOT_NULL)) != 0)
/* The first of a macro's variable arguments (the flags), whatever follows. */
#define PH__FIRST(a, ...) a

/* Every column macro takes its flags and then its options as its last
 * arguments: `PH_INTEGER(T, id, PH_PK)`, `PH_INTEGER(T, n, 0,
 * .default_value = "1")`.  They become `.flags = flags, options...`, the
 * last initializers of the entry, so that no macro ever gets an empty
 * variable-argument list (clean under -Wpedantic). */
#define PH__COLUMN(T, f, ty, n, ok, msg, nullable, ...)                                            \
    {                                                                                              \
        .name = #f, .type = (ty), .length = (n), .size = sizeof(((T *)0)->f),                      \
        .nullable_ctype = (nullable),                                                              \
        .offset = offsetof(T, f) + PH__CHECK(ok, #T "." #f ": " msg), .flags = __VA_ARGS__         \
    }

/* A scalar: NOT NULL / primary key takes the plain type or the *_opt type
 * (an *_opt NOT NULL field left unset gets its default or is refused);
 * nullable takes the *_opt type. */
#define PH__SCALAR(T, f, ty, Req, Opt, msg, ...)                                                   \
    PH__COLUMN(T, f, ty, 0,                                                                        \
               PH__HAS_TYPE(T, f, Opt) ||                                                          \
                   (PH__REQUIRED(PH__FIRST(__VA_ARGS__, 0)) && PH__HAS_TYPE(T, f, Req)),           \
               msg, PH__HAS_TYPE(T, f, Opt), __VA_ARGS__)

#define PH_INTEGER(T, f, ...)                                                                      \
    PH__SCALAR(T, f, PH_T_INTEGER, int64_t, ph_int64_opt,                                          \
               "C type must be int64_t (NOT NULL/PK) or ph_int64_opt", __VA_ARGS__)
#define PH_BIGINTEGER(T, f, ...)                                                                   \
    PH__SCALAR(T, f, PH_T_BIGINTEGER, int64_t, ph_int64_opt,                                       \
               "C type must be int64_t (NOT NULL/PK) or ph_int64_opt", __VA_ARGS__)
#define PH_FLOAT(T, f, ...)                                                                        \
    PH__SCALAR(T, f, PH_T_FLOAT, double, ph_double_opt,                                            \
               "C type must be double (NOT NULL) or ph_double_opt", __VA_ARGS__)
#define PH_BOOLEAN(T, f, ...)                                                                      \
    PH__SCALAR(T, f, PH_T_BOOLEAN, bool, ph_bool_opt,                                              \
               "C type must be bool (NOT NULL) or ph_bool_opt", __VA_ARGS__)
#define PH_DATETIME(T, f, ...)                                                                     \
    PH__SCALAR(T, f, PH_T_DATETIME, ph_datetime, ph_datetime_opt,                                  \
               "C type must be ph_datetime (NOT NULL) or ph_datetime_opt", __VA_ARGS__)
#define PH_DATE(T, f, ...)                                                                         \
    PH__SCALAR(T, f, PH_T_DATE, ph_date, ph_date_opt,                                              \
               "C type must be ph_date (NOT NULL) or ph_date_opt", __VA_ARGS__)
/* Numeric(precision, scale): 1 <= precision <= 18, 0 <= scale <= precision. */
#define PH_NUMERIC(T, f, prec, sc, ...)                                                            \
    {                                                                                              \
        .name = #f, .type = PH_T_NUMERIC, .length = (prec), .scale = (sc),                         \
        .size = sizeof(((T *)0)->f), .nullable_ctype = PH__HAS_TYPE(T, f, ph_decimal_opt),         \
        .offset = offsetof(T, f) +                                                                 \
                  PH__CHECK(PH__HAS_TYPE(T, f, ph_decimal_opt) ||                                  \
                                (PH__REQUIRED(PH__FIRST(__VA_ARGS__, 0)) &&                        \
                                 PH__HAS_TYPE(T, f, ph_decimal)),                                  \
                            #T "." #f ": C type must be ph_decimal (NOT NULL) or ph_decimal_opt"), \
        .flags = __VA_ARGS__                                                                       \
    }
/* Strings of loaded rows are read-only: the field is `const char *`. */
#define PH_STRING(T, f, n, ...)                                                                    \
    PH__COLUMN(T, f, PH_T_STRING, n, PH__HAS_TYPE(T, f, const char *),                             \
               "C type must be const char *", 1, __VA_ARGS__)
#define PH_TEXT(T, f, ...)                                                                         \
    PH__COLUMN(T, f, PH_T_TEXT, 0, PH__HAS_TYPE(T, f, const char *),                               \
               "C type must be const char *", 1, __VA_ARGS__)
/* JSON: the document as UTF-8 text ("{\"a\": 1}"), checked with jansson
 * before any SQL; JSON on both databases, as SQLAlchemy's JSON type. */
#define PH_JSON(T, f, ...)                                                                         \
    PH__COLUMN(T, f, PH_T_JSON, 0, PH__HAS_TYPE(T, f, const char *),                               \
               "C type must be const char *", 1, __VA_ARGS__)
/* Enum(*values, name=pgname): a `const char *` that must be one of the
 * NULL-terminated array values (checked before any SQL).
 *   static const char *const todo_states[] = {"todo", "doing", "done", NULL};
 *   PH_ENUM(Todo, state, todo_states, "todo_state", PH_NOT_NULL,
 *           .default_value = "todo") */
#define PH_ENUM(T, f, values, pgname, ...)                                                         \
    {                                                                                              \
        .name = #f, .type = PH_T_ENUM, .size = sizeof(((T *)0)->f), .nullable_ctype = 1,           \
        .enum_values = (values), .enum_name = (pgname),                                            \
        .offset = offsetof(T, f) + PH__CHECK(PH__HAS_TYPE(T, f, const char *),                     \
                                             #T "." #f ": C type must be const char *"),           \
        .flags = __VA_ARGS__                                                                       \
    }
#define PH_BINARY(T, f, ...)                                                                       \
    PH__COLUMN(T, f, PH_T_BINARY, 0, PH__HAS_TYPE(T, f, ph_bytes), "C type must be ph_bytes", 1,   \
               __VA_ARGS__)

/* A multi-column unique constraint (db.UniqueConstraint("a", "b")): up to
 * 8 column names, the unused ones NULL.
 *   static const ph_unique Item_uniques[] = {{{"owner_id", "name"}}};
 *   PH_MODEL(Item, "item", Item_columns, PH_UNIQUES(Item_uniques)) */
typedef struct ph_unique {
    const char *columns[8];
} ph_unique;
#define PH_UNIQUES(arr) .uniques = (arr), .nuniques = PH_COUNTOF(arr)

/* A model: struct T, table name, column array, then optionally
 * PH_UNIQUES(array) (PH_MODEL_RELS adds a relationship array first).
 * Checks that _ph is T's first member. */
#define PH__MODEL_HEAD(T, tbl)                                                                     \
    .name = #T, .table = (tbl),                                                                    \
    .size = sizeof(T) + PH__CHECK(offsetof(T, _ph) == 0 && PH__HAS_TYPE(T, _ph, ph_obj),           \
                                  #T ": first member must be `ph_obj _ph;`")
#define PH_MODEL(T, tbl, ...)                                                                      \
    {                                                                                              \
        PH__MODEL_HEAD(T, tbl), .ncolumns = PH_COUNTOF(PH__FIRST(__VA_ARGS__, 0)),                 \
                                .columns = __VA_ARGS__                                             \
    }
#define PH_MODEL_RELS(T, tbl, cols, ...)                                                           \
    {                                                                                              \
        PH__MODEL_HEAD(T, tbl), .columns = (cols), .ncolumns = PH_COUNTOF(cols),                   \
                                .nrelationships = PH_COUNTOF(PH__FIRST(__VA_ARGS__, 0)),           \
                                .relationships = __VA_ARGS__                                       \
    }

/* The association table of a many-to-many relationship (Flask-SQLAlchemy's
 * db.Table with two foreign keys), as a model with no struct of its own:
 *
 *     const ph_model TodoTag_model = PH_ASSOCIATION("todo_tag",
 *         "todo_id", "todo.id", "tag_id", "tag.id");
 *
 * Two Integer columns, both part of the primary key, each a foreign key;
 * its rows are written through the relationships that name the table. */
typedef struct ph_association_row {
    ph_obj _ph;
    int64_t left;
    int64_t right;
} ph_association_row;
#define PH_ASSOCIATION(tbl, left_col, left_fk, right_col, right_fk)                                \
    {                                                                                              \
        .name = (tbl), .table = (tbl), .size = sizeof(ph_association_row),                         \
        .columns =                                                                                 \
            (const ph_column[]){                                                                   \
                {.name = (left_col), .type = PH_T_INTEGER, .flags = PH_PK,                         \
                 .offset = offsetof(ph_association_row, left), .size = sizeof(int64_t),            \
                 .foreign_key = (left_fk)},                                                        \
                {.name = (right_col), .type = PH_T_INTEGER, .flags = PH_PK,                        \
                 .offset = offsetof(ph_association_row, right), .size = sizeof(int64_t),           \
                 .foreign_key = (right_fk)},                                                       \
            },                                                                                     \
        .ncolumns = 2                                                                              \
    }

/* ---- relationship declarations ------------------------------------------------ */

/* Declares model T for the relationship macros, in the header after the
 * struct: `PH_MODEL_EXTERN(PetCategory);` gives `extern const ph_model
 * PetCategory_model;` and the accessor PetCategory_model_ref() that a
 * relationship's .target points to, so models refer to each other in any
 * order. */
#define PH_MODEL_EXTERN(T)                                                                         \
    extern const ph_model T##_model;                                                               \
    static inline const ph_model *T##_model_ref(void)                                              \
    {                                                                                              \
        return &T##_model;                                                                         \
    }                                                                                              \
    _Static_assert(1, #T)

/* The foreign-key argument and the options become its last initializers
 * (`.local_column = "fk", .backref = ...`): never an empty variable list. */
#define PH__REL(T, f, K, Target, ok, msg, ...)                                                     \
    {                                                                                              \
        .name = #f, .kind = (K), .target = Target##_model_ref,                                     \
        .offset = offsetof(T, f) + PH__CHECK(ok, #T "." #f ": " msg), __VA_ARGS__                  \
    }

/* Relationship entries of a model's ph_relationship array.  Options after
 * the fixed arguments: .backref = "name of the inverse relationship",
 * .lazy = PH_LAZY_SELECT (default) / SELECTIN / JOINED / RAISE,
 * .cascade = PH_CASCADE_DELETE | PH_CASCADE_DELETE_ORPHAN.
 *
 * Many-to-one: field `Target *f`, the foreign key column fk is on T.
 *   PH_MANY_TO_ONE(PetCategory, pet_handler, PetHandler, "handler_id",
 *                  .backref = "pet_category") */
#define PH_MANY_TO_ONE(T, f, Target, ...)                                                          \
    PH__REL(T, f, PH_REL_MANY_TO_ONE, Target, PH__HAS_TYPE(T, f, Target *),                        \
            "C type must be " #Target " * (many-to-one)", .local_column = __VA_ARGS__)
/* One-to-many: field `ph_list f` of Target *, foreign key fk on Target.
 *   PH_ONE_TO_MANY(PetHandler, pet_category, PetCategory, "handler_id",
 *                  .backref = "pet_handler") */
#define PH_ONE_TO_MANY(T, f, Target, ...)                                                          \
    PH__REL(T, f, PH_REL_ONE_TO_MANY, Target, PH__HAS_TYPE(T, f, ph_list),                         \
            "C type must be ph_list (one-to-many)", .remote_column = __VA_ARGS__)
/* One-to-one (uselist=False): field `Target *f`, unique foreign key fk on
 * Target; the inverse is a PH_MANY_TO_ONE on Target. */
#define PH_ONE_TO_ONE(T, f, Target, ...)                                                           \
    PH__REL(T, f, PH_REL_ONE_TO_ONE, Target, PH__HAS_TYPE(T, f, Target *),                         \
            "C type must be " #Target " * (one-to-one)", .remote_column = __VA_ARGS__)
/* Many-to-many: field `ph_list f` of Target *, through association table
 * tbl whose column local refers to T and remote to Target.
 *   PH_MANY_TO_MANY(PetCategory, tags, Tag, "pet_tag", "pet_id", "tag_id",
 *                   .backref = "pets") */
#define PH_MANY_TO_MANY(T, f, Target, tbl, local, ...)                                             \
    PH__REL(T, f, PH_REL_MANY_TO_MANY, Target, PH__HAS_TYPE(T, f, ph_list),                        \
            "C type must be ph_list (many-to-many)", .secondary = (tbl),                           \
            .secondary_local = (local), .secondary_remote = __VA_ARGS__)

PH_API_END

#endif
