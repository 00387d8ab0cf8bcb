/* SPDX-License-Identifier: MIT */
/* A virtio-net device in memory behind the guest's MMIO hooks (host tests). */
#include "guest/host/fake_vnet.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/virtio.h"

struct fake_vnet fake_vnet[FNET_DEVS];

#define BIT(f) FAKE_BIT(f)
#define SEGS_MAX FAKE_SEGS_MAX
#define Q_RX 0
#define Q_TX 1

static uint32_t config_read(struct fake_vmmio *t, uint32_t off, uint32_t width);
static void on_reset(struct fake_vmmio *t);

void fake_vnet_init(unsigned i)
{
    struct fake_vnet *f = &fake_vnet[i];

    memset(f, 0, sizeof(*f));
    f->t.version = 2;
    f->t.device_id = VIRTIO_ID_NET;
    f->t.num_queues = 2;
    f->t.config_read = config_read;
    f->t.on_reset = on_reset;
    f->t.offered = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
                   BIT(VNET_F_MAC) | BIT(VNET_F_STATUS) | BIT(VNET_F_MTU) |
                   BIT(VNET_F_CSUM) | BIT(VNET_F_MRG_RXBUF) |
                   BIT(VNET_F_GUEST_CSUM);
    f->t.num_max = 256;
    memcpy(f->mac, (uint8_t[]){0x52, 0x54, 0, 0, 0, (uint8_t)i}, 6);
    f->status = VNET_S_LINK_UP;
    f->mtu = 1500;
    fake_vmmio_set(i, &f->t);
}

void fake_vnet_offer_ctrl(unsigned i, uint16_t pairs)
{
    struct fake_vnet *f = &fake_vnet[i];

    f->t.offered |=
        BIT(VNET_F_CTRL_VQ) | BIT(VNET_F_CTRL_GUEST_OFFLOADS) | BIT(VNET_F_MQ);
    f->max_pairs = pairs;
    f->t.num_queues = (uint16_t)(2 * pairs + 1);
    f->ctrl_used_len = f->ctrl_ack = -1;
}

void fake_vnet_inject(unsigned i, const void *frame, uint32_t len,
                      uint8_t flags)
{
    struct fake_vnet *f = &fake_vnet[i];
    struct fnet_frame *fr;

    if (f->rx_n == FNET_FRAMES || len > FNET_FRAME_MAX) {
        fprintf(stderr, "fake_vnet_inject: no room for %u bytes\n", len);
        abort();
    }
    fr = &f->rx[(f->rx_first + f->rx_n++) % FNET_FRAMES];
    memcpy(fr->data, frame, len);
    fr->len = len;
    fr->hdr = (struct vnet_hdr){.flags = flags};
}

void fake_vnet_clear_tx(unsigned i)
{
    fake_vnet[i].tx_n = 0;
}

static struct fake_vnet *net_of(struct fake_vmmio *t)
{
    return (struct fake_vnet *)((char *)t - offsetof(struct fake_vnet, t));
}

/* Config: mac[6] (8-bit reads), status, max_virtqueue_pairs, mtu (16). */
static uint32_t config_read(struct fake_vmmio *t, uint32_t off, uint32_t width)
{
    struct fake_vnet *f = net_of(t);

    if (off < 6 && width == 1)
        return f->mac[off];
    if (width == 2 && off == 6)
        return f->status;
    if (width == 2 && off == 8)
        return f->max_pairs ? f->max_pairs : 1;
    if (width == 2 && off == 10)
        return f->mtu;
    t->bad_width++;
    return 0;
}

static void on_reset(struct fake_vmmio *t)
{
    net_of(t)->rx_waiting = false;
}

/* --- the device side of the rings --------------------------------------- */

static bool feature(const struct fake_vnet *f, unsigned bit)
{
    return fake_vmmio_feature(&f->t, bit);
}

static uint32_t hdr_len(const struct fake_vnet *f)
{
    return feature(f, VIRTIO_F_VERSION_1) || feature(f, VNET_F_MRG_RXBUF)
               ? VNET_HDR_LEN
               : VNET_HDR_LEN_LEGACY;
}

/* Copies len bytes from src into the chains' writable buffers from byte
 * `at` on. */
static void scatter(struct fake_chain *c, unsigned k, uint32_t at,
                    const uint8_t *src, uint32_t len)
{
    for (unsigned i = 0; i < k && len; i++)
        for (unsigned j = 0; j < c[i].n && len; j++) {
            uint32_t l = c[i].s[j].len;

            if (at >= l) {
                at -= l;
                continue;
            }
            l = l - at < len ? l - at : len;
            memcpy(c[i].s[j].p + at, src, l);
            src += l;
            len -= l;
            at = 0;
        }
}

/* One queued frame into posted buffers: 1 delivered, 0 no room (the
 * ring is left as it was), -1 frozen (split_publish). */
static int deliver(struct fake_vnet *f, struct fake_queue *q,
                   struct fnet_frame *fr)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static struct fake_chain c[SEGS_MAX];
    uint32_t hl = hdr_len(f), need = hl + fr->len, cap = 0, left;
    uint16_t start = q->last_avail;
    unsigned k = 0;
    bool mrg = feature(f, VNET_F_MRG_RXBUF);
    struct vnet_hdr h = fr->hdr;

    while (cap < need && (mrg || !k) && k < SEGS_MAX) {
        if (q->last_avail == a->idx) {
            q->last_avail = start; /* wait for more buffers */
            return 0;
        }
        if (fake_vmmio_walk(&f->t, q, a->ring[q->last_avail++ % q->num],
                            &c[k])) {
            f->bad_chain++;
            return 0;
        }
        cap += c[k++].cap;
    }
    if (cap < need) { /* without MRG_RXBUF one buffer must hold it */
        f->rx_dropped++;
        q->last_avail = start;
        return 1;
    }
    h.num_buffers = (uint16_t)k;
    if (f->num_buffers > 0)
        h.num_buffers = (uint16_t)f->num_buffers;
    if (f->num_buffers_zero)
        h.num_buffers = 0;
    scatter(c, k, 0, (const uint8_t *)&h, hl);
    scatter(c, k, hl, fr->data, fr->len);
    left = need;
    for (unsigned i = 0; i < k; i++) {
        uint32_t used = c[i].cap < left ? c[i].cap : left;

        left -= used;
        if (i == 0 && k > 1 && f->mid_short)
            used -= 2;
        if (i == k - 1)
            used += (uint32_t)f->rx_len_delta;
        fake_vmmio_put_used(
            q, f->rx_bad_head && i == 0 ? (uint16_t)(q->num + 3) : c[i].head,
            used);
        if (f->split_publish && k > 1 && i == 0) {
            fake_vmmio_publish(q);
            return -1;
        }
    }
    fake_vmmio_publish(q);
    fr->nbufs = k;
    if (k > f->max_rx_bufs)
        f->max_rx_bufs = k;
    return 1;
}

static void serve_rx(struct fake_vnet *f)
{
    struct fake_queue *q = &f->t.q[Q_RX];
    uint16_t old = q->used_idx;

    if (q->notified)
        f->rx_waiting = false;
    q->notified = false;
    while (f->rx_n && !f->rx_waiting) {
        int r = deliver(f, q, &f->rx[f->rx_first]);

        if (r < 0) {
            f->rx_waiting = true; /* frozen until the test resets us */
            f->rx_n = 0;
            break;
        }
        if (!r) {
            f->rx_waiting = true;
            f->rx_starved++;
            break;
        }
        f->rx_first = (f->rx_first + 1) % FNET_FRAMES;
        f->rx_n--;
        f->rx_delivered++;
    }
    fake_vmmio_want_notify(&f->t, q, ((struct vq_avail *)q->avail)->idx);
    fake_vmmio_maybe_irq(&f->t, q, old);
}

/* RFC 1071, on big-endian words: the fake's own checksum. */
static uint16_t be_csum(const uint8_t *p, uint32_t n)
{
    uint32_t s = 0;

    for (uint32_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void serve_tx(struct fake_vnet *f)
{
    struct fake_queue *q = &f->t.q[Q_TX];
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static uint8_t lin[FNET_FRAME_MAX + VNET_HDR_LEN];
    uint16_t old = q->used_idx;
    uint32_t hl = hdr_len(f);

    if (!q->notified || f->tx_stall)
        return;
    q->notified = false;
    while (q->last_avail != a->idx) {
        struct fake_chain c;
        struct fnet_frame *fr = &f->tx[f->tx_n % FNET_FRAMES];
        uint16_t head = a->ring[q->last_avail++ % q->num];
        uint32_t n = 0;
        bool ok = !fake_vmmio_walk(&f->t, q, head, &c) && c.cap >= hl &&
                  c.cap <= sizeof(lin);

        for (unsigned i = 0; ok && i < c.n; i++) {
            ok = !c.s[i].write;
            memcpy(lin + n, c.s[i].p, c.s[i].len);
            n += c.s[i].len;
        }
        if (!ok) {
            f->bad_chain++;
            continue;
        }
        memcpy(&fr->hdr, lin, hl);
        fr->len = n - hl;
        fr->nbufs = c.n;
        memcpy(fr->data, lin + hl, fr->len);
        if (fr->hdr.flags & VNET_HDR_F_NEEDS_CSUM && !f->no_csum_fill &&
            fr->hdr.csum_start + fr->hdr.csum_offset + 2u <= fr->len) {
            uint8_t *at = fr->data + fr->hdr.csum_start + fr->hdr.csum_offset;
            uint16_t v = be_csum(fr->data + fr->hdr.csum_start,
                                 fr->len - fr->hdr.csum_start);

            at[0] = (uint8_t)(v >> 8);
            at[1] = (uint8_t)v;
        }
        f->tx_n++;
        fake_vmmio_put_used(q, head, f->tx_used_len);
    }
    fake_vmmio_publish(q);
    fake_vmmio_want_notify(&f->t, q, ((struct vq_avail *)q->avail)->idx);
    fake_vmmio_maybe_irq(&f->t, q, old);
}

/* The ack a correct device gives. */
static uint8_t ctrl_right(const struct fake_vnet *f, const struct fnet_cmd *c)
{
    uint16_t pairs;
    uint64_t bits, guest = f->t.drv_features &
                           (BIT(VNET_F_GUEST_CSUM) | 0x780ULL /* TSO4..UFO */);

    if (c->class == VNET_CTRL_MQ && c->cmd == VNET_CTRL_MQ_VQ_PAIRS_SET &&
        c->len == 2 && feature(f, VNET_F_MQ)) {
        memcpy(&pairs, c->data, 2);
        return pairs >= 1 && pairs <= f->max_pairs ? VNET_CTRL_OK
                                                   : VNET_CTRL_ERR;
    }
    if (c->class == VNET_CTRL_GUEST_OFFLOADS &&
        c->cmd == VNET_CTRL_GUEST_OFFLOADS_SET && c->len == 8 &&
        feature(f, VNET_F_CTRL_GUEST_OFFLOADS)) {
        memcpy(&bits, c->data, 8);
        return bits & ~guest ? VNET_CTRL_ERR : VNET_CTRL_OK;
    }
    return VNET_CTRL_ERR;
}

/* Commands: readable class, command and data, then the writable ack. */
static void serve_ctrl(struct fake_vnet *f, struct fake_queue *q)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    uint16_t old = q->used_idx;

    if (!q->notified || f->ctrl_stall)
        return;
    q->notified = false;
    while (q->last_avail != a->idx) {
        struct fake_chain c;
        struct fnet_cmd *cmd = &f->cmds[f->ncmds % 8];
        uint16_t head = a->ring[q->last_avail++ % q->num];
        uint8_t in[2 + 8];
        uint32_t n = 0;
        uint8_t *ack = NULL;
        bool ok = !fake_vmmio_walk(&f->t, q, head, &c);

        for (unsigned i = 0; ok && i < c.n; i++) {
            if (c.s[i].write) {
                ok = !ack && c.s[i].len == 1;
                ack = c.s[i].p;
                continue;
            }
            ok = !ack && n + c.s[i].len <= sizeof(in);
            if (ok)
                memcpy(in + n, c.s[i].p, c.s[i].len);
            n += c.s[i].len;
        }
        if (!ok || !ack || n < 2) {
            f->bad_chain++;
            continue;
        }
        *cmd = (struct fnet_cmd){.class = in[0], .cmd = in[1], .len = n - 2};
        memcpy(cmd->data, in + 2, n - 2);
        cmd->ack = f->ctrl_ack >= 0 ? (uint8_t)f->ctrl_ack : ctrl_right(f, cmd);
        *ack = cmd->ack;
        f->ncmds++;
        fake_vmmio_put_used(
            q, head, f->ctrl_used_len >= 0 ? (uint32_t)f->ctrl_used_len : 1);
    }
    fake_vmmio_publish(q);
    fake_vmmio_want_notify(&f->t, q, a->idx);
    fake_vmmio_maybe_irq(&f->t, q, old);
}

void fake_vnet_run(void)
{
    for (unsigned i = 0; i < fake_vmmio_count(); i++) {
        struct fake_vnet *f = &fake_vnet[i];

        if (fake_vmmio_at(i) != &f->t || !(f->t.status & FAKE_S_DRIVER_OK))
            continue;
        if (f->t.q[Q_TX].ready)
            serve_tx(f);
        if (f->t.q[Q_RX].ready)
            serve_rx(f);
        unsigned cq = 2u * (feature(f, VNET_F_MQ) ? f->max_pairs : 1);
        if (feature(f, VNET_F_CTRL_VQ) && cq < FAKE_QUEUES && f->t.q[cq].ready)
            serve_ctrl(f, &f->t.q[cq]);
    }
}
