/*
 * The HTTP/1.1 wire format as Phial's server reads it: a strict parser for
 * a request head (request line and header fields) and an incremental
 * decoder for chunked bodies.  Both see every byte; neither allocates.
 * What they refuse, and with which status, mirrors nginx 1.22 case by case
 * (the table is in the README's design section): a request whose framing
 * is in doubt gets one error status and the connection is closed.
 *
 * Internal to the library (the server and the fuzz targets use it).
 */
#ifndef PHIAL_HTTP_WIRE_H
#define PHIAL_HTTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One header field of a parsed head: pointers into the head's bytes (not
 * NUL-terminated); the value has its surrounding blanks trimmed. */
typedef struct ph_wire_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} ph_wire_header;

typedef struct ph_wire_limits {
    size_t max_url;        /* request target: longer is 414 */
    size_t max_header;     /* all header lines together: more is 431 */
    uint64_t max_body;     /* Content-Length above it is 413 */
} ph_wire_limits;

/* A parsed request head.  Pointers point into the bytes given to
 * ph__wire_head_parse. */
typedef struct ph_wire_head {
    const char *method;
    size_t method_len;
    const char *target; /* origin-form "/p?q" (absolute-form is reduced to it) */
    size_t target_len;
    int minor;              /* HTTP/1.<minor>: 0 or 1 */
    int64_t content_length; /* -1: none */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* what the client asked (version + Connection) */
    bool expect_continue;   /* Expect: 100-continue */
    size_t nheaders;        /* header fields stored in the caller's array */
    size_t head_len;        /* bytes of the head, final empty line included */
} ph_wire_head;

/* Where the search for the end of a head stands; zero it for a new head. */
typedef struct ph_wire_scan {
    size_t pos;      /* bytes before it hold no end of line still to look at */
    size_t start;    /* where the request line starts (after empty lines) */
    size_t line_end; /* just past the request line's LF; 0: not seen yet */
    bool started;
} ph_wire_scan;

/* Looks for the end of a request head in buf[0..len), resuming where the
 * last call on the same bytes stopped (so trickled bytes are looked at
 * once).  Returns the head's length when its final empty line is there, 0
 * when more bytes are needed, or a negative HTTP status when the bytes so
 * far are already too many: -414 (a request line longer than max_url
 * allows), -431 (header lines longer than max_header), -400 (more than 16
 * bytes of empty lines before the request line). */
long ph__wire_head_end(const char *buf, size_t len, const ph_wire_limits *lim, ph_wire_scan *st);

/* Parses a complete head (buf[0..len), as delimited by ph__wire_head_end)
 * into out, its header fields into hdrs (room for cap; cap = the number of
 * LF bytes in the head is always enough).  0, or the HTTP status to answer
 * (400, 413, 414, 431, 501, 505) -- after which the connection must be
 * closed, since the request's framing cannot be trusted. */
int ph__wire_head_parse(const char *buf, size_t len, const ph_wire_limits *lim,
                        ph_wire_header *hdrs, size_t cap, ph_wire_head *out);

/* The state of a chunked body being decoded; zero it to start. */
typedef struct ph_wire_chunked {
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    uint64_t total;     /* data bytes so far */
    size_t line;        /* bytes of the current size/extension/trailer line */
    size_t trailer;     /* bytes of trailer section so far */
    int digits;
} ph_wire_chunked;

/* Called with each piece of decoded body data; nonzero stops decoding
 * (returned as is by ph__wire_chunked_feed). */
typedef int (*ph_wire_data_fn)(void *ud, const char *p, size_t n);

/* Feeds n bytes of a chunked body.  *used gets how many were consumed.
 * Returns 0 (all used, more needed), 1 (the body is complete: bytes after
 * *used belong to the next request), a positive HTTP status (400 for
 * malformed framing, 413 as soon as the body would pass max_body), or what
 * the data callback returned if it stopped. */
int ph__wire_chunked_feed(ph_wire_chunked *st, const char *p, size_t n, uint64_t max_body,
                          size_t max_trailer, ph_wire_data_fn fn, void *ud, size_t *used);

#endif
