/*
 * The database settings of the config (SQLITE_BUSY_TIMEOUT_MS,
 * SQLITE_WAL_TRUNCATE_PAGES, DATABASE_CONNECT_TIMEOUT,
 * DATABASE_STATEMENT_TIMEOUT_MS): a value that is not a whole number in
 * range stops ph_app_use_database with PH_EINVAL and a message naming the
 * key and the value; good values and the defaults are accepted.
 */
#include "phial/app.h"
#include "test.h"

static int use_db(const char *key, const char *value, char *err, size_t errlen)
{
    ph_app *app = ph_app_new("cfg");
    if (!app)
        return PH_ENOMEM;
    ph_app_config_set(app, "DATABASE_URL", "sqlite:///:memory:");
    if (key)
        ph_app_config_set(app, key, value);
    err[0] = '\0';
    int rc = ph_app_use_database(app, err, errlen);
    ph_app_free(app);
    return rc;
}

static void db_config_bad_values_refused(void)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"DATABASE_STATEMENT_TIMEOUT_MS", "abc"},   {"DATABASE_STATEMENT_TIMEOUT_MS", "-2"},
        {"DATABASE_STATEMENT_TIMEOUT_MS", "5s"},    {"DATABASE_STATEMENT_TIMEOUT_MS", "9999999999"},
        {"DATABASE_CONNECT_TIMEOUT", "-1"},         {"DATABASE_CONNECT_TIMEOUT", "3601"},
        {"SQLITE_BUSY_TIMEOUT_MS", "1.5"},          {"SQLITE_BUSY_TIMEOUT_MS", "0x10"},
        {"SQLITE_WAL_TRUNCATE_PAGES", "lots"},      {"SQLITE_WAL_TRUNCATE_PAGES", "-5"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256];
        int rc = use_db(bad[i].key, bad[i].value, err, sizeof(err));
        if (rc != PH_EINVAL || !strstr(err, bad[i].key))
            printf("  %s=%s: %d %s\n", bad[i].key, bad[i].value, rc, err);
        CHECK_INT(rc, PH_EINVAL);
        CHECK_CONTAINS(err, bad[i].key);
    }
}

static void db_config_good_values_accepted(void)
{
    static const struct {
        const char *key, *value;
    } good[] = {
        {NULL, NULL},
        {"DATABASE_STATEMENT_TIMEOUT_MS", "1500"},
        {"DATABASE_STATEMENT_TIMEOUT_MS", "-1"},
        {"DATABASE_CONNECT_TIMEOUT", "2"},
        {"SQLITE_BUSY_TIMEOUT_MS", "0"},
        {"SQLITE_WAL_TRUNCATE_PAGES", "-1"},
        {"SQLITE_WAL_TRUNCATE_PAGES", "250"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char err[256];
        int rc = use_db(good[i].key, good[i].value, err, sizeof(err));
        if (rc != 0)
            printf("  %s=%s: %s\n", good[i].key, good[i].value, err);
        CHECK_INT(rc, 0);
    }
}

int main(void)
{
    RUN(db_config_bad_values_refused);
    RUN(db_config_good_values_accepted);
    TEST_END();
}
