/* SPDX-License-Identifier: MIT */
/*
 * The host terminal side of the guest console: raw mode (restored on
 * every exit path that returns) and the Ctrl-A escape (Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A and another key send both).
 * Used by the stdio character backend (hw/chardev_stdio.c): init and
 * restore on the owner's thread, the filter on the backend thread.
 */
#ifndef KVMINI_HW_TERM_H
#define KVMINI_HW_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define TERM_ESCAPE 0x01 /* Ctrl-A */

struct term {
    int fd;
    bool is_tty; /* escapes are honoured only on a terminal */
    bool raw;    /* raw mode is on and must be restored */
    bool escape; /* last byte was Ctrl-A */
    struct termios saved;
};

/* Note whether fd is a terminal; with raw, switch it to raw mode. */
void term_init(struct term *t, int fd, bool raw);
void term_restore(struct term *t);

/*
 * Copy in[0..n) to out (room for n + 1 bytes), interpreting escapes.
 * Returns the bytes written to out; sets *quit on Ctrl-A x (bytes after
 * it are dropped).
 */
size_t term_filter(struct term *t, const uint8_t *in, size_t n, uint8_t *out,
                   bool *quit);

#endif
