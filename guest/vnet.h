/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (device id 1) driver for the tiny guest: one queue pair
 * (receiveq 0, transmitq 1), MAC, STATUS, MTU, CSUM, MRG_RXBUF and
 * EVENT_IDX. Receive buffers come from a pool the caller hands over; a
 * received frame is lent to the caller (vnet_rx_next) and either goes
 * back out from the same buffers (vnet_tx_frame: replies cost no copy,
 * copies being slow in emulated ring 0) or is released. Every used
 * element is checked against what was posted (head outstanding, length
 * within the buffer, num_buffers plausible, all but the last buffer of
 * a merged frame full, transmit lengths 0) and every wait is bounded; a
 * device that breaks a rule is reset and not driven again (n->broken).
 * BSP only, like the rest of the guest.
 */
#ifndef TG_VNET_H
#define TG_VNET_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/virtio.h"

#define VNET_BUFS 64            /* pool buffers per NIC at most */
#define VNET_AREA (512 * 1024)  /* pool bytes per NIC */
#define VNET_SEGS_MAX 8         /* buffers one frame may span */
#define VNET_RXBUF_DEFAULT 1536 /* pool buffer bytes with MRG_RXBUF */
#define VNET_RXBUF_MIN 128      /* keeps every header in the first buffer */
#define VNET_MTU_DEFAULT 1500   /* without VIRTIO_NET_F_MTU */
#define VNET_ETH_HLEN 14
#define VNET_VLAN_HLEN 4
#define VNET_HDR_LEN 12          /* VERSION_1 or MRG_RXBUF */
#define VNET_HDR_LEN_LEGACY 10   /* neither: no num_buffers */
#define VNET_MRG_WAIT_US 1000000 /* the rest of a merged frame, at most */

/* Feature bits (virtio 1.2 5.1.3). */
#define VNET_F_CSUM 0
#define VNET_F_GUEST_CSUM 1
#define VNET_F_CTRL_GUEST_OFFLOADS 2
#define VNET_F_MTU 3
#define VNET_F_MAC 5
#define VNET_F_MRG_RXBUF 15
#define VNET_F_STATUS 16
#define VNET_F_CTRL_VQ 17
#define VNET_F_MQ 22
#define VIRTIO_F_ANY_LAYOUT 27 /* legacy devices: header and data mixed */

#define VNET_S_LINK_UP 1

/* Control queue commands (5.1.6.5): class, command, ack values. */
#define VNET_CTRL_MQ 4
#define VNET_CTRL_MQ_VQ_PAIRS_SET 0
#define VNET_CTRL_GUEST_OFFLOADS 5
#define VNET_CTRL_GUEST_OFFLOADS_SET 0
#define VNET_CTRL_OK 0
#define VNET_CTRL_ERR 1
#define VNET_CTRL_WAIT_US 5000000 /* a command's answer, at most */

#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2

/* The header in front of every frame (5.1.6); legacy without MRG_RXBUF
 * ends before num_buffers. */
struct vnet_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

/*
 * A received frame lent to the caller: n buffers, the frame's bytes in
 * p[i][0..len[i]) (p[0] just after the virtio header), total bytes in
 * all. buf[i] are pool indices; hdr is the received virtio header.
 */
struct vnet_frame {
    uint8_t *p[VNET_SEGS_MAX];
    uint32_t len[VNET_SEGS_MAX];
    uint8_t buf[VNET_SEGS_MAX];
    unsigned n;
    uint32_t total;
    struct vnet_hdr *hdr;
};

/* What the caller asks of the driver. */
struct vnet_opts {
    uint64_t refuse; /* feature bits not to ask for (nomrg, nocsum, ...) */
    uint32_t rxbuf;  /* pool buffer bytes with MRG_RXBUF (0: default) */
    bool ctrl;       /* ask for CTRL_VQ, CTRL_GUEST_OFFLOADS and MQ too */
};

struct vnet_stats {
    uint64_t rx, tx, rx_bytes, tx_bytes;
    uint64_t tx_ext; /* of tx: the caller's buffers (vnet_tx_buf) */
    uint32_t merged, maxbufs, refills, empty, txfull, toolong;
};

enum vnet_buf_state { VB_FREE, VB_RX, VB_HELD, VB_TX };

/* A transmit chain in flight, by head: pool buffers or a caller's. */
struct vnet_txrec {
    uint8_t n, ext; /* ext: the caller's buffer (vnet_tx_buf) */
    uint8_t buf[VNET_SEGS_MAX];
    uint32_t bytes;
};

struct vnet {
    struct vq rx, tx, ctrl; /* page-aligned rings first; ctrl with CTRL_VQ */
    struct vdev *dev;       /* NULL until vnet_start() succeeded */
    const struct timer *timer;
    uint8_t *area; /* VNET_AREA bytes of pool, the caller's */
    char name[8];  /* eth0, eth1, ... */
    uint8_t mac[6];
    uint16_t mtu, status;
    uint16_t max_pairs; /* max_virtqueue_pairs with MQ, else 1 */
    /* A control command in flight: class, command, data; then the ack
     * the device writes. */
    uint8_t cmd[2 + 8] __attribute__((aligned(16)));
    uint8_t ack;
    uint32_t hdr_len, bufsz, nbuf;
    uint8_t state[VNET_BUFS];
    int8_t rx_buf[VQ_SIZE_MAX]; /* receive head -> pool buffer */
    struct vnet_txrec txrec[VQ_SIZE_MAX];
    unsigned ext_inflight; /* caller buffers not yet returned */
    /* A merged frame whose later buffers have not shown up yet. */
    struct vnet_frame pend;
    unsigned pend_need, pend_got;
    uint64_t pend_end;
    const char *broken; /* why the device is no longer driven */
    char why[72];
    struct vnet_stats st;
};

struct tg;

/*
 * Negotiates (MAC, STATUS, MTU, CSUM, MRG_RXBUF, EVENT_IDX and, for
 * legacy devices, ANY_LAYOUT; minus o->refuse), reads the config, sets
 * up both queues, posts receive buffers from area (VNET_AREA bytes),
 * asks for interrupts when they can wake the idle loop, DRIVER_OK. 0, or
 * -1 with n->why set.
 */
int vnet_start(struct vnet *n, struct vdev *d, struct tg *tg, uint8_t *area,
               const struct vnet_opts *o);
/* True when feature bit f was negotiated. */
bool vnet_has(const struct vnet *n, unsigned f);
/*
 * One control-queue command (needs CTRL_VQ): class, command and len
 * (at most 8) bytes of data; waits for the answer. Returns the ack
 * (VNET_CTRL_OK, VNET_CTRL_ERR or what else the device wrote), or -1
 * when the device broke a rule or did not answer (n->broken says why;
 * it is reset), or it cannot take commands (not started, broken before,
 * no CTRL_VQ, len beyond 8).
 */
int vnet_ctrl(struct vnet *n, struct tg *tg, uint8_t class, uint8_t cmd,
              const void *data, uint32_t len);
/* The largest frame (Ethernet header included) the device may hand us. */
uint32_t vnet_frame_max(const struct vnet *n);
/*
 * The next received frame, checked: 1 with *f lent to the caller (send
 * it back with vnet_tx_frame or give it up with vnet_release), 0 when
 * none is complete yet, -1 when the device broke a rule (n->why; it is
 * reset). Frames spanning more than VNET_SEGS_MAX buffers are dropped.
 */
int vnet_rx_next(struct vnet *n, struct vnet_frame *f);
/* Gives a lent frame's buffers back to the pool (reposted at refill). */
void vnet_release(struct vnet *n, struct vnet_frame *f);
/*
 * Transmits a lent frame from its own buffers: its first len bytes
 * (len <= f->total), with header h written in front of them. Not
 * notified (vnet_kick). 0; -1 when the transmit ring has no room (the
 * frame is released and counted in txfull); -2 when the device is
 * broken.
 */
int vnet_tx_frame(struct vnet *n, struct vnet_frame *f, uint32_t len,
                  const struct vnet_hdr *h);
/*
 * Transmits the caller's buffer p (header and frame, len bytes), which
 * must stay unchanged until it comes back (n->ext_inflight drops). 0, -1
 * when the ring is full, -2 when broken. Not notified.
 */
int vnet_tx_buf(struct vnet *n, const void *p, uint32_t len);
/* Takes back every transmitted chain the device returned: the count, or
 * -1 when broken. */
int vnet_reap_tx(struct vnet *n);
/* Posts every free pool buffer the receive ring has room for. */
void vnet_refill(struct vnet *n);
/* Notifies each queue that got buffers since its last notify (as
 * suppression allows). */
void vnet_kick(struct vnet *n);
/*
 * Reads and acknowledges InterruptStatus when the device's interrupt
 * wakes the idle loop; true when bits were set. A config change with
 * NEEDS_RESET breaks the device.
 */
bool vnet_ack(struct vnet *n);
/* Reads the link status again (STATUS): "up", "down" or "-". */
const char *vnet_link(struct vnet *n);

#endif
