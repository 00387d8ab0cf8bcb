/* SPDX-License-Identifier: MIT */
/*
 * The legacy ports through which a guest ends the VM: the i8042 reset
 * line (0xfe written to port 0x64), the test-exit port (the byte written
 * becomes kvmini's exit status) and the POST port 0x80 (Linux's
 * io_delay; accepted silently so it costs no log line).
 *
 * The handlers run on vCPU threads and call stop(), which must be safe
 * from any thread.
 */
#ifndef KVMINI_HW_SYSPORTS_H
#define KVMINI_HW_SYSPORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/io_bus.h"

struct sysports {
    void (*stop)(void *ctx, int status, const char *why);
    void *ctx;
};

/* Register the ports on the port-I/O bus: 0 or -errno. */
int sysports_register(struct sysports *sp, struct io_bus *pio,
                      uint16_t exit_port);

#endif
