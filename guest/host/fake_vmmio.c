/* SPDX-License-Identifier: MIT */
/* The virtio-mmio transport and ring side of the guest's fake devices. */
#include "guest/host/fake_vmmio.h"

#include <stdio.h>
#include <string.h>

#include "guest/virtio.h"

#define AVAIL_F_NO_INTERRUPT 1

static struct fake_vmmio *devs[FAKE_DEVS];
static unsigned dev_count;

void fake_vmmio_set(unsigned i, struct fake_vmmio *t)
{
    devs[i] = t;
    if (dev_count <= i)
        dev_count = i + 1;
}

void fake_vmmio_none(void)
{
    memset(devs, 0, sizeof(devs));
    dev_count = 0;
}

unsigned fake_vmmio_count(void)
{
    return dev_count;
}

const char *fake_vmmio_cmdline(const char *words)
{
    static char cl[1024];
    size_t n = 0;

    for (unsigned i = 0; i < dev_count; i++)
        n += (size_t)snprintf(cl + n, sizeof(cl) - n,
                              "virtio_mmio.device=0x%x@0x%llx:%u ",
                              FAKE_WINDOW, FAKE_BASE + i * FAKE_WINDOW, 5 + i);
    snprintf(cl + n, sizeof(cl) - n, "%s", words);
    return cl;
}

struct fake_vmmio *fake_vmmio_at(unsigned i)
{
    return i < dev_count ? devs[i] : NULL;
}

bool fake_vmmio_feature(const struct fake_vmmio *t, unsigned bit)
{
    return t->drv_features >> bit & 1;
}

static struct fake_vmmio *dev_at(uint64_t addr, uint32_t *off)
{
    uint64_t i = (addr - FAKE_BASE) / FAKE_WINDOW;

    if (addr < FAKE_BASE || i >= dev_count)
        return NULL;
    *off = (uint32_t)((addr - FAKE_BASE) % FAKE_WINDOW);
    return devs[i];
}

static struct fake_queue *selected(struct fake_vmmio *t)
{
    return t->queue_sel < FAKE_QUEUES ? &t->q[t->queue_sel] : NULL;
}

static uint32_t reg_read(struct fake_vmmio *t, uint32_t off)
{
    struct fake_queue *q = selected(t);

    switch (off) {
    case 0x000:
        return VIRTIO_MAGIC;
    case 0x004:
        return t->version;
    case 0x008:
        return t->device_id;
    case 0x00c:
        return 0x54534554; /* "TEST" */
    case 0x010:
        return t->dev_sel > 1 || (t->version == 1 && t->dev_sel)
                   ? 0
                   : (uint32_t)(t->offered >> (32 * t->dev_sel));
    case 0x034:
        return q && t->queue_sel < t->num_queues ? t->num_max : 0;
    case 0x040:
        return q ? q->pfn : 0;
    case 0x044:
        return q ? q->ready : 0;
    case 0x060:
        return t->isr;
    case 0x070:
        return t->status;
    default:
        return 0;
    }
}

static void reset(struct fake_vmmio *t)
{
    t->status = 0;
    t->drv_features = 0;
    t->isr = 0;
    memset(t->q, 0, sizeof(t->q));
    t->resets++;
    if (t->on_reset)
        t->on_reset(t);
}

/* Legacy rings: desc at PFN * page size, avail after it, used at the
 * next QueueAlign boundary after the avail ring (used_event counted). */
static void legacy_rings(struct fake_vmmio *t, struct fake_queue *q)
{
    uint64_t align = q->align ? q->align : 4096;

    q->desc = (uint64_t)q->pfn * t->page_size;
    q->avail = q->desc + 16ULL * q->num;
    q->used = (q->avail + 6 + 2ULL * q->num + align - 1) & ~(align - 1);
    q->ready = q->pfn != 0;
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
    *v = high ? (*v & 0xffffffffu) | (uint64_t)x << 32
              : (*v & ~0xffffffffULL) | x;
}

static void status_write(struct fake_vmmio *t, uint32_t v)
{
    uint64_t bad = t->drv_features & ~t->offered;

    if (!v) {
        reset(t);
        return;
    }
    /* FEATURES_OK only for a subset of what was offered, with VERSION_1. */
    if (v & FAKE_S_FEATURES_OK && (bad || !(t->drv_features >> 32 & 1)))
        v &= ~(uint32_t)FAKE_S_FEATURES_OK;
    t->status = v;
}

static void reg_write(struct fake_vmmio *t, uint32_t off, uint32_t v)
{
    struct fake_queue *q = selected(t);

    switch (off) {
    case 0x014:
        t->dev_sel = v;
        break;
    case 0x020:
        if (t->drv_sel < 2)
            set_half(&t->drv_features, t->drv_sel, v);
        break;
    case 0x024:
        t->drv_sel = v;
        break;
    case 0x028:
        t->page_size = v;
        break;
    case 0x030:
        t->queue_sel = v;
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
            legacy_rings(t, q);
        }
        break;
    case 0x044:
        if (q)
            q->ready = v;
        break;
    case 0x050:
        if (v < FAKE_QUEUES) {
            t->notifies[v]++;
            t->q[v].notified = true;
        }
        break;
    case 0x064:
        t->isr &= ~v;
        break;
    case 0x070:
        status_write(t, v);
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
    struct fake_vmmio *t = dev_at(addr, &off);

    if (!t)
        return width == 4 ? 0xffffffffu : width == 2 ? 0xffff : 0xff;
    if (off >= 0x100)
        return t->config_read(t, off - 0x100, width);
    if (width != 4)
        t->bad_width++;
    return reg_read(t, off);
}

/* The guest's MMIO accessors (guest/virtio.h, TG_HOST_IO). */
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
    struct fake_vmmio *t = dev_at(addr, &off);

    if (t && off < 0x100)
        reg_write(t, off, v);
}

/* --- the device side of the rings --------------------------------------- */

int fake_vmmio_walk(struct fake_vmmio *t, struct fake_queue *q, uint16_t head,
                    struct fake_chain *c)
{
    struct vq_desc *d = (struct vq_desc *)q->desc;
    unsigned i = head, n = q->num;

    c->head = head;
    c->n = 0;
    c->cap = 0;
    if (head >= q->num)
        return -1;
    if (d[i].flags & VQ_DESC_F_INDIRECT) {
        n = d[i].len / sizeof(*d);
        d = (struct vq_desc *)d[i].addr;
        i = 0;
        t->indirect++;
    }
    for (unsigned hops = 0; hops < n && c->n < FAKE_SEGS_MAX; hops++) {
        if (i >= n)
            return -1;
        c->s[c->n++] = (struct fake_seg){(uint8_t *)d[i].addr, d[i].len,
                                         d[i].flags & VQ_DESC_F_WRITE};
        c->cap += d[i].len;
        if (!(d[i].flags & VQ_DESC_F_NEXT))
            return 0;
        i = d[i].next;
    }
    return -1;
}

void fake_vmmio_put_used(struct fake_queue *q, uint16_t id, uint32_t len)
{
    struct vq_used *u = (struct vq_used *)q->used;

    u->ring[q->used_idx % q->num].id = id;
    u->ring[q->used_idx % q->num].len = len;
    q->used_idx++;
}

void fake_vmmio_publish(struct fake_queue *q)
{
    __atomic_store_n(&((struct vq_used *)q->used)->idx, q->used_idx,
                     __ATOMIC_RELEASE);
}

void fake_vmmio_want_notify(const struct fake_vmmio *t, struct fake_queue *q,
                            uint16_t upto)
{
    if (fake_vmmio_feature(t, VIRTIO_F_EVENT_IDX))
        *(volatile uint16_t *)&((struct vq_used *)q->used)->ring[q->num] = upto;
}

void fake_vmmio_maybe_irq(struct fake_vmmio *t, struct fake_queue *q,
                          uint16_t old)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    bool want;

    if (old == q->used_idx)
        return;
    if (fake_vmmio_feature(t, VIRTIO_F_EVENT_IDX)) {
        uint16_t ev = a->ring[q->num];

        want = (uint16_t)(q->used_idx - ev - 1) < (uint16_t)(q->used_idx - old);
    } else {
        want = !(a->flags & AVAIL_F_NO_INTERRUPT);
    }
    if (want) {
        t->irqs++;
        t->isr |= 1;
    }
}
