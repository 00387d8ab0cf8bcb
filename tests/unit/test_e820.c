/* SPDX-License-Identifier: MIT */
/* e820: the map around the boot area and the 32-bit MMIO hole. */
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "tests/unit/tap.h"

static void check_map(uint64_t ram)
{
    struct e820_ent e[E820_MAX];
    unsigned n = e820_build(ram, e);
    uint64_t usable = 0, prev_end = 0;
    bool sorted = true, in_hole = false;
    for (unsigned i = 0; i < n; i++) {
        if (e[i].addr < prev_end)
            sorted = false;
        prev_end = e[i].addr + e[i].size;
        if (e[i].type == E820_TYPE_RAM) {
            usable += e[i].size;
            if (e[i].addr < LAYOUT_MMIO_HOLE_END &&
                e[i].addr + e[i].size > LAYOUT_MMIO_HOLE)
                in_hole = true;
        }
    }
    uint64_t reserved = LAYOUT_HIGH_MEM - LAYOUT_EBDA;
    CHECK(sorted, "%lluM: sorted, no overlap", (unsigned long long)(ram >> 20));
    CHECK(!in_hole, "%lluM: no RAM in the MMIO hole",
          (unsigned long long)(ram >> 20));
    CHECK(usable == ram - reserved, "%lluM: usable RAM = size - BIOS area",
          (unsigned long long)(ram >> 20));
    CHECK(ram <= LAYOUT_MMIO_HOLE ? n == 3
                                  : (n == 4 && e[3].addr == LAYOUT_HIGH_RAM &&
                                     e[3].size == ram - LAYOUT_MMIO_HOLE),
          "%lluM: RAM above 4 GiB iff larger than the hole",
          (unsigned long long)(ram >> 20));
}

int main(void)
{
    check_map(16ULL << 20);
    check_map(64ULL << 20);
    check_map(3ULL << 30);
    check_map(4ULL << 30);
    check_map(24ULL << 30);
    CHECK(e820_low_ram(8ULL << 30) == LAYOUT_MMIO_HOLE, "low slot capped");
    return tap_done();
}
