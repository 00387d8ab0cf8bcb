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
 *
 * The paths take turns in short windows (TX: 0.1 s slices; RX: one
 * drain of the tap's queue each), so they see the same load on a shared
 * machine. Environment: NET_BENCH_RAW_THREAD=1 reads the raw tap on a
 * thread of its own while the main thread (the generator) sleeps, as
 * the device's worker does; NET_BENCH_SCHED=1 prints, per path, wall
 * time, on-CPU time, run-queue wait and timeslices per frame from
 * /proc/self/task/N/schedstat (main thread, other threads);
 * NET_BENCH_STATS=1 prints the device's counters.
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
#include <dirent.h>
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

/* Summed schedstat (on-CPU and run-queue wait in microseconds,
 * timeslices) of this process's main thread (the fake guest, the
 * generator, the raw reader unless threaded) or of the others (the
 * device's workers, the threaded raw reader). */
struct sst {
    double run, wait, slices;
};
static void sched_read(bool others, struct sst *s)
{
    *s = (struct sst){0};
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        bool main_t = atoi(e->d_name) == getpid();
        if (main_t == others)
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long a, b, c;
        if (f && fscanf(f, "%llu %llu %llu", &a, &b, &c) == 3) {
            s->run += a / 1e3;
            s->wait += b / 1e3;
            s->slices += c;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
}

/* What one path used over its timed windows (interleaved with the
 * other paths'): seconds, process CPU, the fake guest's CPU, frames,
 * and the schedstat of the main thread [0] and the others [1]. */
struct acc {
    double busy, cpu, gcpu;
    uint64_t frames;
    struct sst st[2];
};

/* Start and end of one timed window of a path. */
struct win {
    double t0, c0, g0;
    struct sst st[2];
};

static void win_start(struct win *w);
static void win_end(struct acc *a, const struct win *w, uint64_t frames);

static void sst_print(const char *what, const struct acc *a)
{
    if (!getenv("NET_BENCH_SCHED") || !a->frames)
        return;
    double f = (double)a->frames;
    fprintf(stderr,
            "%s: wall %.2f us/frame; main run %.2f wait %.2f sw %.3f; "
            "others run %.2f wait %.2f sw %.3f\n",
            what, a->busy * 1e6 / f, a->st[0].run / f, a->st[0].wait / f,
            a->st[0].slices / f, a->st[1].run / f, a->st[1].wait / f,
            a->st[1].slices / f);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void win_start(struct win *w)
{
    sched_read(false, &w->st[0]);
    sched_read(true, &w->st[1]);
    w->t0 = now();
    w->c0 = cpu_now();
    w->g0 = cpu_self();
}

static void win_end(struct acc *a, const struct win *w, uint64_t frames)
{
    a->busy += now() - w->t0;
    a->cpu += cpu_now() - w->c0;
    a->gcpu += cpu_self() - w->g0;
    a->frames += frames;
    for (int i = 0; i < 2; i++) {
        struct sst e;
        sched_read(i == 1, &e);
        a->st[i].run += e.run - w->st[i].run;
        a->st[i].wait += e.wait - w->st[i].wait;
        a->st[i].slices += e.slices - w->st[i].slices;
    }
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
/* Guest TX for `dur` seconds: keep the ring full of one frame, count
 * completions; then let the device finish what is posted, untimed, so
 * the next path runs alone. */
static void tx_device(size_t len, double dur, struct acc *a)
{
    struct net_rig *r = &rig;
    static uint8_t f[12 + BIG];
    static uint64_t gpa;
    size_t n = mkframe(f, other, len);
    if (!gpa)
        gpa = fg_alloc(&r->g, 12 + BIG, 64);
    memcpy(fg_host(&r->g, gpa), f, n);
    struct fg_seg s = {gpa, (uint32_t)n, false};
    struct fg_queue *q = &r->g.q[nr_txq(0)];
    uint64_t done = 0;
    struct win w;
    win_start(&w);
    double t = w.t0;
    for (unsigned it = 0; t < w.t0 + dur; it++) {
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
    win_end(a, &w, done);
    for (int i = 0; i < 2000 && q->nfree < q->num; i++) {
        uint32_t id, l;
        while (fg_get_used(&r->g, nr_txq(0), &id, &l) == 1)
            ;
        usleep(1000);
    }
}

static void tx_raw(size_t len, double dur, struct acc *a)
{
    static uint8_t f[12 + BIG];
    size_t n = mkframe(f, other, len);
    struct iovec iov = {f, n};
    uint64_t done = 0;
    struct win w;
    win_start(&w);
    double t = w.t0;
    for (unsigned it = 0; t < w.t0 + dur; it++) {
        if (tap_writev(&raw, 0, &iov, 1) == (ssize_t)n)
            done++;
        if ((it & 63) == 0)
            t = now();
    }
    win_end(a, &w, done);
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

/* One drain trial through the device. While the queue fills, the
 * device takes what the posted buffers hold; the clock starts when the
 * guest gives them back. */
static void rx_device(size_t len, unsigned fill, struct acc *a)
{
    struct net_rig *r = &rig;
    static unsigned left;
    uint64_t kept = gen_fill("kvb0", len, fill);
    usleep(20000); /* the device fills what it holds */
    uint64_t got = rx_harvest(r, &left), timed = 0;
    struct win w;
    win_start(&w);
    double t = w.t0;
    while (got < kept && t < w.t0 + 5) {
        unsigned k = rx_harvest(r, &left);
        got += k;
        timed += k;
        if (!k)
            wait_used(r, nr_rxq(0), 1);
        t = now();
    }
    win_end(a, &w, timed);
}

/* The raw reader: drains `kept` frames from the raw tap into buffers
 * spanning as much memory as the guest's ring holds, used in turn like
 * the guest's, so both paths write the same memory footprint (one hot
 * buffer would flatter the ceiling). scatter: 4 KiB pieces like the
 * guest's buffers instead of one contiguous buffer. */
struct raw_job {
    bool scatter;
    uint64_t kept, got;
    unsigned bi;
    /* Thread mode: main posts a job (gen > done), the reader answers. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned gen, done;
    bool quit, threaded;
    pthread_t th;
};

enum { SPAN = 12 + 70000, NBUF = QSIZE * RXBUF / SPAN + 1 };
static uint8_t rawbuf[NBUF][SPAN];

static void raw_drain(struct raw_job *j)
{
    struct iovec iov = {rawbuf[0], SPAN};
    double t0 = now(), t = t0;
    j->got = 0;
    while (j->got < j->kept && t < t0 + 5) {
        struct iovec v[SPAN / RXBUF + 1];
        unsigned nv = 0;
        for (size_t o = 0; j->scatter && o < SPAN; o += RXBUF, nv++)
            v[nv] = (struct iovec){rawbuf[j->bi] + o,
                                   SPAN - o < RXBUF ? SPAN - o : RXBUF};
        iov.iov_base = rawbuf[j->bi];
        ssize_t k = j->scatter ? tap_readv(&raw, 0, v, (int)nv)
                               : tap_readv(&raw, 0, &iov, 1);
        if (k > 0) {
            j->got++;
            j->bi = (j->bi + 1) % NBUF;
        } else {
            struct pollfd p = {.fd = raw.fd[0], .events = POLLIN};
            poll(&p, 1, 10);
            t = now();
        }
    }
}

static void *raw_thread(void *arg)
{
    struct raw_job *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->gen == j->done && !j->quit)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->quit)
            break;
        pthread_mutex_unlock(&j->mu);
        raw_drain(j);
        pthread_mutex_lock(&j->mu);
        j->done = j->gen;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Read on a thread of its own, as the device's worker does, while the
 * main thread (the generator, as for the device) sleeps: so neither
 * path reads on the CPU whose caches just built the frames. */
static bool raw_threaded(void)
{
    const char *e = getenv("NET_BENCH_RAW_THREAD");
    return e && *e == '1';
}

static void raw_start(struct raw_job *j)
{
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->threaded =
        raw_threaded() && !pthread_create(&j->th, NULL, raw_thread, j);
}

static void raw_stop(struct raw_job *j)
{
    if (j->threaded) {
        pthread_mutex_lock(&j->mu);
        j->quit = true;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->th, NULL);
    }
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
}

/* One drain trial of the raw tap. */
static void rx_raw(size_t len, unsigned fill, bool scatter, struct raw_job *j,
                   struct acc *a)
{
    j->scatter = scatter;
    j->kept = gen_fill("kvr0", len, fill);
    struct win w;
    win_start(&w);
    if (j->threaded) {
        pthread_mutex_lock(&j->mu);
        j->gen++;
        pthread_cond_broadcast(&j->cv);
        while (j->done != j->gen)
            pthread_cond_wait(&j->cv, &j->mu);
        pthread_mutex_unlock(&j->mu);
    } else {
        raw_drain(j);
    }
    win_end(a, &w, j->got);
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
        /* The paths take turns in short windows (a TX slice of 0.1 s, an
         * RX drain trial of a few ms), starting with each in turn, until
         * each has `secs`: on a shared machine they then see the same
         * load, and the ratio holds even when the rates swing. */
        struct acc dev = {0}, rawa = {0}, sg = {0};
        if (!strncmp(m, "tx-", 3)) {
            for (int s = 0; s < 1000 && (dev.busy < secs || rawa.busy < secs);
                 s++) {
                if (s & 1) {
                    tx_raw(len, 0.1, &rawa);
                    tx_device(len, 0.1, &dev);
                } else {
                    tx_device(len, 0.1, &dev);
                    tx_raw(len, 0.1, &rawa);
                }
            }
        } else if (!strncmp(m, "rx-", 3)) {
            /* What the tap's queue holds (txqueuelen, set below). */
            unsigned fill = big ? 900 : 9000;
            struct raw_job j = {0};
            raw_start(&j);
            for (int t = 0; t < 3000 && (dev.busy < secs || rawa.busy < secs ||
                                         sg.busy < secs);
                 t++) {
                for (int k = 0; k < 3; k++) {
                    switch ((t + k) % 3) {
                    case 0:
                        rx_device(len, fill, &dev);
                        break;
                    case 1:
                        rx_raw(len, fill, true, &j, &sg);
                        break;
                    default:
                        rx_raw(len, fill, false, &j, &rawa);
                    }
                }
            }
            raw_stop(&j);
        } else {
            fprintf(stderr, "net_bench: unknown mode %s\n", m);
            return 2;
        }
        sst_print("device", &dev);
        sst_print("raw", &rawa);
        sst_print("raw4k", &sg);
        if (getenv("NET_BENCH_STATS"))
            vmmio_stats_print(rig.g.m, stderr);
        double k = big ? len * 8 / 1e9 : 1; /* Gbit/s of frames */
        double dr = dev.frames / dev.busy, rr = rawa.frames / rawa.busy;
        double gr = sg.frames ? sg.frames / sg.busy : 0;
        /* CPU per frame: the device's threads (process less the fake
         * guest's thread), the raw reader's, the guest's. */
        double dc = (dev.cpu - dev.gcpu) / dev.frames;
        double gc = dev.gcpu / dev.frames;
        double rc = rawa.cpu / rawa.frames;
        double sc = sg.frames ? sg.cpu / sg.frames : 0;
        printf("%s device %.3f raw %.3f ratio %.2f cpu_us %.2f %.2f "
               "guest_us %.2f raw4k %.3f cpu_us %.2f\n",
               m, dr * k, rr * k, dr / rr, dc * 1e6, rc * 1e6, gc * 1e6, gr * k,
               sc * 1e6);
        fflush(stdout);
    }
    nr_down(&rig);
    tap_close(&raw);
    return 0;
}
