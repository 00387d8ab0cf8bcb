/* SPDX-License-Identifier: MIT */
/* Logging macros: one tagged line per message on stderr. */
#ifndef KVMINI_HW_LOG_H
#define KVMINI_HW_LOG_H

#include <stdio.h>
#include <stdint.h>
#include <time.h>

/*
 * Each .c file defines LOG_TAG before including this header.
 * log_dbg compiles out unless KVMINI_DEBUG is defined; runtime debug
 * categories (--debug virtio) use log_cat() below.
 */
#ifndef LOG_TAG
#define LOG_TAG "kvmini"
#endif

/*
 * Print "kvmini: [TAG: ]MESSAGE\n" as one write. Messages quote user and
 * guest text (specs, paths, names): control characters in the formatted
 * message become '?', so one call is always one plain line of stderr and
 * never drives the terminal. Any thread; the line is written whole.
 */
void log_line(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(fmt, ...) log_line(NULL, fmt, ##__VA_ARGS__)
#define log_warn(fmt, ...) log_line(LOG_TAG, "warning: " fmt, ##__VA_ARGS__)
#define log_info(fmt, ...) log_line(LOG_TAG, fmt, ##__VA_ARGS__)

#ifdef KVMINI_DEBUG
#define log_dbg(fmt, ...)                                                      \
    log_line(LOG_TAG, "debug: " fmt, ##__VA_ARGS__)
#else
#define log_dbg(fmt, ...)                                                      \
    do {                                                                       \
        if (0)                                                                 \
            fprintf(stderr, fmt, ##__VA_ARGS__);                               \
    } while (0)
#endif

/*
 * Write one sentence into a caller's error buffer (if errlen > 0) and
 * return r: how parsers and backends hand "what is wrong and how to fix
 * it" to the edge that reports it once. Control characters (from quoted
 * user input) become '?', so the sentence is one plain line. Any thread.
 */
int errbuf_set(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runtime debug categories, enabled by --debug NAME. */
enum log_cat {
    LOG_CAT_VIRTIO = 1u << 0,
    LOG_CAT_IO = 1u << 1, /* unclaimed port I/O and MMIO */
    LOG_CAT_KVM = 1u << 2,
};
/* The one process-wide logging switch: set once by main before threads. */
extern unsigned log_cats;
#define log_cat(cat, fmt, ...)                                                 \
    do {                                                                       \
        if (log_cats & (cat))                                                  \
            log_line(LOG_TAG, fmt, ##__VA_ARGS__);                             \
    } while (0)

/*
 * Rate limit for hot-path messages: at most `burst` lines per `secs`
 * seconds per limiter; the rest are counted in `suppressed` (a caller
 * may report and clear that count with its next line). Not thread-exact
 * (a benign race may print one extra line or miscount one).
 */
struct log_ratelimit {
    time_t start; /* first second of the current window */
    unsigned n;   /* lines printed in it */
    uint64_t suppressed;
};
static inline int log_ratelimit_window(struct log_ratelimit *rl, unsigned burst,
                                       unsigned secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    if (ts.tv_sec < rl->start || ts.tv_sec - rl->start >= (time_t)secs) {
        rl->start = ts.tv_sec;
        rl->n = 0;
    }
    if (rl->n < burst) {
        rl->n++;
        return 1;
    }
    rl->suppressed++;
    return 0;
}
static inline int log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst)
{
    return log_ratelimit_window(rl, burst, 1);
}
#define log_warn_rl(fmt, ...)                                                  \
    do {                                                                       \
        static struct log_ratelimit rl_;                                       \
        if (log_ratelimit_ok(&rl_, 5))                                         \
            log_warn(fmt, ##__VA_ARGS__);                                      \
    } while (0)
#define log_cat_rl(cat, fmt, ...)                                              \
    do {                                                                       \
        static struct log_ratelimit rl_;                                       \
        if ((log_cats & (cat)) && log_ratelimit_ok(&rl_, 20))                  \
            log_info(fmt, ##__VA_ARGS__);                                      \
    } while (0)

#endif
