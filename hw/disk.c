/* SPDX-License-Identifier: MIT */
/* Disk images on the host: open, lock, size, read/write, flush, trim. */
#include "hw/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/log.h"

static bool pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Size and block sizes of a block device. */
static int bdev_geometry(struct disk *dk)
{
    int lbs = 0;
    unsigned int pbs = 0;
    if (ioctl(dk->fd, BLKGETSIZE64, &dk->size) < 0 ||
        ioctl(dk->fd, BLKSSZGET, &lbs) < 0)
        return -errno;
    if (ioctl(dk->fd, BLKPBSZGET, &pbs) < 0)
        pbs = 0;
    dk->lbs = pow2(lbs) && lbs >= 512 && lbs <= 4096 ? (uint32_t)lbs : 512;
    dk->pbs = pow2(pbs) && pbs >= dk->lbs && pbs <= 65536 ? pbs : dk->lbs;
    return 0;
}

/* What O_DIRECT wants from buffers and offsets (statx, Linux 6.1+);
 * -EINVAL if the filesystem says it cannot do direct I/O at all. */
static int direct_alignment(struct disk *dk)
{
    struct statx sx;
    dk->mem_align = dk->off_align = dk->lbs;
    if (statx(dk->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) < 0 ||
        !(sx.stx_mask & STATX_DIOALIGN))
        return 0; /* older kernel or a device: the block size is safe */
    if (!sx.stx_dio_offset_align || !sx.stx_dio_mem_align)
        return -EINVAL;
    dk->mem_align = sx.stx_dio_mem_align;
    dk->off_align = sx.stx_dio_offset_align;
    return 0;
}

static int open_error(const char *path, bool ro, int e, char *err,
                      size_t errlen)
{
    if (e == EROFS || (e == EACCES && !ro))
        return errbuf_set(err, errlen, -e,
                    "cannot open %s read-write: %s (add ',ro' to use it "
                    "read-only)",
                    path, strerror(e));
    if (e == EBUSY)
        return errbuf_set(err, errlen, -EBUSY,
                    "%s is in use (mounted, or held by another program); "
                    "unmount or release it first",
                    path);
    return errbuf_set(err, errlen, -e, "cannot open %s: %s", path, strerror(e));
}

/* The kind and size checks, on the descriptor we will use. */
static int check_image(struct disk *dk, const char *path, char *err,
                       size_t errlen)
{
    struct stat st;
    if (fstat(dk->fd, &st) < 0)
        return errbuf_set(err, errlen, -errno, "cannot stat %s: %s", path,
                    strerror(errno));
    if (S_ISDIR(st.st_mode))
        return errbuf_set(err, errlen, -EISDIR,
                    "%s is a directory; give a raw image file or a block "
                    "device",
                    path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return errbuf_set(err, errlen, -EINVAL,
                    "%s is not a regular file or a block device", path);
    dk->bdev = S_ISBLK(st.st_mode);
    if (dk->bdev) {
        int r = bdev_geometry(dk);
        if (r < 0)
            return errbuf_set(err, errlen, r, "cannot read the size of %s: %s", path,
                        strerror(-r));
    } else {
        dk->size = (uint64_t)st.st_size;
        dk->lbs = 512;
        uint64_t b = (uint64_t)st.st_blksize;
        dk->pbs = pow2(b) && b >= 512 ? (b > 4096 ? 4096 : (uint32_t)b) : 512;
    }
    if (dk->size == 0)
        return errbuf_set(err, errlen, -EINVAL,
                    "%s is empty; give it a size first (truncate -s 1G %s)",
                    path, path);
    if (dk->size % 512)
        return errbuf_set(err, errlen, -EINVAL,
                    "%s: size %llu is not a multiple of 512 (truncate -s "
                    "%llu %s)",
                    path, (unsigned long long)dk->size,
                    (unsigned long long)(dk->size + 511) / 512 * 512, path);
    return 0;
}

/* Whole-file OFD lock: exclusive for writers, shared for readers. OFD
 * locks belong to the open file, so they also conflict inside one
 * process (two --disk of the same image) and vanish with the fd. */
static int lock_image(struct disk *dk, const char *path, char *err,
                      size_t errlen)
{
    struct flock fl = {.l_type = dk->ro ? F_RDLCK : F_WRLCK,
                       .l_whence = SEEK_SET};
    if (fcntl(dk->fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return errbuf_set(err, errlen, -EBUSY,
                    "%s is in use by another process (locked)%s", path,
                    dk->ro ? ""
                           : "; stop it, or add ',ro' if both only "
                             "read");
    return errbuf_set(err, errlen, -errno, "cannot lock %s: %s", path,
                strerror(errno));
}

/* The O_DIRECT descriptor: the same file opened again, checked to be the
 * same inode (nobody swapped the path in between). */
static int open_direct(struct disk *dk, const char *path, int oflags, char *err,
                       size_t errlen)
{
    int fd = open(path, oflags | O_DIRECT);
    struct stat a, b;
    if (fd < 0 && errno == EINVAL)
        return errbuf_set(err, errlen, -EINVAL,
                    "%s: its filesystem does not support O_DIRECT; use "
                    "direct=off",
                    path);
    if (fd < 0)
        return open_error(path, dk->ro, errno, err, errlen);
    if (fstat(fd, &a) < 0 || fstat(dk->fd, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev || a.st_rdev != b.st_rdev) {
        close(fd);
        return errbuf_set(err, errlen, -EAGAIN, "%s changed while being opened",
                    path);
    }
    dk->fd_cached = dk->fd;
    dk->fd = fd;
    if (direct_alignment(dk) < 0)
        return errbuf_set(err, errlen, -EINVAL,
                    "%s: its filesystem does not support O_DIRECT; use "
                    "direct=off",
                    path);
    return 0;
}

int disk_open(struct disk *dk, const char *path, unsigned flags, char *err,
              size_t errlen)
{
    *dk = (struct disk){.fd = -1, .fd_cached = -1};
    dk->ro = flags & DISK_RO;
    dk->direct = flags & DISK_DIRECT;
    int oflags = (dk->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    struct stat st;
    int r;
    /* O_EXCL on a block device (only there does it mean something
     * without O_CREAT): the kernel refuses it while the device is
     * mounted, so we never write under a mounted filesystem. */
    if (!dk->ro && stat(path, &st) == 0 && S_ISBLK(st.st_mode))
        oflags |= O_EXCL;
    /* O_NONBLOCK: opening a FIFO put at the path must not hang; it is
     * cleared again below, or io_uring would return EAGAIN. */
    dk->fd = open(path, oflags | O_NONBLOCK);
    if (dk->fd < 0) {
        r = open_error(path, dk->ro, errno, err, errlen);
        goto err;
    }
    if ((r = check_image(dk, path, err, errlen)) < 0)
        goto err;
    if (fcntl(dk->fd, F_SETFL, 0) < 0) {
        r = errbuf_set(err, errlen, -errno, "%s: fcntl: %s", path, strerror(errno));
        goto err;
    }
    if ((r = lock_image(dk, path, err, errlen)) < 0)
        goto err;
    dk->fd_cached = dk->fd;
    if (dk->direct &&
        (r = open_direct(dk, path, oflags & ~O_EXCL, err, errlen)) < 0)
        goto err;
    if (!dk->ro) {
        dk->zero = aligned_alloc(4096, DISK_ZERO_BUF);
        if (!dk->zero) {
            r = errbuf_set(err, errlen, -ENOMEM, "%s: out of memory", path);
            goto err;
        }
        memset(dk->zero, 0, DISK_ZERO_BUF);
    }
    return 0;
err:
    disk_close(dk);
    return r;
}

void disk_close(struct disk *dk)
{
    if (dk->fd_cached >= 0 && dk->fd_cached != dk->fd)
        close(dk->fd_cached);
    if (dk->fd >= 0)
        close(dk->fd);
    free(dk->zero);
    dk->fd = dk->fd_cached = -1;
    dk->zero = NULL;
}

int disk_fd_for(const struct disk *dk, const struct iovec *iov, int n,
                uint64_t off, uint64_t len)
{
    if (!dk->direct)
        return dk->fd;
    /* Linux checks each segment's address against the memory alignment
     * and each segment's length against the offset alignment. */
    uint64_t ma = dk->mem_align - 1, oa = dk->off_align - 1;
    if ((off | len) & oa)
        return dk->fd_cached;
    for (int i = 0; i < n; i++)
        if (((uintptr_t)iov[i].iov_base & ma) || (iov[i].iov_len & oa))
            return dk->fd_cached;
    return dk->fd;
}

void disk_iov_advance(struct iovec **iov, int *n, size_t done)
{
    while (*n && done >= (*iov)->iov_len) {
        done -= (*iov)->iov_len;
        (*iov)++;
        (*n)--;
    }
    if (*n && done) {
        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
        (*iov)->iov_len -= done;
    }
}

static uint64_t iov_bytes(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

static int rw_all(const struct disk *dk, struct iovec *iov, int n, uint64_t off,
                  bool write, int rwf)
{
    int fd = disk_fd_for(dk, iov, n, off, iov_bytes(iov, n));
    while (n > 0) {
        ssize_t k = write ? pwritev2(fd, iov, n, (off_t)off, rwf)
                          : preadv(fd, iov, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0) /* end of file: the image shrank under us */
            return -EIO;
        off += (uint64_t)k;
        disk_iov_advance(&iov, &n, (size_t)k);
    }
    return 0;
}

int disk_read(const struct disk *dk, struct iovec *iov, int n, uint64_t off)
{
    return rw_all(dk, iov, n, off, false, 0);
}

int disk_write(const struct disk *dk, struct iovec *iov, int n, uint64_t off,
               bool dsync)
{
    return rw_all(dk, iov, n, off, true, dsync ? RWF_DSYNC : 0);
}

int disk_flush(const struct disk *dk)
{
    if (dk->ro)
        return 0;
    /* Both descriptors share the inode, so one fdatasync covers writes
     * made through either; on a block device it also flushes the
     * device's volatile cache. */
    return fdatasync(dk->fd) < 0 ? -errno : 0;
}

static bool unsupported(int e)
{
    return e == EOPNOTSUPP || e == ENOTTY || e == ENOSYS || e == EINVAL;
}

int disk_discard(const struct disk *dk, uint64_t off, uint64_t len)
{
    int r;
    if (dk->ro)
        return -EROFS;
    if (dk->bdev) {
        uint64_t range[2] = {off, len};
        r = ioctl(dk->fd_cached, BLKDISCARD, range);
    } else {
        r = fallocate(dk->fd_cached, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)off, (off_t)len);
    }
    /* Discard is a hint (§5.2.6): a host that cannot is not a failure. */
    return r < 0 && !unsupported(errno) ? -errno : 0;
}

static int write_zero_bufs(const struct disk *dk, uint64_t off, uint64_t len)
{
    enum { NIOV = 16 };
    while (len) {
        struct iovec iov[NIOV];
        int n = 0;
        uint64_t chunk = 0;
        while (n < NIOV && chunk < len) {
            uint64_t k =
                len - chunk < DISK_ZERO_BUF ? len - chunk : DISK_ZERO_BUF;
            iov[n++] = (struct iovec){dk->zero, (size_t)k};
            chunk += k;
        }
        struct iovec *v = iov;
        int vn = n;
        /* The cached descriptor takes any alignment. */
        while (vn > 0) {
            ssize_t k = pwritev(dk->fd_cached, v, vn, (off_t)off);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return k < 0 ? -errno : -EIO;
            off += (uint64_t)k;
            len -= (uint64_t)k;
            disk_iov_advance(&v, &vn, (size_t)k);
        }
    }
    return 0;
}

int disk_write_zeroes(const struct disk *dk, uint64_t off, uint64_t len,
                      bool unmap)
{
    if (dk->ro)
        return -EROFS;
    if (dk->bdev) {
        uint64_t range[2] = {off, len};
        if (ioctl(dk->fd_cached, BLKZEROOUT, range) == 0)
            return 0;
        if (!unsupported(errno))
            return -errno;
        return write_zero_bufs(dk, off, len);
    }
    /* A punched hole reads back as zeroes; a zeroed range stays
     * allocated. Try what was asked, then the other, then write. */
    static const int modes[2][2] = {
        {FALLOC_FL_ZERO_RANGE, FALLOC_FL_PUNCH_HOLE},
        {FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE},
    };
    for (int i = 0; i < 2; i++) {
        int mode = modes[unmap][i] | FALLOC_FL_KEEP_SIZE;
        if (fallocate(dk->fd_cached, mode, (off_t)off, (off_t)len) == 0)
            return 0;
        if (!unsupported(errno))
            return -errno;
    }
    return write_zero_bufs(dk, off, len);
}
