/* Unit tests for src/core: arena, buffer, slices, error table, parsing. */
#include "phial/core.h"
#include "test.h"

static int cleanup_order[4];
static int cleanup_n;
static void note_cleanup(void *p)
{
    cleanup_order[cleanup_n++] = *(int *)p;
}

static void test_arena_alloc_alignment_and_growth(void)
{
    ph_arena *a = ph_arena_new(64);
    CHECK(a != NULL);
    char *p1 = ph_arena_alloc(a, 3);
    char *p2 = ph_arena_alloc(a, 8);
    CHECK(((uintptr_t)p2 % _Alignof(max_align_t)) == 0);
    CHECK(p1 != p2);
    /* larger than the first block: a new block */
    char *big = ph_arena_alloc(a, 100000);
    CHECK(big != NULL);
    memset(big, 'x', 100000);
    CHECK(ph_arena_used(a) >= 100000);
    ph_arena_reset(a);
    CHECK_INT(ph_arena_used(a), 0);
    char *p3 = ph_arena_alloc(a, 3);
    CHECK(p3 == big); /* the largest block is kept and reused */
    (void)p1;
    ph_arena_free(a);
}

static void test_arena_overflow_is_null(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK(ph_arena_alloc(a, SIZE_MAX - 3) == NULL);
    CHECK(ph_arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
    ph_arena_free(a);
}

static void test_arena_strings(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK_STR(ph_arena_strdup(a, "hello"), "hello");
    CHECK_STR(ph_arena_strndup(a, "hello", 2), "he");
    CHECK_STR(ph_arena_sprintf(a, "%d-%s", 42, "x"), "42-x");
    CHECK(ph_arena_strdup(a, NULL) == NULL);
    ph_arena_free(a);
}

static void test_arena_cleanups_run_newest_first(void)
{
    static int one = 1, two = 2;
    ph_arena *a = ph_arena_new(0);
    cleanup_n = 0;
    CHECK_INT(ph_arena_cleanup_add(a, note_cleanup, &one), 0);
    CHECK_INT(ph_arena_cleanup_add(a, note_cleanup, &two), 0);
    ph_arena_reset(a);
    CHECK_INT(cleanup_n, 2);
    CHECK_INT(cleanup_order[0], 2);
    CHECK_INT(cleanup_order[1], 1);
    ph_arena_cleanup_add(a, note_cleanup, &one);
    ph_arena_free(a);
    CHECK_INT(cleanup_n, 3);
}

static void test_buf_heap_and_arena(void)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    for (int i = 0; i < 1000; i++)
        ph_buf_puts(&b, "ab");
    CHECK_INT(b.len, 2000);
    CHECK_INT(ph_buf_status(&b), 0);
    CHECK(b.ptr[2000] == '\0');
    ph_buf_clear(&b);
    ph_buf_printf(&b, "%s=%d", "n", 7);
    ph_buf_put_i64(&b, INT64_MIN);
    CHECK_STR(b.ptr, "n=7-9223372036854775808");
    ph_buf_free(&b);

    ph_arena *a = ph_arena_new(128);
    ph_buf_init(&b, a);
    for (int i = 0; i < 100; i++)
        ph_buf_append(&b, "0123456789", 10);
    CHECK_INT(b.len, 1000);
    CHECK(memcmp(b.ptr + 990, "0123456789", 10) == 0);
    ph_arena_free(a);
}

static void test_buf_html_escape(void)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    const char *s = "<a href=\"x\">Tom & 'Jerry'</a>";
    ph_buf_put_html(&b, s, strlen(s));
    CHECK_STR(b.ptr, "&lt;a href=&#34;x&#34;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
    ph_buf_free(&b);
}

static void test_buf_overflow_fails_sticky(void)
{
    ph_buf b;
    ph_buf_init(&b, NULL);
    ph_buf_puts(&b, "x");
    CHECK_INT(ph_buf_reserve(&b, SIZE_MAX - 2), PH_ENOMEM);
    CHECK_INT(ph_buf_puts(&b, "y"), PH_ENOMEM);
    CHECK_INT(ph_buf_status(&b), PH_ENOMEM);
    ph_buf_free(&b);
}

static void test_slices(void)
{
    ph_slice s = PH_SLICE("Content-Type");
    CHECK(ph_slice_eq_nocase(s, "content-type"));
    CHECK(!ph_slice_eq_cstr(s, "content-type"));
    CHECK(ph_slice_starts_with(s, "Content"));
    CHECK(ph_slice_eq(ph_slice_cstr(NULL), PH_SLICE("")));
}

static void test_errors_table(void)
{
    CHECK_STR(ph_strerror(PH_ENOMEM), "out of memory");
    CHECK_STR(ph_errname(PH_ECONSTRAINT), "PH_ECONSTRAINT");
    CHECK_STR(ph_strerror(0), "success");
    CHECK_STR(ph_strerror(-10000), "unknown error");
    CHECK(PH_ENOMEM < 0 && PH_EINVAL < 0 && PH_ENOMEM != PH_EINVAL);
}

static void test_parse_numbers(void)
{
    int64_t v = 0;
    CHECK_INT(ph_parse_i64(PH_SLICE("-42"), &v), 0);
    CHECK_INT(v, -42);
    CHECK_INT(ph_parse_i64(PH_SLICE("9223372036854775807"), &v), 0);
    CHECK_INT(v, INT64_MAX);
    CHECK_INT(ph_parse_i64(PH_SLICE("9223372036854775808"), &v), PH_ERANGE);
    CHECK_INT(ph_parse_i64(PH_SLICE("12a"), &v), PH_EINVAL);
    CHECK_INT(ph_parse_i64(PH_SLICE(""), &v), PH_EINVAL);
    CHECK_INT(ph_parse_i64(PH_SLICE("-"), &v), PH_EINVAL);
    CHECK_INT(ph_parse_i64(PH_SLICE(" 1"), &v), PH_EINVAL);
    double d = 0;
    CHECK_INT(ph_parse_double(PH_SLICE("2.5"), &d), 0);
    CHECK(d == 2.5);
    CHECK_INT(ph_parse_double(PH_SLICE("1e999"), &d), PH_ERANGE);
    CHECK_INT(ph_parse_double(PH_SLICE("nan"), &d), PH_ERANGE);
    CHECK_INT(ph_parse_double(PH_SLICE("x"), &d), PH_EINVAL);
}

static void test_log_levels(void)
{
    ph_log_level l;
    CHECK_INT(ph_log_parse_level("WARNING", &l), 0);
    CHECK_INT(l, PH_LOG_WARN);
    CHECK_INT(ph_log_parse_level("loud", &l), PH_EINVAL);
}

/* A recycled arena keeps its largest block (up to 512 KiB): the next use
 * of the same size takes no new block; a huge one is not kept. */
static void test_arena_reset_keeps_largest_block(void)
{
    ph_arena *a = ph_arena_new(0);
    CHECK(a != NULL);
    size_t start = ph_arena_reserved(a);
    CHECK(start >= 16 * 1024);
    for (int i = 0; i < 30; i++)
        CHECK(ph_arena_alloc(a, 4000) != NULL);
    size_t grown = ph_arena_reserved(a);
    CHECK(grown > start);
    ph_arena_reset(a);
    size_t kept = ph_arena_reserved(a);
    CHECK(kept > start && kept < grown);
    for (int round = 0; round < 3; round++) {
        /* the same need again: served by one block, so nothing is added */
        for (int i = 0; i < 30; i++)
            CHECK(ph_arena_alloc(a, 4000) != NULL);
        ph_arena_reset(a);
        CHECK(ph_arena_reserved(a) >= 30 * 4000);
        CHECK(ph_arena_reserved(a) <= 2 * kept);
    }
    size_t settled = ph_arena_reserved(a);
    for (int i = 0; i < 30; i++) {
        char *p = ph_arena_alloc(a, 4000);
        CHECK(p != NULL);
        memset(p, i, 4000);
    }
    CHECK_INT((long long)ph_arena_reserved(a), (long long)settled);
    ph_arena_reset(a);
    CHECK(ph_arena_alloc(a, 3 * 1024 * 1024) != NULL); /* past what is kept */
    ph_arena_reset(a);
    CHECK(ph_arena_reserved(a) <= 512 * 1024);
    CHECK(ph_arena_alloc(a, 100) != NULL);
    ph_arena_free(a);
}

static void count_cleanup(void *p)
{
    (*(int *)p)++;
}

/* ph_arena_reset_keep gives memory back now: one block of at most the
 * size asked for is kept, a new small one when every block is larger. */
static void test_arena_reset_keep(void)
{
    ph_arena *a = ph_arena_new(4096);
    CHECK(a != NULL);
    int ran = 0;
    for (int i = 0; i < 30; i++)
        CHECK(ph_arena_alloc(a, 4000) != NULL);
    CHECK(ph_arena_cleanup_add(a, count_cleanup, &ran) == 0);
    CHECK(ph_arena_reserved(a) > 100 * 1024);
    ph_arena_reset_keep(a, 4096);
    CHECK_INT(ran, 1);
    CHECK_INT((long long)ph_arena_reserved(a), 4096); /* the first block, kept */
    CHECK(ph_arena_alloc(a, 3000) != NULL);
    CHECK_INT((long long)ph_arena_reserved(a), 4096);
    /* settled on one large block (ph_arena_reset), then asked for less */
    for (int i = 0; i < 30; i++)
        CHECK(ph_arena_alloc(a, 4000) != NULL);
    ph_arena_reset(a);
    CHECK(ph_arena_reserved(a) >= 32 * 1024); /* its largest block */
    ph_arena_reset_keep(a, 8192);
    CHECK(ph_arena_reserved(a) <= 8192);
    char *p = ph_arena_alloc(a, 6000);
    CHECK(p != NULL);
    if (p)
        memset(p, 1, 6000);
    ph_arena_reset_keep(a, 0);
    CHECK_INT((long long)ph_arena_reserved(a), 0);
    CHECK(ph_arena_alloc(a, 100) != NULL); /* grows from nothing */
    ph_arena_free(a);
}

int main(void)
{
    RUN(test_arena_reset_keeps_largest_block);
    RUN(test_arena_reset_keep);
    RUN(test_arena_alloc_alignment_and_growth);
    RUN(test_arena_overflow_is_null);
    RUN(test_arena_strings);
    RUN(test_arena_cleanups_run_newest_first);
    RUN(test_buf_heap_and_arena);
    RUN(test_buf_html_escape);
    RUN(test_buf_overflow_fails_sticky);
    RUN(test_slices);
    RUN(test_errors_table);
    RUN(test_parse_numbers);
    RUN(test_log_levels);
    TEST_END();
}
