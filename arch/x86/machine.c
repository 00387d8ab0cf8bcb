/* SPDX-License-Identifier: MIT */
/* Building and checking the machine description (see machine.h). */
#include <errno.h>
#include <string.h>

#include "arch/x86/machine.h"
#include "hw/log.h"

int machine_init(struct machine *m, unsigned ncpus)
{
    memset(m, 0, sizeof(*m));
    if (ncpus < 1 || ncpus > MACHINE_CPUS_MAX)
        return -EINVAL;
    m->ncpus = ncpus;
    return 0;
}

int machine_add_e820(struct machine *m, uint64_t start, uint64_t size,
                     uint32_t type)
{
    if (size == 0 || start + size < start)
        return -EINVAL;
    if (m->ne820 >= MACHINE_E820_MAX)
        return -ENOSPC;
    m->e820[m->ne820].start = start;
    m->e820[m->ne820].size = size;
    m->e820[m->ne820].type = type;
    m->ne820++;
    return 0;
}

int machine_add_virtio(struct machine *m, uint32_t device_id)
{
    unsigned n = m->nvirtio;

    if (n >= LAYOUT_VIRTIO_MAX)
        return -ENOSPC;
    m->virtio[n].base = LAYOUT_VIRTIO_MMIO_BASE + n * LAYOUT_VIRTIO_MMIO_STRIDE;
    m->virtio[n].size = LAYOUT_VIRTIO_MMIO_SIZE;
    m->virtio[n].gsi = LAYOUT_VIRTIO_GSI_BASE + n;
    m->virtio[n].device_id = device_id;
    m->nvirtio++;
    return (int)n;
}

/* The power button takes the last pin, so the others stay one range. */
_Static_assert(LAYOUT_GED_GSI == MACHINE_IOAPIC_PINS - 1,
               "GED on the last pin");

/* Platform ranges inside the MMIO hole that no device window may use. */
static const struct {
    uint64_t start, end;
    const char *what;
} machine_fixed[] = {
    {LAYOUT_IOAPIC, LAYOUT_IOAPIC + 0x100000,
     "overlaps the IOAPIC's range 0xfec00000-0xfecfffff"},
    {LAYOUT_LAPIC, LAYOUT_LAPIC + 0x100000,
     "overlaps the local APIC's range 0xfee00000-0xfeefffff"},
    {LAYOUT_IDENTITY_MAP, LAYOUT_MMIO_HOLE_END,
     "overlaps KVM's identity-map and TSS pages (0xfffbc000 and up)"},
};

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Why an explicit window cannot be used on its own, or NULL. */
static const char *window_bad(uint64_t base, uint64_t size)
{
    if (base % LAYOUT_VIRTIO_MMIO_SIZE || size % LAYOUT_VIRTIO_MMIO_SIZE ||
        size < LAYOUT_VIRTIO_MMIO_SIZE || size > MACHINE_VIRTIO_WINDOW_MAX)
        return "must be 0x200-aligned and 0x200 to 0x100000 bytes, in "
               "multiples of 0x200";
    if (base < LAYOUT_MMIO_HOLE || base + size > LAYOUT_MMIO_HOLE_END)
        return "is outside the MMIO hole 0xc0000000-0xffffffff (guest RAM "
               "lies below and above it)";
    for (size_t i = 0; i < sizeof(machine_fixed) / sizeof(machine_fixed[0]);
         i++)
        if (overlaps(base, size, machine_fixed[i].start,
                     machine_fixed[i].end - machine_fixed[i].start))
            return machine_fixed[i].what;
    return NULL;
}

/* The explicit requests against each other and the fixed ranges. */
static int check_explicit(const struct machine *m,
                          const struct machine_virtio_req *req, unsigned n,
                          unsigned bad[2], char *err, size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        const struct machine_virtio_req *a = &req[i];
        bad[0] = bad[1] = i;
        if (a->base || a->size) {
            const char *why = window_bad(a->base, a->size);
            if (why)
                return errbuf_set(err, errlen, -EINVAL,
                                  "window 0x%llx+0x%llx %s",
                                  (unsigned long long)a->base,
                                  (unsigned long long)a->size, why);
        }
        /* A sentence of its own (-EINVAL): no other request to name. */
        if (a->gsi && m->power_button && a->gsi == LAYOUT_GED_GSI)
            return errbuf_set(err, errlen, -EINVAL,
                              "irq %u is the ACPI power button's (--no-acpi "
                              "frees it); use %u..%u",
                              a->gsi, LAYOUT_VIRTIO_GSI_BASE,
                              MACHINE_IOAPIC_PINS - 2);
        if (a->gsi &&
            (a->gsi < LAYOUT_VIRTIO_GSI_BASE || a->gsi >= MACHINE_IOAPIC_PINS))
            return errbuf_set(err, errlen, -EINVAL,
                              "irq %u is not one kvmini offers devices: use "
                              "%u..%u",
                              a->gsi, LAYOUT_VIRTIO_GSI_BASE,
                              MACHINE_IOAPIC_PINS - 1);
        for (unsigned j = 0; j < i; j++) {
            const struct machine_virtio_req *b = &req[j];
            bad[1] = j;
            if (a->size && b->size &&
                overlaps(a->base, a->size, b->base, b->size))
                return errbuf_set(
                    err, errlen, -EADDRINUSE,
                    "window 0x%llx+0x%llx overlaps the window "
                    "0x%llx+0x%llx of",
                    (unsigned long long)a->base, (unsigned long long)a->size,
                    (unsigned long long)b->base, (unsigned long long)b->size);
            if (a->gsi && a->gsi == b->gsi)
                return errbuf_set(err, errlen, -EBUSY,
                                  "irq %u is already taken by", a->gsi);
        }
    }
    return 0;
}

/* Is the window or the pin used by an explicit request or a placed one? */
static bool window_taken(const struct machine *m,
                         const struct machine_virtio_req *req, unsigned n,
                         uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < n; i++)
        if (req[i].size && overlaps(base, size, req[i].base, req[i].size))
            return true;
    for (unsigned i = 0; i < m->nvirtio; i++)
        if (overlaps(base, size, m->virtio[i].base, m->virtio[i].size))
            return true;
    return false;
}

static bool pin_taken(const struct machine *m,
                      const struct machine_virtio_req *req, unsigned n,
                      uint32_t gsi)
{
    if (m->power_button && gsi == LAYOUT_GED_GSI)
        return true;
    for (unsigned i = 0; i < n; i++)
        if (req[i].gsi == gsi)
            return true;
    for (unsigned i = 0; i < m->nvirtio; i++)
        if (m->virtio[i].gsi == gsi)
            return true;
    return false;
}

int machine_place_virtio(struct machine *m,
                         const struct machine_virtio_req *req, unsigned n,
                         unsigned bad[2], char *err, size_t errlen)
{
    unsigned start = m->nvirtio;
    bad[0] = bad[1] = 0;
    if (n > LAYOUT_VIRTIO_MAX - start)
        return errbuf_set(err, errlen, -ENOSPC,
                          "too many virtio devices; kvmini gives a VM at "
                          "most %u",
                          LAYOUT_VIRTIO_MAX);
    int r = check_explicit(m, req, n, bad, err, errlen);
    for (unsigned i = 0; i < n && r == 0; i++) {
        struct machine_virtio v = {.device_id = req[i].device_id,
                                   .base = req[i].base,
                                   .size = req[i].size,
                                   .gsi = req[i].gsi};
        bad[0] = bad[1] = i;
        for (uint64_t b = LAYOUT_VIRTIO_MMIO_BASE; !v.size;
             b += LAYOUT_VIRTIO_MMIO_STRIDE)
            if (!window_taken(m, req, n, b, LAYOUT_VIRTIO_MMIO_SIZE) &&
                !window_bad(b, LAYOUT_VIRTIO_MMIO_SIZE)) {
                v.base = b;
                v.size = LAYOUT_VIRTIO_MMIO_SIZE;
            }
        for (uint32_t g = LAYOUT_VIRTIO_GSI_BASE;
             !v.gsi && g < MACHINE_IOAPIC_PINS; g++)
            if (!pin_taken(m, req, n, g))
                v.gsi = g;
        if (!v.gsi)
            r = errbuf_set(err, errlen, -ENOSPC,
                           "no free interrupt pin is left for it");
        else
            m->virtio[m->nvirtio++] = v;
    }
    if (r < 0)
        m->nvirtio = start;
    return r;
}

int machine_check(const struct machine *m)
{
    unsigned i;

    if (m->ncpus < 1 || m->ncpus > MACHINE_CPUS_MAX)
        return -EINVAL;
    if (m->ne820 > MACHINE_E820_MAX || m->nvirtio > LAYOUT_VIRTIO_MAX)
        return -EINVAL;
    if (m->initrd_size && m->initrd_start + m->initrd_size < m->initrd_start)
        return -EINVAL;
    for (i = 0; i < m->nvirtio; i++) {
        const struct machine_virtio *v = &m->virtio[i];

        /* Below the base sit the timer, cascade and serial lines. The
         * DSDT names windows with 32-bit descriptors: a window must end
         * at or below 4 GiB, or ACPI and the DT would differ. */
        if (v->gsi < LAYOUT_VIRTIO_GSI_BASE || v->gsi >= MACHINE_IOAPIC_PINS ||
            (m->power_button && v->gsi == LAYOUT_GED_GSI) || v->size == 0 ||
            v->base + v->size < v->base ||
            v->base + v->size > LAYOUT_MMIO_HOLE_END)
            return -EINVAL;
    }
    return 0;
}
