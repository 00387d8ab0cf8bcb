/* SPDX-License-Identifier: MIT */
/* The pty character backend: a new pseudo-terminal for screen or minicom. */
#define LOG_TAG "chardev"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "hw/chardev_priv.h"
#include "hw/log.h"

struct cd_pty {
    int master, slave;
};

static int pty_winsize(struct chardev *c, uint16_t *cols, uint16_t *rows)
{
    struct cd_pty *p = c->priv;
    struct winsize ws;
    if (ioctl(p->master, TIOCGWINSZ, &ws) < 0 || !ws.ws_col || !ws.ws_row)
        return -ENOTTY;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
    return 0;
}

static void pty_free(struct cd_pty *p)
{
    if (p->slave >= 0)
        close(p->slave);
    if (p->master >= 0)
        close(p->master);
    free(p);
}

static void pty_close(struct chardev *c)
{
    pty_free(c->priv);
}

static const struct chardev_ops pty_ops = {
    .name = "pty",
    .winsize = pty_winsize,
    .close = pty_close,
};

int chardev_pty_open(struct chardev **out, const char *label, char *err,
                     size_t errlen)
{
    struct cd_pty *p = calloc(1, sizeof(*p));
    if (!p)
        return errbuf_set(err, errlen, -ENOMEM, "out of memory");
    p->slave = -1;
    char name[CHARDEV_PATH_MAX];
    int r = 0;
    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (p->master < 0 || grantpt(p->master) || unlockpt(p->master) ||
        ptsname_r(p->master, name, sizeof(name)))
        r = -errno;
    /*
     * We hold the slave open ourselves. Without an opener, a master
     * write fails with EIO and, once a peer has come and gone, poll
     * reports POLLHUP for good: detecting peers would take a timer.
     * Held open, the slave just buffers what we write until someone
     * reads it (then the master's writes back up: back-pressure), and
     * peers may come and go as they like.
     */
    if (r == 0) {
        p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p->slave < 0)
            r = -errno;
    }
    /* Raw, as a terminal program expects: no echo of our output back at
     * us, no line editing, no CR/LF mangling, no signals. */
    struct termios t;
    if (r == 0 && tcgetattr(p->slave, &t) == 0) {
        cfmakeraw(&t);
        if (tcsetattr(p->slave, TCSANOW, &t) < 0)
            r = -errno;
    } else if (r == 0) {
        r = -errno;
    }
    if (r < 0) {
        pty_free(p);
        return errbuf_set(err, errlen, r, "cannot create a pty: %s",
                          strerror(-r));
    }
    struct chardev *c;
    r = chardev_new(&c, &pty_ops, p, p->master, p->master);
    if (r < 0) {
        pty_free(p);
        return errbuf_set(err, errlen, r, "pty: %s", strerror(-r));
    }
    snprintf(c->path, sizeof(c->path), "%s", name);
    r = chardev_start(c);
    if (r < 0) {
        chardev_close(c);
        return errbuf_set(err, errlen, r, "pty: %s", strerror(-r));
    }
    /* The one line a user needs: where to point screen or minicom. */
    log_line(NULL, "%s on %s", label, name);
    *out = c;
    return 0;
}
