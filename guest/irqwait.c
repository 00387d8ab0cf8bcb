/* SPDX-License-Identifier: MIT */
/* Counts of received device interrupts, and halting until one arrives. */
#include "guest/irqwait.h"
#include "guest/apic.h"

/* Written by the handlers in trap_entry.S, read here. */
volatile uint64_t irq_count[IRQ_PINS];
volatile uint64_t irq_watchdogs;

uint64_t irq_received(uint32_t pin)
{
    return pin < IRQ_PINS ? irq_count[pin] : 0;
}

bool irqwait_start(struct irqwait *w, const struct timer *t,
                   uint32_t watchdog_us)
{
    *w = (struct irqwait){.apic = apic_init(), .watchdog_us = watchdog_us};
    w->rate = apic_timer_rate(w->apic, t);
    w->on = w->rate != 0;
    return w->on;
}

bool irqwait_halt(struct irqwait *w, uint32_t us)
{
    uint64_t seen = irq_watchdogs;

    /*
     * Armed per halt, not left periodic: a periodic timer is exactly the
     * tick this mode keeps out of the picture.
     */
    if (!apic_oneshot(w->apic, w->rate, APIC_WATCHDOG_VECTOR, us))
        return true;  /* cannot arm: never halt unbounded */
    apic_tick_wait(); /* sti; hlt; cli: a pending interrupt ends it at once */
    apic_timer_stop(w->apic);
    w->halts++;
    if (irq_watchdogs == seen)
        return false;
    w->watchdogs++;
    return true;
}

void irqwait_stop(struct irqwait *w)
{
    if (w->on)
        apic_timer_stop(w->apic);
    w->on = false;
}
