/* SPDX-License-Identifier: MIT */
/*
 * A pause gate for worker threads: while it is closed, member threads
 * park (after finishing what they were doing) until it opens again or
 * their own stop fd fires.
 *
 * The owner (main.c) creates it, hands it to the transports, and calls
 * gate_close/gate_open from one thread. Members call gate_join when
 * they start, gate_leave when they end, and poll gate_closed_fd
 * alongside their other fds: it is readable exactly while the gate is
 * closed, so a closing gate wakes a member idle in poll(). Errors are
 * negative errno.
 */
#ifndef KVMINI_HW_GATE_H
#define KVMINI_HW_GATE_H

#include <pthread.h>
#include <stdbool.h>

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* parked or members changed */
    bool closed;
    unsigned members, parked;
    /* Level-triggered states: closed_fd is readable while closed,
     * open_fd while open (eventfds, never read by members). */
    int closed_fd, open_fd;
};

/* Open gate, no members. 0 or -errno. */
int gate_init(struct gate *g);
void gate_destroy(struct gate *g);

/* Owner: close the gate and wait up to timeout_ms for every member to
 * park. 0, or -ETIMEDOUT (the gate is then open again). */
int gate_close(struct gate *g, unsigned timeout_ms);
/* Owner: open the gate; parked members go on. */
void gate_open(struct gate *g);

/* Members (any thread). */
void gate_join(struct gate *g);
void gate_leave(struct gate *g);
bool gate_is_closed(struct gate *g);
/* Park until the gate opens or stop_fd becomes readable; true if
 * stop_fd fired. */
bool gate_park(struct gate *g, int stop_fd);

#endif
