/* SPDX-License-Identifier: MIT */
/* The virtio-blk driver: negotiation, config, queues, checked requests. */
#include "guest/vblk.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/timer.h"

/* struct virtio_blk_config offsets (virtio 1.2 5.2.4). */
#define C_CAPACITY 0
#define C_SIZE_MAX 8
#define C_SEG_MAX 12
#define C_BLK_SIZE 20
#define C_PHYS_EXP 24
#define C_ALIGN_OFF 25
#define C_MIN_IO 26
#define C_OPT_IO 28
#define C_NUM_QUEUES 34
#define C_MAX_DISCARD 36
#define C_MAX_DISCARD_SEG 40
#define C_DISCARD_ALIGN 44
#define C_MAX_WZ 48
#define C_MAX_WZ_SEG 52
#define C_WZ_UNMAP 56

#define BIT(f) (1ULL << (f))
#define WANT                                                                   \
    (BIT(VBLK_F_SIZE_MAX) | BIT(VBLK_F_SEG_MAX) | BIT(VBLK_F_RO) |             \
     BIT(VBLK_F_BLK_SIZE) | BIT(VBLK_F_FLUSH) | BIT(VBLK_F_TOPOLOGY) |         \
     BIT(VBLK_F_MQ) | BIT(VBLK_F_DISCARD) | BIT(VBLK_F_WRITE_ZEROES) |         \
     BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX))
#define CONFIG_TRIES 4
#define S_DRIVER_OK 4
#define S_FAILED 0x80

bool vblk_has(const struct vblk *b, unsigned f)
{
    return b->dev && b->dev->features >> f & 1;
}

uint32_t vblk_block(const struct vblk *b)
{
    uint32_t s = b->cfg.blk_size;

    if (s <= VBLK_SECTOR || s % VBLK_SECTOR || s & (s - 1) ||
        s / VBLK_SECTOR > VBLK_BLOCK_MAX)
        return 1;
    return s / VBLK_SECTOR;
}

const char *vblk_status_name(uint8_t status)
{
    static const char *const names[] = {"ok", "ioerr", "unsupp"};

    return status < ARRAY_SIZE(names) ? names[status] : "bad";
}

/* Forgets every request: after a reset the device owns none of them. */
static void forget_all(struct vblk *b)
{
    for (unsigned q = 0; q < VBLK_QUEUES_MAX; q++)
        for (unsigned h = 0; h < VQ_SIZE_MAX; h++)
            b->slot_of[q][h] = -1;
    for (unsigned i = 0; i < VBLK_REQS; i++)
        b->req[i].busy = false;
    b->inflight = 0;
}

/*
 * The device broke a rule: reset it (it then lets go of every buffer we
 * posted) and never drive it again. Returns -1 for the caller.
 */
__attribute__((format(printf, 2, 3))) static int broken(struct vblk *b,
                                                        const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    vfmt(b->why, sizeof(b->why), f, ap);
    va_end(ap);
    b->broken = b->why;
    if (b->dev)
        vdev_reset(b->dev);
    forget_all(b);
    return -1;
}

/* A request we will not send: say why, leave the device alone. */
__attribute__((format(printf, 2, 3))) static int refuse(struct vblk *b,
                                                        const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    vfmt(b->why, sizeof(b->why), f, ap);
    va_end(ap);
    return -2;
}

/* Only the fields of negotiated features exist; the rest stay 0. */
static void read_fields(struct vblk_config *c, const struct vdev *d)
{
    uint64_t f = d->features;

    *c = (struct vblk_config){.capacity = vdev_cfg64(d, C_CAPACITY)};
    if (f & BIT(VBLK_F_SIZE_MAX))
        c->size_max = vdev_cfg32(d, C_SIZE_MAX);
    if (f & BIT(VBLK_F_SEG_MAX))
        c->seg_max = vdev_cfg32(d, C_SEG_MAX);
    if (f & BIT(VBLK_F_BLK_SIZE))
        c->blk_size = vdev_cfg32(d, C_BLK_SIZE);
    if (f & BIT(VBLK_F_TOPOLOGY)) {
        c->physical_block_exp = vdev_cfg8(d, C_PHYS_EXP);
        c->alignment_offset = vdev_cfg8(d, C_ALIGN_OFF);
        c->min_io_size = vdev_cfg16(d, C_MIN_IO);
        c->opt_io_size = vdev_cfg32(d, C_OPT_IO);
    }
    if (f & BIT(VBLK_F_MQ))
        c->num_queues = vdev_cfg16(d, C_NUM_QUEUES);
    if (f & BIT(VBLK_F_DISCARD)) {
        c->max_discard_sectors = vdev_cfg32(d, C_MAX_DISCARD);
        c->max_discard_seg = vdev_cfg32(d, C_MAX_DISCARD_SEG);
        c->discard_align = vdev_cfg32(d, C_DISCARD_ALIGN);
    }
    if (f & BIT(VBLK_F_WRITE_ZEROES)) {
        c->max_wz_sectors = vdev_cfg32(d, C_MAX_WZ);
        c->max_wz_seg = vdev_cfg32(d, C_MAX_WZ_SEG);
        c->wz_may_unmap = vdev_cfg8(d, C_WZ_UNMAP);
    }
}

/* A consistent snapshot: ConfigGeneration unchanged around the reads. */
static int read_config(struct vblk *b, const struct vdev *d)
{
    for (int i = 0; i < CONFIG_TRIES; i++) {
        uint32_t gen = vdev_cfg_gen(d);

        read_fields(&b->cfg, d);
        if (vdev_cfg_gen(d) == gen)
            return 0;
    }
    fmt(b->why, sizeof(b->why), "config-generation-unstable");
    return -1;
}

static int start_queues(struct vblk *b, struct vdev *d)
{
    const char *why;

    b->nq = 1;
    if (d->features & BIT(VBLK_F_MQ)) {
        if (!b->cfg.num_queues) {
            fmt(b->why, sizeof(b->why), "MQ-with-num_queues-0");
            return -1;
        }
        b->nq = b->cfg.num_queues < VBLK_QUEUES_MAX ? b->cfg.num_queues
                                                    : VBLK_QUEUES_MAX;
    }
    for (unsigned q = 0; q < b->nq; q++)
        if (vq_setup(&b->vq[q], d, (uint16_t)q, VQ_SIZE_MAX, &why)) {
            fmt(b->why, sizeof(b->why), "q%u-%s", q, why);
            return -1;
        }
    return 0;
}

int vblk_start(struct vblk *b, struct vdev *d, struct tg *tg)
{
    const char *why;
    uint32_t st;

    b->dev = NULL;
    b->broken = NULL;
    b->next_q = 0;
    b->st = (struct vblk_stats){0};
    forget_all(b);
    if (vdev_start(d, WANT & ~b->unwanted, &why)) {
        fmt(b->why, sizeof(b->why), "%s", why);
        return -1;
    }
    if (read_config(b, d) || start_queues(b, d)) {
        vdev_reset(d);
        return -1;
    }
    /* Without SEG_MAX a request carries one data buffer, as in Linux. */
    b->seg_limit = b->cfg.seg_max ? b->cfg.seg_max : 1;
    if (b->seg_limit > VBLK_SEGS_MAX)
        b->seg_limit = VBLK_SEGS_MAX;
    if (vdev_irq_wake(d, tg))
        for (unsigned q = 0; q < b->nq; q++)
            vq_irq_enable(&b->vq[q]);
    vdev_driver_ok(d);
    st = vdev_status(d);
    if (!(st & S_DRIVER_OK) || st & (S_FAILED | VIRTIO_S_NEEDS_RESET)) {
        fmt(b->why, sizeof(b->why), "DRIVER_OK-refused status=0x%x", st);
        vdev_reset(d);
        return -1;
    }
    b->dev = d;
    return 0;
}

static bool is_range(uint32_t type)
{
    return type == VBLK_T_DISCARD || type == VBLK_T_WRITE_ZEROES;
}

/* The driver's own limits and the device's (SEG_MAX, SIZE_MAX): a bad
 * request is a bug in the caller, reported rather than sent. */
static int check_io(struct vblk *b, const struct vblk_io *io, uint32_t *bytes)
{
    bool data = io->type == VBLK_T_IN || io->type == VBLK_T_OUT;

    *bytes = 0;
    if (io->nseg > b->seg_limit || (is_range(io->type) && io->nseg) ||
        (io->type == VBLK_T_FLUSH && io->nseg) ||
        ((data || io->type == VBLK_T_GET_ID) && !io->nseg))
        return refuse(b, "bad-request segs=%u type=%u", io->nseg, io->type);
    if (io->indirect && !vblk_has(b, VIRTIO_F_INDIRECT_DESC))
        return refuse(b, "indirect-not-negotiated");
    for (unsigned i = 0; i < io->nseg; i++) {
        if (!io->seg[i].len ||
            (b->cfg.size_max && io->seg[i].len > b->cfg.size_max))
            return refuse(b, "bad-segment len=%u", io->seg[i].len);
        *bytes += io->seg[i].len;
    }
    if (data && *bytes % VBLK_SECTOR)
        return refuse(b, "bad-request bytes=%u", *bytes);
    return 0;
}

static int free_slot(const struct vblk *b)
{
    for (int i = 0; i < VBLK_REQS; i++)
        if (!b->req[i].busy)
            return i;
    return -1;
}

/* The next queue (round robin) with `need` free descriptors, or -1. */
static int pick_queue(struct vblk *b, unsigned need)
{
    for (unsigned t = 0; t < b->nq; t++) {
        unsigned q = (b->next_q + t) % b->nq;

        if (b->vq[q].nfree >= need) {
            b->next_q = (q + 1) % b->nq;
            return (int)q;
        }
    }
    return -1;
}

/* header (read), data or range, status (written): readable ones first. */
static unsigned build(struct vblk_req *r, const struct vblk_io *io,
                      struct vq_seg *s)
{
    bool in = io->type == VBLK_T_IN || io->type == VBLK_T_GET_ID;
    unsigned n = 0;

    r->hdr.type = io->type;
    r->hdr.ioprio = 0;
    r->hdr.sector = is_range(io->type) ? 0 : io->sector;
    r->status = 0xff; /* a device that never writes it is caught */
    r->writable = 1;
    s[n++] = (struct vq_seg){&r->hdr, sizeof(r->hdr), false};
    if (is_range(io->type)) {
        r->range.sector = io->sector;
        r->range.num = io->num;
        r->range.flags = io->flags;
        s[n++] = (struct vq_seg){&r->range, sizeof(r->range), false};
    }
    for (unsigned i = 0; i < io->nseg; i++) {
        s[n++] = (struct vq_seg){io->seg[i].p, io->seg[i].len, in};
        r->writable += in ? io->seg[i].len : 0;
    }
    s[n++] = (struct vq_seg){&r->status, 1, true};
    return n;
}

int vblk_submit(struct vblk *b, const struct vblk_io *io)
{
    struct vq_seg s[VBLK_SEGS_MAX + 2];
    struct vblk_req *r;
    uint32_t bytes;
    unsigned n, need;
    int slot, q, h;

    if (b->broken)
        return -2; /* b->why says why */
    if (!b->dev)
        return refuse(b, "not-started");
    if (check_io(b, io, &bytes))
        return -2;
    need = io->indirect ? 1 : io->nseg + 2 + is_range(io->type);
    slot = free_slot(b);
    q = slot < 0 ? -1 : pick_queue(b, need);
    if (q < 0) {
        if (b->inflight)
            return -1;
        return refuse(b, "request-too-large descs=%u", need);
    }
    r = &b->req[slot];
    n = build(r, io, s);
    h = io->indirect ? vq_post_indirect(&b->vq[q], r->table, s, n)
                     : vq_post(&b->vq[q], s, n);
    if (h < 0) { /* pick_queue() saw the room: the ring is corrupt */
        broken(b, "post-failed");
        return -2;
    }
    r->busy = true;
    r->q = (uint8_t)q;
    r->head = (uint16_t)h;
    r->bytes = bytes;
    b->slot_of[q][h] = (int8_t)slot;
    if (++b->inflight > b->st.max_inflight)
        b->st.max_inflight = b->inflight;
    b->st.reqs++;
    b->st.indirect += io->indirect;
    return slot;
}

void vblk_kick(struct vblk *b)
{
    for (unsigned q = 0; q < b->nq && b->dev && !b->broken; q++)
        if (b->vq[q].kicked != b->vq[q].avail_idx)
            vq_kick(&b->vq[q]);
}

/*
 * One used element of queue q: it must be a request we posted there,
 * with a len that fits what it did. A device must write at least len
 * bytes from the first writable one, and the driver may not trust
 * anything beyond len (virtio 1.2 2.7.8), so an OK request says it wrote
 * all of them: data, then the status byte, the last. A failed one may
 * not have touched the data: QEMU still counts every writable byte,
 * kvmini only the status; both are taken (len 1..writable).
 */
static int complete(struct vblk *b, unsigned q, uint16_t head, uint32_t len,
                    int *slot, uint8_t *status)
{
    int s = b->slot_of[q][head];
    struct vblk_req *r = s < 0 ? NULL : &b->req[s];

    if (!r || !r->busy || r->q != q || r->head != head)
        return broken(b, "used-id-unknown q=%u id=%u", q, head);
    if (r->status > VBLK_S_UNSUPP)
        return broken(b, "status=0x%x type=%u", r->status, r->hdr.type);
    if (r->status == VBLK_S_OK ? len != r->writable : !len || len > r->writable)
        return broken(b, "used-len=%u want=%u type=%u status=%s", len,
                      r->writable, r->hdr.type, vblk_status_name(r->status));
    b->slot_of[q][head] = -1;
    r->busy = false;
    b->inflight--;
    b->st.per_q[q]++;
    if (r->status == VBLK_S_OK) {
        b->st.ok++;
        if (r->hdr.type == VBLK_T_IN)
            b->st.bytes_in += r->bytes;
        else if (r->hdr.type == VBLK_T_OUT)
            b->st.bytes_out += r->bytes;
    } else if (r->status == VBLK_S_IOERR) {
        b->st.ioerr++;
    } else {
        b->st.unsupp++;
    }
    *slot = s;
    *status = r->status;
    return 1;
}

int vblk_reap_ready(struct vblk *b, int *slot, uint8_t *status)
{
    if (b->broken || !b->inflight)
        return b->broken ? -1 : 0;
    for (unsigned q = 0; q < b->nq; q++) {
        uint16_t head;
        uint32_t len;
        int r = vq_get_used(&b->vq[q], &head, &len);

        if (r < 0)
            return broken(b, "used-id-not-outstanding q=%u", q);
        if (r)
            return complete(b, q, head, len, slot, status);
    }
    return 0;
}

int vblk_reap(struct vblk *b, struct tg *tg, int *slot, uint8_t *status)
{
    uint64_t end;

    if (b->broken || !b->inflight)
        return b->broken ? -1 : 0;
    end = timer_deadline(&tg->timer, VBLK_WAIT_US);
    for (;;) {
        int r = vblk_reap_ready(b, slot, status);

        if (r)
            return r;
        if (timer_expired(end))
            return broken(b, "timeout inflight=%u", b->inflight);
        /* Acknowledge, then look again: a completion after the look
         * raises a new interrupt, which ends the hlt. */
        if (b->dev->irq_wake) {
            uint32_t isr = vdev_irq_ack(b->dev);

            if (isr & VIRTIO_ISR_CONFIG &&
                vdev_status(b->dev) & VIRTIO_S_NEEDS_RESET)
                return broken(b, "device-needs-reset");
            if (isr)
                continue;
        }
        tg_idle(tg);
    }
}

int vblk_run(struct vblk *b, struct tg *tg, const struct vblk_io *io,
             uint8_t *status)
{
    int slot, done, r;

    if (b->inflight) {
        fmt(b->why, sizeof(b->why), "busy");
        return -1;
    }
    slot = vblk_submit(b, io);
    if (slot < 0)
        return -1;
    vblk_kick(b);
    r = vblk_reap(b, tg, &done, status);
    if (r <= 0 || done != slot)
        return r ? -1 : broken(b, "lost-request");
    return 0;
}
