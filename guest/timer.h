/* SPDX-License-Identifier: MIT */
/*
 * Time for bounded waits: the TSC, at the frequency the hypervisor or CPU
 * states (CPUID 0x40000010, 0x16), else calibrated against PIT channel 0.
 */
#ifndef TG_TIMER_H
#define TG_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer {
    uint64_t tsc_khz;
    const char *source; /* "pit", "cpuid" or "guess" */
};

void timer_init(struct timer *t);
/* The TSC value us microseconds from now. */
uint64_t timer_deadline(const struct timer *t, uint64_t us);
bool timer_expired(uint64_t deadline);
void timer_delay_us(const struct timer *t, uint64_t us);

#endif
