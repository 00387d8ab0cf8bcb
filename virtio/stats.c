/* SPDX-License-Identifier: MIT */
/* virtio-mmio counters for --stats and the API, and register names. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "virtio/mmio_priv.h"
#include "virtio/virtio_spec.h"

static uint64_t ld(const _Atomic uint64_t *x)
{
    return atomic_load_explicit(x, memory_order_relaxed);
}

void vmmio_stats_walk(const struct vmmio *m, const struct counter_sink *s)
{
    const struct vdev_ops *ops = m->dev.ops;
    for (unsigned i = 0; i < ops->nqueues; i++) {
        const struct vq_stats *q = &m->vq[i].st;
        char g[16];
        snprintf(g, sizeof(g), "q%u", i);
        counter_emit(s, g, "kicks", ld(&q->kicks));
        counter_emit(s, g, "irqs", ld(&q->irqs));
        counter_emit(s, g, "suppressed", ld(&q->irqs_suppressed));
        counter_emit(s, g, "chains", ld(&q->chains));
        counter_emit(s, g, "bytes", ld(&q->bytes));
        counter_emit(s, g, "errors", ld(&q->errors));
    }
    counter_emit(s, NULL, "needs_reset", ld(&m->dev.resets_needed));
    if (ops->stats_walk)
        ops->stats_walk(&m->dev, s);
}

/* --stats: one line per queue, "virtio NAME qN: kicks 1 irqs 2 ...",
 * from the walk; the device's own lines come from its stats_print. */
struct text_sink {
    FILE *f;
    const char *name;
    char group[16]; /* the line being printed */
};

static void text_emit(void *ctx, const char *group, const char *name,
                      uint64_t v)
{
    struct text_sink *t = ctx;
    if (!group || group[0] != 'q' || group[1] < '0' || group[1] > '9')
        return; /* not a queue line: the device prints its own */
    if (strcmp(group, t->group)) {
        fprintf(t->f, "%svirtio %s %s:", t->group[0] ? "\n" : "", t->name,
                group);
        snprintf(t->group, sizeof(t->group), "%s", group);
    }
    fprintf(t->f, " %s %llu", name, (unsigned long long)v);
}

void vmmio_stats_print(const struct vmmio *m, FILE *f)
{
    const struct vdev_ops *ops = m->dev.ops;
    struct text_sink t = {.f = f, .name = ops->name};
    vmmio_stats_walk(m, &(struct counter_sink){.emit = text_emit, .ctx = &t});
    if (t.group[0])
        fprintf(f, "\n");
    uint64_t resets = ld(&m->dev.resets_needed);
    if (resets)
        fprintf(f, "virtio %s: needs-reset %llu\n", ops->name,
                (unsigned long long)resets);
    if (ops->stats_print)
        ops->stats_print(&m->dev, f);
}

const struct vdev_ops *vmmio_ops(const struct vmmio *m)
{
    return m->dev.ops;
}

uint64_t vmmio_acked(const struct vmmio *m)
{
    return __atomic_load_n(&m->dev.acked, __ATOMIC_RELAXED);
}

const char *vmmio_reg_name(uint64_t off)
{
    switch (off) {
    case VMMIO_MAGIC: return "MagicValue";
    case VMMIO_VERSION: return "Version";
    case VMMIO_DEVICE_ID: return "DeviceID";
    case VMMIO_VENDOR_ID: return "VendorID";
    case VMMIO_DEV_FEATURES: return "DeviceFeatures";
    case VMMIO_DEV_FEATURES_SEL: return "DeviceFeaturesSel";
    case VMMIO_DRV_FEATURES: return "DriverFeatures";
    case VMMIO_DRV_FEATURES_SEL: return "DriverFeaturesSel";
    case VMMIO_GUEST_PAGE_SIZE: return "GuestPageSize";
    case VMMIO_QUEUE_SEL: return "QueueSel";
    case VMMIO_QUEUE_NUM_MAX: return "QueueNumMax";
    case VMMIO_QUEUE_NUM: return "QueueNum";
    case VMMIO_QUEUE_ALIGN: return "QueueAlign";
    case VMMIO_QUEUE_PFN: return "QueuePFN";
    case VMMIO_QUEUE_READY: return "QueueReady";
    case VMMIO_QUEUE_NOTIFY: return "QueueNotify";
    case VMMIO_INTERRUPT_STATUS: return "InterruptStatus";
    case VMMIO_INTERRUPT_ACK: return "InterruptACK";
    case VMMIO_STATUS: return "Status";
    case VMMIO_QUEUE_DESC_LOW: return "QueueDescLow";
    case VMMIO_QUEUE_DESC_HIGH: return "QueueDescHigh";
    case VMMIO_QUEUE_DRIVER_LOW: return "QueueDriverLow";
    case VMMIO_QUEUE_DRIVER_HIGH: return "QueueDriverHigh";
    case VMMIO_QUEUE_DEVICE_LOW: return "QueueDeviceLow";
    case VMMIO_QUEUE_DEVICE_HIGH: return "QueueDeviceHigh";
    case VMMIO_SHM_SEL: return "SHMSel";
    case VMMIO_CONFIG_GENERATION: return "ConfigGeneration";
    }
    return "reserved";
}
