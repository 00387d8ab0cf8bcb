/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical memory map (e820): what is RAM, what is reserved,
 * for a given RAM size around the 32-bit MMIO hole (arch/x86/layout.h).
 */
#ifndef KVMINI_ARCH_X86_E820_H
#define KVMINI_ARCH_X86_E820_H

#include <stdint.h>

#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2
#define E820_TYPE_ACPI 3
#define E820_MAX 8

struct e820_ent {
    uint64_t addr, size;
    uint32_t type;
};

/* Smallest RAM kvmini accepts: room for the boot area and a kernel. */
#define E820_MIN_RAM (16ULL << 20)

/* Fill out[] (E820_MAX entries) for ram_size bytes; returns the count. */
unsigned e820_build(uint64_t ram_size, struct e820_ent *out);

/* RAM below the hole (the low KVM slot) for ram_size. */
uint64_t e820_low_ram(uint64_t ram_size);

#endif
