/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (device id 3, §5.3): one port, receiveq0 and
 * transmitq0, on a character backend (hw/chardev.h) whose input it
 * takes. With VIRTIO_CONSOLE_F_SIZE the config space reports a terminal
 * size.
 *
 * No byte is lost either way and neither worker blocks. RX takes bytes
 * from the chardev only into buffers the guest posted; until then they
 * wait in the chardev. TX copies the guest's buffers into the chardev
 * while it has room; when it is full the chain being written is kept
 * and finished once room frees (the workers are woken through poll_fd
 * by eventfds the chardev's notify callback writes). A TX round moves
 * at most VCONS_TX_BUDGET bytes, so a reset or shutdown waits for one
 * bounded round, not for whatever the guest queued.
 *
 * Integration:
 *   struct vcons *c; vcons_create(&c, chardev, cols, rows);
 *   vmmio_create(&m, vcons_ops(), c, &mem, &irq, false);
 *   on SIGWINCH (from a normal thread, not the handler): vcons_update_size(c)
 *   vmmio_destroy(m); vcons_destroy(c); chardev_close(chardev);
 */
#ifndef KVMINI_VIRTIO_CONSOLE_H
#define KVMINI_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "hw/chardev.h"
#include "virtio/vdev.h"

struct vcons;

#define VCONS_TX_BUDGET (64u << 10) /* bytes per TX round */

/* cd stays the caller's; the console attaches to it as the input client.
 * cols/rows 0: the chardev's terminal size, else 80x25. 0, -ENOMEM,
 * -EBUSY (cd's input is taken) or -errno (eventfd). */
int vcons_create(struct vcons **out, struct chardev *cd, uint16_t cols,
                 uint16_t rows);
/* After vmmio_destroy of the transport that used it, before the chardev
 * is closed. */
void vcons_destroy(struct vcons *c);

/* The ops to pass to vmmio_create with c as priv. */
const struct vdev_ops *vcons_ops(void);

/* New terminal size: config-change interrupt if the driver runs and
 * negotiated VIRTIO_CONSOLE_F_SIZE. Any thread. */
void vcons_resize(struct vcons *c, uint16_t cols, uint16_t rows);

/* Re-read the chardev's terminal size and vcons_resize if it changed.
 * Call from one thread (the main loop after SIGWINCH), never from the
 * signal handler itself: it takes a lock. */
void vcons_update_size(struct vcons *c);

#endif
