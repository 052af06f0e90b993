/*
 * SQL identifiers: always-quoted names for the statements Phial runs, and
 * SQLAlchemy's minimal quoting (reserved words of the dialect, upper case,
 * odd characters) for DDL that must read exactly as Flask-SQLAlchemy's.
 * The word lists are SQLAlchemy 1.4's, sorted for bsearch.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const sqlite_words[] = {"add",          "after",
                                           "all",          "alter",
                                           "analyze",      "and",
                                           "as",           "asc",
                                           "attach",       "autoincrement",
                                           "before",       "begin",
                                           "between",      "by",
                                           "cascade",      "case",
                                           "cast",         "check",
                                           "collate",      "column",
                                           "commit",       "conflict",
                                           "constraint",   "create",
                                           "cross",        "current_date",
                                           "current_time", "current_timestamp",
                                           "database",     "default",
                                           "deferrable",   "deferred",
                                           "delete",       "desc",
                                           "detach",       "distinct",
                                           "drop",         "each",
                                           "else",         "end",
                                           "escape",       "except",
                                           "exclusive",    "exists",
                                           "explain",      "fail",
                                           "false",        "for",
                                           "foreign",      "from",
                                           "full",         "glob",
                                           "group",        "having",
                                           "if",           "ignore",
                                           "immediate",    "in",
                                           "index",        "indexed",
                                           "initially",    "inner",
                                           "insert",       "instead",
                                           "intersect",    "into",
                                           "is",           "isnull",
                                           "join",         "key",
                                           "left",         "like",
                                           "limit",        "match",
                                           "natural",      "not",
                                           "notnull",      "null",
                                           "of",           "offset",
                                           "on",           "or",
                                           "order",        "outer",
                                           "plan",         "pragma",
                                           "primary",      "query",
                                           "raise",        "references",
                                           "reindex",      "rename",
                                           "replace",      "restrict",
                                           "right",        "rollback",
                                           "row",          "select",
                                           "set",          "table",
                                           "temp",         "temporary",
                                           "then",         "to",
                                           "transaction",  "trigger",
                                           "true",         "union",
                                           "unique",       "update",
                                           "using",        "vacuum",
                                           "values",       "view",
                                           "virtual",      "when",
                                           "where"};

static const char *const pg_words[] = {"all",
                                       "analyse",
                                       "analyze",
                                       "and",
                                       "any",
                                       "array",
                                       "as",
                                       "asc",
                                       "asymmetric",
                                       "authorization",
                                       "between",
                                       "binary",
                                       "both",
                                       "case",
                                       "cast",
                                       "check",
                                       "collate",
                                       "column",
                                       "constraint",
                                       "create",
                                       "cross",
                                       "current_catalog",
                                       "current_date",
                                       "current_role",
                                       "current_schema",
                                       "current_time",
                                       "current_timestamp",
                                       "current_user",
                                       "default",
                                       "deferrable",
                                       "desc",
                                       "distinct",
                                       "do",
                                       "else",
                                       "end",
                                       "except",
                                       "false",
                                       "fetch",
                                       "for",
                                       "foreign",
                                       "freeze",
                                       "from",
                                       "full",
                                       "grant",
                                       "group",
                                       "having",
                                       "ilike",
                                       "in",
                                       "initially",
                                       "inner",
                                       "intersect",
                                       "into",
                                       "is",
                                       "isnull",
                                       "join",
                                       "leading",
                                       "left",
                                       "like",
                                       "limit",
                                       "localtime",
                                       "localtimestamp",
                                       "natural",
                                       "new",
                                       "not",
                                       "notnull",
                                       "null",
                                       "of",
                                       "off",
                                       "offset",
                                       "old",
                                       "on",
                                       "only",
                                       "or",
                                       "order",
                                       "outer",
                                       "over",
                                       "overlaps",
                                       "placing",
                                       "primary",
                                       "references",
                                       "returning",
                                       "right",
                                       "select",
                                       "session_user",
                                       "similar",
                                       "some",
                                       "symmetric",
                                       "table",
                                       "then",
                                       "to",
                                       "trailing",
                                       "true",
                                       "union",
                                       "unique",
                                       "user",
                                       "using",
                                       "variadic",
                                       "verbose",
                                       "when",
                                       "where",
                                       "window",
                                       "with"};

static int cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int ph_db_put_ident(ph_buf *b, const char *name)
{
    ph_buf_putc(b, '"');
    /* a run without quotes at a time: names rarely have any */
    for (const char *p = name;;) {
        size_t n = strcspn(p, "\"");
        ph_buf_append(b, p, n);
        if (!p[n])
            break;
        ph_buf_append(b, "\"\"", 2);
        p += n + 1;
    }
    return ph_buf_putc(b, '"');
}

/* SQLAlchemy's IdentifierPreparer._requires_quotes. */
static bool requires_quotes(ph_dialect d, const char *name)
{
    if (!*name || (name[0] >= '0' && name[0] <= '9') || name[0] == '$')
        return true;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
        if (!ok)
            return true; /* upper case, or not a legal character */
    }
    if (d == PH_DB_SQLITE)
        return bsearch(name, sqlite_words, PH_COUNTOF(sqlite_words), sizeof(char *), cmp) != NULL;
    return bsearch(name, pg_words, PH_COUNTOF(pg_words), sizeof(char *), cmp) != NULL;
}

int ph_db_put_ident_min(ph_buf *b, ph_dialect d, const char *name)
{
    if (requires_quotes(d, name))
        return ph_db_put_ident(b, name);
    return ph_buf_puts(b, name);
}
