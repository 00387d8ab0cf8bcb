/* SPDX-License-Identifier: MIT */
/* The unix socket character backends: a listening server and a client. */
#define LOG_TAG "chardev"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hw/chardev_priv.h"
#include "hw/log.h"

struct cd_unix {
    char label[80]; /* for messages */
    int listen_fd;  /* server; -1 for a client */
    int conn_fd;    /* the peer, or -1 */
    dev_t dev;      /* the socket file we bound, to remove only it */
    ino_t ino;
    int64_t retry_at; /* client: when to try again (monotonic ms) */
};

static int64_t unix_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int unix_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof(a->sun_path))
        return -ENAMETOOLONG;
    memcpy(a->sun_path, path, strlen(path));
    return 0;
}

/* A nonblocking connect to path: the fd, or -errno. A unix connect
 * completes at once or fails (EAGAIN: the server's backlog is full). */
static int unix_connect(const char *path)
{
    struct sockaddr_un a;
    int r = unix_addr(&a, path);
    if (r < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static void unix_hangup(struct chardev *c)
{
    struct cd_unix *u = c->priv;
    chardev_peer_drop(c);
    close(u->conn_fd);
    u->conn_fd = -1;
    if (u->listen_fd >= 0) {
        log_line(NULL, "%s: client left %s; waiting for the next", u->label,
                 c->path);
        return;
    }
    log_line(NULL,
             "%s: %s went away; reconnecting every %d ms "
             "(output is held meanwhile)",
             u->label, c->path, CHARDEV_RETRY_MS);
    u->retry_at = unix_now_ms() + CHARDEV_RETRY_MS;
}

static int server_poll_fd(struct chardev *c, int *timeout_ms)
{
    (void)timeout_ms;
    return ((struct cd_unix *)c->priv)->listen_fd;
}

/* A client knocks: the first becomes the peer, others are told why
 * they are turned away, then closed. */
static void server_tick(struct chardev *c, short revents)
{
    struct cd_unix *u = c->priv;
    if (!(revents & POLLIN))
        return;
    int fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return; /* gone already, or EMFILE: the next knock tries again */
    if (u->conn_fd >= 0) {
        char msg[160];
        int n = snprintf(msg, sizeof(msg),
                         "kvmini: %s: busy, one client at a time\n", u->label);
        /* A fresh socket's buffer takes one short line. */
        if (write(fd, msg, (size_t)n) < 0)
            log_warn_rl("%s: telling a second client: %s", u->label,
                        strerror(errno));
        close(fd);
        return;
    }
    u->conn_fd = fd;
    chardev_peer_set(c, fd);
    log_line(NULL, "%s: client connected to %s", u->label, c->path);
}

static int client_poll_fd(struct chardev *c, int *timeout_ms)
{
    struct cd_unix *u = c->priv;
    if (u->conn_fd < 0) {
        int64_t left = u->retry_at - unix_now_ms();
        *timeout_ms = left > 0 ? (int)left : 0;
    }
    return -1;
}

static void client_tick(struct chardev *c, short revents)
{
    struct cd_unix *u = c->priv;
    (void)revents;
    if (u->conn_fd >= 0 || unix_now_ms() < u->retry_at)
        return;
    int fd = unix_connect(c->path);
    if (fd < 0) {
        u->retry_at = unix_now_ms() + CHARDEV_RETRY_MS;
        return;
    }
    u->conn_fd = fd;
    chardev_peer_set(c, fd);
    log_line(NULL, "%s: reconnected to %s", u->label, c->path);
}

static void unix_free(struct cd_unix *u, const char *path)
{
    if (u->conn_fd >= 0)
        close(u->conn_fd);
    if (u->listen_fd >= 0) {
        /* Remove the socket file only if it is still ours: someone may
         * have replaced it meanwhile. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
            st.st_dev == u->dev && st.st_ino == u->ino)
            unlink(path);
        close(u->listen_fd);
    }
    free(u);
}

static void unix_close(struct chardev *c)
{
    unix_free(c->priv, c->path);
}

static const struct chardev_ops server_ops = {
    .name = "unix server",
    .close = unix_close,
    .hangup = unix_hangup,
    .poll_fd = server_poll_fd,
    .tick = server_tick,
};

static const struct chardev_ops client_ops = {
    .name = "unix client",
    .close = unix_close,
    .hangup = unix_hangup,
    .poll_fd = client_poll_fd,
    .tick = client_tick,
};

/* Make path free for our bind: refuse a file that is not a socket and a
 * socket someone listens on; remove a stale socket. */
static int server_clear(const char *path, const char *label, char *err,
                        size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT
                   ? 0
                   : errbuf_set(err, errlen, -errno, "%s: unix socket %s: %s",
                                label, path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return errbuf_set(err, errlen, -EEXIST,
                          "%s: %s exists and is not a socket; remove it or "
                          "choose another path",
                          label, path);
    int fd = unix_connect(path);
    if (fd >= 0 || fd == -EAGAIN) {
        if (fd >= 0)
            close(fd);
        return errbuf_set(err, errlen, -EADDRINUSE,
                          "%s: another process listens on %s; stop it or "
                          "choose another path",
                          label, path);
    }
    /* ECONNREFUSED: a socket file nobody listens on, left by a process
     * that died. */
    if (fd == -ECONNREFUSED && unlink(path) == 0)
        return 0;
    return errbuf_set(err, errlen, fd == -ECONNREFUSED ? -errno : fd,
                      "%s: cannot reuse the stale socket %s: %s", label, path,
                      strerror(fd == -ECONNREFUSED ? errno : -fd));
}

static int server_listen(struct cd_unix *u, const char *path, const char *label,
                         char *err, size_t errlen)
{
    struct sockaddr_un a;
    if (unix_addr(&a, path) < 0)
        return errbuf_set(err, errlen, -ENAMETOOLONG,
                          "%s: socket path '%s' is empty or longer than %zu "
                          "bytes",
                          label, path, sizeof(a.sun_path) - 1);
    int r = server_clear(path, label, err, errlen);
    if (r < 0)
        return r;
    u->listen_fd =
        socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->listen_fd < 0)
        return errbuf_set(err, errlen, -errno, "%s: socket: %s", label,
                          strerror(errno));
    /* The socket file is born 0600: the console is a root shell for
     * whoever connects. umask is process-wide, but only main creates
     * files while devices are being opened. */
    mode_t old = umask(0177);
    r = bind(u->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
    umask(old);
    if (r < 0)
        return errbuf_set(err, errlen, r, "%s: cannot create %s: %s", label,
                          path, strerror(-r));
    struct stat st;
    if (lstat(path, &st) < 0 || listen(u->listen_fd, 4) < 0) {
        r = -errno;
        unlink(path);
        return errbuf_set(err, errlen, r, "%s: cannot listen on %s: %s", label,
                          path, strerror(-r));
    }
    u->dev = st.st_dev;
    u->ino = st.st_ino;
    return 0;
}

static int unix_open(struct chardev **out, const char *path, const char *label,
                     bool server, char *err, size_t errlen)
{
    struct cd_unix *u = calloc(1, sizeof(*u));
    if (!u)
        return errbuf_set(err, errlen, -ENOMEM, "out of memory");
    *u = (struct cd_unix){.listen_fd = -1, .conn_fd = -1};
    snprintf(u->label, sizeof(u->label), "%s", label);
    int r = 0;
    if (server) {
        r = server_listen(u, path, label, err, errlen);
    } else {
        u->conn_fd = unix_connect(path);
        r = u->conn_fd < 0 ? u->conn_fd : 0;
        if (r < 0) {
            u->conn_fd = -1;
            errbuf_set(err, errlen, r, "%s: cannot connect to %s: %s%s", label,
                       path, strerror(-r),
                       r == -ECONNREFUSED || r == -ENOENT
                           ? " (nobody listens there: start the server first)"
                           : "");
        }
    }
    if (r < 0) {
        unix_free(u, path);
        return r;
    }
    struct chardev *c;
    r = chardev_new(&c, server ? &server_ops : &client_ops, u, -1, -1);
    if (r < 0) {
        unix_free(u, path);
        return errbuf_set(err, errlen, r, "%s: %s", label, strerror(-r));
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->reconnects = true;
    c->peer = false;
    if (u->conn_fd >= 0)
        chardev_peer_set(c, u->conn_fd);
    r = chardev_start(c);
    if (r < 0) {
        chardev_close(c);
        return errbuf_set(err, errlen, r, "%s: %s", label, strerror(-r));
    }
    if (server)
        log_line(NULL, "%s on unix socket %s", label, path);
    *out = c;
    return 0;
}

int chardev_unix_server_open(struct chardev **out, const char *path,
                             const char *label, char *err, size_t errlen)
{
    return unix_open(out, path, label, true, err, errlen);
}

int chardev_unix_client_open(struct chardev **out, const char *path,
                             const char *label, char *err, size_t errlen)
{
    return unix_open(out, path, label, false, err, errlen);
}
