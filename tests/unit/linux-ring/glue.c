/* SPDX-License-Identifier: MIT */
/*
 * The driver side of the Linux ring test: Linux's own virtio_ring.c
 * (vring_new_virtqueue, virtqueue_add_sgs, virtqueue_kick,
 * virtqueue_get_buf, vring_interrupt) drives kvmini devices through the
 * fake guest. Sees only Linux's tools/virtio headers plus lr.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "lr.h"
#include "lr_linux.h"

/* The tools/virtio shims declare these; the test defines them. */
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;

#define LR_ALIGN 4096 /* also the legacy QueueAlign the host programs */
#define LR_MAXOUT 4

static struct virtio_device lr_vdev;
struct lr_vq lr_q[LR_MAXQ];

static bool lr_vq_notify(struct virtqueue *vq)
{
    lr_notify(vq->index);
    return true;
}

static void lr_vq_callback(struct virtqueue *vq)
{
    lr_q[vq->index].callbacks++;
}

/* Create queue qi with Linux's ring code and tell the device where it
 * is, the way virtio_mmio.c does (legacy: one page-aligned block). */
static int lr_make_queue(unsigned qi, unsigned num)
{
    size_t sz = vring_size(num, LR_ALIGN);
    void *pages = lr_alloc(sz, LR_ALIGN);
    memset(pages, 0, sz);
    struct virtqueue *vq = vring_new_virtqueue(
        qi, num, LR_ALIGN, &lr_vdev, true, false, pages, lr_vq_notify,
        lr_vq_callback, "lr");
    if (!vq)
        return -ENOMEM;
    struct vring vr;
    vring_init(&vr, num, pages, LR_ALIGN);
    lr_q[qi] = (struct lr_vq){ .vq = vq };
    return lr_setup_queue(qi, num, (uint64_t)(unsigned long)vr.desc,
                          (uint64_t)(unsigned long)vr.avail,
                          (uint64_t)(unsigned long)vr.used);
}

int lr_start(unsigned nq, unsigned num)
{
    memset(&lr_vdev, 0, sizeof(lr_vdev));
    lr_vdev.features = lr_features();
    INIT_LIST_HEAD(&lr_vdev.vqs);
    spin_lock_init(&lr_vdev.vqs_list_lock);
    for (unsigned i = 0; i < nq; i++) {
        int r = lr_make_queue(i, num);
        if (r)
            return r;
    }
    return lr_driver_ok();
}

void lr_stop(unsigned nq)
{
    for (unsigned i = 0; i < nq; i++)
        vring_del_virtqueue(lr_q[i].vq);
}

/* Nothing completed: re-enable callbacks; if none is pending, sleep on
 * the interrupt and run vring_interrupt like virtio_mmio's handler. */
int lr_wait(unsigned nq)
{
    uint64_t c = lr_irq_count();
    bool pending = false;
    for (unsigned i = 0; i < nq; i++)
        if (!virtqueue_enable_cb(lr_q[i].vq))
            pending = true;
    if (!pending) {
        if (lr_irq_wait(c))
            return -ETIMEDOUT;
        lr_isr_ack();
        for (unsigned i = 0; i < nq; i++)
            vring_interrupt(0, lr_q[i].vq);
    }
    for (unsigned i = 0; i < nq; i++)
        virtqueue_disable_cb(lr_q[i].vq);
    return 0;
}

struct lr_req {
    uint32_t cookie;
    unsigned nout;
    uint8_t out[LR_MAXOUT][8];
    uint8_t in[LR_MAXOUT * 8 + 8];
};

struct lr_qstate {
    struct lr_req *pool, **free;
    unsigned nfree, posted, done;
    uint8_t *seen;
};

static int lr_post_echo(struct lr_qstate *s, unsigned qi,
                        const struct lr_echo_case *c)
{
    while (s->posted < c->requests && s->nfree) {
        struct lr_req *r = s->free[--s->nfree];
        struct scatterlist sg[LR_MAXOUT + 1], *sgs[LR_MAXOUT + 1];
        r->cookie = s->posted;
        r->nout = 1 + s->posted % c->max_out;
        for (unsigned i = 0; i < r->nout; i++) {
            for (unsigned j = 0; j < 8; j++)
                r->out[i][j] = (uint8_t)(r->cookie * 31 + i * 8 + j + qi);
            sg_init_one(&sg[i], r->out[i], 8);
            sgs[i] = &sg[i];
        }
        memset(r->in, 0, sizeof(r->in));
        sg_init_one(&sg[r->nout], r->in, sizeof(r->in));
        sgs[r->nout] = &sg[r->nout];
        if (virtqueue_add_sgs(lr_q[qi].vq, sgs, r->nout, 1, r, GFP_ATOMIC)) {
            s->free[s->nfree++] = r;
            break;
        }
        s->posted++;
    }
    virtqueue_kick(lr_q[qi].vq);
    return 0;
}

static int lr_reap_echo(struct lr_qstate *s, unsigned qi,
                        const struct lr_echo_case *c, char *why, size_t wl)
{
    unsigned len, n = 0;
    struct lr_req *r;
    while ((r = virtqueue_get_buf(lr_q[qi].vq, &len))) {
        if (len != r->nout * 8 || memcmp(r->in, r->out, len) ||
            r->cookie >= c->requests || s->seen[r->cookie]++) {
            snprintf(why, wl, "q%u: request %u: bad completion (len %u)", qi,
                     r->cookie, len);
            return -EBADMSG;
        }
        s->free[s->nfree++] = r;
        s->done++;
        n++;
    }
    return n;
}

int lr_echo(const struct lr_echo_case *c, char *why, size_t whylen)
{
    static struct lr_qstate st[LR_MAXQ];
    int err = lr_start(c->nq, c->num);
    if (err) {
        snprintf(why, whylen, "queue setup/DRIVER_OK refused");
        return err;
    }
    for (unsigned q = 0; q < c->nq; q++) {
        struct lr_qstate *s = &st[q];
        memset(s, 0, sizeof(*s));
        s->pool = lr_alloc(c->num * sizeof(*s->pool), 64);
        s->free = lr_alloc(c->num * sizeof(*s->free), 8);
        s->seen = lr_alloc(c->requests, 1);
        memset(s->seen, 0, c->requests);
        for (unsigned i = 0; i < c->num; i++)
            s->free[s->nfree++] = &s->pool[i];
    }
    unsigned left = c->nq;
    while (left && !err) {
        int progress = 0;
        left = 0;
        for (unsigned q = 0; q < c->nq && !err; q++) {
            lr_post_echo(&st[q], q, c);
            int n = lr_reap_echo(&st[q], q, c, why, whylen);
            if (n < 0)
                err = n;
            progress += n > 0;
            left += st[q].done < c->requests;
        }
        if (!err && left && !progress && (err = lr_wait(c->nq)))
            snprintf(why, whylen, "no interrupt: a completion was lost");
    }
    lr_stop(c->nq);
    return err;
}

int lr_console(uint8_t *in_dst, size_t in_len, const uint8_t *out_src,
               size_t out_len, char *why, size_t whylen)
{
    enum { NUM = 64, RXB = 100, TXB = 1000 };
    int err = lr_start(2, NUM);
    if (err) {
        snprintf(why, whylen, "console queue setup refused");
        return err;
    }
    struct virtqueue *rx = lr_q[0].vq, *tx = lr_q[1].vq;
    uint8_t *rxbuf = lr_alloc(NUM * RXB, 64);
    uint8_t *txbuf = lr_alloc(out_len + 1, 64);
    memcpy(txbuf, out_src, out_len);
    struct scatterlist sg;
    for (unsigned i = 0; i < NUM; i++) {
        sg_init_one(&sg, rxbuf + i * RXB, RXB);
        virtqueue_add_inbuf(rx, &sg, 1, rxbuf + i * RXB, GFP_ATOMIC);
    }
    virtqueue_kick(rx);
    size_t got = 0, sent = 0, acked = 0;
    while (!err && (got < in_len || acked < out_len)) {
        while (sent < out_len) {
            size_t n = out_len - sent < TXB ? out_len - sent : TXB;
            sg_init_one(&sg, txbuf + sent, n);
            if (virtqueue_add_outbuf(tx, &sg, 1, (void *)(unsigned long)n,
                                     GFP_ATOMIC))
                break;
            sent += n;
        }
        virtqueue_kick(tx);
        int progress = 0;
        unsigned len;
        void *tok;
        while ((tok = virtqueue_get_buf(tx, &len))) {
            acked += (unsigned long)tok;
            progress++;
        }
        while ((tok = virtqueue_get_buf(rx, &len))) {
            if (len > RXB || got + len > in_len) {
                snprintf(why, whylen, "RX used length %u too big", len);
                err = -EBADMSG;
                break;
            }
            memcpy(in_dst + got, tok, len);
            got += len;
            sg_init_one(&sg, tok, RXB);
            virtqueue_add_inbuf(rx, &sg, 1, tok, GFP_ATOMIC);
            progress++;
        }
        virtqueue_kick(rx);
        if (!err && !progress && (err = lr_wait(2)))
            snprintf(why, whylen, "console: no interrupt (rx %zu/%zu)", got,
                     in_len);
    }
    lr_stop(2);
    return err;
}
