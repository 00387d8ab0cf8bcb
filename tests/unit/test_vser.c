/* SPDX-License-Identifier: MIT */
/* virtio-serial through the fake guest: the control handshake, hostile
 * control messages, port open/close both ways, back-pressure with no
 * host peer, and a 64 MiB transfer answered with its SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/sha256.h"
#include "hw/chardev.h"
#include "tests/unit/chardev_rig.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"
#include "virtio/serial.h"
#include "virtio/serial_opt.h"
#include "virtio/serial_priv.h"

#define RAM (32ULL << 20)
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define MP VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)
#define NAMED 16           /* named ports 1..16 */
#define NPORTS (NAMED + 1) /* and port 0, the console */
#define QN 16              /* entries of every queue */
#define CBUF 256           /* bytes of a c_ivq buffer */
#define RBUF 4096          /* bytes of a port RX buffer */
#define UPORT 5            /* on a unix socket server; the rest on pipes */

static char sock_path[108];

static unsigned rxq(unsigned id)
{
    return id ? 2 * id + 2 : 0;
}

struct rig {
    struct fake_guest g;
    struct vser *s;
    struct chardev *cd[NPORTS];
    int in[NPORTS][2], out[NPORTS][2]; /* host -> guest, guest -> host */
    uint64_t cbufs, rbufs[NPORTS];
};

static int unix_connect(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
        abort();
    return fd;
}

static void rig_up(struct rig *r, uint64_t feat)
{
    memset(r, 0, sizeof(*r));
    if (vser_create(&r->s, NPORTS))
        abort();
    for (unsigned i = 0; i < NPORTS; i++) {
        char name[32];
        if (i == UPORT) {
            char err[256];
            /* No pipes: the test talks to it through its socket. */
            r->in[i][0] = r->in[i][1] = r->out[i][0] = r->out[i][1] = -1;
            if (chardev_unix_server_open(&r->cd[i], sock_path, "port", err,
                                         sizeof(err))) {
                printf("Bail out! %s\n", err);
                exit(1);
            }
        } else {
            r->cd[i] = pipes_open(r->in[i], r->out[i], 0);
        }
        snprintf(name, sizeof(name), "org.test.p%u", i);
        if (vser_add_port(r->s, i, i ? name : NULL, r->cd[i], i == 0))
            abort();
    }
    vser_resize(r->s, 100, 40); /* before attach: config only */
    if (fg_init(&r->g, RAM) || fg_attach(&r->g, vser_ops(r->s), r->s, false) ||
        fg_negotiate(&r->g, feat))
        abort();
    unsigned nq = vser_ops(r->s)->nqueues;
    for (unsigned q = 0; q < nq; q++)
        if (fg_queue_setup(&r->g, q, QN))
            abort();
    if (feat & MP)
        r->cbufs = fg_fill_writable(&r->g, VSER_CIVQ, CBUF);
    for (unsigned i = 0; i < NPORTS; i++)
        r->rbufs[i] = fg_fill_writable(&r->g, rxq(i), RBUF);
    if (fg_driver_ok(&r->g))
        abort();
}

static void rig_down(struct rig *r)
{
    fg_fini(&r->g);
    vser_destroy(r->s);
    for (unsigned i = 0; i < NPORTS; i++)
        pipes_close(r->cd[i], r->in[i], r->out[i]);
}

/* Wait for one used entry of queue qi: 0, or -ETIMEDOUT. */
static int wait_used(struct rig *r, unsigned qi, uint32_t *id, uint32_t *len)
{
    for (;;) {
        if (fg_get_used(&r->g, qi, id, len) == 1)
            return 0;
        uint64_t c = fg_irq_count(&r->g.irq);
        if (!fg_enable_irq(&r->g, qi) && fg_irq_wait(&r->g.irq, c))
            return -ETIMEDOUT;
    }
}

/* Send raw bytes as a control message (segments of seg bytes), wait for
 * the device to use the chain. */
static int ctrl_raw(struct rig *r, const void *msg, uint32_t len, uint32_t seg,
                    bool writable)
{
    uint64_t b = fg_alloc(&r->g, len ? len : 1, 8);
    memcpy(fg_host(&r->g, b), msg, len);
    struct fg_seg s[FG_MAX_SEGS];
    unsigned n = 0;
    for (uint32_t off = 0; off < len || n == 0; off += seg) {
        uint32_t k = len - off < seg ? len - off : seg;
        s[n++] = (struct fg_seg){b + off, k, writable};
        if (n == FG_MAX_SEGS || !len)
            break;
    }
    if (fg_post(&r->g, VSER_COVQ, s, n, false) < 0)
        return -ENOSPC;
    fg_kick(&r->g, VSER_COVQ);
    uint32_t id, l;
    return wait_used(r, VSER_COVQ, &id, &l);
}

static int ctrl_send(struct rig *r, uint32_t id, uint16_t ev, uint16_t val)
{
    struct vser_ctrl m = {.id = id, .event = ev, .value = val};
    return ctrl_raw(r, &m, sizeof(m), sizeof(m), false);
}

/* The next message from c_ivq (its buffer reposted): 0 or -ETIMEDOUT.
 * extra gets the bytes after the header (NUL-terminated). */
static int ctrl_recv(struct rig *r, struct vser_ctrl *m, char *extra)
{
    uint32_t id, len;
    int e = wait_used(r, VSER_CIVQ, &id, &len);
    if (e)
        return e;
    uint64_t b = r->cbufs + (uint64_t)id * CBUF;
    const uint8_t *p = fg_host(&r->g, b);
    if (len < sizeof(*m) || len > CBUF)
        return -EPROTO;
    memcpy(m, p, sizeof(*m));
    if (extra) {
        memcpy(extra, p + sizeof(*m), len - sizeof(*m));
        extra[len - sizeof(*m)] = 0;
    }
    struct fg_seg s = {b, CBUF, true};
    if (fg_post(&r->g, VSER_CIVQ, &s, 1, false) != (int)id)
        return -EPROTO;
    fg_kick(&r->g, VSER_CIVQ);
    return 0;
}

/* No message arrives within a short look (a check of absence; the
 * positive cases have their own waits). */
static bool ctrl_quiet(struct rig *r)
{
    usleep(50000);
    uint32_t id, len;
    return fg_get_used(&r->g, VSER_CIVQ, &id, &len) == 0;
}

/* The whole handshake; returns the number of problems seen. */
static int handshake(struct rig *r)
{
    struct vser_ctrl m;
    char extra[CBUF];
    int bad = 0;
    bool added[NPORTS] = {0};
    if (ctrl_send(r, 0, VSER_DEVICE_READY, 1))
        return 100;
    for (unsigned i = 0; i < NPORTS; i++) {
        if (ctrl_recv(r, &m, NULL) || m.event != VSER_PORT_ADD ||
            m.id >= NPORTS || added[m.id])
            return 100;
        added[m.id] = true;
    }
    for (unsigned i = 0; i < NPORTS; i++) {
        if (ctrl_send(r, i, VSER_PORT_READY, 1))
            return 100;
        char want[32];
        snprintf(want, sizeof(want), "org.test.p%u", i);
        if (i == 0) {
            bad += ctrl_recv(r, &m, NULL) || m.event != VSER_CONSOLE_PORT ||
                   m.id != 0 || m.value != 1;
            bad += ctrl_recv(r, &m, extra) || m.event != VSER_RESIZE ||
                   memcmp(extra, "\x64\x00\x28\x00", 4); /* 100 x 40 */
            continue;
        }
        bad += ctrl_recv(r, &m, extra) || m.event != VSER_PORT_NAME ||
               m.id != i || strcmp(extra, want);
        /* Open: a backend with a peer; the socket has no client yet. */
        bad += ctrl_recv(r, &m, NULL) || m.event != VSER_PORT_OPEN ||
               m.id != i || m.value != (i != UPORT);
    }
    return bad;
}

static void test_handshake(void)
{
    struct rig r;
    rig_up(&r, V1 | MP | VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE));
    uint32_t max = 0;
    vmmio_access(r.g.m, VMMIO_CONFIG + 4, &max, 4, false);
    CHECK(max == NPORTS && vser_ops(r.s)->nqueues == 2 * (NPORTS + 1),
          "max_nr_ports %u, %u queues", max, vser_ops(r.s)->nqueues);
    vser_resize(r.s, 100, 40); /* before the handshake: no message yet */
    CHECK(ctrl_quiet(&r), "nothing on c_ivq before DEVICE_READY");
    CHECK(handshake(&r) == 0,
          "DEVICE_READY: PORT_ADD x%u; PORT_READY: CONSOLE_PORT+RESIZE for "
          "port 0, PORT_NAME+PORT_OPEN for the %u named ports (0 for the "
          "socket with no client)",
          NPORTS, NAMED);
    struct vser_ctrl m;
    char extra[CBUF];
    vser_resize(r.s, 132, 43);
    CHECK(ctrl_recv(&r, &m, extra) == 0 && m.event == VSER_RESIZE &&
              m.id == 0 && !memcmp(extra, "\x84\x00\x2b\x00", 4),
          "a resize is a RESIZE message (cols, rows) to a multiport driver");
    struct vser_stats st;
    vser_get_stats(r.s, &st);
    CHECK(st.ctrl_bad == 0 && st.ctrl_in == 1 + NPORTS &&
              st.ctrl_out == NPORTS + 2 + 2 * NAMED + 1,
          "counters: in %llu out %llu bad %llu", (unsigned long long)st.ctrl_in,
          (unsigned long long)st.ctrl_out, (unsigned long long)st.ctrl_bad);
    /* A reset forgets the handshake; a new driver gets it all again. */
    fg_reset(&r.g);
    if (fg_negotiate(&r.g, V1 | MP))
        abort();
    for (unsigned q = 0; q < vser_ops(r.s)->nqueues; q++)
        fg_queue_setup(&r.g, q, QN);
    r.cbufs = fg_fill_writable(&r.g, VSER_CIVQ, CBUF);
    fg_driver_ok(&r.g);
    CHECK(ctrl_send(&r, 0, VSER_DEVICE_READY, 1) == 0 &&
              ctrl_recv(&r, &m, NULL) == 0 && m.event == VSER_PORT_ADD,
          "after a reset, DEVICE_READY is answered again");
    rig_down(&r);
}

static uint64_t bad_count(struct rig *r)
{
    struct vser_stats st;
    vser_get_stats(r->s, &st);
    return st.ctrl_bad;
}

static void test_hostile(void)
{
    struct rig r;
    rig_up(&r, V1 | MP);
    CHECK(ctrl_send(&r, 1, VSER_PORT_READY, 1) == 0 && bad_count(&r) == 1 &&
              ctrl_quiet(&r),
          "PORT_READY before DEVICE_READY (port not added): counted, no "
          "answer");
    CHECK(handshake(&r) == 0, "the handshake still works");
    uint64_t b0 = bad_count(&r);
    struct vser_ctrl ok = {.id = 1, .event = VSER_PORT_OPEN, .value = 1};
    static const struct {
        struct vser_ctrl m;
        const char *what;
    } msgs[] = {
        {{0, VSER_DEVICE_READY, 1}, "DEVICE_READY twice"},
        {{99, VSER_PORT_OPEN, 1}, "port id past max_nr_ports"},
        {{0xffffffff, VSER_PORT_READY, 1}, "port id ~0"},
        {{1, VSER_PORT_OPEN, 7}, "value 7"},
        {{1, VSER_PORT_ADD, 1}, "PORT_ADD from the driver"},
        {{1, VSER_PORT_NAME, 1}, "PORT_NAME from the driver"},
        {{1, 0xbeef, 1}, "unknown event"},
        {{0, VSER_PORT_OPEN, 1}, "PORT_OPEN on the console port"},
    };
    unsigned n = sizeof(msgs) / sizeof(msgs[0]);
    for (unsigned i = 0; i < n; i++)
        ctrl_send(&r, msgs[i].m.id, msgs[i].m.event, msgs[i].m.value);
    CHECK(bad_count(&r) == b0 + n && ctrl_quiet(&r),
          "%u malformed messages counted and ignored", n);
    CHECK(ctrl_raw(&r, &ok, 5, 5, false) == 0 && bad_count(&r) == b0 + n + 1,
          "a 5-byte message: counted");
    CHECK(ctrl_raw(&r, &ok, sizeof(ok), sizeof(ok), true) == 0 &&
              bad_count(&r) == b0 + n + 2,
          "a message in a device-writable buffer: counted");
    CHECK(!vser_guest_open(r.s, 1) &&
              ctrl_raw(&r, &ok, sizeof(ok), 3, false) == 0 &&
              bad_count(&r) == b0 + n + 2 && vser_guest_open(r.s, 1),
          "a good message split over three buffers is taken");
    /* A c_ivq buffer too small for PORT_NAME: failed, and the message
     * goes into the next one. */
    fg_reset(&r.g);
    fg_negotiate(&r.g, V1 | MP);
    for (unsigned q = 0; q < vser_ops(r.s)->nqueues; q++)
        fg_queue_setup(&r.g, q, QN);
    uint64_t tiny = fg_alloc(&r.g, 4, 4);
    struct fg_seg ts = {tiny, 4, true};
    fg_post(&r.g, VSER_CIVQ, &ts, 1, false);
    fg_driver_ok(&r.g);
    ctrl_send(&r, 0, VSER_DEVICE_READY, 1);
    uint32_t id, len;
    CHECK(wait_used(&r, VSER_CIVQ, &id, &len) == 0 && len == 0,
          "a 4-byte c_ivq buffer is returned empty");
    r.cbufs = fg_fill_writable(&r.g, VSER_CIVQ, CBUF);
    struct vser_ctrl m;
    int adds = 0;
    for (unsigned i = 0; i < NPORTS; i++)
        adds += ctrl_recv(&r, &m, NULL) == 0 && m.event == VSER_PORT_ADD;
    CHECK(adds == NPORTS, "... and every PORT_ADD still arrives (%d)", adds);
    CHECK(!(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET),
          "the device is healthy after it all");
    rig_down(&r);
}

/* The driver's failure reports (DEVICE_READY 0, PORT_READY 0) cost the
 * guest one message each: a guest sending thousands must not put
 * thousands of lines on kvmini's stderr (found by tests/unit/rss). */
static void test_failure_reports_limited(void)
{
    struct rig r;
    rig_up(&r, V1 | MP);
    CHECK(handshake(&r) == 0, "handshake");
    struct stderr_capture cap;
    stderr_capture_begin(&cap);
    int sent = 0;
    for (int i = 0; i < 2000; i++)
        sent += ctrl_send(&r, 1 + i % NAMED, VSER_PORT_READY, 0) == 0;
    int lines;
    free(stderr_capture_end(&cap, &lines));
    /* 5 a second: a slow run may straddle a few seconds. */
    CHECK(sent == 2000 && lines >= 1 && lines <= 50,
          "2000 PORT_READY 0 messages: %d warning lines", lines);
    CHECK(!(fg_status(&r.g) & VIRTIO_STATUS_NEEDS_RESET),
          "... and the device is healthy");
    rig_down(&r);
}

/* Collect want bytes from port id's RX into dst (buffers reposted). */
static int rx_take(struct rig *r, unsigned id, uint8_t *dst, size_t want,
                   struct sha256 *h)
{
    size_t have = 0;
    unsigned q = rxq(id);
    while (have < want) {
        uint32_t hd, len;
        if (wait_used(r, q, &hd, &len))
            return -ETIMEDOUT;
        if (len > RBUF || have + len > want)
            return -EPROTO;
        uint64_t b = r->rbufs[id] + (uint64_t)hd * RBUF;
        if (dst)
            memcpy(dst + have, fg_host(&r->g, b), len);
        if (h)
            sha256_update(h, fg_host(&r->g, b), len);
        have += len;
        struct fg_seg s = {b, RBUF, true};
        if (fg_post(&r->g, q, &s, 1, false) != (int)hd)
            return -EPROTO;
        fg_kick_if_needed(&r->g, q);
    }
    return 0;
}

static void test_open_close(void)
{
    struct rig r;
    rig_up(&r, V1 | MP);
    if (handshake(&r))
        abort();
    if (write(r.in[3][1], "early", 5) != 5)
        abort();
    usleep(50000);
    uint32_t id, len;
    CHECK(fg_get_used(&r.g, rxq(3), &id, &len) == 0 &&
              chardev_in_avail(r.cd[3]) == 5,
          "port not opened by the guest: host bytes wait in the chardev");
    ctrl_send(&r, 3, VSER_PORT_OPEN, 1);
    uint8_t got[16] = {0};
    CHECK(rx_take(&r, 3, got, 5, NULL) == 0 && !memcmp(got, "early", 5),
          "PORT_OPEN 1 from the guest: they arrive");
    ctrl_send(&r, 3, VSER_PORT_OPEN, 0);
    if (write(r.in[3][1], "late", 4) != 4)
        abort();
    usleep(50000);
    CHECK(!vser_guest_open(r.s, 3) && fg_get_used(&r.g, rxq(3), &id, &len) == 0,
          "PORT_OPEN 0: held again");
    ctrl_send(&r, 3, VSER_PORT_OPEN, 1);
    CHECK(rx_take(&r, 3, got, 4, NULL) == 0 && !memcmp(got, "late", 4),
          "reopened: in order, nothing lost");

    /* The host side: a client comes, goes and comes back. */
    struct vser_ctrl m;
    int c1 = unix_connect();
    CHECK(ctrl_recv(&r, &m, NULL) == 0 && m.event == VSER_PORT_OPEN &&
              m.id == UPORT && m.value == 1,
          "a client connects to port %u's socket: PORT_OPEN 1", UPORT);
    close(c1);
    CHECK(ctrl_recv(&r, &m, NULL) == 0 && m.event == VSER_PORT_OPEN &&
              m.id == UPORT && m.value == 0,
          "it leaves: PORT_OPEN 0");
    /* Clients that come and go faster than the guest looks: the guest
     * is told the state, at most one message per change. */
    for (int i = 0; i < 5; i++)
        close(unix_connect());
    int c2 = unix_connect();
    int k = 0;
    bool open = false;
    while (k < 20 && ctrl_recv(&r, &m, NULL) == 0 && m.id == UPORT) {
        k++;
        open = m.value == 1;
        if (open && ctrl_quiet(&r))
            break;
    }
    CHECK(open && k <= 12, "6 clients later: %d messages, the last says open",
          k);
    close(c2);
    ctrl_recv(&r, &m, NULL);
    rig_down(&r);
}

/* The socket port with no client: the guest's writes are held up to
 * CHARDEV_OUT_CAP, then its TX chain waits; a client gets every byte. */
static void test_no_peer_backpressure(void)
{
    struct rig r;
    rig_up(&r, V1 | MP);
    if (handshake(&r))
        abort();
    struct chardev *cd = r.cd[UPORT];
    uint32_t n = 100000;
    uint64_t area = fg_alloc(&r.g, n, 16);
    uint8_t *src = fg_host(&r.g, area);
    for (uint32_t i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 7 + i / 253);
    struct fg_seg s = {area, n, false};
    unsigned txq = rxq(UPORT) + 1;
    fg_post(&r.g, txq, &s, 1, false);
    fg_kick(&r.g, txq);
    struct chardev_stats st;
    for (int i = 0; i < 5000; i++) {
        chardev_get_stats(cd, &st);
        if (st.out_bytes >= CHARDEV_OUT_CAP)
            break;
        usleep(1000);
    }
    usleep(50000);
    chardev_get_stats(cd, &st);
    uint32_t id, len;
    CHECK(st.out_bytes == CHARDEV_OUT_CAP && st.out_dropped == 0 &&
              fg_get_used(&r.g, txq, &id, &len) == 0,
          "no client: %llu bytes held, the TX chain waits",
          (unsigned long long)st.out_bytes);
    int c = unix_connect();
    static uint8_t dst[100000];
    size_t got = 0;
    for (int i = 0; i < 20000 && got < n; i++) {
        ssize_t k = recv(c, dst + got, n - got, MSG_DONTWAIT);
        if (k > 0)
            got += (size_t)k;
        else
            usleep(1000);
    }
    CHECK(got == n && !memcmp(src, dst, n),
          "a client connects: all %u bytes, in order", n);
    CHECK(wait_used(&r, txq, &id, &len) == 0, "then the chain completes");
    close(c);
    rig_down(&r);
}

/* Without MULTIPORT: port 0 alone, a plain console. */
static void test_single(void)
{
    struct rig r;
    rig_up(&r, V1);
    if (write(r.in[0][1], "hi", 2) != 2)
        abort();
    uint8_t got[4] = {0};
    CHECK(rx_take(&r, 0, got, 2, NULL) == 0 && !memcmp(got, "hi", 2),
          "no MULTIPORT: port 0 takes input at once");
    uint64_t b = fg_alloc(&r.g, 4, 4);
    memcpy(fg_host(&r.g, b), "ok", 2);
    struct fg_seg s = {b, 2, false};
    fg_post(&r.g, 1, &s, 1, false);
    fg_kick(&r.g, 1);
    char out[4] = {0};
    CHECK(read(r.out[0][0], out, 2) == 2 && !strcmp(out, "ok"), "and sends");
    CHECK(ctrl_send(&r, 0, VSER_DEVICE_READY, 1) == 0 && bad_count(&r) == 1,
          "a control message without MULTIPORT is counted");
    rig_down(&r);
}

/* The classic exchange: "sha256 N" on the ctl port, N bytes on the
 * data port, the digest back on ctl. The host side writes from a
 * thread; the test plays the guest. */
#define BIG (64u << 20)

struct feeder {
    int ctl_fd, data_fd;
    char hex[65];
};

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 12) * 7);
}

static void *feed(void *arg)
{
    struct feeder *f = arg;
    static uint8_t chunk[1 << 16];
    struct sha256 h;
    sha256_init(&h);
    char cmd[32];
    int n = snprintf(cmd, sizeof(cmd), "sha256 %u\n", BIG);
    if (write(f->ctl_fd, cmd, (size_t)n) != n)
        return NULL;
    for (size_t off = 0; off < BIG; off += sizeof(chunk)) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = pat(off + i);
        sha256_update(&h, chunk, sizeof(chunk));
        for (size_t w = 0; w < sizeof(chunk);) {
            ssize_t k = write(f->data_fd, chunk + w, sizeof(chunk) - w);
            if (k <= 0)
                return NULL;
            w += (size_t)k;
        }
    }
    uint8_t d[32];
    sha256_final(&h, d);
    sha256_hex(d, f->hex);
    return NULL;
}

static void test_bulk_sha(void)
{
    struct rig r;
    rig_up(&r, V1 | MP);
    if (handshake(&r))
        abort();
    const unsigned ctl = 1, data = 2;
    ctrl_send(&r, ctl, VSER_PORT_OPEN, 1);
    ctrl_send(&r, data, VSER_PORT_OPEN, 1);
    struct feeder f = {.ctl_fd = r.in[ctl][1], .data_fd = r.in[data][1]};
    pthread_t t;
    pthread_create(&t, NULL, feed, &f);
    /* The command is written whole: its length is known. */
    char line[32] = {0};
    int ll = snprintf(line, sizeof(line), "sha256 %u\n", BIG);
    memset(line, 0, sizeof(line));
    if (rx_take(&r, ctl, (uint8_t *)line, (size_t)ll, NULL))
        ll = 1;
    unsigned long want = strtoul(line + 7, NULL, 10);
    CHECK(!strncmp(line, "sha256 ", 7) && want == BIG,
          "the command arrives on the ctl port: %.*s", (int)ll - 1, line);
    struct sha256 h;
    sha256_init(&h);
    int e = rx_take(&r, data, NULL, want, &h);
    if (e) { /* the feeder would block for ever: nothing left to test */
        CHECK(0, "64 MiB on the data port: %s", strerror(-e));
        _exit(1);
    }
    uint8_t d[32];
    char hex[66];
    sha256_final(&h, d);
    sha256_hex(d, hex);
    hex[64] = '\n';
    uint64_t b = fg_alloc(&r.g, 65, 8);
    memcpy(fg_host(&r.g, b), hex, 65);
    struct fg_seg s = {b, 65, false};
    fg_post(&r.g, rxq(ctl) + 1, &s, 1, false);
    fg_kick(&r.g, rxq(ctl) + 1);
    char answer[66] = {0};
    size_t got = 0;
    while (got < 65) {
        ssize_t k = read(r.out[ctl][0], answer + got, 65 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    pthread_join(t, NULL);
    CHECK(e == 0 && got == 65 && !memcmp(answer, f.hex, 64),
          "64 MiB on the data port; the SHA-256 answered on ctl matches "
          "(%.16s...)",
          f.hex);
    rig_down(&r);
}

static void test_bad_config(void)
{
    struct vser *s;
    struct chardev *cd = pipes_chardev(-1, -1);
    CHECK(vser_create(&s, 0) == -EINVAL &&
              vser_create(&s, VSER_MAX_PORTS + 1) == -EINVAL,
          "0 or %u ports refused", VSER_MAX_PORTS + 1);
    if (vser_create(&s, 4))
        abort();
    CHECK(vser_add_port(s, 4, "x", cd, false) == -EINVAL &&
              vser_add_port(s, 1, NULL, cd, false) == -EINVAL &&
              vser_add_port(s, 1, "a b", cd, false) == -EINVAL &&
              vser_add_port(s, 2, NULL, cd, true) == -EINVAL,
          "bad ids, names and consoles refused");
    CHECK(vser_add_port(s, 1, "a", cd, false) == 0 &&
              vser_add_port(s, 1, "b", cd, false) == -EEXIST &&
              vser_add_port(s, 2, "b", cd, false) == -EBUSY,
          "a port id once; a chardev's input for one port only");
    vser_destroy(s);
    chardev_close(cd);
}

/* --port: parsing and grouping into devices. */
static void test_plan(void)
{
    static struct vser_plan p;
    static char specs[80][64];
    char err[512];
    int r = 0;
    for (int i = 0; i < 40 && r == 0; i++) {
        snprintf(specs[i], sizeof(specs[i]), "name=p%d,unix=/s%d,server", i, i);
        r = vser_plan_add(&p, specs[i], err, sizeof(err));
    }
    CHECK(r == 0 && p.dev[0].n == VSER_NAMED_MAX && p.dev[1].n == 9 &&
              !strcmp(p.dev[1].port[0].name, "p31") &&
              p.dev[1].port[0].backend.kind == CHARDEV_UNIX_SERVER,
          "40 ports: 31 on device 0, the rest on device 1");
    CHECK(vser_plan_add(&p, "name=x,dev=5,pty", err, sizeof(err)) == 0 &&
              p.dev[5].n == 1 && p.dev[5].port[0].backend.kind == CHARDEV_PTY,
          "dev=5 picks device 5");
    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"name=p3,pty", "exists already"},
        {"pty", "needs a name"},
        {"name=q", "no backend"},
        {"name=q,dev=8,pty", "out of range"},
        {"name=q,pty,file=/f", "more than one backend"},
        {"name=a b,pty", "printable"},
        {"name=q,pty,color=red", "color"},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        r = vser_plan_add(&p, bad[i].spec, err, sizeof(err));
        CHECK(r < 0 && strstr(err, bad[i].want) == NULL ? 0 : r < 0, "%s: %s",
              bad[i].spec, err);
    }
    for (int i = 0; i < VSER_NAMED_MAX - 1 && r != -ENOSPC; i++) {
        snprintf(specs[40 + (i % 40)], 64, "name=d0x%d,dev=0,pty", i);
        r = vser_plan_add(&p, specs[40 + (i % 40)], err, sizeof(err));
    }
    CHECK(r == -ENOSPC && strstr(err, "device 0 has 31 ports"),
          "a full device: %s", err);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_path, sizeof(sock_path), "/tmp/kvmini-vser-%d.sock",
             (int)getpid());
    test_bad_config();
    test_plan();
    test_handshake();
    test_hostile();
    test_failure_reports_limited();
    test_open_close();
    test_no_peer_backpressure();
    test_single();
    test_bulk_sha();
    return tap_done();
}
