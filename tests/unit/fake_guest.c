/* SPDX-License-Identifier: MIT */
/* A fake guest driver playing virtio-mmio against the real transport. */
#include "tests/unit/fake_guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static int fg_irq_trigger(struct irq_line *l)
{
    struct fg_irq *i = l->ctx;
    pthread_mutex_lock(&i->mu);
    i->count++;
    pthread_cond_broadcast(&i->cv);
    pthread_mutex_unlock(&i->mu);
    return 0;
}

void fg_irq_init(struct fg_irq *i)
{
    pthread_mutex_init(&i->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&i->cv, &a);
    pthread_condattr_destroy(&a);
    i->count = 0;
    i->line = (struct irq_line){ .trigger = fg_irq_trigger, .ctx = i };
}

uint64_t fg_irq_count(struct fg_irq *i)
{
    pthread_mutex_lock(&i->mu);
    uint64_t c = i->count;
    pthread_mutex_unlock(&i->mu);
    return c;
}

int fg_irq_wait(struct fg_irq *i, uint64_t seen)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += FG_TIMEOUT_MS / 1000;
    int r = 0;
    pthread_mutex_lock(&i->mu);
    while (i->count <= seen && r == 0)
        r = pthread_cond_timedwait(&i->cv, &i->mu, &t);
    r = i->count > seen ? 0 : -ETIMEDOUT;
    pthread_mutex_unlock(&i->mu);
    return r;
}

static int fg_map(struct fake_guest *g, uint64_t size, bool identity)
{
    int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    memset(g, 0, sizeof(*g));
    /* Identity RAM goes at FG_BASE when that is free, so addresses stay
     * below 2^44 and legacy's 32-bit QueuePFN can name them. */
    g->ram = identity ? mmap((void *)(uintptr_t)FG_BASE, size,
                             PROT_READ | PROT_WRITE,
                             fl | MAP_FIXED_NOREPLACE, -1, 0)
                      : MAP_FAILED;
    if (g->ram == MAP_FAILED)
        g->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, fl, -1, 0);
    if (g->ram == MAP_FAILED)
        return -errno;
    g->base = identity ? (uint64_t)(uintptr_t)g->ram : FG_BASE;
    g->size = size;
    g->brk = 0x1000; /* leave page 0 unused: address base is valid */
    fg_irq_init(&g->irq);
    return gmem_add(&g->mem, g->base, size, g->ram);
}

int fg_init(struct fake_guest *g, uint64_t size)
{
    return fg_map(g, size, false);
}

int fg_init_identity(struct fake_guest *g, uint64_t size)
{
    return fg_map(g, size, true);
}

int fg_init_mem(struct fake_guest *g, void *ram, uint64_t size)
{
    memset(g, 0, sizeof(*g));
    g->ram = ram;
    g->borrowed = true;
    g->base = FG_BASE;
    g->size = size;
    g->brk = size > 0x1000 ? 0x1000 : 0;
    fg_irq_init(&g->irq);
    return gmem_add(&g->mem, g->base, size, g->ram);
}

void fg_fini(struct fake_guest *g)
{
    vmmio_destroy(g->m);
    g->m = NULL;
    for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++) {
        free(g->q[i].free);
        free(g->q[i].chain_len);
    }
    if (!g->borrowed)
        munmap(g->ram, g->size);
}

int fg_attach(struct fake_guest *g, const struct vdev_ops *ops, void *priv,
              bool legacy)
{
    g->legacy = legacy;
    return vmmio_create(&g->m, ops, priv, &g->mem, &g->irq.line, legacy);
}

uint64_t fg_alloc(struct fake_guest *g, uint64_t size, uint64_t align)
{
    uint64_t at = (g->brk + align - 1) & ~(align - 1);
    if (at + size > g->size)
        abort(); /* a test bug, not a device behaviour */
    g->brk = at + size;
    memset(g->ram + at, 0, size);
    return g->base + at;
}

void *fg_host(struct fake_guest *g, uint64_t gpa)
{
    return gmem_ptr(&g->mem, gpa, 0);
}

uint32_t fg_rd(struct fake_guest *g, uint32_t off)
{
    uint32_t v = 0xdeadbeef;
    vmmio_access(g->m, off, &v, 4, false);
    return v;
}

void fg_wr(struct fake_guest *g, uint32_t off, uint32_t v)
{
    vmmio_access(g->m, off, &v, 4, true);
}

uint32_t fg_status(struct fake_guest *g)
{
    return fg_rd(g, VMMIO_STATUS);
}

void fg_reset(struct fake_guest *g)
{
    fg_wr(g, VMMIO_STATUS, 0);
    for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++) {
        free(g->q[i].free);
        free(g->q[i].chain_len);
        memset(&g->q[i], 0, sizeof(g->q[i]));
    }
}

static uint64_t dev_features(struct fake_guest *g)
{
    fg_wr(g, VMMIO_DEV_FEATURES_SEL, 1);
    uint64_t f = (uint64_t)fg_rd(g, VMMIO_DEV_FEATURES) << 32;
    fg_wr(g, VMMIO_DEV_FEATURES_SEL, 0);
    return f | fg_rd(g, VMMIO_DEV_FEATURES);
}

uint32_t fg_try_features(struct fake_guest *g, uint64_t f)
{
    fg_wr(g, VMMIO_DRV_FEATURES_SEL, 0);
    fg_wr(g, VMMIO_DRV_FEATURES, (uint32_t)f);
    fg_wr(g, VMMIO_DRV_FEATURES_SEL, 1);
    fg_wr(g, VMMIO_DRV_FEATURES, (uint32_t)(f >> 32));
    g->features = f;
    if (!g->legacy)
        fg_wr(g, VMMIO_STATUS, fg_status(g) | VIRTIO_STATUS_FEATURES_OK);
    return fg_status(g);
}

int fg_negotiate(struct fake_guest *g, uint64_t want)
{
    fg_reset(g);
    if (g->legacy)
        fg_wr(g, VMMIO_GUEST_PAGE_SIZE, 4096);
    fg_wr(g, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    fg_wr(g, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint32_t st = fg_try_features(g, want & dev_features(g));
    if (!g->legacy && !(st & VIRTIO_STATUS_FEATURES_OK))
        return -EPROTO;
    return 0;
}

static void queue_layout(struct fake_guest *g, struct fg_queue *q,
                         uint32_t num)
{
    q->num = num;
    if (g->legacy) {
        /* One page-aligned block: desc, avail, then used at 4096. */
        uint64_t avail_end = VRING_DESC_SIZE(num) + VRING_AVAIL_SIZE(num);
        uint64_t used_off = (avail_end + 4095) & ~4095ULL;
        q->desc = fg_alloc(g, used_off + VRING_USED_SIZE(num), 4096);
        q->avail = q->desc + VRING_DESC_SIZE(num);
        q->used = q->desc + used_off;
    } else {
        q->desc = fg_alloc(g, VRING_DESC_SIZE(num), 16);
        q->avail = fg_alloc(g, VRING_AVAIL_SIZE(num), 2);
        q->used = fg_alloc(g, VRING_USED_SIZE(num), 4);
    }
    q->ind = fg_alloc(g, (uint64_t)num * FG_MAX_SEGS * 16, 16);
    q->d = fg_host(g, q->desc);
    q->a = fg_host(g, q->avail);
    q->u = fg_host(g, q->used);
    q->used_event = &q->a->ring[num];
    q->avail_event = (uint16_t *)&q->u->ring[num];
    q->free = malloc(num * sizeof(*q->free));
    q->chain_len = calloc(num, sizeof(*q->chain_len));
    q->nfree = num;
    for (uint32_t i = 0; i < num; i++)
        q->free[i] = num - 1 - i;
}

int fg_queue_setup(struct fake_guest *g, unsigned qi, uint32_t num)
{
    struct fg_queue *q = &g->q[qi];
    queue_layout(g, q, num);
    fg_wr(g, VMMIO_QUEUE_SEL, qi);
    fg_wr(g, VMMIO_QUEUE_NUM, num);
    if (g->legacy) {
        fg_wr(g, VMMIO_QUEUE_ALIGN, 4096);
        fg_wr(g, VMMIO_QUEUE_PFN, (uint32_t)(q->desc / 4096));
        return fg_rd(g, VMMIO_QUEUE_PFN) ? 0 : -EIO;
    }
    fg_wr(g, VMMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
    fg_wr(g, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
    fg_wr(g, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
    fg_wr(g, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
    fg_wr(g, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
    fg_wr(g, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
    fg_wr(g, VMMIO_QUEUE_READY, 1);
    return fg_rd(g, VMMIO_QUEUE_READY) ? 0 : -EIO;
}

int fg_driver_ok(struct fake_guest *g)
{
    fg_wr(g, VMMIO_STATUS, fg_status(g) | VIRTIO_STATUS_DRIVER_OK);
    uint32_t st = fg_status(g);
    if ((st & VIRTIO_STATUS_NEEDS_RESET) || !(st & VIRTIO_STATUS_DRIVER_OK))
        return -EIO;
    return 0;
}

static uint16_t take_desc(struct fg_queue *q)
{
    return q->free[--q->nfree];
}

int fg_post(struct fake_guest *g, unsigned qi, const struct fg_seg *s,
            unsigned n, bool indirect)
{
    struct fg_queue *q = &g->q[qi];
    unsigned need = indirect ? 1 : n;
    if (n == 0 || n > FG_MAX_SEGS || q->nfree < need)
        return -ENOSPC;
    uint16_t head = take_desc(q);
    q->chain_len[head] = need;
    struct vring_desc *out = &q->d[head];
    if (indirect) {
        uint64_t t = q->ind + (uint64_t)head * FG_MAX_SEGS * 16;
        struct vring_desc *td = fg_host(g, t);
        for (unsigned i = 0; i < n; i++)
            td[i] = (struct vring_desc){
                .addr = s[i].gpa, .len = s[i].len,
                .flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
                         (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                .next = i + 1 };
        *out = (struct vring_desc){ .addr = t, .len = n * 16,
                                    .flags = VRING_DESC_F_INDIRECT };
    } else {
        uint16_t cur = head;
        for (unsigned i = 0; i < n; i++) {
            uint16_t nx = i + 1 < n ? take_desc(q) : 0;
            q->d[cur] = (struct vring_desc){
                .addr = s[i].gpa, .len = s[i].len,
                .flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
                         (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                .next = nx };
            cur = nx;
        }
    }
    q->a->ring[q->avail_idx & (q->num - 1)] = head;
    q->avail_idx++;
    /* Release: descriptors and ring entry before the index. */
    __atomic_store_n(&q->a->idx, q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

int fg_post_table(struct fake_guest *g, unsigned qi, uint64_t table,
                  const struct fg_seg *s, unsigned n)
{
    struct fg_queue *q = &g->q[qi];
    struct vring_desc *td = gmem_ptr(&g->mem, table, (uint64_t)n * 16);
    if (n == 0 || n > 65535 || q->nfree < 1 || !td)
        return -ENOSPC;
    for (unsigned i = 0; i < n; i++)
        td[i] =
            (struct vring_desc){.addr = s[i].gpa,
                                .len = s[i].len,
                                .flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
                                         (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                                .next = (uint16_t)(i + 1)};
    uint16_t head = take_desc(q);
    q->chain_len[head] = 1;
    q->d[head] = (struct vring_desc){
        .addr = table, .len = n * 16, .flags = VRING_DESC_F_INDIRECT};
    q->a->ring[q->avail_idx & (q->num - 1)] = head;
    q->avail_idx++;
    /* Release: the table, descriptor and ring entry before the index. */
    __atomic_store_n(&q->a->idx, q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

void fg_kick(struct fake_guest *g, unsigned qi)
{
    g->q[qi].kicked_idx = g->q[qi].avail_idx;
    fg_wr(g, VMMIO_QUEUE_NOTIFY, qi);
}

uint64_t fg_fill_writable(struct fake_guest *g, unsigned qi, uint32_t bsz)
{
    uint32_t num = g->q[qi].num;
    uint64_t bufs = fg_alloc(g, (uint64_t)num * bsz, 16);
    for (uint32_t i = 0; i < num; i++) {
        struct fg_seg s = {bufs + (uint64_t)i * bsz, bsz, true};
        if (fg_post(g, qi, &s, 1, false) != (int)i)
            abort(); /* a test bug, not a device behaviour */
    }
    fg_kick(g, qi);
    return bufs;
}

bool fg_kick_if_needed(struct fake_guest *g, unsigned qi)
{
    struct fg_queue *q = &g->q[qi];
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    bool kick;
    /* Full barrier: avail->idx before reading avail_event/flags (pairs
     * with the device's barrier in vq_peek). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (g->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) {
        uint16_t ev = __atomic_load_n(q->avail_event, __ATOMIC_RELAXED);
        kick = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        kick = !(__atomic_load_n(&q->u->flags, __ATOMIC_RELAXED) &
                 VRING_USED_F_NO_NOTIFY);
    }
    q->kicked_idx = now;
    if (kick)
        fg_wr(g, VMMIO_QUEUE_NOTIFY, qi);
    return kick;
}

int fg_get_used(struct fake_guest *g, unsigned qi, uint32_t *id,
                uint32_t *len)
{
    struct fg_queue *q = &g->q[qi];
    if (__atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE) == q->last_used)
        return 0;
    struct vring_used_elem e = q->u->ring[q->last_used & (q->num - 1)];
    q->last_used++;
    *id = e.id;
    *len = e.len;
    if (e.id >= q->num || q->chain_len[e.id] == 0)
        return -EPROTO; /* device returned a head we do not own */
    uint16_t cur = e.id;
    for (unsigned i = q->chain_len[e.id]; i > 0; i--) {
        q->free[q->nfree++] = cur;
        cur = q->d[cur].next;
    }
    q->chain_len[e.id] = 0;
    return 1;
}

bool fg_enable_irq(struct fake_guest *g, unsigned qi)
{
    struct fg_queue *q = &g->q[qi];
    if (g->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX))
        __atomic_store_n(q->used_event, q->last_used, __ATOMIC_RELAXED);
    else
        __atomic_store_n(&q->a->flags, 0, __ATOMIC_RELAXED);
    /* Full barrier: the request before the re-check (pairs with the
     * device's barrier in vq_want_irq). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

void fg_disable_irq(struct fake_guest *g, unsigned qi)
{
    struct fg_queue *q = &g->q[qi];
    if (g->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX))
        __atomic_store_n(q->used_event, (uint16_t)(q->last_used - 0x8000),
                         __ATOMIC_RELAXED);
    else
        __atomic_store_n(&q->a->flags, VRING_AVAIL_F_NO_INTERRUPT,
                         __ATOMIC_RELAXED);
}

uint32_t fg_ack(struct fake_guest *g)
{
    uint32_t isr = fg_rd(g, VMMIO_INTERRUPT_STATUS);
    if (isr)
        fg_wr(g, VMMIO_INTERRUPT_ACK, isr);
    return isr;
}
