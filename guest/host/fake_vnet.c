/* SPDX-License-Identifier: MIT */
/* A virtio-net device in memory behind the guest's MMIO hooks (host tests). */
#include "guest/host/fake_vnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/virtio.h"

struct fake_vnet fake_vnet[FNET_DEVS];
static unsigned fake_count;

#define BIT(f) (1ULL << (f))
#define S_FEATURES_OK 8
#define S_DRIVER_OK 4
#define AVAIL_F_NO_INTERRUPT 1
#define SEGS_MAX 64
#define Q_RX 0
#define Q_TX 1

void fake_vnet_init(unsigned i)
{
    struct fake_vnet *f = &fake_vnet[i];

    memset(f, 0, sizeof(*f));
    f->version = 2;
    f->offered = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
                 BIT(VNET_F_MAC) | BIT(VNET_F_STATUS) | BIT(VNET_F_MTU) |
                 BIT(VNET_F_CSUM) | BIT(VNET_F_MRG_RXBUF) |
                 BIT(VNET_F_GUEST_CSUM);
    f->num_max = 256;
    memcpy(f->mac, (uint8_t[]){0x52, 0x54, 0, 0, 0, (uint8_t)i}, 6);
    f->status = VNET_S_LINK_UP;
    f->mtu = 1500;
    if (fake_count <= i)
        fake_count = i + 1;
}

void fake_vnet_none(void)
{
    fake_count = 0;
}

unsigned fake_vnet_count(void)
{
    return fake_count;
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

static struct fake_vnet *dev_at(uint64_t addr, uint32_t *off)
{
    uint64_t i = (addr - FNET_BASE) / FNET_WINDOW;

    if (addr < FNET_BASE || i >= fake_count)
        return NULL;
    *off = (uint32_t)((addr - FNET_BASE) % FNET_WINDOW);
    return &fake_vnet[i];
}

/* Config: mac[6] (8-bit reads), status, max_virtqueue_pairs, mtu (16). */
static uint32_t config_read(struct fake_vnet *f, uint32_t off, uint32_t width)
{
    if (off < 6 && width == 1)
        return f->mac[off];
    if (width == 2 && off == 6)
        return f->status;
    if (width == 2 && off == 8)
        return 1;
    if (width == 2 && off == 10)
        return f->mtu;
    f->bad_width++;
    return 0;
}

static uint32_t reg_read(struct fake_vnet *f, uint32_t off)
{
    struct fnet_queue *q = f->queue_sel < 2 ? &f->q[f->queue_sel] : NULL;

    switch (off) {
    case 0x000:
        return VIRTIO_MAGIC;
    case 0x004:
        return f->version;
    case 0x008:
        return VIRTIO_ID_NET;
    case 0x00c:
        return 0x54534554; /* "TEST" */
    case 0x010:
        return f->dev_sel > 1 || (f->version == 1 && f->dev_sel)
                   ? 0
                   : (uint32_t)(f->offered >> (32 * f->dev_sel));
    case 0x034:
        return q ? f->num_max : 0;
    case 0x040:
        return q ? q->pfn : 0;
    case 0x044:
        return q ? q->ready : 0;
    case 0x060:
        return f->isr;
    case 0x070:
        return f->status_reg;
    default:
        return 0;
    }
}

static void reset(struct fake_vnet *f)
{
    f->status_reg = 0;
    f->drv_features = 0;
    f->isr = 0;
    f->rx_waiting = false;
    memset(f->q, 0, sizeof(f->q));
    f->resets++;
}

/* Legacy rings: desc at PFN * page size, avail after it, used at the
 * next QueueAlign boundary after the avail ring (used_event counted). */
static void legacy_rings(struct fake_vnet *f, struct fnet_queue *q)
{
    uint64_t align = q->align ? q->align : 4096;

    q->desc = (uint64_t)q->pfn * f->page_size;
    q->avail = q->desc + 16ULL * q->num;
    q->used = (q->avail + 6 + 2ULL * q->num + align - 1) & ~(align - 1);
    q->ready = q->pfn != 0;
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
    *v = high ? (*v & 0xffffffffu) | (uint64_t)x << 32
              : (*v & ~0xffffffffULL) | x;
}

static void status_write(struct fake_vnet *f, uint32_t v)
{
    uint64_t bad = f->drv_features & ~f->offered;

    if (!v) {
        reset(f);
        return;
    }
    if (v & S_FEATURES_OK && (bad || !(f->drv_features >> 32 & 1)))
        v &= ~(uint32_t)S_FEATURES_OK;
    f->status_reg = v;
}

static void reg_write(struct fake_vnet *f, uint32_t off, uint32_t v)
{
    struct fnet_queue *q = f->queue_sel < 2 ? &f->q[f->queue_sel] : NULL;

    switch (off) {
    case 0x014:
        f->dev_sel = v;
        break;
    case 0x020:
        if (f->drv_sel < 2)
            set_half(&f->drv_features, f->drv_sel, v);
        break;
    case 0x024:
        f->drv_sel = v;
        break;
    case 0x028:
        f->page_size = v;
        break;
    case 0x030:
        f->queue_sel = v;
        break;
    case 0x038:
        if (q)
            q->num = v;
        break;
    case 0x03c:
        if (q)
            q->align = v;
        break;
    case 0x040:
        if (q) {
            q->pfn = v;
            legacy_rings(f, q);
        }
        break;
    case 0x044:
        if (q)
            q->ready = v;
        break;
    case 0x050:
        if (v < 2) {
            f->notifies[v]++;
            f->q[v].notified = true;
        }
        break;
    case 0x064:
        f->isr &= ~v;
        break;
    case 0x070:
        status_write(f, v);
        break;
    case 0x080:
    case 0x084:
        if (q)
            set_half(&q->desc, off & 4, v);
        break;
    case 0x090:
    case 0x094:
        if (q)
            set_half(&q->avail, off & 4, v);
        break;
    case 0x0a0:
    case 0x0a4:
        if (q)
            set_half(&q->used, off & 4, v);
        break;
    default:
        break;
    }
}

static uint32_t mmio_read(uint64_t addr, uint32_t width)
{
    uint32_t off;
    struct fake_vnet *f = dev_at(addr, &off);

    if (!f)
        return width == 4 ? 0xffffffffu : width == 2 ? 0xffff : 0xff;
    if (off >= 0x100)
        return config_read(f, off - 0x100, width);
    if (width != 4)
        f->bad_width++;
    return reg_read(f, off);
}

uint8_t mmio_read8(uint64_t addr)
{
    return (uint8_t)mmio_read(addr, 1);
}

uint16_t mmio_read16(uint64_t addr)
{
    return (uint16_t)mmio_read(addr, 2);
}

uint32_t mmio_read32(uint64_t addr)
{
    return mmio_read(addr, 4);
}

void mmio_write32(uint64_t addr, uint32_t v)
{
    uint32_t off;
    struct fake_vnet *f = dev_at(addr, &off);

    if (f && off < 0x100)
        reg_write(f, off, v);
}

/* --- the device side of the rings --------------------------------------- */

struct seg {
    uint8_t *p;
    uint32_t len;
    bool write;
};

struct chain {
    uint16_t head;
    struct seg s[SEGS_MAX];
    unsigned n;
    uint32_t cap;
};

static bool feature(const struct fake_vnet *f, unsigned bit)
{
    return f->drv_features >> bit & 1;
}

static uint32_t hdr_len(const struct fake_vnet *f)
{
    return feature(f, VIRTIO_F_VERSION_1) || feature(f, VNET_F_MRG_RXBUF)
               ? VNET_HDR_LEN
               : VNET_HDR_LEN_LEGACY;
}

static int walk(struct fnet_queue *q, uint16_t head, struct chain *c)
{
    struct vq_desc *d = (struct vq_desc *)q->desc;
    unsigned i = head;

    c->head = head;
    c->n = 0;
    c->cap = 0;
    for (unsigned hops = 0; hops < q->num && c->n < SEGS_MAX; hops++) {
        if (i >= q->num)
            return -1;
        c->s[c->n++] = (struct seg){(uint8_t *)d[i].addr, d[i].len,
                                    d[i].flags & VQ_DESC_F_WRITE};
        c->cap += d[i].len;
        if (!(d[i].flags & VQ_DESC_F_NEXT))
            return 0;
        i = d[i].next;
    }
    return -1;
}

/* Writes ring entry k (not yet published). */
static void put_used(struct fnet_queue *q, uint16_t id, uint32_t len)
{
    struct vq_used *u = (struct vq_used *)q->used;

    u->ring[q->used_idx % q->num].id = id;
    u->ring[q->used_idx % q->num].len = len;
    q->used_idx++;
}

static void publish(struct fnet_queue *q)
{
    __atomic_store_n(&((struct vq_used *)q->used)->idx, q->used_idx,
                     __ATOMIC_RELEASE);
}

/* Would the driver want an interrupt for entries [old, used_idx)? */
static void maybe_irq(struct fake_vnet *f, struct fnet_queue *q, uint16_t old)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    bool want;

    if (old == q->used_idx)
        return;
    if (feature(f, VIRTIO_F_EVENT_IDX)) {
        uint16_t ev = a->ring[q->num];

        want = (uint16_t)(q->used_idx - ev - 1) < (uint16_t)(q->used_idx - old);
    } else {
        want = !(a->flags & AVAIL_F_NO_INTERRUPT);
    }
    if (want) {
        f->irqs++;
        f->isr |= 1;
    }
}

/* avail_event: with EVENT_IDX, notify us when anything new is posted. */
static void want_notify(const struct fake_vnet *f, struct fnet_queue *q)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;

    if (feature(f, VIRTIO_F_EVENT_IDX))
        *(volatile uint16_t *)&((struct vq_used *)q->used)->ring[q->num] =
            a->idx;
}

/* Copies len bytes from src into the chains' writable buffers from byte
 * `at` on. */
static void scatter(struct chain *c, unsigned k, uint32_t at,
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
static int deliver(struct fake_vnet *f, struct fnet_queue *q,
                   struct fnet_frame *fr)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static struct chain c[SEGS_MAX];
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
        if (walk(q, a->ring[q->last_avail++ % q->num], &c[k])) {
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
        put_used(q,
                 f->rx_bad_head && i == 0 ? (uint16_t)(q->num + 3) : c[i].head,
                 used);
        if (f->split_publish && k > 1 && i == 0) {
            publish(q);
            return -1;
        }
    }
    publish(q);
    fr->nbufs = k;
    if (k > f->max_rx_bufs)
        f->max_rx_bufs = k;
    return 1;
}

static void serve_rx(struct fake_vnet *f)
{
    struct fnet_queue *q = &f->q[Q_RX];
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
    want_notify(f, q);
    maybe_irq(f, q, old);
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
    struct fnet_queue *q = &f->q[Q_TX];
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static uint8_t lin[FNET_FRAME_MAX + VNET_HDR_LEN];
    uint16_t old = q->used_idx;
    uint32_t hl = hdr_len(f);

    if (!q->notified || f->tx_stall)
        return;
    q->notified = false;
    while (q->last_avail != a->idx) {
        struct chain c;
        struct fnet_frame *fr = &f->tx[f->tx_n % FNET_FRAMES];
        uint16_t head = a->ring[q->last_avail++ % q->num];
        uint32_t n = 0;
        bool ok = head < q->num && !walk(q, head, &c) && c.cap >= hl &&
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
        put_used(q, head, f->tx_used_len);
    }
    publish(q);
    want_notify(f, q);
    maybe_irq(f, q, old);
}

void fake_vnet_run(void)
{
    for (unsigned i = 0; i < fake_count; i++) {
        struct fake_vnet *f = &fake_vnet[i];

        if (!(f->status_reg & S_DRIVER_OK))
            continue;
        if (f->q[Q_TX].ready)
            serve_tx(f);
        if (f->q[Q_RX].ready)
            serve_rx(f);
    }
}
