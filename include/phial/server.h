/*
 * The server: a supervisor process owning the listening socket and N
 * worker processes sharing it.  Each worker runs Phial's own strict
 * HTTP/1.1 connection layer on a libuv event loop, which its handler
 * threads take turns running: the one running it runs the handlers of the
 * requests it read, and loses the loop to another once a handler has run
 * 20 ms, so a slow request holds up no other for longer.  A worker that dies is
 * replaced; a worker exits when its supervisor dies; SIGTERM/SIGINT stop
 * accepting (after taking what is already queued), let the requests in
 * flight finish (bounded by SHUTDOWN_TIMEOUT) and exit 0.
 *
 * The app's handler sees one call with the complete request, built with
 * ph_req_new / ph_req_add_header / ph_req_set_body / ph_req_parse_body.
 */
#ifndef PHIAL_SERVER_H
#define PHIAL_SERVER_H

#include "phial/app.h"
#include "phial/version.h"

PH_API_BEGIN

typedef struct ph_server_options {
    const char *host; /* "127.0.0.1" */
    int port;         /* 5000 */
    int workers;      /* processes; 0: one per core */
    int threads;      /* handler threads per worker; 0: 4 per core (at most 64) */
} ph_server_options;

/* Defaults, then HOST, PORT, WORKERS, THREADS from the environment.  0 or
 * PH_EINVAL (message in err) for a malformed value. */
int ph_server_options_init(ph_server_options *o, char *err, size_t errlen);
/* Parses --host H --port P --workers N --threads N (also --opt=value) over
 * what is in o.  Arguments are borrowed.  0 or PH_EINVAL with a message. */
int ph_server_options_parse(ph_server_options *o, int argc, char **argv, char *err, size_t errlen);
/* Binds, prints "Serving on http://HOST:PORT" on stdout, runs the workers
 * until SIGTERM/SIGINT.  Returns (in the supervisor only) 0 after a clean
 * shutdown, PH_EIO when the socket cannot be bound (logged).  Workers never
 * return from this call: they exit. */
int ph_server_run(ph_app *app, const ph_server_options *o);

PH_API_END

#endif
