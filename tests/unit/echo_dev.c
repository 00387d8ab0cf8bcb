/* SPDX-License-Identifier: MIT */
/* The echo test device: readable bytes of a chain go to its writable part. */
#include "tests/unit/echo_dev.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static int echo_cfg_read(struct vdev *d, uint32_t off, void *buf,
                         uint32_t len)
{
    struct echo_dev *e = d->priv;
    memcpy(buf, e->cfg + off, len);
    return 0;
}

static int echo_cfg_write(struct vdev *d, uint32_t off, const void *buf,
                          uint32_t len)
{
    struct echo_dev *e = d->priv;
    memcpy(e->cfg + off, buf, len);
    return 0;
}

static void echo_one(struct echo_dev *e, struct vq *q, uint8_t *tmp,
                     struct vq_iter *it)
{
    struct vq_buf b;
    uint32_t in = 0, out = 0;
    int r;
    if (e->gate_fd >= 0) {
        uint8_t c;
        atomic_fetch_add_explicit(&e->started, 1, memory_order_seq_cst);
        /* Blocks until the test opens the gate: a request in flight. */
        if (read(e->gate_fd, &c, 1) < 0)
            c = 0;
    }
    while ((r = vq_iter_next(it, &b)) > 0) {
        if (!b.dev_writes) {
            uint32_t n = b.len < ECHO_MAX - in ? b.len : ECHO_MAX - in;
            memcpy(tmp + in, b.p, n);
            in += n;
        } else {
            uint32_t n = b.len < in - out ? b.len : in - out;
            memcpy(b.p, tmp + out, n);
            out += n;
        }
    }
    atomic_fetch_add_explicit(&e->requests, 1, memory_order_seq_cst);
    if (r < 0)
        vq_fail(q, it->head, r);
    else
        vq_push(q, it->head, out);
}

static int echo_process(struct vdev *d, uint16_t qi)
{
    struct echo_dev *e = d->priv;
    struct vq *q = &d->vq[qi];
    for (uint32_t n = 0; n < q->num; n++) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        echo_one(e, q, e->scratch[qi], &it);
    }
    return 1;
}

void echo_init(struct echo_dev *e, unsigned nqueues, uint32_t qsize_max)
{
    memset(e, 0, sizeof(*e));
    e->gate_fd = -1;
    e->ops = (struct vdev_ops){
        .name = "echo",
        .device_id = ECHO_DEVICE_ID,
        .nqueues = nqueues,
        .qsize_max = qsize_max,
        .cfg_size = ECHO_CFG_SIZE,
        .cfg_read = echo_cfg_read,
        .cfg_write = echo_cfg_write,
        .process = echo_process,
    };
}
