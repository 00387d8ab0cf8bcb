/* SPDX-License-Identifier: MIT */
/*
 * A minimal MC146818 CMOS real-time clock at ports 0x70/0x71: the time
 * of day from the host clock (UTC, BCD, 24-hour), status registers that
 * never show an update in progress, and 128 bytes of CMOS RAM.
 *
 * Guests poll the "update in progress" bit before reading the time; a
 * missing RTC reads as all-ones, UIP set forever, and Linux then spends
 * 20000 port exits (seconds, nested) waiting for it.
 *
 * rtc_io runs on vCPU threads; a mutex orders index and data accesses.
 */
#ifndef KVMINI_HW_RTC_H
#define KVMINI_HW_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT 0x70
#define RTC_NPORTS 2

struct rtc {
    pthread_mutex_t lock;
    uint8_t index;
    uint8_t cmos[128];
    time_t (*now)(void); /* the clock; time() unless a test sets it */
};

void rtc_init(struct rtc *r);
void rtc_destroy(struct rtc *r);

/* io_fn for ports 0x70 (index) and 0x71 (data). */
int rtc_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

#endif
