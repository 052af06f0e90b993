/*
 * Conformance of Phial templates with Jinja2: every case under
 * tests/template/cases/ is rendered by Jinja2 itself (jinja_expected.py run
 * through /usr/bin/python3 at test time) and by Phial, and the two outputs
 * must be byte-for-byte equal (or both must fail).  Each case counts as a
 * check; differing cases are printed with the expected and actual output.
 */
#include "phial/template.h"
#include "test.h"

#include <dirent.h>
#include <jansson.h>

static const char *top(void)
{
    const char *t = getenv("PHIAL_TOP");
    return t && *t ? t : ".";
}

static int cases_total, cases_passed;
static json_t *expected;

/* Renders one case with Phial.  0 and *out set, or an error code and *err. */
static int render_case(const char *name, json_t *c, ph_arena *a, const char **out, const char **err)
{
    char msg[1024] = "";
    ph_tpl_set *set = ph_tpl_set_new();
    int rc = 0;
    const char *render_name;
    json_t *t = json_object_get(c, "t");
    if (t) {
        json_t *n = json_object_get(c, "name");
        render_name = n ? json_string_value(n) : "main.html";
        rc = ph_tpl_set_add_string(set, render_name, json_string_value(t), json_string_length(t),
                                   -1, msg, sizeof msg);
    } else {
        render_name = json_string_value(json_object_get(c, "render"));
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(c, "templates"), k, v)
        {
            if (rc == 0)
                rc = ph_tpl_set_add_string(set, k, json_string_value(v), json_string_length(v), -1,
                                           msg, sizeof msg);
        }
    }
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    json_t *jc = json_object_get(c, "ctx");
    if (rc == 0 && jc) {
        char *s = json_dumps(jc, JSON_COMPACT);
        rc = ph_tpl_ctx_set_json(ctx, s, strlen(s), msg, sizeof msg);
        free(s);
    }
    if (rc == 0) {
        ph_buf b;
        ph_buf_init(&b, a);
        const char *em = NULL;
        rc = ph_tpl_render(set, render_name, ctx, NULL, a, &b, &em);
        if (rc == 0)
            *out = b.ptr ? b.ptr : "";
        else
            *err = em ? em : ph_strerror(rc);
    } else
        *err = ph_arena_strdup(a, msg);
    (void)name;
    ph_tpl_set_free(set);
    return rc;
}

static void run_file(const char *path)
{
    json_error_t je;
    json_t *cases = json_load_file(path, 0, &je);
    if (!cases) {
        fprintf(stderr, "  %s:%d: %s\n", path, je.line, je.text);
        ph_t_checks_failed++;
        return;
    }
    const char *name;
    json_t *c;
    json_object_foreach(cases, name, c)
    {
        cases_total++;
        json_t *exp = json_object_get(expected, name);
        if (!exp) {
            fprintf(stderr, "  case %s: no expected output from Jinja2\n", name);
            ph_t_checks_failed++;
            continue;
        }
        ph_arena *a = ph_arena_new(0);
        const char *out = NULL, *err = NULL;
        int rc = render_case(name, c, a, &out, &err);
        bool exp_ok = json_is_true(json_object_get(exp, "ok"));
        bool pass;
        if (exp_ok)
            pass = rc == 0 && strcmp(out, json_string_value(json_object_get(exp, "out"))) == 0;
        else
            pass = rc != 0;
        if (pass)
            cases_passed++;
        else {
            ph_t_checks_failed++;
            fprintf(stderr, "  case %s (%s):\n    expected: %s%s%s\n    got:      %s%s%s\n", name,
                    path, exp_ok ? "\"" : "error ",
                    exp_ok ? json_string_value(json_object_get(exp, "out"))
                           : json_string_value(json_object_get(exp, "err")),
                    exp_ok ? "\"" : "", rc == 0 ? "\"" : "error ", rc == 0 ? out : err,
                    rc == 0 ? "\"" : "");
        }
        ph_arena_free(a);
    }
    json_decref(cases);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_conformance_with_jinja2(void)
{
    char cmd[4096], dir[2048];
    snprintf(dir, sizeof dir, "%s/tests/template/cases", top());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/template/jinja_expected.py' '%s'", top(),
             dir);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p)
        return;
    json_error_t je;
    expected = json_loadf(p, 0, &je);
    int st = pclose(p);
    CHECK(st == 0);
    CHECK(expected != NULL);
    if (!expected) {
        fprintf(stderr, "  cannot read Jinja2's results: %s\n", je.text);
        return;
    }
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        run_file(path);
        free(names[i]);
    }
    json_decref(expected);
    printf("conformance: %d of %d cases match Jinja2\n", cases_passed, cases_total);
    CHECK(cases_total >= 200);
}

int main(void)
{
    if (system("/usr/bin/python3 -c 'import jinja2' >/dev/null 2>&1") != 0) {
        SKIP(test_conformance_with_jinja2, "needs /usr/bin/python3 with jinja2 (python3-jinja2)");
        TEST_END();
    }
    RUN(test_conformance_with_jinja2);
    /* the summary counts cases: one check each */
    int run_failed = ph_t_failed;
    ph_t_passed = cases_passed;
    ph_t_failed = cases_total - cases_passed;
    if (run_failed && ph_t_failed == 0)
        ph_t_failed = 1;
    TEST_END();
}
