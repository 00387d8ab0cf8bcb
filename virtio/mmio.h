/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (virtio 1.2 §4.2.2, legacy §4.2.4): one
 * 0x200-byte register window per device, the device-status state
 * machine, feature negotiation, queue setup, interrupts, and the worker
 * threads that serve the queues after DRIVER_OK.
 *
 * Integration (main.c / kvm/):
 *   vmmio_create(&m, ops, priv, &mem, &irq, legacy);
 *   io_bus_add(&mmio_bus, base, VMMIO_WINDOW, vmmio_access, m);
 *   for (qi = 0; qi < vmmio_nqueues(m); qi++)  KVM_IOEVENTFD with
 *       fd = vmmio_kick_fd(m, qi), addr = base + VMMIO_QUEUE_NOTIFY,
 *       len = 4, datamatch = qi;
 *   ... run ...; vmmio_stats_print(m, stderr); vmmio_destroy(m);
 *
 * Threads: vmmio_access may be called from any number of threads (it
 * serialises on an internal lock); a reset through it stops and joins
 * the workers before returning. The kick fds live from create to
 * destroy, across resets, so an ioeventfd is bound once.
 */
#ifndef KVMINI_VIRTIO_MMIO_H
#define KVMINI_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/gate.h"
#include "hw/gmem.h"
#include "hw/irq.h"
#include "virtio/vdev.h"

struct vmmio;

/* A device served through a virtio-mmio window. ops and priv belong to
 * the device and must outlive the transport; mem and irq must too.
 * legacy selects the Version 1 register layout (GuestPageSize/QueuePFN).
 * 0, -EINVAL (bad ops) or -ENOMEM/-errno (eventfd). */
int vmmio_create(struct vmmio **out, const struct vdev_ops *ops, void *priv,
                 const struct gmem *mem, struct irq_line *irq, bool legacy);

/* Stop and join the workers, call ops->stop, free. NULL is fine. */
void vmmio_destroy(struct vmmio *m);

/* The io_fn for the window: off < VMMIO_WINDOW, len 1, 2, 4 or 8.
 * Always claims the access (returns 0): bad offsets/widths read as 0. */
int vmmio_access(void *m, uint64_t off, void *data, uint32_t len,
                 bool write);

/* Number of queues, and the eventfd to bind to QueueNotify with
 * datamatch = qi (nonblocking; -EINVAL for a bad qi). */
unsigned vmmio_nqueues(const struct vmmio *m);
int vmmio_kick_fd(const struct vmmio *m, unsigned qi);

/* The device as its ops see it (tests read vq/isr/status through it). */
struct vdev *vmmio_vdev(struct vmmio *m);

/* Workers park at gate while it is closed (the VM is paused). Call
 * before the guest runs; the gate must outlive the transport. */
void vmmio_set_gate(struct vmmio *m, struct gate *gate);

/* Tests and fuzzers: start no worker threads at DRIVER_OK; the caller
 * serves the queues itself with vmmio_serve, on its own thread, so a run
 * is deterministic. kvmini never sets it. Call before DRIVER_OK. */
void vmmio_set_inline(struct vmmio *m, bool on);

/* With vmmio_set_inline: what a worker does for queue qi in one round,
 * on the calling thread (drain the kick eventfd, process(), interrupt
 * if wanted, NEEDS_RESET if the ring broke). *poll_fd gets the device's
 * backend fd to wait on (-1: none). Returns 1 if the device left work,
 * 0 if not, -EINVAL if the queue is not live (not inline, not started,
 * not ready). Not concurrently with a reset or vmmio_destroy: they wait
 * for worker threads, not for this. */
int vmmio_serve(struct vmmio *m, unsigned qi, int *poll_fd);

/* One line per queue: kicks, interrupts sent/suppressed, chains, bytes,
 * errors; then, if it ever happened, how often the device needed a
 * reset (for --stats). Safe while workers run (relaxed counters). */
void vmmio_stats_print(const struct vmmio *m, FILE *f);

/* The same counters as a walk (hw/counters.h): group "qN" per queue
 * (kicks, irqs, suppressed, chains, bytes, errors), needs_reset at the
 * top level, then the device's own (ops->stats_walk). --stats prints
 * the queue lines from this walk too. Any thread. */
void vmmio_stats_walk(const struct vmmio *m, const struct counter_sink *s);

/* What the control API's "info" shows of the device. */
const struct vdev_ops *vmmio_ops(const struct vmmio *m);
uint64_t vmmio_features(const struct vmmio *m); /* offered (with ours) */
uint64_t vmmio_acked(const struct vmmio *m);    /* negotiated, or 0 */
uint32_t vmmio_status(const struct vmmio *m);   /* device status */

#endif
