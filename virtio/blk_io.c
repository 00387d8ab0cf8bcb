/* SPDX-License-Identifier: MIT */
/* virtio-blk queues: request slots, the io_uring and synchronous engines. */
#define LOG_TAG "vblk"
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/blk_priv.h"

#define CANCEL_TAG UINT64_MAX /* user_data of stop()'s cancel request */

static void queue_free(struct vblk_queue *bq)
{
    if (bq->uring)
        io_uring_queue_exit(&bq->ring);
    if (bq->efd >= 0)
        close(bq->efd);
    free(bq->slot);
    free(bq->iovs);
    free(bq->free);
    *bq = (struct vblk_queue){.efd = -1};
}

/* A ring as deep as the queue (every request in flight at once), and an
 * eventfd the kernel signals per completion: the worker polls it. */
static int ring_init(struct vblk *b, struct vblk_queue *bq, uint32_t n)
{
    int r = b->sync_io ? -ENOSYS : io_uring_queue_init(n, &bq->ring, 0);
    if (r < 0)
        return r;
    bq->uring = true;
    bq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (bq->efd < 0)
        return -errno;
    return io_uring_register_eventfd(&bq->ring, bq->efd);
}

static int queue_init(struct vblk *b, struct vblk_queue *bq, uint32_t num)
{
    int r = ring_init(b, bq, num);
    if (r < 0) {
        if (bq->uring)
            io_uring_queue_exit(&bq->ring);
        if (bq->efd >= 0)
            close(bq->efd);
        bq->uring = false;
        bq->efd = -1;
        if (!atomic_exchange_explicit(&b->told_fallback, true,
                                      memory_order_relaxed))
            log_cat(LOG_CAT_VIRTIO,
                    "%s: io_uring unavailable (%s); using synchronous "
                    "preadv/pwritev, one request at a time per queue",
                    b->path, strerror(-r));
    }
    /* The synchronous engine finishes each request before the next. */
    uint32_t n = bq->uring ? num : 1;
    bq->slot = calloc(n, sizeof(*bq->slot));
    bq->iovs = calloc((size_t)n * VBLK_IOV_MAX, sizeof(*bq->iovs));
    bq->free = calloc(n, sizeof(*bq->free));
    if (!bq->slot || !bq->iovs || !bq->free)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        bq->slot[i].iov = bq->iovs + (size_t)i * VBLK_IOV_MAX;
        bq->free[i] = (uint16_t)(n - 1 - i);
    }
    bq->nslots = bq->nfree = n;
    bq->inflight = 0;
    bq->live = true;
    return 0;
}

int vblk_start(struct vdev *d)
{
    struct vblk *b = d->priv;
    /* §5.2.6.2: without FLUSH negotiated a completed write must already
     * be stable, so every write then carries RWF_DSYNC. */
    b->writethrough = !vdev_has(d, VIRTIO_BLK_F_FLUSH);
    b->legacy = !vdev_has(d, VIRTIO_F_VERSION_1);
    for (unsigned qi = 0; qi < b->ops.nqueues; qi++) {
        if (!d->vq[qi].num)
            continue; /* not set up by the driver: no worker either */
        int r = queue_init(b, &b->q[qi], d->vq[qi].num);
        if (r < 0) {
            log_err("%s: cannot start queue %u: %s", b->path, qi, strerror(-r));
            for (unsigned i = 0; i <= qi; i++)
                queue_free(&b->q[i]);
            return r;
        }
    }
    return 0;
}

/* Wait for everything the ring still holds. Requests not yet started
 * are cancelled (the driver reset the device and gave them up); one the
 * host is executing is waited for, so nothing reaches the image or guest
 * memory after this returns. */
static void queue_drain(struct vblk *b, struct vblk_queue *bq)
{
    if (!bq->uring || !bq->inflight)
        return;
    atomic_fetch_add_explicit(&b->st.reset_waits, bq->inflight,
                              memory_order_relaxed);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
    if (sqe) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, CANCEL_TAG);
    }
    int r = io_uring_submit(&bq->ring);
    if (r < 0)
        log_warn("%s: cancel on reset: %s", b->path, strerror(-r));
    while (bq->inflight) {
        struct io_uring_cqe *cqe;
        r = io_uring_wait_cqe(&bq->ring, &cqe);
        if (r == -EINTR)
            continue;
        if (r < 0) {
            /* Cannot happen with a live ring; freeing the slots now
             * could let the kernel write into freed memory, so keep
             * them (a leak beats corruption). */
            log_err("%s: waiting for I/O on reset: %s", b->path, strerror(-r));
            bq->slot = NULL;
            bq->iovs = NULL;
            return;
        }
        if (cqe->user_data != CANCEL_TAG)
            bq->inflight--;
        io_uring_cqe_seen(&bq->ring, cqe);
    }
}

void vblk_stop(struct vdev *d)
{
    struct vblk *b = d->priv;
    for (unsigned qi = 0; qi < b->ops.nqueues; qi++) {
        if (!b->q[qi].live)
            continue;
        queue_drain(b, &b->q[qi]);
        queue_free(&b->q[qi]);
    }
}

int vblk_poll_fd(struct vdev *d, uint16_t qi)
{
    struct vblk *b = d->priv;
    return b->q[qi].uring ? b->q[qi].efd : -1;
}

bool vblk_busy(const struct vdev *d, uint16_t qi)
{
    const struct vblk *b = d->priv;
    return b->q[qi].inflight > 0; /* this queue's worker only */
}

/* ---- synchronous engine ------------------------------------------------ */

static int run_sync(struct vblk *b, struct vblk_slot *s)
{
    switch (s->type) {
    case VIRTIO_BLK_T_IN:
        return disk_read(&b->dk, s->data, s->ndata, s->off);
    case VIRTIO_BLK_T_OUT:
        return disk_write(&b->dk, s->data, s->ndata, s->off, b->writethrough);
    default:
        return disk_flush(&b->dk);
    }
}

static void finish(struct vblk *b, struct vblk_queue *bq, struct vq *q,
                   struct vblk_slot *s, int host_err)
{
    vblk_complete(b, q, s, host_err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK,
                  host_err);
    bq->free[bq->nfree++] = (uint16_t)(s - bq->slot);
}

static int process_sync(struct vblk *b, struct vblk_queue *bq, struct vq *q)
{
    for (uint32_t n = 0; n < q->num; n++) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            return 0;
        struct vblk_slot *s = &bq->slot[0];
        int st = vblk_decode(b, q, &it, s);
        if (st == VBLK_SUBMIT) {
            int e = run_sync(b, s);
            st = e ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
            vblk_complete(b, q, s, st, e);
        } else if (st != VBLK_DROP) {
            vblk_complete(b, q, s, st, 0);
        }
    }
    return 1;
}

/* ---- io_uring engine ----------------------------------------------------- */

/* Queue the (rest of the) host I/O of s on the ring. */
static void ring_queue(struct vblk *b, struct vblk_queue *bq, struct vq *q,
                       struct vblk_slot *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
    if (!sqe && io_uring_submit(&bq->ring) >= 0)
        sqe = io_uring_get_sqe(&bq->ring);
    if (!sqe) {
        /* The ring is as deep as the queue, so this does not happen;
         * if it did, the request is still served, synchronously. */
        finish(b, bq, q, s, run_sync(b, s));
        return;
    }
    uint64_t off = s->off + s->done;
    int fd = disk_fd_for(&b->dk, s->data, s->ndata, off, s->len - s->done);
    switch (s->type) {
    case VIRTIO_BLK_T_IN:
        io_uring_prep_readv(sqe, fd, s->data, (unsigned)s->ndata, off);
        break;
    case VIRTIO_BLK_T_OUT:
        io_uring_prep_writev(sqe, fd, s->data, (unsigned)s->ndata, off);
        if (b->writethrough)
            sqe->rw_flags = RWF_DSYNC;
        break;
    default:
        /* Covers every write completed before it was submitted: those
         * are in the page cache or on the device already. */
        io_uring_prep_fsync(sqe, b->dk.fd, IORING_FSYNC_DATASYNC);
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(s - bq->slot));
    bq->inflight++;
    if (bq->inflight >
        atomic_load_explicit(&b->st.inflight_peak, memory_order_relaxed))
        atomic_store_explicit(&b->st.inflight_peak, bq->inflight,
                              memory_order_relaxed);
}

static void on_cqe(struct vblk *b, struct vblk_queue *bq, struct vq *q,
                   uint64_t tag, int res)
{
    if (tag >= bq->nslots)
        return; /* stop()'s cancel request */
    struct vblk_slot *s = &bq->slot[tag];
    bq->inflight--;
    if (res == -EINTR || res == -EAGAIN) {
        ring_queue(b, bq, q, s);
        return;
    }
    if (res < 0) {
        finish(b, bq, q, s, res);
        return;
    }
    if (s->type == VIRTIO_BLK_T_IN || s->type == VIRTIO_BLK_T_OUT) {
        uint64_t left = s->len - s->done;
        if (res == 0) { /* end of file: the image shrank under us */
            finish(b, bq, q, s, -EIO);
            return;
        }
        if ((uint64_t)res < left) { /* short: go on from there */
            s->done += (uint64_t)res;
            disk_iov_advance(&s->data, &s->ndata, (size_t)res);
            ring_queue(b, bq, q, s);
            return;
        }
    }
    finish(b, bq, q, s, 0);
}

static void ring_reap(struct vblk *b, struct vblk_queue *bq, struct vq *q)
{
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&bq->ring, &cqe) == 0) {
        uint64_t tag = cqe->user_data;
        int res = cqe->res;
        io_uring_cqe_seen(&bq->ring, cqe);
        on_cqe(b, bq, q, tag, res);
    }
}

/* 1 if some requests could not be handed to the kernel yet. */
static int ring_submit(struct vblk *b, struct vblk_queue *bq)
{
    if (!io_uring_sq_ready(&bq->ring))
        return 0;
    int r = io_uring_submit(&bq->ring);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
        log_warn_rl("%s: io_uring_submit: %s", b->path, strerror(-r));
    return io_uring_sq_ready(&bq->ring) ? 1 : 0;
}

/* Drain the eventfd first, then reap: a completion posted after the
 * read signals it again, so none is slept through. */
static void ring_collect(struct vblk *b, struct vblk_queue *bq, struct vq *q)
{
    uint64_t v;
    if (read(bq->efd, &v, sizeof(v)) < 0)
        v = 0;
    ring_reap(b, bq, q);
}

static int process_ring(struct vblk *b, struct vblk_queue *bq, struct vq *q)
{
    ring_collect(b, bq, q);
    uint32_t n = 0;
    while (n < q->num && bq->nfree) {
        struct vq_iter it;
        if (vq_pop(q, &it) <= 0)
            break;
        n++;
        uint16_t si = bq->free[--bq->nfree];
        struct vblk_slot *s = &bq->slot[si];
        int st = vblk_decode(b, q, &it, s);
        if (st == VBLK_SUBMIT) {
            ring_queue(b, bq, q, s);
            continue;
        }
        if (st != VBLK_DROP)
            vblk_complete(b, q, s, st, 0);
        bq->free[bq->nfree++] = si;
    }
    ring_submit(b, bq);
    /* Reads the page cache already holds complete inside the submit:
     * take them now rather than after another trip through poll(). */
    ring_collect(b, bq, q);
    int pending = ring_submit(b, bq);
    return n == q->num || pending;
}

int vblk_process(struct vdev *d, uint16_t qi)
{
    struct vblk *b = d->priv;
    struct vblk_queue *bq = &b->q[qi];
    struct vq *q = &d->vq[qi];
    return bq->uring ? process_ring(b, bq, q) : process_sync(b, bq, q);
}
