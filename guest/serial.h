/* SPDX-License-Identifier: MIT */
/*
 * Polled 8250 UART on COM1 (0x3f8): the guest's only console. Each byte
 * costs two port exits (LSR poll + THR write), so output stays terse.
 */
#ifndef TG_SERIAL_H
#define TG_SERIAL_H

#include <stddef.h>

void serial_putc(char c);
void serial_write(const char *s, size_t len);
/* Returns the next received byte, or -1 when none is waiting. */
int serial_getc(void);

#endif
