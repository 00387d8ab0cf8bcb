/* SPDX-License-Identifier: MIT */
/*
 * Host-side test of the guest's multiport virtio-serial driver and its
 * services (vport.c, vportcheck.c, vportsrv.c) against kvmini's own
 * device (virtio/serial*.c, through vser_bridge.c): the handshake found
 * through the guest's device list, the console port, echo, the ctl/data
 * exchange (digest compared with one computed here), data that arrives
 * before its command, busy, bad and unknown commands, a port without a
 * data sibling, quit, and the stats lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest/host/fake_serial.h"
#include "guest/host/vser_bridge.h"
#include "guest/lib.h"
#include "guest/sha256.h"
#include "guest/tg.h"
#include "guest/vport.h"
#include "tests/unit/tap.h"

/* --- what the driver calls outside its own files ---------------------- */
static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void tg_idle(struct tg *tg)
{
    (void)tg;
    usleep(100); /* the device's workers run meanwhile */
}

void net_idle(struct tg *tg)
{
    tg_idle(tg);
}

uint64_t timer_deadline(const struct timer *t, uint64_t us)
{
    (void)t;
    return now_us() + us;
}

bool timer_expired(uint64_t deadline)
{
    return now_us() >= deadline;
}

/* No interrupts here (guest/host/no_irq.c), and no irqwait. */
bool irqwait_halt(struct irqwait *w, uint32_t us)
{
    (void)w, (void)us;
    return false;
}

uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a, uint64_t b)
{
    return fn(a, b);
}

/* --- the rig ------------------------------------------------------------ */
extern char __bss_start[], _end[];

static struct tg tg;
static const char *const names[] = {"t.echo", "x.ctl", "x.data", "lone.ctl",
                                    "misc"};
#define ECHO 1
#define CTL 2
#define DATA 3
#define LONE 4
#define NPORTS 5

static void put(unsigned id, const void *p, size_t n)
{
    if (write(vb_in(id), p, n) != (ssize_t)n)
        abort(); /* a pipe takes 64 KiB: the tests stay below */
}

/* Serve until port id's output holds `want` bytes (5 s at most). */
static size_t take(unsigned id, char *out, size_t want)
{
    size_t got = 0;
    uint64_t end = now_us() + 5000000;
    while (got < want && now_us() < end) {
        ssize_t k = read(vb_out(id), out + got, want - got);
        if (k > 0)
            got += (size_t)k;
        else
            vport_idle(&tg);
    }
    out[got] = 0;
    return got;
}

/* A command on a ctl port, its one-line answer. */
static bool ask(unsigned id, const char *cmd, const char *answer)
{
    char got[128];
    put(id, cmd, strlen(cmd));
    size_t n = take(id, got, strlen(answer));
    if (n != strlen(answer) || strcmp(got, answer)) {
        printf("# asked %u '%s': got '%s'\n", id, cmd, got);
        return false;
    }
    return true;
}

static void hex_of(const uint8_t *p, size_t n, char hex[66])
{
    struct sha256 h;
    uint8_t d[32];
    sha256_init(&h);
    sha256_update(&h, p, n);
    sha256_final(&h, d);
    sha256_hex(d, hex);
    hex[64] = '\n';
    hex[65] = 0;
}

static void test_handshake(void)
{
    static char cl[] = "expect_ports=5 vport_hello";
    tg.bi.cmdline = cl;
    tg.bi.cmdline_len = sizeof(cl) - 1;
    tg.timer.tsc_khz = 1000000;
    tg.dev.n = 1;
    tg.dev.dev[0] = (struct vdev){.base = VB_BASE,
                                  .size = 0x200,
                                  .src = "dt",
                                  .magic = VIRTIO_MAGIC,
                                  .version = 2,
                                  .device_id = VIRTIO_ID_CONSOLE};
    fake_serial_clear();
    CHECK(vport_wanted(&tg), "a console device: vport wanted");
    vport_checks(&tg);
    CHECK(strstr(fake_serial_out, "tg: check vport_start ok dev=0 -\n") &&
              strstr(fake_serial_out,
                     "tg: check vport_ports ok ports=5 want=5\n"),
          "handshake: the device started, 5 named ports");
    CHECK(strstr(fake_serial_out, "max_ports=6 ") &&
              strstr(fake_serial_out, "tg: vport dev=0 port=1 name=t.echo "
                                      "role=echo host_open=1\n") &&
              strstr(fake_serial_out, "tg: vport dev=0 port=3 name=x.data "
                                      "role=data host_open=1\n") &&
              strstr(fake_serial_out, "tg: vport dev=0 port=5 name=misc "
                                      "role=other host_open=1\n"),
          "names, roles and the peer state came through the control queue");
    char line[32];
    CHECK(strstr(fake_serial_out, "tg: vport dev=0 port=0 console hello=1\n") &&
              take(0, line, 18) == 18 && !strcmp(line, "tg-vport: console\n"),
          "CONSOLE_PORT: port 0 is the console; vport_hello's line came out");
}

static void test_echo(void)
{
    char got[64];
    put(ECHO, "ping\n", 5);
    CHECK(take(ECHO, got, 5) == 5 && !strcmp(got, "ping\n"),
          ".echo: a line comes back");
    put(ECHO, "a\nbb\nccc\n", 9);
    CHECK(take(ECHO, got, 9) == 9 && !strcmp(got, "a\nbb\nccc\n"),
          ".echo: three lines at once, in order");
    CHECK(vb_irqs() == 0, "no interrupt asked for without the idle tick");
}

static void test_exchange(void)
{
    enum { N = 60000 };
    static uint8_t data[N];
    char hex[66], cmd[32];
    for (size_t i = 0; i < N; i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    hex_of(data, N, hex);
    snprintf(cmd, sizeof(cmd), "sha256 %u\n", N);
    put(CTL, cmd, strlen(cmd));
    put(DATA, data, N);
    char got[80];
    CHECK(take(CTL, got, 65) == 65 && !strcmp(got, hex),
          "sha256 %u: the digest of the data port's bytes", N);
    CHECK(strstr(fake_serial_out, "tg: vport sha256 port=x.data bytes=60000 "),
          "... and the guest's report line");

    /* Bytes before the command wait for it; none are lost. */
    put(DATA, "early", 5);
    for (int i = 0; i < 50; i++)
        vport_idle(&tg);
    hex_of((const uint8_t *)"early", 5, hex);
    CHECK(ask(CTL, "sha256 5\r\n", hex),
          "data sent before its command is hashed once the command comes");

    /* A second command while the first waits: busy. */
    hex_of((const uint8_t *)"0123456789", 10, hex);
    char both[80];
    snprintf(both, sizeof(both), "error busy\n%s", hex);
    put(CTL, "sha256 10\nsha256 10\n", 20);
    put(DATA, "0123456789", 10);
    CHECK(take(CTL, got, strlen(both)) == strlen(both) && !strcmp(got, both),
          "a second sha256 while one waits: 'error busy', then the digest");
    hex_of(NULL, 0, hex);
    CHECK(ask(CTL, "sha256 0\n", hex), "sha256 0: the empty digest at once");
}

static void test_errors(void)
{
    CHECK(ask(CTL, "sha256 12x\n", "error bad-length\n"),
          "a bad length: error bad-length");
    CHECK(ask(CTL, "frobnicate\n", "error unknown-command\n"),
          "an unknown command: error unknown-command");
    CHECK(ask(LONE, "sha256 4\n", "error no-data-port\n"),
          "a ctl port without STEM.data: error no-data-port");
    char longl[200];
    memset(longl, 'x', sizeof(longl));
    longl[sizeof(longl) - 1] = '\n';
    put(CTL, longl, sizeof(longl));
    char got[64];
    CHECK(take(CTL, got, 20) == 20 && !strcmp(got, "error line-too-long\n"),
          "a line past %u bytes: error line-too-long", VPORT_LINE_MAX);
    put(CTL, "\n\n", 2);
    CHECK(ask(CTL, "quit\n", "bye\n") && vport_quit(&tg),
          "empty lines ignored; quit answers bye and ends the hold");
}

static void test_finish(void)
{
    fake_serial_clear();
    vport_finish(&tg);
    CHECK(strstr(fake_serial_out, "tg: vport dev=0 stats ctrl_in=") &&
              strstr(fake_serial_out, " ctrl_bad=0\n") &&
              strstr(fake_serial_out, "tg: vport dev=0 port=1 stats rx=14 "
                                      "tx=14\n") &&
              strstr(fake_serial_out, "tg: vport dev=0 port=3 stats "
                                      "rx=60015 tx=0\n"),
          "stats: no bad control message, echo and data bytes counted");
}

int main(void)
{
    int r = vb_create((uint64_t)__bss_start, (uint64_t)(_end - __bss_start),
                      names, NPORTS, true);
    if (r) {
        CHECK(0, "kvmini's virtio-serial device for the driver: %s",
              strerror(-r));
        return tap_done();
    }
    test_handshake();
    test_echo();
    test_exchange();
    test_errors();
    test_finish();
    vb_destroy();
    return tap_done();
}
