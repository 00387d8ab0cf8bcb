/* SPDX-License-Identifier: MIT */
/* The stdio character backend: kvmini's own stdin/stdout, raw mode, Ctrl-A. */
#define LOG_TAG "chardev"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/chardev_priv.h"
#include "hw/log.h"
#include "hw/term.h"

struct cd_stdio {
    struct term term;
    int in_fd, out_fd;   /* the caller's, for termios and the size */
    int own_in, own_out; /* our nonblocking copies, or -1 */
    bool escapes;        /* a terminal in raw mode: Ctrl-A is ours */
    bool quit_sent;
    void (*quit)(void *ctx);
    void *quit_ctx;
};

/*
 * A nonblocking fd for the same pipe, FIFO or terminal, without setting
 * O_NONBLOCK on the caller's: that flag lives in the open file
 * description, which the shell and our own stderr often share. Opening
 * /proc/self/fd/N makes a new description. Regular files never block;
 * anything else (a socket) stays blocking: *may_block.
 */
static int stdio_private_fd(int fd, int acc, bool *may_block)
{
    struct stat st;
    *may_block = false;
    if (fd < 0 || fstat(fd, &st) < 0 || S_ISREG(st.st_mode) ||
        S_ISBLK(st.st_mode))
        return -1;
    char path[40];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (nfd < 0)
        *may_block = true;
    return nfd;
}

static size_t stdio_filter(struct chardev *c, const uint8_t *in, size_t n,
                           uint8_t *out)
{
    struct cd_stdio *s = c->priv;
    if (s->quit_sent)
        return 0; /* the VM is stopping: nothing more for the guest */
    bool quit;
    size_t k = term_filter(&s->term, in, n, out, &quit);
    if (quit) {
        s->quit_sent = true;
        if (s->quit)
            s->quit(s->quit_ctx);
    }
    return k;
}

static int stdio_size(int fd, uint16_t *cols, uint16_t *rows)
{
    struct winsize ws;
    if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_col || !ws.ws_row)
        return -ENOTTY;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
    return 0;
}

static int stdio_winsize(struct chardev *c, uint16_t *cols, uint16_t *rows)
{
    struct cd_stdio *s = c->priv;
    if (stdio_size(s->out_fd, cols, rows) == 0)
        return 0;
    return stdio_size(s->in_fd, cols, rows);
}

static void stdio_free(struct cd_stdio *s)
{
    term_restore(&s->term);
    if (s->own_in >= 0)
        close(s->own_in);
    if (s->own_out >= 0)
        close(s->own_out);
    free(s);
}

static void stdio_close(struct chardev *c)
{
    stdio_free(c->priv);
}

static const struct chardev_ops stdio_ops = {
    .name = "stdio",
    .drop_hint = " (Ctrl-A x still quits)",
    .filter = stdio_filter,
    .winsize = stdio_winsize,
    .close = stdio_close,
};

static const struct chardev_ops stdio_plain_ops = {
    .name = "stdio",
    .winsize = stdio_winsize,
    .close = stdio_close,
};

int chardev_stdio_open(struct chardev **out,
                       const struct chardev_stdio_config *cfg)
{
    struct cd_stdio *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    *s = (struct cd_stdio){.in_fd = cfg->in_fd,
                           .out_fd = cfg->out_fd,
                           .quit = cfg->quit,
                           .quit_ctx = cfg->quit_ctx};
    bool in_block, out_block;
    s->own_in = stdio_private_fd(cfg->in_fd, O_RDONLY, &in_block);
    s->own_out = stdio_private_fd(cfg->out_fd, O_WRONLY, &out_block);
    /* Raw mode on a terminal: every key goes to the guest, so Ctrl-A is
     * the only way out and must be seen even while the guest reads
     * nothing (scan_when_full). */
    s->term.fd = -1;
    if (cfg->in_fd >= 0)
        term_init(&s->term, cfg->in_fd, cfg->raw);
    s->escapes = s->term.is_tty && cfg->raw;
    struct chardev *c;
    int r = chardev_new(&c, s->escapes ? &stdio_ops : &stdio_plain_ops, s,
                        s->own_in >= 0 ? s->own_in : cfg->in_fd,
                        s->own_out >= 0 ? s->own_out : cfg->out_fd);
    if (r < 0) {
        stdio_free(s);
        return r;
    }
    /* A blocking stdin is read only after POLLIN, so it cannot block;
     * a blocking stdout is written in pieces a pipe takes whole. */
    (void)in_block;
    c->out_may_block = out_block;
    c->scan_when_full = s->escapes;
    r = cfg->pump ? 0 : chardev_start(c);
    if (r < 0) {
        chardev_close(c);
        return r;
    }
    *out = c;
    return 0;
}
