/* SPDX-License-Identifier: MIT */
/*
 * The guest's one context: what it was told at boot and what it found.
 * tg_main() owns the only instance and passes it down.
 */
#ifndef TG_TG_H
#define TG_TG_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/bootinfo.h"
#include "guest/devices.h"
#include "guest/entry.h"
#include "guest/irqwait.h"
#include "guest/power.h"
#include "guest/smp.h"
#include "guest/timer.h"

struct tg {
    struct devices dev; /* virtio devices; page-aligned rings first */
    struct bootinfo bi;
    bool bootinfo_ok;
    struct entry_state entry; /* bzImage entry only (entry.regs.valid) */
    struct timer timer;
    struct smp smp;
    bool initrd_summed; /* false: none, or not addressable */
    uint32_t initrd_sum;
    uint32_t fails;      /* failed checks */
    bool tick;           /* APIC tick running: idle with hlt, not spinning */
    struct irqwait irqw; /* irqwait mode: device waits by interrupt only */
    struct power_button pwrbtn;
};

/* Waits a little (until the next tick, or one pause) for idle loops. */
void tg_idle(struct tg *tg);

struct mem_totals {
    uint64_t ram, below4g, above4g;
};

void mem_totals(const struct bootinfo *bi, struct mem_totals *m);

/* Result lines ("tg: ..."), shared by the boot report and the shell. */
void report_hello(const struct tg *tg);
void report_cmdline(const struct tg *tg);
void report_e820(const struct tg *tg);
void report_mem(const struct tg *tg);
void report_initrd(const struct tg *tg);
void report_cpus(const struct tg *tg);

/* Runs every check, prints one line each; returns the number failed. */
uint32_t checks_run(struct tg *tg);

/* Interactive prompt on the console; returns only through tg_exit(). */
void shell_run(struct tg *tg) __attribute__((noreturn));

#endif
