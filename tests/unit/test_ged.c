/* SPDX-License-Identifier: MIT */
/* The power button's event register (hw/ged.c): latch, pulse, ack. */
#include <errno.h>
#include <pthread.h>

#include "hw/ged.h"
#include "hw/io_bus.h"
#include "tests/unit/tap.h"

#define PORT 0x602

struct count {
    _Atomic int n;
    int ret;
};

static int count_trigger(struct irq_line *l)
{
    struct count *c = l->ctx;
    atomic_fetch_add(&c->n, 1);
    return c->ret;
}

static uint8_t in8(struct io_bus *b)
{
    uint8_t v = 0xaa;
    return io_bus_access(b, PORT, &v, 1, false) == 0 ? v : 0xee;
}

static void out8(struct io_bus *b, uint8_t v)
{
    io_bus_access(b, PORT, &v, 1, true);
}

/* Another thread presses while the test reads and acks. */
static void *presser(void *arg)
{
    for (int i = 0; i < 1000; i++)
        ged_press_power(arg);
    return NULL;
}

int main(void)
{
    struct count c = {0};
    struct irq_line line = {.trigger = count_trigger, .ctx = &c, .gsi = 23};
    struct ged g = {0};
    struct io_bus bus = {0};

    CHECK(ged_press_power(&g) == -ENODEV && c.n == 0,
          "a press before ged_init: -ENODEV, no interrupt");
    ged_init(&g, &line);
    CHECK(io_bus_add(&bus, PORT, 1, ged_io, &g) == 0, "register the port");
    CHECK(in8(&bus) == 0, "idle: status reads 0");
    out8(&bus, 0xff);
    CHECK(in8(&bus) == 0 && g.acks == 0, "an ack with nothing pending: no-op");

    CHECK(ged_press_power(&g) == 0 && c.n == 1, "press: one pulse");
    CHECK(in8(&bus) == GED_EVT_POWER, "status has the power bit");
    CHECK(in8(&bus) == GED_EVT_POWER, "reading does not clear it");
    out8(&bus, 0x02);
    CHECK(in8(&bus) == GED_EVT_POWER, "writing other bits leaves it pending");
    out8(&bus, 0);
    CHECK(in8(&bus) == GED_EVT_POWER, "writing 0 leaves it pending");
    out8(&bus, GED_EVT_POWER);
    CHECK(in8(&bus) == 0 && g.acks == 1, "writing 1 clears it (one ack)");

    ged_press_power(&g);
    ged_press_power(&g);
    CHECK(c.n == 3 && in8(&bus) == GED_EVT_POWER && g.presses == 3,
          "a second press while pending pulses again, one bit");
    out8(&bus, GED_EVT_POWER);

    uint32_t wide = 0xdeadbeef;
    ged_press_power(&g);
    CHECK(ged_io(&g, 0, &wide, 4, false) == 0 && wide == GED_EVT_POWER,
          "a 4-byte read is the byte zero-extended");
    CHECK(ged_io(&g, 1, &wide, 1, false) == -EINVAL,
          "an offset past the register is refused");
    CHECK(ged_io(&g, 0, &wide, 0, false) == -EINVAL, "a 0-byte access too");
    wide = 0xffffff00;
    ged_io(&g, 0, &wide, 4, true);
    CHECK(in8(&bus) == GED_EVT_POWER, "a wide write acks by its low byte only");
    out8(&bus, GED_EVT_POWER);

    c.ret = -EBADF;
    CHECK(ged_press_power(&g) == -EBADF && in8(&bus) == GED_EVT_POWER,
          "the line's error is returned; the event stays latched");
    c.ret = 0;
    out8(&bus, GED_EVT_POWER);

    /* Presses racing with the guest's read-then-ack: after the last
     * press, the bit is pending unless an ack came after it. Every ack
     * the guest makes follows a read that saw the bit. */
    pthread_t t;
    int seen = 0;
    pthread_create(&t, NULL, presser, &g);
    for (int i = 0; i < 1000; i++)
        if (in8(&bus) & GED_EVT_POWER) {
            seen++;
            out8(&bus, GED_EVT_POWER);
        }
    pthread_join(t, NULL);
    bool tail = in8(&bus) & GED_EVT_POWER;
    CHECK(seen > 0 || tail, "concurrent presses are seen (%d acks%s)", seen,
          tail ? ", one pending" : "");
    CHECK(g.presses == 1000 + 5 && c.n == 1005,
          "every press counted and pulsed (%llu)",
          (unsigned long long)g.presses);
    return tap_done();
}
