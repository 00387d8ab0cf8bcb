/* SPDX-License-Identifier: MIT */
/* virtio-net receive: frames from the tap into the guest's buffers. */
#define LOG_TAG "vnet"
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/net_priv.h"

/*
 * The pool: chains popped from the ring in order and not yet filled,
 * with their buffers flattened into one iovec array, so one readv can
 * fill as many chains as a mergeable frame needs. Chains stay in the
 * pool across frames and rounds (the guest cannot take posted buffers
 * back short of a reset), so a small frame costs one pop, not a walk
 * over every chain a 64 KiB frame might need.
 */

int vnet_rx_start(struct vnet *n, struct vq *q, unsigned pair)
{
    struct vnet_rxq *rq = &n->rxq[pair];
    rq->ch = calloc(q->num, sizeof(*rq->ch));
    rq->iov = calloc(VNET_RX_IOV, sizeof(*rq->iov));
    rq->bounce = malloc(VIRTIO_NET_HDR_LEN + VNET_FRAME_MAX);
    if (!rq->ch || !rq->iov || !rq->bounce) {
        vnet_rx_stop(n, pair);
        return -ENOMEM;
    }
    rq->ch_first = rq->ch_n = rq->iov_first = rq->iov_n = 0;
    rq->cap = 0;
    rq->ndesc = 0;
    rq->iov_full = false;
    rq->pending = 0;
    rq->starving = rq->eof = false;
    /* Force a copy of the filter before the first frame. */
    rq->fgen = atomic_load_explicit(&n->filt_gen, memory_order_acquire) - 1;
    return 0;
}

void vnet_rx_stop(struct vnet *n, unsigned pair)
{
    struct vnet_rxq *rq = &n->rxq[pair];
    free(rq->ch);
    free(rq->iov);
    free(rq->bounce);
    rq->ch = NULL;
    rq->iov = NULL;
    rq->bounce = NULL;
    rq->pending = 0;
}

static void pool_compact(struct vnet_rxq *rq)
{
    memmove(rq->ch, rq->ch + rq->ch_first, rq->ch_n * sizeof(*rq->ch));
    memmove(rq->iov, rq->iov + rq->iov_first, rq->iov_n * sizeof(*rq->iov));
    rq->ch_first = rq->iov_first = 0;
}

/* The pool cannot grow: it holds every ring descriptor (the guest
 * cannot post more), or its iovec array is full. */
static bool pool_full(const struct vnet_rxq *rq, const struct vq *q)
{
    return rq->ch_n >= q->num || rq->ndesc >= q->num || rq->iov_full;
}

/* Append a guest buffer to the pool's iovec array at iov[*k] (k counts
 * entries appended for the chain being added), merged into the entry
 * before it when it starts where that one ends. Guest drivers carve
 * receive buffers one after the other out of larger pages (Linux's
 * mergeable buffers come from 32 KiB page fragments), so a frame spread
 * over several buffers is then one contiguous piece for the kernel's
 * copy. Both pieces were range-checked, so their union is guest RAM.
 * false: no entry left. */
static bool pool_append(struct vnet_rxq *rq, struct iovec *iov, unsigned *k,
                        unsigned room, const struct vq_buf *b)
{
    if (rq->iov_n + *k > 0) {
        struct iovec *prev = iov + *k - 1;
        if ((uint8_t *)prev->iov_base + prev->iov_len == (uint8_t *)b->p) {
            prev->iov_len += b->len;
            return true;
        }
    }
    if (*k == room)
        return false;
    iov[(*k)++] = (struct iovec){b->p, b->len};
    return true;
}

/* Pop one chain into the pool: 1 added, 2 a chain was failed or the
 * pool compacted (try again), 0 ring empty or pool full, -EPROTO ring
 * broken. */
static int pool_add(struct vnet_rxq *rq, struct vq *q)
{
    if (pool_full(rq, q))
        return 0;
    if (rq->ch_first + rq->ch_n >= q->num ||
        rq->iov_first + rq->iov_n + VNET_RX_IOV_SLACK > VNET_RX_IOV)
        pool_compact(rq);
    struct vq_iter it;
    int r = vq_pop(q, &it);
    if (r <= 0)
        return r;
    struct iovec *iov = rq->iov + rq->iov_first + rq->iov_n;
    unsigned k = 0, room = VNET_RX_IOV - (rq->iov_first + rq->iov_n);
    /* The pool's last entry may grow by a merge: restored if the chain
     * cannot be taken after all. */
    size_t tail_len = rq->iov_n ? iov[-1].iov_len : 0;
    uint64_t cap = 0;
    uint32_t nbuf = 0;
    struct vq_buf b;
    while ((r = vq_iter_next(&it, &b)) > 0) {
        if (!b.dev_writes) {
            r = -EPROTO;
            break;
        }
        if (!pool_append(rq, iov, &k, room, &b)) {
            r = -E2BIG;
            break;
        }
        cap += b.len;
        nbuf++;
    }
    if (r < 0 && rq->iov_n)
        iov[-1].iov_len = tail_len;
    if (r == -E2BIG && (rq->ch_n || rq->iov_first)) {
        /* No room left for its buffers: take it again later. */
        vq_unpop(q);
        if (rq->iov_first) {
            pool_compact(rq);
            return 2;
        }
        rq->iov_full = true;
        return 0;
    }
    if (r < 0 || cap == 0 || cap > UINT32_MAX) {
        /* Fail it now (a chain alone with more buffers than one readv
         * takes is malformed too): the chains a frame fills are still
         * pushed one after the other, which is what num_buffers needs. */
        if (r >= 0 && rq->iov_n)
            iov[-1].iov_len = tail_len;
        vq_fail(q, it.head, r < 0 ? r : -EPROTO);
        return 2;
    }
    rq->ch[rq->ch_first + rq->ch_n++] = (struct vnet_rxchain){
        .head = it.head,
        .ndesc = it.in_indirect ? 1 : (uint16_t)nbuf,
        .cap = (uint32_t)cap,
    };
    rq->iov_n += k;
    rq->ndesc += rq->ch[rq->ch_first + rq->ch_n - 1].ndesc;
    rq->cap += cap;
    return 1;
}

/* Drop the first `bytes` of the pool's buffers (the chains a frame
 * filled): whole entries, and the front of one merged across chains. */
static void pool_consume(struct vnet_rxq *rq, uint64_t bytes)
{
    while (bytes && rq->iov_n) {
        struct iovec *v = rq->iov + rq->iov_first;
        if (v->iov_len > bytes) {
            v->iov_base = (uint8_t *)v->iov_base + bytes;
            v->iov_len -= bytes;
            return;
        }
        bytes -= v->iov_len;
        rq->iov_first++;
        rq->iov_n--;
    }
}

/* Grow the pool to `need` bytes (at most max_chains chains) or until
 * the ring is empty, which also re-arms the guest's kick. 0 or -EPROTO
 * (the ring is broken; the worker asks for a reset). */
static int pool_fill(struct vnet_rxq *rq, struct vq *q, uint64_t need,
                     unsigned max_chains)
{
    while (rq->cap < need && rq->ch_n < max_chains) {
        int r = pool_add(rq, q);
        if (r < 0)
            return r;
        if (r == 0)
            break;
    }
    return 0;
}

static void filter_refresh(struct vnet *n, struct vnet_rxq *rq)
{
    if (atomic_load_explicit(&n->filt_gen, memory_order_acquire) == rq->fgen)
        return;
    pthread_mutex_lock(&n->filt_lock);
    rq->filt = n->filt;
    rq->fgen = atomic_load_explicit(&n->filt_gen, memory_order_relaxed);
    pthread_mutex_unlock(&n->filt_lock);
}

/* A frame of len bytes (header included) fills the pool from its
 * start: check it, fix the header, hand the chains it filled to the
 * guest. A dropped frame leaves the chains in the pool for the next. */
static void rx_deliver(struct vnet *n, struct vnet_rxq *rq, struct vq *q,
                       unsigned pair, uint32_t len)
{
    const struct iovec *iov = rq->iov + rq->iov_first;
    struct virtio_net_hdr h = {0};
    uint8_t dst[6];
    vnet_iov_read(iov, rq->iov_n, 0, &h, n->hdr_len);
    uint8_t gso = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    bool ecn = h.gso_type & VIRTIO_NET_HDR_GSO_ECN;
    /* The tap follows TUNSETOFFLOAD, but frames queued before the guest
     * turned an offload off may still carry it. */
    if (len < n->hdr_len + VNET_ETH_HLEN || gso >= 64 ||
        !(n->guest_gso & VNET_GSO_BIT(gso)) || (ecn && !n->guest_ecn)) {
        vnet_ctr_add(&rq->drop_bad, 1);
        return;
    }
    vnet_iov_read(iov, rq->iov_n, n->hdr_len, dst, sizeof(dst));
    filter_refresh(n, rq);
    if (!vnet_filter_accepts(&rq->filt, dst)) {
        vnet_ctr_add(&rq->filtered, 1);
        return;
    }
    unsigned k = 0, ndesc = 0;
    uint64_t cap = 0;
    for (uint32_t left = len; left; k++) {
        const struct vnet_rxchain *c = &rq->ch[rq->ch_first + k];
        left -= c->cap < left ? c->cap : left;
        ndesc += c->ndesc;
        cap += c->cap;
    }
    /* Without GUEST_CSUM the flags must be 0 (§5.1.6.4.1), and the tap
     * may still mark a frame DATA_VALID. */
    if (!n->guest_csum)
        h.flags = 0;
    h.num_buffers = (uint16_t)k;
    vnet_iov_write(iov, rq->iov_n, 0, &h, n->hdr_len);
    if (log_cats & LOG_CAT_VIRTIO)
        vnet_trace(n, "rx", pair, iov, rq->iov_n, len - n->hdr_len);
    /* The frame's chains go out under one used-index update: the driver
     * never sees part of a frame, and a 64 KiB frame in 4 KiB buffers
     * costs one release store instead of 16. */
    uint32_t left = len;
    for (unsigned i = 0; i < k; i++) {
        const struct vnet_rxchain *c = &rq->ch[rq->ch_first + i];
        uint32_t used = c->cap < left ? c->cap : left;
        vq_put(q, c->head, used);
        left -= used;
    }
    vq_publish(q);
    rq->ch_first += k;
    rq->ch_n -= k;
    pool_consume(rq, cap);
    rq->ndesc -= ndesc;
    rq->cap -= cap;
    rq->iov_full = false;
    rq->starving = false;
    vnet_ctr_add(&rq->frames, 1);
    vnet_ctr_add(&rq->bytes, len - n->hdr_len);
}

/* Place the frame held in the bounce buffer: 1 done (delivered or
 * dropped), 0 waiting for the guest's buffers, -EPROTO ring broken. */
static int rx_place_pending(struct vnet *n, struct vnet_rxq *rq, struct vq *q,
                            unsigned pair)
{
    int r = pool_fill(rq, q, rq->pending, n->mrg ? q->num : 1);
    if (r < 0)
        return r;
    if (rq->cap >= rq->pending) {
        vnet_iov_write(rq->iov + rq->iov_first, rq->iov_n, 0, rq->bounce,
                       rq->pending);
        vnet_ctr_add(&rq->bounced, 1);
        uint32_t len = rq->pending;
        rq->pending = 0;
        rx_deliver(n, rq, q, pair, len);
        return 1;
    }
    /* Without mergeable buffers a frame takes exactly one chain; with
     * them, a pool holding the whole ring cannot grow. Either way the
     * frame never fits. */
    if ((!n->mrg && rq->ch_n == 1) || pool_full(rq, q)) {
        vnet_ctr_add(&rq->drop_oversize, 1);
        log_cat_rl(LOG_CAT_VIRTIO,
                   "%s: rx%u %u-byte frame dropped: guest "
                   "buffers hold %llu",
                   n->name, pair, rq->pending, (unsigned long long)rq->cap);
        rq->pending = 0;
        return 1;
    }
    if (!rq->starving) {
        rq->starving = true;
        vnet_ctr_add(&rq->stalls, 1);
    }
    return 0;
}

static bool tap_readable(const struct vnet *n, unsigned pair)
{
    struct pollfd p = {.fd = tap_fd(&n->tap, pair), .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static int rx_read_failed(struct vnet *n, struct vnet_rxq *rq, unsigned pair,
                          ssize_t got)
{
    if (got == -EAGAIN)
        return 0;
    /* EBADFD on a pair the MQ command just disabled is expected. */
    if (got == -EBADFD &&
        pair >= atomic_load_explicit(&n->active, memory_order_seq_cst))
        return 0;
    /* Anything else does not go away (the socket stand-in ended, the
     * interface was deleted: its fd then polls as an error forever), so
     * stop polling it instead of spinning; a device reset retries. */
    if (got == 0)
        log_warn("%s: rx%u: the backend closed; receive stopped", n->name,
                 pair);
    else
        log_warn("%s: rx%u: reading tap %s: %s; receive stopped until the "
                 "guest resets the device",
                 n->name, pair, n->tap.name, strerror((int)-got));
    rq->eof = true;
    return 0;
}

/* One frame: 1 handled, 0 nothing more to do now, -EPROTO broken. */
static int rx_one(struct vnet *n, struct vnet_rxq *rq, struct vq *q,
                  unsigned pair)
{
    if (rq->pending)
        return rx_place_pending(n, rq, q, pair);
    int r = pool_fill(rq, q, n->rx_need, n->mrg ? q->num : 1);
    if (r < 0)
        return r;
    if (rq->ch_n == 0) {
        if (!rq->starving && tap_readable(n, pair)) {
            rq->starving = true;
            vnet_ctr_add(&rq->stalls, 1);
        }
        return 0;
    }
    if (rq->cap >= n->rx_need) {
        /* The usual case: straight into the guest's buffers. */
        ssize_t got =
            tap_readv(&n->tap, pair, rq->iov + rq->iov_first, (int)rq->iov_n);
        if (got <= 0)
            return rx_read_failed(n, rq, pair, got);
        if ((uint64_t)got > rq->cap) { /* beyond what the MTU allows */
            vnet_ctr_add(&rq->drop_oversize, 1);
            return 1;
        }
        rx_deliver(n, rq, q, pair, (uint32_t)got);
        return 1;
    }
    /* The guest's buffers might be too small for the next frame: read
     * it aside and keep it until it fits. */
    struct iovec b = {rq->bounce, n->hdr_len + VNET_FRAME_MAX};
    ssize_t got = tap_readv(&n->tap, pair, &b, 1);
    if (got <= 0)
        return rx_read_failed(n, rq, pair, got);
    if ((size_t)got > b.iov_len) {
        vnet_ctr_add(&rq->drop_oversize, 1);
        return 1;
    }
    rq->pending = (uint32_t)got;
    return rx_place_pending(n, rq, q, pair);
}

int vnet_rx_process(struct vnet *n, struct vq *q, unsigned pair)
{
    struct vnet_rxq *rq = &n->rxq[pair];
    vnet_ctr_add(&rq->rounds, 1);
    if (atomic_exchange_explicit(&rq->woken, false, memory_order_seq_cst)) {
        uint64_t v;
        if (read(rq->wake_fd, &v, sizeof(v)) < 0)
            v = 0; /* nonblocking: already drained is fine */
    }
    if (!rq->ch || rq->eof ||
        pair >= atomic_load_explicit(&n->active, memory_order_seq_cst))
        return 0;
    /* A round ends after a quarter of the ring is used (or a ring's
     * worth of frames tried), so the guest hears of its buffers and
     * posts new ones while the rest are still filling. */
    uint16_t start = q->used_idx;
    uint32_t budget = vnet_round_budget(q);
    for (uint32_t i = 0; i < q->num; i++) {
        if (rx_one(n, rq, q, pair) <= 0)
            return 0;
        if ((uint16_t)(q->used_idx - start) >= budget)
            return 1;
    }
    return 1;
}

int vnet_rx_poll_fd(struct vnet *n, struct vq *q, unsigned pair)
{
    struct vnet_rxq *rq = &n->rxq[pair];
    if (pair >= atomic_load_explicit(&n->active, memory_order_seq_cst))
        return rq->wake_fd; /* until the MQ command enables the pair */
    if (!rq->ch || rq->eof || rq->pending)
        return -1; /* a frame waits for buffers: only a kick helps */
    /* Only while the guest has posted buffers: otherwise frames wait in
     * the tap. vq_peek re-arms the guest's kick when the ring is empty. */
    if (rq->ch_n > 0 || vq_peek(q) > 0)
        return tap_fd(&n->tap, pair);
    return -1;
}
