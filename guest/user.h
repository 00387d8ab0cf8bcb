/* SPDX-License-Identifier: MIT */
/*
 * Ring-3 execution for bulk work: on this machine ring-0 code is
 * emulated (~2 instructions/us) while ring-3 code runs natively.
 */
#ifndef TG_USER_H
#define TG_USER_H

#include <stdint.h>

/* Program EFER.SCE/STAR/LSTAR/SFMASK so ring 3 can come back by syscall. */
void user_init(void);
/* Runs fn(a, b) in ring 3 and returns its result. BSP only. */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a,
                   uint64_t b);
/*
 * Sum of p[0..n) as little-endian 32-bit words, the last partial word
 * zero-padded (perl: unpack("%32V*", $data)), computed in ring 3.
 */
uint32_t user_sum32(uint64_t p, uint64_t n);

#endif
