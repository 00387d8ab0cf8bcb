/* SPDX-License-Identifier: MIT */
/* Fuzz input reader and the hostile virtio driver shared by the targets. */
#include "tests/fuzz/fz.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/log.h"
#include "virtio/virtio_spec.h"

int fz_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    if (!getenv("FZ_DEBUG")) {
        FILE *null = fopen("/dev/null", "w");
        if (null)
            stderr = null; /* glibc: stderr is an assignable variable */
    }
    return 0;
}

uint8_t fz_u8(struct fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t fz_le(struct fz_in *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)fz_u8(in) << (8 * i);
    return v;
}

uint16_t fz_u16(struct fz_in *in)
{
    return (uint16_t)fz_le(in, 2);
}

uint32_t fz_u32(struct fz_in *in)
{
    return (uint32_t)fz_le(in, 4);
}

uint64_t fz_u64(struct fz_in *in)
{
    return fz_le(in, 8);
}

bool fz_bool(struct fz_in *in)
{
    return fz_u8(in) & 1;
}

size_t fz_bytes(struct fz_in *in, void *dst, size_t max)
{
    size_t k = fz_u8(in);
    if (k > max)
        k = max;
    if (k > in->n)
        k = in->n;
    memcpy(dst, in->p, k);
    in->p += k;
    in->n -= k;
    return k;
}

void fz_str(struct fz_in *in, char *dst, size_t cap)
{
    size_t k = 0;
    while (in->n && *in->p && k + 1 < cap)
        dst[k++] = (char)fz_u8(in);
    if (in->n && !*in->p)
        fz_u8(in); /* the terminator */
    dst[k] = '\0';
}

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    /* fd 2, not stderr: fz_init may have pointed stderr at /dev/null. */
    dprintf(2, "FUZZ CHECK FAILED at %s:%d: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vdprintf(2, fmt, ap);
    va_end(ap);
    dprintf(2, "\n");
    abort();
}

void *fz_devnull(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

/* ---- the hostile driver -------------------------------------------------- */

enum fz_op {
    OP_REG_WRITE,
    OP_REG_READ,
    OP_SETUP,
    OP_DESC,
    OP_AVAIL,
    OP_AVAIL_RAW,
    OP_RING_WORD,
    OP_RAM,
    OP_KICK,
    OP_SERVE,
    OP_RESET,
    OP_CFG,
    OP_ACK,
    OP_CHAIN,
    OP_BACKEND,
    OP_NOPS
};

/* A guest-physical address: mostly inside RAM, sometimes at its edges,
 * in the second region, or anything at all. */
static uint64_t fz_gpa(struct fz_in *in)
{
    uint8_t sel = fz_u8(in);
    switch (sel & 7) {
    case 4:
        return FG_BASE + FZ_RAM - fz_u8(in); /* straddles into region 2 */
    case 5:
        return FG_BASE + FZ_RAM + fz_u16(in) % (FZ_RAM2 + 64);
    case 6:
        return fz_u64(in);
    case 7:
        return FG_BASE - 1 - fz_u8(in);
    default:
        return FG_BASE + fz_u16(in) % FZ_RAM;
    }
}

static uint32_t fz_len(struct fz_in *in)
{
    uint8_t sel = fz_u8(in);
    switch (sel & 3) {
    case 0:
        return fz_u8(in);
    case 1:
        return fz_u16(in) % 8192;
    case 2:
        return fz_u32(in);
    default:
        return 512u << (fz_u8(in) % 5);
    }
}

/* Host view of guest memory, NULL unless all of it is RAM. */
static void *fz_host(struct fz_virtio *v, uint64_t gpa, uint64_t len)
{
    return gmem_ptr(&v->g.mem, gpa, len);
}

static void reg_access(struct fz_virtio *v, uint64_t off, uint32_t len,
                       uint64_t *val, bool write)
{
    vmmio_access(v->g.m, off, val, len, write);
}

static void reg_wr(struct fz_virtio *v, uint32_t off, uint32_t val)
{
    fg_wr(&v->g, off, val);
}

static void forget_queues(struct fz_virtio *v)
{
    memset(v->q, 0, sizeof(v->q));
}

/* Place queue qi's rings from the input and enable it. */
static void setup_queue(struct fz_virtio *v, unsigned qi, struct fz_in *in)
{
    struct fz_vq *q = &v->q[qi];
    uint32_t num = 1u << (fz_u8(in) % 10);
    if (num > v->qmax)
        num = v->qmax;
    reg_wr(v, VMMIO_QUEUE_SEL, qi);
    reg_wr(v, VMMIO_QUEUE_NUM, num);
    *q = (struct fz_vq){.num = num};
    if (v->legacy) {
        uint32_t align = fz_bool(in) ? 4096 : 1u << (fz_u8(in) % 14);
        uint64_t page = FG_BASE / 4096 + fz_u8(in) % (FZ_RAM / 4096);
        reg_wr(v, VMMIO_QUEUE_ALIGN, align);
        q->desc = page * 4096;
        q->avail = q->desc + VRING_DESC_SIZE(num);
        q->used = (q->avail + VRING_AVAIL_SIZE(num) + align - 1) &
                  ~(uint64_t)(align - 1);
        reg_wr(v, VMMIO_QUEUE_PFN, (uint32_t)page);
    } else {
        uint64_t at = FG_BASE + (fz_u16(in) % FZ_RAM & ~15u);
        q->desc = at;
        q->avail = q->desc + VRING_DESC_SIZE(num);
        q->used = (q->avail + VRING_AVAIL_SIZE(num) + 3) & ~3ULL;
        reg_wr(v, VMMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        reg_wr(v, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
        reg_wr(v, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
        reg_wr(v, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
        reg_wr(v, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
        reg_wr(v, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
        reg_wr(v, VMMIO_QUEUE_READY, 1);
    }
}

/* A valid handshake: features from the input (what the device offers,
 * plus VERSION_1 if modern), rings for the queues the input picks. */
static void op_setup(struct fz_virtio *v, struct fz_in *in)
{
    uint64_t want = fz_u64(in);
    uint16_t qmask = fz_u16(in);
    if (!v->legacy)
        want |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
    forget_queues(v);
    fg_negotiate(&v->g, want);
    for (unsigned i = 0; i < v->nq; i++)
        if (i == 0 || (i < 16 && (qmask >> i) & 1))
            setup_queue(v, i, in);
    fg_wr(&v->g, VMMIO_STATUS, fg_status(&v->g) | VIRTIO_STATUS_DRIVER_OK);
}

static struct fz_vq *pick_queue(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = &v->q[fz_u8(in) % v->nq];
    return q->num ? q : NULL;
}

static void put_desc(struct fz_virtio *v, struct fz_vq *q, uint32_t idx,
                     const struct vring_desc *d)
{
    struct vring_desc *p = fz_host(v, q->desc + 16ULL * idx, 16);
    if (p)
        memcpy(p, d, sizeof(*d));
}

static void op_desc(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = pick_queue(v, in);
    uint16_t idx = fz_u16(in);
    struct vring_desc d = {.addr = fz_gpa(in), .len = fz_len(in)};
    uint8_t fl = fz_u8(in);
    d.flags = fl & 0x80 ? fz_u16(in) : fl & 7;
    d.next = fz_u16(in);
    if (!q)
        return;
    if (!(fl & 0x40))
        d.next %= q->num;
    put_desc(v, q, idx % q->num, &d);
}

static void publish(struct fz_virtio *v, struct fz_vq *q, uint16_t head)
{
    uint16_t *ring =
        fz_host(v, q->avail + 4 + 2ULL * (q->avail_idx % q->num), 2);
    uint16_t *idx = fz_host(v, q->avail + 2, 2);
    if (!ring || !idx)
        return;
    *ring = head;
    q->avail_idx++;
    /* Release: the entry before the index, as a driver does. */
    __atomic_store_n(idx, q->avail_idx, __ATOMIC_RELEASE);
}

static void op_avail(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = pick_queue(v, in);
    uint16_t head = fz_u16(in);
    if (q)
        publish(v, q, head & 0x8000 ? head : head % q->num);
}

static void op_avail_raw(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = pick_queue(v, in);
    uint16_t idx = fz_u16(in);
    uint16_t *p = q ? fz_host(v, q->avail + 2, 2) : NULL;
    if (p) {
        q->avail_idx = idx;
        __atomic_store_n(p, idx, __ATOMIC_RELEASE);
    }
}

/* Any 16-bit word of the rings the device reads or only writes: avail
 * flags and used_event, and (hostile) used flags, idx and avail_event. */
static void op_ring_word(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = pick_queue(v, in);
    uint8_t which = fz_u8(in);
    uint16_t val = fz_u16(in);
    if (!q)
        return;
    uint64_t at;
    switch (which % 5) {
    case 0:
        at = q->avail;
        break; /* flags */
    case 1:
        at = q->avail + 4 + 2ULL * q->num;
        break; /* used_event */
    case 2:
        at = q->used;
        break; /* flags */
    case 3:
        at = q->used + 2;
        break; /* idx */
    default:
        at = q->used + 4 + 8ULL * q->num;
        break; /* avail_event */
    }
    uint16_t *p = fz_host(v, at, 2);
    if (p)
        __atomic_store_n(p, val, __ATOMIC_RELAXED);
}

static void op_ram(struct fz_virtio *v, struct fz_in *in)
{
    uint32_t off = fz_u16(in) % FZ_RAM;
    uint8_t tmp[256];
    size_t k = fz_bytes(in, tmp, sizeof(tmp));
    if (k > FZ_RAM - off)
        k = FZ_RAM - off;
    memcpy(v->ram + off, tmp, k);
}

/* A whole chain in one op, so a device's request decoding is reached
 * without the fuzzer having to discover ring mechanics first. */
static void op_chain(struct fz_virtio *v, struct fz_in *in)
{
    struct fz_vq *q = pick_queue(v, in);
    uint8_t shape = fz_u8(in);
    unsigned n = 1 + shape % 8;
    bool indirect = shape & 0x10;
    struct vring_desc d[8];
    for (unsigned i = 0; i < n; i++) {
        uint8_t fl = fz_u8(in);
        d[i] = (struct vring_desc){.addr = fz_gpa(in), .len = fz_len(in)};
        d[i].flags = (fl & 1 ? VRING_DESC_F_WRITE : 0) |
                     (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        if (fl & 0x80)
            d[i].flags ^= fz_u8(in) & 7; /* a malformed one */
        uint8_t data[64];
        size_t k = fl & 2 ? fz_bytes(in, data, sizeof(data)) : 0;
        void *p = k ? fz_host(v, d[i].addr, k) : NULL;
        if (p)
            memcpy(p, data, k);
    }
    uint64_t table = indirect ? fz_gpa(in) : 0;
    bool kick = !(shape & 0x20);
    if (!q)
        return;
    uint16_t head = q->next_desc % q->num;
    if (indirect) {
        for (unsigned i = 0; i < n; i++)
            d[i].next = (uint16_t)(i + 1);
        void *t = fz_host(v, table, 16ULL * n);
        if (t)
            memcpy(t, d, 16ULL * n);
        struct vring_desc r = {
            .addr = table, .len = 16 * n, .flags = VRING_DESC_F_INDIRECT};
        put_desc(v, q, head, &r);
        q->next_desc++;
    } else {
        for (unsigned i = 0; i < n; i++) {
            d[i].next = (uint16_t)((q->next_desc + 1) % q->num);
            put_desc(v, q, q->next_desc % q->num, &d[i]);
            q->next_desc++;
        }
    }
    publish(v, q, head);
    if (kick)
        reg_wr(v, VMMIO_QUEUE_NOTIFY, (uint32_t)(q - v->q));
}

static void serve(struct fz_virtio *v, unsigned qi, unsigned rounds)
{
    int fd, more = 1;
    for (unsigned r = 0; r < rounds && more > 0; r++) {
        more = vmmio_serve(v->g.m, qi, &fd);
        if (more >= 0 && v->h && v->h->settle)
            v->h->settle(v->h->ctx, v->g.m, qi, fd);
        /* A ring the device found broken must show NEEDS_RESET. */
        if (more >= 0 && vmmio_vdev(v->g.m)->vq[qi].broken)
            FZ_ASSERT(fg_status(&v->g) & VIRTIO_STATUS_NEEDS_RESET,
                      "q%u broken without NEEDS_RESET", qi);
    }
}

static void op_serve(struct fz_virtio *v, struct fz_in *in)
{
    uint8_t b = fz_u8(in);
    serve(v, (b & 0x1f) % v->nq, 1 + (b >> 5));
}

static void op_reg(struct fz_virtio *v, struct fz_in *in, bool write)
{
    uint16_t off = fz_u16(in) % (VMMIO_WINDOW + 0x40);
    uint8_t len = fz_u8(in) % 9;
    uint64_t val = write ? fz_u64(in) : 0;
    reg_access(v, off, len, &val, write);
    if (write && off == VMMIO_STATUS && len == 4 && (uint32_t)val == 0)
        forget_queues(v);
}

static void op_cfg(struct fz_virtio *v, struct fz_in *in)
{
    uint8_t off = fz_u8(in), len = 1 + fz_u8(in) % 8;
    bool write = fz_bool(in);
    uint64_t val = fz_u64(in);
    reg_access(v, VMMIO_CONFIG + off, len, &val, write);
}

void fz_virtio_run(const struct vdev_ops *ops, void *priv, bool legacy,
                   bool setup, const struct fz_dev_hooks *h, struct fz_in *in)
{
    /* Allocated once and zeroed per input (the same start as calloc,
     * without the allocator's poisoning and quarantine of 68 KiB per
     * input). Still two separate heap blocks with redzones, so an
     * access past either one is an ASan report. */
    static uint8_t *ram, *ram2;
    if (!ram && (!(ram = malloc(FZ_RAM)) || !(ram2 = malloc(FZ_RAM2))))
        abort();
    memset(ram, 0, FZ_RAM);
    memset(ram2, 0, FZ_RAM2);
    struct fz_virtio *v = calloc(1, sizeof(*v));
    v->ram = ram;
    v->ram2 = ram2;
    v->h = h;
    v->legacy = legacy;
    v->nq = ops->nqueues;
    v->qmax = ops->qsize_max;
    if (!v->ram || !v->ram2 || fg_init_mem(&v->g, v->ram, FZ_RAM) ||
        gmem_add(&v->g.mem, FG_BASE + FZ_RAM, FZ_RAM2, v->ram2) ||
        fg_attach(&v->g, ops, priv, legacy))
        abort();
    vmmio_set_inline(v->g.m, true);
    /* FZ_DEBUG=1 ./build/fuzz/fuzz_X input: what the device saw. */
    if (getenv("FZ_DEBUG"))
        log_cats = LOG_CAT_VIRTIO;
    if (setup)
        op_setup(v, in);
    for (unsigned n = 0; in->n && n < FZ_MAX_OPS; n++) {
        switch (fz_u8(in) % OP_NOPS) {
        case OP_REG_WRITE:
            op_reg(v, in, true);
            break;
        case OP_REG_READ:
            op_reg(v, in, false);
            break;
        case OP_SETUP:
            op_setup(v, in);
            break;
        case OP_DESC:
            op_desc(v, in);
            break;
        case OP_AVAIL:
            op_avail(v, in);
            break;
        case OP_AVAIL_RAW:
            op_avail_raw(v, in);
            break;
        case OP_RING_WORD:
            op_ring_word(v, in);
            break;
        case OP_RAM:
            op_ram(v, in);
            break;
        case OP_KICK:
            reg_wr(v, VMMIO_QUEUE_NOTIFY, fz_u8(in) % (v->nq + 2));
            break;
        case OP_SERVE:
            op_serve(v, in);
            break;
        case OP_RESET:
            reg_wr(v, VMMIO_STATUS, 0);
            forget_queues(v);
            break;
        case OP_CFG:
            op_cfg(v, in);
            break;
        case OP_ACK:
            reg_wr(v, VMMIO_INTERRUPT_ACK,
                   fg_rd(&v->g, VMMIO_INTERRUPT_STATUS) & fz_u8(in));
            break;
        case OP_CHAIN:
            op_chain(v, in);
            break;
        case OP_BACKEND:
            if (h && h->backend)
                h->backend(h->ctx, in);
            break;
        }
    }
    /* Whatever the script left posted gets one more round per queue. */
    for (unsigned i = 0; i < v->nq; i++)
        serve(v, i, 1);
    vmmio_stats_print(v->g.m, fz_devnull());
    fg_fini(&v->g);
    free(v);
}
