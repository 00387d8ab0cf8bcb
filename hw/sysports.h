/* SPDX-License-Identifier: MIT */
/*
 * The ports through which a guest ends the VM: the i8042 reset line
 * (0xfe written to port 0x64), the test-exit port (the byte written
 * becomes kvmini's exit status), the ACPI hardware-reduced sleep control
 * register (SLP_EN with the S5 type powers off) and its status register,
 * and the POST port 0x80 (Linux's io_delay; accepted silently so it
 * costs no log line).
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
    uint8_t sleep_s5, sleep_mask;
};

struct sysports_config {
    uint16_t exit_port;
    uint16_t sleep_port; /* 0: no ACPI sleep registers */
    uint16_t sleep_status_port;
    uint8_t sleep_s5;   /* SLP_EN | SLP_TYP bits that mean S5 */
    uint8_t sleep_mask; /* bits of a write compared with sleep_s5 */
};

/* Register the ports on the port-I/O bus: 0 or -errno. */
int sysports_register(struct sysports *sp, struct io_bus *pio,
                      const struct sysports_config *cfg);

#endif
