/* SPDX-License-Identifier: MIT */
/* An idle-counting clock for host-side driver tests. */
#include "guest/host/fake_clock.h"

#include <stdbool.h>
#include <stdint.h>

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

/* No interrupts here (no_irq.c), and no irqwait: an idle passes. */
bool irqwait_halt(struct irqwait *w, uint32_t us)
{
    (void)w, (void)us;
    idles++;
    return true;
}
