/* SPDX-License-Identifier: MIT */
/* TSC calibration (PIT channel 2, then CPUID) and deadline helpers. */
#include "guest/timer.h"
#include "guest/io.h"

#define PIT_HZ 1193182
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define CAL_MS 10
/*
 * A PIT that has not moved after DEAD_POLLS reads is absent; a live one
 * ends the loop in 10 ms, CAL_POLLS only bounds a pathological one.
 */
#define DEAD_POLLS 1000
#define CAL_POLLS 10000000
#define GUESS_KHZ 2000000

static uint16_t pit_read(void)
{
    uint8_t lo, hi;

    outb(PIT_CMD, 0x00); /* latch channel 0 */
    lo = inb(PIT_CH0);
    hi = inb(PIT_CH0);
    return (uint16_t)(lo | hi << 8);
}

/*
 * Channel 0 as a free-running down-counter (mode 2, period 65536 ticks)
 * read back through the latch command. Channel 2 would need port 0x61,
 * which QEMU's microvm does not have. Interrupts stay off, so its IRQ 0
 * is never taken.
 */
static uint64_t calibrate_pit(void)
{
    uint64_t t0, t1, ticks = 0, want = PIT_HZ / (1000 / CAL_MS), khz;
    uint16_t prev, cur;
    int polls = 0;

    outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0);
    prev = pit_read();
    t0 = rdtsc();
    while (ticks < want) {
        if (++polls == CAL_POLLS || (polls == DEAD_POLLS && !ticks))
            return 0;
        cur = pit_read();
        ticks += (uint16_t)(prev - cur); /* polls are << one period */
        prev = cur;
    }
    t1 = rdtsc();
    khz = (t1 - t0) * (PIT_HZ / 1000) / ticks;
    /* Outside 100 MHz..20 GHz the measurement is not believable. */
    return khz < 100000 || khz > 20000000 ? 0 : khz;
}

static uint64_t cpuid_khz(void)
{
    uint32_t r[4];

    /* KVM's timing leaf 0x40000010: EAX = TSC kHz when the VMM sets it. */
    cpuid(0x40000000, 0, r);
    if (r[1] == 0x4b4d564b && r[0] >= 0x40000010) { /* "KVMK" */
        cpuid(0x40000010, 0, r);
        if (r[0])
            return r[0];
    }
    cpuid(0, 0, r);
    if (r[0] >= 0x16) {
        cpuid(0x16, 0, r);
        if (r[0] & 0xffff)
            return (uint64_t)(r[0] & 0xffff) * 1000;
    }
    return 0;
}

void timer_init(struct timer *t)
{
    /* A frequency the hypervisor states is exact and costs no 10 ms. */
    t->tsc_khz = cpuid_khz();
    t->source = "cpuid";
    if (!t->tsc_khz) {
        t->tsc_khz = calibrate_pit();
        t->source = "pit";
    }
    if (!t->tsc_khz) {
        t->tsc_khz = GUESS_KHZ;
        t->source = "guess";
    }
}

uint64_t timer_deadline(const struct timer *t, uint64_t us)
{
    return rdtsc() + us * t->tsc_khz / 1000;
}

bool timer_expired(uint64_t deadline)
{
    return (int64_t)(rdtsc() - deadline) >= 0;
}

void timer_delay_us(const struct timer *t, uint64_t us)
{
    uint64_t end = timer_deadline(t, us);

    while (!timer_expired(end))
        cpu_relax();
}
