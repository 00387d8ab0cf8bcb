/* SPDX-License-Identifier: MIT */
/* The host-side guest tests have no local APIC, I/O APIC or device
 * interrupts: the drivers poll, as in the guest without the idle tick. */
#include <stdbool.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/ioapic.h"
#include "guest/irqwait.h"

uint32_t apic_id(uint64_t base)
{
    (void)base;
    return 0;
}

bool ioapic_route(uint64_t base, uint32_t gsi, uint8_t vector, uint32_t id)
{
    (void)base, (void)gsi, (void)vector, (void)id;
    return false;
}

uint64_t irq_received(uint32_t pin)
{
    (void)pin;
    return 0;
}
