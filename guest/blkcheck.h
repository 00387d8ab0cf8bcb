/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk checks the command line asks for (blk=MODE[,OPT...] for
 * every disk, blk.vdX=... for one; vda, vdb, ... in device order) and
 * the shell's `blk` command. Nothing touches a disk unless its word says
 * so; only the write modes (rwtest, durable, fill) write, and only there.
 * blkcheck.c parses and reports, blkmodes.c runs the modes out of the
 * passes of blkpass.c.
 */
#ifndef TG_BLKCHECK_H
#define TG_BLKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/blkpat.h"
#include "guest/vblk.h"

#define BLK_DISKS_MAX 8
#define BLK_BUF_SECTORS 2048 /* 1 MiB of data buffers */
#define BLK_OPS_MAX 256      /* requests one pass may issue */
#define BLK_CHUNKS_MAX 64
#define BLK_SERIAL_MAX VBLK_ID_BYTES

enum blk_mode {
    BLK_NONE,
    BLK_INFO,
    BLK_READ,
    BLK_RWTEST,
    BLK_RO,
    BLK_DURABLE,
    BLK_FILL,
    BLK_BENCH
};

/* What the command line asks of one disk. */
struct blk_plan {
    enum blk_mode mode;
    uint64_t seed;
    bool has_seed, any_discard, has_len;
    bool restart;        /* then reset the live device, start it, run again */
    bool noflush;        /* do not ask for FLUSH: every write write-through */
    bool busy;           /* restart with reads still in flight */
    uint32_t count, len; /* chunks, and sectors a chunk */
    uint32_t reqs;       /* bench: requests */
    bool has_serial, has_sectors, has_queues;
    char serial[BLK_SERIAL_MAX + 1];
    uint64_t sectors;
    uint32_t queues;
};

/*
 * The sampled chunks of a disk: `count` chunks of `len` sectors, chunk k
 * at k * stride for k < count - 1 and the last one at `last` (the end of
 * the disk, rounded down to the block size).
 */
struct blk_layout {
    uint64_t count, len, stride, last;
};

/* One request of a pass, with its own segment list. */
struct blk_op {
    struct vblk_io io;
    struct vq_seg seg[VBLK_SEGS_MAX];
    uint16_t chunk; /* of the layout, for reports */
    uint8_t status;
};

struct blkset {
    struct vblk disk[BLK_DISKS_MAX]; /* page-aligned rings first */
    uint8_t buf[BLK_BUF_SECTORS * VBLK_SECTOR] __attribute__((aligned(4096)));
    struct blk_op ops[BLK_OPS_MAX];
    struct blkpat_job jobs[BLK_CHUNKS_MAX];
    struct vdev *dev[BLK_DISKS_MAX];
    bool tried[BLK_DISKS_MAX]; /* vblk_start() called (it may have failed) */
    unsigned n;                /* virtio-blk devices, in device order */
};

struct tg;

/* The request shapes a pass cycles through. */
enum blk_shape { SH_ONE, SH_MULTI, SH_INDIRECT, SH_SPLIT, SH_COUNT };

/* One pass of requests: bs->ops[0..n) on disk b. */
struct pass {
    struct tg *tg;
    struct blkset *bs;
    struct vblk *b;
    unsigned n;
    bool overflow; /* more requests than BLK_OPS_MAX */
};

/* True if the command line has a blk= or blk.vdX= word. */
bool blk_wanted(const struct tg *tg);
/* Runs what the blk words ask, one disk after the other. */
void blk_checks(struct tg *tg);
/* Shell: "blk info [vdX]", "blk read [vdX] SECTOR", "blk stats". */
void blk_cmd(struct tg *tg, const char *args, size_t len);

/* blkpass.c (see there). The layout of p's chunks on b: 0, or -1 when
 * the disk is smaller than one chunk. */
int blk_layout_make(const struct vblk *b, const struct blk_plan *p,
                    struct blk_layout *l);
uint64_t blk_chunk_sector(const struct blk_layout *l, uint64_t k);
uint8_t *blk_chunk_buf(struct blkset *bs, const struct blk_layout *l,
                       uint64_t k);
/* Appends the requests for nsect sectors at sector (data at buf). */
void blk_add_io(struct pass *ps, uint32_t type, uint64_t sector, uint8_t *buf,
                uint32_t nsect, enum blk_shape sh, uint16_t chunk);
/* Runs ps's requests; 0 (statuses in the ops) or -1 (b->why). */
int blk_run_pass(struct pass *ps, bool stop);
/* Every chunk of l in shapes rotating from sh0; chunk k of l alone. */
int blk_chunk_pass(struct pass *ps, const struct blk_layout *l, uint32_t type,
                   unsigned sh0);
int blk_one_chunk(struct pass *ps, const struct blk_layout *l, uint64_t k,
                  uint32_t type);
/* The first op of the pass whose status is not want, or NULL. */
const struct blk_op *blk_first_not(const struct pass *ps, uint8_t want);
/* Ring 3: op over chunks [from, to) of l; returns the failed jobs, and
 * blk_first_bad() names the first. */
uint32_t blk_pattern(struct blkset *bs, const struct blk_layout *l,
                     enum blkpat_op op, uint64_t seed, uint64_t from,
                     uint64_t to);
void blk_first_bad(const struct blkset *bs, uint64_t n, uint64_t from,
                   uint64_t *chunk, uint64_t *sector);
void blk_print_layout(const struct vblk *b, const struct blk_layout *l,
                      uint64_t seed);
/* A failed pass as a FAIL check: b->why when r, else the first bad op. */
void blk_pass_fail(struct tg *tg, const char *name, struct pass *ps, int r,
                   const char *what);

/* blkmodes.c: one mode on a started disk; prints its check lines. */
void blk_run_mode(struct tg *tg, struct blkset *bs, struct vblk *b,
                  const struct blk_plan *p);
/* "tg: check NAME ok|FAIL DISK DETAIL". */
void blk_check(struct tg *tg, const char *name, const struct vblk *b, bool ok,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
