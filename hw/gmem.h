/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: the only way any module touches guest memory.
 *
 * A gmem is a list of up to GMEM_MAX_REGIONS contiguous guest-physical
 * ranges, each backed by host memory. Every accessor checks that the
 * whole [gpa, gpa+len) range lies inside one region, without overflow.
 * The struct is filled before any thread starts and is read-only after,
 * so it may be shared by all threads without locks.
 */
#ifndef KVMINI_HW_GMEM_H
#define KVMINI_HW_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4

struct gmem_region {
    uint64_t gpa;  /* guest-physical base */
    uint64_t size; /* bytes */
    uint8_t *host; /* host mapping of gpa */
};

struct gmem {
    struct gmem_region r[GMEM_MAX_REGIONS];
    unsigned nr;
};

/* Add a region; -EINVAL if it overlaps another or the table is full. */
int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *host);

/* Host pointer for [gpa, gpa+len), or NULL unless the whole range fits
 * inside one region. len == 0 is allowed if gpa is inside a region. */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Copy from/to guest memory: 0 or -EFAULT. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len);

/* Total bytes of RAM described. */
uint64_t gmem_total(const struct gmem *m);

#endif
