/* SPDX-License-Identifier: MIT */
/*
 * Parsing and validating a Linux x86 bzImage setup header
 * (Documentation/arch/x86/boot.rst). Pure functions on a byte buffer.
 */
#ifndef KVMINI_ARCH_X86_BZIMAGE_H
#define KVMINI_ARCH_X86_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BZ_MIN_PROTOCOL 0x0206 /* 64-bit entry needs ≥2.06 fields */

struct bzimage {
    const uint8_t *image; /* the whole file */
    size_t image_len;
    size_t setup_len;      /* (setup_sects + 1) * 512 */
    const uint8_t *kernel; /* protected-mode part */
    size_t kernel_len;
    uint16_t version;
    uint32_t init_size; /* memory the kernel needs from its load address */
    uint64_t pref_address;
    uint32_t kernel_alignment;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size; /* max bytes excluding the NUL */
    bool relocatable;
    size_t hdr_len; /* bytes of setup header from 0x1f1 */
};

/*
 * Validate img as a 64-bit-capable bzImage. Returns 0, or -ENOEXEC with
 * *why set to a phrase naming what is wrong (for one error line).
 */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
                  const char **why);

#endif
