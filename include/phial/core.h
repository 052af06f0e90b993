/*
 * Phial core: byte slices, growable buffers, request arenas, the error-code
 * table and leveled logging.  Everything else in Phial is built on these.
 *
 * Ownership in one paragraph: an arena owns every byte allocated from it and
 * frees them all in ph_arena_free() (after running its cleanup hooks, newest
 * first).  A ph_slice borrows bytes and never owns them.  A ph_buf owns its
 * bytes: heap memory (freed by ph_buf_free) or, when made with an arena,
 * arena memory (freed with the arena; ph_buf_free is then a no-op).
 */
#ifndef PHIAL_CORE_H
#define PHIAL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "phial/version.h"

PH_API_BEGIN

#if defined(__GNUC__) || defined(__clang__)
#define PH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PH_NODISCARD __attribute__((warn_unused_result))
#else
#define PH_PRINTF(fmt, args)
#define PH_NODISCARD
#endif

#define PH_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error codes ------------------------------------------------------ */

/* Every error code of Phial: name, message.  0 is success; every code is
 * negative.  ph_strerror() and ph_errname() read this table. */
#define PH_ERRNO_MAP(X)                                                                            \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(NOTFOUND, "not found")                                                                       \
    X(EXISTS, "already exists")                                                                    \
    X(IO, "input/output error")                                                                    \
    X(PARSE, "syntax error")                                                                       \
    X(RANGE, "value out of range")                                                                 \
    X(TOOLONG, "value too long")                                                                   \
    X(TYPE, "wrong type")                                                                          \
    X(UNDEFINED, "undefined name")                                                                 \
    X(NOTSUP, "not supported")                                                                     \
    X(MISUSE, "interface misused")                                                                 \
    X(CONSTRAINT, "database constraint violated")                                                  \
    X(BUSY, "database is busy")                                                                    \
    X(CONNLOST, "database connection lost")                                                        \
    X(DB, "database error")                                                                        \
    X(TIMEDOUT, "timed out")                                                                       \
    X(LIMIT, "limit exceeded")                                                                     \
    X(MULTIPLE, "more than one row")                                                               \
    X(DENIED, "permission denied")                                                                 \
    X(ABORTED, "answered with an error page")

enum ph__errno_index {
#define PH__ERR_IDX(name, msg) PH__EIDX_##name,
    PH_ERRNO_MAP(PH__ERR_IDX)
#undef PH__ERR_IDX
        PH__EIDX_COUNT
};

enum ph_errno {
    PH_OK = 0,
#define PH__ERR_VAL(name, msg) PH_E##name = -(PH__EIDX_##name + 1),
    PH_ERRNO_MAP(PH__ERR_VAL)
#undef PH__ERR_VAL
};

/* Message of an error code ("out of memory"); never NULL.  Static string. */
const char *ph_strerror(int err);
/* Name of an error code ("PH_ENOMEM"); never NULL.  Static string. */
const char *ph_errname(int err);

/* ---- slices ------------------------------------------------------------- */

/* Borrowed bytes; not NUL-terminated in general. */
typedef struct ph_slice {
    const char *ptr;
    size_t len;
} ph_slice;

#define PH_SLICE(lit) ((ph_slice){(lit), sizeof(lit) - 1})
ph_slice ph_slice_cstr(const char *s); /* s may be NULL: empty slice */
bool ph_slice_eq(ph_slice a, ph_slice b);
bool ph_slice_eq_cstr(ph_slice a, const char *s);
bool ph_slice_eq_nocase(ph_slice a, const char *s); /* ASCII case-insensitive */
bool ph_slice_starts_with(ph_slice a, const char *prefix);
/* s without leading and trailing ASCII whitespace (Python's str.strip()). */
ph_slice ph_slice_trim(ph_slice s);
/* Python's str.split(sep), one piece a call: the next piece of *rest in
 * *item (borrowed), true while there is one.  "a,,b" gives "a", "", "b";
 * "" gives one empty piece.
 *     ph_slice rest = ph_slice_cstr(tags), tag;
 *     while (ph_slice_split(&rest, ',', &tag)) ...  */
bool ph_slice_split(ph_slice *rest, char sep, ph_slice *item);

/* ---- arena -------------------------------------------------------------- */

typedef struct ph_arena ph_arena;

/* A new arena whose first block holds at least first_block bytes (0: a
 * default).  NULL when out of memory.  Free with ph_arena_free. */
ph_arena *ph_arena_new(size_t first_block);
/* Caps the bytes a can hand out (0: no cap): an allocation that would go
 * past it fails (NULL) as out of memory does.  Bounds what one request may
 * take, and lets tests provoke out-of-memory paths. */
void ph_arena_set_limit(ph_arena *a, size_t max_bytes);
/* Runs the cleanup hooks (newest first), then frees every block.  NULL ok. */
void ph_arena_free(ph_arena *a);
/* Runs the cleanup hooks and forgets every allocation, keeping one block
 * (the largest, up to 512 KiB) for reuse by a caller that recycles one
 * arena, so it settles at one block of what its uses need. */
void ph_arena_reset(ph_arena *a);
/* Like ph_arena_reset, keeping one block of at most max_keep bytes: the
 * largest such, or a new one of max_keep (up to 16 KiB) in place of blocks
 * all larger.  For a caller that must give memory back now. */
void ph_arena_reset_keep(ph_arena *a, size_t max_keep);
/* The bytes a holds in its blocks (used or not), for memory accounting. */
size_t ph_arena_reserved(const ph_arena *a);
/* size bytes aligned for any type; NULL when out of memory.  Never freed
 * individually.  size 0 returns a valid unique pointer. */
void *ph_arena_alloc(ph_arena *a, size_t size);
/* Zeroed n*size bytes; NULL on overflow or out of memory. */
void *ph_arena_calloc(ph_arena *a, size_t n, size_t size);
/* Copies; NULL when out of memory (or s is NULL). */
char *ph_arena_strdup(ph_arena *a, const char *s);
char *ph_arena_strndup(ph_arena *a, const char *s, size_t n);
void *ph_arena_memdup(ph_arena *a, const void *p, size_t n);
char *ph_arena_sprintf(ph_arena *a, const char *fmt, ...) PH_PRINTF(2, 3);
char *ph_arena_vsprintf(ph_arena *a, const char *fmt, va_list ap);
/* Registers fn(data) to run when the arena is reset or freed.  0 or
 * PH_ENOMEM (then fn has not been registered: the caller cleans up). */
int ph_arena_cleanup_add(ph_arena *a, void (*fn)(void *), void *data);
/* Bytes handed out so far (for tests and the access log). */
size_t ph_arena_used(const ph_arena *a);

/* Allocates one zeroed T in an arena. */
#define PH_ARENA_NEW(arena, T) ((T *)ph_arena_calloc((arena), 1, sizeof(T)))

/* ---- growable buffer ---------------------------------------------------- */

/* A growable byte buffer.  ptr is always NUL-terminated when non-NULL (the
 * NUL is not counted in len).  Once an append fails, `failed` stays set and
 * further appends do nothing, so a run of appends can be checked once. */
typedef struct ph_buf {
    char *ptr;
    size_t len;
    size_t cap;
    ph_arena *arena; /* NULL: heap memory */
    bool failed;
} ph_buf;

/* A buffer on the heap (arena NULL) or in an arena; no allocation yet. */
void ph_buf_init(ph_buf *b, ph_arena *arena);
/* Frees heap memory; leaves b empty and reusable. */
void ph_buf_free(ph_buf *b);
/* Forgets the contents, keeps the memory. */
void ph_buf_clear(ph_buf *b);
/* Ensures room for n more bytes; 0 or PH_ENOMEM. */
int ph_buf_reserve(ph_buf *b, size_t n);
int ph_buf_append(ph_buf *b, const void *p, size_t n);
int ph_buf_puts(ph_buf *b, const char *s);
int ph_buf_putc(ph_buf *b, char c);
int ph_buf_slice(ph_buf *b, ph_slice s);
int ph_buf_printf(ph_buf *b, const char *fmt, ...) PH_PRINTF(2, 3);
int ph_buf_vprintf(ph_buf *b, const char *fmt, va_list ap);
int ph_buf_put_i64(ph_buf *b, int64_t v);
/* Appends s with & < > " ' replaced by HTML entities. */
int ph_buf_put_html(ph_buf *b, const char *s, size_t n);
/* The contents as a slice (borrowed from b). */
ph_slice ph_buf_view(const ph_buf *b);
/* 0, or PH_ENOMEM if any append failed. */
int ph_buf_status(const ph_buf *b);

/* ---- logging ------------------------------------------------------------ */

typedef enum ph_log_level {
    PH_LOG_DEBUG,
    PH_LOG_INFO,
    PH_LOG_WARN,
    PH_LOG_ERROR,
    PH_LOG_OFF
} ph_log_level;

/* The process's log threshold.  Set once at start-up, before workers start;
 * it is the one process-wide setting in Phial (read atomically). */
void ph_log_set_level(ph_log_level level);
ph_log_level ph_log_get_level(void);
/* Parses "debug", "info", "warn"/"warning", "error", "off"; 0 or PH_EINVAL. */
int ph_log_parse_level(const char *s, ph_log_level *out);
/* One line on stderr: "2026-11-28T13:00:00Z [pid] LEVEL message". */
void ph_log(ph_log_level level, const char *fmt, ...) PH_PRINTF(2, 3);
/* A line written exactly as given (plus newline), no prefix: the access log. */
void ph_log_raw(const char *line, size_t len);

#define ph_log_debug(...) ph_log(PH_LOG_DEBUG, __VA_ARGS__)
#define ph_log_info(...) ph_log(PH_LOG_INFO, __VA_ARGS__)
#define ph_log_warn(...) ph_log(PH_LOG_WARN, __VA_ARGS__)
#define ph_log_error(...) ph_log(PH_LOG_ERROR, __VA_ARGS__)

/* ---- small helpers ------------------------------------------------------ */

/* Parses a whole decimal int64 (optional sign); 0 or PH_EINVAL/PH_ERANGE. */
int ph_parse_i64(ph_slice s, int64_t *out);
/* Parses a whole decimal double; 0 or PH_EINVAL/PH_ERANGE. */
int ph_parse_double(ph_slice s, double *out);
/* Value of a hexadecimal digit, or -1. */
int ph_hexval(char c);
/* Monotonic clock in nanoseconds. */
int64_t ph_now_ns(void);

PH_API_END

#endif
