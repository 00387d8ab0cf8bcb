/* SPDX-License-Identifier: MIT */
/*
 * CPU discovery (Intel MP table, ACPI MADT) and AP start-up through the
 * local APIC (INIT, SIPI, SIPI to the real-mode trampoline).
 */
#ifndef TG_SMP_H
#define TG_SMP_H

#include <stdint.h>

#include "guest/timer.h"

#define SMP_MAX_CPUS 64

struct smp_table {
    int found;      /* 0: absent */
    uint64_t addr;  /* where the table was found */
    uint32_t count; /* enabled processors described */
    uint32_t nids;  /* APIC IDs kept: those below 0xff, at most 64 */
    uint8_t apic_id[SMP_MAX_CPUS];
};

struct smp {
    struct smp_table mp, madt;
    uint32_t described; /* from the MADT if present, else the MP table */
    uint32_t online;    /* BSP + APs that counted themselves */
    uint32_t bsp_id;
};

/* Look for the MP table and the MADT (rsdp: 0 to scan for the RSDP). */
void smp_discover(struct smp *s, uint64_t rsdp);
/* Start every described AP; waits at most ~1 s in total. */
void smp_start_aps(struct smp *s, const struct timer *t);

#endif
