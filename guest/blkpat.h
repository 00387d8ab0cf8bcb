/* SPDX-License-Identifier: MIT */
/*
 * The data the blk checks write and verify, built and checked in ring 3
 * (ring 0 is emulated here, ~2 instructions/us; ring 3 runs natively).
 * Sector s written with seed S holds 64 little-endian 64-bit words:
 *   w[0] = BLKPAT_MAGIC ("tgblkpat"), w[1] = S, w[2] = s,
 *   w[i] = s ^ S ^ (i * 0x0101010101010101) for i = 3..63,
 * so a sector landing at the wrong place, a stale one and a torn one all
 * differ; host tests recompute it (perl: unpack "Q<64").
 */
#ifndef TG_BLKPAT_H
#define TG_BLKPAT_H

#include <stdint.h>

#define BLKPAT_MAGIC 0x7461706b6c626774ULL /* "tgblkpat" */
#define BLKPAT_POISON_BYTE 0xa5            /* before reads: must be replaced */

enum blkpat_op {
    BLKPAT_FILL,       /* write the pattern */
    BLKPAT_CHECK,      /* out = first sector (1-based) not the pattern */
    BLKPAT_POISON,     /* fill with BLKPAT_POISON_BYTE */
    BLKPAT_CHECK_ZERO, /* out = first sector (1-based) not all zeroes */
    BLKPAT_SUM,        /* out = wrapping 32-bit sum of LE 32-bit words */
    BLKPAT_SAME,       /* out = first sector (1-based) differing from addr2 */
};

struct blkpat_job {
    uint64_t op, addr, sector, nsect, seed, addr2;
    uint64_t out;
};

/* Runs jobs[0..n) in one trip to ring 3; returns how many failed (a
 * CHECK* or SAME job with out != 0). */
uint32_t blkpat_run(struct blkpat_job *jobs, uint32_t n);

#endif
