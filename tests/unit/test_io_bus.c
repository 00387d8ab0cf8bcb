/* SPDX-License-Identifier: MIT */
/* io_bus: dispatch, overlaps, straddling and unclaimed accesses. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hw/io_bus.h"
#include "tests/unit/tap.h"

struct rec {
    uint64_t off;
    uint32_t len;
    bool write;
    int calls;
};

static int rec_fn(void *opaque, uint64_t off, void *data, uint32_t len,
                  bool write)
{
    struct rec *r = opaque;
    r->off = off;
    r->len = len;
    r->write = write;
    r->calls++;
    if (!write)
        memset(data, 0xab, len);
    return 0;
}

int main(void)
{
    struct io_bus b = {0};
    struct rec a = {0}, c = {0};
    CHECK(io_bus_add(&b, 0x3f8, 8, rec_fn, &a) == 0, "add uart");
    CHECK(io_bus_add(&b, 0x3fc, 8, rec_fn, &c) == -EEXIST, "overlap");
    CHECK(io_bus_add(&b, 0x400, 0, rec_fn, &c) == -EINVAL, "zero length");
    CHECK(io_bus_add(&b, UINT64_MAX - 1, 4, rec_fn, &c) == -EINVAL,
          "wrapping range");
    CHECK(io_bus_add(&b, 0xd0000000, 0x200, rec_fn, &c) == 0, "add mmio");

    uint32_t d = 0;
    CHECK(io_bus_access(&b, 0x3fd, &d, 1, false) == 0 && a.off == 5 &&
              a.len == 1 && !a.write && (d & 0xff) == 0xab,
          "read dispatched with offset");
    CHECK(io_bus_access(&b, 0xd00001fc, &d, 4, true) == 0 && c.off == 0x1fc &&
              c.write,
          "mmio write at window end");
    CHECK(io_bus_access(&b, 0xd00001fe, &d, 4, true) == -ENOENT,
          "access straddling the end is unclaimed");
    CHECK(io_bus_access(&b, 0x3f7, &d, 1, false) == -ENOENT, "unclaimed port");
    CHECK(io_bus_access(&b, UINT64_MAX, &d, 4, false) == -ENOENT,
          "top of address space");
    for (int i = 0; i < IO_BUS_MAX; i++)
        io_bus_add(&b, 0x10000 + i * 16, 16, rec_fn, &c);
    CHECK(io_bus_add(&b, 0x90000, 1, rec_fn, &c) == -ENOSPC, "table full");
    return tap_done();
}
