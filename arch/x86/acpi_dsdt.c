/* SPDX-License-Identifier: MIT */
/* The AML body of kvmini's DSDT: processors, COM1, virtio, the power
 * button, _S5. */
#include <stdio.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"

static void acpi_dsdt_cpus(const struct machine *m, struct aml *a)
{
    char name[5];
    unsigned i;
    size_t dev;

    /* _UID matches the MADT's processor UID, which equals the APIC id. */
    for (i = 0; i < m->ncpus; i++) {
        snprintf(name, sizeof(name), "C%03X", i & 0xfffu);
        dev = aml_device_begin(a, name);
        aml_name(a, "_HID");
        aml_string(a, "ACPI0007");
        aml_name(a, "_UID");
        aml_integer(a, i);
        aml_end(a, dev);
    }
}

static void acpi_dsdt_serial(struct aml *a)
{
    struct aml_res r;
    size_t dev;

    dev = aml_device_begin(a, "COM1");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0501");
    aml_name(a, "_UID");
    aml_integer(a, 1);
    aml_name(a, "_CRS");
    aml_res_init(&r);
    aml_res_io(&r, LAYOUT_COM1_PORT, 8);
    aml_res_irq_noflags(&r, LAYOUT_COM1_GSI);
    aml_res_end(a, &r);
    aml_end(a, dev);
}

static void acpi_dsdt_virtio(const struct machine_virtio *v, unsigned i,
                             struct aml *a)
{
    struct aml_res r;
    char name[5];
    size_t dev;

    snprintf(name, sizeof(name), "VR%02X", i & 0xffu);
    dev = aml_device_begin(a, name);
    aml_name(a, "_HID");
    aml_string(a, "LNRO0005"); /* Linux virtio_mmio's ACPI id */
    aml_name(a, "_UID");
    aml_integer(a, i);
    aml_name(a, "_CCA"); /* DMA is cache-coherent, as dma-coherent in DT */
    aml_integer(a, 1);
    aml_name(a, "_CRS");
    aml_res_init(&r);
    aml_res_mem32_fixed(&r, (uint32_t)v->base, (uint32_t)v->size);
    /*
     * Edge, active-high: kvmini signals through a KVM irqfd, which
     * pulses the IOAPIC pin (assert then deassert) and never holds it;
     * a level description would make the guest expect the line to stay
     * up until INTERRUPT_ACK, which an irqfd cannot model.
     */
    aml_res_interrupt(&r, v->gsi, true, false);
    aml_res_end(a, &r);
    aml_end(a, dev);
}

/*
 * The power button as a stock kernel expects it on a hardware-reduced
 * machine (no fixed power button, no GPE block): a control-method button
 * (PNP0C0C, Linux's acpi button driver) notified by a Generic Event
 * Device (ACPI0013, Linux's evged). When kvmini pulses the GED's
 * interrupt, the kernel runs _EVT with the GSI; _EVT reads the event
 * register (hw/ged.h), acknowledges the power bit by writing it back and
 * sends Notify(PWRB, 0x80), which the button driver reports as KEY_POWER.
 * In ASL:
 *
 *   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
 *   Device (GED0) {
 *       Name (_HID, "ACPI0013") Name (_UID, Zero)
 *       Name (_CRS, ResourceTemplate () { Interrupt (ResourceConsumer,
 *           Edge, ActiveHigh, Exclusive) { LAYOUT_GED_GSI } })
 *       OperationRegion (EREG, SystemIO, LAYOUT_GED_PORT, One)
 *       Field (EREG, ByteAcc, NoLock, WriteAsZeros) { ESTA, 8 }
 *       Method (_EVT, 1, Serialized) {
 *           Local0 = ESTA
 *           If ((Local0 & One)) { ESTA = One  Notify (PWRB, 0x80) }
 *       }
 *   }
 */
static void acpi_dsdt_power(struct aml *a)
{
    struct aml_res r;
    size_t dev, method, cond;

    dev = aml_device_begin(a, "PWRB");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0C0C");
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_end(a, dev);

    dev = aml_device_begin(a, "GED0");
    aml_name(a, "_HID");
    aml_string(a, "ACPI0013");
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_name(a, "_CRS");
    aml_res_init(&r);
    /* Edge, active-high, like every kvmini line: an irqfd pulse. */
    aml_res_interrupt(&r, LAYOUT_GED_GSI, true, false);
    aml_res_end(a, &r);
    aml_opregion_io(a, "EREG", LAYOUT_GED_PORT, 1);
    aml_field_byte(a, "EREG", "ESTA", 8);
    method = aml_method_begin(a, "_EVT", 1, true);
    aml_store(a); /* Local0 = ESTA: one read, then test and ack it */
    aml_namestring(a, "ESTA");
    aml_local(a, 0);
    cond = aml_if_begin(a);
    aml_and(a);
    aml_local(a, 0);
    aml_integer(a, ACPI_GED_EVT_POWER);
    aml_no_target(a);
    aml_store(a); /* write 1 to clear: the ack comes before the Notify */
    aml_integer(a, ACPI_GED_EVT_POWER);
    aml_namestring(a, "ESTA");
    aml_notify(a);
    aml_namestring(a, "PWRB");
    aml_integer(a, ACPI_NOTIFY_STATUS);
    aml_end(a, cond);
    aml_end(a, method);
    aml_end(a, dev);
}

int acpi_dsdt_body(const struct machine *m, struct aml *a)
{
    size_t pkg, sb;
    unsigned i;

    /* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. */
    aml_name(a, "_S5_");
    pkg = aml_package_begin(a, 4);
    aml_integer(a, ACPI_S5_SLP_TYP);
    aml_integer(a, ACPI_S5_SLP_TYP);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a, pkg);

    sb = aml_scope_begin(a, "_SB_"); /* \_SB_: we are at the root */
    acpi_dsdt_cpus(m, a);
    if (m->serial)
        acpi_dsdt_serial(a);
    for (i = 0; i < m->nvirtio; i++)
        acpi_dsdt_virtio(&m->virtio[i], i, a);
    if (m->power_button)
        acpi_dsdt_power(a);
    aml_end(a, sb);
    return aml_finish(a);
}
