/* SPDX-License-Identifier: MIT */
/* Bounds-checked access to guest RAM. */
#include "hw/gmem.h"

#include <errno.h>
#include <string.h>

int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *host)
{
    if (m->nr >= GMEM_MAX_REGIONS || size == 0 || gpa + size < gpa)
        return -EINVAL;
    for (unsigned i = 0; i < m->nr; i++) {
        const struct gmem_region *r = &m->r[i];
        if (gpa < r->gpa + r->size && r->gpa < gpa + size)
            return -EINVAL;
    }
    m->r[m->nr++] = (struct gmem_region){gpa, size, host};
    return 0;
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < m->nr; i++) {
        const struct gmem_region *r = &m->r[i];
        /* Written so that no addition can overflow. */
        if (gpa < r->gpa || gpa - r->gpa >= r->size)
            continue;
        uint64_t off = gpa - r->gpa;
        if (len > r->size - off)
            return NULL;
        return r->host + off;
    }
    return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
    const void *p = gmem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
    void *p = gmem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

uint64_t gmem_total(const struct gmem *m)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < m->nr; i++)
        t += m->r[i].size;
    return t;
}
