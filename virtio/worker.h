/* SPDX-License-Identifier: MIT */
/*
 * One thread per started virtqueue. It poll()s the queue's kick eventfd,
 * the transport's stop eventfd and the device's optional backend fd,
 * calls the device's process() and raises the interrupt from this
 * thread when the driver wants one, so a completion needs no vCPU exit.
 *
 * Owned by the transport: vworker_start on DRIVER_OK, then the stop
 * eventfd is written and vworker_join called on reset or destroy. A
 * worker is never cancelled; it finishes the process() call it is in.
 */
#ifndef KVMINI_VIRTIO_WORKER_H
#define KVMINI_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/gate.h"
#include "virtio/vdev.h"

struct vworker {
    pthread_t th;
    struct vdev *d;
    uint16_t qi;
    int kick_fd, stop_fd;
    struct gate *gate; /* the VM's pause gate, or NULL */
    bool running;
};

/* Start the worker for queue qi of d: 0 or -errno (pthread_create).
 * With a gate, the worker parks there while it is closed (pause), once
 * the device has nothing in flight (ops->busy). */
int vworker_start(struct vworker *w, struct vdev *d, uint16_t qi,
                  int kick_fd, int stop_fd, struct gate *gate);

/* One round of a worker: process() queue qi once, then raise the
 * interrupt if the driver wants it, or NEEDS_RESET if the ring broke.
 * 1 if the device left work for another round. The worker thread calls
 * it; so does vmmio_serve, for callers that serve queues themselves. */
int vworker_serve(struct vdev *d, uint16_t qi);

/* The sandbox kind ("vq-blk", ...) of the workers of a device. */
const char *vworker_kind(const struct vdev_ops *ops);

/* Join a worker whose stop_fd has been made readable. No-op if not
 * running. */
void vworker_join(struct vworker *w);

#endif
