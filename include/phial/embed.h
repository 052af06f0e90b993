/*
 * Files compiled into the application: templates, static files and
 * migrations turned into C by `phial-embed` at build time (the way Go's
 * embed does), so that a deployment is one binary.
 *
 *     phial-embed -o build/assets.c templates=templates static=static
 *
 * writes `const ph_embed_fs ph_embedded`, whose entries are named
 * "templates/base.html", "static/style.css", ...; the application hands it
 * to ph_app_use_folders() (app.h), which reads templates and serves static
 * files from it -- or, with DEBUG=1, from the folders on disk, reloading
 * what changed.
 */
#ifndef PHIAL_EMBED_H
#define PHIAL_EMBED_H

#include <stddef.h>

#include "phial/version.h"

PH_API_BEGIN

/* One embedded file.  data holds size bytes plus a terminating 0 byte, so
 * text can be read as a C string; etag is a quoted strong entity tag made
 * from the content; mtime is in seconds since the epoch. */
typedef struct ph_embed_file {
    const char *name; /* "templates/base.html": '/'-separated, no leading '/' */
    const unsigned char *data;
    size_t size;
    const char *etag;
    long long mtime; /* the file's modification time when embedded (Last-Modified) */
} ph_embed_file;

/* The files of one phial-embed run, sorted by name (static storage). */
typedef struct ph_embed_fs {
    const ph_embed_file *files;
    size_t count;
} ph_embed_fs;

/* The file named name, or NULL (binary search; fs may be NULL). */
const ph_embed_file *ph_embed_find(const ph_embed_fs *fs, const char *name);
/* Whether fs holds a file under "prefix/". */
int ph_embed_has_prefix(const ph_embed_fs *fs, const char *prefix);

PH_API_END

#endif
