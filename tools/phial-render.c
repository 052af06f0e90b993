/*
 * phial-render: renders one template of a folder with an optional JSON
 * context and prints the result, for trying templates from the shell.
 *
 *   build/phial-render TEMPLATE_DIR NAME [CONTEXT.json]
 *
 * Exit status: 0 rendered, 1 template error (message on stderr), 2 usage
 * or input error.  Stand-ins for the application's globals are registered
 * so that app templates render outside the app: url_for(endpoint, k=v)
 * gives "/endpoint?k=v", csrf_token() "csrf-token", get_flashed_messages()
 * an empty list.
 */
#include "phial/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* url_for stand-in: "/endpoint" plus the keyword arguments as a query. */
static int stub_url_for(ph_tpl_call *c, ph_value *out)
{
    ph_buf b;
    ph_buf_init(&b, c->arena);
    ph_buf_putc(&b, '/');
    if (c->nargs > 0)
        ph_tpl_value_str(&b, &c->args[0]);
    for (size_t i = 0; i < c->nkwargs; i++) {
        ph_buf_putc(&b, i ? '&' : '?');
        ph_buf_slice(&b, c->kwargs[i].name);
        ph_buf_putc(&b, '=');
        ph_tpl_value_str(&b, &c->kwargs[i].value);
    }
    if (ph_buf_status(&b) < 0)
        return PH_ENOMEM;
    *out = ph_tpl_strn(b.ptr, b.len);
    return 0;
}

static int stub_csrf_token(ph_tpl_call *c, ph_value *out)
{
    (void)c;
    *out = ph_tpl_str("csrf-token");
    return 0;
}

static int stub_flashes(ph_tpl_call *c, ph_value *out)
{
    *out = ph_tpl_list_new(c->arena);
    return out->kind == PH_V_LIST ? 0 : PH_ENOMEM;
}

/* Reads a whole file into memory (caller frees); NULL on error. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *d = malloc(cap);
    while (d) {
        size_t r = fread(d + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nd = realloc(d, cap * 2);
        if (!nd) {
            free(d);
            d = NULL;
            break;
        }
        d = nd;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return d;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s TEMPLATE_DIR NAME [CONTEXT.json]\n", argv[0]);
        return 2;
    }
    char err[1024] = "";
    ph_tpl_set *set = ph_tpl_set_new();
    ph_arena *arena = ph_arena_new(0);
    int status = 0;
    if (!set || !arena) {
        fprintf(stderr, "out of memory\n");
        status = 2;
        goto done;
    }
    if (ph_tpl_set_add_function(set, "url_for", stub_url_for, NULL) < 0 ||
        ph_tpl_set_add_function(set, "csrf_token", stub_csrf_token, NULL) < 0 ||
        ph_tpl_set_add_function(set, "get_flashed_messages", stub_flashes, NULL) < 0) {
        fprintf(stderr, "out of memory\n");
        status = 2;
        goto done;
    }
    if (ph_tpl_set_load_dir(set, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        status = 1;
        goto done;
    }
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(arena);
    if (!ctx) {
        status = 2;
        goto done;
    }
    if (argc == 4) {
        size_t len;
        char *json = slurp(argv[3], &len);
        if (!json) {
            fprintf(stderr, "%s: cannot read\n", argv[3]);
            status = 2;
            goto done;
        }
        int rc = ph_tpl_ctx_set_json(ctx, json, len, err, sizeof err);
        free(json);
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", argv[3], err);
            status = 2;
            goto done;
        }
    }
    ph_buf out;
    ph_buf_init(&out, arena);
    const char *msg = NULL;
    if (ph_tpl_render(set, argv[2], ctx, NULL, arena, &out, &msg) < 0) {
        fprintf(stderr, "%s\n", msg ? msg : "render failed");
        status = 1;
        goto done;
    }
    fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout);
done:
    ph_arena_free(arena);
    ph_tpl_set_free(set);
    return status;
}
