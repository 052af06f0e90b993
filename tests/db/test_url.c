/*
 * Tests of database URLs (every accepted form, percent-decoding, and a
 * clear message for each malformed one), of resolving the URL from a
 * configuration, of identifier quoting and of date/time text.
 */
#include "phial/db.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether a library whose file name contains name is mapped in this process. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, name) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* A libpq that cannot be loaded (PHIAL_LIBPQ naming a missing file, as a
 * machine without libpq5 would) makes a postgresql:// URL a clear error,
 * and sqlite:// URLs work.  In a child: libpq is opened once a process. */
static void test_libpq_missing(void)
{
#ifndef PH_NO_POSTGRES
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("PHIAL_LIBPQ", "/nonexistent/libpq.so.5", 1);
        ph_db_url u;
        char err[512] = "";
        int bad = ph_db_url_parse("postgresql://u@localhost/db", &u, err, sizeof(err)) == 0;
        if (!strstr(err, "PostgreSQL needs libpq") || !strstr(err, "/nonexistent/libpq.so.5"))
            bad = 1;
        printf("     %s\n", err);
        if (ph_db_url_parse("sqlite:///x.db", &u, err, sizeof(err)) != 0)
            bad = 1;
        else
            ph_db_url_free(&u);
        fflush(stdout);
        _exit(bad);
    }
    int st = -1;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#endif
}

/* libpq (and OpenSSL, Kerberos, LDAP behind it) is loaded by the first
 * postgresql:// URL, never by an application on SQLite. */
static void test_libpq_loaded_on_demand(void)
{
    ph_db_url u;
    char err[256];
    CHECK(!mapped("libpq.so"));
    CHECK_INT(ph_db_url_parse("sqlite:///registration.db", &u, err, sizeof(err)), 0);
    ph_db_url_free(&u);
    CHECK(!mapped("libpq.so"));
    CHECK(!mapped("libcrypto.so"));
#ifndef PH_NO_POSTGRES
    CHECK_INT(ph_db_url_parse("postgresql://u@localhost/db", &u, err, sizeof(err)), 0);
    ph_db_url_free(&u);
    CHECK(mapped("libpq.so"));
#endif
}

static void test_sqlite_urls(void)
{
    ph_db_url u;
    char err[256];
    CHECK_INT(ph_db_url_parse("sqlite:///registration.db", &u, err, sizeof(err)), 0);
    CHECK_INT(u.dialect, PH_DB_SQLITE);
    CHECK_STR(u.path, "registration.db");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("sqlite:////abs/path.db", &u, err, sizeof(err)), 0);
    CHECK_STR(u.path, "/abs/path.db");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("sqlite:///:memory:", &u, err, sizeof(err)), 0);
    CHECK_STR(u.path, ":memory:");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("sqlite://", &u, err, sizeof(err)), 0);
    CHECK_STR(u.path, ":memory:");
    ph_db_url_free(&u);
}

static void test_postgres_urls(void)
{
    ph_db_url u;
    char err[256];
    CHECK_INT(
        ph_db_url_parse(
            "postgresql://us%40er:p%3Ass%2Fw@db.example:6543/reg?sslmode=require&connect_timeout=3",
            &u, err, sizeof(err)),
        0);
    CHECK_INT(u.dialect, PH_DB_POSTGRES);
    CHECK_STR(u.user, "us@er");
    CHECK_STR(u.password, "p:ss/w");
    CHECK_STR(u.host, "db.example");
    CHECK_STR(u.port, "6543");
    CHECK_STR(u.dbname, "reg");
    CHECK_INT(u.nparams, 2);
    CHECK_STR(u.params[0], "sslmode");
    CHECK_STR(u.params[1], "require");
    CHECK_STR(u.params[3], "3");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("postgres://localhost/db", &u, err, sizeof(err)), 0);
    CHECK(u.user == NULL && u.password == NULL && u.port == NULL);
    CHECK_STR(u.host, "localhost");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("postgresql://[::1]:5432/x", &u, err, sizeof(err)), 0);
    CHECK_STR(u.host, "::1");
    CHECK_STR(u.port, "5432");
    ph_db_url_free(&u);
    CHECK_INT(ph_db_url_parse("postgresql://", &u, err, sizeof(err)), 0);
    CHECK(u.host == NULL && u.dbname == NULL);
    ph_db_url_free(&u);
}

static void bad(const char *url, const char *words)
{
    ph_db_url u;
    char err[256] = "";
    CHECK_INT(ph_db_url_parse(url, &u, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, words);
    ph_db_url_free(&u);
}

static void test_malformed_urls(void)
{
    bad("", "empty");
    bad("registration.db", "no scheme");
    bad("mysql://x/y", "unsupported database scheme 'mysql'");
    bad("sqlite://host/x.db", "names no host");
    bad("sqlite:///", "names no file");
    bad("sqlite:///x.db?mode=ro", "no parameters");
    bad("postgresql://u@h:port/db", "port");
    bad("postgresql://u@h:99999/db", "1 to 65535");
    bad("postgresql://u%zz@h/db", "percent-escape in the user name");
    bad("postgresql://u:p%4@h/db", "percent-escape in the password");
    bad("postgresql://u@h/db?sslmode", "key=value");
    bad("postgresql://u@h/db?bogus=1", "unknown parameter 'bogus'");
    bad("postgresql://u@[::1/db", "unclosed '['");
    bad("postgresql://u@h/a/b", "holds a '/'");
    bad("postgresql://u@h/d%00b", "percent-escape");
    bad("sqlite:///a\nb", "control character");
    /* ph_db_open reports the same and makes no handle */
    ph_db *db = (ph_db *)1;
    char err[256];
    ph_db_config cfg = {.url = "nope"};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), PH_EINVAL);
    CHECK(db == NULL);
    ph_db_config cfg2 = {.url = "sqlite:///:memory:", .synchronous = "sometimes"};
    CHECK_INT(ph_db_open(&cfg2, &db, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "synchronous");
    /* NULL err buffers are fine */
    ph_db_url u;
    CHECK_INT(ph_db_url_parse("x", &u, NULL, 0), PH_EINVAL);
}

typedef struct env {
    const char *names[2];
    const char *values[2];
} env;

static const char *lookup(void *ud, const char *name)
{
    env *e = ud;
    for (int i = 0; i < 2; i++)
        if (e->names[i] && strcmp(e->names[i], name) == 0)
            return e->values[i];
    return NULL;
}

static void test_resolve(void)
{
    env none = {{NULL, NULL}, {NULL, NULL}};
    CHECK_STR(ph_db_url_resolve(lookup, &none), "sqlite:///registration.db");
    CHECK_STR(ph_db_url_resolve(NULL, NULL), "sqlite:///registration.db");
    env tut = {{"SQLALCHEMY_DATABASE_URI", NULL}, {"sqlite:///t.db", NULL}};
    CHECK_STR(ph_db_url_resolve(lookup, &tut), "sqlite:///t.db");
    env both = {{"SQLALCHEMY_DATABASE_URI", "DATABASE_URL"},
                {"sqlite:///t.db", "postgresql://x/y"}};
    CHECK_STR(ph_db_url_resolve(lookup, &both), "postgresql://x/y");
    env empty = {{"DATABASE_URL", NULL}, {"", NULL}};
    CHECK_STR(ph_db_url_resolve(lookup, &empty), "sqlite:///registration.db");
}

static void test_identifiers(void)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    ph_db_put_ident(&b, "user");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident(&b, "we\"ird");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident_min(&b, PH_DB_POSTGRES, "user");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident_min(&b, PH_DB_SQLITE, "user");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident_min(&b, PH_DB_SQLITE, "order");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident_min(&b, PH_DB_SQLITE, "Mixed");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident_min(&b, PH_DB_POSTGRES, "pet_name");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident(&b, "\"a\"\"");
    ph_buf_putc(&b, ' ');
    ph_db_put_ident(&b, "");
    CHECK_STR(b.ptr, "\"user\" \"we\"\"ird\" \"user\" user \"order\" \"Mixed\" pet_name "
                     "\"\"\"a\"\"\"\"\" \"\"");
    ph_buf_free(&b);
}

static void test_datetime_text(void)
{
    char t[40];
    int64_t us;
    int32_t d;
    CHECK_INT(ph_datetime_parse("1970-01-01 00:00:00", 19, &us), 0);
    CHECK_INT(us, 0);
    CHECK_INT(ph_datetime_parse("2026-11-28T13:00:00.5", 21, &us), 0);
    ph_datetime_format(us, t, sizeof(t));
    CHECK_STR(t, "2026-11-28 13:00:00.500000");
    CHECK_INT(ph_datetime_parse("1969-12-31 23:59:59.999999", 26, &us), 0);
    CHECK_INT(us, -1);
    ph_datetime_format(-1, t, sizeof(t));
    CHECK_STR(t, "1969-12-31 23:59:59.999999");
    CHECK_INT(ph_datetime_parse("2024-02-30 00:00:00", 19, &us), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("2023-02-29", 10, &us), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("2024-01-01 25:00", 16, &us), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("2024-01-01 x", 12, &us), PH_EINVAL);
    CHECK_INT(ph_date_parse("2000-03-01", 10, &d), 0);
    ph_date_format(d, t, sizeof(t));
    CHECK_STR(t, "2000-03-01");
    CHECK_INT(ph_date_parse("2000-03-01 00:00", 16, &d), PH_EINVAL);
    /* years 0001-9999, also after a UTC offset (found by fuzz_values: year
       0 at +05 came back as a year -1 that could not be read again) */
    CHECK_INT(ph_date_parse("0000-01-01", 10, &d), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("0000-01-01T00:00+05", 19, &us), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("0001-01-01T00:00+05", 19, &us), PH_EINVAL);
    CHECK_INT(ph_datetime_parse("0001-01-01T05:00+05", 19, &us), 0);
    ph_datetime_format(us, t, sizeof(t));
    CHECK_STR(t, "0001-01-01 00:00:00.000000");
    CHECK_INT(ph_datetime_parse("9999-12-31T23:59:59.999999", 26, &us), 0);
    ph_datetime_format(us, t, sizeof(t));
    CHECK_STR(t, "9999-12-31 23:59:59.999999");
    CHECK_INT(ph_datetime_parse("9999-12-31T23:00-05", 19, &us), PH_EINVAL);
}

int main(void)
{
    RUN(test_libpq_missing);
    RUN(test_libpq_loaded_on_demand); /* before any PostgreSQL URL */
    RUN(test_sqlite_urls);
    RUN(test_postgres_urls);
    RUN(test_malformed_urls);
    RUN(test_resolve);
    RUN(test_identifiers);
    RUN(test_datetime_text);
    TEST_END();
}
