/* SPDX-License-Identifier: MIT */
/*
 * Leaving the guest: the byte written to the test-exit port 0xf4 is the
 * exit status (QEMU's isa-debug-exit turns it into (v << 1) | 1).
 */
#ifndef TG_EXIT_H
#define TG_EXIT_H

#include "guest/io.h"

#define TG_EXIT_PORT 0xf4
#define TG_EXIT_PASS 0  /* every check passed */
#define TG_EXIT_FAIL 1  /* at least one check failed */
#define TG_EXIT_FAULT 2 /* unexpected CPU exception */

/* Without an exit device the write is ignored and the CPU halts. */
static inline __attribute__((noreturn)) void tg_exit(unsigned status)
{
    outb(TG_EXIT_PORT, (uint8_t)status);
    cpu_halt_forever();
}

#endif
