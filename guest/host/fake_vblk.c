/* SPDX-License-Identifier: MIT */
/* A virtio-blk device in memory behind the guest's MMIO hooks (host tests). */
#include "guest/host/fake_vblk.h"

#include <stddef.h>
#include <string.h>

#include "guest/vblk.h"
#include "guest/virtio.h"

struct fake_vblk fake_vblk[FAKE_DEVS];

#define BIT(f) FAKE_BIT(f)

/* Config fields and the width the spec asks drivers to read them at. */
static const struct {
    uint32_t off, width;
} fields[] = {
    {0, 4},  {4, 4}, /* capacity: two 32-bit halves */
    {8, 4},  {12, 4}, {16, 2}, {18, 1}, {19, 1}, {20, 4},
    {24, 1}, {25, 1}, {26, 2}, {28, 4}, {32, 1}, {34, 2},
    {36, 4}, {40, 4}, {44, 4}, {48, 4}, {52, 4}, {56, 1},
};

static uint32_t config_read(struct fake_vmmio *t, uint32_t off, uint32_t width);

void fake_vblk_init(unsigned i, uint8_t *disk, uint64_t sectors)
{
    struct fake_vblk *f = &fake_vblk[i];

    *f = (struct fake_vblk){
        .t.version = 2,
        .t.device_id = VIRTIO_ID_BLK,
        .t.num_queues = 2,
        .t.num_max = 32,
        .t.config_read = config_read,
        .t.offered = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) |
                     BIT(VIRTIO_F_EVENT_IDX) | BIT(VBLK_F_SEG_MAX) |
                     BIT(VBLK_F_SIZE_MAX) | BIT(VBLK_F_BLK_SIZE) |
                     BIT(VBLK_F_FLUSH) | BIT(VBLK_F_MQ) | BIT(VBLK_F_DISCARD) |
                     BIT(VBLK_F_WRITE_ZEROES) | BIT(VBLK_F_TOPOLOGY),
        .disk = disk,
        .sectors = sectors,
        .seg_max = 30,
        .size_max = 65536,
        .blk_size = 512,
        .max_discard = 1 << 20,
        .max_wz = 1 << 20,
        .wz_may_unmap = 1,
        .serial = "fake-serial",
        .err_len = -1,
    };
    memset(disk, 0, sectors * VBLK_SECTOR);
    fake_vmmio_set(i, &f->t);
}

static struct fake_vblk *blk_of(struct fake_vmmio *t)
{
    return (struct fake_vblk *)((char *)t - offsetof(struct fake_vblk, t));
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
        return f->t.num_queues;
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

static uint32_t config_read(struct fake_vmmio *t, uint32_t off, uint32_t width)
{
    struct fake_vblk *f = blk_of(t);

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].off == off) {
            if (fields[i].width != width)
                t->bad_width++;
            return (uint32_t)config_value(f, off);
        }
    t->bad_width++;
    return 0;
}

static bool feature(const struct fake_vblk *f, unsigned bit)
{
    return fake_vmmio_feature(&f->t, bit);
}

static uint8_t range_op(struct fake_vblk *f, uint32_t type,
                        const struct fake_seg *r)
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
                        struct fake_seg *s, unsigned n)
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
static uint32_t serve(struct fake_vblk *f, struct fake_chain *c)
{
    struct fake_seg *hdr = &c->s[0], *st = &c->s[c->n - 1];
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

static void serve_queue(struct fake_vblk *f, struct fake_queue *q)
{
    struct vq_avail *a = (struct vq_avail *)q->avail;
    static struct fake_chain c[64];
    uint32_t len[64];
    uint16_t avail = __atomic_load_n(&a->idx, __ATOMIC_ACQUIRE), old;
    unsigned n = 0;

    q->notified = false;
    if (f->stall)
        return;
    while (q->last_avail != avail && n < 64) {
        uint16_t head = a->ring[q->last_avail++ % q->num];

        if (fake_vmmio_walk(&f->t, q, head, &c[n])) {
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

        fake_vmmio_put_used(q, id, len[i] + (uint32_t)f->len_delta);
        fake_vmmio_publish(q);
    }
    fake_vmmio_want_notify(&f->t, q, avail);
    fake_vmmio_maybe_irq(&f->t, q, old);
}

void fake_vblk_run(void)
{
    for (unsigned i = 0; i < fake_vmmio_count(); i++) {
        struct fake_vblk *f = &fake_vblk[i];

        if (fake_vmmio_at(i) != &f->t || !(f->t.status & FAKE_S_DRIVER_OK))
            continue;
        for (unsigned k = 0; k < FAKE_QUEUES; k++)
            if (f->t.q[k].ready && f->t.q[k].notified)
                serve_queue(f, &f->t.q[k]);
    }
}
