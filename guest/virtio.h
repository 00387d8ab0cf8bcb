/* SPDX-License-Identifier: MIT */
/*
 * The driver side of virtio-mmio (virtio 1.2 section 4.2.2: the modern
 * layout, and the legacy one of section 4.2.4) and split virtqueues:
 * device status handshake, feature negotiation, config space, queue
 * set-up, posting chains (direct or indirect), notification suppression
 * (flags, or EVENT_IDX when negotiated), and polling the used ring.
 * Completion is polled in RAM (every register access is a VM exit), with
 * the caller's idle function between looks. A device driver (vcons.c,
 * later blk, net) owns a struct vdev it found and the struct vq it sets up.
 */
#ifndef TG_VIRTIO_H
#define TG_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_WINDOW_MIN 0x100 /* registers before the config space */

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLK 2
#define VIRTIO_ID_CONSOLE 3

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ISR_USED 1
#define VIRTIO_ISR_CONFIG 2
#define VIRTIO_S_NEEDS_RESET 0x40

#define VQ_SIZE_MAX 32 /* ring entries at most (one bit each in vq.busy) */

struct tg;

/* One virtio-mmio window as discovered, and what its registers said. */
struct vdev {
    uint64_t base, size;
    uint32_t irq;
    const char *src; /* "dt" or "cmdline" */
    uint32_t magic, version, device_id, vendor_id;
    uint64_t offered;  /* what the device offered, after vdev_start() */
    uint64_t features; /* negotiated, after vdev_start() */
    bool legacy;       /* Version 1 layout: 32 feature bits, QueuePFN */
    bool irq_wake;     /* its interrupt is routed (vdev_irq_wake) */
};

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2
#define VQ_DESC_F_INDIRECT 4

struct vq_avail {
    uint16_t flags, idx, ring[];
};

struct vq_used_elem {
    uint32_t id, len;
};

struct vq_used {
    uint16_t flags, idx;
    struct vq_used_elem ring[];
};

/* One buffer of a chain to post. */
struct vq_seg {
    const void *p;
    uint32_t len;
    bool dev_writes;
};

struct vq {
    /* Rings live here: desc, then avail, then used (4-byte aligned). */
    uint8_t mem[4096] __attribute__((aligned(4096)));
    struct vq_desc *desc;
    volatile struct vq_avail *avail;
    volatile struct vq_used *used;
    const struct vdev *dev;
    uint16_t index, num;
    uint16_t free_head, nfree;
    uint16_t avail_idx, last_used;  /* our copies of the two indices */
    uint16_t kicked;                /* avail_idx at the last notify */
    uint32_t busy;                  /* bit h: head h posted, not yet returned */
    bool event;                     /* EVENT_IDX negotiated */
    bool irq;                       /* used-buffer interrupts wanted */
    volatile uint16_t *used_event;  /* after the avail ring (EVENT_IDX) */
    volatile uint16_t *avail_event; /* after the used ring (EVENT_IDX) */
    /* irqwait mode: the device's interrupts the guest has noticed, and
     * the used index then (entries below it were announced). */
    uint64_t irqs_seen;
    uint16_t announced;
    /* irqwait mode: completions taken after an interrupt, and those only
     * the watchdog's look found (the device's interrupt never came). */
    uint32_t by_irq, late;
};

/* Reads MagicValue, Version, DeviceID and VendorID (4 exits). */
void vdev_probe(struct vdev *d);
/*
 * Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 plus the subset of
 * `want` the device offers), FEATURES_OK read back. A legacy (Version 1)
 * device gets the low 32 bits of `want` it offers, no VERSION_1 and no
 * FEATURES_OK step, and GuestPageSize 4096. Returns 0, or -1 with *why
 * set (the device is then left FAILED).
 */
int vdev_start(struct vdev *d, uint64_t want, const char **why);
/* Sets DRIVER_OK once every queue is set up. */
void vdev_driver_ok(struct vdev *d);
/*
 * When the idle tick runs or in irqwait mode, routes the device's GSI to
 * its own vector (irq_vector(): counted as received, and it ends the
 * idle hlt early); queues then ask for interrupts. Returns d->irq_wake.
 * Interrupts are acknowledged in vq_wait_used (QEMU's transport holds
 * its line while InterruptStatus is non-zero; kvmini's pulses it).
 */
bool vdev_irq_wake(struct vdev *d, struct tg *tg);
/*
 * Halts (tg_idle(): the idle tick ends each halt) until the guest has
 * received an interrupt of d beyond the count `seen`, timeout_us at
 * most. True if one came. For a wait that must end by interrupt, not by
 * a look at the ring.
 */
bool vdev_irq_await(const struct vdev *d, struct tg *tg, uint64_t seen,
                    uint64_t timeout_us);
/* Writes 0 to Status: the device forgets queues and features. */
void vdev_reset(struct vdev *d);
/* The Status register (NEEDS_RESET is bit 0x40). */
uint32_t vdev_status(const struct vdev *d);
/*
 * Reads InterruptStatus and, when bits are set, acknowledges them.
 * Returns the bits (VIRTIO_ISR_USED, VIRTIO_ISR_CONFIG). Two exits.
 */
uint32_t vdev_irq_ack(const struct vdev *d);
/*
 * Device config space, at the width of the field (the spec asks for 8-bit
 * reads of 8-bit fields, 16 of 16, 32 of 32 and 64). off is relative to
 * the config space (0x100). A multi-field read is consistent when
 * vdev_cfg_gen() reads the same before and after (modern only: 0 on
 * legacy devices).
 */
uint8_t vdev_cfg8(const struct vdev *d, uint32_t off);
uint16_t vdev_cfg16(const struct vdev *d, uint32_t off);
uint32_t vdev_cfg32(const struct vdev *d, uint32_t off);
uint64_t vdev_cfg64(const struct vdev *d, uint32_t off);
uint32_t vdev_cfg_gen(const struct vdev *d);

/*
 * Sets up queue `index` with at most `want` entries (a power of two,
 * capped at QueueNumMax and VQ_SIZE_MAX) and marks it ready (legacy:
 * QueueAlign 4, so all three parts share the page, and QueuePFN). Uses
 * EVENT_IDX when d negotiated it. Returns 0 or -1 with *why set.
 */
int vq_setup(struct vq *q, const struct vdev *d, uint16_t index, uint16_t want,
             const char **why);
/*
 * Posts a chain of n buffers (readable ones first) and publishes it.
 * Returns the head descriptor index, or -1 without enough free entries.
 * Does not notify: call vq_kick() after one or more posts.
 */
int vq_post(struct vq *q, const struct vq_seg *s, unsigned n);
/*
 * Posts n buffers as one indirect descriptor (VIRTIO_F_INDIRECT_DESC):
 * the chain is written into table (n entries, 16-byte aligned, owned by
 * the caller until the head comes back). Takes one ring entry. Returns
 * the head, or -1 when the ring is full or n is 0.
 */
int vq_post_indirect(struct vq *q, struct vq_desc *table,
                     const struct vq_seg *s, unsigned n);
/*
 * Asks for used-buffer interrupts on q (off by default: we poll): clears
 * NO_INTERRUPT, or with EVENT_IDX keeps used_event at the next entry.
 */
void vq_irq_enable(struct vq *q);
/*
 * Notifies the device unless it asked not to be (VRING_USED_F_NO_NOTIFY,
 * or with EVENT_IDX an avail_event outside what we published since the
 * last notify).
 */
void vq_kick(struct vq *q);
/*
 * Takes one used element if there is one: 1 with *head and *len set (the
 * chain's descriptors are freed), 0 if none, -1 if the device returned a
 * head we never posted.
 */
int vq_get_used(struct vq *q, uint16_t *head, uint32_t *len);
/*
 * vq_get_used() until something arrives or timeout_us pass, idling with
 * tg_idle() between looks. In irqwait mode it halts until the device's
 * interrupt announces an entry (q->by_irq); one found only because the
 * watchdog ended a halt counts in q->late. Returns 1, 0 on timeout,
 * -1 as above.
 */
int vq_wait_used(struct vq *q, struct tg *tg, uint64_t timeout_us,
                 uint16_t *head, uint32_t *len);

#endif
