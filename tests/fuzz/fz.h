/* SPDX-License-Identifier: MIT */
/*
 * Shared parts of kvmini's libFuzzer targets: a reader that turns the
 * fuzzer's bytes into numbers (running out of input reads zeroes), and a
 * hostile virtio driver that plays a script from the input against any
 * device's REAL virtio-mmio transport, through the fake guest of the
 * unit tests (tests/unit/fake_guest.h) with queues served inline
 * (vmmio_set_inline / vmmio_serve: no worker threads, so every run is
 * deterministic).
 *
 * Guest RAM is malloc'd, so AddressSanitizer reports any host access
 * past it, and is made of two regions adjacent in guest-physical space
 * but not on the host: a buffer that crosses from one to the other must
 * be refused by gmem, or ASan says where it was not.
 *
 * Threads: one fuzzer thread. Between runs only guest RAM's two blocks
 * are kept, zeroed again for each run.
 */
#ifndef KVMINI_TESTS_FUZZ_FZ_H
#define KVMINI_TESTS_FUZZ_FZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/unit/fake_guest.h"
#include "virtio/mmio.h"

/* Every target's LLVMFuzzerInitialize: SIGPIPE ignored (as in kvmini),
 * and kvmini's own log lines (thousands for hostile input) sent to
 * /dev/null unless FZ_DEBUG is set. Only the stdio stream is swapped:
 * fd 2 stays, so libFuzzer's and the sanitizers' reports and fz_fail's
 * still arrive. Returns 0. */
int fz_init(int *argc, char ***argv);

/* ---- input ------------------------------------------------------------- */

struct fz_in {
    const uint8_t *p;
    size_t n;
};

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
bool fz_bool(struct fz_in *in);
/* Copy up to max bytes (a count byte first, then the bytes); returns
 * how many were copied. */
size_t fz_bytes(struct fz_in *in, void *dst, size_t max);
/* A NUL-terminated string of at most cap-1 bytes: the input up to the
 * next NUL byte (consumed) or its end. */
void fz_str(struct fz_in *in, char *dst, size_t cap);

/* A fuzz target found a wrong answer that no sanitizer would see:
 * print it and abort, so libFuzzer keeps the input. */
#define FZ_ASSERT(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
    } while (0)
void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* ---- the hostile virtio driver ----------------------------------------- */

#define FZ_RAM (64u << 10) /* main region, at FG_BASE */
#define FZ_RAM2 (4u << 10) /* second region, right after it */
#define FZ_MAX_OPS 512     /* per input: bounds a run's time */

/* What a device target adds to the generic script. */
struct fz_dev_hooks {
    /* OP_BACKEND: a host-side event (input on the console, a frame on
     * the tap, ...), parameters from in. May be NULL. */
    void (*backend)(void *ctx, struct fz_in *in);
    /* After each vmmio_serve: wait (bounded) for the backend's own
     * completions and serve again, so results do not depend on timing.
     * poll_fd is what vmmio_serve returned. May be NULL. */
    void (*settle)(void *ctx, struct vmmio *m, unsigned qi, int poll_fd);
    void *ctx;
};

struct fz_vq {
    uint64_t desc, avail, used; /* where our script put the rings */
    uint32_t num;               /* 0: not set up by the script */
    uint16_t avail_idx, next_desc;
};

struct fz_virtio {
    struct fake_guest g;
    uint8_t *ram, *ram2;
    const struct fz_dev_hooks *h;
    unsigned nq;
    uint32_t qmax;
    bool legacy;
    struct fz_vq q[VDEV_MAX_QUEUES];
};

/*
 * Run one input: attach the device (ops, priv) to a fresh transport on
 * zeroed RAM, optionally do a valid handshake first (setup: device
 * targets start with working queues, the transport target from a bare
 * device), play the script, tear the transport down (reset, stop). The
 * device itself stays the caller's.
 */
void fz_virtio_run(const struct vdev_ops *ops, void *priv, bool legacy,
                   bool setup, const struct fz_dev_hooks *h, struct fz_in *in);

/* /dev/null for stats output; opened once. */
void *fz_devnull(void);

#endif
