/* SPDX-License-Identifier: MIT */
/* The host disk backend: open checks, locking, I/O, discard, zeroes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/disk.h"
#include "tests/unit/tap.h"

static char dir[64];
static char err[512];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void make_file(const char *p, off_t size)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, size) < 0)
        abort();
    close(fd);
}

static int open_err(const char *p, unsigned fl)
{
    struct disk dk;
    err[0] = '\0';
    int r = disk_open(&dk, p, fl, err, sizeof(err));
    if (r == 0)
        disk_close(&dk);
    return r;
}

static void skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static void test_open_errors(void)
{
    char p[128];
    path_in(p, sizeof(p), "missing.img");
    CHECK(open_err(p, 0) == -ENOENT && strstr(err, p),
          "missing file: -ENOENT naming the path (%s)", err);
    CHECK(open_err(dir, DISK_RO) == -EISDIR && strstr(err, "directory"),
          "directory: -EISDIR (%s)", err);
    path_in(p, sizeof(p), "fifo");
    mkfifo(p, 0600);
    CHECK(open_err(p, DISK_RO) == -EINVAL && strstr(err, "block device"),
          "FIFO refused without hanging (%s)", err);
    CHECK(open_err("/dev/null", 0) == -EINVAL, "character device refused (%s)",
          err);
    path_in(p, sizeof(p), "empty.img");
    make_file(p, 0);
    CHECK(open_err(p, 0) == -EINVAL && strstr(err, "empty"),
          "empty image refused (%s)", err);
    path_in(p, sizeof(p), "odd.img");
    make_file(p, 1000);
    CHECK(open_err(p, 0) == -EINVAL &&
              strstr(err, "size 1000 is not a multiple of 512") &&
              strstr(err, "truncate -s 1024"),
          "size 1000: says so and how to fix it (%s)", err);
}

static void test_geometry(void)
{
    char p[128];
    struct disk dk;
    path_in(p, sizeof(p), "geo.img");
    make_file(p, 1 << 20);
    err[0] = '\0';
    int r = disk_open(&dk, p, 0, err, sizeof(err));
    CHECK(r == 0 && dk.size == 1 << 20 && dk.lbs == 512 && !dk.bdev &&
              dk.pbs >= 512 && dk.pbs <= 4096 && dk.fd == dk.fd_cached,
          "1 MiB file: size, 512-byte blocks, one descriptor (%s)", err);
    if (r == 0)
        disk_close(&dk);
}

static void test_locking(void)
{
    char p[128];
    struct disk a, b, c;
    path_in(p, sizeof(p), "lock.img");
    make_file(p, 65536);
    CHECK(disk_open(&a, p, 0, err, sizeof(err)) == 0, "first rw open");
    CHECK(open_err(p, 0) == -EBUSY && strstr(err, "in use by another") &&
              strstr(err, p),
          "second rw open: -EBUSY, names the path (%s)", err);
    CHECK(open_err(p, DISK_RO) == -EBUSY,
          "ro open while a writer holds it: -EBUSY");
    disk_close(&a);
    CHECK(disk_open(&b, p, DISK_RO, err, sizeof(err)) == 0 &&
              disk_open(&c, p, DISK_RO, err, sizeof(err)) == 0,
          "two read-only opens share the image");
    CHECK(open_err(p, 0) == -EBUSY, "rw open while readers hold it: -EBUSY");
    disk_close(&b);
    disk_close(&c);
    CHECK(open_err(p, 0) == 0, "lock released on close");
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + i / 509);
}

static void test_io(void)
{
    char p[128];
    struct disk dk;
    path_in(p, sizeof(p), "io.img");
    make_file(p, 1 << 20);
    if (disk_open(&dk, p, 0, err, sizeof(err)))
        abort();
    static uint8_t src[3 * 4096], dst[3 * 4096];
    fill(src, sizeof(src), 7);
    struct iovec w[3] = {
        {src, 512}, {src + 512, 1536}, {src + 2048, sizeof(src) - 2048}};
    CHECK(disk_write(&dk, w, 3, 8192, false) == 0, "3-segment write");
    uint8_t check[sizeof(src)];
    CHECK(pread(dk.fd, check, sizeof(check), 8192) == (ssize_t)sizeof(check) &&
              !memcmp(check, src, sizeof(src)),
          "the file holds the bytes at the offset");
    struct iovec r[2] = {{dst, 1000}, {dst + 1000, sizeof(dst) - 1000}};
    CHECK(disk_read(&dk, r, 2, 8192) == 0 && !memcmp(dst, src, sizeof(src)),
          "2-segment read returns them");
    struct iovec wd = {src, 4096};
    CHECK(disk_write(&dk, &wd, 1, 0, true) == 0 && disk_flush(&dk) == 0,
          "dsync write and flush");
    struct iovec past = {dst, 1024};
    CHECK(disk_read(&dk, &past, 1, (1 << 20) - 512) == -EIO,
          "a read running into end of file is -EIO, not a short success");
    disk_close(&dk);
}

static long blocks(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_blocks;
}

static bool is_zero(int fd, off_t off, size_t len)
{
    static uint8_t buf[1 << 16];
    if (len > sizeof(buf) || pread(fd, buf, len, off) != (ssize_t)len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (buf[i])
            return false;
    return true;
}

static void test_trim(const char *where, const char *label)
{
    char p[160];
    struct disk dk;
    snprintf(p, sizeof(p), "%s/trim.img", where);
    make_file(p, 1 << 20);
    if (disk_open(&dk, p, 0, err, sizeof(err)))
        abort();
    static uint8_t src[1 << 20];
    fill(src, sizeof(src), 3);
    if (pwrite(dk.fd, src, sizeof(src), 0) != (ssize_t)sizeof(src) ||
        fsync(dk.fd))
        abort();
    long full = blocks(p);
    CHECK(disk_discard(&dk, 65536, 65536) == 0 && blocks(p) < full &&
              is_zero(dk.fd, 65536, 65536),
          "%s: discard punched a hole (%ld -> %ld blocks)", label, full,
          blocks(p));
    long before = blocks(p);
    CHECK(disk_write_zeroes(&dk, 262144, 65536, false) == 0 &&
              is_zero(dk.fd, 262144, 65536) &&
              !is_zero(dk.fd, 262144 + 65536, 512),
          "%s: write-zeroes without unmap zeroes exactly the range", label);
    CHECK(disk_write_zeroes(&dk, 524288, 65536, true) == 0 &&
              is_zero(dk.fd, 524288, 65536) && blocks(p) < before,
          "%s: write-zeroes with unmap zeroes and frees (%ld -> %ld)", label,
          before, blocks(p));
    CHECK(disk_write_zeroes(&dk, 1000 * 512, 3 * 512, false) == 0 &&
              is_zero(dk.fd, 1000 * 512, 3 * 512) &&
              !is_zero(dk.fd, 999 * 512, 512) &&
              !is_zero(dk.fd, 1003 * 512, 512),
          "%s: a 3-sector range inside a block, neighbours intact", label);
    disk_close(&dk);
    unlink(p);
}

static void test_direct(void)
{
    char p[128];
    struct disk dk;
    path_in(p, sizeof(p), "direct.img");
    make_file(p, 1 << 20);
    int r = disk_open(&dk, p, DISK_DIRECT, err, sizeof(err));
    if (r == -EINVAL) {
        skip("O_DIRECT not supported under /tmp");
        return;
    }
    CHECK(r == 0 && dk.fd != dk.fd_cached && dk.mem_align >= 1 &&
              dk.off_align >= 512,
          "direct: two descriptors, alignment %u/%u (%s)", dk.mem_align,
          dk.off_align, err);
    if (r)
        return;
    uint8_t *buf = aligned_alloc(4096, 3 * 4096);
    fill(buf, 3 * 4096, 9);
    struct iovec al = {buf, 4096}, mis = {buf + 8, 4096};
    CHECK(disk_fd_for(&dk, &al, 1, 4096, 4096) == dk.fd,
          "aligned request goes O_DIRECT");
    CHECK(disk_fd_for(&dk, &mis, 1, 4096, 4096) == dk.fd_cached &&
              disk_fd_for(&dk, &al, 1, 4096 + 512, 4096) ==
                  (dk.off_align > 512 ? dk.fd_cached : dk.fd),
          "misaligned buffer goes through the page cache");
    CHECK(disk_write(&dk, &mis, 1, 8192, false) == 0,
          "misaligned write succeeds");
    struct iovec back = {buf + 8192, 4096};
    CHECK(disk_read(&dk, &back, 1, 8192) == 0 &&
              !memcmp(buf + 8192, buf + 8, 4096),
          "an O_DIRECT read sees the cached write");
    CHECK(disk_write(&dk, &al, 1, 8192, false) == 0, "aligned direct write");
    struct iovec mback = {buf + 8200, 4000};
    uint8_t *want = malloc(4096);
    memcpy(want, buf, 4096);
    CHECK(disk_read(&dk, &mback, 1, 8192) == 0 &&
              !memcmp(buf + 8200, want, 4000),
          "a cached read sees the direct write");
    free(want);
    free(buf);
    disk_close(&dk);
}

/* A block device: a loop device over a file, with 4 KiB sectors and
 * auto-clear, so it goes away when the last descriptor closes. */
static int loop_attach(const char *backing, char *dev, size_t n, int *lfd)
{
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    int bfd = open(backing, O_RDWR | O_CLOEXEC);
    int r = -ENODEV;
    for (int tries = 0; ctl >= 0 && bfd >= 0 && tries < 5; tries++) {
        int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (nr < 0)
            break;
        snprintf(dev, n, "/dev/loop%d", nr);
        *lfd = open(dev, O_RDWR | O_CLOEXEC);
        if (*lfd < 0)
            continue;
        struct loop_config lc = {.fd = (uint32_t)bfd, .block_size = 4096};
        lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        if (ioctl(*lfd, LOOP_CONFIGURE, &lc) == 0) {
            r = 0;
            break;
        }
        r = -errno;
        close(*lfd);
    }
    if (ctl >= 0)
        close(ctl);
    if (bfd >= 0)
        close(bfd);
    return r;
}

static void test_bdev(void)
{
    char back[128], dev[32];
    int lfd = -1;
    path_in(back, sizeof(back), "loop.img");
    make_file(back, 4 << 20);
    if (geteuid() != 0 || access("/dev/loop-control", W_OK)) {
        skip("block device: needs root and /dev/loop-control");
        return;
    }
    int r = loop_attach(back, dev, sizeof(dev), &lfd);
    if (r < 0) {
        skip("block device: no loop device");
        return;
    }
    struct disk dk;
    r = disk_open(&dk, dev, 0, err, sizeof(err));
    CHECK(r == 0 && dk.bdev && dk.size == 4 << 20 && dk.lbs == 4096,
          "loop device: block device, 4 MiB, 4096-byte sectors (%s)", err);
    if (r == 0) {
        CHECK(open_err(dev, 0) == -EBUSY && strstr(err, "in use"),
              "second rw open of the device: -EBUSY (%s)", err);
        static uint8_t src[8192], dst[8192];
        fill(src, sizeof(src), 5);
        struct iovec w = {src, sizeof(src)}, rd = {dst, sizeof(dst)};
        CHECK(disk_write(&dk, &w, 1, 65536, false) == 0 &&
                  disk_flush(&dk) == 0 && disk_read(&dk, &rd, 1, 65536) == 0 &&
                  !memcmp(src, dst, sizeof(src)),
              "write, flush, read back on the device");
        CHECK(disk_write_zeroes(&dk, 65536, 4096, false) == 0 &&
                  disk_read(&dk, &rd, 1, 65536) == 0 &&
                  is_zero(dk.fd, 65536, 4096) &&
                  !memcmp(dst + 4096, src + 4096, 4096),
              "BLKZEROOUT zeroes one block, not the next");
        CHECK(disk_discard(&dk, 1 << 20, 1 << 20) == 0, "BLKDISCARD accepted");
        disk_close(&dk);
    }
    close(lfd);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kvmini-disk.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    test_open_errors();
    test_geometry();
    test_locking();
    test_io();
    test_trim(dir, "/tmp");
    char shm[64];
    snprintf(shm, sizeof(shm), "/dev/shm/kvmini-disk.XXXXXX");
    if (mkdtemp(shm)) {
        test_trim(shm, "tmpfs");
        rmdir(shm);
    } else {
        skip("tmpfs: no /dev/shm");
    }
    test_direct();
    test_bdev();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
