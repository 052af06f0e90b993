/*
 * The README's C is compiled and run by the suite, so it cannot go stale.
 * A ```c block preceded by the line `<!-- compile: program -->` is part of
 * one program: such blocks, in order, make a translation unit that is
 * compiled against include/ with -Werror, linked with the library, and run
 * with DATABASE_URL naming a new SQLite file; its standard output must
 * equal the ```text block preceded by `<!-- program output -->`.  A block
 * preceded by `<!-- compile: fragment -->` is compiled on its own after the
 * program's blocks (file scope); one preceded by `<!-- compile: body -->`
 * inside a function with the handler's variables (req, res) and the
 * program's declarations in scope.  Every other ```c block is refused: the
 * README holds no C that is not checked.
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef struct text {
    char *ptr;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->ptr = realloc(t->ptr, t->cap);
    }
    memcpy(t->ptr + t->len, s, n);
    t->len += n;
    t->ptr[t->len] = '\0';
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* The README split by markers: the program, fragments, bodies, the
 * expected output; unmarked C blocks counted. */
typedef struct readme {
    text program, fragments, bodies, output;
    int nprogram, nfragment, nbody, unmarked;
} readme;

static void parse(const char *md, readme *r)
{
    const char *p = md, *marker = NULL;
    int nb = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len >= 4 && strncmp(p, "<!--", 4) == 0) {
            marker = p;
        } else if (len >= 3 && strncmp(p, "```", 3) == 0) {
            bool is_c = len == 4 && p[3] == 'c';
            bool is_text = len == 7 && strncmp(p + 3, "text", 4) == 0;
            const char *body = eol ? eol + 1 : p + len;
            const char *end = strstr(body, "\n```");
            if (!end)
                break;
            size_t blen = (size_t)(end - body) + 1;
            const char *m = marker ? marker : "";
            if (is_c && strncmp(m, "<!-- compile: program -->", 25) == 0) {
                put(&r->program, body, blen);
                r->nprogram++;
            } else if (is_c && strncmp(m, "<!-- compile: fragment -->", 26) == 0) {
                put(&r->fragments, body, blen);
                r->nfragment++;
            } else if (is_c && strncmp(m, "<!-- compile: body -->", 22) == 0) {
                char head[96];
                snprintf(head, sizeof(head),
                         "static int body_%d(ph_request *req, ph_response *res)\n{\n", ++nb);
                puts_(&r->bodies, head);
                put(&r->bodies, body, blen);
                puts_(&r->bodies, "    return 0;\n}\n");
                r->nbody++;
            } else if (is_text && strncmp(m, "<!-- program output -->", 23) == 0) {
                put(&r->output, body, blen);
            } else if (is_c) {
                r->unmarked++;
                fprintf(stderr, "  unchecked C block at: %.60s\n", body);
            }
            p = end + 4;
            marker = NULL;
            eol = strchr(p, '\n');
            len = eol ? (size_t)(eol - p) : strlen(p);
        } else if (len > 0) {
            marker = NULL;
        }
        p = eol ? eol + 1 : p + len;
    }
}

/* Compiles source (and links it when link) into exe; the compiler's
 * output goes to stderr on failure.  The exit status. */
static int build(const char *source, const char *exe, bool link)
{
    const char *top = getenv("PHIAL_TOP"), *bdir = getenv("PHIAL_BUILD");
    const char *cc = getenv("CC");
    char src[600], cmd[4096], flagsf[600];
    snprintf(src, sizeof(src), "%s.c", exe);
    FILE *f = fopen(src, "w");
    if (!f)
        return -1;
    fputs(source, f);
    fclose(f);
    snprintf(flagsf, sizeof(flagsf), "%s/link-flags", bdir && *bdir ? bdir : "build");
    char *flags = slurp(flagsf);
    if (flags)
        flags[strcspn(flags, "\n")] = '\0';
    if (link)
        snprintf(cmd, sizeof(cmd),
                 "%s -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I%s/include %s -o %s "
                 "%s/libphial.a %s 2>&1",
                 cc && *cc ? cc : "cc", top && *top ? top : ".", src, exe,
                 bdir && *bdir ? bdir : "build", flags ? flags : "");
    else
        snprintf(cmd, sizeof(cmd),
                 "%s -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-function "
                 "-Wno-unused-parameter -I%s/include -c %s -o /dev/null 2>&1",
                 cc && *cc ? cc : "cc", top && *top ? top : ".", src);
    free(flags);
    int st = system(cmd);
    unlink(src);
    return st;
}

static readme R;
static char exe[512];

static void test_no_unchecked_c(void)
{
    CHECK_INT(R.unmarked, 0);
    CHECK(R.nprogram > 0);
    CHECK(R.output.len > 0);
}

static void test_program_builds_and_runs_as_shown(void)
{
    CHECK_INT(build(R.program.ptr ? R.program.ptr : "", exe, true), 0);
    char db[600], cmd[1400];
    snprintf(db, sizeof(db), "%s.db", exe);
    unlink(db);
    snprintf(cmd, sizeof(cmd), "cd /tmp && DATABASE_URL=sqlite:///%s %s", db, exe);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p)
        return;
    text out = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        put(&out, buf, n);
    int st = pclose(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(out.ptr ? out.ptr : "", R.output.ptr ? R.output.ptr : "");
    free(out.ptr);
    unlink(exe);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd), "%s%s", db, sfx[i]);
        unlink(cmd);
    }
}

static void test_fragments_and_bodies_compile(void)
{
    /* the program's declarations without its main, then the rest */
    text t = {0};
    puts_(&t, "#define main readme_main\n");
    put(&t, R.program.ptr ? R.program.ptr : "", R.program.len);
    puts_(&t, "#undef main\n");
    put(&t, R.fragments.ptr ? R.fragments.ptr : "", R.fragments.len);
    put(&t, R.bodies.ptr ? R.bodies.ptr : "", R.bodies.len);
    char obj[600];
    snprintf(obj, sizeof(obj), "%s-frag", exe);
    CHECK_INT(build(t.ptr, obj, false), 0);
    free(t.ptr);
}

int main(void)
{
    const char *top = getenv("PHIAL_TOP");
    char path[512];
    snprintf(path, sizeof(path), "%s/README.md", top && *top ? top : ".");
    char *md = slurp(path);
    CHECK(md != NULL);
    if (!md)
        TEST_END();
    parse(md, &R);
    snprintf(exe, sizeof(exe), "/tmp/phial-readme-%ld", (long)getpid());
    RUN(test_no_unchecked_c);
    RUN(test_program_builds_and_runs_as_shown);
    RUN(test_fragments_and_bodies_compile);
    free(md);
    free(R.program.ptr);
    free(R.fragments.ptr);
    free(R.bodies.ptr);
    free(R.output.ptr);
    TEST_END();
}
