/* SPDX-License-Identifier: MIT */
/*
 * Inside of the virtio-mmio transport, shared by mmio.c (registers) and
 * stats.c (counters and register names); nobody else includes this.
 */
#ifndef KVMINI_VIRTIO_MMIO_PRIV_H
#define KVMINI_VIRTIO_MMIO_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "virtio/vdev.h"
#include "virtio/worker.h"

/* The driver's view of one queue, as last written (host copies). */
struct vmmio_qregs {
    uint32_t num;
    bool ready;
    uint64_t desc, driver, device;
    uint32_t align, pfn; /* legacy */
};

struct vmmio {
    struct vdev dev;
    pthread_mutex_t lock; /* all register state below */
    bool legacy;
    bool started;         /* ops->start succeeded */
    bool running;         /* some worker threads exist */
    bool inline_serve;    /* no workers: the caller runs vmmio_serve */
    struct gate *gate;    /* the VM's pause gate for the workers, or NULL */
    uint32_t status;      /* without NEEDS_RESET (kept in dev) */
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel, page_size;
    uint64_t drv_features;
    int stop_fd;
    int kick_fd[VDEV_MAX_QUEUES];
    struct vmmio_qregs qr[VDEV_MAX_QUEUES];
    struct vq vq[VDEV_MAX_QUEUES];
    struct vworker w[VDEV_MAX_QUEUES];
};

/* "QueueNotify" etc. for --debug virtio. */
const char *vmmio_reg_name(uint64_t off);

#endif
