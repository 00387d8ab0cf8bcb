/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the multiport virtio console (virtio/serial.c,
 * serial_ctrl.c) behind the real transport: the control queues (any
 * message, in any order, malformed ones included), up to four ports on
 * stdio chardevs over pipes pumped on the fuzzer's thread, port 0 a
 * console or a named port, a port left out, host input, hosts that read
 * only when told (4 KiB pipes), resizes, arbitrary rings.
 *
 * Input: a shape byte (legacy, ports, console, a gap), then the driver
 * script of tests/fuzz/fz.h after a valid handshake. OP_BACKEND: a port,
 * then typed bytes, the host reading, end of input, or a resize.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "tests/fuzz/fz.h"
#include "virtio/serial.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

#define NPORTS_MAX 4

struct vser_fx {
    struct vser *s;
    unsigned nports;
    struct chardev *cd[NPORTS_MAX];
    int in_r[NPORTS_MAX], in_w[NPORTS_MAX], out_r[NPORTS_MAX],
        out_w[NPORTS_MAX];
};

static void vser_pump(struct vser_fx *fx)
{
    for (unsigned p = 0; p < fx->nports; p++)
        for (int i = 0; fx->cd[p] && i < 64 && chardev_pump(fx->cd[p]) > 0; i++)
            ;
}

static void vser_backend(void *ctx, struct fz_in *in)
{
    static uint8_t sink[65536];
    struct vser_fx *fx = ctx;
    uint8_t sel = fz_u8(in);
    unsigned p = sel % fx->nports;
    uint8_t buf[256];
    switch ((sel >> 2) & 3) {
    case 0: {
        size_t k = fz_bytes(in, buf, sizeof(buf));
        if (fx->in_w[p] >= 0 && k && write(fx->in_w[p], buf, k) < 0)
            k = 0; /* a full pipe keeps the rest */
        break;
    }
    case 1:
        while (read(fx->out_r[p], sink, sizeof(sink)) > 0)
            ;
        break;
    case 2:
        if (fx->in_w[p] >= 0)
            close(fx->in_w[p]);
        fx->in_w[p] = -1;
        break;
    default:
        vser_resize(fx->s, fz_u16(in), fz_u16(in));
    }
    vser_pump(fx);
}

/* The chardevs' turn after a round, then the device's again if one of
 * them woke it, as its worker would be. */
static void vser_settle(void *ctx, struct vmmio *m, unsigned qi, int fd)
{
    struct vser_fx *fx = ctx;
    for (int i = 0; i < 16; i++) {
        vser_pump(fx);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (fd < 0 || poll(&p, 1, 0) <= 0)
            break;
        if (vmmio_serve(m, qi, &fd) < 0)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    struct vser_fx fx = {.nports = 1 + (shape >> 1) % NPORTS_MAX};
    bool console = shape & 8, gap = (shape & 16) && fx.nports > 2;
    if (vser_create(&fx.s, fx.nports))
        abort();
    for (unsigned p = 0; p < fx.nports; p++) {
        int a[2], b[2];
        fx.in_w[p] = fx.out_r[p] = -1;
        if (gap && p == 2)
            continue; /* a port the driver hears nothing about */
        if (pipe2(a, O_CLOEXEC | O_NONBLOCK) ||
            pipe2(b, O_CLOEXEC | O_NONBLOCK))
            abort();
        fcntl(b[1], F_SETPIPE_SZ, 4096);
        fx.in_r[p] = a[0];
        fx.in_w[p] = a[1];
        fx.out_r[p] = b[0];
        fx.out_w[p] = b[1];
        struct chardev_stdio_config cc = {
            .in_fd = a[0], .out_fd = b[1], .pump = true};
        char name[32];
        snprintf(name, sizeof(name), "org.kvmini.fuzz.%u", p);
        bool cons = console && p == 0;
        if (chardev_stdio_open(&fx.cd[p], &cc) ||
            vser_add_port(fx.s, p, cons ? NULL : name, fx.cd[p], cons))
            abort();
    }
    struct fz_dev_hooks h = {
        .backend = vser_backend, .settle = vser_settle, .ctx = &fx};
    fz_virtio_run(vser_ops(fx.s), fx.s, shape & 1, true, &h, &in);
    vser_destroy(fx.s);
    for (unsigned p = 0; p < fx.nports; p++) {
        if (!fx.cd[p])
            continue;
        chardev_close(fx.cd[p]);
        close(fx.in_r[p]);
        close(fx.out_r[p]);
        close(fx.out_w[p]);
        if (fx.in_w[p] >= 0)
            close(fx.in_w[p]);
    }
    return 0;
}
