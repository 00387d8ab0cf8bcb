/* SPDX-License-Identifier: MIT */
/*
 * The seam between Linux's virtio_ring.c (driven by glue.c, which sees
 * only Linux's tools/virtio headers) and kvmini's devices (host.c, which
 * sees only kvmini headers). Plain C types only, since the two sides'
 * headers define the same ring structs and cannot meet in one file.
 */
#ifndef KVMINI_TESTS_LR_H
#define KVMINI_TESTS_LR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host side (host.c): the fake guest and the device under test. */
void *lr_alloc(size_t size, size_t align); /* fake guest RAM, never freed */
void lr_notify(unsigned qi);               /* QueueNotify via vmmio_access */
/* Program queue qi's registers (modern) or QueuePFN (legacy) and read
 * back that the device took it: 0 or -EIO. */
int lr_setup_queue(unsigned qi, unsigned num, uint64_t desc, uint64_t avail,
                   uint64_t used);
int lr_driver_ok(void); /* 0 or -EIO */
uint64_t lr_features(void);           /* negotiated feature bits */
uint64_t lr_irq_count(void);
int lr_irq_wait(uint64_t seen);       /* 0 or -ETIMEDOUT */
uint32_t lr_isr_ack(void);            /* read InterruptStatus, ACK it */

/* Linux side (glue.c). Each returns 0 or a negative errno and, on
 * failure, a reason in why. */
struct lr_echo_case {
    unsigned nq;           /* queues of the echo device */
    unsigned num;          /* ring size */
    unsigned requests;     /* per queue */
    unsigned max_out;      /* readable sgs per request: 1..max_out */
};
int lr_echo(const struct lr_echo_case *c, char *why, size_t whylen);

/* virtio-console: receive in_len bytes (already waiting in the host
 * input pipe) into in_dst while sending out_len bytes through TX. */
int lr_console(uint8_t *in_dst, size_t in_len, const uint8_t *out_src,
               size_t out_len, char *why, size_t whylen);

/* virtio-blk, driven the way Linux's virtio_blk lays out requests:
 * header, data (one or two pieces), status. Each of nq queues writes
 * then reads back its own region of nblocks 4 KiB blocks, keeping up to
 * 16 requests in flight; then queue 0 flushes, gets the id, zeroes
 * block 3 and discards block 5 of its region, and checks that a read
 * past the end gets IOERR and an unknown type UNSUPP. */
struct lr_blk_case {
    unsigned nq, num, nblocks;
    uint64_t capacity;  /* sectors */
    const char *serial; /* what GET_ID must return */
};
int lr_blk(const struct lr_blk_case *c, char *why, size_t whylen);
/* The byte at offset i of block blk of queue q's region. */
uint8_t lr_blk_byte(unsigned q, unsigned blk, unsigned i);
#define LR_BLK 4096u

#endif
