/*
 * Shared by the ORM tests: test models covering every column type and
 * option, and a fixture that opens a fresh database on SQLite (a temp
 * file or :memory:) or on the PostgreSQL of PHIAL_TEST_PG_URL.
 */
#ifndef PHIAL_TESTS_ORM_FIXTURE_H
#define PHIAL_TESTS_ORM_FIXTURE_H

#include "phial/db.h"
#include "phial/orm.h"

typedef struct Sample {
    ph_obj _ph;
    int64_t id;
    const char *name;              /* String(10) NOT NULL UNIQUE */
    const char *note;              /* Text, index */
    bool flag;               /* Boolean NOT NULL */
    ph_double_opt score;     /* Float */
    ph_datetime_opt created; /* DateTime */
    ph_date_opt day;         /* Date */
    ph_bytes data;           /* LargeBinary */
    ph_int64_opt big;        /* BigInteger, default 3 */
    ph_int64_opt order;      /* Integer: a reserved word */
} Sample;

typedef struct Parent {
    ph_obj _ph;
    int64_t id;
    const char *name; /* String(50) NOT NULL */
} Parent;

typedef struct Child {
    ph_obj _ph;
    int64_t id;
    int64_t parent_id; /* FK parent.id ON DELETE CASCADE, NOT NULL */
    const char *code;        /* String(20), unique index */
} Child;

/* Every column type beyond Sample's, with client and server defaults, a
 * timezone-aware DateTime, an Enum (a PostgreSQL type), JSON, Numeric and
 * a multi-column unique.  Not in fx_models: tests/orm/test_types.c makes
 * its table. */
typedef struct Kinds {
    ph_obj _ph;
    int64_t id;
    ph_decimal price;        /* Numeric(10, 2) NOT NULL, server default '0' */
    ph_decimal_opt tax;      /* Numeric(5, 4), default 0.0825 */
    const char *state;       /* Enum todo/doing/done (todo_state) NOT NULL, default todo */
    const char *meta;        /* JSON */
    ph_datetime_opt at;      /* DateTime(timezone=True), index */
    ph_datetime_opt created; /* DateTime NOT NULL, default now */
    int64_t owner;           /* Integer NOT NULL, FK parent.id */
    const char *label;       /* String(20) NOT NULL, server default 'x''y' */
    bool done;               /* Boolean NOT NULL, default false (zero: a plain bool) */
    ph_int64_opt rank;       /* Integer NOT NULL, server default '7' */
    ph_int64_opt big;        /* BigInteger, default 5 */
    const char *body;        /* Text, no default: NULL kept */
} Kinds;

extern const ph_model Sample_model, Parent_model, Child_model, Kinds_model;
/* Children before parents on purpose: create_all must sort them. */
extern const ph_model *const fx_models[];
extern const size_t fx_nmodels;

typedef struct fx {
    ph_db *db;
    ph_db_conn *c;
    ph_arena *a;
    ph_session *s;
    ph_dialect d;
    char path[512];
    char url[600];
} fx;

/* The PostgreSQL test URL or NULL. */
const char *fx_pg_url(void);
/* A temp path under $PHIAL_BUILD or /tmp, unique per call; out >= 512. */
void fx_temp_path(char *out, size_t len, const char *name);
/* Opens a fresh database with the fx models created (tables dropped
 * first).  0; 1 when PostgreSQL is not configured; -1 on failure. */
int fx_open(fx *f, ph_dialect d, bool memory);
/* A new session on a fresh arena (the old one freed). */
void fx_new_session(fx *f);
void fx_close(fx *f);
/* Compiles C source with $CC (default cc) -std=c11 -Wall -Wextra -Wpedantic -Werror
 * against include/; returns the compiler's exit status, its output in *out
 * (heap, caller frees; may be NULL), or -1 when the file cannot be written.
 * name tells the temp files of concurrent test programs apart. */
int fx_compile_source(const char *name, const char *source, char **out);
/* Rows of a table counted through a plain statement. */
int64_t fx_count(fx *f, const char *table);

#endif
