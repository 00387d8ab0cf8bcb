/* SPDX-License-Identifier: MIT */
/* A small virtio-net driver on the fake guest, for tests and the bench. */
#include "tests/unit/net_rig.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

int nr_init(struct net_rig *r, struct vnet *n, bool legacy)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->repost = true;
    int e = fg_init(&r->g, NR_RAM);
    return e ? e : fg_attach(&r->g, vnet_ops(n), n, legacy);
}

int nr_start(struct net_rig *r, uint64_t want, uint32_t qsize)
{
    int e = fg_negotiate(&r->g, want);
    if (e < 0)
        return e;
    r->feat = r->g.features;
    r->mrg = r->feat & NF(MRG_RXBUF);
    r->hdr_len = (r->feat & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || r->mrg
                     ? VIRTIO_NET_HDR_LEN
                     : VIRTIO_NET_HDR_LEN_LEGACY;
    unsigned max = vnet_ops(r->n)->nqueues / 2;
    r->pairs = r->feat & NF(MQ) ? max : 1;
    r->ctrl_qi = -1u;
    for (unsigned p = 0; p < r->pairs && e == 0; p++) {
        e = fg_queue_setup(&r->g, nr_rxq(p), qsize);
        if (e == 0)
            e = fg_queue_setup(&r->g, nr_txq(p), qsize);
        r->tx_area[p] = fg_alloc(&r->g, NR_TX_AREA, 64);
        r->tx_off[p] = 0;
    }
    if (e == 0 && (r->feat & NF(CTRL_VQ))) {
        r->ctrl_qi = r->feat & NF(MQ) ? 2 * max : 2;
        e = fg_queue_setup(&r->g, r->ctrl_qi, 16);
        r->ctrl_area = fg_alloc(&r->g, 4096, 64);
    }
    return e ? e : fg_driver_ok(&r->g);
}

int nr_up(struct net_rig *r, struct vnet *n, uint64_t want, uint32_t qsize,
          bool legacy)
{
    int e = nr_init(r, n, legacy);
    return e ? e : nr_start(r, want, qsize);
}

void nr_down(struct net_rig *r)
{
    fg_fini(&r->g);
}

void nr_sock_down(struct net_rig *r, struct vnet *n, const int *peer,
                  unsigned npeers)
{
    nr_down(r);
    vnet_destroy(n);
    for (unsigned i = 0; i < npeers; i++)
        close(peer[i]);
}

/* Piece i of an RX chain at gpa: its address and length. */
static uint64_t rx_piece(const struct net_rig *r, unsigned pair, uint64_t gpa,
                         unsigned i, uint32_t *len)
{
    uint32_t nseg = r->rx_nseg[pair], seg = r->rx_size[pair] / nseg;
    *len = i + 1 < nseg ? seg : r->rx_size[pair] - i * seg;
    return gpa + (uint64_t)i * (seg + r->rx_gap[pair]);
}

static int post_chain(struct net_rig *r, unsigned pair, uint64_t gpa)
{
    uint32_t nseg = r->rx_nseg[pair];
    struct fg_seg s[FG_MAX_SEGS];
    for (unsigned i = 0; i < nseg; i++) {
        uint32_t len;
        uint64_t at = rx_piece(r, pair, gpa, i, &len);
        s[i] = (struct fg_seg){at, len, true};
    }
    int h = fg_post(&r->g, nr_rxq(pair), s, nseg, false);
    if (h >= 0)
        r->rxbuf[pair][h] = gpa;
    return h;
}

int nr_rx_post(struct net_rig *r, unsigned pair, unsigned count, uint32_t size,
               unsigned nseg)
{
    if (nseg == 0 || nseg > FG_MAX_SEGS || size < nseg)
        return -EINVAL;
    r->rx_size[pair] = size;
    r->rx_nseg[pair] = nseg;
    uint64_t area = size + (uint64_t)nseg * r->rx_gap[pair];
    for (unsigned i = 0; i < count; i++) {
        uint64_t gpa = fg_alloc(&r->g, area, 64);
        if (post_chain(r, pair, gpa) < 0)
            return -ENOSPC;
    }
    fg_kick(&r->g, nr_rxq(pair));
    return 0;
}

int nr_wait_used(struct net_rig *r, unsigned qi, uint32_t *id, uint32_t *len)
{
    for (;;) {
        int k = fg_get_used(&r->g, qi, id, len);
        if (k)
            return k < 0 ? k : 0;
        uint64_t c = fg_irq_count(&r->g.irq);
        if (!fg_enable_irq(&r->g, qi) && fg_irq_wait(&r->g.irq, c))
            return -ETIMEDOUT;
    }
}

int nr_rx_peek(struct net_rig *r, unsigned pair)
{
    struct fg_queue *q = &r->g.q[nr_rxq(pair)];
    return __atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

int nr_rx_frame(struct net_rig *r, unsigned pair, uint8_t *dst, size_t cap,
                unsigned *nbufs)
{
    uint32_t id, len;
    size_t have = 0;
    unsigned nb = 1;
    for (unsigned i = 0; i < nb; i++) {
        int e = nr_wait_used(r, nr_rxq(pair), &id, &len);
        if (e < 0)
            return e;
        if (len > r->rx_size[pair] || id >= NR_QSIZE_MAX)
            return -EPROTO; /* more than the chain holds, or no chain */
        if (have + len > cap)
            return -EMSGSIZE;
        for (unsigned p = 0, left = len; left; p++) {
            uint32_t plen;
            uint64_t at = rx_piece(r, pair, r->rxbuf[pair][id], p, &plen);
            plen = plen < left ? plen : left;
            memcpy(dst + have, fg_host(&r->g, at), plen);
            have += plen;
            left -= plen;
        }
        if (i == 0 && r->hdr_len == VIRTIO_NET_HDR_LEN) {
            if (len < VIRTIO_NET_HDR_LEN)
                return -EPROTO;
            uint16_t k;
            memcpy(&k, dst + 10, 2);
            if (k == 0 || (!r->mrg && k != 1))
                return -EPROTO; /* num_buffers must say 1 without MRG */
            nb = k;
        }
        if (r->repost && post_chain(r, pair, r->rxbuf[pair][id]) < 0)
            return -EPROTO;
    }
    if (r->repost)
        fg_kick_if_needed(&r->g, nr_rxq(pair));
    if (nbufs)
        *nbufs = nb;
    return (int)have;
}

int nr_tx_post(struct net_rig *r, unsigned pair, const void *frame, size_t len,
               unsigned nseg)
{
    if (nseg == 0 || nseg > FG_MAX_SEGS || len < nseg || len > NR_TX_AREA)
        return -EINVAL;
    if (r->tx_off[pair] + len > NR_TX_AREA)
        r->tx_off[pair] = 0;
    uint64_t gpa = r->tx_area[pair] + r->tx_off[pair];
    r->tx_off[pair] = (uint32_t)((r->tx_off[pair] + len + 63) & ~63u);
    memcpy(fg_host(&r->g, gpa), frame, len);
    struct fg_seg s[FG_MAX_SEGS];
    size_t piece = len / nseg;
    for (unsigned i = 0; i < nseg; i++)
        s[i] = (struct fg_seg){
            gpa + i * piece, (uint32_t)(i + 1 < nseg ? piece : len - i * piece),
            false};
    int h = fg_post(&r->g, nr_txq(pair), s, nseg, false);
    if (h >= 0)
        fg_kick_if_needed(&r->g, nr_txq(pair));
    return h;
}

int nr_tx_wait(struct net_rig *r, unsigned pair, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        uint32_t id, len;
        int e = nr_wait_used(r, nr_txq(pair), &id, &len);
        if (e < 0)
            return e;
        if (len != 0)
            return -EPROTO; /* the device writes nothing on TX */
    }
    return 0;
}

int nr_tx(struct net_rig *r, unsigned pair, const void *frame, size_t len,
          unsigned nseg)
{
    int h = nr_tx_post(r, pair, frame, len, nseg);
    return h < 0 ? h : nr_tx_wait(r, pair, 1);
}

int nr_ctrl(struct net_rig *r, uint8_t class, uint8_t cmd, const void *data,
            size_t len)
{
    if (r->ctrl_qi == -1u || len > 2048)
        return -EINVAL;
    uint8_t *p = fg_host(&r->g, r->ctrl_area);
    p[0] = class;
    p[1] = cmd;
    if (len)
        memcpy(p + 64, data, len);
    p[4095] = 0xee;
    struct fg_seg s[3] = {{r->ctrl_area, 2, false},
                          {r->ctrl_area + 64, (uint32_t)len, false},
                          {r->ctrl_area + 4095, 1, true}};
    unsigned n = len ? 3 : 2;
    if (!len)
        s[1] = s[2];
    fg_post(&r->g, r->ctrl_qi, s, n, false);
    fg_kick(&r->g, r->ctrl_qi);
    uint32_t id, ulen;
    int e = nr_wait_used(r, r->ctrl_qi, &id, &ulen);
    if (e < 0)
        return e;
    return ulen == 1 ? p[4095] : -EPROTO;
}

int nr_sock_vnet(struct vnet **n, int *peer, unsigned pairs, unsigned caps,
                 uint32_t mtu)
{
    int dev[VNET_MAX_PAIRS], sv[2];
    char err[256];
    for (unsigned p = 0; p < pairs; p++) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            return -errno;
        dev[p] = sv[0];
        peer[p] = sv[1];
    }
    struct tap t;
    int e = tap_from_fds(&t, dev, pairs, caps, err, sizeof(err));
    if (e < 0)
        return e;
    struct vnet_config c = {.queues = pairs, .mtu = mtu, .offload = true};
    return vnet_create_tap(n, &c, &t, "test", 0, err, sizeof(err));
}

ssize_t nr_peer_recv(int fd, void *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, FG_TIMEOUT_MS) <= 0)
        return -ETIMEDOUT;
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}
