/* SPDX-License-Identifier: MIT */
/* kvmini's virtio-serial device behind the guest's MMIO accessors. */
#include "guest/host/vser_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/gmem.h"
#include "hw/irq.h"
#include "virtio/mmio.h"
#include "virtio/serial.h"

static struct {
    struct gmem mem;
    struct irq_line irq;
    _Atomic uint64_t irqs;
    struct vser *s;
    struct vmmio *m;
    struct chardev *cd[VB_PORTS];
    int in[VB_PORTS][2], out[VB_PORTS][2];
} vb;

static int vb_trigger(struct irq_line *l)
{
    (void)l;
    vb.irqs++;
    return 0;
}

static int port_up(unsigned id)
{
    struct chardev_stdio_config cfg = {0};
    if (pipe2(vb.in[id], O_CLOEXEC) || pipe2(vb.out[id], O_CLOEXEC))
        return -errno;
    /* The test's ends never block it. */
    fcntl(vb.in[id][1], F_SETFL, O_NONBLOCK);
    fcntl(vb.out[id][0], F_SETFL, O_NONBLOCK);
    cfg.in_fd = vb.in[id][0];
    cfg.out_fd = vb.out[id][1];
    return chardev_stdio_open(&vb.cd[id], &cfg);
}

int vb_create(uint64_t ram, uint64_t len, const char *const *names, unsigned n,
              bool console)
{
    int r;
    for (unsigned i = 0; i < VB_PORTS; i++)
        vb.in[i][0] = vb.in[i][1] = vb.out[i][0] = vb.out[i][1] = -1;
    vb.irq.trigger = vb_trigger;
    if (n + 1 > VB_PORTS || (r = gmem_add(&vb.mem, ram, len, (void *)ram)) ||
        (r = vser_create(&vb.s, n + 1)))
        return n + 1 > VB_PORTS ? -EINVAL : r;
    for (unsigned id = console ? 0 : 1; id <= n; id++)
        if ((r = port_up(id)) ||
            (r = vser_add_port(vb.s, id, id ? names[id - 1] : NULL, vb.cd[id],
                               id == 0)))
            return r;
    return vmmio_create(&vb.m, vser_ops(vb.s), vb.s, &vb.mem, &vb.irq, false);
}

int vb_in(unsigned id)
{
    return vb.in[id][1];
}

int vb_out(unsigned id)
{
    return vb.out[id][0];
}

uint64_t vb_irqs(void)
{
    return vb.irqs;
}

void vb_destroy(void)
{
    vmmio_destroy(vb.m);
    vser_destroy(vb.s);
    for (unsigned i = 0; i < VB_PORTS; i++) {
        if (vb.cd[i])
            chardev_close(vb.cd[i]);
        for (int k = 0; k < 2; k++) {
            if (vb.in[i][k] >= 0)
                close(vb.in[i][k]);
            if (vb.out[i][k] >= 0)
                close(vb.out[i][k]);
        }
    }
}

/* The guest's MMIO accessors (guest/io.h with TG_HOST_IO). */
uint8_t mmio_read8(uint64_t addr)
{
    uint8_t v = 0xff;
    vmmio_access(vb.m, addr - VB_BASE, &v, 1, false);
    return v;
}

uint16_t mmio_read16(uint64_t addr)
{
    uint16_t v = 0xffff;
    vmmio_access(vb.m, addr - VB_BASE, &v, 2, false);
    return v;
}

uint32_t mmio_read32(uint64_t addr)
{
    uint32_t v = 0xffffffff;
    vmmio_access(vb.m, addr - VB_BASE, &v, 4, false);
    return v;
}

void mmio_write32(uint64_t addr, uint32_t v)
{
    vmmio_access(vb.m, addr - VB_BASE, &v, 4, true);
}
