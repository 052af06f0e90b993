/*
 * Template benchmark: renders the fortunes page (a 100-row table with a
 * loop, loop.cycle, autoescape and a filter) N times with Phial, rows being
 * model objects read through their descriptor, and prints the time per
 * render in microseconds.  bench/template/run.sh compares it with Jinja2.
 *
 *   bench_template DIR N
 */
#include "phial/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Fortune {
    ph_obj _ph;
    int64_t id;
    char *message;
} Fortune;

static const ph_column Fortune_columns[] = {
    PH_INTEGER(Fortune, id, PH_PK),
    PH_STRING(Fortune, message, 2048, PH_NOT_NULL),
};
static const ph_model Fortune_model = PH_MODEL(Fortune, "fortune", Fortune_columns);

#define ROWS 100

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR N\n", argv[0]);
        return 2;
    }
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
    int64_t t0 = ph_now_ns();
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
    int64_t t1 = ph_now_ns();
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
