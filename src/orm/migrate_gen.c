/*
 * `db migrate`: the text of a migration file from the comparison of the
 * live schema with the models.  Each change is one step with its upgrade
 * SQL and the downgrade SQL that undoes it; upgrades are written in order
 * and downgrades in reverse.  On SQLite a table whose change ALTER TABLE
 * cannot make is rebuilt as SQLite's documentation prescribes (create the
 * new table, copy the rows, drop the old one, rename, recreate indexes and
 * triggers); foreign keys are switched off and checked by the runner.
 */
#include "internal.h"
#include "migrate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct step {
    const char *up, *down;
} step;

typedef struct gen {
    ph_arena *a;
    ph_dialect d;
    step *steps;
    size_t n, cap;
    size_t warnings;
    bool failed;
} gen;

static void add_step(gen *g, const char *up, const char *down)
{
    if (!up || !down) {
        g->failed = true;
        return;
    }
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 16;
        step *ns = ph_arena_calloc(g->a, nc, sizeof(*ns));
        if (!ns) {
            g->failed = true;
            return;
        }
        if (g->n)
            memcpy(ns, g->steps, g->n * sizeof(*ns));
        g->steps = ns;
        g->cap = nc;
    }
    g->steps[g->n++] = (step){up, down};
}

/* A quoted identifier in the arena. */
static const char *qi(gen *g, const char *name)
{
    ph_buf b;
    ph_buf_init(&b, g->a);
    ph_db_put_ident(&b, name);
    if (ph_buf_status(&b)) {
        g->failed = true;
        return "";
    }
    return b.ptr;
}

/* Quoted identifiers of a comma-separated list. */
static const char *qlist(gen *g, const char *cols)
{
    ph_buf b;
    ph_buf_init(&b, g->a);
    const char *p = cols;
    while (*p) {
        size_t len = strcspn(p, ",");
        char *one = ph_arena_strndup(g->a, p, len);
        if (b.len)
            ph_buf_puts(&b, ", ");
        ph_db_put_ident(&b, one ? one : "");
        p += len;
        if (*p == ',')
            p++;
    }
    if (ph_buf_status(&b)) {
        g->failed = true;
        return "";
    }
    return b.ptr ? b.ptr : "";
}

static bool has_kind(const ph_schema_diff *sd, const char *table, ph_diff_kind k)
{
    for (size_t i = 0; i < sd->n; i++)
        if (sd->items[i].kind == k && strcmp(sd->items[i].table, table) == 0)
            return true;
    return false;
}

/* Whether a column takes part in an index, unique constraint, foreign key
 * or the primary key of t (SQLite's DROP COLUMN refuses those). */
static bool col_constrained(const ph__stable *t, const char *col)
{
    size_t n = strlen(col);
#define IN_LIST(list)                                                                              \
    for (const char *p = (list); p && *p;) {                                                       \
        size_t len = strcspn(p, ",");                                                              \
        if (len == n && strncmp(p, col, n) == 0)                                                   \
            return true;                                                                           \
        p += len;                                                                                  \
        if (*p == ',')                                                                             \
            p++;                                                                                   \
    }
    IN_LIST(t->pk)
    for (size_t i = 0; i < t->nidx; i++) {
        IN_LIST(t->idx[i].cols)
    }
    for (size_t i = 0; i < t->nfks; i++) {
        IN_LIST(t->fks[i].cols)
    }
#undef IN_LIST
    return false;
}

/* Whether SQLite needs the table rebuilt to go from live to want. */
static bool sqlite_needs_rebuild(const ph_schema_diff *sd, const ph__stable *live,
                                 const ph__stable *want)
{
    for (size_t i = 0; i < sd->n; i++) {
        const ph_diff *x = &sd->items[i];
        if (strcmp(x->table, want->name) != 0)
            continue;
        switch (x->kind) {
        case PH_DIFF_TYPE:
        case PH_DIFF_NULLABLE:
        case PH_DIFF_DEFAULT:
        case PH_DIFF_PRIMARY_KEY:
        case PH_DIFF_UNIQUE_MISSING:
        case PH_DIFF_FK_MISSING:
        case PH_DIFF_FK_EXTRA:
            return true;
        case PH_DIFF_UNIQUE_EXTRA: {
            for (size_t k = 0; k < live->nidx; k++)
                if (live->idx[k].name && strcmp(live->idx[k].name, x->db) == 0 &&
                    live->idx[k].constraint)
                    return true;
            break;
        }
        case PH_DIFF_COLUMN_MISSING:
            if (col_constrained(want, x->name))
                return true;
            break;
        case PH_DIFF_COLUMN_EXTRA:
            if (col_constrained(live, x->name))
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

/* "CREATE TABLE <new name> (...": sql's own name replaced. */
static const char *renamed_create(gen *g, const char *sql, const char *newname)
{
    const char *paren = strchr(sql, '(');
    if (!paren) {
        g->failed = true;
        return NULL;
    }
    return ph_arena_sprintf(g->a, "CREATE TABLE %s %s", qi(g, newname), paren);
}

/* The model's CREATE TABLE with a DEFAULT clause for each column that has a
 * model default, so a rebuild keeps the server default an earlier ADD
 * COLUMN gave it (ph_orm_ddl writes none: SQLAlchemy's default= is applied
 * by the ORM).  Column lines are "\t<name> <type>[ NOT NULL], ". */
static const char *create_with_defaults(gen *g, const ph__stable *t)
{
    ph_buf b;
    ph_buf_init(&b, g->a);
    const char *p = t->sql;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const ph__scol *hit = NULL;
        for (size_t i = 0; i < t->ncols && !hit && len > 1 && p[0] == '\t'; i++) {
            const ph__scol *c = &t->cols[i];
            if (!c->dflt)
                continue;
            ph_buf id;
            ph_buf_init(&id, g->a);
            ph_db_put_ident_min(&id, g->d, c->name);
            if (id.ptr && len > id.len + 1 && memcmp(p + 1, id.ptr, id.len) == 0 &&
                p[1 + id.len] == ' ')
                hit = c;
        }
        size_t body = len;
        while (body && (p[body - 1] == ' ' || p[body - 1] == ','))
            body--;
        if (hit) {
            ph_buf_append(&b, p, body);
            ph_buf_printf(&b, " DEFAULT %s", hit->dflt);
            ph_buf_append(&b, p + body, len - body);
        } else {
            ph_buf_append(&b, p, len);
        }
        if (nl)
            ph_buf_putc(&b, '\n');
        p += len + (nl ? 1 : 0);
    }
    if (ph_buf_status(&b)) {
        g->failed = true;
        return NULL;
    }
    return b.ptr ? b.ptr : "";
}

/* SQLite's rebuild of table `name` from table `from` into the shape of
 * `to`: create_sql is `to`'s CREATE TABLE, index_sql its indexes. */
static const char *rebuild_sql(gen *g, const ph__stable *from, const ph__stable *to,
                               const char *create_sql, const char *index_sql)
{
    ph_buf b;
    ph_buf_init(&b, g->a);
    char *tmp = ph_arena_sprintf(g->a, "_phial_new_%s", to->name);
    if (!tmp) {
        g->failed = true;
        return NULL;
    }
    ph_buf_printf(&b,
                  "-- rebuild of table %s (SQLite's ALTER TABLE cannot make this change):\n"
                  "-- new table, copy the rows, drop the old table, rename, indexes and triggers\n",
                  to->name);
    const char *create = renamed_create(g, create_sql, tmp);
    ph_buf_printf(&b, "%s;\n", create ? create : "");
    ph_buf cols, vals;
    ph_buf_init(&cols, g->a);
    ph_buf_init(&vals, g->a);
    for (size_t i = 0; i < to->ncols; i++) {
        const ph__scol *c = &to->cols[i];
        const ph__scol *old = ph__stable_col(from, c->name);
        const char *val = old ? qi(g, c->name) : c->col ? c->dflt : NULL;
        if (!val)
            continue; /* a new column: its DEFAULT (or NULL) */
        if (cols.len) {
            ph_buf_puts(&cols, ", ");
            ph_buf_puts(&vals, ", ");
        }
        ph_buf_puts(&cols, qi(g, c->name));
        ph_buf_puts(&vals, val);
    }
    ph_buf_printf(&b, "INSERT INTO %s (%s)\n    SELECT %s FROM %s;\n", qi(g, tmp),
                  cols.ptr ? cols.ptr : "", vals.ptr ? vals.ptr : "", qi(g, to->name));
    ph_buf_printf(&b, "DROP TABLE %s;\n", qi(g, to->name));
    ph_buf_printf(&b, "ALTER TABLE %s RENAME TO %s;\n", qi(g, tmp), qi(g, to->name));
    if (index_sql)
        ph_buf_puts(&b, index_sql);
    for (size_t i = 0; i < from->ntriggers; i++)
        if (from->triggers[i])
            ph_buf_printf(&b, "%s;\n", from->triggers[i]);
    if (ph_buf_status(&b) || ph_buf_status(&cols) || ph_buf_status(&vals)) {
        g->failed = true;
        return NULL;
    }
    return b.ptr;
}

/* The live indexes of t that are not part of its CREATE TABLE, as SQL. */
static const char *live_index_sql(gen *g, const ph__stable *t)
{
    ph_buf b;
    ph_buf_init(&b, g->a);
    ph_buf_puts(&b, "");
    for (size_t i = 0; i < t->nidx; i++)
        if (t->idx[i].sql)
            ph_buf_printf(&b, "%s;\n", t->idx[i].sql);
    if (ph_buf_status(&b))
        g->failed = true;
    return b.ptr ? b.ptr : "";
}

static const char *column_def(gen *g, const ph__scol *c)
{
    return ph_arena_sprintf(g->a, "%s %s%s%s%s", qi(g, c->name), c->decl,
                            c->notnull ? " NOT NULL" : "", c->dflt ? " DEFAULT " : "",
                            c->dflt ? c->dflt : "");
}

static const char *pg_fk_name(gen *g, const char *table, const char *cols)
{
    char *n = ph_arena_sprintf(g->a, "%s_%s_fkey", table, cols);
    if (n)
        for (char *p = n; *p; p++)
            if (*p == ',')
                *p = '_';
    return n;
}

static const char *fk_clause(gen *g, const ph__sfk *fk)
{
    return ph_arena_sprintf(g->a, "FOREIGN KEY (%s) REFERENCES %s (%s)%s%s", qlist(g, fk->cols),
                            qi(g, fk->ref_table), qlist(g, fk->ref_cols),
                            *fk->ondelete ? " ON DELETE " : "", fk->ondelete);
}

static const ph__sidx *find_idx(const ph__stable *t, const char *cols, const char *name,
                                bool want_constraint)
{
    for (size_t i = 0; i < t->nidx; i++) {
        const ph__sidx *x = &t->idx[i];
        if (strcmp(x->cols, cols) != 0)
            continue;
        if (name && (!x->name || strcmp(x->name, name) != 0))
            continue;
        if (!name && x->constraint != want_constraint)
            continue;
        return x;
    }
    return NULL;
}

static const ph__sfk *find_fk(const ph__stable *t, const char *cols, bool matched)
{
    for (size_t i = 0; i < t->nfks; i++)
        if (strcmp(t->fks[i].cols, cols) == 0 && t->fks[i].matched == matched)
            return &t->fks[i];
    return NULL;
}

/* The steps of one table present on both sides, change by change. */
static void alter_steps(gen *g, const ph_schema_diff *sd, ph__stable *live, ph__stable *want)
{
    const char *T = qi(g, want->name);
    bool adds = has_kind(sd, want->name, PH_DIFF_COLUMN_MISSING);
    /* in an order that works: drop constraints and indexes, add columns,
     * alter columns, drop columns, add constraints and indexes */
    static const ph_diff_kind order[] = {
        PH_DIFF_FK_EXTRA,    PH_DIFF_UNIQUE_EXTRA,   PH_DIFF_INDEX_EXTRA, PH_DIFF_COLUMN_MISSING,
        PH_DIFF_TYPE,        PH_DIFF_NULLABLE,       PH_DIFF_DEFAULT,     PH_DIFF_PRIMARY_KEY,
        PH_DIFF_COLUMN_EXTRA, PH_DIFF_UNIQUE_MISSING, PH_DIFF_INDEX_MISSING, PH_DIFF_FK_MISSING};
    for (size_t o = 0; o < PH_COUNTOF(order); o++)
        for (size_t i = 0; i < sd->n; i++) {
            const ph_diff *x = &sd->items[i];
            if (x->kind != order[o] || strcmp(x->table, want->name) != 0)
                continue;
            ph__scol *w = x->name ? ph__stable_col(want, x->name) : NULL;
            ph__scol *l = x->name ? ph__stable_col(live, x->name) : NULL;
            switch (x->kind) {
            case PH_DIFF_COLUMN_MISSING: {
                const char *warn = "";
                if (w->notnull && !w->dflt) {
                    warn = ph_arena_sprintf(
                        g->a,
                        "-- WARNING: %s.%s is NOT NULL without a default: this fails on a table "
                        "with rows; give the model a default or fill it in here\n",
                        want->name, w->name);
                    g->warnings++;
                }
                add_step(g,
                         ph_arena_sprintf(g->a, "%sALTER TABLE %s ADD COLUMN %s;\n", warn, T,
                                          column_def(g, w)),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s DROP COLUMN %s;\n", T,
                                          qi(g, w->name)));
                break;
            }
            case PH_DIFF_COLUMN_EXTRA: {
                const char *warn = ph_arena_sprintf(
                    g->a, "-- WARNING: drops %s.%s and its values%s\n", want->name, l->name,
                    adds ? "; if it was renamed, write ALTER TABLE ... RENAME COLUMN instead "
                           "(renames cannot be guessed)"
                         : "");
                g->warnings++;
                add_step(g,
                         ph_arena_sprintf(g->a, "%sALTER TABLE %s DROP COLUMN %s;\n", warn, T,
                                          qi(g, l->name)),
                         ph_arena_sprintf(g->a,
                                          "-- the values of %s.%s are not restored\n"
                                          "ALTER TABLE %s ADD COLUMN %s;\n",
                                          want->name, l->name, T, column_def(g, l)));
                break;
            }
            case PH_DIFF_TYPE:
                add_step(g,
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;\n",
                                          T, qi(g, w->name), w->decl, qi(g, w->name), w->decl),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;\n",
                                          T, qi(g, w->name), l->decl, qi(g, w->name), l->decl));
                break;
            case PH_DIFF_NULLABLE: {
                const char *set = "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n";
                const char *drop = "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;\n";
                add_step(g, ph_arena_sprintf(g->a, w->notnull ? set : drop, T, qi(g, w->name)),
                         ph_arena_sprintf(g->a, w->notnull ? drop : set, T, qi(g, w->name)));
                break;
            }
            case PH_DIFF_DEFAULT: {
                const char *to = w->dflt
                                     ? ph_arena_sprintf(g->a, "SET DEFAULT %s", w->dflt)
                                     : "DROP DEFAULT";
                const char *back = ph_arena_sprintf(g->a, "SET DEFAULT %s", l->dflt);
                add_step(g,
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ALTER COLUMN %s %s;\n", T,
                                          qi(g, w->name), to),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ALTER COLUMN %s %s;\n", T,
                                          qi(g, w->name), back));
                break;
            }
            case PH_DIFF_PRIMARY_KEY:
                g->warnings++;
                add_step(g,
                         ph_arena_sprintf(g->a,
                                          "-- WARNING: the primary key of %s changes from (%s) "
                                          "to (%s): write this step by hand\n",
                                          want->name, live->pk, want->pk),
                         "");
                break;
            case PH_DIFF_UNIQUE_MISSING: {
                const char *cname = ph_arena_sprintf(g->a, "%s_%s_key", want->name, x->name);
                add_step(g,
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (%s);\n",
                                          T, qi(g, cname), qlist(g, x->name)),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s DROP CONSTRAINT %s;\n", T,
                                          qi(g, cname)));
                break;
            }
            case PH_DIFF_UNIQUE_EXTRA:
            case PH_DIFF_INDEX_EXTRA: {
                const ph__sidx *ix = find_idx(live, x->name, x->db, false);
                if (!ix)
                    break;
                if (ix->constraint)
                    add_step(g,
                             ph_arena_sprintf(g->a, "ALTER TABLE %s DROP CONSTRAINT %s;\n", T,
                                              qi(g, ix->name)),
                             ph_arena_sprintf(g->a,
                                              "ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (%s);\n", T,
                                              qi(g, ix->name), qlist(g, ix->cols)));
                else if (g->d == PH_DB_POSTGRES || !ix->sql)
                    /* not pg_get_indexdef's text: it names the schema */
                    add_step(g, ph_arena_sprintf(g->a, "DROP INDEX %s;\n", qi(g, ix->name)),
                             ph_arena_sprintf(g->a, "CREATE %sINDEX %s ON %s (%s);\n",
                                              ix->unique ? "UNIQUE " : "", qi(g, ix->name), T,
                                              qlist(g, ix->cols)));
                else
                    add_step(g, ph_arena_sprintf(g->a, "DROP INDEX %s;\n", qi(g, ix->name)),
                             ph_arena_sprintf(g->a, "%s;\n", ix->sql));
                break;
            }
            case PH_DIFF_INDEX_MISSING: {
                const ph__sidx *ix = find_idx(want, x->name, x->model, false);
                if (!ix)
                    break;
                add_step(g,
                         ph_arena_sprintf(g->a, "CREATE %sINDEX %s ON %s (%s);\n",
                                          ix->unique ? "UNIQUE " : "", qi(g, ix->name), T,
                                          qlist(g, ix->cols)),
                         ph_arena_sprintf(g->a, "DROP INDEX %s;\n", qi(g, ix->name)));
                break;
            }
            case PH_DIFF_FK_MISSING: {
                const ph__sfk *fk = find_fk(want, x->name, false);
                if (!fk)
                    break;
                const char *cname = pg_fk_name(g, want->name, fk->cols);
                add_step(g,
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n", T,
                                          qi(g, cname), fk_clause(g, fk)),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s DROP CONSTRAINT %s;\n", T,
                                          qi(g, cname)));
                break;
            }
            case PH_DIFF_FK_EXTRA: {
                const ph__sfk *fk = find_fk(live, x->name, false);
                if (!fk || !fk->name)
                    break;
                add_step(g,
                         ph_arena_sprintf(g->a, "ALTER TABLE %s DROP CONSTRAINT %s;\n", T,
                                          qi(g, fk->name)),
                         ph_arena_sprintf(g->a, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n", T,
                                          qi(g, fk->name), fk_clause(g, fk)));
                break;
            }
            default:
                break;
            }
        }
}

static int generate(gen *g, const ph_schema_diff *sd)
{
    for (size_t i = 0; i < sd->want.n; i++) {
        ph__stable *w = &sd->want.tables[i];
        ph__stable *l = ph__schema_table(&sd->live, w->name);
        if (!l) {
            add_step(g, ph_arena_sprintf(g->a, "%s;\n%s", w->sql, w->index_sql),
                     ph_arena_sprintf(g->a, "DROP TABLE %s;\n", qi(g, w->name)));
            continue;
        }
        bool any = false;
        for (size_t k = 0; k < sd->n && !any; k++)
            any = strcmp(sd->items[k].table, w->name) == 0;
        if (!any)
            continue;
        if (g->d == PH_DB_SQLITE && sqlite_needs_rebuild(sd, l, w)) {
            if (!l->sql) {
                g->failed = true;
                continue;
            }
            /* the rebuild back needs the table as the upgrade leaves it */
            ph__stable after = *w;
            after.triggers = l->triggers;
            after.ntriggers = l->ntriggers;
            ph__stable before = *l;
            before.triggers = NULL;
            before.ntriggers = 0;
            const char *create = create_with_defaults(g, w);
            add_step(g, create ? rebuild_sql(g, l, w, create, w->index_sql) : NULL,
                     rebuild_sql(g, &after, &before, l->sql, live_index_sql(g, l)));
            bool adds = has_kind(sd, w->name, PH_DIFF_COLUMN_MISSING);
            for (size_t k = 0; k < sd->n; k++) {
                const ph_diff *x = &sd->items[k];
                if (x->kind != PH_DIFF_COLUMN_EXTRA || strcmp(x->table, w->name) != 0)
                    continue;
                g->warnings++;
                add_step(g,
                         ph_arena_sprintf(g->a,
                                          "-- WARNING: the rebuild above drops %s.%s and its "
                                          "values%s\n",
                                          w->name, x->name,
                                          adds ? "; if it was renamed, copy it in the INSERT "
                                                 "(renames cannot be guessed)"
                                               : ""),
                         "");
            }
            continue;
        }
        alter_steps(g, sd, l, w);
    }
    for (size_t i = 0; i < sd->live.n; i++) {
        const ph__stable *l = &sd->live.tables[i];
        if (ph__schema_table(&sd->want, l->name))
            continue;
        g->warnings++;
        add_step(g,
                 ph_arena_sprintf(g->a,
                                  "-- WARNING: table %s is in the database and in no model.\n"
                                  "-- It is left alone; to drop it (and its rows), uncomment:\n"
                                  "-- DROP TABLE %s;\n",
                                  l->name, qi(g, l->name)),
                 "");
    }
    return g->failed ? PH_ENOMEM : 0;
}

int ph_migrate_generate(ph_db_conn *c, const ph_model *const *models, size_t n,
                        const char *revision, const char *down_revision, const char *message,
                        ph_buf *out, size_t *warnings)
{
    if (warnings)
        *warnings = 0;
    ph_schema_diff *sd;
    int rc = ph_migrate_compare(c, models, n, &sd);
    if (rc)
        return rc;
    if (sd->n == 0) {
        ph_schema_diff_free(sd);
        return ph_db_set_error(c, PH_ENOTFOUND, "the database matches the models");
    }
    gen g = {.a = sd->arena, .d = sd->dialect};
    rc = generate(&g, sd);
    if (rc) {
        ph_schema_diff_free(sd);
        return ph_db_set_error(c, rc, "out of memory");
    }
    const char *dn = g.d == PH_DB_SQLITE ? "sqlite" : "postgresql";
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    ph_buf_printf(out,
                  "-- Phial migration\n-- revision: %s\n-- down_revision: %s\n-- message: %s\n"
                  "-- Written by `db migrate` on %s; %s steps only (run db migrate\n"
                  "-- against each dialect you deploy to, or write its sections).  Read and\n"
                  "-- edit it before `db upgrade`.  The differences it answers:\n",
                  revision, down_revision, message, when,
                  g.d == PH_DB_SQLITE ? "SQLite" : "PostgreSQL");
    for (size_t i = 0; i < sd->n; i++) {
        ph_buf_puts(out, "--   ");
        /* the same lines as `db check`, as comments */
        FILE *mem = NULL;
        char *text = NULL;
        size_t tlen = 0;
        ph_schema_diff one = *sd;
        one.items = &sd->items[i];
        one.n = 1;
        mem = open_memstream(&text, &tlen);
        if (mem) {
            ph_schema_diff_print(&one, mem);
            fclose(mem);
        }
        ph_buf_puts(out, text ? text : "\n");
        free(text);
    }
    ph_buf_printf(out, "\n-- upgrade: %s\n", dn);
    for (size_t i = 0; i < g.n; i++)
        ph_buf_puts(out, g.steps[i].up);
    ph_buf_printf(out, "\n-- downgrade: %s\n", dn);
    for (size_t i = g.n; i-- > 0;)
        ph_buf_puts(out, g.steps[i].down);
    if (warnings)
        *warnings = g.warnings;
    ph_schema_diff_free(sd);
    if (ph_buf_status(out))
        return ph_db_set_error(c, PH_ENOMEM, "out of memory");
    return 0;
}
