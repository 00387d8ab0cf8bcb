/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the 8250/16550A UART (hw/serial.c) as a guest drives it,
 * on a stdio chardev over pipes pumped on the fuzzer's thread
 * (chardev_pump): reads and writes of every width at every offset of its
 * 8 ports, DLAB, loopback, host input typed at any time, a host reader
 * that reads only when the input says (a 4 KiB pipe), and another
 * frontend writing to the same chardev (as the virtio console shares
 * stdout), so THR waits for room. Besides the sanitizers, unless the
 * input enables loopback, models check what the guest and the host see:
 * - input: the guest reads the host's bytes in order, none lost, none
 *   made up; LSR.DR is set whenever typed bytes are waiting;
 * - output: the host gets every byte written to THR while LSR said THRE
 *   and every byte the other frontend got in, in the order they went in
 *   (a byte written while THR is busy is the guest's overrun);
 * - the interrupt line is only ever set to a new level.
 *
 * Input: a mode byte (bit 0: loopback allowed), then ops: an access
 * (offset, size, direction, data), typed input, a chardev round, the
 * host reading, the other frontend writing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/serial.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_MAX 8192
#define OUT_MAX 65536 /* unseen output: the chardev's 16 KiB and the pipe */

struct model {
    bool loop_ok; /* loopback allowed: the byte models are off */
    int level;
    uint8_t lcr;
    /* Typed bytes the guest has not read yet. */
    uint8_t in[MODEL_MAX];
    size_t in_head, in_len;
    /* Bytes the host must still see, in order; a THR byte waiting for
     * room joins them when THRE comes back. */
    uint8_t out[OUT_MAX];
    size_t out_head, out_len, out_seen;
    int thr_wait;          /* -1 or the byte */
    unsigned waits, reads; /* for FZ_DEBUG */
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
        FZ_ASSERT((size_t)n <= m->out_len,
                  "host got %zd more bytes, %zu were written", n, m->out_len);
        for (ssize_t i = 0; i < n; i++) {
            FZ_ASSERT(buf[i] == m->out[m->out_head],
                      "host output differs after %zu bytes", m->out_seen);
            m->out_head = (m->out_head + 1) % OUT_MAX;
            m->out_len--;
            m->out_seen++;
        }
    }
}

static void out_add(struct model *m, const uint8_t *p, size_t n)
{
    if (m->loop_ok)
        return;
    FZ_ASSERT(m->out_len + n <= OUT_MAX, "model full");
    for (size_t i = 0; i < n; i++)
        m->out[(m->out_head + m->out_len++) % OUT_MAX] = p[i];
}

/* A round of the chardev may send a waiting THR byte (EV_OUT). */
static void pump(struct model *m, bool read_too)
{
    for (int i = 0; i < 64; i++) {
        int moved = chardev_pump(m->cd);
        if (m->thr_wait >= 0 && (lsr(m) & 0x20)) {
            uint8_t b = (uint8_t)m->thr_wait;
            out_add(m, &b, 1);
            m->thr_wait = -1;
        }
        if (read_too)
            drain(m);
        if (moved <= 0)
            break;
    }
}

/* The other frontend: what chardev_write took goes out after what is
 * already in (so no THR byte may be waiting with room free). */
static void op_other(struct model *m, struct fz_in *in)
{
    static uint8_t buf[8192];
    size_t n = fz_u16(in) % sizeof(buf);
    memset(buf, fz_u8(in), n);
    size_t took = chardev_write(m->cd, buf, n);
    out_add(m, buf, took);
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
    uint8_t after = lsr(m);
    if (m->loop_ok)
        return;
    /* Replay the access byte by byte (registers are consecutive). */
    for (unsigned i = 0; i < len; i++) {
        unsigned reg = (off + i) & 7;
        bool dlab = m->lcr & 0x80;
        if (write && reg == 3) {
            m->lcr = d[i];
        } else if (write && reg == 0 && !dlab && (before & 0x20)) {
            if (after & 0x20)
                out_add(m, &d[i], 1); /* the chardev took it */
            else
                m->thr_wait = d[i]; /* THR busy until room frees */
            m->waits += !(after & 0x20);
        } else if (!write && reg == 0 && !dlab) {
            uint8_t want = 0;
            if (before & 1) {
                FZ_ASSERT(m->in_len, "LSR.DR set, nothing was typed");
                want = m->in[m->in_head++ % MODEL_MAX];
                m->in_len--;
            }
            FZ_ASSERT(d[i] == want, "RBR read 0x%02x, typed 0x%02x", d[i],
                      want);
            m->reads += !!(before & 1);
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
    pump(m, false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct fz_in in = {data, size};
    int inp[2], outp[2];
    memset(&m, 0, sizeof(m));
    m.loop_ok = fz_u8(&in) & 1;
    if (pipe2(inp, O_CLOEXEC | O_NONBLOCK) ||
        pipe2(outp, O_CLOEXEC | O_NONBLOCK))
        abort();
    m.in_w = inp[1];
    m.out_r = outp[0];
    m.thr_wait = -1;
    fcntl(outp[1], F_SETPIPE_SZ, 4096); /* a host that fills up early */
    struct chardev_stdio_config cc = {
        .in_fd = inp[0], .out_fd = outp[1], .pump = true};
    struct irq_line irq = {
        .trigger = trigger, .set_level = set_level, .ctx = &m};
    if (chardev_stdio_open(&m.cd, &cc) || serial_init(&m.s, m.cd, true, &irq))
        abort();
    for (unsigned n = 0; in.n && n < 4096; n++) {
        uint8_t op = fz_u8(&in) % 10;
        if (op < 6)
            op_io(&m, &in);
        else if (op == 6)
            op_type(&m, &in);
        else if (op == 7)
            pump(&m, false);
        else if (op == 8)
            drain(&m);
        else
            op_other(&m, &in);
    }
    /* Everything written while THRE said so reaches the host, and typed
     * input waiting for the guest shows in LSR.DR. */
    for (int i = 0; i < 16; i++)
        pump(&m, true);
    if (!m.loop_ok) {
        FZ_ASSERT(!m.out_len && m.thr_wait < 0,
                  "host got %zu bytes, %zu more were written", m.out_seen,
                  m.out_len + (m.thr_wait >= 0));
        FZ_ASSERT(!m.in_len || (lsr(&m) & 1),
                  "%zu typed bytes wait, LSR.DR clear", m.in_len);
    }
    if (getenv("FZ_DEBUG"))
        fprintf(stderr,
                "host got %zu bytes; THR waited %u times; guest "
                "read %u typed bytes; %llu overruns\n",
                m.out_seen, m.waits, m.reads,
                (unsigned long long)m.s.tx_overruns);
    serial_destroy(&m.s);
    chardev_close(m.cd);
    close(inp[0]);
    close(inp[1]);
    close(outp[0]);
    close(outp[1]);
    return 0;
}
