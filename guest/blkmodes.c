/* SPDX-License-Identifier: MIT */
/*
 * The blk modes on sampled chunks of a disk: rwtest, ro, read, durable
 * and fill. Requests go out in passes with as many in flight as the
 * rings and request slots allow, each chunk in one of four shapes (one
 * buffer, a direct multi-buffer chain, an indirect chain, split into
 * several requests), so a device sees them all; the data is made and
 * checked in ring 3 (blkpat.c).
 */
#include "guest/blkcheck.h"
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/tg.h"

enum shape { SH_ONE, SH_MULTI, SH_INDIRECT, SH_SPLIT, SH_COUNT };

#define SPLIT_PARTS 8
#define FILL_DEPTH 4
#define UNSUPP_TYPE                                                            \
    0x3e /* no request type has this number (even: QEMU                        \
          * reads bit 0 as "write") */

/* One pass of requests: bs->ops[0..n). */
struct pass {
    struct tg *tg;
    struct blkset *bs;
    struct vblk *b;
    unsigned n;
    bool overflow; /* more requests than BLK_OPS_MAX */
};

static int layout_make(const struct vblk *b, const struct blk_plan *p,
                       struct blk_layout *l)
{
    uint64_t a = vblk_block(b), c = b->cfg.capacity;

    l->len = (p->len + a - 1) / a * a; /* chunks start and end on blocks */
    if (l->len > BLK_BUF_SECTORS || c < l->len)
        return -1;
    l->count = p->count;
    if (l->count * l->len > BLK_BUF_SECTORS)
        l->count = BLK_BUF_SECTORS / l->len;
    if (l->count > c / l->len)
        l->count = c / l->len;
    /* stride >= len as c >= count * len; last >= the chunk before it
     * ends, by the same inequality (see guest/README.md). */
    l->stride =
        l->count > 1 ? (c - l->len) / (l->count - 1) / l->len * l->len : 0;
    l->last = l->count > 1 ? (c - l->len) / a * a : 0;
    return 0;
}

static uint64_t chunk_sector(const struct blk_layout *l, uint64_t k)
{
    return k + 1 == l->count ? l->last : k * l->stride;
}

static uint8_t *chunk_buf(struct blkset *bs, const struct blk_layout *l,
                          uint64_t k)
{
    return bs->buf + k * l->len * VBLK_SECTOR;
}

/* Blocks in segment g of a request of `total` blocks, by shape. */
static uint32_t seg_blocks(enum shape sh, unsigned g, uint32_t total,
                           unsigned segs)
{
    if (sh == SH_INDIRECT)
        return total / segs ? total / segs : 1;
    if (sh == SH_MULTI)
        return g == 0 ? 1 : g == 1 && total > 2 ? (total - 1) / 2 : total;
    return total;
}

/* Data buffers a request may carry here: SEG_MAX, and a direct chain
 * (or an indirect table) no longer than the queue. */
static unsigned seg_cap(const struct vblk *b)
{
    unsigned segs = b->seg_limit, num = b->vq[0].num;

    if (segs + 2 > num)
        segs = num > 2 ? num - 2 : 1;
    return segs;
}

/*
 * Requests of `type` for nsect sectors from `sector` (data at buf), in
 * shape sh, within the device's limits (SIZE_MAX, SEG_MAX). Sizes are
 * counted in logical blocks, so every request (not every buffer) starts
 * and ends on one; sector and nsect are multiples of the block.
 */
static void add_io(struct pass *ps, uint32_t type, uint64_t sector,
                   uint8_t *buf, uint32_t nsect, enum shape sh, uint16_t chunk)
{
    const struct vblk *b = ps->b;
    uint32_t a = vblk_block(b), blocks = nsect / a, done = 0;
    uint32_t bsize = a * VBLK_SECTOR;
    uint32_t cap = b->cfg.size_max >= bsize ? b->cfg.size_max / bsize
                   : b->cfg.size_max        ? 1
                                            : blocks;
    unsigned segs = seg_cap(b), g = 0;

    if (sh == SH_SPLIT) {
        uint32_t parts = blocks < SPLIT_PARTS ? blocks : SPLIT_PARTS;

        for (uint32_t i = 0; i < parts; i++) {
            uint32_t from = blocks * i / parts * a;
            uint32_t to = blocks * (i + 1) / parts * a;

            add_io(ps, type, sector + from, buf + from * VBLK_SECTOR, to - from,
                   SH_ONE, chunk);
        }
        return;
    }
    while (done < blocks) {
        struct blk_op *op;
        unsigned k = 0;

        if (ps->n == BLK_OPS_MAX) {
            ps->overflow = true;
            return;
        }
        op = &ps->bs->ops[ps->n++];
        op->io =
            (struct vblk_io){.type = type,
                             .sector = sector + (uint64_t)done * a,
                             .seg = op->seg,
                             .indirect = sh == SH_INDIRECT &&
                                         vblk_has(b, VIRTIO_F_INDIRECT_DESC)};
        op->chunk = chunk;
        while (done < blocks && k < segs) {
            uint32_t want = seg_blocks(sh, g++, blocks, segs);

            want = want < blocks - done ? want : blocks - done;
            want = want < cap ? want : cap;
            op->seg[k++] = (struct vq_seg){buf + (uint64_t)done * bsize,
                                           want * bsize, false};
            done += want;
        }
        op->io.nseg = k;
    }
}

/*
 * Runs bs->ops[0..n): submits while there is room, kicks once, waits for
 * one completion and takes every other one already there, repeats (so
 * one notify covers as many new requests as completed). With stop,
 * nothing more is submitted after a status that is not OK. 0 (each op
 * has its status; 0xff: never sent), or -1 (b->why).
 */
static int run_pass(struct pass *ps, bool stop)
{
    struct vblk *b = ps->b;
    unsigned owner[VBLK_REQS], next = 0, done = 0, n = ps->n;

    if (ps->overflow) {
        fmt(b->why, sizeof(b->why), "more-than-%u-requests", BLK_OPS_MAX);
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        ps->bs->ops[i].status = 0xff;
    while (done < n) {
        int slot, r;
        uint8_t st;

        while (next < n) {
            slot = vblk_submit(b, &ps->bs->ops[next].io);
            if (slot == -1)
                break;
            if (slot < 0)
                return -1;
            owner[slot] = next++;
        }
        vblk_kick(b);
        r = vblk_reap(b, ps->tg, &slot, &st);
        if (r <= 0) {
            if (!r)
                fmt(b->why, sizeof(b->why), "nothing-in-flight");
            return -1;
        }
        do {
            ps->bs->ops[owner[slot]].status = st;
            done++;
            if (stop && st != VBLK_S_OK)
                n = next; /* wait for what is out, send nothing more */
        } while ((r = vblk_reap_ready(b, &slot, &st)) == 1);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The first op whose status is not `want`, or NULL. */
static const struct blk_op *first_not(const struct pass *ps, uint8_t want)
{
    for (unsigned i = 0; i < ps->n; i++)
        if (ps->bs->ops[i].status != want)
            return &ps->bs->ops[i];
    return NULL;
}

/* Every chunk of l as requests of `type`, chunk k in shape (k + sh0) % 4. */
static int chunk_pass(struct pass *ps, const struct blk_layout *l,
                      uint32_t type, unsigned sh0)
{
    ps->n = 0;
    ps->overflow = false;
    for (uint64_t k = 0; k < l->count; k++)
        add_io(ps, type, chunk_sector(l, k), chunk_buf(ps->bs, l, k),
               (uint32_t)l->len, (enum shape)((k + sh0) % SH_COUNT),
               (uint16_t)k);
    return run_pass(ps, false);
}

/* One request of type over chunk k alone (in one buffer). */
static int one_chunk(struct pass *ps, const struct blk_layout *l, uint64_t k,
                     uint32_t type)
{
    ps->n = 0;
    ps->overflow = false;
    add_io(ps, type, chunk_sector(l, k), chunk_buf(ps->bs, l, k),
           (uint32_t)l->len, SH_ONE, (uint16_t)k);
    return run_pass(ps, false);
}

/* Ring 3: op on chunks [from, to) of l. Returns the failures. */
static uint32_t pattern(struct blkset *bs, const struct blk_layout *l,
                        enum blkpat_op op, uint64_t seed, uint64_t from,
                        uint64_t to)
{
    for (uint64_t k = from; k < to; k++)
        bs->jobs[k - from] = (struct blkpat_job){
            .op = op,
            .addr = (uint64_t)chunk_buf(bs, l, k),
            .sector = chunk_sector(l, k),
            .nsect = l->len,
            .seed = seed,
        };
    return blkpat_run(bs->jobs, (uint32_t)(to - from));
}

/* The first failed job's chunk (offset by from) and sector. */
static void first_bad(const struct blkset *bs, uint64_t n, uint64_t from,
                      uint64_t *chunk, uint64_t *sector)
{
    for (uint64_t i = 0; i < n; i++)
        if (bs->jobs[i].out) {
            *chunk = from + i;
            *sector = bs->jobs[i].sector + bs->jobs[i].out - 1;
            return;
        }
}

static void print_layout(const struct vblk *b, const struct blk_layout *l,
                         uint64_t seed)
{
    tg_printf("tg: blk %s layout count=%lu len=%lu stride=%lu last=%lu "
              "seed=%lu\n",
              b->name, l->count, l->len, l->stride, l->last, seed);
}

/* A failed pass: the device's reason, or the first bad status. */
static void pass_fail(struct tg *tg, const char *name, struct pass *ps, int r,
                      const char *what)
{
    const struct blk_op *op = first_not(ps, VBLK_S_OK);

    if (r)
        blk_check(tg, name, ps->b, false, "%s %s", what, ps->b->why);
    else
        blk_check(tg, name, ps->b, false,
                  "%s status=%s sector=%lu chunk=%u "
                  "shape=%s",
                  what, vblk_status_name(op->status), op->io.sector, op->chunk,
                  op->io.indirect   ? "indirect"
                  : op->io.nseg > 1 ? "multi"
                                    : "one");
}

/* Writes the pattern to every chunk, reads it back in other shapes. */
static bool rw_chunks(struct pass *ps, const struct blk_layout *l,
                      uint64_t seed)
{
    struct blkset *bs = ps->bs;
    uint64_t bad = 0, sector = 0;
    int r;

    pattern(bs, l, BLKPAT_FILL, seed, 0, l->count);
    r = chunk_pass(ps, l, VBLK_T_OUT, 0);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_rw", ps, r, "write");
        return false;
    }
    pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = chunk_pass(ps, l, VBLK_T_IN, 1);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_rw", ps, r, "read");
        return false;
    }
    if (pattern(bs, l, BLKPAT_CHECK, seed, 0, l->count)) {
        first_bad(bs, l->count, 0, &bad, &sector);
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
                         .sector = chunk_sector(l, k),
                         .num = (uint32_t)l->len,
                         .flags = flags};
    uint8_t st = 0xff;
    int r = vblk_run(ps->b, ps->tg, &io, &st);

    if (r || st != VBLK_S_OK) {
        blk_check(ps->tg, name, ps->b, false, "sector=%lu count=%lu %s",
                  io.sector, l->len, r ? ps->b->why : vblk_status_name(st));
        return -1;
    }
    pattern(ps->bs, l, BLKPAT_POISON, 0, k, k + 1);
    r = one_chunk(ps, l, k, VBLK_T_IN);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, name, ps, r, "read");
        return -1;
    }
    return pattern(ps->bs, l, BLKPAT_CHECK_ZERO, 0, k, k + 1) == 0;
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
                  "sector=%lu count=%lu unmap=%u zeroed=%d", chunk_sector(l, 1),
                  l->len, unmap, z);
        *zeroed |= 2;
    }
    if (!vblk_has(ps->b, VBLK_F_DISCARD) || l->len > c->max_discard_sectors) {
        tg_printf("tg: blk %s discard not-offered\n", ps->b->name);
    } else if ((z = range_op(ps, l, 2, VBLK_T_DISCARD, 0, "blk_discard")) >=
               0) {
        /* The spec leaves discarded data undefined; kvmini punches a
         * hole, which reads as zeroes (anydiscard: either is fine). */
        blk_check(ps->tg, "blk_discard", ps->b, z == 1 || p->any_discard,
                  "sector=%lu count=%lu zeroed=%d", chunk_sector(l, 2), l->len,
                  z);
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

    pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = chunk_pass(ps, l, VBLK_T_IN, 2);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_verify", ps, r, "read");
        return;
    }
    for (uint64_t k = 0; k < l->count; k++)
        bs->jobs[k] = (struct blkpat_job){
            .op = zeroed >> k & 1 ? BLKPAT_CHECK_ZERO : BLKPAT_CHECK,
            .addr = (uint64_t)chunk_buf(bs, l, k),
            .sector = chunk_sector(l, k),
            .nsect = l->len,
            .seed = seed,
        };
    if (zeroed >> 63 & 1) /* chunk 2 discarded, contents undefined */
        bs->jobs[2].op = BLKPAT_SUM;
    if (blkpat_run(bs->jobs, (uint32_t)l->count)) {
        first_bad(bs, l->count, 0, &bad, &sector);
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
        tg_printf("tg: blk %s flush not-offered\n", ps->b->name);
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

    pattern(bs, l, BLKPAT_POISON, 0, 0, l->count);
    r = chunk_pass(ps, l, VBLK_T_IN, 0);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_read", ps, r, "read");
        return;
    }
    if (p->has_seed) {
        if (pattern(bs, l, BLKPAT_CHECK, p->seed, 0, l->count)) {
            first_bad(bs, l->count, 0, &bad, &sector);
            blk_check(ps->tg, "blk_read", ps->b, false,
                      "not-the-pattern chunk=%lu sector=%lu", bad, sector);
        } else {
            blk_check(ps->tg, "blk_read", ps->b, true,
                      "chunks=%lu pattern seed=%lu", l->count, p->seed);
        }
        return;
    }
    pattern(bs, l, BLKPAT_SUM, 0, 0, l->count);
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
    pattern(bs, &one, BLKPAT_POISON, 0, 0, 1);
    r = one_chunk(ps, &one, 0, VBLK_T_IN);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_ro", ps, r, "read");
        return;
    }
    r = one_chunk(ps, &one, 0, VBLK_T_OUT);
    st = ps->bs->ops[0].status;
    if (r || st != VBLK_S_IOERR) {
        blk_check(ps->tg, "blk_ro", ps->b, false, "write=%s",
                  r ? ps->b->why : vblk_status_name(st));
        return;
    }
    /* Chunk 1 of `two` is the second buffer, read from sector 0 again. */
    two.stride = 0;
    two.last = 0;
    pattern(bs, &two, BLKPAT_POISON, 0, 1, 2);
    r = one_chunk(ps, &two, 1, VBLK_T_IN);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_ro", ps, r, "read-again");
        return;
    }
    bs->jobs[0] = (struct blkpat_job){.op = BLKPAT_SAME,
                                      .addr = (uint64_t)chunk_buf(bs, &two, 1),
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
    pattern(ps->bs, l, BLKPAT_FILL, p->seed, 0, l->count);
    r = chunk_pass(ps, l, VBLK_T_OUT, 0);
    if (r || first_not(ps, VBLK_S_OK)) {
        pass_fail(ps->tg, "blk_durable", ps, r, "write");
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
            ps->bs->jobs[k] =
                (struct blkpat_job){.op = BLKPAT_FILL,
                                    .addr = (uint64_t)chunk_buf(ps->bs, &l, k),
                                    .sector = next + k * len,
                                    .nsect = len,
                                    .seed = p->seed};
        blkpat_run(ps->bs->jobs, (uint32_t)l.count);
        ps->n = 0;
        ps->overflow = false;
        for (uint64_t k = 0; k < l.count; k++)
            add_io(ps, VBLK_T_OUT, next + k * len, chunk_buf(ps->bs, &l, k),
                   (uint32_t)len, SH_ONE, (uint16_t)k);
        if ((r = run_pass(ps, false)))
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

        pattern(ps->bs, &l0, BLKPAT_POISON, 0, 0, 1);
        r = one_chunk(ps, &l0, 0, VBLK_T_IN);
        rb = r || first_not(ps, VBLK_S_OK)                       ? "read-failed"
             : pattern(ps->bs, &l0, BLKPAT_CHECK, p->seed, 0, 1) ? "differs"
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
            add_io(ps, VBLK_T_IN, (x >> 33) % places * len,
                   ps->bs->buf + i % VBLK_REQS * len * VBLK_SECTOR,
                   (uint32_t)len, SH_ONE, 0);
        }
        /* One ring entry a request where the device allows: all
         * VBLK_REQS in flight on a 32-entry ring. */
        for (unsigned i = 0; i < ps->n; i++)
            ps->bs->ops[i].io.indirect = ind;
        r = run_pass(ps, true);
        if (!r && first_not(ps, VBLK_S_OK)) {
            pass_fail(ps->tg, "blk_bench", ps, 0, "read");
            return;
        }
        done += n;
    }
    if (r) {
        pass_fail(ps->tg, "blk_bench", ps, r, "read");
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
    if (layout_make(b, p, &l)) {
        blk_check(tg, "blk_args", b, false, "disk-too-small sectors=%lu",
                  b->cfg.capacity);
        return;
    }
    print_layout(b, &l, p->seed);
    if (p->mode == BLK_RWTEST)
        rwtest(&ps, &l, p);
    else if (p->mode == BLK_READ)
        read_mode(&ps, &l, p);
    else if (p->mode == BLK_RO)
        ro_mode(&ps, &l);
    else if (p->mode == BLK_DURABLE)
        durable(&ps, &l, p);
}
