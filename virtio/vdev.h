/* SPDX-License-Identifier: MIT */
/*
 * What a virtio device implements (struct vdev_ops) and what it is given
 * (struct vdev). The transport (virtio/mmio.c) owns the registers, the
 * queues and the worker threads and calls the ops; a device never sees
 * the transport, KVM or the VM.
 *
 * Threads: cfg_read/cfg_write/start/stop run on the thread that touched
 * the registers (a vCPU, or the test's "guest"), under the transport
 * lock. poll_fd/process for queue qi run only on that queue's worker.
 * vdev_notify/vdev_config_changed/vdev_needs_reset may be called from
 * any thread.
 */
#ifndef KVMINI_VIRTIO_VDEV_H
#define KVMINI_VIRTIO_VDEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/counters.h"
#include "hw/gmem.h"
#include "hw/irq.h"
#include "hw/log.h"
#include "virtio/queue.h"

struct vdev;

struct vdev_ops {
    const char *name;
    uint32_t device_id;
    uint32_t nqueues;   /* 1..VDEV_MAX_QUEUES */
    uint32_t qsize_max; /* QueueNumMax, power of two <= 32768 */
    uint32_t cfg_size;  /* bytes of device config space (<= 0x100) */
    /* Device-specific feature bits. The transport adds VERSION_1 (modern
     * only), INDIRECT_DESC and EVENT_IDX, which the queue engine does. */
    uint64_t features;
    /* Config space access, off+len already checked against cfg_size.
     * NULL cfg_write: config is read-only (writes ignored). */
    int (*cfg_read)(struct vdev *d, uint32_t off, void *buf, uint32_t len);
    int (*cfg_write)(struct vdev *d, uint32_t off, const void *buf,
                     uint32_t len);
    /* Once, when the transport is created: the device may keep d (for
     * example to raise config interrupts later). May be NULL. */
    void (*attach)(struct vdev *d);
    /* DRIVER_OK, before the workers start; <0 sets NEEDS_RESET. May be
     * NULL. Allocate here, never in process(). */
    int (*start)(struct vdev *d);
    /* Reset or destroy, after every worker has been joined. May be NULL. */
    void (*stop)(struct vdev *d);
    /* Worker: a host fd to poll for POLLIN besides the kick, or -1 (for
     * example console RX returns its input fd only while the guest has
     * posted buffers, so host bytes wait in the fd instead of being
     * dropped). Called before every poll(). May be NULL. */
    int (*poll_fd)(struct vdev *d, uint16_t qi);
    /* Worker: serve queue qi after a kick or POLLIN on poll_fd. Uses
     * vq_pop/vq_iter_next/vq_push; the worker raises the interrupt
     * afterwards if the driver wants one. Handle at most about a queue's
     * worth of chains per call and return 1 if work is left (the worker
     * checks for stop, then calls again), else 0. A request once begun is
     * finished: reset waits for it. Must not block forever. */
    int (*process)(struct vdev *d, uint16_t qi);
    /* Worker: whether queue qi has requests in flight on the host that
     * a later process() completes (pause waits for them). May be NULL:
     * nothing outlives a process() call. */
    bool (*busy)(const struct vdev *d, uint16_t qi);
    /* --stats: the device's own counters, after the per-queue lines
     * (any thread; read relaxed counters only). May be NULL. */
    void (*stats_print)(const struct vdev *d, FILE *f);
    /* The same counters as (group, name, value) for the control API's
     * "stats" (group: the device kind, e.g. "blk"). May be NULL. */
    void (*stats_walk)(const struct vdev *d, const struct counter_sink *s);
};

/* virtio-serial with 32 ports: 32 port pairs and the control pair. */
#define VDEV_MAX_QUEUES 66
#define VDEV_RESET_LOG_BURST 3 /* needs-reset warnings per minute */

struct vdev {
    const struct vdev_ops *ops;
    const struct gmem *mem;
    struct irq_line *irq;
    struct vq *vq;           /* ops->nqueues entries, owned by transport */
    uint64_t acked;          /* negotiated features, stable after DRIVER_OK */
    _Atomic uint32_t isr;    /* InterruptStatus */
    _Atomic uint32_t cfg_gen; /* ConfigGeneration */
    _Atomic bool needs_reset; /* shown as DEVICE_NEEDS_RESET in Status */
    /* Times NEEDS_RESET was raised (--stats), and the limiter of its
     * warning: a guest that breaks and resets its device in a loop must
     * not flood stderr. */
    _Atomic uint64_t resets_needed;
    struct log_ratelimit reset_log;
    /* Held by the transport around cfg_read/cfg_write and by the device
     * while it changes config (vdev_cfg_begin/end), so a change and its
     * ConfigGeneration bump are one step for the driver's reads. */
    pthread_mutex_t cfg_lock;
    void *priv;              /* the device's own state */
};

static inline bool vdev_has(const struct vdev *d, unsigned bit)
{
    return d->acked & (1ULL << bit);
}

/* Used-buffer interrupt for queue qi: set ISR bit 0, trigger the line. */
int vdev_notify(struct vdev *d, uint16_t qi);

/* Config-change interrupt: bump ConfigGeneration, set ISR bit 1,
 * trigger the line. */
int vdev_config_changed(struct vdev *d);

/* A device changes its config space between these two: begin takes
 * cfg_lock; end bumps ConfigGeneration, drops the lock and raises the
 * config-change interrupt if notify is true (driver is running). */
void vdev_cfg_begin(struct vdev *d);
void vdev_cfg_end(struct vdev *d, bool notify);

/* The device hit an error it cannot recover from without a reset:
 * DEVICE_NEEDS_RESET plus a config-change interrupt (§2.1.2). Once per
 * reset of the device; the warning is rate-limited per device
 * (VDEV_RESET_LOG_BURST a minute) and every occurrence is counted. */
void vdev_needs_reset(struct vdev *d, const char *why);

#endif
