/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (device id 2) driver for the tiny guest: feature negotiation,
 * the config space, one or two request queues, and requests (direct or
 * indirect chains) with many in flight at once. Every used element is
 * checked against what was posted (head outstanding, len equal to the
 * bytes the device may write: the status byte is the last of them) and
 * every wait is bounded; a device that breaks either rule is reset and
 * not driven again (b->broken). BSP only, like the rest of the guest.
 */
#ifndef TG_VBLK_H
#define TG_VBLK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/virtio.h"

#define VBLK_SECTOR 512
#define VBLK_QUEUES_MAX 2 /* MQ: the first two queues are used */
#define VBLK_REQS 16      /* requests in flight per disk at most */
#define VBLK_SEGS_MAX 16  /* data buffers per request at most */
#define VBLK_ID_BYTES 20
#define VBLK_WAIT_US 30000000ULL /* one completion, or give up */

/* Feature bits (virtio 1.2 5.2.3). */
#define VBLK_F_SIZE_MAX 1
#define VBLK_F_SEG_MAX 2
#define VBLK_F_RO 5
#define VBLK_F_BLK_SIZE 6
#define VBLK_F_FLUSH 9
#define VBLK_F_TOPOLOGY 10
#define VBLK_F_MQ 12
#define VBLK_F_DISCARD 13
#define VBLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VBLK_T_IN 0
#define VBLK_T_OUT 1
#define VBLK_T_FLUSH 4
#define VBLK_T_GET_ID 8
#define VBLK_T_DISCARD 11
#define VBLK_T_WRITE_ZEROES 13
#define VBLK_S_OK 0
#define VBLK_S_IOERR 1
#define VBLK_S_UNSUPP 2
#define VBLK_WZ_UNMAP 1 /* flags of a write-zeroes range */

/* The config fields of the negotiated features (0 otherwise). */
struct vblk_config {
    uint64_t capacity; /* 512-byte sectors */
    uint32_t size_max, seg_max, blk_size;
    uint8_t physical_block_exp, alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint16_t num_queues;
    uint32_t max_discard_sectors, max_discard_seg, discard_align;
    uint32_t max_wz_sectors, max_wz_seg;
    uint8_t wz_may_unmap;
};

/* The driver's memory of one request: what the device reads and writes
 * besides the caller's data, and what comes back must match. */
struct vblk_req {
    struct vq_desc table[VBLK_SEGS_MAX + 2] __attribute__((aligned(16)));
    struct {
        uint32_t type, ioprio;
        uint64_t sector;
    } hdr;
    struct {
        uint64_t sector;
        uint32_t num, flags;
    } range; /* discard / write zeroes: one segment */
    uint8_t status;
    bool busy;
    uint8_t q;
    uint16_t head;
    uint32_t writable; /* bytes the device may write: the used len */
    uint32_t bytes;    /* data bytes */
};

/* What a caller asks for. The driver adds the header and status. */
struct vblk_io {
    uint32_t type;
    uint64_t sector;
    /* IN, OUT, GET_ID: the data buffers (direction set by the driver) */
    const struct vq_seg *seg;
    unsigned nseg;
    bool indirect; /* one ring entry: needs VIRTIO_F_INDIRECT_DESC */
    /* DISCARD, WRITE_ZEROES: one range of num sectors from `sector` */
    uint32_t num, flags;
};

struct vblk_stats {
    uint32_t reqs, ok, ioerr, unsupp, per_q[VBLK_QUEUES_MAX];
    uint32_t max_inflight, indirect, kicks_skipped;
    uint64_t bytes_in, bytes_out;
};

struct vblk {
    struct vq vq[VBLK_QUEUES_MAX]; /* page-aligned rings first */
    struct vblk_req req[VBLK_REQS];
    struct vdev *dev; /* NULL until vblk_start() succeeded */
    char name[8];     /* vda, vdb, ... */
    struct vblk_config cfg;
    unsigned nq, next_q, inflight, seg_limit;
    int8_t slot_of[VBLK_QUEUES_MAX][VQ_SIZE_MAX]; /* head -> request */
    const char *broken; /* why the device is no longer driven */
    char why[72];       /* the last error, one word with numbers */
    struct vblk_stats st;
    uint64_t unwanted; /* feature bits not to ask for (set before a start) */
};

struct tg;

/*
 * Negotiates (every feature above, INDIRECT_DESC, EVENT_IDX), reads the
 * config, sets up min(num_queues, VBLK_QUEUES_MAX) queues, asks for
 * interrupts when they can wake the idle loop, DRIVER_OK. 0, or -1 with
 * b->why set.
 */
int vblk_start(struct vblk *b, struct vdev *d, struct tg *tg);
/* True when feature bit f was negotiated. */
bool vblk_has(const struct vblk *b, unsigned f);
/*
 * The logical block in sectors: BLK_SIZE / 512 when that is a power of
 * two up to VBLK_BLOCK_MAX sectors, else 1. Requests start and end on it
 * (a device may refuse others: QEMU does).
 */
#define VBLK_BLOCK_MAX 256
uint32_t vblk_block(const struct vblk *b);
/*
 * Posts io on the next queue with room (not notified: vblk_kick()).
 * Returns the request slot, -1 when every slot or ring entry is taken
 * (reap, then retry), -2 when the request breaks the device's limits or
 * the device is broken (b->why set).
 */
int vblk_submit(struct vblk *b, const struct vblk_io *io);
/* Notifies every queue that got requests (as suppression allows). */
void vblk_kick(struct vblk *b);
/*
 * Waits (at most VBLK_WAIT_US) for one completion on any queue and
 * checks it. 1 with *slot and *status set (the slot is free again), 0
 * when nothing is in flight, -1 on a timeout or a bad used element: the
 * device is then reset and b->broken set.
 */
int vblk_reap(struct vblk *b, struct tg *tg, int *slot, uint8_t *status);
/* The same without waiting: 0 when nothing has completed yet. */
int vblk_reap_ready(struct vblk *b, int *slot, uint8_t *status);
/* One request, submitted, kicked and waited for; nothing else may be in
 * flight. 0 with *status set, or -1 (b->why). */
int vblk_run(struct vblk *b, struct tg *tg, const struct vblk_io *io,
             uint8_t *status);
/* "ok", "ioerr", "unsupp" or "bad". */
const char *vblk_status_name(uint8_t status);

#endif
