/* SPDX-License-Identifier: MIT */
/* Minimal TAP output for the C unit tests: CHECK(), then tap_done(). */
#ifndef KVMINI_TESTS_TAP_H
#define KVMINI_TESTS_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_fail;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        int ok_ = !!(cond);                                                    \
        tap_n++;                                                               \
        if (!ok_)                                                              \
            tap_fail++;                                                        \
        printf("%sok %d - ", ok_ ? "" : "not ", tap_n);                        \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        if (!ok_)                                                              \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
        fflush(stdout);                                                        \
    } while (0)

#define DIAG(...)                                                              \
    do {                                                                       \
        printf("# ");                                                          \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
    } while (0)

/*
 * Does this run have to be complete? Under CI (CI=true) and `make check`
 * (KVMINI_FULL=1) every tool is installed, so nothing may skip.
 */
static inline bool tap_full_run(void)
{
    const char *ci = getenv("CI"), *full = getenv("KVMINI_FULL");

    return (ci && !strcmp(ci, "true")) || (full && !strcmp(full, "1"));
}

/*
 * Something a test needs is missing: a failure in a full run, a TAP
 * skip (saying why) in a partial one, e.g. a bare `make test`.
 */
#define TAP_MISSING(...)                                                       \
    do {                                                                       \
        if (tap_full_run()) {                                                  \
            CHECK(0, __VA_ARGS__);                                             \
        } else {                                                               \
            printf("ok %d - # skip ", ++tap_n);                                \
            printf(__VA_ARGS__);                                               \
            printf(" (a partial run: CI=true or make check would fail)\n");    \
        }                                                                      \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

#endif
