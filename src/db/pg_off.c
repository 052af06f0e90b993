/*
 * The PostgreSQL driver of a build without PostgreSQL (make PG=0): the
 * library then needs no libpq.  ph_db_url_parse already refuses
 * postgresql:// URLs with a message saying so, so no connection of the
 * PostgreSQL dialect is ever made; these stand-ins only answer PH_ENOTSUP
 * should one be reached anyway.
 */
#include "internal.h"

#include <stdio.h>

#ifdef PH_NO_POSTGRES

static const char off_msg[] = "this Phial was built without PostgreSQL (make PG=0)";

int ph__pg_load(char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", off_msg);
    return PH_ENOTSUP;
}

bool ph__pg_known_option(const char *key)
{
    (void)key;
    return false;
}

int ph__pg_open(ph_db_conn *c)
{
    return ph__db_error(c, PH_ENOTSUP, "%s", off_msg);
}

void ph__pg_close(ph_db_conn *c)
{
    (void)c;
}

int ph__pg_prepare(ph_db_conn *c, ph__stmt *st)
{
    (void)st;
    return ph__db_error(c, PH_ENOTSUP, "%s", off_msg);
}

int ph__pg_run(ph_db_conn *c, ph__stmt *st, const ph_val *p, size_t n, ph_db_rows *rows)
{
    (void)st, (void)p, (void)n, (void)rows;
    return ph__db_error(c, PH_ENOTSUP, "%s", off_msg);
}

void ph__pg_clear(ph_db_rows *r)
{
    (void)r;
}

int ph__pg_script(ph_db_conn *c, const char *sql)
{
    (void)sql;
    return ph__db_error(c, PH_ENOTSUP, "%s", off_msg);
}

int ph__pg_backend_pid(const ph_db_conn *c)
{
    (void)c;
    return 0;
}

bool ph__pg_isnull(ph_db_rows *r, int col)
{
    (void)r, (void)col;
    return true;
}

const char *ph__pg_text(ph_db_rows *r, int col, size_t *len)
{
    (void)r, (void)col;
    if (len)
        *len = 0;
    return "";
}

int ph__pg_blob(ph_db_rows *r, int col, ph_arena *a, uint8_t **ptr, size_t *len)
{
    (void)r, (void)col, (void)a;
    *ptr = NULL;
    *len = 0;
    return PH_ENOTSUP;
}

#endif

bool ph__pg_idle_ok(ph_db_conn *c)
{
    (void)c;
    return true;
}
