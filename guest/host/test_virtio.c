/* SPDX-License-Identifier: MIT */
/*
 * Host-side tests of the guest's virtio driver (virtio.c): the status
 * handshake and queue registers against a register file in memory, the
 * split ring's free list over many post/complete rounds, and a device
 * that returns heads it was never given. The device side is played by
 * hand here; the integration tests run the driver against kvmini's and
 * QEMU's real devices.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/virtio.h"
#include "tests/unit/tap.h"

/* Stubs for what virtio.c and lib.c call outside the ring logic. */
void serial_write(const char *s, size_t len)
{
    fwrite(s, 1, len, stdout);
}
static int idles;
void tg_idle(struct tg *tg)
{
    (void)tg;
    idles++;
}
uint64_t timer_deadline(const struct timer *t, uint64_t us)
{
    (void)t;
    return us;
}
bool timer_expired(uint64_t deadline)
{
    return idles >= (int)deadline; /* one "microsecond" per idle */
}
uint32_t apic_id(uint64_t base)
{
    (void)base;
    return 0;
}
bool ioapic_route(uint64_t base, uint32_t gsi, uint8_t vector, uint32_t id)
{
    (void)base, (void)gsi, (void)vector, (void)id;
    return false;
}

/*
 * irqwait: each halt runs the device's next scripted step (complete a
 * head or not, raise the interrupt or not) and reports whether the
 * watchdog ended it.
 */
struct halt_step {
    int use;   /* head to complete, or -1 */
    bool irq;  /* the interrupt is delivered */
    bool wdog; /* the watchdog fired */
};
static const struct halt_step *script;
static int nsteps, halts;
static uint64_t fake_irqs;
static struct vq *script_q;
static void device_use(struct vq *q, uint16_t h, uint32_t len);

uint64_t irq_received(uint32_t pin)
{
    return pin == 5 ? fake_irqs : 0;
}
bool irqwait_halt(struct irqwait *w, uint32_t us)
{
    const struct halt_step *st;

    (void)w, (void)us;
    idles++;
    if (halts >= nsteps)
        return true;
    st = &script[halts++];
    if (st->use >= 0)
        device_use(script_q, (uint16_t)st->use, 1);
    fake_irqs += st->irq;
    return st->wdog;
}

/* A register file: writes stick, reads return the last value. */
static uint32_t regs[0x40] __attribute__((aligned(4096)));
#define REG(off) regs[(off) / 4]

static void device_reset(uint32_t features_hi, uint32_t num_max)
{
    memset(regs, 0, sizeof(regs));
    REG(0x000) = VIRTIO_MAGIC;
    REG(0x004) = 2;
    REG(0x008) = VIRTIO_ID_CONSOLE;
    REG(0x010) = features_hi; /* one cell serves both selector values */
    REG(0x034) = num_max;
}

/* The device's half: return head h with length len. */
static void device_use(struct vq *q, uint16_t h, uint32_t len)
{
    uint16_t i = q->used->idx;

    q->used->ring[i % q->num].id = h;
    q->used->ring[i % q->num].len = len;
    q->used->idx = i + 1;
}

static struct vq q;
static struct tg tg;

static void test_handshake(void)
{
    struct vdev d = {.base = (uint64_t)regs};
    const char *why = "-";

    device_reset(1, 16);
    vdev_probe(&d);
    CHECK(d.magic == VIRTIO_MAGIC && d.version == 2 && d.device_id == 3,
          "probe reads magic, version, device id");
    CHECK(vdev_start(&d, 0, &why) == 0, "start: %s", why);
    CHECK(REG(0x070) == 0xb && REG(0x020) == 1 && REG(0x024) == 1,
          "status ACK|DRIVER|FEATURES_OK, VERSION_1 written to the high "
          "word (status 0x%x)",
          REG(0x070));
    CHECK(vq_setup(&q, &d, 1, 64, &why) == 0 && q.num == 16,
          "queue size capped at QueueNumMax 16 (got %u)", q.num);
    CHECK(REG(0x030) == 1 && REG(0x038) == 16 && REG(0x044) == 1,
          "QueueSel 1, QueueNum 16, QueueReady");
    CHECK(REG(0x080) == (uint32_t)(uint64_t)q.desc &&
              REG(0x090) == (uint32_t)(uint64_t)q.avail &&
              REG(0x0a0) == (uint32_t)(uint64_t)q.used,
          "ring addresses written");
    CHECK((uint64_t)q.avail % 2 == 0 && (uint64_t)q.used % 4 == 0 &&
              (uint8_t *)q.used + 6 + 8 * 16 <= q.mem + sizeof(q.mem),
          "rings aligned and inside the queue's page");

    device_reset(0, 16);
    vdev_probe(&d);
    CHECK(vdev_start(&d, 0, &why) == -1 && !strcmp(why, "no-VERSION_1") &&
              REG(0x070) & 0x80,
          "no VERSION_1 offered: refused, FAILED set");
    device_reset(1, 0);
    vdev_probe(&d);
    vdev_start(&d, 0, &why);
    CHECK(vq_setup(&q, &d, 0, 8, &why) == -1 &&
              !strcmp(why, "queue-not-available"),
          "QueueNumMax 0: queue refused");
    REG(0x004) = 3;
    vdev_probe(&d);
    CHECK(vdev_start(&d, 0, &why) == -1 &&
              !strcmp(why, "not-a-virtio-mmio-device"),
          "Version 3: not driven");
}

/* Legacy (Version 1): 32 feature bits, no FEATURES_OK, GuestPageSize. */
static void test_legacy(void)
{
    struct vdev d = {.base = (uint64_t)regs};
    const char *why = "-";

    device_reset(1u << 28 | 1u << 5, 16); /* INDIRECT_DESC, bit 5 */
    REG(0x004) = 1;
    vdev_probe(&d);
    CHECK(vdev_start(&d, 1ULL << 28 | 1ULL << 32, &why) == 0 && d.legacy,
          "legacy device started: %s", why);
    CHECK(d.offered == (1u << 28 | 1u << 5) && d.features == 1u << 28 &&
              REG(0x020) == 1u << 28 && REG(0x024) == 0,
          "only the low 32 bits: offered 0x%lx, negotiated 0x%lx",
          (unsigned long)d.offered, (unsigned long)d.features);
    CHECK(REG(0x070) == 3 && REG(0x028) == 4096,
          "status ACK|DRIVER without FEATURES_OK, GuestPageSize 4096");
    vdev_driver_ok(&d);
    CHECK(REG(0x070) == 7, "DRIVER_OK without FEATURES_OK (0x%x)", REG(0x070));
}

/* EVENT_IDX both ways, and indirect chains. */
static void test_event_indirect(void)
{
    struct vdev d = {.base = (uint64_t)regs};
    static struct vq_desc table[3] __attribute__((aligned(16)));
    char buf[3][8];
    struct vq_seg s[3] = {
        {buf[0], 16, false}, {buf[1], 8, false}, {buf[2], 1, true}};
    const char *why = "-";
    uint16_t head;
    uint32_t len;
    int h;

    device_reset(1 | 1u << 29 | 1u << 28, 8); /* VERSION_1 (high cell) */
    vdev_probe(&d);
    CHECK(vdev_start(&d, 1ULL << 29 | 1ULL << 28, &why) == 0 &&
              d.features == (1ULL << 32 | 1ULL << 29 | 1ULL << 28),
          "EVENT_IDX and INDIRECT_DESC negotiated");
    vq_setup(&q, &d, 1, 8, &why);
    CHECK(q.event && *q.used_event == 0x8000,
          "polling: used_event parked far ahead");
    REG(0x050) = 0xffff;
    vq_post(&q, s, 1);
    vq_kick(&q);
    CHECK(REG(0x050) == 1, "avail_event 0: the first post is notified");
    REG(0x050) = 0xffff;
    *q.avail_event = 5;
    vq_post(&q, s, 1);
    vq_kick(&q);
    CHECK(REG(0x050) == 0xffff, "avail_event 5: entry 1 not notified");
    *q.avail_event = 2;
    vq_post(&q, s, 1);
    vq_post(&q, s, 1);
    vq_kick(&q);
    CHECK(REG(0x050) == 1, "avail_event 2 among entries 2-3: notified");
    device_use(&q, 0, 0);
    vq_get_used(&q, &head, &len);
    CHECK(*q.used_event == (uint16_t)(1 + 0x8000),
          "polling: used_event stays far after a completion");
    vq_irq_enable(&q);
    CHECK(*q.used_event == 1 && q.avail->flags == 0,
          "interrupts wanted: used_event = the next entry");
    device_use(&q, 1, 0);
    vq_get_used(&q, &head, &len);
    CHECK(*q.used_event == 2, "... and it follows each completion");

    h = vq_post_indirect(&q, table, s, 3);
    CHECK(h >= 0 && q.desc[h].flags == VQ_DESC_F_INDIRECT &&
              q.desc[h].addr == (uint64_t)table && q.desc[h].len == 48,
          "indirect: one ring entry pointing at a 3-entry table");
    CHECK(table[0].flags == VQ_DESC_F_NEXT && table[0].next == 1 &&
              table[1].flags == VQ_DESC_F_NEXT && table[1].next == 2 &&
              table[2].flags == VQ_DESC_F_WRITE && table[2].len == 1 &&
              table[0].addr == (uint64_t)buf[0] && table[0].len == 16,
          "the table: linked in order, the last one device-writable");
    CHECK(q.nfree == 8 - 2 - 1, "one descriptor taken (%u free)", q.nfree);
    device_use(&q, 2, 0);
    device_use(&q, 3, 0);
    device_use(&q, (uint16_t)h, 1);
    for (int i = 0; i < 3; i++)
        vq_get_used(&q, &head, &len);
    CHECK(head == h && len == 1 && q.nfree == 8,
          "its head comes back, the free list whole");
}

static void test_ring(void)
{
    struct vdev d = {.base = (uint64_t)regs};
    const char *why;
    char buf[4][8];
    struct vq_seg s[4];
    uint16_t head;
    uint32_t len;
    bool ok = true;

    device_reset(1, 8);
    vdev_probe(&d);
    vdev_start(&d, 0, &why);
    vq_setup(&q, &d, 0, 8, &why);
    for (int i = 0; i < 4; i++)
        s[i] = (struct vq_seg){buf[i], 8, i >= 2};
    /* 1000 rounds of two chains of 1 and 3: the free list must hold. */
    for (int r = 0; r < 1000 && ok; r++) {
        int a = vq_post(&q, s, 1), b = vq_post(&q, s + 1, 3);

        ok = a >= 0 && b >= 0 && q.nfree == 4 && q.avail->idx == q.avail_idx;
        ok = ok && q.desc[b].flags == 1 && q.desc[q.desc[b].next].flags == 3 &&
             q.desc[q.desc[q.desc[b].next].next].flags == 2;
        device_use(&q, (uint16_t)b, 16);
        device_use(&q, (uint16_t)a, 0);
        ok = ok && vq_get_used(&q, &head, &len) == 1 && head == b && len == 16;
        ok = ok && vq_get_used(&q, &head, &len) == 1 && head == a;
        ok = ok && vq_get_used(&q, &head, &len) == 0 && q.nfree == 8;
    }
    CHECK(ok, "1000 rounds of 1- and 3-buffer chains: heads, flags, free "
              "list intact");
    CHECK(vq_post(&q, s, 4) >= 0 && vq_post(&q, s, 4) >= 0 &&
              vq_post(&q, s, 1) == -1,
          "a full ring refuses another chain");

    REG(0x044) = 0; /* as after a reset: the queue may be set up again */
    vq_setup(&q, &d, 0, 8, &why);
    int a = vq_post(&q, s, 2);
    device_use(&q, (uint16_t)(a + 2), 0); /* never posted */
    CHECK(vq_get_used(&q, &head, &len) == -1 && q.nfree == 6,
          "a head never posted is refused, nothing freed");
    device_use(&q, (uint16_t)a, 0);
    device_use(&q, (uint16_t)a, 0); /* returned twice */
    CHECK(vq_get_used(&q, &head, &len) == 1 && head == a && q.nfree == 8,
          "the real head is taken back");
    CHECK(vq_get_used(&q, &head, &len) == -1 && q.nfree == 8,
          "the same head returned again is refused");
    device_use(&q, 200, 0);
    CHECK(vq_get_used(&q, &head, &len) == -1, "a head past the ring");

    idles = 0;
    vq_post(&q, s, 1);
    CHECK(vq_wait_used(&q, &tg, 5, &head, &len) == 0 && idles == 5,
          "nothing used: the wait ends at its deadline, idling between "
          "looks");
}

/* Runs one wait against a script; returns what vq_wait_used returned. */
static int run_script(const struct halt_step *st, int n, int timeout)
{
    uint16_t head;
    uint32_t len;

    script = st;
    nsteps = n;
    halts = 0;
    idles = 0;
    return vq_wait_used(&q, &tg, (uint64_t)timeout, &head, &len);
}

static void test_irqwait(void)
{
    struct vdev d = {.base = (uint64_t)regs, .irq = 5, .irq_wake = true};
    const char *why;
    char buf[8];
    struct vq_seg s = {buf, 8, true};
    int h, h2;

    device_reset(1, 8);
    vdev_probe(&d);
    vdev_start(&d, 0, &why);
    vq_setup(&q, &d, 0, 8, &why);
    script_q = &q;
    tg.irqw.on = true;

    h = vq_post(&q, &s, 1);
    {
        const struct halt_step st[] = {{h, true, false}};
        CHECK(run_script(st, 1, 100) == 1 && q.by_irq == 1 && !q.late &&
                  halts == 1,
              "irqwait: completion announced by its interrupt: by_irq");
    }
    h = vq_post(&q, &s, 1);
    {
        /* Completed, but no interrupt: an unrelated wake-up must not
         * make the guest look; only the watchdog's does (late). */
        const struct halt_step st[] = {
            {h, false, false}, {-1, false, true}, {-1, false, true}};
        CHECK(run_script(st, 3, 100) == 1 && q.by_irq == 1 && q.late == 1 &&
                  halts == 3,
              "irqwait: a completion without interrupt is late (after %d "
              "halts)",
              halts);
    }
    h = vq_post(&q, &s, 1);
    h2 = vq_post(&q, &s, 1);
    {
        /* One interrupt announces two completions: both taken at once. */
        const struct halt_step st[] = {{h, false, false}, {h2, true, false}};
        bool one = run_script(st, 2, 100) == 1;
        bool two = run_script(NULL, 0, 100) == 1;

        CHECK(one && two && q.by_irq == 3 && q.late == 1 && halts == 0,
              "irqwait: one interrupt announces every entry before it");
    }
    h = vq_post(&q, &s, 1);
    {
        /* An old interrupt does not announce a later completion. */
        const struct halt_step st[] = {{h, false, true}, {-1, false, true}};
        CHECK(run_script(st, 2, 100) == 1 && q.late == 2,
              "irqwait: an interrupt seen earlier announces nothing new");
    }
    h = vq_post(&q, &s, 1);
    {
        /* The watchdog's look finds it and its interrupt comes during the
         * grace halt right after: by interrupt after all. */
        const struct halt_step st[] = {{h, false, true}, {-1, true, false}};
        CHECK(run_script(st, 2, 100) == 1 && q.late == 2 && q.by_irq == 4,
              "irqwait: an interrupt in flight at the watchdog still counts");
    }
    for (int ev = 0; ev < 2; ev++) {
        /*
         * One entry announced, a second one already used: with EVENT_IDX
         * the device need not interrupt for it (it was used before our
         * used_event moved), so it counts as announced; without, only
         * an interrupt or the watchdog may take it.
         */
        uint32_t late = q.late, by_irq = q.by_irq;
        bool one, two;

        q.event = ev;
        h = vq_post(&q, &s, 1);
        h2 = vq_post(&q, &s, 1);
        device_use(&q, (uint16_t)h, 1);
        device_use(&q, (uint16_t)h2, 1);
        q.irqs_seen = fake_irqs; /* no interrupt news pending */
        q.announced = (uint16_t)(q.last_used + 1);
        one = run_script(NULL, 0, 100) == 1;
        two = run_script(NULL, 0, 100) == 1;
        CHECK(one && two && q.by_irq == by_irq + 1 + ev && q.late == late + !ev,
              "irqwait, EVENT_IDX %s: an entry used before used_event moved "
              "is %s",
              ev ? "on" : "off", ev ? "announced" : "late");
    }
    q.event = false;
    h = vq_post(&q, &s, 1);
    {
        const struct halt_step st[] = {{h, true, false}};

        REG(0x060) = 1; /* InterruptStatus: used buffer */
        REG(0x064) = 0;
        CHECK(run_script(st, 1, 100) == 1 && REG(0x064) == 1,
              "irqwait: the interrupt is acknowledged (InterruptACK 1)");
        REG(0x060) = 0;
    }
    vq_post(&q, &s, 1);
    CHECK(run_script(NULL, 0, 5) == 0 && idles == 5,
          "irqwait: nothing used: the wait ends at its deadline");
    tg.irqw.on = false;
}

int main(void)
{
    test_handshake();
    test_legacy();
    test_event_indirect();
    test_ring();
    test_irqwait();
    return tap_done();
}
