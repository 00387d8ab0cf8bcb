/* SPDX-License-Identifier: MIT */
/*
 * Inside of virtio-net, shared by net.c (config, start/stop, stats),
 * net_rx.c, net_tx.c and net_ctrl.c; nobody else includes this.
 */
#ifndef KVMINI_VIRTIO_NET_PRIV_H
#define KVMINI_VIRTIO_NET_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw/tap.h"
#include "virtio/net.h"
#include "virtio/net_spec.h"
#include "virtio/vdev.h"

#define VNET_QSIZE 1024      /* QueueNumMax */
#define VNET_RX_IOV 1024     /* UIO_MAXIOV: buffers one readv may fill */
#define VNET_RX_IOV_SLACK 64 /* compact the pool when less room is left */
#define VNET_MAC_TABLE 64    /* filter entries per table before "all" */
#define VNET_CTRL_BUF 1024   /* readable bytes of one control command */
#define VNET_ETH_HLEN 14
#define VNET_VLAN_HLEN 4
/* Largest frame a tap hands over: an IP packet of 64 KiB (a GSO frame)
 * behind an Ethernet header and a VLAN tag. */
#define VNET_FRAME_MAX (65535 + VNET_ETH_HLEN + VNET_VLAN_HLEN)

/* What the guest's RX filter accepts (control queue, §5.1.6.5.1). */
struct vnet_filter {
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    bool uni_over, multi_over; /* a table was too long: accept all */
    uint8_t mac[6];
    uint32_t nuni, nmulti;
    uint8_t uni[VNET_MAC_TABLE][6];
    uint8_t multi[VNET_MAC_TABLE][6];
};

/* Counters with one writer (the queue's worker): plain relaxed stores. */
static inline void vnet_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* A receive chain taken from the ring but not yet filled. */
struct vnet_rxchain {
    uint16_t head;
    uint16_t ndesc; /* ring descriptors it takes (1 if indirect) */
    uint32_t cap;
};

struct vnet_rxq {
    unsigned pair;
    int wake_fd; /* eventfd: the pair was enabled */
    _Atomic bool woken;
    /* From start to stop, RX worker only. The pool is a window of
     * chains popped in ring order and their buffers, used in order. */
    struct vnet_rxchain *ch; /* [num] */
    unsigned ch_first, ch_n;
    struct iovec *iov; /* [VNET_RX_IOV]; adjacent buffers merged, so an
                        * entry may span chains */
    unsigned iov_first, iov_n;
    uint64_t cap;     /* bytes the pool can take */
    uint8_t *bounce;  /* one frame when the pool is too small */
    uint32_t pending; /* its length, 0: none */
    uint32_t ndesc;   /* ring descriptors the pool holds */
    bool starving;    /* counted this stall already */
    bool eof;         /* the backend failed or ended: not polled till reset */
    bool iov_full;    /* a chain did not fit the iov array */
    uint32_t fgen;    /* filter generation of filt */
    struct vnet_filter filt; /* this worker's copy */
    _Atomic uint64_t frames, bytes, drop_oversize, drop_bad, filtered, stalls,
        rounds, bounced;
};

struct vnet_txq {
    struct iovec *iov; /* [niov], TX worker only */
    uint32_t niov;
    struct virtio_net_hdr hdr; /* the snapshot the tap reads */
    _Atomic uint64_t frames, bytes, drop_malformed, drop_oversize, drop_header,
        drop_tap, rounds;
};

struct vnet {
    struct vdev_ops ops; /* per NIC: nqueues, features */
    char name[16];       /* "net0": log lines and --stats */
    struct tap tap;
    struct vdev *d;
    uint32_t pairs; /* queue pairs offered */
    uint32_t mtu;
    uint8_t mac0[6];              /* configured MAC, restored at reset */
    struct virtio_net_config cfg; /* under d->cfg_lock */
    /* Fixed from start to stop. */
    uint32_t hdr_len; /* 10 or 12 */
    bool mrg, guest_csum, guest_ecn, host_csum, host_ecn;
    uint32_t rx_need; /* pool bytes that take any frame */
    uint32_t ctrl_qi;
    uint64_t guest_gso;      /* gso types RX may hand the guest */
    uint64_t host_gso;       /* gso types TX accepts */
    _Atomic uint32_t active; /* queue pairs in use (MQ command) */
    /* RX filter: written by the control worker under filt_lock and
     * announced by bumping filt_gen; RX workers copy it. */
    pthread_mutex_t filt_lock;
    struct vnet_filter filt;
    _Atomic uint32_t filt_gen;
    uint8_t ctrl_buf[VNET_CTRL_BUF]; /* control worker only */
    _Atomic uint64_t ctrl_ok, ctrl_err;
    struct vnet_rxq rxq[VNET_MAX_PAIRS];
    struct vnet_txq txq[VNET_MAX_PAIRS];
};

/* Chains one worker round handles before the interrupt goes out. */
static inline uint32_t vnet_round_budget(const struct vq *q)
{
    return q->num >= 4 ? q->num / 4 : 1;
}

/* Bit for a gso_type in guest_gso/host_gso. */
#define VNET_GSO_BIT(t) (1ULL << (t))

/* Copy between a byte offset of an iovec array and flat memory: bytes
 * copied (fewer if the array ends first). */
size_t vnet_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst,
                     size_t len);
size_t vnet_iov_write(const struct iovec *iov, unsigned n, size_t off,
                      const void *src, size_t len);

/* RX filter verdict for a destination MAC, on the worker's copy. */
bool vnet_filter_accepts(const struct vnet_filter *f, const uint8_t *dst);
/* Defaults after reset: promiscuous (the guest narrows it). */
void vnet_filter_reset(struct vnet *n);

/* Workers (net_rx.c, net_tx.c, net_ctrl.c). */
int vnet_rx_process(struct vnet *n, struct vq *q, unsigned pair);
int vnet_rx_poll_fd(struct vnet *n, struct vq *q, unsigned pair);
int vnet_rx_start(struct vnet *n, struct vq *q, unsigned pair);
void vnet_rx_stop(struct vnet *n, unsigned pair);
int vnet_tx_process(struct vnet *n, struct vq *q, unsigned pair);
int vnet_tx_start(struct vnet *n, struct vq *q, unsigned pair);
void vnet_tx_stop(struct vnet *n, unsigned pair);
int vnet_ctrl_process(struct vnet *n, struct vq *q);

/* Enable queue pairs 0..pairs-1 of the tap and the device (MQ). */
int vnet_set_pairs(struct vnet *n, uint32_t pairs);
/* Offloads the tap may hand the guest, from GUEST_* feature bits. */
int vnet_set_guest_offloads(struct vnet *n, uint64_t guest_bits);

/* Trace one frame of len bytes (header not counted) for --debug
 * virtio, rate-limited. */
void vnet_trace(struct vnet *n, const char *dir, unsigned pair,
                const struct iovec *iov, unsigned niov, size_t len);

#endif
