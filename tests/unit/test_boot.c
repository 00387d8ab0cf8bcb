/* SPDX-License-Identifier: MIT */
/* The boot-params builder: placement of kernel, initrd and cmdline, the
 * zero page's fields, and every way a guest can be too big for RAM. */
#include <asm/bootparam.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "tests/unit/bz_fixture.h"
#include "tests/unit/tap.h"

struct guest {
    struct gmem mem;
    uint8_t *ram;
    uint64_t size;
};

static void guest_init(struct guest *g, uint64_t size)
{
    memset(g, 0, sizeof(*g));
    g->size = size;
    g->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint64_t low = e820_low_ram(size);
    gmem_add(&g->mem, 0, low, g->ram);
    if (size > low)
        gmem_add(&g->mem, LAYOUT_HIGH_RAM, size - low, g->ram + low);
}

static void guest_fini(struct guest *g)
{
    munmap(g->ram, g->size);
}

static int load(struct guest *g, const struct bz_spec *spec,
                struct boot_config *cfg, struct boot_info *bi, const char **why)
{
    size_t len;
    uint8_t *img = bz_fixture_make(spec, &len);
    struct bzimage bz;
    int r = bzimage_parse(img, len, &bz, why);
    if (r == 0)
        r = boot_load(&g->mem, &bz, cfg, bi, why);
    free(img);
    return r;
}

/*
 * bz_fixture fills the protected-mode part with (file offset * 7): every
 * byte of it, from setup_len on, must be at addr onwards.
 */
static bool pm_copied(const struct guest *g, uint64_t addr, size_t setup_len,
                      size_t pm_len)
{
    for (size_t i = 0; i < pm_len; i++)
        if (g->ram[addr + i] != (uint8_t)((setup_len + i) * 7)) {
            DIAG("byte %zu of the protected-mode part differs", i);
            return false;
        }
    return true;
}

static void test_basic(void)
{
    struct guest g;
    guest_init(&g, 64 << 20);
    static uint8_t initrd[3 * 4096 + 5];
    memset(initrd, 0x5a, sizeof(initrd));
    struct bz_spec spec = {.pref_address = 0x100000};
    struct boot_config cfg = {.initrd = initrd,
                              .initrd_len = sizeof(initrd),
                              .cmdline = "console=ttyS0 x=\"a b\"",
                              .ram_size = g.size,
                              .acpi_rsdp = 0xe0000};
    struct boot_info bi;
    const char *why = "";
    CHECK(load(&g, &spec, &cfg, &bi, &why) == 0, "load: %s", why);
    CHECK(bi.kernel_addr == 0x100000 && bi.entry == 0x100200,
          "kernel at pref_address, entry at +0x200");
    CHECK(pm_copied(&g, 0x100000, 5 * 512, 64 * 1024),
          "protected-mode part copied whole, byte for byte");
    struct boot_params *bp = (void *)(g.ram + LAYOUT_ZERO_PAGE);
    CHECK(memcmp(&bp->hdr.header, "HdrS", 4) == 0 && bp->hdr.version == 0x020f,
          "setup header copied into the zero page");
    CHECK(bp->hdr.type_of_loader == 0xff, "type_of_loader set");
    CHECK(bp->hdr.cmd_line_ptr == LAYOUT_CMDLINE &&
              strcmp((char *)g.ram + LAYOUT_CMDLINE, cfg.cmdline) == 0,
          "cmdline placed with quotes intact");
    CHECK(bp->hdr.ramdisk_size == sizeof(initrd) &&
              bp->hdr.ramdisk_image == bi.initrd_addr &&
              bi.initrd_addr % 4096 == 0 &&
              bi.initrd_addr + sizeof(initrd) <= g.size &&
              bi.initrd_addr >= bi.kernel_end &&
              g.ram[bi.initrd_addr + sizeof(initrd) - 1] == 0x5a,
          "initrd high, page aligned, clear of the kernel: 0x%llx",
          (unsigned long long)bi.initrd_addr);
    CHECK(bi.initrd_addr + sizeof(initrd) > g.size - 8192,
          "initrd at the top of RAM");
    CHECK(bp->e820_entries == 3 && bp->e820_table[2].addr == 0x100000 &&
              bp->e820_table[2].addr + bp->e820_table[2].size == g.size,
          "e820 in the zero page");
    CHECK(bp->acpi_rsdp_addr == 0xe0000, "acpi_rsdp_addr passed");
    guest_fini(&g);
}

static void test_limits(void)
{
    struct guest g;
    guest_init(&g, 16 << 20);
    struct bz_spec spec = {.pref_address = 0x1000000};
    struct boot_config cfg = {.cmdline = "", .ram_size = g.size};
    struct boot_info bi;
    const char *why = "";
    CHECK(load(&g, &spec, &cfg, &bi, &why) == -ENOMEM &&
              strstr(why, "RAM too small"),
          "non-relocatable kernel above RAM refused: %s", why);
    spec.relocatable = 1;
    CHECK(load(&g, &spec, &cfg, &bi, &why) == 0 && bi.kernel_addr == 0x200000 &&
              pm_copied(&g, 0x200000, 5 * 512, 64 * 1024),
          "relocatable kernel placed (and copied) at the first aligned "
          "address");

    static uint8_t big[14 << 20];
    cfg.initrd = big;
    cfg.initrd_len = sizeof(big);
    CHECK(load(&g, &spec, &cfg, &bi, &why) == -E2BIG &&
              strstr(why, "initrd too large"),
          "initrd that would overlap the kernel refused: %s", why);
    cfg.initrd_len = 0;

    struct bz_spec lim = {.pref_address = 0x100000,
                          .initrd_addr_max = 0x7fffff};
    cfg.initrd = big;
    cfg.initrd_len = 4096;
    CHECK(load(&g, &lim, &cfg, &bi, &why) == 0 &&
              bi.initrd_addr + 4096 <= 0x800000,
          "initrd below initrd_addr_max");
    cfg.initrd_len = 0;

    char line[2100];
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    cfg.cmdline = line;
    CHECK(load(&g, &lim, &cfg, &bi, &why) == -E2BIG &&
              strstr(why, "command line"),
          "cmdline above cmdline_size refused");
    line[1024] = 0;
    CHECK(load(&g, &lim, &cfg, &bi, &why) == 0 &&
              strlen((char *)g.ram + LAYOUT_CMDLINE) == 1024,
          "1 KiB cmdline accepted");
    guest_fini(&g);
}

static void test_high_ram(void)
{
    struct guest g;
    guest_init(&g, 5ULL << 30);
    static uint8_t initrd[8192];
    struct bz_spec spec = {.pref_address = 0x1000000};
    struct boot_config cfg = {.initrd = initrd,
                              .initrd_len = sizeof(initrd),
                              .cmdline = "",
                              .ram_size = g.size};
    struct boot_info bi;
    const char *why = "";
    CHECK(load(&g, &spec, &cfg, &bi, &why) == 0, "5G guest loads");
    struct boot_params *bp = (void *)(g.ram + LAYOUT_ZERO_PAGE);
    CHECK(bp->e820_entries == 4 && bp->e820_table[3].addr == 1ULL << 32 &&
              bp->e820_table[3].size == (5ULL << 30) - LAYOUT_MMIO_HOLE,
          "RAM above the hole at 4 GiB");
    CHECK(bi.initrd_addr + sizeof(initrd) <= 0x80000000ULL &&
              bi.initrd_addr >= 0x80000000ULL - 0x10000,
          "initrd just below initrd_addr_max (2 GiB)");
    guest_fini(&g);
}

int main(void)
{
    test_basic();
    test_limits();
    test_high_ram();
    return tap_done();
}
