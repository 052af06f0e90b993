/*
 * phial: the command that starts an application (like Kore's `kodev
 * create` or a Flask project skeleton).
 *
 *   phial new NAME [--dir PARENT]   a ready application folder PARENT/NAME
 *   phial version                   the library's version
 *
 * `phial new` writes the files embedded from tools/scaffold (Makefile using
 * pkg-config, models, views, templates, static files, tests and a README)
 * with every __NAME__ replaced by NAME.  It writes them into a temporary
 * folder beside the target and renames it into place at the end, so a
 * failure leaves nothing half-written, and it never overwrites an existing
 * folder.
 *
 * Exit status: 0 done, 1 the folder could not be written, 2 usage.
 */
#include "phial/core.h"
#include "phial/embed.h"
#include "phial/version.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const ph_embed_fs phial_scaffold;

static int usage(FILE *f)
{
    fprintf(f, "usage: phial new NAME [--dir PARENT]   create the application folder PARENT/NAME\n"
               "       phial version                   print the version of Phial\n");
    return f == stdout ? 0 : 2;
}

/* NAME becomes a folder, a binary and a C prefix: a C identifier in
 * lower case, at most 40 characters. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* s with every __NAME__ replaced by name, appended to b. */
static void substitute(ph_buf *b, const char *s, size_t n, const char *name)
{
    static const char mark[] = "__NAME__";
    const char *end = s + n;
    while (s < end) {
        const char *m = memmem(s, (size_t)(end - s), mark, sizeof(mark) - 1);
        if (!m) {
            ph_buf_append(b, s, (size_t)(end - s));
            break;
        }
        ph_buf_append(b, s, (size_t)(m - s));
        ph_buf_puts(b, name);
        s = m + sizeof(mark) - 1;
    }
}

/* When pkg-config does not find phial but this command's own install has
 * its phial.pc (PREFIX/bin/phial beside PREFIX/lib/pkgconfig/phial.pc),
 * the folder to put in PKG_CONFIG_PATH, in out: true. */
static bool pkg_config_hint(char *out, size_t cap)
{
    if (system("pkg-config --exists phial >/dev/null 2>&1") == 0)
        return false;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    slash = strrchr(exe, '/'); /* PREFIX/bin -> PREFIX */
    if (!slash)
        return false;
    *slash = '\0';
    static const char *const dirs[] = {"lib", "lib64", "lib/x86_64-linux-gnu"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char pcfile[PATH_MAX + 64];
        struct stat st;
        snprintf(out, cap, "%s/%s/pkgconfig", exe, dirs[i]);
        snprintf(pcfile, sizeof(pcfile), "%s/phial.pc", out);
        if (stat(pcfile, &st) == 0)
            return true;
    }
    return false;
}

/* mkdir -p of the folders leading to path (not path itself). */
static int make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    return ok && chmod(path, mode) == 0 ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int cmd_new(int argc, char **argv)
{
    const char *name = NULL, *parent = ".";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            parent = argv[++i];
        else if (argv[i][0] == '-' || name)
            return usage(stderr);
        else
            name = argv[i];
    }
    if (!name)
        return usage(stderr);
    if (!name_ok(name)) {
        fprintf(stderr,
                "phial new: \"%s\" cannot name an application: use lower-case letters, digits "
                "and '_', starting with a letter (at most 40)\n",
                name);
        return 2;
    }
    char target[PATH_MAX], tmp[PATH_MAX + 32];
    if (snprintf(target, sizeof(target), "%s/%s", parent, name) >= (int)sizeof(target)) {
        fprintf(stderr, "phial new: path too long\n");
        return 2;
    }
    struct stat st;
    if (lstat(target, &st) == 0) {
        fprintf(stderr, "phial new: %s already exists: nothing written\n", target);
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s/.%s.new-XXXXXX", parent, name);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "phial new: cannot write in %s: %s\n", parent, strerror(errno));
        return 1;
    }
    int rc = 0;
    ph_buf b;
    ph_buf_init(&b, NULL);
    for (size_t i = 0; rc == 0 && i < phial_scaffold.count; i++) {
        const ph_embed_file *f = &phial_scaffold.files[i];
        char path[PATH_MAX * 2];
        ph_buf_clear(&b);
        substitute(&b, f->name, strlen(f->name), name);
        ph_buf_putc(&b, '\0');
        if (ph_buf_status(&b) < 0) {
            rc = PH_ENOMEM;
            break;
        }
        /* phial-embed leaves dot files out: the scaffold's gitignore is
         * written as .gitignore */
        snprintf(path, sizeof(path), "%s/%s%s", tmp, strcmp(b.ptr, "gitignore") == 0 ? "." : "",
                 b.ptr);
        ph_buf_clear(&b);
        substitute(&b, (const char *)f->data, f->size, name);
        if (ph_buf_status(&b) < 0) {
            rc = PH_ENOMEM;
            break;
        }
        if (make_parents(path) < 0 || write_file(path, b.ptr ? b.ptr : "", b.len, 0644) < 0) {
            fprintf(stderr, "phial new: %s: %s\n", path, strerror(errno));
            rc = PH_EIO;
        }
    }
    ph_buf_free(&b);
    if (rc == 0 && chmod(tmp, 0755) < 0)
        rc = PH_EIO;
    /* rename refuses a target that appeared meanwhile only if it is a
     * non-empty folder: check once more right before */
    if (rc == 0 && lstat(target, &st) == 0) {
        fprintf(stderr, "phial new: %s already exists: nothing written\n", target);
        rc = PH_EEXISTS;
    }
    if (rc == 0 && rename(tmp, target) < 0) {
        fprintf(stderr, "phial new: %s: %s\n", target, strerror(errno));
        rc = PH_EIO;
    }
    if (rc < 0) {
        if (rc == PH_ENOMEM)
            fprintf(stderr, "phial new: out of memory\n");
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    char pc[PATH_MAX + 32];
    bool hint = pkg_config_hint(pc, sizeof(pc));
    printf("Created %s.  Next:\n\n", target);
    if (hint)
        printf("    export PKG_CONFIG_PATH=%s   # pkg-config does not find phial yet\n", pc);
    printf("    cd %s\n    make run    # serves http://127.0.0.1:5000\n"
           "    make test   # runs its tests\n",
           target);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "new") == 0)
        return cmd_new(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("phial %s\n", ph_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0)
        return usage(stdout);
    fprintf(stderr, "phial: unknown command \"%s\"\n", argv[1]);
    return usage(stderr);
}
