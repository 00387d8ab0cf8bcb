/* SPDX-License-Identifier: MIT */
/* Appends virtio_mmio.device= entries to the kernel command line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/cmdline_devs.h"

int cmdline_devs_render(const struct machine *m, char *out, size_t cap)
{
    const char *base = m->cmdline ? m->cmdline : "";
    size_t len;
    unsigned i;
    int r;

    r = machine_check(m);
    if (r < 0)
        return r;
    if (cap > 0)
        out[0] = '\0';
    len = strlen(base);
    if (len >= cap)
        return -E2BIG;
    memcpy(out, base, len + 1);
    for (i = 0; i < m->nvirtio; i++) {
        const struct machine_virtio *v = &m->virtio[i];

        /*
         * Linux parses SIZE with memparse() and ADDR with
         * simple_strtoull(base 0), so 0x hex suits both; the IRQ is the
         * GSI, which x86 maps to the same Linux IRQ number.
         */
        r = snprintf(out + len, cap - len,
                     "%svirtio_mmio.device=0x%llx@0x%llx:%u",
                     len ? " " : "", (unsigned long long)v->size,
                     (unsigned long long)v->base, v->gsi);
        if (r < 0 || (size_t)r >= cap - len) {
            out[0] = '\0';
            return -E2BIG;
        }
        len += (size_t)r;
    }
    return len > (size_t)__INT_MAX__ ? -E2BIG : (int)len;
}
