/* SPDX-License-Identifier: MIT */
/* virtio-blk requests: walk a chain, check it, do the cheap ones at once. */
#define LOG_TAG "vblk"
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "hw/log.h"
#include "virtio/blk_priv.h"

_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "header layout");
_Static_assert(sizeof(struct virtio_blk_dwz) == 16, "range layout");

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
            atomic_fetch_add_explicit(&b->st.host_errors, 1,
                                      memory_order_relaxed);
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

/* The request's type decides what its buffers must be. iov[i..nrd) is
 * the readable data after the header, iov[nrd..wend) the writable data
 * before the status. */
static int decode_type(struct vblk *b, struct vblk_slot *s,
                       const struct virtio_blk_outhdr *h, int i, int nrd,
                       int wend)
{
    uint64_t rd_len = iov_sum(s->iov + i, nrd - i);
    uint64_t wr_len = iov_sum(s->iov + nrd, wend - nrd);
    bool rd = s->type == VIRTIO_BLK_T_IN;
    s->data = rd ? s->iov + nrd : s->iov + i;
    s->ndata = rd ? wend - nrd : nrd - i;
    switch (s->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return decode_rw(b, s, s->type, h->sector, rd_len, wr_len);
    case VIRTIO_BLK_T_FLUSH:
        if (rd_len || wr_len)
            return VIRTIO_BLK_S_IOERR;
        return b->dk.ro ? VIRTIO_BLK_S_OK : VBLK_SUBMIT;
    case VIRTIO_BLK_T_GET_ID:
        if (rd_len)
            return VIRTIO_BLK_S_IOERR;
        return get_id(b, s, s->iov + nrd, wend - nrd, wr_len);
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        bool zero = s->type == VIRTIO_BLK_T_WRITE_ZEROES;
        unsigned bit = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
        if (!(b->ops.features & VIRTIO_BIT(bit)))
            return VIRTIO_BLK_S_UNSUPP;
        if (wr_len)
            return VIRTIO_BLK_S_IOERR;
        return do_ranges(b, s->iov, i, nrd, rd_len, zero);
    }
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
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
        atomic_fetch_add_explicit(&b->st.ioerr, 1, memory_order_relaxed);
        return VBLK_DROP;
    }
    struct virtio_blk_outhdr h;
    if (over || iov_take(s->iov, &i, nrd, &h, sizeof(h)) < sizeof(h)) {
        trace(b, q, s, 0, 0, "malformed (header or too many buffers)");
        return VIRTIO_BLK_S_IOERR;
    }
    s->type = h.type == VIRTIO_BLK_T_FLUSH_OUT && b->legacy ? VIRTIO_BLK_T_FLUSH
                                                            : h.type;
    int st = decode_type(b, s, &h, i, nrd, wend);
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
        atomic_fetch_add_explicit(&st->unsupported, 1, memory_order_relaxed);
        return;
    }
    if (status != VIRTIO_BLK_S_OK) {
        atomic_fetch_add_explicit(&st->ioerr, 1, memory_order_relaxed);
        if (host_err) {
            atomic_fetch_add_explicit(&st->host_errors, 1,
                                      memory_order_relaxed);
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
        atomic_fetch_add_explicit(&st->bytes_read, s->len,
                                  memory_order_relaxed);
        break;
    case VIRTIO_BLK_T_OUT:
        c = &st->writes;
        atomic_fetch_add_explicit(&st->bytes_written, s->len,
                                  memory_order_relaxed);
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
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}
