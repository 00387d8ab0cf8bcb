/* SPDX-License-Identifier: MIT */
/* Encodes the few AML terms the DSDT needs (ACPI 6, chapter 20). */
#include <errno.h>
#include <string.h>

#include "arch/x86/aml.h"

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_METHOD 0x14
#define AML_LOCAL0 0x60
#define AML_STORE 0x70
#define AML_AND 0x7b
#define AML_NOTIFY 0x86
#define AML_IF 0xa0
#define AML_EXT 0x5b
#define AML_OPREGION 0x80 /* after AML_EXT */
#define AML_FIELD 0x81    /* after AML_EXT */
#define AML_DEVICE 0x82   /* after AML_EXT */
#define AML_SYSTEM_IO 0x01
/* FieldFlags: AccessType ByteAcc (1), LockRule NoLock (0 << 4),
 * UpdateRule WriteAsZeros (2 << 5). */
#define AML_FIELD_BYTE_NOLOCK_ZEROS 0x41
#define AML_ROOT '\\'
/* PkgLength is reserved at its longest (4 bytes), then shrunk. */
#define AML_PKGLEN_MAX 4

void aml_init(struct aml *a, void *buf, size_t cap)
{
    a->buf = buf;
    a->cap = cap;
    a->len = 0;
    a->overflow = false;
}

int aml_finish(const struct aml *a)
{
    if (a->overflow || a->len > (size_t)__INT_MAX__)
        return -ENOSPC;
    return (int)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
    while (n--) {
        aml_byte(a, (uint8_t)v);
        v >>= 8;
    }
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0) {
        aml_byte(a, AML_ZERO);
    } else if (v == 1) {
        aml_byte(a, AML_ONE);
    } else if (v <= 0xff) {
        aml_byte(a, AML_BYTE);
        aml_le(a, v, 1);
    } else if (v <= 0xffff) {
        aml_byte(a, AML_WORD);
        aml_le(a, v, 2);
    } else if (v <= 0xffffffffULL) {
        aml_byte(a, AML_DWORD);
        aml_le(a, v, 4);
    } else {
        aml_byte(a, AML_QWORD);
        aml_le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING);
    aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
    /*
     * Three letters of 5 bits each ('A' = 1), then four hex nibbles,
     * stored big-endian within a little-endian DWORD.
     */
    uint32_t l = (uint32_t)(id[0] - '@') << 10 | (uint32_t)(id[1] - '@') << 5 |
                 (uint32_t)(id[2] - '@');
    uint32_t hex = 0;
    unsigned i;

    for (i = 3; i < 7; i++) {
        char c = id[i];

        hex = hex << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    aml_byte(a, AML_DWORD);
    aml_byte(a, (uint8_t)(l >> 8));
    aml_byte(a, (uint8_t)l);
    aml_byte(a, (uint8_t)(hex >> 8));
    aml_byte(a, (uint8_t)hex);
}

void aml_namestring(struct aml *a, const char *name)
{
    if (name[0] == AML_ROOT) {
        aml_byte(a, AML_ROOT);
        name++;
    }
    /* Callers pass whole 4-character NameSegs ("_SB_", "VR00"). */
    aml_bytes(a, name, 4);
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
}

static size_t aml_pkg_begin(struct aml *a)
{
    size_t mark = a->len;
    static const uint8_t hole[AML_PKGLEN_MAX];

    aml_bytes(a, hole, sizeof(hole));
    return mark;
}

void aml_end(struct aml *a, size_t mark)
{
    size_t body, total;
    unsigned n, i;

    if (a->overflow)
        return;
    body = a->len - mark - AML_PKGLEN_MAX;
    /*
     * PkgLength counts itself: 1 byte up to 63, else 2-4 bytes with the
     * low nibble in the lead byte and 8 more bits per follow byte.
     */
    for (n = 1; n <= AML_PKGLEN_MAX; n++) {
        total = body + n;
        if (n == 1 ? total < 0x40 : total < 1ULL << (4 + 8 * (n - 1)))
            break;
    }
    if (n > AML_PKGLEN_MAX) {
        a->overflow = true;
        return;
    }
    memmove(a->buf + mark + n, a->buf + mark + AML_PKGLEN_MAX, body);
    if (n == 1) {
        a->buf[mark] = (uint8_t)total;
    } else {
        a->buf[mark] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (i = 1; i < n; i++)
            a->buf[mark + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    a->len -= AML_PKGLEN_MAX - n;
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
    size_t mark;

    aml_byte(a, AML_SCOPE);
    mark = aml_pkg_begin(a);
    aml_namestring(a, name);
    return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
    size_t mark;

    aml_byte(a, AML_EXT);
    aml_byte(a, AML_DEVICE);
    mark = aml_pkg_begin(a);
    aml_namestring(a, name);
    return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nelems)
{
    size_t mark;

    aml_byte(a, AML_PACKAGE);
    mark = aml_pkg_begin(a);
    aml_byte(a, nelems);
    return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs,
                        bool serialized)
{
    size_t mark;

    aml_byte(a, AML_METHOD);
    mark = aml_pkg_begin(a);
    aml_namestring(a, name);
    /* MethodFlags: ArgCount in bits 0-2, SerializeFlag bit 3. */
    aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
    return mark;
}

size_t aml_if_begin(struct aml *a)
{
    aml_byte(a, AML_IF);
    return aml_pkg_begin(a);
}

void aml_opregion_io(struct aml *a, const char *name, uint16_t port,
                     uint8_t len)
{
    aml_byte(a, AML_EXT);
    aml_byte(a, AML_OPREGION);
    aml_namestring(a, name);
    aml_byte(a, AML_SYSTEM_IO);
    aml_integer(a, port);
    aml_integer(a, len);
}

void aml_field_byte(struct aml *a, const char *region, const char *name,
                    unsigned bits)
{
    size_t mark;

    if (bits < 1 || bits > 63) { /* a one-byte PkgLength holds 0..63 */
        a->overflow = true;
        return;
    }
    aml_byte(a, AML_EXT);
    aml_byte(a, AML_FIELD);
    mark = aml_pkg_begin(a);
    aml_namestring(a, region);
    aml_byte(a, AML_FIELD_BYTE_NOLOCK_ZEROS);
    /* NamedField: NameSeg, then its width in bits as a PkgLength. */
    aml_namestring(a, name);
    aml_byte(a, (uint8_t)bits);
    aml_end(a, mark);
}

void aml_store(struct aml *a)
{
    aml_byte(a, AML_STORE);
}

void aml_and(struct aml *a)
{
    aml_byte(a, AML_AND);
}

void aml_notify(struct aml *a)
{
    aml_byte(a, AML_NOTIFY);
}

void aml_local(struct aml *a, unsigned n)
{
    aml_byte(a, (uint8_t)(AML_LOCAL0 + (n & 7)));
}

void aml_no_target(struct aml *a)
{
    aml_byte(a, 0x00); /* NullName */
}

void aml_res_init(struct aml_res *r)
{
    r->n = 0;
    r->overflow = false;
}

static void aml_res_put(struct aml_res *r, const uint8_t *p, size_t n)
{
    if (r->overflow || n > sizeof(r->b) - r->n) {
        r->overflow = true;
        return;
    }
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

void aml_res_io(struct aml_res *r, uint16_t port, uint8_t len)
{
    /* Small item 0x08 (I/O), 7 bytes: decode16, min, max, align, len. */
    uint8_t d[8] = { 0x47, 0x01, (uint8_t)port, (uint8_t)(port >> 8),
                     (uint8_t)port, (uint8_t)(port >> 8), 0x01, len };

    aml_res_put(r, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml_res *r, unsigned irq)
{
    /* Small item 0x04 (IRQ), 2 bytes: the mask; ISA edge/high implied. */
    uint16_t mask = (uint16_t)(1u << (irq & 15));
    uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

    aml_res_put(r, d, sizeof(d));
}

void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t size)
{
    /* Large item 0x06, 9 bytes: read-write flag, base, length. */
    uint8_t d[12] = { 0x86, 9, 0, 0x01 };
    unsigned i;

    for (i = 0; i < 4; i++) {
        d[4 + i] = (uint8_t)(base >> (8 * i));
        d[8 + i] = (uint8_t)(size >> (8 * i));
    }
    aml_res_put(r, d, sizeof(d));
}

void aml_res_interrupt(struct aml_res *r, uint32_t gsi, bool edge,
                       bool active_low)
{
    /*
     * Large item 0x09 (extended interrupt), 6 bytes: flags (bit 0
     * consumer, 1 edge, 2 active-low; exclusive), count 1, the GSI.
     */
    uint8_t d[9] = { 0x89, 6, 0,
                     (uint8_t)(0x01 | (edge ? 0x02 : 0) |
                               (active_low ? 0x04 : 0)),
                     1 };
    unsigned i;

    for (i = 0; i < 4; i++)
        d[5 + i] = (uint8_t)(gsi >> (8 * i));
    aml_res_put(r, d, sizeof(d));
}

void aml_res_end(struct aml *a, struct aml_res *r)
{
    /* End tag with checksum 0, which means "not checksummed". */
    static const uint8_t end[2] = { 0x79, 0x00 };
    size_t mark;

    aml_res_put(r, end, sizeof(end));
    if (r->overflow) {
        a->overflow = true;
        return;
    }
    aml_byte(a, AML_BUFFER);
    mark = aml_pkg_begin(a);
    aml_integer(a, r->n);
    aml_bytes(a, r->b, r->n);
    aml_end(a, mark);
}
