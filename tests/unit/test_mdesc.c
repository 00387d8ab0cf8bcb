/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the machine description (arch/x86/machine.c), the
 * command-line entries (cmdline_devs.c), and the cross-check that the
 * four renderings (MP table, ACPI via iasl, DTB via libfdt, cmdline)
 * describe the same CPUs, windows and interrupts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/cmdline_devs.h"
#include "arch/x86/fdt.h"
#include "arch/x86/mptable.h"
#include "tests/unit/mdesc_parse.h"
#include "tests/unit/tap.h"

static uint8_t buf[LAYOUT_ACPI_MAX] __attribute__((aligned(8)));
static char line[LAYOUT_CMDLINE_MAX];
static struct mdesc_view mp, acpi, dt, cl;

static void test_machine(void)
{
    struct machine m;
    unsigned i;
    bool ok = true;
    int r;

    CHECK(machine_init(&m, 0) == -EINVAL, "0 CPUs refused");
    CHECK(machine_init(&m, MACHINE_CPUS_MAX + 1) == -EINVAL,
          "%d CPUs refused", MACHINE_CPUS_MAX + 1);
    CHECK(machine_init(&m, 2) == 0 && m.ncpus == 2 && m.nvirtio == 0,
          "2 CPUs, no devices");
    for (i = 0; i < LAYOUT_VIRTIO_MAX; i++) {
        r = machine_add_virtio(&m, 2);
        ok &= r == (int)i &&
              m.virtio[i].base ==
                  LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_STRIDE &&
              m.virtio[i].size == LAYOUT_VIRTIO_MMIO_SIZE &&
              m.virtio[i].gsi == LAYOUT_VIRTIO_GSI_BASE + i;
    }
    CHECK(ok, "%d devices get consecutive windows and GSIs %d..%d",
          LAYOUT_VIRTIO_MAX, LAYOUT_VIRTIO_GSI_BASE,
          LAYOUT_VIRTIO_GSI_BASE + LAYOUT_VIRTIO_MAX - 1);
    r = machine_add_virtio(&m, 2);
    CHECK(r == -ENOSPC && m.nvirtio == LAYOUT_VIRTIO_MAX,
          "the %dth device is refused with -ENOSPC (%d)",
          LAYOUT_VIRTIO_MAX + 1, r);
    CHECK(m.virtio[LAYOUT_VIRTIO_MAX - 1].gsi < MACHINE_IOAPIC_PINS &&
              m.virtio[LAYOUT_VIRTIO_MAX - 1].base +
                      LAYOUT_VIRTIO_MMIO_SIZE <=
                  LAYOUT_MMIO_HOLE_END,
          "last GSI fits the IOAPIC, last window the MMIO hole");
    CHECK(machine_check(&m) == 0, "full machine passes machine_check");
    m.virtio[3].gsi = LAYOUT_COM1_GSI;
    CHECK(machine_check(&m) == -EINVAL, "a virtio GSI on COM1's line fails");
    m.virtio[3].gsi = MACHINE_IOAPIC_PINS;
    CHECK(machine_check(&m) == -EINVAL, "a GSI past the IOAPIC fails");
    /* Found by fuzz_mdesc: the DSDT's 32-bit descriptors cut such a
     * window, so ACPI and the DT described different machines. */
    m.virtio[3].gsi = LAYOUT_VIRTIO_GSI_BASE + 3;
    m.virtio[3].size = 0x100000000ULL;
    CHECK(machine_check(&m) == -EINVAL, "a window of 4 GiB fails");
    m.virtio[3].size = LAYOUT_VIRTIO_MMIO_SIZE;
    m.virtio[3].base = LAYOUT_MMIO_HOLE_END;
    CHECK(machine_check(&m) == -EINVAL, "a window above 4 GiB fails");
    m.virtio[3].base = LAYOUT_MMIO_HOLE_END - LAYOUT_VIRTIO_MMIO_SIZE;
    CHECK(machine_check(&m) == 0, "a window ending at 4 GiB is fine");

    machine_init(&m, 1);
    CHECK(machine_add_e820(&m, 0, 0, 1) == -EINVAL &&
              machine_add_e820(&m, ~0ULL - 5, 10, 1) == -EINVAL,
          "empty or wrapping e820 ranges refused");
    for (i = 0, ok = true; i < MACHINE_E820_MAX; i++)
        ok &= machine_add_e820(&m, i * 0x1000ULL, 0x1000, 1) == 0;
    CHECK(ok && machine_add_e820(&m, 0x100000, 0x1000, 1) == -ENOSPC,
          "e820 table full after %d ranges: -ENOSPC", MACHINE_E820_MAX);
    m.initrd_start = ~0ULL - 10;
    m.initrd_size = 100;
    CHECK(machine_check(&m) == -EINVAL, "wrapping initrd fails");
}

static void test_cmdline(void)
{
    struct machine m;
    int r, len;

    machine_init(&m, 1);
    machine_add_virtio(&m, 2);
    r = cmdline_devs_render(&m, line, sizeof(line));
    CHECK(r > 0 && !strcmp(line, "virtio_mmio.device=0x200@0xd0000000:5"),
          "no base: '%s'", line);
    m.cmdline = "console=ttyS0";
    machine_add_virtio(&m, 1);
    r = cmdline_devs_render(&m, line, sizeof(line));
    CHECK(r == (int)strlen(line) &&
              !strcmp(line, "console=ttyS0 "
                            "virtio_mmio.device=0x200@0xd0000000:5 "
                            "virtio_mmio.device=0x200@0xd0000200:6"),
          "appended: '%s'", line);
    len = r;
    r = cmdline_devs_render(&m, line, (size_t)len + 1);
    CHECK(r == len, "exactly enough room (len + NUL) works");
    memset(line, 'x', sizeof(line));
    r = cmdline_devs_render(&m, line, (size_t)len);
    CHECK(r == -E2BIG && line[0] == '\0', "one byte short: -E2BIG, empty");
    r = cmdline_devs_render(&m, line, 5);
    CHECK(r == -E2BIG, "base alone too long: -E2BIG");
    r = cmdline_devs_render(&m, line, 0);
    CHECK(r == -E2BIG, "cap 0: -E2BIG");
    m.nvirtio = 0;
    r = cmdline_devs_render(&m, line, sizeof(line));
    CHECK(r == 13 && !strcmp(line, "console=ttyS0"), "no devices: unchanged");
}

/* All four views of one machine; DIAG says which one disagrees. */
static bool same_windows(const struct mdesc_view *a,
                         const struct mdesc_view *b, bool trigger)
{
    unsigned i;

    if (a->nwin != b->nwin)
        return false;
    for (i = 0; i < a->nwin; i++)
        if (a->win[i].base != b->win[i].base ||
            a->win[i].size != b->win[i].size ||
            a->win[i].gsi != b->win[i].gsi ||
            (trigger && a->win[i].edge_high != b->win[i].edge_high))
            return false;
    return true;
}

static int parse_acpi(const struct machine *m)
{
    char dir[] = "/tmp/kvmini-mdesc-XXXXXX", cmd[300], path[300];
    char *madt, *dsdt, *out;
    int st, r = -1;

    if (!mkdtemp(dir) || acpi_dump(m, dir) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d apic.dat dsdt.dat 2>&1",
             dir);
    out = mdv_run(cmd, &st);
    free(out);
    snprintf(path, sizeof(path), "%s/apic.dsl", dir);
    madt = mdv_slurp(path, NULL);
    snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
    dsdt = mdv_slurp(path, NULL);
    mdv_init(&acpi);
    if (st == 0 && madt && dsdt && mdv_parse_madt_dsl(madt, &acpi) == 0 &&
        mdv_parse_dsdt_dsl(dsdt, &acpi) == 0)
        r = 0;
    free(madt);
    free(dsdt);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        DIAG("could not remove %s", dir);
    return r;
}

static void test_agree(unsigned ncpus, unsigned nvirtio, bool serial)
{
    struct machine m;
    unsigned i;
    bool ok;
    int r;

    machine_init(&m, ncpus);
    m.serial = serial;
    m.cmdline = "console=ttyS0";
    for (i = 0; i < nvirtio; i++)
        machine_add_virtio(&m, i % 3 + 1);
    DIAG("machine: %u cpus, %u virtio, serial %s", ncpus, nvirtio,
         serial ? "on" : "off");

    r = mptable_render(&m, LAYOUT_MPTABLE, buf, LAYOUT_MPTABLE_MAX);
    CHECK(r > 0 && mdv_parse_mptable(buf, (size_t)r, LAYOUT_MPTABLE, &mp) == 0,
          "MP table parsed");
    CHECK(parse_acpi(&m) == 0, "MADT + DSDT parsed from iasl -d");
    r = fdt_machine_render(&m, buf, sizeof(buf));
    mdv_init(&dt);
    CHECK(r > 0 && mdv_parse_dtb(buf, &dt) == 0, "DTB parsed with libfdt");
    r = cmdline_devs_render(&m, line, sizeof(line));
    mdv_init(&cl);
    CHECK(r > 0 && mdv_parse_cmdline(line, &cl) == 0, "cmdline parsed");

    ok = mp.ncpus == ncpus && acpi.ncpus == ncpus && dt.ncpus == ncpus &&
         !memcmp(mp.apic_id, acpi.apic_id, ncpus) &&
         !memcmp(mp.apic_id, dt.apic_id, ncpus) && acpi.cpu_devs == ncpus;
    CHECK(ok, "same CPUs: MP %u, MADT %u, DSDT %u, DT %u", mp.ncpus,
          acpi.ncpus, acpi.cpu_devs, dt.ncpus);
    CHECK(mp.ioapic_id == acpi.ioapic_id && mp.ioapic_addr == LAYOUT_IOAPIC &&
              acpi.ioapic_addr == LAYOUT_IOAPIC &&
              dt.ioapic_addr == LAYOUT_IOAPIC && acpi.ioapic_gsi_base == 0,
          "same IOAPIC (id %u, GSI base 0)", mp.ioapic_id);
    CHECK(mp.lapic_addr == acpi.lapic_addr && dt.lapic_addr == mp.lapic_addr,
          "same local APIC address");
    CHECK(same_windows(&acpi, &dt, true) && same_windows(&acpi, &cl, false) &&
              acpi.nwin == nvirtio,
          "same %u windows and GSIs in DSDT, DT and cmdline", acpi.nwin);
    for (i = 0, ok = true; i < acpi.nwin; i++)
        ok &= acpi.win[i].edge_high &&
              (mp.pins_edge_high & (1u << acpi.win[i].gsi));
    CHECK(ok, "every virtio GSI is edge/high in DSDT, DT and MP routing");
    CHECK(acpi.serial == serial && dt.serial == serial &&
              (!serial || (acpi.serial_port == dt.serial_port &&
                           acpi.serial_gsi == dt.serial_gsi &&
                           (mp.pins & (1u << acpi.serial_gsi)))),
          "same serial port presence, port and IRQ");
    CHECK(mp.lint_nmi1 && acpi.lint_nmi1, "NMI on LINT1 in MP and MADT");

    /* The fuzzers' byte-level ACPI reader sees what iasl sees. */
    static struct mdesc_view bin;
    struct acpi_info info;
    r = acpi_render(&m, LAYOUT_ACPI, buf, sizeof(buf), &info);
    CHECK(r > 0 && mdv_parse_acpi(buf, (size_t)r, LAYOUT_ACPI, &bin) == 0,
          "ACPI tables read from the bytes (mdv_parse_acpi)");
    CHECK(bin.ncpus == acpi.ncpus &&
              !memcmp(bin.apic_id, acpi.apic_id, ncpus) &&
              bin.ioapic_id == acpi.ioapic_id &&
              bin.ioapic_addr == acpi.ioapic_addr &&
              bin.ioapic_gsi_base == acpi.ioapic_gsi_base &&
              bin.lapic_addr == acpi.lapic_addr && bin.lint_nmi1 &&
              bin.cpu_devs == acpi.cpu_devs && bin.s5_typ == acpi.s5_typ &&
              same_windows(&bin, &acpi, true) && bin.serial == acpi.serial &&
              (!serial || (bin.serial_port == acpi.serial_port &&
                           bin.serial_gsi == acpi.serial_gsi)),
          "... the same machine as iasl's disassembly says");
    for (i = 0, ok = true; i < info.ntables; i++) {
        buf[info.t[i].off + 10] ^= 1; /* inside every table's checksum */
        ok &= mdv_parse_acpi(buf, (size_t)r, LAYOUT_ACPI, &bin) < 0;
        buf[info.t[i].off + 10] ^= 1;
    }
    CHECK(ok && mdv_parse_acpi(buf, (size_t)r, LAYOUT_ACPI, &bin) == 0,
          "... and a flipped bit in any table fails its checksum");
    /* The comparison itself must be able to fail. */
    dt.win[dt.nwin - 1].gsi++;
    CHECK(!same_windows(&acpi, &dt, true), "a moved GSI is noticed");
}

/* The byte-level ACPI reader (mdesc_parse.c) on windows whose base or
 * length bytes look like the Interrupt descriptor that follows. */
static void test_reader(void)
{
    static struct mdesc_view bin;
    struct acpi_info info;
    struct machine m;
    int r;

    machine_init(&m, 1);
    machine_add_virtio(&m, 1);
    machine_add_virtio(&m, 2);
    m.virtio[0].size = 0x689; /* 89 06 00 00: Extended Interrupt's tag */
    CHECK(machine_check(&m) == 0, "a window of 0x689 bytes is a machine");
    r = acpi_render(&m, LAYOUT_ACPI, buf, sizeof(buf), &info);
    mdv_init(&bin);
    CHECK(r > 0 && mdv_parse_acpi(buf, (size_t)r, LAYOUT_ACPI, &bin) == 0 &&
              bin.nwin == 2 && bin.win[0].size == 0x689 &&
              bin.win[0].gsi == m.virtio[0].gsi &&
              bin.win[1].gsi == m.virtio[1].gsi,
          "... and the DSDT reader takes its length for no interrupt "
          "(fuzz_mdesc regress-dsdt-size-irq)");
}

int main(void)
{
    test_machine();
    test_cmdline();
    test_reader();
    if (!mdv_have_tool("iasl")) {
        TAP_MISSING("iasl not installed (acpica-tools): no agreement check");
        return tap_done();
    }
    test_agree(1, 1, false);
    test_agree(2, 16, true);
    test_agree(4, 7, true);
    return tap_done();
}
