/* SPDX-License-Identifier: MIT */
/* Reads back the loader's hand-over state and measures its identity map. */
#include "guest/entry.h"
#include "guest/user.h"

#define GIB4 0x100000000ULL
#define PTE_P 0x1
#define PTE_PS 0x80
#define PTE_ADDR 0x000ffffffffff000ULL

extern struct entry_regs entry_regs;

/*
 * Ring 3 (all of the first 4 GiB is user-readable in our own map, and
 * the loader's tables live there). Returns the first address below
 * limit that is not present or not mapped to itself, else limit.
 */
__attribute__((section(".text.user"))) static uint64_t
idmap_end_ring3(uint64_t cr3, uint64_t limit)
{
    uint64_t a = 0;

    while (a < limit) {
        uint64_t table = cr3 & PTE_ADDR, e = 0, size;
        int shift = 39;

        for (;;) {
            if (table >= GIB4)
                return a; /* we could not read it */
            e = ((const volatile uint64_t *)table)[(a >> shift) & 511];
            if (!(e & PTE_P))
                return a;
            if (shift == 12 || (shift <= 30 && (e & PTE_PS)))
                break;
            table = e & PTE_ADDR;
            shift -= 9;
        }
        size = 1ULL << shift;
        /* Masking to the page size also drops the PAT bit of big pages. */
        if ((e & PTE_ADDR & ~(size - 1)) != (a & ~(size - 1)))
            return a;
        a = (a & ~(size - 1)) + size;
    }
    return limit;
}

void entry_probe(struct entry_state *e)
{
    e->regs = entry_regs;
    e->idmap_end = 0;
    if (e->regs.valid)
        e->idmap_end = user_call(idmap_end_ring3, e->regs.cr3, GIB4);
}
