/* SPDX-License-Identifier: MIT */
/*
 * Test-side readers of kvmini's machine description renderings: each
 * parses one rendering (MP table, ACPI via iasl, DTB via libfdt, kernel
 * command line) into the same neutral view, so tests can check that
 * all of them describe the same machine. Written independently of the
 * renderers on purpose; failures are reported with DIAG lines.
 */
#ifndef KVMINI_TESTS_UNIT_MDESC_PARSE_H
#define KVMINI_TESTS_UNIT_MDESC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Little-endian fields of the tables, at any alignment. */
static inline uint16_t mdv_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mdv_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mdv_le64(const uint8_t *p)
{
    return mdv_le32(p) | (uint64_t)mdv_le32(p + 4) << 32;
}

#define MDV_MAX_CPUS 256
#define MDV_MAX_WIN 32
#define MDV_MAX_PINS 32

struct mdv_win {
    uint64_t base, size;
    uint32_t gsi;
    bool edge_high; /* trigger/polarity as the rendering states them */
};

/* What a rendering says about the machine; fields it cannot say stay 0. */
struct mdesc_view {
    unsigned ncpus;
    uint8_t apic_id[MDV_MAX_CPUS];
    int bsp_apic; /* -1 if the rendering has no notion of it */
    unsigned ioapic_id;
    uint64_t ioapic_addr;
    uint32_t ioapic_gsi_base;
    uint64_t lapic_addr;
    unsigned nwin;
    struct mdv_win win[MDV_MAX_WIN];
    /* pin -> how routed: bit set if an entry/descriptor exists */
    uint32_t pins;
    uint32_t pins_edge_high; /* explicitly edge + active-high */
    bool serial;
    uint32_t serial_gsi;
    uint64_t serial_port;
    bool lint_extint0, lint_nmi1; /* MP: ExtINT->LINT0, NMI->LINT1 */
    /* ACPI only */
    unsigned cpu_devs; /* ACPI0007 devices in the DSDT */
    int s5_typ;        /* first _S5 element, -1 if absent */
    /* device tree only */
    unsigned nmem;
    struct { uint64_t base, size; } mem[16];
    char bootargs[4096];
    uint64_t initrd_start, initrd_end;
    bool has_initrd;
};

/* MP table at buf (copied to gpa). 0, or -1 after a DIAG line. */
int mdv_parse_mptable(const void *buf, size_t len, uint64_t gpa,
                      struct mdesc_view *v);

/* Sum of bytes mod 256 (0 for a correctly checksummed range). */
uint8_t mdv_sum8(const void *p, size_t len);

/* Clear a view (bsp_apic and s5_typ to -1). */
void mdv_init(struct mdesc_view *v);

/* MADT as `iasl -d` prints it (apic.dsl): CPUs, IOAPIC, NMI. */
int mdv_parse_madt_dsl(const char *text, struct mdesc_view *v);
/* DSDT as `iasl -d` prints it: virtio windows, COM1, ACPI0007, _S5. */
int mdv_parse_dsdt_dsl(const char *text, struct mdesc_view *v);
/* The ACPI tables as rendered (blob copied to gpa), read from the bytes
 * without iasl: RSDP (both checksums) -> XSDT -> FADT -> DSDT and MADT,
 * every table's signature, bounds and checksum; the MADT's CPUs, IOAPIC
 * and NMI; from the DSDT's AML, the same facts mdv_parse_dsdt_dsl finds
 * (virtio windows, COM1, ACPI0007 devices, _S5). Fast enough for the
 * fuzzers. Clears v first; 0, or -1 after a DIAG line. */
int mdv_parse_acpi(const void *blob, size_t len, uint64_t gpa,
                   struct mdesc_view *v);
/* A DTB through libfdt: CPUs, IOAPIC, windows, serial, memory, chosen. */
int mdv_parse_dtb(const void *fdt, struct mdesc_view *v);
/* virtio_mmio.device= entries of a kernel command line: windows. */
int mdv_parse_cmdline(const char *cmdline, struct mdesc_view *v);

/* Is `tool` in PATH? */
bool mdv_have_tool(const char *tool);
/* Run cmd via sh; output (stdout+stderr) malloc'd, exit status in *st. */
char *mdv_run(const char *cmd, int *st);
/* Whole file, NUL-terminated, malloc'd; NULL on error. */
char *mdv_slurp(const char *path, size_t *len);

#endif
