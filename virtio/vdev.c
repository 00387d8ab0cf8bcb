/* SPDX-License-Identifier: MIT */
/* Interrupt and error signalling shared by every virtio device. */
#define LOG_TAG "virtio"
#include <stdatomic.h>

#include "virtio/vdev.h"

#include "hw/log.h"
#include "virtio/virtio_spec.h"

int vdev_notify(struct vdev *d, uint16_t qi)
{
    /* The ISR bit is set before the line fires so the handler that the
     * interrupt wakes always sees it. */
    atomic_fetch_or_explicit(&d->isr, VIRTIO_ISR_VRING, memory_order_seq_cst);
    log_cat(LOG_CAT_VIRTIO, "%s: q%u interrupt", d->ops->name, qi);
    return irq_trigger(d->irq);
}

int vdev_config_changed(struct vdev *d)
{
    atomic_fetch_add_explicit(&d->cfg_gen, 1, memory_order_seq_cst);
    atomic_fetch_or_explicit(&d->isr, VIRTIO_ISR_CONFIG, memory_order_seq_cst);
    log_cat(LOG_CAT_VIRTIO, "%s: config-change interrupt", d->ops->name);
    return irq_trigger(d->irq);
}

void vdev_cfg_begin(struct vdev *d)
{
    pthread_mutex_lock(&d->cfg_lock);
}

void vdev_cfg_end(struct vdev *d, bool notify)
{
    /* Bumped inside the lock: a driver read that saw the new values is
     * followed by a generation read that sees the new number (§2.5.1). */
    atomic_fetch_add_explicit(&d->cfg_gen, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&d->cfg_lock);
    if (!notify)
        return;
    atomic_fetch_or_explicit(&d->isr, VIRTIO_ISR_CONFIG, memory_order_seq_cst);
    log_cat(LOG_CAT_VIRTIO, "%s: config-change interrupt", d->ops->name);
    irq_trigger(d->irq);
}

void vdev_needs_reset(struct vdev *d, const char *why)
{
    if (atomic_exchange_explicit(&d->needs_reset, true, memory_order_seq_cst))
        return; /* already flagged: one message, one interrupt */
    atomic_fetch_add_explicit(&d->resets_needed, 1, memory_order_relaxed);
    if (log_ratelimit_window(&d->reset_log, VDEV_RESET_LOG_BURST, 60)) {
        uint64_t quiet = d->reset_log.suppressed;
        d->reset_log.suppressed = 0;
        if (quiet)
            log_warn("%s: device needs reset: %s (%llu more since the "
                     "last report)",
                     d->ops->name, why, (unsigned long long)quiet);
        else
            log_warn("%s: device needs reset: %s", d->ops->name, why);
    }
    vdev_config_changed(d);
}
