/* SPDX-License-Identifier: MIT */
/*
 * hw/tap against real taps in a private network namespace: creation
 * (non-persistent, up, gone when the fds close, even on SIGKILL),
 * attaching to existing taps, the vnet header, offloads, queues, MTU,
 * and one clear error for each way it can fail. Without the privilege
 * to make a namespace those parts are skipped, with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hw/tap.h"
#include "tests/unit/netns.h"
#include "tests/unit/tap.h"

static char err[512];

static void skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static void test_unprivileged(void)
{
    struct tap t;
    int r =
        tap_open_path(&t, "/nonexistent/net/tun", "kvt0", 1, err, sizeof(err));
    CHECK(r == -ENOENT && strstr(err, "modprobe tun"), "no tun device: %s",
          err);
    r = tap_open(&t, "a/b", 1, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "not a valid interface name"),
          "bad name: %s", err);
    r = tap_open(&t, "", 1, err, sizeof(err));
    CHECK(r == -EINVAL, "empty name");
    r = tap_open(&t, "kvt0", TAP_MAX_QUEUES + 1, err, sizeof(err));
    CHECK(r == -ERANGE, "too many queues: %s", err);
    int p[2];
    if (pipe(p))
        abort();
    r = tap_from_fds(&t, p, 1, 0, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "not a tap"), "a pipe is not a tap: %s",
          err);
    close(p[0]);
    close(p[1]);
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    r = tap_from_fds(&t, sv, 1, TAP_F_CSUM, err, sizeof(err));
    CHECK(r == 0 && t.sock && t.offload_caps == TAP_F_CSUM &&
              tap_set_hdr_len(&t, 12) == 0 && t.hdr_len == 12 &&
              tap_set_offloads(&t, TAP_F_TSO4) == -EINVAL,
          "a socket stand-in records settings, refuses offloads beyond "
          "its caps");
    tap_close(&t);
    close(sv[1]);
}

static bool if_exists(const char *name)
{
    return if_nametoindex(name) != 0;
}

static bool if_up(const char *name)
{
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    close(s);
    return r == 0 && (ifr.ifr_flags & IFF_UP);
}

static bool wait_gone(const char *name)
{
    for (int i = 0; i < 500 && if_exists(name); i++)
        usleep(10000); /* a hang guard: removal is synchronous */
    return !if_exists(name);
}

static void test_create(void)
{
    struct tap t, t2;
    int r = tap_open(&t, "kvt0", 1, err, sizeof(err));
    CHECK(r == 0 && t.created && t.nq == 1 && if_exists("kvt0"),
          "a missing tap is created (%s)", err);
    CHECK(if_up("kvt0"), "and brought up");
    CHECK((t.offload_caps & (TAP_F_CSUM | TAP_F_TSO4 | TAP_F_TSO6)) ==
              (TAP_F_CSUM | TAP_F_TSO4 | TAP_F_TSO6),
          "offload probe: CSUM, TSO4, TSO6 (caps %#x)", t.offload_caps);
    int sz = 0;
    ioctl(t.fd[0], TUNGETVNETHDRSZ, &sz);
    CHECK(sz == 10, "vnet header 10 bytes by default");
    CHECK(tap_set_hdr_len(&t, 12) == 0 &&
              ioctl(t.fd[0], TUNGETVNETHDRSZ, &sz) == 0 && sz == 12,
          "TUNSETVNETHDRSZ 12");
    CHECK(tap_set_offloads(&t, TAP_F_CSUM | TAP_F_TSO4) == 0 &&
              t.offloads == (TAP_F_CSUM | TAP_F_TSO4),
          "TUNSETOFFLOAD CSUM|TSO4");
    CHECK(tap_set_offloads(&t, 0x80) == -EINVAL, "unknown offload refused");
    uint32_t mtu = 0;
    CHECK(tap_get_mtu(&t, &mtu) == 0 && mtu == 1500, "MTU 1500 (%u)", mtu);
    CHECK(tap_set_mtu(&t, 9000) == 0 && tap_get_mtu(&t, &mtu) == 0 &&
              mtu == 9000,
          "MTU set to 9000");
    int fl = fcntl(t.fd[0], F_GETFL), fdf = fcntl(t.fd[0], F_GETFD);
    CHECK((fl & O_NONBLOCK) && (fdf & FD_CLOEXEC), "nonblocking, cloexec");

    r = tap_open(&t2, "kvt0", 1, err, sizeof(err));
    CHECK(r == -EBUSY && strstr(err, "in use by another program"),
          "second user of a single-queue tap: %s", err);
    tap_close(&t);
    tap_close(&t);
    CHECK(!if_exists("kvt0"), "closing removes the tap we created");

    r = tap_open(&t, "kvt1", 4, err, sizeof(err));
    CHECK(r == 0 && t.nq == 4 && t.created, "multiqueue tap, 4 queues");
    CHECK(tap_set_queue(&t, 3, false) == 0 && !t.enabled[3] &&
              tap_set_queue(&t, 3, false) == 0 &&
              tap_set_queue(&t, 3, true) == 0 && t.enabled[3],
          "TUNSETQUEUE detach and attach");
    tap_close(&t);
    CHECK(!if_exists("kvt1"), "and it goes with its fds");
}

static void test_sigkill(void)
{
    int p[2];
    if (pipe(p))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        struct tap t;
        char c = tap_open(&t, "kvt2", 2, err, sizeof(err)) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c = 0;
    if (read(p[0], &c, 1) != 1)
        c = 0;
    bool there = if_exists("kvt2");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(c == 'y' && there && wait_gone("kvt2"),
          "a tap created by a process killed with SIGKILL is removed");
    close(p[0]);
    close(p[1]);
}

static void test_existing(void)
{
    struct tap t;
    if (netns_sh("ip tuntap add kvt3 mode tap") < 0)
        abort();
    int r = tap_open(&t, "kvt3", 1, err, sizeof(err));
    CHECK(r == 0 && !t.created && !if_up("kvt3"),
          "an existing tap is attached as it is (left down)");
    tap_close(&t);
    CHECK(if_exists("kvt3"), "and is still there after close");
    r = tap_open(&t, "kvt3", 2, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "without multi_queue"),
          "queues=2 on a single-queue tap: %s", err);
    netns_sh("ip tuntap add kvt4 mode tap multi_queue");
    r = tap_open(&t, "kvt4", 1, err, sizeof(err));
    CHECK(r == 0 && !t.created, "one queue of a multi_queue tap");
    tap_close(&t);
    r = tap_open(&t, "kvt4", 3, err, sizeof(err));
    CHECK(r == 0 && t.nq == 3, "three queues of it");
    tap_close(&t);
    r = tap_open(&t, "lo", 1, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "lo is not a tap"), "loopback: %s", err);
    netns_sh("ip tuntap add kvt5 mode tun");
    r = tap_open(&t, "kvt5", 1, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "tun (layer 3)"), "a tun device: %s",
          err);
}

/* Drop CAP_NET_ADMIN (staying uid 0) in this process. */
static int drop_net_admin(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -errno;
    d[0].effective &= ~(1u << CAP_NET_ADMIN);
    d[0].permitted &= ~(1u << CAP_NET_ADMIN);
    return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* tap_open in a child that gave up some privilege; returns the error
 * and copies the message. */
static int open_as(bool setuid_nobody, const char *name, char *msg, size_t len)
{
    int p[2];
    if (pipe(p))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        char m[512] = "";
        int r;
        if (setuid_nobody)
            r = setgroups(0, NULL) || setgid(65534) || setuid(65534) ? -EPERM
                                                                     : 0;
        else
            r = drop_net_admin();
        struct tap t;
        if (r == 0)
            r = tap_open(&t, name, 1, m, sizeof(m));
        if (write(p[1], &r, sizeof(r)) < 0 || write(p[1], m, sizeof(m)) < 0)
            _exit(1);
        _exit(0);
    }
    int r = 0;
    char m[512] = "";
    if (read(p[0], &r, sizeof(r)) != sizeof(r) ||
        read(p[0], m, sizeof(m)) != sizeof(m))
        r = -EIO;
    waitpid(pid, NULL, 0);
    close(p[0]);
    close(p[1]);
    snprintf(msg, len, "%s", m);
    return r;
}

static void test_permissions(void)
{
    char m[512];
    int r = open_as(false, "kvt6", m, sizeof(m));
    CHECK(r == -EPERM && strstr(m, "needs CAP_NET_ADMIN"),
          "creating without CAP_NET_ADMIN: %s", m);
    CHECK(!if_exists("kvt6"), "nothing half-created");
    netns_sh("ip tuntap add kvt7 mode tap user 4242");
    r = open_as(false, "kvt7", m, sizeof(m));
    CHECK(r == -EPERM && strstr(m, "belongs to another user"),
          "another user's tap: %s", m);
    struct stat st;
    if (stat("/dev/net/tun", &st) == 0 && !(st.st_mode & 0006)) {
        r = open_as(true, "kvt8", m, sizeof(m));
        CHECK(r == -EACCES && strstr(m, "no permission to open /dev/net/tun"),
              "/dev/net/tun not open to this user: %s", m);
    } else {
        skip("/dev/net/tun is open to every user here");
    }
}

int main(void)
{
    char why[256];
    test_unprivileged();
    if (netns_enter(why, sizeof(why)) < 0) {
        skip(why);
        return tap_done();
    }
    test_create();
    test_sigkill();
    test_existing();
    test_permissions();
    return tap_done();
}
