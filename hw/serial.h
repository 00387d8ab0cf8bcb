/* SPDX-License-Identifier: MIT */
/*
 * An 8250/16550A UART: the guest's serial console. Transmitted bytes go
 * straight to out_fd; received bytes come from the caller (the main
 * loop reading stdin) through serial_rx_push(), which accepts only what
 * the receive FIFO has room for, so no byte is ever dropped: the caller
 * stops reading its input while the FIFO is (nearly) full and waits on
 * rx_space_fd, which serial_rx_room() arms and which becomes readable
 * when the guest next reads a byte.
 *
 * Register access (serial_io) runs on vCPU threads; rx calls on the
 * main thread; a mutex orders them.
 */
#ifndef KVMINI_HW_SERIAL_H
#define KVMINI_HW_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/irq.h"

#define SERIAL_RX_FIFO 256 /* host-side depth; the guest can't tell */

struct serial {
    pthread_mutex_t lock;
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending; /* THR-empty interrupt not yet acknowledged */
    bool rx_waiting;   /* the reader waits on rx_space_fd */
    uint8_t rx[SERIAL_RX_FIFO];
    unsigned rx_head, rx_count;
    int irq_level;
    int out_fd;
    int rx_space_fd; /* eventfd: the guest read a byte while rx_waiting */
    struct irq_line *irq;
    uint64_t tx_bytes, rx_bytes;
};

int serial_init(struct serial *s, int out_fd, struct irq_line *irq);
void serial_destroy(struct serial *s);

/* io_fn for the 8 registers at the UART's base port. */
int serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

/* Free FIFO space (bytes); main thread. If it is below `need`, arm
 * rx_space_fd so the caller can wait for the guest to make room. */
size_t serial_rx_room(struct serial *s, size_t need);
/* Queue up to n bytes; returns how many were taken. */
size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n);

#endif
