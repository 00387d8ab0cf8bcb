/* SPDX-License-Identifier: MIT */
/*
 * blkbench: drives kvmini's virtio-blk device with no VM (the fake guest
 * of tests/unit plays the driver on one queue, keeping QD requests in
 * flight) and prints its throughput on one line (a measuring tool for
 * bench/blk.sh; the numbers go next to fio's on the same file).
 *
 * usage: blkbench -f FILE -m randread|read|write -b BYTES -q QD -t SECS
 *                 [-d] [-s]
 *   -d  direct=on (O_DIRECT)      -s  the synchronous engine
 * prints: ios=N bytes=N secs=S iops=X mibps=Y
 * exit: 0, or 1 on a usage, setup or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/blk_rig.h"

#define MAXQD 128

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: blkbench -f FILE -m randread|read|write -b BYTES "
                    "-q QD -t SECS [-d] [-s]\n");
    return 1;
}

struct run {
    struct blk_rig r;
    uint64_t data, hdrs, nblocks, next, rng;
    uint32_t bs;
    unsigned qd;
    bool write, rnd;
    int slot_of_head[256];
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int post(struct run *u, unsigned s)
{
    uint64_t blk =
        u->rnd ? xorshift(&u->rng) % u->nblocks : u->next++ % u->nblocks;
    struct br_req q = {u->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
                       blk * (u->bs / 512),
                       u->data + (uint64_t)s * u->bs,
                       u->bs,
                       u->bs > 131072 ? u->bs / 131072 : 1,
                       !u->write,
                       true};
    int head = br_post(&u->r, 0, &q, u->hdrs + s * 64, u->hdrs + s * 64 + 32);
    if (head >= 0)
        u->slot_of_head[head] = (int)s;
    return head;
}

int main(int argc, char **argv)
{
    static struct run u;
    struct vblk_config c = {.discard = true, .queues = 1};
    const char *mode = "randread";
    double secs = 5;
    u.bs = 4096;
    u.qd = 1;
    int o;
    while ((o = getopt(argc, argv, "f:m:b:q:t:ds")) != -1) {
        switch (o) {
        case 'f':
            snprintf(c.path, sizeof(c.path), "%s", optarg);
            break;
        case 'm':
            mode = optarg;
            break;
        case 'b':
            u.bs = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'q':
            u.qd = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 't':
            secs = strtod(optarg, NULL);
            break;
        case 'd':
            c.direct = true;
            break;
        case 's':
            c.sync_io = true;
            break;
        default:
            return usage();
        }
    }
    u.rnd = !strcmp(mode, "randread");
    u.write = !strcmp(mode, "write");
    if (!c.path[0] || (!u.rnd && !u.write && strcmp(mode, "read")) ||
        u.bs < 512 || u.bs % 512 || u.bs > (8u << 20) || u.qd < 1 ||
        u.qd > MAXQD || secs <= 0)
        return usage();
    char err[512];
    if (br_up(&u.r, &c, NULL, 1, BR_ALL_FEATURES, 256, false, err,
              sizeof(err))) {
        fprintf(stderr, "blkbench: %s\n", err);
        return 1;
    }
    uint64_t cap = 0;
    vmmio_access(u.r.g.m, VMMIO_CONFIG, &cap, 8, false);
    u.nblocks = cap * 512 / u.bs;
    u.data = br_alloc(&u.r, (uint64_t)u.qd * u.bs);
    u.hdrs = br_alloc(&u.r, u.qd * 64);
    u.rng = 0x2545f4914f6cdd1dULL;
    if (u.write)
        br_fill(br_host(&u.r, u.data), (uint64_t)u.qd * u.bs, 1);
    unsigned inflight = 0;
    uint64_t ios = 0;
    double t0 = now(), end = t0 + secs, t;
    int rc = 0;
    for (unsigned s = 0; s < u.qd; s++, inflight++)
        post(&u, s);
    fg_kick(&u.r.g, 0);
    while (inflight) {
        uint32_t id, len;
        int k = fg_get_used(&u.r.g, 0, &id, &len);
        if (k == 0) {
            uint64_t n = fg_irq_count(&u.r.g.irq);
            if (!fg_enable_irq(&u.r.g, 0) && fg_irq_wait(&u.r.g.irq, n)) {
                fprintf(stderr, "blkbench: no completion\n");
                rc = 1;
                break;
            }
            continue;
        }
        unsigned s = (unsigned)u.slot_of_head[id];
        if (k < 0 || *(uint8_t *)br_host(&u.r, u.hdrs + s * 64 + 32) != 0) {
            fprintf(stderr, "blkbench: request failed\n");
            rc = 1;
            break;
        }
        ios++;
        inflight--;
        /* Time checked per completion: cheap next to an I/O. */
        if ((t = now()) < end) {
            post(&u, s);
            inflight++;
            fg_kick_if_needed(&u.r.g, 0);
        }
    }
    t = now() - t0;
    br_down(&u.r);
    if (rc)
        return rc;
    printf("ios=%llu bytes=%llu secs=%.3f iops=%.0f mibps=%.1f\n",
           (unsigned long long)ios, (unsigned long long)ios * u.bs, t, ios / t,
           ios * (double)u.bs / t / (1 << 20));
    return 0;
}
