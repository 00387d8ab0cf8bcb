/* SPDX-License-Identifier: MIT */
/* The 8250: output, input without loss, interrupts, loopback, DLAB. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "hw/serial.h"
#include "tests/unit/tap.h"

struct fake_irq {
    struct irq_line line;
    int level, changes;
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

int main(void)
{
    int p[2];
    if (pipe(p) < 0)
        return 1;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct fake_irq irq = {.line = {.set_level = fake_set_level}};
    struct serial s;
    CHECK(serial_init(&s, p[1], &irq.line) == 0, "init");

    const char *msg = "hi\n";
    for (const char *c = msg; *c; c++) {
        CHECK(rd(&s, 5) & 0x20, "THR empty before '%c'", *c == '\n' ? 'n' : *c);
        wr(&s, 0, *c);
    }
    char out[8] = {0};
    CHECK(read(p[0], out, sizeof(out)) == 3 && !strcmp(out, msg),
          "bytes reach the output fd");

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

    uint8_t in[SERIAL_RX_FIFO + 10];
    memset(in, 'k', sizeof(in));
    CHECK(serial_rx_push(&s, in, sizeof(in)) == SERIAL_RX_FIFO,
          "push takes only what fits (caller keeps the rest)");
    CHECK(serial_rx_room(&s, 1) == 0 && irq.level == 1 &&
              (rd(&s, 2) & 0x0f) == 0x04,
          "FIFO full, RX interrupt");
    struct pollfd pf = {.fd = s.rx_space_fd, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 0, "no space event while full");
    CHECK(rd(&s, 0) == 'k', "guest reads a byte");
    CHECK(poll(&pf, 1, 0) == 1 && serial_rx_room(&s, 0) == 1,
          "space event after the guest reads while the reader waits");
    uint64_t ev;
    CHECK(read(s.rx_space_fd, &ev, sizeof(ev)) == sizeof(ev), "drain event");
    CHECK(serial_rx_room(&s, 8) == 1 && poll(&pf, 1, 0) == 0,
          "room below need arms the event, not yet fired");
    rd(&s, 0);
    CHECK(poll(&pf, 1, 0) == 1, "fires on the next byte read (not only "
                                "from completely full)");
    CHECK(read(s.rx_space_fd, &ev, sizeof(ev)) == sizeof(ev), "drain");
    int n = 0;
    while ((rd(&s, 5) & 0x01) && n < 1000) {
        rd(&s, 0);
        n++;
    }
    CHECK(n == SERIAL_RX_FIFO - 2 && irq.level == 0,
          "every queued byte delivered once, then idle");

    CHECK(read(p[0], out, sizeof(out)) == 1 && out[0] == 'x', "'x' output");
    wr(&s, 4, 0x08 | 0x10 | 0x03); /* OUT2 | LOOP | RTS | DTR */
    CHECK((rd(&s, 6) & 0xf0) == 0xb0, "loopback MSR mirrors MCR");
    wr(&s, 0, 'L');
    CHECK((rd(&s, 5) & 1) && rd(&s, 0) == 'L', "loopback data");
    CHECK(read(p[0], out, sizeof(out)) < 0, "loopback byte not output");
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
    CHECK(serial_rx_push(&s, (const uint8_t *)"ab", 2) == 2, "type ahead");
    wr(&s, 2, 0x07);
    CHECK((rd(&s, 2) & 0xc0) == 0xc0, "FIFO enabled: 16550A");
    CHECK((rd(&s, 5) & 1) && rd(&s, 0) == 'a' && rd(&s, 0) == 'b',
          "FIFO clear at driver start keeps typed-ahead host input");

    serial_destroy(&s);
    close(p[0]);
    close(p[1]);
    return tap_done();
}
