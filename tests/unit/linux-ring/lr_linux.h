/* SPDX-License-Identifier: MIT */
/*
 * Linux-side helpers of the ring test, shared by the drivers in glue.c
 * (echo, console) and glue_blk.c (virtio-blk). Sees Linux's tools/virtio
 * headers, so only those files include it.
 */
#ifndef KVMINI_TESTS_LR_LINUX_H
#define KVMINI_TESTS_LR_LINUX_H

#include <linux/virtio.h>

#define LR_MAXQ 4

struct lr_vq {
    struct virtqueue *vq;
    unsigned callbacks; /* vring_interrupt found work */
};
extern struct lr_vq lr_q[LR_MAXQ];

/* Create nq queues of num entries with Linux's ring code, tell the
 * device, DRIVER_OK: 0 or -errno. */
int lr_start(unsigned nq, unsigned num);
void lr_stop(unsigned nq);
/* Nothing completed: re-enable callbacks, sleep on the interrupt if
 * none is pending and run vring_interrupt. 0 or -ETIMEDOUT. */
int lr_wait(unsigned nq);

#endif
