/* SPDX-License-Identifier: MIT */
/*
 * The event register behind kvmini's ACPI Generic Event Device: the
 * power button. Pressing it sets a bit in a one-byte status register and
 * pulses the GED's interrupt line; the guest's _EVT method (or the tiny
 * guest) reads the register and acknowledges by writing the bits it
 * handled back (write 1 to clear), so a press is never lost and never
 * seen twice. The DSDT that describes it is in arch/x86/acpi_dsdt.c.
 *
 * ged_press_power() may be called from any thread (the main thread's
 * SIGPWR handler, a control socket); ged_io() runs on vCPU threads.
 * Errors are negative errno.
 */
#ifndef KVMINI_HW_GED_H
#define KVMINI_HW_GED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"

/* Status register bits. */
#define GED_EVT_POWER 0x01 /* the power button was pressed */
#define GED_EVT_MASK GED_EVT_POWER

struct ged {
    struct irq_line *irq; /* NULL until ged_init */
    _Atomic uint8_t status;
    _Atomic uint64_t presses; /* ged_press_power calls, for --stats */
    _Atomic uint64_t acks;    /* writes that cleared a pending event */
};

/* Clear the register and attach the interrupt line. */
void ged_init(struct ged *g, struct irq_line *irq);

/*
 * Press the power button: set GED_EVT_POWER and pulse the line. A press
 * while one is pending pulses again (the guest may have missed an edge
 * while it had the line masked). 0, -ENODEV before ged_init, or the
 * line's error.
 */
int ged_press_power(struct ged *g);

/* The register on the port-I/O bus (one byte): reads return the
 * pending events, a write clears the bits that are set in it. */
int ged_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

#endif
