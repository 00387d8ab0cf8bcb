/* SPDX-License-Identifier: MIT */
/* The 8250 on a chardev: output with back-pressure, input without loss,
 * interrupts, loopback, DLAB. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/serial.h"
#include "tests/unit/chardev_rig.h"
#include "tests/unit/tap.h"

struct fake_irq {
    struct irq_line line;
    _Atomic int level, changes; /* set from vCPU and backend threads */
};

static int fake_set_level(struct irq_line *l, int level)
{
    struct fake_irq *f = (struct fake_irq *)l;
    f->level = level;
    f->changes++;
    return 0;
}

static uint8_t rd(struct serial *s, unsigned reg)
{
    uint8_t v = 0;
    serial_io(s, reg, &v, 1, false);
    return v;
}

static void wr(struct serial *s, unsigned reg, uint8_t v)
{
    serial_io(s, reg, &v, 1, true);
}

/* The host side: pipes to a stdio chardev. */
struct host {
    int in[2], out[2];
    struct chardev *cd;
};

static void host_up(struct host *h, int out_pipe_size)
{
    h->cd = pipes_open(h->in, h->out, out_pipe_size);
    fcntl(h->out[0], F_SETFL, O_NONBLOCK);
}

static void host_down(struct host *h)
{
    pipes_close(h->cd, h->in, h->out);
}

/* Read what reached the host until want bytes or the guard. */
static size_t host_read(struct host *h, uint8_t *buf, size_t want)
{
    size_t got = 0;
    int64_t end = ms() + GUARD_MS;
    while (got < want && ms() < end) {
        ssize_t n = read(h->out[0], buf + got, want - got);
        if (n > 0)
            got += (size_t)n;
        else
            usleep(1000);
    }
    return got;
}

static void test_registers(void)
{
    struct host h;
    host_up(&h, 0);
    struct fake_irq irq = {.line = {.set_level = fake_set_level}};
    struct serial s;
    CHECK(serial_init(&s, h.cd, true, &irq.line) == 0, "init");

    const char *msg = "hi\n";
    for (const char *c = msg; *c; c++) {
        CHECK(rd(&s, 5) & 0x20, "THR empty before '%c'", *c == '\n' ? 'n' : *c);
        wr(&s, 0, *c);
    }
    uint8_t out[8] = {0};
    CHECK(host_read(&h, out, 3) == 3 && !memcmp(out, msg, 3),
          "bytes reach the host through the chardev");

    CHECK(rd(&s, 2) == 0x01 && irq.level == 0, "no interrupt pending");
    wr(&s, 1, 0x02); /* ETBEI */
    CHECK(irq.level == 1 && (rd(&s, 2) & 0x0f) == 0x02,
          "enabling THRI raises it; IIR reports THRE");
    CHECK(irq.level == 0 && rd(&s, 2) == 0x01, "reading IIR acknowledged THRE");
    wr(&s, 0, 'x');
    CHECK(irq.level == 1, "transmit raises THRE again");
    rd(&s, 2);
    wr(&s, 1, 0x01); /* ERBFI only */
    CHECK(irq.level == 0, "idle with RX interrupt enabled");
    CHECK(host_read(&h, out, 1) == 1 && out[0] == 'x', "'x' output");

    /* More host input than the FIFO holds: the rest waits, none lost. */
    uint8_t in[SERIAL_RX_FIFO + 10];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)('a' + i % 26);
    CHECK(write(h.in[1], in, sizeof(in)) == sizeof(in), "host types %zu",
          sizeof(in));
    CHECK(WAIT_FOR(irq.level == 1) && (rd(&s, 2) & 0x0f) == 0x04 &&
              (rd(&s, 5) & 0x01),
          "data ready, RX interrupt");
    size_t n = 0;
    int bad = 0;
    int64_t end = ms() + GUARD_MS;
    while (n < sizeof(in) && ms() < end) {
        if (!(rd(&s, 5) & 0x01)) {
            usleep(1000);
            continue;
        }
        bad += rd(&s, 0) != in[n];
        n++;
    }
    CHECK(n == sizeof(in) && !bad && irq.level == 0,
          "every byte delivered once, in order, then idle");

    wr(&s, 4, 0x08 | 0x10 | 0x03); /* OUT2 | LOOP | RTS | DTR */
    CHECK((rd(&s, 6) & 0xf0) == 0xb0, "loopback MSR mirrors MCR");
    wr(&s, 0, 'L');
    CHECK((rd(&s, 5) & 1) && rd(&s, 0) == 'L', "loopback data");
    usleep(20000);
    CHECK(read(h.out[0], out, sizeof(out)) < 0, "loopback byte not output");
    wr(&s, 4, 0x08);

    wr(&s, 3, 0x80);
    wr(&s, 0, 0x01);
    wr(&s, 1, 0x00);
    CHECK(rd(&s, 0) == 1 && rd(&s, 1) == 0, "DLAB divisor latch");
    wr(&s, 3, 0x03);
    wr(&s, 7, 0x5a);
    CHECK(rd(&s, 7) == 0x5a && rd(&s, 3) == 0x03, "scratch and LCR");
    wr(&s, 1, 0x0f);
    CHECK(rd(&s, 1) == 0x0f, "IER keeps its low 4 bits");
    CHECK(write(h.in[1], "ab", 2) == 2 && WAIT_FOR(rd(&s, 5) & 1),
          "type ahead");
    usleep(20000);
    wr(&s, 2, 0x07);
    CHECK((rd(&s, 2) & 0xc0) == 0xc0, "FIFO enabled: 16550A");
    CHECK((rd(&s, 5) & 1) && rd(&s, 0) == 'a' && rd(&s, 0) == 'b',
          "FIFO clear at driver start keeps typed-ahead host input");

    serial_destroy(&s);
    host_down(&h);
}

/* Nobody reads the host output: the vCPU is never blocked; the UART
 * reports busy instead, and once the reader drains, THRE and its
 * interrupt return and every byte the guest sent arrives in order. */
static void test_backpressure(void)
{
    struct host h;
    host_up(&h, 4096);
    struct fake_irq irq = {.line = {.set_level = fake_set_level}};
    struct serial s;
    serial_init(&s, h.cd, true, &irq.line);
    wr(&s, 1, 0x02); /* THRI */
    rd(&s, 2);
    size_t sent = 0;
    while ((rd(&s, 5) & 0x60) && sent < 10 * CHARDEV_OUT_CAP) {
        wr(&s, 0, (uint8_t)(sent * 7));
        sent++;
    }
    CHECK(sent > CHARDEV_OUT_CAP && sent < 10 * CHARDEV_OUT_CAP,
          "writing with nobody reading: busy after %zu bytes", sent);
    CHECK(!(rd(&s, 5) & 0x60) && (rd(&s, 2) & 0x0f) != 0x02 && irq.level == 0,
          "busy: LSR THRE and TEMT clear, no THR-empty interrupt");
    wr(&s, 0, 0xee); /* a guest that ignores LSR */
    CHECK(s.tx_overruns == 1, "a write while busy is an overrun, counted");

    static uint8_t got[10 * CHARDEV_OUT_CAP];
    size_t n = host_read(&h, got, sent);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += got[i] != (uint8_t)(i * 7);
    CHECK(n == sent && !bad, "the reader gets all %zu bytes in order", n);
    CHECK(WAIT_FOR(rd(&s, 5) & 0x20) && WAIT_FOR(irq.level == 1) &&
              (rd(&s, 2) & 0x0f) == 0x02,
          "room again: THRE and its interrupt return");
    serial_destroy(&s);
    host_down(&h);
}

/* issue 14 item 9: a guest in loopback fills the FIFO while host input
 * is on its way; no host byte is lost, and none is mixed into the
 * loopback data. */
static void test_loopback_keeps_input(void)
{
    struct host h;
    host_up(&h, 0);
    struct fake_irq irq = {.line = {.set_level = fake_set_level}};
    struct serial s;
    serial_init(&s, h.cd, true, &irq.line);
    wr(&s, 4, 0x08 | 0x10); /* OUT2 | LOOP */
    for (int i = 0; i < SERIAL_RX_FIFO; i++)
        wr(&s, 0, 'L');
    CHECK(write(h.in[1], "0123456789", 10) == 10, "host types 10 bytes");
    CHECK(WAIT_FOR(chardev_in_avail(h.cd) == 10),
          "they wait in the chardev while the FIFO is the guest's");
    int loops = 0;
    while ((rd(&s, 5) & 1) && loops < 1000)
        loops += rd(&s, 0) == 'L';
    CHECK(loops == SERIAL_RX_FIFO, "the guest reads its %d loopback bytes",
          loops);
    wr(&s, 4, 0x08); /* leave loopback */
    char got[11] = {0};
    for (int i = 0; i < 10 && (rd(&s, 5) & 1); i++)
        got[i] = (char)rd(&s, 0);
    CHECK(!strcmp(got, "0123456789"), "then every host byte: '%s'", got);
    serial_destroy(&s);
    host_down(&h);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_registers();
    test_backpressure();
    test_loopback_keeps_input();
    return tap_done();
}
