/* SPDX-License-Identifier: MIT */
/* Local APIC access: enable, IPIs, its timer as a tick or a one-shot. */
#include "guest/apic.h"
#include "guest/io.h"

#define MSR_APIC_BASE 0x1b
#define APIC_ID 0x20
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define ICR_BUSY 0x1000
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000
#define DIV_BY_1 0xb
#define CAL_US 1000
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

/* Read by the tick handler in trap_entry.S. */
uint64_t apic_eoi_reg;
volatile uint64_t apic_ticks;

uint64_t apic_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE) & 0xfffff000ULL;

    apic_eoi_reg = base + APIC_EOI;
    /*
     * Nothing but our own tick may interrupt: the 8259s (unprogrammed,
     * vector base 0, and timer.c left the PIT running) are masked, and
     * so are LINT0 (ExtINT on the BSP after reset) and LINT1.
     */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    mmio_write32(base + APIC_LVT_LINT0, LVT_MASKED);
    mmio_write32(base + APIC_LVT_LINT1, LVT_MASKED);
    mmio_write32(base + APIC_SVR, 0x100 | APIC_SPURIOUS_VECTOR);
    return base;
}

uint32_t apic_id(uint64_t base)
{
    return mmio_read32(base + APIC_ID) >> 24;
}

void apic_ipi(uint64_t base, uint32_t dest, uint32_t icr, const struct timer *t)
{
    uint64_t end = timer_deadline(t, 10000);

    mmio_write32(base + APIC_ICR_HI, dest << 24);
    mmio_write32(base + APIC_ICR_LO, icr);
    while ((mmio_read32(base + APIC_ICR_LO) & ICR_BUSY) && !timer_expired(end))
        cpu_relax();
}

uint64_t apic_timer_rate(uint64_t base, const struct timer *t)
{
    uint64_t rate;

    /* Count down from the top, masked, for CAL_US of TSC time. */
    mmio_write32(base + APIC_TIMER_DIV, DIV_BY_1);
    mmio_write32(base + APIC_LVT_TIMER, LVT_MASKED | APIC_TICK_VECTOR);
    mmio_write32(base + APIC_TIMER_INIT, 0xffffffff);
    timer_delay_us(t, CAL_US);
    rate = 0xffffffffULL - mmio_read32(base + APIC_TIMER_CUR);
    mmio_write32(base + APIC_TIMER_INIT, 0);
    return rate * 1000 / CAL_US;
}

/* Timer counts for us microseconds at rate counts/ms; 0 if out of range. */
static uint32_t timer_count(uint64_t rate, uint32_t us)
{
    uint64_t n = rate * us / 1000;

    return n > 0xffffffffULL ? 0 : (uint32_t)(n ?: 1);
}

bool apic_tick_start(uint64_t base, const struct timer *t, uint32_t period_us)
{
    uint64_t rate = apic_timer_rate(base, t), end, seen;
    uint32_t count = timer_count(rate, period_us);

    if (!rate || !count)
        return false;
    mmio_write32(base + APIC_LVT_TIMER, LVT_PERIODIC | APIC_TICK_VECTOR);
    mmio_write32(base + APIC_TIMER_INIT, count);
    /* Wait with interrupts on (not hlt: it might never wake up). */
    seen = apic_ticks;
    /* Generous: on a loaded host the vCPU may not run for a while, and
     * without the tick every idle wait spins in emulated ring 0. */
    end = timer_deadline(t, 5 * period_us + 500000);
    __asm__ volatile("sti");
    while (apic_ticks == seen && !timer_expired(end))
        cpu_relax();
    __asm__ volatile("cli");
    if (apic_ticks != seen)
        return true;
    apic_timer_stop(base);
    return false;
}

bool apic_oneshot(uint64_t base, uint64_t rate, uint8_t vector, uint32_t us)
{
    uint32_t count = timer_count(rate, us);

    if (!rate || !count)
        return false;
    mmio_write32(base + APIC_LVT_TIMER, vector); /* one-shot, unmasked */
    mmio_write32(base + APIC_TIMER_INIT, count);
    return true;
}

void apic_timer_stop(uint64_t base)
{
    mmio_write32(base + APIC_TIMER_INIT, 0);
    mmio_write32(base + APIC_LVT_TIMER, LVT_MASKED | APIC_TICK_VECTOR);
}

void apic_tick_wait(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}
