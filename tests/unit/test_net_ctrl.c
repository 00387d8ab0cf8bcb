/* SPDX-License-Identifier: MIT */
/*
 * virtio-net with socketpairs standing in for the tap: the control
 * queue (RX mode, MAC table and address, queue pairs, offloads),
 * traffic on every queue pair, reset with frames in flight, the legacy
 * transport, a hostile driver, --stats and --debug virtio output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hw/log.h"
#include "tests/unit/net_rig.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define CTRL_ALL                                                               \
    (NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_RX_EXTRA) | NF(CTRL_MAC_ADDR) |       \
     NF(CTRL_GUEST_OFFLOADS) | NF(MQ))

static uint8_t frame[70000], got[70000];
static const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast1[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
static const uint8_t mcast2[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
static const uint8_t uni2[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static size_t mkframe(uint8_t *f, uint32_t hdr_len, const uint8_t *dst,
                      size_t flen, unsigned seed)
{
    memset(f, 0, hdr_len);
    uint8_t *e = f + hdr_len;
    memcpy(e, dst, 6);
    memcpy(e + 6, src_mac, 6);
    e[12] = 0x88;
    e[13] = 0xb5;
    e[14] = (uint8_t)seed; /* which frame this is */
    for (size_t i = 15; i < flen; i++)
        e[i] = (uint8_t)(seed * 13 + i);
    return hdr_len + flen;
}

/* Send frames to each dst in turn, then one to `last`; return how many
 * of the first ones the guest received before `last` arrived (order is
 * kept on one queue, so what was filtered never shows up). */
static int delivered_before(struct net_rig *r, int peer, const uint8_t *dst,
                            const uint8_t *last)
{
    static unsigned seed = 1;
    unsigned mine = ++seed & 0x7f, end = mine | 0x80;
    size_t len = mkframe(frame, r->hdr_len, dst, 64, mine);
    send(peer, frame, len, 0);
    len = mkframe(frame, r->hdr_len, last, 64, end);
    send(peer, frame, len, 0);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        int k = nr_rx_frame(r, 0, got, sizeof(got), NULL);
        if (k < (int)r->hdr_len + 15)
            return -1;
        uint8_t s = got[r->hdr_len + 14];
        if (s == end)
            return seen;
        seen += s == mine;
    }
    return -1;
}

static bool rx_filter_ok(struct net_rig *r, int peer, const uint8_t *dst,
                         const uint8_t *own, bool want)
{
    return delivered_before(r, peer, dst, own) == (want ? 1 : 0);
}

static void test_rx_filter(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[2];
    uint8_t mac[6];
    vnet_default_mac("test", 0, mac);
    if (nr_sock_vnet(&n, peer, 2, TAP_F_CSUM | TAP_F_TSO4, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF) | CTRL_ALL, 64, false) ||
        nr_rx_post(&r, 0, 32, 2048, 1))
        abort();
    CHECK(rx_filter_ok(&r, peer[0], uni2, mac, true),
          "after reset the filter is promiscuous");
    uint8_t off = 0, on = 1;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off,
                  1) == VIRTIO_NET_OK,
          "PROMISC off: OK");
    CHECK(rx_filter_ok(&r, peer[0], uni2, mac, false),
          "another unicast MAC is filtered");
    CHECK(rx_filter_ok(&r, peer[0], bcast, mac, true), "broadcast passes");
    CHECK(rx_filter_ok(&r, peer[0], mcast1, mac, false),
          "multicast not in the table is filtered");
    uint8_t tbl[4 + 6 + 4 + 12];
    uint32_t one = 1, two = 2;
    memcpy(tbl, &one, 4);
    memcpy(tbl + 4, uni2, 6);
    memcpy(tbl + 10, &two, 4);
    memcpy(tbl + 14, mcast2, 6);
    memcpy(tbl + 20, mcast1, 6);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
                  sizeof(tbl)) == VIRTIO_NET_OK,
          "MAC_TABLE_SET 1 unicast + 2 multicast: OK");
    CHECK(rx_filter_ok(&r, peer[0], mcast1, mac, true) &&
              rx_filter_ok(&r, peer[0], uni2, mac, true),
          "table entries pass");
    uint8_t m3[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
    CHECK(rx_filter_ok(&r, peer[0], m3, mac, false),
          "multicast outside the table is filtered");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1);
    CHECK(rx_filter_ok(&r, peer[0], m3, mac, true), "ALLMULTI: it passes");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, &on, 1);
    CHECK(rx_filter_ok(&r, peer[0], mcast1, mac, false),
          "NOMULTI beats ALLMULTI and the table");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, &off, 1);
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1);
    CHECK(rx_filter_ok(&r, peer[0], bcast, mac, false),
          "NOBCAST filters broadcast");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &off, 1);
    uint8_t u3[6] = {0x02, 9, 9, 9, 9, 9};
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, &on, 1);
    CHECK(rx_filter_ok(&r, peer[0], u3, mac, true), "ALLUNI: any unicast");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, &off, 1);
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, &on, 1);
    CHECK(rx_filter_ok(&r, peer[0], mac, bcast, false),
          "NOUNI filters even the NIC's own MAC");
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, &off, 1);

    /* A multicast table longer than ours: every multicast passes. */
    static uint8_t big[4 + 4 + 6 * 70];
    uint32_t zero = 0, seventy = 70;
    memcpy(big, &zero, 4);
    memcpy(big + 4, &seventy, 4);
    for (unsigned i = 0; i < 70; i++) {
        uint8_t m[6] = {0x01, 0x00, 0x5e, 0x10, 0, (uint8_t)i};
        memcpy(big + 8 + 6 * i, m, 6);
    }
    nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, big,
                  sizeof(big)) == VIRTIO_NET_OK &&
              rx_filter_ok(&r, peer[0], m3, mac, true) &&
              rx_filter_ok(&r, peer[0], uni2, mac, false),
          "70 multicast entries overflow into all-multicast; unicast "
          "table now empty");
    uint32_t five = 5;
    memcpy(tbl, &five, 4);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
                  sizeof(tbl)) == VIRTIO_NET_ERR,
          "a table whose count overruns its data: ERR");

    /* The NIC's own address. */
    uint8_t newmac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac,
                  6) == VIRTIO_NET_OK,
          "MAC_ADDR_SET: OK");
    uint8_t cm[6];
    for (unsigned i = 0; i < 6; i++)
        vmmio_access(r.g.m, VMMIO_CONFIG + i, &cm[i], 1, false);
    CHECK(!memcmp(cm, newmac, 6), "config space shows the new MAC");
    CHECK(rx_filter_ok(&r, peer[0], newmac, bcast, true) &&
              rx_filter_ok(&r, peer[0], mac, bcast, false),
          "new MAC passes, the old one is filtered");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mcast1,
                  6) == VIRTIO_NET_ERR,
          "a multicast address for the NIC: ERR");
    nr_start(&r, V1 | NF(MRG_RXBUF) | CTRL_ALL, 64);
    nr_rx_post(&r, 0, 32, 2048, 1);
    for (unsigned i = 0; i < 6; i++)
        vmmio_access(r.g.m, VMMIO_CONFIG + i, &cm[i], 1, false);
    CHECK(!memcmp(cm, mac, 6) && rx_filter_ok(&r, peer[0], uni2, mac, true),
          "reset restores the MAC and the promiscuous filter");
    nr_sock_down(&r, n, peer, 2);
}

static void test_ctrl_cmds(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[2];
    if (nr_sock_vnet(&n, peer, 2, TAP_F_CSUM | TAP_F_TSO4 | TAP_F_TSO6, 1500) ||
        nr_up(&r, n,
              V1 | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(CTRL_RX) | NF(MQ) |
                  NF(CTRL_GUEST_OFFLOADS) | NF(GUEST_CSUM) | NF(GUEST_TSO4),
              64, false))
        abort();
    const struct tap *t = vnet_tap(n);
    uint8_t on = 1;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, &on, 1) ==
              VIRTIO_NET_ERR,
          "ALLUNI without CTRL_RX_EXTRA: ERR");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_RX, 9, &on, 1) == VIRTIO_NET_ERR,
          "unknown RX command: ERR");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_RX, 0, NULL, 0) == VIRTIO_NET_ERR,
          "PROMISC without its byte: ERR");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
                  "\x52\x54\x00\x01\x02\x03", 6) == VIRTIO_NET_ERR,
          "MAC_ADDR_SET without CTRL_MAC_ADDR: ERR");
    CHECK(nr_ctrl(&r, 42, 0, &on, 1) == VIRTIO_NET_ERR, "unknown class: ERR");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_VLAN, 0, "\x01\x00", 2) == VIRTIO_NET_ERR,
          "VLAN (not offered): ERR");
    uint64_t offl = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
                  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &offl,
                  8) == VIRTIO_NET_OK &&
              t->offloads == TAP_F_CSUM,
          "GUEST_OFFLOADS_SET CSUM only: tap offloads CSUM (%#x)", t->offloads);
    offl = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
           VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
                  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &offl,
                  8) == VIRTIO_NET_OK &&
              t->offloads == (TAP_F_CSUM | TAP_F_TSO4),
          "GUEST_OFFLOADS_SET CSUM|TSO4: back on");
    offl |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
                  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &offl,
                  8) == VIRTIO_NET_ERR &&
              t->offloads == (TAP_F_CSUM | TAP_F_TSO4),
          "an offload the guest did not negotiate: ERR, unchanged");
    uint16_t p16 = 0;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p16,
                  2) == VIRTIO_NET_ERR,
          "MQ 0 pairs: ERR");
    p16 = 3;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p16,
                  2) == VIRTIO_NET_ERR,
          "MQ 3 pairs of 2: ERR");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p16,
                  1) == VIRTIO_NET_ERR,
          "MQ with a 1-byte argument: ERR");

    /* Malformed command chains fail alone. */
    struct vq *cq = &vmmio_vdev(r.g.m)->vq[r.ctrl_qi];
    uint64_t a = fg_alloc(&r.g, 64, 16);
    uint8_t *p = fg_host(&r.g, a);
    p[0] = VIRTIO_NET_CTRL_RX;
    p[1] = 0;
    struct fg_seg s1[2] = {{a, 3, false}, {a + 8, 0, true}};
    fg_post(&r.g, r.ctrl_qi, s1, 2, false);
    struct fg_seg s2[2] = {{a, 1, false}, {a + 8, 1, true}};
    fg_post(&r.g, r.ctrl_qi, s2, 2, false);
    fg_kick(&r.g, r.ctrl_qi);
    uint32_t id, len[2] = {9, 9};
    nr_wait_used(&r, r.ctrl_qi, &id, &len[0]);
    nr_wait_used(&r, r.ctrl_qi, &id, &len[1]);
    CHECK(len[0] == 0 && len[1] == 0 && cq->st.errors == 2,
          "commands without a status byte or a class/command fail");
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_RX, 0, &on, 1) == VIRTIO_NET_OK,
          "the control queue works after them");
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    CHECK(st.ctrl_err == 12 && st.ctrl_ok == 3,
          "control counters: 3 OK, 12 errors (%llu, %llu)",
          (unsigned long long)st.ctrl_ok, (unsigned long long)st.ctrl_err);
    nr_sock_down(&r, n, peer, 2);
}

/* Without MQ the control queue is queue 2, even on a NIC with more
 * pairs (§5.1.2). */
static void test_ctrl_without_mq(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[2];
    if (nr_sock_vnet(&n, peer, 2, 0, 1500) ||
        nr_up(&r, n, V1 | NF(CTRL_VQ) | NF(CTRL_RX), 64, false))
        abort();
    uint8_t off = 0;
    CHECK(r.ctrl_qi == 2 && r.pairs == 1 &&
              nr_ctrl(&r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off,
                      1) == VIRTIO_NET_OK,
          "2 pairs offered, MQ not taken: the control queue is queue 2");
    uint16_t two = 2;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two,
                  2) == VIRTIO_NET_ERR,
          "and MQ commands are refused");
    nr_sock_down(&r, n, peer, 2);
}

static uint64_t rx_rounds(struct vnet *n)
{
    struct vnet_stats st;
    vnet_stats_get(n, &st);
    return st.rx_rounds;
}

static void test_mq(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[3];
    if (nr_sock_vnet(&n, peer, 3, 0, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(MQ), 64, false))
        abort();
    const struct tap *t = vnet_tap(n);
    CHECK(r.pairs == 3 && r.ctrl_qi == 6, "3 pairs, control queue 6");
    CHECK(t->enabled[0] && !t->enabled[1] && !t->enabled[2],
          "at DRIVER_OK one pair: tap queues 1 and 2 detached");
    for (unsigned p = 0; p < 3; p++)
        nr_rx_post(&r, p, 16, 2048, 1);
    uint8_t mac[6];
    vnet_default_mac("test", 0, mac);
    size_t len = mkframe(frame, 12, mac, 300, 21);
    send(peer[2], frame, len, 0);
    uint64_t before = rx_rounds(n);
    fg_kick(&r.g, nr_rxq(2));
    for (int i = 0; i < 10000 && rx_rounds(n) == before; i++)
        usleep(1000);
    CHECK(rx_rounds(n) > before && !nr_rx_peek(&r, 2),
          "pair 2 not enabled: its frame waits in its tap queue");
    uint16_t p16 = 3;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p16,
                  2) == VIRTIO_NET_OK &&
              t->enabled[1] && t->enabled[2],
          "MQ 3 pairs: OK, tap queues attached");
    int k = nr_rx_frame(&r, 2, got, sizeof(got), NULL);
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, len - 12),
          "enabling the pair wakes its worker: the frame arrives on rx2");
    bool all = true;
    for (unsigned p = 0; p < 3; p++) {
        len = mkframe(frame, 12, mac, 100 + p, 30 + p);
        all &= nr_tx(&r, p, frame, len, 2) == 0;
        ssize_t g = nr_peer_recv(peer[p], got, sizeof(got));
        all &= g == (ssize_t)len && !memcmp(got, frame, len);
        send(peer[p], frame, len, 0);
        k = nr_rx_frame(&r, p, got, sizeof(got), NULL);
        all &= k == (int)len && !memcmp(got + 12, frame + 12, len - 12);
    }
    CHECK(all, "each pair carries its own traffic both ways");
    p16 = 1;
    CHECK(nr_ctrl(&r, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p16,
                  2) == VIRTIO_NET_OK &&
              t->enabled[0] && !t->enabled[1] && !t->enabled[2],
          "back to 1 pair: queues 1 and 2 detached");
    nr_sock_down(&r, n, peer, 3);
}

static void test_reset_inflight(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 9000) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 256, false))
        abort();
    /* TX: the tap stand-in takes about three frames, then the device
     * waits for room (bounded retries) with the rest in flight, and
     * the reset comes. */
    int small = 4096, fd = vnet_tap(n)->fd[0];
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    for (unsigned i = 0; i < 60; i++) {
        size_t len = mkframe(frame, 12, bcast, 1000, i);
        nr_tx_post(&r, 0, frame, len, 2);
    }
    fg_kick(&r.g, nr_txq(0));
    struct vq *vq = &vmmio_vdev(r.g.m)->vq[nr_txq(0)];
    for (int i = 0; i < 10000 && atomic_load_explicit(&vq->st.chains,
                                                      memory_order_relaxed) < 2;
         i++)
        usleep(1000);
    struct vring_used *u = r.g.q[nr_txq(0)].u;
    fg_reset(&r.g);
    uint16_t idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
    usleep(50 * 1000);
    CHECK(idx >= 2 && idx < 60 &&
              __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == idx,
          "reset mid-batch: the device writes no used entry after it "
          "returns (%u of 60 done)",
          idx);
    unsigned seen = 0;
    bool in_order = true;
    ssize_t g;
    while ((g = recv(peer, got, sizeof(got), MSG_DONTWAIT)) > 0) {
        in_order &= g == 1012 && got[12 + 14] == seen;
        seen++;
    }
    CHECK(in_order && seen >= 2 && seen <= idx,
          "frames sent before the reset are whole and in order (%u)", seen);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));

    /* RX: a frame waiting for buffers when the reset comes. */
    if (nr_start(&r, V1 | NF(MRG_RXBUF), 256) || nr_rx_post(&r, 0, 2, 256, 1))
        abort();
    uint8_t mac[6];
    vnet_default_mac("test", 0, mac);
    size_t len = mkframe(frame, 12, mac, 4000, 1);
    send(peer, frame, len, 0);
    for (int i = 0; i < 10000; i++) {
        struct vnet_stats st;
        vnet_stats_get(n, &st);
        if (st.rx_stalls)
            break;
        usleep(1000);
    }
    if (nr_start(&r, V1 | NF(MRG_RXBUF), 256) || nr_rx_post(&r, 0, 64, 2048, 1))
        abort();
    len = mkframe(frame, 12, mac, 1400, 2);
    send(peer, frame, len, 0);
    int k = nr_rx_frame(&r, 0, got, sizeof(got), NULL);
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, len - 12),
          "after a reset with a frame held, new frames flow");
    len = mkframe(frame, 12, bcast, 500, 3);
    CHECK(nr_tx(&r, 0, frame, len, 1) == 0 &&
              nr_peer_recv(peer, got, sizeof(got)) == (ssize_t)len,
          "and TX too");
    nr_sock_down(&r, n, &peer, 1);
}

static void test_legacy(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, NF(MAC) | NF(CSUM) | NF(STATUS), 64, true) ||
        nr_rx_post(&r, 0, 16, 1528, 1))
        abort();
    CHECK(r.hdr_len == 10 && vnet_tap(n)->hdr_len == 10,
          "legacy, no mergeable: 10-byte header");
    size_t len = mkframe(frame, 10, bcast, 300, 5);
    ssize_t g = -1;
    CHECK(nr_tx(&r, 0, frame, len, 2) == 0 &&
              (g = nr_peer_recv(peer, got, sizeof(got))) == (ssize_t)len &&
              !memcmp(got, frame, len),
          "legacy TX: 10-byte header + frame (%zd)", g);
    uint8_t newmac[6] = {0x52, 0x54, 0, 1, 2, 3};
    for (unsigned i = 0; i < 6; i++)
        vmmio_access(r.g.m, VMMIO_CONFIG + i, &newmac[i], 1, true);
    len = mkframe(frame, 10, newmac, 1518, 6);
    send(peer, frame, len, 0);
    int k = nr_rx_frame(&r, 0, got, sizeof(got), NULL);
    uint8_t cm[6];
    for (unsigned i = 0; i < 6; i++)
        vmmio_access(r.g.m, VMMIO_CONFIG + i, &cm[i], 1, false);
    CHECK(k == (int)len && !memcmp(got + 10, frame + 10, len - 10) &&
              !memcmp(cm, newmac, 6),
          "legacy RX in a 1528-byte chain; the MAC written to config "
          "reads back");
    nr_sock_down(&r, n, &peer, 1);
}

static void test_hostile(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer[2];
    /* Two pairs offered, MQ not taken: queue 2 set up as if it were
     * rx1, without a control queue. */
    if (nr_sock_vnet(&n, peer, 2, 0, 1500) || nr_init(&r, n, false) ||
        fg_negotiate(&r.g, V1 | NF(MRG_RXBUF)) || fg_queue_setup(&r.g, 0, 64) ||
        fg_queue_setup(&r.g, 1, 64) || fg_queue_setup(&r.g, 2, 64) ||
        fg_driver_ok(&r.g))
        abort();
    r.feat = r.g.features;
    r.mrg = true;
    r.hdr_len = 12;
    r.pairs = 1;
    r.tx_area[0] = fg_alloc(&r.g, NR_TX_AREA, 64);
    nr_rx_post(&r, 1, 8, 2048, 1); /* "pair 1" RX is queue 2 */
    fg_kick(&r.g, 2);
    nr_rx_post(&r, 0, 8, 2048, 1);
    uint8_t mac[6];
    vnet_default_mac("test", 0, mac);
    size_t len = mkframe(frame, 12, mac, 200, 1);
    send(peer[0], frame, len, 0);
    int k = nr_rx_frame(&r, 0, got, sizeof(got), NULL);
    CHECK(k == (int)len && !nr_rx_peek(&r, 1),
          "a queue beyond the negotiated pairs is ignored");
    /* The avail index jumps: that queue is broken, the device asks for
     * a reset, nothing crashes. */
    struct fg_queue *q = &r.g.q[0];
    __atomic_store_n(&q->a->idx, (uint16_t)(q->avail_idx + 1000),
                     __ATOMIC_RELEASE);
    fg_kick(&r.g, 0);
    send(peer[0], frame, len, 0);
    for (int i = 0; i < 10000; i++) {
        if (fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET)
            break;
        usleep(1000);
    }
    CHECK(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET,
          "RX avail index beyond the ring: NEEDS_RESET");
    len = mkframe(frame, 12, bcast, 100, 2);
    CHECK(nr_tx(&r, 0, frame, len, 1) == 0 &&
              nr_peer_recv(peer[0], got, sizeof(got)) == (ssize_t)len,
          "TX still served");
    if (nr_start(&r, V1 | NF(MRG_RXBUF), 64) || nr_rx_post(&r, 0, 8, 2048, 1))
        abort();
    len = mkframe(frame, 12, mac, 300, 3);
    send(peer[0], frame, len, 0);
    /* The frame sent while broken may come first: skip it. */
    for (int i = 0; i < 2; i++) {
        k = nr_rx_frame(&r, 0, got, sizeof(got), NULL);
        if (k == (int)len && got[12 + 14] == 3)
            break;
    }
    CHECK(k == (int)len && !memcmp(got + 12, frame + 12, len - 12),
          "after a reset RX works again");
    nr_sock_down(&r, n, peer, 2);
}

static void test_stats_and_trace(void)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF), 64, false))
        abort();
    struct stderr_capture cap;
    stderr_capture_begin(&cap);
    log_cats = LOG_CAT_VIRTIO;
    size_t len = mkframe(frame, 12, bcast, 120, 4);
    int e = nr_tx(&r, 0, frame, len, 1);
    log_cats = 0;
    char *buf = stderr_capture_end(&cap, NULL);
    nr_peer_recv(peer, got, sizeof(got));
    CHECK(e == 0 && strstr(buf, "net0: tx0 120 bytes ff:ff:ff:ff:ff:ff < "
                                "02:00:00:00:00:99 type 0x88b5"),
          "--debug virtio traces the frame");
    free(buf);
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    vmmio_stats_print(r.g.m, f);
    fclose(f);
    CHECK(strstr(out, "virtio net0 tx: frames 1 bytes 120 drops: malformed "
                      "0 oversize 0 header 0 tap 0") &&
              strstr(out, "virtio net0 rx: frames 0") &&
              strstr(out, "virtio net0 q1: kicks"),
          "--stats: per-queue lines, then the NIC's counters");
    free(out);
    nr_sock_down(&r, n, &peer, 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_rx_filter();
    test_ctrl_cmds();
    test_ctrl_without_mq();
    test_mq();
    test_reset_inflight();
    test_legacy();
    test_hostile();
    test_stats_and_trace();
    return tap_done();
}
