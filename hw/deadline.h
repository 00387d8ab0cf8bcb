/* SPDX-License-Identifier: MIT */
/* Absolute deadlines for waits on CLOCK_MONOTONIC condition variables. */
#ifndef KVMINI_HW_DEADLINE_H
#define KVMINI_HW_DEADLINE_H

#include <time.h>

/* Now plus ms on CLOCK_MONOTONIC: the deadline pthread_cond_timedwait
 * takes for a condition variable made with pthread_condattr_setclock
 * (CLOCK_MONOTONIC), immune to wall-clock jumps. */
static inline struct timespec deadline_after_ms(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

#endif
