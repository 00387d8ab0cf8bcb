/* SPDX-License-Identifier: MIT */
/* Pausing device workers (hw/gate): they park only once nothing is in
 * flight, serve nothing while parked, and go on or stop afterwards. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/gate.h"
#include "tests/unit/echo_dev.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/tap.h"
#include "virtio/mmio.h"
#include "virtio/virtio_spec.h"

#define NQ 4
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

static struct echo_dev e;
static _Atomic bool busy_flag;

static bool echo_busy(const struct vdev *d, uint16_t qi)
{
    (void)d;
    return qi == 1 && __atomic_load_n(&busy_flag, __ATOMIC_SEQ_CST);
}

static unsigned parked(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    unsigned n = g->parked;
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* The used index of queue qi reaches want within 10 s (a hang guard). */
static bool used_reaches(struct fake_guest *g, unsigned qi, uint16_t want)
{
    for (int i = 0; i < 10000; i++) {
        if (__atomic_load_n(&g->q[qi].u->idx, __ATOMIC_ACQUIRE) == want)
            return true;
        usleep(1000);
    }
    return false;
}

static void post_one(struct fake_guest *g, unsigned qi)
{
    uint64_t b = fg_alloc(g, 16, 16);
    struct fg_seg s[2] = {{b, 4, false}, {b + 8, 4, true}};
    fg_post(g, qi, s, 2, false);
    fg_kick(g, qi);
}

int main(void)
{
    struct gate gate;
    CHECK(gate_init(&gate) == 0, "gate_init");
    CHECK(gate_close(&gate, 100) == 0 && gate_is_closed(&gate),
          "closing a gate with no members succeeds at once");
    gate_open(&gate);
    CHECK(!gate_is_closed(&gate), "open again");

    struct fake_guest g;
    echo_init(&e, NQ, 64);
    e.ops.busy = echo_busy;
    if (fg_init(&g, 16 << 20) || fg_attach(&g, &e.ops, &e, false))
        abort();
    vmmio_set_gate(g.m, &gate);
    fg_negotiate(&g, V1);
    for (unsigned q = 0; q < NQ; q++)
        fg_queue_setup(&g, q, 8);
    fg_driver_ok(&g);

    CHECK(gate_close(&gate, 5000) == 0 && parked(&gate) == NQ,
          "pause: all %u workers parked (%u)", NQ, parked(&gate));
    post_one(&g, 0);
    usleep(200 * 1000);
    CHECK(g.q[0].u->idx == 0, "a request posted while paused is not served");
    gate_open(&gate);
    CHECK(used_reaches(&g, 0, 1), "after resume it is");

    /* A request inside process(): pause cannot finish until it does. */
    int hold[2];
    if (pipe(hold))
        abort();
    e.gate_fd = hold[0];
    post_one(&g, 0);
    while (!__atomic_load_n(&e.started, __ATOMIC_SEQ_CST))
        usleep(1000);
    CHECK(gate_close(&gate, 300) == -ETIMEDOUT && !gate_is_closed(&gate),
          "pause with a request in flight: -ETIMEDOUT, gate open again");
    if (write(hold[1], "xx", 2) != 2)
        abort();
    CHECK(gate_close(&gate, 5000) == 0, "once it completes, pause succeeds");
    CHECK(g.q[0].u->idx == 2, "... and the request was finished first");
    gate_open(&gate);
    e.gate_fd = -1;

    /* A device with host I/O in flight (ops->busy) keeps serving. */
    __atomic_store_n(&busy_flag, true, __ATOMIC_SEQ_CST);
    post_one(&g, 1); /* wakes q1's worker; it stays busy */
    CHECK(used_reaches(&g, 1, 1), "q1 served");
    CHECK(gate_close(&gate, 300) == -ETIMEDOUT,
          "a busy queue does not park: pause times out");
    __atomic_store_n(&busy_flag, false, __ATOMIC_SEQ_CST);
    fg_kick(&g, 1); /* what a completion does: wake the worker */
    CHECK(gate_close(&gate, 5000) == 0, "no longer busy: pause succeeds");

    /* A reset (or destroy) while paused ends the parked workers. */
    fg_reset(&g);
    CHECK(fg_status(&g) == 0, "reset while paused returns (workers joined)");
    pthread_mutex_lock(&gate.lock);
    unsigned members = gate.members;
    pthread_mutex_unlock(&gate.lock);
    CHECK(members == 0 && parked(&gate) == 0,
          "... and they left the gate (members %u)", members);
    gate_open(&gate);
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 2, 8);
    fg_driver_ok(&g);
    CHECK(gate_close(&gate, 5000) == 0 && parked(&gate) == 1,
          "after the driver restarts, its one worker parks again");
    fg_fini(&g); /* destroy with the gate closed */
    CHECK(true, "destroy while paused returns");
    close(hold[0]);
    close(hold[1]);
    gate_destroy(&gate);
    return tap_done();
}
