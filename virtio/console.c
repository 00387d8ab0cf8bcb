/* SPDX-License-Identifier: MIT */
/* virtio-console: one port between the guest and two host fds. */
#define LOG_TAG "vcons"
#include "virtio/console.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/virtio_spec.h"

#define VCONS_RXQ 0
#define VCONS_TXQ 1
#define VCONS_IOV 64 /* buffers of one RX chain filled by one readv */

/* struct virtio_console_config, little-endian like the host. */
struct vcons_cfg {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};

struct vcons {
    int in_fd, out_fd;
    struct vdev *d;
    struct vcons_cfg cfg;   /* under d->cfg_lock */
    uint16_t win_cols, win_rows; /* last TIOCGWINSZ: vcons_update_size */
    _Atomic bool running;   /* between start and stop */
    bool in_eof;            /* RX worker only */
    bool out_broken;        /* TX worker only */
    struct iovec iov[VCONS_IOV]; /* RX worker only */
};

static int vcons_cfg_read(struct vdev *d, uint32_t off, void *buf,
                          uint32_t len)
{
    struct vcons *c = d->priv;
    memcpy(buf, (const uint8_t *)&c->cfg + off, len);
    return 0;
}

/* Fill one RX chain with one readv; 1 if done, 0 if nothing to read. */
static int rx_one(struct vcons *c, struct vq *q)
{
    struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
    /* Check first, pop second: a chain is only taken when there are
     * bytes for it, and read() below then cannot block. */
    if (poll(&p, 1, 0) <= 0)
        return 0;
    struct vq_iter it;
    if (vq_pop(q, &it) <= 0)
        return 0;
    struct vq_buf b;
    int n = 0, r;
    while ((r = vq_iter_next(&it, &b)) > 0 && n < VCONS_IOV) {
        if (!b.dev_writes) {
            r = -EPROTO;
            break;
        }
        c->iov[n++] = (struct iovec){ b.p, b.len };
    }
    if (r < 0 || n == 0) {
        vq_fail(q, it.head, r < 0 ? r : -EPROTO);
        return 1;
    }
    ssize_t got = readv(c->in_fd, c->iov, n);
    if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
            vq_unpop(q);
            return 0;
        }
        if (got < 0)
            log_warn("%s: input: %s", c->d->ops->name, strerror(errno));
        c->in_eof = true; /* stop polling a dead fd */
        vq_unpop(q);
        return 0;
    }
    vq_push(q, it.head, (uint32_t)got);
    return 1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = fd, .events = POLLOUT };
            poll(&pf, 1, -1);
            continue;
        }
        if (w <= 0)
            return -errno;
        p += w;
        len -= w;
    }
    return 0;
}

static void tx_one(struct vcons *c, struct vq *q, struct vq_iter *it)
{
    struct vq_buf b;
    int r;
    while ((r = vq_iter_next(it, &b)) > 0) {
        if (b.dev_writes) {
            r = -EPROTO;
            break;
        }
        if (c->out_broken)
            continue;
        int e = write_all(c->out_fd, b.p, b.len);
        if (e < 0) {
            log_warn("%s: output: %s; dropping output", c->d->ops->name,
                     strerror(-e));
            c->out_broken = true;
        }
    }
    if (r < 0)
        vq_fail(q, it->head, r);
    else
        vq_push(q, it->head, 0);
}

static int vcons_process(struct vdev *d, uint16_t qi)
{
    struct vcons *c = d->priv;
    struct vq *q = &d->vq[qi];
    for (uint32_t n = 0; n < q->num; n++) {
        if (qi == VCONS_RXQ) {
            if (!rx_one(c, q))
                return 0;
            continue;
        }
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        tx_one(c, q, &it);
    }
    return 1;
}

static int vcons_poll_fd(struct vdev *d, uint16_t qi)
{
    struct vcons *c = d->priv;
    if (qi != VCONS_RXQ || c->in_eof)
        return -1;
    /* Only while the guest has room: otherwise bytes stay in the fd.
     * vq_peek re-arms the guest's kick when the ring is empty. */
    return vq_peek(&d->vq[qi]) > 0 ? c->in_fd : -1;
}

static void vcons_attach(struct vdev *d)
{
    struct vcons *c = d->priv;
    c->d = d;
}

static int vcons_start(struct vdev *d)
{
    struct vcons *c = d->priv;
    c->in_eof = c->out_broken = false;
    __atomic_store_n(&c->running, true, __ATOMIC_SEQ_CST);
    return 0;
}

static void vcons_stop(struct vdev *d)
{
    struct vcons *c = d->priv;
    __atomic_store_n(&c->running, false, __ATOMIC_SEQ_CST);
}

static const struct vdev_ops vcons_vdev_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .nqueues = 2,
    .qsize_max = 256,
    .cfg_size = sizeof(struct vcons_cfg),
    .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE),
    .cfg_read = vcons_cfg_read,
    .attach = vcons_attach,
    .start = vcons_start,
    .stop = vcons_stop,
    .poll_fd = vcons_poll_fd,
    .process = vcons_process,
};

const struct vdev_ops *vcons_ops(void)
{
    return &vcons_vdev_ops;
}

static int winsize(int fd, uint16_t *cols, uint16_t *rows)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_col || !ws.ws_row)
        return -ENOTTY;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
    return 0;
}

int vcons_create(struct vcons **out, int in_fd, int out_fd, uint16_t cols,
                 uint16_t rows)
{
    struct vcons *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    if ((!cols || !rows) && winsize(out_fd, &cols, &rows) < 0 &&
        winsize(in_fd, &cols, &rows) < 0) {
        cols = 80;
        rows = 25;
    }
    c->cfg = (struct vcons_cfg){ .cols = cols, .rows = rows,
                                 .max_nr_ports = 1 };
    c->win_cols = cols;
    c->win_rows = rows;
    *out = c;
    return 0;
}

void vcons_destroy(struct vcons *c)
{
    free(c);
}

void vcons_resize(struct vcons *c, uint16_t cols, uint16_t rows)
{
    if (!c->d) { /* not attached yet: nobody to tell */
        c->cfg.cols = cols;
        c->cfg.rows = rows;
        return;
    }
    struct vdev *d = c->d;
    vdev_cfg_begin(d);
    c->cfg.cols = cols;
    c->cfg.rows = rows;
    bool tell = __atomic_load_n(&c->running, __ATOMIC_SEQ_CST) &&
                vdev_has(d, VIRTIO_CONSOLE_F_SIZE);
    vdev_cfg_end(d, tell);
}

void vcons_update_size(struct vcons *c)
{
    uint16_t cols, rows;
    if (winsize(c->out_fd, &cols, &rows) < 0 &&
        winsize(c->in_fd, &cols, &rows) < 0)
        return;
    /* Compared with our own copy, not cfg, which is under cfg_lock. */
    if (cols == c->win_cols && rows == c->win_rows)
        return;
    c->win_cols = cols;
    c->win_rows = rows;
    vcons_resize(c, cols, rows);
}
