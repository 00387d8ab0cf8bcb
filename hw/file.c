/* SPDX-License-Identifier: MIT */
/* Read-only mappings of the files the guest boots from. */
#include "hw/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int file_map(const char *path, uint64_t max, const uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = -EFBIG;
        goto out;
    }
    if (st.st_size == 0)
        goto out;
    void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        r = -errno;
        goto out;
    }
    *buf = p;
    *len = st.st_size;
out:
    close(fd);
    return r;
}

void file_unmap(const uint8_t *buf, size_t len)
{
    if (buf && len)
        munmap((void *)buf, len);
}
