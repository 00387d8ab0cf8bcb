/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport of the fake devices behind the guest's MMIO
 * accessors (built with TG_HOST_IO), shared by fake_vblk and fake_vnet:
 * the modern and legacy register files, feature and status negotiation,
 * and the device's side of split rings (chains with one indirect table,
 * used entries, EVENT_IDX). A fake device embeds a struct fake_vmmio,
 * fills in its identity and config reader, and registers it at window i.
 */
#ifndef TG_HOST_FAKE_VMMIO_H
#define TG_HOST_FAKE_VMMIO_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_BASE 0xd0000000ULL
#define FAKE_WINDOW 0x200
#define FAKE_DEVS 3
#define FAKE_QUEUES 5 /* net: 2 pairs and a control queue */
#define FAKE_SEGS_MAX 64

#define FAKE_BIT(f) (1ULL << (f))
#define FAKE_S_DRIVER_OK 4
#define FAKE_S_FEATURES_OK 8

struct fake_queue {
    uint32_t num, ready, pfn, align;
    uint64_t desc, avail, used;
    uint16_t last_avail, used_idx;
    bool notified;
};

struct fake_vmmio {
    /* the device's identity, set by the fake (the test may change them) */
    uint32_t version; /* 2 modern, 1 legacy */
    uint32_t device_id;
    uint64_t offered;
    uint32_t num_max;
    uint16_t num_queues; /* queues whose QueueNumMax is non-zero */
    /* Config space: a read of `width` bytes at `off`. */
    uint32_t (*config_read)(struct fake_vmmio *t, uint32_t off, uint32_t width);
    void (*on_reset)(struct fake_vmmio *t); /* optional */
    /* registers and state */
    uint32_t status, dev_sel, drv_sel, queue_sel, isr, page_size;
    uint64_t drv_features;
    struct fake_queue q[FAKE_QUEUES];
    /* what happened, for the checks */
    uint32_t notifies[FAKE_QUEUES], irqs, bad_width, resets, indirect;
};

/* One buffer of a chain, as the device sees it. */
struct fake_seg {
    uint8_t *p;
    uint32_t len;
    bool write;
};

struct fake_chain {
    uint16_t head;
    struct fake_seg s[FAKE_SEGS_MAX];
    unsigned n;
    uint32_t cap; /* total bytes */
};

/* Device window i is served by t (NULL: empty); windows >= count read as
 * all-ones, as on a bus with nothing there. */
void fake_vmmio_set(unsigned i, struct fake_vmmio *t);
void fake_vmmio_none(void);
unsigned fake_vmmio_count(void);
/* A kernel command line that announces every window set
 * (virtio_mmio.device=... as kvmini writes them), then words. Static
 * storage: valid until the next call. */
const char *fake_vmmio_cmdline(const char *words);
/* Call the device's window i's transport. */
struct fake_vmmio *fake_vmmio_at(unsigned i);

bool fake_vmmio_feature(const struct fake_vmmio *t, unsigned bit);
/* Walks the chain at head (following one indirect table): 0, or -1 when
 * it is malformed (head or next out of range, too long, no end). */
int fake_vmmio_walk(struct fake_vmmio *t, struct fake_queue *q, uint16_t head,
                    struct fake_chain *c);
/* Writes a used entry (not yet visible), and publishes the used index. */
void fake_vmmio_put_used(struct fake_queue *q, uint16_t id, uint32_t len);
void fake_vmmio_publish(struct fake_queue *q);
/* With EVENT_IDX, asks for a notify as soon as anything new is posted
 * (avail_event = the driver's avail index `upto`). */
void fake_vmmio_want_notify(const struct fake_vmmio *t, struct fake_queue *q,
                            uint16_t upto);
/* Raises the interrupt if the driver wants one for entries [old,
 * used_idx): EVENT_IDX's used_event, else NO_INTERRUPT. */
void fake_vmmio_maybe_irq(struct fake_vmmio *t, struct fake_queue *q,
                          uint16_t old);

#endif
