/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for stock kernels: RSDP (v2) -> XSDT -> FADT (hardware-
 * reduced, ACPI 6.3) -> DSDT, and MADT. The DSDT holds one LNRO0005
 * device per virtio-mmio transport, the COM1 8250 (PNP0501), one
 * ACPI0007 processor device per vCPU, the power button (a PNP0C0C
 * device notified by an ACPI0013 Generic Event Device) when the machine
 * has one, and the _S5 sleep package.
 * Power-off: the guest writes SLP_EN | SLP_TYP(ACPI_S5_SLP_TYP) << 2 to
 * LAYOUT_ACPI_SLEEP_PORT (see docs/machine.md).
 *
 * acpi_render() is a pure function; acpi_dump() writes files.
 */
#ifndef KVMINI_ARCH_X86_ACPI_H
#define KVMINI_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/machine.h"

#define ACPI_S5_SLP_TYP 5 /* value in the DSDT's _S5 package */
/* Sleep control register bits (ACPI 6.3 section 4.8.3.7). */
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20
/* The byte a guest writes to power off: 0x34. */
#define ACPI_SLEEP_S5 (ACPI_SLP_EN | ACPI_S5_SLP_TYP << ACPI_SLP_TYP_SHIFT)
/* FADT reset register: port LAYOUT_I8042_PORT + 4 (0x64) <- 0xfe. */
#define ACPI_RESET_PORT (LAYOUT_I8042_PORT + 4)
#define ACPI_RESET_VALUE 0xfe

/* The power button (see acpi_dsdt.c): the event bit _EVT tests, which
 * is hw/ged.h's GED_EVT_POWER, and the notification it sends. */
#define ACPI_GED_EVT_POWER 0x01
#define ACPI_NOTIFY_STATUS 0x80 /* "status change": a button press */

#define ACPI_MAX_TABLES 6

/* Where each table landed inside the rendered blob. */
struct acpi_table_ref {
    char sig[5]; /* "RSDP", "XSDT", "FACP", "APIC", "DSDT" */
    size_t off, len;
};

struct acpi_info {
    uint64_t rsdp_gpa; /* for boot_params.acpi_rsdp_addr */
    unsigned ntables;
    struct acpi_table_ref t[ACPI_MAX_TABLES];
};

/*
 * Render all tables into buf, to be copied to guest-physical `gpa`
 * (LAYOUT_ACPI: the RSDP then lies in the BIOS scan area 0xe0000-
 * 0xfffff, 16-byte aligned, at gpa itself). Fills *info if not NULL.
 * Returns bytes written, -ENOSPC if cap is too small, -EINVAL for an
 * invalid machine or a gpa that is not 16-byte aligned or not below
 * 4 GiB.
 */
int acpi_render(const struct machine *m, uint64_t gpa, void *buf,
                size_t cap, struct acpi_info *info);

/*
 * Write each table of m (rendered at LAYOUT_ACPI) as DIR/<sig>.dat in
 * lower case (rsdp.dat, xsdt.dat, facp.dat, apic.dat, dsdt.dat), the
 * form `iasl -d` and acpixtract use. DIR must exist. 0 or -errno.
 */
int acpi_dump(const struct machine *m, const char *dir);

/* Internal to acpi*.c: the DSDT body after its header; bytes or -errno. */
struct aml;
int acpi_dsdt_body(const struct machine *m, struct aml *a);

#endif
