/* SPDX-License-Identifier: MIT */
/* Terminal raw mode and the Ctrl-A escape for the guest console. */
#include "hw/term.h"

#include <unistd.h>

void term_init(struct term *t, int fd, bool raw)
{
    t->fd = fd;
    t->escape = false;
    t->raw = false;
    t->is_tty = isatty(fd) && tcgetattr(fd, &t->saved) == 0;
    if (!t->is_tty || !raw)
        return;
    struct termios r = t->saved;
    cfmakeraw(&r);
    /* Keep output post-processing so kvmini's own messages on stderr
     * still start at column 0. */
    r.c_oflag |= OPOST | ONLCR;
    t->raw = tcsetattr(fd, TCSANOW, &r) == 0;
}

void term_restore(struct term *t)
{
    if (t->raw)
        tcsetattr(t->fd, TCSANOW, &t->saved);
    t->raw = false;
}

size_t term_filter(struct term *t, const uint8_t *in, size_t n, uint8_t *out,
                   bool *quit)
{
    size_t o = 0;
    *quit = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (!t->is_tty) {
            out[o++] = b;
            continue;
        }
        if (t->escape) {
            t->escape = false;
            if (b == 'x' || b == 'X') {
                *quit = true;
                return o;
            }
            if (b != TERM_ESCAPE)
                out[o++] = TERM_ESCAPE; /* not an escape after all */
        } else if (b == TERM_ESCAPE) {
            t->escape = true;
            continue;
        }
        out[o++] = b;
    }
    return o;
}
