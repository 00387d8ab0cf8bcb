/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the machine-description generators (arch/x86/machine.c,
 * mptable.c, acpi.c, acpi_dsdt.c, aml.c, fdt.c, cmdline_devs.c, e820.c)
 * fed what a user chooses: vCPUs, RAM size, devices, serial port,
 * initrd, command line. Whatever machine_check refuses, every renderer
 * refuses with -EINVAL. Whatever it accepts, every rendering must read
 * back, with the project's own readers (tests/unit/mdesc_parse.c), as
 * that machine: the MP table; the ACPI tables (every checksum, the MADT
 * and the DSDT); the DTB (fdt_check_full, then decoded); the command
 * line's virtio_mmio.device= entries.
 *
 * Input: vCPUs, serial, devices (count and ids), RAM size, initrd start
 * and size, then the command line.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/cmdline_devs.h"
#include "arch/x86/e820.h"
#include "arch/x86/fdt.h"
#include "arch/x86/mptable.h"
#include "tests/fuzz/fz.h"
#include "tests/unit/mdesc_parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

static uint8_t buf[LAYOUT_SETUP_DATA_MAX] __attribute__((aligned(8)));
static char line[LAYOUT_CMDLINE_MAX];
static struct mdesc_view v;

static void same_cpus(const struct machine *m, const char *what)
{
    FZ_ASSERT(v.ncpus == m->ncpus, "%s: %u CPUs, machine %u", what, v.ncpus,
              m->ncpus);
    for (unsigned i = 0; i < m->ncpus; i++)
        FZ_ASSERT(v.apic_id[i] == i, "%s: CPU %u has APIC id %u", what, i,
                  v.apic_id[i]);
}

static void same_windows(const struct machine *m, const char *what,
                         bool trigger)
{
    FZ_ASSERT(v.nwin == m->nvirtio, "%s: %u windows, machine %u", what, v.nwin,
              m->nvirtio);
    for (unsigned i = 0; i < m->nvirtio; i++) {
        const struct machine_virtio *x = &m->virtio[i];
        const struct mdv_win *w = &v.win[i];
        FZ_ASSERT(w->base == x->base && w->size == x->size &&
                      w->gsi == x->gsi && (!trigger || w->edge_high),
                  "%s: window %u 0x%llx+0x%llx gsi %u, machine 0x%llx+0x%llx "
                  "gsi %u",
                  what, i, (unsigned long long)w->base,
                  (unsigned long long)w->size, w->gsi,
                  (unsigned long long)x->base, (unsigned long long)x->size,
                  x->gsi);
    }
}

static void check_mptable(const struct machine *m, bool valid)
{
    int r = mptable_render(m, LAYOUT_MPTABLE, buf, LAYOUT_MPTABLE_MAX);
    if (!valid) {
        FZ_ASSERT(r == -EINVAL, "MP table of a bad machine: %d", r);
        return;
    }
    FZ_ASSERT(r > 0 &&
                  mdv_parse_mptable(buf, (size_t)r, LAYOUT_MPTABLE, &v) == 0,
              "MP table: %d bytes, unreadable", r);
    same_cpus(m, "MP");
    FZ_ASSERT(v.bsp_apic == 0 && v.ioapic_id == m->ncpus &&
                  v.ioapic_addr == LAYOUT_IOAPIC && v.lint_nmi1,
              "MP: BSP, IOAPIC or NMI");
    for (unsigned i = 0; i < m->nvirtio; i++)
        FZ_ASSERT(v.pins_edge_high & (1u << m->virtio[i].gsi),
                  "MP: virtio GSI %u not routed edge/high", m->virtio[i].gsi);
    FZ_ASSERT(!m->serial || (v.pins & (1u << LAYOUT_COM1_GSI)),
              "MP: COM1 not routed");
}

static void check_acpi(const struct machine *m, bool valid)
{
    int r = acpi_render(m, LAYOUT_ACPI, buf, LAYOUT_ACPI_MAX, NULL);
    if (!valid) {
        FZ_ASSERT(r == -EINVAL, "ACPI of a bad machine: %d", r);
        return;
    }
    FZ_ASSERT(r > 0 && mdv_parse_acpi(buf, (size_t)r, LAYOUT_ACPI, &v) == 0,
              "ACPI: %d bytes, unreadable", r);
    same_cpus(m, "MADT");
    FZ_ASSERT(v.cpu_devs == m->ncpus && v.ioapic_id == m->ncpus &&
                  v.ioapic_addr == LAYOUT_IOAPIC && !v.ioapic_gsi_base &&
                  v.lint_nmi1 && v.s5_typ == ACPI_S5_SLP_TYP,
              "ACPI: %u processor devices, IOAPIC %u, _S5 %d", v.cpu_devs,
              v.ioapic_id, v.s5_typ);
    same_windows(m, "DSDT", true);
    FZ_ASSERT(v.serial == m->serial &&
                  (!m->serial || (v.serial_port == LAYOUT_COM1_PORT &&
                                  v.serial_gsi == LAYOUT_COM1_GSI)),
              "DSDT: serial");
}

static void check_dtb(const struct machine *m, bool valid)
{
    int r = fdt_machine_render(m, buf, sizeof(buf));
    if (!valid) {
        FZ_ASSERT(r == -EINVAL, "DTB of a bad machine: %d", r);
        return;
    }
    FZ_ASSERT(r > 0, "DTB: %d", r);
    int c = fdt_check_full(buf, (size_t)r);
    FZ_ASSERT(c == 0, "fdt_check_full: %s", fdt_strerror(c));
    mdv_init(&v);
    FZ_ASSERT(mdv_parse_dtb(buf, &v) == 0, "DTB unreadable");
    same_cpus(m, "DT");
    same_windows(m, "DT", true);
    FZ_ASSERT(v.serial == m->serial && v.ioapic_addr == LAYOUT_IOAPIC &&
                  v.lapic_addr == LAYOUT_LAPIC,
              "DT: serial or APICs");
    unsigned ram = 0;
    for (unsigned i = 0; i < m->ne820; i++) {
        const struct machine_e820 *e = &m->e820[i];
        if (e->type != MACHINE_E820_RAM)
            continue;
        FZ_ASSERT(ram < v.nmem && v.mem[ram].base == e->start &&
                      v.mem[ram].size == e->size,
                  "DT: memory node %u", ram);
        ram++;
    }
    FZ_ASSERT(ram == v.nmem, "DT: %u memory nodes, %u RAM ranges", v.nmem, ram);
    const char *cl = m->cmdline ? m->cmdline : "";
    FZ_ASSERT(strlen(cl) >= sizeof(v.bootargs) - 1 || !strcmp(v.bootargs, cl),
              "DT: bootargs");
    FZ_ASSERT(v.has_initrd == !!m->initrd_size &&
                  (!m->initrd_size ||
                   (v.initrd_start == m->initrd_start &&
                    v.initrd_end == m->initrd_start + m->initrd_size)),
              "DT: initrd");
}

static void check_cmdline(const struct machine *m, bool valid, size_t cap)
{
    const char *cl = m->cmdline ? m->cmdline : "";
    int r = cmdline_devs_render(m, line, cap);
    if (!valid) {
        FZ_ASSERT(r == -EINVAL, "cmdline of a bad machine: %d", r);
        return;
    }
    if (r == -E2BIG) {
        FZ_ASSERT(!cap || !line[0], "-E2BIG left '%.20s'", line);
        return;
    }
    FZ_ASSERT(r >= 0 && (size_t)r < cap && strlen(line) == (size_t)r &&
                  !strncmp(line, cl, strlen(cl)),
              "cmdline: %d for cap %zu", r, cap);
    /* The user's own text may name devices too; only ours are checked. */
    mdv_init(&v);
    if (!strstr(cl, "virtio_mmio.device") &&
        mdv_parse_cmdline(line + strlen(cl), &v) == 0)
        same_windows(m, "cmdline", false);
    else if (!strstr(cl, "virtio_mmio.device"))
        FZ_ASSERT(0, "cmdline entries unreadable: '%s'", line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    struct machine m;
    static char cmdline[8192];
    uint8_t cpus = fz_u8(&in), flags = fz_u8(&in);
    if (machine_init(&m, cpus) < 0) {
        FZ_ASSERT(cpus == 0 || cpus > MACHINE_CPUS_MAX, "%u CPUs refused",
                  cpus);
        return 0;
    }
    m.serial = flags & 1;
    m.power_button = flags & 16; /* the GED and its reserved pin */
    unsigned ndev = fz_u8(&in) % (LAYOUT_VIRTIO_MAX + 3);
    for (unsigned i = 0; i < ndev; i++) {
        uint8_t id = fz_u8(&in);
        int r = machine_add_virtio(&m, id & 0x80 ? id : 1 + id % 3);
        FZ_ASSERT(r == (i < LAYOUT_VIRTIO_MAX ? (int)i : -ENOSPC),
                  "device %u: %d", i, r);
    }
    /* RAM and initrd as tables_describe gives them (16 MiB to 16 GiB). */
    uint64_t ram = (16ULL << 20) + ((uint64_t)fz_u16(&in) << 18);
    struct e820_ent e[E820_MAX];
    unsigned ne = e820_build(ram, e);
    for (unsigned i = 0; i < ne; i++)
        FZ_ASSERT(machine_add_e820(&m, e[i].addr, e[i].size, e[i].type) == 0,
                  "e820 entry %u refused", i);
    m.initrd_start = flags & 2 ? fz_u64(&in) : fz_u32(&in) & ~0xfffULL;
    m.initrd_size = flags & 2 ? fz_u64(&in) : fz_u32(&in) % (64u << 20);
    /* A corrupt description: what machine_check is for. */
    if (flags & 4 && m.nvirtio) {
        struct machine_virtio *x = &m.virtio[fz_u8(&in) % m.nvirtio];
        x->gsi = fz_u8(&in);
        x->size = fz_u8(&in) & 1 ? fz_u64(&in) : x->size;
    }
    fz_str(&in, cmdline, sizeof(cmdline));
    m.cmdline = flags & 8 ? NULL : cmdline;

    bool valid = machine_check(&m) == 0;
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "%u CPUs, %u devices, %s\n", m.ncpus, m.nvirtio,
                valid ? "valid" : "refused by machine_check");
    check_mptable(&m, valid);
    check_acpi(&m, valid);
    check_dtb(&m, valid);
    check_cmdline(&m, valid, flags & 0x10 ? fz_u16(&in) : sizeof(line));
    return 0;
}
