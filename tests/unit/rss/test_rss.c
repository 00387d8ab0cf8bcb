/* SPDX-License-Identifier: MIT */
/*
 * Bounded memory whatever the guest does: each device is driven hard
 * through the fake guest (the real transport, queues and workers), and
 * the process's resident memory is read before and after.
 *
 * Built without sanitizers (tests/unit/rss.mk): ASan keeps freed memory
 * in a quarantine (256 MiB by default) and maps shadow memory, so its
 * RSS grows with the number of frees and bytes touched, not with what
 * kvmini holds; a bound loose enough for that would miss a real leak of
 * tens of MiB. The same code runs under ASan/UBSan/LSan in the other
 * unit tests and the fuzzers.
 *
 * Each phase is a fixed amount of work (no timing in any check). A
 * device first gets one round of everything (warm-up: guest RAM, ring
 * and buffer pages are touched once), then VmRSS is taken, then the
 * phase runs many times that volume, and VmRSS may not have grown by
 * more than GROW_KIB. The guest's buffers are the same few MiB each
 * round, so anything kvmini kept per request, per byte or per control
 * message would show up as growth proportional to the volume.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "tests/unit/blk_rig.h"
#include "tests/unit/chardev_rig.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/net_rig.h"
#include "tests/unit/tap.h"
#include "virtio/serial.h"
#include "virtio/serial_priv.h"

#define MIB (1ULL << 20)
#define GROW_KIB 1024 /* growth allowed over a whole phase */
#define HWM_MIB 64    /* the whole process's peak, guest RAM touched included */
#define RAM (32ULL << 20) /* console and multiport guests */
#define QN 256            /* entries per queue: the longest chain too */
#define QN_VSER 64        /* the same for each of multiport's 66 queues */
#define SEG 4096          /* bytes per buffer of a long chain */
#ifndef ROUNDS
#define ROUNDS 16 /* a measured phase is this many warm-ups */
#endif
#define VSER_ROUNDS (ROUNDS / 4 + 1)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static long rss0;
static void meter_start(void)
{
    rss0 = status_kib("VmRSS");
}
static void meter_check(const char *what, uint64_t work, const char *unit)
{
    long d = status_kib("VmRSS") - rss0;
    CHECK(rss0 > 0 && d <= GROW_KIB,
          "%s: VmRSS %ld -> %ld KiB (%+ld KiB, bound +%d) over %llu %s", what,
          rss0, rss0 + d, d, GROW_KIB, (unsigned long long)work, unit);
}

/* Wait for one used entry of qi: 1, or 0 on the hang guard. */
static int wait_used(struct fake_guest *g, unsigned qi, uint32_t *len)
{
    uint32_t id;
    for (;;) {
        int k = fg_get_used(g, qi, &id, len);
        if (k)
            return k;
        uint64_t c = fg_irq_count(&g->irq);
        if (!fg_enable_irq(g, qi) && fg_irq_wait(&g->irq, c))
            return 0;
    }
}

/*
 * A stream on one queue: chains of QN buffers of SEG bytes (the longest
 * chain the queue allows, in an indirect table), every other chain a
 * direct one of FG_MAX_SEGS buffers. All chains name the same area.
 */
struct stream {
    struct fake_guest *g;
    unsigned qi, qn; /* queue, and its size: the chain length */
    bool write;      /* the device writes (RX) */
    uint64_t area, tables;
    unsigned inflight, flip;
};

static void stream_init(struct stream *s, struct fake_guest *g, unsigned qi,
                        unsigned qn, bool write)
{
    *s = (struct stream){.g = g, .qi = qi, .qn = qn, .write = write};
    s->area = fg_alloc(g, (uint64_t)qn * SEG, 64);
    s->tables = fg_alloc(g, (uint64_t)qn * qn * 16, 16);
    memset(fg_host(g, s->area), 'x', (size_t)qn * SEG);
}

/* Post chains while the ring has room; kick. */
static void stream_fill(struct stream *s)
{
    struct fg_seg seg[QN];
    for (unsigned i = 0; i < s->qn; i++)
        seg[i] = (struct fg_seg){s->area + (uint64_t)i * SEG, SEG, s->write};
    for (;;) {
        int h;
        if (s->flip++ & 1) {
            h = fg_post(s->g, s->qi, seg, FG_MAX_SEGS, false);
        } else {
            /* Slots are reused round the ring; a slot still in flight
             * is rewritten with the same contents. */
            uint64_t t =
                s->tables + (uint64_t)(s->flip / 2 % s->qn) * s->qn * 16;
            h = fg_post_table(s->g, s->qi, t, seg, s->qn);
        }
        if (h < 0)
            break;
        s->inflight++;
    }
    fg_kick(s->g, s->qi);
}

/* Keep the queue full until bytes have been used (or the guard). */
static uint64_t stream_run(struct stream *s, uint64_t bytes)
{
    uint64_t done = 0;
    uint32_t len;
    while (done < bytes) {
        stream_fill(s);
        if (!wait_used(s->g, s->qi, &len))
            break;
        s->inflight--;
        done += s->write ? len : SEG; /* TX: the device writes nothing */
    }
    return done;
}

/* Collect what is still in flight (the peer is draining). */
static void stream_finish(struct stream *s)
{
    uint32_t len;
    while (s->inflight && wait_used(s->g, s->qi, &len))
        s->inflight--;
}

/* Host ends: readers that discard and writers that fill, on their own
 * thread, switched on and off by the test. */
struct host {
    int fd[VSER_MAX_PORTS];
    unsigned n;
    _Atomic bool read, write, quit;
    _Atomic uint64_t got;
    pthread_t t;
};

static void *host_main(void *arg)
{
    struct host *h = arg;
    static _Thread_local char buf[64 << 10];
    while (!atomic_load(&h->quit)) {
        bool rd = atomic_load(&h->read), wr = atomic_load(&h->write);
        if (!rd && !wr) {
            usleep(1000);
            continue;
        }
        struct pollfd p[VSER_MAX_PORTS];
        for (unsigned i = 0; i < h->n; i++)
            p[i] = (struct pollfd){h->fd[i], rd ? POLLIN : POLLOUT, 0};
        if (poll(p, h->n, 10) <= 0)
            continue;
        for (unsigned i = 0; i < h->n; i++) {
            if (rd && (p[i].revents & POLLIN)) {
                ssize_t k = read(h->fd[i], buf, sizeof(buf));
                if (k > 0)
                    atomic_fetch_add(&h->got, (uint64_t)k);
            }
            if (wr && (p[i].revents & POLLOUT))
                (void)!write(h->fd[i], buf, sizeof(buf));
        }
    }
    return NULL;
}

static void host_start(struct host *h)
{
    for (unsigned i = 0; i < h->n; i++)
        fcntl(h->fd[i], F_SETFL, fcntl(h->fd[i], F_GETFL) | O_NONBLOCK);
    if (pthread_create(&h->t, NULL, host_main, h))
        abort();
}

static void host_stop(struct host *h)
{
    atomic_store(&h->quit, true);
    pthread_join(h->t, NULL);
}

/* Fill every fd (a writer's end) until the kernel takes no more. */
static void flood(const int *fd, unsigned n)
{
    static char buf[64 << 10];
    for (unsigned i = 0; i < n; i++) {
        fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
        while (write(fd[i], buf, sizeof(buf)) > 0)
            ;
    }
}

/* Bytes waiting in a pipe. */
static int queued(int fd)
{
    int n = 0;
    ioctl(fd, FIONREAD, &n);
    return n;
}

/* ---- virtio-console -------------------------------------------------- */

static void console_round(struct stream *tx, struct stream *rx,
                          struct host *out, struct host *in, int out_rd,
                          int in_wr, unsigned mult, uint64_t *work)
{
    /* A peer that never reads: the guest's chains wait, kvmini holds at
     * most the chardev's buffer (the pipe holds the rest). */
    atomic_store(&out->read, false);
    stream_fill(tx);
    WAIT_FOR(queued(out_rd) > 0);
    /* Host input with no buffer posted: it waits in the chardev and the
     * pipe; the host writer is stopped by a full pipe. */
    flood(&in_wr, 1);
    /* Now both ways with peers. */
    atomic_store(&out->read, true);
    *work += stream_run(tx, (uint64_t)mult * MIB / 2);
    stream_finish(tx);
    atomic_store(&in->write, true);
    *work += stream_run(rx, (uint64_t)mult * MIB);
    atomic_store(&in->write, false);
}

static void test_console(void)
{
    int in[2], out[2];
    struct fake_guest g;
    struct vser *c;
    struct chardev *cd = pipes_open(in, out, 0);
    if (vser_create_console(&c, cd, 80, 25) || fg_init(&g, RAM) ||
        fg_attach(&g, vser_ops(c), c, false) ||
        fg_negotiate(&g, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                             VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) ||
        fg_queue_setup(&g, 0, QN) || fg_queue_setup(&g, 1, QN) ||
        fg_driver_ok(&g))
        abort();
    struct stream rx, tx;
    stream_init(&rx, &g, 0, QN, true);
    stream_init(&tx, &g, 1, QN, false);
    struct host hout = {.fd = {out[0]}, .n = 1}, hin = {.fd = {in[1]}, .n = 1};
    host_start(&hout);
    host_start(&hin);
    uint64_t work = 0;
    console_round(&tx, &rx, &hout, &hin, out[0], in[1], 1, &work);
    meter_start();
    work = 0;
    for (unsigned i = 0; i < ROUNDS; i++)
        console_round(&tx, &rx, &hout, &hin, out[0], in[1], 1, &work);
    meter_check(
        "console: stalled and flooded peers, then 512 KiB out and 1 MiB "
        "in per round, chains of 256 and 16 buffers",
        work / MIB, "MiB");
    CHECK(work >= (uint64_t)ROUNDS * 3 * MIB / 2, "... all of it moved");
    host_stop(&hout);
    host_stop(&hin);
    fg_fini(&g);
    vser_destroy(c);
    pipes_close(cd, in, out);
}

/* ---- virtio-serial, every port -------------------------------------- */

#define NP VSER_MAX_PORTS
#define CBUF 256
#define PORT_BYTES (128u << 10) /* each way per port per round */

static unsigned p_rxq(unsigned id)
{
    return id ? 2 * id + 2 : 0;
}

struct vrig {
    struct fake_guest g;
    struct vser *s;
    struct chardev *cd[NP];
    int in[NP][2], out[NP][2];
    int in_wr[NP], out_rd[NP];
    uint64_t cbufs, cmsg;
    struct stream rx[NP], tx[NP];
};

/* Give back every used c_ivq buffer (the device's messages to us). */
static unsigned civq_recycle(struct vrig *r)
{
    uint32_t id, len;
    unsigned n = 0;
    while (fg_get_used(&r->g, VSER_CIVQ, &id, &len) == 1) {
        struct fg_seg s = {r->cbufs + (uint64_t)id * CBUF, CBUF, true};
        fg_post(&r->g, VSER_CIVQ, &s, 1, false);
        n++;
    }
    fg_kick(&r->g, VSER_CIVQ);
    return n;
}

/* count control messages, valid and not: opens, closes and readies of
 * every port and of ids past the last, unknown events, short and long
 * messages. c_ivq is not serviced meanwhile, so what the device owes
 * piles up on its side (as per-port flags). */
static uint64_t ctrl_storm(struct vrig *r, unsigned count)
{
    static const uint16_t ev[] = {VSER_PORT_READY, VSER_PORT_OPEN,
                                  VSER_DEVICE_READY, 99};
    uint64_t sent = 0;
    uint32_t len;
    for (unsigned i = 0; i < count; i++) {
        uint64_t m = r->cmsg + (uint64_t)(i % QN) * 64;
        struct vser_ctrl c = {.id = i % (NP + 8),
                              .event = ev[i % 4],
                              .value = (uint16_t)(i / 4 % 2)};
        memcpy(fg_host(&r->g, m), &c, sizeof(c));
        uint32_t l = i % 7 == 3 ? 3 : i % 7 == 5 ? 64 : sizeof(c);
        struct fg_seg s = {m, l, false};
        while (fg_post(&r->g, VSER_COVQ, &s, 1, false) < 0) {
            fg_kick(&r->g, VSER_COVQ);
            if (!wait_used(&r->g, VSER_COVQ, &len))
                return sent;
        }
        sent++;
    }
    fg_kick(&r->g, VSER_COVQ);
    while (r->g.q[VSER_COVQ].nfree < QN && wait_used(&r->g, VSER_COVQ, &len))
        ;
    return sent;
}

/* Every port ready and open, as a driver would leave them. */
static void open_all(struct vrig *r)
{
    struct vser_ctrl c = {.id = 0, .event = VSER_DEVICE_READY, .value = 1};
    uint32_t len;
    for (unsigned i = 0; i <= 2 * NP; i++) {
        if (i > 0)
            c = (struct vser_ctrl){.id = (i - 1) / 2,
                                   .event =
                                       i % 2 ? VSER_PORT_READY : VSER_PORT_OPEN,
                                   .value = 1};
        memcpy(fg_host(&r->g, r->cmsg), &c, sizeof(c));
        struct fg_seg s = {r->cmsg, sizeof(c), false};
        fg_post(&r->g, VSER_COVQ, &s, 1, false);
        fg_kick(&r->g, VSER_COVQ);
        if (!wait_used(&r->g, VSER_COVQ, &len))
            abort();
        civq_recycle(r);
    }
}

static void vser_round(struct vrig *r, struct host *out, struct host *in,
                       uint64_t *msgs, uint64_t *bytes)
{
    /* Peers that never read, on all ports at once; input with no room. */
    atomic_store(&out->read, false);
    for (unsigned i = 0; i < NP; i++)
        stream_fill(&r->tx[i]);
    flood(r->in_wr, NP);
    *msgs += ctrl_storm(r, 4096);
    open_all(r);
    atomic_store(&out->read, true);
    for (unsigned i = 0; i < NP; i++) {
        *bytes += stream_run(&r->tx[i], PORT_BYTES);
        stream_finish(&r->tx[i]);
    }
    atomic_store(&in->write, true);
    for (unsigned i = 0; i < NP; i++)
        *bytes += stream_run(&r->rx[i], PORT_BYTES);
    atomic_store(&in->write, false);
}

static void test_vser(void)
{
    static struct vrig r;
    memset(&r, 0, sizeof(r));
    if (vser_create(&r.s, NP))
        abort();
    for (unsigned i = 0; i < NP; i++) {
        char name[32];
        r.cd[i] = pipes_open(r.in[i], r.out[i], 0);
        r.in_wr[i] = r.in[i][1];
        r.out_rd[i] = r.out[i][0];
        snprintf(name, sizeof(name), "org.test.p%u", i);
        if (vser_add_port(r.s, i, i ? name : NULL, r.cd[i], i == 0))
            abort();
    }
    if (fg_init(&r.g, 96 * MIB) || fg_attach(&r.g, vser_ops(r.s), r.s, false) ||
        fg_negotiate(&r.g, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                               VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
                               VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)))
        abort();
    for (unsigned q = 0; q < vser_ops(r.s)->nqueues; q++)
        if (fg_queue_setup(&r.g, q,
                           q == VSER_CIVQ || q == VSER_COVQ ? QN : QN_VSER))
            abort();
    r.cbufs = fg_alloc(&r.g, (uint64_t)QN * CBUF, 16);
    r.cmsg = fg_alloc(&r.g, (uint64_t)QN * 64, 16);
    for (unsigned i = 0; i < QN; i++) {
        struct fg_seg s = {r.cbufs + (uint64_t)i * CBUF, CBUF, true};
        fg_post(&r.g, VSER_CIVQ, &s, 1, false);
    }
    for (unsigned i = 0; i < NP; i++) {
        stream_init(&r.rx[i], &r.g, p_rxq(i), QN_VSER, true);
        stream_init(&r.tx[i], &r.g, p_rxq(i) + 1, QN_VSER, false);
    }
    if (fg_driver_ok(&r.g))
        abort();
    fg_kick(&r.g, VSER_CIVQ);
    struct host hout = {.n = NP}, hin = {.n = NP};
    memcpy(hout.fd, r.out_rd, sizeof(r.out_rd));
    memcpy(hin.fd, r.in_wr, sizeof(r.in_wr));
    host_start(&hout);
    host_start(&hin);
    uint64_t msgs = 0, bytes = 0;
    vser_round(&r, &hout, &hin, &msgs, &bytes);
    meter_start();
    msgs = bytes = 0;
    for (unsigned i = 0; i < VSER_ROUNDS; i++)
        vser_round(&r, &hout, &hin, &msgs, &bytes);
    meter_check("multiport: 32 ports stalled and flooded, 4096 control "
                "messages per round unanswered, then 128 KiB each way per "
                "port",
                msgs, "control messages");
    CHECK(bytes >= (uint64_t)VSER_ROUNDS * NP * 2 * PORT_BYTES,
          "... and %llu MiB moved through the ports",
          (unsigned long long)(bytes / MIB));
    host_stop(&hout);
    host_stop(&hin);
    fg_fini(&r.g);
    vser_destroy(r.s);
    for (unsigned i = 0; i < NP; i++)
        pipes_close(r.cd[i], r.in[i], r.out[i]);
}

/* ---- virtio-blk ----------------------------------------------------- */

static char img[64];

/* Writes and reads of 126 x 4 KiB (the device's seg_max) and of the
 * queue's longest chain (too many segments: failed), flushes, discards,
 * write-zeroes and unknown types, round after round over one image. */
static void blk_round(struct blk_rig *r, uint64_t data, uint64_t tables,
                      uint64_t *reqs, uint64_t *as_expected)
{
    static const uint32_t types[] = {VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_IN,
                                     VIRTIO_BLK_T_FLUSH, 77};
    struct br_req q = {.data = data, .len = 64 * 1024, .nseg = 14};
    for (unsigned i = 0; i < 64; i++) {
        q.type = types[i % 4];
        q.dev_writes = q.type == VIRTIO_BLK_T_IN;
        q.indirect = i & 1;
        q.sector = (uint64_t)(i * 128) % (15 * MIB / 512);
        uint32_t used;
        int st = br_do(r, 0, &q, &used);
        (*reqs)++;
        /* A flush carrying data is malformed (IOERR), 77 unknown. */
        *as_expected +=
            st == (q.type == 77                   ? VIRTIO_BLK_S_UNSUPP
                   : q.type == VIRTIO_BLK_T_FLUSH ? VIRTIO_BLK_S_IOERR
                                                  : VIRTIO_BLK_S_OK);
    }
    /* One request in a table of QN descriptors: header, 126 data
     * buffers or more (the rest), status. */
    for (unsigned n = 128; n <= QN; n += QN - 128) {
        struct fg_seg s[QN];
        uint64_t hdr = r->hdr[0];
        struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = 8};
        memcpy(br_host(r, hdr), &h, sizeof(h));
        s[0] = (struct fg_seg){hdr, sizeof(h), false};
        for (unsigned k = 1; k + 1 < n; k++)
            s[k] = (struct fg_seg){data + (uint64_t)(k - 1) * 512, 512, false};
        s[n - 1] = (struct fg_seg){hdr + 32, 1, true};
        uint8_t *status = br_host(r, hdr + 32);
        *status = 0xff;
        if (fg_post_table(&r->g, 0, tables, s, n) < 0)
            abort();
        fg_kick(&r->g, 0);
        uint32_t id, len;
        br_wait(r, 0, &id, &len);
        (*reqs)++;
        *as_expected +=
            *status == (n == 128 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
    }
}

static void test_blk(void)
{
    snprintf(img, sizeof(img), "/tmp/kvmini-rss.XXXXXX");
    int fd = mkstemp(img);
    if (fd < 0 || ftruncate(fd, 16 * MIB))
        abort();
    close(fd);
    struct vblk_config c;
    char err[256];
    if (vblk_parse(img, &c, err, sizeof(err)))
        abort();
    struct blk_rig r;
    if (br_up(&r, &c, NULL, 1, BR_ALL_FEATURES, QN, false, err, sizeof(err)))
        abort();
    uint64_t data = br_alloc(&r, 256 * 1024);
    uint64_t tables = br_alloc(&r, QN * 16);
    uint64_t reqs = 0, good = 0;
    blk_round(&r, data, tables, &reqs, &good);
    meter_start();
    reqs = good = 0;
    for (unsigned i = 0; i < ROUNDS * 4; i++)
        blk_round(&r, data, tables, &reqs, &good);
    meter_check("blk: writes, reads, flushes and bad requests of 14 segments, "
                "chains of 128 and 256 descriptors",
                reqs, "requests");
    CHECK(good == reqs, "... each answered as it should be (%llu of %llu)",
          (unsigned long long)good, (unsigned long long)reqs);
    br_down(&r);
    unlink(img);
}

/* ---- virtio-net ----------------------------------------------------- */

#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

/* Frames of len bytes from the peer until its socket takes no more. */
static unsigned net_flood(int peer, const uint8_t *f, size_t len)
{
    unsigned n = 0;
    while (send(peer, f, len, MSG_DONTWAIT) > 0)
        n++;
    return n;
}

static void net_round(struct net_rig *r, int peer, uint64_t *frames,
                      uint64_t *cmds)
{
    static uint8_t f[1600], mac[2 * (4 + 64 * 6)], buf[70000];
    memset(f, 0, sizeof(f));
    memset(f + r->hdr_len, 0xff, 6); /* broadcast */
    size_t len = r->hdr_len + 1514;
    /* A peer that never reads: TX until the ring is full. */
    unsigned posted = 0;
    while (nr_tx_post(r, 0, f, len, 1 + posted % FG_MAX_SEGS) >= 0)
        posted++;
    fg_kick(&r->g, nr_txq(0));
    /* The host floods RX (64 buffers posted; the rest waits in the
     * socket, not in kvmini). */
    unsigned flooded = net_flood(peer, f, len);
    /* Drain the peer so TX completes (a hang guard of 20 s). */
    unsigned done = 0;
    for (unsigned spin = 0; done < posted && spin < 200000; spin++) {
        while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        uint32_t id, l;
        if (fg_get_used(&r->g, nr_txq(0), &id, &l) == 1)
            done++;
        else
            usleep(100);
    }
    *frames += done;

    for (unsigned i = 0; i < flooded; i++) {
        if (nr_rx_frame(r, 0, buf, sizeof(buf), NULL) < 0)
            break;
        (*frames)++;
    }

    for (unsigned b = 0; b < 16; b++) { /* RX: batches of 32 */
        unsigned sent = 0;
        while (sent < 32 && send(peer, f, len, MSG_DONTWAIT) > 0)
            sent++;
        for (unsigned i = 0; i < sent; i++) {
            if (nr_rx_frame(r, 0, buf, sizeof(buf), NULL) < 0)
                break;
            (*frames)++;
        }
    }
    for (unsigned i = 0; i < 512; i++) {
        if (nr_tx(r, 0, f, len, 1 + i % FG_MAX_SEGS) < 0)
            break;
        while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        (*frames)++;
    }
    /* Control: full and overfull MAC tables (a count far past what
     * follows, too), every RX mode, unknown classes. */
    for (unsigned i = 0; i < 64; i++) {
        uint32_t n = i % 3 == 0 ? 64 : i % 3 == 1 ? 65 : 0xffffffffu;
        memcpy(mac, &n, 4);
        memcpy(mac + 4 + 64 * 6, &n, 4);
        nr_ctrl(r, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, mac,
                sizeof(mac));
        uint8_t on = i & 1;
        nr_ctrl(r, VIRTIO_NET_CTRL_RX, (uint8_t)(i % 6), &on, 1);
        nr_ctrl(r, (uint8_t)(50 + i), 0, mac, 8);
        *cmds += 3;
    }
    /* Promiscuous again, so the next round's frames all arrive. */
    uint8_t on = 1;
    nr_ctrl(r, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1);
}

static void test_net(void)
{
    struct vnet *n;
    int peer;
    struct net_rig r;
    if (nr_sock_vnet(&n, &peer, 1, 0, 1500) ||
        nr_up(&r, n,
              VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                  VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | NF(MRG_RXBUF) |
                  NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_RX_EXTRA),
              QN, false) ||
        nr_rx_post(&r, 0, QN / 4, 1526, 4))
        abort();
    uint64_t frames = 0, cmds = 0;
    net_round(&r, peer, &frames, &cmds);
    meter_start();
    frames = cmds = 0;
    for (unsigned i = 0; i < ROUNDS; i++)
        net_round(&r, peer, &frames, &cmds);
    meter_check("net: stalled and flooded peer, then frames both ways, MAC "
                "tables full and overfull",
                frames, "frames");
    CHECK(cmds >= ROUNDS * 64 * 3, "... and %llu control commands",
          (unsigned long long)cmds);
    nr_down(&r);
    vnet_destroy(n);
    close(peer);
}

int main(void)
{
    /* The devices' warnings about the hostile input are expected. */
    if (!getenv("RSS_STDERR"))
        freopen("/dev/null", "w", stderr);
    void (*const tests[])(void) = {test_console, test_vser, test_blk, test_net};
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        double t0 = now_s();
        tests[i]();
        DIAG("took %.1f s", now_s() - t0); /* information, not a check */
    }
    long hwm = status_kib("VmHWM");
    CHECK(hwm > 0 && hwm <= HWM_MIB * 1024,
          "peak VmHWM %ld KiB (bound %d MiB, guest RAMs included)", hwm,
          HWM_MIB);
    return tap_done();
}
