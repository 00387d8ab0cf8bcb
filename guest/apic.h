/* SPDX-License-Identifier: MIT */
/*
 * The boot CPU's local APIC in xAPIC (MMIO) mode: IPIs for AP start-up
 * and a periodic timer tick so idle loops can `hlt` instead of spinning
 * (every spin here is emulated ring-0 work on a shared host).
 */
#ifndef TG_APIC_H
#define TG_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/timer.h"

#define APIC_TICK_VECTOR 0x40
#define APIC_WATCHDOG_VECTOR 0x41 /* one-shot: see irqwait.h */
#define APIC_SPURIOUS_VECTOR 0xff

/* Software-enables the local APIC and returns its MMIO base. */
uint64_t apic_init(void);
uint32_t apic_id(uint64_t base);
/* Sends one IPI and waits (bounded by t) until the APIC accepted it. */
void apic_ipi(uint64_t base, uint32_t dest, uint32_t icr,
              const struct timer *t);
/*
 * Measures the timer (divide by 1) against the TSC for 1 ms: counts per
 * millisecond, 0 if it does not count. Leaves the timer stopped.
 */
uint64_t apic_timer_rate(uint64_t base, const struct timer *t);
/*
 * Starts a periodic tick of period_us on APIC_TICK_VECTOR and checks
 * that it really interrupts. Returns false (tick stopped) if not.
 */
bool apic_tick_start(uint64_t base, const struct timer *t, uint32_t period_us);
/*
 * Arms the timer once: one interrupt on vector after us microseconds at
 * rate (from apic_timer_rate). False if rate or us is out of range.
 */
bool apic_oneshot(uint64_t base, uint64_t rate, uint8_t vector, uint32_t us);
/* Stops the timer and masks its LVT entry (a tick or a one-shot). */
void apic_timer_stop(uint64_t base);
/* Sleeps until the next interrupt: sti; hlt; cli. */
void apic_tick_wait(void);

#endif
