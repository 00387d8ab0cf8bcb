/* SPDX-License-Identifier: MIT */
/*
 * Host-side tests of the guest's virtio-net driver and its answers
 * (vnet.c, inet.c, netcheck.c) against fake devices (fake_vnet.c)
 * reached through the guest's own discovery, the way tg_main runs them:
 * ARP, ICMP and UDP echo replies checked field by field with checksums
 * computed here independently, bad frames ignored, the receive ring
 * refilled under bursts, mergeable buffers, modern and legacy, two NICs,
 * the bench flood, and devices that break the ring's rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/host/fake_clock.h"
#include "guest/host/fake_serial.h"
#include "guest/host/fake_vnet.h"
#include "guest/lib.h"
#include "guest/netcheck.h"
#include "guest/tg.h"
#include "tests/unit/tap.h"

/* --- what the driver calls outside its own files ---------------------- */
static bool peer_answers = true; /* the test's peer answers ARP requests */
static unsigned peer_seen[FNET_DEVS], peer_arps;

static void peer_run(void);

void tg_idle(struct tg *tg)
{
    (void)tg;
    idles++;
    fake_vnet_run(); /* time passes: the devices work */
    peer_run();
}

static unsigned user_calls;

/* Ring 3 is the same code here. */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b)
{
    user_calls++;
    return fn(a, b);
}

/* --- frames, written and checked independently of inet.c -------------- */
static const uint8_t host_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define HOST_IP 0x0a000001u   /* 10.0.0.1 */
#define GUEST_IP 0x0a000002u  /* 10.0.0.2 */
#define GUEST1_IP 0x0a010002u /* 10.1.0.2, eth1 */

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v);
}

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) << 16 | rd16(p + 2);
}

/* RFC 1071 on big-endian words, plus an initial sum. */
static uint16_t csum(const uint8_t *p, uint32_t n, uint32_t init)
{
    uint64_t s = init;

    for (uint32_t i = 0; i + 1 < n; i += 2)
        s += rd16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint32_t pseudo(uint32_t src, uint32_t dst, uint32_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 17 +
           len;
}

static void mac_of_dev(unsigned i, uint8_t mac[6])
{
    memcpy(mac, fake_vnet[i].mac, 6);
}

static uint32_t eth(uint8_t *p, const uint8_t *dst, uint16_t type)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, host_mac, 6);
    be16(p + 12, type);
    return 14;
}

static uint32_t arp_req(uint8_t *p, uint32_t tip)
{
    uint8_t *a = p + eth(p, bcast, 0x0806);

    be16(a, 1);
    be16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    be16(a + 6, 1);
    memcpy(a + 8, host_mac, 6);
    be32(a + 14, HOST_IP);
    memset(a + 18, 0, 6);
    be32(a + 24, tip);
    return 42;
}

/* IPv4 header (20 bytes) for payload bytes of proto, to dst. */
static uint8_t *ip4(uint8_t *p, const uint8_t *dmac, uint32_t dst,
                    uint8_t proto, uint32_t payload)
{
    uint8_t *ip = p + eth(p, dmac, 0x0800);

    ip[0] = 0x45;
    ip[1] = 0;
    be16(ip + 2, 20 + payload);
    be16(ip + 4, 0x1234);
    be16(ip + 6, 0x4000);
    ip[8] = 61;
    ip[9] = proto;
    be16(ip + 10, 0);
    be32(ip + 12, HOST_IP);
    be32(ip + 16, dst);
    be16(ip + 10, csum(ip, 20, 0));
    return ip + 20;
}

static uint8_t fill_byte(uint32_t i, uint32_t seed)
{
    return (uint8_t)(i * 13 + seed);
}

static uint32_t icmp_echo(uint8_t *p, const uint8_t *dmac, uint32_t dst,
                          uint32_t n, uint32_t seed)
{
    uint8_t *ic = ip4(p, dmac, dst, 1, 8 + n);

    ic[0] = 8;
    ic[1] = 0;
    be16(ic + 2, 0);
    be16(ic + 4, 0x4242);
    be16(ic + 6, seed);
    for (uint32_t i = 0; i < n; i++)
        ic[8 + i] = fill_byte(i, seed);
    be16(ic + 2, csum(ic, 8 + n, 0));
    return 14 + 20 + 8 + n;
}

static uint32_t udp_dgram(uint8_t *p, const uint8_t *dmac, uint32_t dst,
                          uint16_t dport, uint32_t n, uint32_t seed,
                          bool with_csum)
{
    uint8_t *u = ip4(p, dmac, dst, 17, 8 + n);

    be16(u, 5555);
    be16(u + 2, dport);
    be16(u + 4, 8 + n);
    be16(u + 6, 0);
    for (uint32_t i = 0; i < n; i++)
        u[8 + i] = fill_byte(i, seed);
    if (with_csum)
        be16(u + 6, csum(u, 8 + n, pseudo(HOST_IP, dst, 8 + n)) ?: 0xffff);
    return 14 + 20 + 8 + n;
}

/* The IPv4 header of a reply: from src to us, checksum and TTL right. */
static bool ip_reply_ok(const struct fnet_frame *r, const uint8_t *smac,
                        uint32_t src, uint8_t proto)
{
    const uint8_t *ip = r->data + 14;

    return r->len >= 34 && !memcmp(r->data, host_mac, 6) &&
           !memcmp(r->data + 6, smac, 6) && rd16(r->data + 12) == 0x0800 &&
           ip[0] == 0x45 && ip[8] == 64 && ip[9] == proto &&
           rd32(ip + 12) == src && rd32(ip + 16) == HOST_IP &&
           csum(ip, 20, 0) == 0 && 14 + rd16(ip + 2) == r->len;
}

static bool icmp_reply_ok(const struct fnet_frame *r, const uint8_t *smac,
                          uint32_t src, uint32_t n, uint32_t seed)
{
    const uint8_t *ic = r->data + 34;

    if (!ip_reply_ok(r, smac, src, 1) || r->len != 42 + n || ic[0] != 0 ||
        ic[1] != 0 || rd16(ic + 6) != seed || csum(ic, 8 + n, 0) != 0 ||
        r->hdr.flags)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (ic[8 + i] != fill_byte(i, seed))
            return false;
    return true;
}

static bool udp_reply_ok(const struct fnet_frame *r, const uint8_t *smac,
                         uint32_t src, uint32_t n, uint32_t seed)
{
    const uint8_t *u = r->data + 34;

    if (!ip_reply_ok(r, smac, src, 17) || r->len != 42 + n || rd16(u) != 7 ||
        rd16(u + 2) != 5555 || rd16(u + 4) != 8 + n ||
        (rd16(u + 6) && csum(u, 8 + n, pseudo(src, HOST_IP, 8 + n)) != 0))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (u[8 + i] != fill_byte(i, seed))
            return false;
    return true;
}

/* The test's peer answers ARP requests for HOST_IP (bench resolution). */
static void peer_run(void)
{
    for (unsigned d = 0; d < fake_vmmio_count(); d++) {
        struct fake_vnet *f = &fake_vnet[d];

        for (; peer_seen[d] < f->tx_n; peer_seen[d]++) {
            const uint8_t *a = f->tx[peer_seen[d] % FNET_FRAMES].data;
            uint8_t rep[42];

            if (rd16(a + 12) != 0x0806 || rd16(a + 20) != 1 ||
                rd32(a + 38) != HOST_IP)
                continue;
            peer_arps++;
            if (!peer_answers)
                continue;
            memcpy(rep, a + 6, 6);
            memcpy(rep + 6, host_mac, 6);
            be16(rep + 12, 0x0806);
            memcpy(rep + 14, a + 14, 6);
            be16(rep + 20, 2);
            memcpy(rep + 22, host_mac, 6);
            be32(rep + 28, HOST_IP);
            memcpy(rep + 32, a + 22, 10);
            fake_vnet_inject(d, rep, 42, 0);
        }
    }
}

/* --- the guest, as tg_main runs it -------------------------------------- */
static struct tg tg;

static uint32_t boot(const char *words)
{
    const char *cl = fake_vmmio_cmdline(words);

    memset(&tg, 0, sizeof(tg));
    tg.bi.cmdline = cl;
    tg.bi.cmdline_len = (uint32_t)strlen(cl);
    tg.timer.tsc_khz = 1000000;
    fake_serial_clear();
    idles = 0;
    memset(peer_seen, 0, sizeof(peer_seen));
    peer_arps = 0;
    devices_discover(&tg.dev, &tg.bi);
    devices_report(&tg.dev);
    devices_checks(&tg);
    if (net_wanted(&tg))
        net_checks(&tg);
    return tg.fails;
}

/* The hold loop: n turns of the idle loop. */
static void serve(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        net_idle(&tg);
}

static bool has(const char *s)
{
    return strstr(fake_serial_out, s) != NULL;
}

static void show_fails(void)
{
    char *line = fake_serial_out;

    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1)
        if (memmem(line, (size_t)(nl - line), "FAIL", 4))
            DIAG("%.*s", (int)(nl - line), line);
}

/* One fake device, full-featured; the guest at 10.0.0.2. */
static struct fake_vnet *only_eth0(void)
{
    fake_vmmio_none();
    fake_vnet_init(0);
    peer_answers = true;
    return &fake_vnet[0];
}

static uint8_t frame[FNET_FRAME_MAX];

/* --- tests ---------------------------------------------------------------- */

static void test_untouched(void)
{
    only_eth0();
    CHECK(boot("expect_devices=1") == 0 && has("name=net") &&
              !has("tg: net ") && fake_vnet[0].t.status == 0,
          "no ip word: the NIC is listed and never started");
}

static void test_start(void)
{
    struct fake_vnet *f = only_eth0();

    CHECK(boot("ip=10.0.0.2/24") == 0, "ip= alone: the guest passes");
    show_fails();
    CHECK(has("tg: check net_start ok eth0\n"), "net_start ok");
    CHECK(has("tg: net eth0 mac=52:54:00:00:00:00 mtu=1500 ip=10.0.0.2/24 "
              "link=up dev=0 hdr=12 bufsz=1536 bufs=64 qsize=32/32 legacy=0 "
              "irq=0\n"),
          "the NIC's line: MAC, MTU and link from the config, our address");
    CHECK(has(" mac,status,mtu,csum,mrg_rxbuf,event_idx\n"),
          "features asked for and negotiated (not GUEST_CSUM)");
    CHECK(!(f->t.drv_features >> VNET_F_GUEST_CSUM & 1) && f->t.bad_width == 0,
          "GUEST_CSUM left alone; config read at its fields' widths");
    CHECK(((struct vq_avail *)f->t.q[0].avail)->idx == 32,
          "the receive ring filled (32 buffers)");
}

static void test_arp(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    const uint8_t *a;

    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    fake_vnet_inject(0, frame, arp_req(frame, GUEST_IP), 0);
    fake_vnet_inject(0, frame, arp_req(frame, GUEST_IP + 5), 0);
    arp_req(frame, GUEST_IP);
    frame[18] = 5; /* hlen 5: malformed */
    fake_vnet_inject(0, frame, 42, 0);
    serve(10);
    a = f->tx[0].data;
    CHECK(f->tx_n == 1, "one reply for three requests (%u)", f->tx_n);
    CHECK(f->tx[0].len == 42 && !memcmp(a, host_mac, 6) &&
              !memcmp(a + 6, gmac, 6) && rd16(a + 12) == 0x0806 &&
              rd16(a + 20) == 2 && !memcmp(a + 22, gmac, 6) &&
              rd32(a + 28) == GUEST_IP && !memcmp(a + 32, host_mac, 6) &&
              rd32(a + 38) == HOST_IP,
          "ARP reply: to the asker, our MAC for our address");
    net_finish(&tg);
    CHECK(has("tg: net eth0 stats rx=3 tx=1 drops=1 bad=1 ignored=1 arp=1 "),
          "stats: the other address ignored, the bad request counted");
}

static void test_icmp(void)
{
    static const uint32_t sizes[] = {0,   1,   2,    55,   56,
                                     255, 256, 1000, 1471, 1472};
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    bool ok = true;

    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    user_calls = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        fake_vnet_inject(0, frame,
                         icmp_echo(frame, gmac, GUEST_IP, sizes[i], i), 0);
    serve(10);
    CHECK(f->tx_n == ARRAY_SIZE(sizes), "an echo reply for each request (%u)",
          f->tx_n);
    for (unsigned i = 0; i < f->tx_n; i++)
        ok &= icmp_reply_ok(&f->tx[i], gmac, GUEST_IP, sizes[i], i);
    CHECK(ok, "replies: addresses turned round, TTL 64, both checksums "
              "right, payload as sent (0 to 1472 bytes)");
    CHECK(user_calls == 5, "long payloads summed in ring 3 (%u calls)",
          user_calls);
    CHECK(f->tx[ARRAY_SIZE(sizes) - 1].nbufs == 1,
          "1536-byte buffers: a 1514-byte frame goes back in one");
}

static void test_udp(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    bool ok = true;

    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    for (uint32_t n = 0; n < 40; n++)
        fake_vnet_inject(
            0, frame, udp_dgram(frame, gmac, GUEST_IP, 7, n * 37, n, true), 0);
    serve(20);
    for (uint32_t n = 0; n < 40 && ok; n++)
        ok &= udp_reply_ok(&f->tx[n], gmac, GUEST_IP, n * 37, n) &&
              f->tx[n].hdr.flags == VNET_HDR_F_NEEDS_CSUM &&
              f->tx[n].hdr.csum_start == 34 && f->tx[n].hdr.csum_offset == 6;
    CHECK(f->tx_n == 40 && ok,
          "UDP echo with CSUM: 40 sizes back intact, the device filled in "
          "checksums that verify");
    f->no_csum_fill = true;
    fake_vnet_clear_tx(0);
    fake_vnet_inject(0, frame, udp_dgram(frame, gmac, GUEST_IP, 7, 9, 1, true),
                     0);
    serve(5);
    CHECK(f->tx_n == 1 &&
              rd16(f->tx[0].data + 40) ==
                  (uint16_t)~csum(NULL, 0, pseudo(HOST_IP, GUEST_IP, 17)),
          "... the checksum field then holds the pseudo-header sum");

    boot("ip=10.0.0.2/24 net=nocsum");
    fake_vnet_clear_tx(0);
    CHECK(has(" mac,status,mtu,mrg_rxbuf,event_idx\n"), "nocsum: CSUM off");
    fake_vnet_inject(0, frame,
                     udp_dgram(frame, gmac, GUEST_IP, 7, 300, 3, true), 0);
    fake_vnet_inject(0, frame,
                     udp_dgram(frame, gmac, GUEST_IP, 7, 30, 4, false), 0);
    fake_vnet_inject(0, frame, udp_dgram(frame, gmac, GUEST_IP, 9, 30, 5, true),
                     0);
    fake_vnet_inject(0, frame,
                     udp_dgram(frame, gmac, GUEST_IP, 53, 30, 6, true), 0);
    serve(5);
    CHECK(f->tx_n == 2 && udp_reply_ok(&f->tx[0], gmac, GUEST_IP, 300, 3) &&
              !f->tx[0].hdr.flags &&
              udp_reply_ok(&f->tx[1], gmac, GUEST_IP, 30, 4) &&
              rd16(f->tx[1].data + 40) == 0,
          "nocsum: replies keep a valid checksum (swapping changes no sum), "
          "or none when none came");
    net_finish(&tg);
    CHECK(has(" udp=2 discard=1 "), "port 9 counted as discarded");
    CHECK(has(" ignored=1 "), "port 53 ignored");

    boot("ip=10.0.0.2/24 net=echo=7777");
    fake_vnet_clear_tx(0);
    fake_vnet_inject(0, frame, udp_dgram(frame, gmac, GUEST_IP, 7, 8, 1, true),
                     0);
    serve(5);
    CHECK(f->tx_n == 0, "echo=7777: port 7 no longer answered");
}

static void test_bad_frames(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6], other[6] = {0x52, 0x54, 0, 0, 0, 0x99};
    uint32_t len;

    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    /* malformed: 8 */
    fake_vnet_inject(0, frame, 10, 0); /* runt */
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    frame[14 + 10] ^= 1; /* IP header checksum */
    fake_vnet_inject(0, frame, len, 0);
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    frame[40] ^= 0x80; /* ICMP checksum (through the payload) */
    fake_vnet_inject(0, frame, len, 0);
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    fake_vnet_inject(0, frame, len - 1, 0); /* shorter than its IP length */
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    frame[14] = 0x44; /* IHL 4 */
    fake_vnet_inject(0, frame, len, 0);
    len = udp_dgram(frame, gmac, GUEST_IP, 7, 64, 1, true);
    frame[50] ^= 0xff; /* UDP payload: checksum mismatch */
    fake_vnet_inject(0, frame, len, 0);
    len = udp_dgram(frame, gmac, GUEST_IP, 7, 64, 1, true);
    be16(frame + 38, 50); /* UDP length short of the IP payload */
    fake_vnet_inject(0, frame, len, 0);
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    fake_vnet_inject(0, frame, len, VNET_HDR_F_NEEDS_CSUM); /* not ours */
    /* well-formed, not ours: 4 */
    fake_vnet_inject(0, frame, icmp_echo(frame, other, GUEST_IP, 8, 1), 0);
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP + 1, 8, 1), 0);
    len = icmp_echo(frame, gmac, GUEST_IP, 64, 1);
    be16(frame + 20, 0x2000); /* more fragments */
    be16(frame + 24, 0);
    be16(frame + 24, csum(frame + 14, 20, 0));
    fake_vnet_inject(0, frame, len, 0);
    len = icmp_echo(frame, gmac, GUEST_IP, 8, 1);
    be16(frame + 12, 0x86dd); /* IPv6 */
    fake_vnet_inject(0, frame, len, 0);
    /* and then a good one */
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 64, 7), 0);
    serve(10);
    CHECK(f->tx_n == 1 && icmp_reply_ok(&f->tx[0], gmac, GUEST_IP, 64, 7),
          "13 frames: only the good one answered, correctly");
    net_finish(&tg);
    CHECK(has("tg: net eth0 stats rx=13 tx=1 drops=8 bad=8 ignored=4 arp=0 "
              "icmp=1 udp=0 "),
          "8 malformed, 4 not ours, counted apart");
    CHECK(!has("FAIL") && tg.fails == 0, "no check failed: bad frames are "
                                         "the sender's fault, not the "
                                         "device's");
}

static void test_refill(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    unsigned good = 0, total = 0;

    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    for (unsigned round = 0; round < 5; round++) {
        fake_vnet_clear_tx(0);
        for (unsigned i = 0; i < 60; i++)
            fake_vnet_inject(0, frame,
                             icmp_echo(frame, gmac, GUEST_IP, 100 + i, i), 0);
        serve(40);
        total += f->tx_n;
        for (unsigned i = 0; i < f->tx_n && i < FNET_FRAMES; i++)
            good += icmp_reply_ok(&f->tx[i], gmac, GUEST_IP, 100 + i, i);
    }
    CHECK(total == 300 && good == 300,
          "300 requests in bursts of 60 over a 32-buffer ring: all answered "
          "(%u, %u right)",
          total, good);
    CHECK(f->rx_starved > 0, "the device ran out of buffers on the way (%u)",
          f->rx_starved);
    CHECK(f->rx_n == 0 && f->rx_delivered == 300,
          "... and was given more each time: nothing left waiting");
    CHECK(f->t.notifies[0] >= f->rx_starved,
          "receive notifies after refills (%u)", f->t.notifies[0]);
    CHECK(f->t.notifies[1] < 300,
          "transmit notifies batched by EVENT_IDX "
          "(%u for 300 replies)",
          f->t.notifies[1]);
    net_finish(&tg);
    CHECK(has("tg: net eth0 stats rx=300 tx=300 drops=0 "), "stats agree");
}

static void test_mergeable(void)
{
    /* 192-byte buffers: 180 frame bytes in the first (138 of payload) */
    static const uint32_t sizes[] = {100, 138, 139, 500, 1000, 1472};
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    bool ok = true;

    CHECK(boot("ip=10.0.0.2/24 net=rxbuf=128") == 0 &&
              has(" hdr=12 bufsz=192 bufs=64 "),
          "rxbuf=128: buffers of 192 bytes (a frame of the MTU spans 8)");
    mac_of_dev(0, gmac);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        fake_vnet_inject(0, frame,
                         icmp_echo(frame, gmac, GUEST_IP, sizes[i], i), 0);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        fake_vnet_inject(0, frame,
                         udp_dgram(frame, gmac, GUEST_IP, 7, sizes[i], i, true),
                         0);
    serve(30);
    CHECK(f->tx_n == 2 * ARRAY_SIZE(sizes), "every frame answered (%u)",
          f->tx_n);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        ok &= icmp_reply_ok(&f->tx[i], gmac, GUEST_IP, sizes[i], i);
        ok &= udp_reply_ok(&f->tx[i + ARRAY_SIZE(sizes)], gmac, GUEST_IP,
                           sizes[i], i);
    }
    CHECK(ok, "replies from merged buffers intact (ICMP and UDP)");
    CHECK(f->max_rx_bufs == 8 && f->tx[5].nbufs == 8,
          "a 1514-byte frame came in 8 buffers and went back in 8");
    net_finish(&tg);
    CHECK(has(" merged=8 maxbufs=8 "), "stats: 8 merged frames, at most 8");

    /* MTU 9000: without a small rxbuf the default buffers merge 6. */
    only_eth0()->mtu = 9000;
    CHECK(boot("ip=10.0.0.2/24 net=mtu=9000") == 0 && has(" mtu=9000 ") &&
              has(" bufsz=1536 "),
          "MTU 9000 from the config, checked by mtu=");
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 8972, 9), 0);
    fake_vnet_inject(0, frame,
                     udp_dgram(frame, gmac, GUEST_IP, 7, 8972, 9, true), 0);
    serve(10);
    CHECK(fake_vnet[0].tx_n == 2 &&
              icmp_reply_ok(&fake_vnet[0].tx[0], gmac, GUEST_IP, 8972, 9) &&
              udp_reply_ok(&fake_vnet[0].tx[1], gmac, GUEST_IP, 8972, 9) &&
              fake_vnet[0].max_rx_bufs == 6,
          "9014-byte frames in 6 buffers, echoed intact");
}

static void test_nomrg_legacy(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];

    mac_of_dev(0, gmac);
    CHECK(boot("ip=10.0.0.2/24 net=nomrg") == 0 && has(" hdr=12 bufsz=1536 ") &&
              has(" mac,status,mtu,csum,event_idx\n"),
          "nomrg: one buffer of the MTU per frame, header still 12 bytes");
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 1472, 3), 0);
    serve(5);
    CHECK(f->tx_n == 1 && icmp_reply_ok(&f->tx[0], gmac, GUEST_IP, 1472, 3),
          "nomrg: a 1514-byte frame echoed");

    f = only_eth0();
    f->t.version = 1;
    f->t.offered = (f->t.offered & 0xffffffffu) | 1ULL << VIRTIO_F_ANY_LAYOUT;
    f->t.offered &= ~(1ULL << VNET_F_MRG_RXBUF);
    f->mtu = 9000;
    CHECK(boot("ip=10.0.0.2/24") == 0 && has(" hdr=10 bufsz=9088 bufs=57 ") &&
              has(" legacy=1 ") &&
              has(" mac,status,mtu,csum,event_idx,any_layout\n"),
          "legacy without MRG_RXBUF: 10-byte header, 57 buffers of the MTU");
    fake_vnet_inject(0, frame, arp_req(frame, GUEST_IP), 0);
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 8972, 4), 0);
    fake_vnet_inject(0, frame,
                     udp_dgram(frame, gmac, GUEST_IP, 7, 3000, 4, true), 0);
    serve(5);
    CHECK(f->tx_n == 3 && icmp_reply_ok(&f->tx[1], gmac, GUEST_IP, 8972, 4) &&
              udp_reply_ok(&f->tx[2], gmac, GUEST_IP, 3000, 4),
          "legacy: ARP, a 9014-byte ping, UDP echo");
}

/* One misbehaviour: the device is reset, the reason shown, net_serve fails. */
static void misbehave(const char *what, const char *why, uint32_t payload)
{
    struct fake_vnet *f = &fake_vnet[0];
    uint8_t gmac[6];
    uint32_t resets = f->t.resets;
    char want[128];

    mac_of_dev(0, gmac);
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, payload, 1), 0);
    serve(1500);
    net_finish(&tg);
    snprintf(want, sizeof(want), "tg: check net_serve FAIL eth0 %s", why);
    CHECK(has(want) && f->t.resets > resets && tg.fails == 1,
          "%s: '%s', the device reset", what, why);
    if (!has(want))
        show_fails();
}

static void test_misbehaving(void)
{
    only_eth0()->rx_bad_head = true;
    boot("ip=10.0.0.2/24");
    misbehave("a receive head never posted", "rx-used-id-not-outstanding", 8);

    only_eth0()->rx_len_delta = 4096;
    boot("ip=10.0.0.2/24");
    misbehave("a used len beyond the buffer", "rx-used-len=4158 max=1536", 8);

    only_eth0()->num_buffers_zero = true;
    boot("ip=10.0.0.2/24");
    misbehave("num_buffers 0", "num_buffers=0", 8);

    only_eth0()->num_buffers = 40;
    boot("ip=10.0.0.2/24");
    misbehave("num_buffers beyond the ring", "num_buffers=40", 8);

    only_eth0()->num_buffers = 2;
    boot("ip=10.0.0.2/24");
    misbehave("num_buffers 2 for a frame in 1 (nothing follows)",
              "mrg-missing have=1 need=2", 8);

    only_eth0()->split_publish = true;
    boot("ip=10.0.0.2/24 net=rxbuf=128");
    misbehave("a merged frame published in part", "mrg-missing have=1 need=2",
              300);

    only_eth0()->mid_short = true;
    boot("ip=10.0.0.2/24 net=rxbuf=128");
    misbehave("a merged frame's first buffer not full",
              "mrg-buffer-not-full len=190", 300);

    only_eth0()->tx_used_len = 5;
    boot("ip=10.0.0.2/24");
    misbehave("a transmit chain returned with len 5", "tx-used-len=5", 8);
    CHECK(has("stats rx=1 tx=0 ") && has(" broken=tx-used-len=5\n"),
          "the stats line says so too");

    /* A device that never returns transmit chains: the pool runs dry,
     * replies are dropped, nothing breaks, every wait is bounded. */
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];

    f->tx_stall = true;
    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    for (unsigned i = 0; i < 60; i++)
        fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 8, i), 0);
    serve(100);
    net_finish(&tg);
    CHECK(tg.fails == 0 && has(" txfull=28 ") &&
              has("tg: net eth0 stats rx=60"),
          "transmit never returned: 32 replies in flight, 28 dropped "
          "(txfull), 60 received");
}

/* net=ctrl: the commands as the device received them, and its acks. */
static bool cmd_is(const struct fake_vnet *f, unsigned i, uint8_t class,
                   uint64_t val, uint32_t len)
{
    uint64_t v = 0;

    if (i >= f->ncmds || f->cmds[i].class != class || f->cmds[i].cmd != 0 ||
        f->cmds[i].len != len)
        return false;
    memcpy(&v, f->cmds[i].data, len);
    return v == val;
}

static void test_ctrl(void)
{
    struct fake_vnet *f = only_eth0();

    fake_vnet_offer_ctrl(0, 2);
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 0, "net=ctrl: the guest passes");
    show_fails();
    CHECK(has("tg: check net_ctrl ok eth0 pairs=2:ok pairs=1:ok offloads=0:ok "
              "offloads=2:err\n"),
          "net_ctrl: pairs 2 and 1 taken, offloads 0 taken, GUEST_CSUM "
          "(not negotiated) refused");
    CHECK(has(",ctrl_vq,ctrl_guest_offloads,mq\n"),
          "CTRL_VQ, CTRL_GUEST_OFFLOADS and MQ negotiated");
    CHECK(f->ncmds == 4 && cmd_is(f, 0, VNET_CTRL_MQ, 2, 2) &&
              cmd_is(f, 1, VNET_CTRL_MQ, 1, 2) &&
              cmd_is(f, 2, VNET_CTRL_GUEST_OFFLOADS, 0, 8) &&
              cmd_is(f, 3, VNET_CTRL_GUEST_OFFLOADS, 2, 8) && f->bad_chain == 0,
          "the device got the four commands, well formed");
    CHECK(f->t.q[4].ready && !f->t.q[2].ready && !f->t.q[3].ready,
          "the control queue is queue 4 (after 2 pairs); pair 1 not set up");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 1);
    CHECK(
        boot("ip=10.0.0.2/24 net=ctrl") == 0 &&
            has("tg: check net_ctrl ok eth0 offloads=0:ok offloads=2:err\n") &&
            f->ncmds == 2 && f->t.q[2].ready,
        "one pair: no VQ_PAIRS_SET; the control queue is queue 2");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 1);
    f->max_pairs = 0x8000;
    CHECK(
        boot("ip=10.0.0.2/24 net=ctrl") != 0 &&
            has("tg: check net_start FAIL eth0 max_virtqueue_pairs=32768\n") &&
            f->t.status == 0,
        "max_virtqueue_pairs 0x8000 (the control queue's index would not "
        "fit 16 bits): refused before any queue is set up");

    only_eth0();
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 1 &&
              has("tg: check net_ctrl FAIL eth0 ctrl_vq-not-offered\n"),
          "a device without CTRL_VQ: net_ctrl fails");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 2);
    f->ctrl_ack = VNET_CTRL_ERR;
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 1 &&
              has("tg: check net_ctrl FAIL eth0 pairs=2:err pairs=1:err "
                  "offloads=0:err offloads=2:err\n"),
          "a device refusing every command: net_ctrl fails");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 1);
    f->ctrl_ack = 7;
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 1 &&
              has("net_ctrl FAIL eth0 offloads=0:0x7 offloads=2:0x7\n"),
          "an ack that is neither OK nor ERR: shown, net_ctrl fails");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 1);
    f->ctrl_used_len = 0;
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 1 &&
              has("net_ctrl FAIL eth0 offloads=0:broken(ctrl-used-len=0) "
                  "offloads=2:broken(ctrl-used-len=0)\n") &&
              f->t.status == 0,
          "a command returned with used len 0: the device is broken, reset");

    f = only_eth0();
    fake_vnet_offer_ctrl(0, 1);
    f->ctrl_stall = true;
    CHECK(boot("ip=10.0.0.2/24 net=ctrl") == 1 &&
              has("net_ctrl FAIL eth0 offloads=0:broken(ctrl-timeout) "
                  "offloads=2:broken(ctrl-timeout)\n"),
          "a device that never answers: the wait ends (5 s), broken");
}

/* net=restart: the running NIC reset and started again; it answers. */
static void test_restart(void)
{
    struct fake_vnet *f = only_eth0();
    uint8_t gmac[6];
    const struct fnet_frame *r;

    fake_vnet_offer_ctrl(0, 2);
    CHECK(boot("ip=10.0.0.2/24 net=ctrl,restart") == 0,
          "net=ctrl,restart: the guest passes");
    show_fails();
    const char *at = strstr(fake_serial_out, "tg: check net_restart ok eth0\n");
    CHECK(at && strstr(at, "tg: check net_ctrl ok eth0 pairs=2:ok"),
          "net_restart ok, then the control commands again");
    CHECK(f->ncmds == 8 && f->t.resets >= 2,
          "the device was reset again and got the commands twice");
    mac_of_dev(0, gmac);
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 56, 1), 0);
    serve(8);
    r = f->tx_n ? &f->tx[0] : NULL;
    CHECK(r && r->len == 14 + 20 + 8 + 56 && r->data[14 + 20] == 0,
          "after the restart an echo request is answered");
}

static void test_two_nics(void)
{
    uint8_t m0[6], m1[6];

    fake_vmmio_none();
    fake_vnet_init(0);
    fake_vnet_init(1);
    CHECK(boot("ip=10.0.0.2/24 ip.eth1=10.1.0.2/16 net.eth1=nocsum") == 0,
          "two NICs: the guest passes");
    CHECK(has("tg: net eth0 mac=52:54:00:00:00:00 mtu=1500 ip=10.0.0.2/24 ") &&
              has("tg: net eth1 mac=52:54:00:00:00:01 mtu=1500 ip=10.1.0.2/16 "
                  "link=up dev=1 "),
          "eth0 and eth1 in device order, each with its address");
    mac_of_dev(0, m0);
    mac_of_dev(1, m1);
    fake_vnet_inject(0, frame, icmp_echo(frame, m0, GUEST_IP, 100, 1), 0);
    fake_vnet_inject(1, frame, icmp_echo(frame, m1, GUEST1_IP, 100, 2), 0);
    fake_vnet_inject(1, frame, icmp_echo(frame, m1, GUEST_IP, 100, 3), 0);
    fake_vnet_inject(1, frame, udp_dgram(frame, m1, GUEST1_IP, 7, 100, 4, true),
                     0);
    serve(10);
    CHECK(fake_vnet[0].tx_n == 1 && fake_vnet[1].tx_n == 2 &&
              icmp_reply_ok(&fake_vnet[0].tx[0], m0, GUEST_IP, 100, 1) &&
              icmp_reply_ok(&fake_vnet[1].tx[0], m1, GUEST1_IP, 100, 2) &&
              udp_reply_ok(&fake_vnet[1].tx[1], m1, GUEST1_IP, 100, 4) &&
              !fake_vnet[1].tx[1].hdr.flags,
          "each NIC answers for its own address only (eth1 without CSUM)");

    for (unsigned i = 0; i < 3; i++)
        fake_vnet_init(i);
    boot("ip.eth2=10.2.0.2/24");
    show_fails();
    CHECK(tg.fails == 0 && has("tg: net eth2 mac=") && !has("tg: net eth0") &&
              fake_vnet[0].t.status == 0,
          "ip.eth2 alone: only the third NIC is started");
}

static void test_args(void)
{
    only_eth0();
    CHECK(boot("ip=10.0.0.300/24") == 1 &&
              has("tg: check net_args FAIL eth0 unparsable \"10.0.0.300/24\""),
          "a bad address fails net_args");
    CHECK(boot("ip=10.0.0.2/24 net=rxbuf=64") == 1 &&
              has("tg: check net_args FAIL eth0 unparsable \"rxbuf=64\""),
          "an option out of range names itself");
    CHECK(boot("ip=10.0.0.2/24 net=nomrg,frob") == 1 &&
              has("tg: check net_args FAIL eth0 unparsable \"frob\"") &&
              fake_vnet[0].t.status == 0,
          "an unknown option: not started");
    CHECK(boot("ip=10.0.0.2/24 ip.eth1=10.1.0.2/24") == 1 &&
              has("tg: check net_nics FAIL eth1 missing n=1") &&
              has("tg: check net_start ok eth0"),
          "ip.eth1 with one NIC: missing, eth0 still started");
    CHECK(boot("ip=10.0.0.2/24 net.eth0=nocsum net.eth1=nomrg") == 1 &&
              has("tg: check net_nics FAIL eth1 missing n=1"),
          "net.eth1 for a NIC that is not there");
    fake_vnet_init(1);
    CHECK(boot("ip=10.0.0.2/24 net.eth1=nomrg") == 1 &&
              has("tg: check net_args FAIL eth1 no-address"),
          "net.eth1 without ip.eth1: no address");
    CHECK(boot("net=bench") == 1 &&
              has("tg: check net_args FAIL no-address (ip=ADDR/PREFIX)"),
          "net= without any address");
    fake_vmmio_none();
    CHECK(boot("ip=10.0.0.2/24") == 1 &&
              has("tg: check net_nics FAIL eth0 missing n=0"),
          "no NIC at all");
}

static void test_expect(void)
{
    only_eth0();
    CHECK(boot("ip=10.0.0.2/24 net=mac=52:54:00:00:00:00,mtu=1500") == 0 &&
              has("tg: check net_mac ok eth0 mac=52:54:00:00:00:00 "
                  "want=52:54:00:00:00:00") &&
              has("tg: check net_mtu ok eth0 mtu=1500 want=1500"),
          "mac= and mtu= as the config says: ok");
    CHECK(boot("ip=10.0.0.2/24 net=mac=52:54:00:00:00:01,mtu=9000") == 2,
          "... otherwise both fail");
    only_eth0()->t.offered &= ~(1ULL << VNET_F_MTU);
    CHECK(boot("ip=10.0.0.2/24 net=mtu=1500") == 0 && has(" mtu=1500 "),
          "without VIRTIO_NET_F_MTU the MTU is 1500");
    fake_vnet[0].status = 0;
    CHECK(boot("ip=10.0.0.2/24") == 0 && has(" link=down "),
          "STATUS: link down reported");
}

static void test_bench(void)
{
    struct fake_vnet *f = only_eth0();
    const struct fnet_frame *r;
    uint8_t gmac[6];

    mac_of_dev(0, gmac);
    /* Waiting on the wire: answered during the bench, not counted in it. */
    for (unsigned i = 0; i < 3; i++)
        fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 8, i), 0);
    CHECK(boot("ip=10.0.0.2/24 net=bench,peer=10.0.0.1,count=500,len=100,"
               "port=9999") == 0,
          "bench: the guest passes");
    show_fails();
    CHECK(has("tg: check net_bench ok eth0 frames=500 want=500 us="),
          "500 frames sent and returned");
    CHECK(has("tg: net eth0 bench frames=500 len=142 bytes=71000 us="),
          "the bench line: frames, frame length, bytes");
    CHECK(f->tx_n == 504 && peer_arps == 1,
          "one ARP request, 3 echo replies, the frames (%u)", f->tx_n);
    r = &f->tx[503 % FNET_FRAMES];
    CHECK(r->len == 142 && !memcmp(r->data, host_mac, 6) &&
              !memcmp(r->data + 6, gmac, 6) && rd16(r->data + 12) == 0x0800 &&
              csum(r->data + 14, 20, 0) == 0 &&
              rd32(r->data + 26) == GUEST_IP && rd32(r->data + 30) == HOST_IP &&
              rd16(r->data + 36) == 9999 &&
              csum(r->data + 34, 108, pseudo(GUEST_IP, HOST_IP, 108)) == 0,
          "the frames: to the peer's MAC from ARP, UDP to port 9999, "
          "checksums right");
    CHECK(f->t.notifies[1] < 500, "EVENT_IDX: %u notifies for 500 frames",
          f->t.notifies[1]);

    only_eth0();
    peer_answers = false;
    CHECK(boot("ip=10.0.0.2/24 net=bench,peer=10.0.0.1,count=5") == 1 &&
              has("tg: check net_bench FAIL eth0 no-arp-reply peer=10.0.0.1"),
          "no ARP reply: net_bench fails after its tries");
    CHECK(fake_vnet[0].tx_n == 3 && peer_arps == 3 && idles >= 3000 &&
              idles < 3100,
          "3 requests, 1 s apart (%u, %d)", fake_vnet[0].tx_n, idles);
    peer_answers = true;
    only_eth0()->tx_stall = true;
    CHECK(boot("ip=10.0.0.2/24 net=bench,peer=10.0.0.1,count=5,secs=2") == 1 &&
              has("tg: check net_bench FAIL eth0 arp-request-not-returned"),
          "transmit stalled: no ARP request returns, bench fails in bounds");
}

/* inet_sum over segments of odd lengths against a plain byte loop. */
static void test_sum(void)
{
    static const uint32_t lens[] = {3, 5, 1, 8, 7, 300, 2, 1};
    static uint8_t bytes[400];
    struct vnet_frame f = {.n = ARRAY_SIZE(lens)};
    uint32_t at = 0, bad = 0;

    srand(7);
    for (unsigned i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)rand();
    for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
        f.p[i] = bytes + at;
        f.len[i] = lens[i];
        at += lens[i];
    }
    f.total = at;
    for (uint32_t off = 0; off < 12; off++)
        for (uint32_t len = 0; off + len <= at; len += 1 + len / 3) {
            uint16_t got = inet_sum(&f, off, len);
            uint16_t want = (uint16_t)~csum(bytes + off, len, 0);

            bad += (uint16_t)(got << 8 | got >> 8) != want;
        }
    CHECK(bad == 0,
          "inet_sum across odd-length segments matches a plain "
          "sum at every offset and length (%u wrong)",
          bad);
}

static void test_shell(void)
{
    uint8_t gmac[6];

    only_eth0();
    boot("ip=10.0.0.2/24");
    mac_of_dev(0, gmac);
    fake_vnet_inject(0, frame, icmp_echo(frame, gmac, GUEST_IP, 8, 1), 0);
    serve(5);
    fake_serial_clear();
    net_cmd(&tg, "stats", 5);
    CHECK(has("tg: net eth0 stats rx=1 tx=1 drops=0 "), "net stats");
    fake_serial_clear();
    net_cmd(&tg, "info", 4);
    CHECK(has("tg: net eth0 mac=52:54:00:00:00:00 ") && has(" features=0x"),
          "net info");
    fake_serial_clear();
    net_cmd(&tg, "frob", 4);
    CHECK(has("tg: error usage: net stats | net info"), "usage");
    fake_vnet_init(1);
    boot("ip=10.0.0.2/24");
    fake_serial_clear();
    net_cmd(&tg, "stats", 5);
    CHECK(has("tg: net eth0 stats ") && has("tg: net eth1 not-started"),
          "a NIC without an address is not started");
}

int main(void)
{
    test_untouched();
    test_start();
    test_arp();
    test_icmp();
    test_udp();
    test_bad_frames();
    test_refill();
    test_mergeable();
    test_nomrg_legacy();
    test_misbehaving();
    test_ctrl();
    test_restart();
    test_two_nics();
    test_args();
    test_expect();
    test_bench();
    test_sum();
    test_shell();
    return tap_done();
}
