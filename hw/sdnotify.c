/* SPDX-License-Identifier: MIT */
/* READY=1 and friends to $NOTIFY_SOCKET, the way systemd reads them. */
#include "hw/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdnotify(const char *text)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(a.sun_path))
        return -EINVAL;
    memcpy(a.sun_path, path, n);
    if (path[0] == '@')
        a.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL */
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                 (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    struct msghdr m = {
        .msg_name = &a, .msg_namelen = alen, .msg_iov = &iov, .msg_iovlen = 1};
    int r = sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 1;
    close(fd);
    return r;
}
