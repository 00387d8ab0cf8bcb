/* SPDX-License-Identifier: MIT */
/*
 * A fixed table of address ranges and their handlers, used both for the
 * MMIO bus and for the port-I/O bus. Filled before vCPUs start and
 * read-only afterwards, so vCPU threads look up without locks.
 *
 * Handlers run on the vCPU thread that trapped the access; they return
 * 0 or -errno (the access is then treated as unclaimed).
 */
#ifndef KVMINI_HW_IO_BUS_H
#define KVMINI_HW_IO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BUS_MAX 64

/* off is relative to the range base; len is 1, 2, 4 or 8. */
typedef int (*io_fn)(void *opaque, uint64_t off, void *data, uint32_t len,
                     bool write);

struct io_range {
    uint64_t base, len;
    io_fn fn;
    void *opaque;
};

struct io_bus {
    struct io_range r[IO_BUS_MAX];
    unsigned nr;
};

/* -EEXIST if it overlaps a registered range, -ENOSPC if full. */
int io_bus_add(struct io_bus *b, uint64_t base, uint64_t len, io_fn fn,
               void *opaque);

/* Dispatch an access. -ENOENT if no range claims all of it; the caller
 * then reads all-ones / drops the write. */
int io_bus_access(const struct io_bus *b, uint64_t addr, void *data,
                  uint32_t len, bool write);

#endif
