/* SPDX-License-Identifier: MIT */
/* The control API's socket: naming, framing, limits, events and drops. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hw/api_server.h"
#include "tests/unit/tap.h"

static char dir[48], path[100];
static int handled;

/* info answers {"n": count}; pause raises many events (to drop its own
 * subscribed client mid-request); others fail. */
static int handle(void *ctx, const struct api_req *req,
                  struct json_object **ret, const char **code, char *msg,
                  size_t msglen)
{
    struct api_server *s = *(struct api_server **)ctx;
    handled++;
    if (req->cmd == API_INFO) {
        *ret = json_object_new_object();
        json_object_object_add(*ret, "n", json_object_new_int(handled));
        if (handled > 6 && handled <= 306) { /* the 300: 400-byte replies */
            char pad[400];
            memset(pad, '.', sizeof(pad) - 1);
            pad[sizeof(pad) - 1] = '\0';
            json_object_object_add(*ret, "pad", json_object_new_string(pad));
        }
        return 0;
    }
    if (req->cmd == API_PAUSE) {
        for (int i = 0; i < 20000; i++)
            api_server_event(s, "flood", NULL);
        return 0;
    }
    *code = API_E_FAILED;
    snprintf(msg, msglen, "not here");
    return -EINVAL;
}

static int cl_connect(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One round of the owner's loop: poll (briefly) and serve. */
static void serve(struct api_server *s)
{
    struct pollfd p[API_CLIENTS_MAX + 1];
    unsigned n = api_server_pollfds(s, p, API_CLIENTS_MAX + 1);
    if (poll(p, n, 20) > 0)
        api_server_serve(s, p, n);
}

/* Serve until fd has a whole line (or 200 rounds); the line, or "". */
static char line[API_OUT_MAX];
static const char *cl_line(struct api_server *s, int fd)
{
    size_t have = 0;
    line[0] = '\0';
    for (int i = 0; i < 200; i++) {
        if (i)
            serve(s); /* first what the server already wrote */
        ssize_t r = recv(fd, line + have, 1, MSG_DONTWAIT);
        while (r == 1 && line[have] != '\n' && have < sizeof(line) - 2) {
            have++;
            r = recv(fd, line + have, 1, MSG_DONTWAIT);
        }
        if (r == 1 && line[have] == '\n') {
            line[have] = '\0';
            return line;
        }
        if (r == 0)
            break;
    }
    line[have] = '\0';
    return line;
}

static void cl_send(int fd, const char *t)
{
    if (send(fd, t, strlen(t), MSG_NOSIGNAL) != (ssize_t)strlen(t))
        DIAG("short send");
}

static void test_naming(void)
{
    struct api_server *s = NULL, *s2 = NULL;
    char err[512];
    CHECK(api_server_open(&s, path, handle, &s, err, sizeof(err)) == 0,
          "open %s (%s)", path, err);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
              (st.st_mode & 0777) == 0600,
          "a socket of mode 0600");
    err[0] = '\0';
    CHECK(api_server_open(&s2, path, handle, &s2, err, sizeof(err)) ==
                  -EADDRINUSE &&
              strstr(err, "already answers"),
          "a second server on a live path: -EADDRINUSE (%s)", err);
    CHECK(stat(path, &st) == 0, "... and the first's socket is still there");
    api_server_close(s);
    CHECK(access(path, F_OK) < 0, "close removes the socket");

    /* A socket file nobody listens on: what a SIGKILLed kvmini leaves. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "a stale socket");
    close(fd);
    CHECK(api_server_open(&s, path, handle, &s, err, sizeof(err)) == 0,
          "a stale socket is taken over (%s)", err);
    /* Someone replaced our file: close leaves theirs alone. */
    unlink(path);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    close(f);
    api_server_close(s);
    CHECK(access(path, F_OK) == 0, "close leaves a file that is not ours");
    CHECK(api_server_open(&s, path, handle, &s, err, sizeof(err)) == -EEXIST,
          "a regular file there: -EEXIST (%s)", err);
    unlink(path);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    CHECK(api_server_open(&s, longp, handle, &s, err, sizeof(err)) ==
              -ENAMETOOLONG,
          "a path longer than sun_path: -ENAMETOOLONG");
}

static void test_framing(void)
{
    struct api_server *s = NULL;
    char err[512];
    handled = 0;
    api_server_open(&s, path, handle, &s, err, sizeof(err));
    int c = cl_connect();
    serve(s);
    cl_send(c, "{\"cmd\":\"info\",\"id\":1}\n{\"cmd\":\"info\",\"id\":2}\n");
    CHECK(!strcmp(cl_line(s, c), "{\"id\":1,\"ok\":true,\"return\":{\"n\":1}}"),
          "two requests in one write: first reply (%s)", line);
    CHECK(!strcmp(cl_line(s, c), "{\"id\":2,\"ok\":true,\"return\":{\"n\":2}}"),
          "... second reply, in order");
    cl_send(c, "{\"cmd\":\"in");
    serve(s);
    cl_send(c, "fo\",\"id\":3}\n");
    CHECK(strstr(cl_line(s, c), "\"id\":3,\"ok\":true"),
          "a request split over two writes");
    /* Overlong: one error for the whole line, then business as usual. */
    char *big = malloc(3 * API_LINE_MAX);
    memset(big, 'x', 3 * API_LINE_MAX);
    for (int i = 0; i < 3; i++) {
        send(c, big, API_LINE_MAX, MSG_NOSIGNAL);
        serve(s);
    }
    free(big);
    cl_send(c, "\n{\"cmd\":\"info\",\"id\":4}\n");
    CHECK(strstr(cl_line(s, c), "\"code\":\"line-too-long\""),
          "a 12 KiB line: one line-too-long error (%s)", line);
    CHECK(strstr(cl_line(s, c), "\"id\":4,\"ok\":true"),
          "... then the next request is answered (%s)", line);
    cl_send(c, "{\"cmd\":\"stop\",\"id\":5}\n");
    CHECK(!strcmp(cl_line(s, c), "{\"id\":5,\"ok\":false,\"error\":{\"code\":"
                                 "\"failed\",\"message\":\"not here\"}}"),
          "a failing handler: its code and message");
    /* 300 requests in one go, far more replies than the output buffer
     * holds: every one answered, in order, as the client reads. */
    static char many[300 * 32];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o,
                              "{\"cmd\":\"info\",\"id\":%d}\n", 100 + i);
    size_t sent = 0;
    int answered = 0;
    bool in_order = true;
    time_t give_up = time(NULL) + 30; /* a hang guard, not a timing */
    for (int round = 0; round < 5000 && answered < 300 && time(NULL) < give_up;
         round++) {
        if (sent < o) {
            ssize_t w = send(c, many + sent, o - sent, MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
        }
        serve(s);
        char want[32];
        snprintf(want, sizeof(want), "{\"id\":%d,\"ok\":true", 100 + answered);
        const char *l = cl_line(s, c);
        if (!*l)
            continue;
        in_order &= !strncmp(l, want, strlen(want));
        answered++;
    }
    CHECK(answered == 300 && in_order,
          "300 pipelined requests: %d answered, in order: %d", answered,
          in_order);
    /* Half-close: the last, unterminated request is still answered. */
    cl_send(c, "{\"cmd\":\"info\",\"id\":6}");
    shutdown(c, SHUT_WR);
    CHECK(strstr(cl_line(s, c), "\"id\":6,\"ok\":true"),
          "after a half-close, the unterminated last line is answered");
    char b;
    for (int i = 0; i < 20; i++)
        serve(s);
    CHECK(recv(c, &b, 1, MSG_DONTWAIT) == 0, "... then the server closes");
    close(c);
    struct api_server_stats st;
    api_server_get_stats(s, &st);
    CHECK(st.clients == 0 && st.requests == 307 && st.errors == 2,
          "stats: 0 clients now, 307 requests, 2 errors (%u %llu %llu)",
          st.clients, (unsigned long long)st.requests,
          (unsigned long long)st.errors);
    api_server_close(s);
}

static void test_clients_events(void)
{
    struct api_server *s = NULL;
    char err[512];
    api_server_open(&s, path, handle, &s, err, sizeof(err));
    int c[API_CLIENTS_MAX + 1];
    for (int i = 0; i < API_CLIENTS_MAX; i++) {
        c[i] = cl_connect();
        serve(s);
    }
    c[API_CLIENTS_MAX] = cl_connect();
    CHECK(strstr(cl_line(s, c[API_CLIENTS_MAX]), "too-many-clients"),
          "client %d: too-many-clients (%s)", API_CLIENTS_MAX + 1, line);
    close(c[API_CLIENTS_MAX]);
    /* c[0] listens and reads, c[1] listens and never reads. */
    cl_send(c[0], "{\"cmd\":\"events\"}\n");
    CHECK(strstr(cl_line(s, c[0]), "\"subscribed\":true"), "c0 subscribed");
    cl_send(c[1], "{\"cmd\":\"events\"}\n");
    cl_line(s, c[1]);
    api_server_event(s, "hello", json_object_new_string("x"));
    CHECK(strstr(cl_line(s, c[0]), "{\"event\":\"hello\",\"seq\":1,") &&
              strstr(line, "\"data\":\"x\"}"),
          "c0 gets the event (%s)", line);
    int dropped_at = 0;
    for (int i = 0; i < 100000 && !dropped_at; i++) {
        api_server_event(s, "tick", NULL);
        char b[4096];
        while (recv(c[0], b, sizeof(b), MSG_DONTWAIT) > 0)
            ; /* c0 reads on */
        struct api_server_stats st;
        api_server_get_stats(s, &st);
        if (st.dropped)
            dropped_at = i + 1;
    }
    CHECK(dropped_at > 0,
          "the client that never reads is dropped after %d "
          "events",
          dropped_at);
    char b;
    ssize_t r;
    while ((r = recv(c[1], line, sizeof(line), MSG_DONTWAIT)) > 0)
        ;
    CHECK(r == 0, "... its connection is closed (it reads EOF)");
    cl_send(c[0], "{\"cmd\":\"info\",\"id\":8}\n");
    CHECK(strstr(cl_line(s, c[0]), "\"id\":8,\"ok\":true"),
          "the reading client is kept and still answered");
    /* A handler that raises events dropping its own (non-reading)
     * client, mid-request: no use after free (ASan), no reply. */
    cl_send(c[2], "{\"cmd\":\"events\"}\n");
    cl_line(s, c[2]);
    cl_send(c[2], "{\"cmd\":\"pause\"}\n");
    for (int i = 0; i < 5; i++)
        serve(s);
    struct api_server_stats st;
    api_server_get_stats(s, &st);
    CHECK(st.dropped >= 2,
          "a client dropped by events of its own request "
          "(dropped %llu)",
          (unsigned long long)st.dropped);
    (void)b;
    for (int i = 0; i < API_CLIENTS_MAX; i++)
        close(c[i]);
    for (int i = 0; i < 5; i++)
        serve(s);
    api_server_get_stats(s, &st);
    CHECK(st.clients == 0 && st.subscribers == 0,
          "every client gone: 0 clients, 0 subscribers");
    api_server_close(s);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kvmini-api-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temp dir\n");
        return 0;
    }
    snprintf(path, sizeof(path), "%s/t.sock", dir);
    test_naming();
    test_framing();
    test_clients_events();
    unlink(path);
    rmdir(dir);
    return tap_done();
}
