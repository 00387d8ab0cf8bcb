/* SPDX-License-Identifier: MIT */
/*
 * The machine as a flattened device tree (libfdt), for kernels built
 * with CONFIG_OF: passed as a setup_data entry of type SETUP_DTB in the
 * boot_params setup_data chain. x86 Linux reads the cpus, the local
 * APIC and the IOAPIC ("intel,ce4100-*" bindings) from it and creates
 * platform devices for the virtio-mmio and serial nodes.
 *
 * Pure functions except fdt_machine_dump(), which writes a file.
 */
#ifndef KVMINI_ARCH_X86_FDT_H
#define KVMINI_ARCH_X86_FDT_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/machine.h"

#define FDT_SETUP_DTB 2 /* setup_data type (Linux bootparam.h) */
#define FDT_SETUP_HDR 16 /* u64 next, u32 type, u32 len */
/* Second cell of `interrupts` for the IOAPIC: 3 = edge, active high. */
#define FDT_IRQ_EDGE_HIGH 3
#define FDT_IOAPIC_PHANDLE 1

/*
 * Render the DTB of m into buf. Returns its size (the DTB's totalsize),
 * -ENOSPC if cap is too small, -EINVAL for an invalid machine.
 */
int fdt_machine_render(const struct machine *m, void *buf, size_t cap);

/*
 * Write a setup_data header { next, SETUP_DTB, len } followed by the DTB
 * into buf, to be copied to LAYOUT_SETUP_DATA (buf must be 8-byte
 * aligned there; LAYOUT_SETUP_DATA is). `next` continues the chain (0:
 * last). Returns the bytes written (FDT_SETUP_HDR + DTB) or -errno as
 * fdt_machine_render(). Point boot_params.hdr.setup_data at it.
 */
int fdt_machine_setup_data(const struct machine *m, uint64_t next,
                           void *buf, size_t cap);

/* Write the bare DTB of m to `path` (for --dump-dtb). 0 or -errno. */
int fdt_machine_dump(const struct machine *m, const char *path);

#endif
