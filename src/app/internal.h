/*
 * What the files of the app layer share: the static-folder plumbing and
 * the default error page.
 */
#ifndef PHIAL_APP_INTERNAL_H
#define PHIAL_APP_INTERNAL_H

#include "phial/app.h"

/* ph_app_route with a data pointer on the route. */
int ph__app_route_data(ph_app *app, unsigned methods, const char *pattern, const char *name,
                       ph_handler handler, void *data);
/* The static folder's resolved path, or NULL. */
const char *ph__app_static_root(const ph_app *app);
/* Takes ownership of root (heap string). */
int ph__app_set_static_root(ph_app *app, char *root);
/* Seconds a 503 for a database that is down, locked or stalled asks the
 * client to wait (Retry-After): about one statement timeout's worth. */
#define PH__RETRY_AFTER_S "2"
/* A config value set in code, the environment or the config file (not a
 * default), or NULL. */
const char *ph__app_config_explicit(const ph_app *app, const char *key);
/* The files of ph_app_embed, or NULL. */
const ph_embed_fs *ph__app_embedded(const ph_app *app);
/* Phial's built-in page for an error status (werkzeug's wording). */
int ph__default_error_page(ph_response *res, int status);

/* The app's database handle, per-thread connections and template set
 * (context.c); NULL until ph_app_use_database / ph_app_use_templates. */
typedef struct ph__app_ctx ph__app_ctx;
ph__app_ctx *ph__app_ctx_get(const ph_app *app);
void ph__app_ctx_set(ph_app *app, ph__app_ctx *ctx);
/* What the request's database session last reported ("no such table:
 * user"), for the log line of a failed request; NULL when nothing. */
const char *ph__req_error_detail(const ph_request *req);
/* Ends the request's database session (rolling back what was not
 * committed) on the thread that ran the handler: its connection belongs to
 * that thread, and the server may free the request on another one. */
void ph__req_db_end(ph_request *req);
/* Routes req before the server hands it on (kept for ph_app_handle);
 * true when its route runs inline (ph_app_route_inline), so the server may
 * call ph_app_handle on its event-loop thread. */
bool ph__app_route_early(ph_app *app, ph_request *req);
/* ph_route.run_inline's values */
enum { PH__INLINE = 1, PH__INLINE_READS = 2 };
/* Whether req (routed) runs on the event-loop thread: an inline route, or
 * a GET or HEAD of an inline-reads route on SQLite. */
bool ph__req_runs_inline(const ph_request *req);
/* ph_app_use_templates with the templates added by load(set, src) rather
 * than read from a folder (embed.c reads them from embedded files). */
int ph__app_use_templates_from(ph_app *app,
                               int (*load)(ph_tpl_set *set, const void *src, char *err,
                                           size_t errlen),
                               const void *src, char *err, size_t errlen);
/* Frees the context (NULL ok); called by ph_app_free. */
void ph__app_ctx_free(ph__app_ctx *ctx);

#endif
