/* SPDX-License-Identifier: MIT */
/* i8042 reset, test-exit and POST ports. */
#include "hw/sysports.h"

#include <string.h>

#define LOG_TAG "sysports"
#include "hw/log.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_CMD_RESET 0xfe
#define POST_PORT 0x80

/*
 * 0x60..0x64: no keyboard, only the reset line. The status register
 * reads "input buffer empty" (bit 1 clear), so a kernel waiting to send
 * the reset command sends it at once, and "output buffer full" (bit 0)
 * with 0xff data that never drains, which Linux's probe takes for a
 * missing controller after 16 reads instead of timing out command after
 * command (1 s of exits per boot when status read 0).
 */
#define I8042_STATUS_ABSENT 0x01
static int sysports_i8042(void *opaque, uint64_t off, void *data, uint32_t len,
                          bool write)
{
    struct sysports *sp = opaque;
    if (!write) {
        memset(data, off == I8042_CMD - I8042_DATA ? I8042_STATUS_ABSENT : 0xff,
               len);
        return 0;
    }
    log_cat_rl(LOG_CAT_IO, "i8042 port 0x%x <- 0x%x (len %u)",
               (unsigned)(I8042_DATA + off), *(uint8_t *)data, len);
    if (off == I8042_CMD - I8042_DATA && len == 1 &&
        *(uint8_t *)data == I8042_CMD_RESET)
        sp->stop(sp->ctx, 0, "guest reset through the i8042");
    return 0;
}

static int sysports_exit(void *opaque, uint64_t off, void *data, uint32_t len,
                         bool write)
{
    struct sysports *sp = opaque;
    (void)off;
    (void)len;
    if (!write) {
        memset(data, 0xff, len);
        return 0;
    }
    sp->stop(sp->ctx, *(uint8_t *)data, NULL);
    return 0;
}

static int sysports_post(void *opaque, uint64_t off, void *data, uint32_t len,
                         bool write)
{
    (void)opaque;
    (void)off;
    if (!write)
        memset(data, 0xff, len);
    return 0;
}

/* ACPI sleep control: only S5 (soft off) is supported; other sleep
 * states are ignored, so the guest sees them fail and carries on. */
static int sysports_sleep(void *opaque, uint64_t off, void *data, uint32_t len,
                          bool write)
{
    struct sysports *sp = opaque;
    (void)off;
    if (!write) {
        memset(data, 0, len);
        return 0;
    }
    log_cat_rl(LOG_CAT_IO, "ACPI sleep control <- 0x%x (len %u)",
               *(uint8_t *)data, len);
    if ((*(uint8_t *)data & sp->sleep_mask) == sp->sleep_s5)
        sp->stop(sp->ctx, 0, "guest powered off (ACPI S5)");
    return 0;
}

/* ACPI sleep status: reads 0 (no wake event), writes are accepted. */
static int sysports_sleep_status(void *opaque, uint64_t off, void *data,
                                 uint32_t len, bool write)
{
    (void)opaque;
    (void)off;
    if (!write)
        memset(data, 0, len);
    return 0;
}

int sysports_register(struct sysports *sp, struct io_bus *pio,
                      const struct sysports_config *cfg)
{
    sp->sleep_s5 = cfg->sleep_s5;
    sp->sleep_mask = cfg->sleep_mask;
    int r = io_bus_add(pio, I8042_DATA, I8042_CMD - I8042_DATA + 1,
                       sysports_i8042, sp);
    if (r == 0)
        r = io_bus_add(pio, cfg->exit_port, 1, sysports_exit, sp);
    if (r == 0 && cfg->sleep_port) {
        r = io_bus_add(pio, cfg->sleep_port, 1, sysports_sleep, sp);
        if (r == 0)
            r = io_bus_add(pio, cfg->sleep_status_port, 1,
                           sysports_sleep_status, sp);
    }
    if (r == 0)
        r = io_bus_add(pio, POST_PORT, 1, sysports_post, sp);
    return r;
}
