/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk through the fake guest: options, config space, every
 * request type, read-only, malformed and out-of-range requests, legacy,
 * counters. The engines (many in flight, reset, ENOSPC, fallback) are in
 * test_blk_io.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/blk_rig.h"
#include "tests/unit/tap.h"
#include "virtio/mmio.h"

#define MIB (1ULL << 20)
#define IMG_SIZE (8 * MIB)
#define SECTORS (IMG_SIZE / 512)
#define ALL BR_ALL_FEATURES

static char dir[64], img[128], err[512];

static void make_image(const char *p, uint64_t size)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size))
        abort();
    close(fd);
}

static struct vblk_config cfg_for(const char *spec)
{
    struct vblk_config c;
    if (vblk_parse(spec, &c, err, sizeof(err)))
        abort();
    return c;
}

static int up(struct blk_rig *r, const char *spec, uint64_t feat)
{
    struct vblk_config c = cfg_for(spec);
    err[0] = '\0';
    return br_up(r, &c, NULL, 1, feat, 64, false, err, sizeof(err));
}

static uint32_t cfg32(struct blk_rig *r, uint32_t off, uint32_t len)
{
    uint32_t v = 0;
    vmmio_access(r->g.m, VMMIO_CONFIG + off, &v, len, false);
    return v;
}

static uint64_t offered(struct blk_rig *r)
{
    fg_wr(&r->g, VMMIO_DEV_FEATURES_SEL, 0);
    return fg_rd(&r->g, VMMIO_DEV_FEATURES);
}

static void test_parse(void)
{
    struct vblk_config c;
    int e = vblk_parse("a.img", &c, err, sizeof(err));
    CHECK(e == 0 && !strcmp(c.path, "a.img") && c.discard && !c.ro &&
              !c.direct && c.queues == 0 && !c.serial[0],
          "defaults: discard on, ro/direct off, queues per vCPU");
    e = vblk_parse("b,,c.img,ro,serial=disk-01,queues=4,direct=on,"
                   "discard=off",
                   &c, err, sizeof(err));
    CHECK(e == 0 && !strcmp(c.path, "b,c.img") && c.ro && c.direct &&
              !c.discard && c.queues == 4 && !strcmp(c.serial, "disk-01"),
          "every key (%s)", err);
    e = vblk_parse("a.img,queues=0", &c, err, sizeof(err));
    CHECK(e == -ERANGE && strstr(err, "1..16"), "queues=0: %s", err);
    e = vblk_parse("a.img,queues=17", &c, err, sizeof(err));
    CHECK(e == -ERANGE && strstr(err, "1..16"), "queues=17: %s", err);
    e = vblk_parse("a.img,serial=123456789012345678901", &c, err, sizeof(err));
    CHECK(e == -EINVAL && strstr(err, "longer than 20"), "serial: %s", err);
    e = vblk_parse("a.img,serial=12345678901234567890", &c, err, sizeof(err));
    CHECK(e == 0, "a 20-byte serial is fine");
    e = vblk_parse("a.img,serial=a\tb", &c, err, sizeof(err));
    CHECK(e == -EINVAL && strstr(err, "printable"), "control char: %s", err);
    e = vblk_parse("a.img,rox", &c, err, sizeof(err));
    CHECK(e == -EINVAL && strstr(err, "unknown key 'rox'"), "%s", err);
    e = vblk_parse("ro,serial=x", &c, err, sizeof(err));
    CHECK(e == -EINVAL && strstr(err, "no image path"), "%s", err);
    e = vblk_parse("a.img,direct=maybe", &c, err, sizeof(err));
    CHECK(e == -EINVAL && strstr(err, "direct"), "%s", err);
}

static void test_create_errors(void)
{
    struct vblk *b = NULL, *b2 = NULL;
    struct vblk_config c = cfg_for("/nonexistent/x.img");
    CHECK(vblk_create(&b, &c, 1, err, sizeof(err)) == -ENOENT &&
              strstr(err, "/nonexistent/x.img"),
          "missing image: %s", err);
    char odd[160];
    snprintf(odd, sizeof(odd), "%s/odd.img", dir);
    make_image(odd, 1000);
    c = cfg_for(odd);
    CHECK(vblk_create(&b, &c, 1, err, sizeof(err)) == -EINVAL &&
              strstr(err, "size 1000 is not a multiple of 512"),
          "size 1000: %s", err);
    c = cfg_for(img);
    CHECK(vblk_create(&b, &c, 1, err, sizeof(err)) == 0 &&
              vblk_create(&b2, &c, 1, err, sizeof(err)) == -EBUSY &&
              strstr(err, "in use by another process (locked)"),
          "second read-write device on one image: %s", err);
    vblk_destroy(b);
    c.ro = true;
    CHECK(vblk_create(&b, &c, 1, err, sizeof(err)) == 0 &&
              vblk_create(&b2, &c, 1, err, sizeof(err)) == 0,
          "two read-only devices share one image");
    vblk_destroy(b);
    vblk_destroy(b2);
    c.ro = false;
    CHECK(vblk_create(&b, &c, 3, err, sizeof(err)) == 0 &&
              vblk_ops(b)->nqueues == 3,
          "queues=0 means one per vCPU (3)");
    vblk_destroy(b);
    CHECK(vblk_create(&b, &c, 64, err, sizeof(err)) == 0 &&
              vblk_ops(b)->nqueues == VBLK_MAX_QUEUES,
          "64 vCPUs: capped at %u queues", VBLK_MAX_QUEUES);
    vblk_destroy(b);
}

static void test_config(void)
{
    struct blk_rig r;
    char spec[200];
    snprintf(spec, sizeof(spec), "%s,queues=2", img);
    CHECK(up(&r, spec, ALL) == 0, "device up (%s)", err);
    uint64_t f = offered(&r);
    uint64_t want =
        VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
        VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_MQ) |
        VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
        VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    CHECK((f & want) == want && !(f & VIRTIO_BIT(VIRTIO_BLK_F_RO)),
          "features offered (0x%llx)", (unsigned long long)f);
    CHECK(fg_rd(&r.g, VMMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id 2");
    uint64_t cap = cfg32(&r, 0, 4) | (uint64_t)cfg32(&r, 4, 4) << 32;
    CHECK(cap == SECTORS, "capacity %llu sectors", (unsigned long long)cap);
    CHECK(cfg32(&r, 8, 4) > 0 && cfg32(&r, 12, 4) >= 2,
          "size_max %u, seg_max %u", cfg32(&r, 8, 4), cfg32(&r, 12, 4));
    CHECK(cfg32(&r, 20, 4) == 512, "blk_size 512 for a file");
    uint32_t exp = cfg32(&r, 24, 1), minio = cfg32(&r, 26, 2);
    CHECK(minio == 1u << exp, "topology: physical exp %u, min_io %u", exp,
          minio);
    CHECK(cfg32(&r, 34, 2) == 2, "num_queues 2");
    CHECK(cfg32(&r, 36, 4) > 0 && cfg32(&r, 40, 4) > 0 &&
              cfg32(&r, 48, 4) > 0 && cfg32(&r, 52, 4) > 0 &&
              cfg32(&r, 56, 1) == 1,
          "discard and write-zeroes limits, may_unmap");
    CHECK(cfg32(&r, 60, 4) == 0, "nothing past the 60-byte config");
    br_down(&r);

    snprintf(spec, sizeof(spec), "%s,ro", img);
    up(&r, spec, ALL);
    f = offered(&r);
    CHECK((f & VIRTIO_BIT(VIRTIO_BLK_F_RO)) &&
              !(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) &&
              !(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)),
          "ro: RO offered, no discard or write-zeroes");
    br_down(&r);
    snprintf(spec, sizeof(spec), "%s,discard=off", img);
    up(&r, spec, ALL);
    f = offered(&r);
    CHECK(!(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) &&
              (f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)),
          "discard=off: no DISCARD, WRITE_ZEROES stays");
    br_down(&r);
}

static int rd(struct blk_rig *r, uint64_t sector, uint64_t buf, uint32_t len,
              unsigned nseg, bool ind)
{
    struct br_req q = {VIRTIO_BLK_T_IN, sector, buf, len, nseg, true, ind};
    return br_do(r, 0, &q, NULL);
}

static int wr(struct blk_rig *r, uint64_t sector, uint64_t buf, uint32_t len,
              unsigned nseg, bool ind)
{
    struct br_req q = {VIRTIO_BLK_T_OUT, sector, buf, len, nseg, false, ind};
    return br_do(r, 0, &q, NULL);
}

static bool file_has(const char *p, uint64_t off, const void *want, size_t len)
{
    uint8_t *buf = malloc(len);
    int fd = open(p, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len &&
              !memcmp(buf, want, len);
    if (fd >= 0)
        close(fd);
    free(buf);
    return ok;
}

static void test_read_write(void)
{
    struct blk_rig r;
    up(&r, img, ALL);
    uint64_t src = br_alloc(&r, MIB), dst = br_alloc(&r, MIB);
    br_fill(br_host(&r, src), 4096, 1);
    uint32_t used = 0;
    struct br_req q = {VIRTIO_BLK_T_OUT, 8, src, 4096, 1, false, false};
    CHECK(br_do(&r, 0, &q, &used) == VIRTIO_BLK_S_OK && used == 1,
          "write 4 KiB at sector 8: OK, used length 1");
    CHECK(file_has(img, 4096, br_host(&r, src), 4096),
          "the image file holds the data at byte 4096");
    q = (struct br_req){VIRTIO_BLK_T_IN, 8, dst, 4096, 1, true, false};
    CHECK(br_do(&r, 0, &q, &used) == VIRTIO_BLK_S_OK && used == 4097 &&
              br_check(br_host(&r, dst), 4096, 1),
          "read it back: OK, used length 4097, same bytes");

    /* Odd-sized pieces, direct and indirect. */
    br_fill(br_host(&r, src), 64 * 1024, 2);
    CHECK(wr(&r, 100, src, 64 * 1024, 13, false) == VIRTIO_BLK_S_OK,
          "64 KiB write in 13 segments (direct chain)");
    memset(br_host(&r, dst), 0, 64 * 1024);
    CHECK(rd(&r, 100, dst, 64 * 1024, 14, true) == VIRTIO_BLK_S_OK &&
              br_check(br_host(&r, dst), 64 * 1024, 2),
          "read in 14 segments through an indirect table");
    br_fill(br_host(&r, src), 512, 3);
    CHECK(wr(&r, SECTORS - 1, src, 512, 1, true) == VIRTIO_BLK_S_OK &&
              rd(&r, SECTORS - 1, dst, 512, 1, false) == VIRTIO_BLK_S_OK &&
              br_check(br_host(&r, dst), 512, 3),
          "the last sector is readable and writable");
    CHECK(rd(&r, 0, dst, 0, 1, false) == VIRTIO_BLK_S_OK,
          "a zero-length read is OK");

    /* Framing is free (§2.6.4): header split over two buffers, header
     * and data sharing one, data and status sharing one. */
    uint64_t blob = br_alloc(&r, 8192);
    uint8_t *h = br_host(&r, blob);
    struct virtio_blk_outhdr hd = {.type = VIRTIO_BLK_T_OUT, .sector = 40};
    memcpy(h, &hd, 16);
    br_fill(h + 16, 1024, 4);
    h[4096] = 0xff;
    struct fg_seg s1[4] = {{blob, 5, false},
                           {blob + 5, 16 - 5 + 700, false},
                           {blob + 16 + 700, 1024 - 700, false},
                           {blob + 4096, 1, true}};
    CHECK(br_chain(&r, 0, s1, 4, false) == 1 && h[4096] == 0 &&
              file_has(img, 40 * 512, h + 16, 1024),
          "header split 5+11 bytes, sharing a buffer with data: written");
    hd.type = VIRTIO_BLK_T_IN;
    memcpy(h, &hd, 16);
    memset(h + 4096, 0xee, 1025);
    struct fg_seg s2[2] = {{blob, 16, false}, {blob + 4096, 1025, true}};
    int len = br_chain(&r, 0, s2, 2, false);
    CHECK(len == 1025 && h[4096 + 1024] == 0 && br_check(h + 4096, 1024, 4),
          "data and status in one 1025-byte buffer: read, status last");
    br_down(&r);
}

static void test_flush_id(void)
{
    struct blk_rig r;
    char spec[200];
    snprintf(spec, sizeof(spec), "%s,serial=0123456789abcdefghij", img);
    up(&r, spec, ALL);
    struct br_req q = {.type = VIRTIO_BLK_T_FLUSH};
    uint32_t used = 0;
    CHECK(br_do(&r, 0, &q, &used) == VIRTIO_BLK_S_OK && used == 1 &&
              vblk_stats(r.b)->flushes == 1,
          "flush: OK, counted");
    uint64_t id = br_alloc(&r, 64);
    memset(br_host(&r, id), 0x55, 64);
    q = (struct br_req){VIRTIO_BLK_T_GET_ID, 0, id, 20, 1, true, false};
    CHECK(br_do(&r, 0, &q, &used) == VIRTIO_BLK_S_OK && used == 21 &&
              !memcmp(br_host(&r, id), "0123456789abcdefghij", 20),
          "get-id: a 20-byte serial, no terminator");
    q.len = 8;
    memset(br_host(&r, id), 0x55, 64);
    CHECK(br_do(&r, 0, &q, &used) == VIRTIO_BLK_S_OK && used == 9 &&
              !memcmp(br_host(&r, id), "01234567", 8) &&
              ((uint8_t *)br_host(&r, id))[8] == 0x55,
          "get-id into 8 bytes writes only 8");
    struct br_req bad = {VIRTIO_BLK_T_FLUSH, 0, id, 512, 1, false, false};
    CHECK(br_do(&r, 0, &bad, NULL) == VIRTIO_BLK_S_IOERR,
          "flush carrying data: IOERR");
    br_down(&r);

    up(&r, img, ALL);
    q = (struct br_req){VIRTIO_BLK_T_GET_ID, 0, id, 20, 1, true, false};
    memset(br_host(&r, id), 0, 64);
    const char *s = br_host(&r, id);
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_OK &&
              !strncmp(s, "blk.img-", 8) && strlen(s) == 16,
          "default serial derived from the path: '%.20s'", s);
    br_down(&r);
}

static void put_ranges(struct blk_rig *r, uint64_t gpa,
                       const struct virtio_blk_dwz *d, unsigned n)
{
    memcpy(br_host(r, gpa), d, n * sizeof(*d));
}

static int ranges(struct blk_rig *r, uint32_t type, uint64_t gpa, unsigned n)
{
    struct br_req q = {type, 0, gpa, n * 16, 1, false, false};
    return br_do(r, 0, &q, NULL);
}

static long file_blocks(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_blocks;
}

static bool file_zero(const char *p, uint64_t off, size_t len)
{
    uint8_t *z = calloc(1, len);
    bool ok = file_has(p, off, z, len);
    free(z);
    return ok;
}

static void test_discard_zeroes(void)
{
    struct blk_rig r;
    up(&r, img, ALL);
    uint64_t src = br_alloc(&r, MIB), rg = br_alloc(&r, 4096);
    br_fill(br_host(&r, src), MIB, 9);
    CHECK(wr(&r, 2048, src, MIB, 1, false) == VIRTIO_BLK_S_OK,
          "1 MiB of data at 1 MiB");
    long before = file_blocks(img);
    struct virtio_blk_dwz d[3] = {{2048, 256, 0}};
    put_ranges(&r, rg, d, 1);
    CHECK(ranges(&r, VIRTIO_BLK_T_DISCARD, rg, 1) == VIRTIO_BLK_S_OK &&
              file_blocks(img) < before && vblk_stats(r.b)->discards == 1,
          "discard 128 KiB: blocks freed (%ld -> %ld)", before,
          file_blocks(img));
    d[0] = (struct virtio_blk_dwz){2048, 8, 1};
    put_ranges(&r, rg, d, 1);
    CHECK(ranges(&r, VIRTIO_BLK_T_DISCARD, rg, 1) == VIRTIO_BLK_S_UNSUPP,
          "discard with the unmap flag: UNSUPP");
    d[0] = (struct virtio_blk_dwz){2048, 8, 4};
    put_ranges(&r, rg, d, 1);
    CHECK(ranges(&r, VIRTIO_BLK_T_WRITE_ZEROES, rg, 1) == VIRTIO_BLK_S_UNSUPP,
          "write-zeroes with a reserved flag: UNSUPP");
    d[0] = (struct virtio_blk_dwz){2600, 3, 0};
    d[1] = (struct virtio_blk_dwz){2700, 64, 1};
    d[2] = (struct virtio_blk_dwz){2900, 100, 0};
    put_ranges(&r, rg, d, 3);
    uint8_t *p = br_host(&r, src);
    CHECK(ranges(&r, VIRTIO_BLK_T_WRITE_ZEROES, rg, 3) == VIRTIO_BLK_S_OK &&
              file_zero(img, 2600 * 512, 3 * 512) &&
              file_zero(img, 2700 * 512, 64 * 512) &&
              file_zero(img, 2900 * 512, 100 * 512) &&
              file_has(img, 2603 * 512, p + (2603 - 2048) * 512, 512) &&
              file_has(img, 2599 * 512, p + (2599 - 2048) * 512, 512),
          "write-zeroes, 3 ranges (one with unmap): zero, neighbours kept");
    uint64_t h = br_file_hash(img);
    d[0] = (struct virtio_blk_dwz){3000, 8, 0};
    d[1] = (struct virtio_blk_dwz){SECTORS - 4, 8, 0};
    put_ranges(&r, rg, d, 2);
    CHECK(ranges(&r, VIRTIO_BLK_T_WRITE_ZEROES, rg, 2) == VIRTIO_BLK_S_IOERR &&
              br_file_hash(img) == h,
          "a range past the end fails the request before touching any");
    d[0] = (struct virtio_blk_dwz){UINT64_MAX - 3, 8, 0};
    put_ranges(&r, rg, d, 1);
    CHECK(ranges(&r, VIRTIO_BLK_T_DISCARD, rg, 1) == VIRTIO_BLK_S_IOERR &&
              br_file_hash(img) == h,
          "a range whose end overflows: IOERR");
    struct br_req q = {VIRTIO_BLK_T_DISCARD, 0, rg, 24, 1, false, false};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_IOERR,
          "a 24-byte range list: IOERR");
    q.len = 33 * 16;
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_IOERR,
          "33 ranges (more than max_discard_seg): IOERR");
    br_down(&r);
}

static void test_read_only(void)
{
    struct blk_rig r;
    char spec[200];
    snprintf(spec, sizeof(spec), "%s,ro", img);
    up(&r, spec, ALL);
    uint64_t buf = br_alloc(&r, 8192), rg = br_alloc(&r, 64);
    uint64_t h = br_file_hash(img);
    br_fill(br_host(&r, buf), 4096, 11);
    CHECK(wr(&r, 0, buf, 4096, 1, false) == VIRTIO_BLK_S_IOERR &&
              br_file_hash(img) == h,
          "ro: write gets IOERR, image unchanged");
    struct virtio_blk_dwz d = {0, 8, 0};
    put_ranges(&r, rg, &d, 1);
    CHECK(ranges(&r, VIRTIO_BLK_T_DISCARD, rg, 1) == VIRTIO_BLK_S_UNSUPP &&
              ranges(&r, VIRTIO_BLK_T_WRITE_ZEROES, rg, 1) ==
                  VIRTIO_BLK_S_UNSUPP &&
              br_file_hash(img) == h,
          "ro: discard and write-zeroes UNSUPP, image unchanged");
    struct br_req f = {.type = VIRTIO_BLK_T_FLUSH};
    CHECK(rd(&r, 0, buf, 4096, 1, false) == VIRTIO_BLK_S_OK &&
              br_do(&r, 0, &f, NULL) == VIRTIO_BLK_S_OK,
          "ro: read and flush work");
    br_down(&r);
}

static void test_bad_requests(void)
{
    struct blk_rig r;
    up(&r, img, ALL);
    uint64_t buf = br_alloc(&r, 65536), hdrs = br_alloc(&r, 4096);
    uint8_t *hb = br_host(&r, hdrs);
    br_fill(br_host(&r, buf), 65536, 12);
    uint64_t h = br_file_hash(img);
    CHECK(rd(&r, SECTORS, buf, 512, 1, false) == VIRTIO_BLK_S_IOERR,
          "read at sector == capacity: IOERR");
    CHECK(wr(&r, SECTORS - 1, buf, 1024, 1, false) == VIRTIO_BLK_S_IOERR,
          "write straddling the end: IOERR");
    CHECK(wr(&r, UINT64_MAX - 1, buf, 4096, 1, false) == VIRTIO_BLK_S_IOERR,
          "sector near 2^64 (sector + count overflows): IOERR");
    CHECK(wr(&r, 1ULL << 55, buf, 512, 1, false) == VIRTIO_BLK_S_IOERR,
          "sector whose byte offset overflows: IOERR");
    CHECK(wr(&r, 0, buf, 1000, 1, false) == VIRTIO_BLK_S_IOERR,
          "write of 1000 bytes (not whole sectors): IOERR");
    struct br_req q = {99, 0, buf, 512, 1, false, false};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_UNSUPP,
          "unknown type 99: UNSUPP");
    q = (struct br_req){VIRTIO_BLK_T_GET_LIFETIME, 0, buf, 8, 1, true, false};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_UNSUPP,
          "GET_LIFETIME: UNSUPP");
    q = (struct br_req){VIRTIO_BLK_T_FLUSH_OUT, 0, 0, 0, 0, false, false};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_UNSUPP,
          "legacy FLUSH_OUT on a modern device: UNSUPP");
    CHECK(br_file_hash(img) == h, "none of them touched the image");

    struct virtio_blk_outhdr hd = {.type = VIRTIO_BLK_T_OUT, .sector = 0};
    memcpy(hb, &hd, 16);
    hb[100] = 0xff;
    struct fg_seg sh[2] = {{hdrs, 15, false}, {hdrs + 100, 1, true}};
    CHECK(br_chain(&r, 0, sh, 2, false) == 1 && hb[100] == VIRTIO_BLK_S_IOERR,
          "15-byte header: IOERR");
    struct fg_seg nost[2] = {{hdrs, 16, false}, {buf, 512, false}};
    uint64_t errs = vmmio_vdev(r.g.m)->vq[0].st.errors;
    CHECK(br_chain(&r, 0, nost, 2, false) == 0 &&
              vmmio_vdev(r.g.m)->vq[0].st.errors == errs + 1,
          "no writable byte for the status: chain failed, used length 0");
    /* A write with writable bytes besides the status: the status byte is
     * not where a write puts it. */
    hb[200] = 0xff;
    struct fg_seg extra[3] = {
        {hdrs, 16, false}, {buf, 512, false}, {hdrs + 200, 8, true}};
    CHECK(br_chain(&r, 0, extra, 3, false) == 1 &&
              hb[207] == VIRTIO_BLK_S_IOERR && br_file_hash(img) == h,
          "write with 8 writable bytes: IOERR in the last one, no write");
    hd.type = VIRTIO_BLK_T_IN;
    memcpy(hb, &hd, 16);
    struct fg_seg rdx[3] = {
        {hdrs, 16, false}, {buf, 512, false}, {hdrs + 300, 513, true}};
    CHECK(br_chain(&r, 0, rdx, 3, false) == 1 &&
              hb[300 + 512] == VIRTIO_BLK_S_IOERR,
          "read with readable data after the header: IOERR");
    /* Far more buffers than seg_max, through indirect tables. */
    struct fg_seg many[FG_MAX_SEGS];
    hd.type = VIRTIO_BLK_T_IN;
    memcpy(hb, &hd, 16);
    many[0] = (struct fg_seg){hdrs, 16, false};
    for (unsigned i = 1; i < FG_MAX_SEGS - 1; i++)
        many[i] = (struct fg_seg){buf + i * 512, 512, true};
    many[FG_MAX_SEGS - 1] = (struct fg_seg){hdrs + 1000, 1, true};
    CHECK(br_chain(&r, 0, many, FG_MAX_SEGS, true) == 14 * 512 + 1,
          "a 16-buffer indirect read is fine");
    /* A buffer outside guest RAM fails the chain alone. */
    struct fg_seg oob[3] = {{hdrs, 16, false},
                            {FG_BASE + (1ULL << 40), 512, true},
                            {hdrs + 1000, 1, true}};
    errs = vmmio_vdev(r.g.m)->vq[0].st.errors;
    CHECK(br_chain(&r, 0, oob, 3, false) == 0 &&
              vmmio_vdev(r.g.m)->vq[0].st.errors == errs + 1,
          "data buffer outside guest RAM: chain failed");
    CHECK(rd(&r, 0, buf, 512, 1, false) == VIRTIO_BLK_S_OK &&
              !(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET),
          "the device still serves requests afterwards");
    br_down(&r);
}

/* seg_max is 126: a request with more data buffers fails, and its status
 * byte (past the iovec array) is still found and written. */
static void test_too_many_segments(void)
{
    struct blk_rig r;
    struct vblk_config c = cfg_for(img);
    br_up(&r, &c, NULL, 1, ALL, 256, false, err, sizeof(err));
    uint64_t buf = br_alloc(&r, 200 * 512), hdrs = br_alloc(&r, 4096);
    uint8_t *hb = br_host(&r, hdrs);
    struct virtio_blk_outhdr hd = {.type = VIRTIO_BLK_T_IN};
    memcpy(hb, &hd, 16);
    /* fg_post caps chains at FG_MAX_SEGS; build this one by hand. */
    struct fg_queue *q = &r.g.q[0];
    unsigned n = 200;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = i == 0       ? hdrs
                     : i == n - 1 ? hdrs + 2000
                                  : buf + (uint64_t)i * 512;
        q->d[i] = (struct vring_desc){
            .addr = a,
            .len = i == 0       ? 16
                   : i == n - 1 ? 1
                                : 512,
            .flags = (uint16_t)((i ? VRING_DESC_F_WRITE : 0) |
                                (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
            .next = (uint16_t)(i + 1)};
    }
    hb[2000] = 0xff;
    q->a->ring[q->avail_idx++ & (q->num - 1)] = 0;
    __atomic_store_n(&q->a->idx, q->avail_idx, __ATOMIC_RELEASE);
    fg_kick(&r.g, 0);
    uint32_t id, len;
    uint64_t c0 = fg_irq_count(&r.g.irq);
    while (__atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE) == 0 &&
           fg_irq_wait(&r.g.irq, c0) == 0)
        c0 = fg_irq_count(&r.g.irq);
    id = q->u->ring[0].id;
    len = q->u->ring[0].len;
    CHECK(id == 0 && len == 1 && hb[2000] == VIRTIO_BLK_S_IOERR,
          "198 data buffers (> seg_max 126): IOERR in the real status byte");
    br_down(&r);
}

static void test_legacy_and_stats(void)
{
    struct blk_rig r;
    struct vblk_config c = cfg_for(img);
    uint64_t leg = BR_ALL_FEATURES & 0xffffffffULL;
    CHECK(br_up(&r, &c, NULL, 1, leg, 64, true, err, sizeof(err)) == 0,
          "legacy transport: up (%s)", err);
    struct br_req q = {.type = VIRTIO_BLK_T_FLUSH_OUT};
    CHECK(br_do(&r, 0, &q, NULL) == VIRTIO_BLK_S_OK &&
              vblk_stats(r.b)->flushes == 1,
          "legacy: FLUSH_OUT (5) is a flush");
    uint64_t buf = br_alloc(&r, 8192);
    br_fill(br_host(&r, buf), 8192, 21);
    CHECK(wr(&r, 64, buf, 8192, 2, false) == VIRTIO_BLK_S_OK &&
              rd(&r, 64, buf, 4096, 1, false) == VIRTIO_BLK_S_OK,
          "legacy: write and read");
    CHECK(rd(&r, SECTORS, buf, 512, 1, false) == VIRTIO_BLK_S_IOERR,
          "legacy: out of range IOERR");
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    vmmio_stats_print(r.g.m, f);
    fclose(f);
    CHECK(strstr(out, "virtio blk q0:") &&
              strstr(out, "reads 1 writes 1 flushes 1") &&
              strstr(out, "bytes read 4096 written 8192") &&
              strstr(out, "errors 1 (host 0)") && strstr(out, img),
          "--stats: per-disk counters after the queue line");
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
        DIAG("%s", l);
    free(out);
    br_down(&r);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kvmini-blk.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(img, sizeof(img), "%s/blk.img", dir);
    make_image(img, IMG_SIZE);
    test_parse();
    test_create_errors();
    test_config();
    test_read_write();
    test_flush_id();
    test_discard_zeroes();
    test_read_only();
    test_bad_requests();
    test_too_many_segments();
    test_legacy_and_stats();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
