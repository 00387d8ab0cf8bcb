/* SPDX-License-Identifier: MIT */
/*
 * Host-side tests of the guest's portable parts (number and cmdline
 * parsing, formatting, zero-page/PVH decoding, the checks and their
 * lines) and of the built bzImage's setup header. guest.mk builds this
 * with the guest sources, their libc-named helpers renamed to tg_*.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "guest/bootinfo.h"
#include "guest/cmdline.h"
#include "guest/entry.h"
#include "guest/lib.h"
#include "guest/serial.h"
#include "guest/tg.h"
#include "guest/user.h"
#include "guest/host/fake_serial.h"
#include "tests/unit/tap.h"


/* Ring 3 is just a call here. */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b)
{
    return fn(a, b);
}

/* What boot.S would have recorded at the bzImage entry. */
struct entry_regs entry_regs;

static void out_reset(void)
{
    fake_serial_clear();
}

static int has(const char *needle)
{
    size_t n = tg_strlen(needle);

    for (size_t i = 0; i + n <= fake_serial_len; i++)
        if (!tg_memcmp(fake_serial_out + i, needle, n))
            return 1;
    return 0;
}

static void test_parse(void)
{
    uint64_t v = 0;

    CHECK(!parse_u64("64M", 3, true, &v) && v == 64ULL << 20, "64M");
    CHECK(!parse_u64("3g", 2, true, &v) && v == 3ULL << 30, "3g");
    CHECK(!parse_u64("0x29c0e8fd", 10, false, &v) && v == 0x29c0e8fd, "hex");
    CHECK(parse_u64("64M", 3, false, &v), "suffix refused without suffixes");
    CHECK(parse_u64("", 0, true, &v), "empty refused");
    CHECK(parse_u64("0x", 2, false, &v), "bare 0x refused");
    CHECK(parse_u64("12a", 3, false, &v), "junk refused");
    CHECK(parse_u64("18446744073709551616", 20, false, &v), "2^64 overflows");
    CHECK(parse_u64("17179869184G", 12, true, &v), "suffix overflow");
}

static void test_fmt(void)
{
    char b[32];
    int n;

    n = fmt(b, sizeof(b), "%08x|%lu|%d|%s", 0xbeefu, (uint64_t)1 << 40, -5,
            "x");
    CHECK(n == 27 && !tg_strncmp(b, "0000beef|1099511627776|-5|x", 32),
          "conversions: %s", b);
    n = fmt(b, 8, "%s", "0123456789");
    CHECK(n == 10 && !tg_strncmp(b, "0123456", 8), "truncates, NUL kept");
    n = fmt(b, sizeof(b), "%.*s!", 3, "abcdef");
    CHECK(n == 4 && !tg_strncmp(b, "abc!", 8), "precision");
}

static void test_cmdline(void)
{
    const char *cl = "a=\"x y\" shellx shell=0 expect_memx=1 expect_mem=1M "
                     "expect_mem=2M q=\"v\\\"";
    size_t len = tg_strlen(cl), n = 0;
    const char *v = NULL;

    CHECK(cmdline_get(cl, len, "a", &v, &n) && n == 3 &&
              !tg_memcmp(v, "x y", 3),
          "quoted value keeps its space, loses its quotes");
    CHECK(!cmdline_has(cl, len, "shell"), "shellx and shell=0 are not shell");
    CHECK(cmdline_has("x shell", 7, "shell"), "bare word at the end");
    CHECK(cmdline_get(cl, len, "expect_mem", &v, &n) && n == 2 &&
              !tg_memcmp(v, "2M", 2),
          "later key wins, expect_memx is another key");
    CHECK(!cmdline_get(cl, len, "missing", &v, &n), "absent key");
    CHECK(!cmdline_has(NULL, 0, "shell"), "no command line at all");
}

/* Guest "physical" memory for pointer fields: a fixed low mapping. */
#define LOW 0x10000000UL
#define LOW_SIZE 0x100000UL

static uint8_t *low_map(void)
{
    void *p = mmap((void *)LOW, LOW_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

    return p == (void *)LOW ? p : NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    tg_memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    tg_memcpy(p, &v, 8);
}

static void zp_e820(uint8_t *zp, int i, uint64_t a, uint64_t s, uint32_t t)
{
    put64(zp + 0x2d0 + 20 * i, a);
    put64(zp + 0x2d0 + 20 * i + 8, s);
    put32(zp + 0x2d0 + 20 * i + 16, t);
}

static void test_zeropage(uint8_t *low)
{
    static struct tg tg;
    uint8_t *zp = low;
    char *cl = (char *)low + 0x1000;

    tg_memset(low, 0, 0x2000);
    put32(zp + 0x202, 0x53726448);
    tg_memcpy(cl, "expect_mem=64M \"q\\", 19);
    put32(zp + 0x228, (uint32_t)(uintptr_t)cl);
    put32(zp + 0x218, 0x3c00000);
    put32(zp + 0x21c, 4096);
    zp[0x1e8] = 3;
    zp_e820(zp, 0, 0, 0x9fc00, 1);
    zp_e820(zp, 1, 0x9fc00, 0x60400, 2);
    zp_e820(zp, 2, 0x100000, 0x3f00000, 1);
    CHECK(!bootinfo_from_zeropage(&tg.bi, (uintptr_t)zp) &&
              tg.bi.e820_count == 3 && tg.bi.cmdline_len == 18 &&
              tg.bi.initrd_addr == 0x3c00000 && tg.bi.initrd_size == 4096,
          "zero page decoded");

    tg.bootinfo_ok = true;
    tg.initrd_summed = true;
    tg.smp.described = tg.smp.online = 1;
    tg.smp.mp = (struct smp_table){.found = 1, .count = 1, .nids = 1};
    out_reset();
    report_cmdline(&tg);
    CHECK(has("tg: cmdline len=18 \"expect_mem=64M \"q\\\\\"\n"),
          "cmdline line escapes the backslash only");
    out_reset();
    CHECK(checks_run(&tg) == 0 && has("tg: check expect_mem ok") &&
              has("tg: check initrd_in_ram ok") &&
              has("tg: check e820_hole ok"),
          "good map passes");

    /* The MP table is always expected, the MADT with an RSDP. */
    tg.smp.mp.found = 0;
    out_reset();
    CHECK(checks_run(&tg) == 1 &&
              has("tg: check smp_tables_agree FAIL mptable=none madt=none "
                  "rsdp=0x0"),
          "no MP table: smp_tables_agree fails (no fallback to the MADT)");
    tg.smp.mp.found = 1;
    tg.bi.rsdp = 0xe0000;
    out_reset();
    CHECK(checks_run(&tg) == 1 &&
              has("tg: check smp_tables_agree FAIL mptable=found madt=none "
                  "rsdp=0xe0000"),
          "an RSDP but no MADT: smp_tables_agree fails");
    tg.smp.madt =
        (struct smp_table){.found = 1, .count = 1, .nids = 1, .apic_id = {1}};
    out_reset();
    CHECK(checks_run(&tg) == 1 &&
              has("tg: check smp_tables_agree FAIL mptable=1 madt=1"),
          "tables naming different APIC ids disagree");
    tg.smp.madt.apic_id[0] = 0;
    out_reset();
    CHECK(checks_run(&tg) == 0 &&
              has("tg: check smp_tables_agree ok mptable=1 madt=1"),
          "tables naming the same APIC ids agree");
    tg.bi.rsdp = 0;

    /* Unsorted, overlapping, RAM in the hole: each check must fail. */
    zp[0x1e8] = 4;
    zp_e820(zp, 0, 0x100000, 0x3f00000, 1);
    zp_e820(zp, 1, 0, 0x9fc00, 1);
    zp_e820(zp, 2, 0x3f00000, 0x200000, 2);
    zp_e820(zp, 3, 0xbff00000, 0x200000, 1);
    tg_memset(&tg.bi, 0, sizeof(tg.bi));
    bootinfo_from_zeropage(&tg.bi, (uintptr_t)zp);
    out_reset();
    CHECK(checks_run(&tg) >= 3 && has("tg: check e820_sorted FAIL entry=1") &&
              has("tg: check e820_disjoint FAIL") &&
              has("tg: check e820_hole FAIL entry=3") &&
              has("tg: check expect_mem FAIL"),
          "bad map fails, each rule names its first bad entry");
    if (tap_fail)
        DIAG("guest output: %s", fake_serial_out);

    /* Hostile fields: too many entries, a cmdline beyond 4 GiB. */
    zp[0x1e8] = 200;
    put32(zp + 0x0c8, 1); /* ext_cmd_line_ptr: cmdline above 4 GiB */
    tg_memset(&tg.bi, 0, sizeof(tg.bi));
    bootinfo_from_zeropage(&tg.bi, (uintptr_t)zp);
    CHECK(tg.bi.e820_count == 128 && tg.bi.e820_dropped == 72 &&
              !tg.bi.cmdline && !tg.bi.cmdline_len,
          "200 e820 entries: 128 kept, 72 dropped; high cmdline ignored");
    out_reset();
    checks_run(&tg);
    CHECK(has("tg: check e820_present FAIL entries=128 dropped=72"),
          "dropped entries fail e820_present");

    put32(zp + 0x202, 0);
    CHECK(bootinfo_from_zeropage(&tg.bi, (uintptr_t)zp) == -1,
          "no HdrS: refused");
}

static void test_pvh(uint8_t *low)
{
    static struct tg tg;
    uint8_t *si = low + 0x4000, *map = low + 0x5000, *mod = low + 0x6000;
    static const uint64_t ents[][3] = {
        {0, 0x9fc00, 1},     {0x100000, 0x3f00000, 1},
        {0x9fc00, 0x400, 2}, {0xfeffc000, 0x4000, 2},
        {0, 0, 0},
    };

    tg_memset(si, 0, 0x3000);
    put32(si, 0x336ec578);
    put32(si + 4, 1);
    put32(si + 12, 1);
    put64(si + 16, (uintptr_t)mod);
    put64(mod, 0x3000000);
    put64(mod + 8, 1001);
    put64(si + 40, (uintptr_t)map);
    put32(si + 48, 5);
    for (int i = 0; i < 5; i++) {
        put64(map + 24 * i, ents[i][0]);
        put64(map + 24 * i + 8, ents[i][1]);
        put32(map + 24 * i + 16, (uint32_t)ents[i][2]);
    }
    CHECK(!bootinfo_from_pvh(&tg.bi, (uintptr_t)si) && tg.bi.e820_count == 4 &&
              tg.bi.e820[1].addr == 0x9fc00 && tg.bi.e820[2].addr == 0x100000 &&
              tg.bi.initrd_size == 1001 && tg.bi.cmdline_len == 0,
          "PVH: memmap sanitized (sorted, empty entry gone), module 0");
    put64(si + 40, 0x100000000ULL); /* memmap above 4 GiB */
    put64(si + 16, 0xfffffff0ULL);  /* modlist at the 4 GiB edge */
    tg_memset(&tg.bi, 0, sizeof(tg.bi));
    CHECK(!bootinfo_from_pvh(&tg.bi, (uintptr_t)si) && !tg.bi.e820_count &&
              tg.bi.e820_dropped == 5 && !tg.bi.initrd_size,
          "PVH: memmap and modlist outside 4 GiB are not read");
    put32(si, 0);
    CHECK(bootinfo_from_pvh(&tg.bi, (uintptr_t)si) == -1, "PVH: bad magic");
}

/* Page tables in the low map: PML4 at +0x10000, PDPT, 4 PDs. */
static uint64_t build_idmap(uint8_t *low, bool gib_pages)
{
    uint64_t *pml4 = (uint64_t *)(low + 0x10000), *pdpt = pml4 + 512;
    uint64_t *pd = pdpt + 512;

    tg_memset(pml4, 0, 6 * 4096);
    pml4[0] = (uintptr_t)pdpt | 3;
    for (int i = 0; i < 4; i++)
        pdpt[i] = gib_pages ? (uint64_t)i << 30 | 0x83
                            : ((uintptr_t)(pd + 512 * i)) | 3;
    for (uint64_t i = 0; i < 2048; i++)
        pd[i] = i << 21 | 0x83 | (i & 1) << 12; /* PAT bit: not address */
    return (uintptr_t)pml4;
}

static void test_entry(uint8_t *low)
{
    static struct tg tg;
    uint64_t cr3 = build_idmap(low, false), *pd = (uint64_t *)(cr3 + 0x2000);

    entry_regs = (struct entry_regs){ .rflags = 0x2, .cr0 = 0x80050033,
                                      .cr3 = cr3, .efer = 0x500, .valid = 1 };
    entry_probe(&tg.entry);
    CHECK(tg.entry.idmap_end == 1ULL << 32, "2 MiB identity map: 4 GiB");
    out_reset();
    checks_run(&tg);
    CHECK(has("tg: check loader_state ok if=0 lma=1 pg=1"),
          "good entry state passes");

    pd[1000] += 1ULL << 21; /* 2000 MiB maps to 2002 MiB */
    entry_probe(&tg.entry);
    CHECK(tg.entry.idmap_end == 1000ULL << 21, "wrong frame found");
    pd[1000] -= 1ULL << 21;
    pd[2047] = 0;
    entry_probe(&tg.entry);
    CHECK(tg.entry.idmap_end == 2047ULL << 21, "missing top 2 MiB found");
    out_reset();
    checks_run(&tg);
    CHECK(has("tg: check loader_state FAIL"), "short map fails");

    cr3 = build_idmap(low, true);
    entry_regs.cr3 = cr3;
    entry_regs.rflags = 0x202;
    entry_probe(&tg.entry);
    CHECK(tg.entry.idmap_end == 1ULL << 32, "1 GiB pages: 4 GiB");
    out_reset();
    checks_run(&tg);
    CHECK(has("tg: check loader_state FAIL if=1"), "IF set at entry fails");
    entry_regs.valid = 0;
}

/* The built image: header fields a 64-bit loader depends on. */
static void test_image(void)
{
    FILE *f = fopen("build/tiny-guest", "rb");
    static uint8_t img[1 << 20], pm[1 << 20];
    size_t pm_len;
    size_t n = f ? fread(img, 1, sizeof(img), f) : 0;
    uint32_t syssize, init_size;
    uint64_t pref;
    size_t setup;

    if (f)
        fclose(f);
    CHECK(n > 0x1000, "build/tiny-guest readable (%zu bytes)", n);
    if (n <= 0x1000)
        return;
    setup = (img[0x1f1] + 1) * 512;
    tg_memcpy(&syssize, img + 0x1f4, 4);
    tg_memcpy(&init_size, img + 0x260, 4);
    tg_memcpy(&pref, img + 0x258, 8);
    CHECK(!tg_memcmp(img + 0x202, "HdrS", 4) && img[0x206] == 0x0f &&
              img[0x207] == 0x02 && img[0x1fe] == 0x55 && img[0x1ff] == 0xaa,
          "HdrS, protocol 2.15, boot flag");
    CHECK(img[0x211] & 1 && img[0x236] & 1 && pref == 0x100000 &&
              img[0x234] == 0,
          "LOADED_HIGH, XLF_KERNEL_64, pref_address 1 MiB, not relocatable");
    CHECK(syssize * 16 >= n - setup && syssize * 16 < n - setup + 16,
          "syssize matches the file (%u paragraphs)", syssize);
    CHECK(init_size >= n - setup, "init_size covers the image");
    f = fopen("build/guest/pm.bin", "rb");
    pm_len = f ? fread(pm, 1, sizeof(pm), f) : 0;
    if (f)
        fclose(f);
    CHECK(pm_len == n - setup && !tg_memcmp(img + setup, pm, pm_len),
          "protected-mode image follows the setup sectors unchanged");
    /* startup_64 begins "mov $boot_stack_top, %rsp" (48 c7 c4 imm32). */
    CHECK(img[setup + 0x200] == 0x48 && img[setup + 0x201] == 0xc7 &&
              img[setup + 0x202] == 0xc4,
          "64-bit entry at 0x200 of the protected-mode part");
}

int main(void)
{
    uint8_t *low = low_map();

    test_parse();
    test_fmt();
    test_cmdline();
    if (low) {
        test_zeropage(low);
        test_pvh(low);
        test_entry(low);
    } else {
        CHECK(0, "map guest memory at 0x%lx", LOW);
    }
    test_image();
    return tap_done();
}
