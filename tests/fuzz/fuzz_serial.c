/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the 8250/16550A UART (hw/serial.c) as a guest drives it:
 * reads and writes of every width at every offset of its 8 ports, DLAB
 * and loopback, interleaved with host input pushed into the receive
 * FIFO. Besides the sanitizers, a model of the FIFO checks what the
 * guest reads: bytes in the order they were accepted, none lost, none
 * made up, LSR.DR exactly when the FIFO holds a byte, and serial_rx_push
 * taking exactly what fits.
 *
 * Input: ops (1 byte) with their arguments, until it runs out.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/serial.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct model {
    uint8_t fifo[SERIAL_RX_FIFO];
    unsigned head, count;
    uint8_t lcr, mcr;
    int level;
};

static int set_level(struct irq_line *l, int level)
{
    struct model *m = l->ctx;
    FZ_ASSERT(level == 0 || level == 1, "irq level %d", level);
    FZ_ASSERT(level != m->level, "irq set to %d twice", level);
    m->level = level;
    return 0;
}

static int trigger(struct irq_line *l)
{
    (void)l;
    return 0;
}

static void model_put(struct model *m, uint8_t b)
{
    if (m->count < SERIAL_RX_FIFO)
        m->fifo[(m->head + m->count++) % SERIAL_RX_FIFO] = b;
}

/* One byte-wide register access, as the UART sees a wide one. */
static void model_byte(struct model *m, unsigned reg, uint8_t *d, bool write)
{
    bool dlab = m->lcr & 0x80;
    if (write) {
        if (reg == 3)
            m->lcr = *d;
        else if (reg == 4)
            m->mcr = *d & 0x1f;
        else if (reg == 0 && !dlab && (m->mcr & 0x10))
            model_put(m, *d);
        return;
    }
    if (reg == 0 && !dlab) {
        uint8_t want = 0;
        if (m->count) {
            want = m->fifo[m->head];
            m->head = (m->head + 1) % SERIAL_RX_FIFO;
            m->count--;
        }
        FZ_ASSERT(*d == want, "RBR read 0x%02x, FIFO says 0x%02x", *d, want);
    } else if (reg == 5) {
        FZ_ASSERT(!!(*d & 1) == !!m->count, "LSR.DR %d with %u bytes queued",
                  *d & 1, m->count);
    }
}

static void op_io(struct serial *s, struct model *m, struct fz_in *in)
{
    uint8_t off = fz_u8(in) & 7, len = 1 + fz_u8(in) % 8;
    bool write = fz_bool(in);
    uint8_t d[8];
    uint64_t v = fz_u64(in);
    memcpy(d, &v, sizeof(d));
    serial_io(s, off, d, len, write);
    for (unsigned i = 0; i < len; i++)
        model_byte(m, (off + i) & 7, &d[i], write);
}

static void op_push(struct serial *s, struct model *m, struct fz_in *in)
{
    uint8_t buf[320];
    size_t n = fz_u8(in) + fz_u8(in) % 64;
    for (size_t i = 0; i < n; i++)
        buf[i] = fz_u8(in);
    size_t room = serial_rx_room(s, n);
    FZ_ASSERT(room == SERIAL_RX_FIFO - m->count, "room %zu, model %u", room,
              SERIAL_RX_FIFO - m->count);
    size_t took = serial_rx_push(s, buf, n);
    size_t want = n < room ? n : room;
    FZ_ASSERT(took == want, "pushed %zu of %zu with room %zu", took, n, room);
    for (size_t i = 0; i < took; i++)
        model_put(m, buf[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int devnull = -1;
    if (devnull < 0)
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct fz_in in = { data, size };
    struct model m = { .mcr = 0x08 };
    struct irq_line irq = { .trigger = trigger, .set_level = set_level,
                            .ctx = &m };
    struct serial s;
    if (serial_init(&s, devnull, &irq))
        abort();
    for (unsigned n = 0; in.n && n < 4096; n++) {
        if (fz_u8(&in) % 4)
            op_io(&s, &m, &in);
        else
            op_push(&s, &m, &in);
    }
    serial_destroy(&s);
    return 0;
}
