/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-net's queue processing (virtio/net.c, net_rx.c,
 * net_tx.c, net_ctrl.c, hw/tap.c) behind the real transport, on
 * SOCK_SEQPACKET socketpairs standing in for the tap as in the unit
 * tests: RX frames of any size and content injected from the input
 * (mergeable buffers, frames that wait for buffers), TX chains with any
 * virtio-net header, control-queue commands, one or two queue pairs,
 * offloads on or off, any MTU.
 *
 * Input: a shape byte (legacy, pairs, offload), the caps the stand-in
 * claims, an MTU, then the driver script of tests/fuzz/fz.h after a
 * valid handshake. OP_BACKEND: a frame from the host side.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/fz.h"
#include "virtio/net.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

struct net_fx {
    int peer[VNET_MAX_PAIRS];
    unsigned pairs;
};

static void net_backend(void *ctx, struct fz_in *in)
{
    static uint8_t frame[65536];
    struct net_fx *fx = ctx;
    uint8_t sel = fz_u8(in);
    size_t len;
    if (sel & 0x80) {
        /* A big frame: a length, and input bytes repeated to fill it. */
        len = fz_u16(in);
        size_t k = fz_bytes(in, frame, 64);
        for (size_t i = k; k && i < len; i++)
            frame[i] = frame[i % k];
        if (!k)
            memset(frame, 0, len);
    } else {
        len = fz_bytes(in, frame, 255);
    }
    if (send(fx->peer[sel % fx->pairs], frame, len, MSG_DONTWAIT) < 0)
        len = 0; /* a full socket drops it, as a tap would */
}

/* The host side reads whatever the device sent, so TX never waits for
 * room (a full stand-in costs the device a 100 ms wait per frame). */
static void net_settle(void *ctx, struct vmmio *m, unsigned qi, int fd)
{
    static uint8_t sink[65536 + 64];
    struct net_fx *fx = ctx;
    (void)m;
    (void)qi;
    (void)fd;
    for (unsigned p = 0; p < fx->pairs; p++)
        for (int i = 0; i < 1024; i++)
            if (recv(fx->peer[p], sink, sizeof(sink), MSG_DONTWAIT) < 0)
                break;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in), caps = fz_u8(&in);
    uint16_t mtu = fz_u16(&in);
    struct net_fx fx = {.pairs = 1 + (shape >> 1) % 2};
    int dev[VNET_MAX_PAIRS], sv[2];
    for (unsigned p = 0; p < fx.pairs; p++) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            abort();
        dev[p] = sv[0];
        fx.peer[p] = sv[1];
    }
    struct tap t;
    struct vnet *n;
    char err[256] = "";
    if (tap_from_fds(&t, dev, fx.pairs, caps & 0x7f, err, sizeof(err)))
        abort();
    struct vnet_config c = {
        .queues = fx.pairs, .mtu = mtu % 9300, .offload = shape & 8};
    if (vnet_create_tap(&n, &c, &t, "fuzz", 0, err, sizeof(err))) {
        FZ_ASSERT(err[0], "vnet_create_tap failed without a reason");
        for (unsigned p = 0; p < fx.pairs; p++)
            close(fx.peer[p]);
        return 0;
    }
    struct fz_dev_hooks h = {
        .backend = net_backend, .settle = net_settle, .ctx = &fx};
    fz_virtio_run(vnet_ops(n), n, shape & 1, true, &h, &in);
    vnet_destroy(n);
    for (unsigned p = 0; p < fx.pairs; p++)
        close(fx.peer[p]);
    return 0;
}
