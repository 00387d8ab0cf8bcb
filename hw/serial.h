/* SPDX-License-Identifier: MIT */
/*
 * An 8250/16550A UART: the guest's serial console, on a character
 * backend (hw/chardev.h). The UART itself does no host I/O:
 *
 * - A byte written to THR goes into the chardev's output buffer. If the
 *   buffer is full the byte waits in THR and the transmitter reports busy
 *   (LSR THRE/TEMT clear, no THR-empty interrupt) until the chardev has
 *   room again: back-pressure, so a stalled reader of our stdout never
 *   stalls a vCPU and no byte is lost. A guest that writes THR while it
 *   is busy overruns it; that byte is dropped and counted, as on the
 *   real part.
 * - Host input is pulled from the chardev into the 256-byte receive FIFO,
 *   only as much as fits, whenever input arrives or the guest reads a
 *   byte; so nothing is dropped whatever the guest does with the FIFO.
 *   In loopback mode host input waits in the chardev.
 *
 * Register access (serial_io) runs on vCPU threads, the chardev's notify
 * on its backend thread; a mutex orders them. Lock order: UART lock,
 * then the chardev's.
 */
#ifndef KVMINI_HW_SERIAL_H
#define KVMINI_HW_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/chardev.h"
#include "hw/irq.h"

#define SERIAL_RX_FIFO 256 /* host-side depth; the guest can't tell */

struct serial {
    pthread_mutex_t lock;
    bool up; /* serial_init succeeded */
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending; /* THR-empty interrupt not yet acknowledged */
    bool thr_full;     /* thr waits for room in the chardev */
    uint8_t thr;
    uint8_t rx[SERIAL_RX_FIFO];
    unsigned rx_head, rx_count;
    int irq_level;
    struct chardev *cd; /* NULL: output discarded, no input */
    bool input;         /* host input comes from cd */
    struct chardev_client cl;
    struct irq_line *irq;
    uint64_t tx_bytes, rx_bytes; /* to the chardev, and to the guest */
    uint64_t tx_overruns;        /* THR written while busy: dropped */
};

/* Attach to cd (may be NULL); input: this UART gets cd's input. 0, or
 * -EBUSY if another frontend takes cd's input. */
int serial_init(struct serial *s, struct chardev *cd, bool input,
                struct irq_line *irq);
/* Detach from the chardev (before it is closed). No-op unless up. */
void serial_destroy(struct serial *s);

/* io_fn for the 8 registers at the UART's base port. */
int serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

#endif
