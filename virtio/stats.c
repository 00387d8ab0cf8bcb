/* SPDX-License-Identifier: MIT */
/* virtio-mmio counters for --stats, and register names for --debug. */
#include <stdatomic.h>
#include <stdio.h>

#include "virtio/mmio_priv.h"
#include "virtio/virtio_spec.h"

static uint64_t ld(const _Atomic uint64_t *x)
{
    return atomic_load_explicit(x, memory_order_relaxed);
}

void vmmio_stats_print(const struct vmmio *m, FILE *f)
{
    const struct vdev_ops *ops = m->dev.ops;
    for (unsigned i = 0; i < ops->nqueues; i++) {
        const struct vq_stats *s = &m->vq[i].st;
        fprintf(f,
                "virtio %s q%u: kicks %llu irqs %llu suppressed %llu "
                "chains %llu bytes %llu errors %llu\n",
                ops->name, i, (unsigned long long)ld(&s->kicks),
                (unsigned long long)ld(&s->irqs),
                (unsigned long long)ld(&s->irqs_suppressed),
                (unsigned long long)ld(&s->chains),
                (unsigned long long)ld(&s->bytes),
                (unsigned long long)ld(&s->errors));
    }
    uint64_t resets = ld(&m->dev.resets_needed);
    if (resets)
        fprintf(f, "virtio %s: needs-reset %llu\n", ops->name,
                (unsigned long long)resets);
    if (ops->stats_print)
        ops->stats_print(&m->dev, f);
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
