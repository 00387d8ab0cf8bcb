/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk driver on Linux's own virtio_ring.c: requests laid out as
 * drivers/block/virtio_blk.c lays them out (a readable header, the data
 * as one scatterlist, a writable status byte), added with
 * virtqueue_add_sgs, many in flight on several queues. Sees only
 * Linux's tools/virtio headers plus lr.h / lr_linux.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "lr.h"
#include "lr_linux.h"

#define LRB_DEPTH 16
#define LRB_T_IN 0
#define LRB_T_OUT 1
#define LRB_T_FLUSH 4
#define LRB_T_GET_ID 8
#define LRB_T_DISCARD 11
#define LRB_T_WRITE_ZEROES 13

struct lrb_req {
    struct {
        uint32_t type, ioprio;
        uint64_t sector;
    } hdr;
    uint8_t status;
    unsigned blk;
    uint8_t *data; /* LR_BLK bytes of fake guest RAM */
};

struct lrb_q {
    struct lrb_req *pool, *free[LRB_DEPTH];
    unsigned nfree, next, done;
};

uint8_t lr_blk_byte(unsigned q, unsigned blk, unsigned i)
{
    return (uint8_t)(q * 131 + blk * 7 + i * 13 + (i >> 9));
}

static uint64_t lrb_sector(const struct lr_blk_case *c, unsigned q,
                           unsigned blk)
{
    return ((uint64_t)q * c->nblocks + blk) * (LR_BLK / 512);
}

/* Header out, data out (write) or in (read), status in. pieces splits
 * the data into one or two scatterlist entries. */
static int lrb_add(unsigned qi, struct lrb_req *r, uint32_t type,
                   uint64_t sector, void *data, unsigned len, bool dev_writes,
                   unsigned pieces)
{
    struct scatterlist hdr, d[2], st, *sgs[3];
    unsigned n = 0, out = 1, in = 1;
    r->hdr.type = type;
    r->hdr.ioprio = 0;
    r->hdr.sector = sector;
    r->status = 0xff;
    sg_init_one(&hdr, &r->hdr, sizeof(r->hdr));
    sgs[n++] = &hdr;
    if (len) {
        sg_init_table(d, pieces);
        if (pieces == 2) {
            sg_set_buf(&d[0], data, len / 2);
            sg_set_buf(&d[1], (uint8_t *)data + len / 2, len - len / 2);
        } else {
            sg_set_buf(&d[0], data, len);
        }
        sgs[n++] = d;
        if (dev_writes)
            in++;
        else
            out++;
    }
    sg_init_one(&st, &r->status, 1);
    sgs[n++] = &st;
    return virtqueue_add_sgs(lr_q[qi].vq, sgs, out, in, r, GFP_ATOMIC);
}

/* Write (or read and check) every block of every queue's region. */
static int lrb_phase(const struct lr_blk_case *c, struct lrb_q *qs,
                     bool write, char *why, size_t wl)
{
    unsigned left = c->nq;
    for (unsigned q = 0; q < c->nq; q++)
        qs[q].next = qs[q].done = 0;
    while (left) {
        int progress = 0;
        left = 0;
        for (unsigned q = 0; q < c->nq; q++) {
            struct lrb_q *s = &qs[q];
            while (s->next < c->nblocks && s->nfree) {
                struct lrb_req *r = s->free[--s->nfree];
                r->blk = (s->next * 7919u) % c->nblocks;
                for (unsigned i = 0; i < LR_BLK; i++)
                    r->data[i] = write ? lr_blk_byte(q, r->blk, i) : 0;
                if (lrb_add(q, r, write ? LRB_T_OUT : LRB_T_IN,
                            lrb_sector(c, q, r->blk), r->data, LR_BLK,
                            !write, 1 + r->blk % 2)) {
                    s->free[s->nfree++] = r;
                    break;
                }
                s->next++;
            }
            virtqueue_kick(lr_q[q].vq);
            struct lrb_req *r;
            unsigned len;
            while ((r = virtqueue_get_buf(lr_q[q].vq, &len))) {
                bool ok = r->status == 0 &&
                          len == (write ? 1 : LR_BLK + 1);
                for (unsigned i = 0; ok && !write && i < LR_BLK; i++)
                    ok = r->data[i] == lr_blk_byte(q, r->blk, i);
                if (!ok) {
                    snprintf(why, wl, "q%u block %u: %s status %u len %u",
                             q, r->blk, write ? "write" : "read",
                             r->status, len);
                    return -EIO;
                }
                s->free[s->nfree++] = r;
                s->done++;
                progress++;
            }
            left += s->done < c->nblocks;
        }
        if (left && !progress && lr_wait(c->nq)) {
            snprintf(why, wl, "no interrupt: a completion was lost");
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* One request on queue 0, waited for: its status, or -errno. */
static int lrb_one(struct lrb_req *r, uint32_t type, uint64_t sector,
                   void *data, unsigned len, bool dev_writes)
{
    if (lrb_add(0, r, type, sector, data, len, dev_writes, 1))
        return -ENOSPC;
    virtqueue_kick(lr_q[0].vq);
    unsigned got;
    void *tok;
    while (!(tok = virtqueue_get_buf(lr_q[0].vq, &got)))
        if (lr_wait(1))
            return -ETIMEDOUT;
    return tok == r ? r->status : -EPROTO;
}

static int lrb_extras(const struct lr_blk_case *c, struct lrb_req *r,
                      char *why, size_t wl)
{
    struct {
        uint64_t sector;
        uint32_t num, flags;
    } *range = (void *)r->data;
    int st = lrb_one(r, LRB_T_FLUSH, 0, NULL, 0, false);
    if (st != 0)
        return snprintf(why, wl, "flush: status %d", st), -EIO;
    memset(r->data, 0xcc, 32);
    st = lrb_one(r, LRB_T_GET_ID, 0, r->data, 20, true);
    if (st != 0 || strncmp((char *)r->data, c->serial, 20))
        return snprintf(why, wl, "get-id: status %d '%.20s'", st, r->data),
               -EIO;
    *range = (typeof(*range)){ lrb_sector(c, 0, 3), LR_BLK / 512, 0 };
    st = lrb_one(r, LRB_T_WRITE_ZEROES, 0, range, 16, false);
    if (st != 0)
        return snprintf(why, wl, "write-zeroes: status %d", st), -EIO;
    memset(r->data, 0xcc, LR_BLK);
    st = lrb_one(r, LRB_T_IN, lrb_sector(c, 0, 3), r->data, LR_BLK, true);
    for (unsigned i = 0; st == 0 && i < LR_BLK; i++)
        if (r->data[i])
            st = -EBADMSG;
    if (st != 0)
        return snprintf(why, wl, "zeroed block reads back %d", st), -EIO;
    *range = (typeof(*range)){ lrb_sector(c, 0, 5), LR_BLK / 512, 0 };
    st = lrb_one(r, LRB_T_DISCARD, 0, range, 16, false);
    if (st != 0)
        return snprintf(why, wl, "discard: status %d", st), -EIO;
    st = lrb_one(r, LRB_T_IN, c->capacity, r->data, 512, true);
    if (st != 1)
        return snprintf(why, wl, "read past the end: status %d", st), -EIO;
    st = lrb_one(r, 0x42, 0, NULL, 0, false);
    if (st != 2)
        return snprintf(why, wl, "type 0x42: status %d", st), -EIO;
    return 0;
}

int lr_blk(const struct lr_blk_case *c, char *why, size_t whylen)
{
    static struct lrb_q qs[LR_MAXQ];
    int err = lr_start(c->nq, c->num);
    if (err) {
        snprintf(why, whylen, "queue setup/DRIVER_OK refused");
        return err;
    }
    for (unsigned q = 0; q < c->nq; q++) {
        struct lrb_q *s = &qs[q];
        memset(s, 0, sizeof(*s));
        s->pool = lr_alloc(LRB_DEPTH * sizeof(*s->pool), 64);
        for (unsigned i = 0; i < LRB_DEPTH; i++) {
            s->pool[i].data = lr_alloc(LR_BLK, 512);
            s->free[s->nfree++] = &s->pool[i];
        }
    }
    err = lrb_phase(c, qs, true, why, whylen);
    if (!err)
        err = lrb_phase(c, qs, false, why, whylen);
    if (!err)
        err = lrb_extras(c, &qs[0].pool[0], why, whylen);
    lr_stop(c->nq);
    return err;
}
