/* SPDX-License-Identifier: MIT */
/*
 * The device tree the loader passed as setup_data SETUP_DTB: finding it
 * on the zero page's setup_data chain, listing its virtio-mmio nodes,
 * and printing it for the shell's `dt`.
 */
#ifndef TG_DT_H
#define TG_DT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/bootinfo.h"
#include "guest/fdt.h"

#define SETUP_DTB 2

enum dt_state { DT_NONE, DT_OK, DT_BAD };

struct dt {
    enum dt_state state;
    const char *why; /* DT_BAD: what was wrong */
    uint64_t addr;   /* of the DTB itself */
    uint32_t len;    /* setup_data payload length */
    struct fdt fdt;
};

/*
 * Walks the setup_data chain (bounded: 64 entries, each inside one e820
 * entry below 4 GiB) for the first SETUP_DTB entry and validates the
 * whole tree. DT_NONE without such an entry.
 */
void dt_find(struct dt *dt, const struct bootinfo *bi);

/* A virtio,mmio node under the root: its window and first interrupt cell. */
struct dt_virtio {
    uint64_t base, size;
    uint32_t irq;
    bool has_irq;
};

/*
 * Calls fn for every root child whose compatible list has "virtio,mmio"
 * and whose reg holds one address/size pair; returns the number of such
 * nodes whose reg was unusable (not reported to fn).
 */
uint32_t dt_virtio_each(const struct dt *dt,
                        void (*fn)(void *ctx, const struct dt_virtio *v),
                        void *ctx);

/* Prints "tg: dt ..." lines: indented node names, reg, interrupts,
 * compatible. */
void dt_print(const struct dt *dt);
/* "tg: dtb none|addr=0x.. size=N|bad WHY" */
void dt_report(const struct dt *dt);

#endif
