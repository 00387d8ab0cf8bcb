/* SPDX-License-Identifier: MIT */
/*
 * Passes of blk requests: the sampled layout of a disk, the four request
 * shapes (one buffer, a direct multi-buffer chain, an indirect chain,
 * split into several requests) within the device's limits, running a
 * pass with as many in flight as fit, and the ring-3 pattern jobs over
 * chunks. The modes (blkmodes.c) are built from these.
 */
#include "guest/blkcheck.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define SPLIT_PARTS 8

int blk_layout_make(const struct vblk *b, const struct blk_plan *p,
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

uint64_t blk_chunk_sector(const struct blk_layout *l, uint64_t k)
{
    return k + 1 == l->count ? l->last : k * l->stride;
}

uint8_t *blk_chunk_buf(struct blkset *bs, const struct blk_layout *l,
                       uint64_t k)
{
    return bs->buf + k * l->len * VBLK_SECTOR;
}

/* Blocks in segment g of a request of `total` blocks, by shape. */
static uint32_t seg_blocks(enum blk_shape sh, unsigned g, uint32_t total,
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
void blk_add_io(struct pass *ps, uint32_t type, uint64_t sector, uint8_t *buf,
                uint32_t nsect, enum blk_shape sh, uint16_t chunk)
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

            blk_add_io(ps, type, sector + from, buf + from * VBLK_SECTOR,
                       to - from, SH_ONE, chunk);
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
int blk_run_pass(struct pass *ps, bool stop)
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
const struct blk_op *blk_first_not(const struct pass *ps, uint8_t want)
{
    for (unsigned i = 0; i < ps->n; i++)
        if (ps->bs->ops[i].status != want)
            return &ps->bs->ops[i];
    return NULL;
}

/* Every chunk of l as requests of `type`, chunk k in shape (k + sh0) % 4. */
int blk_chunk_pass(struct pass *ps, const struct blk_layout *l, uint32_t type,
                   unsigned sh0)
{
    ps->n = 0;
    ps->overflow = false;
    for (uint64_t k = 0; k < l->count; k++)
        blk_add_io(ps, type, blk_chunk_sector(l, k),
                   blk_chunk_buf(ps->bs, l, k), (uint32_t)l->len,
                   (enum blk_shape)((k + sh0) % SH_COUNT), (uint16_t)k);
    return blk_run_pass(ps, false);
}

/* One request of type over chunk k alone (in one buffer). */
int blk_one_chunk(struct pass *ps, const struct blk_layout *l, uint64_t k,
                  uint32_t type)
{
    ps->n = 0;
    ps->overflow = false;
    blk_add_io(ps, type, blk_chunk_sector(l, k), blk_chunk_buf(ps->bs, l, k),
               (uint32_t)l->len, SH_ONE, (uint16_t)k);
    return blk_run_pass(ps, false);
}

/* Ring 3: op on chunks [from, to) of l. Returns the failures. */
uint32_t blk_pattern(struct blkset *bs, const struct blk_layout *l,
                     enum blkpat_op op, uint64_t seed, uint64_t from,
                     uint64_t to)
{
    for (uint64_t k = from; k < to; k++)
        bs->jobs[k - from] = (struct blkpat_job){
            .op = op,
            .addr = (uint64_t)blk_chunk_buf(bs, l, k),
            .sector = blk_chunk_sector(l, k),
            .nsect = l->len,
            .seed = seed,
        };
    return blkpat_run(bs->jobs, (uint32_t)(to - from));
}

/* The first failed job's chunk (offset by from) and sector. */
void blk_first_bad(const struct blkset *bs, uint64_t n, uint64_t from,
                   uint64_t *chunk, uint64_t *sector)
{
    for (uint64_t i = 0; i < n; i++)
        if (bs->jobs[i].out) {
            *chunk = from + i;
            *sector = bs->jobs[i].sector + bs->jobs[i].out - 1;
            return;
        }
}

void blk_print_layout(const struct vblk *b, const struct blk_layout *l,
                      uint64_t seed)
{
    tg_printf("tg: blk %s layout count=%lu len=%lu stride=%lu last=%lu "
              "seed=%lu\n",
              b->name, l->count, l->len, l->stride, l->last, seed);
}

/* A failed pass: the device's reason, or the first bad status. */
void blk_pass_fail(struct tg *tg, const char *name, struct pass *ps, int r,
                   const char *what)
{
    const struct blk_op *op = blk_first_not(ps, VBLK_S_OK);

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
