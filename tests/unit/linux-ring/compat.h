/* SPDX-License-Identifier: MIT */
/*
 * Forced into Linux's virtio_ring.c when it is built in userspace: what
 * the 6.1 tools/virtio shims lack, and allocation routed into fake guest
 * RAM (kmalloc() in the shims calls malloc(), renamed on the command
 * line to lr_kmalloc), because indirect tables are kmalloc'd and their
 * addresses go into descriptors.
 */
#ifndef KVMINI_TESTS_LR_COMPAT_H
#define KVMINI_TESTS_LR_COMPAT_H

#define data_race(expr) (expr)

#endif
