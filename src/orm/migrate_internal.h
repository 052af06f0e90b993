/*
 * What the migration files share: a schema read from a live database or
 * derived from the models (tables, columns, indexes, unique constraints,
 * foreign keys, in one shape so both sides compare field by field), and
 * the comparison's result.  Not a public header.
 */
#ifndef PHIAL_ORM_MIGRATE_INTERNAL_H
#define PHIAL_ORM_MIGRATE_INTERNAL_H

#include "phial/migrate.h"

typedef struct ph__scol {
    const char *name;
    const char *decl; /* type as declared: "VARCHAR(100)", "character varying(100)" */
    const char *type; /* canonical form compared: see canon_type */
    bool notnull;
    const char *dflt; /* server default as SQL text, or NULL */
    const ph_column *col; /* model side: the descriptor's column */
} ph__scol;

typedef struct ph__sidx {
    const char *name; /* NULL for a model UNIQUE constraint (the database names it) */
    const char *cols; /* "a" or "a,b" */
    bool unique;
    bool constraint; /* a UNIQUE constraint (PG) / in the table definition (SQLite) */
    const char *sql;  /* live: CREATE INDEX text (NULL for SQLite constraint indexes) */
    bool matched;
} ph__sidx;

typedef struct ph__sfk {
    const char *name; /* live constraint name (PG), or NULL */
    const char *cols, *ref_table, *ref_cols;
    const char *ondelete; /* "", "CASCADE", "SET NULL", "RESTRICT", "SET DEFAULT" */
    bool matched;
} ph__sfk;

typedef struct ph__stable {
    const char *name;
    const char *sql; /* SQLite: CREATE TABLE text; model: ph_orm_ddl's CREATE TABLE */
    const char *index_sql; /* model: ph_orm_ddl's CREATE INDEX statements ("" if none) */
    ph__scol *cols;
    size_t ncols;
    const char *pk; /* "a" or "a,b" */
    ph__sidx *idx;
    size_t nidx;
    ph__sfk *fks;
    size_t nfks;
    const char **triggers; /* SQLite: CREATE TRIGGER text */
    size_t ntriggers;
    const ph_model *model; /* model side */
} ph__stable;

typedef struct ph__schema {
    ph__stable *tables;
    size_t n;
} ph__schema;

struct ph_schema_diff {
    ph_arena *arena;
    ph_dialect dialect;
    ph__schema live, want;
    ph_diff *items;
    size_t n, cap;
};

/* Reads c's live schema into s (memory from a).  0 or a PH_E* code. */
int ph__schema_read(ph_db_conn *c, ph_arena *a, ph__schema *s);
/* The schema the models ask for on dialect d.  0 or a PH_E* code. */
int ph__schema_of_models(ph_dialect d, const ph_model *const *models, size_t n, ph_arena *a,
                         ph__schema *s);
ph__stable *ph__schema_table(const ph__schema *s, const char *name);
ph__scol *ph__stable_col(const ph__stable *t, const char *name);
/* A model default as an SQL literal of the column's type on d; NULL if none. */
const char *ph__default_literal(ph_dialect d, const ph_column *c, ph_arena *a);

#endif
