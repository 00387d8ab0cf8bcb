/* SPDX-License-Identifier: MIT */
/*
 * The blk modes on sampled chunks of a disk: rwtest, ro, read, durable,
 * fill and bench, each a few passes (blkpass.c) and checks; every chunk
 * of a pass goes out in one of four shapes so a device sees them all.
 */
#include "guest/blkcheck.h"
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define FILL_DEPTH 4
/* No request type has this number (even: QEMU reads bit 0 as "write"). */
#define UNSUPP_TYPE 0x3e

/* Writes the pattern to every chunk, reads it back in other shapes. */
static bool rw_chunks(struct pass *ps, const struct blk_layout *l,
                      uint64_t seed)
{
    struct blkset *bs = ps->bs;
    uint64_t bad = 0, sector = 0;
    int r;

    blk_pattern(bs, l, BLKPAT_FILL, seed, 0, l->count);
    r = blk_chunk_pass(ps, l, VBLK_T_OUT, 0);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_rw", ps, r, "write");
        return false;
    }
    blk_pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = blk_chunk_pass(ps, l, VBLK_T_IN, 1);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_rw", ps, r, "read");
        return false;
    }
    if (blk_pattern(bs, l, BLKPAT_CHECK, seed, 0, l->count)) {
        blk_first_bad(bs, l->count, 0, &bad, &sector);
        blk_check(ps->tg, "blk_rw", ps->b, false,
                  "read-back-differs chunk=%lu sector=%lu", bad, sector);
        return false;
    }
    blk_check(ps->tg, "blk_rw", ps->b, true,
              "chunks=%lu sectors=%lu reqs=%u max_inflight=%u q0=%u q1=%u",
              l->count, l->count * l->len, ps->b->st.reqs,
              ps->b->st.max_inflight, ps->b->st.per_q[0], ps->b->st.per_q[1]);
    return true;
}

/* A request with no data (flush, or a type the device must refuse). */
static int bare(struct pass *ps, uint32_t type, uint8_t *st)
{
    struct vblk_io io = {.type = type};

    return vblk_run(ps->b, ps->tg, &io, st);
}

static void flush(struct pass *ps, const char *name)
{
    uint8_t st = 0xff;
    int r = bare(ps, VBLK_T_FLUSH, &st);

    blk_check(ps->tg, name, ps->b, !r && st == VBLK_S_OK, "status=%s",
              r ? ps->b->why : vblk_status_name(st));
}

/* WRITE_ZEROES or DISCARD over chunk k; 1 when the chunk now reads back
 * as zeroes, 0 when not, -1 when the request failed (reported). */
static int range_op(struct pass *ps, const struct blk_layout *l, uint64_t k,
                    uint32_t type, uint32_t flags, const char *name)
{
    struct vblk_io io = {.type = type,
                         .sector = blk_chunk_sector(l, k),
                         .num = (uint32_t)l->len,
                         .flags = flags};
    uint8_t st = 0xff;
    int r = vblk_run(ps->b, ps->tg, &io, &st);

    if (r || st != VBLK_S_OK) {
        blk_check(ps->tg, name, ps->b, false, "sector=%lu count=%lu %s",
                  io.sector, l->len, r ? ps->b->why : vblk_status_name(st));
        return -1;
    }
    blk_pattern(ps->bs, l, BLKPAT_POISON, 0, k, k + 1);
    r = blk_one_chunk(ps, l, k, VBLK_T_IN);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, name, ps, r, "read");
        return -1;
    }
    return blk_pattern(ps->bs, l, BLKPAT_CHECK_ZERO, 0, k, k + 1) == 0;
}

/* Chunk 1 zeroed, chunk 2 discarded, when offered and within limits.
 * Sets *zeroed (bit k: chunk k must now read as zeroes). */
static void zero_and_discard(struct pass *ps, const struct blk_layout *l,
                             const struct blk_plan *p, uint64_t *zeroed)
{
    const struct vblk_config *c = &ps->b->cfg;
    bool unmap = c->wz_may_unmap;
    int z;

    if (l->count < 3) {
        tg_printf("tg: blk %s write_zeroes,discard skipped count=%lu\n",
                  ps->b->name, l->count);
        return;
    }
    if (!vblk_has(ps->b, VBLK_F_WRITE_ZEROES) || l->len > c->max_wz_sectors) {
        tg_printf("tg: blk %s write_zeroes not-offered\n", ps->b->name);
    } else if ((z = range_op(ps, l, 1, VBLK_T_WRITE_ZEROES,
                             unmap ? VBLK_WZ_UNMAP : 0, "blk_write_zeroes")) >=
               0) {
        blk_check(ps->tg, "blk_write_zeroes", ps->b, z == 1,
                  "sector=%lu count=%lu unmap=%u zeroed=%d",
                  blk_chunk_sector(l, 1), l->len, unmap, z);
        *zeroed |= 2;
    }
    if (!vblk_has(ps->b, VBLK_F_DISCARD) || l->len > c->max_discard_sectors) {
        tg_printf("tg: blk %s discard not-offered\n", ps->b->name);
    } else if ((z = range_op(ps, l, 2, VBLK_T_DISCARD, 0, "blk_discard")) >=
               0) {
        /* The spec leaves discarded data undefined; kvmini punches a
         * hole, which reads as zeroes (anydiscard: either is fine). */
        blk_check(ps->tg, "blk_discard", ps->b, z == 1 || p->any_discard,
                  "sector=%lu count=%lu zeroed=%d", blk_chunk_sector(l, 2),
                  l->len, z);
        if (z == 1)
            *zeroed |= 4;
        else
            *zeroed |= 1ULL << 63; /* chunk 2: no expectation */
    }
}

/* Requests the device must refuse: past the end, straddling it, a
 * sector number whose byte offset overflows, and (rwtest) a write past
 * the end; each a whole number of logical blocks, so that only the
 * range is wrong. */
static void bounds(struct pass *ps, bool writes)
{
    static const struct {
        const char *what;
        uint32_t type, blocks;
        int64_t from_end; /* in blocks from capacity; INT64_MIN: the top */
    } reqs[] = {
        {"past_end", VBLK_T_IN, 1, 0},
        {"straddle", VBLK_T_IN, 2, -1},
        {"overflow", VBLK_T_IN, 1, INT64_MIN},
        {"write_past_end", VBLK_T_OUT, 1, 0},
    };
    uint64_t a = vblk_block(ps->b);
    char d[128];
    size_t n = 0;
    bool ok = true;

    for (size_t i = 0; i < ARRAY_SIZE(reqs) - !writes; i++) {
        struct vq_seg seg = {
            ps->bs->buf, (uint32_t)(reqs[i].blocks * a * VBLK_SECTOR), false};
        struct vblk_io io = {.type = reqs[i].type, .seg = &seg, .nseg = 1};
        uint8_t st = 0xff;
        int r;

        io.sector =
            reqs[i].from_end == INT64_MIN
                ? ~0ULL / a * a
                : ps->b->cfg.capacity / a * a + (uint64_t)reqs[i].from_end * a;
        r = vblk_run(ps->b, ps->tg, &io, &st);
        ok &= !r && st == VBLK_S_IOERR;
        n += (size_t)fmt(d + n, sizeof(d) - n, "%s%s=%s", n ? " " : "",
                         reqs[i].what, r ? ps->b->why : vblk_status_name(st));
        if (r)
            break;
    }
    blk_check(ps->tg, "blk_bounds", ps->b, ok, "%s", d);
}

static void unsupp(struct pass *ps)
{
    uint8_t st = 0xff;
    int r = bare(ps, UNSUPP_TYPE, &st);

    blk_check(ps->tg, "blk_unsupp", ps->b, !r && st == VBLK_S_UNSUPP,
              "type=%u %s", UNSUPP_TYPE, r ? ps->b->why : vblk_status_name(st));
}

/* Reads every chunk again: the pattern, zeroes where zeroed says so. */
static void verify(struct pass *ps, const struct blk_layout *l, uint64_t seed,
                   uint64_t zeroed)
{
    struct blkset *bs = ps->bs;
    uint64_t bad = 0, sector = 0;
    int r;

    blk_pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = blk_chunk_pass(ps, l, VBLK_T_IN, 2);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_verify", ps, r, "read");
        return;
    }
    for (uint64_t k = 0; k < l->count; k++)
        bs->jobs[k] = (struct blkpat_job){
            .op = zeroed >> k & 1 ? BLKPAT_CHECK_ZERO : BLKPAT_CHECK,
            .addr = (uint64_t)blk_chunk_buf(bs, l, k),
            .sector = blk_chunk_sector(l, k),
            .nsect = l->len,
            .seed = seed,
        };
    if (zeroed >> 63 & 1) /* chunk 2 discarded, contents undefined */
        bs->jobs[2].op = BLKPAT_SUM;
    if (blkpat_run(bs->jobs, (uint32_t)l->count)) {
        blk_first_bad(bs, l->count, 0, &bad, &sector);
        blk_check(ps->tg, "blk_verify", ps->b, false, "chunk=%lu sector=%lu",
                  bad, sector);
        return;
    }
    blk_check(ps->tg, "blk_verify", ps->b, true, "chunks=%lu zeroed=0x%lx",
              l->count, zeroed & 7);
}

static void rwtest(struct pass *ps, const struct blk_layout *l,
                   const struct blk_plan *p)
{
    uint64_t zeroed = 0;

    if (!rw_chunks(ps, l, p->seed))
        return;
    if (vblk_has(ps->b, VBLK_F_FLUSH))
        flush(ps, "blk_flush");
    else
        tg_printf("tg: blk %s flush %s\n", ps->b->name,
                  p->noflush ? "not-asked" : "not-offered");
    zero_and_discard(ps, l, p, &zeroed);
    bounds(ps, true);
    unsupp(ps);
    verify(ps, l, p->seed, zeroed);
}

/* Only reads: with seed=, the pattern must be there (a host test wrote
 * it); otherwise the sum of what was read is reported. */
static void read_mode(struct pass *ps, const struct blk_layout *l,
                      const struct blk_plan *p)
{
    struct blkset *bs = ps->bs;
    uint64_t bad = 0, sector = 0;
    uint32_t sum = 0;
    int r;

    blk_pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = blk_chunk_pass(ps, l, VBLK_T_IN, 0);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_read", ps, r, "read");
        return;
    }
    if (p->has_seed) {
        if (blk_pattern(bs, l, BLKPAT_CHECK, p->seed, 0, l->count)) {
            blk_first_bad(bs, l->count, 0, &bad, &sector);
            blk_check(ps->tg, "blk_read", ps->b, false,
                      "not-the-pattern chunk=%lu sector=%lu", bad, sector);
        } else {
            blk_check(ps->tg, "blk_read", ps->b, true,
                      "chunks=%lu pattern seed=%lu", l->count, p->seed);
        }
        return;
    }
    blk_pattern(bs, l, BLKPAT_SUM, 0, 0, l->count);
    for (uint64_t k = 0; k < l->count; k++)
        sum += (uint32_t)bs->jobs[k].out;
    blk_check(ps->tg, "blk_read", ps->b, true, "chunks=%lu sum=0x%08x",
              l->count, sum);
}

/*
 * A read-only disk: RO negotiated, and a write of the very data read
 * from chunk 0 (harmless if the device wrongly takes it) gets IOERR and
 * leaves the data as it was.
 */
static void ro_mode(struct pass *ps, const struct blk_layout *l)
{
    struct blk_layout one = {1, l->len, 0, 0}, two = {2, l->len, 0, 0};
    struct blkset *bs = ps->bs;
    uint8_t st = 0xff;
    int r;

    if (!vblk_has(ps->b, VBLK_F_RO)) {
        blk_check(ps->tg, "blk_ro", ps->b, false, "RO-not-offered");
        return;
    }
    blk_pattern(bs, &one, BLKPAT_POISON, 0, 0, 1);
    r = blk_one_chunk(ps, &one, 0, VBLK_T_IN);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_ro", ps, r, "read");
        return;
    }
    r = blk_one_chunk(ps, &one, 0, VBLK_T_OUT);
    st = ps->bs->ops[0].status;
    if (r || st != VBLK_S_IOERR) {
        blk_check(ps->tg, "blk_ro", ps->b, false, "write=%s",
                  r ? ps->b->why : vblk_status_name(st));
        return;
    }
    /* Chunk 1 of `two` is the second buffer, read from sector 0 again. */
    two.stride = 0;
    two.last = 0;
    blk_pattern(bs, &two, BLKPAT_POISON, 0, 1, 2);
    r = blk_one_chunk(ps, &two, 1, VBLK_T_IN);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_ro", ps, r, "read-again");
        return;
    }
    bs->jobs[0] =
        (struct blkpat_job){.op = BLKPAT_SAME,
                            .addr = (uint64_t)blk_chunk_buf(bs, &two, 1),
                            .addr2 = (uint64_t)bs->buf,
                            .nsect = l->len};
    blk_check(ps->tg, "blk_ro", ps->b, blkpat_run(bs->jobs, 1) == 0,
              "write=ioerr %s", bs->jobs[0].out ? "changed" : "unchanged");
}

/* Pattern, flush, then one line saying which sectors are on disk. */
static void durable(struct pass *ps, const struct blk_layout *l,
                    const struct blk_plan *p)
{
    uint8_t st = 0xff;
    int r;

    if (!vblk_has(ps->b, VBLK_F_FLUSH)) {
        blk_check(ps->tg, "blk_durable", ps->b, false, "no-FLUSH");
        return;
    }
    blk_pattern(ps->bs, l, BLKPAT_FILL, p->seed, 0, l->count);
    r = blk_chunk_pass(ps, l, VBLK_T_OUT, 0);
    if (r || blk_first_not(ps, VBLK_S_OK)) {
        blk_pass_fail(ps->tg, "blk_durable", ps, r, "write");
        return;
    }
    r = bare(ps, VBLK_T_FLUSH, &st);
    if (r || st != VBLK_S_OK) {
        blk_check(ps->tg, "blk_durable", ps->b, false, "flush=%s",
                  r ? ps->b->why : vblk_status_name(st));
        return;
    }
    blk_check(ps->tg, "blk_durable", ps->b, true, "chunks=%lu", l->count);
    tg_printf("tg: blk %s durable seed=%lu count=%lu len=%lu stride=%lu "
              "last=%lu\n",
              ps->b->name, p->seed, l->count, l->len, l->stride, l->last);
}

/*
 * Writes len-sector pattern chunks from sector 0 on, FILL_DEPTH at a
 * time, until one gets IOERR (a host store that filled up); then the
 * device must still read what it took and answer a flush.
 */
static void fill(struct pass *ps, const struct blk_plan *p)
{
    uint64_t a = vblk_block(ps->b), len = (p->len + a - 1) / a * a;
    uint64_t cap = ps->b->cfg.capacity, next = 0, written = 0;
    uint64_t err_at = ~0ULL;
    bool first_ok = false;
    const char *rb = "skipped";
    uint8_t st = 0xff;
    int r = 0;

    while (err_at == ~0ULL && next + len <= cap) {
        struct blk_layout l = {FILL_DEPTH, len, len, 0};
        uint64_t n = (cap - next) / len;

        l.count = n < FILL_DEPTH ? n : FILL_DEPTH;
        if (l.count * len > BLK_BUF_SECTORS)
            l.count = BLK_BUF_SECTORS / len;
        /* chunk k at next + k * len: a layout starting at 0, shifted */
        l.last = (l.count - 1) * len;
        for (uint64_t k = 0; k < l.count; k++)
            ps->bs->jobs[k] = (struct blkpat_job){
                .op = BLKPAT_FILL,
                .addr = (uint64_t)blk_chunk_buf(ps->bs, &l, k),
                .sector = next + k * len,
                .nsect = len,
                .seed = p->seed};
        blkpat_run(ps->bs->jobs, (uint32_t)l.count);
        ps->n = 0;
        ps->overflow = false;
        for (uint64_t k = 0; k < l.count; k++)
            blk_add_io(ps, VBLK_T_OUT, next + k * len,
                       blk_chunk_buf(ps->bs, &l, k), (uint32_t)len, SH_ONE,
                       (uint16_t)k);
        if ((r = blk_run_pass(ps, false)))
            break;
        for (unsigned i = 0; i < ps->n; i++) {
            const struct blk_op *op = &ps->bs->ops[i];

            if (op->status == VBLK_S_OK) {
                for (unsigned s = 0; s < op->io.nseg; s++)
                    written += op->seg[s].len / VBLK_SECTOR;
                first_ok |= op->io.sector == 0;
            } else if (op->io.sector < err_at) {
                err_at = op->io.sector;
            }
        }
        next += l.count * len;
    }
    if (r || err_at == ~0ULL) {
        blk_check(ps->tg, "blk_fill", ps->b, false, "%s written=%lu",
                  r ? ps->b->why : "no-ioerr", written);
        return;
    }
    if (first_ok) {
        struct blk_layout l0 = {1, len, 0, 0};

        blk_pattern(ps->bs, &l0, BLKPAT_POISON, 0, 0, 1);
        r = blk_one_chunk(ps, &l0, 0, VBLK_T_IN);
        rb = r || blk_first_not(ps, VBLK_S_OK) ? "read-failed"
             : blk_pattern(ps->bs, &l0, BLKPAT_CHECK, p->seed, 0, 1) ? "differs"
                                                                     : "ok";
    }
    if (!r)
        r = bare(ps, VBLK_T_FLUSH, &st);
    blk_check(ps->tg, "blk_fill", ps->b,
              !r && (!first_ok || !strncmp(rb, "ok", 3)),
              "ioerr_at=%lu written=%lu readback=%s flush=%s", err_at, written,
              rb, r ? ps->b->why : vblk_status_name(st));
}

/*
 * A rate, for bench/: `reqs` reads of `len` sectors at pseudo-random
 * block-aligned places (an LCG from seed), as many in flight as fit; the
 * only check is that each returns OK. Each request in flight has its own
 * buffer (VBLK_REQS of them).
 */
static void bench(struct pass *ps, const struct blk_plan *p)
{
    uint64_t a = vblk_block(ps->b), len = (p->len + a - 1) / a * a;
    uint64_t places = ps->b->cfg.capacity / len, x = p->seed, done = 0;
    uint64_t t0 = rdtsc(), us;
    bool ind = vblk_has(ps->b, VIRTIO_F_INDIRECT_DESC);
    int r = 0;

    if (!places || len * VBLK_REQS > BLK_BUF_SECTORS) {
        blk_check(ps->tg, "blk_bench", ps->b, false, "len=%lu", len);
        return;
    }
    while (done < p->reqs && !r) {
        uint64_t n =
            p->reqs - done < BLK_OPS_MAX ? p->reqs - done : BLK_OPS_MAX;

        ps->n = 0;
        ps->overflow = false;
        for (uint64_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            blk_add_io(ps, VBLK_T_IN, (x >> 33) % places * len,
                       ps->bs->buf + i % VBLK_REQS * len * VBLK_SECTOR,
                       (uint32_t)len, SH_ONE, 0);
        }
        /* One ring entry a request where the device allows: all
         * VBLK_REQS in flight on a 32-entry ring. */
        for (unsigned i = 0; i < ps->n; i++)
            ps->bs->ops[i].io.indirect = ind;
        r = blk_run_pass(ps, true);
        if (!r && blk_first_not(ps, VBLK_S_OK)) {
            blk_pass_fail(ps->tg, "blk_bench", ps, 0, "read");
            return;
        }
        done += n;
    }
    if (r) {
        blk_pass_fail(ps->tg, "blk_bench", ps, r, "read");
        return;
    }
    us = ps->tg->timer.tsc_khz ? (rdtsc() - t0) * 1000 / ps->tg->timer.tsc_khz
                               : 0;
    blk_check(ps->tg, "blk_bench", ps->b, true,
              "reqs=%lu len=%lu us=%lu max_inflight=%u indirect=%u", done, len,
              us, ps->b->st.max_inflight, ind);
}

void blk_run_mode(struct tg *tg, struct blkset *bs, struct vblk *b,
                  const struct blk_plan *p)
{
    struct pass ps = {.tg = tg, .bs = bs, .b = b};
    struct blk_layout l;
    bool writes =
        p->mode == BLK_RWTEST || p->mode == BLK_DURABLE || p->mode == BLK_FILL;

    if (p->mode == BLK_INFO)
        return;
    if (writes && vblk_has(b, VBLK_F_RO)) {
        blk_check(tg, "blk_args", b, false, "%s-on-a-read-only-disk",
                  p->mode == BLK_RWTEST ? "rwtest" : "write-mode");
        return;
    }
    if (p->mode == BLK_FILL || p->mode == BLK_BENCH) {
        (p->mode == BLK_FILL ? fill : bench)(&ps, p);
        return;
    }
    if (blk_layout_make(b, p, &l)) {
        blk_check(tg, "blk_args", b, false, "disk-too-small sectors=%lu",
                  b->cfg.capacity);
        return;
    }
    blk_print_layout(b, &l, p->seed);
    if (p->mode == BLK_RWTEST)
        rwtest(&ps, &l, p);
    else if (p->mode == BLK_READ)
        read_mode(&ps, &l, p);
    else if (p->mode == BLK_RO)
        ro_mode(&ps, &l);
    else if (p->mode == BLK_DURABLE)
        durable(&ps, &l, p);
}
