/* SPDX-License-Identifier: MIT */
/*
 * Ring-3 execution for bulk work: on this machine ring-0 code is
 * emulated (~2 instructions/us) while ring-3 code runs natively.
 */
#ifndef TG_USER_H
#define TG_USER_H

#include <stdint.h>

struct trap_frame;

/*
 * Called by trap_handle() first: if f is ring 3's deliberate exit, it
 * resumes user_call() and does not return; otherwise it returns.
 */
void user_exit_trap(const struct trap_frame *f);
/* Runs fn(a, b) in ring 3 and returns its result. BSP only. */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b);
/*
 * Sum of p[0..n) as little-endian 32-bit words, the last partial word
 * zero-padded (perl: unpack("%32V*", $data)), computed in ring 3.
 */
uint32_t user_sum32(uint64_t p, uint64_t n);

/*
 * First 16-byte-aligned address in [start, start + len) holding the
 * 32-bit value sig, or 0; scanned in ring 3. start must be 16-aligned.
 */
uint64_t user_find_sig(uint64_t start, uint32_t len, uint32_t sig);

#endif
