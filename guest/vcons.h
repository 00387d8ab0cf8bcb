/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (device id 3) driver, single port: receiveq 0 and
 * transmitq 1, no features beyond VERSION_1. Received bytes are read
 * line by line; transmits wait until the device has used the buffer.
 */
#ifndef TG_VCONS_H
#define TG_VCONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/virtio.h"

#define VCONS_RX_BUFS 8
#define VCONS_RX_LEN 64
#define VCONS_TX_SEGS 4 /* transmitq entries: the longest chain we send */
#define VCONS_LINE_MAX 128

struct vcons {
    struct vq rx, tx; /* page-aligned rings first */
    struct vdev *dev; /* NULL until vcons_start() succeeded */
    char rxbuf[VCONS_RX_BUFS][VCONS_RX_LEN];
    int cur; /* rx buffer being consumed, -1: none */
    uint32_t cur_off, cur_len;
    /*
     * Idle-hlt mode (the tick, interrupt routed): the first transmit
     * halts for the device's interrupt before it looks at the ring, so
     * the run proves interrupts end the idle hlt whatever the timing
     * (a look that finds the entry never halts). hlt_irq: 0 not tried,
     * 1 the interrupt came, -1 it did not within the transmit timeout.
     */
    bool hlt_await;
    int hlt_irq;
};

struct tg;

/*
 * Drives d (a console found by devices.c): negotiation, both queues,
 * DRIVER_OK, all receive buffers posted; interrupts wake the idle loop
 * when vdev_irq_wake() can route them. 0, or -1 with *why set.
 */
int vcons_start(struct vcons *c, struct vdev *d, struct tg *tg,
                const char **why);
/*
 * Sends the bytes of n (<= VCONS_TX_SEGS) segments as one chain, straight
 * from the caller's memory (no copy: copying is slow in emulated ring 0),
 * and waits up to 5 s until the device returns it (the first send in
 * idle-hlt mode first halts for the interrupt: see hlt_await). 0, or -1
 * with *why.
 */
int vcons_sendv(struct vcons *c, struct tg *tg, const struct vq_seg *s,
                unsigned n, const char **why);
/* vcons_sendv() of one buffer. */
int vcons_send(struct vcons *c, struct tg *tg, const char *s, size_t n,
               const char **why);
/*
 * Reads one line (without its "\n" or "\r\n"; longer lines are cut at
 * max - 1 bytes, the rest dropped) into out, NUL-terminated. Waits up to
 * idle_us for each byte. Returns the length, or -1 with *why set.
 */
int vcons_read_line(struct vcons *c, struct tg *tg, char *out, size_t max,
                    uint64_t idle_us, const char **why);

/* The checks the cmdline asks for: vcons_hello and vcons_echo. */
void vcons_checks(struct tg *tg);
/* True if the command line asks for a console check (idle first). */
bool vcons_wanted(const struct tg *tg);

/* Shell: "vcons say TEXT" */
void vcons_cmd(struct tg *tg, const char *args, size_t len);

#endif
