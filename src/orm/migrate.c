/*
 * Migration files and their application: reading *.sql files from a
 * folder (or taking a compiled-in list), parsing their header and per-
 * dialect sections, ordering them into one chain, and running upgrade,
 * downgrade and stamp in transactions that also move the revision kept in
 * the phial_version table, under a lock so concurrent runs apply each
 * migration once.
 */
#include "phial/migrate.h"
#include "phial/orm.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ph_migrations {
    ph_arena *arena;
    ph_migration *items; /* in chain order, oldest first */
    size_t n;
};

/* The advisory-lock key of migrations on PostgreSQL ("phialmig" in ASCII). */
#define MIGRATE_LOCK_KEY "7020896127519926631"

static void set_err(char *err, size_t errlen, const char *fmt, ...) PH_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- reading a folder ------------------------------------------------------------ */

static bool ends_with_sql(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const ph_migration_file *)a)->name, ((const ph_migration_file *)b)->name);
}

void ph_migrate_files_free(ph_migration_file *files, size_t n)
{
    if (!files)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)files[i].name);
        free((char *)files[i].contents);
    }
    free(files);
}

/* Reads a whole file into a heap string; NULL and errno on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int ph_migrate_read_dir(const char *dir, ph_migration_file **files, size_t *n, char *err,
                        size_t errlen)
{
    *files = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        set_err(err, errlen, "cannot read the migrations folder %s: %s", dir, strerror(errno));
        return PH_EIO;
    }
    ph_migration_file *list = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with_sql(e->d_name))
            continue;
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            ph_migration_file *nl = realloc(list, nc * sizeof(*nl));
            if (!nl) {
                rc = PH_ENOMEM;
                break;
            }
            list = nl;
            cap = nc;
        }
        size_t plen = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(plen);
        char *name = strdup(e->d_name);
        if (!path || !name) {
            free(path);
            free(name);
            rc = PH_ENOMEM;
            break;
        }
        snprintf(path, plen, "%s/%s", dir, e->d_name);
        size_t flen = 0;
        char *text = read_file(path, &flen);
        if (!text) {
            set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
            rc = errno == ENOMEM ? PH_ENOMEM : PH_EIO;
            free(path);
            free(name);
            break;
        }
        free(path);
        list[len++] = (ph_migration_file){name, text, flen};
    }
    closedir(d);
    if (rc) {
        if (rc == PH_ENOMEM)
            set_err(err, errlen, "out of memory");
        ph_migrate_files_free(list, len);
        return rc;
    }
    if (len)
        qsort(list, len, sizeof(*list), cmp_files);
    *files = list;
    *n = len;
    return 0;
}

/* ---- parsing one file ------------------------------------------------------------------ */

static bool valid_revision(const char *s)
{
    if (!*s || strlen(s) > 60 || strcmp(s, "base") == 0 || strcmp(s, "head") == 0)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* The text after "-- key:" on a header line, trimmed, or NULL. */
static const char *header_value(ph_slice line, const char *key, size_t *vlen)
{
    size_t klen = strlen(key);
    if (line.len < 3 + klen + 1 || memcmp(line.ptr, "-- ", 3) != 0 ||
        memcmp(line.ptr + 3, key, klen) != 0 || line.ptr[3 + klen] != ':')
        return NULL;
    const char *v = line.ptr + 3 + klen + 1;
    const char *end = line.ptr + line.len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

/* Whether line is a section marker: "-- upgrade", "-- downgrade: sqlite"...
 * Sets *up and *dialect (0: both); returns -1 for a marker naming an
 * unknown dialect, 1 for a marker, 0 otherwise. */
static int section_marker(ph_slice line, bool *up, int *dialect)
{
    while (line.len && (line.ptr[line.len - 1] == ' ' || line.ptr[line.len - 1] == '\r' ||
                        line.ptr[line.len - 1] == '\t'))
        line.len--;
    const char *rest;
    size_t rlen;
    if (ph_slice_starts_with(line, "-- upgrade")) {
        *up = true;
        rest = line.ptr + 10;
        rlen = line.len - 10;
    } else if (ph_slice_starts_with(line, "-- downgrade")) {
        *up = false;
        rest = line.ptr + 12;
        rlen = line.len - 12;
    } else {
        return 0;
    }
    if (rlen == 0) {
        *dialect = 0;
        return 1;
    }
    if (rest[0] != ':')
        return 0; /* "-- upgraded ..." is a comment */
    rest++;
    rlen--;
    while (rlen && *rest == ' ') {
        rest++;
        rlen--;
    }
    ph_slice d = {rest, rlen};
    if (ph_slice_eq_cstr(d, "sqlite"))
        *dialect = PH_DB_SQLITE;
    else if (ph_slice_eq_cstr(d, "postgresql") || ph_slice_eq_cstr(d, "postgres"))
        *dialect = PH_DB_POSTGRES;
    else
        return -1;
    return 1;
}

static int parse_file(ph_arena *a, const ph_migration_file *f, ph_migration *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->file = ph_arena_strdup(a, f->name);
    out->message = "";
    const char *p = f->contents, *end = f->contents + f->len;
    ph_buf sec[2][3];
    for (int u = 0; u < 2; u++)
        for (int d = 0; d < 3; d++)
            ph_buf_init(&sec[u][d], a);
    bool have[2][3] = {{false}};
    ph_buf *cur = NULL;
    int lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        ph_slice line = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
        p = nl ? nl + 1 : end;
        lineno++;
        if (memchr(line.ptr, '\0', line.len)) {
            set_err(err, errlen, "%s:%d: NUL byte in a migration file", f->name, lineno);
            return PH_EPARSE;
        }
        bool up;
        int dialect;
        int m = section_marker(line, &up, &dialect);
        if (m < 0) {
            set_err(err, errlen,
                    "%s:%d: unknown dialect in \"%.*s\" (sqlite or postgresql; none for both)",
                    f->name, lineno, (int)line.len, line.ptr);
            return PH_EPARSE;
        }
        if (m > 0) {
            if (have[up][dialect]) {
                set_err(err, errlen, "%s:%d: second \"%.*s\" section", f->name, lineno,
                        (int)line.len, line.ptr);
                return PH_EPARSE;
            }
            have[up][dialect] = true;
            cur = &sec[up][dialect];
            continue;
        }
        if (cur) {
            ph_buf_slice(cur, line);
            ph_buf_putc(cur, '\n');
            continue;
        }
        /* header: "-- key: value" lines and comments before the first section */
        const char *v;
        size_t vlen;
        if ((v = header_value(line, "revision", &vlen)))
            out->revision = ph_arena_strndup(a, v, vlen);
        else if ((v = header_value(line, "down_revision", &vlen)))
            out->down_revision = ph_arena_strndup(a, v, vlen);
        else if ((v = header_value(line, "message", &vlen)))
            out->message = ph_arena_strndup(a, v, vlen);
        else if (line.len && !ph_slice_starts_with(line, "--") &&
                 strspn(line.ptr, " \t\r") < line.len) {
            set_err(err, errlen,
                    "%s:%d: SQL before the first section (start one with \"-- upgrade: "
                    "sqlite\", \"-- upgrade: postgresql\" or \"-- upgrade\")",
                    f->name, lineno);
            return PH_EPARSE;
        }
    }
    if (!out->revision || !out->down_revision || !out->message) {
        if (!out->revision || !out->down_revision) {
            set_err(err, errlen, "%s: the header needs \"-- revision: ...\" and \"-- "
                                 "down_revision: ...\" (base for the first migration)",
                    f->name);
            return PH_EPARSE;
        }
        set_err(err, errlen, "out of memory");
        return PH_ENOMEM;
    }
    if (!valid_revision(out->revision) ||
        (strcmp(out->down_revision, "base") != 0 && !valid_revision(out->down_revision))) {
        set_err(err, errlen,
                "%s: a revision is 1-60 letters, digits, '_', '-' or '.' (and not base or head)",
                f->name);
        return PH_EPARSE;
    }
    if (!have[1][0] && !have[1][PH_DB_SQLITE] && !have[1][PH_DB_POSTGRES]) {
        set_err(err, errlen, "%s: no upgrade section", f->name);
        return PH_EPARSE;
    }
    for (int u = 0; u < 2; u++)
        for (int d = 0; d < 3; d++) {
            if (!have[u][d])
                continue;
            if (ph_buf_status(&sec[u][d])) {
                set_err(err, errlen, "out of memory");
                return PH_ENOMEM;
            }
            const char *text = sec[u][d].ptr ? sec[u][d].ptr : "";
            if (u)
                out->up[d] = text;
            else
                out->down[d] = text;
        }
    return 0;
}

/* ---- the chain ------------------------------------------------------------------------------ */

int ph_migrate_load(const ph_migration_file *files, size_t n, ph_migrations **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    ph_migrations *m = calloc(1, sizeof(*m));
    ph_arena *a = ph_arena_new(0);
    ph_migration *parsed = a ? ph_arena_calloc(a, n ? n : 1, sizeof(*parsed)) : NULL;
    if (!m || !parsed) {
        free(m);
        ph_arena_free(a);
        set_err(err, errlen, "out of memory");
        return PH_ENOMEM;
    }
    m->arena = a;
    size_t np = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!files[i].name || !ends_with_sql(files[i].name))
            continue;
        if (!files[i].contents) {
            set_err(err, errlen, "%s: no contents", files[i].name);
            rc = PH_EINVAL;
            break;
        }
        rc = parse_file(a, &files[i], &parsed[np], err, errlen);
        if (rc == 0)
            np++;
    }
    for (size_t i = 0; rc == 0 && i < np; i++)
        for (size_t j = i + 1; rc == 0 && j < np; j++) {
            if (strcmp(parsed[i].revision, parsed[j].revision) == 0) {
                set_err(err, errlen, "revision %s is in two files: %s and %s", parsed[i].revision,
                        parsed[i].file, parsed[j].file);
                rc = PH_EINVAL;
            } else if (strcmp(parsed[i].down_revision, parsed[j].down_revision) == 0) {
                set_err(err, errlen,
                        "%s and %s both follow %s: the history has two branches; make one of "
                        "them follow the other (its down_revision)",
                        parsed[i].file, parsed[j].file, parsed[i].down_revision);
                rc = PH_EINVAL;
            }
        }
    ph_migration *chain = rc == 0 ? ph_arena_calloc(a, np ? np : 1, sizeof(*chain)) : NULL;
    if (rc == 0 && !chain) {
        set_err(err, errlen, "out of memory");
        rc = PH_ENOMEM;
    }
    /* follow the chain from base: each step has at most one successor */
    const char *prev = "base";
    size_t k = 0;
    while (rc == 0 && k < np) {
        size_t next = np;
        for (size_t i = 0; i < np; i++)
            if (strcmp(parsed[i].down_revision, prev) == 0)
                next = i;
        if (next == np)
            break;
        chain[k++] = parsed[next];
        prev = parsed[next].revision;
    }
    if (rc == 0 && k < np) {
        for (size_t i = 0; i < np; i++) {
            bool in = false;
            for (size_t j = 0; j < k; j++)
                in = in || strcmp(chain[j].revision, parsed[i].revision) == 0;
            if (!in) {
                set_err(err, errlen, "%s: its down_revision %s is not the revision of any other "
                                     "migration reachable from base",
                        parsed[i].file, parsed[i].down_revision);
                break;
            }
        }
        rc = PH_EINVAL;
    }
    if (rc) {
        ph_migrate_free(m);
        return rc;
    }
    m->items = chain;
    m->n = np;
    *out = m;
    return 0;
}

void ph_migrate_free(ph_migrations *m)
{
    if (!m)
        return;
    ph_arena_free(m->arena);
    free(m);
}

size_t ph_migrate_count(const ph_migrations *m)
{
    return m->n;
}

const ph_migration *ph_migrate_at(const ph_migrations *m, size_t i)
{
    return i < m->n ? &m->items[i] : NULL;
}

const ph_migration *ph_migrate_find(const ph_migrations *m, const char *revision)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].revision, revision) == 0)
            return &m->items[i];
    return NULL;
}

const char *ph_migrate_head(const ph_migrations *m)
{
    return m->n ? m->items[m->n - 1].revision : "base";
}

/* Position of a revision in the chain: 0 for base, i + 1 for items[i];
 * -1 when unknown. */
static long chain_pos(const ph_migrations *m, const char *rev)
{
    if (strcmp(rev, "base") == 0)
        return 0;
    if (strcmp(rev, "head") == 0)
        return (long)m->n;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].revision, rev) == 0)
            return (long)i + 1;
    return -1;
}

/* ---- the revision table ------------------------------------------------------------------ */

static int read_version(ph_db_conn *c, bool table_known, char *rev, size_t revlen)
{
    snprintf(rev, revlen, "base");
    if (!table_known) {
        int exists = ph_orm_table_exists(c, PH_MIGRATE_VERSION_TABLE);
        if (exists <= 0)
            return exists;
    }
    ph_db_rows r;
    int rc = ph_db_query(c, "SELECT version_num FROM " PH_MIGRATE_VERSION_TABLE, NULL, 0, &r);
    if (rc)
        return rc;
    int nrows = 0;
    while ((rc = ph_db_rows_next(&r)) == 1) {
        size_t len;
        const char *t = ph_db_rows_text(&r, 0, &len);
        snprintf(rev, revlen, "%.*s", (int)len, t);
        nrows++;
    }
    ph_db_rows_close(&r);
    if (rc < 0)
        return rc;
    if (nrows > 1)
        return ph_db_set_error(c, PH_EINVAL,
                               "%s holds %d rows; it must hold one (the applied revision)",
                               PH_MIGRATE_VERSION_TABLE, nrows);
    return 0;
}

int ph_migrate_current(ph_db_conn *c, char *rev, size_t revlen)
{
    return read_version(c, false, rev, revlen);
}

/* Inside a write transaction: takes the migration lock, makes the version
 * table if needed, and reads the revision. */
static int lock_and_read(ph_db_conn *c, char *rev, size_t revlen)
{
    int rc = 0;
    if (ph_db_conn_dialect(c) == PH_DB_POSTGRES)
        rc = ph_db_exec(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", NULL, 0);
    if (rc == 0)
        rc = ph_db_exec_script(c, "CREATE TABLE IF NOT EXISTS " PH_MIGRATE_VERSION_TABLE
                                  " (version_num VARCHAR(64) NOT NULL, CONSTRAINT "
                                  "phial_version_pkc PRIMARY KEY (version_num))");
    if (rc == 0)
        rc = read_version(c, true, rev, revlen);
    return rc;
}

static int write_version(ph_db_conn *c, const char *rev)
{
    int rc = ph_db_exec(c, "DELETE FROM " PH_MIGRATE_VERSION_TABLE, NULL, 0);
    if (rc == 0 && strcmp(rev, "base") != 0) {
        ph_val v = PH_STR(rev);
        rc = ph_db_exec(c, "INSERT INTO " PH_MIGRATE_VERSION_TABLE " (version_num) VALUES (?)",
                        &v, 1);
    }
    return rc;
}

/* Rolls back keeping the failure's message and code. */
static int fail_rollback(ph_db_conn *c, int rc, const char *prefix)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
    if (ph_db_in_transaction(c))
        ph_db_rollback(c);
    if (prefix)
        return ph_db_set_error(c, rc, "%s: %s", prefix, msg);
    return ph_db_set_error(c, rc, "%s", msg);
}

/* SQLite: the rebuild procedure needs foreign keys off (outside the
 * transaction; the pragma is a no-op inside one) and a RENAME that leaves
 * references in other tables alone (legacy_alter_table). */
static int sqlite_mode(ph_db_conn *c, bool migrating)
{
    if (ph_db_conn_dialect(c) != PH_DB_SQLITE)
        return 0;
    return ph_db_exec_script(c, migrating
                                    ? "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON"
                                    : "PRAGMA foreign_keys = ON; PRAGMA legacy_alter_table = OFF");
}

/* Ends a failed run: rolled back, SQLite's pragmas restored, the failure's
 * code and message kept. */
static int abort_run(ph_db_conn *c, int rc)
{
    rc = fail_rollback(c, rc, NULL);
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
    sqlite_mode(c, false);
    return ph_db_set_error(c, rc, "%s", msg);
}

/* SQLite: PRAGMA foreign_key_check; an error naming the first violation. */
static int sqlite_fk_check(ph_db_conn *c)
{
    ph_db_rows r;
    int rc = ph_db_query(c, "PRAGMA foreign_key_check", NULL, 0, &r);
    if (rc)
        return rc;
    rc = ph_db_rows_next(&r);
    if (rc == 1) {
        size_t l1, l2;
        const char *t = ph_db_rows_text(&r, 0, &l1);
        int64_t rowid = ph_db_rows_int(&r, 1);
        char table[128];
        snprintf(table, sizeof(table), "%.*s", (int)l1, t);
        const char *p = ph_db_rows_text(&r, 2, &l2);
        rc = ph_db_set_error(c, PH_ECONSTRAINT,
                             "foreign key check failed: row %lld of table %s refers to a row of "
                             "%.*s that does not exist",
                             (long long)rowid, table, (int)l2, p);
    }
    ph_db_rows_close(&r);
    return rc;
}

/* The whole run in one transaction, under the lock: read the revision,
 * apply (or revert) each migration and check foreign keys (SQLite), move
 * the revision, commit.  Any failure rolls everything back. */
static int migrate(ph_db_conn *c, const ph_migrations *m, const char *target, bool up,
                   ph_migrate_progress progress, void *ud, size_t *count)
{
    if (count)
        *count = 0;
    if (!target)
        target = up ? "head" : "base";
    long want = chain_pos(m, target);
    if (want < 0)
        return ph_db_set_error(c, PH_ENOTFOUND, "no migration has revision %s (see db history)",
                               target);
    ph_dialect d = ph_db_conn_dialect(c);
    int rc = sqlite_mode(c, true);
    if (rc == 0)
        rc = ph_db_begin(c, true);
    char now[64];
    if (rc == 0)
        rc = lock_and_read(c, now, sizeof(now));
    if (rc) {
        return abort_run(c, rc);
    }
    long at = chain_pos(m, now);
    if (at < 0)
        rc = ph_db_set_error(c, PH_ENOTFOUND,
                             "the database is at revision %s, which no migration file names (a "
                             "newer build, or a lost file?)",
                             now);
    else if (up && at > want)
        rc = ph_db_set_error(c, PH_EINVAL, "the database is at %s, newer than %s: use db downgrade",
                             now, target);
    else if (!up && at < want)
        rc = ph_db_set_error(c, PH_EINVAL, "the database is at %s, older than %s: use db upgrade",
                             now, target);
    size_t done = 0;
    while (rc == 0 && at != want) {
        const ph_migration *mig = &m->items[up ? at : at - 1];
        const char *sql = up ? (mig->up[d] ? mig->up[d] : mig->up[0])
                             : (mig->down[d] ? mig->down[d] : mig->down[0]);
        char label[200];
        snprintf(label, sizeof(label), "%s %s (%s)", up ? "upgrade" : "downgrade", mig->revision,
                 mig->file);
        if (!sql) {
            rc = ph_db_set_error(c, PH_ENOTSUP, "%s has no %s section for %s", mig->file,
                                 up ? "upgrade" : "downgrade",
                                 d == PH_DB_SQLITE ? "sqlite" : "postgresql");
            break;
        }
        if (progress)
            progress(ud, mig, up);
        rc = ph_db_exec_script(c, sql);
        if (rc == 0 && d == PH_DB_SQLITE)
            rc = sqlite_fk_check(c);
        if (rc == 0)
            rc = write_version(c, up ? mig->revision : mig->down_revision);
        if (rc) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", ph_db_errmsg(c));
            rc = ph_db_set_error(c, rc, "%s: %s", label, msg);
            break;
        }
        done++;
        at += up ? 1 : -1;
    }
    if (rc == 0)
        rc = ph_db_commit(c);
    if (rc) {
        return abort_run(c, rc);
    }
    if (count)
        *count = done;
    return sqlite_mode(c, false);
}

int ph_migrate_upgrade(ph_db_conn *c, const ph_migrations *m, const char *target,
                       ph_migrate_progress progress, void *ud, size_t *applied)
{
    return migrate(c, m, target, true, progress, ud, applied);
}

int ph_migrate_downgrade(ph_db_conn *c, const ph_migrations *m, const char *target,
                         ph_migrate_progress progress, void *ud, size_t *reverted)
{
    if (!target)
        return ph_db_set_error(c, PH_EINVAL, "downgrade needs a target revision (or base)");
    return migrate(c, m, target, false, progress, ud, reverted);
}

int ph_migrate_stamp(ph_db_conn *c, const ph_migrations *m, const char *rev)
{
    long pos = chain_pos(m, rev);
    if (pos < 0)
        return ph_db_set_error(c, PH_ENOTFOUND, "no migration has revision %s (see db history)",
                               rev);
    const char *to = pos == 0 ? "base" : m->items[pos - 1].revision;
    int rc = ph_db_begin(c, true);
    char now[64];
    if (rc == 0)
        rc = lock_and_read(c, now, sizeof(now));
    if (rc == 0)
        rc = write_version(c, to);
    if (rc == 0)
        rc = ph_db_commit(c);
    if (rc)
        rc = fail_rollback(c, rc, "stamp");
    return rc;
}
