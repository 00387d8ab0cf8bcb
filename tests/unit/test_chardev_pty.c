/* SPDX-License-Identifier: MIT */
/* The pty backend: raw mode, both directions, a peer closing and
 * reopening, output held while nobody has it open, then back-pressure,
 * and no spinning meanwhile. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "tests/unit/chardev_rig.h"
#include "tests/unit/tap.h"

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 13 + i / 253);
}

static int64_t cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int peer_open(struct chardev *c)
{
    return open(chardev_path(c), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct chardev *c;
    char err[256];
    int r = chardev_pty_open(&c, "console", err, sizeof(err));
    CHECK(r == 0, "a pty backend opens (%s)", r ? err : "ok");
    if (r)
        return tap_done();
    const char *path = chardev_path(c);
    struct stat st;
    CHECK(path && !strncmp(path, "/dev/pts/", 9) && stat(path, &st) == 0 &&
              S_ISCHR(st.st_mode),
          "its path is a /dev/pts/N terminal: %s", path ? path : "(none)");
    CHECK(chardev_connected(c), "a pty always counts as connected");
    struct fe f;
    fe_init(&f);
    CHECK(chardev_attach(c, &f.cl, true) == 0, "attach an input frontend");

    /* Output before anybody opened it waits for the first opener. */
    CHECK(chardev_write(c, "early\n", 6) == 6, "output with nobody there");
    usleep(50000);
    int p = peer_open(c);
    struct termios t;
    CHECK(p >= 0 && tcgetattr(p, &t) == 0 && !(t.c_lflag & (ICANON | ECHO)) &&
              !(t.c_oflag & OPOST) && !(t.c_iflag & ICRNL),
          "the peer finds it raw: no echo, no line editing, no CR/LF change");
    char b[64] = {0};
    CHECK(read_all(p, b, 6) == 6 && !memcmp(b, "early\n", 6),
          "the first opener reads what was written before it came");
    CHECK(write(p, "hi\r", 3) == 3 && WAIT_FOR(chardev_in_avail(c) == 3) &&
              chardev_read(c, b, sizeof(b)) == 3 && !memcmp(b, "hi\r", 3),
          "typed bytes reach the guest untouched (CR stays CR)");
    CHECK(f.in >= 1, "... announced by EV_IN");

    /* The peer leaves; output meanwhile is held; a new peer reads it. */
    close(p);
    usleep(50000);
    CHECK(chardev_write(c, "while away\n", 11) == 11,
          "output after the peer closed is taken");
    int64_t cpu0 = cpu_ms(), t0 = ms();
    usleep(500000);
    int64_t spent = cpu_ms() - cpu0, wall = ms() - t0;
    CHECK(spent < wall / 2,
          "nobody has it open: no busy loop (%lld ms CPU in %lld ms; a "
          "spin would take all of it)",
          (long long)spent, (long long)wall);
    p = peer_open(c);
    memset(b, 0, sizeof(b));
    CHECK(p >= 0 && read_all(p, b, 11) == 11 && !memcmp(b, "while away\n", 11),
          "a peer reopening reads what was held for it");
    CHECK(write(p, "back", 4) == 4 && WAIT_FOR(chardev_in_avail(c) == 4),
          "... and its typing reaches the guest");
    chardev_read(c, b, sizeof(b));
    close(p);

    /* Nobody reads: the writer is turned away at a bound, not lost. */
    static uint8_t src[1 << 20], dst[1 << 20];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = pat(i);
    size_t sent = 0;
    for (int i = 0; i < 20; i++) { /* let the thread move what it can */
        size_t n;
        while ((n = chardev_write(c, src + sent, 1024)) > 0)
            sent += n;
        usleep(10000);
    }
    CHECK(sent >= CHARDEV_OUT_CAP && sent < sizeof(src),
          "nobody reads: back-pressure after %zu bytes (ours %u + the "
          "kernel's pty buffer)",
          sent, (unsigned)CHARDEV_OUT_CAP);
    unsigned outs = f.out;
    p = peer_open(c);
    size_t got = read_all(p, dst, sent);
    CHECK(got == sent && !memcmp(src, dst, got),
          "a reader that comes gets all %zu bytes, in order", got);
    CHECK(WAIT_FOR(f.out > outs), "room freed: EV_OUT");
    size_t more = cd_write_all(c, src + sent, 4096);
    CHECK(more == 4096 && read_all(p, dst, 4096) == 4096 &&
              !memcmp(dst, src + sent, 4096),
          "the writer goes on where it stopped");
    struct chardev_stats cs;
    chardev_get_stats(c, &cs);
    CHECK(cs.out_dropped == 0 && cs.in_dropped == 0, "nothing dropped");
    chardev_detach(c, &f.cl);
    chardev_close(c);
    CHECK(read_all(p, b, 1) == 0, "after close the peer sees the end");
    close(p);
    return tap_done();
}
