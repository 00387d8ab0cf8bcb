/* SPDX-License-Identifier: MIT */
/* MC146818 CMOS RTC: host time of day, never updating, CMOS RAM. */
#include "hw/rtc.h"

#include <string.h>

#define RTC_SEC 0x00
#define RTC_MIN 0x02
#define RTC_HOUR 0x04
#define RTC_WDAY 0x06
#define RTC_MDAY 0x07
#define RTC_MON 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_DIV 0x26 /* 32.768 kHz base, 1024 Hz rate; UIP clear */
#define REG_B_24H 0x02 /* 24-hour, BCD, no interrupts */
#define REG_D_VRT 0x80 /* valid RAM and time */

static time_t rtc_time(void)
{
    return time(NULL);
}

void rtc_init(struct rtc *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->now = rtc_time;
    r->cmos[RTC_REG_A] = REG_A_DIV;
    r->cmos[RTC_REG_B] = REG_B_24H;
    r->cmos[RTC_REG_D] = REG_D_VRT;
    /* glibc's first gmtime_r loads the time zone (opens /etc/localtime):
     * done here, at setup, not on a vCPU under its syscall filter
     * (docs/security.md), which allows no open. */
    tzset();
}

void rtc_destroy(struct rtc *r)
{
    pthread_mutex_destroy(&r->lock);
}

static uint8_t bcd(int v)
{
    return (uint8_t)((v / 10) << 4 | (v % 10));
}

static uint8_t rtc_read(struct rtc *r, uint8_t idx)
{
    time_t t = r->now();
    struct tm tm;
    if (idx <= RTC_YEAR || idx == RTC_CENTURY)
        gmtime_r(&t, &tm);
    switch (idx) {
    case RTC_SEC:
        return bcd(tm.tm_sec > 59 ? 59 : tm.tm_sec);
    case RTC_MIN:
        return bcd(tm.tm_min);
    case RTC_HOUR:
        return bcd(tm.tm_hour);
    case RTC_WDAY:
        return bcd(tm.tm_wday + 1);
    case RTC_MDAY:
        return bcd(tm.tm_mday);
    case RTC_MON:
        return bcd(tm.tm_mon + 1);
    case RTC_YEAR:
        return bcd(tm.tm_year % 100);
    case RTC_CENTURY:
        return bcd((tm.tm_year + 1900) / 100);
    case RTC_REG_C:
        return 0; /* no interrupt flags: we raise none */
    default:
        if (idx <= 1 || idx == 3 || idx == 5)
            return 0; /* alarms */
        return r->cmos[idx];
    }
}

static void rtc_write(struct rtc *r, uint8_t idx, uint8_t v)
{
    /* The clock follows the host; time, status C/D and the UIP bit are
     * not the guest's to set. Other bytes are plain CMOS RAM. */
    if (idx <= RTC_YEAR || idx == RTC_CENTURY || idx == RTC_REG_C ||
        idx == RTC_REG_D)
        return;
    if (idx == RTC_REG_A)
        v &= 0x7f;
    if (idx == RTC_REG_B)
        v = (v & ~0x06) | REG_B_24H; /* keep BCD, 24-hour */
    r->cmos[idx] = v;
}

int rtc_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
    struct rtc *r = opaque;
    uint8_t *d = data;
    if (len != 1) {
        if (!write)
            memset(data, 0xff, len);
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    if (off == 0) {
        if (write)
            r->index = d[0] & 0x7f; /* bit 7 is the NMI mask */
        else
            d[0] = 0xff;
    } else if (write) {
        rtc_write(r, r->index, d[0]);
    } else {
        d[0] = rtc_read(r, r->index);
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}
