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
 *
 * The two images (read-write, read-only) are opened once: disk_open
 * allocates and zeroes the 256 KiB write-zeroes buffer, which was a
 * third of an input's time. Each input empties and sizes its image
 * afresh, so it starts as a new memfd would (all zeroes, that size),
 * and gets a new vblk on a copy of the open disk with that size.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

struct blk_img {
    bool open;
    int memfd;
    char path[40];
    struct disk dk; /* as disk_open left it; the size is the input's */
};

static struct blk_img img[2]; /* [ro] */

static struct blk_img *blk_image(bool ro, uint64_t bytes)
{
    struct blk_img *im = &img[ro];
    char err[256];
    if (!im->open) {
        im->memfd = memfd_create("fuzz-disk", MFD_CLOEXEC);
        if (im->memfd < 0 || ftruncate(im->memfd, 512))
            abort();
        snprintf(im->path, sizeof(im->path), "/proc/self/fd/%d", im->memfd);
        if (disk_open(&im->dk, im->path, ro ? DISK_RO : 0, err, sizeof(err))) {
            fprintf(stderr, "fuzz_blk: %s\n", err);
            abort();
        }
        im->open = true;
    }
    /* Truncating to 0 drops what the last input wrote: every input
     * starts from zeroes, as on a new memfd. No I/O is in flight here
     * (vblk_stop drained the rings). */
    struct stat st;
    if (ftruncate(im->memfd, 0) || ftruncate(im->memfd, (off_t)bytes) ||
        fstat(im->dk.fd, &st) || (uint64_t)st.st_size != bytes)
        abort();
    return im;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    uint64_t bytes = 512ULL * (1 + fz_u8(&in) % 128);
    bool ro = shape & 4;
    struct blk_img *im = blk_image(ro, bytes);
    char spec[128], err[256];
    snprintf(spec, sizeof(spec), "%s,queues=%u%s%s", im->path,
             1 + (shape >> 4) % 4, ro ? ",ro" : "",
             shape & 8 ? ",discard=off" : "");
    struct vblk_config cfg;
    struct vblk *b;
    if (vblk_parse(spec, &cfg, err, sizeof(err)))
        abort();
    cfg.sync_io = shape & 2;
    struct disk dk = im->dk;
    dk.size = bytes; /* what disk_open reads from the sized image */
    if (vblk_create_on(&b, &dk, &cfg, 1, err, sizeof(err))) {
        fprintf(stderr, "fuzz_blk: %s\n", err);
        abort();
    }
    struct fz_dev_hooks h = {.settle = blk_settle, .ctx = b};
    fz_virtio_run(vblk_ops(b), b, shape & 1, true, &h, &in);
    /* The disk stays open for the next input: not vblk_destroy's. */
    b->dk = (struct disk){.fd = -1, .fd_cached = -1};
    vblk_destroy(b);
    return 0;
}
