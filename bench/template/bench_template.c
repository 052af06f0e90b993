/*
 * Template benchmark: renders the fortunes page (a 100-row table with a
 * loop, loop.cycle, autoescape and a filter) N times with Phial, rows being
 * model objects read through their descriptor, and prints the time per
 * render in microseconds.  bench/template/run.sh compares it with Jinja2.
 * With a third argument "c" it times instead the same page written by
 * hand-written C into a buffer (escaping, truncate and all): the floor a
 * template engine can approach.
 *
 *   bench_template DIR N [c]
 */
#include "phial/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Fortune {
    ph_obj _ph;
    int64_t id;
    const char *message;
} Fortune;

static const ph_column Fortune_columns[] = {
    PH_INTEGER(Fortune, id, PH_PK),
    PH_STRING(Fortune, message, 2048, PH_NOT_NULL),
};
static const ph_model Fortune_model = PH_MODEL(Fortune, "fortune", Fortune_columns);

#define ROWS 100

/* CPU time of this process: on a shared machine, time spent waiting for
 * a core is not counted (Jinja's side measures the same way). */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* HTML-escapes s into b as markupsafe does. */
static void put_escaped(ph_buf *b, const char *s, size_t n)
{
    size_t st = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e;
        switch (s[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&#34;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            continue;
        }
        ph_buf_append(b, s + st, i - st);
        ph_buf_puts(b, e);
        st = i + 1;
    }
    ph_buf_append(b, s + st, n - st);
}

/* Jinja's truncate(80): strings of up to 85 code points unchanged, else
 * cut at a word boundary with "...". */
static void put_truncated(ph_buf *b, const char *s)
{
    size_t n = strlen(s), cps = 0;
    for (size_t i = 0; i < n; i++)
        cps += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (cps <= 85) {
        put_escaped(b, s, n);
        return;
    }
    size_t cut = 77; /* ASCII messages: bytes are code points */
    while (cut > 0 && s[cut] != ' ')
        cut--;
    put_escaped(b, s, cut);
    ph_buf_puts(b, "...");
}

/* The fortunes page, written by hand. */
static void render_by_hand(ph_buf *b, Fortune *rows, size_t n)
{
    ph_buf_puts(b, "<!DOCTYPE html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n"
                   "<table>\n<tr><th>id</th><th>message</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        ph_buf_puts(b, i % 2 ? "\n<tr class=\"even\"><td>" : "\n<tr class=\"odd\"><td>");
        ph_buf_put_i64(b, rows[i].id);
        ph_buf_puts(b, "</td><td>");
        put_truncated(b, rows[i].message);
        ph_buf_puts(b, "</td></tr>\n");
    }
    ph_buf_puts(b, "\n</table>\n<p>");
    ph_buf_put_i64(b, (int64_t)n);
    ph_buf_puts(b, " fortunes</p>\n</body>\n</html>");
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s DIR N [c]\n", argv[0]);
        return 2;
    }
    bool by_hand = argc == 4 && strcmp(argv[3], "c") == 0;
    long n = strtol(argv[2], NULL, 10);
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/messages.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    char *msgs[64];
    size_t nm = 0;
    char line[1024];
    while (nm < 64 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        msgs[nm++] = strdup(line);
    }
    fclose(f);
    if (nm == 0)
        return 2;
    static Fortune rows[ROWS];
    void *objs[ROWS];
    for (int i = 0; i < ROWS; i++) {
        rows[i].id = i + 1;
        rows[i].message = msgs[(size_t)i % nm];
        objs[i] = &rows[i];
    }
    ph_tpl_set *set = ph_tpl_set_new();
    /* load only the template (the folder also holds the scripts) */
    snprintf(path, sizeof path, "%s/fortunes.html", argv[1]);
    f = fopen(path, "r");
    if (!f)
        return 2;
    static char src[8192];
    size_t len = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    if (ph_tpl_set_add_string(set, "fortunes.html", src, len, -1, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ph_arena *a = ph_arena_new(256 * 1024);
    size_t out_len = 0;
    if (by_hand) {
        int64_t t0 = cpu_ns();
        for (long i = 0; i < n; i++) {
            ph_arena_reset(a);
            ph_buf out;
            ph_buf_init(&out, a);
            ph_buf_reserve(&out, 8192);
            render_by_hand(&out, rows, ROWS);
            out_len = out.len;
        }
        int64_t t1 = cpu_ns();
        if (getenv("BENCH_PRINT")) {
            ph_arena_reset(a);
            ph_buf out;
            ph_buf_init(&out, a);
            render_by_hand(&out, rows, ROWS);
            fwrite(out.ptr, 1, out.len, stdout);
        } else
            printf("%.3f %zu\n", (double)(t1 - t0) / 1e3 / (double)n, out_len);
        ph_arena_free(a);
        ph_tpl_set_free(set);
        for (size_t i = 0; i < nm; i++)
            free(msgs[i]);
        return 0;
    }
    int64_t t0 = cpu_ns();
    for (long i = 0; i < n; i++) {
        ph_arena_reset(a);
        ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
        ph_tpl_ctx_set_models(ctx, "fortunes", &Fortune_model, objs, ROWS);
        ph_buf out;
        ph_buf_init(&out, a);
        const char *msg;
        if (ph_tpl_render(set, "fortunes.html", ctx, NULL, a, &out, &msg) < 0) {
            fprintf(stderr, "%s\n", msg ? msg : "render failed");
            return 1;
        }
        out_len = out.len;
    }
    int64_t t1 = cpu_ns();
    if (getenv("BENCH_PRINT")) {
        ph_arena_reset(a);
        ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
        ph_tpl_ctx_set_models(ctx, "fortunes", &Fortune_model, objs, ROWS);
        ph_buf out;
        ph_buf_init(&out, a);
        const char *msg;
        ph_tpl_render(set, "fortunes.html", ctx, NULL, a, &out, &msg);
        fwrite(out.ptr, 1, out.len, stdout);
        return 0;
    }
    printf("%.3f %zu\n", (double)(t1 - t0) / 1e3 / (double)n, out_len);
    ph_arena_free(a);
    ph_tpl_set_free(set);
    for (size_t i = 0; i < nm; i++)
        free(msgs[i]);
    return 0;
}
