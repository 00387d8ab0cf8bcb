/* SPDX-License-Identifier: MIT */
/*
 * The guest's clock and interrupt hooks for the host-side driver tests
 * (test_vblk, test_vnet): time is the number of tg_idle calls, one
 * "millisecond" each, so a 30 s wait is 30000 idles and runs in no time.
 */
#ifndef TG_HOST_FAKE_CLOCK_H
#define TG_HOST_FAKE_CLOCK_H

/* Incremented by the test's tg_idle (and by irqwait_halt). */
extern int idles;

#endif
