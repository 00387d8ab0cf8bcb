/* SPDX-License-Identifier: MIT */
/* The CMOS RTC: BCD time from the host clock, UIP never set, RAM. */
#include <string.h>

#include "hw/rtc.h"
#include "tests/unit/tap.h"

static time_t fixed_now(void)
{
    return 1795336199; /* 2026-11-22 08:29:59 UTC, a Sunday */
}

static uint8_t rd(struct rtc *r, uint8_t idx)
{
    uint8_t v = idx | 0x80; /* NMI mask bit set, as Linux does */
    rtc_io(r, 0, &v, 1, true);
    rtc_io(r, 1, &v, 1, false);
    return v;
}

static void wr(struct rtc *r, uint8_t idx, uint8_t v)
{
    rtc_io(r, 0, &idx, 1, true);
    rtc_io(r, 1, &v, 1, true);
}

int main(void)
{
    struct rtc r;
    rtc_init(&r);
    r.now = fixed_now;
    CHECK(rd(&r, 0x0a) == 0x26 && !(rd(&r, 0x0a) & 0x80),
          "register A: update-in-progress never set");
    CHECK(rd(&r, 0x0b) == 0x02, "register B: 24-hour BCD");
    CHECK(rd(&r, 0x0d) == 0x80, "register D: valid time");
    CHECK(rd(&r, 0x00) == 0x59 && rd(&r, 0x02) == 0x29 && rd(&r, 0x04) == 0x08,
          "time of day in BCD: 08:29:59");
    CHECK(rd(&r, 0x07) == 0x22 && rd(&r, 0x08) == 0x11 &&
              rd(&r, 0x09) == 0x26 && rd(&r, 0x32) == 0x20,
          "date in BCD: 2026-11-22");
    CHECK(rd(&r, 0x06) == 0x01, "weekday: Sunday is 1");
    wr(&r, 0x00, 0x11);
    CHECK(rd(&r, 0x00) == 0x59, "guest cannot set the clock");
    wr(&r, 0x0a, 0xa6);
    CHECK(!(rd(&r, 0x0a) & 0x80), "guest cannot set UIP");
    wr(&r, 0x0b, 0x06);
    CHECK(rd(&r, 0x0b) == 0x02, "binary/12-hour requests ignored");
    wr(&r, 0x40, 0x5a);
    CHECK(rd(&r, 0x40) == 0x5a, "CMOS RAM keeps a byte");
    uint32_t wide = 0;
    rtc_io(&r, 1, &wide, 4, false);
    CHECK(wide == 0xffffffff, "wide access reads as all-ones");
    rtc_destroy(&r);
    return tap_done();
}
