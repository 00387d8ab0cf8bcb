/* SPDX-License-Identifier: MIT */
/* serial_* for the host build of guest code: output kept in a buffer,
 * no input. */
#include "guest/host/fake_serial.h"

#include "guest/serial.h"

char fake_serial_out[65536];
size_t fake_serial_len;

void fake_serial_clear(void)
{
    fake_serial_len = 0;
    fake_serial_out[0] = 0;
}

void serial_putc(char c)
{
    if (fake_serial_len + 1 < sizeof(fake_serial_out))
        fake_serial_out[fake_serial_len++] = c;
    fake_serial_out[fake_serial_len] = 0;
}

void serial_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        serial_putc(s[i]);
}

int serial_getc(void)
{
    return -1;
}
