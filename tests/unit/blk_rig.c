/* SPDX-License-Identifier: MIT */
/* A virtio-blk device behind the fake guest, and requests to drive it. */
#include "tests/unit/blk_rig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BR_RAM (96ULL << 20)

static int setup_queues(struct blk_rig *r, uint64_t feat, uint32_t qnum)
{
    if (fg_negotiate(&r->g, feat))
        return -EPROTO;
    for (unsigned i = 0; i < r->nq; i++)
        if (fg_queue_setup(&r->g, i, qnum))
            return -EIO;
    return fg_driver_ok(&r->g);
}

int br_up(struct blk_rig *r, const struct vblk_config *cfg, struct disk *dk,
          unsigned ncpus, uint64_t feat, uint32_t qnum, bool legacy, char *err,
          size_t errlen)
{
    memset(r, 0, sizeof(*r));
    int e = dk ? vblk_create_on(&r->b, dk, cfg, ncpus, err, errlen)
               : vblk_create(&r->b, cfg, ncpus, err, errlen);
    if (e < 0)
        return e;
    r->nq = vblk_ops(r->b)->nqueues;
    if (fg_init(&r->g, BR_RAM) ||
        fg_attach(&r->g, vblk_ops(r->b), r->b, legacy)) {
        snprintf(err, errlen, "setup");
        return -EIO;
    }
    for (unsigned i = 0; i < r->nq; i++)
        r->hdr[i] = fg_alloc(&r->g, 64, 64);
    e = setup_queues(r, feat, qnum);
    if (e)
        snprintf(err, errlen, "setup");
    return e;
}

int br_restart(struct blk_rig *r, uint64_t feat, uint32_t qnum)
{
    return setup_queues(r, feat, qnum);
}

void br_down(struct blk_rig *r)
{
    if (r->g.ram)
        fg_fini(&r->g);
    vblk_destroy(r->b);
    memset(r, 0, sizeof(*r));
}

void *br_host(struct blk_rig *r, uint64_t gpa)
{
    return fg_host(&r->g, gpa);
}

uint64_t br_alloc(struct blk_rig *r, uint64_t len)
{
    return fg_alloc(&r->g, len, 4096);
}

int br_post(struct blk_rig *r, unsigned qi, const struct br_req *q,
            uint64_t hdr, uint64_t status)
{
    struct virtio_blk_outhdr h = {.type = q->type, .sector = q->sector};
    memcpy(br_host(r, hdr), &h, sizeof(h));
    *(uint8_t *)br_host(r, status) = 0xff;
    struct fg_seg s[FG_MAX_SEGS];
    unsigned n = 0, nseg = q->nseg ? q->nseg : 1;
    if (nseg > FG_MAX_SEGS - 2) /* room for the header and status */
        nseg = FG_MAX_SEGS - 2;
    s[n++] = (struct fg_seg){hdr, sizeof(h), false};
    if (q->len) {
        uint32_t piece = q->len / nseg, off = 0;
        for (unsigned i = 0; i < nseg; i++) {
            uint32_t k = i + 1 == nseg ? q->len - off : piece;
            s[n++] = (struct fg_seg){q->data + off, k, q->dev_writes};
            off += k;
        }
    }
    s[n++] = (struct fg_seg){status, 1, true};
    return fg_post(&r->g, qi, s, n, q->indirect);
}

int br_wait(struct blk_rig *r, unsigned qi, uint32_t *id, uint32_t *len)
{
    for (;;) {
        int k = fg_get_used(&r->g, qi, id, len);
        if (k != 0)
            return k;
        uint64_t c = fg_irq_count(&r->g.irq);
        if (fg_enable_irq(&r->g, qi))
            continue;
        if (fg_irq_wait(&r->g.irq, c))
            return -ETIMEDOUT;
    }
}

int br_do(struct blk_rig *r, unsigned qi, const struct br_req *q,
          uint32_t *used)
{
    uint64_t hdr = r->hdr[qi], st = hdr + 32;
    int head = br_post(r, qi, q, hdr, st);
    if (head < 0)
        return head;
    fg_kick(&r->g, qi);
    uint32_t id, len;
    int k = br_wait(r, qi, &id, &len);
    if (k < 0)
        return k;
    if (id != (uint32_t)head)
        return -EPROTO;
    if (used)
        *used = len;
    return *(uint8_t *)br_host(r, st);
}

int br_chain(struct blk_rig *r, unsigned qi, const struct fg_seg *s, unsigned n,
             bool indirect)
{
    int head = fg_post(&r->g, qi, s, n, indirect);
    if (head < 0)
        return head;
    fg_kick(&r->g, qi);
    uint32_t id, len;
    int k = br_wait(r, qi, &id, &len);
    if (k < 0)
        return k;
    return id == (uint32_t)head ? (int)len : -EPROTO;
}

static uint8_t pattern(uint64_t seed, uint64_t i)
{
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL + i / 8 * 0x100000001b3ULL;
    return (uint8_t)((x >> (8 * (i % 8))) ^ (x >> 56) ^ i);
}

void br_fill(void *p, uint64_t len, uint64_t seed)
{
    uint8_t *b = p;
    for (uint64_t i = 0; i < len; i++)
        b[i] = pattern(seed, i);
}

bool br_check(const void *p, uint64_t len, uint64_t seed)
{
    const uint8_t *b = p;
    for (uint64_t i = 0; i < len; i++)
        if (b[i] != pattern(seed, i))
            return false;
    return true;
}

uint64_t br_file_hash(const char *path)
{
    static uint8_t buf[1 << 16];
    uint64_t h = 1469598103934665603ULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    close(fd);
    return h;
}
