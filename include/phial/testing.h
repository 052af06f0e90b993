/*
 * The in-process test client (Flask's app.test_client()): builds a request
 * -- method, path, query, form, JSON, cookies, headers --, runs it through
 * ph_app_handle() the way the server does (same body parsing, same limits),
 * without a socket, and gives back status, headers, body and cookies.  A
 * cookie jar keeps every cookie the app sets (the signed session, the CSRF
 * cookie, anything else) and sends them back on the next request, so a
 * test walks through a login or a form the way a browser does.  A
 * throwaway SQLite database per test comes with ph_test_db_create().
 *
 *     ph_test_db db;
 *     ph_test_db_create(&db, models, nmodels, err, sizeof(err));
 *     ph_app *app = my_app_new();                   (routes, models, ...)
 *     ph_app_config_set(app, "DATABASE_URL", db.url);
 *     ph_test_app_ready(app, err, sizeof(err));     (database, templates)
 *     ph_test_client *c = ph_test_client_new(app);
 *     ph_test_response r = ph_test_get(c, "/");
 *     ... r.status == 200, strstr(r.body, "Hello") ...
 *     r = ph_test_post_form(c, "/register", (const char *[]){"username", "ann", NULL});
 *     ph_test_client_free(c);
 *     ph_app_free(app);
 *     ph_test_db_destroy(&db);
 *
 * Responses live until ph_test_client_free (every one of them, so a test
 * may compare two).  The client runs requests on the calling thread, one
 * at a time; it is not for use from several threads.
 */
#ifndef PHIAL_TESTING_H
#define PHIAL_TESTING_H

#include "phial/app.h"

#include "phial/version.h"

PH_API_BEGIN

typedef struct ph_test_client ph_test_client;

/* What the app answered.  Strings live until ph_test_client_free. */
typedef struct ph_test_response {
    int status; /* 0 only when the client ran out of memory */
    const char *content_type;
    const char *body; /* NUL-terminated (body_len bytes before the NUL);
                         a file body is read in; empty for HEAD */
    size_t body_len;
    const ph_header *headers; /* as the app set them (Set-Cookie one each) */
    size_t nheaders;
} ph_test_response;

/* A request.  Lists are name, value, name, value, ..., NULL. */
typedef struct ph_test_request {
    const char *method;       /* NULL: "GET" */
    const char *path;         /* may carry "?query" (sent as it is) */
    const char *const *query; /* appended to the query, percent-encoded */
    const char *const *form;  /* a url-encoded body (POST when no method) */
    const char *json;         /* an application/json body */
    const void *body;         /* a raw body with body_len bytes ... */
    size_t body_len;
    const char *content_type;   /* ... and its Content-Type */
    const char *const *headers; /* more headers */
    const char *const *cookies; /* cookies for this request only, on top of the jar's */
    const char *remote_addr;    /* NULL: "127.0.0.1" */
} ph_test_request;

/* Readies app the way `app run` does before serving (ph_app_main): its
 * database handle (DATABASE_URL) and its templates and static files
 * (ph_app_use_folders).  Set DATABASE_URL (ph_app_config_set) first.  0,
 * or a PH_E* code with a message in err. */
int ph_test_app_ready(ph_app *app, char *err, size_t errlen);
/* A client for app (borrowed: it must outlive the client).  NULL when out
 * of memory. */
ph_test_client *ph_test_client_new(ph_app *app);
/* Frees the client, its cookie jar and every response it gave.  NULL ok. */
void ph_test_client_free(ph_test_client *c);

/* Runs one request and answers it as the server would: a body over
 * MAX_CONTENT_LENGTH is 413, a malformed form 400, ...  Then every
 * Set-Cookie of the answer updates the jar (Max-Age=0 or an Expires in the
 * past removes the cookie).  0, or PH_EINVAL (no path, or a body given
 * twice) / PH_ENOMEM with out->status 0. */
int ph_test_client_open(ph_test_client *c, const ph_test_request *r, ph_test_response *out);
/* Shorthands for ph_test_client_open; a failure gives status 0. */
ph_test_response ph_test_get(ph_test_client *c, const char *path);
ph_test_response ph_test_post_form(ph_test_client *c, const char *path, const char *const *form);
ph_test_response ph_test_post_json(ph_test_client *c, const char *path, const char *json);

/* A response header (case-insensitive; the first of several), or NULL. */
const char *ph_test_response_header(const ph_test_response *r, const char *name);
/* The value of the form field name in an HTML body, as a browser would
 * submit it: the value="..." of <input name="name" ...> (entities of
 * quotes, &, < and > decoded), e.g. the CSRF token of a rendered form.
 * Lives until ph_test_client_free; NULL when there is no such input. */
const char *ph_test_form_value(ph_test_client *c, const ph_test_response *r, const char *name);

/* The jar's value of a cookie, or NULL.  Borrowed until the next call. */
const char *ph_test_client_cookie(const ph_test_client *c, const char *name);
/* Sets (value non-NULL) or removes (NULL) a cookie in the jar. */
int ph_test_client_set_cookie(ph_test_client *c, const char *name, const char *value);
/* Number of cookies in the jar. */
size_t ph_test_client_cookie_count(const ph_test_client *c);

/* A throwaway SQLite database: a new file in a new private temporary
 * folder ($TMPDIR or /tmp) with the tables of models created.  url is
 * "sqlite:////tmp/phial-test-XXXXXX/test.db", for DATABASE_URL. */
typedef struct ph_test_db {
    char url[600];
    char path[540];
    char dir[512];
} ph_test_db;
/* 0, or a PH_E* code with a message in err (nothing left behind). */
int ph_test_db_create(ph_test_db *db, const ph_model *const *models, size_t nmodels, char *err,
                      size_t errlen);
/* Removes the file (with its -wal and -shm) and the folder. */
void ph_test_db_destroy(ph_test_db *db);

PH_API_END

#endif
