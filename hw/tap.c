/* SPDX-License-Identifier: MIT */
/* Host tap backend: open or create a tap, vnet header size, offloads. */
#include "hw/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/log.h"

#define TAP_TUN_PATH "/dev/net/tun"
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
#define TAP_OFFLOADS_TSO (TAP_F_CSUM | TAP_F_TSO4 | TAP_F_TSO6 | TAP_F_TSO_ECN)

/* The rules of the kernel's dev_valid_name, checked here so a bad name
 * gets its own message instead of a bare EINVAL from TUNSETIFF. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= TAP_NAME_MAX || !strcmp(name, ".") ||
        !strcmp(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* An ioctl on the interface itself, through any datagram socket of the
 * caller's network namespace. */
static int ifreq_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
    int r = ioctl(s, req, ifr) < 0 ? -errno : 0;
    close(s);
    return r;
}

/* Why TUNSETIFF said EINVAL about an existing interface: not a tun
 * device at all, a layer-3 tun, or a single-queue tap asked for more. */
static int explain_einval(const char *name, unsigned nq, char *err,
                          size_t errlen)
{
    struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
    struct ifreq ifr = {.ifr_data = (void *)&di};
    if (ifreq_ioctl(name, SIOCETHTOOL, &ifr) < 0 || strcmp(di.driver, "tun"))
        return errbuf_set(err, errlen, -EINVAL,
                          "%s is not a tap but another kind of interface: name "
                          "a tap, or a name not in use to create one",
                          name);
    if (!strcmp(di.bus_info, "tun"))
        return errbuf_set(
            err, errlen, -EINVAL,
            "%s is a tun (layer 3) device, not a tap: create a tap "
            "with 'ip tuntap add %s mode tap'",
            name, name);
    if (nq > 1)
        return errbuf_set(
            err, errlen, -EINVAL,
            "tap %s was created without multi_queue, so queues=%u "
            "cannot attach: recreate it with 'ip tuntap add %s "
            "mode tap multi_queue'",
            name, nq, name);
    return errbuf_set(err, errlen, -EINVAL, "cannot attach to tap %s: %s", name,
                      strerror(EINVAL));
}

static int explain_open(const char *path, int e, char *err, size_t errlen)
{
    if (e == ENOENT || e == ENODEV || e == ENXIO)
        return errbuf_set(err, errlen, -e,
                          "%s does not exist: load the tun module "
                          "('modprobe tun')",
                          path);
    if (e == EACCES || e == EPERM)
        return errbuf_set(err, errlen, -e,
                          "no permission to open %s: run kvmini as root or "
                          "make the device readable and writable for its user",
                          path);
    return errbuf_set(err, errlen, -e, "cannot open %s: %s", path, strerror(e));
}

/* Who runs kvmini, as `ip tuntap add ... user` takes it: the login
 * name, or the uid when there is none. */
static void tap_user(char *buf, size_t len)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw)
        snprintf(buf, len, "%s", pw->pw_name);
    else
        snprintf(buf, len, "%u", (unsigned)geteuid());
}

static int explain_setiff(const char *name, unsigned nq, bool existed, int e,
                          char *err, size_t errlen)
{
    char user[64];
    switch (e) {
    case EPERM:
    case EACCES:
        tap_user(user, sizeof(user));
        if (!existed)
            return errbuf_set(err, errlen, -e,
                              "tap %s does not exist and creating it needs "
                              "CAP_NET_ADMIN: run 'ip tuntap add %s mode tap "
                              "user %s && ip link set %s up' as root first",
                              name, name, user, name);
        return errbuf_set(err, errlen, -e,
                          "no permission to use tap %s: it belongs to another "
                          "user ('ip tuntap add %s mode tap user %s' sets "
                          "its owner)",
                          name, name, user);
    case EBUSY:
        return errbuf_set(err, errlen, -e,
                          "tap %s is in use by another program (a tap without "
                          "multi_queue takes one user)",
                          name);
    case EINVAL:
        return explain_einval(name, nq, err, errlen);
    case E2BIG:
        return errbuf_set(err, errlen, -e,
                          "tap %s has no room for %u more queues: use fewer "
                          "queues",
                          name, nq);
    }
    return errbuf_set(err, errlen, -e, "cannot attach to tap %s: %s", name,
                      strerror(e));
}

/* Which offloads this kernel's tap accepts: each TUNSETOFFLOAD that
 * succeeds is a yes. USO (Linux 6.2) is accepted only as a pair. */
static unsigned probe_offloads(int fd)
{
    static const unsigned tries[] = {
        TAP_OFFLOADS_TSO | TAP_F_UFO,
        TAP_OFFLOADS_TSO,
        TAP_F_CSUM | TAP_F_USO4 | TAP_F_USO6,
    };
    unsigned caps = 0;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
        if ((tries[i] & ~caps) &&
            ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
            caps |= tries[i];
    ioctl(fd, TUNSETOFFLOAD, 0UL);
    return caps;
}

static void tap_reset(struct tap *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < TAP_MAX_QUEUES; i++)
        t->fd[i] = -1;
}

/* One queue fd: open the tun device and attach it to the tap. */
static int attach_one(struct tap *t, const char *tun_path, short flags, int *e)
{
    int fd = open(tun_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *e = errno;
        return -1;
    }
    struct ifreq ifr = {.ifr_flags = flags};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        *e = errno;
        close(fd);
        return -2;
    }
    return fd;
}

static int bring_up(const char *name)
{
    struct ifreq ifr = {0};
    int r = ifreq_ioctl(name, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ifreq_ioctl(name, SIOCSIFFLAGS, &ifr);
    }
    return r;
}

int tap_open_path(struct tap *t, const char *tun_path, const char *name,
                  unsigned nq, char *err, size_t errlen)
{
    tap_reset(t);
    if (!name_ok(name))
        return errbuf_set(err, errlen, -EINVAL,
                          "'%s' is not a valid interface name (1 to %d "
                          "characters, no '/', ':' or spaces)",
                          name, TAP_NAME_MAX - 1);
    if (nq == 0 || nq > TAP_MAX_QUEUES)
        return errbuf_set(err, errlen, -ERANGE, "a tap has 1 to %d queues here",
                          TAP_MAX_QUEUES);
    snprintf(t->name, sizeof(t->name), "%s", name);
    bool existed = if_nametoindex(name) != 0;
    short flags = TAP_FLAGS | (nq > 1 ? IFF_MULTI_QUEUE : 0);
    int r = 0, e = 0;
    for (unsigned i = 0; i < nq; i++) {
        int fd = attach_one(t, tun_path, flags, &e);
        /* An existing multiqueue tap serves a single queue too. */
        if (fd == -2 && e == EINVAL && i == 0 && nq == 1 && existed) {
            flags |= IFF_MULTI_QUEUE;
            fd = attach_one(t, tun_path, flags, &e);
        }
        if (fd == -1) {
            r = explain_open(tun_path, e, err, errlen);
            goto err;
        }
        if (fd < 0) {
            r = explain_setiff(name, nq, existed || i > 0, e, err, errlen);
            goto err;
        }
        t->fd[i] = fd;
        t->enabled[i] = true;
        t->nq = i + 1;
    }
    /* Never made persistent: the kernel deletes it with our last fd. */
    t->created = !existed;
    if (t->created && (r = bring_up(name)) < 0) {
        errbuf_set(err, errlen, r, "cannot bring tap %s up: %s", name,
                   strerror(-r));
        goto err;
    }
    t->offload_caps = probe_offloads(t->fd[0]);
    t->hdr_len = 10; /* the kernel's default: the legacy header */
    return 0;
err:
    tap_close(t);
    return r;
}

int tap_open(struct tap *t, const char *name, unsigned nq, char *err,
             size_t errlen)
{
    return tap_open_path(t, TAP_TUN_PATH, name, nq, err, errlen);
}

int tap_from_fds(struct tap *t, const int *fds, unsigned nq, unsigned caps,
                 char *err, size_t errlen)
{
    tap_reset(t);
    if (nq == 0 || nq > TAP_MAX_QUEUES)
        return errbuf_set(err, errlen, -ERANGE, "a tap has 1 to %d queues here",
                          TAP_MAX_QUEUES);
    for (unsigned i = 0; i < nq; i++) {
        struct stat st;
        struct ifreq ifr = {0};
        bool sock = fstat(fds[i], &st) == 0 && S_ISSOCK(st.st_mode);
        if (i > 0 && sock != t->sock)
            return errbuf_set(err, errlen, -EINVAL,
                              "fd %d: mixed sockets and taps", fds[i]);
        if (!sock && (ioctl(fds[i], TUNGETIFF, &ifr) < 0 ||
                      (ifr.ifr_flags & TAP_FLAGS) != TAP_FLAGS))
            return errbuf_set(err, errlen, -EINVAL,
                              "fd %d is not a tap opened with vnet_hdr and "
                              "no_pi",
                              fds[i]);
        t->sock = sock;
        if (!sock)
            snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
    }
    for (unsigned i = 0; i < nq; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl >= 0)
            fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
        t->fd[i] = fds[i];
        t->enabled[i] = true;
    }
    t->nq = nq;
    if (t->sock)
        snprintf(t->name, sizeof(t->name), "socket%d", fds[0]);
    t->offload_caps = t->sock ? caps : probe_offloads(t->fd[0]);
    t->hdr_len = 10;
    return 0;
}

void tap_close(struct tap *t)
{
    for (unsigned i = 0; i < TAP_MAX_QUEUES; i++) {
        if (t->fd[i] >= 0)
            close(t->fd[i]);
        t->fd[i] = -1;
    }
    t->nq = 0;
}

int tap_set_hdr_len(struct tap *t, int len)
{
    if (!t->sock && ioctl(t->fd[0], TUNSETVNETHDRSZ, &len) < 0)
        return -errno;
    t->hdr_len = len;
    return 0;
}

int tap_set_offloads(struct tap *t, unsigned flags)
{
    if (flags & ~t->offload_caps)
        return -EINVAL;
    if (!t->sock && ioctl(t->fd[0], TUNSETOFFLOAD, (unsigned long)flags) < 0)
        return -errno;
    t->offloads = flags;
    return 0;
}

int tap_set_queue(struct tap *t, unsigned qi, bool enable)
{
    if (qi >= t->nq)
        return -EINVAL;
    if (t->nq == 1 || t->enabled[qi] == enable)
        return 0;
    struct ifreq ifr = {.ifr_flags =
                            enable ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};
    if (!t->sock && ioctl(t->fd[qi], TUNSETQUEUE, &ifr) < 0)
        return -errno;
    t->enabled[qi] = enable;
    return 0;
}

int tap_get_mtu(const struct tap *t, uint32_t *mtu)
{
    struct ifreq ifr = {0};
    if (t->sock) {
        *mtu = 1500; /* a socket stand-in has no interface */
        return 0;
    }
    int r = ifreq_ioctl(t->name, SIOCGIFMTU, &ifr);
    if (r == 0)
        *mtu = (uint32_t)ifr.ifr_mtu;
    return r;
}

int tap_set_mtu(const struct tap *t, uint32_t mtu)
{
    if (t->sock)
        return 0;
    struct ifreq ifr = {.ifr_mtu = (int)mtu};
    return ifreq_ioctl(t->name, SIOCSIFMTU, &ifr);
}

ssize_t tap_readv(const struct tap *t, unsigned qi, const struct iovec *iov,
                  int iovcnt)
{
    ssize_t n;
    if (t->sock) {
        /* MSG_TRUNC: the full length, as a tap's read reports it. */
        struct msghdr m = {.msg_iov = (struct iovec *)iov,
                           .msg_iovlen = (size_t)iovcnt};
        do
            n = recvmsg(t->fd[qi], &m, MSG_TRUNC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
    } else {
        do
            n = readv(t->fd[qi], iov, iovcnt);
        while (n < 0 && errno == EINTR);
    }
    return n < 0 ? -errno : n;
}

ssize_t tap_writev(const struct tap *t, unsigned qi, const struct iovec *iov,
                   int iovcnt)
{
    ssize_t n;
    if (t->sock) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov,
                           .msg_iovlen = (size_t)iovcnt};
        do
            n = sendmsg(t->fd[qi], &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
    } else {
        do
            n = writev(t->fd[qi], iov, iovcnt);
        while (n < 0 && errno == EINTR);
    }
    return n < 0 ? -errno : n;
}
