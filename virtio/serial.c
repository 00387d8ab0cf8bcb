/* SPDX-License-Identifier: MIT */
/* virtio-serial: the ports, their data queues and the config space. */
#define LOG_TAG "vser"
#include "virtio/serial_priv.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/virtio_spec.h"

void vser_ev_signal(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0)
        log_warn_rl("serial: eventfd: %s", strerror(errno));
}

static void ev_drain(int fd)
{
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0)
        v = 0; /* nonblocking: nothing pending is fine */
}

/* Queue qi's port: 0,1 -> 0; 4,5 -> 1; ... (2,3 are the control pair). */
static struct vser_port *q_port(struct vser *s, uint16_t qi)
{
    uint32_t id = qi < 2 ? 0 : qi / 2u - 1;
    return id < s->nports ? &s->port[id] : NULL;
}

/* The chardev's backend thread: wake whoever waits for it. */
static void port_notify(void *ctx, unsigned ev)
{
    struct vser_port *p = ctx;
    if (ev & CHARDEV_EV_IN)
        vser_ev_signal(p->rx_ev);
    if (ev & CHARDEV_EV_OUT)
        vser_ev_signal(p->tx_ev);
    if ((ev & CHARDEV_EV_PEER) && !p->console)
        vser_ctrl_owe(p, VSER_P_OPEN);
    if (ev & CHARDEV_EV_PEER)
        vser_ev_signal(p->rx_ev); /* input may flow again */
}

/* Fill one posted RX chain from the port's chardev; the chain is taken
 * only when there are bytes for it. 1 if a chain was used, else 0. */
static int rx_one(struct vser_port *p, struct vq *q)
{
    if (!atomic_load_explicit(&p->rx_open, memory_order_acquire) ||
        !chardev_in_avail(p->cd))
        return 0;
    struct vq_iter it;
    if (vq_pop(q, &it) <= 0)
        return 0;
    struct vq_buf b;
    int n = 0, r;
    while ((r = vq_iter_next(&it, &b)) > 0 && n < VSER_IOV) {
        if (!b.dev_writes) {
            r = -EPROTO;
            break;
        }
        p->iov[n++] = (struct iovec){b.p, b.len};
    }
    if (r < 0 || n == 0) {
        vq_fail(q, it.head, r < 0 ? r : -EPROTO);
        return 1;
    }
    vq_push(q, it.head, (uint32_t)chardev_readv(p->cd, p->iov, n));
    return 1;
}

enum tx_step { TX_PUSHED, TX_FULL, TX_SPENT };

/* Go on with p's current TX chain for at most *budget bytes. A port
 * with no backend takes the bytes and counts them. */
static enum tx_step tx_resume(struct vser_port *p, struct vq *q, size_t *budget)
{
    for (;;) {
        if (p->tx_left) {
            size_t want = p->tx_left < *budget ? p->tx_left : *budget;
            size_t w = want;
            if (p->present)
                w = chardev_write(p->cd, p->tx_p, want);
            else
                atomic_fetch_add_explicit(&p->s->tx_nowhere, want,
                                          memory_order_relaxed);
            p->tx_p += w;
            p->tx_left -= (uint32_t)w;
            *budget -= w;
            if (w < want)
                return TX_FULL;
            if (p->tx_left)
                return TX_SPENT;
        }
        struct vq_buf b;
        int r = vq_iter_next(&p->tx_it, &b);
        if (r > 0 && b.dev_writes)
            r = -EPROTO;
        if (r > 0) {
            p->tx_p = b.p;
            p->tx_left = b.len;
            if (b.len && !*budget)
                return TX_SPENT;
            continue;
        }
        if (r < 0)
            vq_fail(q, p->tx_it.head, r);
        else
            vq_push(q, p->tx_it.head, 0);
        p->tx_busy = false;
        return TX_PUSHED;
    }
}

/* One TX round: a queue's worth of chains and VSER_TX_BUDGET bytes at
 * most, so a stop is seen within one bounded round. 1 if work is left. */
static int port_tx(struct vser_port *p, struct vq *q)
{
    size_t budget = VSER_TX_BUDGET;
    for (uint32_t n = 0; n < q->num; n++) {
        if (!p->tx_busy) {
            if (vq_pop(q, &p->tx_it) <= 0)
                return 0;
            p->tx_busy = true;
            p->tx_left = 0;
        }
        switch (tx_resume(p, q, &budget)) {
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

static int vser_process(struct vdev *d, uint16_t qi)
{
    struct vser *s = d->priv;
    struct vq *q = &d->vq[qi];
    if (qi == VSER_CIVQ) {
        ev_drain(s->ctrl_ev);
        return vser_civq_process(s, q);
    }
    if (qi == VSER_COVQ)
        return vser_covq_process(s, q);
    struct vser_port *p = q_port(s, qi);
    if (!p) /* a queue past nports cannot be set up: nqueues covers them */
        return 0;
    bool rx = !(qi & 1);
    /* Consume the wake-up before looking, so a later one is not lost. */
    ev_drain(rx ? p->rx_ev : p->tx_ev);
    if (!rx)
        return port_tx(p, q);
    if (!p->present)
        return 0; /* RX buffers of a port with no backend just wait */
    for (uint32_t n = 0; n < q->num; n++)
        if (!rx_one(p, q))
            return 0;
    return 1;
}

static int vser_poll_fd(struct vdev *d, uint16_t qi)
{
    struct vser *s = d->priv;
    if (qi == VSER_CIVQ)
        return s->ctrl_ev;
    if (qi == VSER_COVQ)
        return -1;
    struct vser_port *p = q_port(s, qi);
    if (!p || !p->present)
        return -1;
    if (qi & 1)
        return p->tx_busy ? p->tx_ev : -1; /* a chain waits for room */
    /* Closed to input: rx_ev fires when the guest opens the port. */
    if (!atomic_load_explicit(&p->rx_open, memory_order_acquire))
        return p->rx_ev;
    /* vq_peek re-arms the guest's kick when the ring is empty; input
     * then waits in the chardev. Buffers and input both there already:
     * no event will come, so raise our own. */
    if (vq_peek(&d->vq[qi]) > 0 && chardev_in_avail(p->cd))
        vser_ev_signal(p->rx_ev);
    return p->rx_ev;
}

static int vser_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
    struct vser *s = d->priv;
    memcpy(buf, (const uint8_t *)&s->cfg + off, len);
    return 0;
}

static void vser_attach(struct vdev *d)
{
    struct vser *s = d->priv;
    s->d = d;
}

/* Forget the driver: its handshake and any half-written TX chain. */
static void vser_forget(struct vser *s)
{
    s->dev_ready = false;
    for (uint32_t i = 0; i < s->nports; i++) {
        struct vser_port *p = &s->port[i];
        p->pend = 0;
        p->added = p->ready = p->rx_open = p->guest_open = false;
        p->tx_busy = false;
        p->tx_left = 0;
    }
}

static int vser_start(struct vdev *d)
{
    struct vser *s = d->priv;
    vser_forget(s);
    s->multiport = vdev_has(d, VIRTIO_CONSOLE_F_MULTIPORT);
    /* Without MULTIPORT there is port 0 alone, a plain console that
     * takes input at once. */
    if (!s->multiport)
        s->port[0].rx_open = s->port[0].present;
    atomic_store_explicit(&s->running, true, memory_order_seq_cst);
    return 0;
}

static void vser_stop(struct vdev *d)
{
    struct vser *s = d->priv;
    atomic_store_explicit(&s->running, false, memory_order_seq_cst);
    vser_forget(s);
}

static void vser_stats_print(const struct vdev *d, FILE *f)
{
    struct vser *s = d->priv;
    struct vser_stats st;
    vser_get_stats(s, &st);
    fprintf(f,
            "virtio %s: ports %u ctrl-in %llu ctrl-out %llu ctrl-bad %llu "
            "tx-nowhere %llu\n",
            d->ops->name, s->nports, (unsigned long long)st.ctrl_in,
            (unsigned long long)st.ctrl_out, (unsigned long long)st.ctrl_bad,
            (unsigned long long)st.tx_nowhere);
}

static void vser_stats_walk(const struct vdev *d, const struct counter_sink *k)
{
    struct vser *s = d->priv;
    struct vser_stats st;
    vser_get_stats(s, &st);
    counter_emit(k, "serial", "ports", s->nports);
    counter_emit(k, "serial", "ctrl_in", st.ctrl_in);
    counter_emit(k, "serial", "ctrl_out", st.ctrl_out);
    counter_emit(k, "serial", "ctrl_bad", st.ctrl_bad);
    counter_emit(k, "serial", "tx_nowhere", st.tx_nowhere);
}

int vser_create(struct vser **out, uint32_t nports)
{
    if (nports < 1 || nports > VSER_MAX_PORTS)
        return -EINVAL;
    struct vser *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ctrl_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->ctrl_ev < 0) {
        int r = -errno;
        free(s);
        return r;
    }
    s->nports = nports;
    for (uint32_t i = 0; i < nports; i++) {
        s->port[i].s = s;
        s->port[i].id = i;
        s->port[i].rx_ev = s->port[i].tx_ev = -1;
    }
    s->cfg = (struct vser_cfg){.cols = 80, .rows = 25, .max_nr_ports = nports};
    s->ops = (struct vdev_ops){
        .name = "serial",
        .device_id = VIRTIO_ID_CONSOLE,
        .nqueues = 2 * (nports + 1),
        .qsize_max = 256,
        .cfg_size = sizeof(struct vser_cfg),
        .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE) |
                    VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT),
        .cfg_read = vser_cfg_read,
        .attach = vser_attach,
        .start = vser_start,
        .stop = vser_stop,
        .poll_fd = vser_poll_fd,
        .process = vser_process,
        .stats_print = vser_stats_print,
        .stats_walk = vser_stats_walk,
    };
    *out = s;
    return 0;
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > VSER_NAME_MAX)
        return false;
    for (; *n; n++)
        if (*n <= ' ' || *n > '~')
            return false;
    return true;
}

int vser_add_port(struct vser *s, uint32_t id, const char *name,
                  struct chardev *cd, bool console)
{
    if (id >= s->nports || !cd || (console && id != 0) || (!name && !console) ||
        (name && !name_ok(name)))
        return -EINVAL;
    struct vser_port *p = &s->port[id];
    if (p->present)
        return -EEXIST;
    p->rx_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->tx_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int r = p->rx_ev < 0 || p->tx_ev < 0 ? -errno : 0;
    p->cd = cd;
    p->cl = (struct chardev_client){.notify = port_notify, .ctx = p};
    if (r == 0)
        r = chardev_attach(cd, &p->cl, true);
    if (r < 0) {
        if (p->rx_ev >= 0)
            close(p->rx_ev);
        if (p->tx_ev >= 0)
            close(p->tx_ev);
        p->rx_ev = p->tx_ev = -1;
        p->cd = NULL;
        return r;
    }
    p->console = console;
    if (name) {
        p->name_len = (uint32_t)strlen(name);
        memcpy(p->name, name, p->name_len + 1);
    }
    p->present = true;
    if (console) {
        uint16_t cols, rows;
        if (chardev_winsize(cd, &cols, &rows) == 0 && cols && rows) {
            s->cfg.cols = cols;
            s->cfg.rows = rows;
        }
    }
    return 0;
}

const struct vdev_ops *vser_ops(struct vser *s)
{
    return &s->ops;
}

void vser_destroy(struct vser *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nports; i++) {
        struct vser_port *p = &s->port[i];
        if (!p->present)
            continue;
        chardev_detach(p->cd, &p->cl);
        close(p->rx_ev);
        close(p->tx_ev);
    }
    close(s->ctrl_ev);
    free(s);
}

void vser_resize(struct vser *s, uint16_t cols, uint16_t rows)
{
    if (!s->d) {
        s->cfg.cols = cols;
        s->cfg.rows = rows;
        return;
    }
    struct vdev *d = s->d;
    vdev_cfg_begin(d);
    s->cfg.cols = cols;
    s->cfg.rows = rows;
    bool running = atomic_load_explicit(&s->running, memory_order_seq_cst);
    /* A multiport driver reads the size from RESIZE messages only. */
    bool tell = running && !s->multiport && vdev_has(d, VIRTIO_CONSOLE_F_SIZE);
    vdev_cfg_end(d, tell);
    if (running && s->multiport && s->port[0].console)
        vser_ctrl_owe(&s->port[0], VSER_P_RESIZE);
}

bool vser_guest_open(struct vser *s, uint32_t id)
{
    return id < s->nports &&
           atomic_load_explicit(&s->port[id].guest_open, memory_order_acquire);
}

void vser_get_stats(struct vser *s, struct vser_stats *st)
{
    *st = (struct vser_stats){
        .ctrl_in = atomic_load_explicit(&s->ctrl_in, memory_order_relaxed),
        .ctrl_bad = atomic_load_explicit(&s->ctrl_bad, memory_order_relaxed),
        .ctrl_out = atomic_load_explicit(&s->ctrl_out, memory_order_relaxed),
        .tx_nowhere =
            atomic_load_explicit(&s->tx_nowhere, memory_order_relaxed),
    };
}
