/* SPDX-License-Identifier: MIT */
/* virtio-console: one port between the guest and a character backend. */
#define LOG_TAG "vcons"
#include "virtio/console.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/virtio_spec.h"

#define VCONS_RXQ 0
#define VCONS_TXQ 1
#define VCONS_IOV 64 /* buffers of one RX chain filled at once */

/* struct virtio_console_config, little-endian like the host. */
struct vcons_cfg {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};

struct vcons {
    struct chardev *cd;
    struct chardev_client cl;
    int rx_ev, tx_ev; /* eventfds: the chardev has input / output room */
    struct vdev *d;
    struct vcons_cfg cfg;        /* under d->cfg_lock */
    uint16_t win_cols, win_rows; /* last size seen: vcons_update_size */
    _Atomic bool running;        /* between start and stop */
    struct iovec iov[VCONS_IOV]; /* RX worker only */
    /* TX worker only: the chain being written when the chardev filled
     * up; its buffers were checked by vq_iter_next and guest RAM never
     * moves, so the pointer stays valid until the chain is pushed. */
    bool tx_busy;
    struct vq_iter tx_it;
    const uint8_t *tx_p;
    uint32_t tx_left; /* bytes of the current buffer not yet taken */
};

static int vcons_cfg_read(struct vdev *d, uint32_t off, void *buf,
                          uint32_t len)
{
    struct vcons *c = d->priv;
    memcpy(buf, (const uint8_t *)&c->cfg + off, len);
    return 0;
}

static void ev_signal(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0)
        log_warn_rl("console: eventfd: %s", strerror(errno));
}

static void ev_drain(int fd)
{
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0)
        v = 0; /* nonblocking: nothing pending is fine */
}

/* The chardev's backend thread: wake the worker that waits for it. */
static void vcons_notify(void *ctx, unsigned ev)
{
    struct vcons *c = ctx;
    if (ev & CHARDEV_EV_IN)
        ev_signal(c->rx_ev);
    if (ev & CHARDEV_EV_OUT)
        ev_signal(c->tx_ev);
}

/* Fill one posted RX chain from the chardev. Input is checked first, so
 * a chain is only taken when there are bytes for it. A chain of empty
 * buffers completes with 0 bytes: an empty read is not the end of input.
 * 1 if a chain was used, 0 if there is no input or no chain. */
static int rx_one(struct vcons *c, struct vq *q)
{
    if (!chardev_in_avail(c->cd))
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
        c->iov[n++] = (struct iovec){b.p, b.len};
    }
    if (r < 0 || n == 0) {
        vq_fail(q, it.head, r < 0 ? r : -EPROTO);
        return 1;
    }
    vq_push(q, it.head, (uint32_t)chardev_readv(c->cd, c->iov, n));
    return 1;
}

enum tx_step { TX_PUSHED, TX_FULL, TX_SPENT };

/* Go on with the TX chain in c->tx_it for at most *budget bytes:
 * TX_PUSHED when it was completed, TX_FULL when the chardev is full (the
 * rest waits for CHARDEV_EV_OUT), TX_SPENT when the budget ran out. */
static enum tx_step tx_resume(struct vcons *c, struct vq *q, size_t *budget)
{
    for (;;) {
        if (c->tx_left) {
            size_t want = c->tx_left < *budget ? c->tx_left : *budget;
            size_t w = chardev_write(c->cd, c->tx_p, want);
            c->tx_p += w;
            c->tx_left -= (uint32_t)w;
            *budget -= w;
            if (w < want)
                return TX_FULL;
            if (c->tx_left)
                return TX_SPENT;
        }
        struct vq_buf b;
        int r = vq_iter_next(&c->tx_it, &b);
        if (r > 0 && b.dev_writes)
            r = -EPROTO;
        if (r > 0) {
            c->tx_p = b.p;
            c->tx_left = b.len;
            if (b.len && !*budget)
                return TX_SPENT;
            continue;
        }
        if (r < 0)
            vq_fail(q, c->tx_it.head, r);
        else
            vq_push(q, c->tx_it.head, 0);
        c->tx_busy = false;
        return TX_PUSHED;
    }
}

/* One TX round: at most a queue's worth of chains and VCONS_TX_BUDGET
 * bytes (a chain may name 2*num-1 buffers each as large as guest RAM,
 * and the ring may name it again and again), so the worker sees a stop
 * within one bounded round. 1 if work is left. */
static int vcons_tx(struct vcons *c, struct vq *q)
{
    size_t budget = VCONS_TX_BUDGET;
    for (uint32_t n = 0; n < q->num; n++) {
        if (!c->tx_busy) {
            if (vq_pop(q, &c->tx_it) <= 0)
                return 0;
            c->tx_busy = true;
            c->tx_left = 0;
        }
        switch (tx_resume(c, q, &budget)) {
        case TX_FULL:
            return 0; /* poll_fd waits for room */
        case TX_SPENT:
            return 1;
        case TX_PUSHED:
            break;
        }
    }
    return 1;
}

static int vcons_process(struct vdev *d, uint16_t qi)
{
    struct vcons *c = d->priv;
    struct vq *q = &d->vq[qi];
    /* Consume the wake-up before looking, so a later one is not lost. */
    ev_drain(qi == VCONS_RXQ ? c->rx_ev : c->tx_ev);
    if (qi == VCONS_TXQ)
        return vcons_tx(c, q);
    for (uint32_t n = 0; n < q->num; n++)
        if (!rx_one(c, q))
            return 0;
    return 1;
}

static int vcons_poll_fd(struct vdev *d, uint16_t qi)
{
    struct vcons *c = d->priv;
    if (qi == VCONS_TXQ)
        return c->tx_busy ? c->tx_ev : -1; /* a chain waits for room */
    if (chardev_in_eof(c->cd))
        return -1;
    /* Only while the guest has room: otherwise bytes stay in the
     * chardev. vq_peek re-arms the guest's kick when the ring is empty. */
    if (vq_peek(&d->vq[qi]) <= 0)
        return -1;
    /* Buffers and input both there already: no event will come (it
     * fires when input reaches an empty buffer), so raise our own. */
    if (chardev_in_avail(c->cd))
        ev_signal(c->rx_ev);
    return c->rx_ev;
}

static void vcons_attach(struct vdev *d)
{
    struct vcons *c = d->priv;
    c->d = d;
}

static int vcons_start(struct vdev *d)
{
    struct vcons *c = d->priv;
    c->tx_busy = false;
    c->tx_left = 0;
    atomic_store_explicit(&c->running, true, memory_order_seq_cst);
    return 0;
}

static void vcons_stop(struct vdev *d)
{
    struct vcons *c = d->priv;
    /* A chain left half written belongs to the old session. */
    c->tx_busy = false;
    c->tx_left = 0;
    atomic_store_explicit(&c->running, false, memory_order_seq_cst);
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

int vcons_create(struct vcons **out, struct chardev *cd, uint16_t cols,
                 uint16_t rows)
{
    struct vcons *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cd = cd;
    c->rx_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->tx_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int r = c->rx_ev < 0 || c->tx_ev < 0 ? -errno : 0;
    c->cl = (struct chardev_client){.notify = vcons_notify, .ctx = c};
    if (r == 0)
        r = chardev_attach(cd, &c->cl, true);
    if (r < 0) {
        if (c->rx_ev >= 0)
            close(c->rx_ev);
        if (c->tx_ev >= 0)
            close(c->tx_ev);
        free(c);
        return r;
    }
    if ((!cols || !rows) && chardev_winsize(cd, &cols, &rows) < 0) {
        cols = 80;
        rows = 25;
    }
    c->cfg = (struct vcons_cfg){.cols = cols, .rows = rows, .max_nr_ports = 1};
    c->win_cols = cols;
    c->win_rows = rows;
    *out = c;
    return 0;
}

void vcons_destroy(struct vcons *c)
{
    if (!c)
        return;
    chardev_detach(c->cd, &c->cl);
    close(c->rx_ev);
    close(c->tx_ev);
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
    bool tell = atomic_load_explicit(&c->running, memory_order_seq_cst) &&
                vdev_has(d, VIRTIO_CONSOLE_F_SIZE);
    vdev_cfg_end(d, tell);
}

void vcons_update_size(struct vcons *c)
{
    uint16_t cols, rows;
    if (chardev_winsize(c->cd, &cols, &rows) < 0)
        return;
    /* Compared with our own copy, not cfg, which is under cfg_lock. */
    if (cols == c->win_cols && rows == c->win_rows)
        return;
    c->win_cols = cols;
    c->win_rows = rows;
    vcons_resize(c, cols, rows);
}
