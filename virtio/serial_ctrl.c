/* SPDX-License-Identifier: MIT */
/* virtio-serial's control queues: the port handshake with the driver. */
#define LOG_TAG "vser"
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "hw/log.h"
#include "virtio/serial_priv.h"

void vser_ctrl_owe(struct vser_port *p, uint32_t bits)
{
    atomic_fetch_or_explicit(&p->pend, bits, memory_order_seq_cst);
    vser_ev_signal(p->s->ctrl_ev);
}

/* The next message owed, in port order and, per port, in bit order:
 * PORT_ADD once the driver is ready, the rest once the driver said
 * PORT_READY for the port (what is owed before waits; the flags merge).
 * True with *pp and *bit set. */
static bool next_owed(struct vser *s, struct vser_port **pp, uint32_t *bit)
{
    bool dev_ready = atomic_load_explicit(&s->dev_ready, memory_order_acquire);
    for (uint32_t i = 0; i < s->nports; i++) {
        struct vser_port *p = &s->port[i];
        uint32_t pend = atomic_load_explicit(&p->pend, memory_order_acquire);
        if (!pend || !p->present)
            continue;
        uint32_t ok = 0;
        if (atomic_load_explicit(&p->ready, memory_order_acquire))
            ok = pend & ~VSER_P_ADD;
        else if (dev_ready &&
                 !atomic_load_explicit(&p->added, memory_order_acquire))
            ok = pend & VSER_P_ADD;
        if (ok) {
            *pp = p;
            *bit = ok & -ok;
            return true;
        }
    }
    return false;
}

/* Write message `bit` about p into the c_ivq scratch: its length. */
static size_t build(struct vser *s, struct vser_port *p, uint32_t bit)
{
    uint8_t *m = s->civq.msg;
    struct vser_ctrl c = {.id = p->id, .value = 1};
    size_t len = sizeof(c);
    switch (bit) {
    case VSER_P_ADD:
        c.event = VSER_PORT_ADD;
        break;
    case VSER_P_CONSOLE:
        c.event = VSER_CONSOLE_PORT;
        break;
    case VSER_P_NAME: /* the name follows, without a NUL */
        c.event = VSER_PORT_NAME;
        memcpy(m + len, p->name, p->name_len);
        len += p->name_len;
        break;
    case VSER_P_OPEN:
        c.event = VSER_PORT_OPEN;
        c.value = chardev_connected(p->cd);
        break;
    default: { /* VSER_P_RESIZE: le16 cols, le16 rows follow */
        c.event = VSER_RESIZE;
        c.value = 0;
        pthread_mutex_lock(&s->d->cfg_lock);
        uint16_t sz[2] = {s->cfg.cols, s->cfg.rows};
        pthread_mutex_unlock(&s->d->cfg_lock);
        memcpy(m + len, sz, sizeof(sz));
        len += sizeof(sz);
        break;
    }
    }
    memcpy(m, &c, sizeof(c));
    return len;
}

/* Copy the message into the chain's writable buffers: bytes written, or
 * -EPROTO (a readable buffer), -EMSGSIZE (too small) or the iterator's
 * error. */
static int put(struct vq_iter *it, const uint8_t *msg, size_t len)
{
    struct vq_buf b;
    size_t done = 0;
    int r;
    while (done < len && (r = vq_iter_next(it, &b)) > 0) {
        if (!b.dev_writes)
            return -EPROTO;
        size_t k = b.len < len - done ? b.len : len - done;
        memcpy(b.p, msg + done, k);
        done += k;
    }
    if (done < len)
        return r < 0 ? r : -EMSGSIZE;
    return (int)done;
}

static void bad(struct vser *s, const char *why, uint32_t id)
{
    atomic_fetch_add_explicit(&s->ctrl_bad, 1, memory_order_relaxed);
    if (log_ratelimit_ok(&s->bad_log, 5))
        log_warn("serial: ignored a control message from the driver: %s "
                 "(port %u)",
                 why, id);
}

/* c_ivq: hand the driver what it is owed, one message per buffer.
 * Nothing is taken from the ring while nothing is owed. */
int vser_civq_process(struct vser *s, struct vq *q)
{
    for (uint32_t n = 0; n < q->num; n++) {
        struct vser_port *p;
        uint32_t bit;
        struct vq_iter it;
        if (!next_owed(s, &p, &bit) || vq_pop(q, &it) <= 0)
            return 0;
        atomic_fetch_and_explicit(&p->pend, ~bit, memory_order_seq_cst);
        size_t len = build(s, p, bit);
        int r = put(&it, s->civq.msg, len);
        if (r < 0) {
            /* Still owed: the next buffer gets it. */
            vq_fail(q, it.head, r);
            bad(s, "control receive buffer unusable", p->id);
            atomic_fetch_or_explicit(&p->pend, bit, memory_order_seq_cst);
            continue;
        }
        /* Before the push: the driver's answer may come at once. */
        if (bit == VSER_P_ADD)
            atomic_store_explicit(&p->added, true, memory_order_release);
        if (bit == VSER_P_CONSOLE) {
            /* A console port is open for input from now on (Linux
             * treats a console as always connected). */
            atomic_store_explicit(&p->rx_open, true, memory_order_release);
            vser_ev_signal(p->rx_ev);
        }
        vq_push(q, it.head, (uint32_t)r);
        atomic_fetch_add_explicit(&s->ctrl_out, 1, memory_order_relaxed);
    }
    return 1;
}

static struct vser_port *known_port(struct vser *s, uint32_t id)
{
    if (id >= s->nports || !s->port[id].present ||
        !atomic_load_explicit(&s->port[id].added, memory_order_acquire))
        return NULL;
    return &s->port[id];
}

static void handle(struct vser *s, const struct vser_ctrl *m)
{
    struct vser_port *p = NULL;
    if (m->event != VSER_DEVICE_READY) {
        p = known_port(s, m->id);
        if (!p) {
            bad(s, "no such port", m->id);
            return;
        }
    }
    if (m->value > 1) {
        bad(s, "value not 0 or 1", m->id);
        return;
    }
    switch (m->event) {
    case VSER_DEVICE_READY:
        if (!s->multiport ||
            atomic_load_explicit(&s->dev_ready, memory_order_acquire)) {
            bad(s, "unexpected DEVICE_READY", m->id);
            return;
        }
        if (!m->value) {
            /* The guest may say so at any rate: limited as bad() is. */
            if (log_ratelimit_ok(&s->bad_log, 5))
                log_warn("serial: the driver could not set up the device");
            break;
        }
        atomic_store_explicit(&s->dev_ready, true, memory_order_release);
        for (uint32_t i = 0; i < s->nports; i++)
            if (s->port[i].present)
                vser_ctrl_owe(&s->port[i], VSER_P_ADD);
        break;
    case VSER_PORT_READY:
        atomic_store_explicit(&p->ready, m->value != 0, memory_order_release);
        if (!m->value) {
            if (log_ratelimit_ok(&s->bad_log, 5))
                log_warn("serial: the driver could not add port %u", p->id);
            break;
        }
        vser_ctrl_owe(p, p->console ? VSER_P_CONSOLE | VSER_P_RESIZE
                                    : VSER_P_NAME | VSER_P_OPEN);
        break;
    case VSER_PORT_OPEN:
        if (p->console) {
            bad(s, "PORT_OPEN on the console", m->id);
            return;
        }
        atomic_store_explicit(&p->guest_open, m->value != 0,
                              memory_order_release);
        atomic_store_explicit(&p->rx_open, m->value != 0, memory_order_release);
        if (m->value)
            vser_ev_signal(p->rx_ev); /* input held for the guest may go */
        break;
    default: /* events only the device sends, or unknown ones */
        bad(s, "unknown event", m->id);
        return;
    }
    atomic_fetch_add_explicit(&s->ctrl_in, 1, memory_order_relaxed);
}

/* c_ovq: take the driver's messages; each buffer is used at once. */
int vser_covq_process(struct vser *s, struct vq *q)
{
    for (uint32_t n = 0; n < q->num; n++) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        struct vser_ctrl m;
        size_t got = 0;
        struct vq_buf b;
        int r;
        /* Snapshot the header, which may span buffers: the guest may
         * rewrite them while we look. */
        while ((r = vq_iter_next(&it, &b)) > 0) {
            if (b.dev_writes) {
                r = -EPROTO;
                break;
            }
            size_t k = b.len < sizeof(m) - got ? b.len : sizeof(m) - got;
            memcpy((uint8_t *)&m + got, b.p, k);
            got += k;
        }
        if (r < 0) {
            vq_fail(q, it.head, r);
            bad(s, "malformed chain", 0);
            continue;
        }
        vq_push(q, it.head, 0);
        if (got < sizeof(m)) {
            bad(s, "shorter than a message", 0);
            continue;
        }
        handle(s, &m);
    }
    return 1;
}
