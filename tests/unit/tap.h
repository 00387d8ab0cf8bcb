/* SPDX-License-Identifier: MIT */
/* Minimal TAP output for the C unit tests: CHECK(), then tap_done(). */
#ifndef KVMINI_TESTS_TAP_H
#define KVMINI_TESTS_TAP_H

#include <stdio.h>

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

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

#endif
