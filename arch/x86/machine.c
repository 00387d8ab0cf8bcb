/* SPDX-License-Identifier: MIT */
/* Building and checking the machine description (see machine.h). */
#include <errno.h>
#include <string.h>

#include "arch/x86/machine.h"

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
            v->size == 0 || v->base + v->size < v->base ||
            v->base + v->size > LAYOUT_MMIO_HOLE_END)
            return -EINVAL;
    }
    return 0;
}
