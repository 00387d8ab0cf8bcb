/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on real taps with the Linux network stack as the peer, no
 * VM: the fake guest drives the device while the kernel, in a private
 * network namespace this test makes (see netns.h), answers ARP and
 * ping, sends UDP from a socket, forwards offloaded frames between the
 * device's tap and a second tap the test reads raw (so the kernel's own
 * segmentation and checksums are checked), and spreads flows over the
 * queues of a multiqueue tap. Nothing leaves the namespace.
 *
 *   guest 10.0.0.2 fd00::2 --[kvn0]-- kernel 10.0.0.1 fd00::1 (router)
 *   kernel 10.0.1.1 fd00:1::1 --[kvn1, raw]-- "far host" 10.0.1.2
 *   guest 10.0.2.2 --[kvq0, 2 queues]-- kernel 10.0.2.1
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/net_pkt.h"
#include "tests/unit/net_rig.h"
#include "tests/unit/netns.h"
#include "tests/unit/tap.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define EVI VIRTIO_BIT(VIRTIO_F_EVENT_IDX)
#define IND VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)
#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define OFFLOADS                                                               \
    (NF(CSUM) | NF(GUEST_CSUM) | NF(HOST_TSO4) | NF(HOST_TSO6) |               \
     NF(GUEST_TSO4) | NF(GUEST_TSO6) | NF(HOST_USO) | NF(GUEST_USO4) |         \
     NF(GUEST_USO6))
#define TSO_PAYLOAD 60000
#define MSS 1448  /* IPv4: fits the 1500 MTU with 40 header bytes to spare */
#define MSS6 1440 /* IPv6: 1500 - 40 - 20 */

static uint8_t gmac[6];            /* the device's MAC */
static uint8_t k0mac[6], k1mac[6]; /* kernel side of kvn0, kvn1 */
static const uint8_t farmac[6] = {0x02, 0, 0, 0, 1, 2};
static const uint8_t g4[4] = {10, 0, 0, 2}, k4[4] = {10, 0, 0, 1};
static const uint8_t far4[4] = {10, 0, 1, 2};
static uint8_t g6[16], far6[16];
static uint8_t buf[70000], frame[70000], data[70000];
static struct tap far; /* kvn1, read and written raw by the test */

static void skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static int if_mac(const char *name, uint8_t mac[6])
{
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int r = ioctl(s, SIOCGIFHWADDR, &ifr);
    close(s);
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return r;
}

static char *mac_str(const uint8_t *m)
{
    static char s[4][18];
    static int i;
    char *o = s[i++ & 3];
    snprintf(o, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
             m[4], m[5]);
    return o;
}

/* Receive frames on pair until match() likes one (the kernel also sends
 * IPv6 neighbour and multicast traffic): its length, header included,
 * or a negative errno. At most 500 frames are skipped. */
typedef bool (*match_fn)(const uint8_t *eth, size_t len, const void *ctx);
static int rx_match(struct net_rig *r, unsigned pair, match_fn m,
                    const void *ctx, uint8_t *dst, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        int k = nr_rx_frame(r, pair, dst, cap, NULL);
        if (k < 0)
            return k;
        if ((size_t)k >= r->hdr_len + NP_ETH_HLEN &&
            m(dst + r->hdr_len, (size_t)k - r->hdr_len, ctx))
            return k;
    }
    return -ENOMSG;
}

/* The same on the raw far tap (10-byte header). */
static int far_match(match_fn m, const void *ctx, uint8_t *dst, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        struct pollfd p = {.fd = far.fd[0], .events = POLLIN};
        if (poll(&p, 1, FG_TIMEOUT_MS) <= 0)
            return -ETIMEDOUT;
        struct iovec iov = {dst, cap};
        ssize_t k = tap_readv(&far, 0, &iov, 1);
        if (k == -EAGAIN)
            continue;
        if (k < 0)
            return (int)k;
        if (k >= 10 + NP_ETH_HLEN && m(dst + 10, (size_t)k - 10, ctx))
            return (int)k;
    }
    return -ENOMSG;
}

static const uint8_t *l4_of(const uint8_t *e, size_t len, uint8_t *proto)
{
    uint16_t t = np_get16(e + 12);
    if (t == NP_ETH_IP4 && len >= 34) {
        *proto = e[23];
        return e + 14 + (e[14] & 15) * 4;
    }
    if (t == NP_ETH_IP6 && len >= 54) {
        *proto = e[20];
        return e + 54;
    }
    return NULL;
}

static bool m_arp_reply(const uint8_t *e, size_t len, const void *ctx)
{
    (void)ctx;
    return len >= 42 && np_get16(e + 12) == NP_ETH_ARP && np_get16(e + 20) == 2;
}

static bool m_icmp_reply(const uint8_t *e, size_t len, const void *ctx)
{
    uint8_t p = 0;
    const uint8_t *l4 = l4_of(e, len, &p);
    return l4 && p == 1 && l4[0] == 0 &&
           np_get16(l4 + 4) == *(const uint16_t *)ctx;
}

static bool m_udp_dport(const uint8_t *e, size_t len, const void *ctx)
{
    uint8_t p = 0;
    const uint8_t *l4 = l4_of(e, len, &p);
    return l4 && p == 17 && np_get16(l4 + 2) == *(const uint16_t *)ctx;
}

static bool m_tcp_dport(const uint8_t *e, size_t len, const void *ctx)
{
    uint8_t p = 0;
    const uint8_t *l4 = l4_of(e, len, &p);
    return l4 && p == 6 && np_get16(l4 + 2) == *(const uint16_t *)ctx;
}

/* An Ethernet/IP/TCP frame the way a driver hands over a TSO frame:
 * the checksum field holds the pseudo-header sum, h says where to
 * finish it and how to segment. Returns the frame's length. */
static size_t tcp_frame(uint8_t *f, bool v6, const uint8_t *dmac,
                        const uint8_t *smac, const uint8_t *sip,
                        const uint8_t *dip, uint16_t sport, uint16_t dport,
                        uint32_t seq, const uint8_t *payload, size_t len,
                        struct virtio_net_hdr *h)
{
    size_t o = np_eth(f, dmac, smac, v6 ? NP_ETH_IP6 : NP_ETH_IP4);
    uint8_t *ip = f + o;
    uint32_t l4len = NP_TCP_HLEN + (uint32_t)len;
    o += v6 ? np_ip6(ip, sip, dip, 6, (uint16_t)l4len)
            : np_ip4(ip, sip, dip, 6, (uint16_t)l4len, 7);
    uint8_t *t = f + o;
    memset(t, 0, NP_TCP_HLEN);
    np_put16(t, sport);
    np_put16(t + 2, dport);
    np_put32(t + 4, seq);
    t[12] = 5 << 4;
    t[13] = 0x18; /* ACK, PSH */
    np_put16(t + 14, 65535);
    uint32_t ps = v6 ? np_pseudo6(ip, 6, l4len) : np_pseudo4(ip, 6, l4len);
    np_put16(t + 16, np_fold(ps));
    memcpy(t + NP_TCP_HLEN, payload, len);
    size_t mss = v6 ? MSS6 : MSS;
    *h = (struct virtio_net_hdr){
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = len > mss ? (v6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                    : VIRTIO_NET_HDR_GSO_TCPV4)
                              : VIRTIO_NET_HDR_GSO_NONE,
        .hdr_len = (uint16_t)(o + NP_TCP_HLEN),
        .gso_size = len > mss ? mss : 0,
        .csum_start = (uint16_t)o,
        .csum_offset = 16,
    };
    return o + NP_TCP_HLEN + len;
}

/* An Ethernet/IPv4/UDP frame with a partial checksum; gso_size > 0
 * makes it a USO frame. */
static size_t udp_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *dip,
                        uint16_t sport, uint16_t dport, const uint8_t *payload,
                        size_t len, uint16_t gso_size, struct virtio_net_hdr *h)
{
    size_t n =
        np_udp4_frame(f, dmac, gmac, g4, dip, sport, dport, payload, len, true);
    *h = (struct virtio_net_hdr){
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type =
            gso_size ? VIRTIO_NET_HDR_GSO_UDP_L4 : VIRTIO_NET_HDR_GSO_NONE,
        .hdr_len = 42,
        .gso_size = gso_size,
        .csum_start = 34,
        .csum_offset = 6,
    };
    return n;
}

/* Send an Ethernet frame from the guest with header h. */
static int guest_send(struct net_rig *r, unsigned pair,
                      const struct virtio_net_hdr *h, const uint8_t *f,
                      size_t len, unsigned nseg)
{
    static uint8_t out[70000];
    memset(out, 0, r->hdr_len);
    if (h)
        memcpy(out, h, r->hdr_len);
    memcpy(out + r->hdr_len, f, len);
    return nr_tx(r, pair, out, r->hdr_len + len, nseg);
}

/* kvn0's counters show nothing refused. */
static bool kvn0_clean(const char *what)
{
    struct netns_ifstats s;
    if (netns_ifstats("kvn0", &s) < 0)
        return false;
    if (s.rx_errs || s.rx_frame || s.rx_drop)
        DIAG("%s: kvn0 rx errs %llu frame %llu drop %llu", what,
             (unsigned long long)s.rx_errs, (unsigned long long)s.rx_frame,
             (unsigned long long)s.rx_drop);
    return !s.rx_errs && !s.rx_frame && !s.rx_drop;
}

static void test_arp_ping(struct net_rig *r)
{
    uint8_t f[128];
    size_t o = np_eth(f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", gmac,
                      NP_ETH_ARP);
    o += np_arp_request(f + o, gmac, g4, k4);
    int k = guest_send(r, 0, NULL, f, o, 1);
    if (k == 0)
        k = rx_match(r, 0, m_arp_reply, NULL, buf, sizeof(buf));
    const uint8_t *a = buf + r->hdr_len + 14;
    CHECK(k > 0 && !memcmp(a + 8, k0mac, 6) && !memcmp(a + 14, k4, 4) &&
              !memcmp(a + 18, gmac, 6) && !memcmp(a + 24, g4, 4) &&
              !memcmp(buf + r->hdr_len, gmac, 6),
          "ARP request through TX: the kernel's reply (10.0.0.1 is-at %s) "
          "on RX",
          mac_str(k0mac));

    bool all = true;
    for (uint16_t seq = 1; seq <= 5; seq++) {
        uint8_t icmp[64];
        uint16_t id = 0x4b56;
        icmp[0] = 8;
        icmp[1] = 0;
        np_put16(icmp + 2, 0);
        np_put16(icmp + 4, id);
        np_put16(icmp + 6, seq);
        for (int i = 8; i < 64; i++)
            icmp[i] = (uint8_t)(i * seq);
        np_put16(icmp + 2, (uint16_t)~np_fold(np_sum(icmp, 64, 0)));
        o = np_eth(f, k0mac, gmac, NP_ETH_IP4);
        o += np_ip4(f + o, g4, k4, 1, 64, seq);
        memcpy(f + o, icmp, 64);
        k = guest_send(r, 0, NULL, f, o + 64, 2);
        if (k == 0)
            k = rx_match(r, 0, m_icmp_reply, &id, buf, sizeof(buf));
        uint8_t *e = buf + r->hdr_len;
        uint8_t *ic = e + 34;
        all &= k == (int)(r->hdr_len + 98) && !memcmp(e + 26, k4, 4) &&
               np_get16(ic + 6) == seq && !memcmp(ic + 8, icmp + 8, 56) &&
               np_fold(np_sum(e + 14, 20, 0)) == 0xffff &&
               np_fold(np_sum(ic, 64, 0)) == 0xffff;
    }
    CHECK(all, "5 ICMP echo requests: 5 replies, same id/seq/payload, "
               "checksums right");
}

/* UDP datagrams from a socket in the namespace to the guest. */
static void test_udp_in(struct net_rig *r, const char *mode)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_port = htons(9000),
                              .sin_addr.s_addr = htonl(0x0a000001)};
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons(9001),
                              .sin_addr.s_addr = htonl(0x0a000002)};
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&src, sizeof(src)) < 0)
        abort();
    enum { N = 300 };
    unsigned ok = 0, partial = 0, bad = 0;
    /* Send in bursts of 50 so the tap's queue (1000 frames) never
     * overflows while the guest is slower. */
    for (unsigned b = 0; b < N; b += 50) {
        for (unsigned i = b; i < b + 50; i++) {
            size_t len = 4 + (i * 53) % 1468;
            np_put32(data, i);
            for (size_t j = 4; j < len; j++)
                data[j] = (uint8_t)(i + j * 3);
            sendto(s, data, len, 0, (struct sockaddr *)&dst, sizeof(dst));
        }
        for (unsigned i = b; i < b + 50; i++) {
            uint16_t port = 9001;
            int k = rx_match(r, 0, m_udp_dport, &port, buf, sizeof(buf));
            if (k < 0)
                break;
            struct virtio_net_hdr h = {0};
            memcpy(&h, buf, r->hdr_len);
            uint8_t *e = buf + r->hdr_len;
            size_t flen = (size_t)k - r->hdr_len;
            bool nc = h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
            partial += nc;
            if (np_check_l4(e, flen, nc, (uint16_t)(h.csum_start),
                            h.csum_offset) < 0) {
                bad++;
                continue;
            }
            size_t len = 4 + (i * 53) % 1468;
            bool good =
                np_get16(e + 38) == NP_UDP_HLEN + len && np_get32(e + 42) == i;
            for (size_t j = 4; good && j < len; j++)
                good = e[42 + j] == (uint8_t)(i + j * 3);
            ok += good;
        }
    }
    close(s);
    CHECK(ok == N && bad == 0,
          "%s: %d UDP datagrams from a socket arrive intact and in order "
          "(%u ok, %u bad checksums)",
          mode, N, ok, bad);
    bool want_partial = r->feat & NF(GUEST_CSUM);
    CHECK(want_partial ? partial > 0 : partial == 0,
          "%s: %u of them with a partial checksum (NEEDS_CSUM) %s", mode,
          partial,
          want_partial ? "since GUEST_CSUM lets the tap skip it"
                       : "(none without GUEST_CSUM)");
}

/* Collect the forwarded TCP segments of a TSO frame on the far tap and
 * check each: IP and TCP checksums, sequence, payload. */
static bool far_tcp_stream(uint16_t dport, uint32_t seq0, size_t total,
                           unsigned *nseg, size_t *maxseg)
{
    size_t have = 0;
    *nseg = 0;
    *maxseg = 0;
    while (have < total) {
        int k = far_match(m_tcp_dport, &dport, buf, sizeof(buf));
        if (k < 0)
            return false;
        uint8_t *e = buf + 10;
        size_t flen = (size_t)k - 10;
        if (np_check_l4(e, flen, false, 0, 0) < 0)
            return false;
        uint8_t p = 0;
        const uint8_t *t = l4_of(e, flen, &p);
        size_t hl = (size_t)(t[12] >> 4) * 4;
        size_t plen = flen - (size_t)(t - e) - hl;
        uint32_t off = np_get32(t + 4) - seq0;
        if (off != have || off + plen > total ||
            memcmp(t + hl, data + off, plen))
            return false;
        have += plen;
        (*nseg)++;
        if (plen > *maxseg)
            *maxseg = plen;
    }
    return true;
}

static void test_tso_out(struct net_rig *r, bool v6)
{
    struct virtio_net_hdr h;
    for (size_t i = 0; i < TSO_PAYLOAD; i++)
        data[i] = (uint8_t)(i * 7 + i / 1000 + v6);
    uint16_t dport = v6 ? 86 : 80;
    size_t len =
        tcp_frame(frame, v6, k0mac, gmac, v6 ? g6 : g4, v6 ? far6 : far4, 40000,
                  dport, 1000, data, TSO_PAYLOAD, &h);
    int e = guest_send(r, 0, &h, frame, len, 4);
    unsigned nseg = 0;
    size_t maxseg = 0;
    bool ok =
        e == 0 && far_tcp_stream(dport, 1000, TSO_PAYLOAD, &nseg, &maxseg);
    size_t mss = v6 ? MSS6 : MSS;
    CHECK(ok && nseg == (TSO_PAYLOAD + mss - 1) / mss && maxseg == mss,
          "TSO%c: one %u-byte frame from the guest, forwarded by the "
          "kernel as %u segments of <= %zu bytes, checksums right",
          v6 ? '6' : '4', TSO_PAYLOAD, nseg, maxseg);
    CHECK(kvn0_clean("TSO"), "the kernel took it without an error");
}

static void test_csum_out(struct net_rig *r)
{
    struct virtio_net_hdr h;
    for (size_t i = 0; i < 1000; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    /* Forwarded: the kernel must finish the checksum for kvn1. */
    size_t len = udp_frame(frame, k0mac, far4, 7000, 7001, data, 1000, 0, &h);
    int e = guest_send(r, 0, &h, frame, len, 3);
    uint16_t port = 7001;
    int k = e ? e : far_match(m_udp_dport, &port, buf, sizeof(buf));
    CHECK(k == 10 + (int)len && np_check_l4(buf + 10, len, false, 0, 0) == 0 &&
              !memcmp(buf + 10 + 42, data, 1000),
          "UDP with a partial checksum, forwarded: completed correctly");
    /* Delivered to a socket in the namespace. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(9100),
                            .sin_addr.s_addr = htonl(0x0a000001)};
    bind(s, (struct sockaddr *)&a, sizeof(a));
    len = udp_frame(frame, k0mac, k4, 7000, 9100, data, 1000, 0, &h);
    e = guest_send(r, 0, &h, frame, len, 1);
    struct pollfd p = {.fd = s, .events = POLLIN};
    ssize_t got = -1;
    if (e == 0 && poll(&p, 1, FG_TIMEOUT_MS) > 0)
        got = recv(s, buf, sizeof(buf), 0);
    close(s);
    CHECK(got == 1000 && !memcmp(buf, data, 1000),
          "UDP with a partial checksum to a local socket: delivered");
    uint64_t csum_err = 0;
    netns_snmp("Udp", "InCsumErrors", &csum_err);
    CHECK(kvn0_clean("csum") && csum_err == 0,
          "no checksum errors counted (Udp InCsumErrors %llu)",
          (unsigned long long)csum_err);
}

static void test_uso_out(struct net_rig *r)
{
    if (!(r->feat & NF(HOST_USO))) {
        skip("this kernel's tap has no USO (Linux < 6.2)");
        return;
    }
    struct virtio_net_hdr h;
    for (size_t i = 0; i < 8000; i++)
        data[i] = (uint8_t)(i * 13);
    size_t len =
        udp_frame(frame, k0mac, far4, 7000, 7002, data, 8000, 1000, &h);
    int e = guest_send(r, 0, &h, frame, len, 2);
    unsigned segs = 0;
    bool ok = e == 0;
    uint16_t port = 7002;
    for (unsigned i = 0; ok && i < 8; i++) {
        int k = far_match(m_udp_dport, &port, buf, sizeof(buf));
        ok = k == 10 + 42 + 1000 &&
             np_check_l4(buf + 10, (size_t)k - 10, false, 0, 0) == 0 &&
             !memcmp(buf + 52, data + i * 1000, 1000);
        segs += ok;
    }
    CHECK(ok && segs == 8,
          "USO: one 8000-byte UDP frame, forwarded as 8 datagrams with "
          "right checksums (%u)",
          segs);
}

/* A TSO frame the far host sends towards the guest: with GUEST_TSO4 the
 * tap hands it over whole, else the kernel segments it first. */
static void test_tso_in(struct net_rig *r, const char *mode)
{
    struct virtio_net_hdr h;
    for (size_t i = 0; i < TSO_PAYLOAD; i++)
        data[i] = (uint8_t)(i * 5 + 1);
    static uint8_t out[70000];
    size_t len = tcp_frame(out + 10, false, k1mac, farmac, far4, g4, 80, 41000,
                           5000, data, TSO_PAYLOAD, &h);
    memcpy(out, &h, 10);
    struct iovec iov = {out, 10 + len};
    ssize_t w = tap_writev(&far, 0, &iov, 1);
    bool whole = r->feat & NF(GUEST_TSO4);
    size_t have = 0;
    unsigned frames = 0, gso_frames = 0, bufs_max = 0;
    bool ok = w == (ssize_t)(10 + len);
    uint16_t port = 41000;
    while (ok && have < TSO_PAYLOAD) {
        int k = rx_match(r, 0, m_tcp_dport, &port, buf, sizeof(buf));
        if (k < 0)
            break;
        struct virtio_net_hdr rh = {0};
        memcpy(&rh, buf, r->hdr_len);
        uint8_t *e = buf + r->hdr_len;
        size_t flen = (size_t)k - r->hdr_len;
        bool nc = rh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
        gso_frames +=
            rh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && rh.gso_size == MSS;
        if (r->hdr_len == 12 && rh.num_buffers > bufs_max)
            bufs_max = rh.num_buffers;
        ok = np_check_l4(e, flen, nc, rh.csum_start, rh.csum_offset) == 0;
        const uint8_t *t = e + 34;
        uint32_t off = np_get32(t + 4) - 5000;
        size_t plen = flen - 54;
        ok = ok && off == have && !memcmp(t + 20, data + off, plen);
        have += plen;
        frames++;
    }
    if (whole)
        CHECK(ok && frames == 1 && gso_frames == 1 &&
                  (!(r->feat & NF(MRG_RXBUF)) || bufs_max > 1),
              "%s: a 60000-byte TCP segment reaches the guest whole (gso "
              "TCPV4/%d, %u buffers)",
              mode, MSS, bufs_max);
    else
        CHECK(ok && frames == (TSO_PAYLOAD + MSS - 1) / MSS && gso_frames == 0,
              "%s: without GUEST_TSO4 it arrives as %u MTU-sized frames "
              "with right checksums",
              mode, frames);
}

/* Which RX queue of a 2-pair NIC the UDP frame to port sport arrives
 * on, skipping other frames: 0, 1 or -ETIMEDOUT. */
static int reply_queue(struct net_rig *r, uint16_t sport)
{
    for (int t = 0; t < FG_TIMEOUT_MS; t++) {
        bool any = false;
        for (unsigned q = 0; q < 2; q++) {
            if (!nr_rx_peek(r, q))
                continue;
            any = true;
            int k = nr_rx_frame(r, q, buf, sizeof(buf), NULL);
            if (k > (int)r->hdr_len + NP_ETH_HLEN &&
                m_udp_dport(buf + r->hdr_len, (size_t)k - r->hdr_len, &sport))
                return (int)q;
        }
        if (!any)
            usleep(1000);
    }
    return -ETIMEDOUT;
}

/* UDP echo through each queue of a 2-queue NIC: the tap steers each
 * flow back to the queue it came from. */
static void test_multiqueue(void)
{
    struct vnet_config c = {.queues = 2, .offload = true};
    char err[256];
    struct vnet *n;
    snprintf(c.tap, sizeof(c.tap), "kvq0");
    if (vnet_create(&n, &c, "nettest", 1, err, sizeof(err)) < 0) {
        CHECK(0, "2-queue NIC: %s", err);
        return;
    }
    uint8_t qmac[6], kqmac[6];
    vnet_default_mac("nettest", 1, qmac);
    if_mac("kvq0", kqmac);
    netns_sh("ip addr add 10.0.2.1/24 dev kvq0 && "
             "ip neigh replace 10.0.2.2 lladdr %s dev kvq0 nud permanent",
             mac_str(qmac));
    static struct net_rig r;
    if (nr_up(&r, n, V1 | EVI | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(MQ) | OFFLOADS,
              256, false) ||
        nr_rx_post(&r, 0, 64, 2048, 1) || nr_rx_post(&r, 1, 64, 2048, 1))
        abort();
    uint16_t two = 2;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two,
                  2) == VIRTIO_NET_OK,
          "MQ: 2 queue pairs");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(7),
                            .sin_addr.s_addr = htonl(0x0a000201)};
    bind(s, (struct sockaddr *)&a, sizeof(a));
    const uint8_t q4[4] = {10, 0, 2, 2}, kq4[4] = {10, 0, 2, 1};
    unsigned rx_on[2] = {0, 0}, same = 0, echoed = 0;
    for (unsigned i = 0; i < 16; i++) {
        unsigned pair = i & 1;
        uint16_t sport = (uint16_t)(30000 + i);
        uint8_t f[128], out[140] = {0};
        size_t len = np_udp4_frame(f, kqmac, qmac, q4, kq4, sport, 7,
                                   "kvmini mq", 9, false);
        memcpy(out + 12, f, len);
        if (nr_tx(&r, pair, out, 12 + len, 1) < 0)
            break;
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, FG_TIMEOUT_MS) <= 0)
            break;
        ssize_t k =
            recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        sendto(s, buf, (size_t)k, 0, (struct sockaddr *)&from, fl);
        echoed++;
        /* The reply comes on whichever queue the tap picked; other
         * frames (IPv6 neighbour discovery) are skipped. */
        int q = reply_queue(&r, sport);
        if (q < 0)
            break;
        rx_on[q]++;
        same += (unsigned)q == pair;
    }
    close(s);
    struct vq *vq = vmmio_vdev(r.g.m)->vq;
    CHECK(echoed == 16 && vq[1].st.chains == 8 && vq[3].st.chains == 8,
          "TX: 8 datagrams on each queue reached the kernel");
    CHECK(rx_on[0] > 0 && rx_on[1] > 0 && rx_on[0] + rx_on[1] == 16,
          "RX: replies on both queues (%u and %u; %u on the queue their "
          "flow left by)",
          rx_on[0], rx_on[1], same);
    nr_down(&r);
    vnet_destroy(n);
}

/* The tap is deleted under a running NIC (an existing tap the admin
 * removes): RX stops polling its dead fd instead of spinning, TX frames
 * are dropped and counted, the device stays usable. */
static void test_tap_deleted(void)
{
    struct vnet_config c = {.queues = 1, .offload = true};
    char err[256];
    struct vnet *n;
    snprintf(c.tap, sizeof(c.tap), "kvd0");
    if (netns_sh("ip tuntap add kvd0 mode tap && ip link set kvd0 up") < 0 ||
        vnet_create(&n, &c, "nettest", 2, err, sizeof(err)) < 0) {
        CHECK(0, "NIC on an existing tap: %s", err);
        return;
    }
    static struct net_rig r;
    if (nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false) ||
        nr_rx_post(&r, 0, 32, 2048, 1))
        abort();
    netns_sh("ip link del kvd0");
    usleep(50 * 1000);
    struct vnet_stats a, b;
    vnet_stats_get(n, &a);
    usleep(200 * 1000);
    vnet_stats_get(n, &b);
    CHECK(b.rx_rounds - a.rx_rounds < 5,
          "tap deleted: the RX worker does not spin (%llu rounds in 200 ms)",
          (unsigned long long)(b.rx_rounds - a.rx_rounds));
    uint8_t f[128] = {0};
    size_t len = 12 + np_eth(f + 12, farmac, gmac, 0x88b5) + 50;
    vnet_stats_get(n, &a);
    int e = nr_tx(&r, 0, f, len, 1);
    vnet_stats_get(n, &b);
    CHECK(e == 0 && b.tx_drop_tap == a.tx_drop_tap + 1,
          "TX to the deleted tap completes, counted as a tap drop");
    nr_down(&r);
    vnet_destroy(n);
}

/* One NIC session: negotiate `feat`, then the tests for it. */
static struct net_rig rig;
static struct vnet *nic;

static int session(bool legacy, uint64_t feat, uint32_t rx_size,
                   unsigned rx_nseg)
{
    nr_down(&rig);
    if (nr_init(&rig, nic, legacy) || nr_start(&rig, feat, 256))
        return -1;
    unsigned count = 256 / rx_nseg < 128 ? 256 / rx_nseg : 128;
    return nr_rx_post(&rig, 0, count, rx_size, rx_nseg);
}

static int setup(void)
{
    struct vnet_config c = {.queues = 1, .offload = true};
    char err[256];
    snprintf(c.tap, sizeof(c.tap), "kvn0");
    if (vnet_create(&nic, &c, "nettest", 0, err, sizeof(err)) < 0) {
        DIAG("%s", err);
        return -1;
    }
    char ferr[256];
    if (tap_open(&far, "kvn1", 1, ferr, sizeof(ferr)) < 0) {
        DIAG("%s", ferr);
        return -1;
    }
    vnet_default_mac("nettest", 0, gmac);
    if_mac("kvn0", k0mac);
    if_mac("kvn1", k1mac);
    inet_pton(AF_INET6, "fd00::2", g6);
    inet_pton(AF_INET6, "fd00:1::2", far6);
    int r = netns_sh(
        "echo 1 > /proc/sys/net/ipv4/ip_forward && "
        "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding && "
        "ip addr add 10.0.0.1/24 dev kvn0 && "
        "ip -6 addr add fd00::1/64 dev kvn0 nodad && "
        "ip addr add 10.0.1.1/24 dev kvn1 && "
        "ip -6 addr add fd00:1::1/64 dev kvn1 nodad && "
        "ip neigh replace 10.0.0.2 lladdr %s dev kvn0 nud permanent && "
        "ip -6 neigh replace fd00::2 lladdr %s dev kvn0 nud permanent && "
        "ip neigh replace 10.0.1.2 lladdr %s dev kvn1 nud permanent && "
        "ip -6 neigh replace fd00:1::2 lladdr %s dev kvn1 nud permanent",
        mac_str(gmac), mac_str(gmac), mac_str(farmac), mac_str(farmac));
    return r < 0 ? -1 : nr_init(&rig, nic, false);
}

int main(void)
{
    char why[256];
    signal(SIGPIPE, SIG_IGN);
    if (netns_enter(why, sizeof(why)) < 0) {
        skip(why);
        return tap_done();
    }
    if (setup() < 0) {
        CHECK(0, "setup: taps and addresses in the namespace");
        return tap_done();
    }
    uint64_t full = V1 | EVI | IND | NF(MRG_RXBUF) | OFFLOADS;
    if (session(false, full, 2048, 1) == 0) {
        test_arp_ping(&rig);
        test_udp_in(&rig, "mergeable + offloads");
        test_tso_out(&rig, false);
        test_tso_out(&rig, true);
        test_csum_out(&rig);
        test_uso_out(&rig);
        test_tso_in(&rig, "mergeable + GUEST_TSO4");
    }
    /* Linux's "big packets" receive: no mergeable buffers, each chain
     * holds 64 KiB in 16 descriptors. */
    if (session(false, V1 | EVI | OFFLOADS, 16 * 4104, 16) == 0)
        test_tso_in(&rig, "big chains + GUEST_TSO4");
    if (session(false, V1 | NF(CSUM) | NF(HOST_TSO4), 1530, 1) == 0) {
        test_udp_in(&rig, "no mergeable, no GUEST_CSUM");
        test_tso_in(&rig, "no guest offloads");
    }
    if (session(true, NF(MAC) | NF(CSUM) | NF(HOST_TSO4), 1528, 2) == 0) {
        test_arp_ping(&rig);
        test_tso_out(&rig, false);
    }
    struct vnet_stats st;
    vnet_stats_get(nic, &st);
    CHECK(st.rx_drop_oversize == 0 && st.rx_drop_bad == 0 &&
              st.tx_drop_tap == 0 && st.tx_drop_header == 0,
          "device counters: no drops (rx %llu frames, tx %llu frames)",
          (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames);
    uint64_t hdr_err = 1;
    netns_snmp("Ip", "InHdrErrors", &hdr_err);
    CHECK(hdr_err == 0, "kernel: Ip InHdrErrors 0");
    nr_down(&rig);
    vnet_destroy(nic);
    test_multiqueue();
    test_tap_deleted();
    tap_close(&far);
    return tap_done();
}
