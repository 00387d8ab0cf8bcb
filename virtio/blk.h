/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (device id 2, virtio 1.2 §5.2) on a raw image or a block
 * device (hw/disk): read, write, flush, get-id, discard, write-zeroes,
 * one or more request queues, each served by its own worker thread with
 * many requests in flight through io_uring (synchronous preadv/pwritev
 * if io_uring is unavailable).
 *
 * Integration (main.c):
 *   struct vblk_config cfg;
 *   vblk_parse("disk.img,serial=boot", &cfg, err, sizeof(err));
 *   vblk_create(&b, &cfg, ncpus, err, sizeof(err));
 *   vmmio_create(&m, vblk_ops(b), b, &mem, &irq, false);
 *   ... run; vmmio_stats_print(m, stderr) also prints the disk's counters;
 *   vmmio_destroy(m); vblk_destroy(b);
 *
 * Threads: vblk_parse/vblk_create/vblk_destroy on the main thread, the
 * ops as struct vdev_ops says. Errors are negative errno with one
 * sentence in err (no flag name prefix).
 */
#ifndef KVMINI_VIRTIO_BLK_H
#define KVMINI_VIRTIO_BLK_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/disk.h"
#include "virtio/vdev.h"

struct vblk;

#define VBLK_MAX_QUEUES 16 /* request queues: queues=1..16 */

struct vblk_config { /* defaults set by vblk_parse */
    char path[PATH_MAX];
    char serial[21];          /* VIRTIO_BLK_ID_BYTES; "" = derive from path */
    bool ro, direct, discard; /* discard defaults to on */
    uint32_t queues;          /* 0 = one per vCPU (resolved in vblk_create) */
    /* Not an option: tests and benchmarks set it to run the synchronous
     * engine, as if io_uring_queue_init had failed. */
    bool sync_io;
};

/* "PATH[,ro][,serial=ID][,queues=N][,direct=on|off][,discard=on|off]"
 * (hw/kvopt.h syntax). 0, or -EINVAL/-ERANGE with one sentence in err. */
int vblk_parse(const char *spec, struct vblk_config *cfg, char *err,
               size_t errlen);

/* Open and lock the backing store and build the device. ncpus resolves
 * queues = 0 (one queue per vCPU, at most VBLK_MAX_QUEUES). 0 or -errno
 * with one sentence in err naming the path and the fix. */
int vblk_create(struct vblk **out, const struct vblk_config *cfg,
                unsigned ncpus, char *err, size_t errlen);

/* The same on a disk the caller opened (tests use pipes and hand-made
 * geometries). Takes dk over: it is closed on failure too. */
int vblk_create_on(struct vblk **out, struct disk *dk,
                   const struct vblk_config *cfg, unsigned ncpus, char *err,
                   size_t errlen);

/* The device's ops (priv = b); they live as long as b. */
const struct vdev_ops *vblk_ops(const struct vblk *b);

/* After vmmio_destroy: close the image (drops the lock) and free. */
void vblk_destroy(struct vblk *b);

/* Counters, for --stats and tests (relaxed; any thread). */
struct vblk_stats {
    _Atomic uint64_t reads, writes, flushes, get_ids, discards, zeroes;
    _Atomic uint64_t unsupported; /* requests answered UNSUPP */
    _Atomic uint64_t ioerr;       /* requests answered IOERR */
    _Atomic uint64_t host_errors; /* of those, failed by the host */
    _Atomic uint64_t bytes_read, bytes_written;
    _Atomic uint64_t reset_waits;   /* in-flight I/O a reset waited for */
    _Atomic uint64_t inflight_peak; /* most host I/Os a queue had out */
};
const struct vblk_stats *vblk_stats(const struct vblk *b);

/* Whether queue qi runs on io_uring (valid between start and stop). */
bool vblk_uses_uring(const struct vblk *b, unsigned qi);

#endif
