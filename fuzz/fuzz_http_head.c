/*
 * libFuzzer target for the request-head parser (src/http/wire.c).  The
 * first byte picks how the input is split into arriving pieces; the end of
 * the head is searched piece by piece, as the server does, and must agree
 * with one search over all of it; a head found is then parsed, and what the
 * parser returns must point inside the input and respect the limits.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/http/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    unsigned step = data[0] % 17 + 1;
    /* a copy of exactly the input, so reads past it are caught */
    size_t n = size - 1;
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    ph_wire_limits lim = {.max_url = 512, .max_header = 2048, .max_body = 4096};

    ph_wire_scan whole = {0};
    long r_whole = ph__wire_head_end(buf, n, &lim, &whole);
    ph_wire_scan st = {0};
    long r = 0;
    size_t have = 0;
    while (have < n) {
        have = have + step < n ? have + step : n;
        r = ph__wire_head_end(buf, have, &lim, &st);
        if (r != 0)
            break;
    }
    /* the piecewise search ends where the whole one does, or earlier with
       an error the whole one also reports */
    if (r > 0 && r_whole != r)
        abort();
    if (r > (long)n)
        abort();
    if (r > 0) {
        size_t cap = 1;
        for (long i = 0; i < r; i++)
            cap += buf[i] == '\n';
        ph_wire_header *h = malloc(cap * sizeof(*h));
        ph_wire_head head;
        int status = h ? ph__wire_head_parse(buf, (size_t)r, &lim, h, cap, &head) : 0;
        if (h && status == 0) {
            if (head.nheaders > cap || head.method_len == 0 || head.target_len == 0 ||
                head.target_len > lim.max_url || head.head_len != (size_t)r)
                abort();
            if (head.chunked && head.content_length >= 0)
                abort();
            for (size_t i = 0; i < head.nheaders; i++) {
                if (h[i].name < buf || h[i].name + h[i].name_len > buf + r ||
                    h[i].value < buf || h[i].value + h[i].value_len > buf + r)
                    abort();
                if (memchr(h[i].value, '\0', h[i].value_len) ||
                    memchr(h[i].value, '\r', h[i].value_len))
                    abort();
            }
        } else if (h && status != 400 && status != 413 && status != 414 && status != 431 &&
                   status != 501 && status != 505) {
            abort();
        }
        free(h);
    }
    free(buf);
    return 0;
}
