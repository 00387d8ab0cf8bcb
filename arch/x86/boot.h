/* SPDX-License-Identifier: MIT */
/*
 * Loading a bzImage into guest RAM per the Linux x86 64-bit boot
 * protocol: the protected-mode kernel, the initrd (high, below
 * initrd_addr_max), the command line, and the zero page (boot_params)
 * with the e820 map. Pure functions of guest memory; no KVM.
 */
#ifndef KVMINI_ARCH_X86_BOOT_H
#define KVMINI_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/bzimage.h"
#include "arch/x86/e820.h"
#include "hw/gmem.h"

struct boot_config {
    const uint8_t *initrd;
    size_t initrd_len;
    const char *cmdline;
    uint64_t ram_size;
    uint64_t acpi_rsdp;  /* 0 if none */
    uint64_t setup_data; /* GPA of the first setup_data, 0 if none */
};

struct boot_info {
    uint64_t kernel_addr, kernel_end; /* [load, load + init_size) */
    uint64_t entry;                   /* 64-bit entry point */
    uint64_t zero_page;
    uint64_t initrd_addr;
    uint64_t cmdline_addr;
    struct e820_ent e820[E820_MAX];
    unsigned ne820;
};

/*
 * Place kernel, initrd and cmdline, fill the zero page. Returns 0, or
 * -E2BIG/-ENOMEM with *why naming the problem for one error line.
 */
int boot_load(const struct gmem *mem, const struct bzimage *bz,
              const struct boot_config *cfg, struct boot_info *out,
              const char **why);

/* Rewrite the zero page's acpi_rsdp_addr / setup_data once the machine
 * description is placed (it needs boot_info to know where RAM is free). */
int boot_set_tables(const struct gmem *mem, const struct boot_info *bi,
                    uint64_t acpi_rsdp, uint64_t setup_data);

#endif
