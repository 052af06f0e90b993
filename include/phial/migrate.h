/*
 * Schema migrations: compare the live schema of a SQLite or PostgreSQL
 * database with the models, write migration files from the differences,
 * and apply or revert them in transactions, with the applied revision kept
 * in the database (table phial_version) and a lock so that two processes
 * upgrading at once apply each migration once.
 *
 * A migration is a plain SQL file, one per revision, with a header and
 * upgrade / downgrade sections per dialect:
 *
 *     -- Phial migration
 *     -- revision: 0002
 *     -- down_revision: 0001
 *     -- message: handler phone numbers
 *
 *     -- upgrade: sqlite
 *     ALTER TABLE pethandler ADD COLUMN phone VARCHAR(30);
 *     -- downgrade: sqlite
 *     ALTER TABLE pethandler DROP COLUMN phone;
 *     -- upgrade: postgresql
 *     ...
 *
 * A section named without a dialect (`-- upgrade`) serves both.  The first
 * migration's down_revision is `base`.  Revisions form one chain; two
 * files following the same revision are refused.
 *
 * Where the files come from is the caller's choice: a list of {name,
 * contents} read from a folder (ph_migrate_read_dir) or compiled into the
 * binary (a static ph_migration_file array made by the embedding tool).
 *
 * Errors are negative PH_E* codes; the message is in ph_db_errmsg(conn) for
 * the calls on a connection and in err for the others.
 */
#ifndef PHIAL_MIGRATE_H
#define PHIAL_MIGRATE_H

#include "phial/core.h"
#include "phial/db.h"
#include "phial/model.h"

#include <stdio.h>
#include "phial/version.h"

PH_API_BEGIN

/* The table that holds the applied revision (one row, or none: base). */
#define PH_MIGRATE_VERSION_TABLE "phial_version"

/* ---- migration files ------------------------------------------------------------ */

/* One migration file: its name (e.g. "0002_phone.sql"; only files ending in
 * .sql are migrations) and its text.  Borrowed: the loader copies what it
 * keeps. */
typedef struct ph_migration_file {
    const char *name;
    const char *contents;
    size_t len;
} ph_migration_file;

/* Reads every *.sql file of folder dir into a heap array (*files, *n),
 * sorted by name; free it with ph_migrate_files_free.  A missing folder is
 * an empty list (0).  0, PH_EIO (message in err), PH_ENOMEM. */
int ph_migrate_read_dir(const char *dir, ph_migration_file **files, size_t *n, char *err,
                        size_t errlen);
void ph_migrate_files_free(ph_migration_file *files, size_t n);

/* One parsed migration.  Strings live with the ph_migrations. */
typedef struct ph_migration {
    const char *revision;      /* "0002" */
    const char *down_revision; /* "0001", or "base" for the first */
    const char *message;       /* "" if none */
    const char *file;          /* the file name */
    /* upgrade / downgrade SQL, indexed by ph_dialect (PH_DB_SQLITE,
     * PH_DB_POSTGRES) and 0 for a section that serves both; NULL when the
     * file has no such section. */
    const char *up[3];
    const char *down[3];
} ph_migration;

/* A parsed, ordered chain of migrations (oldest first).  Read-only once
 * loaded: threads may share it. */
typedef struct ph_migrations ph_migrations;

/* Parses files (any order; names not ending in .sql are ignored) and orders
 * them into one chain from base.  0 and *out (free with
 * ph_migrate_free), or PH_EPARSE (bad header, unknown section, missing
 * revision; the message names the file and line), PH_EINVAL (duplicate
 * revision, two migrations after one revision, a down_revision no file
 * names), PH_ENOMEM. */
int ph_migrate_load(const ph_migration_file *files, size_t n, ph_migrations **out, char *err,
                    size_t errlen);
void ph_migrate_free(ph_migrations *m);
size_t ph_migrate_count(const ph_migrations *m);
/* The i-th migration, oldest first (i < count). */
const ph_migration *ph_migrate_at(const ph_migrations *m, size_t i);
/* The migration with that revision, or NULL. */
const ph_migration *ph_migrate_find(const ph_migrations *m, const char *revision);
/* The newest revision, or "base" when there is no migration. */
const char *ph_migrate_head(const ph_migrations *m);

/* ---- the revision in the database --------------------------------------------------- */

/* Reads the applied revision into rev (size revlen): "base" when the
 * database has none (no phial_version table, or no row).  0 or a PH_E*
 * code. */
int ph_migrate_current(ph_db_conn *c, char *rev, size_t revlen);

/* Called before each migration is applied (up) or reverted (!up). */
typedef void (*ph_migrate_progress)(void *ud, const ph_migration *mig, bool up);

/* Applies the migrations after the database's revision up to target
 * ("head" or NULL: all; or a revision).  The whole run is one transaction,
 * together with the updates of phial_version, taken under a lock
 * (PostgreSQL: an advisory transaction lock; SQLite: BEGIN IMMEDIATE)
 * before the revision is read, so that of two concurrent upgrades the
 * second finds the work done.  On SQLite, foreign keys are off during the
 * run (as the table-rebuild procedure requires) and PRAGMA
 * foreign_key_check must pass after each migration.  Any failure rolls the
 * whole run back: the database is as it was, and the message names the
 * failing migration.  progress (may be NULL) is called before each
 * migration; *applied (may be NULL) counts those committed.  0,
 * PH_ENOTFOUND (unknown target, or the database's revision is in no file),
 * PH_EINVAL (target older than the database's revision), PH_ENOTSUP (a
 * migration has no upgrade for this dialect), or the database's error;
 * messages in ph_db_errmsg(c). */
int ph_migrate_upgrade(ph_db_conn *c, const ph_migrations *m, const char *target,
                       ph_migrate_progress progress, void *ud, size_t *applied);
/* Reverts migrations, newest first, until the database is at target (a
 * revision older than the current one, or "base").  Same transaction,
 * lock and errors as ph_migrate_upgrade (PH_EINVAL: target is newer). */
int ph_migrate_downgrade(ph_db_conn *c, const ph_migrations *m, const char *target,
                         ph_migrate_progress progress, void *ud, size_t *reverted);
/* Records revision rev ("base", "head" or a revision of m) as applied
 * without running anything: adopts a database made by another tool or by
 * create_all.  0, PH_ENOTFOUND or the database's error. */
int ph_migrate_stamp(ph_db_conn *c, const ph_migrations *m, const char *rev);

/* ---- comparing the live schema with the models ------------------------------------- */

typedef enum ph_diff_kind {
    PH_DIFF_TABLE_MISSING,   /* a model's table is not in the database */
    PH_DIFF_TABLE_EXTRA,     /* a table no model declares */
    PH_DIFF_COLUMN_MISSING,  /* a model's column is not in its table */
    PH_DIFF_COLUMN_EXTRA,    /* a column no model declares */
    PH_DIFF_TYPE,            /* type or length differs */
    PH_DIFF_NULLABLE,        /* NOT NULL differs */
    PH_DIFF_DEFAULT,         /* server default differs */
    PH_DIFF_PRIMARY_KEY,     /* primary key columns differ */
    PH_DIFF_UNIQUE_MISSING,  /* a model's UNIQUE is not in the database */
    PH_DIFF_UNIQUE_EXTRA,    /* a UNIQUE the models do not declare */
    PH_DIFF_INDEX_MISSING,   /* a model's index is not in the database */
    PH_DIFF_INDEX_EXTRA,     /* an index the models do not declare */
    PH_DIFF_FK_MISSING,      /* a model's foreign key is not in the database */
    PH_DIFF_FK_EXTRA         /* a foreign key the models do not declare */
} ph_diff_kind;

/* One difference.  Strings live with the ph_schema_diff. */
typedef struct ph_diff {
    ph_diff_kind kind;
    const char *table;
    const char *name; /* column, index or constraint columns; NULL for tables */
    const char *db;   /* what the database has ("VARCHAR(100)", "NOT NULL"), or NULL */
    const char *model; /* what the model declares, or NULL */
} ph_diff;

typedef struct ph_schema_diff ph_schema_diff;

/* Reads the live schema on c (SQLite: sqlite_master and its pragmas;
 * PostgreSQL: the catalogs of current_schema()) and compares it with the
 * models, whose expected schema is the DDL Phial emits (ph_orm_ddl), so one
 * source of truth decides types.  The phial_version table is not reported.
 * A server default that the database lacks is not a difference (the ORM
 * applies model defaults on insert, as SQLAlchemy's default= does).
 * 0 and *out (free with ph_schema_diff_free), or a PH_E* code (message in
 * ph_db_errmsg(c)). */
int ph_migrate_compare(ph_db_conn *c, const ph_model *const *models, size_t n,
                       ph_schema_diff **out);
void ph_schema_diff_free(ph_schema_diff *d);
size_t ph_schema_diff_count(const ph_schema_diff *d);
const ph_diff *ph_schema_diff_at(const ph_schema_diff *d, size_t i);
/* Writes one line per difference ("table user: column nickname is missing
 * (model: VARCHAR(50))"), or nothing.  0 or PH_EIO. */
int ph_schema_diff_print(const ph_schema_diff *d, FILE *f);

/* Writes into out the text of a migration file (header and the upgrade and
 * downgrade sections for c's dialect) that brings the database from its
 * live schema to the models, and back.  SQLite changes ALTER TABLE cannot
 * make are written as the rebuild SQLite's documentation prescribes (new
 * table, copy, drop, rename, indexes and triggers recreated).  Renames
 * cannot be guessed: they come out as drop + add, with a WARNING comment;
 * tables no model declares are written as a commented-out DROP.  Each
 * warning is also counted in *warnings (may be NULL).  0, PH_ENOTFOUND (no
 * difference: nothing written), or a PH_E* code (ph_db_errmsg(c)). */
int ph_migrate_generate(ph_db_conn *c, const ph_model *const *models, size_t n,
                        const char *revision, const char *down_revision, const char *message,
                        ph_buf *out, size_t *warnings);

/* The start-up check (`app run`): 0 when every model's table and column
 * exists in the database; PH_ENOTFOUND with a message in err naming the
 * first missing table or column and the command that fixes it (`db
 * upgrade`), or the database's error.  Other differences (types, indexes)
 * are left to `db check`. */
int ph_migrate_check_schema(ph_db_conn *c, const ph_model *const *models, size_t n, char *err,
                            size_t errlen);

PH_API_END

#endif
