/* SPDX-License-Identifier: MIT */
/*
 * Inside of virtio-serial, shared by serial.c (ports, data queues,
 * config) and serial_ctrl.c (the control queues); nobody else includes
 * this.
 *
 * Threads: each queue has its worker (transport). A port's RX worker
 * owns iov, its TX worker the tx_* fields; the control workers own the
 * handshake. Flags read across threads are atomics; everything is reset
 * in start/stop, when no worker runs.
 */
#ifndef KVMINI_VIRTIO_SERIAL_PRIV_H
#define KVMINI_VIRTIO_SERIAL_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/queue.h"
#include "virtio/serial.h"

#define VSER_CIVQ 2 /* control: device -> driver */
#define VSER_COVQ 3 /* control: driver -> device */
#define VSER_IOV 64 /* buffers of one RX chain filled at once */

/* Control events (§5.3.6.2). */
#define VSER_DEVICE_READY 0
#define VSER_PORT_ADD 1
#define VSER_PORT_REMOVE 2
#define VSER_PORT_READY 3
#define VSER_CONSOLE_PORT 4
#define VSER_RESIZE 5
#define VSER_PORT_OPEN 6
#define VSER_PORT_NAME 7

/* struct virtio_console_control, little-endian like the host. */
struct vser_ctrl {
    uint32_t id;
    uint16_t event;
    uint16_t value;
};

/* Messages a port owes the driver, sent in this bit order. */
#define VSER_P_ADD 1u
#define VSER_P_CONSOLE 2u
#define VSER_P_NAME 4u
#define VSER_P_OPEN 8u
#define VSER_P_RESIZE 16u

/* struct virtio_console_config. */
struct vser_cfg {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};

struct vser_port {
    struct vser *s;
    uint32_t id;
    bool present, console;
    char name[VSER_NAME_MAX + 1];
    uint32_t name_len;
    struct chardev *cd;
    struct chardev_client cl;
    int rx_ev, tx_ev;        /* eventfds: input / output room / gate */
    _Atomic uint32_t pend;   /* VSER_P_* owed to the driver */
    _Atomic bool added;      /* PORT_ADD sent */
    _Atomic bool ready;      /* the driver's PORT_READY 1 */
    _Atomic bool rx_open;    /* host bytes may go to the guest */
    _Atomic bool guest_open; /* the driver's PORT_OPEN */
    struct iovec iov[VSER_IOV];
    bool tx_busy;
    struct vq_iter tx_it;
    const uint8_t *tx_p;
    uint32_t tx_left;
};

struct vser {
    struct vdev_ops ops; /* per device: nqueues */
    struct vdev *d;
    uint32_t nports;
    struct vser_cfg cfg; /* under d->cfg_lock once attached */
    uint16_t win_cols, win_rows; /* last size seen: vser_update_size */
    _Atomic bool running;
    _Atomic bool multiport; /* negotiated; set in start */
    _Atomic bool dev_ready; /* the driver's DEVICE_READY 1 */
    int ctrl_ev;            /* eventfd: messages owed (c_ivq's poll_fd) */
    struct vser_ctrl_scratch {
        uint8_t msg[sizeof(struct vser_ctrl) + VSER_NAME_MAX];
    } civq; /* c_ivq worker only */
    _Atomic uint64_t ctrl_in, ctrl_bad, ctrl_out, tx_nowhere;
    struct log_ratelimit bad_log;
    struct vser_port port[VSER_MAX_PORTS];
};

void vser_ev_signal(int fd);

/* serial_ctrl.c, on the control queues' workers. */
int vser_civq_process(struct vser *s, struct vq *q);
int vser_covq_process(struct vser *s, struct vq *q);
/* Owe the driver these messages about p and wake c_ivq. Any thread. */
void vser_ctrl_owe(struct vser_port *p, uint32_t bits);

#endif
