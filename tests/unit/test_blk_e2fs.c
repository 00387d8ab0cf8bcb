/* SPDX-License-Identifier: MIT */
/*
 * A filesystem made by a tool we did not write, through the device:
 * mke2fs -d builds an ext4 image of a small tree; its blocks are written
 * through virtio-blk onto an empty disk (all-zero chunks as
 * WRITE_ZEROES), flushed and read back; then e2fsck -fn finds the copy
 * clean and debugfs dumps the same tree out of it.
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

#define FS_SIZE (16u << 20)
#define CHUNK (64u * 1024)

static char dir[64], err[512];

static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), fmt, a, b);
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -1;
    char full[1300];
    /* e2fsprogs live in /sbin, which a user's PATH may lack. */
    snprintf(full, sizeof(full),
             "(PATH=\"$PATH:/usr/sbin:/sbin\"; %s) >'%s/cmd.log' 2>&1", cmd,
             dir);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show_log(void)
{
    char p[128], line[256];
    snprintf(p, sizeof(p), "%s/cmd.log", dir);
    FILE *f = fopen(p, "r");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        DIAG("  %s", line);
    }
    if (f)
        fclose(f);
}

static void write_file(const char *p, uint64_t len, uint64_t seed, off_t hole)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint8_t *buf = malloc(len ? len : 1);
    br_fill(buf, len, seed);
    if (fd < 0 || pwrite(fd, buf, len, hole) != (ssize_t)len)
        abort();
    free(buf);
    close(fd);
}

/* The tree mke2fs copies: text, binary, empty, sparse, nested, symlink. */
static void make_tree(const char *t)
{
    char p[256];
    mkdir(t, 0755);
    snprintf(p, sizeof(p), "%s/sub", t);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/sub/deeper", t);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/hello.txt", t);
    FILE *f = fopen(p, "w");
    fprintf(f, "hello from kvmini's virtio-blk test\n");
    fclose(f);
    snprintf(p, sizeof(p), "%s/sub/b.bin", t);
    write_file(p, 300001, 1, 0);
    snprintf(p, sizeof(p), "%s/sub/deeper/big.bin", t);
    write_file(p, 3u << 20, 2, 0);
    snprintf(p, sizeof(p), "%s/sub/deeper/empty", t);
    write_file(p, 0, 3, 0);
    snprintf(p, sizeof(p), "%s/sparse.bin", t);
    write_file(p, 8192, 4, 1 << 20);
    snprintf(p, sizeof(p), "%s/link", t);
    if (symlink("hello.txt", p))
        abort();
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Copy src.img onto the device chunk by chunk, queues alternating. */
static int copy_in(struct blk_rig *r, const uint8_t *src, unsigned *nz)
{
    uint64_t data = br_alloc(r, CHUNK), rg = br_alloc(r, 64);
    for (uint32_t off = 0; off < FS_SIZE; off += CHUNK) {
        unsigned qi = (off / CHUNK) % r->nq;
        struct br_req q;
        if (all_zero(src + off, CHUNK)) {
            struct virtio_blk_dwz d = {off / 512, CHUNK / 512, 0};
            memcpy(br_host(r, rg), &d, sizeof(d));
            q = (struct br_req){
                VIRTIO_BLK_T_WRITE_ZEROES, 0, rg, 16, 1, false, false};
            (*nz)++;
        } else {
            memcpy(br_host(r, data), src + off, CHUNK);
            q = (struct br_req){
                VIRTIO_BLK_T_OUT,    off / 512, data,           CHUNK,
                1 + off / CHUNK % 5, false,     off / CHUNK % 2};
        }
        int s = br_do(r, qi, &q, NULL);
        if (s != VIRTIO_BLK_S_OK)
            return s < 0 ? s : -EIO;
    }
    struct br_req f = {.type = VIRTIO_BLK_T_FLUSH};
    return br_do(r, 0, &f, NULL) == VIRTIO_BLK_S_OK ? 0 : -EIO;
}

static bool read_back(struct blk_rig *r, const uint8_t *src)
{
    uint64_t data = br_alloc(r, CHUNK);
    for (uint32_t off = 0; off < FS_SIZE; off += CHUNK) {
        struct br_req q = {VIRTIO_BLK_T_IN,     off / 512, data, CHUNK,
                           1 + off / CHUNK % 3, true,      true};
        memset(br_host(r, data), 0xa5, CHUNK);
        if (br_do(r, off / CHUNK % r->nq, &q, NULL) != VIRTIO_BLK_S_OK ||
            memcmp(br_host(r, data), src + off, CHUNK))
            return false;
    }
    return true;
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kvmini-e2fs.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char tree[128], src[128], dst[128], out[128];
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    snprintf(src, sizeof(src), "%s/src.img", dir);
    snprintf(dst, sizeof(dst), "%s/dst.img", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    make_tree(tree);
    int e = run("mke2fs -q -F -t ext4 -b 4096 -d '%s' '%s' 16M", tree, src);
    if (e == 127 ||
        run("command -v e2fsck%s && command -v debugfs%s", "", "")) {
        printf("1..0 # SKIP e2fsprogs not installed (mke2fs, e2fsck, "
               "debugfs)\n");
        return 0;
    }
    if (e)
        show_log();
    CHECK(e == 0, "mke2fs -d made a 16 MiB ext4 image of the tree");
    int fd = open(src, O_RDONLY);
    uint8_t *img = malloc(FS_SIZE);
    if (fd < 0 || pread(fd, img, FS_SIZE, 0) != FS_SIZE)
        abort();
    close(fd);
    fd = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, FS_SIZE))
        abort();
    close(fd);

    struct blk_rig r;
    struct vblk_config c = {.discard = true, .queues = 2};
    snprintf(c.path, sizeof(c.path), "%s", dst);
    e = br_up(&r, &c, NULL, 1, BR_ALL_FEATURES, 64, false, err, sizeof(err));
    CHECK(e == 0, "device on an empty 16 MiB image (%s)", err);
    unsigned nz = 0;
    e = e ? e : copy_in(&r, img, &nz);
    CHECK(e == 0,
          "%u chunks of 64 KiB written through the device (%u as "
          "write-zeroes), flushed",
          FS_SIZE / CHUNK, nz);
    CHECK(e == 0 && read_back(&r, img),
          "read back through the device: identical to mke2fs's image");
    br_down(&r);

    e = run("e2fsck -fn '%s'%s", dst, "");
    if (e)
        show_log();
    CHECK(e == 0, "e2fsck -fn finds the copy clean");
    mkdir(out, 0755);
    e = run("debugfs -R 'rdump / %s' '%s'", out, dst);
    if (e)
        show_log();
    CHECK(e == 0, "debugfs rdump of the whole tree");
    e = run("diff -r --no-dereference -x lost+found '%s' '%s'", tree, out);
    if (e)
        show_log();
    CHECK(e == 0, "the tree debugfs found equals the one mke2fs was given "
                  "(text, 3 MiB, empty, sparse, nested, symlink)");
    free(img);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
