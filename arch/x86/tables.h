/* SPDX-License-Identifier: MIT */
/*
 * Placing the machine description in guest RAM: the MP table always,
 * ACPI unless disabled, the device tree as SETUP_DTB setup_data unless
 * disabled, each at its fixed address from layout.h; then the zero page
 * is pointed at them. The reset vector goes in too (arch/x86/resetvec.h).
 * See docs/machine.md for which guest reads what.
 */
#ifndef KVMINI_ARCH_X86_TABLES_H
#define KVMINI_ARCH_X86_TABLES_H

#include <stdbool.h>

#include "arch/x86/boot.h"
#include "arch/x86/machine.h"
#include "hw/gmem.h"

struct tables_config {
    bool acpi;
    bool dtb;
};

/* Add the RAM map and initrd that boot_load placed to m (which already
 * has its CPUs, devices and final command line). */
int tables_describe(struct machine *m, const struct boot_info *bi,
                    uint64_t initrd_len);

/* Write the tables into guest RAM and update the zero page. */
int tables_install(const struct gmem *mem, const struct machine *m,
                   const struct boot_info *bi, const struct tables_config *cfg);

#endif
