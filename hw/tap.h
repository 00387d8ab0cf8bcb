/* SPDX-License-Identifier: MIT */
/*
 * The host side of a virtio-net device: a Linux tap interface opened
 * through /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, one fd
 * per queue (IFF_MULTI_QUEUE when there are several). Every frame read
 * or written starts with a virtio-net header whose size the device sets
 * (tap_set_hdr_len); tap_set_offloads says which offloaded frames
 * (partial checksums, TSO, UFO/USO) the tap may hand us.
 *
 * A tap that does not exist is created when the caller may
 * (CAP_NET_ADMIN): non-persistent and brought up, so the kernel removes
 * it when our last fd closes, however the process ends. An existing tap
 * is attached to and left as it was configured.
 *
 * tap_from_fds wraps fds opened elsewhere: tap fds handed over by a
 * parent, or SOCK_SEQPACKET sockets that stand in for the tap in tests
 * (then the ioctls are only recorded in the struct).
 *
 * Ownership and threads: a struct tap belongs to one device. Open and
 * close run on the main thread; tap_readv/tap_writev on queue qi run on
 * that queue's worker; the set_* calls on whichever thread the device
 * configures from (never concurrently for the same setting). Errors are
 * negative errno; open fills err with one sentence naming the fix.
 */
#ifndef KVMINI_HW_TAP_H
#define KVMINI_HW_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TAP_MAX_QUEUES 8
#define TAP_NAME_MAX 16 /* IFNAMSIZ, with the NUL */

/* Offload flags: the kernel's TUN_F_* values (TUNSETOFFLOAD). */
#define TAP_F_CSUM 0x01
#define TAP_F_TSO4 0x02
#define TAP_F_TSO6 0x04
#define TAP_F_TSO_ECN 0x08
#define TAP_F_UFO 0x10
#define TAP_F_USO4 0x20 /* Linux 6.2+, only together with USO6 */
#define TAP_F_USO6 0x40

struct tap {
    char name[TAP_NAME_MAX];
    int fd[TAP_MAX_QUEUES];
    unsigned nq;
    bool created;          /* we made it: it goes with our fds */
    bool sock;             /* fds are sockets standing in for a tap */
    unsigned offload_caps; /* TAP_F_* the kernel accepts */
    /* What was last applied (and, for sockets, all that happened). */
    int hdr_len;
    unsigned offloads;
    bool enabled[TAP_MAX_QUEUES]; /* queue attached (TUNSETQUEUE) */
};

/* Attach to tap `name` with nq queues (1..TAP_MAX_QUEUES), creating it
 * if it does not exist. Fds are nonblocking and close-on-exec. 0, or
 * -errno with a sentence in err: no /dev/net/tun, no permission, busy,
 * not a tap, a single-queue tap asked for several queues. */
int tap_open(struct tap *t, const char *name, unsigned nq, char *err,
             size_t errlen);
/* The same with another path for /dev/net/tun (tests). */
int tap_open_path(struct tap *t, const char *tun_path, const char *name,
                  unsigned nq, char *err, size_t errlen);

/* Take ownership of nq open fds: tap fds (TUNGETIFF names the tap) or
 * datagram sockets. caps: offloads a socket stand-in claims to accept.
 * Fds are made nonblocking. 0, or -EINVAL with a sentence in err. */
int tap_from_fds(struct tap *t, const int *fds, unsigned nq, unsigned caps,
                 char *err, size_t errlen);

/* Close every fd (a tap we created disappears). Safe twice. */
void tap_close(struct tap *t);

/* Bytes of virtio-net header in front of each frame (10 or 12). */
int tap_set_hdr_len(struct tap *t, int len);
/* Offloaded frames the tap may deliver to us (TAP_F_*, within caps). */
int tap_set_offloads(struct tap *t, unsigned flags);
/* Attach or detach queue qi (multiqueue taps): the kernel steers
 * frames only to attached queues. No-op for a single queue. */
int tap_set_queue(struct tap *t, unsigned qi, bool enable);

/* The interface's MTU (SIOCGIFMTU) and setting it (CAP_NET_ADMIN). */
int tap_get_mtu(const struct tap *t, uint32_t *mtu);
int tap_set_mtu(const struct tap *t, uint32_t mtu);

/* One frame (header included) from queue qi into iov: its full length,
 * which exceeds the iov's size if the frame was truncated; -EAGAIN when
 * there is none; other -errno on failure. */
ssize_t tap_readv(const struct tap *t, unsigned qi, const struct iovec *iov,
                  int iovcnt);
/* One frame to queue qi: bytes written or -errno. */
ssize_t tap_writev(const struct tap *t, unsigned qi, const struct iovec *iov,
                   int iovcnt);

static inline int tap_fd(const struct tap *t, unsigned qi)
{
    return qi < t->nq ? t->fd[qi] : -1;
}

#endif
