/* SPDX-License-Identifier: MIT */
/* A virtio-blk device in memory behind the guest's MMIO hooks (host tests). */
#include "guest/host/fake_vblk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vblk.h"
#include "guest/virtio.h"

struct fake_vblk fake_vblk[FAKE_DEVS];
static unsigned fake_count;

#define BIT(f) (1ULL << (f))
#define S_FEATURES_OK 8
#define AVAIL_F_NO_INTERRUPT 1
#define SEGS_MAX 64

/* Config fields and the width the spec asks drivers to read them at. */
static const struct {
    uint32_t off, width;
} fields[] = {
    {0, 4},  {4, 4}, /* capacity: two 32-bit halves */
    {8, 4},  {12, 4}, {16, 2}, {18, 1}, {19, 1}, {20, 4},
    {24, 1}, {25, 1}, {26, 2}, {28, 4}, {32, 1}, {34, 2},
    {36, 4}, {40, 4}, {44, 4}, {48, 4}, {52, 4}, {56, 1},
};

void fake_vblk_init(unsigned i, uint8_t *disk, uint64_t sectors)
{
    struct fake_vblk *f = &fake_vblk[i];

    *f = (struct fake_vblk){
        .version = 2,
        .offered = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) |
                   BIT(VIRTIO_F_EVENT_IDX) | BIT(VBLK_F_SEG_MAX) |
                   BIT(VBLK_F_SIZE_MAX) | BIT(VBLK_F_BLK_SIZE) |
                   BIT(VBLK_F_FLUSH) | BIT(VBLK_F_MQ) | BIT(VBLK_F_DISCARD) |
                   BIT(VBLK_F_WRITE_ZEROES) | BIT(VBLK_F_TOPOLOGY),
        .num_max = 32,
        .disk = disk,
        .sectors = sectors,
        .seg_max = 30,
        .size_max = 65536,
        .blk_size = 512,
        .max_discard = 1 << 20,
        .max_wz = 1 << 20,
        .num_queues = 2,
        .wz_may_unmap = 1,
        .serial = "fake-serial",
        .err_len = -1,
    };
    memset(disk, 0, sectors * VBLK_SECTOR);
    if (fake_count <= i)
        fake_count = i + 1;
}

void fake_vblk_none(void)
{
    fake_count = 0;
}

unsigned fake_vblk_count(void)
{
    return fake_count;
}

static struct fake_vblk *dev_at(uint64_t addr, uint32_t *off)
{
    uint64_t i = (addr - FAKE_BASE) / FAKE_WINDOW;

    if (addr < FAKE_BASE || i >= fake_count)
        return NULL;
    *off = (uint32_t)((addr - FAKE_BASE) % FAKE_WINDOW);
    return &fake_vblk[i];
}

static uint64_t config_value(const struct fake_vblk *f, uint32_t off)
{
    switch (off) {
    case 0:
        return f->sectors & 0xffffffffu;
    case 4:
        return f->sectors >> 32;
    case 8:
        return f->size_max;
    case 12:
        return f->seg_max;
    case 20:
        return f->blk_size;
    case 34:
        return f->num_queues;
    case 36:
        return f->max_discard;
    case 40:
        return 1; /* max_discard_seg */
    case 44:
        return 1; /* discard_sector_alignment */
    case 48:
        return f->max_wz;
    case 52:
        return 1; /* max_write_zeroes_seg */
    case 56:
        return f->wz_may_unmap;
    default:
        return 0;
    }
}

static uint32_t config_read(struct fake_vblk *f, uint32_t off, uint32_t width)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].off == off) {
            if (fields[i].width != width)
                f->bad_width++;
            return (uint32_t)config_value(f, off);
        }
    f->bad_width++;
    return 0;
}

static uint32_t reg_read(struct fake_vblk *f, uint32_t off)
{
    struct fake_queue *q =
        f->queue_sel < FAKE_QUEUES ? &f->q[f->queue_sel] : NULL;

    switch (off) {
    case 0x000:
        return VIRTIO_MAGIC;
    case 0x004:
        return f->version;
    case 0x008:
        return VIRTIO_ID_BLK;
    case 0x00c:
        return 0x54534554; /* "TEST" */
    case 0x010:
        return f->dev_sel > 1 || (f->version == 1 && f->dev_sel)
                   ? 0
                   : (uint32_t)(f->offered >> (32 * f->dev_sel));
    case 0x034:
        return q && f->queue_sel < f->num_queues ? f->num_max : 0;
    case 0x040:
        return q ? q->pfn : 0;
    case 0x044:
        return q ? q->ready : 0;
    case 0x060:
        return f->isr;
    case 0x070:
        return f->status;
    case 0x0fc:
        return 0;
    default:
        return 0;
    }
}

static void reset(struct fake_vblk *f)
{
    f->status = 0;
    f->drv_features = 0;
    f->isr = 0;
    memset(f->q, 0, sizeof(f->q));
    f->resets++;
}

/* Legacy rings: desc at PFN * page size, avail after it, used at the
 * next QueueAlign boundary after the avail ring (used_event counted). */
static void legacy_rings(struct fake_vblk *f, struct fake_queue *q)
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

static void status_write(struct fake_vblk *f, uint32_t v)
{
    uint64_t bad = f->drv_features & ~f->offered;

    if (!v) {
        reset(f);
        return;
    }
    /* FEATURES_OK only for a subset of what was offered. */
    if (v & S_FEATURES_OK && (bad || !(f->drv_features >> 32 & 1)))
        v &= ~(uint32_t)S_FEATURES_OK;
    f->status = v;
}

static void reg_write(struct fake_vblk *f, uint32_t off, uint32_t v)
{
    struct fake_queue *q =
        f->queue_sel < FAKE_QUEUES ? &f->q[f->queue_sel] : NULL;

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
        f->notifies++;
        if (v < FAKE_QUEUES)
            f->q[v].notified = true;
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
    struct fake_vblk *f = dev_at(addr, &off);

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
    struct fake_vblk *f = dev_at(addr, &off);

    if (f && off < 0x100)
        reg_write(f, off, v);
}

/* --- the device side of the ring ------------------------------------- */

struct seg {
    uint8_t *p;
    uint32_t len;
    bool write;
};

struct chain {
    uint16_t head;
    struct seg s[SEGS_MAX];
    unsigned n;
};

static bool feature(const struct fake_vblk *f, unsigned bit)
{
    return f->drv_features >> bit & 1;
}

/* Collects a chain's buffers, following one indirect table. */
static int walk(struct fake_vblk *f, struct fake_queue *q, uint16_t head,
                struct chain *c)
{
    struct vq_desc *d = (struct vq_desc *)q->desc;
    unsigned i = head, n = q->num;

    c->head = head;
    c->n = 0;
    if (d[i].flags & VQ_DESC_F_INDIRECT) {
        n = d[i].len / sizeof(*d);
        d = (struct vq_desc *)d[i].addr;
        i = 0;
        f->indirect++;
    }
    for (unsigned hops = 0; hops < n && c->n < SEGS_MAX; hops++) {
        c->s[c->n++] = (struct seg){(uint8_t *)d[i].addr, d[i].len,
                                    d[i].flags & VQ_DESC_F_WRITE};
        if (!(d[i].flags & VQ_DESC_F_NEXT))
            return 0;
        i = d[i].next;
    }
    return -1;
}

static uint8_t range_op(struct fake_vblk *f, uint32_t type, const struct seg *r)
{
    uint64_t sector;
    uint32_t num;

    if (r->write || r->len != 16)
        return VBLK_S_IOERR;
    memcpy(&sector, r->p, 8);
    memcpy(&num, r->p + 8, 4);
    if (!feature(f,
                 type == VBLK_T_DISCARD ? VBLK_F_DISCARD : VBLK_F_WRITE_ZEROES))
        return VBLK_S_UNSUPP;
    if (feature(f, VBLK_F_RO) || sector > f->sectors ||
        num > f->sectors - sector)
        return VBLK_S_IOERR;
    memset(f->disk + sector * VBLK_SECTOR, 0, (uint64_t)num * VBLK_SECTOR);
    return VBLK_S_OK;
}

/* Data transfer between the disk and segments s[0..n). */
static uint8_t transfer(struct fake_vblk *f, bool out, uint64_t sector,
                        struct seg *s, unsigned n)
{
    uint64_t bytes = 0, at;

    for (unsigned i = 0; i < n; i++)
        if (s[i].write == out || s[i].len > f->size_max)
            return VBLK_S_IOERR;
        else
            bytes += s[i].len;
    /* Like QEMU: requests start and end on the logical block. */
    if (bytes % f->blk_size || sector % (f->blk_size / VBLK_SECTOR) ||
        sector > f->sectors || bytes / VBLK_SECTOR > f->sectors - sector)
        return VBLK_S_IOERR;
    if (out && ((feature(f, VBLK_F_RO) && !f->ro_ignored) ||
                (f->enospc_at && sector + bytes / VBLK_SECTOR > f->enospc_at)))
        return VBLK_S_IOERR;
    at = sector * VBLK_SECTOR;
    for (unsigned i = 0; i < n; i++) {
        if (out)
            memcpy(f->disk + at, s[i].p, s[i].len);
        else
            memcpy(s[i].p, f->disk + at, s[i].len);
        at += s[i].len;
    }
    if (out)
        f->writes_done++;
    return VBLK_S_OK;
}

/* Serves one chain; returns the used len (bytes the device may write). */
static uint32_t serve(struct fake_vblk *f, struct chain *c)
{
    struct seg *hdr = &c->s[0], *st = &c->s[c->n - 1];
    uint32_t type, writable = 0;
    uint64_t sector;
    uint8_t status;

    for (unsigned i = 0; i < c->n; i++)
        writable += c->s[i].write ? c->s[i].len : 0;
    if (c->n < 2 || hdr->write || hdr->len != 16 || !st->write ||
        st->len != 1) {
        f->bad_chain++;
        return writable;
    }
    memcpy(&type, hdr->p, 4);
    memcpy(&sector, hdr->p + 8, 8);
    f->reqs++;
    f->by_type[type < 16 ? type : 15]++;
    if (type == VBLK_T_IN || type == VBLK_T_OUT) {
        status = transfer(f, type == VBLK_T_OUT, sector, c->s + 1, c->n - 2);
    } else if (type == VBLK_T_FLUSH) {
        status = feature(f, VBLK_F_FLUSH) ? VBLK_S_OK : VBLK_S_UNSUPP;
        f->writes_at_flush = f->writes_done;
    } else if (type == VBLK_T_GET_ID && c->n == 3 && c->s[1].write) {
        memcpy(c->s[1].p, f->serial,
               c->s[1].len < sizeof(f->serial) ? c->s[1].len
                                               : sizeof(f->serial));
        status = VBLK_S_OK;
    } else if ((type == VBLK_T_DISCARD || type == VBLK_T_WRITE_ZEROES) &&
               c->n == 3) {
        status = range_op(f, type, &c->s[1]);
    } else {
        status = VBLK_S_UNSUPP;
    }
    if (!f->skip_status)
        *st->p = status;
    return status != VBLK_S_OK && f->err_len >= 0 ? (uint32_t)f->err_len
                                                  : writable;
}

static void push(struct fake_queue *q, uint16_t id, uint32_t len)
{
    struct vq_used *u = (struct vq_used *)q->used;

    u->ring[q->used_idx % q->num].id = id;
    u->ring[q->used_idx % q->num].len = len;
    __atomic_store_n(&u->idx, ++q->used_idx, __ATOMIC_RELEASE);
}

/* Would the driver want an interrupt for entries [old, used_idx)? */
static void maybe_irq(struct fake_vblk *f, struct fake_queue *q, uint16_t old)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    bool want;

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

static void serve_queue(struct fake_vblk *f, struct fake_queue *q)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static struct chain c[64];
    uint32_t len[64];
    uint16_t avail = __atomic_load_n(&a->idx, __ATOMIC_ACQUIRE), old;
    unsigned n = 0;

    q->notified = false;
    if (f->stall)
        return;
    while (q->last_avail != avail && n < 64) {
        uint16_t head = a->ring[q->last_avail++ % q->num];

        if (head >= q->num || walk(f, q, head, &c[n])) {
            f->bad_chain++;
            continue;
        }
        len[n] = serve(f, &c[n]);
        n++;
    }
    if (n > f->max_batch)
        f->max_batch = n;
    old = q->used_idx;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = f->reverse ? n - 1 - k : k;
        uint16_t id = f->bad_head ? (uint16_t)(q->num + 3) : c[i].head;

        push(q, id, len[i] + (uint32_t)f->len_delta);
    }
    if (feature(f, VIRTIO_F_EVENT_IDX)) /* avail_event: notify from here */
        *(volatile uint16_t *)&((struct vq_used *)q->used)->ring[q->num] =
            avail;
    maybe_irq(f, q, old);
}

void fake_vblk_run(void)
{
    for (unsigned i = 0; i < fake_count; i++) {
        struct fake_vblk *f = &fake_vblk[i];

        if (!(f->status & 4)) /* DRIVER_OK */
            continue;
        for (unsigned k = 0; k < FAKE_QUEUES; k++)
            if (f->q[k].ready && f->q[k].notified)
                serve_queue(f, &f->q[k]);
    }
}
