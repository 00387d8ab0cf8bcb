/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the 8250/16550A UART (hw/serial.c) as a guest drives it,
 * on a stdio chardev over pipes pumped on the fuzzer's thread
 * (chardev_pump): reads and writes of every width at every offset of its
 * 8 ports, DLAB, loopback, host input typed at any time, a host reader
 * that keeps up. Besides the sanitizers, unless the input enables
 * loopback, models check what the guest and the host see:
 * - input: the guest reads the host's bytes in order, none lost, none
 *   made up; LSR.DR is set whenever typed bytes are waiting;
 * - output: the host gets every byte written to THR while LSR said THRE,
 *   in order (a byte written while THR is busy is the guest's overrun);
 * - the interrupt line is only ever set to a new level.
 *
 * Input: a mode byte (bit 0: loopback allowed), then ops: an access
 * (offset, size, direction, data), typed input, or a chardev round.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/serial.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_MAX 8192

struct model {
    bool loop_ok; /* loopback allowed: the byte models are off */
    int level;
    uint8_t lcr;
    /* Typed bytes the guest has not read yet. */
    uint8_t in[MODEL_MAX];
    size_t in_head, in_len;
    /* Bytes the host must see, and how many it has seen. */
    uint8_t out[MODEL_MAX];
    size_t out_len, out_seen;
    int in_w, out_r;
    struct chardev *cd;
    struct serial s;
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

static uint8_t lsr(struct model *m)
{
    uint8_t v;
    serial_io(&m->s, 5, &v, 1, false);
    return v;
}

/* The host reads what came out and checks it against the model. */
static void drain(struct model *m)
{
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(m->out_r, buf, sizeof(buf))) > 0) {
        if (m->loop_ok)
            continue;
        FZ_ASSERT(m->out_seen + (size_t)n <= m->out_len,
                  "host got %zu bytes, %zu were written", m->out_seen + n,
                  m->out_len);
        FZ_ASSERT(!memcmp(buf, m->out + m->out_seen, (size_t)n),
                  "host output differs after %zu bytes", m->out_seen);
        m->out_seen += (size_t)n;
    }
}

static void pump(struct model *m)
{
    for (int i = 0; i < 64; i++) {
        int moved = chardev_pump(m->cd);
        drain(m);
        if (moved <= 0)
            break;
    }
}

static void op_io(struct model *m, struct fz_in *in)
{
    uint8_t off = fz_u8(in) & 7, len = 1 + fz_u8(in) % 8;
    bool write = fz_bool(in);
    uint8_t d[8];
    uint64_t v = fz_u64(in);
    memcpy(d, &v, sizeof(d));
    if (!m->loop_ok && write)
        for (unsigned i = 0; i < len; i++)
            if (((off + i) & 7) == 4)
                d[i] &= ~0x10; /* MCR loopback stays off */
    uint8_t before = lsr(m);
    serial_io(&m->s, off, d, len, write);
    if (m->loop_ok)
        return;
    /* Replay the access byte by byte (registers are consecutive). */
    for (unsigned i = 0; i < len; i++) {
        unsigned reg = (off + i) & 7;
        bool dlab = m->lcr & 0x80;
        if (write && reg == 3) {
            m->lcr = d[i];
        } else if (write && reg == 0 && !dlab && (before & 0x20)) {
            FZ_ASSERT(m->out_len < MODEL_MAX, "model full");
            m->out[m->out_len++] = d[i];
        } else if (!write && reg == 0 && !dlab) {
            uint8_t want = 0;
            if (before & 1) {
                FZ_ASSERT(m->in_len, "LSR.DR set, nothing was typed");
                want = m->in[m->in_head++ % MODEL_MAX];
                m->in_len--;
            }
            FZ_ASSERT(d[i] == want, "RBR read 0x%02x, typed 0x%02x", d[i],
                      want);
        }
    }
}

static void op_type(struct model *m, struct fz_in *in)
{
    uint8_t buf[256];
    size_t k = fz_bytes(in, buf, sizeof(buf));
    if (m->in_len + k > MODEL_MAX)
        k = MODEL_MAX - m->in_len;
    ssize_t w = k ? write(m->in_w, buf, k) : 0;
    for (ssize_t i = 0; i < w; i++)
        m->in[(m->in_head + m->in_len++) % MODEL_MAX] = buf[i];
    pump(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct fz_in in = { data, size };
    int inp[2], outp[2];
    memset(&m, 0, sizeof(m));
    m.loop_ok = fz_u8(&in) & 1;
    if (pipe2(inp, O_CLOEXEC | O_NONBLOCK) ||
        pipe2(outp, O_CLOEXEC | O_NONBLOCK))
        abort();
    m.in_w = inp[1];
    m.out_r = outp[0];
    struct chardev_stdio_config cc = { .in_fd = inp[0], .out_fd = outp[1],
                                       .pump = true };
    struct irq_line irq = { .trigger = trigger, .set_level = set_level,
                            .ctx = &m };
    if (chardev_stdio_open(&m.cd, &cc) ||
        serial_init(&m.s, m.cd, true, &irq))
        abort();
    for (unsigned n = 0; in.n && n < 4096; n++) {
        uint8_t op = fz_u8(&in) % 8;
        if (op < 6)
            op_io(&m, &in);
        else if (op == 6)
            op_type(&m, &in);
        else
            pump(&m);
    }
    /* Everything written while THRE said so reaches the host, and typed
     * input waiting for the guest shows in LSR.DR. */
    pump(&m);
    if (!m.loop_ok) {
        FZ_ASSERT(m.out_seen == m.out_len, "host got %zu of %zu bytes",
                  m.out_seen, m.out_len);
        FZ_ASSERT(!m.in_len || (lsr(&m) & 1),
                  "%zu typed bytes wait, LSR.DR clear", m.in_len);
    }
    serial_destroy(&m.s);
    chardev_close(m.cd);
    close(inp[0]);
    close(inp[1]);
    close(outp[0]);
    close(outp[1]);
    return 0;
}
