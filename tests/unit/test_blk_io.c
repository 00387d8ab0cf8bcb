/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk engines through the fake guest: many requests in flight on
 * several queues at once, reset while requests are in flight, a full
 * host filesystem, O_DIRECT, writethrough, and the synchronous engine
 * used when io_uring is unavailable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hw/log.h"
#include "tests/unit/blk_rig.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"
#include "virtio/mmio.h"

#define MIB (1ULL << 20)
#define ALL BR_ALL_FEATURES
#define BLK 4096u

static char dir[64], img[128], err[512];
static bool private_mounts; /* we may mount tmpfs (own mount namespace) */

static void make_image(const char *p, uint64_t size)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size))
        abort();
    close(fd);
}

static void skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static struct vblk_config cfg_of(const char *path, bool sync_io)
{
    struct vblk_config c = {.discard = true, .sync_io = sync_io};
    snprintf(c.path, sizeof(c.path), "%s", path);
    return c;
}

static const char *engine(bool sync_io)
{
    return sync_io ? "sync" : "io_uring";
}

/* ---- many requests in flight on several queues ------------------------ */

struct job {
    struct blk_rig *r;
    unsigned qi, depth, nblocks, rounds;
    uint64_t first;      /* first sector of this queue's region */
    uint64_t data, hdrs; /* depth slots of BLK and 64 bytes */
    int slot_of_head[256];
    unsigned blk_of_slot[64];
    char why[160];
};

static uint64_t seed_of(const struct job *j, unsigned round, unsigned blk)
{
    return (uint64_t)j->qi << 40 | (uint64_t)round << 20 | blk;
}

/* One pass over the region (writes or reads) keeping depth in flight. */
static int phase(struct job *j, bool write, unsigned round)
{
    struct blk_rig *r = j->r;
    unsigned next = 0, done = 0, nfree = 0, freel[64];
    for (unsigned s = 0; s < j->depth; s++)
        freel[nfree++] = s;
    while (done < j->nblocks) {
        while (next < j->nblocks && nfree) {
            unsigned s = freel[--nfree];
            /* An odd step visits every block of a power-of-two region. */
            unsigned blk = (next++ * 7919u + round * 13u) % j->nblocks;
            uint64_t buf = j->data + (uint64_t)s * BLK;
            if (write)
                br_fill(br_host(r, buf), BLK, seed_of(j, round, blk));
            else
                memset(br_host(r, buf), 0, BLK);
            struct br_req q = {write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
                               j->first + (uint64_t)blk * (BLK / 512),
                               buf,
                               BLK,
                               1 + blk % 3,
                               !write,
                               blk % 2 == 0};
            int head =
                br_post(r, j->qi, &q, j->hdrs + s * 64, j->hdrs + s * 64 + 32);
            if (head < 0)
                return snprintf(j->why, sizeof(j->why), "post failed"), -1;
            j->slot_of_head[head] = (int)s;
            j->blk_of_slot[s] = blk;
        }
        fg_kick_if_needed(&r->g, j->qi);
        uint32_t id, len;
        int k = fg_get_used(&r->g, j->qi, &id, &len);
        if (k == 0) {
            uint64_t c = fg_irq_count(&r->g.irq);
            if (!fg_enable_irq(&r->g, j->qi) && fg_irq_wait(&r->g.irq, c))
                return snprintf(j->why, sizeof(j->why),
                                "q%u: no completion (%u/%u done)", j->qi, done,
                                j->nblocks),
                       -1;
            continue;
        }
        unsigned s = (unsigned)j->slot_of_head[id];
        uint8_t st = *(uint8_t *)br_host(r, j->hdrs + s * 64 + 32);
        uint64_t buf = j->data + (uint64_t)s * BLK;
        unsigned blk = j->blk_of_slot[s];
        if (k < 0 || st != VIRTIO_BLK_S_OK ||
            (!write && !br_check(br_host(r, buf), BLK, seed_of(j, round, blk))))
            return snprintf(j->why, sizeof(j->why), "q%u block %u: status %u%s",
                            j->qi, blk, st, write ? "" : " or wrong data"),
                   -1;
        done++;
        freel[nfree++] = s;
    }
    return 0;
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    for (unsigned round = 0; round < j->rounds; round++)
        if (phase(j, true, round) || phase(j, false, round))
            return (void *)1;
    return NULL;
}

static bool region_ok(const char *path, const struct job *j)
{
    int fd = open(path, O_RDONLY);
    uint8_t buf[BLK];
    bool ok = fd >= 0;
    for (unsigned b = 0; ok && b < j->nblocks; b++)
        ok = pread(fd, buf, BLK, (off_t)(j->first * 512 + b * BLK)) == BLK &&
             br_check(buf, BLK, seed_of(j, j->rounds - 1, b));
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_many_in_flight(bool sync_io)
{
    enum { NQ = 4, DEPTH = 32, NBLOCKS = 256 };
    struct blk_rig r;
    struct vblk_config c = cfg_of(img, sync_io);
    c.queues = NQ;
    if (br_up(&r, &c, NULL, 1, ALL, 128, false, err, sizeof(err))) {
        CHECK(0, "%s: device up: %s", engine(sync_io), err);
        return;
    }
    static struct job jobs[NQ];
    pthread_t th[NQ];
    for (unsigned q = 0; q < NQ; q++) {
        jobs[q] = (struct job){.r = &r,
                               .qi = q,
                               .depth = DEPTH,
                               .nblocks = NBLOCKS,
                               .rounds = 2,
                               .first = 2048 + q * NBLOCKS * (BLK / 512)};
        jobs[q].data = br_alloc(&r, (uint64_t)DEPTH * BLK);
        jobs[q].hdrs = br_alloc(&r, DEPTH * 64);
    }
    for (unsigned q = 0; q < NQ; q++)
        pthread_create(&th[q], NULL, job_main, &jobs[q]);
    int bad = 0;
    for (unsigned q = 0; q < NQ; q++) {
        void *ret;
        pthread_join(th[q], &ret);
        if (ret) {
            bad++;
            DIAG("%s", jobs[q].why);
        }
    }
    const struct vblk_stats *st = vblk_stats(r.b);
    CHECK(!bad && st->reads == NQ * 2 * NBLOCKS &&
              st->writes == NQ * 2 * NBLOCKS,
          "%s: 4 queues x 32 deep x 1024 requests, every read verified",
          engine(sync_io));
    bool files = true;
    for (unsigned q = 0; q < NQ; q++)
        files = files && region_ok(img, &jobs[q]);
    CHECK(files, "%s: the image holds each queue's last round",
          engine(sync_io));
    bool uring = true;
    for (unsigned q = 0; q < NQ; q++)
        uring = uring && vblk_uses_uring(r.b, q);
    if (sync_io)
        CHECK(!vblk_uses_uring(r.b, 0) && st->inflight_peak == 0,
              "sync: no ring, one request at a time");
    else
        CHECK(uring && st->inflight_peak > 1,
              "io_uring: up to %llu host I/Os in flight on one queue",
              (unsigned long long)st->inflight_peak);
    br_down(&r);
}

/* ---- reset with requests in flight -------------------------------------- */

static bool wait_until(const _Atomic uint64_t *v, uint64_t want)
{
    for (int i = 0; i < 5000; i++) { /* 5 s hang guard */
        if (atomic_load_explicit(v, memory_order_relaxed) >= want)
            return true;
        usleep(1000);
    }
    return false;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* A pipe as the disk: a read stays in flight until the test writes, so
 * the reset meets exactly the requests we posted. */
static void test_reset_pipe(void)
{
    enum { N = 8 };
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        abort();
    struct disk dk = {.fd = p[0],
                      .fd_cached = p[0],
                      .size = MIB,
                      .lbs = 512,
                      .pbs = 512,
                      .ro = true};
    struct vblk_config c = cfg_of("pipe", false);
    struct blk_rig r;
    if (br_up(&r, &c, &dk, 1, ALL, 64, false, err, sizeof(err))) {
        CHECK(0, "pipe device up: %s", err);
        return;
    }
    uint64_t data = br_alloc(&r, N * BLK), hdrs = br_alloc(&r, N * 64);
    memset(br_host(&r, data), 0xaa, N * BLK);
    for (unsigned i = 0; i < N; i++) {
        struct br_req q = {
            VIRTIO_BLK_T_IN, i * 8, data + i * BLK, BLK, 1, true, false};
        br_post(&r, 0, &q, hdrs + i * 64, hdrs + i * 64 + 32);
    }
    fg_kick(&r.g, 0);
    const struct vblk_stats *st = vblk_stats(r.b);
    CHECK(wait_until(&st->inflight_peak, N),
          "8 reads in flight on an empty pipe");
    struct vring_used *u = r.g.q[0].u;
    fg_reset(&r.g);
    CHECK(st->reset_waits == N, "reset waited for all %d (%llu)", N,
          (unsigned long long)st->reset_waits);
    static uint8_t src[32768];
    br_fill(src, sizeof(src), 77);
    if (write(p[1], src, sizeof(src)) != (ssize_t)sizeof(src))
        abort();
    usleep(50 * 1000);
    int left = 0;
    ioctl(p[0], FIONREAD, &left);
    CHECK(u->idx == 0 && all_bytes(br_host(&r, data), N * BLK, 0xaa) &&
              left == (int)sizeof(src),
          "after reset: no completion, guest buffers untouched, pipe data "
          "unread (%d bytes)",
          left);
    CHECK(br_restart(&r, ALL, 64) == 0, "driver starts again");
    struct br_req q = {VIRTIO_BLK_T_IN, 0, data, BLK, 1, true, false};
    bool ok = true;
    for (unsigned i = 0; i < sizeof(src) / BLK; i++) {
        ok = ok && br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_OK &&
             !memcmp(br_host(&r, data), src + i * BLK, BLK);
    }
    CHECK(ok, "the data written after the reset is read in order");
    close(p[1]);
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_IOERR && st->host_errors == 1,
          "end of file on the backend: IOERR, counted as a host error");
    br_down(&r); /* closes p[0] with the disk */
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* A real file: big writes in flight when the guest resets. Whatever was
 * acknowledged is in the file, and nothing changes after the reset. */
static void test_reset_writes(void)
{
    enum { N = 24, LEN = 1 << 20, REPS = 3 };
    int fds = open_fds();
    struct blk_rig r;
    struct vblk_config c = cfg_of(img, false);
    if (br_up(&r, &c, NULL, 1, ALL, 64, false, err, sizeof(err))) {
        CHECK(0, "device up: %s", err);
        return;
    }
    uint64_t data = br_alloc(&r, (uint64_t)N * LEN);
    uint64_t hdrs = br_alloc(&r, N * 64);
    bool acked_ok = true, still = true, status_ok = true;
    unsigned acked = 0;
    for (unsigned rep = 0; rep < REPS; rep++) {
        for (unsigned i = 0; i < N; i++) {
            br_fill(br_host(&r, data + (uint64_t)i * LEN), LEN, rep * 100 + i);
            struct br_req q = {VIRTIO_BLK_T_OUT,
                               (uint64_t)i * (LEN / 512),
                               data + (uint64_t)i * LEN,
                               LEN,
                               14,
                               false,
                               true};
            br_post(&r, 0, &q, hdrs + i * 64, hdrs + i * 64 + 32);
        }
        fg_kick(&r.g, 0);
        /* Let the worker take them, then pull the rug. */
        volatile uint16_t *la = &vmmio_vdev(r.g.m)->vq[0].last_avail;
        for (int t = 0; t < 5000 && *la != r.g.q[0].avail_idx; t++)
            usleep(100);
        struct vring_used *u = r.g.q[0].u;
        fg_reset(&r.g);
        uint64_t h1 = br_file_hash(img);
        uint16_t n = u->idx;
        bool done[N] = {false};
        for (uint16_t k = 0; k < n; k++)
            done[u->ring[k].id] = true;
        int fd = open(img, O_RDONLY);
        uint8_t *buf = malloc(LEN);
        for (unsigned i = 0; i < N; i++) {
            uint8_t s = *(uint8_t *)br_host(&r, hdrs + i * 64 + 32);
            status_ok = status_ok && (done[i] ? s == 0 : s == 0xff);
            if (!done[i])
                continue;
            acked++;
            acked_ok = acked_ok && pread(fd, buf, LEN, (off_t)i * LEN) == LEN &&
                       br_check(buf, LEN, rep * 100 + i);
        }
        free(buf);
        close(fd);
        usleep(100 * 1000);
        still = still && br_file_hash(img) == h1 && u->idx == n;
        if (br_restart(&r, ALL, 64))
            abort();
    }
    DIAG("%u of %u writes acknowledged before the resets; the resets "
         "waited for %llu in flight",
         acked, N * REPS, (unsigned long long)vblk_stats(r.b)->reset_waits);
    CHECK(acked_ok, "every acknowledged write is in the image");
    CHECK(status_ok, "status written for exactly the acknowledged ones");
    CHECK(still, "nothing reaches the image or the used ring after reset");
    br_down(&r);
    CHECK(open_fds() == fds,
          "no descriptor left behind (rings, eventfds, image: %d -> %d)", fds,
          open_fds());
}

/* ---- host errors: a full filesystem -------------------------------------- */

static void test_enospc(bool sync_io)
{
    if (!private_mounts) {
        skip("ENOSPC: cannot mount a tmpfs (needs root)");
        return;
    }
    char mnt[128], path[160];
    snprintf(mnt, sizeof(mnt), "%s/small", dir);
    snprintf(path, sizeof(path), "%s/full.img", mnt);
    mkdir(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k")) {
        skip("ENOSPC: mount tmpfs failed");
        return;
    }
    make_image(path, 4 * MIB); /* sparse: bigger than the filesystem */
    struct blk_rig r;
    struct vblk_config c = cfg_of(path, sync_io);
    if (br_up(&r, &c, NULL, 1, ALL, 64, false, err, sizeof(err))) {
        CHECK(0, "device up: %s", err);
        umount(mnt);
        return;
    }
    enum { LEN = 64 * 1024 };
    uint64_t data = br_alloc(&r, LEN), rg = br_alloc(&r, 64);
    unsigned ok = 0, ioerr = 0;
    for (unsigned i = 0; i < 16; i++) {
        br_fill(br_host(&r, data), LEN, i);
        struct br_req q = {
            VIRTIO_BLK_T_OUT, i * (LEN / 512), data, LEN, 1, false, false};
        int s = br_do(&r, 0, &q, NULL);
        ok += s == VIRTIO_BLK_S_OK;
        ioerr += s == VIRTIO_BLK_S_IOERR;
    }
    const struct vblk_stats *st = vblk_stats(r.b);
    CHECK(ok >= 1 && ioerr >= 1 && ok + ioerr == 16 && st->host_errors == ioerr,
          "%s: 1 MiB into 256 KiB: %u OK then %u IOERR (host errors)",
          engine(sync_io), ok, ioerr);
    struct br_req q = {VIRTIO_BLK_T_IN, 0, data, LEN, 1, true, false};
    struct br_req f = {.type = VIRTIO_BLK_T_FLUSH};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_OK &&
              br_check(br_host(&r, data), LEN, 0) &&
              br_do(&r, 0, &f, NULL) == VIRTIO_BLK_S_OK,
          "%s: the device keeps serving: read back, flush", engine(sync_io));
    struct virtio_blk_dwz d = {0, 2048, 0};
    memcpy(br_host(&r, rg), &d, sizeof(d));
    struct br_req dq = {VIRTIO_BLK_T_DISCARD, 0, rg, 16, 1, false, false};
    br_fill(br_host(&r, data), LEN, 99);
    struct br_req w = {VIRTIO_BLK_T_OUT, 4096, data, LEN, 1, false, false};
    CHECK(br_do(&r, 0, &dq, NULL) == VIRTIO_BLK_S_OK &&
              br_do(&r, 0, &w, NULL) == VIRTIO_BLK_S_OK,
          "%s: discard frees space, writes succeed again", engine(sync_io));
    br_down(&r);
    if (umount(mnt))
        DIAG("umount %s: %s", mnt, strerror(errno));
    rmdir(mnt);
}

/* ---- the synchronous engine, O_DIRECT, writethrough ---------------------- */

static void test_fallback_message(void)
{
    struct stderr_capture cap;
    stderr_capture_begin(&cap);
    log_cats = LOG_CAT_VIRTIO;
    struct blk_rig r;
    struct vblk_config c = cfg_of(img, true);
    c.queues = 2;
    int e = br_up(&r, &c, NULL, 1, ALL, 16, false, err, sizeof(err));
    if (e == 0)
        e = br_restart(&r, ALL, 16); /* a second start: no second line */
    log_cats = 0;
    char *buf = stderr_capture_end(&cap, NULL);
    unsigned lines = 0;
    for (char *s = buf; (s = strstr(s, "io_uring unavailable")); s++)
        lines++;
    CHECK(e == 0 && lines == 1 && strstr(buf, "synchronous preadv/pwritev"),
          "--debug virtio says once that the synchronous engine is used "
          "(%u lines)",
          lines);
    free(buf);
    CHECK(!vblk_uses_uring(r.b, 0) && !vblk_uses_uring(r.b, 1),
          "both queues on the synchronous engine");
    br_down(&r);
}

static void test_direct_and_writethrough(void)
{
    struct blk_rig r;
    struct vblk_config c = cfg_of(img, false);
    c.direct = true;
    int e = br_up(&r, &c, NULL, 1, ALL, 64, false, err, sizeof(err));
    if (e == -EINVAL) {
        skip("direct=on: O_DIRECT unsupported here");
    } else {
        uint64_t buf = br_alloc(&r, 4 * BLK);
        uint8_t *h = br_host(&r, buf);
        br_fill(h + 8, 2 * BLK, 5);
        struct br_req w = {
            VIRTIO_BLK_T_OUT, 80, buf + 8, 2 * BLK, 3, false, false};
        struct br_req rd = {
            VIRTIO_BLK_T_IN, 80, buf + 2 * BLK, 2 * BLK, 1, true, false};
        CHECK(e == 0 && br_do(&r, 0, &w, NULL) == VIRTIO_BLK_S_OK &&
                  br_do(&r, 0, &rd, NULL) == VIRTIO_BLK_S_OK &&
                  br_check(h + 2 * BLK, 2 * BLK, 5),
              "direct: misaligned guest buffers written, read back "
              "aligned");
        br_fill(h, BLK, 6);
        w = (struct br_req){VIRTIO_BLK_T_OUT, 88, buf, BLK, 1, false, false};
        rd = (struct br_req){
            VIRTIO_BLK_T_IN, 88, buf + BLK + 3, BLK, 2, true, false};
        CHECK(br_do(&r, 0, &w, NULL) == VIRTIO_BLK_S_OK &&
                  br_do(&r, 0, &rd, NULL) == VIRTIO_BLK_S_OK &&
                  br_check(h + BLK + 3, BLK, 6),
              "direct: aligned write, read into a misaligned buffer");
    }
    br_down(&r);

    /* Without FLUSH negotiated writes must be stable on completion
     * (§5.2.6.2); they then carry RWF_DSYNC. */
    for (int s = 0; s < 2; s++) {
        c = cfg_of(img, s);
        uint64_t f = ALL & ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
        br_up(&r, &c, NULL, 1, f, 64, false, err, sizeof(err));
        uint64_t buf = br_alloc(&r, 2 * BLK);
        br_fill(br_host(&r, buf), BLK, 8);
        struct br_req w = {VIRTIO_BLK_T_OUT, 160, buf, BLK, 1, false, false};
        struct br_req rd = {
            VIRTIO_BLK_T_IN, 160, buf + BLK, BLK, 1, true, false};
        CHECK(!(r.g.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) &&
                  br_do(&r, 0, &w, NULL) == VIRTIO_BLK_S_OK &&
                  br_do(&r, 0, &rd, NULL) == VIRTIO_BLK_S_OK &&
                  br_check(br_host(&r, buf + BLK), BLK, 8),
              "%s: writethrough (no FLUSH negotiated) works", engine(s));
        br_down(&r);
    }
}

int main(void)
{
    /* Our own mount namespace, before any thread exists, so the tmpfs
     * of the ENOSPC test is private and vanishes with us. */
    if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        private_mounts = true;
    snprintf(dir, sizeof(dir), "/tmp/kvmini-blkio.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(img, sizeof(img), "%s/io.img", dir);
    make_image(img, 64 * MIB);
    test_many_in_flight(false);
    test_many_in_flight(true);
    test_reset_pipe();
    test_reset_writes();
    test_enospc(false);
    test_enospc(true);
    test_fallback_message();
    test_direct_and_writethrough();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
