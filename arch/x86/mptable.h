/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables for a machine: the
 * "_MP_" floating pointer followed by the "PCMP" configuration table.
 * Guests without ACPI (the tiny guest, Linux with acpi=off) learn the
 * CPUs, the IOAPIC and the interrupt routing from here.
 *
 * Pure function: writes into a caller buffer, touches nothing else.
 */
#ifndef KVMINI_ARCH_X86_MPTABLE_H
#define KVMINI_ARCH_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/machine.h"

/* Values the table carries (also checked by the unit tests). */
#define MPTABLE_LAPIC_VERSION 0x14  /* integrated xAPIC */
#define MPTABLE_IOAPIC_VERSION 0x11 /* KVM's IOAPIC reports 0x11 */
#define MPTABLE_ISA_IRQS 16

/*
 * Render the floating pointer at buf[0..16) and the configuration table
 * right after it. `gpa` is the guest-physical address buf will be copied
 * to (LAYOUT_MPTABLE): the floating pointer holds the table's absolute
 * address. Returns the number of bytes written, -ENOSPC if `cap` is too
 * small, -EINVAL for an invalid machine or a table not below 4 GiB.
 * With up to MACHINE_CPUS_MAX CPUs it fits in LAYOUT_MPTABLE_MAX.
 */
int mptable_render(const struct machine *m, uint64_t gpa, void *buf,
                   size_t cap);

/* Bytes mptable_render() will need for m (no checks on m). */
size_t mptable_size(const struct machine *m);

#endif
