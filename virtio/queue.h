/* SPDX-License-Identifier: MIT */
/*
 * The split-virtqueue engine: pops descriptor chains the driver made
 * available, walks them with a hop budget, returns them on the used ring
 * and decides whether the driver wants an interrupt (EVENT_IDX aware).
 *
 * Ownership and threads: a struct vq is set up by the transport
 * (vq_setup) while no worker runs; afterwards exactly one worker thread
 * calls vq_pop/vq_iter_next/vq_push/vq_want_irq on it. Counters in
 * struct vq_stats are relaxed atomics and may be read from any thread.
 *
 * Errors are negative errno: -EFAULT (address/length outside guest RAM),
 * -ELOOP (chain longer than the queue or a loop), -EPROTO (anything else
 * the spec forbids). After -EPROTO from vq_pop the queue is broken and
 * the device must be reset by the driver.
 */
#ifndef KVMINI_VIRTIO_QUEUE_H
#define KVMINI_VIRTIO_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/gmem.h"
#include "virtio/virtio_spec.h"

struct vq_stats {
    _Atomic uint64_t kicks;    /* doorbells seen (eventfd counts) */
    _Atomic uint64_t irqs;     /* used-buffer interrupts raised */
    _Atomic uint64_t irqs_suppressed; /* completions the driver muted */
    _Atomic uint64_t chains;   /* chains returned on the used ring */
    _Atomic uint64_t bytes;    /* bytes the device reported written */
    _Atomic uint64_t errors;   /* malformed chains and ring errors */
};

struct vq {
    const struct gmem *mem;
    /* Host views of the guest's rings, range-checked once by vq_setup;
     * guest RAM never moves, so the pointers stay valid. */
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t *used_event;  /* avail->ring[num] */
    uint16_t *avail_event; /* used->ring[num] */
    uint32_t num;          /* power of two, 1..32768 */
    bool event_idx, indirect;
    bool broken;           /* a ring-level error: stop until reset */
    bool notify_off;       /* we set VRING_USED_F_NO_NOTIFY */
    uint16_t last_avail;   /* next avail slot to consume */
    uint16_t used_idx;     /* next used slot (vq_put); used->idx lags
                            * it until vq_publish */
    uint64_t unpub_bytes;  /* bytes of the chains not yet published */
    uint16_t published;    /* used_idx at the last vq_publish */
    uint16_t signalled;    /* used_idx at the last interrupt decision */
    struct vq_stats st;
};

/* One buffer of a chain: host pointer already checked for len bytes. */
struct vq_buf {
    void *p;
    uint32_t len;
    bool dev_writes; /* VRING_DESC_F_WRITE: the device fills it */
};

/* Walks one chain; every descriptor is copied once before use. */
struct vq_iter {
    struct vq *q;
    const struct vring_desc *table; /* main table or an indirect table */
    uint32_t table_len;             /* entries in table */
    uint32_t budget;                /* hops left for the whole chain */
    uint16_t head;                  /* returned to vq_push */
    uint16_t next;
    bool end, in_indirect, seen_write;
};

/* Check and map the rings for a queue of num entries at the given
 * guest-physical addresses. 0, -EINVAL (bad num) or -EFAULT. */
int vq_setup(struct vq *q, const struct gmem *mem, uint32_t num,
             uint64_t desc, uint64_t avail, uint64_t used, bool event_idx,
             bool indirect);

/* Forget the rings (device reset); counters are kept. */
void vq_clear(struct vq *q);

/* 1 if a chain is available, 0 if not (and driver notifications are then
 * re-enabled, re-checked after a full barrier so no kick is missed),
 * -EPROTO if the avail index is impossible (queue marked broken). */
int vq_peek(struct vq *q);

/* Take the next chain: 1 and *it ready, 0 empty, -EPROTO broken. */
int vq_pop(struct vq *q, struct vq_iter *it);

/* Give back the chain just popped (device had nothing to put in it). */
void vq_unpop(struct vq *q);

/* Next buffer of the chain: 1 with *b filled, 0 at the end, or -EFAULT,
 * -ELOOP, -EPROTO: the chain is malformed; the caller fails the request
 * (vq_push it with written = 0) and counts the error. */
int vq_iter_next(struct vq_iter *it, struct vq_buf *b);

/* Put chain head on the used ring with `written` bytes filled. */
void vq_push(struct vq *q, uint16_t head, uint32_t written);

/* vq_push without publishing: the element is written, used->idx is not,
 * so the driver sees nothing until vq_publish. For a device returning
 * several chains at once (a mergeable frame, a batch): one index store
 * and one counter update for all of them. vq_want_irq publishes first. */
void vq_put(struct vq *q, uint16_t head, uint32_t written);

/* Make every chain vq_put so far visible to the driver. */
void vq_publish(struct vq *q);

/* Fail a malformed request: return head with 0 bytes, count an error. */
void vq_fail(struct vq *q, uint16_t head, int err);

/* Whether the driver wants an interrupt for what was pushed since the
 * last call (honours NO_INTERRUPT and used_event, 16-bit wrap safe).
 * Updates the irqs/irqs_suppressed counters. */
bool vq_want_irq(struct vq *q);

#endif
