/* SPDX-License-Identifier: MIT */
/*
 * What the boot loader told the guest, in one loader-neutral shape:
 * filled from a Linux zero page (bzImage boot) or from a PVH
 * hvm_start_info (QEMU -kernel ELF). Pointers refer to guest memory the
 * loader prepared; nothing is copied except the memory map.
 */
#ifndef TG_BOOTINFO_H
#define TG_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#define BOOTINFO_E820_MAX 128
#define E820_RAM 1

enum boot_proto { PROTO_BZIMAGE, PROTO_PVH };

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

struct bootinfo {
    enum boot_proto proto;
    const char *cmdline; /* not NUL-terminated beyond cmdline_len */
    uint32_t cmdline_len;
    uint64_t initrd_addr, initrd_size; /* size 0: no initrd */
    uint64_t rsdp;                     /* 0: unknown, scan for it */
    uint64_t setup_data;               /* zero page setup_data chain */
    uint32_t e820_count;
    uint32_t e820_dropped; /* entries beyond BOOTINFO_E820_MAX */
    bool e820_sanitized;   /* sorted and emptied entries dropped (PVH) */
    struct e820_entry e820[BOOTINFO_E820_MAX];
};

/*
 * Fill bi from the zero page at zp / the hvm_start_info at si. Return 0,
 * or -1 when the structure is unusable (bad magic); bi->proto is set
 * either way so the failure can be reported.
 */
int bootinfo_from_zeropage(struct bootinfo *bi, uint64_t zp);
int bootinfo_from_pvh(struct bootinfo *bi, uint64_t si);

#endif
