/* SPDX-License-Identifier: MIT */
/* virtio-net control queue: RX mode, MAC filter, queue pairs, offloads. */
#define LOG_TAG "vnet"
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "hw/log.h"
#include "virtio/net_priv.h"
#include "virtio/virtio_spec.h"

#define GUEST_OFFLOAD_BITS                                                     \
    (VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                                     \
     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |                                     \
     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |                                     \
     VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | \
     VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4) |                                     \
     VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6))

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

bool vnet_filter_accepts(const struct vnet_filter *f, const uint8_t *d)
{
    if (f->promisc)
        return true;
    if (d[0] & 1) {
        if (!memcmp(d, bcast, 6))
            return !f->nobcast;
        if (f->nomulti)
            return false;
        if (f->allmulti || f->multi_over)
            return true;
        for (uint32_t i = 0; i < f->nmulti; i++)
            if (!memcmp(d, f->multi[i], 6))
                return true;
        return false;
    }
    if (f->nouni)
        return false;
    if (f->alluni || f->uni_over || !memcmp(d, f->mac, 6))
        return true;
    for (uint32_t i = 0; i < f->nuni; i++)
        if (!memcmp(d, f->uni[i], 6))
            return true;
    return false;
}

void vnet_filter_reset(struct vnet *n)
{
    pthread_mutex_lock(&n->filt_lock);
    /* Promiscuous until told otherwise, as a driver that never sends
     * RX-mode commands expects to see everything. */
    n->filt = (struct vnet_filter){.promisc = true};
    memcpy(n->filt.mac, n->cfg.mac, 6);
    atomic_fetch_add_explicit(&n->filt_gen, 1, memory_order_release);
    pthread_mutex_unlock(&n->filt_lock);
}

static uint32_t le32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* VIRTIO_NET_CTRL_RX_*: one byte, on or off. */
static uint8_t ctrl_rx_mode(struct vnet *n, uint8_t cmd, const uint8_t *p,
                            size_t len)
{
    bool extra = vdev_has(n->d, VIRTIO_NET_F_CTRL_RX_EXTRA);
    if (len != 1 || cmd > VIRTIO_NET_CTRL_RX_NOBCAST ||
        (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !extra))
        return VIRTIO_NET_ERR;
    bool on = p[0] != 0;
    pthread_mutex_lock(&n->filt_lock);
    struct vnet_filter *f = &n->filt;
    bool *flag[] = {&f->promisc, &f->allmulti, &f->alluni,
                    &f->nomulti, &f->nouni,    &f->nobcast};
    *flag[cmd] = on;
    atomic_fetch_add_explicit(&n->filt_gen, 1, memory_order_release);
    pthread_mutex_unlock(&n->filt_lock);
    return VIRTIO_NET_OK;
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET: le32 count and count MACs, unicast
 * then multicast. A table longer than ours means "accept that kind". */
static uint8_t ctrl_mac_table(struct vnet *n, const uint8_t *p, size_t len,
                              bool trunc)
{
    struct vnet_filter t = {0};
    size_t off = 0;
    if (trunc) { /* longer than VNET_CTRL_BUF: far beyond our tables */
        t.uni_over = t.multi_over = true;
        goto set;
    }
    for (int kind = 0; kind < 2; kind++) {
        if (len - off < 4)
            return VIRTIO_NET_ERR;
        uint32_t cnt = le32_at(p + off);
        off += 4;
        if (cnt > (len - off) / 6)
            return VIRTIO_NET_ERR;
        bool over = cnt > VNET_MAC_TABLE;
        if (!over)
            memcpy(kind ? t.multi : t.uni, p + off, (size_t)cnt * 6);
        *(kind ? &t.nmulti : &t.nuni) = over ? 0 : cnt;
        *(kind ? &t.multi_over : &t.uni_over) = over;
        off += (size_t)cnt * 6;
    }
    if (off != len)
        return VIRTIO_NET_ERR;
set:
    pthread_mutex_lock(&n->filt_lock);
    struct vnet_filter *f = &n->filt;
    f->nuni = t.nuni;
    f->nmulti = t.nmulti;
    f->uni_over = t.uni_over;
    f->multi_over = t.multi_over;
    memcpy(f->uni, t.uni, sizeof(t.uni));
    memcpy(f->multi, t.multi, sizeof(t.multi));
    atomic_fetch_add_explicit(&n->filt_gen, 1, memory_order_release);
    pthread_mutex_unlock(&n->filt_lock);
    return VIRTIO_NET_OK;
}

/* VIRTIO_NET_CTRL_MAC_ADDR_SET: the NIC's own address, also shown in
 * config space. Lock order: cfg_lock, then filt_lock. */
static uint8_t ctrl_mac_addr(struct vnet *n, const uint8_t *p, size_t len)
{
    static const uint8_t zero[6];
    if (len != 6 || (p[0] & 1) || !memcmp(p, zero, 6))
        return VIRTIO_NET_ERR;
    vdev_cfg_begin(n->d);
    memcpy(n->cfg.mac, p, 6);
    pthread_mutex_lock(&n->filt_lock);
    memcpy(n->filt.mac, p, 6);
    atomic_fetch_add_explicit(&n->filt_gen, 1, memory_order_release);
    pthread_mutex_unlock(&n->filt_lock);
    vdev_cfg_end(n->d, false);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(struct vnet *n, uint8_t cmd, const uint8_t *p,
                       size_t len)
{
    uint16_t pairs;
    if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
        return VIRTIO_NET_ERR;
    memcpy(&pairs, p, 2);
    if (pairs < 1 || pairs > n->pairs)
        return VIRTIO_NET_ERR;
    return vnet_set_pairs(n, pairs) == 0 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static uint8_t ctrl_offloads(struct vnet *n, uint8_t cmd, const uint8_t *p,
                             size_t len)
{
    uint64_t bits;
    if (cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8)
        return VIRTIO_NET_ERR;
    memcpy(&bits, p, 8);
    /* Only offloads the guest negotiated may be switched (§5.1.6.5.6). */
    if (bits & ~(n->d->acked & GUEST_OFFLOAD_BITS))
        return VIRTIO_NET_ERR;
    return vnet_set_guest_offloads(n, bits) == 0 ? VIRTIO_NET_OK
                                                 : VIRTIO_NET_ERR;
}

static uint8_t ctrl_cmd(struct vnet *n, uint8_t class, uint8_t cmd,
                        const uint8_t *p, size_t len, bool trunc)
{
    struct vdev *d = n->d;
    if (trunc &&
        !(class == VIRTIO_NET_CTRL_MAC && cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET))
        return VIRTIO_NET_ERR;
    switch (class) {
    case VIRTIO_NET_CTRL_RX:
        if (!vdev_has(d, VIRTIO_NET_F_CTRL_RX))
            return VIRTIO_NET_ERR;
        return ctrl_rx_mode(n, cmd, p, len);
    case VIRTIO_NET_CTRL_MAC:
        if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
            vdev_has(d, VIRTIO_NET_F_CTRL_RX))
            return ctrl_mac_table(n, p, len, trunc);
        if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
            vdev_has(d, VIRTIO_NET_F_CTRL_MAC_ADDR))
            return ctrl_mac_addr(n, p, len);
        return VIRTIO_NET_ERR;
    case VIRTIO_NET_CTRL_MQ:
        if (!vdev_has(d, VIRTIO_NET_F_MQ))
            return VIRTIO_NET_ERR;
        return ctrl_mq(n, cmd, p, len);
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        if (!vdev_has(d, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
            return VIRTIO_NET_ERR;
        return ctrl_offloads(n, cmd, p, len);
    }
    return VIRTIO_NET_ERR; /* VLAN, ANNOUNCE, RSS: not offered */
}

/* One command: readable class, command and data, then a writable
 * status byte. A chain without that shape fails alone. */
static void ctrl_one(struct vnet *n, struct vq *q, struct vq_iter *it)
{
    size_t len = 0;
    bool trunc = false;
    uint8_t *status = NULL;
    struct vq_buf b;
    int r;
    while ((r = vq_iter_next(it, &b)) > 0) {
        if (b.dev_writes) {
            if (!status && b.len)
                status = b.p;
            continue;
        }
        size_t take = b.len < VNET_CTRL_BUF - len ? b.len : VNET_CTRL_BUF - len;
        memcpy(n->ctrl_buf + len, b.p, take);
        len += take;
        trunc |= take < b.len;
    }
    if (r < 0 || !status || len < sizeof(struct virtio_net_ctrl_hdr)) {
        vnet_ctr_add(&n->ctrl_err, 1);
        vq_fail(q, it->head, r < 0 ? r : -EPROTO);
        return;
    }
    uint8_t class = n->ctrl_buf[0], cmd = n->ctrl_buf[1];
    uint8_t ack = ctrl_cmd(n, class, cmd, n->ctrl_buf + 2, len - 2, trunc);
    log_cat(LOG_CAT_VIRTIO, "%s: control class %u command %u (%zu bytes): %s",
            n->name, class, cmd, len - 2,
            ack == VIRTIO_NET_OK ? "ok" : "error");
    vnet_ctr_add(ack == VIRTIO_NET_OK ? &n->ctrl_ok : &n->ctrl_err, 1);
    *status = ack;
    vq_push(q, it->head, 1);
}

int vnet_ctrl_process(struct vnet *n, struct vq *q)
{
    for (uint32_t i = 0; i < q->num; i++) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        ctrl_one(n, q, &it);
    }
    return 1;
}
