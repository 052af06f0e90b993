/*
 * libFuzzer target for the template compiler and renderer: the input is
 * compiled as a template (autoescape on) next to a small base template it
 * may extend or include, then rendered with a fixed context of every value
 * kind (non-ASCII text and a tree for recursive loops among them).  Any
 * crash, leak or sanitizer report is a bug; errors are fine.
 */
#include "phial/template.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_fn(ph_tpl_call *c, ph_value *out)
{
    *out = ph_tpl_int((int64_t)(c->nargs + c->nkwargs));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    char err[256];
    ph_tpl_set *set = ph_tpl_set_new();
    ph_arena *a = ph_arena_new(0);
    if (!set || !a)
        goto done;
    static const char base[] = "{% set g = 'x' %}<b>{% block body %}base{% endblock %}</b>"
                               "{% macro m(x, y=2) %}[{{ x }}{{ y }}{{ varargs }}"
                               "{{ kwargs }}{{ g }}]{% endmacro %}";
    ph_tpl_set_add_string(set, "base.html", base, sizeof base - 1, -1, err, sizeof err);
    ph_tpl_set_add_function(set, "fn", fz_fn, NULL);
    if (ph_tpl_set_add_string(set, "in.html", (const char *)data, size, -1, err, sizeof err) < 0)
        goto done;
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    if (!ctx)
        goto done;
    ph_tpl_ctx_set_str(ctx, "s", "<a href='x'>&\"");
    ph_tpl_ctx_set_int(ctx, "n", -7);
    ph_tpl_ctx_set_float(ctx, "f", 2.5);
    ph_tpl_ctx_set_bool(ctx, "b", true);
    ph_tpl_ctx_set_none(ctx, "z");
    static const char json[] = "{\"l\": [3, 1, \"x\", [1, 2]], \"m\": {\"k\": \"v\", \"n\": 1}, "
                               "\"users\": [{\"name\": \"a\", \"age\": 3}, {\"name\": \"b\"}], "
                               "\"u\": \"stra\\u00dfe \\u03a3\\u0391\\u03a3 \\u01c6\", "
                               "\"tree\": [{\"c\": [{\"c\": []}]}, {\"c\": []}]}";
    ph_tpl_ctx_set_json(ctx, json, sizeof json - 1, err, sizeof err);
    ph_buf out;
    ph_buf_init(&out, a);
    const char *msg;
    ph_tpl_render(set, "in.html", ctx, NULL, a, &out, &msg);
    ph_tpl_render_opts strict = {.strict = true};
    ph_buf_clear(&out);
    ph_tpl_render(set, "in.html", ctx, &strict, a, &out, &msg);
done:
    ph_arena_free(a);
    ph_tpl_set_free(set);
    return 0;
}
