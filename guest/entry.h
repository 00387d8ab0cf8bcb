/* SPDX-License-Identifier: MIT */
/*
 * The CPU state the 64-bit boot loader handed over at the bzImage entry
 * (boot.S records it before touching anything), and the extent of the
 * identity map its page tables provide.
 */
#ifndef TG_ENTRY_H
#define TG_ENTRY_H

#include <stdint.h>

#define RFLAGS_IF 0x200
#define EFER_LMA 0x400

/* Layout shared with boot.S. */
struct entry_regs {
    uint64_t rflags, cr0, cr3, cr4, efer;
    uint64_t valid; /* 0: not entered through the bzImage entry (PVH) */
};

struct entry_state {
    struct entry_regs regs;
    /* First address the loader's tables do not map 1:1 (4 GiB: all). */
    uint64_t idmap_end;
};

/* Copies the recorded registers and walks the loader's tables in ring 3. */
void entry_probe(struct entry_state *e);

#endif
