/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the single-port virtio-console's queue processing
 * (virtio/serial*.c made by vser_create_console)
 * behind the real transport, on a stdio chardev (hw/chardev*.c) over
 * pipes, pumped on the fuzzer's thread (chardev_pump: no backend
 * thread): RX chains filled from host input the script types (and may
 * end), TX chains written to a host reader (a 4 KiB pipe) that reads
 * only when the script says, or is gone (EPIPE), another frontend
 * writing to the same chardev, so TX chains wait for room (the
 * chardev's bounded buffers full both ways), resizes, arbitrary rings.
 *
 * Input: one byte of shape (legacy, output kind), then the driver
 * script of tests/fuzz/fz.h after a valid handshake. OP_BACKEND: host
 * input bytes, a resize, end of input, the host reading, the other
 * frontend writing, or a round of the chardev.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "tests/fuzz/fz.h"
#include "virtio/serial.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cons_fx {
    struct vser *c;
    struct chardev *cd;
    int in_w;  /* the host side of the console's input; -1 once closed */
    int out_r; /* the host reader of its output; -1: gone */
};

/* What the backend thread would do by now: move bytes both ways until
 * nothing moves (bounded). */
static void cons_pump(struct cons_fx *fx)
{
    for (int i = 0; i < 64 && chardev_pump(fx->cd) > 0; i++)
        ;
}

static void cons_read_host(struct cons_fx *fx)
{
    static uint8_t sink[65536];
    while (fx->out_r >= 0 && read(fx->out_r, sink, sizeof(sink)) > 0)
        ;
}

static void cons_backend(void *ctx, struct fz_in *in)
{
    struct cons_fx *fx = ctx;
    uint8_t what = fz_u8(in);
    if (what < 0xa0) {
        uint8_t buf[256];
        size_t k = fz_bytes(in, buf, sizeof(buf));
        /* Nonblocking: a full pipe keeps the rest, as a terminal would. */
        if (fx->in_w >= 0 && k && write(fx->in_w, buf, k) < 0)
            k = 0;
    } else if (what < 0xc0) {
        vser_resize(fx->c, fz_u16(in), fz_u16(in));
    } else if (what < 0xd0) {
        if (fx->in_w >= 0)
            close(fx->in_w);
        fx->in_w = -1;
    } else if (what < 0xe0) {
        cons_read_host(fx);
    } else if (what < 0xf0) {
        static uint8_t other[8192];
        size_t n = fz_u16(in) % sizeof(other);
        memset(other, what, n);
        chardev_write(fx->cd, other, n); /* the 8250 shares stdout */
    }
    cons_pump(fx);
}

/* After a round of the device: the chardev's turn, then the device's
 * again if the chardev woke it (poll_fd readable), as its worker would. */
static void cons_settle(void *ctx, struct vmmio *m, unsigned qi, int fd)
{
    struct cons_fx *fx = ctx;
    for (int i = 0; i < 16; i++) {
        cons_pump(fx);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (fd < 0 || poll(&p, 1, 0) <= 0)
            break;
        if (vmmio_serve(m, qi, &fd) < 0)
            break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    int inp[2], outp[2];
    if (pipe2(inp, O_CLOEXEC | O_NONBLOCK) ||
        pipe2(outp, O_CLOEXEC | O_NONBLOCK))
        abort();
    struct cons_fx fx = {.in_w = inp[1], .out_r = outp[0]};
    fcntl(outp[1], F_SETPIPE_SZ, 4096); /* a host that fills up early */
    if (shape & 2) {
        close(outp[0]); /* the reader is gone: EPIPE */
        fx.out_r = -1;
    }
    struct chardev_stdio_config cc = {
        .in_fd = inp[0], .out_fd = outp[1], .pump = true};
    if (chardev_stdio_open(&fx.cd, &cc) ||
        vser_create_console(&fx.c, fx.cd, 80, 25))
        abort();
    struct fz_dev_hooks h = {
        .backend = cons_backend, .settle = cons_settle, .ctx = &fx};
    fz_virtio_run(vser_ops(fx.c), fx.c, shape & 1, true, &h, &in);
    vser_destroy(fx.c);
    chardev_close(fx.cd);
    close(inp[0]);
    close(outp[1]);
    if (fx.in_w >= 0)
        close(fx.in_w);
    if (fx.out_r >= 0)
        close(fx.out_r);
    return 0;
}
