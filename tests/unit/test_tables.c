/* SPDX-License-Identifier: MIT */
/*
 * tables_install: the MP table, the ACPI tables and the device tree land
 * in guest RAM where a guest looks for them. The test finds them the way
 * a guest does (the MP spec's scan of base memory and the BIOS area, the
 * zero page's acpi_rsdp_addr and setup_data), never through layout.h,
 * so a table rendered anywhere else, or nowhere, fails here.
 */
#include <asm/bootparam.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "arch/x86/tables.h"
#include "tests/unit/bz_fixture.h"
#include "tests/unit/mdesc_parse.h"
#include "tests/unit/tap.h"

#define RAM_SIZE (64ULL << 20)

struct guest {
    struct gmem mem;
    uint8_t *ram;
    struct boot_info bi;
    struct boot_params *bp;
};

/* Boots a synthetic bzImage and installs the tables for a 2-CPU machine
 * with one virtio console. 0, or -1 after a failed CHECK. */
static int guest_boot(struct guest *g, bool acpi, bool dtb)
{
    struct bz_spec spec = {.pref_address = 0x100000};
    struct boot_config cfg = {.cmdline = "console=ttyS0", .ram_size = RAM_SIZE};
    struct tables_config tc = {.acpi = acpi, .dtb = dtb};
    struct machine m;
    struct bzimage bz;
    const char *why = "";
    size_t len;
    uint8_t *img = bz_fixture_make(&spec, &len);
    int r;

    memset(g, 0, sizeof(*g));
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    gmem_add(&g->mem, 0, RAM_SIZE, g->ram);
    r = bzimage_parse(img, len, &bz, &why);
    if (r == 0)
        r = boot_load(&g->mem, &bz, &cfg, &g->bi, &why);
    free(img);
    machine_init(&m, 2);
    m.serial = true;
    machine_add_virtio(&m, 3);
    if (r == 0)
        r = tables_describe(&m, &g->bi, 0);
    if (r == 0)
        r = tables_install(&g->mem, &m, &g->bi, &tc);
    CHECK(r == 0, "acpi=%d dtb=%d: boot_load and tables_install (%d %s)", acpi,
          dtb, r, why);
    g->bp = (struct boot_params *)(g->ram + LAYOUT_ZERO_PAGE);
    return r == 0 ? 0 : -1;
}

/* A valid "_MP_" floating pointer on a 16-byte boundary in [a, a+len). */
static uint64_t mp_scan(const struct guest *g, uint64_t a, uint64_t len)
{
    for (uint64_t p = a & ~15ULL; p + 16 <= a + len; p += 16)
        if (!memcmp(g->ram + p, "_MP_", 4) && g->ram[p + 8] == 1 &&
            mdv_sum8(g->ram + p, 16) == 0)
            return p;
    return 0;
}

/*
 * MP spec 1.4, section 4, as Linux and the tiny guest read it: the first
 * KiB of the EBDA (segment in the BDA at 0x40e), the last KiB of base
 * memory (KiB count in the BDA at 0x413; 640 when the loader fills no
 * BDA, as kvmini does not), then 0xf0000-0xfffff.
 */
static uint64_t mp_find(const struct guest *g)
{
    uint64_t ebda = (uint64_t)(g->ram[0x40e] | g->ram[0x40f] << 8) << 4;
    uint64_t base = (uint64_t)(g->ram[0x413] | g->ram[0x414] << 8) << 10;
    uint64_t fp = 0;

    if (ebda)
        fp = mp_scan(g, ebda, 1024);
    if (!base)
        base = 640 << 10;
    if (!fp)
        fp = mp_scan(g, base - 1024, 1024);
    if (!fp)
        fp = mp_scan(g, 0xf0000, 0x10000);
    return fp;
}

/* Is [a, a+len) inside usable RAM per the zero page's e820 map? */
static bool in_usable_ram(const struct guest *g, uint64_t a, uint64_t len)
{
    for (unsigned i = 0; i < g->bp->e820_entries; i++) {
        const struct boot_e820_entry *e = &g->bp->e820_table[i];

        if (e->type == E820_TYPE_RAM && a < e->addr + e->size &&
            e->addr < a + len)
            return true;
    }
    return false;
}

static void test_mptable(const struct guest *g, const char *how)
{
    struct mdesc_view v;
    uint64_t fp = mp_find(g);
    int r = -1;

    CHECK(fp != 0,
          "%s: the MP floating pointer is where a guest scans "
          "(0x%llx)",
          how, (unsigned long long)fp);
    if (!fp)
        return;
    r = mdv_parse_mptable(g->ram + fp, 0x100000 - fp, fp, &v);
    CHECK(r == 0 && v.ncpus == 2 && v.apic_id[0] == 0 && v.apic_id[1] == 1,
          "%s: its table in guest RAM describes CPUs 0 and 1", how);
    if (r == 0) {
        uint64_t cfg = mdv_le32(g->ram + fp + 4);
        uint64_t end = cfg + (g->ram[cfg + 4] | g->ram[cfg + 5] << 8);

        CHECK(!in_usable_ram(g, fp, 16) && !in_usable_ram(g, cfg, end - cfg),
              "%s: ... outside the RAM e820 gives the guest to use", how);
    }
}

/* The RSDP the zero page names: valid, and in the legacy scan area. */
static void test_acpi(const struct guest *g)
{
    uint64_t rsdp = g->bp->acpi_rsdp_addr, x;
    const uint8_t *p = g->ram + rsdp;
    bool madt = false, sums = true;

    CHECK(rsdp >= 0xe0000 && rsdp < 0x100000 && rsdp % 16 == 0 &&
              !memcmp(p, "RSD PTR ", 8) && mdv_sum8(p, 20) == 0 &&
              mdv_sum8(p, 36) == 0,
          "acpi: zero page acpi_rsdp_addr 0x%llx holds a valid RSDP in "
          "0xe0000-0xfffff",
          (unsigned long long)rsdp);
    x = mdv_le64(p + 24);
    CHECK(x && x + 36 < RAM_SIZE && !memcmp(g->ram + x, "XSDT", 4) &&
              mdv_sum8(g->ram + x, mdv_le32(g->ram + x + 4)) == 0,
          "acpi: its XSDT is in guest RAM, checksum ok");
    if (!x || x + 36 >= RAM_SIZE || memcmp(g->ram + x, "XSDT", 4))
        return;
    for (uint32_t o = 36; o + 8 <= mdv_le32(g->ram + x + 4); o += 8) {
        uint64_t t = mdv_le64(g->ram + x + o);

        if (t + 36 >= RAM_SIZE) {
            sums = false;
            continue;
        }
        sums &= mdv_sum8(g->ram + t, mdv_le32(g->ram + t + 4)) == 0;
        madt |= !memcmp(g->ram + t, "APIC", 4);
    }
    CHECK(sums && madt, "acpi: every table it lists is in RAM, checksum "
                        "ok, one of them the MADT");
}

/* setup_data from the zero page: a SETUP_DTB whose tree has 2 CPUs. */
static void test_dtb(const struct guest *g)
{
    uint64_t sd = g->bp->hdr.setup_data;
    struct mdesc_view v;
    const struct setup_data *h;

    mdv_init(&v);
    CHECK(sd && sd + sizeof(*h) < RAM_SIZE,
          "dtb: zero page setup_data "
          "0x%llx",
          (unsigned long long)sd);
    if (!sd || sd + sizeof(*h) >= RAM_SIZE)
        return;
    h = (const struct setup_data *)(g->ram + sd);
    CHECK(h->type == SETUP_DTB && sd + sizeof(*h) + h->len <= RAM_SIZE &&
              mdv_parse_dtb(h->data, &v) == 0 && v.ncpus == 2,
          "dtb: a SETUP_DTB entry whose tree libfdt reads: %u cpus", v.ncpus);
}

int main(void)
{
    struct guest g;

    if (guest_boot(&g, true, true) == 0) {
        test_mptable(&g, "acpi+dtb");
        test_acpi(&g);
        test_dtb(&g);
    }
    munmap(g.ram, RAM_SIZE);
    if (guest_boot(&g, false, false) == 0) {
        test_mptable(&g, "--no-acpi --no-dtb");
        CHECK(g.bp->acpi_rsdp_addr == 0 && g.bp->hdr.setup_data == 0,
              "--no-acpi --no-dtb: the zero page names no RSDP, no "
              "setup_data");
    }
    munmap(g.ram, RAM_SIZE);
    return tap_done();
}
