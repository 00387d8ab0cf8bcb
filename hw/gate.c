/* SPDX-License-Identifier: MIT */
/* The pause gate: worker threads park at it while the VM is paused. */
#define LOG_TAG "gate"
#include "hw/gate.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hw/deadline.h"
#include "hw/log.h"

int gate_init(struct gate *g)
{
    *g = (struct gate){
        .lock = PTHREAD_MUTEX_INITIALIZER, .closed_fd = -1, .open_fd = -1};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    g->closed_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g->open_fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->closed_fd < 0 || g->open_fd < 0) {
        int r = -errno;
        gate_destroy(g);
        return r;
    }
    return 0;
}

void gate_destroy(struct gate *g)
{
    if (g->closed_fd >= 0)
        close(g->closed_fd);
    if (g->open_fd >= 0)
        close(g->open_fd);
    g->closed_fd = g->open_fd = -1;
    pthread_cond_destroy(&g->cond);
}

/* Move the level from one eventfd to the other (under g->lock). */
static void gate_flip(struct gate *g, bool closed)
{
    uint64_t v, one = 1;
    int from = closed ? g->open_fd : g->closed_fd;
    int to = closed ? g->closed_fd : g->open_fd;
    if (read(from, &v, sizeof(v)) < 0)
        v = 0; /* already drained */
    if (write(to, &one, sizeof(one)) != sizeof(one))
        log_err("pause gate: eventfd: %s", "write failed");
    g->closed = closed;
}

int gate_close(struct gate *g, unsigned timeout_ms)
{
    struct timespec end = deadline_after_ms(timeout_ms);
    int r = 0;
    pthread_mutex_lock(&g->lock);
    gate_flip(g, true);
    while (g->parked < g->members && r == 0)
        r = pthread_cond_timedwait(&g->cond, &g->lock, &end);
    if (g->parked < g->members) {
        gate_flip(g, false);
        r = -ETIMEDOUT;
    } else {
        r = 0;
    }
    pthread_mutex_unlock(&g->lock);
    return r;
}

void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    if (g->closed)
        gate_flip(g, false);
    pthread_mutex_unlock(&g->lock);
}

void gate_join(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->members++;
    pthread_mutex_unlock(&g->lock);
}

void gate_leave(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->members--;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

bool gate_is_closed(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    bool c = g->closed;
    pthread_mutex_unlock(&g->lock);
    return c;
}

bool gate_park(struct gate *g, int stop_fd)
{
    pthread_mutex_lock(&g->lock);
    g->parked++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    struct pollfd p[2] = {{.fd = stop_fd, .events = POLLIN},
                          {.fd = g->open_fd, .events = POLLIN}};
    /* Both fds are level-triggered: no wake-up can be missed. EINTR just
     * polls again. */
    while (poll(p, 2, -1) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&g->lock);
    g->parked--;
    pthread_mutex_unlock(&g->lock);
    return p[0].revents != 0;
}
