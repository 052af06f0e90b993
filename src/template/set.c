/*
 * Template sets: loading and compiling a folder of templates at start-up,
 * templates from memory, linking extends/include by name, registered
 * globals, and the render entry point (which, in debug mode only,
 * recompiles templates whose file changed, under the set's lock).
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int ph__render_tpl(const ph_tpl_set *set, const ph__tpl *t, const ph_tpl_ctx *ctx,
                   const ph_tpl_render_opts *opts, ph_arena *arena, ph_buf *out,
                   const char **errmsg);

ph_tpl_set *ph_tpl_set_new(void)
{
    ph_tpl_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->arena = ph_arena_new(0);
    if (!s->arena) {
        free(s);
        return NULL;
    }
    s->globals = ph_tpl_map_new(s->arena);
    if (s->globals.kind != PH_V_MAP || pthread_mutex_init(&s->lock, NULL) != 0) {
        ph_arena_free(s->arena);
        free(s);
        return NULL;
    }
    return s;
}

void ph_tpl_set_free(ph_tpl_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        ph__tpl_free(set->tpls[i]);
    free(set->tpls);
    free(set->dir);
    ph_arena_free(set->arena);
    pthread_mutex_destroy(&set->lock);
    free(set);
}

void ph_tpl_set_debug(ph_tpl_set *set, bool debug)
{
    if (set)
        set->debug = debug;
}

const ph__tpl *ph__set_find(const ph_tpl_set *set, ph_slice name)
{
    for (size_t i = 0; i < set->n; i++)
        if (ph_slice_eq_cstr(name, set->tpls[i]->name))
            return set->tpls[i];
    return NULL;
}

bool ph_tpl_set_has(const ph_tpl_set *set, const char *name)
{
    return set && name && ph__set_find(set, ph_slice_cstr(name)) != NULL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b)
        return false;
    for (size_t i = 0; i < b; i++) {
        char c = s[a - b + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suf[i])
            return false;
    }
    return true;
}

static bool autoescape_for(const char *name)
{
    return ends_with(name, ".html") || ends_with(name, ".htm") || ends_with(name, ".xml") ||
           ends_with(name, ".svg");
}

/* Adds or replaces t (the set takes ownership).  0 or PH_ENOMEM. */
static int set_put(ph_tpl_set *set, ph__tpl *t)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->tpls[i]->name, t->name) == 0) {
            ph__tpl_free(set->tpls[i]);
            set->tpls[i] = t;
            return 0;
        }
    if (set->n == set->cap) {
        size_t nc = set->cap ? set->cap * 2 : 16;
        ph__tpl **nt = realloc(set->tpls, nc * sizeof *nt);
        if (!nt)
            return PH_ENOMEM;
        set->tpls = nt;
        set->cap = nc;
    }
    set->tpls[set->n++] = t;
    return 0;
}

/* Points constant-named extends/include nodes at their templates.  With
 * strict, a missing one is an error. */
static int link_all(ph_tpl_set *set, bool strict, char *err, size_t errlen)
{
    for (size_t i = 0; i < set->n; i++) {
        ph__tpl *t = set->tpls[i];
        for (size_t k = 0; k < t->nrefs; k++) {
            ph__node *n = t->refs[k];
            n->u.inc.target = NULL;
            const ph__expr *e = n->u.inc.name;
            if (e->kind != E_CONST || e->u.cval.kind != PH_V_STR)
                continue;
            ph_slice nm = {e->u.cval.u.s.ptr, e->u.cval.u.s.len};
            const ph__tpl *target = ph__set_find(set, nm);
            if (target)
                n->u.inc.target = target;
            else if (strict && !n->u.inc.ignore_missing) {
                if (err && errlen)
                    snprintf(err, errlen, "%s:%d: template '%.*s' not found", t->name, n->line,
                             (int)nm.len, nm.ptr);
                return PH_ENOTFOUND;
            }
        }
    }
    return 0;
}

int ph_tpl_set_link(ph_tpl_set *set, char *err, size_t errlen)
{
    if (!set)
        return PH_EINVAL;
    return link_all(set, true, err, errlen);
}

int ph_tpl_set_add_string(ph_tpl_set *set, const char *name, const char *src, size_t len,
                          int autoescape, char *err, size_t errlen)
{
    if (!set || !name || (!src && len))
        return PH_EINVAL;
    int rc;
    bool ae = autoescape < 0 ? autoescape_for(name) : autoescape != 0;
    ph__tpl *t = ph__tpl_compile(name, src ? src : "", len, ae, &rc, err, errlen);
    if (!t)
        return rc;
    if ((rc = set_put(set, t)) < 0) {
        ph__tpl_free(t);
        return rc;
    }
    return link_all(set, false, NULL, 0);
}

static int read_file(const char *path, char **data, size_t *len, time_t *mtime)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return PH_EIO;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > (64 << 20)) {
        fclose(f);
        return PH_EIO;
    }
    char *d = malloc((size_t)st.st_size + 1);
    if (!d) {
        fclose(f);
        return PH_ENOMEM;
    }
    size_t n = fread(d, 1, (size_t)st.st_size, f);
    fclose(f);
    d[n] = '\0';
    *data = d;
    *len = n;
    *mtime = st.st_mtime;
    return 0;
}

static int compile_file(ph_tpl_set *set, const char *path, const char *name, char *err,
                        size_t errlen, ph__tpl **out)
{
    char *data;
    size_t len;
    time_t mt;
    int rc = read_file(path, &data, &len, &mt);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return rc;
    }
    ph__tpl *t = ph__tpl_compile(name, data, len, autoescape_for(name), &rc, err, errlen);
    free(data);
    if (!t)
        return rc;
    t->path = strdup(path);
    t->mtime = mt;
    if (!t->path) {
        ph__tpl_free(t);
        return PH_ENOMEM;
    }
    (void)set;
    *out = t;
    return 0;
}

typedef struct pending {
    ph__tpl **v;
    size_t n, cap;
} pending;

static int walk(ph_tpl_set *set, const char *dir, const char *prefix, int depth, pending *p,
                char *err, size_t errlen)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
        return PH_EIO;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t pl = strlen(dir) + strlen(de->d_name) + 2;
        size_t nl = strlen(prefix) + strlen(de->d_name) + 2;
        char *path = malloc(pl), *name = malloc(nl);
        if (!path || !name) {
            free(path);
            free(name);
            rc = PH_ENOMEM;
            break;
        }
        snprintf(path, pl, "%s/%s", dir, de->d_name);
        snprintf(name, nl, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = walk(set, path, name, depth + 1, p, err, errlen);
            else if (S_ISREG(st.st_mode)) {
                ph__tpl *t;
                rc = compile_file(set, path, name, err, errlen, &t);
                if (rc == 0) {
                    if (p->n == p->cap) {
                        size_t nc = p->cap ? p->cap * 2 : 16;
                        ph__tpl **nv = realloc(p->v, nc * sizeof *nv);
                        if (!nv) {
                            ph__tpl_free(t);
                            rc = PH_ENOMEM;
                        } else {
                            p->v = nv;
                            p->cap = nc;
                        }
                    }
                    if (rc == 0)
                        p->v[p->n++] = t;
                }
            }
        }
        free(path);
        free(name);
    }
    closedir(d);
    return rc;
}

int ph_tpl_set_load_dir(ph_tpl_set *set, const char *dir, char *err, size_t errlen)
{
    if (!set || !dir)
        return PH_EINVAL;
    pending p = {0};
    int rc = walk(set, dir, "", 0, &p, err, errlen);
    if (rc < 0) {
        for (size_t i = 0; i < p.n; i++)
            ph__tpl_free(p.v[i]);
        free(p.v);
        return rc;
    }
    for (size_t i = 0; i < p.n; i++) {
        if (rc == 0)
            rc = set_put(set, p.v[i]);
        else
            ph__tpl_free(p.v[i]);
    }
    free(p.v);
    if (rc < 0)
        return rc;
    free(set->dir);
    set->dir = strdup(dir);
    return link_all(set, true, err, errlen);
}

int ph_tpl_set_add_function(ph_tpl_set *set, const char *name, ph_tpl_fn fn, void *userdata)
{
    if (!set || !name || !fn)
        return PH_EINVAL;
    char *n = ph_arena_strdup(set->arena, name);
    if (!n)
        return PH_ENOMEM;
    return ph_tpl_map_set(set->arena, &set->globals, ph_tpl_str(n), ph_tpl_func(fn, userdata));
}

int ph_tpl_set_add_global(ph_tpl_set *set, const char *name, const ph_value *v)
{
    if (!set || !name || !v)
        return PH_EINVAL;
    char *n = ph_arena_strdup(set->arena, name);
    ph_value c;
    if (!n)
        return PH_ENOMEM;
    int rc = ph_tpl_value_copy(set->arena, v, &c);
    if (rc < 0)
        return rc;
    return ph_tpl_map_set(set->arena, &set->globals, ph_tpl_str(n), c);
}

/* Debug mode: recompiles changed files (called with the lock held).  A
 * file that no longer compiles keeps its old version and the error is
 * returned. */
static int reload_changed(ph_tpl_set *set, ph_arena *arena, const char **errmsg)
{
    bool changed = false;
    for (size_t i = 0; i < set->n; i++) {
        ph__tpl *t = set->tpls[i];
        struct stat st;
        if (!t->path || stat(t->path, &st) != 0 || st.st_mtime == t->mtime)
            continue;
        char err[512] = "";
        ph__tpl *nt;
        int rc = compile_file(set, t->path, t->name, err, sizeof err, &nt);
        if (rc < 0) {
            if (errmsg)
                *errmsg = ph_arena_strdup(arena, err);
            return rc;
        }
        ph__tpl_free(t);
        set->tpls[i] = nt;
        changed = true;
    }
    return changed ? link_all(set, false, NULL, 0) : 0;
}

int ph_tpl_render(const ph_tpl_set *set, const char *name, const ph_tpl_ctx *ctx,
                  const ph_tpl_render_opts *opts, ph_arena *arena, ph_buf *out, const char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (!set || !name || !arena || !out)
        return PH_EINVAL;
    ph_tpl_set *mset = (ph_tpl_set *)set; /* the lock, debug mode only */
    if (set->debug) {
        pthread_mutex_lock(&mset->lock);
        int rc = reload_changed(mset, arena, errmsg);
        if (rc < 0) {
            pthread_mutex_unlock(&mset->lock);
            return rc;
        }
    }
    const ph__tpl *t = ph__set_find(set, ph_slice_cstr(name));
    int rc;
    if (!t) {
        if (errmsg)
            *errmsg = ph_arena_sprintf(arena, "template '%s' not found", name);
        rc = PH_ENOTFOUND;
    } else
        rc = ph__render_tpl(set, t, ctx, opts, arena, out, errmsg);
    if (set->debug)
        pthread_mutex_unlock(&mset->lock);
    return rc;
}
