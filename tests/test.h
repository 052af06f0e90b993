/*
 * The test harness: each tests/<layer>/test_<module>.c is one program whose
 * main() calls RUN(test_fn) for each test and ends with TEST_END().  A test
 * fails when any CHECK in it fails; the program prints one line per test and
 * a closing "N passed, N failed" line, and exits non-zero on any failure.
 */
#ifndef PHIAL_TEST_H
#define PHIAL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ph_t_checks_failed;
static int ph_t_passed, ph_t_failed, ph_t_skipped;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ph_t_checks_failed++;                                                                  \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long ph_t_a = (long long)(a), ph_t_b = (long long)(b);                                \
        if (ph_t_a != ph_t_b) {                                                                    \
            ph_t_checks_failed++;                                                                  \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a,    \
                    #b, ph_t_a, ph_t_b);                                                           \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *ph_t_a = (a), *ph_t_b = (b);                                                   \
        if (!ph_t_a || !ph_t_b || strcmp(ph_t_a, ph_t_b) != 0) {                                   \
            ph_t_checks_failed++;                                                                  \
            fprintf(stderr,                                                                        \
                    "  %s:%d: %s == %s failed:\n    got:      \"%s\"\n"                            \
                    "    expected: \"%s\"\n",                                                      \
                    __FILE__, __LINE__, #a, #b, ph_t_a ? ph_t_a : "(null)",                        \
                    ph_t_b ? ph_t_b : "(null)");                                                   \
        }                                                                                          \
    } while (0)

/* Whether haystack contains needle. */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *ph_t_h = (hay), *ph_t_n = (needle);                                            \
        if (!ph_t_h || !strstr(ph_t_h, ph_t_n)) {                                                  \
            ph_t_checks_failed++;                                                                  \
            fprintf(stderr, "  %s:%d: \"%s\" not found in:\n%s\n", __FILE__, __LINE__, ph_t_n,     \
                    ph_t_h ? ph_t_h : "(null)");                                                   \
        }                                                                                          \
    } while (0)

/* Runs one test function and reports it. */
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        ph_t_checks_failed = 0;                                                                    \
        fn();                                                                                      \
        if (ph_t_checks_failed) {                                                                  \
            ph_t_failed++;                                                                         \
            printf("FAIL %s\n", #fn);                                                              \
        } else {                                                                                   \
            ph_t_passed++;                                                                         \
            printf("ok   %s\n", #fn);                                                              \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

/* Reports a test that could not run here and why (counted, never a pass). */
#define SKIP(fn, why)                                                                              \
    do {                                                                                           \
        ph_t_skipped++;                                                                            \
        printf("skip %s: %s\n", #fn, why);                                                         \
    } while (0)

#define TEST_END()                                                                                 \
    do {                                                                                           \
        printf("%d passed, %d failed, %d skipped\n", ph_t_passed, ph_t_failed, ph_t_skipped);      \
        return ph_t_failed ? 1 : 0;                                                                \
    } while (0)

#endif
