/*
 * Request arenas: bump allocation from a chain of blocks, freed in one call,
 * with cleanup hooks for what is not memory (statements, files).  Each
 * request gets an arena that is freed in one call when its response has
 * been sent; ph_arena_reset keeps one block for a caller that recycles
 * one arena across many uses -- the largest, up to PH_ARENA_KEEP, so a
 * server's recycled arenas settle at what its pages need and stop calling
 * malloc (and the page faults of a heap grown and trimmed every request).
 */
#include "phial/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PH_ARENA_ALIGN (_Alignof(max_align_t))
#define PH_ARENA_DEFAULT_BLOCK (16 * 1024)
/* The largest block ph_arena_reset keeps. */
#define PH_ARENA_KEEP (512 * 1024)

typedef struct ph_arena_block {
    struct ph_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[]; /* aligned start of the usable bytes */
} ph_arena_block;

typedef struct ph_arena_cleanup {
    struct ph_arena_cleanup *next;
    void (*fn)(void *);
    void *data;
} ph_arena_cleanup;

struct ph_arena {
    ph_arena_block *head;  /* current block (newest) */
    ph_arena_block *first; /* kept across resets */
    ph_arena_cleanup *cleanups;
    size_t total_used;
    size_t limit; /* ph_arena_set_limit; 0: none */
};

static ph_arena_block *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(ph_arena_block))
        return NULL;
    ph_arena_block *b = malloc(sizeof(ph_arena_block) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

ph_arena *ph_arena_new(size_t first_block)
{
    if (first_block == 0)
        first_block = PH_ARENA_DEFAULT_BLOCK;
    ph_arena *a = malloc(sizeof(*a));
    if (!a)
        return NULL;
    a->first = block_new(first_block);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    a->cleanups = NULL;
    a->total_used = 0;
    a->limit = 0;
    return a;
}

static void run_cleanups(ph_arena *a)
{
    /* A hook may register more hooks (rare); loop until none remain. */
    while (a->cleanups) {
        ph_arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->data);
    }
}

static void free_blocks_after_first(ph_arena *a)
{
    ph_arena_block *b = a->head;
    while (b && b != a->first) {
        ph_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void ph_arena_reset(ph_arena *a)
{
    ph_arena_reset_keep(a, PH_ARENA_KEEP);
}

void ph_arena_reset_keep(ph_arena *a, size_t max_keep)
{
    if (!a)
        return;
    run_cleanups(a);
    /* keep the largest block that is not too large and free the others;
       when every block is too large, a new small one replaces them (or,
       out of memory, the smallest stays) */
    ph_arena_block *keep = NULL, *smallest = a->head;
    for (ph_arena_block *b = a->head; b; b = b->next) {
        if (b->size <= max_keep && (!keep || b->size > keep->size))
            keep = b;
        if (b->size < smallest->size)
            smallest = b;
    }
    if (!keep)
        keep = block_new(max_keep < PH_ARENA_DEFAULT_BLOCK ? max_keep : PH_ARENA_DEFAULT_BLOCK);
    if (!keep)
        keep = smallest;
    ph_arena_block *b = a->head;
    while (b) {
        ph_arena_block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    a->first = a->head = keep;
    keep->used = 0;
    keep->next = NULL;
    a->total_used = 0;
}

size_t ph_arena_reserved(const ph_arena *a)
{
    size_t n = 0;
    for (const ph_arena_block *b = a->head; b; b = b->next)
        n += b->size;
    return n;
}

void ph_arena_free(ph_arena *a)
{
    if (!a)
        return;
    run_cleanups(a);
    free_blocks_after_first(a);
    free(a->first);
    free(a);
}

void *ph_arena_alloc(ph_arena *a, size_t size)
{
    size_t need = (size + PH_ARENA_ALIGN - 1) & ~(size_t)(PH_ARENA_ALIGN - 1);
    if (need < size)
        return NULL; /* overflow */
    if (need == 0)
        need = PH_ARENA_ALIGN;
    if (a->limit && need > a->limit - (a->total_used < a->limit ? a->total_used : a->limit))
        return NULL;
    ph_arena_block *b = a->head;
    if (b->size - b->used < need) {
        size_t bsize = b->size * 2;
        if (bsize < need)
            bsize = need;
        ph_arena_block *nb = block_new(bsize);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->total_used += need;
    return p;
}

void *ph_arena_calloc(ph_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = ph_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *ph_arena_memdup(ph_arena *a, const void *p, size_t n)
{
    void *q = ph_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *ph_arena_strndup(ph_arena *a, const char *s, size_t n)
{
    if (!s || n == SIZE_MAX)
        return NULL;
    char *q = ph_arena_alloc(a, n + 1);
    if (!q)
        return NULL;
    memcpy(q, s, n);
    q[n] = '\0';
    return q;
}

char *ph_arena_strdup(ph_arena *a, const char *s)
{
    return s ? ph_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ph_arena_vsprintf(ph_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *q = ph_arena_alloc(a, (size_t)n + 1);
    if (q)
        vsnprintf(q, (size_t)n + 1, fmt, ap);
    return q;
}

char *ph_arena_sprintf(ph_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *q = ph_arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return q;
}

int ph_arena_cleanup_add(ph_arena *a, void (*fn)(void *), void *data)
{
    ph_arena_cleanup *c = ph_arena_alloc(a, sizeof(*c));
    if (!c)
        return PH_ENOMEM;
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t ph_arena_used(const ph_arena *a)
{
    return a->total_used;
}

void ph_arena_set_limit(ph_arena *a, size_t max_bytes)
{
    a->limit = max_bytes;
}
