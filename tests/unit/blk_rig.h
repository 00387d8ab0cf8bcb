/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk device behind the fake guest, and a small driver for it:
 * build a request (header, data split into segments, status), post it
 * direct or indirect, kick, wait for the interrupt, read the status.
 * Shared by the blk unit tests and the blk benchmark.
 *
 * Threads: one rig per test; each queue may have its own thread.
 */
#ifndef KVMINI_TESTS_BLK_RIG_H
#define KVMINI_TESTS_BLK_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/disk.h"
#include "tests/unit/fake_guest.h"
#include "virtio/blk.h"

/* Every feature the device may offer, plus the transport's. */
#define BR_ALL_FEATURES                                                        \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |         \
     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |  \
     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_RO) |          \
     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |      \
     VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_MQ) |         \
     VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

struct blk_rig {
    struct fake_guest g;
    struct vblk *b;
    unsigned nq;
    uint64_t hdr[VBLK_MAX_QUEUES]; /* br_do's header and status bytes */
};

/* Create the device (vblk_create, or on dk if not NULL), attach it,
 * negotiate feat, set up every queue with qnum entries, DRIVER_OK.
 * 0, or -errno with err filled (device errors) or "setup". */
int br_up(struct blk_rig *r, const struct vblk_config *cfg, struct disk *dk,
          unsigned ncpus, uint64_t feat, uint32_t qnum, bool legacy, char *err,
          size_t errlen);
/* Reset, negotiate and set up again on the same device. */
int br_restart(struct blk_rig *r, uint64_t feat, uint32_t qnum);
void br_down(struct blk_rig *r);

struct br_req {
    uint32_t type;
    uint64_t sector;
    uint64_t data; /* guest-physical, len bytes */
    uint32_t len;
    unsigned nseg;   /* data split into this many pieces (0 = 1, max 14) */
    bool dev_writes; /* data is device-writable (read, get-id) */
    bool indirect;
};

/* Post one request with its header at hdr and status byte at status
 * (the status byte is set to 0xff first). Head, or -ENOSPC. */
int br_post(struct blk_rig *r, unsigned qi, const struct br_req *q,
            uint64_t hdr, uint64_t status);
/* Next used element of qi, waiting for the interrupt: 1, or
 * -ETIMEDOUT (hang guard), -EPROTO (bad head). */
int br_wait(struct blk_rig *r, unsigned qi, uint32_t *id, uint32_t *len);
/* Post, kick and wait for one request: its status byte (0xff if the
 * device never wrote it), or -errno. used gets the used length. */
int br_do(struct blk_rig *r, unsigned qi, const struct br_req *q,
          uint32_t *used);
/* The same for a hand-made chain; returns the used length or -errno. */
int br_chain(struct blk_rig *r, unsigned qi, const struct fg_seg *s, unsigned n,
             bool indirect);

/* Guest memory helpers. */
void *br_host(struct blk_rig *r, uint64_t gpa);
uint64_t br_alloc(struct blk_rig *r, uint64_t len);

/* A byte pattern unique to (seed, offset), and a check for it. */
void br_fill(void *p, uint64_t len, uint64_t seed);
bool br_check(const void *p, uint64_t len, uint64_t seed);

/* FNV-1a of a whole file, to show the image did not change. */
uint64_t br_file_hash(const char *path);

#endif
