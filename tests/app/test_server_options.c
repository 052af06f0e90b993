/*
 * Unit tests of the server's option handling (src/server/server.c):
 * defaults, the environment (HOST, PORT, WORKERS, THREADS) and the command
 * line (--host/--port/--workers/--threads, with or without '='), and the
 * messages for bad values.
 */
#include <stdlib.h>
#include <string.h>

#include "phial/server.h"
#include "test.h"

static void test_defaults_and_env(void)
{
    unsetenv("HOST");
    unsetenv("PORT");
    unsetenv("WORKERS");
    unsetenv("THREADS");
    ph_server_options o;
    char err[128];
    CHECK_INT(ph_server_options_init(&o, err, sizeof(err)), 0);
    CHECK_STR(o.host, "127.0.0.1");
    CHECK_INT(o.port, 5000);
    CHECK_INT(o.workers, 0);
    CHECK_INT(o.threads, 0); /* sized from the cores when serving */
    setenv("HOST", "0.0.0.0", 1);
    setenv("PORT", "8080", 1);
    setenv("WORKERS", "3", 1);
    setenv("THREADS", "8", 1);
    CHECK_INT(ph_server_options_init(&o, err, sizeof(err)), 0);
    CHECK_STR(o.host, "0.0.0.0");
    CHECK_INT(o.port, 8080);
    CHECK_INT(o.workers, 3);
    CHECK_INT(o.threads, 8);
    setenv("PORT", "70000", 1);
    CHECK_INT(ph_server_options_init(&o, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "PORT");
    setenv("PORT", "80x", 1);
    CHECK_INT(ph_server_options_init(&o, err, sizeof(err)), PH_EINVAL);
    unsetenv("HOST");
    unsetenv("PORT");
    unsetenv("WORKERS");
    unsetenv("THREADS");
}

static void test_args(void)
{
    ph_server_options o;
    char err[128];
    ph_server_options_init(&o, err, sizeof(err));
    char *argv[] = {"--host", "::1", "--port=6000", "--workers", "2", "--threads=4", NULL};
    CHECK_INT(ph_server_options_parse(&o, 6, argv, err, sizeof(err)), 0);
    CHECK_STR(o.host, "::1");
    CHECK_INT(o.port, 6000);
    CHECK_INT(o.workers, 2);
    CHECK_INT(o.threads, 4);
    char *bad1[] = {"--port", "-1"};
    CHECK_INT(ph_server_options_parse(&o, 2, bad1, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "port");
    char *bad2[] = {"--verbose"};
    CHECK_INT(ph_server_options_parse(&o, 1, bad2, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "unknown option");
    char *bad3[] = {"--workers"};
    CHECK_INT(ph_server_options_parse(&o, 1, bad3, err, sizeof(err)), PH_EINVAL);
    char *bad4[] = {"--hostile=1"};
    CHECK_INT(ph_server_options_parse(&o, 1, bad4, err, sizeof(err)), PH_EINVAL);
    char *bad5[] = {"--threads", "many"};
    CHECK_INT(ph_server_options_parse(&o, 2, bad5, err, sizeof(err)), PH_EINVAL);
}

int main(void)
{
    RUN(test_defaults_and_env);
    RUN(test_args);
    TEST_END();
}
