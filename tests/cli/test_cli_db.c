/*
 * Tests of `app db ...` (ph_cli_db) on SQLite and PostgreSQL: models,
 * create, add, list, drop, the usage and error exits, and interoperability
 * with Flask-SQLAlchemy: a registration.db written by the Flask peer's
 * models is listed and extended by Phial, and Flask reads back what Phial
 * added (tests/cli/flask_interop.py, run with /usr/bin/python3).
 */
#include "phial/cli.h"
#include "phial/db.h"
#include "phial/orm.h"
#include "test.h"

#include "../../app/models.h"

#include <fcntl.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    if (f && buf) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
    }
    if (f)
        fclose(f);
    return buf;
}

typedef struct result {
    int status;
    char *out, *err;
} result;

/* Runs ph_cli_db with stdout/stderr captured and stdin from /dev/null. */
static result cli(const char *url, int argc, char **argv)
{
    const char *dir = getenv("PHIAL_BUILD");
    char o[512], e[512];
    snprintf(o, sizeof(o), "%s/phial-cli-%ld.out", dir && *dir ? dir : "/tmp", (long)getpid());
    snprintf(e, sizeof(e), "%s/phial-cli-%ld.err", dir && *dir ? dir : "/tmp", (long)getpid());
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2), si = dup(0);
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fi = open("/dev/null", O_RDONLY);
    dup2(fo, 1);
    dup2(fe, 2);
    dup2(fi, 0);
    result r;
    r.status = ph_cli_db(url, app_models, app_nmodels, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    dup2(si, 0);
    close(so);
    close(se);
    close(si);
    close(fo);
    close(fe);
    close(fi);
    r.out = slurp(o);
    r.err = slurp(e);
    unlink(o);
    unlink(e);
    return r;
}

static void done(result *r)
{
    free(r->out);
    free(r->err);
}

#define CLI(url, ...)                                                                              \
    cli((url), (int)PH_COUNTOF(((char *[]){__VA_ARGS__})), (char *[]){__VA_ARGS__})

static void temp_db(char *out, size_t len, const char *name)
{
    const char *dir = getenv("PHIAL_BUILD");
    snprintf(out, len, "%s/phial-cli-%ld-%s", dir && *dir ? dir : "/tmp", (long)getpid(), name);
    unlink(out);
}

static void rm_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static void test_models(void)
{
    result r = CLI("sqlite:///:memory:", "models");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "User (table user)");
    CHECK_CONTAINS(r.out, "username");
    CHECK_CONTAINS(r.out, "VARCHAR(100) NOT NULL");
    CHECK_CONTAINS(r.out, "World (table world)");
    CHECK_CONTAINS(r.out, "DEFAULT 0");
    CHECK_CONTAINS(r.out, "Fortune (table fortune)");
    done(&r);
}

static void session_on(const char *url)
{
    result r = CLI(url, "drop", "--yes");
    CHECK_INT(r.status, 0);
    done(&r);
    r = CLI(url, "create");
    CHECK_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "created 10 tables: user, world, fortune, pethandler, petcategory, "
                          "petcomment, handlerprofile, tag, pet_tag, contact\n");
    done(&r);
    r = CLI(url, "create");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "nothing to create: all 10 tables exist\n");
    done(&r);
    r = CLI(url, "add", "User", "username=Demo User", "user_email=demouser@gmail.com",
            "user_password=secret");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "1\n");
    done(&r);
    r = CLI(url, "add", "User", "username=Zoë", "user_email=z@example.com", "user_password=x");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "2\n");
    done(&r);
    r = CLI(url, "list", "User");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "[<User 1>, <User 2>]\n");
    done(&r);
    r = CLI(url, "list", "User", "--columns", "username");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "Demo User\nZoë\n");
    done(&r);
    r = CLI(url, "list", "user", "--columns", "id,username,user_email");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "1\tDemo User\tdemouser@gmail.com\n2\tZoë\tz@example.com\n");
    done(&r);
    r = CLI(url, "add", "World", "randomnumber=42");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "1\n");
    done(&r);
    r = CLI(url, "add", "World");
    CHECK_INT(r.status, 0); /* randomnumber defaults to 0 */
    done(&r);
    r = CLI(url, "list", "World", "--columns", "randomnumber");
    CHECK_STR(r.out, "42\n0\n");
    done(&r);

    /* errors: usage (2) and failures (1), nothing written */
    r = CLI(url, "add", "User", "username=x", "user_email=y");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "User needs a value for column (NOT NULL, no default): user_password;");
    done(&r);
    r = CLI(url, "add", "User");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "User needs values for columns (NOT NULL, no default): "
                          "username, user_email, user_password;");
    done(&r);
    r = CLI(url, "add", "User", "username=a", "user_email=b", "username=c", "user_password=d");
    CHECK_INT(r.status, 2);
    CHECK_STR(r.err, "db add: column username given twice\n");
    done(&r);
    r = CLI(url, "add", "World", "randomnumber=4294967296");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "not a valid INTEGER for World.randomnumber");
    done(&r);
    char longname[160];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "username=", 9);
    longname[9 + 101] = '\0';
    r = CLI(url, "add", "User", longname, "user_email=y", "user_password=z");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "too long for user.username: 101 characters, String(100) allows 100");
    done(&r);
    longname[9 + 100] = '\0'; /* 100 fits */
    r = CLI(url, "add", "User", longname, "user_email=y", "user_password=z");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "3\n");
    done(&r);
    /* what the database refuses is 1 (a duplicate primary key here) */
    r = CLI(url, "add", "User", "id=3", "username=d", "user_email=y", "user_password=z");
    CHECK_INT(r.status, 1);
    done(&r);
    r = CLI(url, "add", "World", "randomnumber=lots");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "not a valid INTEGER");
    done(&r);
    r = CLI(url, "add", "User", "nick=x");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "no column 'nick'");
    done(&r);
    r = CLI(url, "add", "User", "username");
    CHECK_INT(r.status, 2);
    done(&r);
    r = CLI(url, "list", "Pet");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "unknown model 'Pet'");
    done(&r);
    r = CLI(url, "list", "User", "--columns", "username,nope");
    CHECK_INT(r.status, 2);
    CHECK_STR(r.out, "");
    CHECK_STR(r.err, "db list: User has no column 'nope' (columns: id, username, user_email, "
                     "user_password)\n");
    done(&r);
    r = CLI(url, "list", "User", "--columns", "");
    CHECK_INT(r.status, 2);
    CHECK_STR(r.out, "");
    CHECK_CONTAINS(r.err, "--columns is empty; name one or more of: id, username");
    done(&r);
    r = CLI(url, "list", "User", "--columns=");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--columns is empty");
    done(&r);
    r = CLI(url, "list", "User", "--columns", "username,");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "an empty name in --columns 'username,'");
    done(&r);
    r = CLI(url, "list", "User", "--columns", "id,,username");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "an empty name");
    done(&r);
    r = CLI(url, "frobnicate");
    CHECK_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "unknown command");
    done(&r);
    r = CLI(url, "list", "User");
    CHECK_STR(r.out, "[<User 1>, <User 2>, <User 3>]\n");
    done(&r);
    /* drop: refused without a terminal and without --yes */
    r = CLI(url, "drop");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "--yes");
    done(&r);
    r = CLI(url, "drop", "--yes");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "dropped 10 tables: user, world, fortune, pethandler, petcategory, "
                     "petcomment, handlerprofile, tag, pet_tag, contact\n");
    done(&r);
    r = CLI(url, "drop", "--yes");
    CHECK_INT(r.status, 0);
    CHECK_STR(r.out, "nothing to drop: none of the 10 tables exists\n");
    done(&r);
    r = CLI(url, "list", "User");
    CHECK_INT(r.status, 1);
    done(&r);
}

static void test_session_sqlite(void)
{
    char path[512], url[600];
    temp_db(path, sizeof(path), "cli.db");
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    session_on(url);
    rm_db(path);
}

static void test_session_pg(void)
{
    session_on(getenv("PHIAL_TEST_PG_URL"));
}

static void test_bad_url(void)
{
    result r = CLI("mysql://x/y", "create");
    CHECK_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "unsupported database scheme");
    done(&r);
    r = cli("sqlite:///:memory:", 0, NULL);
    CHECK_INT(r.status, 2);
    done(&r);
}

static int python(const char *cmd, const char *path, char **out)
{
    const char *top = getenv("PHIAL_TOP");
    char line[2048];
    snprintf(line, sizeof(line), "/usr/bin/python3 %s/tests/cli/flask_interop.py %s '%s' 2>&1",
             top && *top ? top : ".", cmd, path);
    FILE *p = popen(line, "r");
    char *buf = calloc(1, 65536);
    size_t n = p && buf ? fread(buf, 1, 65535, p) : 0;
    if (buf)
        buf[n] = '\0';
    *out = buf;
    return p ? pclose(p) : -1;
}

static void test_flask_interop(void)
{
    char path[512], url[600];
    temp_db(path, sizeof(path), "registration.db");
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    char *py;
    CHECK_INT(python("create", path, &py), 0);
    free(py);
    /* the table Flask made is the table Phial would make */
    ph_db *db;
    char err[200];
    ph_db_config cfg = {.url = url};
    CHECK_INT(ph_db_open(&cfg, &db, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(db);
    ph_db_rows r;
    CHECK_INT(ph_db_query(c, "SELECT sql FROM sqlite_master WHERE name = 'user'", NULL, 0, &r), 0);
    CHECK_INT(ph_db_rows_next(&r), 1);
    size_t len;
    char *theirs = strdup(ph_db_rows_text(&r, 0, &len));
    ph_db_rows_close(&r);
    ph_buf mine;
    ph_buf_init(&mine, NULL);
    ph_orm_ddl(PH_DB_SQLITE, &User_model, &mine);
    CHECK(mine.len > 3);
    mine.ptr[mine.len - 2] = '\0'; /* without ";\n" */
    CHECK_STR(theirs, mine.ptr);
    free(theirs);
    ph_buf_free(&mine);
    ph_db_conn_free(c);
    ph_db_close(db);

    result res = CLI(url, "create"); /* Flask made user only: the other 8 are added */
    CHECK_INT(res.status, 0);
    CHECK_STR(res.out, "created 9 tables: world, fortune, pethandler, petcategory, petcomment, "
                       "handlerprofile, tag, pet_tag, contact\n");
    done(&res);
    res = CLI(url, "list", "User");
    CHECK_INT(res.status, 0);
    CHECK_STR(res.out, "[<User 1>, <User 2>]\n");
    done(&res);
    res = CLI(url, "list", "User", "--columns", "username");
    CHECK_STR(res.out, "Alice\nBob\n");
    done(&res);
    res = CLI(url, "add", "User", "username=Demo User", "user_email=demouser@gmail.com",
              "user_password=pw3");
    CHECK_INT(res.status, 0);
    CHECK_STR(res.out, "3\n");
    done(&res);
    CHECK_INT(python("list", path, &py), 0);
    CHECK_STR(py, "1\tAlice\talice@example.com\n2\tBob\tbob@example.com\n"
                  "3\tDemo User\tdemouser@gmail.com\n");
    free(py);
    rm_db(path);
}

int main(void)
{
    RUN(test_models);
    RUN(test_session_sqlite);
    RUN(test_bad_url);
    RUN(test_flask_interop);
    if (getenv("PHIAL_TEST_PG_URL") && *getenv("PHIAL_TEST_PG_URL"))
        RUN(test_session_pg);
    else
        SKIP(test_session_pg, "PHIAL_TEST_PG_URL is not set");
    TEST_END();
}
