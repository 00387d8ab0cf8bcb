/* SPDX-License-Identifier: MIT */
/*
 * Inside of virtio-blk, shared by blk.c (options, creation, config),
 * blk_req.c (requests: decoding, checks, the cheap ones done at once)
 * and blk_io.c (the queues: request slots, the io_uring and synchronous
 * engines, start/stop). Nobody else includes this.
 */
#ifndef KVMINI_VIRTIO_BLK_PRIV_H
#define KVMINI_VIRTIO_BLK_PRIV_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw/disk.h"
#include "virtio/blk.h"
#include "virtio/vdev.h"
#include "virtio/virtio_spec.h"

#define VBLK_QSIZE 256                  /* QueueNumMax */
#define VBLK_SEG_MAX 126                /* data buffers per request */
#define VBLK_IOV_MAX (VBLK_SEG_MAX + 2) /* plus header and status */
#define VBLK_SIZE_MAX (1u << 20)        /* bytes per buffer (advertised) */
#define VBLK_REQ_MAX ((uint64_t)VBLK_SEG_MAX * VBLK_SIZE_MAX)
#define VBLK_DWZ_SEG_MAX 32             /* ranges per discard/write-zeroes */
#define VBLK_DWZ_SECTORS_MAX (1u << 22) /* 2 GiB per range */

/* decode() result besides a VIRTIO_BLK_S_* status. */
#define VBLK_SUBMIT (-1) /* needs host I/O: type/off/len/data are set */
#define VBLK_DROP (-2)   /* malformed chain, already failed with vq_fail */

/* One request in flight; a queue has one slot per descriptor. */
struct vblk_slot {
    struct iovec *iov;  /* VBLK_IOV_MAX entries, this slot's own */
    struct iovec *data; /* the data buffers, inside iov */
    int ndata;
    uint8_t *status;   /* the last device-writable byte */
    uint64_t off, len; /* image byte offset and data length */
    uint64_t done;     /* bytes done before a short transfer */
    uint32_t used;     /* used length if it succeeds */
    uint32_t type;     /* VIRTIO_BLK_T_*, FLUSH_OUT read as FLUSH */
    uint16_t head;
};

struct vblk_queue {
    bool live;  /* between start and stop */
    bool uring; /* ring set up; else the synchronous engine */
    struct io_uring ring;
    int efd; /* eventfd signalled per completion, or -1 */
    uint32_t nslots;
    struct vblk_slot *slot;
    struct iovec *iovs; /* nslots * VBLK_IOV_MAX */
    uint16_t *free;     /* stack of free slot indices */
    uint32_t nfree;
    uint32_t inflight; /* submitted to the ring, not yet reaped */
};

struct vblk {
    struct vdev_ops ops; /* per instance: nqueues and features vary */
    struct disk dk;
    struct virtio_blk_config cfg;     /* what the guest reads */
    char serial[VIRTIO_BLK_ID_BYTES]; /* NUL-padded, not terminated */
    char path[PATH_MAX];
    bool sync_io;
    bool writethrough; /* FLUSH not negotiated: writes are DSYNC */
    bool legacy;       /* VERSION_1 not negotiated */
    _Atomic bool told_fallback;
    struct vdev *d;
    struct vblk_queue q[VBLK_MAX_QUEUES];
    struct vblk_stats st;
};

/* blk_req.c: take one popped chain into slot s. Returns a VIRTIO_BLK_S_*
 * status for a request finished at once (the caller completes it),
 * VBLK_SUBMIT for a read, write or flush to do on the host, or
 * VBLK_DROP if the chain was malformed and already failed. */
int vblk_decode(struct vblk *b, struct vq *q, struct vq_iter *it,
                struct vblk_slot *s);

/* blk_req.c: write the status, return the chain, count it. host_err is the
 * host's -errno for an IOERR the host caused (0 otherwise). */
void vblk_complete(struct vblk *b, struct vq *q, struct vblk_slot *s,
                   int status, int host_err);

/* blk_io.c: the vdev_ops that run the queues. */
int vblk_start(struct vdev *d);
void vblk_stop(struct vdev *d);
int vblk_poll_fd(struct vdev *d, uint16_t qi);
int vblk_process(struct vdev *d, uint16_t qi);
bool vblk_busy(const struct vdev *d, uint16_t qi); /* I/O in flight */

#endif
