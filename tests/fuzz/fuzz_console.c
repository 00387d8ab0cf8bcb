/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-console's queue processing (virtio/console.c)
 * behind the real transport: RX chains filled from a pipe the input
 * writes to (and may close), TX chains written to /dev/null or to a
 * pipe nobody reads (EPIPE), terminal resizes, arbitrary rings.
 *
 * Input: one byte of shape (legacy, output kind), then the driver
 * script of tests/fuzz/fz.h after a valid handshake. OP_BACKEND: host
 * input bytes, end of input, or a resize.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/fuzz/fz.h"
#include "virtio/console.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cons_fx {
    struct vcons *c;
    int in_w; /* the host side of the console's input; -1 once closed */
};

static void cons_backend(void *ctx, struct fz_in *in)
{
    struct cons_fx *fx = ctx;
    uint8_t what = fz_u8(in);
    if (what < 0xe0) {
        uint8_t buf[256];
        size_t k = fz_bytes(in, buf, sizeof(buf));
        /* Nonblocking: a full pipe drops the rest, as a fast typist's
         * terminal would hold it; the console never sees a short read. */
        if (fx->in_w >= 0 && k && write(fx->in_w, buf, k) < 0)
            k = 0;
    } else if (what < 0xf0) {
        vcons_resize(fx->c, fz_u16(in), fz_u16(in));
    } else if (fx->in_w >= 0) {
        close(fx->in_w);
        fx->in_w = -1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* as kvmini does: EPIPE, not death */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    uint8_t shape = fz_u8(&in);
    int inp[2], outp[2] = { -1, -1 }, out;
    if (pipe2(inp, O_CLOEXEC | O_NONBLOCK))
        abort();
    if (shape & 2) {
        if (pipe2(outp, O_CLOEXEC))
            abort();
        close(outp[0]); /* every write fails with EPIPE */
        out = outp[1];
    } else {
        out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    struct cons_fx fx = { .in_w = inp[1] };
    if (out < 0 || vcons_create(&fx.c, inp[0], out, 80, 25))
        abort();
    struct fz_dev_hooks h = { .backend = cons_backend, .ctx = &fx };
    fz_virtio_run(vcons_ops(), fx.c, shape & 1, true, &h, &in);
    vcons_destroy(fx.c);
    close(inp[0]);
    if (fx.in_w >= 0)
        close(fx.in_w);
    close(out);
    return 0;
}
