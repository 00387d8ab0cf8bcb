/* SPDX-License-Identifier: MIT */
/*
 * Device interrupts as the guest receives them: per-pin counts kept by
 * the handlers in trap_entry.S, and the `irqwait` mode, in which a wait
 * for a virtio completion halts with no periodic tick, so that only the
 * device's interrupt can end it. A one-shot APIC timer (the watchdog)
 * bounds each halt: a lost interrupt then shows as a counted watchdog
 * wake-up and a failed check, never as a hung guest.
 */
#ifndef TG_IRQWAIT_H
#define TG_IRQWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/layout.h"
#include "guest/timer.h"

struct irqwait {
    bool on;              /* irqwait_start() succeeded, not yet stopped */
    uint64_t apic;        /* local APIC base */
    uint64_t rate;        /* its timer's counts per millisecond */
    uint32_t watchdog_us; /* longest halt */
    uint32_t halts;       /* halts so far */
    uint32_t watchdogs;   /* halts the watchdog ended */
};

/* Interrupts received on I/O APIC pin `pin` so far (0: no such pin). */
uint64_t irq_received(uint32_t pin);

/* The vector pin is routed to; the caller checks pin < IRQ_PINS. */
static inline uint8_t irq_vector(uint32_t pin)
{
    return (uint8_t)(IRQ_VECTOR_BASE + pin);
}

/*
 * Enters irqwait mode: the local APIC timer is calibrated and left
 * stopped (no tick). False if the timer does not count.
 */
bool irqwait_start(struct irqwait *w, const struct timer *t,
                   uint32_t watchdog_us);
/*
 * Halts with interrupts enabled until one arrives, the watchdog (after
 * us microseconds) at the latest. Returns true when the watchdog fired
 * during the halt.
 */
bool irqwait_halt(struct irqwait *w, uint32_t us);
/* Leaves irqwait mode (the timer is free for the idle tick). */
void irqwait_stop(struct irqwait *w);

#endif
