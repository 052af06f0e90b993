/*
 * Static files: /static/<path:filename> served from one folder with
 * Content-Type by extension, ETag, Last-Modified and 304 answers.  Nothing
 * outside the folder can be reached: "..", encoded slashes, absolute
 * paths, NUL bytes and symlinks leading out all answer 404.
 */
#include "phial/app.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Whether a requested name may be looked up at all. */
static bool name_ok(const ph_request *req, const char *name)
{
    if (!name || !*name || name[0] == '/' || strchr(name, '\\'))
        return false;
    if (strlen(req->path) != req->path_len)
        return false; /* %00 in the path */
    if (strcasestr(req->raw_path, "%2f") || strcasestr(req->raw_path, "%5c"))
        return false;
    for (const char *s = name; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

static bool etag_matches(const char *header, const char *etag)
{
    /* a list of entity tags, possibly weak; "*" matches anything */
    size_t el = strlen(etag);
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static int static_view(ph_request *req, ph_response *res)
{
    const char *root = req->app ? ph__app_static_root(req->app) : NULL;
    const char *name = ph_req_param(req, "filename");
    if (!root || !name_ok(req, name))
        return ph_abort(res, 404);
    char *full = ph_arena_sprintf(req->arena, "%s/%s", root, name);
    if (!full)
        return PH_ENOMEM;
    char *real = realpath(full, NULL);
    if (!real)
        return ph_abort(res, 404);
    size_t rl = strlen(root);
    bool inside = strncmp(real, root, rl) == 0 && real[rl] == '/';
    int fd = inside ? open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    free(real);
    if (fd < 0)
        return ph_abort(res, 404);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ph_abort(res, 404);
    }
    char etag[64], lastmod[30];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
             (unsigned long long)st.st_size);
    ph_http_date(st.st_mtime, lastmod);
    int rc = ph_res_header(res, "ETag", etag);
    if (rc == 0)
        rc = ph_res_header(res, "Last-Modified", lastmod);
    if (rc == 0)
        rc = ph_res_header(res, "Cache-Control", "no-cache");
    if (rc < 0) {
        close(fd);
        return rc;
    }
    const char *inm = ph_req_header(req, "If-None-Match");
    const char *ims = ph_req_header(req, "If-Modified-Since");
    time_t since;
    bool fresh = inm ? etag_matches(inm, etag)
                     : (ims && ph_http_date_parse(ims, &since) == 0 && st.st_mtime <= since);
    if (fresh) {
        close(fd);
        res->status = 304;
        res->content_type = ph_http_mime_type(name);
        res->file_size = (uint64_t)st.st_size; /* the 200's length, for the 304 */
        return 0;
    }
    ph_res_body(res, NULL, 0);
    res->fd = fd;
    res->file_size = (uint64_t)st.st_size;
    res->status = 200;
    res->content_type = ph_http_mime_type(name);
    return 0;
}

int ph_app_static(ph_app *app, const char *folder)
{
    char *root = realpath(folder, NULL);
    struct stat st;
    if (!root || stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        ph_log_error("static folder %s: %s", folder, root ? "not a directory" : strerror(errno));
        free(root);
        return PH_ENOTFOUND;
    }
    ph__app_set_static_root(app, root);
    return ph__app_route_data(app, PH_GET, "/static/<path:filename>", "static", static_view, NULL);
}
