/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (device id 3, §5.3): one port, receiveq0 and
 * transmitq0, on two host fds. Bytes readable on in_fd go to the guest;
 * the guest's output is written to out_fd. With VIRTIO_CONSOLE_F_SIZE
 * the config space reports a terminal size.
 *
 * No byte is lost when the guest has not posted receive buffers: the RX
 * worker polls in_fd only while buffers are available, so host input
 * waits in the fd (pipe or tty buffer) meanwhile.
 *
 * Integration:
 *   struct vcons *c; vcons_create(&c, 0, 1, cols, rows);
 *   vmmio_create(&m, vcons_ops(), c, &mem, &irq, false);
 *   on SIGWINCH (from a normal thread, not the handler): vcons_update_size(c)
 *   vmmio_destroy(m); vcons_destroy(c);
 * The process must ignore SIGPIPE (a closed out_fd is then an error
 * the device logs once, not a kill).
 */
#ifndef KVMINI_VIRTIO_CONSOLE_H
#define KVMINI_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "virtio/vdev.h"

struct vcons;

/* in_fd/out_fd stay owned by the caller. cols/rows 0: ask out_fd (then
 * in_fd) with TIOCGWINSZ, else 80x25. 0 or -ENOMEM. */
int vcons_create(struct vcons **out, int in_fd, int out_fd, uint16_t cols,
                 uint16_t rows);
/* After vmmio_destroy of the transport that used it. */
void vcons_destroy(struct vcons *c);

/* The ops to pass to vmmio_create with c as priv. */
const struct vdev_ops *vcons_ops(void);

/* New terminal size: config-change interrupt if the driver runs and
 * negotiated VIRTIO_CONSOLE_F_SIZE. Any thread. */
void vcons_resize(struct vcons *c, uint16_t cols, uint16_t rows);

/* Re-read the size with TIOCGWINSZ and vcons_resize if it changed.
 * Call from one thread (the main loop after SIGWINCH), never from the
 * signal handler itself: it takes a lock. */
void vcons_update_size(struct vcons *c);

#endif
