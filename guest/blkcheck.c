/* SPDX-License-Identifier: MIT */
/* The blk command-line words, the disks' report lines and `blk` in the shell.
 */
#include "guest/blkcheck.h"
#include "guest/cmdline.h"
#include "guest/devices.h"
#include "guest/lib.h"
#include "guest/tg.h"

/*
 * Not zeroed at boot (.noinit, see guest.ld): rep stosq over this 1.4 MiB
 * costs ~90 ms of emulated ring 0 on every boot, disks or not. Only what
 * blk_set_up() initialises is read.
 */
#ifdef TG_HOST_IO
#define NOINIT
#else
#define NOINIT __attribute__((section(".noinit")))
#endif
static struct blkset blk_store NOINIT;

#define DEFAULT_COUNT 16
#define DEFAULT_LEN 8        /* sectors: 4 KiB chunks */
#define DEFAULT_FILL_LEN 128 /* 64 KiB writes */
#define DEFAULT_SEED 1
#define DEFAULT_BENCH_REQS 1000
#define BENCH_REQS_MAX 10000000

static const char *const mode_names[] = {
    [BLK_NONE] = "none",     [BLK_INFO] = "info",   [BLK_READ] = "read",
    [BLK_RWTEST] = "rwtest", [BLK_RO] = "ro",       [BLK_DURABLE] = "durable",
    [BLK_FILL] = "fill",     [BLK_BENCH] = "bench",
};

void blk_check(struct tg *tg, const char *name, const struct vblk *b, bool ok,
               const char *f, ...)
{
    char d[160];
    int n = fmt(d, sizeof(d), "%s ", b->name);
    va_list ap;

    va_start(ap, f);
    if (!vfmt(d + n, sizeof(d) - (size_t)n, f, ap))
        d[n - 1] = 0; /* nothing to add: the disk's name alone */
    va_end(ap);
    devices_check(tg, name, ok, d);
}

/* The blk devices in device order, named vda, vdb, ...; none started. */
static struct blkset *set_up(struct tg *tg)
{
    struct blkset *bs = &blk_store;

    if (tg->dev.blk)
        return tg->dev.blk;
    bs->n = 0;
    for (uint32_t i = 0; i < tg->dev.n && bs->n < BLK_DISKS_MAX; i++) {
        struct vdev *d = &tg->dev.dev[i];

        if (d->magic == VIRTIO_MAGIC && d->device_id == VIRTIO_ID_BLK)
            bs->dev[bs->n++] = d;
    }
    for (unsigned i = 0; i < BLK_DISKS_MAX; i++) {
        bs->disk[i].dev = NULL;
        bs->disk[i].broken = NULL;
        bs->disk[i].unwanted = 0; /* .noinit: never zeroed at boot */
        fmt(bs->disk[i].name, sizeof(bs->disk[i].name), "vd%c", 'a' + i);
        bs->tried[i] = false;
    }
    tg->dev.blk = bs;
    return bs;
}

static bool token_is(const char *t, size_t n, const char *word)
{
    return strlen(word) == n && !memcmp(t, word, n);
}

/* One OPT of MODE,OPT,...: key=value or a flag. 0 or -1. */
static int parse_opt(struct blk_plan *p, const char *t, size_t n)
{
    size_t k = 0;
    uint64_t v;

    if (token_is(t, n, "anydiscard")) {
        p->any_discard = true;
        return 0;
    }
    if (token_is(t, n, "restart")) {
        p->restart = true;
        return 0;
    }
    if (token_is(t, n, "noflush")) {
        p->noflush = true;
        return 0;
    }
    if (token_is(t, n, "busyrestart")) {
        p->restart = p->busy = true;
        return 0;
    }
    while (k < n && t[k] != '=')
        k++;
    if (k == n)
        return -1;
    if (token_is(t, k, "serial")) {
        if (n - k - 1 > BLK_SERIAL_MAX)
            return -1;
        memcpy(p->serial, t + k + 1, n - k - 1);
        p->serial[n - k - 1] = 0;
        p->has_serial = true;
        return 0;
    }
    if (parse_u64(t + k + 1, n - k - 1, true, &v))
        return -1;
    if (token_is(t, k, "seed"))
        p->seed = v, p->has_seed = true;
    else if (token_is(t, k, "sectors"))
        p->sectors = v, p->has_sectors = true;
    else if (token_is(t, k, "queues") && v <= 0xffff)
        p->queues = (uint32_t)v, p->has_queues = true;
    else if (token_is(t, k, "count") && v >= 1 && v <= BLK_CHUNKS_MAX)
        p->count = (uint32_t)v;
    else if (token_is(t, k, "reqs") && v >= 1 && v <= BENCH_REQS_MAX)
        p->reqs = (uint32_t)v;
    else if (token_is(t, k, "len") && v >= 1 && v <= BLK_BUF_SECTORS)
        p->len = (uint32_t)v, p->has_len = true;
    else
        return -1;
    return 0;
}

/* MODE[,OPT...]. 0, or -1 with *bad set to the offending token. */
static int parse_plan(struct blk_plan *p, const char *v, size_t n,
                      const char **bad, size_t *badlen)
{
    size_t i = 0;
    bool first = true;

    *p = (struct blk_plan){.mode = BLK_NONE,
                           .seed = DEFAULT_SEED,
                           .count = DEFAULT_COUNT,
                           .len = DEFAULT_LEN,
                           .reqs = DEFAULT_BENCH_REQS};
    while (i <= n) {
        size_t j = i;
        bool ok = false;

        while (j < n && v[j] != ',')
            j++;
        if (first) {
            for (unsigned m = BLK_INFO; m < ARRAY_SIZE(mode_names); m++)
                if (token_is(v + i, j - i, mode_names[m]))
                    p->mode = (enum blk_mode)m, ok = true;
        } else {
            ok = parse_opt(p, v + i, j - i) == 0;
        }
        if (!ok) {
            *bad = v + i;
            *badlen = j - i;
            return -1;
        }
        first = false;
        i = j + 1;
    }
    if (p->mode == BLK_FILL && !p->has_len)
        p->len = DEFAULT_FILL_LEN;
    if ((uint64_t)p->count * p->len > BLK_BUF_SECTORS ||
        (p->mode == BLK_BENCH && p->len * VBLK_REQS > BLK_BUF_SECTORS)) {
        *bad = v;
        *badlen = n;
        return -1;
    }
    return 0;
}

/* Negotiated feature names, comma-separated. */
static void feature_names(const struct vblk *b, char *out, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {VBLK_F_RO, "ro"},
        {VBLK_F_FLUSH, "flush"},
        {VBLK_F_DISCARD, "discard"},
        {VBLK_F_WRITE_ZEROES, "write_zeroes"},
        {VBLK_F_MQ, "mq"},
        {VBLK_F_SEG_MAX, "seg_max"},
        {VBLK_F_SIZE_MAX, "size_max"},
        {VBLK_F_BLK_SIZE, "blk_size"},
        {VBLK_F_TOPOLOGY, "topology"},
        {VIRTIO_F_INDIRECT_DESC, "indirect"},
        {VIRTIO_F_EVENT_IDX, "event_idx"},
    };
    size_t n = 0;

    out[0] = 0;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (vblk_has(b, names[i].bit) && n < size)
            n += (size_t)fmt(out + n, size - n, "%s%s", n ? "," : "",
                             names[i].name);
    if (!n)
        fmt(out, size, "-");
}

static void report(const struct vblk *b, unsigned devno)
{
    const struct vblk_config *c = &b->cfg;
    char f[128];

    tg_printf("tg: blk %s dev=%u capacity=%lu blk_size=%u seg_max=%u "
              "size_max=%u queues=%u/%u qsize=%u legacy=%u irq=%u\n",
              b->name, devno, c->capacity, c->blk_size, c->seg_max, c->size_max,
              b->nq, c->num_queues, b->vq[0].num, b->dev->legacy,
              b->dev->irq_wake);
    feature_names(b, f, sizeof(f));
    tg_printf("tg: blk %s features=0x%lx offered=0x%lx %s\n", b->name,
              b->dev->features, b->dev->offered, f);
    if (vblk_has(b, VBLK_F_DISCARD) || vblk_has(b, VBLK_F_WRITE_ZEROES))
        tg_printf("tg: blk %s discard max=%u seg=%u align=%u write_zeroes "
                  "max=%u seg=%u unmap=%u\n",
                  b->name, c->max_discard_sectors, c->max_discard_seg,
                  c->discard_align, c->max_wz_sectors, c->max_wz_seg,
                  c->wz_may_unmap);
}

/* The serial, printable: bytes up to the first NUL, others as \xHH. */
static void serial_text(const uint8_t *id, char *out, size_t size)
{
    size_t n = 0;

    for (unsigned i = 0; i < VBLK_ID_BYTES && id[i] && n + 5 < size; i++) {
        if (id[i] >= 0x21 && id[i] <= 0x7e && id[i] != '"' && id[i] != '\\')
            out[n++] = (char)id[i];
        else
            n += (size_t)fmt(out + n, size - n, "\\x%02x", id[i]);
    }
    out[n] = 0;
}

/* GET_ID: "tg: blk vdX id ..." and, with serial=, a check. */
static void get_id(struct tg *tg, struct blkset *bs, struct vblk *b,
                   const struct blk_plan *p)
{
    uint8_t *id = bs->buf; /* device-written: 20 bytes of the data buffer */
    struct vq_seg seg = {id, VBLK_ID_BYTES, true};
    struct vblk_io io = {.type = VBLK_T_GET_ID, .seg = &seg, .nseg = 1};
    char text[VBLK_ID_BYTES * 4 + 1];
    uint8_t st = 0xff;
    int r;

    for (unsigned i = 0; i < VBLK_ID_BYTES; i++)
        id[i] = 0;
    r = vblk_run(b, tg, &io, &st);
    if (r || st != VBLK_S_OK) {
        tg_printf("tg: blk %s id %s\n", b->name,
                  r ? b->why : vblk_status_name(st));
        if (p->has_serial || r)
            blk_check(tg, "blk_get_id", b, false, "%s",
                      r ? b->why : vblk_status_name(st));
        return;
    }
    serial_text(id, text, sizeof(text));
    tg_printf("tg: blk %s id \"%s\"\n", b->name, text);
    if (p->has_serial)
        blk_check(tg, "blk_get_id", b, !strncmp(text, p->serial, sizeof(text)),
                  "serial=\"%s\" want=\"%s\"", text, p->serial);
}

/* sectors= and queues=: what the device says against the test's word. */
static void check_config(struct tg *tg, const struct vblk *b,
                         const struct blk_plan *p)
{
    uint32_t q = vblk_has(b, VBLK_F_MQ) ? b->cfg.num_queues : 1;

    if (p->has_sectors)
        blk_check(tg, "blk_capacity", b, b->cfg.capacity == p->sectors,
                  "sectors=%lu want=%lu", b->cfg.capacity, p->sectors);
    if (p->has_queues)
        blk_check(tg, "blk_queues", b, q == p->queues, "queues=%u want=%u", q,
                  p->queues);
}

/* Started once; later calls return the same disk (or NULL again). */
static struct vblk *disk(struct tg *tg, struct blkset *bs, unsigned i,
                         bool quiet)
{
    struct vblk *b = &bs->disk[i];

    if (i >= bs->n)
        return NULL;
    if (!bs->tried[i]) {
        bs->tried[i] = true;
        vblk_start(b, bs->dev[i], tg);
        if (!quiet)
            blk_check(tg, "blk_start", b, b->dev != NULL, "%s",
                      b->dev ? "" : b->why);
    }
    return b->dev ? b : NULL;
}

/*
 * busyrestart: as many reads as the driver holds (4 KiB each, aligned,
 * so the host may take its O_DIRECT path and wait for the disk) posted
 * and notified, none waited for: the reset that follows at once finds
 * some still in the host's hands, if the host is slow enough. Their
 * buffers are the pass buffer, which the next run overwrites.
 */
static unsigned post_reads(struct blkset *bs, struct vblk *b)
{
    unsigned n = 0;

    for (unsigned k = 0; k < VBLK_REQS; k++) {
        struct vq_seg seg = {bs->buf + k * 4096, 4096, true};
        struct vblk_io io = {.type = VBLK_T_IN,
                             .sector = (uint64_t)k * 64,
                             .seg = &seg,
                             .nseg = 1};

        if (io.sector + 8 > b->cfg.capacity || vblk_submit(b, &io) < 0)
            break;
        n++;
    }
    vblk_kick(b);
    return n;
}

static void run_disk(struct tg *tg, struct blkset *bs, unsigned i,
                     const struct blk_plan *p)
{
    struct vblk *b;

    if (i < bs->n && !bs->tried[i])
        bs->disk[i].unwanted = p->noflush ? 1ULL << VBLK_F_FLUSH : 0;
    b = disk(tg, bs, i, false);

    if (!b)
        return;
    report(b, (unsigned)(bs->dev[i] - tg->dev.dev));
    get_id(tg, bs, b, p);
    check_config(tg, b, p);
    blk_run_mode(tg, bs, b, p);
    if (p->restart) {
        /* Said after the reset: a line on the 8250 takes longer than
         * the host's reads. */
        unsigned posted = p->busy && b->dev ? post_reads(bs, b) : 0;
        /* A reset of the running device (the host stops its queues and
         * their workers), a new start (new ones), the mode again. */
        vblk_start(b, bs->dev[i], tg);
        if (p->busy)
            tg_printf("tg: blk %s restarted with %u reads posted\n", b->name,
                      posted);
        blk_check(tg, "blk_restart", b, b->dev != NULL, "%s",
                  b->dev ? "" : b->why);
        if (b->dev)
            blk_run_mode(tg, bs, b, p);
    }
    tg_printf("tg: blk %s stats reqs=%u ok=%u ioerr=%u unsupp=%u in=%lu "
              "out=%lu max_inflight=%u indirect=%u q0=%u q1=%u\n",
              b->name, b->st.reqs, b->st.ok, b->st.ioerr, b->st.unsupp,
              b->st.bytes_in, b->st.bytes_out, b->st.max_inflight,
              b->st.indirect, b->st.per_q[0], b->st.per_q[1]);
}

/* The blk.vdX word for disk i, else blk= (for disks that exist). */
static bool plan_word(const struct tg *tg, unsigned i, const char **v,
                      size_t *n, bool *own)
{
    char key[8];

    fmt(key, sizeof(key), "blk.vd%c", 'a' + i);
    *own = cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, key, v, n);
    return *own || cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "blk", v, n);
}

bool blk_wanted(const struct tg *tg)
{
    const char *v;
    size_t n;
    bool own;

    for (unsigned i = 0; i < BLK_DISKS_MAX; i++)
        if (plan_word(tg, i, &v, &n, &own))
            return true;
    return false;
}

void blk_checks(struct tg *tg)
{
    struct blkset *bs = set_up(tg);
    struct blk_plan p;
    const char *v, *bad;
    size_t n, badlen;
    bool own;

    if (!bs->n &&
        cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "blk", &v, &n))
        devices_check(tg, "blk_disks", false, "none");
    for (unsigned i = 0; i < BLK_DISKS_MAX; i++) {
        if (!plan_word(tg, i, &v, &n, &own) || (!own && i >= bs->n))
            continue;
        if (i >= bs->n) {
            blk_check(tg, "blk_disks", &bs->disk[i], false, "missing n=%u",
                      bs->n);
            continue;
        }
        if (parse_plan(&p, v, n, &bad, &badlen)) {
            blk_check(tg, "blk_args", &bs->disk[i], false,
                      "unparsable \"%.*s\"", (int)badlen, bad);
            continue;
        }
        run_disk(tg, bs, i, &p);
    }
}

/* "vdX" at *a (then skipped): its index; else -1 (and *a unchanged). */
static int disk_word(const char **a, size_t *len)
{
    const char *s = *a;

    if (*len < 3 || s[0] != 'v' || s[1] != 'd' || s[2] < 'a' ||
        s[2] >= 'a' + BLK_DISKS_MAX || (*len > 3 && s[3] != ' '))
        return -1;
    *a += *len > 3 ? 4 : 3;
    *len -= *len > 3 ? 4 : 3;
    return s[2] - 'a';
}

/* 512 bytes as 16 lines of 32 hex bytes. */
static void dump_sector(const struct vblk *b, uint64_t sector, const uint8_t *p)
{
    for (unsigned off = 0; off < VBLK_SECTOR; off += 32) {
        char hex[65];

        for (unsigned i = 0; i < 32; i++)
            fmt(hex + 2 * i, 3, "%02x", p[off + i]);
        tg_printf("tg: blk %s %lu +0x%03x %s\n", b->name, sector, off, hex);
    }
}

/* One read of the logical block holding SECTOR; its 512 bytes shown. */
static void cmd_read(struct tg *tg, struct blkset *bs, struct vblk *b,
                     const char *a, size_t len)
{
    uint32_t blk = vblk_block(b);
    struct vq_seg seg = {bs->buf, blk * VBLK_SECTOR, true};
    struct vblk_io io = {.type = VBLK_T_IN, .seg = &seg, .nseg = 1};
    uint64_t sector;
    uint8_t st;

    if (parse_u64(a, len, false, &sector)) {
        tg_printf("tg: error usage: blk read [vdX] SECTOR\n");
        return;
    }
    io.sector = sector / blk * blk;
    if (vblk_run(b, tg, &io, &st)) {
        tg_printf("tg: blk %s read %lu FAIL %s\n", b->name, sector, b->why);
        return;
    }
    tg_printf("tg: blk %s read %lu %s\n", b->name, sector,
              vblk_status_name(st));
    if (st == VBLK_S_OK)
        dump_sector(b, sector, bs->buf + sector % blk * VBLK_SECTOR);
}

static void cmd_stats(struct blkset *bs)
{
    for (unsigned i = 0; i < bs->n; i++) {
        const struct vblk *b = &bs->disk[i];

        if (!b->dev) {
            tg_printf("tg: blk %s %s\n", b->name,
                      bs->tried[i] ? b->why : "not-started");
            continue;
        }
        tg_printf("tg: blk %s stats reqs=%u ok=%u ioerr=%u unsupp=%u in=%lu "
                  "out=%lu max_inflight=%u%s%s\n",
                  b->name, b->st.reqs, b->st.ok, b->st.ioerr, b->st.unsupp,
                  b->st.bytes_in, b->st.bytes_out, b->st.max_inflight,
                  b->broken ? " broken=" : "", b->broken ? b->broken : "");
    }
}

void blk_cmd(struct tg *tg, const char *args, size_t len)
{
    struct blkset *bs = set_up(tg);
    struct vblk *b;
    bool info = false;
    int i = 0;

    if (len == 5 && !strncmp(args, "stats", 5)) {
        cmd_stats(bs);
        return;
    }
    if (len >= 4 && !strncmp(args, "info", 4) && (len == 4 || args[4] == ' ')) {
        info = true;
        args += len > 4 ? 5 : 4, len -= len > 4 ? 5 : 4;
        i = len ? disk_word(&args, &len) : 0;
        if (len) /* more than one disk name */
            i = -1;
    } else if (len >= 5 && !strncmp(args, "read ", 5)) {
        args += 5, len -= 5;
        i = disk_word(&args, &len);
        i = i < 0 ? 0 : i;
    } else {
        tg_printf("tg: error usage: blk info [vdX] | blk read [vdX] SECTOR | "
                  "blk stats\n");
        return;
    }
    if (i < 0) {
        tg_printf("tg: error usage: blk info [vdX]\n");
        return;
    }
    if ((unsigned)i >= bs->n) {
        tg_printf("tg: error no disk %s (%u found)\n", bs->disk[i].name, bs->n);
        return;
    }
    b = disk(tg, bs, (unsigned)i, true);
    if (!b) {
        tg_printf("tg: blk %s FAIL %s\n", bs->disk[i].name, bs->disk[i].why);
        return;
    }
    if (info)
        report(b, (unsigned)(bs->dev[i] - tg->dev.dev));
    else
        cmd_read(tg, bs, b, args, len);
}
