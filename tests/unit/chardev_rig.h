/* SPDX-License-Identifier: MIT */
/* Shared by the chardev backend and console tests: a counting frontend,
 * bounded waits, reads with a deadline, and a chardev on two pipes. */
#ifndef KVMINI_TESTS_CHARDEV_RIG_H
#define KVMINI_TESTS_CHARDEV_RIG_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hw/chardev.h"

#define GUARD_MS 10000 /* hang guard for waits, not a timing check */

struct fe {
    struct chardev_client cl;
    _Atomic unsigned in, out, peer;
};

static inline void fe_notify(void *ctx, unsigned ev)
{
    struct fe *f = ctx;
    if (ev & CHARDEV_EV_IN)
        atomic_fetch_add_explicit(&f->in, 1, memory_order_seq_cst);
    if (ev & CHARDEV_EV_OUT)
        atomic_fetch_add_explicit(&f->out, 1, memory_order_seq_cst);
    if (ev & CHARDEV_EV_PEER)
        atomic_fetch_add_explicit(&f->peer, 1, memory_order_seq_cst);
}

static inline void fe_init(struct fe *f)
{
    f->cl = (struct chardev_client){.notify = fe_notify, .ctx = f};
    f->in = f->out = f->peer = 0;
}

/* A stdio chardev reading in_fd and writing out_fd (the test's pipes). */
static inline struct chardev *pipes_chardev(int in_fd, int out_fd)
{
    struct chardev *cd;
    struct chardev_stdio_config cfg = {.in_fd = in_fd, .out_fd = out_fd};
    if (chardev_stdio_open(&cd, &cfg))
        abort();
    return cd;
}

/* The same on two new pipes: the test writes in[1] (host to guest) and
 * reads out[0] (guest to host). out_size: the out pipe's capacity, so a
 * test can fill it (0: the kernel's default). */
static inline struct chardev *pipes_open(int in[2], int out[2], int out_size)
{
    if (pipe(in) || pipe(out) ||
        (out_size && fcntl(out[1], F_SETPIPE_SZ, out_size) < 0))
        abort();
    return pipes_chardev(in[0], out[1]);
}

/* Close the chardev, then every pipe end the test has not closed itself
 * (marked -1). */
static inline void pipes_close(struct chardev *cd, int in[2], int out[2])
{
    chardev_close(cd);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
}

static inline int64_t ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Poll a condition every millisecond up to the hang guard. */
#define WAIT_FOR(cond)                                                         \
    ({                                                                         \
        int64_t end_ = ms() + GUARD_MS;                                        \
        while (!(cond) && ms() < end_)                                         \
            usleep(1000);                                                      \
        (cond);                                                                \
    })

/* Read from fd until want bytes arrived, EOF, or the guard: the count. */
static inline size_t read_all(int fd, void *buf, size_t want)
{
    size_t got = 0;
    int64_t end = ms() + GUARD_MS;
    while (got < want && ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, (char *)buf + got, want - got);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0)
            got += (size_t)n;
    }
    return got;
}

/* Take n chardev input bytes within the guard: the count. */
static inline size_t cd_read_all(struct chardev *c, void *buf, size_t n)
{
    size_t got = 0;
    int64_t end = ms() + GUARD_MS;
    while (got < n && ms() < end) {
        size_t k = chardev_read(c, (char *)buf + got, n - got);
        if (!k)
            usleep(1000);
        got += k;
    }
    return got;
}

/* Offer n bytes to chardev_write until it takes them all (a reader
 * drains meanwhile) or the guard: the count taken. */
static inline size_t cd_write_all(struct chardev *c, const void *buf, size_t n)
{
    size_t put = 0;
    int64_t end = ms() + GUARD_MS;
    while (put < n && ms() < end) {
        size_t k = chardev_write(c, (const char *)buf + put, n - put);
        if (!k)
            usleep(1000);
        put += k;
    }
    return put;
}

#endif
