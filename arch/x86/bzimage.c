/* SPDX-License-Identifier: MIT */
/* bzImage setup-header validation. */
#include "arch/x86/bzimage.h"

#include <errno.h>
#include <string.h>

/* Offsets in the image (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_SYSSIZE 0x1f4
#define BZ_BOOT_FLAG 0x1fe
#define BZ_JUMP 0x200
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_LOADFLAGS 0x211
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HDR_END_MIN 0x264 /* through init_size, protocol 2.10 */

#define BZ_LOADED_HIGH 0x01
#define BZ_XLF_KERNEL_64 0x01

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int bz_fail(const char **why, const char *msg)
{
    *why = msg;
    return -ENOEXEC;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
                  const char **why)
{
    memset(bz, 0, sizeof(*bz));
    if (len == 0)
        return bz_fail(why, "empty file");
    if (len >= 4 && memcmp(img,
                           "\x7f"
                           "ELF",
                           4) == 0)
        return bz_fail(why, "an ELF file, not a bzImage (use the "
                            "kernel's arch/x86/boot/bzImage)");
    if (len < 1024)
        return bz_fail(why, "too short to be a bzImage");
    if (rd16(img + BZ_BOOT_FLAG) != 0xaa55 ||
        memcmp(img + BZ_HEADER, "HdrS", 4) != 0)
        return bz_fail(why, "not a bzImage (no boot-sector signature or "
                            "HdrS setup header)");
    bz->version = rd16(img + BZ_VERSION);
    if (bz->version < BZ_MIN_PROTOCOL)
        return bz_fail(why, "boot protocol older than 2.06; kvmini "
                            "needs a 64-bit kernel");
    if (!(img[BZ_LOADFLAGS] & BZ_LOADED_HIGH))
        return bz_fail(why, "zImage (loaded low) is not supported");
    if (bz->version < 0x020a || !(img[BZ_XLOADFLAGS] & BZ_XLF_KERNEL_64))
        return bz_fail(why, "no 64-bit entry point (XLF_KERNEL_64 unset)");

    unsigned sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;
    bz->setup_len = (size_t)(sects + 1) * 512;
    /* The header length is encoded in the jump at 0x200. */
    bz->hdr_len = (size_t)(BZ_JUMP + 2 + img[BZ_JUMP + 1]) - BZ_SETUP_SECTS;
    if (BZ_SETUP_SECTS + bz->hdr_len < BZ_HDR_END_MIN ||
        BZ_SETUP_SECTS + bz->hdr_len > bz->setup_len)
        return bz_fail(why, "corrupt setup header length");
    if (bz->setup_len >= len)
        return bz_fail(why, "truncated: file ends inside the setup code");
    uint64_t syssize = (uint64_t)rd32(img + BZ_SYSSIZE) * 16;
    /* syssize counts 16-byte paragraphs, rounded up: allow the slack. */
    if (syssize == 0 || syssize > len - bz->setup_len + 15)
        return bz_fail(why, "truncated: protected-mode kernel shorter "
                            "than the header's syssize");

    bz->image = img;
    bz->image_len = len;
    bz->kernel = img + bz->setup_len;
    bz->kernel_len = len - bz->setup_len;
    bz->initrd_addr_max = rd32(img + BZ_INITRD_ADDR_MAX);
    bz->kernel_alignment = rd32(img + BZ_KERNEL_ALIGNMENT);
    bz->relocatable = img[BZ_RELOCATABLE] != 0;
    bz->cmdline_size = rd32(img + BZ_CMDLINE_SIZE);
    bz->pref_address = (uint64_t)rd32(img + BZ_PREF_ADDRESS) |
                       (uint64_t)rd32(img + BZ_PREF_ADDRESS + 4) << 32;
    bz->init_size = rd32(img + BZ_INIT_SIZE);
    if (bz->init_size < bz->kernel_len)
        return bz_fail(why, "corrupt header: init_size smaller than the "
                            "kernel");
    if (bz->kernel_alignment & (bz->kernel_alignment - 1))
        return bz_fail(why, "corrupt header: kernel_alignment not a power "
                            "of two");
    return 0;
}
