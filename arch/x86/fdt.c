/* SPDX-License-Identifier: MIT */
/* Renders the machine description as a device tree with libfdt. */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/fdt.h"

/* Worst case per node is well under this; the setup_data area is 320K. */
#define FDT_DUMP_MAX 0x10000
#define FDT_APIC_WINDOW 0x1000

/*
 * Each helper returns 0 or a libfdt error (negative FDT_ERR_*); the
 * first error stops the render. FDT_TRY keeps the lists readable.
 */
#define FDT_TRY(x)                                                             \
    do {                                                                       \
        int e_ = (x);                                                          \
        if (e_ < 0)                                                            \
            return e_;                                                         \
    } while (0)

static int fdt_reg64(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int fdt_irq(void *fdt, uint32_t gsi)
{
    fdt32_t irq[2] = { cpu_to_fdt32(gsi), cpu_to_fdt32(FDT_IRQ_EDGE_HIGH) };

    return fdt_property(fdt, "interrupts", irq, sizeof(irq));
}

static int fdt_begin(void *fdt, const char *name, uint64_t addr)
{
    char node[64];

    snprintf(node, sizeof(node), "%s@%llx", name, (unsigned long long)addr);
    return fdt_begin_node(fdt, node);
}

static int fdt_chosen(const struct machine *m, void *fdt)
{
    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    if (m->cmdline)
        FDT_TRY(fdt_property_string(fdt, "bootargs", m->cmdline));
    if (m->initrd_size) {
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", m->initrd_start));
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end",
                                 m->initrd_start + m->initrd_size));
    }
    if (m->serial)
        FDT_TRY(fdt_property_string(fdt, "stdout-path", "/isa/serial@3f8"));
    return fdt_end_node(fdt);
}

static int fdt_memory(const struct machine *m, void *fdt)
{
    unsigned i;

    for (i = 0; i < m->ne820; i++) {
        const struct machine_e820 *e = &m->e820[i];

        if (e->type != MACHINE_E820_RAM)
            continue;
        FDT_TRY(fdt_begin(fdt, "memory", e->start));
        FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
        FDT_TRY(fdt_reg64(fdt, e->start, e->size));
        FDT_TRY(fdt_end_node(fdt));
    }
    return 0;
}

static int fdt_cpus(const struct machine *m, void *fdt)
{
    unsigned i;

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (i = 0; i < m->ncpus; i++) {
        FDT_TRY(fdt_begin(fdt, "cpu", i));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_property_u32(fdt, "reg", i)); /* the APIC id */
        FDT_TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int fdt_apics(void *fdt)
{
    FDT_TRY(fdt_begin(fdt, "lapic", LAYOUT_LAPIC));
    FDT_TRY(fdt_property_string(fdt, "compatible", "intel,ce4100-lapic"));
    FDT_TRY(fdt_reg64(fdt, LAYOUT_LAPIC, FDT_APIC_WINDOW));
    /* No IMCR: the same virtual-wire mode the MP table announces. */
    FDT_TRY(fdt_property(fdt, "intel,virtual-wire-mode", NULL, 0));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin(fdt, "ioapic", LAYOUT_IOAPIC));
    FDT_TRY(fdt_property_string(fdt, "compatible", "intel,ce4100-ioapic"));
    FDT_TRY(fdt_reg64(fdt, LAYOUT_IOAPIC, FDT_APIC_WINDOW));
    FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 0));
    FDT_TRY(fdt_property_u32(fdt, "phandle", FDT_IOAPIC_PHANDLE));
    return fdt_end_node(fdt);
}

static int fdt_isa_serial(void *fdt)
{
    /* ISA addresses are <space addr>, space 1 = I/O; 1:1 to port 0. */
    fdt32_t ranges[5] = { cpu_to_fdt32(1), 0, 0, 0, cpu_to_fdt32(0x10000) };
    fdt32_t reg[3] = { cpu_to_fdt32(1), cpu_to_fdt32(LAYOUT_COM1_PORT),
                       cpu_to_fdt32(8) };

    /*
     * No unit address: the bridge maps I/O ports, which the root's
     * (memory) address space has no name for; "isa@0" would clash with
     * memory@0. dtc warns (unit_address_vs_reg); Linux does not care.
     */
    FDT_TRY(fdt_begin_node(fdt, "isa"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "isa"));
    FDT_TRY(fdt_property_string(fdt, "device_type", "isa"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 1));
    FDT_TRY(fdt_property(fdt, "ranges", ranges, sizeof(ranges)));
    FDT_TRY(fdt_begin(fdt, "serial", LAYOUT_COM1_PORT));
    FDT_TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
    FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    FDT_TRY(fdt_property_u32(fdt, "clock-frequency", 1843200));
    FDT_TRY(fdt_irq(fdt, LAYOUT_COM1_GSI));
    FDT_TRY(fdt_end_node(fdt));
    return fdt_end_node(fdt);
}

static int fdt_virtio(const struct machine_virtio *v, void *fdt)
{
    FDT_TRY(fdt_begin(fdt, "virtio_mmio", v->base));
    FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
    FDT_TRY(fdt_reg64(fdt, v->base, v->size));
    /* Edge: kvmini pulses the line through an irqfd (see acpi_dsdt.c). */
    FDT_TRY(fdt_irq(fdt, v->gsi));
    FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    return fdt_end_node(fdt);
}

static int fdt_tree(const struct machine *m, void *fdt)
{
    unsigned i;

    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_string(fdt, "compatible", "kvmini,x86"));
    FDT_TRY(fdt_property_string(fdt, "model", "kvmini"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_IOAPIC_PHANDLE));
    FDT_TRY(fdt_chosen(m, fdt));
    FDT_TRY(fdt_memory(m, fdt));
    FDT_TRY(fdt_cpus(m, fdt));
    FDT_TRY(fdt_apics(fdt));
    if (m->serial)
        FDT_TRY(fdt_isa_serial(fdt));
    for (i = 0; i < m->nvirtio; i++)
        FDT_TRY(fdt_virtio(&m->virtio[i], fdt));
    FDT_TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

int fdt_machine_render(const struct machine *m, void *buf, size_t cap)
{
    int r;

    r = machine_check(m);
    if (r < 0)
        return r;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    r = fdt_create(buf, (int)cap);
    if (r == 0)
        r = fdt_tree(m, buf);
    if (r == -FDT_ERR_NOSPACE)
        return -ENOSPC;
    if (r < 0)
        return -EINVAL;
    return (int)fdt_totalsize(buf);
}

int fdt_machine_setup_data(const struct machine *m, uint64_t next,
                           void *buf, size_t cap)
{
    uint8_t *b = buf;
    uint32_t type = FDT_SETUP_DTB, len;
    int r;

    if (cap < FDT_SETUP_HDR)
        return machine_check(m) < 0 ? -EINVAL : -ENOSPC;
    r = fdt_machine_render(m, b + FDT_SETUP_HDR, cap - FDT_SETUP_HDR);
    if (r < 0)
        return r;
    len = (uint32_t)r;
    memcpy(b, &next, 8); /* little-endian guest == host */
    memcpy(b + 8, &type, 4);
    memcpy(b + 12, &len, 4);
    return FDT_SETUP_HDR + r;
}

int fdt_machine_dump(const struct machine *m, const char *path)
{
    void *buf = malloc(FDT_DUMP_MAX);
    ssize_t w = 0;
    int fd = -1, r;

    if (!buf)
        return -ENOMEM;
    r = fdt_machine_render(m, buf, FDT_DUMP_MAX);
    if (r >= 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            r = -errno;
    }
    if (fd >= 0) {
        w = write(fd, buf, (size_t)r);
        r = w < 0 ? -errno : w != r ? -EIO : 0;
        if (close(fd) < 0 && r == 0)
            r = -errno;
    }
    free(buf);
    return r < 0 ? r : 0;
}
