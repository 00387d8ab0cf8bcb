/* SPDX-License-Identifier: MIT */
/* The ports that end a VM: i8042 reset, test-exit, ACPI S5; and the
 * i8042 status that makes Linux give up probing for a keyboard. */
#include <string.h>

#include "hw/sysports.h"
#include "tests/unit/tap.h"

struct stops {
    int n, status;
};

static void on_stop(void *ctx, int status, const char *why)
{
    struct stops *s = ctx;
    (void)why;
    s->n++;
    s->status = status;
}

static uint8_t in8(struct io_bus *b, uint16_t port)
{
    uint8_t v = 0;
    io_bus_access(b, port, &v, 1, false);
    return v;
}

static void out8(struct io_bus *b, uint16_t port, uint8_t v)
{
    io_bus_access(b, port, &v, 1, true);
}

int main(void)
{
    struct io_bus bus = {0};
    struct stops st = {0};
    struct sysports sp = {.stop = on_stop, .ctx = &st};
    struct sysports_config cfg = {.exit_port = 0xf4,
                                  .sleep_port = 0x600,
                                  .sleep_status_port = 0x601,
                                  .sleep_s5 = 0x34,
                                  .sleep_mask = 0x3c};
    CHECK(sysports_register(&sp, &bus, &cfg) == 0, "register");

    uint8_t status = in8(&bus, 0x64);
    CHECK(!(status & 0x02), "i8042 input buffer empty: reset goes at once");
    /* Linux's i8042_flush: more than 16 reads with OBF set = no chip. */
    int reads = 0;
    while ((in8(&bus, 0x64) & 0x01) && reads < 100) {
        in8(&bus, 0x60);
        reads++;
    }
    CHECK(reads == 100, "output buffer never drains: probe gives up");
    out8(&bus, 0x64, 0x20); /* read CTR: ignored */
    out8(&bus, 0x60, 0xfe);
    CHECK(st.n == 0, "other i8042 writes do not stop the VM");
    out8(&bus, 0x64, 0xfe);
    CHECK(st.n == 1 && st.status == 0, "0xfe to 0x64 resets with status 0");

    out8(&bus, 0xf4, 42);
    CHECK(st.n == 2 && st.status == 42, "test-exit byte is the status");

    out8(&bus, 0x600, 0x14); /* SLP_TYP 5 without SLP_EN */
    out8(&bus, 0x600, 0x24); /* SLP_EN, S1 */
    CHECK(st.n == 2, "S5 type without SLP_EN, or another state: no stop");
    out8(&bus, 0x600, 0x34);
    CHECK(st.n == 3 && st.status == 0, "SLP_EN|S5 powers off with 0");
    CHECK(in8(&bus, 0x601) == 0, "sleep status reads 0");
    out8(&bus, 0x80, 0x12);
    CHECK(st.n == 3 && in8(&bus, 0x80) == 0xff, "POST port is inert");

    struct io_bus nb = {0};
    struct sysports_config noacpi = {.exit_port = 0xf4};
    CHECK(sysports_register(&sp, &nb, &noacpi) == 0, "register without ACPI");
    uint8_t v = 0x34;
    CHECK(io_bus_access(&nb, 0x600, &v, 1, true) < 0,
          "no ACPI: the sleep port is not claimed");
    return tap_done();
}
