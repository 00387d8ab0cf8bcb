/* SPDX-License-Identifier: MIT */
/*
 * A test device for the transport and queue tests: every chain's
 * readable bytes are copied into its writable buffers (an echo), and
 * the used length is what was copied. A gate fd can hold each request
 * open to test reset while a request is in flight.
 */
#ifndef KVMINI_TESTS_ECHO_DEV_H
#define KVMINI_TESTS_ECHO_DEV_H

#include <stdatomic.h>
#include <stdint.h>

#include "virtio/vdev.h"

#define ECHO_DEVICE_ID 0x7e57
#define ECHO_CFG_SIZE 16
#define ECHO_MAX 4096 /* bytes echoed per chain */

struct echo_dev {
    struct vdev_ops ops;
    int gate_fd;     /* -1, or a pipe: one byte read before each request */
    _Atomic uint64_t requests; /* chains served (including failed) */
    _Atomic uint64_t started;  /* requests that passed the gate check */
    uint8_t cfg[ECHO_CFG_SIZE];
    uint8_t scratch[VDEV_MAX_QUEUES][ECHO_MAX];
};

void echo_init(struct echo_dev *e, unsigned nqueues, uint32_t qsize_max);

#endif
