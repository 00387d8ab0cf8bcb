/* SPDX-License-Identifier: MIT */
/* Renders the MP Specification 1.4 floating pointer and config table. */
#include <errno.h>
#include <string.h>

#include "arch/x86/mptable.h"

/*
 * On-guest layouts from the MP Specification 1.4, chapter 4. kvmini
 * runs only on x86 KVM, so the host is little-endian like the guest and
 * packed structs give the exact byte layout.
 */
struct mpf {
    char sig[4]; /* "_MP_" */
    uint32_t config;
    uint8_t length; /* in 16-byte units */
    uint8_t spec_rev;
    uint8_t checksum;
    uint8_t feature[5]; /* [1] bit 7 IMCRP: 0 = virtual wire mode */
} __attribute__((packed));

struct mpc_header {
    char sig[4]; /* "PCMP" */
    uint16_t length;
    uint8_t spec_rev;
    uint8_t checksum;
    char oem[8];
    char product[12];
    uint32_t oem_ptr;
    uint16_t oem_size;
    uint16_t count;
    uint32_t lapic;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
    uint8_t type; /* 0 */
    uint8_t apic_id;
    uint8_t apic_ver;
    uint8_t flags; /* bit 0 enabled, bit 1 bootstrap processor */
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
    uint8_t type; /* 1 */
    uint8_t id;
    char name[6];
} __attribute__((packed));

struct mpc_ioapic {
    uint8_t type; /* 2 */
    uint8_t id;
    uint8_t ver;
    uint8_t flags; /* bit 0 enabled */
    uint32_t addr;
} __attribute__((packed));

struct mpc_intsrc { /* type 3 (I/O interrupt) and 4 (local interrupt) */
    uint8_t type;
    uint8_t irqtype; /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
    uint16_t flags;  /* bits 0-1 polarity, 2-3 trigger; 0 = bus default */
    uint8_t src_bus;
    uint8_t src_irq;
    uint8_t dst_apic; /* IOAPIC id, or 0xff: every local APIC */
    uint8_t dst_pin;  /* IOAPIC INTIN# or LINTIN# */
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mpc_header) == 44, "MP config header");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");
_Static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP IOAPIC entry");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry");

#define MP_ENT_CPU 0
#define MP_ENT_BUS 1
#define MP_ENT_IOAPIC 2
#define MP_ENT_IOINT 3
#define MP_ENT_LINT 4
#define MP_IRQ_INT 0
#define MP_IRQ_NMI 1
#define MP_IRQ_EXTINT 3
#define MP_CPU_EN 0x01
#define MP_CPU_BP 0x02
/* Explicit edge + active-high: polarity 01, trigger 01. */
#define MP_FLAGS_EDGE_HIGH 0x0005
#define MP_ISA_BUS 0
/* Family 6 signature; CPUID.1 EDX bits FPU (0) and APIC (9). */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES 0x201

/* IOAPIC pins that get an I/O interrupt entry: ISA 0-15 + virtio GSIs. */
static uint32_t mptable_pins(const struct machine *m)
{
    uint32_t pins = (1u << MPTABLE_ISA_IRQS) - 1;
    unsigned i;

    for (i = 0; i < m->nvirtio; i++)
        if (m->virtio[i].gsi < MACHINE_IOAPIC_PINS)
            pins |= 1u << m->virtio[i].gsi;
    return pins;
}

static bool mptable_is_virtio_gsi(const struct machine *m, unsigned pin)
{
    unsigned i;

    for (i = 0; i < m->nvirtio; i++)
        if (m->virtio[i].gsi == pin)
            return true;
    return false;
}

size_t mptable_size(const struct machine *m)
{
    return sizeof(struct mpf) + sizeof(struct mpc_header) +
           m->ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
           sizeof(struct mpc_ioapic) +
           (size_t)__builtin_popcount(mptable_pins(m)) *
               sizeof(struct mpc_intsrc) +
           2 * sizeof(struct mpc_intsrc);
}

static void mptable_put(uint8_t **p, const void *ent, size_t len)
{
    memcpy(*p, ent, len);
    *p += len;
}

static unsigned mptable_put_cpus(const struct machine *m, uint8_t **p)
{
    unsigned i;

    for (i = 0; i < m->ncpus; i++) {
        struct mpc_cpu c = {
            .type = MP_ENT_CPU,
            .apic_id = (uint8_t)i,
            .apic_ver = MPTABLE_LAPIC_VERSION,
            .flags = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0),
            .signature = MP_CPU_SIGNATURE,
            .features = MP_CPU_FEATURES,
        };
        mptable_put(p, &c, sizeof(c));
    }
    return m->ncpus;
}

static unsigned mptable_put_bus_ioapic(const struct machine *m, uint8_t **p)
{
    struct mpc_bus bus = { .type = MP_ENT_BUS, .id = MP_ISA_BUS };
    struct mpc_ioapic io = {
        .type = MP_ENT_IOAPIC,
        .id = (uint8_t)m->ncpus, /* right after the last APIC id */
        .ver = MPTABLE_IOAPIC_VERSION,
        .flags = 1,
        .addr = (uint32_t)LAYOUT_IOAPIC,
    };

    memcpy(bus.name, "ISA   ", 6);
    mptable_put(p, &bus, sizeof(bus));
    mptable_put(p, &io, sizeof(io));
    return 2;
}

static unsigned mptable_put_irqs(const struct machine *m, uint8_t **p)
{
    uint32_t pins = mptable_pins(m);
    unsigned pin, n = 0;

    for (pin = 0; pin < MACHINE_IOAPIC_PINS; pin++) {
        struct mpc_intsrc e = {
            .type = MP_ENT_IOINT,
            .irqtype = MP_IRQ_INT,
            .src_bus = MP_ISA_BUS,
            .src_irq = (uint8_t)pin,
            .dst_apic = (uint8_t)m->ncpus, /* the IOAPIC's id */
            .dst_pin = (uint8_t)pin,
        };
        if (!(pins & (1u << pin)))
            continue;
        /*
         * ISA lines keep the bus default (edge, active high). Virtio
         * lines say so explicitly because pins 16+ are not ISA lines
         * and kvmini pulses them through irqfd.
         */
        if (mptable_is_virtio_gsi(m, pin))
            e.flags = MP_FLAGS_EDGE_HIGH;
        mptable_put(p, &e, sizeof(e));
        n++;
    }
    return n;
}

static unsigned mptable_put_lints(uint8_t **p)
{
    /* The 8259 reaches LINT0 as ExtINT, NMI goes to LINT1 (all CPUs). */
    struct mpc_intsrc l[2] = {
        { .type = MP_ENT_LINT, .irqtype = MP_IRQ_EXTINT,
          .src_bus = MP_ISA_BUS, .dst_apic = 0xff, .dst_pin = 0 },
        { .type = MP_ENT_LINT, .irqtype = MP_IRQ_NMI,
          .src_bus = MP_ISA_BUS, .dst_apic = 0xff, .dst_pin = 1 },
    };
    mptable_put(p, l, sizeof(l));
    return 2;
}

int mptable_render(const struct machine *m, uint64_t gpa, void *buf,
                   size_t cap)
{
    struct mpf *mpf = buf;
    struct mpc_header *h;
    uint8_t *p = buf;
    unsigned count = 0;
    size_t len;
    int r;

    r = machine_check(m);
    if (r < 0)
        return r;
    len = mptable_size(m);
    /* The table and its 32-bit pointer must both stay below 4 GiB. */
    if (gpa + len > 0xffffffffULL || gpa + len < gpa)
        return -EINVAL;
    if (cap < len)
        return -ENOSPC;
    memset(buf, 0, len);

    memcpy(mpf->sig, "_MP_", 4);
    mpf->config = (uint32_t)(gpa + sizeof(*mpf));
    mpf->length = 1;
    mpf->spec_rev = 4;
    p += sizeof(*mpf);

    h = (struct mpc_header *)p;
    memcpy(h->sig, "PCMP", 4);
    h->spec_rev = 4;
    memcpy(h->oem, "KVMINI  ", 8);
    memcpy(h->product, "KVMINI-X86  ", 12);
    h->lapic = (uint32_t)LAYOUT_LAPIC;
    p += sizeof(*h);

    count += mptable_put_cpus(m, &p);
    count += mptable_put_bus_ioapic(m, &p);
    count += mptable_put_irqs(m, &p);
    count += mptable_put_lints(&p);

    h->length = (uint16_t)(p - (uint8_t *)h);
    h->count = (uint16_t)count;
    h->checksum = machine_csum8(h, h->length);
    mpf->checksum = machine_csum8(mpf, sizeof(*mpf));
    return (int)(p - (uint8_t *)buf);
}
