/* SPDX-License-Identifier: MIT */
/*
 * virtio-net without a VM (a benchmark, not a test): frames per second
 * with 64-byte frames and Gbit/s with 64 KiB TSO frames, each way,
 * through the device (the fake guest driver spinning on its rings, the
 * device's worker on the tap) and, as the ceiling, raw read/write on a
 * second tap of the same kind from one host thread. Runs in a private
 * network namespace (root); the kernel side drops what the taps carry
 * (frames for another MAC) or an AF_PACKET socket feeds them.
 *
 * usage: net_bench [-t SECONDS] MODE...   MODE: tx-pps tx-gbps rx-pps
 *        rx-gbps. Prints "MODE device X raw Y ratio X/Y cpu_us C D
 *        guest_us G" per mode: X and Y in frames/s (pps) or Gbit/s of
 *        Ethernet frames (gbps); C the device's CPU microseconds per
 *        frame (its worker threads), D the raw thread's, G the fake
 *        guest driver's (not part of C); then, for rx, the raw thread
 *        reading into 4 KiB pieces as the guest's buffers are, and its
 *        CPU per frame (0 for tx).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hw/tap.h"
#include "tests/unit/net_pkt.h"
#include "tests/unit/net_rig.h"
#include "tests/unit/netns.h"

#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define FEATURES                                                               \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |         \
     NF(MRG_RXBUF) | NF(CSUM) | NF(GUEST_CSUM) | NF(HOST_TSO4) |               \
     NF(GUEST_TSO4))
#define SMALL 64   /* Ethernet frame without FCS */
#define BIG 65000  /* Ethernet frame of a TSO segment */
#define RXBUF 4096 /* guest receive buffer (Linux uses 1.5-4 KiB) */
#define QSIZE 1024

static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x99};
static uint8_t gmac[6];
static double secs = 2.0;
static struct net_rig rig;
static struct tap raw; /* the ceiling's tap */

/* CPU seconds this process used (all threads), to give the cost per
 * frame besides the rate: the rate depends on what else the shared
 * machine runs, the cost much less. */
static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of the calling thread: the fake guest's share. */
static double cpu_self(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_used;  /* per frame, by the last measurement */
static double cpu_guest; /* per frame, the fake guest's part of it */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A frame of len bytes for dst: 64-byte frames carry an unknown
 * ethertype; big ones are TCP/IPv4 with the vnet header of a TSO frame.
 * hdr (12 bytes) is filled in front. */
static size_t mkframe(uint8_t *out, const uint8_t *dst, size_t len)
{
    struct virtio_net_hdr h = {0};
    uint8_t *f = out + 12;
    if (len <= SMALL) {
        np_eth(f, dst, other, 0x88b5);
        memset(f + 14, 0xa5, len - 14);
    } else {
        static const uint8_t s4[4] = {10, 9, 0, 2}, d4[4] = {10, 9, 0, 1};
        size_t o = np_eth(f, dst, other, NP_ETH_IP4);
        uint32_t l4 = (uint32_t)(len - o - NP_IP4_HLEN);
        o += np_ip4(f + o, s4, d4, 6, (uint16_t)l4, 1);
        memset(f + o, 0, NP_TCP_HLEN);
        np_put16(f + o, 40000);
        np_put16(f + o + 2, 80);
        f[o + 12] = 5 << 4;
        f[o + 13] = 0x10;
        np_put16(f + o + 16, np_fold(np_pseudo4(f + 14, 6, l4)));
        memset(f + o + NP_TCP_HLEN, 0x5a, len - o - NP_TCP_HLEN);
        h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                    .hdr_len = 54,
                                    .gso_size = 1448,
                                    .csum_start = 34,
                                    .csum_offset = 16};
    }
    memcpy(out, &h, 12);
    return 12 + len;
}

/* Sleep until `count` more used entries are there (as a driver asks
 * for an interrupt: used_event), so the guest's thread leaves the CPU
 * to the device's worker while it has nothing to do. */
static void wait_used(struct net_rig *r, unsigned qi, unsigned count)
{
    struct fg_queue *q = &r->g.q[qi];
    uint64_t c = fg_irq_count(&r->g.irq);
    __atomic_store_n(q->used_event, (uint16_t)(q->last_used + count - 1),
                     __ATOMIC_RELAXED);
    /* Full barrier: used_event before the re-check (pairs with the
     * device's in vq_want_irq). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t ui = __atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE);
    if ((uint16_t)(ui - q->last_used) < count)
        fg_irq_wait(&r->g.irq, c);
}

/* Guest TX: keep the ring full of the same frame, count completions. */
static double tx_device(size_t len)
{
    struct net_rig *r = &rig;
    static uint8_t f[12 + BIG];
    size_t n = mkframe(f, other, len);
    uint64_t gpa = fg_alloc(&r->g, n, 64);
    memcpy(fg_host(&r->g, gpa), f, n);
    struct fg_seg s = {gpa, (uint32_t)n, false};
    struct fg_queue *q = &r->g.q[nr_txq(0)];
    uint64_t done = 0;
    double t0 = now(), t = t0, c0 = cpu_now(), g0 = cpu_self();
    for (unsigned it = 0; t < t0 + secs; it++) {
        uint32_t id, l;
        unsigned got = 0;
        while (fg_get_used(&r->g, nr_txq(0), &id, &l) == 1)
            got++;
        done += got;
        while (q->nfree > 0)
            fg_post(&r->g, nr_txq(0), &s, 1, false);
        fg_kick_if_needed(&r->g, nr_txq(0));
        if (!got)
            wait_used(r, nr_txq(0), q->num * 3 / 4);
        if ((it & 63) == 0)
            t = now();
    }
    t = now() - t0;
    cpu_used = (cpu_now() - c0) / (double)done;
    cpu_guest = (cpu_self() - g0) / (double)done;
    /* Let the device finish what is posted before the next mode. */
    for (int i = 0; i < 2000 && q->nfree < q->num; i++) {
        uint32_t id, l;
        while (fg_get_used(&r->g, nr_txq(0), &id, &l) == 1)
            ;
        usleep(1000);
    }
    return done / t;
}

static double tx_raw(size_t len)
{
    static uint8_t f[12 + BIG];
    size_t n = mkframe(f, other, len);
    struct iovec iov = {f, n};
    uint64_t done = 0;
    double t0 = now(), t = t0, c0 = cpu_now();
    for (unsigned it = 0; t < t0 + secs; it++) {
        if (tap_writev(&raw, 0, &iov, 1) == (ssize_t)n)
            done++;
        if ((it & 63) == 0)
            t = now();
    }
    cpu_used = (cpu_now() - c0) / (double)done;
    return done / (now() - t0);
}

/*
 * Receive is measured as a drain: with the consumer idle, an AF_PACKET
 * socket fills the tap's queue with `fill` frames (the kernel transmits
 * them into the tap), then the consumer empties it against the clock.
 * A concurrent generator would set the pace instead: on a shared
 * 2-core machine it gets less CPU than the consumers, and both paths
 * would measure it.
 */
static int gen_sock(const char *ifname, bool big, struct sockaddr_ll *a)
{
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    int one = 1;
    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    if (big)
        setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one));
    *a = (struct sockaddr_ll){.sll_family = AF_PACKET,
                              .sll_ifindex = (int)if_nametoindex(ifname),
                              .sll_halen = 6};
    memcpy(a->sll_addr, gmac, 6);
    return s;
}

/* Put `fill` frames into the tap; returns how many the tap kept
 * (sent minus what its queue dropped). */
static uint64_t gen_fill(const char *ifname, size_t len, unsigned fill)
{
    bool big = len > SMALL;
    struct sockaddr_ll a;
    int s = gen_sock(ifname, big, &a);
    static uint8_t f[12 + BIG];
    size_t n = mkframe(f, gmac, len);
    /* A packet socket's vnet header is the 10-byte one. */
    if (big)
        memmove(f + 2, f, 10);
    struct iovec iov = {big ? f + 2 : f + 12, big ? n - 2 : n - 12};
    enum { BATCH = 32 };
    struct mmsghdr m[BATCH];
    for (int i = 0; i < BATCH; i++)
        m[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &a,
                                            .msg_namelen = sizeof(a),
                                            .msg_iov = &iov,
                                            .msg_iovlen = 1}};
    struct netns_ifstats st0, st1;
    netns_ifstats(ifname, &st0);
    uint64_t sent = 0;
    while (sent < fill) {
        unsigned b = fill - sent < BATCH ? fill - sent : BATCH;
        int k = sendmmsg(s, m, b, 0);
        if (k > 0)
            sent += (uint64_t)k;
    }
    close(s);
    netns_ifstats(ifname, &st1);
    return sent - (st1.tx_drop - st0.tx_drop);
}

/* Give every used RX buffer back; count frames by their first buffer
 * (num_buffers says how many follow). */
static unsigned rx_harvest(struct net_rig *r, unsigned *left)
{
    uint32_t id, l;
    unsigned frames = 0, got = 0;
    while (fg_get_used(&r->g, nr_rxq(0), &id, &l) == 1) {
        if (*left == 0) {
            uint16_t nb;
            memcpy(&nb, (uint8_t *)fg_host(&r->g, r->rxbuf[0][id]) + 10, 2);
            *left = nb;
            frames++;
        }
        (*left)--;
        struct fg_seg s = {r->rxbuf[0][id], RXBUF, true};
        fg_post(&r->g, nr_rxq(0), &s, 1, false);
        got++;
    }
    if (got)
        fg_kick_if_needed(&r->g, nr_rxq(0));
    return frames;
}

/* Drain trials until `secs` of draining: frames per second. While the
 * queue fills, the device takes what the posted buffers hold; the
 * clock starts when the guest gives them back. */
static double rx_device(size_t len, unsigned fill)
{
    struct net_rig *r = &rig;
    unsigned left = 0;
    double busy = 0, cpu = 0, gcpu = 0;
    uint64_t timed = 0;
    for (int trial = 0; trial < 200 && busy < secs; trial++) {
        uint64_t kept = gen_fill("kvb0", len, fill);
        usleep(20000); /* the device fills what it holds */
        uint64_t got = rx_harvest(r, &left);
        double t0 = now(), t = t0, c0 = cpu_now(), g0 = cpu_self();
        while (got < kept && t < t0 + 5) {
            unsigned k = rx_harvest(r, &left);
            got += k;
            timed += k;
            if (!k)
                wait_used(r, nr_rxq(0), 1);
            t = now();
        }
        busy += t - t0;
        cpu += cpu_now() - c0;
        gcpu += cpu_self() - g0;
    }
    cpu_used = cpu / (double)timed;
    cpu_guest = gcpu / (double)timed;
    return timed / busy;
}

/* scatter: read into 4 KiB pieces like the guest's buffers instead of
 * one contiguous buffer. */
static double rx_raw(size_t len, unsigned fill, bool scatter)
{
    /* As many bytes of buffers as the guest's ring holds, used in turn
     * like the guest's, so both paths write the same memory footprint
     * (one hot buffer would flatter the ceiling). */
    enum { SPAN = 12 + 70000, NBUF = QSIZE * RXBUF / SPAN + 1 };
    static uint8_t b[NBUF][SPAN];
    unsigned bi = 0;
    struct iovec iov = {b[0], SPAN};
    double busy = 0, cpu = 0;
    uint64_t timed = 0;
    for (int trial = 0; trial < 200 && busy < secs; trial++) {
        uint64_t kept = gen_fill("kvr0", len, fill), got = 0;
        double t0 = now(), t = t0, c0 = cpu_now();
        while (got < kept && t < t0 + 5) {
            struct iovec v[SPAN / RXBUF + 1];
            unsigned nv = 0;
            for (size_t o = 0; scatter && o < SPAN; o += RXBUF, nv++)
                v[nv] = (struct iovec){b[bi] + o,
                                       SPAN - o < RXBUF ? SPAN - o : RXBUF};
            iov.iov_base = b[bi];
            ssize_t k = scatter ? tap_readv(&raw, 0, v, (int)nv)
                                : tap_readv(&raw, 0, &iov, 1);
            if (k > 0) {
                got++;
                bi = (bi + 1) % NBUF;
            } else {
                struct pollfd p = {.fd = raw.fd[0], .events = POLLIN};
                poll(&p, 1, 10);
                t = now();
            }
        }
        busy += now() - t0;
        cpu += cpu_now() - c0;
        timed += got;
    }
    cpu_used = cpu / (double)timed;
    return timed / busy;
}

static int setup(void)
{
    char why[256], err[256];
    if (netns_enter(why, sizeof(why)) < 0) {
        fprintf(stderr, "net_bench: %s\n", why);
        return -1;
    }
    struct vnet_config c = {.queues = 1, .offload = true};
    struct vnet *n;
    snprintf(c.tap, sizeof(c.tap), "kvb0");
    if (vnet_create(&n, &c, "bench", 0, err, sizeof(err)) < 0 ||
        tap_open(&raw, "kvr0", 1, err, sizeof(err)) < 0) {
        fprintf(stderr, "net_bench: %s\n", err);
        return -1;
    }
    vnet_default_mac("bench", 0, gmac);
    /* Deep tap queues for the receive drains. */
    if (netns_sh("ip link set kvb0 txqueuelen 10000 && "
                 "ip link set kvr0 txqueuelen 10000") < 0)
        return -1;
    /* The raw tap gets what the device asks of its own tap. */
    tap_set_hdr_len(&raw, 12);
    tap_set_offloads(&raw, TAP_F_CSUM | TAP_F_TSO4);
    if (nr_up(&rig, n, FEATURES, QSIZE, false) ||
        nr_rx_post(&rig, 0, QSIZE, RXBUF, 1)) {
        fprintf(stderr, "net_bench: fake guest setup failed\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int o;
    while ((o = getopt(argc, argv, "t:")) != -1) {
        if (o != 't')
            return 2;
        secs = atof(optarg);
    }
    if (setup() < 0)
        return 1;
    for (int i = optind; i < argc; i++) {
        const char *m = argv[i];
        bool big = strstr(m, "gbps");
        size_t len = big ? BIG : SMALL;
        double dev, rawv, dev_cpu, guest_cpu, sg = 0, sg_cpu = 0;
        if (!strncmp(m, "tx-", 3)) {
            dev = tx_device(len);
            dev_cpu = cpu_used;
            guest_cpu = cpu_guest;
            rawv = tx_raw(len);
        } else if (!strncmp(m, "rx-", 3)) {
            /* What the tap's queue holds (txqueuelen, set below). */
            unsigned fill = big ? 900 : 9000;
            dev = rx_device(len, fill);
            dev_cpu = cpu_used;
            guest_cpu = cpu_guest;
            sg = rx_raw(len, fill, true);
            sg_cpu = cpu_used;
            rawv = rx_raw(len, fill, false);
        } else {
            fprintf(stderr, "net_bench: unknown mode %s\n", m);
            return 2;
        }
        if (getenv("NET_BENCH_STATS"))
            vmmio_stats_print(rig.g.m, stderr);
        double k = big ? len * 8 / 1e9 : 1; /* Gbit/s of frames */
        printf("%s device %.3f raw %.3f ratio %.2f cpu_us %.2f %.2f "
               "guest_us %.2f raw4k %.3f cpu_us %.2f\n",
               m, dev * k, rawv * k, dev / rawv, (dev_cpu - guest_cpu) * 1e6,
               cpu_used * 1e6, guest_cpu * 1e6, sg * k, sg_cpu * 1e6);
        fflush(stdout);
    }
    nr_down(&rig);
    tap_close(&raw);
    return 0;
}
