/* SPDX-License-Identifier: MIT */
/*
 * A fake guest driver for debugging virtio devices with no VM: guest RAM
 * at a non-zero guest-physical base, the REAL virtio-mmio register
 * handler of a device, a counting interrupt line, and a small split-ring
 * driver (reset, negotiate, queue setup, DRIVER_OK, post direct or
 * indirect chains, kick, wait for the interrupt, read the used ring).
 *
 * Threads: one fake guest per test; each queue may be driven by its own
 * thread (fg_post/fg_kick_if_needed/fg_get_used on distinct queues), and
 * register access is serialised by the transport.
 */
#ifndef KVMINI_TESTS_FAKE_GUEST_H
#define KVMINI_TESTS_FAKE_GUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/gmem.h"
#include "hw/irq.h"
#include "virtio/mmio.h"
#include "virtio/vdev.h"
#include "virtio/virtio_spec.h"

#define FG_BASE 0x40000000ULL   /* guest-physical base of fake RAM */
#define FG_MAX_SEGS 16          /* per chain, and per indirect table */
#define FG_TIMEOUT_MS 20000     /* a hang guard, not a timing check */

/* Counting irq_line: trigger() bumps count and wakes waiters. */
struct fg_irq {
    struct irq_line line;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t count;
};
void fg_irq_init(struct fg_irq *i);
uint64_t fg_irq_count(struct fg_irq *i);
/* Wait until count > seen: 0, or -ETIMEDOUT after FG_TIMEOUT_MS. */
int fg_irq_wait(struct fg_irq *i, uint64_t seen);

struct fg_queue {
    uint32_t num;
    uint64_t desc, avail, used, ind; /* guest-physical; ind: tables */
    struct vring_desc *d;
    struct vring_avail *a;
    struct vring_used *u;
    uint16_t *used_event, *avail_event;
    uint16_t *free;        /* stack of free descriptor indices */
    uint16_t *chain_len;   /* descriptors held by each head */
    uint32_t nfree;
    uint16_t avail_idx;    /* our next avail->idx */
    uint16_t kicked_idx;   /* avail_idx at the last kick decision */
    uint16_t last_used;
};

struct fake_guest {
    struct gmem mem;
    uint8_t *ram;
    uint64_t base;         /* guest-physical address of ram[0] */
    uint64_t size, brk;    /* bump allocator over [base, base+size) */
    bool borrowed;         /* ram is the caller's (fg_init_mem) */
    struct fg_irq irq;
    struct vmmio *m;
    bool legacy;
    uint64_t features;     /* what fg_negotiate settled on */
    struct fg_queue q[VDEV_MAX_QUEUES];
};

/* Map size bytes of fake RAM at FG_BASE. 0 or -errno. */
int fg_init(struct fake_guest *g, uint64_t size);
/* The same, but guest-physical == host virtual address, for driver code
 * (Linux's virtio_ring) that puts virt_to_phys(p) == p in descriptors. */
int fg_init_identity(struct fake_guest *g, uint64_t size);
/* Use the caller's size bytes at ram as guest RAM at FG_BASE (fuzzers
 * pass malloc'd RAM, so ASan sees any access past it); fg_fini leaves
 * it to the caller. More regions may be added to g->mem afterwards. */
int fg_init_mem(struct fake_guest *g, void *ram, uint64_t size);
/* Destroy the transport (joins workers) and unmap. */
void fg_fini(struct fake_guest *g);

/* Put a device behind a virtio-mmio window (modern or legacy). */
int fg_attach(struct fake_guest *g, const struct vdev_ops *ops, void *priv,
              bool legacy);

/* Guest RAM: allocate (never freed), translate. */
uint64_t fg_alloc(struct fake_guest *g, uint64_t size, uint64_t align);
void *fg_host(struct fake_guest *g, uint64_t gpa);

/* One 32-bit register access through vmmio_access. */
uint32_t fg_rd(struct fake_guest *g, uint32_t off);
void fg_wr(struct fake_guest *g, uint32_t off, uint32_t v);
uint32_t fg_status(struct fake_guest *g);

/* Reset (Status = 0; returns once the device reads back 0). */
void fg_reset(struct fake_guest *g);
/* Reset, ACKNOWLEDGE, DRIVER, features = want & offered, FEATURES_OK
 * (legacy: no FEATURES_OK). 0, or -EPROTO if FEATURES_OK was refused. */
int fg_negotiate(struct fake_guest *g, uint64_t want);
/* Write exactly these features and set FEATURES_OK; returns Status. */
uint32_t fg_try_features(struct fake_guest *g, uint64_t f);
/* Allocate rings for queue qi with num entries and enable it. 0, or
 * -EIO if the device did not accept it (QueueReady/PFN reads 0). */
int fg_queue_setup(struct fake_guest *g, unsigned qi, uint32_t num);
/* Set DRIVER_OK: 0, or -EIO if NEEDS_RESET shows up. */
int fg_driver_ok(struct fake_guest *g);

/* A buffer of a chain. */
struct fg_seg {
    uint64_t gpa;
    uint32_t len;
    bool write; /* device writes it */
};
/* Post one chain (not kicked): head index, or -ENOSPC. indirect puts the
 * segments in an indirect table (one ring descriptor). */
int fg_post(struct fake_guest *g, unsigned qi, const struct fg_seg *s,
            unsigned n, bool indirect);
/* Post one chain of any length n (1..65535, past FG_MAX_SEGS) as an
 * indirect table the caller placed at table (n * 16 bytes of guest
 * RAM, written here from s): head, or -ENOSPC. Not kicked. */
int fg_post_table(struct fake_guest *g, unsigned qi, uint64_t table,
                  const struct fg_seg *s, unsigned n);
/* Write QueueNotify through the MMIO handler. */
void fg_kick(struct fake_guest *g, unsigned qi);
/* Post every entry of queue qi as one bsz-byte writable buffer (buffer i
 * is head i: the free stack hands heads out in order on a fresh queue),
 * kick, and return the buffers' base address. Aborts on a test bug. */
uint64_t fg_fill_writable(struct fake_guest *g, unsigned qi, uint32_t bsz);
/* Kick only if the device asked (EVENT_IDX or NO_NOTIFY); true if did. */
bool fg_kick_if_needed(struct fake_guest *g, unsigned qi);
/* Take one used element: 1 (id, len set, descriptors freed) or 0. */
int fg_get_used(struct fake_guest *g, unsigned qi, uint32_t *id,
                uint32_t *len);
/* Ask for an interrupt at the next completion (used_event or clear
 * NO_INTERRUPT), then re-check: true if used entries are pending. */
bool fg_enable_irq(struct fake_guest *g, unsigned qi);
/* Ask for no interrupts (NO_INTERRUPT flag, or used_event far behind). */
void fg_disable_irq(struct fake_guest *g, unsigned qi);
/* Read InterruptStatus and ACK what was set; returns it. */
uint32_t fg_ack(struct fake_guest *g);

#endif
