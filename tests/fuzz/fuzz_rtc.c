/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the CMOS RTC at ports 0x70/0x71 (hw/rtc.c): index and
 * data accesses of every width, any host time from 1970 to 2200.
 * Checked besides the sanitizers: the clock reads as valid BCD in its
 * ranges (24-hour), Status A never shows an update in progress, Status
 * B stays BCD and 24-hour, and CMOS RAM keeps what the guest wrote.
 *
 * Input: 5 bytes of host time, then ops.
 */
#include <stdlib.h>
#include <string.h>

#include "hw/rtc.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

static time_t fuzz_now; /* the clock rtc->now reads in this run */

static time_t fake_clock(void)
{
    return fuzz_now;
}

static bool bcd_ok(uint8_t v, unsigned lo, unsigned hi)
{
    unsigned d = (v >> 4) * 10 + (v & 15);
    return (v & 15) <= 9 && (v >> 4) <= 9 && d >= lo && d <= hi;
}

static void check_read(uint8_t idx, uint8_t v, const uint8_t *ram)
{
    switch (idx) {
    case 0x00:
        FZ_ASSERT(bcd_ok(v, 0, 59), "seconds 0x%02x", v);
        break;
    case 0x02:
        FZ_ASSERT(bcd_ok(v, 0, 59), "minutes 0x%02x", v);
        break;
    case 0x04:
        FZ_ASSERT(bcd_ok(v, 0, 23), "hours 0x%02x", v);
        break;
    case 0x06:
        FZ_ASSERT(bcd_ok(v, 1, 7), "weekday 0x%02x", v);
        break;
    case 0x07:
        FZ_ASSERT(bcd_ok(v, 1, 31), "day 0x%02x", v);
        break;
    case 0x08:
        FZ_ASSERT(bcd_ok(v, 1, 12), "month 0x%02x", v);
        break;
    case 0x09:
        FZ_ASSERT(bcd_ok(v, 0, 99), "year 0x%02x", v);
        break;
    case 0x32:
        FZ_ASSERT(bcd_ok(v, 19, 22), "century 0x%02x", v);
        break;
    case 0x0a:
        FZ_ASSERT(!(v & 0x80), "UIP set: 0x%02x", v);
        break;
    case 0x0b:
        FZ_ASSERT((v & 0x06) == 0x02, "Status B not BCD 24h: 0x%02x", v);
        break;
    default:
        if (idx > 0x0d && idx != 0x32)
            FZ_ASSERT(v == ram[idx], "CMOS[0x%02x] 0x%02x, wrote 0x%02x", idx,
                      v, ram[idx]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint64_t t = 0;
    for (int i = 0; i < 5; i++)
        t |= (uint64_t)fz_u8(&in) << (8 * i);
    fuzz_now = (time_t)(t % 7258118400ULL); /* up to 2200-01-01 */
    struct rtc r;
    uint8_t ram[128] = {0}, idx = 0;
    rtc_init(&r);
    r.now = fake_clock;
    for (unsigned n = 0; in.n && n < 4096; n++) {
        uint8_t op = fz_u8(&in);
        uint32_t len = op & 0x80 ? 1 + fz_u8(&in) % 8 : 1;
        uint8_t d[8];
        uint64_t v = fz_u64(&in);
        memcpy(d, &v, sizeof(d));
        bool write = op & 1, data_port = op & 2;
        rtc_io(&r, data_port, d, len, write);
        if (len != 1) {
            for (unsigned i = 0; !write && i < len; i++)
                FZ_ASSERT(d[i] == 0xff, "a %u-byte read is not all-ones", len);
            continue;
        }
        if (!data_port && write)
            idx = d[0] & 0x7f;
        else if (data_port && write)
            ram[idx] = d[0];
        else if (data_port)
            check_read(idx, d[0], ram);
    }
    rtc_destroy(&r);
    return 0;
}
