/* SPDX-License-Identifier: MIT */
/*
 * virtio-net through the fake guest with socketpairs standing in for
 * the tap: options, MAC, features and config, transmit and receive
 * with and without mergeable buffers, an empty ring refilled, frames
 * too large, malformed chains. (test_net_ctrl.c: control queue, reset,
 * multiqueue; test_net_tap.c: a real tap in a private namespace.)
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/net_rig.h"
#include "tests/unit/tap.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define IND VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)
#define EVI VIRTIO_BIT(VIRTIO_F_EVENT_IDX)
#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define CAPS_TSO (TAP_F_CSUM | TAP_F_TSO4 | TAP_F_TSO6 | TAP_F_TSO_ECN)

static uint8_t frame[70000], got[70000];
static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 0x99};

/* A frame for the device's own MAC: hdr_len header bytes, then an
 * Ethernet header and flen - 14 payload bytes derived from seed. */
static size_t mkframe(uint8_t *f, uint32_t hdr_len, const uint8_t *dst,
                      size_t flen, unsigned seed)
{
    memset(f, 0, hdr_len);
    uint8_t *e = f + hdr_len;
    memcpy(e, dst, 6);
    memcpy(e + 6, other_mac, 6);
    e[12] = 0x88;
    e[13] = 0xb5; /* local experimental ethertype */
    for (size_t i = 14; i < flen; i++)
        e[i] = (uint8_t)(seed * 31 + i * 7 + i / 253);
    return hdr_len + flen;
}

static void dev_mac(uint8_t mac[6])
{
    vnet_default_mac("test", 0, mac);
}

static void test_parse(void)
{
    struct vnet_config c;
    char err[256] = "";
    CHECK(vnet_parse("tap0", &c, err, sizeof(err)) == 0 &&
              !strcmp(c.tap, "tap0") && c.queues == 1 && c.mtu == 0 &&
              !c.mac_set,
          "parse: 'tap0' is the shorthand, defaults 1 queue, tap MTU");
    CHECK(vnet_parse("tap=t1,mac=52:54:00:12:34:56,queues=4,mtu=9000", &c, err,
                     sizeof(err)) == 0 &&
              !strcmp(c.tap, "t1") && c.mac_set && c.mac[5] == 0x56 &&
              c.queues == 4 && c.mtu == 9000,
          "parse: every key");
    int r = vnet_parse("queues=2", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "tap=NAME"), "no tap: %s", err);
    r = vnet_parse("tap0,mac=01:00:5e:00:00:01", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "multicast"), "multicast MAC: %s", err);
    r = vnet_parse("tap0,mac=00:00:00:00:00:00", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "not an address"), "zero MAC: %s", err);
    r = vnet_parse("tap0,mac=52:54:00:12:34", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "mac="), "short MAC: %s", err);
    r = vnet_parse("tap0,queues=8", &c, err, sizeof(err));
    CHECK(r == -ERANGE && strstr(err, "1..7"), "queues beyond the limit: %s",
          err);
    r = vnet_parse("tap0,queues=0", &c, err, sizeof(err));
    CHECK(r == -ERANGE, "queues=0: %s", err);
    r = vnet_parse("tap0,speed=10", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "unknown key 'speed'"), "unknown key: %s",
          err);
    r = vnet_parse("tap0,mtu=60", &c, err, sizeof(err));
    CHECK(r == -ERANGE, "mtu below 68: %s", err);
    r = vnet_parse("a-name-much-too-long", &c, err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "longer than 15"), "long name: %s", err);
    r = vnet_parse("tap0,tap=tap1", &c, err, sizeof(err));
    CHECK(r == -EINVAL, "tap given twice: %s", err);
}

static void test_mac(void)
{
    uint8_t a[6], b[6], c[6], d[6];
    vnet_default_mac("vm1", 0, a);
    vnet_default_mac("vm1", 0, b);
    vnet_default_mac("vm1", 1, c);
    vnet_default_mac("vm2", 0, d);
    CHECK(!memcmp(a, b, 6), "default MAC is stable");
    CHECK(memcmp(a, c, 6) && memcmp(a, d, 6),
          "NIC index and VM name change it");
    bool all_ok = true;
    for (unsigned i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%u", i * 977);
        vnet_default_mac(name, i & 3, a);
        all_ok &= (a[0] & 3) == 2;
    }
    CHECK(all_ok, "always locally administered and unicast");
}

static uint32_t cfg32(struct net_rig *r, uint32_t off, uint32_t len)
{
    uint32_t v = 0;
    vmmio_access(r->g.m, VMMIO_CONFIG + off, &v, len, false);
    return v;
}

static uint64_t offered(struct net_rig *r)
{
    fg_wr(&r->g, VMMIO_DEV_FEATURES_SEL, 1);
    uint64_t f = (uint64_t)fg_rd(&r->g, VMMIO_DEV_FEATURES) << 32;
    fg_wr(&r->g, VMMIO_DEV_FEATURES_SEL, 0);
    return f | fg_rd(&r->g, VMMIO_DEV_FEATURES);
}

/* offload=off: no checksum or segmentation offload is offered either
 * way, whatever the tap could do; the rest of the NIC is unchanged. */
static void test_offload_off(void)
{
    struct vnet_config c;
    char err[256] = "";
    CHECK(vnet_parse("tap0", &c, err, sizeof(err)) == 0 && c.offload,
          "offloads are on by default");
    CHECK(vnet_parse("tap0,offload=off", &c, err, sizeof(err)) == 0 &&
              !c.offload,
          "offload=off parses");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct tap t;
    struct vnet *n;
    if (tap_from_fds(&t, &sv[0], 1, CAPS_TSO | TAP_F_UFO, err, sizeof(err)) ||
        vnet_create_tap(&n, &c, &t, "test", 0, err, sizeof(err)))
        abort();
    uint64_t f = vnet_ops(n)->features;
    uint64_t off = NF(CSUM) | NF(GUEST_CSUM) | NF(GUEST_TSO4) | NF(GUEST_TSO6) |
                   NF(GUEST_ECN) | NF(GUEST_UFO) | NF(HOST_TSO4) |
                   NF(HOST_TSO6) | NF(HOST_ECN) | NF(HOST_UFO) |
                   NF(CTRL_GUEST_OFFLOADS);
    CHECK(!(f & off), "offload=off offers no offload (%#llx)",
          (unsigned long long)(f & off));
    CHECK((f & (NF(MAC) | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(MTU))) ==
              (NF(MAC) | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(MTU)),
          "offload=off keeps MAC, mergeable buffers, control queue, MTU");
    vnet_destroy(n);
    close(sv[1]);
}

static void test_config(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[2];
    uint8_t mac[6];
    dev_mac(mac);
    if (nr_sock_vnet(&n, peer, 2, CAPS_TSO | TAP_F_UFO, 1500) ||
        nr_init(&r, n, false))
        abort();
    uint64_t f = offered(&r);
    CHECK(fg_rd(&r.g, VMMIO_DEVICE_ID) == VIRTIO_ID_NET, "device id 1");
    CHECK(vnet_ops(n)->nqueues == 5, "2 pairs + control = 5 queues");
    CHECK((f & (NF(MQ) | NF(CTRL_VQ) | NF(MRG_RXBUF) | NF(MAC) | NF(STATUS) |
                NF(MTU) | NF(CSUM) | NF(GUEST_CSUM) | NF(GUEST_TSO4) |
                NF(GUEST_TSO6) | NF(HOST_TSO4) | NF(GUEST_UFO) | NF(HOST_UFO) |
                NF(CTRL_RX) | NF(CTRL_GUEST_OFFLOADS))) ==
              (NF(MQ) | NF(CTRL_VQ) | NF(MRG_RXBUF) | NF(MAC) | NF(STATUS) |
               NF(MTU) | NF(CSUM) | NF(GUEST_CSUM) | NF(GUEST_TSO4) |
               NF(GUEST_TSO6) | NF(HOST_TSO4) | NF(GUEST_UFO) | NF(HOST_UFO) |
               NF(CTRL_RX) | NF(CTRL_GUEST_OFFLOADS)),
          "features: MQ, control, mergeable, offloads the tap has");
    CHECK(!(f & (NF(GUEST_USO4) | NF(HOST_USO))), "no USO when the tap cannot");
    bool mac_ok = true;
    for (unsigned i = 0; i < 6; i++)
        mac_ok &= cfg32(&r, i, 1) == mac[i];
    CHECK(mac_ok, "config mac is the default MAC");
    CHECK(cfg32(&r, 6, 2) == VIRTIO_NET_S_LINK_UP && cfg32(&r, 8, 2) == 2 &&
              cfg32(&r, 10, 2) == 1500,
          "config: link up, 2 queue pairs, MTU 1500");
    CHECK(cfg32(&r, 12, 4) == 0, "config past the MTU field reads 0");

    nr_start(&r, V1 | NF(MRG_RXBUF) | NF(GUEST_CSUM) | NF(GUEST_TSO4), 64);
    const struct tap *t = vnet_tap(n);
    CHECK(t->hdr_len == 12 && t->offloads == (TAP_F_CSUM | TAP_F_TSO4),
          "DRIVER_OK: 12-byte header, tap offloads CSUM|TSO4 (%d, %#x)",
          t->hdr_len, t->offloads);
    nr_start(&r, V1 | NF(GUEST_TSO4), 64);
    CHECK(t->offloads == 0, "TSO without GUEST_CSUM: no tap offloads");
    CHECK(t->enabled[0] && !t->enabled[1],
          "without MQ the second tap queue is detached");
    nr_sock_down(&r, n, peer, 2);

    if (nr_sock_vnet(&n, peer, 1, 0, 1500) || nr_init(&r, n, true))
        abort();
    f = offered(&r);
    CHECK(!(f & (NF(MQ) | NF(GUEST_CSUM) | NF(GUEST_TSO4))),
          "one pair, no tap offloads: no MQ, no GUEST_CSUM/TSO");
    nr_start(&r, NF(MAC) | NF(CSUM), 64);
    CHECK(vnet_tap(n)->hdr_len == 10, "legacy without mergeable: 10 bytes");
    nr_sock_down(&r, n, peer, 1);
}

/* Receive the next message on the peer and compare it with want. */
static bool peer_got(int fd, const uint8_t *want, size_t len)
{
    ssize_t k = nr_peer_recv(fd, got, sizeof(got));
    return k == (ssize_t)len && !memcmp(got, want, len);
}

static void test_tx(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    uint8_t mac[6];
    dev_mac(mac);
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, V1 | IND | NF(MRG_RXBUF) | NF(CSUM) | NF(HOST_TSO4), 256,
              false))
        abort();
    size_t len = mkframe(frame, 12, other_mac, 100, 1);
    CHECK(nr_tx(&r, 0, frame, len, 1) == 0 && peer_got(peer, frame, len),
          "TX: one descriptor, header and frame arrive as sent");
    len = mkframe(frame, 12, other_mac, 1514, 2);
    CHECK(nr_tx(&r, 0, frame, len, 5) == 0 && peer_got(peer, frame, len),
          "TX: 1514-byte frame in 5 descriptors");
    len = mkframe(frame, 12, other_mac, 60, 3);
    CHECK(nr_tx(&r, 0, frame, len, 9) == 0 && peer_got(peer, frame, len),
          "TX: header split over two descriptors");

    /* Indirect chain. */
    len = mkframe(frame, 12, other_mac, 700, 4);
    uint64_t gpa = fg_alloc(&r.g, len, 16);
    memcpy(fg_host(&r.g, gpa), frame, len);
    struct fg_seg s[3] = {{gpa, 12, false},
                          {gpa + 12, 300, false},
                          {gpa + 312, (uint32_t)len - 312, false}};
    fg_post(&r.g, nr_txq(0), s, 3, true);
    fg_kick(&r.g, nr_txq(0));
    CHECK(nr_tx_wait(&r, 0, 1) == 0 && peer_got(peer, frame, len),
          "TX: indirect chain");

    /* A TSO frame the guest may send: header passed through. */
    len = mkframe(frame, 12, other_mac, 30000, 5);
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                               .hdr_len = 54,
                               .gso_size = 1448,
                               .csum_start = 34,
                               .csum_offset = 16};
    memcpy(frame, &h, 10);
    CHECK(nr_tx(&r, 0, frame, len, 4) == 0 && peer_got(peer, frame, len),
          "TX: 30000-byte TSO frame with its header");

    /* Batches of 50 frames posted at once, kicked as the device asks
     * (50 keeps them within the socket stand-in's send buffer). */
    unsigned ok = 0;
    int w = 0;
    for (unsigned b = 0; b < 200; b += 50) {
        for (unsigned i = b; i < b + 50; i++) {
            len = mkframe(frame, 12, other_mac, 60 + i * 7, 100 + i);
            w |= nr_tx_post(&r, 0, frame, len, 1 + i % 3) < 0;
        }
        w |= nr_tx_wait(&r, 0, 50);
        for (unsigned i = b; i < b + 50; i++) {
            len = mkframe(frame, 12, other_mac, 60 + i * 7, 100 + i);
            ok += peer_got(peer, frame, len);
        }
    }
    CHECK(w == 0 && ok == 200, "TX: a batch of 200 frames, in order (%u)", ok);
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.tx_frames == 205 && st.tx_drop_malformed == 0,
          "TX counters: 205 frames (%llu)", (unsigned long long)st.tx_frames);
    nr_sock_down(&r, n, &peer, 1);
}

static void test_tx_bad(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF) | NF(CSUM), 64, false))
        abort();
    struct vq *q = &vmmio_vdev(r.g.m)->vq[nr_txq(0)];
    size_t len = mkframe(frame, 12, other_mac, 100, 7);
    uint64_t gpa = fg_alloc(&r.g, 4096, 16);
    memcpy(fg_host(&r.g, gpa), frame, len);
    struct fg_seg wr = {gpa, (uint32_t)len, true};
    fg_post(&r.g, nr_txq(0), &wr, 1, false);
    fg_kick(&r.g, nr_txq(0));
    CHECK(nr_tx_wait(&r, 0, 1) == 0 && q->st.errors == 1,
          "TX chain with a writable buffer fails alone");
    struct fg_seg far = {FG_BASE + NR_RAM + 4096, 100, false};
    fg_post(&r.g, nr_txq(0), &far, 1, false);
    fg_kick(&r.g, nr_txq(0));
    CHECK(nr_tx_wait(&r, 0, 1) == 0 && q->st.errors == 2,
          "TX buffer outside guest RAM fails alone");
    CHECK(nr_tx(&r, 0, frame, 8, 1) == 0, "TX shorter than the header");
    CHECK(nr_tx(&r, 0, frame, 12 + 10, 1) == 0, "TX runt frame");
    len = mkframe(frame, 12, other_mac, 1519, 8);
    CHECK(nr_tx(&r, 0, frame, len, 2) == 0, "TX 1519 bytes at MTU 1500");
    struct virtio_net_hdr h = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                               .gso_size = 1448};
    len = mkframe(frame, 12, other_mac, 3000, 9);
    memcpy(frame, &h, sizeof(h));
    CHECK(nr_tx(&r, 0, frame, len, 1) == 0, "TX TSO frame without HOST_TSO4");
    h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                .csum_start = 90,
                                .csum_offset = 16};
    len = mkframe(frame, 12, other_mac, 100, 10);
    memcpy(frame, &h, sizeof(h));
    CHECK(nr_tx(&r, 0, frame, len, 1) == 0,
          "TX checksum offset past the frame");
    /* The good one after all of them is the first the tap sees. */
    len = mkframe(frame, 12, other_mac, 1518, 11);
    CHECK(nr_tx(&r, 0, frame, len, 3) == 0 && peer_got(peer, frame, len),
          "a 1518-byte frame (MTU + Ethernet + VLAN) after the bad ones is "
          "the first to arrive");
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.tx_drop_malformed == 4 && st.tx_drop_oversize == 1 &&
              st.tx_drop_header == 2 && st.tx_frames == 1,
          "counted: 4 malformed, 1 oversize, 2 bad header, 1 sent "
          "(%llu %llu %llu %llu)",
          (unsigned long long)st.tx_drop_malformed,
          (unsigned long long)st.tx_drop_oversize,
          (unsigned long long)st.tx_drop_header,
          (unsigned long long)st.tx_frames);
    CHECK(!(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET),
          "device healthy after bad frames");
    nr_sock_down(&r, n, &peer, 1);
}

/* Send a frame from the peer; the guest must get exactly it. */
static bool rx_roundtrip(struct net_rig *r, int peer, unsigned pair,
                         size_t flen, unsigned seed, unsigned *nb)
{
    uint8_t mac[6];
    dev_mac(mac);
    size_t len = mkframe(frame, r->hdr_len, mac, flen, seed);
    if (send(peer, frame, len, 0) != (ssize_t)len)
        return false;
    int k = nr_rx_frame(r, pair, got, sizeof(got), nb);
    return k == (int)len &&
           !memcmp(got + r->hdr_len, frame + r->hdr_len, len - r->hdr_len);
}

static void test_rx_basic(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, CAPS_TSO, 1500) ||
        nr_up(&r, n, V1, 64, false) || nr_rx_post(&r, 0, 16, 1530, 1))
        abort();
    uint8_t mac[6];
    dev_mac(mac);
    size_t len = mkframe(frame, 12, mac, 200, 1);
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID,
                               .num_buffers = 0x7777};
    memcpy(frame, &h, sizeof(h));
    send(peer, frame, len, 0);
    unsigned nb = 0;
    int k = nr_rx_frame(&r, 0, got, sizeof(got), &nb);
    struct virtio_net_hdr gh;
    memcpy(&gh, got, sizeof(gh));
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, 200) &&
              gh.flags == 0 && gh.num_buffers == 1,
          "RX: frame intact, flags cleared without GUEST_CSUM, "
          "num_buffers 1");
    bool all = true;
    for (unsigned i = 0; i < 40; i++)
        all &= rx_roundtrip(&r, peer, 0, 60 + i * 36, i, &nb) && nb == 1;
    CHECK(all, "RX: 40 frames of 60..1464 bytes, one chain each");
    CHECK(rx_roundtrip(&r, peer, 0, 1518, 77, &nb),
          "RX: a 1518-byte frame fills a 1530-byte chain");
    nr_sock_down(&r, n, &peer, 1);

    /* GUEST_CSUM: the tap's flags reach the guest; chains of 3. */
    if (nr_sock_vnet(&n, &peer, 1, CAPS_TSO, 1500) ||
        nr_up(&r, n, V1 | NF(GUEST_CSUM), 64, false) ||
        nr_rx_post(&r, 0, 8, 1530, 3))
        abort();
    len = mkframe(frame, 12, mac, 1000, 5);
    memcpy(frame, &h, sizeof(h));
    send(peer, frame, len, 0);
    k = nr_rx_frame(&r, 0, got, sizeof(got), &nb);
    memcpy(&gh, got, sizeof(gh));
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, 1000) &&
              gh.flags == VIRTIO_NET_HDR_F_DATA_VALID,
          "RX with GUEST_CSUM: DATA_VALID kept, 3-descriptor chain");
    nr_sock_down(&r, n, &peer, 1);
}

static void test_rx_mrg(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF) | NF(MTU), 128, false) ||
        nr_rx_post(&r, 0, 100, 256, 1))
        abort();
    unsigned nb = 0;
    CHECK(rx_roundtrip(&r, peer, 0, 100, 1, &nb) && nb == 1,
          "RX mergeable: 100 bytes in one buffer");
    CHECK(rx_roundtrip(&r, peer, 0, 3000, 2, &nb) && nb == 12,
          "RX mergeable: 3000 bytes over 12 buffers (%u)", nb);
    CHECK(rx_roundtrip(&r, peer, 0, 9018, 3, &nb) && nb == 36,
          "RX mergeable: a 9018-byte jumbo frame over 36 buffers (%u)", nb);
    bool all = true;
    for (unsigned i = 0; i < 60; i++)
        all &= rx_roundtrip(&r, peer, 0, 60 + (i * 997) % 8900, 10 + i, &nb);
    CHECK(all, "RX mergeable: 60 frames of mixed sizes, in order, intact");
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.rx_frames == 63 && st.rx_drop_oversize == 0 && st.rx_stalls == 0,
          "RX counters: 63 frames, no drops, no stalls");
    nr_sock_down(&r, n, &peer, 1);
}

static uint64_t stat_stalls(struct vnet *n)
{
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    return st.rx_stalls;
}

/* Wait (bounded) until the device counted a stall. */
static bool wait_stalls(struct vnet *n, uint64_t want)
{
    for (int i = 0; i < FG_TIMEOUT_MS / 2 && stat_stalls(n) < want; i++)
        usleep(2000);
    return stat_stalls(n) >= want;
}

static void test_rx_empty_refill(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    uint8_t mac[6];
    dev_mac(mac);
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false))
        abort();
    for (unsigned i = 0; i < 20; i++) {
        size_t len = mkframe(frame, 12, mac, 60 + i * 70, 500 + i);
        send(peer, frame, len, 0);
    }
    fg_kick(&r.g, nr_rxq(0)); /* kick with nothing posted */
    CHECK(wait_stalls(n, 1), "RX ring empty with frames waiting: a stall");
    struct vnet_stats a, b;
    vnet_stats_get(n, &a);
    usleep(200 * 1000);
    vnet_stats_get(n, &b);
    CHECK(b.rx_rounds - a.rx_rounds < 5 && b.rx_frames == 0,
          "no busy loop while the ring is empty (%llu rounds in 200 ms)",
          (unsigned long long)(b.rx_rounds - a.rx_rounds));
    nr_rx_post(&r, 0, 32, 2048, 1);
    bool all = true;
    for (unsigned i = 0; i < 20; i++) {
        size_t len = mkframe(frame, 12, mac, 60 + i * 70, 500 + i);
        int k = nr_rx_frame(&r, 0, got, sizeof(got), NULL);
        all &= k == (int)len && !memcmp(got + 12, frame + 12, len - 12);
    }
    CHECK(all, "after the refill all 20 frames arrive, in order");
    vnet_stats_get(n, &b);
    CHECK(b.rx_drop_oversize == 0 && b.rx_frames == 20, "none dropped");
    nr_sock_down(&r, n, &peer, 1);
}

static void test_rx_small_buffers(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    uint8_t mac[6];
    dev_mac(mac);
    /* Mergeable, 4 x 256 bytes posted: a 3000-byte frame waits. */
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false) ||
        nr_rx_post(&r, 0, 4, 256, 1))
        abort();
    size_t len = mkframe(frame, 12, mac, 3000, 42);
    send(peer, frame, len, 0);
    CHECK(wait_stalls(n, 1) && !nr_rx_peek(&r, 0),
          "frame larger than the posted buffers waits (a stall)");
    nr_rx_post(&r, 0, 12, 256, 1);
    unsigned nb = 0;
    int k = nr_rx_frame(&r, 0, got, sizeof(got), &nb);
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, len - 12) && nb == 12,
          "after more buffers it arrives whole in 12 (%d, %u)", k, nb);
    CHECK(rx_roundtrip(&r, peer, 0, 500, 43, &nb),
          "next frame through the small buffers");
    nr_sock_down(&r, n, &peer, 1);

    /* Mergeable, an 8-entry ring full of 256-byte buffers: a 3000-byte
     * frame can never fit, so it is dropped and counted. */
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 8, false) ||
        nr_rx_post(&r, 0, 8, 256, 1))
        abort();
    len = mkframe(frame, 12, mac, 3000, 44);
    send(peer, frame, len, 0);
    CHECK(rx_roundtrip(&r, peer, 0, 300, 45, &nb),
          "a frame larger than the whole ring is dropped, the next "
          "arrives");
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.rx_drop_oversize == 1, "oversize drop counted");
    nr_sock_down(&r, n, &peer, 1);

    /* Not mergeable, 600-byte chains: 1000 bytes cannot fit one. */
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) || nr_up(&r, n, V1, 64, false) ||
        nr_rx_post(&r, 0, 4, 600, 2))
        abort();
    len = mkframe(frame, 12, mac, 1000, 46);
    send(peer, frame, len, 0);
    CHECK(rx_roundtrip(&r, peer, 0, 588, 47, &nb),
          "without mergeable buffers a frame larger than a chain is "
          "dropped; 588 bytes fill the next");
    vnet_stats_get(n, &st);
    CHECK(st.rx_drop_oversize == 1 && st.rx_frames == 1,
          "counted: 1 oversize, 1 delivered");
    nr_sock_down(&r, n, &peer, 1);
}

/* 140 chains of 16 tiny buffers (indirect), gap bytes apart. */
static void post_tiny_chains(struct net_rig *r, uint32_t gap)
{
    r->repost = false;
    r->rx_size[0] = 128;
    r->rx_nseg[0] = 16;
    r->rx_gap[0] = gap;
    for (unsigned i = 0; i < 140; i++) {
        uint64_t gpa = fg_alloc(&r->g, 16 * (8 + gap), 64);
        struct fg_seg s[16];
        for (unsigned k = 0; k < 16; k++)
            s[k] = (struct fg_seg){gpa + (8 + gap) * k, 8, true};
        int h = fg_post(&r->g, nr_rxq(0), s, 16, true);
        if (h < 0)
            abort();
        r->rxbuf[0][h] = gpa;
    }
    fg_kick(&r->g, nr_rxq(0));
}

/* Chains of 16 tiny buffers apart from each other: the pool stops at
 * the 1024 buffers one readv takes, frames that fit there arrive, a
 * larger one cannot ever fit and is dropped. */
static void test_rx_many_buffers(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    uint8_t mac[6];
    dev_mac(mac);
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | IND | NF(MRG_RXBUF), 256, false))
        abort();
    post_tiny_chains(&r, 8);
    unsigned nb = 0;
    CHECK(rx_roundtrip(&r, peer, 0, 5000, 50, &nb) && nb == 40,
          "5000 bytes over 40 chains of 16 8-byte buffers (%u)", nb);
    size_t len = mkframe(frame, 12, mac, 9000, 51);
    send(peer, frame, len, 0);
    CHECK(rx_roundtrip(&r, peer, 0, 200, 52, &nb),
          "9000 bytes need more than 1024 buffers: dropped, the next "
          "frame arrives");
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.rx_drop_oversize == 1 && st.rx_copied == 2,
          "counted: 1 oversize, 2 copied through the bounce buffer");
    nr_sock_down(&r, n, &peer, 1);

    /* The same buffers back to back: the pool merges adjacent buffers
     * into one readv piece, so the 9000 bytes (1127 buffers) fit. */
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | IND | NF(MRG_RXBUF), 256, false))
        abort();
    post_tiny_chains(&r, 0);
    CHECK(rx_roundtrip(&r, peer, 0, 9000, 53, &nb) && nb == 71,
          "adjacent buffers merged: 9000 bytes over 71 chains of 16 "
          "(%u)",
          nb);
    CHECK(rx_roundtrip(&r, peer, 0, 5000, 54, &nb) && nb == 40,
          "the next frame starts in the middle of a merged piece (%u)", nb);
    vnet_stats_get(n, &st);
    /* 69 chains left cannot hold a 9000-byte frame: the second frame
     * went through the bounce buffer. */
    CHECK(st.rx_drop_oversize == 0 && st.rx_copied == 1,
          "none dropped, one copied (%llu, %llu)",
          (unsigned long long)st.rx_drop_oversize,
          (unsigned long long)st.rx_copied);
    nr_sock_down(&r, n, &peer, 1);
}

/* A chain failed while the pool took it must leave the pool as it was,
 * even when its first buffer had been merged into the pool's last one:
 * the frame then goes to the next good chain, never into the failed
 * chain's memory. */
static void test_rx_merge_rollback(void)
{
    uint8_t mac[6];
    dev_mac(mac);
    static const char *const why[] = {"a readable buffer",
                                      "a buffer outside RAM"};
    for (unsigned t = 0; t < 2; t++) {
        struct net_rig r;
        struct vnet *n;
        int peer;
        if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
            nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false))
            abort();
        uint64_t x = fg_alloc(&r.g, 8192, 4096);
        uint8_t *bmem = fg_host(&r.g, x + 256);
        memset(bmem, 0xee, 256);
        struct fg_seg a = {x, 256, true};
        struct fg_seg b[2] = {{x + 256, 256, true},
                              t ? (struct fg_seg){FG_BASE + NR_RAM, 64, true}
                                : (struct fg_seg){x + 1024, 64, false}};
        struct fg_seg c = {x + 4096, 256, true};
        int ha = fg_post(&r.g, nr_rxq(0), &a, 1, false);
        int hb = fg_post(&r.g, nr_rxq(0), b, 2, false);
        int hc = fg_post(&r.g, nr_rxq(0), &c, 1, false);
        fg_kick(&r.g, nr_rxq(0));
        size_t len = mkframe(frame, 12, mac, 388, 60 + t);
        send(peer, frame, len, 0);
        uint32_t id[3] = {0}, ul[3] = {0};
        bool ok = true;
        for (int i = 0; i < 3; i++)
            ok &= nr_wait_used(&r, nr_rxq(0), &id[i], &ul[i]) == 0;
        struct virtio_net_hdr h;
        memcpy(&h, fg_host(&r.g, x), sizeof(h));
        uint8_t tail[144];
        memcpy(tail, fg_host(&r.g, x + 4096), sizeof(tail));
        bool untouched = true;
        for (int i = 0; i < 256; i++)
            untouched &= bmem[i] == 0xee;
        CHECK(ok && (int)id[0] == hb && ul[0] == 0 && (int)id[1] == ha &&
                  ul[1] == 256 && (int)id[2] == hc && ul[2] == 144,
              "chain after %s failed; the frame fills the chains before "
              "and after it (256 + 144)",
              why[t]);
        CHECK(h.num_buffers == 2 &&
                  !memcmp(fg_host(&r.g, x + 12), frame + 12, 244) &&
                  !memcmp(tail, frame + 256, 144),
              "frame intact across the two good chains (%s)", why[t]);
        CHECK(untouched, "the failed chain's buffer is untouched (%s)", why[t]);
        nr_sock_down(&r, n, &peer, 1);
    }
}

static void test_rx_bad_chain(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false))
        abort();
    uint64_t gpa = fg_alloc(&r.g, 4096, 16);
    struct fg_seg ro = {gpa, 2048, false};
    int bad = fg_post(&r.g, nr_rxq(0), &ro, 1, false);
    struct fg_seg far = {FG_BASE + NR_RAM, 2048, true};
    int bad2 = fg_post(&r.g, nr_rxq(0), &far, 1, false);
    if (nr_rx_post(&r, 0, 4, 2048, 1))
        abort();
    unsigned nb;
    uint8_t mac[6];
    dev_mac(mac);
    size_t flen = mkframe(frame, 12, mac, 400, 9);
    send(peer, frame, flen, 0);
    /* The failed chains come back first, empty. */
    uint32_t id[2] = {0}, len[2] = {1, 1};
    nr_wait_used(&r, nr_rxq(0), &id[0], &len[0]);
    nr_wait_used(&r, nr_rxq(0), &id[1], &len[1]);
    bool first = (int)id[0] == bad && len[0] == 0;
    bool second = (int)id[1] == bad2 && len[1] == 0;
    CHECK(first && second,
          "RX chains with a readable buffer or outside RAM fail empty");
    int k = nr_rx_frame(&r, 0, got, sizeof(got), &nb);
    CHECK(k == (int)flen && !memcmp(got + 12, frame + 12, flen - 12),
          "the frame lands in the next good chain");
    CHECK(vmmio_vdev(r.g.m)->vq[nr_rxq(0)].st.errors == 2 &&
              !(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET),
          "2 errors counted, device healthy");
    nr_sock_down(&r, n, &peer, 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_parse();
    test_mac();
    test_config();
    test_offload_off();
    test_tx();
    test_tx_bad();
    test_rx_basic();
    test_rx_mrg();
    test_rx_empty_refill();
    test_rx_small_buffers();
    test_rx_many_buffers();
    test_rx_merge_rollback();
    test_rx_bad_chain();
    return tap_done();
}
