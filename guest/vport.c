/* SPDX-License-Identifier: MIT */
/* The multiport virtio-serial driver: handshake, ports and their queues. */
#include "guest/vport.h"
#include "guest/devices.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/timer.h"

#define BIT(f) (1ULL << (f))
#define F_MULTIPORT 1
#define C_MAX_PORTS 4 /* config: max_nr_ports */
#define Q_CIVQ 2
#define Q_COVQ 3

#define E_DEVICE_READY 0
#define E_PORT_ADD 1
#define E_PORT_REMOVE 2
#define E_PORT_READY 3
#define E_CONSOLE_PORT 4
#define E_RESIZE 5
#define E_PORT_OPEN 6
#define E_PORT_NAME 7

#define CTRL_WAIT_US 1000000ULL /* for a free control transmit entry */

static uint16_t rxq(uint32_t id)
{
    return (uint16_t)(id ? 2 * id + 2 : 0);
}

static bool ends_with(const char *s, uint32_t n, const char *suf)
{
    uint32_t k = (uint32_t)strlen(suf);

    return n > k && !memcmp(s + n - k, suf, k);
}

/* The device broke a rule: reset it and never drive it again. */
static void dev_broken(struct vportdev *vd, const char *why)
{
    if (vd->broken)
        return;
    vd->broken = why;
    vdev_reset(vd->dev);
    tg_printf("tg: vport dev=%u broken %s\n", vd->index, why);
}

/* Queues a control message for the device (kicked at the end of the
 * turn). The device takes c_ovq messages in order, so the slot used
 * VPORT_CQSIZE messages ago is free whenever the ring has room. */
static void ctrl_send(struct tg *tg, struct vportdev *vd, uint32_t id,
                      uint16_t event, uint16_t value)
{
    struct vport_ctrl *m;
    struct vq_seg s;
    uint16_t h;
    uint32_t len;

    while (vq_get_used(&vd->covq, &h, &len) > 0)
        ;
    if (!vd->covq.nfree) {
        vq_kick(&vd->covq);
        if (vq_wait_used(&vd->covq, tg, CTRL_WAIT_US, &h, &len) <= 0) {
            dev_broken(vd, "control-transmit-stuck");
            return;
        }
    }
    m = &vd->out[vd->out_next++ % VPORT_CQSIZE];
    m->id = id;
    m->event = event;
    m->value = value;
    s = (struct vq_seg){m, sizeof(*m), false};
    if (vq_post(&vd->covq, &s, 1) < 0)
        dev_broken(vd, "control-transmit-full");
    vd->covq_dirty = true;
}

static int post_rx(struct vport *p, int i)
{
    struct vq_seg s = {p->vd->buf[p->id][i], VPORT_BUF, true};

    p->rx_dirty = true;
    return vq_post(&p->rx, &s, 1) < 0 ? -1 : 0;
}

static int post_ctrl(struct vportdev *vd, int i)
{
    struct vq_seg s = {vd->cbuf[i], VPORT_CTRL_LEN, true};

    vd->civq_dirty = true;
    return vq_post(&vd->civq, &s, 1) < 0 ? -1 : 0;
}

/* Which of our buffers (base, count of size bytes) a used head names. */
static int buf_of(const struct vq *q, uint16_t head, const void *base,
                  uint32_t size, int count)
{
    uint64_t off = q->desc[head].addr - (uint64_t)base;

    if (off % size || off / size >= (uint64_t)count)
        return -1;
    return (int)(off / size);
}

bool vport_rx_next(struct vport *p)
{
    for (unsigned tries = 0; tries <= VPORT_RX_BUFS; tries++) {
        uint16_t h;
        uint32_t len;
        int r, i;

        if (p->cur >= 0 && p->cur_off < p->cur_len)
            return true;
        if (p->cur >= 0)
            vport_rx_done(p);
        if (p->vd->broken)
            return false;
        r = vq_get_used(&p->rx, &h, &len);
        if (r == 0)
            return false;
        i = r < 0 ? -1
                  : buf_of(&p->rx, h, p->vd->buf[p->id], VPORT_BUF,
                           VPORT_RX_BUFS);
        if (i < 0 || len > VPORT_BUF) {
            dev_broken(p->vd, "receiveq-corrupt");
            return false;
        }
        p->cur = i;
        p->cur_off = 0;
        p->cur_len = len;
        p->rx_bytes += len;
    }
    return false; /* only empty buffers came back */
}

void vport_rx_done(struct vport *p)
{
    if (p->cur >= 0 && post_rx(p, p->cur))
        dev_broken(p->vd, "receiveq-full");
    p->cur = -1;
}

int vport_echo_cur(struct vport *p)
{
    uint32_t n = p->cur_len - p->cur_off;
    struct vq_seg s = {p->vd->buf[p->id][p->cur] + p->cur_off, n, false};
    int h = vq_post(&p->tx, &s, 1);

    if (h < 0)
        return -1;
    p->tx_rx[h] = (uint8_t)(p->cur + 1);
    p->tx_bytes += n;
    p->tx_inflight++;
    p->tx_dirty = true;
    p->cur = -1;
    return 0;
}

int vport_send(struct vport *p, const char *s, uint32_t n)
{
    char *a = p->answer[p->answer_next++ % VPORT_QSIZE];
    struct vq_seg seg = {a, n, false};
    int h;

    if (n > VPORT_ANSWER)
        return -1;
    memcpy(a, s, n);
    h = vq_post(&p->tx, &seg, 1);
    if (h < 0)
        return -1;
    p->tx_rx[h] = 0;
    p->tx_bytes += n;
    p->tx_inflight++;
    p->tx_dirty = true;
    return 0;
}

struct vport *vport_find(struct tg *tg, const char *name, uint32_t len)
{
    struct vportset *set = tg->dev.vport;

    for (unsigned d = 0; set && d < set->n; d++)
        for (uint32_t i = 0; i < set->d[d].nports; i++) {
            struct vport *p = &set->d[d].port[i];

            if (p->named && strlen(p->name) == len &&
                !memcmp(p->name, name, len))
                return p;
        }
    return NULL;
}

const char *vport_role_name(const struct vport *p)
{
    static const char *const names[] = {"other", "echo", "ctl", "data"};

    return p->console ? "console" : names[p->role];
}

static void port_named(struct tg *tg, struct vport *p, const uint8_t *b,
                       uint32_t n)
{
    struct vportset *set = tg->dev.vport;

    if (n > VPORT_NAME_MAX)
        n = VPORT_NAME_MAX;
    memcpy(p->name, b, n);
    p->name[n] = 0;
    p->role = ends_with(p->name, n, ".echo")   ? VPORT_ECHO
              : ends_with(p->name, n, ".ctl")  ? VPORT_CTL
              : ends_with(p->name, n, ".data") ? VPORT_DATA
                                               : VPORT_OTHER;
    if (!p->named)
        p->vd->named++;
    p->named = true;
    /* As a program opening /dev/vportNpM would: the device then lets
     * the host's bytes through. */
    ctrl_send(tg, p->vd, p->id, E_PORT_OPEN, 1);
    p->opened = true;
    if (set->reporting)
        tg_printf("tg: vport dev=%u port=%u name=%s role=%s host_open=%u\n",
                  p->vd->index, p->id, p->name, vport_role_name(p),
                  p->host_open);
}

static void ctrl_handle(struct tg *tg, struct vportdev *vd, const uint8_t *b,
                        uint32_t len)
{
    struct vportset *set = tg->dev.vport;
    struct vport_ctrl m;
    struct vport *p;

    if (len < sizeof(m)) {
        vd->ctrl_bad++;
        return;
    }
    memcpy(&m, b, sizeof(m));
    vd->ctrl_in++;
    if (m.id >= vd->nports) {
        if (m.event == E_PORT_ADD) /* more ports than we have queues */
            ctrl_send(tg, vd, m.id, E_PORT_READY, 0);
        else
            vd->ctrl_bad++;
        return;
    }
    p = &vd->port[m.id];
    switch (m.event) {
    case E_PORT_ADD:
        p->added = true;
        ctrl_send(tg, vd, m.id, E_PORT_READY, 1);
        break;
    case E_PORT_REMOVE:
        p->added = p->opened = false;
        break;
    case E_CONSOLE_PORT:
        /* With vport_hello, one line on it: a test sees the console
         * port carry data. Not by default: the console is not ours. */
        if (!p->console && set->hello &&
            vport_send(p, "tg-vport: console\n", 18) == 0)
            vd->console_hello = true;
        p->console = true;
        break;
    case E_PORT_OPEN:
        p->host_open = m.value != 0;
        if (set->reporting)
            tg_printf("tg: vport dev=%u port=%u host_open=%u\n", vd->index,
                      m.id, p->host_open);
        break;
    case E_PORT_NAME:
        port_named(tg, p, b + sizeof(m), len - (uint32_t)sizeof(m));
        break;
    case E_RESIZE:
        break;
    default:
        vd->ctrl_bad++;
    }
}

/* Transmits that came back: an echoed buffer returns to receiving. */
static int tx_reclaim(struct vport *p)
{
    uint16_t h;
    uint32_t len;
    int r, work = 0;

    while ((r = vq_get_used(&p->tx, &h, &len)) > 0) {
        work++;
        p->tx_inflight--;
        if (p->tx_rx[h] && post_rx(p, p->tx_rx[h] - 1))
            r = -1;
        p->tx_rx[h] = 0;
        if (r < 0)
            break;
    }
    if (r < 0)
        dev_broken(p->vd, "transmitq-corrupt");
    return work;
}

static void kick_dirty(struct vportdev *vd)
{
    if (vd->civq_dirty)
        vq_kick(&vd->civq);
    if (vd->covq_dirty)
        vq_kick(&vd->covq);
    vd->civq_dirty = vd->covq_dirty = false;
    for (uint32_t i = 0; i < vd->nports; i++) {
        struct vport *p = &vd->port[i];

        if (p->rx_dirty)
            vq_kick(&p->rx);
        if (p->tx_dirty)
            vq_kick(&p->tx);
        p->rx_dirty = p->tx_dirty = false;
    }
}

/* One turn for a device: control messages, then every open named port. */
int vport_serve(struct tg *tg, struct vportdev *vd)
{
    uint16_t h;
    uint32_t len;
    int r = 0, work = 0;

    while (!vd->broken && (r = vq_get_used(&vd->civq, &h, &len)) > 0) {
        int i = buf_of(&vd->civq, h, vd->cbuf, VPORT_CTRL_LEN, VPORT_CQSIZE);

        if (i < 0 || len > VPORT_CTRL_LEN) {
            r = -1;
            break;
        }
        ctrl_handle(tg, vd, vd->cbuf[i], len);
        if (post_ctrl(vd, i))
            r = -1;
        work++;
    }
    if (!vd->broken && r < 0)
        dev_broken(vd, "control-receiveq-corrupt");
    for (uint32_t i = 0; i < vd->nports && !vd->broken; i++) {
        struct vport *p = &vd->port[i];

        if (!p->named || !p->opened)
            continue;
        work += tx_reclaim(p);
        work += vportsrv_rx(tg, p);
    }
    if (!vd->broken)
        kick_dirty(vd);
    return work;
}

static void port_init(struct vportdev *vd, uint32_t id)
{
    struct vport *p = &vd->port[id];

    /* Everything after the rings: they are set up by vq_setup. */
    memset(&p->vd, 0, sizeof(*p) - __builtin_offsetof(struct vport, vd));
    p->vd = vd;
    p->id = id;
    p->cur = -1;
}

/* Device interrupts end the idle hlt: routed once the idle tick runs
 * (tried again later if it did not yet: the tick may start after us). */
void vport_irq_enable(struct tg *tg, struct vportdev *vd)
{
    if (vd->dev->irq_wake || !vdev_irq_wake(vd->dev, tg))
        return;
    vq_irq_enable(&vd->civq);
    vq_irq_enable(&vd->covq);
    for (uint32_t id = 0; id < vd->nports; id++) {
        vq_irq_enable(&vd->port[id].rx);
        vq_irq_enable(&vd->port[id].tx);
    }
}

int vport_dev_start(struct tg *tg, struct vportdev *vd, const char **why)
{
    struct vdev *d = vd->dev;
    uint32_t max;

    if (vdev_start(d, BIT(F_MULTIPORT), why))
        return -1;
    if (!(d->features & BIT(F_MULTIPORT))) {
        vdev_reset(d); /* a plain console: not ours */
        return 1;
    }
    max = vdev_cfg32(d, C_MAX_PORTS);
    vd->nports = max < VPORT_PORTS ? max : VPORT_PORTS;
    if (!vd->nports) {
        *why = "max_nr_ports=0";
        vdev_reset(d);
        return -1;
    }
    if (vq_setup(&vd->civq, d, Q_CIVQ, VPORT_CQSIZE, why) ||
        vq_setup(&vd->covq, d, Q_COVQ, VPORT_CQSIZE, why))
        return -1;
    for (int i = 0; i < VPORT_CQSIZE; i++)
        if (post_ctrl(vd, i)) {
            *why = "control-receiveq-too-small";
            return -1;
        }
    for (uint32_t id = 0; id < vd->nports; id++) {
        struct vport *p = &vd->port[id];

        port_init(vd, id);
        if (vq_setup(&p->rx, d, rxq(id), VPORT_QSIZE, why) ||
            vq_setup(&p->tx, d, rxq(id) + 1, VPORT_QSIZE, why))
            return -1;
        for (int i = 0; i < VPORT_RX_BUFS; i++)
            if (post_rx(p, i)) {
                *why = "receiveq-too-small";
                return -1;
            }
    }
    vport_irq_enable(tg, vd);
    vdev_driver_ok(d);
    ctrl_send(tg, vd, 0, E_DEVICE_READY, 1);
    kick_dirty(vd);
    return vd->broken ? -1 : 0;
}
