/* SPDX-License-Identifier: MIT */
/* Character backends: the Ctrl-A filter, back-pressure both ways without
 * loss, escapes seen while the guest takes nothing, bounded close. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/term.h"
#include "tests/unit/chardev_rig.h"
#include "tests/unit/tap.h"

static size_t filt(struct term *t, const char *in, char *out, bool *quit)
{
    size_t n = strlen(in);
    size_t k = term_filter(t, (const uint8_t *)in, n, (uint8_t *)out, quit);
    out[k] = 0;
    return k;
}

/* issue 15 item 5: the escape rules, one call and split across calls. */
static void test_filter(void)
{
    struct term t = {.is_tty = true};
    char out[32];
    bool q;
    CHECK(filt(&t, "a\001\001b", out, &q) == 3 && !strcmp(out, "a\001b") && !q,
          "Ctrl-A Ctrl-A sends one literal Ctrl-A");
    CHECK(filt(&t, "\001c", out, &q) == 2 && !strcmp(out, "\001c") && !q,
          "Ctrl-A then another key passes both through");
    CHECK(filt(&t, "ab\001xcd", out, &q) == 2 && !strcmp(out, "ab") && q,
          "Ctrl-A x quits; bytes after it are dropped");
    t.escape = false;
    CHECK(filt(&t, "\001X", out, &q) == 0 && q, "Ctrl-A X quits too");
    t.escape = false;
    CHECK(filt(&t, "z\001", out, &q) == 1 && !q && t.escape,
          "a trailing Ctrl-A is held back");
    CHECK(filt(&t, "x", out, &q) == 0 && q, "... and x in the next read quits");
    t.escape = false;
    filt(&t, "\001", out, &q);
    CHECK(filt(&t, "\001", out, &q) == 1 && !strcmp(out, "\001") && !q,
          "Ctrl-A | Ctrl-A across reads: one Ctrl-A");
    filt(&t, "\001", out, &q);
    CHECK(filt(&t, "q", out, &q) == 2 && !strcmp(out, "\001q") && !q,
          "Ctrl-A | q across reads: both");
    struct term p = {.is_tty = false};
    CHECK(filt(&p, "\001x\001\001", out, &q) == 4 && !q,
          "not a terminal: no escapes, bytes pass untouched");
}

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

/* Output: bytes arrive in order; a full buffer turns the writer away
 * until the reader drains, then EV_OUT; nothing is lost meanwhile. */
static void test_output(void)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out) || fcntl(out[1], F_SETPIPE_SZ, 4096) < 0)
        abort();
    struct chardev *c = pipes_chardev(in[0], out[1]);
    struct fe f;
    fe_init(&f);
    CHECK(chardev_attach(c, &f.cl, false) == 0, "attach an output frontend");
    size_t sent = 0, got = 0;
    uint8_t b[512];
    /* Fill until the writer is turned away while the host pipe is full:
     * only then is "full" stable, because the backend thread has nowhere
     * left to drain to (on a loaded machine it may still be filling the
     * pipe when the writer first sees a short write). */
    int cap = fcntl(out[1], F_GETPIPE_SZ), inpipe = 0;
    int64_t end = ms() + GUARD_MS;
    for (;;) {
        for (int i = 0; i < 100000; i++) {
            for (size_t k = 0; k < sizeof(b); k++)
                b[k] = pat(sent + k);
            size_t n = chardev_write(c, b, sizeof(b));
            sent += n;
            if (n < sizeof(b))
                break;
        }
        ioctl(out[0], FIONREAD, &inpipe);
        if (inpipe >= cap || ms() >= end)
            break;
        usleep(1000);
    }
    CHECK(sent >= CHARDEV_OUT_CAP && sent <= CHARDEV_OUT_CAP + 65536,
          "nobody reads: the writer is turned away after %zu bytes", sent);
    CHECK(chardev_write(c, b, 1) == 0 && f.out == 0,
          "still full, no room event yet");
    int bad = 0;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    end = ms() + GUARD_MS;
    while (got < sent && ms() < end) {
        ssize_t n = read(out[0], b, sizeof(b));
        if (n <= 0) {
            usleep(1000);
            continue;
        }
        for (ssize_t k = 0; k < n; k++)
            bad += b[k] != pat(got + k);
        got += (size_t)n;
    }
    CHECK(got == sent && !bad, "the reader gets all %zu bytes in order", got);
    CHECK(WAIT_FOR(f.out >= 1), "room freed: EV_OUT");
    struct chardev_stats st;
    chardev_get_stats(c, &st);
    CHECK(st.out_bytes == sent && st.out_written == sent && st.out_dropped == 0,
          "stats: %llu accepted, %llu written, none dropped",
          (unsigned long long)st.out_bytes, (unsigned long long)st.out_written);

    /* The reader goes away: output is discarded, not held forever. */
    close(out[0]);
    CHECK(chardev_write(c, "gone", 4) == 4, "write after the reader left");
    CHECK(WAIT_FOR((chardev_get_stats(c, &st), st.out_dropped >= 4)),
          "... discarded and counted");
    CHECK(chardev_write(c, b, sizeof(b)) == sizeof(b),
          "... and later writes are taken at once");
    chardev_close(c);
    close(out[1]);
    close(in[0]);
    close(in[1]);
}

/* Input from a pipe (no escapes): read only while there is room, so a
 * guest that takes nothing loses nothing; EV_IN only to the input client. */
static void test_input(void)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        abort();
    struct chardev *c = pipes_chardev(in[0], out[1]);
    struct fe f, g;
    fe_init(&f);
    fe_init(&g);
    CHECK(chardev_attach(c, &f.cl, true) == 0 &&
              chardev_attach(c, &g.cl, false) == 0,
          "an input frontend and an output-only one");
    CHECK(chardev_attach(c, &g.cl, true) == -EBUSY, "one input client only");
    static uint8_t src[20000], dst[20000];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = pat(i);
    CHECK(write(in[1], src, sizeof(src)) == sizeof(src), "20000 bytes typed");
    CHECK(WAIT_FOR(chardev_in_avail(c) == CHARDEV_IN_CAP) && f.in == 1 &&
              g.in == 0,
          "the buffer fills; EV_IN once, to the input client only");
    int left = 0;
    usleep(20000);
    ioctl(in[0], FIONREAD, &left);
    CHECK(left == (int)(sizeof(src) - CHARDEV_IN_CAP),
          "the rest waits in the pipe (%d bytes)", left);
    size_t got = 0;
    int64_t end = ms() + GUARD_MS;
    while (got < sizeof(src) && ms() < end) {
        size_t n = chardev_read(c, dst + got, 777); /* a slow guest */
        if (!n)
            usleep(1000);
        got += n;
    }
    CHECK(got == sizeof(src) && !memcmp(src, dst, got),
          "all 20000 bytes reach the guest in order");
    struct chardev_stats st;
    chardev_get_stats(c, &st);
    CHECK(st.in_dropped == 0 && st.in_bytes == sizeof(src), "none dropped");
    CHECK(!chardev_in_eof(c), "input still open");
    close(in[1]);
    CHECK(WAIT_FOR(chardev_in_eof(c)) && f.in >= 2,
          "the writer closed: EOF, announced by EV_IN");
    chardev_detach(c, &g.cl);
    chardev_close(c);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

/* Input that arrived before the frontend attached (kvmini opens stdin
 * before the devices exist) is announced to it when it attaches. */
static void test_late_attach(void)
{
    int in[2], out[2];
    struct chardev *c = pipes_open(in, out, 0);
    CHECK(write(in[1], "early", 5) == 5 && WAIT_FOR(chardev_in_avail(c) == 5),
          "input buffered with no frontend attached");
    struct fe f;
    fe_init(&f);
    CHECK(chardev_attach(c, &f.cl, true) == 0 && WAIT_FOR(f.in == 1),
          "the input client attached later gets EV_IN");
    char b[8] = {0};
    CHECK(chardev_read(c, b, sizeof(b)) == 5 && !strcmp(b, "early"),
          "... and the bytes");
    pipes_close(c, in, out);
}

/* Closing with a reader that never reads returns within the flush bound
 * (what the guest wrote is given one bounded chance). */
static void test_close_stalled(void)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out) || fcntl(out[1], F_SETPIPE_SZ, 4096) < 0)
        abort();
    struct chardev *c = pipes_chardev(in[0], out[1]);
    uint8_t b[1024] = {0};
    while (chardev_write(c, b, sizeof(b)) == sizeof(b))
        ;
    int64_t t0 = ms();
    chardev_close(c);
    int64_t took = ms() - t0;
    CHECK(took < GUARD_MS, "close with a stalled reader returned (%lld ms)",
          (long long)took);
    for (int i = 0; i < 2; i++) {
        close(in[i]);
        close(out[i]);
    }
}

/* The stdio backend on a terminal: raw mode, Ctrl-A escapes through the
 * thread, Ctrl-A x seen while the guest takes nothing, size, restore. */
static _Atomic int quits;

static void on_quit(void *ctx)
{
    (void)ctx;
    atomic_fetch_add_explicit(&quits, 1, memory_order_seq_cst);
}

static void test_tty(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        printf("not ok %d - no pty: %s\n", ++tap_n, strerror(errno));
        tap_fail++;
        return;
    }
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termios before, during, after;
    struct winsize ws = {.ws_row = 33, .ws_col = 111};
    if (s < 0 || tcgetattr(s, &before) || ioctl(s, TIOCSWINSZ, &ws))
        abort();
    struct chardev *c;
    struct chardev_stdio_config cfg = {
        .in_fd = s, .out_fd = s, .raw = true, .quit = on_quit};
    CHECK(chardev_stdio_open(&c, &cfg) == 0, "stdio backend on a pty");
    tcgetattr(s, &during);
    CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG)), "raw mode is on");
    uint16_t cols = 0, rows = 0;
    CHECK(chardev_winsize(c, &cols, &rows) == 0 && cols == 111 && rows == 33,
          "terminal size 111x33");

    CHECK(write(m, "ab\001\001c\001d", 7) == 7, "type ab^A^Ac^Ad");
    char got[16] = {0};
    CHECK(WAIT_FOR(chardev_in_avail(c) == 6) && chardev_read(c, got, 16) == 6 &&
              !memcmp(got, "ab\001c\001d", 6),
          "the guest gets ab^Ac^Ad");

    /* The guest takes nothing: fill the buffer, type more, then ^A x. */
    static char typed[CHARDEV_IN_CAP + 3000];
    for (size_t i = 0; i < sizeof(typed); i++)
        typed[i] = 'a' + i % 26;
    size_t off = 0;
    while (off < sizeof(typed)) { /* the pty takes a few KiB at a time */
        ssize_t w = write(m, typed + off, sizeof(typed) - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    CHECK(
        off == sizeof(typed) && WAIT_FOR(chardev_in_avail(c) == CHARDEV_IN_CAP),
        "typed %zu bytes; the buffer holds %u", off, (unsigned)CHARDEV_IN_CAP);
    CHECK(write(m, "\001", 1) == 1, "Ctrl-A");
    usleep(20000); /* likely a separate read: the split is tested above */
    CHECK(write(m, "x", 1) == 1 && WAIT_FOR(quits == 1),
          "Ctrl-A x is seen although the guest takes nothing");
    struct chardev_stats st;
    chardev_get_stats(c, &st);
    CHECK(st.in_dropped == sizeof(typed) - CHARDEV_IN_CAP,
          "what did not fit was dropped and counted (%llu)",
          (unsigned long long)st.in_dropped);
    static char held[CHARDEV_IN_CAP];
    CHECK(chardev_read(c, held, sizeof(held)) == CHARDEV_IN_CAP &&
              !memcmp(held, typed, CHARDEV_IN_CAP),
          "the buffered bytes are the first ones typed, intact");
    chardev_close(c);
    tcgetattr(s, &after);
    CHECK(!memcmp(&before.c_lflag, &after.c_lflag, sizeof(after.c_lflag)) &&
              after.c_iflag == before.c_iflag,
          "close restores the terminal");
    close(s);
    close(m);
}

static unsigned count_threads(void)
{
    char line[256];
    unsigned n = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %u", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* pump: no backend thread; chardev_pump does its work, on this thread,
 * only when called (the fuzzers' deterministic mode). */
static void test_pump(void)
{
    int in[2], out[2];
    if (pipe2(in, O_NONBLOCK) || pipe2(out, O_NONBLOCK))
        abort();
    unsigned threads = count_threads();
    struct chardev *c;
    struct chardev_stdio_config cfg = {
        .in_fd = in[0], .out_fd = out[1], .pump = true};
    CHECK(chardev_stdio_open(&c, &cfg) == 0 && count_threads() == threads,
          "pump: opened without a thread");
    struct fe f;
    fe_init(&f);
    chardev_attach(c, &f.cl, true);
    char buf[64] = "";
    CHECK(write(in[1], "abc", 3) == 3 && chardev_write(c, "xyz", 3) == 3,
          "input typed, output written");
    CHECK(chardev_in_avail(c) == 0 && read(out[0], buf, sizeof(buf)) < 0 &&
              f.in == 0,
          "pump: nothing moves until pumped");
    CHECK(chardev_pump(c) == 1 && f.in == 1 && chardev_in_avail(c) == 3 &&
              read(out[0], buf, sizeof(buf)) == 3 && !memcmp(buf, "xyz", 3),
          "pump: one round moves both ways and notifies on this thread");
    CHECK(chardev_pump(c) == 0, "pump: nothing left, 0");
    CHECK(chardev_read(c, buf, sizeof(buf)) == 3 && !memcmp(buf, "abc", 3),
          "pump: the input reaches the frontend");
    close(in[1]);
    CHECK(chardev_pump(c) == 1 && chardev_in_eof(c) && f.in == 2,
          "pump: end of input seen and announced");
    chardev_detach(c, &f.cl);
    chardev_close(c);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_filter();
    test_output();
    test_input();
    test_late_attach();
    test_close_stalled();
    test_tty();
    test_pump();
    return tap_done();
}
