/* SPDX-License-Identifier: MIT */
/*
 * Multiport virtio-serial driver (virtio-console with
 * VIRTIO_CONSOLE_F_MULTIPORT): the control handshake as Linux does it
 * (DEVICE_READY, PORT_ADD -> PORT_READY, PORT_NAME -> PORT_OPEN, and the
 * device's PORT_OPEN for its peer), per-port receive and transmit
 * queues, and the services run on named ports (vportsrv.c): a port
 * whose name ends in ".echo" sends back every byte it receives; on
 * ".ctl" the command "sha256 N" hashes the next N bytes of the sibling
 * ".data" port and answers the hex digest. Each device has one
 * interrupt; with the idle tick running it ends the idle hlt.
 */
#ifndef TG_VPORT_H
#define TG_VPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/sha256.h"
#include "guest/virtio.h"

#define VPORT_DEVS 2       /* multiport devices driven */
#define VPORT_PORTS 32     /* ports per device (kvmini's maximum too) */
#define VPORT_RX_BUFS 4    /* receive buffers per port */
#define VPORT_BUF 4096     /* bytes each (kvmini hands over 4 KiB at most) */
#define VPORT_QSIZE 8      /* data queue entries (>= VPORT_RX_BUFS) */
#define VPORT_CQSIZE 16    /* control queue entries */
#define VPORT_CTRL_LEN 136 /* a control message and a 128-byte name */
#define VPORT_NAME_MAX 127
#define VPORT_LINE_MAX 64
#define VPORT_ANSWER 80

/* The control message (virtio 1.2 5.3.6.2), little-endian. */
struct vport_ctrl {
    uint32_t id;
    uint16_t event, value;
};

enum vport_role { VPORT_OTHER, VPORT_ECHO, VPORT_CTL, VPORT_DATA };

struct vportdev;

struct vport {
    struct vq rx, tx; /* page-aligned rings first */
    struct vportdev *vd;
    uint32_t id;
    bool added, named, console, opened;
    bool host_open;
    enum vport_role role;
    char name[VPORT_NAME_MAX + 1];
    int cur; /* receive buffer being consumed, -1: none */
    uint32_t cur_off, cur_len;
    bool rx_dirty, tx_dirty;    /* buffers posted since the last kick */
    uint8_t tx_rx[VPORT_QSIZE]; /* echo: TX head -> RX buffer + 1 */
    unsigned tx_inflight;
    uint64_t rx_bytes, tx_bytes;
    /* ".ctl": the line being read, answers in flight (round robin) */
    char line[VPORT_LINE_MAX];
    uint32_t line_len;
    bool line_long;
    char answer[VPORT_QSIZE][VPORT_ANSWER];
    unsigned answer_next;
    /* ".data": bytes still to hash for the ctl port that asked */
    struct vport *asker;
    uint64_t want, total, t0;
    struct sha256 sha;
};

struct vportdev {
    struct vq civq, covq; /* page-aligned rings first */
    struct vport port[VPORT_PORTS];
    struct vdev *dev;
    unsigned index;  /* among the multiport devices */
    uint32_t nports; /* ports with queues: min(max_nr_ports, VPORT_PORTS) */
    const char *broken;
    bool civq_dirty, covq_dirty;
    bool console_hello; /* sent on the console port (vport_hello) */
    bool irq_tried;     /* interrupt routing tried with the tick on */
    struct vport_ctrl out[VPORT_CQSIZE];
    unsigned out_next;
    uint32_t ctrl_in, ctrl_bad, named;
    uint8_t cbuf[VPORT_CQSIZE][VPORT_CTRL_LEN];
    uint8_t buf[VPORT_PORTS][VPORT_RX_BUFS][VPORT_BUF];
};

struct vportset {
    struct vportdev d[VPORT_DEVS]; /* page-aligned rings first */
    unsigned n;
    bool reporting; /* discovery reported: print later changes */
    bool quit;      /* "quit" on a ctl port: stop holding */
    bool hello;     /* vport_hello: a line on a console port */
};

struct tg;

/* True if a virtio-console device is there that vcons did not take. */
bool vport_wanted(const struct tg *tg);
/*
 * Starts every virtio-console device that offers MULTIPORT (and that the
 * vcons checks did not take), runs the handshake until expect_ports=N
 * named ports are known (else until the control queue is quiet), and
 * reports each port; checks vport_start per device and vport_ports.
 */
void vport_checks(struct tg *tg);
/*
 * One turn of the idle loop: serves every port (echo, ctl commands,
 * data being hashed, control messages); when there was nothing, hands
 * over to net_idle() (which idles).
 */
void vport_idle(struct tg *tg);
/* True once a ctl port received "quit": holding ends. */
bool vport_quit(const struct tg *tg);
/* After holding: a stats line per device and port with traffic. */
void vport_finish(struct tg *tg);

/* Between the driver (vport.c), the boot and hold loop (vportcheck.c)
 * and the services (vportsrv.c). */
/* Negotiates MULTIPORT, sets up every queue, posts the buffers, sends
 * DEVICE_READY. 0, 1 (no MULTIPORT: not ours, reset), -1 with *why. */
int vport_dev_start(struct tg *tg, struct vportdev *vd, const char **why);
/* One turn: control messages, then every open named port. Returns the
 * work done (0: nothing). */
int vport_serve(struct tg *tg, struct vportdev *vd);
/* Routes the device's interrupt and asks every queue for them, when the
 * idle tick (or irqwait) runs. */
void vport_irq_enable(struct tg *tg, struct vportdev *vd);
/* "echo", "ctl", "data", "other" or "console". */
const char *vport_role_name(const struct vport *p);
/* Bytes received on named port p: the service's turn. 1 if it did work. */
int vportsrv_rx(struct tg *tg, struct vport *p);
/* A ctl command line from p (no newline). */
void vportsrv_command(struct tg *tg, struct vport *p, const char *l,
                      uint32_t n);
/* Takes one used receive buffer of p into p->cur unless one is held:
 * true when p->cur has unread bytes. False also for a broken device. */
bool vport_rx_next(struct vport *p);
/* Gives p->cur back to the device (kicked at the end of the turn). */
void vport_rx_done(struct vport *p);
/* Echo: sends p->cur's unread bytes back as they are; the buffer goes
 * back to the device when the transmit completes. 0 or -1 (ring full). */
int vport_echo_cur(struct vport *p);
/* Sends n bytes of text on p, copied into one of its answer slots. */
int vport_send(struct vport *p, const char *s, uint32_t n);
/* The named port, on any device, or NULL. */
struct vport *vport_find(struct tg *tg, const char *name, uint32_t len);

#endif
