/* SPDX-License-Identifier: MIT */
/* The power button's event register: latch, pulse, write-1-to-clear. */
#include "hw/ged.h"

#include <errno.h>
#include <string.h>

#define LOG_TAG "ged"
#include "hw/log.h"

void ged_init(struct ged *g, struct irq_line *irq)
{
    atomic_store(&g->status, 0);
    atomic_store(&g->presses, 0);
    atomic_store(&g->acks, 0);
    g->irq = irq;
}

int ged_press_power(struct ged *g)
{
    if (!g->irq)
        return -ENODEV;
    atomic_fetch_add(&g->presses, 1);
    /* The bit before the edge: a guest woken by the pulse must find it. */
    atomic_fetch_or(&g->status, GED_EVT_POWER);
    return irq_trigger(g->irq);
}

int ged_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
    struct ged *g = opaque;
    uint8_t v;

    if (off != 0 || len == 0)
        return -EINVAL;
    if (!write) {
        /* Wider reads see the byte zero-extended. */
        memset(data, 0, len);
        *(uint8_t *)data = atomic_load(&g->status);
        return 0;
    }
    v = *(const uint8_t *)data & GED_EVT_MASK;
    log_cat_rl(LOG_CAT_IO, "GED status <- 0x%x (len %u)", v, len);
    /* Only the bits written: a press that lands between the guest's read
     * and its ack stays pending. */
    if (atomic_fetch_and(&g->status, (uint8_t)~v) & v)
        atomic_fetch_add(&g->acks, 1);
    return 0;
}
