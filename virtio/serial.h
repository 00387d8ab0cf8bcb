/* SPDX-License-Identifier: MIT */
/*
 * virtio-serial: virtio-console (device id 3, virtio 1.2 §5.3) with
 * VIRTIO_CONSOLE_F_MULTIPORT. Ports 0..max_ports-1, each on its own
 * character backend (hw/chardev.h); port 0 may be a console
 * (CONSOLE_PORT), the others carry a name (PORT_NAME) and are not
 * consoles. Queues: port 0's receiveq/transmitq are 0 and 1, the control
 * queues c_ivq/c_ovq are 2 and 3, port N (N >= 1) uses 2N+2 and 2N+3.
 *
 * The control handshake (serial_ctrl.c): the driver's DEVICE_READY gets
 * a PORT_ADD per port; its PORT_READY gets CONSOLE_PORT (port 0 as a
 * console), PORT_NAME and PORT_OPEN with the backend's peer state
 * (chardev_connected), again whenever that changes; the driver's
 * PORT_OPEN says whether a program in the guest has the port open.
 * Malformed messages from the driver are counted (--stats "ctrl-bad")
 * and ignored. Messages owed to the driver are kept as per-port flags,
 * so a peer that comes and goes a million times costs no memory: the
 * guest is told the current state, not every transition.
 *
 * No loss either way, no blocking worker (the single-port console's
 * rules, per port): host bytes go to a port only into buffers the
 * guest posted and only while the guest has the port open (Linux
 * discards what arrives on a port nobody opened), and wait in the
 * chardev (CHARDEV_IN_CAP) meanwhile, which then stops reading the
 * host. Guest writes go into the chardev while it has room; with no
 * host peer it holds up to CHARDEV_OUT_CAP bytes, then the TX chain
 * waits until a peer drains it (back-pressure). A TX round moves at most
 * VSER_TX_BUDGET bytes. Nothing is allocated after vser_create.
 *
 * Without MULTIPORT (vser_create_console) the device is a plain
 * console: port 0's two queues only.
 *
 * Integration:
 *   vser_create(&s, nports);
 *   vser_add_port(s, 0, NULL, console_cd, true);   (optional)
 *   vser_add_port(s, 1, "org.example.ctl", cd1, false); ...
 *   vmmio_create(&m, vser_ops(s), s, &mem, &irq, false);
 *   ... vmmio_destroy(m); vser_destroy(s); then close the chardevs.
 */
#ifndef KVMINI_VIRTIO_SERIAL_H
#define KVMINI_VIRTIO_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/chardev.h"
#include "virtio/vdev.h"

#define VSER_MAX_PORTS 32          /* per device: ids 0..31, 66 queues */
#define VSER_NAME_MAX 127          /* bytes of a port name */
#define VSER_TX_BUDGET (64u << 10) /* bytes per TX round of one port */

struct vser;

struct vser_stats {
    uint64_t ctrl_in;    /* control messages from the driver, good ones */
    uint64_t ctrl_bad;   /* ... malformed, ignored */
    uint64_t ctrl_out;   /* control messages sent to the driver */
    uint64_t tx_nowhere; /* bytes the driver sent to a port with no backend */
};

/* A device with room for nports ports (1..VSER_MAX_PORTS; the config's
 * max_nr_ports). 0, -EINVAL or -ENOMEM. */
int vser_create(struct vser **out, uint32_t nports);

/* Before vmmio_create: port id on cd (stays the caller's; the port
 * takes its input). name: 1..VSER_NAME_MAX printable bytes, or NULL for
 * port 0 as a console (console must then be true, and only id 0 may be
 * one). 0, -EINVAL, -EEXIST, -EBUSY (cd's input taken) or -errno. */
int vser_add_port(struct vser *s, uint32_t id, const char *name,
                  struct chardev *cd, bool console);

/* The ops to pass to vmmio_create with s as priv. */
const struct vdev_ops *vser_ops(struct vser *s);

/* After vmmio_destroy; detaches from the chardevs. NULL is fine. */
void vser_destroy(struct vser *s);

/* The single-port console (--console virtio): a device without
 * MULTIPORT whose port 0 is a console on cd (which stays the caller's),
 * two queues, VIRTIO_CONSOLE_F_SIZE with cols x rows (0: the chardev's
 * terminal size, else 80x25). 0, -ENOMEM, -EBUSY (cd's input is taken)
 * or -errno. */
int vser_create_console(struct vser **out, struct chardev *cd, uint16_t cols,
                        uint16_t rows);

/* Re-read port 0's terminal size and vser_resize if it changed. Call
 * from one thread (the main loop after SIGWINCH), never from the signal
 * handler itself: it takes a lock. */
void vser_update_size(struct vser *s);

/* The console's terminal size (cols x rows): config space, and a RESIZE
 * message to a multiport driver. Any thread. */
void vser_resize(struct vser *s, uint16_t cols, uint16_t rows);

/* Whether the driver has the port open (its PORT_OPEN), for tests and
 * --stats. */
bool vser_guest_open(struct vser *s, uint32_t id);

void vser_get_stats(struct vser *s, struct vser_stats *st);

#endif
