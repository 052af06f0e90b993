/*
 * phial-embed: turns folders (templates, static files, migrations) into one
 * C file that is compiled into the application, the way Go's embed does,
 * so that deploying the application is copying one binary.
 *
 *   phial-embed [--name SYMBOL] -o OUT.c [PREFIX=]DIR ...
 *
 * Every regular file under each DIR becomes an entry named PREFIX/relative
 * path (or the relative path alone without PREFIX=), with its bytes, its
 * size, its modification time and an ETag made from its content.  The output defines
 * `const ph_embed_fs SYMBOL` (default ph_embedded) with the entries sorted
 * by name, and is rewritten only when its content changes, so make does
 * not rebuild what did not change.  Hidden files (".name") and editor
 * back-ups ("name~") are skipped; symbolic links are followed only when
 * they lead to a regular file inside DIR.
 *
 * Exit status: 0 written, 1 an input could not be read or the output not
 * written, 2 usage (message on stderr).
 */
#include "phial/core.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct entry {
    char *name; /* PREFIX/relative */
    char *path; /* on disk */
    long long mtime;
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
} entries;

static int usage(void)
{
    fprintf(stderr, "usage: phial-embed [--name SYMBOL] -o OUT.c [PREFIX=]DIR ...\n");
    return 2;
}

static bool symbol_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int push(entries *es, const char *name, const char *path, long long mtime)
{
    if (es->n == es->cap) {
        size_t cap = es->cap ? 2 * es->cap : 32;
        entry *v = realloc(es->v, cap * sizeof(*v));
        if (!v)
            return PH_ENOMEM;
        es->v = v;
        es->cap = cap;
    }
    es->v[es->n].name = strdup(name);
    es->v[es->n].path = strdup(path);
    es->v[es->n].mtime = mtime;
    if (!es->v[es->n].name || !es->v[es->n].path) {
        free(es->v[es->n].name);
        free(es->v[es->n].path);
        return PH_ENOMEM;
    }
    es->n++;
    return 0;
}

/* Adds the regular files under dir (root is its real path) as prefix/...;
 * 0, or -1 with a message on stderr. */
static int walk(entries *es, const char *root, const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "phial-embed: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' || de->d_name[nl - 1] == '~')
            continue;
        char path[PATH_MAX], name[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
            snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >=
                (int)sizeof(name)) {
            fprintf(stderr, "phial-embed: %s/%s: path too long\n", dir, de->d_name);
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(path, &st) < 0) {
            fprintf(stderr, "phial-embed: %s: %s\n", path, strerror(errno));
            rc = -1;
            break;
        }
        char *real = realpath(path, NULL);
        size_t rl = strlen(root);
        bool inside = real && strncmp(real, root, rl) == 0 && real[rl] == '/';
        free(real);
        if (!inside) {
            fprintf(stderr, "phial-embed: %s leads outside %s: skipped\n", path, root);
            continue;
        }
        if (S_ISDIR(st.st_mode))
            rc = walk(es, root, path, name);
        else if (S_ISREG(st.st_mode) && push(es, name, path, (long long)st.st_mtime) < 0) {
            fprintf(stderr, "phial-embed: out of memory\n");
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Reads a whole file into a heap buffer; NULL with a message on error. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "phial-embed: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    unsigned char *p = malloc(cap);
    while (p) {
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        unsigned char *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!p || bad) {
        fprintf(stderr, "phial-embed: %s: %s\n", path, p ? "read error" : "out of memory");
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

/* A C string literal for s (names of entries). */
static void put_cstr(ph_buf *b, const char *s)
{
    ph_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c == '?')
            ph_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            ph_buf_printf(b, "\\%03o", c);
        else
            ph_buf_putc(b, (char)c);
    }
    ph_buf_putc(b, '"');
}

/* FNV-1a, 64 bits: the entry's ETag (changes when the content does). */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int generate(ph_buf *b, const entries *es, const char *symbol)
{
    ph_buf_printf(b,
                  "/* Generated by phial-embed: %zu embedded file(s).  Do not edit; run\n"
                  " * phial-embed again. */\n"
                  "#include <phial/embed.h>\n\n",
                  es->n);
    for (size_t i = 0; i < es->n; i++) {
        size_t len;
        unsigned char *data = slurp(es->v[i].path, &len);
        if (!data)
            return -1;
        /* one extra 0 byte: text entries can be read as C strings */
        ph_buf_printf(b, "static const unsigned char ph_embed_%zu[%zu] = {", i, len + 1);
        for (size_t j = 0; j < len; j++)
            ph_buf_printf(b, "%s%u,", j % 20 ? "" : "\n    ", data[j]);
        ph_buf_printf(b, "%s0};\n", len % 20 ? "" : "\n    ");
        ph_buf_printf(b, "#define PH_EMBED_ETAG_%zu \"\\\"%016llx\\\"\"\n", i,
                      (unsigned long long)fnv1a(data, len));
        free(data);
        ph_buf_printf(b, "#define PH_EMBED_SIZE_%zu %zuu\n", i, len);
    }
    ph_buf_printf(b, "\nstatic const ph_embed_file ph_embed_files[%zu] = {\n", es->n ? es->n : 1);
    for (size_t i = 0; i < es->n; i++) {
        ph_buf_puts(b, "    {");
        put_cstr(b, es->v[i].name);
        ph_buf_printf(b, ", ph_embed_%zu, PH_EMBED_SIZE_%zu, PH_EMBED_ETAG_%zu, %lldLL},\n", i, i,
                      i, es->v[i].mtime);
    }
    if (es->n == 0)
        ph_buf_puts(b, "    {0, 0, 0, 0, 0},\n");
    ph_buf_printf(b, "};\n\nconst ph_embed_fs %s = {ph_embed_files, %zu};\n", symbol, es->n);
    return ph_buf_status(b) == 0 ? 0 : -1;
}

/* Writes content to path unless it already holds exactly that. */
static int write_if_changed(const char *path, const char *content, size_t len)
{
    size_t old_len;
    FILE *quiet = fopen(path, "rb");
    if (quiet) {
        fclose(quiet);
        unsigned char *old = slurp(path, &old_len);
        bool same = old && old_len == len && memcmp(old, content, len) == 0;
        free(old);
        if (same)
            return 0;
    }
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "phial-embed: %s: path too long\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(content, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "phial-embed: %s: %s\n", path, strerror(errno));
        if (f)
            remove(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *symbol = "ph_embedded";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            symbol = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else
            return usage();
    }
    if (!out || i == argc)
        return usage();
    if (!symbol_ok(symbol)) {
        fprintf(stderr, "phial-embed: --name %s is not a C identifier\n", symbol);
        return 2;
    }
    entries es = {0};
    int rc = 0;
    for (; rc == 0 && i < argc; i++) {
        char *arg = argv[i];
        char *eq = strchr(arg, '=');
        const char *prefix = "", *dir = arg;
        char pbuf[PATH_MAX];
        if (eq) {
            snprintf(pbuf, sizeof(pbuf), "%.*s", (int)(eq - arg), arg);
            prefix = pbuf;
            dir = eq + 1;
            if (!*prefix || strchr(prefix, '"') || prefix[0] == '/') {
                fprintf(stderr, "phial-embed: bad prefix in %s\n", arg);
                rc = 2;
                break;
            }
        }
        char *root = realpath(dir, NULL);
        struct stat st;
        if (!root || stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "phial-embed: %s: %s\n", dir,
                    root ? "not a directory" : strerror(errno));
            free(root);
            rc = 1;
            break;
        }
        if (walk(&es, root, dir, prefix) < 0)
            rc = 1;
        free(root);
    }
    if (rc == 0) {
        qsort(es.v, es.n, sizeof(*es.v), by_name);
        for (size_t k = 1; k < es.n; k++)
            if (strcmp(es.v[k - 1].name, es.v[k].name) == 0) {
                fprintf(stderr, "phial-embed: two files are named %s\n", es.v[k].name);
                rc = 2;
            }
    }
    if (rc == 0) {
        ph_buf b;
        ph_buf_init(&b, NULL);
        rc = generate(&b, &es, symbol) < 0 || write_if_changed(out, b.ptr, b.len) < 0 ? 1 : 0;
        ph_buf_free(&b);
    }
    for (size_t k = 0; k < es.n; k++) {
        free(es.v[k].name);
        free(es.v[k].path);
    }
    free(es.v);
    return rc;
}
