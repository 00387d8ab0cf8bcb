/* SPDX-License-Identifier: MIT */
/* Split virtqueue: ring mapping, chain walking, used ring, EVENT_IDX. */
#define LOG_TAG "vq"
#include "virtio/queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "hw/log.h"

static void *map_part(const struct gmem *mem, uint64_t gpa, uint64_t len,
                      unsigned align)
{
    if (gpa & (align - 1))
        return NULL;
    void *p = gmem_ptr(mem, gpa, len);
    /* The host mapping is page-aligned in practice; check anyway so the
     * 16/32-bit accesses below are never misaligned (UBSan would object). */
    if (!p || ((uintptr_t)p & (align - 1)))
        return NULL;
    return p;
}

int vq_setup(struct vq *q, const struct gmem *mem, uint32_t num,
             uint64_t desc, uint64_t avail, uint64_t used, bool event_idx,
             bool indirect)
{
    vq_clear(q);
    if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)))
        return -EINVAL;
    q->desc = map_part(mem, desc, VRING_DESC_SIZE(num), VRING_DESC_ALIGN);
    q->avail = map_part(mem, avail, VRING_AVAIL_SIZE(num), VRING_AVAIL_ALIGN);
    q->used = map_part(mem, used, VRING_USED_SIZE(num), VRING_USED_ALIGN);
    if (!q->desc || !q->avail || !q->used) {
        vq_clear(q);
        return -EFAULT;
    }
    q->mem = mem;
    q->num = num;
    q->used_event = &q->avail->ring[num];
    q->avail_event = (uint16_t *)&q->used->ring[num];
    q->event_idx = event_idx;
    q->indirect = indirect;
    /* A freshly reset ring starts at 0 for both sides (§2.7.6). */
    q->last_avail = q->used_idx = q->signalled = q->published = 0;
    q->unpub_bytes = 0;
    return 0;
}

void vq_clear(struct vq *q)
{
    q->desc = NULL;
    q->avail = NULL;
    q->used = NULL;
    q->used_event = q->avail_event = NULL;
    q->num = 0;
    q->broken = false;
    q->notify_off = false;
    q->last_avail = q->used_idx = q->signalled = q->published = 0;
    q->unpub_bytes = 0;
}

static int vq_break(struct vq *q, const char *why)
{
    q->broken = true;
    atomic_fetch_add_explicit(&q->st.errors, 1, memory_order_relaxed);
    log_warn_rl("queue broken: %s", why);
    return -EPROTO;
}

int vq_peek(struct vq *q)
{
    if (q->broken || !q->avail)
        return -EPROTO;
    /* Acquire: ring entries the driver wrote before bumping idx are
     * visible after this load (pairs with the driver's write barrier). */
    uint16_t ai = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
    if (ai == q->last_avail) {
        if (q->event_idx) {
            __atomic_store_n(q->avail_event, q->last_avail, __ATOMIC_RELAXED);
        } else if (q->notify_off) {
            __atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
            q->notify_off = false;
        }
        /* Full barrier: the re-enable must be visible before we look at
         * avail->idx again, or a driver that added a buffer in between
         * and read the old avail_event/flags would skip its kick (pairs
         * with the driver's mb between writing idx and reading them). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        ai = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
        if (ai == q->last_avail)
            return 0;
    }
    if ((uint16_t)(ai - q->last_avail) > q->num)
        return vq_break(q, "avail index ran ahead by more than the queue");
    /* Busy: without EVENT_IDX ask the driver not to kick while we drain.
     * With EVENT_IDX a stale avail_event does the same job. */
    if (!q->event_idx && !q->notify_off) {
        __atomic_store_n(&q->used->flags, VRING_USED_F_NO_NOTIFY,
                         __ATOMIC_RELAXED);
        q->notify_off = true;
    }
    return 1;
}

int vq_pop(struct vq *q, struct vq_iter *it)
{
    int r = vq_peek(q);
    if (r <= 0)
        return r;
    uint16_t slot = q->last_avail & (q->num - 1);
    uint16_t head = __atomic_load_n(&q->avail->ring[slot], __ATOMIC_RELAXED);
    q->last_avail++;
    if (head >= q->num)
        return vq_break(q, "avail ring names a descriptor past the table");
    *it = (struct vq_iter){
        .q = q,
        .table = q->desc,
        .table_len = q->num,
        .budget = q->num,
        .head = head,
        .next = head,
    };
    return 1;
}

void vq_unpop(struct vq *q)
{
    q->last_avail--;
}

static int iter_fail(struct vq_iter *it, int err)
{
    it->end = true;
    return err;
}

/* Switch the walk to the indirect table described by d. */
static int iter_enter_indirect(struct vq_iter *it, const struct vring_desc *d)
{
    struct vq *q = it->q;
    if (!q->indirect || it->in_indirect || (d->flags & VRING_DESC_F_NEXT))
        return -EPROTO;
    if (d->len == 0 || d->len % sizeof(struct vring_desc))
        return -EPROTO;
    uint32_t n = d->len / sizeof(struct vring_desc);
    if (n > q->num) /* no chain longer than the queue (§2.7.5.3.1) */
        return -ELOOP;
    const void *t = gmem_ptr(q->mem, d->addr, d->len);
    if (!t)
        return -EFAULT;
    it->table = t;
    it->table_len = n;
    it->budget = n; /* each entry at most once: a loop runs out */
    it->next = 0;
    it->in_indirect = true;
    return 0;
}

int vq_iter_next(struct vq_iter *it, struct vq_buf *b)
{
    for (;;) {
        if (it->end)
            return 0;
        if (it->budget == 0)
            return iter_fail(it, -ELOOP);
        it->budget--;
        if (it->next >= it->table_len)
            return iter_fail(it, -EPROTO);
        struct vring_desc d;
        /* Snapshot: the guest may rewrite the descriptor under us. An
         * indirect table need not be aligned, hence memcpy. */
        memcpy(&d, &it->table[it->next], sizeof(d));
        if (d.flags & VRING_DESC_F_INDIRECT) {
            int r = iter_enter_indirect(it, &d);
            if (r < 0)
                return iter_fail(it, r);
            continue;
        }
        bool wr = d.flags & VRING_DESC_F_WRITE;
        if (!wr && it->seen_write) /* readable after writable: §2.7.4 */
            return iter_fail(it, -EPROTO);
        it->seen_write |= wr;
        void *p = gmem_ptr(it->q->mem, d.addr, d.len);
        if (!p)
            return iter_fail(it, -EFAULT);
        *b = (struct vq_buf){ .p = p, .len = d.len, .dev_writes = wr };
        if (d.flags & VRING_DESC_F_NEXT)
            it->next = d.next;
        else
            it->end = true;
        return 1;
    }
}

void vq_put(struct vq *q, uint16_t head, uint32_t written)
{
    struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->num - 1)];
    __atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
    q->used_idx++;
    q->unpub_bytes += written;
}

void vq_publish(struct vq *q)
{
    uint16_t n = q->used_idx - q->published;
    if (n == 0)
        return;
    /* Release: the elements are visible before the index that publishes
     * them (pairs with the driver's read barrier after reading used->idx). */
    __atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
    q->published = q->used_idx;
    atomic_fetch_add_explicit(&q->st.chains, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->st.bytes, q->unpub_bytes,
                              memory_order_relaxed);
    q->unpub_bytes = 0;
}

void vq_push(struct vq *q, uint16_t head, uint32_t written)
{
    vq_put(q, head, written);
    vq_publish(q);
}

void vq_fail(struct vq *q, uint16_t head, int err)
{
    atomic_fetch_add_explicit(&q->st.errors, 1, memory_order_relaxed);
    log_warn_rl("request %u failed: %s", head, strerror(-err));
    vq_push(q, head, 0);
}

bool vq_want_irq(struct vq *q)
{
    /* An interrupt for chains the driver cannot see yet would be lost. */
    if (q->used)
        vq_publish(q);
    uint16_t old = q->signalled, now = q->used_idx;
    if (old == now || !q->used)
        return false;
    q->signalled = now;
    /* Full barrier: used->idx must be visible before we read the
     * driver's used_event/flags, else a driver that just re-enabled
     * interrupts and re-checked used->idx could miss this completion
     * (pairs with the mb in the driver's enable-callbacks path). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool want;
    if (q->event_idx) {
        uint16_t ev = __atomic_load_n(q->used_event, __ATOMIC_RELAXED);
        /* Interrupt iff used_event lies in [old, now): §2.7.10, in
         * 16-bit arithmetic so it holds across the wrap. */
        want = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        uint16_t fl = __atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED);
        want = !(fl & VRING_AVAIL_F_NO_INTERRUPT);
    }
    atomic_fetch_add_explicit(want ? &q->st.irqs : &q->st.irqs_suppressed, 1,
                              memory_order_relaxed);
    return want;
}
