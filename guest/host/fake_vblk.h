/* SPDX-License-Identifier: MIT */
/*
 * Virtio-blk devices behind the guest's MMIO accessors (built with
 * TG_HOST_IO), for the host-side tests of the guest's blk driver: the
 * modern and legacy register files, split rings with indirect chains and
 * EVENT_IDX, a disk in memory, and switches for misbehaving. Requests
 * are served only when the driver idles (fake_vblk_run from tg_idle), so
 * many are in flight at once, as on a real device.
 */
#ifndef TG_HOST_FAKE_VBLK_H
#define TG_HOST_FAKE_VBLK_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_BASE 0xd0000000ULL
#define FAKE_WINDOW 0x200
#define FAKE_DEVS 3
#define FAKE_QUEUES 2

struct fake_queue {
    uint32_t num, ready, pfn, align;
    uint64_t desc, avail, used;
    uint16_t last_avail, used_idx;
    bool notified;
};

struct fake_vblk {
    /* set by the test (fake_vblk_init gives a full-featured device) */
    uint32_t version; /* 2 modern, 1 legacy */
    uint64_t offered;
    uint32_t num_max;
    uint8_t *disk;
    uint64_t sectors;
    uint32_t seg_max, size_max, blk_size, max_discard, max_wz;
    uint16_t num_queues;
    uint8_t wz_may_unmap;
    char serial[20];
    /* misbehaviour */
    bool stall;         /* never complete anything */
    bool bad_head;      /* return a head that was never posted */
    int len_delta;      /* added to every used len */
    bool skip_status;   /* never write the status byte */
    bool reverse;       /* complete what is pending in reverse order */
    bool ro_ignored;    /* offer RO, take writes anyway */
    int err_len;        /* >= 0: a failed request's used len (kvmini: 1,
                         * the status byte); -1: every writable byte */
    uint64_t enospc_at; /* writes reaching this sector get IOERR (0: off) */
    /* registers and state */
    uint32_t status, dev_sel, drv_sel, queue_sel, isr, page_size;
    uint64_t drv_features;
    struct fake_queue q[FAKE_QUEUES];
    /* what happened, for the checks */
    uint32_t notifies, reqs, by_type[16], indirect, irqs, bad_width;
    uint32_t max_batch, resets, writes_done, writes_at_flush, bad_chain;
};

extern struct fake_vblk fake_vblk[FAKE_DEVS];

/* Device i at FAKE_BASE + i * FAKE_WINDOW: modern, every feature, a
 * zeroed disk of `sectors` (owned by the caller). */
void fake_vblk_init(unsigned i, uint8_t *disk, uint64_t sectors);
/* No devices: every window reads as empty (all-ones). */
void fake_vblk_none(void);
/* Devices 0..count-1 exist (the highest initialised, plus one). */
unsigned fake_vblk_count(void);
/* Serves every queue the driver notified (called from the test's
 * tg_idle: "time passes"). */
void fake_vblk_run(void);

#endif
