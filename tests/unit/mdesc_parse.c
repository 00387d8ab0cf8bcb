/* SPDX-License-Identifier: MIT */
/* Test-side readers of the machine description renderings. */
#include <stdio.h>
#include <string.h>

#include "tests/unit/mdesc_parse.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("# mdv: ");                                                     \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        return -1;                                                             \
    } while (0)

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint8_t mdv_sum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (len--)
        s += *b++;
    return s;
}

static int mdv_mp_entry(const uint8_t *e, struct mdesc_view *v)
{
    unsigned pin;

    switch (e[0]) {
    case 0: /* processor */
        if (!(e[3] & 1))
            return 0;
        if (v->ncpus >= MDV_MAX_CPUS)
            FAIL("too many CPUs");
        if (e[3] & 2) {
            if (v->bsp_apic >= 0)
                FAIL("two BSPs");
            v->bsp_apic = e[1];
        }
        v->apic_id[v->ncpus++] = e[1];
        return 0;
    case 1: /* bus */
        if (memcmp(e + 2, "ISA   ", 6) != 0 || e[1] != 0)
            FAIL("unexpected bus %d '%.6s'", e[1], (const char *)e + 2);
        return 0;
    case 2: /* ioapic */
        if (!(e[3] & 1))
            FAIL("IOAPIC disabled");
        if (v->ioapic_addr)
            FAIL("two IOAPICs");
        v->ioapic_id = e[1];
        v->ioapic_addr = le32(e + 4);
        return 0;
    case 3: /* I/O interrupt */
        pin = e[7];
        if (e[1] != 0 || e[4] != 0 || e[6] != v->ioapic_id ||
            pin >= MDV_MAX_PINS || e[5] != pin)
            FAIL("odd I/O interrupt entry: type %d bus %d irq %d apic %d "
                 "pin %d", e[1], e[4], e[5], e[6], e[7]);
        if (v->pins & (1u << pin))
            FAIL("pin %u routed twice", pin);
        v->pins |= 1u << pin;
        /* flags 0 on the ISA bus also mean edge + active high */
        if (le16(e + 2) == 0x5 || le16(e + 2) == 0)
            v->pins_edge_high |= 1u << pin;
        return 0;
    case 4: /* local interrupt */
        if (e[6] != 0xff)
            FAIL("local interrupt for one APIC only");
        if (e[1] == 3 && e[7] == 0)
            v->lint_extint0 = true;
        else if (e[1] == 1 && e[7] == 1)
            v->lint_nmi1 = true;
        else
            FAIL("odd local interrupt type %d lint %d", e[1], e[7]);
        return 0;
    }
    FAIL("unknown MP entry type %d", e[0]);
}

int mdv_parse_mptable(const void *buf, size_t len, uint64_t gpa,
                      struct mdesc_view *v)
{
    const uint8_t *b = buf, *h, *e;
    uint32_t cfg;
    unsigned i, count, tlen, last_type = 0;

    memset(v, 0, sizeof(*v));
    v->bsp_apic = -1;
    if (len < 16 || memcmp(b, "_MP_", 4) != 0)
        FAIL("no _MP_ at start");
    if (b[8] != 1 || b[9] != 4 || mdv_sum8(b, 16) != 0)
        FAIL("floating pointer: length %d rev %d sum %d", b[8], b[9],
             mdv_sum8(b, 16));
    if (b[11] != 0)
        FAIL("default configuration %d instead of a table", b[11]);
    cfg = le32(b + 4);
    if (cfg < gpa || cfg - gpa + 44 > len)
        FAIL("config pointer 0x%x outside buffer", cfg);
    h = b + (cfg - gpa);
    tlen = le16(h + 4);
    if (memcmp(h, "PCMP", 4) != 0 || h[6] != 4 || cfg - gpa + tlen > len)
        FAIL("bad PCMP header");
    if (mdv_sum8(h, tlen) != 0)
        FAIL("PCMP checksum sum %d", mdv_sum8(h, tlen));
    v->lapic_addr = le32(h + 36);
    count = le16(h + 34);
    e = h + 44;
    for (i = 0; i < count; i++) {
        unsigned elen = e[0] == 0 ? 20 : 8;

        if (e + elen > h + tlen)
            FAIL("entry %u runs past the table", i);
        if (e[0] < last_type)
            FAIL("entries not sorted by type");
        last_type = e[0];
        if (mdv_mp_entry(e, v) < 0)
            return -1;
        e += elen;
    }
    if (e != h + tlen)
        FAIL("%td bytes after the last entry", h + tlen - e);
    return 0;
}
