/* SPDX-License-Identifier: MIT */
/* Turns a Linux zero page or a PVH hvm_start_info into struct bootinfo. */
#include "guest/bootinfo.h"
#include "guest/lib.h"

/* Offsets in struct boot_params (Documentation/arch/x86/zero-page.rst). */
#define ZP_ACPI_RSDP 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_HDR_MAGIC 0x202 /* "HdrS" */
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_CMD_LINE_PTR 0x228
#define ZP_SETUP_DATA 0x250
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_SLOTS 128 /* E820_MAX_ENTRIES_ZEROPAGE */

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
#define PVH_MAGIC 0x336ec578
#define PVH_VERSION 4
#define PVH_NR_MODULES 12
#define PVH_MODLIST 16
#define PVH_CMDLINE 24
#define PVH_RSDP 32
#define PVH_MEMMAP 40
#define PVH_MEMMAP_ENTRIES 48
#define PVH_MOD_SIZE 32 /* hvm_modlist_entry: paddr, size, cmdline, rsvd */
#define PVH_MAP_SIZE 24 /* hvm_memmap_table_entry: addr, size, type, rsvd */

/* The cmdline is capped so a missing NUL cannot run through memory. */
#define CMDLINE_MAX 0x10000
#define GIB4 0x100000000ULL

/* Zero-page fields are unaligned (e820 entries are 20 bytes apart). */
struct una32 {
    uint32_t v;
} __attribute__((packed));
struct una64 {
    uint64_t v;
} __attribute__((packed));

static uint8_t rd8(uint64_t a)
{
    return *(const volatile uint8_t *)a;
}

static uint32_t rd32(uint64_t a)
{
    return ((const struct una32 *)a)->v;
}

static uint64_t rd64(uint64_t a)
{
    return ((const struct una64 *)a)->v;
}

static void set_cmdline(struct bootinfo *bi, uint64_t pa)
{
    /* Address 0 is "no command line"; everything we map is identity. */
    if (!pa || pa >= GIB4 - CMDLINE_MAX)
        return;
    bi->cmdline = (const char *)pa;
    bi->cmdline_len = (uint32_t)strnlen(bi->cmdline, CMDLINE_MAX);
}

static void add_e820(struct bootinfo *bi, uint64_t addr, uint64_t size,
                     uint32_t type)
{
    if (bi->e820_count == BOOTINFO_E820_MAX) {
        bi->e820_dropped++;
        return;
    }
    bi->e820[bi->e820_count++] = (struct e820_entry){addr, size, type};
}

int bootinfo_from_zeropage(struct bootinfo *bi, uint64_t zp)
{
    uint32_t n;

    bi->proto = PROTO_BZIMAGE;
    if (rd32(zp + ZP_HDR_MAGIC) != 0x53726448)
        return -1;
    set_cmdline(bi, rd32(zp + ZP_CMD_LINE_PTR) |
                        (uint64_t)rd32(zp + ZP_EXT_CMD_LINE_PTR) << 32);
    bi->initrd_addr = rd32(zp + ZP_RAMDISK_IMAGE) |
                      (uint64_t)rd32(zp + ZP_EXT_RAMDISK_IMAGE) << 32;
    bi->initrd_size = rd32(zp + ZP_RAMDISK_SIZE) |
                      (uint64_t)rd32(zp + ZP_EXT_RAMDISK_SIZE) << 32;
    bi->rsdp = rd64(zp + ZP_ACPI_RSDP);
    bi->setup_data = rd64(zp + ZP_SETUP_DATA);
    n = rd8(zp + ZP_E820_ENTRIES);
    if (n > ZP_E820_SLOTS) {
        bi->e820_dropped = n - ZP_E820_SLOTS;
        n = ZP_E820_SLOTS;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = zp + ZP_E820_TABLE + 20 * i; /* packed 20-byte entries */

        add_e820(bi, rd64(e), rd64(e + 8), rd32(e + 16));
    }
    return 0;
}

/*
 * QEMU microvm's firmware (qboot) appends its reserved ranges after the
 * RAM entries and ends with an empty entry; Linux sanitizes such a map
 * before use, and so do we, only on the PVH path. kvmini's zero page is
 * taken as is, so the e820 checks judge exactly what it wrote.
 */
static void sanitize_e820(struct bootinfo *bi)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < bi->e820_count; i++)
        if (bi->e820[i].size)
            bi->e820[n++] = bi->e820[i];
    bi->e820_count = n;
    for (uint32_t i = 1; i < n; i++) {
        struct e820_entry e = bi->e820[i];
        uint32_t j = i;

        for (; j && bi->e820[j - 1].addr > e.addr; j--)
            bi->e820[j] = bi->e820[j - 1];
        bi->e820[j] = e;
    }
    bi->e820_sanitized = true;
}

int bootinfo_from_pvh(struct bootinfo *bi, uint64_t si)
{
    uint32_t ver, nmod, nmap;
    uint64_t map;

    bi->proto = PROTO_PVH;
    if (!si || si >= GIB4 - 64 || rd32(si) != PVH_MAGIC)
        return -1;
    ver = rd32(si + PVH_VERSION);
    set_cmdline(bi, rd64(si + PVH_CMDLINE));
    bi->rsdp = rd64(si + PVH_RSDP);
    nmod = rd32(si + PVH_NR_MODULES);
    if (nmod) {
        /* The first module is the initrd, as Linux's PVH entry treats it. */
        uint64_t mod = rd64(si + PVH_MODLIST);

        if (mod && mod < GIB4 - PVH_MOD_SIZE) {
            bi->initrd_addr = rd64(mod);
            bi->initrd_size = rd64(mod + 8);
        }
    }
    /* Version 0 has no memory map; the e820 checks then report it. */
    if (ver < 1)
        return 0;
    map = rd64(si + PVH_MEMMAP);
    nmap = rd32(si + PVH_MEMMAP_ENTRIES);
    /* Only what lies in the mapped 4 GiB is read; beyond is "dropped". */
    if (map >= GIB4 || nmap > (GIB4 - map) / PVH_MAP_SIZE) {
        bi->e820_dropped = nmap;
        nmap = 0;
    }
    for (uint32_t i = 0; map && i < nmap; i++) {
        uint64_t e = map + PVH_MAP_SIZE * (uint64_t)i;

        add_e820(bi, rd64(e), rd64(e + 8), rd32(e + 16));
    }
    sanitize_e820(bi);
    return 0;
}
