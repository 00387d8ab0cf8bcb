/* SPDX-License-Identifier: MIT */
/* Unit tests for the split-ring engine (virtio/queue.c), hostile chains
 * included, driven directly and through the fake guest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/echo_dev.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/tap.h"
#include "virtio/queue.h"

#define RAM (64ULL << 20)

/* A ring in fake RAM driven by hand: q is the device side. */
struct ring {
    struct fake_guest g;
    struct vq q;
    struct vring_desc *d;
    struct vring_avail *a;
    struct vring_used *u;
    uint64_t desc, avail, used, buf;
    uint32_t num;
};

static void ring_init(struct ring *r, uint32_t num, bool ev, bool ind)
{
    memset(&r->q, 0, sizeof(r->q));
    r->num = num;
    r->desc = fg_alloc(&r->g, VRING_DESC_SIZE(num), 16);
    r->avail = fg_alloc(&r->g, VRING_AVAIL_SIZE(num), 2);
    r->used = fg_alloc(&r->g, VRING_USED_SIZE(num), 4);
    r->buf = fg_alloc(&r->g, 65536, 16);
    r->d = fg_host(&r->g, r->desc);
    r->a = fg_host(&r->g, r->avail);
    r->u = fg_host(&r->g, r->used);
    int e = vq_setup(&r->q, &r->g.mem, num, r->desc, r->avail, r->used, ev,
                     ind);
    if (e)
        abort();
}

static void publish(struct ring *r, uint16_t head)
{
    r->a->ring[r->a->idx & (r->num - 1)] = head;
    r->a->idx++;
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    *d = (struct vring_desc){ addr, len, flags, next };
}

/* Pop the chain and walk it: the last vq_iter_next result; *nbufs set. */
static int walk(struct ring *r, int *nbufs)
{
    struct vq_iter it;
    struct vq_buf b;
    int rr = vq_pop(&r->q, &it);
    *nbufs = 0;
    if (rr <= 0)
        return rr == 0 ? -ENOENT : rr;
    while ((rr = vq_iter_next(&it, &b)) > 0)
        (*nbufs)++;
    return rr;
}

static void test_setup_checks(struct fake_guest *g)
{
    struct vq q = { 0 };
    uint64_t ok = fg_alloc(g, 1 << 20, 4096);
    CHECK(vq_setup(&q, &g->mem, 0, ok, ok + 0x10000, ok + 0x20000, 0, 0) ==
              -EINVAL, "setup: size 0 refused");
    CHECK(vq_setup(&q, &g->mem, 3, ok, ok + 0x10000, ok + 0x20000, 0, 0) ==
              -EINVAL, "setup: size 3 (not a power of two) refused");
    CHECK(vq_setup(&q, &g->mem, 1000, ok, ok + 0x10000, ok + 0x20000, 0,
                   0) == -EINVAL, "setup: size 1000 refused");
    CHECK(vq_setup(&q, &g->mem, 65536, ok, ok + 0x10000, ok + 0x20000, 0,
                   0) == -EINVAL, "setup: size 65536 refused");
    CHECK(vq_setup(&q, &g->mem, 8, 0x1000, ok + 0x10000, ok + 0x20000, 0,
                   0) == -EFAULT, "setup: desc below RAM refused");
    CHECK(vq_setup(&q, &g->mem, 8, ok, ~0ULL - 15, ok + 0x20000, 0, 0) ==
              -EFAULT, "setup: avail at 2^64-16 (overflowing) refused");
    CHECK(vq_setup(&q, &g->mem, 8, ok + 8, ok + 0x10000, ok + 0x20000, 0,
                   0) == -EFAULT, "setup: misaligned desc refused");
    CHECK(vq_setup(&q, &g->mem, 8, ok, ok + 0x10000, FG_BASE + RAM - 16, 0,
                   0) == -EFAULT, "setup: used ring crossing RAM end refused");
    CHECK(vq_setup(&q, &g->mem, 32768, ok, ok + 0x80000, ok + 0x90000, 0,
                   0) == 0, "setup: size 32768 accepted");
    CHECK(q.broken == false && q.num == 32768, "setup: state after success");
}

static void test_chains(struct ring *r)
{
    int n;
    /* 0 -> 1 -> 2: two readable, one writable. */
    set_desc(&r->d[0], r->buf, 10, VRING_DESC_F_NEXT, 1);
    set_desc(&r->d[1], r->buf + 16, 20, VRING_DESC_F_NEXT, 2);
    set_desc(&r->d[2], r->buf + 64, 30, VRING_DESC_F_WRITE, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == 0 && n == 3, "direct chain of 3 walked");

    /* Loop 0 -> 1 -> 0. */
    set_desc(&r->d[1], r->buf, 4, VRING_DESC_F_NEXT, 0);
    set_desc(&r->d[0], r->buf, 4, VRING_DESC_F_NEXT, 1);
    publish(r, 0);
    CHECK(walk(r, &n) == -ELOOP, "descriptor loop stops with -ELOOP");
    CHECK(n <= (int)r->num, "loop walked at most queue-size buffers (%d)",
          n);

    /* Self loop. */
    set_desc(&r->d[3], r->buf, 4, VRING_DESC_F_NEXT, 3);
    publish(r, 3);
    CHECK(walk(r, &n) == -ELOOP, "self-referencing descriptor: -ELOOP");

    /* next out of range. */
    set_desc(&r->d[4], r->buf, 4, VRING_DESC_F_NEXT, 999);
    publish(r, 4);
    CHECK(walk(r, &n) == -EPROTO && n == 1, "next past the table: -EPROTO");

    /* Buffers outside RAM, and addr+len overflowing. */
    set_desc(&r->d[5], 0x1000, 4, 0, 0);
    publish(r, 5);
    CHECK(walk(r, &n) == -EFAULT, "buffer below RAM: -EFAULT");
    set_desc(&r->d[5], ~0ULL - 3, 16, 0, 0);
    publish(r, 5);
    CHECK(walk(r, &n) == -EFAULT, "buffer at 2^64-4 len 16: -EFAULT");
    set_desc(&r->d[5], FG_BASE + RAM - 8, 0xffffffffu, 0, 0);
    publish(r, 5);
    CHECK(walk(r, &n) == -EFAULT, "buffer running past RAM end: -EFAULT");

    /* Readable after writable. */
    set_desc(&r->d[6], r->buf, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
    set_desc(&r->d[7], r->buf, 4, 0, 0);
    publish(r, 6);
    CHECK(walk(r, &n) == -EPROTO, "readable after writable: -EPROTO");

    /* Indirect not negotiated on this ring. */
    set_desc(&r->d[8], r->buf, 32, VRING_DESC_F_INDIRECT, 0);
    publish(r, 8);
    CHECK(walk(r, &n) == -EPROTO, "indirect without the feature: -EPROTO");
    CHECK(!r->q.broken, "chain errors leave the queue usable");
}

static void test_indirect(struct ring *r)
{
    int n;
    struct vring_desc *t = fg_host(&r->g, r->buf + 4096);
    uint64_t tg = r->buf + 4096;
    set_desc(&t[0], r->buf, 8, VRING_DESC_F_NEXT, 1);
    set_desc(&t[1], r->buf + 8, 8, VRING_DESC_F_NEXT, 2);
    set_desc(&t[2], r->buf + 16, 8, VRING_DESC_F_WRITE, 0);
    set_desc(&r->d[0], tg, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == 0 && n == 3, "indirect table of 3 walked");

    /* Direct descriptor, then an indirect one ending the chain. */
    set_desc(&r->d[1], r->buf, 8, VRING_DESC_F_NEXT, 2);
    set_desc(&r->d[2], tg, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    publish(r, 1);
    CHECK(walk(r, &n) == 0 && n == 4, "direct then indirect: 4 buffers");

    set_desc(&r->d[0], tg, 40, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -EPROTO, "indirect length 40 (not 16k): -EPROTO");
    set_desc(&r->d[0], tg, 0, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -EPROTO, "indirect length 0: -EPROTO");
    set_desc(&r->d[0], tg, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    publish(r, 0);
    CHECK(walk(r, &n) == -EPROTO, "indirect with NEXT: -EPROTO");
    set_desc(&r->d[0], ~0ULL - 31, 48, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -EFAULT, "indirect table overflowing: -EFAULT");
    set_desc(&r->d[0], tg, (r->num + 1) * 16, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -ELOOP, "indirect table longer than queue: -ELOOP");

    /* Indirect inside indirect. */
    set_desc(&t[1], tg, 48, VRING_DESC_F_INDIRECT, 0);
    set_desc(&r->d[0], tg, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -EPROTO, "nested indirect: -EPROTO");

    /* Loop inside the indirect table. */
    set_desc(&t[0], r->buf, 8, VRING_DESC_F_NEXT, 1);
    set_desc(&t[1], r->buf, 8, VRING_DESC_F_NEXT, 0);
    publish(r, 0);
    CHECK(walk(r, &n) == -ELOOP && n <= 3, "loop in indirect table: -ELOOP");
}

static void test_ring_errors(struct ring *r)
{
    int n;
    publish(r, (uint16_t)r->num); /* head past the table */
    CHECK(walk(r, &n) == -EPROTO && r->q.broken,
          "avail head >= queue size breaks the queue");
    struct vq_iter it;
    CHECK(vq_pop(&r->q, &it) == -EPROTO, "broken queue stays broken");

    vq_setup(&r->q, &r->g.mem, r->num, r->desc, r->avail, r->used, 0, 0);
    r->a->idx = (uint16_t)(r->num + 1); /* more avail than ring slots */
    CHECK(vq_pop(&r->q, &it) == -EPROTO && r->q.broken,
          "avail index ahead by more than the queue: broken");
    r->a->idx = 0;
}

static void test_event_idx(struct ring *r)
{
    struct vq *q = &r->q;
    vq_setup(q, &r->g.mem, r->num, r->desc, r->avail, r->used, 1, 1);
    struct vq_iter it;
    CHECK(vq_pop(q, &it) == 0 && *q->avail_event == 0,
          "empty ring: avail_event armed at last_avail");

    /* Across the 16-bit wrap: old = 65534, two pushes -> now = 0. */
    q->used_idx = q->signalled = q->published = 65534;
    q->last_avail = 65534;
    r->a->idx = 65534;
    r->u->idx = 65534;
    set_desc(&r->d[0], r->buf, 4, 0, 0);
    publish(r, 0);
    publish(r, 0);
    CHECK(vq_pop(q, &it) == 1 && vq_pop(q, &it) == 1 && q->last_avail == 0,
          "pop across avail-index wrap");
    CHECK(vq_pop(q, &it) == 0 && *q->avail_event == 0,
          "avail_event written after wrap");
    *q->used_event = 65535; /* driver wants an irq after entry 65535 */
    vq_push(q, 0, 1);
    vq_push(q, 0, 1);
    CHECK(r->u->idx == 0, "used index wrapped to 0");
    CHECK(vq_want_irq(q), "used_event 65535 in [65534, 0): interrupt");
    CHECK(!vq_want_irq(q), "nothing new: no second interrupt");

    *q->used_event = 5; /* far ahead */
    vq_push(q, 0, 1);
    CHECK(!vq_want_irq(q), "used_event ahead: suppressed");
    *q->used_event = 65533; /* behind: driver already saw past it */
    vq_push(q, 0, 1);
    CHECK(!vq_want_irq(q), "used_event behind: suppressed");
    *q->used_event = 2; /* exactly the entry just before now=3 */
    vq_push(q, 0, 1);
    CHECK(vq_want_irq(q), "used_event == old: interrupt");

    /* Without EVENT_IDX: NO_INTERRUPT flag and NO_NOTIFY. */
    vq_setup(q, &r->g.mem, r->num, r->desc, r->avail, r->used, 0, 0);
    r->a->idx = 0;
    r->u->flags = 0;
    publish(r, 0);
    CHECK(vq_pop(q, &it) == 1 && (r->u->flags & VRING_USED_F_NO_NOTIFY),
          "busy queue sets NO_NOTIFY");
    CHECK(vq_pop(q, &it) == 0 && !(r->u->flags & VRING_USED_F_NO_NOTIFY),
          "empty queue clears NO_NOTIFY");
    uint64_t irqs0 = q->st.irqs, sup0 = q->st.irqs_suppressed;
    uint64_t ch0 = q->st.chains;
    r->a->flags = VRING_AVAIL_F_NO_INTERRUPT;
    vq_push(q, 0, 0);
    CHECK(!vq_want_irq(q), "NO_INTERRUPT suppresses");
    r->a->flags = 0;
    vq_push(q, 0, 0);
    CHECK(vq_want_irq(q), "flags 0: interrupt");
    CHECK(q->st.irqs - irqs0 == 1 && q->st.irqs_suppressed - sup0 == 1 &&
              q->st.chains - ch0 == 2,
          "counters: 1 irq, 1 suppressed, 2 chains");
}

/* vq_put/vq_publish: chains returned together go out under one used
 * index store; the driver sees none of them before, all of them after. */
static void test_batch_publish(struct ring *r)
{
    struct vq *q = &r->q;
    vq_setup(q, &r->g.mem, r->num, r->desc, r->avail, r->used, 1, 1);
    r->u->idx = 0;
    uint64_t ch0 = q->st.chains, by0 = q->st.bytes;
    vq_put(q, 3, 100);
    vq_put(q, 5, 200);
    vq_put(q, 7, 300);
    CHECK(r->u->idx == 0 && q->st.chains == ch0 && q->st.bytes == by0,
          "vq_put: used index and counters untouched");
    CHECK(r->u->ring[0].id == 3 && r->u->ring[1].len == 200 &&
              r->u->ring[2].id == 7,
          "vq_put: the elements are written in order");
    vq_publish(q);
    CHECK(r->u->idx == 3 && q->st.chains - ch0 == 3 &&
              q->st.bytes - by0 == 600,
          "vq_publish: index 3 at once, 3 chains and 600 bytes counted");
    vq_publish(q);
    CHECK(r->u->idx == 3 && q->st.chains - ch0 == 3,
          "vq_publish with nothing new changes nothing");

    /* The interrupt decision publishes first: no interrupt for chains
     * the driver cannot see. used_event 4 lies inside [3, 7): one. */
    *q->used_event = 4;
    q->signalled = 3;
    for (int i = 0; i < 4; i++)
        vq_put(q, (uint16_t)i, 1);
    bool want = vq_want_irq(q);
    CHECK(want && r->u->idx == 7,
          "vq_want_irq publishes the batch, then one interrupt for it");
    CHECK(!vq_want_irq(q), "and no second one");
    vq_put(q, 1, 1);
    vq_push(q, 2, 1);
    CHECK(r->u->idx == 9 && q->st.chains - ch0 == 9,
          "vq_push publishes earlier vq_put chains with its own");
    *q->used_event = 20;
    vq_put(q, 1, 1);
    CHECK(!vq_want_irq(q) && r->u->idx == 10,
          "used_event ahead of the batch: suppressed, still published");
}

/* Through the transport and a worker: every power-of-two size. */
static int run_size(struct fake_guest *g, uint32_t num, bool ev)
{
    uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                    (ev ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
    g->brk = 0x1000;
    if (fg_negotiate(g, feat) || fg_queue_setup(g, 0, num) ||
        fg_driver_ok(g))
        return -EIO;
    uint64_t bufs = fg_alloc(g, (uint64_t)num * 16, 16);
    uint32_t total = 2 * num + 3, posted = 0, done = 0;
    uint32_t *cookie = calloc(num, sizeof(*cookie));
    unsigned segs = num >= 2 ? 2 : 1;
    int err = 0;
    while (done < total && !err) {
        while (posted < total && g->q[0].nfree >= segs) {
            uint64_t b = bufs + (uint64_t)(posted % num) * 16;
            *(uint32_t *)fg_host(g, b) = posted;
            struct fg_seg s[2] = { { b, 4, false }, { b + 8, 4, true } };
            int h = fg_post(g, 0, s, segs, false);
            if (h < 0)
                break;
            cookie[h] = posted++;
        }
        fg_kick_if_needed(g, 0);
        uint32_t id, len;
        int got = 0, r;
        while ((r = fg_get_used(g, 0, &id, &len)) > 0) {
            uint32_t want = segs == 2 ? 4 : 0;
            uint64_t b = bufs + (uint64_t)(cookie[id] % num) * 16;
            if (len != want || (segs == 2 &&
                                *(uint32_t *)fg_host(g, b + 8) != cookie[id]))
                err = -EBADMSG;
            done++;
            got++;
        }
        if (r < 0)
            err = r;
        if (!got && !err) {
            uint64_t c = fg_irq_count(&g->irq);
            if (!fg_enable_irq(g, 0) && fg_irq_wait(&g->irq, c))
                err = -ETIMEDOUT;
        }
    }
    free(cookie);
    fg_reset(g);
    return err;
}

int main(void)
{
    struct ring r;
    if (fg_init(&r.g, RAM))
        return 1;
    test_setup_checks(&r.g);
    ring_init(&r, 16, false, false);
    test_chains(&r);
    ring_init(&r, 16, false, true);
    test_indirect(&r);
    ring_init(&r, 16, false, false);
    test_ring_errors(&r);
    ring_init(&r, 16, true, true);
    test_event_idx(&r);
    ring_init(&r, 16, true, true);
    test_batch_publish(&r);
    fg_fini(&r.g);

    struct fake_guest g;
    struct echo_dev e;
    echo_init(&e, 1, VQ_MAX_SIZE);
    if (fg_init(&g, RAM) || fg_attach(&g, &e.ops, &e, false))
        return 1;
    for (uint32_t n = 1; n <= VQ_MAX_SIZE; n *= 2)
        CHECK(run_size(&g, n, n & 0x5555) == 0,
              "ring size %u: 2*size+3 requests echoed (event_idx %s)", n,
              n & 0x5555 ? "on" : "off");
    fg_negotiate(&g, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    CHECK(fg_queue_setup(&g, 0, 24) == -EIO &&
              (fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "size 24 (not a power of two, §2.7) refused with NEEDS_RESET");
    fg_fini(&g);
    return tap_done();
}
