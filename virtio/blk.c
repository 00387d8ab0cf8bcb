/* SPDX-License-Identifier: MIT */
/* virtio-blk: options, config space, and checking each request. */
#define LOG_TAG "vblk"
#include "virtio/blk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/kvopt.h"
#include "hw/log.h"
#include "virtio/blk_priv.h"

/* The config struct ends at 60 bytes; sizeof rounds it up to 64. */
#define VBLK_CFG_SIZE (offsetof(struct virtio_blk_config, unused1) + 3)
_Static_assert(VBLK_CFG_SIZE == 60, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "blk_size");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "mq");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36,
               "discard");
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "header layout");
_Static_assert(sizeof(struct virtio_blk_dwz) == 16, "range layout");

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- options ---------------------------------------------------------- */

int vblk_parse(const char *spec, struct vblk_config *cfg, char *err,
               size_t errlen)
{
    static const struct kvopt_key keys[] = {
        {"path", KVOPT_STR, offsetof(struct vblk_config, path), PATH_MAX, 0, 0},
        {"ro", KVOPT_BOOL, offsetof(struct vblk_config, ro), 0, 0, 0},
        {"serial", KVOPT_STR, offsetof(struct vblk_config, serial),
         VIRTIO_BLK_ID_BYTES + 1, 0, 0},
        {"queues", KVOPT_U32, offsetof(struct vblk_config, queues), 0, 1,
         VDEV_MAX_QUEUES},
        {"direct", KVOPT_BOOL, offsetof(struct vblk_config, direct), 0, 0, 0},
        {"discard", KVOPT_BOOL, offsetof(struct vblk_config, discard), 0, 0, 0},
        {0},
    };
    *cfg = (struct vblk_config){.discard = true};
    uint64_t given = 0;
    int r = kvopt_parse(spec, keys, "path", cfg, &given, err, errlen);
    if (r < 0)
        return r;
    if (!(given & 1))
        return fail(err, errlen, -EINVAL,
                    "no image path: the first item is the path "
                    "(PATH[,ro][,serial=ID]...)");
    for (const char *c = cfg->serial; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return fail(err, errlen, -EINVAL,
                        "'serial=%s': use printable ASCII", cfg->serial);
    return 0;
}

/* ---- create ------------------------------------------------------------ */

/* Default serial: the image's name (up to 11 safe characters), '-', and
 * a hash of its full path, so it is stable across runs and two images
 * with the same name in different directories still differ. */
static void derive_serial(const char *path, char out[VIRTIO_BLK_ID_BYTES])
{
    char full[PATH_MAX];
    const char *p = realpath(path, full) ? full : path;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = p; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    const char *base = strrchr(p, '/');
    base = base && base[1] ? base + 1 : p;
    char name[12];
    size_t n = 0;
    for (const char *c = base; *c && n < sizeof(name) - 1; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
                  *c == '-';
        name[n++] = ok ? *c : '_';
    }
    name[n] = '\0';
    char s[VIRTIO_BLK_ID_BYTES + 1];
    snprintf(s, sizeof(s), "%s-%08x", name, h);
    memset(out, 0, VIRTIO_BLK_ID_BYTES);
    memcpy(out, s, strlen(s));
}

static unsigned log2u(uint32_t x)
{
    unsigned e = 0;
    while (x > 1) {
        x >>= 1;
        e++;
    }
    return e;
}

static void fill_config(struct vblk *b, uint32_t nq)
{
    const struct disk *dk = &b->dk;
    b->cfg = (struct virtio_blk_config){
        .capacity = dk->size / VIRTIO_BLK_SECTOR,
        .size_max = VBLK_SIZE_MAX,
        .seg_max = VBLK_SEG_MAX,
        .blk_size = dk->lbs,
        .physical_block_exp = (uint8_t)log2u(dk->pbs / dk->lbs),
        .min_io_size = (uint16_t)(dk->pbs / dk->lbs),
        .num_queues = (uint16_t)nq,
        .max_discard_sectors = VBLK_DWZ_SECTORS_MAX,
        .max_discard_seg = VBLK_DWZ_SEG_MAX,
        .discard_sector_alignment = dk->pbs / VIRTIO_BLK_SECTOR,
        .max_write_zeroes_sectors = VBLK_DWZ_SECTORS_MAX,
        .max_write_zeroes_seg = VBLK_DWZ_SEG_MAX,
        .write_zeroes_may_unmap = 1,
    };
}

static int vblk_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
    struct vblk *b = d->priv;
    memcpy(buf, (const uint8_t *)&b->cfg + off, len);
    return 0;
}

static void vblk_attach(struct vdev *d)
{
    struct vblk *b = d->priv;
    b->d = d;
}

static uint64_t ld(const _Atomic uint64_t *x)
{
    return __atomic_load_n(x, __ATOMIC_RELAXED);
}

static void vblk_stats_print(const struct vdev *d, FILE *f)
{
    const struct vblk *b = d->priv;
    const struct vblk_stats *s = &b->st;
    fprintf(f,
            "virtio blk %s: reads %llu writes %llu flushes %llu get-id "
            "%llu discards %llu write-zeroes %llu unsupported %llu, "
            "bytes read %llu written %llu, errors %llu (host %llu)\n",
            b->path, (unsigned long long)ld(&s->reads),
            (unsigned long long)ld(&s->writes),
            (unsigned long long)ld(&s->flushes),
            (unsigned long long)ld(&s->get_ids),
            (unsigned long long)ld(&s->discards),
            (unsigned long long)ld(&s->zeroes),
            (unsigned long long)ld(&s->unsupported),
            (unsigned long long)ld(&s->bytes_read),
            (unsigned long long)ld(&s->bytes_written),
            (unsigned long long)ld(&s->ioerr),
            (unsigned long long)ld(&s->host_errors));
}

int vblk_create_on(struct vblk **out, struct disk *dk,
                   const struct vblk_config *cfg, unsigned ncpus, char *err,
                   size_t errlen)
{
    uint32_t nq = cfg->queues ? cfg->queues : (ncpus ? ncpus : 1);
    if (nq > VDEV_MAX_QUEUES)
        nq = cfg->queues ? 0 : VDEV_MAX_QUEUES;
    if (nq == 0) {
        disk_close(dk);
        return fail(err, errlen, -ERANGE, "queues=%u: use 1..%u", cfg->queues,
                    VDEV_MAX_QUEUES);
    }
    struct vblk *b = calloc(1, sizeof(*b));
    if (!b) {
        disk_close(dk);
        return fail(err, errlen, -ENOMEM, "%s: out of memory", cfg->path);
    }
    b->dk = *dk;
    b->sync_io = cfg->sync_io;
    snprintf(b->path, sizeof(b->path), "%s", cfg->path);
    if (cfg->serial[0])
        memcpy(b->serial, cfg->serial,
               strnlen(cfg->serial, VIRTIO_BLK_ID_BYTES));
    else
        derive_serial(cfg->path, b->serial);
    fill_config(b, nq);
    uint64_t f =
        VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
        VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    if (b->dk.ro)
        f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else
        f |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
             (cfg->discard ? VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) : 0);
    b->ops = (struct vdev_ops){
        .name = "blk",
        .device_id = VIRTIO_ID_BLOCK,
        .nqueues = nq,
        .qsize_max = VBLK_QSIZE,
        .cfg_size = VBLK_CFG_SIZE,
        .features = f,
        .cfg_read = vblk_cfg_read,
        .attach = vblk_attach,
        .start = vblk_start,
        .stop = vblk_stop,
        .poll_fd = vblk_poll_fd,
        .process = vblk_process,
        .stats_print = vblk_stats_print,
    };
    for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++)
        b->q[i].efd = -1;
    *out = b;
    return 0;
}

int vblk_create(struct vblk **out, const struct vblk_config *cfg,
                unsigned ncpus, char *err, size_t errlen)
{
    struct disk dk;
    unsigned fl = (cfg->ro ? DISK_RO : 0) | (cfg->direct ? DISK_DIRECT : 0);
    int r = disk_open(&dk, cfg->path, fl, err, errlen);
    if (r < 0)
        return r;
    return vblk_create_on(out, &dk, cfg, ncpus, err, errlen);
}

const struct vdev_ops *vblk_ops(const struct vblk *b)
{
    return &b->ops;
}

void vblk_destroy(struct vblk *b)
{
    if (!b)
        return;
    disk_close(&b->dk);
    free(b);
}

const struct vblk_stats *vblk_stats(const struct vblk *b)
{
    return &b->st;
}

bool vblk_uses_uring(const struct vblk *b, unsigned qi)
{
    return qi < VDEV_MAX_QUEUES && b->q[qi].live && b->q[qi].uring;
}

/* ---- requests ---------------------------------------------------------- */

/* Copy up to len bytes from the front of iov[*i..end), consuming them
 * (the header and discard ranges may straddle buffers: the spec forbids
 * assuming any framing). Returns the bytes copied. */
static size_t iov_take(struct iovec *iov, int *i, int end, void *dst,
                       size_t len)
{
    size_t got = 0;
    while (got < len && *i < end) {
        struct iovec *v = &iov[*i];
        size_t k = v->iov_len < len - got ? v->iov_len : len - got;
        memcpy((uint8_t *)dst + got, v->iov_base, k);
        got += k;
        v->iov_base = (uint8_t *)v->iov_base + k;
        v->iov_len -= k;
        if (v->iov_len == 0)
            (*i)++;
    }
    return got;
}

static uint64_t iov_sum(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Whole sectors inside the disk, without overflow. */
static bool in_bounds(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
    uint64_t cap = b->cfg.capacity;
    return bytes % VIRTIO_BLK_SECTOR == 0 && sector <= cap &&
           bytes / VIRTIO_BLK_SECTOR <= cap - sector;
}

static void trace(struct vblk *b, struct vq *q, const struct vblk_slot *s,
                  uint32_t type, uint64_t sector, const char *what)
{
    log_cat_rl(LOG_CAT_VIRTIO,
               "%s: q%ld head %u type %u sector %llu len %llu%s%s", b->ops.name,
               (long)(q - b->d->vq), s->head, type, (unsigned long long)sector,
               (unsigned long long)s->len, what ? ": " : "", what ? what : "");
}

/* DISCARD / WRITE_ZEROES: check every range first, then do them here on
 * the worker (fallocate/ioctl, not worth the ring). */
static int do_ranges(struct vblk *b, struct iovec *iov, int i, int end,
                     uint64_t rd_len, bool zero)
{
    struct virtio_blk_dwz r[VBLK_DWZ_SEG_MAX];
    uint32_t n = (uint32_t)(rd_len / sizeof(r[0]));
    if (rd_len == 0 || rd_len % sizeof(r[0]) || n > VBLK_DWZ_SEG_MAX)
        return VIRTIO_BLK_S_IOERR;
    iov_take(iov, &i, end, r, rd_len);
    for (uint32_t k = 0; k < n; k++) {
        if (r[k].flags & ~VIRTIO_BLK_WZ_F_UNMAP)
            return VIRTIO_BLK_S_UNSUPP; /* unknown flag (§5.2.6.2) */
        if (!zero && r[k].flags)
            return VIRTIO_BLK_S_UNSUPP; /* unmap on a discard */
        if (r[k].num_sectors > VBLK_DWZ_SECTORS_MAX ||
            !in_bounds(b, r[k].sector,
                       (uint64_t)r[k].num_sectors * VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint64_t off = r[k].sector * VIRTIO_BLK_SECTOR;
        uint64_t len = (uint64_t)r[k].num_sectors * VIRTIO_BLK_SECTOR;
        int e = zero ? disk_write_zeroes(&b->dk, off, len,
                                         r[k].flags & VIRTIO_BLK_WZ_F_UNMAP)
                     : disk_discard(&b->dk, off, len);
        if (e == 0 && zero && b->writethrough)
            e = disk_flush(&b->dk);
        if (e < 0) {
            log_warn_rl("%s: %s: %s", b->path,
                        zero ? "write-zeroes" : "discard", strerror(-e));
            __atomic_fetch_add(&b->st.host_errors, 1, __ATOMIC_RELAXED);
            return VIRTIO_BLK_S_IOERR;
        }
    }
    return VIRTIO_BLK_S_OK;
}

/* GET_ID: the serial, NUL-padded, into the writable data. */
static int get_id(struct vblk *b, struct vblk_slot *s, struct iovec *iov, int n,
                  uint64_t wr_len)
{
    uint32_t want =
        wr_len < VIRTIO_BLK_ID_BYTES ? (uint32_t)wr_len : VIRTIO_BLK_ID_BYTES;
    uint32_t done = 0;
    for (int i = 0; i < n && done < want; i++) {
        uint32_t k = iov[i].iov_len < want - done ? (uint32_t)iov[i].iov_len
                                                  : want - done;
        memcpy(iov[i].iov_base, b->serial + done, k);
        done += k;
    }
    s->used = done + 1;
    return VIRTIO_BLK_S_OK;
}

/* Walk the chain into s->iov: device-readable buffers first (the queue
 * engine refuses a readable one after a writable one), *nrd of them.
 * Past VBLK_IOV_MAX only the last writable buffer is kept, so the
 * request can still be failed through its status byte. */
static int walk(struct vq_iter *it, struct vblk_slot *s, int *nrd, int *n,
                bool *over)
{
    struct vq_buf buf;
    int r;
    *nrd = *n = 0;
    *over = false;
    while ((r = vq_iter_next(it, &buf)) > 0) {
        struct iovec v = {buf.p, buf.len};
        if (*n < VBLK_IOV_MAX) {
            s->iov[(*n)++] = v;
            *nrd += !buf.dev_writes;
        } else if (buf.dev_writes && buf.len) {
            *over = true;
            if (*nrd == VBLK_IOV_MAX) /* the last slot becomes writable */
                (*nrd)--;
            s->iov[VBLK_IOV_MAX - 1] = v;
        } else {
            *over = true;
        }
    }
    return r;
}

/* Take the status byte off the end of the writable part. Returns the
 * end of the writable data, or -1 if there is no writable byte. */
static int take_status(struct vblk_slot *s, int nrd, int n)
{
    int j = n - 1;
    while (j >= nrd && s->iov[j].iov_len == 0)
        j--;
    if (j < nrd)
        return -1;
    s->iov[j].iov_len--;
    s->status = (uint8_t *)s->iov[j].iov_base + s->iov[j].iov_len;
    return s->iov[j].iov_len ? j + 1 : j;
}

static int decode_rw(struct vblk *b, struct vblk_slot *s, uint32_t type,
                     uint64_t sector, uint64_t rd_len, uint64_t wr_len)
{
    bool rd = type == VIRTIO_BLK_T_IN;
    /* A read has nothing readable after the header and a write nothing
     * writable but the status: anything else means the status byte is
     * not where the driver thinks it is. */
    if ((rd && rd_len) || (!rd && wr_len))
        return VIRTIO_BLK_S_IOERR;
    if (!rd && b->dk.ro)
        return VIRTIO_BLK_S_IOERR; /* §5.2.6.2: and write nothing */
    s->len = rd ? wr_len : rd_len;
    if (s->len > VBLK_REQ_MAX || s->ndata > VBLK_SEG_MAX ||
        !in_bounds(b, sector, s->len))
        return VIRTIO_BLK_S_IOERR;
    s->off = sector * VIRTIO_BLK_SECTOR;
    s->used = rd ? (uint32_t)s->len + 1 : 1;
    return s->len ? VBLK_SUBMIT : VIRTIO_BLK_S_OK;
}

int vblk_decode(struct vblk *b, struct vq *q, struct vq_iter *it,
                struct vblk_slot *s)
{
    int nrd, n, i = 0, wend;
    bool over;
    int r = walk(it, s, &nrd, &n, &over);
    s->head = it->head;
    s->status = NULL;
    s->len = s->done = s->off = 0;
    s->used = 1;
    s->type = UINT32_MAX;
    if (r < 0 || (wend = take_status(s, nrd, n)) < 0) {
        /* Malformed, or nowhere to put a status: fail the chain. */
        vq_fail(q, it->head, r < 0 ? r : -EPROTO);
        __atomic_fetch_add(&b->st.ioerr, 1, __ATOMIC_RELAXED);
        return VBLK_DROP;
    }
    struct virtio_blk_outhdr h;
    if (over || iov_take(s->iov, &i, nrd, &h, sizeof(h)) < sizeof(h)) {
        trace(b, q, s, 0, 0, "malformed (header or too many buffers)");
        return VIRTIO_BLK_S_IOERR;
    }
    s->type = h.type == VIRTIO_BLK_T_FLUSH_OUT && b->legacy ? VIRTIO_BLK_T_FLUSH
                                                            : h.type;
    uint64_t rd_len = iov_sum(s->iov + i, nrd - i);
    uint64_t wr_len = iov_sum(s->iov + nrd, wend - nrd);
    bool rd = h.type == VIRTIO_BLK_T_IN;
    s->data = rd ? s->iov + nrd : s->iov + i;
    s->ndata = rd ? wend - nrd : nrd - i;
    int st;
    switch (s->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        st = decode_rw(b, s, h.type, h.sector, rd_len, wr_len);
        break;
    case VIRTIO_BLK_T_FLUSH:
        st = rd_len || wr_len ? VIRTIO_BLK_S_IOERR
             : b->dk.ro       ? VIRTIO_BLK_S_OK
                              : VBLK_SUBMIT;
        break;
    case VIRTIO_BLK_T_GET_ID:
        st = rd_len ? VIRTIO_BLK_S_IOERR
                    : get_id(b, s, s->iov + nrd, wend - nrd, wr_len);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        bool zero = s->type == VIRTIO_BLK_T_WRITE_ZEROES;
        unsigned bit = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
        if (!(b->ops.features & VIRTIO_BIT(bit)))
            st = VIRTIO_BLK_S_UNSUPP;
        else if (wr_len)
            st = VIRTIO_BLK_S_IOERR;
        else
            st = do_ranges(b, s->iov, i, nrd, rd_len, zero);
        break;
    }
    default:
        st = VIRTIO_BLK_S_UNSUPP;
    }
    trace(b, q, s, h.type, h.sector,
          st == VBLK_SUBMIT          ? NULL
          : st == VIRTIO_BLK_S_OK    ? "done"
          : st == VIRTIO_BLK_S_IOERR ? "IOERR"
                                     : "UNSUPP");
    return st;
}

void vblk_complete(struct vblk *b, struct vq *q, struct vblk_slot *s,
                   int status, int host_err)
{
    struct vblk_stats *st = &b->st;
    *s->status = (uint8_t)status;
    vq_push(q, s->head, status == VIRTIO_BLK_S_OK ? s->used : 1);
    if (status == VIRTIO_BLK_S_UNSUPP) {
        __atomic_fetch_add(&st->unsupported, 1, __ATOMIC_RELAXED);
        return;
    }
    if (status != VIRTIO_BLK_S_OK) {
        __atomic_fetch_add(&st->ioerr, 1, __ATOMIC_RELAXED);
        if (host_err) {
            __atomic_fetch_add(&st->host_errors, 1, __ATOMIC_RELAXED);
            log_warn_rl("%s: %s at byte %llu failed: %s", b->path,
                        s->type == VIRTIO_BLK_T_IN    ? "read"
                        : s->type == VIRTIO_BLK_T_OUT ? "write"
                                                      : "flush",
                        (unsigned long long)s->off, strerror(-host_err));
        }
        return;
    }
    _Atomic uint64_t *c = NULL;
    switch (s->type) {
    case VIRTIO_BLK_T_IN:
        c = &st->reads;
        __atomic_fetch_add(&st->bytes_read, s->len, __ATOMIC_RELAXED);
        break;
    case VIRTIO_BLK_T_OUT:
        c = &st->writes;
        __atomic_fetch_add(&st->bytes_written, s->len, __ATOMIC_RELAXED);
        break;
    case VIRTIO_BLK_T_FLUSH:
        c = &st->flushes;
        break;
    case VIRTIO_BLK_T_GET_ID:
        c = &st->get_ids;
        break;
    case VIRTIO_BLK_T_DISCARD:
        c = &st->discards;
        break;
    case VIRTIO_BLK_T_WRITE_ZEROES:
        c = &st->zeroes;
        break;
    }
    if (c)
        __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}
