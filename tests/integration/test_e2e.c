/*
 * The end-to-end browser tests (tests/e2e/e2e.js: playwright-core driving
 * Debian's chromium headless at a desktop's width and at 390 px) against
 * the real server, started here on 127.0.0.1 with a fresh SQLite file --
 * under `make check-asan` the ASan build of it.  Each step the script
 * prints ("ok name" / "FAIL name: why") is counted as one test here, so
 * `make test` sums them; screenshots of every page go to $PHIAL_BUILD/e2e.
 * node, chromium and the npm package (installed by `make deps-test`) must
 * be there: a missing one is a failure naming the command that installs it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "test.h"

/* Whether the browser, node and the npm package are installed; why not in
 * why. */
static bool have_tools(const char *top, char *why, size_t n)
{
    char pkg[1024];
    snprintf(pkg, sizeof(pkg), "%s/tests/e2e/node_modules/playwright-core/package.json", top);
    if (access("/usr/bin/chromium", X_OK) != 0)
        snprintf(why, n, "/usr/bin/chromium is missing (make deps-test installs it)");
    else if (system("node --version >/dev/null 2>&1") != 0)
        snprintf(why, n, "node is missing (make deps-test installs Debian's nodejs)");
    else if (access(pkg, R_OK) != 0)
        snprintf(why, n,
                 "playwright-core is not installed in tests/e2e (make deps-test runs "
                 "npm ci there)");
    else
        return true;
    return false;
}

/* Runs the script against srv; counts its "ok" and "FAIL" lines. */
static void run_browser(const char *top, const char *build, const tc_server *srv)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && E2E_BASE=http://127.0.0.1:%d E2E_DB='%s' E2E_OUT='%s/e2e' "
             "timeout 600 node tests/e2e/e2e.js 2>&1",
             top, srv->port, srv->db_path, build);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("FAIL e2e: could not run node\n");
        ph_t_failed++;
        return;
    }
    char line[4096];
    int ok = 0, bad = 0;
    while (fgets(line, sizeof(line), p)) {
        fputs(line, stdout);
        if (strncmp(line, "ok ", 3) == 0)
            ok++;
        else if (strncmp(line, "FAIL ", 5) == 0)
            bad++;
    }
    int st = pclose(p);
    ph_t_passed += ok;
    ph_t_failed += bad;
    /* a script that stopped without saying why, or ran nothing */
    if ((st != 0 && bad == 0) || ok + bad == 0) {
        printf("FAIL e2e: node exited with %d after %d steps\n",
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, ok + bad);
        ph_t_failed++;
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *top = getenv("PHIAL_TOP");
    const char *b = getenv("PHIAL_BUILD");
    char build[1024];
    snprintf(build, sizeof(build), "%s", b && *b ? b : "build");
    if (!top || !*top)
        top = ".";
    char why[256];
    if (!have_tools(top, why, sizeof(why))) {
        printf("FAIL e2e: %s\n", why);
        ph_t_failed++;
        TEST_END();
    }
    tc_server srv;
    const char *env[] = {"ACCESS_LOG=0", NULL};
    if (tc_server_start(&srv, 2, env) != 0) {
        printf("FAIL e2e: the server did not start\n");
        ph_t_failed++;
        TEST_END();
    }
    run_browser(top, build, &srv);
    /* no sanitizer report, no crash of any worker, a clean stop */
    ph_t_checks_failed = 0;
    CHECK_INT(tc_server_stop(&srv, 20000), 0);
    if (ph_t_checks_failed) {
        printf("FAIL e2e_server_stops_clean\n");
        ph_t_failed++;
    } else {
        printf("ok   e2e_server_stops_clean\n");
        ph_t_passed++;
    }
    TEST_END();
}
