/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the MMIO/port dispatch (hw/io_bus.c) that every guest
 * exit goes through. Ranges are registered from the input (anywhere in
 * the 64-bit space, including ones that wrap or overlap), then accesses
 * of 1 to 8 bytes at any address. A model checks every answer:
 * io_bus_add accepts exactly the non-empty, non-wrapping ranges that
 * overlap no earlier one while there is room; an access reaches the one
 * range that holds all of it, at the right offset, else nothing.
 *
 * Input: ops: add (base, len) or access (address near a range or
 * anywhere, size, direction).
 */
#include <errno.h>
#include <string.h>

#include "hw/io_bus.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

struct hit {
    int range; /* which handler ran, -1 none */
    uint64_t off;
    uint32_t len;
    bool write;
};

struct tag {
    struct hit *h;
    int idx;
};

static int handler(void *opaque, uint64_t off, void *data, uint32_t len,
                   bool write)
{
    struct tag *t = opaque;
    FZ_ASSERT(t->h->range < 0, "two handlers for one access");
    *t->h = (struct hit){t->idx, off, len, write};
    if (!write)
        memset(data, 0x5a, len);
    return 0;
}

static uint64_t pick_addr(struct fz_in *in, const struct io_range *r,
                          unsigned nr)
{
    uint8_t sel = fz_u8(in);
    if (nr && sel < 0xc0) {
        const struct io_range *x = &r[sel % nr];
        /* Around the range: before, inside, at and past its end. */
        return x->base + x->len / 2 * (sel >> 6) + (int8_t)fz_u8(in);
    }
    return fz_u64(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    struct io_bus b = {0};
    struct io_range model[IO_BUS_MAX];
    struct tag tags[IO_BUS_MAX + 1];
    struct hit h;
    unsigned nr = 0;
    for (unsigned n = 0; in.n && n < 2048; n++) {
        uint8_t op = fz_u8(&in);
        if (op < 0x40) {
            uint64_t base = op & 1 ? fz_u64(&in) : fz_u16(&in);
            uint64_t len = op & 2 ? fz_u64(&in) : fz_u8(&in);
            bool ok = len && base + len >= base && nr < IO_BUS_MAX;
            for (unsigned i = 0; ok && i < nr; i++)
                ok = base >= model[i].base + model[i].len ||
                     model[i].base >= base + len;
            /* A full table must refuse: the spare tag is never used. */
            unsigned t = nr < IO_BUS_MAX ? nr : IO_BUS_MAX;
            tags[t] = (struct tag){&h, (int)t};
            int r = io_bus_add(&b, base, len, handler, &tags[t]);
            FZ_ASSERT((r == 0) == ok, "add [0x%llx +0x%llx) -> %d",
                      (unsigned long long)base, (unsigned long long)len, r);
            if (ok)
                model[nr++] = (struct io_range){base, len, handler, NULL};
            continue;
        }
        uint64_t addr = pick_addr(&in, model, nr);
        uint32_t len = 1 + fz_u8(&in) % 8;
        bool write = op & 1;
        uint8_t d[8] = {0};
        int want = -1;
        for (unsigned i = 0; i < nr; i++)
            if (addr >= model[i].base && addr - model[i].base < model[i].len &&
                len <= model[i].len - (addr - model[i].base))
                want = (int)i;
        h = (struct hit){.range = -1};
        int r = io_bus_access(&b, addr, d, len, write);
        FZ_ASSERT(h.range == want && (r == 0) == (want >= 0),
                  "access 0x%llx len %u: range %d (r %d), model %d",
                  (unsigned long long)addr, len, h.range, r, want);
        if (want >= 0)
            FZ_ASSERT(h.off == addr - model[want].base && h.len == len &&
                          h.write == write,
                      "range %d got off 0x%llx len %u", want,
                      (unsigned long long)h.off, h.len);
        if (r == -ENOENT && !write)
            FZ_ASSERT(d[0] == 0, "unclaimed read touched the buffer");
    }
    return 0;
}
