/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio status handshake (modern and legacy), config space, queue
 * set-up and the split-ring driver side.
 */
#include "guest/virtio.h"
#include "guest/apic.h"
#include "guest/io.h"
#include "guest/ioapic.h"
#include "guest/irqwait.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/timer.h"

/* Register offsets of the modern (Version 2) layout. */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR_ID 0x00c
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_GUEST_PAGE_SIZE 0x028 /* legacy */
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_ALIGN 0x03c /* legacy */
#define R_QUEUE_PFN 0x040   /* legacy */
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080   /* low, high at +4 */
#define R_QUEUE_DRIVER 0x090 /* avail ring */
#define R_QUEUE_DEVICE 0x0a0 /* used ring */
#define R_CONFIG_GEN 0x0fc
#define R_CONFIG 0x100

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_FAILED 0x80

#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1
#define MSR_APIC_BASE 0x1b
#define IRQ_GRACE_US 50000
#define LEGACY_PAGE 4096
/*
 * A legacy used ring starts at the next QueueAlign boundary after the
 * avail ring. 8 keeps all three parts in the queue's one page, laid out
 * as for a modern device, and puts the used ring at the same place
 * whether a device counts the avail ring's used_event (the spec, Linux,
 * kvmini) or not (QEMU 7.2's virtio_queue_update_rings): 18n + 4 and
 * 18n + 6 round up alike for queues of 4 entries or more.
 */
#define RING_ALIGN 8
/* With EVENT_IDX and no interrupts wanted: a used_event this far ahead
 * of what we consumed is never crossed before we move it again. */
#define EVENT_FAR 0x8000

static uint32_t rd(const struct vdev *d, uint32_t off)
{
    return mmio_read32(d->base + off);
}

static void wr(const struct vdev *d, uint32_t off, uint32_t v)
{
    mmio_write32(d->base + off, v);
}

static void wr64(const struct vdev *d, uint32_t off, uint64_t v)
{
    wr(d, off, (uint32_t)v);
    wr(d, off + 4, (uint32_t)(v >> 32));
}

/*
 * A full fence: our avail index store must be visible before we read
 * the device's used flags (it may have set NO_NOTIFY meanwhile). A
 * locked add, not mfence: this machine's ring-0 emulator is pickier
 * about SSE-family instructions.
 */
static void mb(void)
{
    __asm__ volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

/* x86 keeps stores in order, and loads in order: only the compiler can
 * reorder what the ring protocol needs ordered. */
#define barrier() __asm__ volatile("" ::: "memory")

void vdev_probe(struct vdev *d)
{
    d->magic = rd(d, R_MAGIC);
    d->version = rd(d, R_VERSION);
    d->device_id = rd(d, R_DEVICE_ID);
    d->vendor_id = rd(d, R_VENDOR_ID);
}

void vdev_reset(struct vdev *d)
{
    wr(d, R_STATUS, 0);
}

uint32_t vdev_status(const struct vdev *d)
{
    return rd(d, R_STATUS);
}

uint32_t vdev_irq_ack(const struct vdev *d)
{
    uint32_t isr = rd(d, R_INTERRUPT_STATUS);

    if (isr)
        wr(d, R_INTERRUPT_ACK, isr);
    return isr;
}

uint8_t vdev_cfg8(const struct vdev *d, uint32_t off)
{
    return mmio_read8(d->base + R_CONFIG + off);
}

uint16_t vdev_cfg16(const struct vdev *d, uint32_t off)
{
    return mmio_read16(d->base + R_CONFIG + off);
}

uint32_t vdev_cfg32(const struct vdev *d, uint32_t off)
{
    return rd(d, R_CONFIG + off);
}

/* Two 32-bit reads (the spec's width for 64-bit fields); callers that
 * need the halves consistent check vdev_cfg_gen() around them. */
uint64_t vdev_cfg64(const struct vdev *d, uint32_t off)
{
    return rd(d, R_CONFIG + off) | (uint64_t)rd(d, R_CONFIG + off + 4) << 32;
}

uint32_t vdev_cfg_gen(const struct vdev *d)
{
    return d->legacy ? 0 : rd(d, R_CONFIG_GEN);
}

static int give_up(struct vdev *d, const char *reason, const char **why)
{
    wr(d, R_STATUS, rd(d, R_STATUS) | S_FAILED);
    *why = reason;
    return -1;
}

/* Legacy: 32 feature bits, no VERSION_1, no FEATURES_OK (section 4.2.4). */
static void start_legacy(struct vdev *d, uint64_t want)
{
    wr(d, R_DEV_FEATURES_SEL, 0);
    d->offered = rd(d, R_DEV_FEATURES);
    d->features = d->offered & want & 0xffffffffULL;
    wr(d, R_DRV_FEATURES_SEL, 0);
    wr(d, R_DRV_FEATURES, (uint32_t)d->features);
    wr(d, R_GUEST_PAGE_SIZE, LEGACY_PAGE);
}

int vdev_start(struct vdev *d, uint64_t want, const char **why)
{
    uint64_t offered;
    uint32_t st = 0;

    if (d->magic != VIRTIO_MAGIC || (d->version != 1 && d->version != 2)) {
        *why = "not-a-virtio-mmio-device";
        return -1;
    }
    d->legacy = d->version == 1;
    vdev_reset(d);
    /* Reset completes before the write returns here, but the spec asks
     * drivers to see 0 read back; a few looks bound the wait. */
    for (int i = 0; i < 4 && (st = rd(d, R_STATUS)); i++)
        cpu_relax();
    if (st)
        return give_up(d, "reset-not-acknowledged", why);
    wr(d, R_STATUS, S_ACKNOWLEDGE);
    wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
    if (d->legacy) {
        start_legacy(d, want);
        return 0;
    }
    wr(d, R_DEV_FEATURES_SEL, 1);
    offered = (uint64_t)rd(d, R_DEV_FEATURES) << 32;
    wr(d, R_DEV_FEATURES_SEL, 0);
    offered |= rd(d, R_DEV_FEATURES);
    d->offered = offered;
    if (!(offered >> VIRTIO_F_VERSION_1 & 1))
        return give_up(d, "no-VERSION_1", why);
    d->features = (offered & want) | 1ULL << VIRTIO_F_VERSION_1;
    wr(d, R_DRV_FEATURES_SEL, 0);
    wr(d, R_DRV_FEATURES, (uint32_t)d->features);
    wr(d, R_DRV_FEATURES_SEL, 1);
    wr(d, R_DRV_FEATURES, (uint32_t)(d->features >> 32));
    wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(d, R_STATUS) & S_FEATURES_OK))
        return give_up(d, "FEATURES_OK-refused", why);
    return 0;
}

bool vdev_irq_wake(struct vdev *d, struct tg *tg)
{
    if (!d->irq_wake && (tg->tick || tg->irqw.on) && d->irq < IRQ_PINS) {
        uint64_t lapic = rdmsr(MSR_APIC_BASE) & ~0xfffULL;

        d->irq_wake = ioapic_route(IOAPIC_BASE, d->irq, irq_vector(d->irq),
                                   apic_id(lapic));
    }
    return d->irq_wake;
}

bool vdev_irq_await(const struct vdev *d, struct tg *tg, uint64_t seen,
                    uint64_t timeout_us)
{
    uint64_t end = timer_deadline(&tg->timer, timeout_us);

    while (irq_received(d->irq) == seen && !timer_expired(end))
        tg_idle(tg);
    return irq_received(d->irq) != seen;
}

void vdev_driver_ok(struct vdev *d)
{
    wr(d, R_STATUS,
       S_ACKNOWLEDGE | S_DRIVER | (d->legacy ? 0 : S_FEATURES_OK) |
           S_DRIVER_OK);
}

/* Hands the rings to the device: addresses (modern) or the page number. */
static int queue_enable(struct vq *q, const struct vdev *d, const char **why)
{
    uint64_t pfn = (uint64_t)q->mem / LEGACY_PAGE;

    if (d->legacy) {
        wr(d, R_QUEUE_ALIGN, RING_ALIGN);
        wr(d, R_QUEUE_PFN, (uint32_t)pfn);
        if (rd(d, R_QUEUE_PFN) != pfn) {
            *why = "queue-refused";
            return -1;
        }
        return 0;
    }
    wr64(d, R_QUEUE_DESC, (uint64_t)q->desc);
    wr64(d, R_QUEUE_DRIVER, (uint64_t)q->avail);
    wr64(d, R_QUEUE_DEVICE, (uint64_t)q->used);
    wr(d, R_QUEUE_READY, 1);
    if (rd(d, R_QUEUE_READY) != 1) {
        *why = "queue-refused";
        return -1;
    }
    return 0;
}

int vq_setup(struct vq *q, const struct vdev *d, uint16_t index, uint16_t want,
             const char **why)
{
    uint32_t max, num = 1, avail_off, used_off;

    wr(d, R_QUEUE_SEL, index);
    if (rd(d, d->legacy ? R_QUEUE_PFN : R_QUEUE_READY)) {
        *why = "queue-already-ready";
        return -1;
    }
    max = rd(d, R_QUEUE_NUM_MAX);
    if (!max) {
        *why = "queue-not-available";
        return -1;
    }
    /* Largest power of two within all three limits. */
    while (num * 2 <= want && num * 2 <= max && num * 2 <= VQ_SIZE_MAX)
        num *= 2;
    avail_off = 16 * num;
    used_off = (avail_off + 6 + 2 * num + RING_ALIGN - 1) & ~(RING_ALIGN - 1);
    q->desc = (struct vq_desc *)q->mem;
    q->avail = (volatile struct vq_avail *)(q->mem + avail_off);
    q->used = (volatile struct vq_used *)(q->mem + used_off);
    q->dev = d;
    q->index = index;
    q->num = (uint16_t)num;
    q->free_head = 0;
    q->nfree = q->num;
    q->avail_idx = q->last_used = q->kicked = 0;
    q->busy = 0;
    q->event = d->features >> VIRTIO_F_EVENT_IDX & 1;
    q->irq = false;
    q->used_event = &q->avail->ring[num];
    q->avail_event = (volatile uint16_t *)&q->used->ring[num];
    q->irqs_seen = irq_received(d->irq);
    q->announced = 0;
    q->by_irq = q->late = 0;
    /*
     * Only the indices and flags need zeroes: descriptors and ring entries
     * are written before an index publishes them. (A 4 KiB memset is
     * milliseconds of emulated ring-0 work here.)
     */
    q->avail->idx = 0;
    q->used->flags = 0;
    q->used->idx = 0;
    *q->used_event = EVENT_FAR;
    *q->avail_event = 0;
    for (uint16_t i = 0; i < q->num; i++)
        q->desc[i].next = i + 1; /* the free list */
    /* We poll the used ring: interrupts would only cost the host work. */
    q->avail->flags = AVAIL_F_NO_INTERRUPT;
    wr(d, R_QUEUE_NUM, num);
    return queue_enable(q, d, why);
}

/* Publishes the chain at head (its descriptors already written). */
static int publish(struct vq *q, uint16_t head)
{
    q->busy |= 1u << head;
    q->avail->ring[q->avail_idx % q->num] = head;
    barrier(); /* the entry before the index that publishes it */
    q->avail->idx = ++q->avail_idx;
    return head;
}

/* Writes s[0..n) as descriptors linked by `next` from d[first]. */
static uint16_t fill_chain(struct vq_desc *d, uint16_t first,
                           const struct vq_seg *s, unsigned n, bool table)
{
    uint16_t i = first, last = first;

    for (unsigned k = 0; k < n; k++) {
        last = i;
        if (table)
            d[i].next = (uint16_t)(i + 1);
        d[i].addr = (uint64_t)s[k].p; /* identity-mapped: virt == phys */
        d[i].len = s[k].len;
        d[i].flags = (s[k].dev_writes ? VQ_DESC_F_WRITE : 0) |
                     (k + 1 < n ? VQ_DESC_F_NEXT : 0);
        i = d[i].next;
    }
    d[last].next = 0;
    return i; /* the entry after the chain: the new free head */
}

int vq_post(struct vq *q, const struct vq_seg *s, unsigned n)
{
    uint16_t head = q->free_head;

    if (!n || n > q->nfree)
        return -1;
    q->free_head = fill_chain(q->desc, head, s, n, false);
    q->nfree -= n;
    return publish(q, head);
}

int vq_post_indirect(struct vq *q, struct vq_desc *table,
                     const struct vq_seg *s, unsigned n)
{
    uint16_t head = q->free_head;
    struct vq_desc *d = &q->desc[head];

    if (!n || !q->nfree || n > 0xffffffffU / sizeof(*table))
        return -1;
    fill_chain(table, 0, s, n, true);
    q->free_head = d->next;
    q->nfree--;
    d->addr = (uint64_t)table;
    d->len = (uint32_t)(n * sizeof(*table));
    d->flags = VQ_DESC_F_INDIRECT;
    d->next = 0;
    return publish(q, head);
}

void vq_irq_enable(struct vq *q)
{
    q->irq = true;
    q->avail->flags = 0;
    if (q->event)
        *q->used_event = q->last_used;
    mb(); /* before we next look at the used ring */
}

void vq_kick(struct vq *q)
{
    bool need;

    mb(); /* our avail index before the device's suppression fields */
    if (q->event) {
        /* virtio 1.2 2.7.10: notify when avail_event is among the
         * entries published since the last notify (16-bit wrap). */
        uint16_t ev = *q->avail_event;

        need = (uint16_t)(q->avail_idx - ev - 1) <
               (uint16_t)(q->avail_idx - q->kicked);
    } else {
        need = !(q->used->flags & USED_F_NO_NOTIFY);
    }
    q->kicked = q->avail_idx;
    if (need)
        wr(q->dev, R_QUEUE_NOTIFY, q->index);
}

int vq_get_used(struct vq *q, uint16_t *head, uint32_t *len)
{
    struct vq_used_elem e;
    uint16_t i, n = 1;

    if (q->used->idx == q->last_used)
        return 0;
    barrier(); /* the index before the entry it covers */
    e.id = q->used->ring[q->last_used % q->num].id;
    e.len = q->used->ring[q->last_used % q->num].len;
    q->last_used++;
    /* A head we never posted (or returned twice) would corrupt the free
     * list: refuse it. */
    if (e.id >= q->num || !(q->busy & 1u << e.id))
        return -1;
    q->busy &= ~(1u << e.id);
    /* Give the chain back to the free list; a cycle stops at num hops. */
    for (i = (uint16_t)e.id; q->desc[i].flags & VQ_DESC_F_NEXT && n < q->num;
         n++)
        i = q->desc[i].next;
    if (i >= q->num || q->nfree + n > q->num)
        return -1;
    q->desc[i].next = q->free_head;
    q->free_head = (uint16_t)e.id;
    q->nfree += n;
    *head = (uint16_t)e.id;
    *len = e.len;
    if (q->event) {
        /* The next interrupt: when the device uses the entry after the
         * ones we consumed (or never, while we poll). */
        *q->used_event = q->irq ? q->last_used : q->last_used + EVENT_FAR;
        mb(); /* the store before our next look at used->idx */
    }
    return 1;
}

/*
 * With EVENT_IDX the device need not interrupt for an entry it used
 * before it saw the used_event vq_get_used() just moved: a driver looks
 * once more instead (virtio 1.2, 2.7.10). Entries there now count as
 * announced, like those an interrupt covered.
 */
static void event_idx_covered(struct vq *q)
{
    uint16_t now = q->used->idx;

    if ((int16_t)(uint16_t)(now - q->announced) > 0)
        q->announced = now;
}

/*
 * The watchdog's look found an entry: was its interrupt merely in flight
 * (the device writes the ring, then raises it)? A short grace halt says.
 */
static bool irq_follows(struct tg *tg, uint32_t pin, uint64_t irqs)
{
    irqwait_halt(&tg->irqw, IRQ_GRACE_US);
    return irq_received(pin) != irqs;
}

/*
 * irqwait mode: a used entry counts as announced when the used index
 * already covered it as the guest noticed a new interrupt from the
 * device; such entries are taken at once. Anything else is taken only
 * when the watchdog ended a halt, and counted as late.
 */
static int wait_by_irq(struct vq *q, struct tg *tg, uint64_t end,
                       uint16_t *head, uint32_t *len)
{
    const struct vdev *d = q->dev;
    bool watchdog = false;

    for (;;) {
        uint64_t irqs = irq_received(d->irq);
        bool announced;
        int r;

        if (irqs != q->irqs_seen) {
            vdev_irq_ack(d); /* first: a later completion raises anew */
            q->irqs_seen = irqs;
            q->announced = q->used->idx;
        }
        /* Entries before q->announced (ring order, wrapping). */
        announced = (int16_t)(uint16_t)(q->announced - q->last_used) > 0;
        if (announced || watchdog) {
            r = vq_get_used(q, head, len);
            if (r > 0 && (announced || irq_follows(tg, d->irq, irqs)))
                q->by_irq++;
            else if (r > 0)
                q->late++; /* only the watchdog's look found it */
            if (r > 0 && q->event)
                event_idx_covered(q);
            if (r)
                return r;
        }
        if (timer_expired(end))
            return 0;
        watchdog = irqwait_halt(&tg->irqw, tg->irqw.watchdog_us);
    }
}

int vq_wait_used(struct vq *q, struct tg *tg, uint64_t timeout_us,
                 uint16_t *head, uint32_t *len)
{
    uint64_t end = timer_deadline(&tg->timer, timeout_us);

    if (tg->irqw.on && q->dev->irq_wake)
        return wait_by_irq(q, tg, end, head, len);
    for (;;) {
        int r = vq_get_used(q, head, len);

        if (r || timer_expired(end))
            return r;
        /* Acknowledge first, then look again: a completion after the
         * look raises a new interrupt, which ends the hlt. */
        if (q->dev->irq_wake && vdev_irq_ack(q->dev))
            continue;
        tg_idle(tg);
    }
}
