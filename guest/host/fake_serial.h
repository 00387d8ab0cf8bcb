/* SPDX-License-Identifier: MIT */
/* The guest's COM1, captured in memory for the host-side guest tests. */
#ifndef KVMINI_GUEST_HOST_FAKE_SERIAL_H
#define KVMINI_GUEST_HOST_FAKE_SERIAL_H

#include <stddef.h>

extern char fake_serial_out[65536]; /* NUL-terminated */
extern size_t fake_serial_len;

void fake_serial_clear(void);

#endif
