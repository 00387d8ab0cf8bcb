/* SPDX-License-Identifier: MIT */
/* Idle-counting clock and no interrupts, for host-side driver tests. */
#include "guest/host/fake_clock.h"

#include <stdbool.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/ioapic.h"
#include "guest/irqwait.h"
#include "guest/timer.h"

int idles;

uint64_t timer_deadline(const struct timer *t, uint64_t us)
{
    (void)t;
    return (uint64_t)idles + us / 1000 + 1;
}

bool timer_expired(uint64_t deadline)
{
    return (uint64_t)idles >= deadline;
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

/* No interrupts here (and no irqwait: the console's mode only). */
uint64_t irq_received(uint32_t pin)
{
    (void)pin;
    return 0;
}

bool irqwait_halt(struct irqwait *w, uint32_t us)
{
    (void)w, (void)us;
    idles++;
    return true;
}
