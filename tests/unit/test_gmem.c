/* SPDX-License-Identifier: MIT */
/* gmem: every range check, including overflowing ones. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hw/gmem.h"
#include "tests/unit/tap.h"

int main(void)
{
    static uint8_t lo[4096], hi[8192];
    struct gmem m = {0};
    CHECK(gmem_add(&m, 0x1000, sizeof(lo), lo) == 0, "add low region");
    CHECK(gmem_add(&m, 0x100000000ULL, sizeof(hi), hi) == 0, "add high region");
    CHECK(gmem_add(&m, 0x1800, 16, lo) == -EINVAL, "overlap refused");
    CHECK(gmem_add(&m, UINT64_MAX - 10, 100, lo) == -EINVAL,
          "wrapping region refused");
    CHECK(gmem_total(&m) == sizeof(lo) + sizeof(hi), "total");

    CHECK(gmem_ptr(&m, 0x1000, 4096) == lo, "whole low region");
    CHECK(gmem_ptr(&m, 0x1fff, 1) == lo + 4095, "last byte");
    CHECK(gmem_ptr(&m, 0x1fff, 2) == NULL, "one byte past the end");
    CHECK(gmem_ptr(&m, 0x2000, 0) == NULL, "address just past region");
    CHECK(gmem_ptr(&m, 0xfff, 1) == NULL, "one byte before");
    CHECK(gmem_ptr(&m, 0x1000, UINT64_MAX) == NULL, "huge length");
    CHECK(gmem_ptr(&m, UINT64_MAX, 2) == NULL, "gpa+len wraps");
    CHECK(gmem_ptr(&m, 0x1ff0, UINT64_MAX - 0x1000) == NULL,
          "len that wraps with the offset");
    CHECK(gmem_ptr(&m, 0x100000000ULL + 8191, 1) == hi + 8191,
          "high region last byte");
    CHECK(gmem_ptr(&m, 0x1800, 0x100000000ULL) == NULL,
          "range spanning both regions refused");

    uint32_t v = 0xdeadbeef, r = 0;
    CHECK(gmem_write(&m, 0x1004, &v, 4) == 0 &&
              gmem_read(&m, 0x1004, &r, 4) == 0 && r == v,
          "write then read");
    CHECK(gmem_read(&m, 0x1ffe, &r, 4) == -EFAULT, "read across end");
    CHECK(gmem_write(&m, 0x0, &v, 4) == -EFAULT, "write outside RAM");
    return tap_done();
}
