/* SPDX-License-Identifier: MIT */
/* The per-queue worker thread: wait for a kick, serve, interrupt. */
#define LOG_TAG "vworker"
#include "virtio/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "hw/log.h"

int vworker_serve(struct vdev *d, uint16_t qi)
{
    struct vq *q = &d->vq[qi];
    uint64_t before = atomic_load_explicit(&q->st.chains, memory_order_relaxed);
    int more = d->ops->process(d, qi);
    log_cat(LOG_CAT_VIRTIO, "%s: q%u served %llu chain(s)%s", d->ops->name, qi,
            (unsigned long long)(atomic_load_explicit(&q->st.chains,
                                                      memory_order_relaxed) -
                                 before),
            more ? ", more pending" : "");
    /* Completions of this round go out in one interrupt, raised even if
     * the queue broke meanwhile: those chains are finished. */
    if (vq_want_irq(q))
        vdev_notify(d, qi);
    if (q->broken) {
        vdev_needs_reset(d, "malformed ring");
        return 0;
    }
    return more > 0;
}

static void *worker_main(void *arg)
{
    struct vworker *w = arg;
    struct vdev *d = w->d;
    struct vq *q = &d->vq[w->qi];
    /* Serve once at start: the driver may have posted and kicked before
     * DRIVER_OK, and that kick may have been drained by a reset. */
    bool run = true;

    for (;;) {
        int more = run && !q->broken ? vworker_serve(d, w->qi) : 0;
        int bfd = -1;
        if (!q->broken && d->ops->poll_fd)
            bfd = d->ops->poll_fd(d, w->qi);
        /* poll_fd may look at the ring (vq_peek) and find it broken: that
         * needs the driver's reset as much as a break inside process(). */
        if (q->broken) {
            vdev_needs_reset(d, "malformed ring");
            bfd = -1;
            more = 0;
        }
        struct pollfd p[3] = {
            { .fd = w->stop_fd, .events = POLLIN },
            { .fd = w->kick_fd, .events = POLLIN },
            { .fd = bfd, .events = POLLIN },
        };
        int r = poll(p, bfd >= 0 ? 3 : 2, more ? 0 : -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            log_err("%s: q%u: poll: %s", d->ops->name, w->qi,
                    strerror(errno));
            break;
        }
        if (p[0].revents)
            break;
        run = more;
        if (p[1].revents & POLLIN) {
            uint64_t n;
            /* Nonblocking eventfd: the value is the number of kicks
             * since the last read, ioeventfd and trapped ones alike. */
            if (read(w->kick_fd, &n, sizeof(n)) == sizeof(n)) {
                atomic_fetch_add_explicit(&q->st.kicks, n,
                                          memory_order_relaxed);
                log_cat(LOG_CAT_VIRTIO, "%s: q%u kick x%llu", d->ops->name,
                        w->qi, (unsigned long long)n);
            }
            run = true;
        }
        if (bfd >= 0 && p[2].revents)
            run = true;
    }
    return NULL;
}

int vworker_start(struct vworker *w, struct vdev *d, uint16_t qi,
                  int kick_fd, int stop_fd)
{
    w->d = d;
    w->qi = qi;
    w->kick_fd = kick_fd;
    w->stop_fd = stop_fd;
    int r = pthread_create(&w->th, NULL, worker_main, w);
    if (r)
        return -r;
    w->running = true;
    return 0;
}

void vworker_join(struct vworker *w)
{
    if (!w->running)
        return;
    pthread_join(w->th, NULL);
    w->running = false;
}
