/* SPDX-License-Identifier: MIT */
/* Synthetic bzImage builder for unit tests. */
#include "tests/unit/bz_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

uint8_t *bz_fixture_make(const struct bz_spec *spec, size_t *len)
{
    struct bz_spec s = *spec;
    if (!s.version)
        s.version = 0x020f;
    if (!s.kernel_len)
        s.kernel_len = 64 * 1024;
    if (!s.init_size)
        s.init_size = 4 * 1024 * 1024;
    if (!s.cmdline_size)
        s.cmdline_size = 2047;
    if (!s.initrd_addr_max)
        s.initrd_addr_max = 0x7fffffff;
    unsigned sects = 4;
    size_t setup = (sects + 1) * 512;
    *len = setup + s.kernel_len;
    uint8_t *b = calloc(1, *len);
    if (!b)
        return NULL;
    b[0x1f1] = sects;
    wr32(b + 0x1f4, s.kernel_len / 16);
    wr16(b + 0x1fe, 0xaa55);
    b[0x200] = 0xeb;          /* jmp short over the header ... */
    b[0x201] = 0x268 - 0x202; /* ... which ends at 0x268 */
    memcpy(b + 0x202, "HdrS", 4);
    wr16(b + 0x206, s.version);
    b[0x211] = 0x01;           /* LOADED_HIGH */
    wr32(b + 0x214, 0x100000); /* code32_start */
    wr32(b + 0x22c, s.initrd_addr_max);
    wr32(b + 0x230, 0x200000); /* kernel_alignment */
    b[0x234] = s.relocatable;
    b[0x236] = s.xloadflags ? s.xloadflags : 0x01; /* XLF_KERNEL_64 */
    wr32(b + 0x238, s.cmdline_size);
    wr32(b + 0x258, (uint32_t)s.pref_address);
    wr32(b + 0x25c, (uint32_t)(s.pref_address >> 32));
    wr32(b + 0x260, s.init_size);
    for (size_t i = setup; i < *len; i++)
        b[i] = (uint8_t)(i * 7);
    return b;
}

uint8_t *bz_fixture_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc(n) : NULL;
    if (b && fread(b, 1, n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}
