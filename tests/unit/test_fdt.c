/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the device tree (arch/x86/fdt.c): read back through
 * libfdt, then decompiled by dtc, which must accept it and show every
 * node with the expected properties.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/fdt.h"
#include "tests/unit/mdesc_parse.h"
#include "tests/unit/tap.h"

static uint8_t buf[LAYOUT_SETUP_DATA_MAX] __attribute__((aligned(8)));
static struct mdesc_view v; /* large: keep off the stack */

static void build(struct machine *m, unsigned ncpus, unsigned nvirtio)
{
    unsigned i;

    machine_init(m, ncpus);
    m->serial = true;
    m->cmdline = "console=ttyS0 root=/dev/vda rw";
    m->initrd_start = 0x7f000000;
    m->initrd_size = 0x123000;
    machine_add_e820(m, 0, 0x9fc00, MACHINE_E820_RAM);
    machine_add_e820(m, 0x9fc00, 0x60400, MACHINE_E820_RESERVED);
    machine_add_e820(m, 0x100000, 0x7ff00000, MACHINE_E820_RAM);
    machine_add_e820(m, 0x100000000ULL, 0x40000000, MACHINE_E820_RAM);
    for (i = 0; i < nvirtio; i++)
        machine_add_virtio(m, 2);
}

static void test_libfdt(unsigned ncpus, unsigned nvirtio)
{
    struct machine m;
    unsigned i;
    bool ok = true;
    int len;

    build(&m, ncpus, nvirtio);
    len = fdt_machine_render(&m, buf, sizeof(buf));
    CHECK(len > 0 && fdt_check_header(buf) == 0 &&
              fdt_totalsize(buf) == (uint32_t)len,
          "%u cpus %u virtio: valid DTB of %d bytes", ncpus, nvirtio, len);
    mdv_init(&v);
    CHECK(len > 0 && mdv_parse_dtb(buf, &v) == 0, "libfdt reads it back");
    for (i = 0; i < v.ncpus; i++)
        ok &= v.apic_id[i] == i;
    CHECK(v.ncpus == ncpus && ok, "%u cpu nodes, reg = APIC id", v.ncpus);
    CHECK(v.ioapic_addr == LAYOUT_IOAPIC && v.lapic_addr == LAYOUT_LAPIC,
          "IOAPIC and local APIC nodes at their addresses");
    ok = v.nwin == nvirtio;
    for (i = 0; ok && i < nvirtio; i++)
        ok = v.win[i].base == m.virtio[i].base &&
             v.win[i].size == m.virtio[i].size &&
             v.win[i].gsi == m.virtio[i].gsi && v.win[i].edge_high;
    CHECK(ok, "%u virtio,mmio nodes: reg, edge interrupts via the IOAPIC",
          v.nwin);
    CHECK(v.serial && v.serial_port == LAYOUT_COM1_PORT &&
              v.serial_gsi == LAYOUT_COM1_GSI,
          "ns16550a at I/O 0x%llx irq %u", (unsigned long long)v.serial_port,
          v.serial_gsi);
    CHECK(v.nmem == 3 && v.mem[0].base == 0 && v.mem[0].size == 0x9fc00 &&
              v.mem[1].base == 0x100000 &&
              v.mem[2].base == 0x100000000ULL &&
              v.mem[2].size == 0x40000000,
          "memory nodes = the 3 e820 RAM ranges (reserved one left out)");
    CHECK(!strcmp(v.bootargs, m.cmdline), "chosen/bootargs");
    CHECK(v.has_initrd && v.initrd_start == 0x7f000000 &&
              v.initrd_end == 0x7f123000,
          "chosen/linux,initrd-start/end");
}

static void test_setup_data(void)
{
    struct machine m;
    uint64_t next;
    uint32_t type, len;
    int r;

    build(&m, 2, 4);
    r = fdt_machine_setup_data(&m, 0x1234000, buf, sizeof(buf));
    memcpy(&next, buf, 8);
    memcpy(&type, buf + 8, 4);
    memcpy(&len, buf + 12, 4);
    CHECK(r > FDT_SETUP_HDR && next == 0x1234000 && type == 2 &&
              len == (uint32_t)(r - FDT_SETUP_HDR),
          "setup_data header: next, SETUP_DTB, len %u", len);
    CHECK(fdt_check_header(buf + FDT_SETUP_HDR) == 0 &&
              fdt_totalsize(buf + FDT_SETUP_HDR) == len,
          "DTB follows the 16-byte header");
}

static void test_errors(void)
{
    struct machine m;
    int need, r;
    size_t cap;
    bool all = true;

    build(&m, 2, 16);
    need = fdt_machine_render(&m, buf, sizeof(buf));
    for (cap = 0; need > 0 && cap < (size_t)need; cap += 7) {
        r = fdt_machine_render(&m, buf, cap);
        all &= r == -ENOSPC;
    }
    CHECK(all, "caps below %d bytes give -ENOSPC", need);
    r = fdt_machine_setup_data(&m, 0, buf, (size_t)need + 15);
    CHECK(r == -ENOSPC, "setup_data one byte short: -ENOSPC (%d)", r);
    r = fdt_machine_setup_data(&m, 0, buf, 8);
    CHECK(r == -ENOSPC, "setup_data without room for the header (%d)", r);
    m.ncpus = 0;
    r = fdt_machine_render(&m, buf, sizeof(buf));
    CHECK(r == -EINVAL, "invalid machine refused (%d)", r);
    build(&m, 1, 0);
    r = fdt_machine_dump(&m, "/nonexistent/dir/kvmini.dtb");
    CHECK(r == -ENOENT, "dump into a missing dir: -ENOENT (%d)", r);
}

/* dtc prints one property per line; check the ones that matter. */
static bool has(const char *dts, const char *fmt, unsigned long long a,
                unsigned long long b)
{
    char want[256];

    snprintf(want, sizeof(want), fmt, a, b);
    if (strstr(dts, want))
        return true;
    DIAG("dts lacks: %s", want);
    return false;
}

static void test_dtc(unsigned ncpus, unsigned nvirtio)
{
    char path[] = "/tmp/kvmini-dtb-XXXXXX", cmd[256];
    struct machine m;
    char *dts, *p;
    unsigned i, nodes = 0;
    bool ok = true;
    int st, fd;

    build(&m, ncpus, nvirtio);
    fd = mkstemp(path);
    if (fd < 0) {
        CHECK(0, "mkstemp");
        return;
    }
    close(fd);
    CHECK(fdt_machine_dump(&m, path) == 0, "fdt_machine_dump to %s", path);
    /*
     * The one warning we accept: the isa bridge has no unit address
     * (see fdt.c); everything else dtc checks by default must pass.
     */
    snprintf(cmd, sizeof(cmd),
             "dtc -W no-unit_address_vs_reg -I dtb -O dts %s 2>&1 ||"
             " echo DTC-FAILED",
             path);
    dts = mdv_run(cmd, &st);
    unlink(path);
    CHECK(dts && !strstr(dts, "DTC-FAILED") && !strstr(dts, "Warning") &&
              !strstr(dts, "ERROR"),
          "dtc decompiles it without warnings");
    if (!dts)
        return;
    for (p = dts; (p = strstr(p, "virtio_mmio@")); p++)
        nodes++;
    CHECK(nodes == nvirtio, "dts: %u virtio_mmio nodes", nodes);
    for (i = 0; i < nvirtio; i++) {
        ok &= has(dts, "virtio_mmio@%llx {", m.virtio[i].base, 0);
        ok &= has(dts, "reg = <0x00 0x%llx 0x00 0x%llx>;", m.virtio[i].base,
                  m.virtio[i].size);
        ok &= has(dts, "interrupts = <0x%02llx 0x%02llx>;", m.virtio[i].gsi,
                  3);
    }
    for (i = 0; i < ncpus; i++)
        ok &= has(dts, "cpu@%llx {", i, 0) &&
              has(dts, "reg = <0x%02llx>;", i, 0);
    ok &= has(dts, "compatible = \"kvmini,x86\";", 0, 0);
    ok &= has(dts, "#address-cells = <0x%02llx>;\n\t#size-cells = <0x%02llx>",
              2, 2);
    ok &= has(dts, "bootargs = \"console=ttyS0 root=/dev/vda rw\";", 0, 0);
    ok &= has(dts, "linux,initrd-start = <0x00 0x%llx>;", 0x7f000000, 0);
    ok &= has(dts, "linux,initrd-end = <0x00 0x%llx>;", 0x7f123000, 0);
    ok &= has(dts, "memory@%llx {", 0x100000, 0);
    ok &= has(dts, "reg = <0x01 0x00 0x00 0x%llx>;", 0x40000000, 0);
    ok &= has(dts, "serial@3f8 {\n\t\t\tcompatible = \"ns16550a\";", 0, 0);
    ok &= has(dts, "clock-frequency = <0x%llx>;", 1843200, 0);
    ok &= has(dts, "interrupts = <0x04 0x03>;", 0, 0);
    ok &= has(dts, "ioapic@fec00000 {", 0, 0);
    ok &= has(dts, "interrupt-controller;", 0, 0);
    ok &= has(dts, "interrupt-parent = <0x%02llx>;", FDT_IOAPIC_PHANDLE, 0);
    CHECK(ok, "dts: every node and property as expected");
    CHECK(!strstr(dts, "memory@9fc00"), "dts: no memory node for reserved");
    free(dts);
}

int main(void)
{
    test_libfdt(1, 0);
    test_libfdt(2, 16);
    test_libfdt(MACHINE_CPUS_MAX, 16);
    test_setup_data();
    test_errors();
    if (!mdv_have_tool("dtc")) {
        TAP_MISSING("dtc not installed (device-tree-compiler)");
        return tap_done();
    }
    test_dtc(1, 0);
    test_dtc(2, 16);
    return tap_done();
}
