/* SPDX-License-Identifier: MIT */
/*
 * A virtio-net driver for the tests and the bench, on the fake guest:
 * negotiate, set up every queue pair and the control queue, post
 * receive buffers and reassemble mergeable frames, send frames in any
 * number of pieces, and issue control commands, all through the real
 * virtio-mmio transport and the device's workers.
 *
 * One thread drives each queue; the waits are hang guards
 * (FG_TIMEOUT_MS), never timing checks.
 */
#ifndef KVMINI_TESTS_NET_RIG_H
#define KVMINI_TESTS_NET_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/unit/fake_guest.h"
#include "virtio/net.h"
#include "virtio/net_spec.h"

#define NR_RAM (96ULL << 20)
#define NR_TX_AREA (1u << 20) /* per pair: staging for frames to send */
#define NR_QSIZE_MAX 1024     /* the device's QueueNumMax */

struct net_rig {
    struct fake_guest g;
    struct vnet *n;
    uint64_t feat;    /* negotiated */
    unsigned pairs;   /* queue pairs set up */
    unsigned ctrl_qi; /* -1u without a control queue */
    uint32_t hdr_len;
    bool mrg;
    bool repost; /* nr_rx_frame gives buffers back (default) */
    uint32_t rx_size[VNET_MAX_PAIRS]; /* bytes per RX chain */
    uint32_t rx_nseg[VNET_MAX_PAIRS]; /* descriptors per RX chain */
    uint32_t rx_gap[VNET_MAX_PAIRS];  /* unused bytes after each piece
                                       * (0: pieces adjacent) */
    uint64_t rxbuf[VNET_MAX_PAIRS][NR_QSIZE_MAX]; /* head -> chain's memory */
    uint64_t tx_area[VNET_MAX_PAIRS];
    uint32_t tx_off[VNET_MAX_PAIRS];
    uint64_t ctrl_area;
};

/* Map fake RAM and put n (owned by the caller) behind a transport. */
int nr_init(struct net_rig *r, struct vnet *n, bool legacy);
/* Reset, negotiate want (masked by what is offered), set up every pair
 * the features allow with qsize entries and the control queue if
 * negotiated, then DRIVER_OK. RX buffers are not posted. 0 or -errno. */
int nr_start(struct net_rig *r, uint64_t want, uint32_t qsize);
/* Both: attach n (owned by the caller), negotiate want (masked by what is
 * offered), set up every pair the features allow with qsize entries,
 * the control queue if negotiated, then DRIVER_OK. 0 or -errno. */
int nr_up(struct net_rig *r, struct vnet *n, uint64_t want, uint32_t qsize,
          bool legacy);
/* Destroy the transport (joins workers); n stays the caller's. */
void nr_down(struct net_rig *r);
/* nr_down, then n and the first npeers of its peers (nr_sock_vnet's). */
void nr_sock_down(struct net_rig *r, struct vnet *n, const int *peer,
                  unsigned npeers);

/* Post count RX chains of size bytes in nseg equal descriptors (one
 * area each, pieces rx_gap[pair] bytes apart), then kick. 0 or
 * -ENOSPC. */
int nr_rx_post(struct net_rig *r, unsigned pair, unsigned count, uint32_t size,
               unsigned nseg);
/* Wait for one frame on pair's RX queue and copy it, header included,
 * to dst: its length, or -ETIMEDOUT/-EPROTO/-EMSGSIZE. *nbufs gets the
 * number of chains it used (may be NULL). Reposts them if r->repost. */
int nr_rx_frame(struct net_rig *r, unsigned pair, uint8_t *dst, size_t cap,
                unsigned *nbufs);
/* Wait for one used entry on queue qi: 0, -ETIMEDOUT or -EPROTO. */
int nr_wait_used(struct net_rig *r, unsigned qi, uint32_t *id, uint32_t *len);
/* A used RX entry if one is there now: 1, or 0 (no wait). */
int nr_rx_peek(struct net_rig *r, unsigned pair);

/* Post one frame (virtio-net header included) in nseg pieces on pair's
 * TX queue, and kick if the device wants it. Returns the head. */
int nr_tx_post(struct net_rig *r, unsigned pair, const void *frame, size_t len,
               unsigned nseg);
/* Wait for count TX completions. 0 or -ETIMEDOUT/-EPROTO. */
int nr_tx_wait(struct net_rig *r, unsigned pair, unsigned count);
/* Both: send one frame and wait for it. */
int nr_tx(struct net_rig *r, unsigned pair, const void *frame, size_t len,
          unsigned nseg);

/* A control command: the device's ack (0 OK, 1 ERR) or -errno. */
int nr_ctrl(struct net_rig *r, uint8_t class, uint8_t cmd, const void *data,
            size_t len);

/* A NIC on SOCK_SEQPACKET socketpairs standing in for the tap, named
 * "test" index 0: peer[p] is the host's end of pair p; caps are the
 * offloads the stand-in claims. 0 or -errno. */
int nr_sock_vnet(struct vnet **n, int *peer, unsigned pairs, unsigned caps,
                 uint32_t mtu);
/* One message from a peer socket, waiting at most FG_TIMEOUT_MS: its
 * length or -ETIMEDOUT/-errno. */
ssize_t nr_peer_recv(int fd, void *buf, size_t cap);

/* Queue index of pair's RX (2p) and TX (2p + 1). */
static inline unsigned nr_rxq(unsigned pair)
{
    return 2 * pair;
}
static inline unsigned nr_txq(unsigned pair)
{
    return 2 * pair + 1;
}

#endif
