/* SPDX-License-Identifier: MIT */
/* Polled COM1 output and input, no interrupts, no FIFO assumptions. */
#include "guest/serial.h"
#include "guest/io.h"

#define COM1 0x3f8
#define UART_LSR 5
#define LSR_DR 0x01   /* receive data ready */
#define LSR_THRE 0x20 /* transmit holding register empty */

/*
 * Bounded poll: a UART that never reports THRE (none present) must not
 * hang the guest, so after many polls we drop the byte instead.
 */
#define THRE_POLLS 100000

void serial_putc(char c)
{
    for (int i = 0; i < THRE_POLLS; i++) {
        if (inb(COM1 + UART_LSR) & LSR_THRE)
            break;
        cpu_relax();
    }
    outb(COM1, (unsigned char)c);
}

void serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        serial_putc(s[i]);
}

int serial_getc(void)
{
    if (!(inb(COM1 + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1);
}
