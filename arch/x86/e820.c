/* SPDX-License-Identifier: MIT */
/* The e820 memory map kvmini reports to the guest. */
#include "arch/x86/e820.h"

#include "arch/x86/layout.h"

uint64_t e820_low_ram(uint64_t ram_size)
{
    return ram_size < LAYOUT_MMIO_HOLE ? ram_size : LAYOUT_MMIO_HOLE;
}

unsigned e820_build(uint64_t ram_size, struct e820_ent *out)
{
    unsigned n = 0;
    uint64_t low = e820_low_ram(ram_size);
    /* Base memory up to the EBDA, where the MP table lives; then the
     * legacy BIOS area (ACPI tables at 0xe0000) stays reserved. */
    out[n++] = (struct e820_ent){0, LAYOUT_EBDA, E820_TYPE_RAM};
    out[n++] = (struct e820_ent){LAYOUT_EBDA, LAYOUT_HIGH_MEM - LAYOUT_EBDA,
                                 E820_TYPE_RESERVED};
    out[n++] = (struct e820_ent){LAYOUT_HIGH_MEM, low - LAYOUT_HIGH_MEM,
                                 E820_TYPE_RAM};
    if (ram_size > low)
        out[n++] =
            (struct e820_ent){LAYOUT_HIGH_RAM, ram_size - low, E820_TYPE_RAM};
    return n;
}
