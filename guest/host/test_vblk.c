/* SPDX-License-Identifier: MIT */
/*
 * Host-side tests of the guest's virtio-blk driver and its checks
 * (vblk.c, blkcheck.c, blkmodes.c, blkpat.c) against fake devices
 * (fake_vblk.c) reached through the guest's own discovery, the way
 * tg_main runs them: every mode, modern and legacy, with and without the
 * optional features, several disks, and devices that stall, return heads
 * never posted, lie about lengths or skip the status byte. The disk
 * contents are checked against a pattern computed here, independently
 * of blkpat.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/blkcheck.h"
#include "guest/host/fake_clock.h"
#include "guest/host/fake_serial.h"
#include "guest/host/fake_vblk.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "tests/unit/tap.h"

/* --- what the driver calls outside its own files ---------------------- */

void tg_idle(struct tg *tg)
{
    (void)tg;
    idles++;
    fake_vblk_run(); /* time passes: the devices work */
}

/* Ring 3 is the same code here. */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b)
{
    return fn(a, b);
}

/* --- the test's own view ----------------------------------------------- */
#define SECTORS 4096 /* 2 MiB disks */
#define SECTOR 512

static uint8_t disks[FAKE_DEVS][SECTORS * SECTOR];
static struct tg tg;

/* Runs discovery (one virtio_mmio.device= word per fake device) and the
 * blk checks as tg_main does; returns the failed checks. */
static uint32_t boot(const char *words)
{
    const char *cl = fake_vmmio_cmdline(words);

    memset(&tg, 0, sizeof(tg));
    tg.bi.cmdline = cl;
    tg.bi.cmdline_len = (uint32_t)strlen(cl);
    fake_serial_clear();
    idles = 0;
    devices_discover(&tg.dev, &tg.bi);
    devices_report(&tg.dev);
    devices_checks(&tg);
    if (blk_wanted(&tg))
        blk_checks(&tg);
    return tg.fails;
}

static bool has(const char *s)
{
    return strstr(fake_serial_out, s) != NULL;
}

static int count(const char *s)
{
    int n = 0;

    for (const char *p = fake_serial_out; (p = strstr(p, s)); p++)
        n++;
    return n;
}

static void show_fails(void)
{
    char *line = fake_serial_out;

    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        char one[300];

        snprintf(one, sizeof(one), "%.*s", (int)(nl - line), line);
        if (strstr(one, "FAIL"))
            DIAG("%s", one);
    }
}

/* The pattern, written out from the README's definition. */
static uint64_t pat_word(uint64_t s, uint64_t seed, unsigned i)
{
    if (i == 0)
        return 0x7461706b6c626774ULL; /* "tgblkpat" */
    if (i == 1)
        return seed;
    if (i == 2)
        return s;
    return s ^ seed ^ (i * 0x0101010101010101ULL);
}

static void put_pattern(uint8_t *disk, uint64_t s0, uint64_t n, uint64_t seed)
{
    for (uint64_t s = s0; s < s0 + n; s++)
        for (unsigned i = 0; i < 64; i++) {
            uint64_t w = pat_word(s, seed, i);

            memcpy(disk + s * SECTOR + i * 8, &w, 8);
        }
}

/* 1 + the first sector in [s0, s0 + n) not holding the pattern, or 0. */
static uint64_t bad_pattern(const uint8_t *disk, uint64_t s0, uint64_t n,
                            uint64_t seed)
{
    for (uint64_t s = s0; s < s0 + n; s++)
        for (unsigned i = 0; i < 64; i++) {
            uint64_t w;

            memcpy(&w, disk + s * SECTOR + i * 8, 8);
            if (w != pat_word(s, seed, i))
                return s + 1;
        }
    return 0;
}

static bool all_zero(const uint8_t *disk, uint64_t s0, uint64_t n)
{
    for (uint64_t i = 0; i < n * SECTOR; i++)
        if (disk[s0 * SECTOR + i])
            return false;
    return true;
}

struct layout {
    uint64_t count, len, stride, last, seed;
};

/* The layout line the guest printed for disk `name`. */
static bool layout_of(const char *name, const char *what, struct layout *l)
{
    char key[48];
    const char *p;

    snprintf(key, sizeof(key), "tg: blk %s %s ", name, what);
    p = strstr(fake_serial_out, key);
    if (!p)
        return false;
    p += strlen(key);
    if (!strcmp(what, "durable"))
        return sscanf(p, "seed=%lu count=%lu len=%lu stride=%lu last=%lu",
                      &l->seed, &l->count, &l->len, &l->stride, &l->last) == 5;
    return sscanf(p, "count=%lu len=%lu stride=%lu last=%lu seed=%lu",
                  &l->count, &l->len, &l->stride, &l->last, &l->seed) == 5;
}

static uint64_t chunk_at(const struct layout *l, uint64_t k)
{
    return k + 1 == l->count ? l->last : k * l->stride;
}

/* --- tests ------------------------------------------------------------- */

/* One disk, vda, full-featured and zeroed. */
static struct fake_vblk *only_vda(void)
{
    fake_vmmio_none();
    fake_vblk_init(0, disks[0], SECTORS);
    return &fake_vblk[0];
}

static void test_untouched(void)
{
    only_vda();
    fake_vblk_init(1, disks[1], SECTORS);
    memset(disks[0], 0x5a, sizeof(disks[0]));
    CHECK(boot("expect_devices=2") == 0, "no blk word: the guest passes");
    CHECK(has("name=blk") && !has("tg: blk ") && !has("blk_"),
          "disks listed, no blk line, no blk check");
    CHECK(fake_vblk[0].t.status == 0 && fake_vblk[0].t.notifies[0] == 0 &&
              fake_vblk[0].reqs == 0 && fake_vblk[1].t.status == 0,
          "neither device was even started (status 0, no requests)");
    CHECK(disks[0][0] == 0x5a && disks[0][sizeof(disks[0]) - 1] == 0x5a,
          "the disk is as it was");
}

static void test_rwtest_full(void)
{
    struct layout l;
    struct fake_vblk *f = &fake_vblk[0];
    uint32_t fails;

    only_vda();
    fails = boot("blk=rwtest,serial=fake-serial,sectors=4096,queues=2,seed=7");
    show_fails();
    CHECK(fails == 0, "rwtest on a full-featured modern device passes");
    CHECK(has("tg: check blk_start ok vda\n") &&
              has("tg: check blk_get_id ok vda serial=\"fake-serial\"") &&
              has("tg: check blk_capacity ok vda sectors=4096 want=4096") &&
              has("tg: check blk_queues ok vda queues=2 want=2"),
          "start, get-id, capacity and queue count checked");
    CHECK(has("tg: check blk_rw ok vda chunks=16 sectors=128") &&
              has("tg: check blk_flush ok vda status=ok") &&
              has("tg: check blk_write_zeroes ok vda") &&
              has("tg: check blk_discard ok vda") &&
              has("tg: check blk_bounds ok vda past_end=ioerr "
                  "straddle=ioerr overflow=ioerr write_past_end=ioerr") &&
              has("tg: check blk_unsupp ok vda type=62 unsupp") &&
              has("tg: check blk_verify ok vda chunks=16 zeroed=0x6"),
          "rw, flush, write-zeroes, discard, bounds, unsupp, verify lines");
    CHECK(has(" flush,discard,write_zeroes,mq,seg_max,size_max,blk_size,"
              "topology,indirect,event_idx\n"),
          "every offered feature negotiated and named");
    CHECK(layout_of("vda", "layout", &l) && l.count == 16 && l.len == 8 &&
              l.seed == 7 && l.last == SECTORS - 8,
          "layout line: 16 chunks of 8 sectors, the last at the very end");
    bool ok = true;
    for (uint64_t k = 0; k < l.count; k++) {
        uint64_t s = chunk_at(&l, k);

        ok &= k == 1 || k == 2 ? all_zero(disks[0], s, l.len)
                               : !bad_pattern(disks[0], s, l.len, 7);
    }
    CHECK(ok, "the disk holds the seed-7 pattern at every chunk the line "
              "names, zeroes in the zeroed and discarded ones");
    CHECK(all_zero(disks[0], 8, l.stride - 8), "nothing written between "
                                               "chunks 0 and 1");
    CHECK(f->t.bad_width == 0, "every register and config field read at its "
                               "own width");
    CHECK(f->max_batch > 1, "several requests in flight at once (%u)",
          f->max_batch);
    CHECK(f->t.indirect > 0, "indirect chains used (%u)", f->t.indirect);
    CHECK(f->t.irqs == 0, "polling: EVENT_IDX kept every interrupt away (%u)",
          f->t.irqs);
    CHECK(has(" q0=") && !has(" q1=0\n"), "both queues carried requests");
    CHECK(f->writes_at_flush > 0 && f->by_type[VBLK_T_FLUSH] == 1,
          "one flush, after the writes");
    CHECK(f->bad_chain == 0, "every chain well-formed");
}

/* restart: the mode, a reset of the running device, a new start, the
 * mode again (kvmini stops and remakes its queue workers meanwhile). */
static void test_restart(void)
{
    struct fake_vblk *f = &fake_vblk[0];
    uint32_t fails;

    only_vda();
    fails = boot("blk=rwtest,restart,queues=2,seed=9");
    show_fails();
    CHECK(fails == 0, "rwtest,restart passes");
    const char *at = strstr(fake_serial_out, "tg: check blk_restart ok vda\n");
    CHECK(at && strstr(at, "tg: check blk_rw ok vda") &&
              strstr(at, "tg: check blk_verify ok vda chunks=16 zeroed=0x6"),
          "blk_restart ok, then rwtest again (rw, verify)");
    CHECK(f->t.resets >= 2 && f->by_type[VBLK_T_FLUSH] == 2,
          "the device was reset again and saw both runs (2 flushes)");
    CHECK(has(" q0=") && !has(" q1=0\n"),
          "both queues carried requests after the restart");
}

/* busyrestart: reads posted and notified, none waited for, then the
 * reset (the fake serves only when the driver idles: it never saw them). */
static void test_busyrestart(void)
{
    struct fake_vblk *f = &fake_vblk[0];

    only_vda();
    uint32_t fails = boot("blk=read,busyrestart");

    show_fails();
    CHECK(fails == 0 && has("tg: blk vda restarted with 16 reads posted\n") &&
              has("tg: check blk_restart ok vda\n"),
          "busyrestart: 16 reads posted (over both queues), "
          "the restart passes");
    CHECK(f->t.resets >= 2 && f->bad_chain == 0 &&
              has("tg: check blk_read ok vda chunks=16"),
          "the device was reset with them outstanding; the reads after "
          "the restart pass");
}

/* noflush: FLUSH not asked for though offered (the device must then
 * make every write stable before it completes it). */
static void test_noflush(void)
{
    struct fake_vblk *f = &fake_vblk[0];

    only_vda();
    CHECK(boot("blk=rwtest,noflush,seed=5") == 0 &&
              has("tg: blk vda flush not-asked\n") && !has("blk_flush") &&
              has("tg: check blk_verify ok vda chunks=16 zeroed=0x6"),
          "rwtest,noflush passes, says FLUSH was not asked for");
    CHECK(!(f->t.drv_features >> VBLK_F_FLUSH & 1) &&
              f->by_type[VBLK_T_FLUSH] == 0 && f->by_type[VBLK_T_OUT] > 0,
          "FLUSH not negotiated, none sent, writes were");
}

static void test_rwtest_bare(void)
{
    struct fake_vblk *f = &fake_vblk[0];
    uint32_t fails;

    only_vda();
    f->t.offered = 1ULL << VIRTIO_F_VERSION_1;
    f->t.num_queues = 1;
    fails = boot("blk=rwtest");
    show_fails();
    CHECK(fails == 0, "rwtest with VERSION_1 only passes");
    CHECK(has("tg: blk vda flush not-offered") &&
              has("tg: blk vda write_zeroes not-offered") &&
              has("tg: blk vda discard not-offered") && !has("blk_flush") &&
              !has("blk_discard"),
          "flush, write-zeroes, discard: said not offered, not sent");
    CHECK(has("tg: check blk_verify ok vda chunks=16 zeroed=0x0"),
          "verify expects the pattern everywhere");
    CHECK(f->t.indirect == 0 && f->by_type[VBLK_T_DISCARD] == 0 &&
              f->by_type[VBLK_T_WRITE_ZEROES] == 0 &&
              f->by_type[VBLK_T_FLUSH] == 0,
          "no indirect chain, no discard, no write-zeroes, no flush sent");
    CHECK(f->t.bad_width == 0 && f->bad_chain == 0,
          "no config field beyond the negotiated ones... and good chains");
}

/* 4 KiB logical blocks: every request starts and ends on one (the fake,
 * like QEMU, refuses others), in every shape. */
static void test_blocks(void)
{
    struct fake_vblk *f = only_vda();
    struct layout l;
    uint32_t fails;

    f->blk_size = 4096;
    fails = boot("blk=rwtest,len=60");
    show_fails();
    CHECK(fails == 0, "rwtest on 4 KiB blocks with len=60 passes");
    CHECK(layout_of("vda", "layout", &l) && l.len == 64 && l.stride % 8 == 0 &&
              l.last % 8 == 0,
          "chunks rounded to whole blocks (len %lu)", l.len);
    CHECK(has("tg: check blk_bounds ok vda past_end=ioerr straddle=ioerr "
              "overflow=ioerr write_past_end=ioerr"),
          "bounds requests are whole blocks");
    CHECK(f->t.indirect > 0 && f->max_batch > 1, "indirect, several in flight");
    fake_serial_clear();
    blk_cmd(&tg, "read 13", 7);
    CHECK(has("tg: blk vda read 13 ok\n") &&
              has("tg: blk vda 13 +0x000 7467626c6b706174"
                  "0100000000000000"   /* seed 1 */
                  "0d00000000000000"), /* sector 13 */
          "blk read of a sector inside a block shows that sector");
    f->blk_size = 512;
}

static void test_legacy(void)
{
    struct fake_vblk *f = &fake_vblk[0];
    uint32_t fails;

    only_vda();
    f->t.version = 1;
    f->t.offered &= 0xffffffffu;
    f->t.num_queues = 1;
    fails = boot("blk=rwtest");
    show_fails();
    CHECK(fails == 0, "rwtest on a legacy (Version 1) device passes");
    CHECK(f->t.page_size == 4096 && f->t.q[0].align == 8 && f->t.q[0].pfn,
          "GuestPageSize 4096, QueueAlign 8, QueuePFN set");
    CHECK(has("legacy=1"), "reported as legacy");
}

static void test_ro(void)
{
    static uint8_t copy[SECTORS * SECTOR];
    struct fake_vblk *f = &fake_vblk[0];

    only_vda();
    f->t.offered |= 1ULL << VBLK_F_RO;
    put_pattern(disks[0], 0, SECTORS, 3);
    memcpy(copy, disks[0], sizeof(copy));
    CHECK(boot("blk=ro") == 0, "ro on a read-only device passes");
    CHECK(has("tg: check blk_ro ok vda write=ioerr unchanged"), "blk_ro line");
    CHECK(!memcmp(copy, disks[0], sizeof(copy)), "the disk is unchanged");
    CHECK(f->by_type[VBLK_T_OUT] == 1 && f->by_type[VBLK_T_DISCARD] == 0 &&
              f->by_type[VBLK_T_WRITE_ZEROES] == 0,
          "one write was tried (same data), nothing destructive");

    only_vda(); /* RO not offered */
    CHECK(boot("blk=ro") == 1 &&
              has("tg: check blk_ro FAIL vda RO-not-offered") &&
              f->by_type[VBLK_T_OUT] == 0,
          "ro mode on a writable disk fails without writing");

    only_vda();
    f->t.offered |= 1ULL << VBLK_F_RO;
    CHECK(boot("blk=rwtest") == 1 &&
              has("tg: check blk_args FAIL vda rwtest-on-a-read-only-disk") &&
              f->by_type[VBLK_T_OUT] == 0,
          "rwtest refuses a read-only disk without writing");

    /* A device that says RO but takes the write: caught, data kept. */
    only_vda();
    f->t.offered |= 1ULL << VBLK_F_RO;
    f->ro_ignored = true;
    put_pattern(disks[0], 0, SECTORS, 3);
    CHECK(boot("blk=ro") == 1 && has("tg: check blk_ro FAIL vda write=ok") &&
              !memcmp(copy, disks[0], sizeof(copy)),
          "RO offered but the write taken: fails, and the data written "
          "back was the data read");
}

static void test_read(void)
{
    struct fake_vblk *f = &fake_vblk[0];
    struct layout l;

    only_vda();
    CHECK(boot("blk=info") == 0 && f->reqs == 1 &&
              f->by_type[VBLK_T_GET_ID] == 1,
          "info: start and get-id only");
    /* The pattern where read mode's layout puts chunks, by the host. */
    for (uint64_t k = 0; k < 16; k++)
        put_pattern(disks[0], k == 15 ? SECTORS - 8 : k * 272, 8, 99);
    CHECK(boot("blk=read,seed=99") == 0 &&
              has("tg: check blk_read ok vda chunks=16 pattern seed=99") &&
              f->by_type[VBLK_T_OUT] == 0,
          "read with seed=: the host-written pattern found, nothing "
          "written");
    CHECK(layout_of("vda", "layout", &l) && l.stride == 272,
          "stride as computed here (%lu)", l.stride);
    disks[0][(272 * 3 + 5) * SECTOR + 100] ^= 1;
    CHECK(boot("blk=read,seed=99") == 1 &&
              has("tg: check blk_read FAIL vda not-the-pattern chunk=3 "
                  "sector=821"),
          "one flipped bit: the chunk and sector named");
    CHECK(boot("blk=read") == 0 && has("tg: check blk_read ok vda chunks=16 "
                                       "sum=0x"),
          "read without seed: a sum");
}

static void test_durable(void)
{
    struct fake_vblk *f = &fake_vblk[0];
    struct layout l;
    bool ok = true;

    only_vda();
    CHECK(boot("blk=durable,seed=12345,count=20,len=16") == 0,
          "durable passes");
    CHECK(layout_of("vda", "durable", &l) && l.seed == 12345 && l.count == 20 &&
              l.len == 16,
          "the durable line: seed, count, len");
    for (uint64_t k = 0; k < l.count; k++)
        ok &= !bad_pattern(disks[0], chunk_at(&l, k), l.len, 12345);
    CHECK(ok, "every sector the line names holds the pattern");
    CHECK(f->by_type[VBLK_T_FLUSH] == 1 &&
              f->writes_at_flush == f->writes_done && f->writes_done > 0,
          "the flush came after every write completed");
    CHECK(has("tg: check blk_durable ok vda chunks=20"), "check line");

    only_vda();
    f->t.offered &= ~(1ULL << VBLK_F_FLUSH);
    CHECK(boot("blk=durable") == 1 &&
              has("tg: check blk_durable FAIL vda no-FLUSH") &&
              !has("tg: blk vda durable"),
          "without FLUSH: fails, no durable line");
}

static void test_fill(void)
{
    struct fake_vblk *f = &fake_vblk[0];

    only_vda();
    f->enospc_at = 1000;
    CHECK(boot("blk=fill,len=64") == 0, "fill passes on a store that fills");
    show_fails();
    CHECK(has("tg: check blk_fill ok vda ioerr_at=960 written=960 "
              "readback=ok flush=ok"),
          "IOERR at the write crossing sector 1000; earlier ones kept");
    only_vda();
    CHECK(boot("blk=fill,len=128") == 1 &&
              has("tg: check blk_fill FAIL vda no-ioerr written=4096"),
          "a store that never fills: no-ioerr");
}

static void test_bench(void)
{
    struct fake_vblk *f = only_vda();

    CHECK(boot("blk=bench,reqs=300,len=16") == 0 &&
              has("tg: check blk_bench ok vda reqs=300 len=16 us=") &&
              has(" max_inflight=16 indirect=1\n"),
          "bench: 300 reads, 16 in flight, indirect");
    CHECK(f->by_type[VBLK_T_IN] == 300 && f->t.indirect == 300 &&
              f->by_type[VBLK_T_OUT] == 0,
          "... 300 indirect reads reached the device, no write");
    f = only_vda();
    CHECK(boot("blk=bench,len=200") == 1 && f->by_type[VBLK_T_IN] == 0,
          "bench len beyond 16 buffers of 1 MiB: refused");
}

/* A device that breaks a rule is caught, reset and left alone. */
static void misbehave(const char *what, void (*set)(struct fake_vblk *),
                      const char *want)
{
    struct fake_vblk *f = &fake_vblk[0];
    uint32_t fails;

    only_vda();
    set(f);
    fails = boot("blk=rwtest");
    CHECK(fails >= 1 && has(want), "%s: fails with \"%s\"", what, want);
    if (!has(want))
        show_fails();
    CHECK(f->t.status == 0 && f->t.resets >= 1, "%s: the device was reset",
          what);
}

static void set_stall(struct fake_vblk *f)
{
    f->stall = true;
}
static void set_bad_head(struct fake_vblk *f)
{
    f->bad_head = true;
}
static void set_short_len(struct fake_vblk *f)
{
    f->len_delta = -1;
}
static void set_long_len(struct fake_vblk *f)
{
    f->len_delta = 4;
}
static void set_no_status(struct fake_vblk *f)
{
    f->skip_status = true;
}

static void test_misbehaving(void)
{
    misbehave("stall", set_stall,
              "tg: check blk_get_id FAIL vda timeout "
              "inflight=1");
    CHECK(idles >= 30000 && idles < 31000, "the wait was 30 s (%d idles)",
          idles);
    CHECK(has("tg: check blk_rw FAIL vda write timeout"),
          "... and the next check says so, without waiting again");
    misbehave("head never posted", set_bad_head,
              "FAIL vda used-id-not-outstanding q=0");
    misbehave("used len short", set_short_len,
              "FAIL vda used-len=20 want=21 type=8 status=ok");
    misbehave("used len long", set_long_len,
              "FAIL vda used-len=25 want=21 type=8 status=ok");
    misbehave("status never written", set_no_status,
              "FAIL vda status=0xff type=8");

    /* A failed request's len may count the status byte only. */
    only_vda()->err_len = 1;
    CHECK(boot("blk=rwtest") == 0 &&
              has("tg: check blk_bounds ok vda past_end=ioerr"),
          "used len 1 on IOERR and UNSUPP (as kvmini does): accepted");
    only_vda()->err_len = 0;
    CHECK(boot("blk=rwtest") == 3 && /* bounds, then unsupp and verify */
              has("tg: check blk_bounds FAIL vda past_end=used-len=0 want=513 "
                  "type=0 status=ioerr"),
          "... but not 0: the status byte is not covered");

    /* Out-of-order completion is fine. */
    only_vda();
    fake_vblk[0].reverse = true;
    CHECK(boot("blk=rwtest") == 0, "completions in reverse order: passes");
}

static void test_disks(void)
{
    uint32_t fails;

    for (unsigned i = 0; i < 3; i++)
        fake_vblk_init(i, disks[i], SECTORS);
    fake_vblk[2].t.offered |= 1ULL << VBLK_F_RO;
    memset(disks[1], 0x77, sizeof(disks[1]));
    fails = boot("blk.vda=rwtest blk.vdc=ro,serial=fake-serial blk.vdd=info");
    show_fails();
    CHECK(fails == 1 && has("tg: check blk_disks FAIL vdd missing n=3"),
          "vda rwtest, vdc ro pass; vdd does not exist: one failure");
    CHECK(has("tg: check blk_rw ok vda") && has("tg: check blk_ro ok vdc") &&
              has("tg: check blk_get_id ok vdc serial=\"fake-serial\""),
          "each disk got its own mode");
    CHECK(fake_vblk[1].t.status == 0 && fake_vblk[1].reqs == 0 &&
              disks[1][12345] == 0x77,
          "vdb, not named, was never started or touched");
    CHECK(count("tg: blk vda ") > 3 && !has("tg: blk vdb "),
          "no line about vdb");

    only_vda();
    CHECK(boot("blk=info,serial=nope,queues=1,sectors=4095") == 3 &&
              has("tg: check blk_get_id FAIL vda serial=\"fake-serial\" "
                  "want=\"nope\"") &&
              has("tg: check blk_queues FAIL vda queues=2 want=1") &&
              has("tg: check blk_capacity FAIL vda sectors=4096 want=4095"),
          "serial, queues and sectors mismatches each fail");
    fake_vmmio_none();
    CHECK(boot("blk=info") == 1 && has("tg: check blk_disks FAIL none"),
          "blk= with no disk at all fails");
}

static void test_args(void)
{
    only_vda();
    CHECK(boot("blk=bogus") == 1 &&
              has("tg: check blk_args FAIL vda unparsable \"bogus\"") &&
              fake_vblk[0].t.status == 0,
          "unknown mode: fails, device untouched");
    CHECK(boot("blk=rwtest,count=0") == 1 && has("unparsable \"count=0\"") &&
              fake_vblk[0].reqs == 0,
          "count=0 refused");
    CHECK(boot("blk=rwtest,count=64,len=64") == 1 &&
              has("unparsable \"rwtest,count=64,len=64\""),
          "more chunks than the 1 MiB buffer holds: refused");
    CHECK(boot("blk=read,serial=123456789012345678901") == 1,
          "a serial longer than 20 bytes refused");
    CHECK(boot("blk=read,frob=1") == 1, "unknown key refused");
    CHECK(boot("blk=rwtest,count=3,len=2048") == 1,
          "3 chunks of 1 MiB refused");
}

static void test_shell(void)
{
    only_vda();
    fake_vblk_init(1, disks[1], SECTORS);
    put_pattern(disks[1], 5, 1, 42);
    boot("");
    fake_serial_clear();
    blk_cmd(&tg, "read vdb 5", 10);
    CHECK(has("tg: blk vdb read 5 ok\n") &&
              has("tg: blk vdb 5 +0x000 "
                  "7467626c6b706174"    /* magic */
                  "2a00000000000000"    /* seed 42 */
                  "0500000000000000"    /* sector 5 */
                  "2c03030303030303\n") /* 5 ^ 42 ^ 3 * 0x01.. */
              && count("tg: blk vdb 5 +0x") == 16,
          "blk read vdb 5: status, then the sector in 16 lines");
    CHECK(fake_vblk[0].t.status == 0, "vda not started by a read of vdb");
    fake_serial_clear();
    blk_cmd(&tg, "read 4096", 9);
    CHECK(has("tg: blk vda read 4096 ioerr\n"), "past the end: ioerr");
    fake_serial_clear();
    blk_cmd(&tg, "info", 4);
    CHECK(has("tg: blk vda dev=0 capacity=4096 blk_size=512 seg_max=30 "
              "size_max=65536 queues=2/2 qsize=32 legacy=0 irq=0"),
          "blk info");
    fake_serial_clear();
    blk_cmd(&tg, "stats", 5);
    CHECK(has("tg: blk vda stats reqs=1 ok=0 ioerr=1") &&
              has("tg: blk vdb stats reqs=1 ok=1"),
          "blk stats");
    fake_serial_clear();
    blk_cmd(&tg, "read vdz 1", 10);
    blk_cmd(&tg, "frob", 4);
    blk_cmd(&tg, "read", 4);
    blk_cmd(&tg, "info vda vdb", 12);
    CHECK(count("tg: error usage") == 4, "bad commands: usage errors");
    fake_serial_clear();
    blk_cmd(&tg, "info vdc", 8);
    CHECK(has("tg: error no disk vdc (2 found)\n"), "blk info of a missing "
                                                    "disk");
}

int main(void)
{
    test_untouched();
    test_rwtest_full();
    test_restart();
    test_noflush();
    test_busyrestart();
    test_rwtest_bare();
    test_blocks();
    test_legacy();
    test_ro();
    test_read();
    test_durable();
    test_fill();
    test_bench();
    test_misbehaving();
    test_disks();
    test_args();
    test_shell();
    return tap_done();
}
