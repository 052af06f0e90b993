/*
 * Database URLs: parsing the SQLAlchemy forms (sqlite:///path,
 * sqlite:////abs, sqlite:///:memory:, postgresql://user:pass@host:port/db?k=v)
 * with percent-decoding, and resolving the URL from an app's configuration.
 * A malformed URL is a message naming what is wrong.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, arg);
    return PH_EINVAL;
}

/* A decoded heap copy of s[0..n), or NULL with *rc set. */
static char *decode(const char *s, size_t n, int *rc, char *err, size_t errlen, const char *what)
{
    char *out = malloc(n + 1);
    if (!out) {
        *rc = PH_ENOMEM;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? ph_hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? ph_hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            *rc = fail(err, errlen, "bad percent-escape in the %s of the database URL", what);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

void ph_db_url_free(ph_db_url *u)
{
    free(u->path);
    free(u->host);
    free(u->port);
    free(u->user);
    free(u->password);
    free(u->dbname);
    for (size_t i = 0; i < 2 * u->nparams; i++)
        free(u->params[i]);
    free(u->params);
    memset(u, 0, sizeof(*u));
}

static int parse_pg(const char *rest, ph_db_url *u, char *err, size_t errlen)
{
    int rc = ph__pg_load(err, errlen);
    if (rc)
        return rc;
    /* authority ends at the first '/' or '?' */
    size_t alen = strcspn(rest, "/?");
    const char *auth = rest, *after = rest + alen;
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i; /* the last '@': a password may not hold a raw one, but be kind */
    const char *hp = auth;
    if (at) {
        size_t ulen = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', ulen);
        size_t namelen = colon ? (size_t)(colon - auth) : ulen;
        if (namelen) {
            u->user = decode(auth, namelen, &rc, err, errlen, "user name");
            if (!u->user)
                return rc;
        }
        if (colon) {
            u->password = decode(colon + 1, ulen - namelen - 1, &rc, err, errlen, "password");
            if (!u->password)
                return rc;
        }
        hp = at + 1;
    }
    size_t hplen = (size_t)(after - hp);
    const char *portp = NULL;
    size_t hostlen = hplen;
    if (hplen && hp[0] == '[') {
        const char *close = memchr(hp, ']', hplen);
        if (!close)
            return fail(err, errlen, "%s", "unclosed '[' in the host of the database URL");
        hostlen = (size_t)(close - hp) + 1;
        if (hostlen < hplen) {
            if (hp[hostlen] != ':')
                return fail(err, errlen, "%s", "unexpected text after ']' in the database URL");
            portp = hp + hostlen + 1;
        }
        if (hostlen > 2) {
            u->host = decode(hp + 1, hostlen - 2, &rc, err, errlen, "host");
            if (!u->host)
                return rc;
        }
    } else {
        const char *colon = memchr(hp, ':', hplen);
        if (colon) {
            hostlen = (size_t)(colon - hp);
            portp = colon + 1;
        }
        if (hostlen) {
            u->host = decode(hp, hostlen, &rc, err, errlen, "host");
            if (!u->host)
                return rc;
        }
    }
    if (portp) {
        size_t plen = (size_t)(after - portp);
        if (plen == 0 || plen > 5 || strspn(portp, "0123456789") < plen)
            return fail(err, errlen, "%s", "the port of the database URL must be a number");
        long port = strtol(portp, NULL, 10);
        if (port < 1 || port > 65535)
            return fail(err, errlen, "%s", "the port of the database URL must be 1 to 65535");
        u->port = strndup(portp, plen);
        if (!u->port)
            return PH_ENOMEM;
    }
    const char *p = after;
    if (*p == '/') {
        p++;
        size_t dlen = strcspn(p, "?");
        if (dlen) {
            if (memchr(p, '/', dlen))
                return fail(err, errlen, "%s", "the database name in the URL holds a '/'");
            u->dbname = decode(p, dlen, &rc, err, errlen, "database name");
            if (!u->dbname)
                return rc;
        }
        p += dlen;
    }
    if (*p == '?') {
        p++;
        size_t cap = 0;
        while (*p) {
            size_t plen = strcspn(p, "&");
            const char *eq = memchr(p, '=', plen);
            if (!eq || eq == p)
                return fail(err, errlen, "%s",
                            "a parameter of the database URL is not of the form key=value");
            if (u->nparams == cap) {
                cap = cap ? cap * 2 : 4;
                char **np = realloc(u->params, cap * 2 * sizeof(char *));
                if (!np)
                    return PH_ENOMEM;
                u->params = np;
            }
            char *k = decode(p, (size_t)(eq - p), &rc, err, errlen, "parameters");
            if (!k)
                return rc;
            char *v = decode(eq + 1, plen - (size_t)(eq - p) - 1, &rc, err, errlen, "parameters");
            if (!v) {
                free(k);
                return rc;
            }
            u->params[2 * u->nparams] = k;
            u->params[2 * u->nparams + 1] = v;
            u->nparams++;
            if (!ph__pg_known_option(k))
                return fail(err, errlen, "unknown parameter '%s' in the database URL", k);
            p += plen;
            if (*p == '&')
                p++;
        }
    }
    return 0;
}

int ph_db_url_parse(const char *url, ph_db_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!url || !*url)
        return fail(err, errlen, "%s", "the database URL is empty");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(err, errlen, "%s", "the database URL holds a control character");
    const char *sep = strstr(url, "://");
    if (!sep)
        return fail(err, errlen,
                    "the database URL '%.200s' has no scheme (expected sqlite:/// or "
                    "postgresql://)",
                    url);
    size_t slen = (size_t)(sep - url);
    const char *rest = sep + 3;
    int rc;
    if (slen == 6 && strncmp(url, "sqlite", 6) == 0) {
        out->dialect = PH_DB_SQLITE;
        if (*rest == '\0') {
            out->path = strdup(":memory:"); /* sqlite:// as in SQLAlchemy */
        } else if (*rest != '/') {
            ph_db_url_free(out);
            return fail(err, errlen, "%s",
                        "a sqlite URL names no host: use sqlite:///relative.db or "
                        "sqlite:////absolute/path.db");
        } else {
            const char *path = rest + 1;
            if (*path == '\0' || strchr(path, '?')) {
                ph_db_url_free(out);
                return fail(err, errlen, "%s",
                            *path ? "a sqlite URL takes no parameters"
                                  : "the sqlite URL names no file");
            }
            out->path = strdup(path);
        }
        if (!out->path)
            return PH_ENOMEM;
        return 0;
    }
    if ((slen == 10 && strncmp(url, "postgresql", 10) == 0) ||
        (slen == 8 && strncmp(url, "postgres", 8) == 0) ||
        (slen == 19 && strncmp(url, "postgresql+psycopg2", 19) == 0)) {
        out->dialect = PH_DB_POSTGRES;
#ifdef PH_NO_POSTGRES
        (void)rc;
        return fail(err, errlen, "%s",
                    "this Phial was built without PostgreSQL (make PG=0): only sqlite:// URLs "
                    "work");
#endif
        rc = parse_pg(rest, out, err, errlen);
        if (rc)
            ph_db_url_free(out);
        return rc;
    }
    char scheme[32];
    snprintf(scheme, sizeof(scheme), "%.*s", (int)(slen < 31 ? slen : 31), url);
    return fail(err, errlen, "unsupported database scheme '%s' (expected sqlite or postgresql)",
                scheme);
}

const char *ph_db_url_resolve(const char *(*lookup)(void *ud, const char *name), void *ud)
{
    static const char *const names[] = {"DATABASE_URL", "SQLALCHEMY_DATABASE_URI"};
    if (lookup) {
        for (size_t i = 0; i < PH_COUNTOF(names); i++) {
            const char *v = lookup(ud, names[i]);
            if (v && *v)
                return v;
        }
    }
    return PH_DB_DEFAULT_URL;
}
