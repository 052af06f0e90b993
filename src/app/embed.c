/*
 * Where the app's files come from: folders found relative to the
 * application binary (never the current directory), or files embedded in
 * the binary by phial-embed.  ph_app_use_folders picks one for templates
 * and static files: embedded in production, the folders on disk (with
 * template reload) under DEBUG.  Embedded static files are served with the
 * same rules as files from a folder: Content-Type by extension, an ETag
 * and 304 answers, and nothing but an exact entry name is reachable.
 */
#include "phial/app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

const ph_embed_file *ph_embed_find(const ph_embed_fs *fs, const char *name)
{
    if (!fs || !name)
        return NULL;
    size_t lo = 0, hi = fs->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(fs->files[mid].name, name);
        if (c == 0)
            return &fs->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int ph_embed_has_prefix(const ph_embed_fs *fs, const char *prefix)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; fs && i < fs->count; i++)
        if (strncmp(fs->files[i].name, prefix, pl) == 0 && fs->files[i].name[pl] == '/')
            return 1;
    return 0;
}

/* The last component of a folder name ("app/templates/" gives
 * "templates"), copied into out. */
static void last_component(const char *dir, char *out, size_t n)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(out, n, "%.*s", (int)(len - start), dir + start);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ph_app_find_folder(const ph_app *app, const char *rel, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!rel || !*rel) {
        snprintf(err, errlen, "no folder named");
        return PH_EINVAL;
    }
    char path[PATH_MAX];
    if (rel[0] == '/') {
        if (!is_dir(rel)) {
            snprintf(err, errlen, "%s: not a folder", rel);
            return PH_ENOTFOUND;
        }
        *out = strdup(rel);
        return *out ? 0 : PH_ENOMEM;
    }
    const char *root = ph_app_config_get(app, "ROOT_PATH");
    if (root && *root) {
        if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path) ||
            !is_dir(path)) {
            snprintf(err, errlen, "%s: not a folder (ROOT_PATH=%s)", path, root);
            return PH_ENOTFOUND;
        }
        *out = realpath(path, NULL);
        return *out ? 0 : PH_ENOMEM;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(err, errlen, "%s: the application's own path is unknown (%s); set ROOT_PATH", rel,
                 strerror(errno));
        return PH_ENOTFOUND;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    /* the binary's folder, its parent, its grand-parent */
    for (int up = 0; up < 3; up++) {
        if (snprintf(path, sizeof(path), "%s/%s", exe, rel) < (int)sizeof(path) && is_dir(path)) {
            *out = realpath(path, NULL);
            return *out ? 0 : PH_ENOMEM;
        }
        slash = strrchr(exe, '/');
        if (!slash || slash == exe)
            break;
        *slash = '\0';
    }
    snprintf(err, errlen,
             "%s: no such folder next to the application or up to two folders above it; set "
             "ROOT_PATH, or give an absolute path",
             rel);
    return PH_ENOTFOUND;
}

typedef struct embedded_dir {
    const ph_embed_fs *fs;
    const char *prefix; /* "templates" */
} embedded_dir;

/* Adds every embedded file under prefix/ as a template named by the rest
 * of its name, then links the set. */
static int load_embedded(ph_tpl_set *set, const void *src, char *err, size_t errlen)
{
    const embedded_dir *d = src;
    size_t pl = strlen(d->prefix);
    for (size_t i = 0; i < d->fs->count; i++) {
        const ph_embed_file *f = &d->fs->files[i];
        if (strncmp(f->name, d->prefix, pl) != 0 || f->name[pl] != '/')
            continue;
        int rc = ph_tpl_set_add_string(set, f->name + pl + 1, (const char *)f->data, f->size, -1,
                                       err, errlen);
        if (rc < 0)
            return rc;
    }
    return ph_tpl_set_link(set, err, errlen);
}

/* /static/<path:filename> from the embedded files; the route's data is
 * the file set and the app's static root holds the prefix. */
static int embedded_static_view(ph_request *req, ph_response *res)
{
    const ph_embed_fs *fs = req->route ? req->route->data : NULL;
    const char *prefix = req->app ? ph__app_static_root(req->app) : NULL;
    const char *name = ph_req_param(req, "filename");
    if (!fs || !prefix || !name || !*name || strlen(req->path) != req->path_len)
        return ph_abort(res, 404);
    for (const char *s = name; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return ph_abort(res, 404);
        s += n + (s[n] == '/');
    }
    char *full = ph_arena_sprintf(req->arena, "%s/%s", prefix, name);
    if (!full)
        return PH_ENOMEM;
    const ph_embed_file *f = ph_embed_find(fs, full);
    if (!f)
        return ph_abort(res, 404);
    char lastmod[30];
    ph_http_date((time_t)f->mtime, lastmod);
    int rc = ph_res_header(res, "ETag", f->etag);
    if (rc == 0)
        rc = ph_res_header(res, "Last-Modified", lastmod);
    if (rc == 0)
        rc = ph_res_header(res, "Cache-Control", "no-cache");
    if (rc < 0)
        return rc;
    res->content_type = ph_http_mime_type(name);
    const char *inm = ph_req_header(req, "If-None-Match");
    const char *ims = ph_req_header(req, "If-Modified-Since");
    time_t since;
    /* the ETag is strong and has no comma: a substring match is a match */
    bool fresh = inm ? strcmp(inm, "*") == 0 || strstr(inm, f->etag)
                     : ims && ph_http_date_parse(ims, &since) == 0 && (time_t)f->mtime <= since;
    if (fresh) {
        res->status = 304;
        res->file_size = f->size; /* the 200's length, for the 304 */
        return 0;
    }
    res->status = 200;
    return ph_res_body(res, f->data, f->size);
}

static bool debug_on(const ph_app *app)
{
    const char *d = ph_app_config_get(app, "DEBUG");
    return d && (strcmp(d, "1") == 0 || strcasecmp(d, "true") == 0);
}

/* Static files from the embedded copy or the folder dir; a folder that is
 * not there is skipped unless named explicitly. */
static int use_static(ph_app *app, const char *dir, bool explicit_dir, const ph_embed_fs *embedded,
                      char *err, size_t errlen)
{
    char prefix[256];
    last_component(dir, prefix, sizeof(prefix));
    if (embedded && ph_embed_has_prefix(embedded, prefix)) {
        char *root = strdup(prefix);
        if (!root)
            return PH_ENOMEM;
        ph__app_set_static_root(app, root);
        return ph__app_route_data(app, PH_GET, "/static/<path:filename>", "static",
                                  embedded_static_view, (void *)embedded);
    }
    char *path;
    int rc = ph_app_find_folder(app, dir, &path, err, errlen);
    if (rc == PH_ENOTFOUND && !explicit_dir) {
        ph_log_debug("static files: %s: /static/ is not served", err);
        err[0] = '\0';
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = ph_app_static(app, path);
    if (rc < 0)
        snprintf(err, errlen, "STATIC_FOLDER %s: cannot be served", path);
    free(path);
    return rc;
}

int ph_app_use_folders(ph_app *app, char *err, size_t errlen)
{
    const ph_embed_fs *embedded = debug_on(app) ? NULL : ph__app_embedded(app);
    const char *t_explicit = ph__app_config_explicit(app, "TEMPLATE_FOLDER");
    const char *s_explicit = ph__app_config_explicit(app, "STATIC_FOLDER");
    const char *tdir = ph_app_config_get(app, "TEMPLATE_FOLDER");
    const char *sdir = ph_app_config_get(app, "STATIC_FOLDER");
    tdir = tdir && *tdir ? tdir : "templates";
    sdir = sdir && *sdir ? sdir : "static";
    if (err && errlen)
        err[0] = '\0';
    char prefix[256];
    last_component(tdir, prefix, sizeof(prefix));
    int rc;
    if (!t_explicit && embedded && ph_embed_has_prefix(embedded, prefix)) {
        embedded_dir d = {embedded, prefix};
        rc = ph__app_use_templates_from(app, load_embedded, &d, err, errlen);
    } else {
        char *path;
        rc = ph_app_find_folder(app, tdir, &path, err, errlen);
        if (rc == 0) {
            rc = ph_app_use_templates(app, path, err, errlen);
            free(path);
        } else if (rc == PH_ENOTFOUND && !t_explicit) {
            ph_log_debug("templates: %s: none loaded", err);
            err[0] = '\0';
            rc = 0;
        } else if (rc == PH_ENOTFOUND) {
            char msg[600];
            snprintf(msg, sizeof(msg), "TEMPLATE_FOLDER %s", err);
            snprintf(err, errlen, "%s", msg);
        }
    }
    if (rc < 0)
        return rc;
    return use_static(app, sdir, s_explicit != NULL, s_explicit ? NULL : embedded, err, errlen);
}
