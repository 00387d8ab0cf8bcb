/* SPDX-License-Identifier: MIT */
/*
 * The host side of a virtual disk: a raw image in a regular file or a
 * block device, opened and locked once, then read and written at byte
 * offsets. The device model (virtio/blk.c) decides what to do; this file
 * only knows how to do it on the host.
 *
 * Locking: a read-write open takes an exclusive OFD lock on the whole
 * image and a read-only open a shared one, so a second kvmini cannot
 * write an image that another one uses, while read-only users may share.
 * A block device opened read-write is also opened O_EXCL, which the
 * kernel refuses while the device is mounted.
 *
 * direct: fd is O_DIRECT (no host page cache). A request O_DIRECT cannot
 * take (offset, length or a buffer not aligned as the filesystem wants)
 * goes through fd_cached, a second descriptor of the same file without
 * O_DIRECT: no bounce copy, and the kernel keeps the two coherent (a
 * direct read writes back cached pages first, a direct write drops them).
 *
 * Threads: after disk_open nothing in struct disk changes, and every
 * operation is positional, so any thread may call them concurrently.
 * Errors are negative errno; disk_open also writes one sentence in err.
 */
#ifndef KVMINI_HW_DISK_H
#define KVMINI_HW_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_RO 1u     /* open read-only, shared lock */
#define DISK_DIRECT 2u /* O_DIRECT */

struct disk {
    int fd;             /* the image (O_DIRECT if direct) */
    int fd_cached;      /* == fd unless direct */
    uint64_t size;      /* bytes, a non-zero multiple of 512 */
    uint32_t lbs;       /* logical block size: 512 for files */
    uint32_t pbs;       /* physical block size / preferred unit, >= lbs */
    uint32_t mem_align; /* direct: buffer address alignment O_DIRECT needs */
    uint32_t off_align; /* direct: offset and length alignment */
    bool ro, direct, bdev;
    uint8_t *zero; /* DISK_ZERO_BUF zero bytes, for write-zeroes */
};

#define DISK_ZERO_BUF (256u * 1024)

/* Open and lock path (a regular file or a block device). 0, or -ENOENT,
 * -EISDIR, -EINVAL (wrong kind of file, empty, size not a multiple of
 * 512, O_DIRECT refused), -EBUSY (locked by another process, or a
 * mounted block device), -EACCES... with the reason in err. On error
 * nothing stays open. */
int disk_open(struct disk *dk, const char *path, unsigned flags, char *err,
              size_t errlen);

/* Close both descriptors (drops the lock). Safe on a zeroed struct with
 * fd = fd_cached = -1. */
void disk_close(struct disk *dk);

/* The descriptor for an I/O of len bytes at off over iov: fd if O_DIRECT
 * can take it (or direct is off), else fd_cached. */
int disk_fd_for(const struct disk *dk, const struct iovec *iov, int n,
                uint64_t off, uint64_t len);

/* Read or write all of iov at off, looping over short transfers (iov is
 * consumed). 0, or -errno; a read that meets end of file is -EIO.
 * dsync: the write is durable when this returns (RWF_DSYNC). */
int disk_read(const struct disk *dk, struct iovec *iov, int n, uint64_t off);
int disk_write(const struct disk *dk, struct iovec *iov, int n, uint64_t off,
               bool dsync);

/* Drop the first `done` bytes of the iovec array *iov of *n entries
 * (after a short transfer): both are moved forward, an entry may be
 * trimmed in place. */
void disk_iov_advance(struct iovec **iov, int *n, size_t done);

/* Make every write that completed before this call durable. */
int disk_flush(const struct disk *dk);

/* Let the host drop [off, off+len): punch a hole in a file, BLKDISCARD
 * on a device. Advisory: a host that cannot is not an error. */
int disk_discard(const struct disk *dk, uint64_t off, uint64_t len);

/* [off, off+len) reads back as zeroes afterwards. unmap: may deallocate
 * (punch hole). Falls back to writing zeroes if the host has no cheaper
 * way. */
int disk_write_zeroes(const struct disk *dk, uint64_t off, uint64_t len,
                      bool unmap);

#endif
