/*
 * The application object: configuration, routes, hooks, error pages,
 * static files and the access log.  No globals: two apps can live in one
 * process, and a test builds one in a few lines and calls ph_app_handle()
 * without any network.
 *
 *     ph_app *app = ph_app_new("app");
 *     ph_app_route(app, PH_GET, "/", "index", index_view);
 *     ph_app_static(app, "app/static");
 *     ... ph_server_run(app, &opts) ...
 *     ph_app_free(app);
 *
 * Everything is configured at start-up (before the server starts); the app
 * is read-only while serving.
 */
#ifndef PHIAL_APP_H
#define PHIAL_APP_H

#include "phial/core.h"
#include "phial/http.h"
#include "phial/router.h"
#include "phial/orm.h"
#include "phial/template.h"
#include "phial/security.h"
#include "phial/embed.h"
#include "phial/version.h"

PH_API_BEGIN

typedef struct ph_app ph_app;

/* A hook run before every handler: return 0 to go on, a negative code for
 * a 500.  If it produces a response (res->status set), the handler is
 * skipped (Flask's before_request returning a value). */
typedef int (*ph_before_hook)(ph_request *req, ph_response *res, void *userdata);
/* A hook run after the handler (or error page) with the final response;
 * may change it.  A negative return gives a 500. */
typedef int (*ph_after_hook)(ph_request *req, ph_response *res, void *userdata);
/* Per-request context: begin runs before routing and the before hooks,
 * typically setting req->user (a database session, the user session); end
 * runs after the response is final, with err the handler's result (0 or a
 * PH_E* code) so it can commit or roll back.  begin returning non-zero
 * gives a 500 (end is still called). */
typedef int (*ph_request_begin)(ph_request *req, void *userdata);
typedef void (*ph_request_end)(ph_request *req, int err, void *userdata);
/* Per-worker-thread state: init runs on a thread's first request and its
 * result is req->thread_state for every request on that thread; fini runs
 * when the thread ends (the server stops).  init returning NULL is
 * retried on the next request (and that request gets a 500). */
typedef void *(*ph_thread_init)(void *userdata);
typedef void (*ph_thread_fini)(void *state, void *userdata);

/* A new app; NULL when out of memory.  name is used in log lines.  The
 * defaults are Flask's where Flask has one (MAX_CONTENT_LENGTH 1 MiB here). */
ph_app *ph_app_new(const char *name);
/* Frees the app and its routes (thread states must be gone: stop servers
 * first).  NULL ok. */
void ph_app_free(ph_app *app);

/* ---- configuration ----------------------------------------------------- */

/* Reads KEY=VALUE lines (blank lines and '#' comments skipped, spaces
 * around key and value trimmed, optional quotes removed).  PH_EIO when the
 * file cannot be read, PH_EPARSE (with the line in the log) for a line
 * without '='. */
int ph_app_config_load_file(ph_app *app, const char *path);
/* Sets a value in code (wins over environment and file).  Copied. */
int ph_app_config_set(ph_app *app, const char *key, const char *value);
/* The value: set in code, else the environment, else the config file, else
 * Phial's default; NULL when none.  Borrowed, lives as long as the app (or
 * the environment). */
const char *ph_app_config_get(const ph_app *app, const char *key);
/* A default the application sets (below code, environment and file, above
 * Phial's own), e.g. ph_app_config_default(app, "TEMPLATE_FOLDER",
 * "app/templates").  Copied.  0 or PH_ENOMEM. */
int ph_app_config_default(ph_app *app, const char *key, const char *value);
/* The value as an integer, def when unset; PH_EINVAL when not a number. */
int ph_app_config_int(const ph_app *app, const char *key, int64_t def, int64_t *out);

/* ---- routes and hooks -------------------------------------------------- */

/* Adds a route (see ph_router_add); an error is also logged.  0 or PH_E*. */
int ph_app_route(ph_app *app, unsigned methods, const char *pattern, const char *name,
                 ph_handler handler);
/* ph_app_route with a pointer the handler reads back with
 * ph_req_route_data(req): one handler serving several routes, no globals. */
int ph_app_route_with(ph_app *app, unsigned methods, const char *pattern, const char *name,
                      ph_handler handler, void *data);
/* Runs the route's handler (by endpoint name) inside its worker's
 * event-loop turn, as soon as the request head is read, rather than after
 * the turn, where a handler that runs long loses the loop to another
 * thread -- as Starlette runs an `async def` view on its loop and a plain
 * one in a thread pool.  It saves queueing the request.  Only for handlers
 * that answer at once and never wait: no database (ph_req_db answers NULL
 * on such a route, and the request gets a 500 whose log line says why), no
 * password hash, no sleep, no network, no big render -- a slow one holds
 * up every connection of its worker.  Its before_request hooks run there too.  Start-up only.
 * 0, or PH_ENOTFOUND (logged) when no route has that name. */
int ph_app_route_inline(ph_app *app, const char *endpoint);
/* The same for a page that only reads an SQLite database: its GET and HEAD
 * requests run inside the loop turn with a connection that refuses writes
 * for them (PRAGMA query_only: a write fails, and the request gets a 500
 * whose log line says why) -- in WAL mode a reader never waits for a
 * writer.  Its other methods, and every request when the database is
 * PostgreSQL (a network wait), run after the turn as any route.  For
 * pages whose queries and rendering are short: a long one holds up every
 * connection of its worker.  Start-up only.  0, or PH_ENOTFOUND (logged). */
int ph_app_route_inline_reads(ph_app *app, const char *endpoint);
/* The data of the route that matched req (NULL for routes without). */
void *ph_req_route_data(const ph_request *req);
/* One pointer of the application's own for every handler
 * (ph_app_userdata(req->app)); the app does not own it. */
void ph_app_set_userdata(ph_app *app, void *userdata);
void *ph_app_userdata(const ph_app *app);
/* The application's models (db.Model subclasses): what `app db ...`
 * creates, lists and checks, and what `app run` checks at start-up.  The
 * array is borrowed and must outlive the app.  Every model is checked
 * (ph_model_check); 0 or PH_EINVAL (logged). */
int ph_app_models(ph_app *app, const ph_model *const *models, size_t n);
const ph_model *const *ph_app_get_models(const ph_app *app, size_t *n);
/* Declares that column holds a password hash: `app db add` stores the
 * Argon2id hash of the value given, never the value.  0, PH_EUNDEFINED (no
 * such string column) or PH_ELIMIT (more than 8). */
int ph_app_password_column(ph_app *app, const ph_model *m, const char *column);
bool ph_app_is_password_column(const ph_app *app, const ph_model *m, const ph_column *c);
/* The app's router (read-only while serving). */
const ph_router *ph_app_router(const ph_app *app);
int ph_app_before_request(ph_app *app, ph_before_hook fn, void *userdata);
int ph_app_after_request(ph_app *app, ph_after_hook fn, void *userdata);
/* The page for an error status (400, 404, 405, 413, 500, ...): handler is
 * called with res reset and res->status preset; it fills the body. */
int ph_app_error_handler(ph_app *app, int status, ph_handler handler);
void ph_app_set_request_hooks(ph_app *app, ph_request_begin begin, ph_request_end end,
                              void *userdata);
void ph_app_set_thread_hooks(ph_app *app, ph_thread_init init, ph_thread_fini fini, void *userdata);
/* Serves files of folder under /static/<path:filename> (route "static"),
 * with Content-Type, ETag, Last-Modified and 304s; nothing outside folder
 * is reachable.  PH_ENOTFOUND when folder does not exist. */
int ph_app_static(ph_app *app, const char *folder);
/* Turns the access log off (on by default). */
void ph_app_set_access_log(ph_app *app, bool on);

/* ---- database and templates ---------------------------------------------- */

/* The database URL from the config: DATABASE_URL, else the tutorial's
 * SQLALCHEMY_DATABASE_URI, else "sqlite:///registration.db".  Borrowed. */
const char *ph_app_database_url(const ph_app *app);
/* Gives the app its database (db = SQLAlchemy(app)): the URL above, with
 * SQLALCHEMY_ECHO (log every statement), SQLITE_SYNCHRONOUS,
 * SQLITE_BUSY_TIMEOUT_MS, SQLITE_WAL_TRUNCATE_PAGES,
 * DATABASE_CONNECT_TIMEOUT and DATABASE_STATEMENT_TIMEOUT_MS from the
 * config (a value out of range is PH_EINVAL naming the key).
 * Connects nothing: each worker thread opens its own connection on first
 * use.  0, or PH_EINVAL / PH_EMISUSE / PH_ENOMEM with a message in err. */
int ph_app_use_database(ph_app *app, char *err, size_t errlen);
/* The app's database handle, or NULL. */
ph_db *ph_app_db(const ph_app *app);
/* The calling thread's connection (opened lazily, freed when the thread
 * ends or, for the thread that frees the app, by ph_app_free).  NULL when
 * the app has no database or out of memory. */
ph_db_conn *ph_app_thread_conn(ph_app *app);
/* The request's database session (db.session), made on first call in the
 * request arena on the thread's connection.  What it has not committed
 * when the response is sent is rolled back.  With DEBUG=1 its N+1 detector
 * is on, labelled with the route.  NULL without a database or memory.  A
 * handler returning PH_ECONNLOST, PH_EBUSY or PH_ETIMEDOUT is answered
 * 503 with Retry-After. */
ph_session *ph_req_db(ph_request *req);
/* SQL statements the request's session has run so far. */
int64_t ph_req_query_count(const ph_request *req);
/* Compiles every template under dir (a syntax error is PH_EPARSE with
 * "file:line:col: message" in err) and registers url_for().  With DEBUG=1
 * a changed template is recompiled when next rendered. */
int ph_app_use_templates(ph_app *app, const char *dir, char *err, size_t errlen);
/* Where a folder the app reads (templates, static files, migrations) is:
 * an absolute path as it is; a relative one under the config's ROOT_PATH
 * when set, else in the folder of the application's binary
 * (/proc/self/exe) or up to two folders above it, the first that exists --
 * never under the current directory, so the app runs from anywhere.  *out
 * is a heap string (free it).  0, PH_ENOTFOUND (the paths tried, in err),
 * PH_ENOMEM. */
int ph_app_find_folder(const ph_app *app, const char *rel, char **out, char *err, size_t errlen);
/* Gives the app files compiled into it by phial-embed (embed.h): its
 * templates under "templates/" and static files under "static/" (fs is
 * borrowed: static storage).  0. */
int ph_app_embed(ph_app *app, const ph_embed_fs *fs);
/* The app's templates and static files in one call (what `run` does
 * before serving): without DEBUG, from the embedded files of ph_app_embed
 * when they hold the folder (nothing read from disk); otherwise -- and
 * always for a folder named in code, the environment or the config file
 * rather than by ph_app_config_default -- from the folders TEMPLATE_FOLDER
 * and STATIC_FOLDER (default "templates" and "static"), found by
 * ph_app_find_folder; with DEBUG a changed template is recompiled when
 * next rendered.  The embedded prefix of a folder is its last component
 * ("app/templates" is "templates/").  A folder that is not there is
 * skipped (an app without templates), unless it was named explicitly.
 * 0, or PH_ENOTFOUND / PH_EPARSE / PH_ENOMEM / PH_EMISUSE (templates
 * loaded twice) with a message in err. */
int ph_app_use_folders(ph_app *app, char *err, size_t errlen);
/* The app's template set (to register more globals at start-up), or NULL. */
ph_tpl_set *ph_app_templates(const ph_app *app);
/* render_template(): renders name with ctx (may be NULL) as a 200
 * text/html response; relationships the template reads are loaded through
 * the request's session.  A template error is logged with template and
 * line and returned (the app answers 500). */
int ph_render(ph_request *req, ph_response *res, const char *name, const ph_tpl_ctx *ctx);

/* render_template(...), status: the same with another status (a form
 * shown again with its errors: 400). */
int ph_render_status(ph_request *req, ph_response *res, int status, const char *name,
                     const ph_tpl_ctx *ctx);

/* get_or_404 / first_or_404: 0 with *out set; when there is no such row,
 * the 404 page is put in res and PH_EABORTED returned -- a handler returns
 * it as it is, and the app answers the 404:
 *
 *     Todo *t;
 *     int rc = PH_GET_OR_404(ph_req_db(req), res, Todo, id, &t);
 *     if (rc)
 *         return rc;
 *
 * Other errors are returned as ph_session_get / ph_query_first return
 * them; a NULL session (no database) is PH_EMISUSE. */
PH_NODISCARD int ph_get_or_404(ph_session *s, ph_response *res, const ph_model *m, int64_t id,
                               void *out);
PH_NODISCARD int ph_first_or_404(ph_query *q, ph_response *res, const ph_model *m, void *out);
/* The same with the key read from route parameter param (an <int:...>):
 *     Todo *t;
 *     int rc = PH_PARAM_OR_404(req, res, Todo, "id", &t);   */
PH_NODISCARD int ph_param_or_404(ph_request *req, ph_response *res, const ph_model *m,
                                 const char *param, void *out);
#define PH_PARAM_OR_404(req, res, T, param, out)                                                   \
    ph_param_or_404((req), (res), &T##_model, (param),                                             \
                    PH__EXPECT(out, T **, "PH_PARAM_OR_404(req, res, " #T ", param, out): out "   \
                                          "must be a " #T " **"))
#define PH_GET_OR_404(s, res, T, id, out)                                                          \
    ph_get_or_404((s), (res), &T##_model, (id),                                                    \
                  PH__EXPECT(out, T **, "PH_GET_OR_404(s, res, " #T ", id, out): out must be "    \
                                        "a " #T " **"))
#define PH_FIRST_OR_404(q, res, T, out)                                                            \
    ph_first_or_404((q), (res), &T##_model,                                                        \
                    PH__EXPECT(out, T **, "PH_FIRST_OR_404(q, res, " #T ", out): out must be "    \
                                          "a " #T " **"))

/* jsonify(row) and jsonify(rows): a model's row, or n of them, as JSON
 * (ph_model_to_json: columns only; for relationships call ph_json with
 * ph_model_to_json(&T_model, obj, (const char *[]){"rel", NULL})). */
#define PH_JSON_ROW(res, status, T, obj)                                                           \
    ph_json((res), (status),                                                                       \
            ph_model_to_json(&T##_model,                                                           \
                             PH__EXPECT(obj, T *, "PH_JSON_ROW(res, status, " #T ", obj): obj "   \
                                                  "must be a " #T " *"),                           \
                             NULL))
#define PH_JSON_ROWS(res, status, T, rows, n)                                                      \
    ph_json((res), (status),                                                                       \
            ph_rows_to_json(&T##_model,                                                            \
                            (void *const *)PH__EXPECT(rows, T **, "PH_JSON_ROWS(res, status, " #T \
                                                                  ", rows, n): rows must be a " #T \
                                                                  " **"),                          \
                            (n), NULL))

/* redirect(url_for(endpoint)): a 302 to a route without parameters.  0,
 * PH_EUNDEFINED (no such route; logged) or PH_ENOMEM. */
int ph_redirect_to(ph_request *req, ph_response *res, const char *endpoint);
/* url_for with values of any type: keys are strings, values strings,
 * integers, doubles or booleans (ph_val each; NULL when a key is not a
 * string, a value is NULL or bytes, or out of memory).  In the request's
 * arena; see ph_url_for for the rest. */
char *ph_url_for_vals(const ph_app *app, ph_arena *a, const char *name, const ph_val *kv,
                      size_t n);
/*     PH_URL_FOR(req, "pet", "pet_id", pet->pet_id)   ->  "/pets/3"
 * values converted by their C type as PH_FILTER's are (at most 8 pairs). */
#define PH_URL_FOR(req, name, ...)                                                                 \
    ph_url_for_vals((req)->app, (req)->arena, (name),                                              \
                    (const ph_val[]){PH__MAP(PH_V, __VA_ARGS__)}, PH__NARGS(__VA_ARGS__))

/* ---- request context: cookie session, flash, CSRF -------------------------
 * Everything a request carries beyond HTTP lives in one context owned by
 * the app layer (context.c), made on first use in the request arena: the
 * database session (ph_req_db), the signed cookie session, its flash
 * messages, the CSRF state and the bound form.  The http layer knows
 * nothing of them. */

/* Gives the app its secret and turns on the signed cookie session, CSRF
 * protection of every POST, PUT, PATCH and DELETE (answered 400 with the
 * reason, before the handler runs, unless the route is exempt), the check
 * that every query and form value is UTF-8 text without NUL (400
 * otherwise), and the security headers on every response (error pages
 * included).  The key is SECRET_KEY; else the file SECRET_KEY_FILE names
 * (made with a random key, mode 0600, when missing); else, with DEBUG=1,
 * instance/secret_key the same way; else PH_EINVAL with the reason in err.
 * Call at start-up, before the server forks its workers, so every worker
 * shares the key.  Settings: see ph_security_config_read. */
int ph_app_use_security(ph_app *app, char *err, size_t errlen);
/* The app's security object, or NULL before ph_app_use_security. */
ph_security *ph_app_security(const ph_app *app);
/* Exempts a route (by endpoint name) from the CSRF check (Flask-WTF's
 * csrf.exempt), e.g. for an API authenticated otherwise.  Start-up only. */
int ph_csrf_exempt(ph_app *app, const char *endpoint);

/* The request's signed cookie session (Flask's `session`), decoded on
 * first use from the cookie; a cookie that is absent, forged or expired
 * gives an empty session.  NULL without ph_app_use_security or memory.
 * Changes are sent back as a Set-Cookie when the response goes out. */
ph_usersession *ph_req_usersession(ph_request *req);
/* session[key], or NULL.  Borrowed (request arena). */
const char *ph_usersession_get(ph_request *req, const char *key);
/* session[key] = value (copied; UTF-8 text).  0, PH_EINVAL, PH_EMISUSE (no
 * security), PH_ENOMEM. */
int ph_usersession_set(ph_request *req, const char *key, const char *value);
/* session.pop(key); 0 even when absent. */
int ph_usersession_remove(ph_request *req, const char *key);
/* session.clear(); flashes and the CSRF secret go too. */
int ph_usersession_clear(ph_request *req);
/* flash(message, category): shown once, on a later page, by
 * get_flashed_messages().  category NULL: "message".  0 or a code. */
int ph_flash(ph_request *req, const char *category, const char *message);
/* Takes the flashed messages out of the session (once per request: a
 * second call gives the same list).  Returns how many; *out borrowed. */
size_t ph_get_flashed_messages(ph_request *req, const ph_flash_msg **out);
/* The CSRF token for this request's session (the same one for the whole
 * request), or NULL without security or memory. */
const char *ph_csrf_token(ph_request *req);
/* Checks the token the request submitted (form field csrf_token, or the
 * X-CSRFToken / X-CSRF-Token header).  0 when valid; else the code and
 * message of ph_csrf_check (PH_EMISUSE without security). */
int ph_req_csrf_check(ph_request *req, const char **why);
struct ph_form;

/* ---- serving ------------------------------------------------------------- */

/* Answers req into res: request hooks, routing (404/405 with Allow, HEAD as
 * GET, automatic OPTIONS), before hooks, the handler, error pages, after
 * hooks, the Server and Content-Type headers.  Never fails: a handler's
 * error code becomes an error page and a log line -- 400 for the
 * client's data (PH_ECONSTRAINT, PH_ETOOLONG, PH_ERANGE: a commit that
 * broke a constraint or a length), 503 for the database being down or
 * locked (PH_ECONNLOST, PH_EBUSY), 500 for anything else; PH_EABORTED
 * with an abort set (PH_GET_OR_404) is the abort's page.  res must be
 * ph_res_init'ed. */
void ph_app_handle(ph_app *app, ph_request *req, ph_response *res);
/* Writes the access-log line for a finished request: common log format
 * plus the duration in milliseconds:
 *   127.0.0.1 - - [28/Nov/2026:13:45:00 +0000] "GET / HTTP/1.1" 200 11 0.153ms */
void ph_app_log_access(const ph_app *app, const ph_request *req, int status, uint64_t bytes);
/* Builds the URL of a route by name (see ph_router_url_for). */
char *ph_url_for(const ph_app *app, ph_arena *a, const char *name, ...);

/* The limits the server enforces, read from the config once at start. */
typedef struct ph_app_limits {
    size_t max_content_length;   /* MAX_CONTENT_LENGTH, default 1 MiB */
    size_t max_url_length;       /* MAX_URL_LENGTH, default 8 KiB */
    size_t max_header_size;      /* MAX_HEADER_SIZE (all headers), default 16 KiB */
    size_t max_form_parts;       /* MAX_FORM_PARTS, default 1000 */
    unsigned connection_timeout; /* CONNECTION_TIMEOUT seconds, default 30 */
    unsigned connection_limit;   /* CONNECTION_LIMIT per worker, default 4096 */
    unsigned shutdown_timeout;   /* SHUTDOWN_TIMEOUT seconds, default 10 */
} ph_app_limits;
/* 0 or PH_EINVAL (a value is not a number; logged). */
int ph_app_limits_get(const ph_app *app, ph_app_limits *out);

/* The form bound to this request last (ph_form_bind records it), or NULL. */
struct ph_form *ph_req_form_bound(const ph_request *req);
PH_API_END

/* Internal (not exported): shared by src/form and src/app. */
void ph__req_bind_form(ph_request *req, struct ph_form *form);

#endif
