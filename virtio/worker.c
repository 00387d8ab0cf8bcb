/* SPDX-License-Identifier: MIT */
/* The per-queue worker thread: wait for a kick, serve, interrupt. */
#define LOG_TAG "vworker"
#include "virtio/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hw/log.h"
#include "hw/sandbox.h"
#include "virtio/virtio_spec.h"

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

/* The syscall filter of a device's workers (hw/sandbox_rules.c). */
const char *vworker_kind(const struct vdev_ops *ops)
{
    switch (ops->device_id) {
    case VIRTIO_ID_NET:
        return "vq-net";
    case VIRTIO_ID_BLOCK:
        return "vq-blk";
    case VIRTIO_ID_CONSOLE:
        return "vq-console";
    default:
        return "none"; /* no such kind: the worker refuses to run */
    }
}

static void *worker_main(void *arg)
{
    struct vworker *w = arg;
    struct vdev *d = w->d;
    struct vq *q = &d->vq[w->qi];
    char who[16];
    snprintf(who, sizeof(who), "%.8s.q%u", d->ops->name, w->qi);
    if (sandbox_enter(vworker_kind(d->ops), who) < 0) {
        vdev_needs_reset(d, "worker without its syscall filter");
        return NULL;
    }
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
        /* Paused: park once this round left nothing in flight (a device
         * with host I/O outstanding keeps serving until it completes, so
         * the guest finds every request it posted finished). The gate
         * is polled only while it can be acted on, so waiting for
         * completions does not spin. */
        bool busy = d->ops->busy && d->ops->busy(d, w->qi);
        if (w->gate && !busy && !more && gate_is_closed(w->gate)) {
            if (gate_park(w->gate, w->stop_fd))
                break;
            run = true; /* kicks may have come while parked */
            continue;
        }
        struct pollfd p[4] = {
            { .fd = w->stop_fd, .events = POLLIN },
            { .fd = w->kick_fd, .events = POLLIN },
            { .fd = bfd, .events = POLLIN },
            { .fd = w->gate && !busy ? w->gate->closed_fd : -1,
              .events = POLLIN },
        };
        int r = poll(p, 4, more ? 0 : -1);
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
    if (w->gate)
        gate_leave(w->gate);
    return NULL;
}

int vworker_start(struct vworker *w, struct vdev *d, uint16_t qi,
                  int kick_fd, int stop_fd, struct gate *gate)
{
    w->gate = gate;
    w->d = d;
    w->qi = qi;
    w->kick_fd = kick_fd;
    w->stop_fd = stop_fd;
    /* A member before it exists, so a pause right after DRIVER_OK waits
     * for it too; the thread leaves the gate as it ends. */
    if (gate)
        gate_join(gate);
    /* Through the spawner: a worker born on the vCPU thread would keep
     * the vCPU's filter under its own (hw/sandbox.h). */
    int r = -sandbox_thread_create(&w->th, worker_main, w);
    if (r) {
        if (gate)
            gate_leave(gate);
        return -r;
    }
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
