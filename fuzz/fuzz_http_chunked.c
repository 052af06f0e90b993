/*
 * libFuzzer target for the chunked-body decoder (src/http/wire.c).  The
 * input is decoded twice -- in one piece, and in pieces of a size the first
 * byte picks -- and both must give the same answer, use the same bytes and
 * produce the same data, never more than the limit.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/http/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sink {
    char *p;
    size_t len, cap;
} sink;

static int put(void *ud, const char *p, size_t n)
{
    sink *s = ud;
    if (s->len + n > s->cap)
        abort(); /* more data than the limit allows */
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

/* Decodes in pieces of step bytes; the answer, the bytes used and the data. */
static int decode(const char *in, size_t n, size_t step, sink *out, size_t *used_total)
{
    ph_wire_chunked st = {0};
    size_t off = 0;
    int rc = 0;
    while (off < n) {
        size_t piece = n - off < step ? n - off : step, used = 0;
        rc = ph__wire_chunked_feed(&st, in + off, piece, 4096, 1024, put, out, &used);
        if (used > piece)
            abort();
        off += used;
        if (rc != 0)
            break;
    }
    *used_total = off;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    size_t step = data[0] % 23 + 1;
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    char *a = malloc(4096), *b = malloc(4096);
    if (!in || !a || !b) {
        free(in);
        free(a);
        free(b);
        return 0;
    }
    memcpy(in, data + 1, n);
    sink sa = {a, 0, 4096}, sb = {b, 0, 4096};
    size_t ua, ub;
    int ra = decode(in, n, n ? n : 1, &sa, &ua);
    int rb = decode(in, n, step, &sb, &ub);
    /* a 413 or 400 may be seen at the same byte either way */
    if (ra != rb || (ra == 1 && ua != ub) || (ra == 1 && (sa.len != sb.len || memcmp(a, b, sa.len))))
        abort();
    if (ra != 0 && ra != 1 && ra != 400 && ra != 413)
        abort();
    free(in);
    free(a);
    free(b);
    return 0;
}
