/* SPDX-License-Identifier: MIT */
/*
 * Virtio-net devices behind the guest's MMIO accessors (built with
 * TG_HOST_IO), for the host-side tests of the guest's net driver: the
 * transport of fake_vmmio.h, a "wire" of frames queued towards the guest
 * and frames captured from it, and switches for misbehaving. The device works
 * only when the driver idles (fake_vnet_run from tg_idle), as a real one runs
 * beside the guest: transmit chains are served after a notify, and a receive
 * queue found without buffers waits for a notify before it looks again.
 */
#ifndef TG_HOST_FAKE_VNET_H
#define TG_HOST_FAKE_VNET_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/host/fake_vmmio.h"
#include "guest/vnet.h"

#define FNET_DEVS FAKE_DEVS
#define FNET_FRAMES 64
#define FNET_FRAME_MAX 9200

struct fnet_frame {
    uint8_t data[FNET_FRAME_MAX];
    uint32_t len;
    struct vnet_hdr hdr; /* as sent by the guest (TX) or to send (RX) */
    uint32_t nbufs;      /* buffers or descriptors it took */
};

struct fake_vnet {
    struct fake_vmmio t; /* transport: identity, registers, counters */
    /* set by the test (fake_vnet_init gives a full-featured device) */
    uint8_t mac[6];
    uint16_t status, mtu;
    /* misbehaviour */
    bool rx_bad_head;      /* return a receive head never posted */
    int rx_len_delta;      /* added to the last buffer's used len */
    int num_buffers;       /* > 0: written instead of the true count */
    bool num_buffers_zero; /* write 0 there */
    bool split_publish;    /* publish a merged frame's first buffer only */
    bool mid_short;        /* merged frames: 2 bytes short in the first */
    uint32_t tx_used_len;  /* the used len of transmit chains (0: right) */
    bool tx_stall;         /* never return transmit chains */
    bool no_csum_fill;     /* leave NEEDS_CSUM frames as they are */
    /* control queue (fake_vnet_offer_ctrl) */
    uint16_t max_pairs; /* max_virtqueue_pairs (0 reads as 1) */
    bool ctrl_stall;    /* never answer a command */
    int ctrl_used_len;  /* >= 0: written instead of 1 */
    int ctrl_ack;       /* >= 0: written instead of the right ack */
    /* state */
    bool rx_waiting; /* found no buffers: wait for a notify */
    /* the wire */
    struct fnet_frame rx[FNET_FRAMES]; /* to the guest, in order */
    unsigned rx_first, rx_n;
    struct fnet_frame tx[FNET_FRAMES]; /* from the guest */
    unsigned tx_n;
    /* what happened, for the checks (the transport counts the rest) */
    uint32_t bad_chain;
    struct fnet_cmd {
        uint8_t class, cmd, data[8], ack;
        uint32_t len; /* of data */
    } cmds[8];        /* control commands, as received, and our acks */
    unsigned ncmds;
    uint32_t rx_delivered, rx_dropped, rx_starved, max_rx_bufs;
};

extern struct fake_vnet fake_vnet[FNET_DEVS];

/* Device i at FAKE_BASE + i * FAKE_WINDOW: modern, every feature the
 * driver asks for, MAC 52:54:00:00:00:0i, MTU 1500, link up. */
void fake_vnet_init(unsigned i);
/* Dev i also offers CTRL_VQ, CTRL_GUEST_OFFLOADS and MQ with `pairs`
 * queue pairs (1 or 2): its control queue follows them. The right ack
 * is OK for VQ_PAIRS_SET 1..pairs and for GUEST_OFFLOADS_SET of
 * negotiated GUEST_* bits, ERR for anything else. */
void fake_vnet_offer_ctrl(unsigned i, uint16_t pairs);
/* Queues a frame (len bytes, header flags) towards the guest of dev i. */
void fake_vnet_inject(unsigned i, const void *frame, uint32_t len,
                      uint8_t flags);
/* Forgets captured frames. */
void fake_vnet_clear_tx(unsigned i);
/* Serves transmit chains after notifies and delivers queued frames into
 * posted buffers (called from the test's tg_idle: "time passes"). */
void fake_vnet_run(void);

#endif
