/*
 * Tests of ph_app_main, the ready command line, through the tutorial
 * application's binary (whose main is a few lines around it): help and
 * usage exits, unknown commands, and `run` refusing to serve a database
 * that lacks the models' tables, naming the command that fixes it.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char db_path[128];

/* Runs `build/app ARGS` with DATABASE_URL set to the test's file; returns
 * its output (stdout + stderr, heap) and exit status. */
static char *app_cmd(const char *args, int *status)
{
    const char *build = getenv("PHIAL_BUILD");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "DATABASE_URL=sqlite:///%s %s/app %s 2>&1", db_path,
             build ? build : "build", args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char *out = calloc(1, 65536);
    size_t n = out ? fread(out, 1, 65535, p) : 0;
    (void)n;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static void test_usage_and_help(void)
{
    int st;
    char *out = app_cmd("", &st);
    CHECK_INT(st, 2);
    CHECK_CONTAINS(out, "usage:");
    free(out);
    out = app_cmd("--help", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "run");
    CHECK_CONTAINS(out, "routes");
    CHECK_CONTAINS(out, "db");
    CHECK_CONTAINS(out, "exit status");
    free(out);
    out = app_cmd("db --help", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "db create");
    CHECK_CONTAINS(out, "db list MODEL");
    free(out);
    out = app_cmd("run --help", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "--port");
    free(out);
}

static void test_unknown_command(void)
{
    int st;
    char *out = app_cmd("serve", &st);
    CHECK_INT(st, 2);
    CHECK_CONTAINS(out, "unknown command \"serve\"");
    free(out);
    out = app_cmd("run --bogus", &st);
    CHECK_INT(st, 2);
    free(out);
}

static void test_run_refuses_missing_tables(void)
{
    int st;
    unlink(db_path);
    char *out = app_cmd("run --port 1", &st);
    CHECK_INT(st, 1);
    CHECK_CONTAINS(out, "lacks the tables user,");
    CHECK_CONTAINS(out, "db create");
    free(out);
    /* the command it names works */
    out = app_cmd("db create", &st);
    CHECK_INT(st, 0);
    free(out);
    out = app_cmd("db list User", &st);
    CHECK_INT(st, 0);
    CHECK_CONTAINS(out, "[]");
    free(out);
}

int main(void)
{
    snprintf(db_path, sizeof(db_path), "/tmp/phial-main-%ld.db", (long)getpid());
    RUN(test_usage_and_help);
    RUN(test_unknown_command);
    RUN(test_run_refuses_missing_tables);
    char p[160];
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
    unlink(db_path);
    TEST_END();
}
