/*
 * Privileges of the real server (build/app run, src/server/privdrop.c):
 * started as root it refuses to serve without RUN_AS_USER (unless
 * ALLOW_ROOT=1), refuses an unknown user and root itself, and with
 * RUN_AS_USER=nobody serves with the supervisor and its workers running as
 * nobody (uid, gid and supplementary groups), bound before the switch.
 * Started as an ordinary user, asking for another user is an error.  The
 * root cases are skipped (and said so) when the suite does not run as root.
 */
#include "proc.h"
#include "test.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char exe[600], tmp[64];

/* Starts build/app run on port with the given environment (ALLOW_ROOT
 * unset unless given); stderr into tmp/err.log. */
static pid_t start(int port, const char *const *env)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        char p[16], db[128], log[128];
        snprintf(p, sizeof(p), "%d", port);
        snprintf(db, sizeof(db), "sqlite:///%s/app.db", tmp);
        snprintf(log, sizeof(log), "%s/err.log", tmp);
        unsetenv("ALLOW_ROOT");
        unsetenv("RUN_AS_USER");
        setenv("PORT", p, 1);
        setenv("WORKERS", "1", 1);
        setenv("DATABASE_URL", db, 1);
        for (size_t i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_WRONLY);
        if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 || chdir(tmp) != 0)
            _exit(127);
        execl(exe, exe, "run", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits for the server to answer on port (1), or to exit (0, status in
 * *st); -1 after 10 s. */
static int wait_ready_or_exit(pid_t pid, int port, int *st)
{
    char buf[512];
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, st, WNOHANG) == pid)
            return 0;
        if (pt_http_get(port, "/", buf, sizeof(buf)) == 0)
            return 1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static char *err_log(void)
{
    char *out = NULL;
    pt_sh(&out, "cat '%s/err.log'", tmp);
    return out;
}

/* The value of a "Name:" line of /proc/PID/status, e.g. "Uid". */
static void proc_status(pid_t pid, const char *field, char *out, size_t n)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            snprintf(out, n, "%s", line + fl + 1);
            break;
        }
    if (f)
        fclose(f);
}

/* Exits at once with status 1 and msg in its log, nothing served. */
static void check_refused(const char *const *env, const char *msg)
{
    int port = pt_free_port();
    pid_t pid = start(port, env);
    int st = 0;
    int r = wait_ready_or_exit(pid, port, &st);
    CHECK_INT(r, 0);
    if (r != 0) {
        stop(pid);
        return;
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *log = err_log();
    CHECK_CONTAINS(log, msg);
    free(log);
}

static void test_root_refused_without_user(void)
{
    check_refused(NULL, "refusing to serve as root");
}

static void test_unknown_user_refused(void)
{
    const char *env[] = {"RUN_AS_USER", "no-such-user-phial", NULL};
    check_refused(env, "RUN_AS_USER=no-such-user-phial: no such user");
}

static void test_root_user_refused(void)
{
    const char *env[] = {"RUN_AS_USER", "root", NULL};
    check_refused(env, "is root: refusing");
}

static void test_drop_to_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");
    CHECK(pw != NULL);
    if (!pw)
        return;
    /* nobody must be able to write the database folder */
    CHECK_INT(chmod(tmp, 0777), 0);
    char want_uid[64], want_gid[64];
    snprintf(want_uid, sizeof(want_uid), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid,
             (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
    snprintf(want_gid, sizeof(want_gid), "%u\t%u\t%u\t%u", (unsigned)pw->pw_gid,
             (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
    int port = pt_free_port();
    const char *env[] = {"RUN_AS_USER", "nobody", NULL};
    pid_t pid = start(port, env);
    int st;
    int r = wait_ready_or_exit(pid, port, &st);
    CHECK_INT(r, 1);
    if (r != 1) {
        char *log = err_log();
        fprintf(stderr, "  server log:\n%s\n", log ? log : "");
        free(log);
        if (r < 0)
            stop(pid);
        return;
    }
    char buf[4096], v[256];
    CHECK_INT(pt_http_get(port, "/", buf, sizeof(buf)), 0);
    CHECK_CONTAINS(buf, "Hello world");
    proc_status(pid, "Uid", v, sizeof(v));
    CHECK_CONTAINS(v, want_uid); /* real, effective, saved, fs */
    proc_status(pid, "Gid", v, sizeof(v));
    CHECK_CONTAINS(v, want_gid);
    proc_status(pid, "Groups", v, sizeof(v));
    CHECK(strstr(v, " 0 ") == NULL && strncmp(v, "\t0 ", 3) != 0); /* no root group */
    /* the worker too */
    char *kids = NULL;
    pt_sh(&kids, "cat /proc/%d/task/%d/children", (int)pid, (int)pid);
    int worker = kids ? atoi(kids) : 0;
    free(kids);
    CHECK(worker > 0);
    if (worker > 0) {
        proc_status(worker, "Uid", v, sizeof(v));
        CHECK_CONTAINS(v, want_uid);
    }
    char *log = err_log();
    CHECK_CONTAINS(log, "serving as nobody");
    free(log);
    stop(pid);
}

static void test_user_switch_needs_root(void)
{
    const char *env[] = {"RUN_AS_USER", "root", NULL};
    check_refused(env, "only a server started as root can switch users");
}

int main(void)
{
    /* the servers these tests start need a key (sessions and CSRF) */
    setenv("SECRET_KEY", "phial-package-test-key-0123456789abcdef", 0);
    const char *b = getenv("PHIAL_BUILD");
    snprintf(exe, sizeof(exe), "%s/app", b && *b ? b : "build");
    snprintf(tmp, sizeof(tmp), "/tmp/phial-priv-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    /* `run` wants the tables; nobody must be able to use the files */
    if (pt_sh(NULL,
              "cd '%s' && DATABASE_URL='sqlite:///%s/app.db' '%s' db create && chmod -R a+rwX .",
              tmp, tmp, exe) != 0) {
        fprintf(stderr, "db create failed\n");
        return 1;
    }
    if (geteuid() == 0) {
        RUN(test_root_refused_without_user);
        RUN(test_unknown_user_refused);
        RUN(test_root_user_refused);
        RUN(test_drop_to_nobody);
        SKIP(test_user_switch_needs_root, "runs as root");
    } else {
        SKIP(test_root_refused_without_user, "not root");
        RUN(test_unknown_user_refused);
        SKIP(test_root_user_refused, "not root");
        SKIP(test_drop_to_nobody, "not root");
        RUN(test_user_switch_needs_root);
    }
    pt_sh(NULL, "rm -rf '%s'", tmp);
    TEST_END();
}
