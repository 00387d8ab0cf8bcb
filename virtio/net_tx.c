/* SPDX-License-Identifier: MIT */
/* virtio-net transmit: guest frames to the tap, one writev each. */
#define LOG_TAG "vnet"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "hw/log.h"
#include "virtio/net_priv.h"

#define TX_WAIT_MS 100 /* a full tap: one wait for room, then drop */

enum tx_verdict { TX_OK, TX_MALFORMED, TX_OVERSIZE, TX_HEADER };

int vnet_tx_start(struct vnet *n, struct vq *q, unsigned pair)
{
    /* One slot for our copy of the header, then every buffer a chain
     * may have: the queue engine caps a chain at q->num, writev at
     * VNET_RX_IOV (UIO_MAXIOV) entries. */
    uint32_t n_iov = q->num + 1 < VNET_RX_IOV ? q->num + 1 : VNET_RX_IOV;
    n->txq[pair].iov = calloc(n_iov, sizeof(struct iovec));
    n->txq[pair].niov = n_iov;
    return n->txq[pair].iov ? 0 : -ENOMEM;
}

void vnet_tx_stop(struct vnet *n, unsigned pair)
{
    free(n->txq[pair].iov);
    n->txq[pair].iov = NULL;
}

/* Is the header (already copied out of guest memory) one this device
 * agreed to take, for a frame of flen bytes? */
static enum tx_verdict tx_check(const struct vnet *n, struct virtio_net_hdr *h,
                                uint64_t flen)
{
    uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
    if (flen < VNET_ETH_HLEN)
        return TX_MALFORMED;
    if (gso >= 64 || !(n->host_gso & VNET_GSO_BIT(gso)) ||
        (ecn && (!n->host_ecn || gso == VIRTIO_NET_HDR_GSO_NONE)))
        return TX_HEADER;
    if (gso != VIRTIO_NET_HDR_GSO_NONE && h->gso_size == 0)
        return TX_HEADER;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!n->host_csum ||
            (uint64_t)h->csum_start + h->csum_offset + 2 > flen)
            return TX_HEADER;
    }
    uint64_t max = gso == VIRTIO_NET_HDR_GSO_NONE
                       ? n->mtu + VNET_ETH_HLEN + VNET_VLAN_HLEN
                       : VNET_FRAME_MAX;
    if (flen > max)
        return TX_OVERSIZE;
    /* DATA_VALID and RSC_INFO are the device's to set, not the
     * driver's; num_buffers means nothing on transmit. */
    h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->num_buffers = 0;
    return TX_OK;
}

/* One frame to the tap. A tap that has no room (a socket stand-in
 * whose reader stalls; a tap itself drops instead) gets one bounded
 * wait, then the frame is dropped, as a full link would. *waited tells
 * the caller to give the worker a chance to see a stop. */
static ssize_t tx_write(struct vnet *n, unsigned pair, const struct iovec *iov,
                        int cnt, bool *waited)
{
    ssize_t w = tap_writev(&n->tap, pair, iov, cnt);
    if (w != -EAGAIN && w != -ENOBUFS)
        return w;
    *waited = true;
    struct pollfd p = {.fd = tap_fd(&n->tap, pair), .events = POLLOUT};
    poll(&p, 1, TX_WAIT_MS);
    return tap_writev(&n->tap, pair, iov, cnt);
}

static void tx_count_drop(struct vnet *n, struct vnet_txq *tq, unsigned pair,
                          enum tx_verdict v, uint64_t flen)
{
    static const char *const why[] = {"", "malformed", "oversize",
                                      "offload not negotiated"};
    if (v == TX_MALFORMED)
        vnet_ctr_add(&tq->drop_malformed, 1);
    else if (v == TX_OVERSIZE)
        vnet_ctr_add(&tq->drop_oversize, 1);
    else
        vnet_ctr_add(&tq->drop_header, 1);
    log_cat_rl(LOG_CAT_VIRTIO, "%s: tx%u %llu-byte frame dropped: %s", n->name,
               pair, (unsigned long long)flen, why[v]);
}

static void tx_one(struct vnet *n, struct vnet_txq *tq, struct vq *q,
                   unsigned pair, struct vq_iter *it, bool *waited)
{
    struct iovec *iov = tq->iov;
    unsigned cnt = 1; /* iov[0] is for the header copy */
    uint64_t total = 0;
    struct vq_buf b;
    int r;
    while ((r = vq_iter_next(it, &b)) > 0) {
        if (b.dev_writes || cnt >= tq->niov) {
            r = -EPROTO;
            break;
        }
        iov[cnt++] = (struct iovec){b.p, b.len};
        total += b.len;
    }
    if (r < 0 || total < n->hdr_len) {
        vnet_ctr_add(&tq->drop_malformed, 1);
        vq_fail(q, it->head, r < 0 ? r : -EPROTO);
        return;
    }
    /* Snapshot the header: the tap must read the bytes we checked, not
     * whatever the guest writes there meanwhile. */
    tq->hdr = (struct virtio_net_hdr){0};
    vnet_iov_read(iov + 1, cnt - 1, 0, &tq->hdr, n->hdr_len);
    uint64_t flen = total - n->hdr_len;
    enum tx_verdict v = tx_check(n, &tq->hdr, flen);
    if (v != TX_OK) {
        tx_count_drop(n, tq, pair, v, flen);
        vq_push(q, it->head, 0);
        return;
    }
    /* Skip the guest's header bytes; the copy goes in front. */
    unsigned j = 1;
    size_t skip = n->hdr_len;
    while (j < cnt && skip >= iov[j].iov_len) {
        skip -= iov[j].iov_len;
        j++;
    }
    iov[j].iov_base = (uint8_t *)iov[j].iov_base + skip;
    iov[j].iov_len -= skip;
    iov[j - 1] = (struct iovec){&tq->hdr, n->hdr_len};
    if (log_cats & LOG_CAT_VIRTIO)
        vnet_trace(n, "tx", pair, iov + j - 1, cnt - j + 1, flen);
    ssize_t w = tx_write(n, pair, iov + j - 1, (int)(cnt - j + 1), waited);
    if (w < 0) {
        vnet_ctr_add(&tq->drop_tap, 1);
        log_warn_rl("%s: tx%u: the tap refused a %llu-byte frame: %s", n->name,
                    pair, (unsigned long long)flen, strerror((int)-w));
    } else {
        vnet_ctr_add(&tq->frames, 1);
        vnet_ctr_add(&tq->bytes, flen);
    }
    vq_push(q, it->head, 0);
}

int vnet_tx_process(struct vnet *n, struct vq *q, unsigned pair)
{
    struct vnet_txq *tq = &n->txq[pair];
    vnet_ctr_add(&tq->rounds, 1);
    if (!tq->iov)
        return 0;
    bool waited = false;
    /* Rounds of a quarter ring: completions reach the guest while it
     * still has frames queued. */
    uint32_t budget = vnet_round_budget(q);
    for (uint32_t i = 0; i < budget && !waited; i++) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        tx_one(n, tq, q, pair, &it, &waited);
    }
    return 1;
}
