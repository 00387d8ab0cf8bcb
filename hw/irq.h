/* SPDX-License-Identifier: MIT */
/*
 * An interrupt line as a device sees it: one call that raises the
 * device's interrupt. Under KVM it is an irqfd or KVM_IRQ_LINE (kvm/);
 * in unit tests a counter. Devices never know which.
 *
 * trigger() may be called from any thread; it returns 0 or -errno.
 */
#ifndef KVMINI_HW_IRQ_H
#define KVMINI_HW_IRQ_H

#include <stdint.h>

struct irq_line {
    int (*trigger)(struct irq_line *l); /* edge: raise and lower */
    /* Level-triggered devices (the 8250) drive the pin; may be NULL for
     * lines that only pulse. */
    int (*set_level)(struct irq_line *l, int level);
    void *ctx;
    uint32_t gsi;
};

static inline int irq_trigger(struct irq_line *l)
{
    return l->trigger(l);
}

#endif
