/* SPDX-License-Identifier: MIT */
/* The unix socket backends. Server: mode 0600, both directions, output
 * held with no client, peer loss and the next client, a client's
 * half-close (not a hangup), a second client
 * turned away, stale socket reuse, a non-socket file or a live listener
 * refused, waiting for the first client, the file removed at close.
 * Client: the error when nobody listens, reconnecting after the server
 * goes away. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/chardev_rig.h"
#include "tests/unit/tap.h"

static char dir[64], sock[128];
static char err[512];

static int sun_of(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
    return 0;
}

static int client(const char *path)
{
    struct sockaddr_un a;
    sun_of(&a, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int listener(const char *path)
{
    struct sockaddr_un a;
    sun_of(&a, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(fd, 4) < 0)
        abort();
    return fd;
}

static void test_server(void)
{
    struct chardev *c;
    int r = chardev_unix_server_open(&c, sock, "console", err, sizeof(err));
    CHECK(r == 0, "server listens on %s (%s)", sock, r ? err : "ok");
    if (r)
        return;
    struct stat st;
    CHECK(lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
              (st.st_mode & 0777) == 0600,
          "the socket file exists, mode 0600 (got %o)", st.st_mode & 0777);
    CHECK(!chardev_connected(c) && !chardev_in_eof(c),
          "no client yet: not connected, input not at its end");
    struct fe f;
    fe_init(&f);
    chardev_attach(c, &f.cl, true);

    /* Output before any client: held, then delivered to the first. */
    CHECK(chardev_write(c, "before\n", 7) == 7, "output with no client taken");
    static uint8_t big[CHARDEV_OUT_CAP];
    memset(big, 'z', sizeof(big));
    size_t held = 7 + chardev_write(c, big, sizeof(big));
    CHECK(held == CHARDEV_OUT_CAP && chardev_write(c, "x", 1) == 0,
          "held up to the bound (%zu bytes), then the writer is turned "
          "away",
          held);
    int a = client(sock);
    CHECK(a >= 0 && WAIT_FOR(chardev_connected(c)) && f.peer >= 1,
          "a client connects: connected, EV_PEER");
    static uint8_t got[CHARDEV_OUT_CAP];
    CHECK(read_all(a, got, held) == held && !memcmp(got, "before\n", 7) &&
              got[held - 1] == 'z',
          "it reads all %zu held bytes in order", held);
    CHECK(WAIT_FOR(f.out >= 1), "the writer gets EV_OUT");
    CHECK(write(a, "in1", 3) == 3 && WAIT_FOR(chardev_in_avail(c) == 3),
          "the client's bytes reach the guest");
    char b[64] = {0};
    chardev_read(c, b, sizeof(b));

    /* A second client while the first is there is told and closed. */
    int x = client(sock);
    memset(b, 0, sizeof(b));
    CHECK(x >= 0 && read_all(x, b, sizeof(b) - 1) > 0 &&
              strstr(b, "busy, one client at a time"),
          "a second client gets 'busy' and EOF: %s", b);
    close(x);
    CHECK(chardev_connected(c), "the first client stays connected");
    CHECK(chardev_write(c, "still\n", 6) == 6 && read_all(a, b, 6) == 6 &&
              !memcmp(b, "still\n", 6),
          "... and keeps its output");

    /* The client sends, then leaves: its bytes still arrive; output
     * meanwhile waits for the next client. */
    CHECK(write(a, "last words", 10) == 10, "the client sends, then closes");
    close(a);
    CHECK(WAIT_FOR(!chardev_connected(c)), "peer loss seen");
    CHECK(cd_read_all(c, b, 10) == 10 && !memcmp(b, "last words", 10),
          "its last bytes reached the guest");
    CHECK(!chardev_in_eof(c), "input is not at its end: another may come");
    CHECK(chardev_write(c, "for the next\n", 13) == 13, "output while alone");
    int a2 = client(sock);
    memset(b, 0, sizeof(b));
    CHECK(a2 >= 0 && read_all(a2, b, 13) == 13 &&
              !memcmp(b, "for the next\n", 13),
          "the next client gets what was written meanwhile");

    /* A client that half-closes (socat when its input ends) is still
     * there: it gets the answer, and only its full close is a hangup. */
    CHECK(write(a2, "ask", 3) == 3 && shutdown(a2, SHUT_WR) == 0,
          "a client sends, then shuts its writing side");
    CHECK(cd_read_all(c, b, 3) == 3 && !memcmp(b, "ask", 3),
          "its bytes reach the guest");
    usleep(100000); /* time for the backend to see the end of its input */
    CHECK(chardev_connected(c) && !chardev_in_eof(c),
          "a half-close is not a hangup: still connected");
    memset(b, 0, sizeof(b));
    CHECK(chardev_write(c, "answer", 6) == 6 && read_all(a2, b, 6) == 6 &&
              !memcmp(b, "answer", 6),
          "the answer reaches the half-closed client");

    /* A client that stops reading and leaves: output is not lost. */
    shutdown(a2, SHUT_RDWR);
    close(a2);
    CHECK(WAIT_FOR(!chardev_connected(c)), "a client gone mid-stream");
    size_t w = 0;
    for (int i = 0; i < 100 && w < 1000; i++)
        w += chardev_write(c, big, 1000 - w);
    int a3 = client(sock);
    CHECK(a3 >= 0 && read_all(a3, got, 1000) == 1000,
          "output written after it left goes to the next whole");
    struct chardev_stats cs;
    chardev_get_stats(c, &cs);
    CHECK(cs.out_dropped == 0, "nothing dropped");

    /* wait: returns at once with a client, -EINTR on the stop fd. */
    int stop = eventfd(0, EFD_CLOEXEC);
    CHECK(chardev_wait_peer(c, stop) == 0, "wait with a client: at once");
    close(a3);
    CHECK(WAIT_FOR(!chardev_connected(c)), "client gone");
    uint64_t one = 1;
    CHECK(write(stop, &one, 8) == 8 && chardev_wait_peer(c, stop) == -EINTR,
          "wait with no client ends when the stop fd fires");
    uint64_t v;
    CHECK(read(stop, &v, 8) == 8, "stop fd drained");
    pid_t pid = fork();
    if (pid == 0) { /* a client that comes 200 ms later */
        usleep(200000);
        int fd = client(sock);
        usleep(2000000);
        _exit(fd >= 0 ? 0 : 1);
    }
    int64_t t0 = ms();
    r = chardev_wait_peer(c, stop);
    CHECK(r == 0 && chardev_connected(c) && ms() - t0 < GUARD_MS,
          "wait returns when the first client connects (%d)", r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(stop);
    chardev_close(c);
    CHECK(lstat(sock, &st) < 0 && errno == ENOENT,
          "the socket file is removed at close");
}

static void test_server_refusals(void)
{
    struct chardev *c;
    char path[160];
    /* A regular file is never clobbered. */
    snprintf(path, sizeof(path), "%s/plain", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    close(fd);
    int r = chardev_unix_server_open(&c, path, "console", err, sizeof(err));
    struct stat st;
    CHECK(r == -EEXIST && strstr(err, "not a socket") &&
              lstat(path, &st) == 0 && S_ISREG(st.st_mode),
          "a regular file there is refused and kept: %s", err);
    /* A live listener is refused, and its socket left alone. */
    snprintf(path, sizeof(path), "%s/live", dir);
    int l = listener(path);
    r = chardev_unix_server_open(&c, path, "console", err, sizeof(err));
    CHECK(r == -EADDRINUSE && strstr(err, "another process listens") &&
              lstat(path, &st) == 0,
          "a socket someone listens on is refused: %s", err);
    close(l);
    /* Now stale: nobody listens; it is reused. */
    r = chardev_unix_server_open(&c, path, "console", err, sizeof(err));
    CHECK(r == 0, "a stale socket is removed and reused (%s)", r ? err : "ok");
    if (r == 0) {
        int a = client(path);
        CHECK(a >= 0 && WAIT_FOR(chardev_connected(c)),
              "... and serves clients");
        close(a);
        chardev_close(c);
    }
    snprintf(path, sizeof(path), "%s/no/such/dir/s", dir);
    r = chardev_unix_server_open(&c, path, "console", err, sizeof(err));
    CHECK(r == -ENOENT && strstr(err, "cannot create"),
          "a missing directory: %s", err);
    char longp[200];
    memset(longp, 'a', sizeof(longp));
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    r = chardev_unix_server_open(&c, longp, "console", err, sizeof(err));
    CHECK(r == -ENAMETOOLONG && strstr(err, "longer than"),
          "a path too long for a socket: %s", err);
}

static void test_client(void)
{
    struct chardev *c;
    char path[160];
    snprintf(path, sizeof(path), "%s/srv", dir);
    int r = chardev_unix_client_open(&c, path, "console", err, sizeof(err));
    CHECK(r == -ENOENT && strstr(err, "nobody listens there"),
          "nobody listens: one clear error: %s", err);
    int l = listener(path);
    r = chardev_unix_client_open(&c, path, "console", err, sizeof(err));
    CHECK(r == 0 && chardev_connected(c), "a client connects (%s)",
          r ? err : "ok");
    if (r)
        return;
    struct fe f;
    fe_init(&f);
    chardev_attach(c, &f.cl, true);
    int s = accept(l, NULL, NULL);
    char b[64] = {0};
    CHECK(s >= 0 && chardev_write(c, "to srv\n", 7) == 7 &&
              read_all(s, b, 7) == 7 && !memcmp(b, "to srv\n", 7),
          "output reaches the server");
    CHECK(write(s, "to guest", 8) == 8 && cd_read_all(c, b, 8) == 8 &&
              !memcmp(b, "to guest", 8),
          "the server's bytes reach the guest");
    /* The server drops the connection; the client comes back. */
    close(s);
    CHECK(WAIT_FOR(!chardev_connected(c)), "the server went away: seen");
    CHECK(chardev_write(c, "held\n", 5) == 5, "output meanwhile is held");
    int64_t t0 = ms();
    struct pollfd p = {.fd = l, .events = POLLIN};
    CHECK(poll(&p, 1, GUARD_MS) == 1, "it reconnects (after %lld ms)",
          (long long)(ms() - t0));
    s = accept(l, NULL, NULL);
    memset(b, 0, sizeof(b));
    CHECK(s >= 0 && WAIT_FOR(chardev_connected(c)) && read_all(s, b, 5) == 5 &&
              !memcmp(b, "held\n", 5),
          "... and delivers what was held");
    /* The server is gone for good while we keep retrying: no error,
     * close still returns. */
    close(s);
    close(l);
    unlink(path);
    CHECK(WAIT_FOR(!chardev_connected(c)), "server gone for good");
    usleep(50000);
    chardev_close(c);
    CHECK(1, "close while retrying returns");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    snprintf(dir, sizeof(dir), "/tmp/kvmini-cdunix.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(sock, sizeof(sock), "%s/console.sock", dir);
    test_server();
    test_server_refusals();
    test_client();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
