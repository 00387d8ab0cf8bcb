/* SPDX-License-Identifier: MIT */
/*
 * Virtio-blk devices behind the guest's MMIO accessors (built with
 * TG_HOST_IO), for the host-side tests of the guest's blk driver: the
 * transport of fake_vmmio.h, a disk in memory, and switches for
 * misbehaving. Requests are served only when the driver idles
 * (fake_vblk_run from tg_idle), so many are in flight at once, as on a
 * real device.
 */
#ifndef TG_HOST_FAKE_VBLK_H
#define TG_HOST_FAKE_VBLK_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/host/fake_vmmio.h"

struct fake_vblk {
    struct fake_vmmio t; /* transport: identity, registers, counters */
    /* set by the test (fake_vblk_init gives a full-featured device) */
    uint8_t *disk;
    uint64_t sectors;
    uint32_t seg_max, size_max, blk_size, max_discard, max_wz;
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
    /* what happened, for the checks (the transport counts the rest) */
    uint32_t reqs, by_type[16];
    uint32_t max_batch, resets, writes_done, writes_at_flush, bad_chain;
};

extern struct fake_vblk fake_vblk[FAKE_DEVS];

/* Device i at FAKE_BASE + i * FAKE_WINDOW: modern, every feature, a
 * zeroed disk of `sectors` (owned by the caller). */
void fake_vblk_init(unsigned i, uint8_t *disk, uint64_t sectors);
/* Serves every queue the driver notified (called from the test's
 * tg_idle: "time passes"). */
void fake_vblk_run(void);

#endif
