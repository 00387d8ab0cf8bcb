/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the terminal's input filter (hw/term.c term_filter), the
 * Ctrl-A escape that every byte typed at a stdio console passes before
 * it reaches the guest. The input is a stream cut into reads of any
 * size, as the backend thread gets them; each read is filtered into a
 * heap buffer of exactly n + 1 bytes (the documented room), so writing
 * one byte more is an ASan report.
 *
 * Checked against a model of the whole stream, so that where the reads
 * are cut never matters: on a terminal, Ctrl-A Ctrl-A is one Ctrl-A,
 * Ctrl-A x or X quits (nothing after it is passed on, and quit is
 * reported by the read that holds the x), Ctrl-A and any other byte pass
 * both, and a Ctrl-A at the end of a read is held until the next; every
 * other byte passes unchanged and in order. Not a terminal: every byte
 * passes and nothing is held.
 *
 * Input: a shape byte (terminal; a Ctrl-A already held), then reads
 * (a length byte and that many bytes) until the input ends.
 */
#include <stdlib.h>
#include <string.h>

#include "hw/term.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

#define STREAM_MAX 8192 /* bytes of one input's reads, all together */

struct model {
    uint8_t out[STREAM_MAX + 1];
    size_t nout;
    size_t quit_at; /* stream offset of the x that quits, or SIZE_MAX */
    bool held;      /* the stream (before quit_at) ends in a lone Ctrl-A */
};

/*
 * The escape rules read off the whole stream as pairs: a Ctrl-A and the
 * byte after it form one unit, any other byte is a unit of its own.
 * Written apart from term_filter's byte-at-a-time state machine.
 */
static void model_run(struct model *m, const uint8_t *s, size_t n, bool tty,
                      bool held)
{
    static uint8_t ext[STREAM_MAX + 1];
    m->nout = 0;
    m->quit_at = SIZE_MAX;
    m->held = false;
    if (!tty) {
        memcpy(m->out, s, n);
        m->nout = n;
        return;
    }
    /* A Ctrl-A held from before the first read pairs with s[0]. */
    size_t off = held ? 1 : 0, e = n + off;
    ext[0] = TERM_ESCAPE;
    memcpy(ext + off, s, n);
    for (size_t i = 0; i < e;) {
        if (ext[i] != TERM_ESCAPE) {
            m->out[m->nout++] = ext[i++];
            continue;
        }
        if (i + 1 == e) {
            m->held = true;
            return;
        }
        uint8_t b = ext[i + 1];
        if (b == 'x' || b == 'X') {
            m->quit_at = i + 1 - off;
            return;
        }
        m->out[m->nout++] = TERM_ESCAPE;
        if (b != TERM_ESCAPE)
            m->out[m->nout++] = b;
        i += 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[STREAM_MAX], got[STREAM_MAX + 1];
    static struct model m;
    static size_t cut[STREAM_MAX + 1];
    struct fz_in in = {data, size};
    uint8_t shape = fz_u8(&in);
    bool tty = shape & 1, held = (shape & 2) && tty;
    size_t n = 0, nreads = 0;

    /* Cut the rest of the input into reads. */
    while (in.n && n < STREAM_MAX) {
        uint8_t tmp[255];
        size_t k = fz_bytes(&in, tmp, sizeof(tmp));
        if (k > STREAM_MAX - n)
            k = STREAM_MAX - n;
        memcpy(stream + n, tmp, k);
        n += k;
        cut[nreads++] = n;
    }
    model_run(&m, stream, n, tty, held);

    struct term t = {.fd = -1, .is_tty = tty, .escape = held};
    size_t ngot = 0, start = 0;
    bool quit = false;
    for (size_t r = 0; r < nreads && !quit; r++) {
        size_t len = cut[r] - start;
        bool was_held = t.escape;
        /* Exactly the documented room, on the heap: ASan sees a byte
         * written past n + 1. */
        uint8_t *out = malloc(len + 1);
        if (!out)
            abort();
        size_t k = term_filter(&t, stream + start, len, out, &quit);
        FZ_ASSERT(k <= len + (was_held ? 1 : 0),
                  "read %zu: %zu bytes in, %zu out (held %d)", r, len, k,
                  was_held);
        FZ_ASSERT(ngot + k <= m.nout, "read %zu: more output than the model",
                  r);
        memcpy(got + ngot, out, k);
        ngot += k;
        free(out);
        bool quits_here = m.quit_at >= start && m.quit_at < cut[r];
        FZ_ASSERT(quit == quits_here,
                  "read %zu [%zu, %zu): quit %d, model quits at %zu", r, start,
                  cut[r], quit, m.quit_at);
        start = cut[r];
    }
    FZ_ASSERT(ngot == m.nout && !memcmp(got, m.out, ngot),
              "output differs from the model: %zu bytes, model %zu", ngot,
              m.nout);
    FZ_ASSERT(quit == (m.quit_at != SIZE_MAX), "quit %d, model %zu", quit,
              m.quit_at);
    if (!quit)
        FZ_ASSERT(t.escape == m.held, "Ctrl-A held %d, model %d", t.escape,
                  m.held);
    if (!tty)
        FZ_ASSERT(!t.escape && ngot == n, "not a terminal, yet filtered");
    return 0;
}
