/* SPDX-License-Identifier: MIT */
/*
 * The I/O APIC, just enough to let a device interrupt wake the idle
 * `hlt`: route one GSI, edge-triggered and active-high (as kvmini and
 * QEMU describe their virtio lines), to a vector on one local APIC.
 */
#ifndef TG_IOAPIC_H
#define TG_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* The address kvmini and QEMU use (docs/machine.md, MADT). */
#define IOAPIC_BASE 0xfec00000ULL

/*
 * Unmasks pin gsi with the given vector and destination APIC id. Returns
 * false when the I/O APIC has no such pin (nothing written).
 */
bool ioapic_route(uint64_t base, uint32_t gsi, uint8_t vector,
                  uint32_t apic_id);

#endif
