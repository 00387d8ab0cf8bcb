/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the virtio-mmio transport and the split-ring engine
 * (virtio/mmio.c, queue.c, vdev.c, stats.c) under a hostile driver:
 * register reads and writes of every width and offset, queue setup at
 * any address, descriptor tables, indirect tables and ring indices from
 * the input. The device is the unit tests' echo device, which walks
 * every chain (readable bytes copied into the writable buffers).
 *
 * Input: one byte of shape (queues, QueueNumMax, legacy), then the
 * driver script of tests/fuzz/fz.h, starting from a bare device.
 */
#include "tests/fuzz/fz.h"
#include "tests/unit/echo_dev.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct echo_dev e; /* 64 KiB of scratch: not per run */
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    echo_init(&e, 1 + shape % 4, 1u << (1 + (shape >> 2) % 8));
    fz_virtio_run(&e.ops, &e, shape & 0x80, false, NULL, &in);
    return 0;
}
