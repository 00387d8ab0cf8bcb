/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-blk's queue processing (virtio/blk.c, blk_req.c,
 * blk_io.c, hw/disk.c) behind the real transport, on a memfd image,
 * with either engine: io_uring or the synchronous one. Every request
 * type, any header, data and status layout, indirect tables, discard
 * and write-zeroes ranges, read-only disks, resets with I/O in flight.
 *
 * Input: a shape byte (legacy, engine, ro, discard=off, queues), an
 * image size byte, then the driver script of tests/fuzz/fz.h after a
 * valid handshake.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fz.h"
#include "virtio/blk_priv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

/* io_uring completions that the kernel finishes on its own workers
 * (flushes) arrive after vmmio_serve returns: wait for them, bounded,
 * so what the device did does not depend on timing. */
static void blk_settle(void *ctx, struct vmmio *m, unsigned qi, int fd)
{
    struct vblk *b = ctx;
    for (int i = 0; i < 200 && fd >= 0 && b->q[qi].inflight; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) < 0)
            break;
        if (vmmio_serve(m, qi, &fd) < 0)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    uint64_t bytes = 512ULL * (1 + fz_u8(&in) % 128);
    int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)bytes))
        abort();
    char spec[128], err[256];
    snprintf(spec, sizeof(spec), "/proc/self/fd/%d,queues=%u%s%s", fd,
             1 + (shape >> 4) % 4, shape & 4 ? ",ro" : "",
             shape & 8 ? ",discard=off" : "");
    struct vblk_config cfg;
    struct vblk *b;
    if (vblk_parse(spec, &cfg, err, sizeof(err)))
        abort();
    cfg.sync_io = shape & 2;
    if (vblk_create(&b, &cfg, 1, err, sizeof(err))) {
        fprintf(stderr, "fuzz_blk: %s\n", err);
        abort();
    }
    struct fz_dev_hooks h = {.settle = blk_settle, .ctx = b};
    fz_virtio_run(vblk_ops(b), b, shape & 1, true, &h, &in);
    vblk_destroy(b);
    close(fd);
    return 0;
}
