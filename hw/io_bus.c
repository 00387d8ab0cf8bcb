/* SPDX-License-Identifier: MIT */
/* Address-range dispatch for MMIO and port I/O. */
#include "hw/io_bus.h"

#include <errno.h>

int io_bus_add(struct io_bus *b, uint64_t base, uint64_t len, io_fn fn,
               void *opaque)
{
    if (len == 0 || base + len < base)
        return -EINVAL;
    if (b->nr >= IO_BUS_MAX)
        return -ENOSPC;
    for (unsigned i = 0; i < b->nr; i++)
        if (base < b->r[i].base + b->r[i].len && b->r[i].base < base + len)
            return -EEXIST;
    b->r[b->nr++] = (struct io_range){base, len, fn, opaque};
    return 0;
}

int io_bus_access(const struct io_bus *b, uint64_t addr, void *data,
                  uint32_t len, bool write)
{
    for (unsigned i = 0; i < b->nr; i++) {
        const struct io_range *r = &b->r[i];
        if (addr < r->base || addr - r->base >= r->len)
            continue;
        if (len > r->len - (addr - r->base))
            return -ENOENT; /* straddles the end of the range */
        return r->fn(r->opaque, addr - r->base, data, len, write);
    }
    return -ENOENT;
}
