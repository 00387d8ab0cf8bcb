/* SPDX-License-Identifier: MIT */
/* The file character backend: guest output appended to a file, no input. */
#define LOG_TAG "chardev"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/chardev_priv.h"
#include "hw/log.h"

static void file_close(struct chardev *c)
{
    close(c->out_fd);
}

static const struct chardev_ops file_ops = {
    .name = "file",
    .close = file_close,
};

int chardev_file_open(struct chardev **out, const char *path, const char *label,
                      char *err, size_t errlen)
{
    /* O_APPEND: a log shared with other writers (or kept across runs)
     * is extended, never overwritten. O_NONBLOCK: a FIFO there must fail
     * (no reader) or be refused below, not hang the open. */
    int fd = open(
        path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        0644);
    if (fd < 0)
        return errbuf_set(err, errlen, -errno,
                          "%s: cannot open %s for appending: %s", label, path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A FIFO or device could block the backend's writes for good. */
        close(fd);
        return errbuf_set(err, errlen, -EINVAL,
                          "%s: %s is not a regular file; use a file path "
                          "(or pty/unix= for a live reader)",
                          label, path);
    }
    struct chardev *c;
    int r = chardev_new(&c, &file_ops, NULL, -1, fd);
    if (r < 0) {
        close(fd);
        return errbuf_set(err, errlen, r, "%s: %s", label, strerror(-r));
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    r = chardev_start(c);
    if (r < 0) {
        chardev_close(c);
        return errbuf_set(err, errlen, r, "%s: %s", label, strerror(-r));
    }
    *out = c;
    return 0;
}
