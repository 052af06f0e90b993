/*
 * Phial as a package, used the way a new user would: `make install` into a
 * temporary prefix, `phial new demo` there, the new application built with
 * only the installed headers, library and pkg-config (its own `make test`
 * passes, and it serves a page), the exported symbols of the installed
 * shared library, `make uninstall`, DESTDIR staging, and the tutorial
 * application started from another current directory (embedded files, and
 * with DEBUG from the folders next to the binary).  Also: after the build
 * `make -q` has nothing left to do.
 *
 * Needs PHIAL_TOP and PHIAL_BUILD (tests/run.sh sets them); built with the
 * sanitizers, the demo is built with them too.
 */
#include "phial/core.h"
#include "phial/version.h"
#include "proc.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* make in the tree is called with the variables of the build under test
 * (make check-asan's), so that nothing is rebuilt differently */
#if defined(__SANITIZE_ADDRESS__)
#define DEMO_CFLAGS "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
#define MAKE_VARS "SAN=1 OPT='-O1 -g'"
#else
#define DEMO_CFLAGS "-O1 -g"
#define MAKE_VARS ""
#endif

static char top[512], build[512], tmp[256], prefix[300];

/* Starts argv (with the extra environment) in dir on port; waits until it
 * answers.  The pid, or -1. */
static pid_t serve(const char *dir, char *const argv[], const char *const *env, int port)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(127);
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        setenv("PORT", p, 1);
        setenv("WORKERS", "1", 1);
        setenv("ACCESS_LOG", "0", 1);
        setenv("ALLOW_ROOT", "1", 1); /* the suite may run as root */
        setenv("LOG_LEVEL", "warn", 1);
        for (size_t i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    char buf[256];
    for (int i = 0; pid > 0 && i < 200; i++) { /* up to 10 s under the sanitizers */
        if (pt_http_get(port, "/", buf, sizeof(buf)) == 0)
            return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static int stop(pid_t pid)
{
    int st = 0;
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *header_end(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* exe's tables created in db, then exe served, both from / (not its
 * folder).  The server's pid (its port in *port), or -1. */
static pid_t create_and_serve(char *exe, const char *db, int *port)
{
    char *out = NULL;
    int rc = pt_sh(&out, "cd / && DATABASE_URL='%s' '%s' db create", db, exe);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "  %s db create:\n%s\n", exe, out ? out : "");
    free(out);
    *port = pt_free_port();
    char *argv[] = {exe, "run", NULL};
    const char *env[] = {"DATABASE_URL", db, NULL};
    pid_t pid = serve("/", argv, env, *port);
    CHECK(pid > 0);
    return pid;
}

/* ---- tests ------------------------------------------------------------------------------- */

static bool installed;

static void test_install(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "make -s -C '%s' " MAKE_VARS " BUILD='%s' PREFIX='%s' install", top,
             build, prefix);
    CHECK_INT(pt_run_ok("make install", cmd), 0);
    static const char *const files[] = {
        "include/phial/phial.h", "include/phial/testing.h", "lib/libphial.a", "lib/libphial.so",
        "lib/libphial.so.0",     "lib/pkgconfig/phial.pc",  "bin/phial",      "bin/phial-render",
        "bin/phial-embed",
    };
    installed = true;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", prefix, files[i]);
        if (stat(p, &st) != 0) {
            fprintf(stderr, "  not installed: %s\n", files[i]);
            installed = false;
        }
    }
    CHECK(installed);
    /* the soname a program records, and pkg-config's answers */
    char *out = NULL;
    pt_sh(&out, "objdump -p '%s/lib/libphial.so' | grep SONAME", prefix);
    CHECK_CONTAINS(out, "libphial.so.0");
    free(out);
    pt_sh(&out, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --cflags --libs phial", prefix);
    char want[600];
    snprintf(want, sizeof(want), "-I%s/include", prefix);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, "-lphial");
    free(out);
    pt_sh(&out, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --print-requires-private phial",
          prefix);
    CHECK_CONTAINS(out, "sqlite3");
    CHECK(out && !strstr(out, "jansson"));
    free(out);
    /* one version: the headers' macros, the library, phial.pc, the soname */
    char ver[32];
    snprintf(ver, sizeof(ver), "%d.%d.%d", PHIAL_VERSION_MAJOR, PHIAL_VERSION_MINOR,
             PHIAL_VERSION_PATCH);
    CHECK_STR(ver, PHIAL_VERSION_STRING);
    CHECK_STR(ph_version(), PHIAL_VERSION_STRING);
    CHECK(PHIAL_VERSION_NUMBER > 0);
    pt_sh(&out, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --modversion phial", prefix);
    CHECK_CONTAINS(out, PHIAL_VERSION_STRING "\n");
    free(out);
    snprintf(ver, sizeof(ver), "lib/libphial.so.%s", PHIAL_VERSION_STRING);
    CHECK_INT(pt_sh(NULL, "test -f '%s/%s'", prefix, ver), 0);
    /* json_t is in the API: an app calling jansson gets it from phial */
    pt_sh(&out, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --print-requires phial", prefix);
    CHECK_CONTAINS(out, "jansson");
    free(out);
}

/* Only the public API leaves the shared library; every public header
 * marks its declarations for export. */
static void test_exports(void)
{
    char *out = NULL;
    int rc = pt_sh(&out, "nm -D --defined-only '%s/lib/libphial.so' | awk '{print $3}'", prefix);
    CHECK_INT(rc, 0);
    size_t total = 0, internal = 0, foreign = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        total++;
        if (strncmp(line, "ph__", 4) == 0) {
            internal++;
            fprintf(stderr, "  exported internal symbol: %s\n", line);
        } else if (strncmp(line, "ph_", 3) != 0 && strncmp(line, "_", 1) != 0) {
            foreign++;
            fprintf(stderr, "  exported non-Phial symbol: %s\n", line);
        }
    }
    free(out);
    CHECK(total > 100); /* the public API is there */
    CHECK_INT(internal, 0);
    CHECK_INT(foreign, 0);
    /* the test client's and the version's entry points among them */
    rc = pt_sh(&out,
               "nm -D --defined-only '%s/lib/libphial.so' | grep -cE ' "
               "(ph_test_client_open|ph_version|ph_app_use_folders|ph_embed_find)$'",
               prefix);
    CHECK_CONTAINS(out, "4");
    free(out);
    rc = pt_sh(&out, "cd '%s/include/phial' && grep -L PH_API_BEGIN *.h", top);
    CHECK(out && out[0] == '\0');
    if (out && *out)
        fprintf(stderr, "  public headers without PH_API_BEGIN: %s\n", out);
    free(out);
}

/* `make run` in the new app, as its README says, with no configuration at
 * all (no SECRET_KEY): it serves its page, keeping a key made once in
 * instance/secret_key that only its owner can read.  make and the server
 * run in a process group of their own, stopped together. */
static void make_run_as_a_user(void)
{
    int port = pt_free_port();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        char dir[600], p[16], pc[600];
        snprintf(dir, sizeof(dir), "%s/demo", tmp);
        snprintf(p, sizeof(p), "%d", port);
        snprintf(pc, sizeof(pc), "%s/lib/pkgconfig", prefix);
        if (chdir(dir) != 0)
            _exit(127);
        unsetenv("SECRET_KEY");
        setenv("PORT", p, 1);
        setenv("WORKERS", "1", 1);
        setenv("ACCESS_LOG", "0", 1);
        setenv("PKG_CONFIG_PATH", pc, 1);
        int devnull = open("/dev/null", O_WRONLY);
        int log = open("make-run.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (devnull >= 0)
            dup2(devnull, 1);
        if (log >= 0)
            dup2(log, 2); /* shown when no page came */
        execlp("make", "make", "-s", "run", (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    setpgid(pid, pid); /* also here: no race with the child's own call */
    char resp[16384];
    int got = -1;
    for (int i = 0; i < 400 && got != 0; i++) { /* up to 20 s */
        if ((got = pt_http_get(port, "/", resp, sizeof(resp))) != 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    CHECK_INT(got, 0);
    if (got != 0) {
        char *log = NULL;
        pt_sh(&log, "cat '%s/demo/make-run.log'", tmp);
        fprintf(stderr, "  make run served nothing:\n%s\n", log ? log : "");
        free(log);
    }
    if (got == 0) {
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        CHECK_CONTAINS(header_end(resp), "Hello from demo");
    }
    kill(-pid, SIGTERM);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 200 && kill(-pid, 0) == 0; i++) { /* the server drains, then exits */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (kill(-pid, 0) == 0) {
        fprintf(stderr, "  make run: the server outlived SIGTERM\n");
        kill(-pid, SIGKILL);
        CHECK(false);
    }
    char key[700];
    struct stat st;
    snprintf(key, sizeof(key), "%s/demo/instance/secret_key", tmp);
    CHECK_INT(stat(key, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(pt_sh(NULL, "grep -qx '/instance/' '%s/demo/.gitignore'", tmp), 0);
}

/* The demo's templates and static files changed on disk after the build:
 * without DEBUG the binary serves its embedded copies; with DEBUG=1 it
 * reads the folders next to it (from any current directory) and a
 * template changed while it runs is recompiled on the next request. */
static void served_from_disk_with_debug(char *exe, const char *db)
{
    char resp[16384];
    CHECK_INT(pt_sh(NULL,
                    "cd '%s/demo' && sed -i 's/Hello from demo/Hello from disk/' "
                    "templates/index.html && echo '.disk { color: red; }' >> static/style.css",
                    tmp),
              0);
    for (int debug = 0; debug < 2; debug++) {
        int port = pt_free_port();
        char *argv[] = {exe, "run", NULL};
        const char *env[] = {"DATABASE_URL", db, "DEBUG", debug ? "1" : "0", NULL};
        pid_t pid = serve("/", argv, env, port);
        CHECK(pid > 0);
        if (pid <= 0)
            continue;
        CHECK_INT(pt_http_get(port, "/", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(header_end(resp), debug ? "Hello from disk" : "Hello from demo");
        CHECK_INT(pt_http_get(port, "/static/style.css", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        CHECK(debug ? strstr(resp, ".disk") != NULL : strstr(resp, ".disk") == NULL);
        if (debug) {
            /* changed while serving: a newer modification time, no sleep */
            CHECK_INT(pt_sh(NULL,
                            "cd '%s/demo/templates' && sed -i 's/Hello from disk/Hello again/' "
                            "index.html && touch -d '+5 seconds' index.html",
                            tmp),
                      0);
            CHECK_INT(pt_http_get(port, "/", resp, sizeof(resp)), 0);
            CHECK_CONTAINS(header_end(resp), "Hello again");
        }
        CHECK_INT(stop(pid), 0);
    }
}

/* `phial new demo`, built with pkg-config alone, passes its own tests and
 * serves its page from another directory. */
static void test_new_app(void)
{
    if (!installed) {
        CHECK(installed);
        return;
    }
    char *out = NULL;
    int rc = pt_sh(&out, "cd '%s' && env -u PKG_CONFIG_PATH '%s/bin/phial' new demo", tmp, prefix);
    CHECK_INT(rc, 0);
    CHECK_CONTAINS(out, "make run");
    /* the prefix is not one pkg-config searches: the next steps say so */
    char hint[400];
    snprintf(hint, sizeof(hint), "export PKG_CONFIG_PATH=%s/lib/pkgconfig", prefix);
    CHECK_CONTAINS(out, hint);
    free(out);
    /* no path into the source tree: only the prefix, found by pkg-config */
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s/demo' && PKG_CONFIG_PATH='%s/lib/pkgconfig' make -s CFLAGS='%s' all test", tmp,
             prefix, DEMO_CFLAGS);
    rc = pt_sh(&out, "%s", cmd);
    CHECK_INT(rc, 0);
    CHECK_CONTAINS(out, "5 passed, 0 failed");
    if (rc != 0)
        fprintf(stderr, "%s\n", out ? out : "");
    free(out);
    rc = pt_sh(&out, "grep -rl '%s' '%s/demo/Makefile' '%s/demo/src' '%s/demo/build/demo'", top,
               tmp, tmp, tmp);
    CHECK(rc != 0); /* the source tree is named nowhere */
    free(out);
    /* linked statically as docs/deployment.md says: its command, run on
     * the demo's objects, gives a binary that needs no libphial.so */
    rc = pt_sh(&out,
               "cd '%s/demo' && export PKG_CONFIG_PATH='%s/lib/pkgconfig' && "
               "cc -std=c11 %s $(pkg-config --cflags phial) -c src/main.c -o build/main.o && "
               "cmd=$(awk 'index($0, \"cc -o build/app build/\") == 1 {p = 1} "
               "p && /^```/ {exit} p' '%s/docs/deployment.md' | tr -d '\\\\\\n') && "
               "[ -n \"$cmd\" ] && "
               "cmd=$(echo \"$cmd\" | sed 's|^cc -o build/app|cc %s -o build/demo-static|') && "
               "eval \"$cmd\" && readelf -d build/demo-static | grep NEEDED && "
               "./build/demo-static routes",
               tmp, prefix, DEMO_CFLAGS, top, DEMO_CFLAGS);
    CHECK_INT(rc, 0);
    CHECK(out && !strstr(out, "libphial"));
    CHECK_CONTAINS(out, "index");
    if (rc != 0)
        fprintf(stderr, "  static link:\n%s\n", out ? out : "");
    free(out);
    /* refused: a second `new` over it, a name that is no C identifier */
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new demo", tmp, prefix), 1);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new 'my-app'", tmp, prefix), 2);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new", tmp, prefix), 2);
    CHECK_INT(pt_sh(NULL, "test -e '%s/my-app'", tmp), 1);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new Demo", tmp, prefix), 2);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new a234567890123456789012345678901234567890x",
                    tmp, prefix),
              2); /* 41 characters */
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new q --dir", tmp, prefix), 2);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' new q extra", tmp, prefix), 2);
    CHECK_INT(pt_sh(NULL, "cd '%s' && '%s/bin/phial' bogus", tmp, prefix), 2);
    /* --dir: a parent that exists, one that does not (nothing left behind) */
    CHECK_INT(pt_sh(NULL, "cd / && '%s/bin/phial' new q --dir '%s/nosuch'", prefix, tmp), 1);
    CHECK_INT(pt_sh(NULL, "test -e '%s/nosuch'", tmp), 1);
    CHECK_INT(pt_sh(NULL,
                    "mkdir '%s/sub' && cd / && '%s/bin/phial' new q --dir '%s/sub' && "
                    "test -f '%s/sub/q/src/main.c' && ! ls -A '%s/sub' | grep -v '^q$'",
                    tmp, prefix, tmp, tmp, tmp),
              0);
    /* a file in the way: refused, untouched */
    CHECK_INT(pt_sh(NULL,
                    "cd '%s' && echo keep > afile && '%s/bin/phial' new afile; rc=$?; "
                    "[ \"$(cat afile)\" = keep ] && exit $rc",
                    tmp, prefix),
              1);
    rc = pt_sh(&out, "'%s/bin/phial' version", prefix);
    CHECK_INT(rc, 0);
    CHECK_CONTAINS(out, "phial " PHIAL_VERSION_STRING);
    free(out);
    rc = pt_sh(&out, "'%s/bin/phial' --help", prefix);
    CHECK_INT(rc, 0);
    CHECK_CONTAINS(out, "usage: phial new NAME");
    free(out);

    /* served from / (not the app folder): tables, then a page and a file */
    char db[600], exe[600];
    snprintf(db, sizeof(db), "sqlite:///%s/demo.db", tmp);
    snprintf(exe, sizeof(exe), "%s/demo/build/demo", tmp);
    int port;
    pid_t pid = create_and_serve(exe, db, &port);
    char resp[16384];
    if (pid > 0) {
        CHECK_INT(pt_http_get(port, "/", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        CHECK_CONTAINS(header_end(resp), "Hello from demo");
        CHECK_INT(pt_http_get(port, "/static/style.css", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        CHECK_CONTAINS(resp, "text/css");
        CHECK_INT(stop(pid), 0);
    }
    make_run_as_a_user();
    served_from_disk_with_debug(exe, db);
}

/* Every examples/NAME, as a user would take it: copied out of the tree,
 * built with its own Makefile against the installed prefix (pkg-config
 * alone, no path into the source tree), its tests run, its tables created
 * and a page served from another current directory. */
static void test_examples(void)
{
    char *list = NULL;
    pt_sh(&list, "cd '%s' && for d in examples/*/; do echo \"${d%%/}\"; done", top);
    int tried = 0;
    for (char *d = list ? strtok(list, "\n") : NULL; d; d = strtok(NULL, "\n")) {
        const char *name = strrchr(d, '/') ? strrchr(d, '/') + 1 : d;
        char *out = NULL;
        tried++;
        /* every example is built like a user's app: a Makefile on pkg-config */
        int rc = pt_sh(NULL, "grep -q 'pkg-config' '%s/%s/Makefile'", top, d);
        CHECK_INT(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "  %s: no Makefile built on pkg-config\n", d);
            continue;
        }
        rc =
            pt_sh(&out,
                  "rm -rf '%s/ex' && mkdir '%s/ex' && cp -r '%s/%s' '%s/ex/' && cd '%s/ex/%s' && "
                  "rm -rf build && PKG_CONFIG_PATH='%s/lib/pkgconfig' make -s CFLAGS='%s' all test",
                  tmp, tmp, top, d, tmp, tmp, name, prefix, DEMO_CFLAGS);
        CHECK_INT(rc, 0);
        CHECK_CONTAINS(out, " passed, 0 failed");
        if (rc != 0)
            fprintf(stderr, "  %s:\n%s\n", d, out ? out : "");
        free(out);
        /* the source tree is named nowhere in what was built */
        rc = pt_sh(NULL, "grep -rl '%s' '%s/ex/%s/Makefile' '%s/ex/%s/build'", top, tmp, name, tmp,
                   name);
        CHECK(rc != 0);
        /* the program: its tables, then its page, served from / */
        char exe[700], db[600];
        snprintf(exe, sizeof(exe), "%s/ex/%s/build/%s", tmp, name, name);
        snprintf(db, sizeof(db), "sqlite:///%s/ex/%s.db", tmp, name);
        int port;
        pid_t pid = create_and_serve(exe, db, &port);
        if (pid > 0) {
            char resp[16384];
            CHECK_INT(pt_http_get(port, "/", resp, sizeof(resp)), 0);
            CHECK_CONTAINS(resp, "HTTP/1.1 200");
            CHECK_CONTAINS(header_end(resp), "</html>");
            CHECK_INT(stop(pid), 0);
        }
    }
    free(list);
    CHECK(tried > 0);
}

static void test_uninstall_and_destdir(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "make -s -C '%s' " MAKE_VARS " BUILD='%s' PREFIX='%s' uninstall",
             top, build, prefix);
    CHECK_INT(pt_run_ok("make uninstall", cmd), 0);
    char *out = NULL;
    pt_sh(&out, "find '%s' -type f -o -type l", prefix);
    CHECK(out && out[0] == '\0'); /* nothing left behind */
    if (out && *out)
        fprintf(stderr, "  left after uninstall:\n%s", out);
    free(out);
    /* staged for a package: files under DESTDIR, paths naming PREFIX */
    snprintf(cmd, sizeof(cmd),
             "make -s -C '%s' " MAKE_VARS
             " BUILD='%s' PREFIX=/opt/phial DESTDIR='%s/stage' install",
             top, build, tmp);
    CHECK_INT(pt_run_ok("make install DESTDIR", cmd), 0);
    pt_sh(&out, "cat '%s/stage/opt/phial/lib/pkgconfig/phial.pc'", tmp);
    CHECK_CONTAINS(out, "prefix=/opt/phial\n");
    CHECK(out && !strstr(out, "stage"));
    free(out);
}

/* The tutorial's binary from an unrelated current directory: db create,
 * and run serving templates and static files -- embedded, and with DEBUG
 * from the folders found next to the binary. */
static void test_app_from_anywhere(void)
{
    char exe[1100], db[600];
    snprintf(exe, sizeof(exe), "%s/app", build);
    snprintf(db, sizeof(db), "sqlite:///%s/tutorial.db", tmp);
    char *out = NULL;
    CHECK_INT(pt_sh(&out, "cd '%s' && DATABASE_URL='%s' '%s' db create", tmp, db, exe), 0);
    CHECK(out && !strstr(out, "templates"));
    free(out);
    /* the db commands read no templates: a template folder that is not
     * there stops run, never db */
    CHECK_INT(pt_sh(&out,
                    "cd '%s' && TEMPLATE_FOLDER=/nonexistent DATABASE_URL='%s' '%s' db list User",
                    tmp, db, exe),
              0);
    free(out);
    CHECK_INT(
        pt_sh(
            &out,
            "cd '%s' && TEMPLATE_FOLDER=/nonexistent DATABASE_URL='%s' PORT=%d timeout 20 '%s' run",
            tmp, db, pt_free_port(), exe),
        1);
    CHECK_CONTAINS(out, "/nonexistent");
    free(out);
    for (int debug = 0; debug < 2; debug++) {
        int port = pt_free_port();
        char *argv[] = {exe, "run", NULL};
        const char *env[] = {"DATABASE_URL", db, "DEBUG", debug ? "1" : "0", NULL};
        pid_t pid = serve(tmp, argv, env, port);
        CHECK(pid > 0);
        if (pid <= 0)
            continue;
        char resp[16384];
        CHECK_INT(pt_http_get(port, "/register", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        CHECK_CONTAINS(header_end(resp), "<form");
        CHECK_INT(pt_http_get(port, "/static/style.css", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 200");
        /* the deployed binary has no test routes */
        CHECK_INT(pt_http_get(port, "/_test/fail", resp, sizeof(resp)), 0);
        CHECK_CONTAINS(resp, "HTTP/1.1 404");
        CHECK_INT(stop(pid), 0);
    }
}

/* make PG=0: a library and an app that need no libpq; SQLite works, a
 * postgresql:// URL is refused at start with a message saying why.  Built
 * from nothing with make -j8: every kind of target at once (generated
 * sources, the embedded files, tools, a test with its folder's helpers, a
 * test linking the app), then make -q finds nothing left to do. */
static void test_without_postgres(void)
{
    char cmd[4096], targets[2048], *out = NULL;
    snprintf(targets, sizeof(targets),
             "'%s/pg0/libphial.so' '%s/pg0/app' '%s/pg0/app-test' '%s/pg0/phial' "
             "'%s/pg0/phial-render' '%s/pg0/tests/package/test_privdrop' "
             "'%s/pg0/tests/app/test_tutorial'",
             tmp, tmp, tmp, tmp, tmp, tmp, tmp);
    snprintf(cmd, sizeof(cmd), "make -s -j8 -C '%s' BUILD='%s/pg0' PG=0 OPT=-O0 %s", top, tmp,
             targets);
    CHECK_INT(pt_run_ok("make -j8 PG=0", cmd), 0);
    snprintf(cmd, sizeof(cmd), "make -q -C '%s' BUILD='%s/pg0' PG=0 OPT=-O0 %s", top, tmp, targets);
    CHECK_INT(pt_run_ok("make -q PG=0", cmd), 0);
    int rc = pt_sh(&out, "readelf -d '%s/pg0/libphial.so' '%s/pg0/app' | grep NEEDED", tmp, tmp);
    CHECK_INT(rc, 0);
    CHECK_CONTAINS(out, "libsqlite3");
    CHECK(out && !strstr(out, "libpq"));
    free(out);
    rc = pt_sh(&out, "cd '%s' && DATABASE_URL=sqlite:///pg0.db '%s/pg0/app' db create", tmp, tmp);
    CHECK_INT(rc, 0);
    free(out);
    rc = pt_sh(&out, "cd '%s' && DATABASE_URL=postgresql://u@127.0.0.1/x '%s/pg0/app' db create",
               tmp, tmp);
    CHECK_INT(rc, 1);
    CHECK_CONTAINS(out, "built without PostgreSQL");
    free(out);
}

/* After the build, make finds nothing to do (no intermediate deleted, no
 * test relinked). */
static void test_make_q(void)
{
    char *out = NULL;
    int rc = pt_sh(&out, "make -q -C '%s' " MAKE_VARS " BUILD='%s' all", top, build);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        free(out);
        pt_sh(&out, "make -n -C '%s' " MAKE_VARS " BUILD='%s' all | head -5", top, build);
        fprintf(stderr, "  make would run:\n%s\n", out ? out : "");
    }
    free(out);
}

int main(void)
{
    /* the servers these tests start need a key (sessions and CSRF) */
    setenv("SECRET_KEY", "phial-package-test-key-0123456789abcdef", 0);
    const char *t = getenv("PHIAL_TOP"), *b = getenv("PHIAL_BUILD");
    if (!t || !b) {
        SKIP(test_install, "PHIAL_TOP and PHIAL_BUILD unset (run through make test)");
        TEST_END();
    }
    snprintf(top, sizeof(top), "%s", t);
    snprintf(build, sizeof(build), "%s", b);
    snprintf(tmp, sizeof(tmp), "%s", "/tmp/phial-pkg-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(prefix, sizeof(prefix), "%s/prefix", tmp);
    RUN(test_make_q);
    RUN(test_install);
    RUN(test_exports);
    RUN(test_new_app);
    if (installed && pt_sh(NULL, "ls -d '%s'/examples/*/ >/dev/null 2>&1", top) == 0)
        RUN(test_examples);
    else
        SKIP(test_examples, "no examples/ in this tree");
    RUN(test_uninstall_and_destdir);
    RUN(test_app_from_anywhere);
    RUN(test_without_postgres);
    pt_sh(NULL, "rm -rf '%s'", tmp);
    TEST_END();
}
