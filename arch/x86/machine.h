/* SPDX-License-Identifier: MIT */
/*
 * The machine description: one plain struct that says what the guest
 * sees (CPUs, RAM, command line, initrd, virtio-mmio transports, the
 * serial port). It is filled once by main before the VM starts and is
 * then rendered, by pure functions, as an MP table (mptable.h), ACPI
 * tables (acpi.h), a device tree (fdt.h) and kernel command-line
 * entries (cmdline_devs.h). docs/machine.md describes the result.
 *
 * Not thread-safe; it is built on one thread and only read afterwards.
 * Errors are negative errno.
 */
#ifndef KVMINI_ARCH_X86_MACHINE_H
#define KVMINI_ARCH_X86_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"

/*
 * APIC ids are 0..ncpus-1 and the IOAPIC takes id ncpus; xAPIC ids are
 * 8 bits and 0xff is the broadcast id, hence the cap.
 */
#define MACHINE_CPUS_MAX 254
#define MACHINE_E820_MAX 16
#define MACHINE_IOAPIC_PINS 24 /* KVM's in-kernel IOAPIC */

/* e820 types used here (values of the BIOS E820 interface). */
#define MACHINE_E820_RAM 1
#define MACHINE_E820_RESERVED 2

struct machine_e820 {
    uint64_t start, size;
    uint32_t type; /* MACHINE_E820_* */
};

struct machine_virtio {
    uint64_t base, size; /* MMIO window */
    uint32_t gsi;        /* IOAPIC pin; edge-triggered, active-high */
    uint32_t device_id;  /* virtio device id (2 blk, 1 net, 3 console) */
};

struct machine {
    unsigned ncpus; /* APIC ids 0..ncpus-1; APIC 0 is the BSP */
    struct machine_e820 e820[MACHINE_E820_MAX];
    unsigned ne820;
    const char *cmdline;    /* may be NULL: empty */
    uint64_t initrd_start;  /* guest-physical; size 0: no initrd */
    uint64_t initrd_size;
    struct machine_virtio virtio[LAYOUT_VIRTIO_MAX];
    unsigned nvirtio;
    bool serial; /* 8250 at LAYOUT_COM1_PORT, GSI LAYOUT_COM1_GSI */
    /* ACPI power button: a Generic Event Device on IOAPIC pin
     * LAYOUT_GED_GSI (then no virtio device may have it) with its event
     * register at LAYOUT_GED_PORT (hw/ged.h). */
    bool power_button;
};

/* Zero the description, set ncpus; -EINVAL unless 1..MACHINE_CPUS_MAX. */
int machine_init(struct machine *m, unsigned ncpus);

/*
 * Append an e820 range. -EINVAL for an empty or wrapping range, -ENOSPC
 * when MACHINE_E820_MAX ranges are already there.
 */
int machine_add_e820(struct machine *m, uint64_t start, uint64_t size,
                     uint32_t type);

/*
 * Add a virtio-mmio transport: the n-th device gets the window
 * LAYOUT_VIRTIO_MMIO_BASE + n * LAYOUT_VIRTIO_MMIO_STRIDE and the GSI
 * LAYOUT_VIRTIO_GSI_BASE + n. Returns the slot n (>= 0), or -ENOSPC
 * once LAYOUT_VIRTIO_MAX devices exist (the caller reports it).
 */
int machine_add_virtio(struct machine *m, uint32_t device_id);

/* A virtio-mmio transport a device asks for: base and size 0 for the next
 * free window, gsi 0 for the next free IOAPIC pin. */
struct machine_virtio_req {
    uint32_t device_id;
    uint64_t base, size;
    uint32_t gsi;
};

#define MACHINE_VIRTIO_WINDOW_MAX 0x100000ULL /* 1 MiB */

/*
 * Add n transports in request order (the order guests enumerate them).
 * An explicit window must be 0x200-aligned, a multiple of 0x200 up to
 * MACHINE_VIRTIO_WINDOW_MAX, inside the 32-bit MMIO hole (so clear of
 * RAM), clear of the IOAPIC, local APIC and KVM's TSS/identity-map pages,
 * and of every other window; an explicit GSI must be a pin from
 * LAYOUT_VIRTIO_GSI_BASE to MACHINE_IOAPIC_PINS - 1 that no other device
 * has (with power_button set, LAYOUT_GED_GSI is the GED's, so set it
 * first). The others get the lowest free window slot and the lowest free
 * pin around the explicit ones. 0, or -EINVAL (bad window or pin),
 * -EADDRINUSE (overlap), -EBUSY (pin taken) or -ENOSPC, with bad[0] the
 * offending request and one sentence in err; for a clash with another
 * request, bad[1] is that one and the sentence ends "... of" so the
 * caller can name it. Nothing is added on error.
 */
int machine_place_virtio(struct machine *m,
                         const struct machine_virtio_req *req, unsigned n,
                         unsigned bad[2], char *err, size_t errlen);

/* Check the invariants the renderers rely on; 0 or -EINVAL. */
int machine_check(const struct machine *m);

/*
 * The byte that makes the 8-bit sum of [p, p+len) zero when stored in
 * the (zeroed) checksum field: MP and ACPI tables both use this rule.
 */
static inline uint8_t machine_csum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    while (len--)
        sum += *b++;
    return (uint8_t)-sum;
}

#endif
