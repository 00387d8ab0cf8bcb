/* SPDX-License-Identifier: MIT */
/* Programs one I/O APIC redirection entry. */
#include "guest/ioapic.h"
#include "guest/io.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define REG_VER 0x01
#define REG_REDIR 0x10 /* pin n: 0x10 + 2n (low), 0x11 + 2n (high) */

static uint32_t rd(uint64_t base, uint32_t reg)
{
    mmio_write32(base + IOREGSEL, reg);
    return mmio_read32(base + IOWIN);
}

static void wr(uint64_t base, uint32_t reg, uint32_t v)
{
    mmio_write32(base + IOREGSEL, reg);
    mmio_write32(base + IOWIN, v);
}

bool ioapic_route(uint64_t base, uint32_t gsi, uint8_t vector, uint32_t apic_id)
{
    uint32_t ver = rd(base, REG_VER), max = ver >> 16 & 0xff; /* last pin */

    if (ver == 0xffffffff || gsi > max) /* all-ones: nothing there */
        return false;
    /* Destination first, while the pin is still masked from reset. */
    wr(base, REG_REDIR + 2 * gsi + 1, apic_id << 24);
    /* Fixed delivery, physical destination, active high, edge, unmasked. */
    wr(base, REG_REDIR + 2 * gsi, vector);
    return true;
}
