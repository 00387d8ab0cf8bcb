/* SPDX-License-Identifier: MIT */
/* The control API's socket: clients, bounded buffers, line framing, events. */
#define LOG_TAG "api"
#include "hw/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hw/log.h"

struct api_client {
    int fd;
    bool subscribed, eof, discarding;
    bool dead; /* dropped: closed at the next reap, never written again */
    size_t in_len, out_len;
    char in[API_LINE_MAX + 1];
    char out[API_OUT_MAX];
};

struct api_server {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev;
    ino_t ino;
    api_handle_fn handle;
    void *ctx;
    uint64_t seq;
    bool serving; /* inside api_server_serve: clients are reaped after */
    struct api_client *c[API_CLIENTS_MAX];
    struct api_server_stats st;
};

/* Whether something accepts connections on path (a live kvmini). */
static bool path_answers(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    /* Nonblocking: a live kvmini whose backlog is full (or that is
     * stopped) must not block the one starting. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ||
                errno == EAGAIN; /* backlog full: alive, just busy */
    close(fd);
    return live;
}

/* Take path over for a new socket, under the directory's lock. */
static int bind_path(struct api_server *s, char *err, size_t errlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, s->path, sizeof(a.sun_path));
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return errbuf_set(err, errlen, -EEXIST,
                              "%s exists and is not a socket; remove it or "
                              "choose another --api path",
                              s->path);
        if (path_answers(s->path))
            return errbuf_set(err, errlen, -EADDRINUSE,
                              "a running VM already answers on %s; choose "
                              "another --name (or --api path), or stop that "
                              "VM first",
                              s->path);
        if (unlink(s->path) < 0 && errno != ENOENT)
            return errbuf_set(err, errlen, -errno,
                              "cannot remove the stale socket %s: %s", s->path,
                              strerror(errno));
    }
    /* 0600 from the start: no window in which others could connect. */
    mode_t old = umask(077);
    int r = bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
    umask(old);
    if (r == 0 && chmod(s->path, 0600) < 0)
        r = -errno;
    if (r == 0 && stat(s->path, &st) == 0) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    if (r < 0)
        return errbuf_set(err, errlen, r, "cannot bind %s: %s", s->path,
                          strerror(-r));
    return 0;
}

int api_server_open(struct api_server **out, const char *path,
                    api_handle_fn handle, void *ctx, char *err, size_t errlen)
{
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s)
        return errbuf_set(err, errlen, -ENOMEM, "out of memory");
    s->fd = -1;
    s->handle = handle;
    s->ctx = ctx;
    int r = 0;
    if (strlen(path) >= sizeof(s->path))
        r = errbuf_set(err, errlen, -ENAMETOOLONG,
                       "socket path %s is longer than %zu bytes; choose a "
                       "shorter --api path",
                       path, sizeof(s->path) - 1);
    snprintf(s->path, sizeof(s->path), "%s", path);
    /* The directory's lock makes check-remove-bind one step against
     * another kvmini starting with the same name. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    int dfd = -1;
    if (r == 0) {
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            r = errbuf_set(err, errlen, -errno,
                           "socket directory %s: %s (create it first)", dir,
                           strerror(errno));
    }
    if (r == 0 && flock(dfd, LOCK_EX) < 0)
        r = errbuf_set(err, errlen, -errno, "cannot lock %s: %s", dir,
                       strerror(errno));
    if (r == 0) {
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
            r = errbuf_set(err, errlen, -errno, "socket: %s", strerror(errno));
    }
    if (r == 0)
        r = bind_path(s, err, errlen);
    if (r == 0 && listen(s->fd, 16) < 0) {
        r = errbuf_set(err, errlen, -errno, "listen on %s: %s", s->path,
                       strerror(errno));
        unlink(s->path);
    }
    if (dfd >= 0)
        close(dfd); /* drops the lock */
    if (r < 0) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

static void client_close(struct api_server *s, unsigned i)
{
    if (s->c[i]->subscribed)
        s->st.subscribers--;
    close(s->c[i]->fd);
    free(s->c[i]);
    s->c[i] = NULL;
    s->st.clients--;
}

/* Close the dropped clients. Never while a request of theirs is being
 * handled (a handler may raise an event that drops its own client). */
static void server_reap(struct api_server *s)
{
    for (unsigned i = 0; i < API_CLIENTS_MAX; i++)
        if (s->c[i] && s->c[i]->dead)
            client_close(s, i);
}

void api_server_close(struct api_server *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < API_CLIENTS_MAX; i++)
        if (s->c[i])
            client_close(s, i);
    /* Only our own socket: after a takeover by someone else (an admin
     * removed ours), the file is theirs. */
    struct stat st;
    if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    close(s->fd);
    free(s);
}

const char *api_server_path(const struct api_server *s)
{
    return s->path;
}

unsigned api_server_pollfds(const struct api_server *s, struct pollfd *p,
                            unsigned max)
{
    unsigned n = 0;
    if (max == 0)
        return 0;
    p[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
    for (unsigned i = 0; i < API_CLIENTS_MAX && n < max; i++) {
        const struct api_client *c = s->c[i];
        if (!c)
            continue;
        short ev = 0;
        /* Back-pressure: read more requests only while half the output
         * buffer is free, so a client that sends without reading is
         * simply not read, never answered into an overflow. */
        if (!c->eof && c->out_len < API_OUT_MAX / 2 &&
            c->in_len < sizeof(c->in))
            ev |= POLLIN;
        if (c->out_len)
            ev |= POLLOUT;
        p[n++] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    return n;
}

/* Append a line to a client's output; false if it does not fit. */
static bool client_queue(struct api_client *c, const char *line, size_t len)
{
    if (len > API_OUT_MAX - c->out_len)
        return false;
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
    return true;
}

/* Write what the socket takes now; false if the client is gone. */
static bool client_write(struct api_client *c)
{
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR;
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
    return true;
}

static void client_reply(struct api_server *s, struct api_client *c, char *line,
                         size_t len)
{
    /* Requests are handled only while half the buffer is free and a
     * reply is far smaller, so this fits but for a huge stats reply; then
     * the reply becomes an error that does. */
    if (!line || !client_queue(c, line, len)) {
        free(line);
        line = api_reply_err(NULL, API_E_FAILED,
                             "reply too large for the client's buffer; read "
                             "faster",
                             &len);
        s->st.errors++;
        if (line)
            client_queue(c, line, len);
    }
    free(line);
}

static void client_request(struct api_server *s, struct api_client *c,
                           const char *text, size_t n)
{
    struct api_req req;
    const char *code = API_E_FAILED;
    char msg[256];
    struct json_object *ret = NULL;
    size_t len = 0;
    char *line;
    s->st.requests++;
    int r = api_req_parse(text, n, &req, &code, msg, sizeof(msg));
    if (r == 0 && req.cmd == API_EVENTS) {
        if (!c->subscribed)
            s->st.subscribers++;
        c->subscribed = true;
        ret = json_object_new_object();
        json_object_object_add(ret, "subscribed", json_object_new_boolean(1));
    } else if (r == 0) {
        r = s->handle(s->ctx, &req, &ret, &code, msg, sizeof(msg));
    }
    if (r == 0) {
        line = api_reply_ok(req.id, ret, &len);
    } else {
        s->st.errors++;
        line = api_reply_err(req.id, code, msg, &len);
    }
    api_req_free(&req);
    client_reply(s, c, line, len);
}

/* Whole lines of c->in become requests, in order, while half the output
 * buffer is free (the rest wait in c->in until the client reads); an
 * overlong line becomes one error. */
static void client_lines(struct api_server *s, struct api_client *c)
{
    size_t start = 0;
    while (!c->dead && c->out_len < API_OUT_MAX / 2) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (c->in + start));
        if (!c->discarding)
            client_request(s, c, c->in + start, n);
        c->discarding = false;
        start += n + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len > API_LINE_MAX && !c->dead &&
        !memchr(c->in, '\n', c->in_len)) {
        /* No newline within the limit: answer once, then skip the rest
         * of that line, however long, and go on with the next. */
        if (!c->discarding)
            client_request(s, c, c->in, c->in_len);
        c->discarding = true;
        c->in_len = 0;
    }
}

/* One read per poll round, so a client that floods cannot starve the
 * loop or the other clients. False: close the client. */
static bool client_read(struct api_server *s, struct api_client *c)
{
    if (c->eof || c->in_len == sizeof(c->in))
        return true; /* lines wait for room in the output buffer */
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
        /* Half-closed (echo ... | socat): a last unterminated line is
         * still a request, after those before it; close once all are
         * answered and written. */
        c->eof = true;
        if (c->in_len && c->in[c->in_len - 1] != '\n') {
            if (c->in_len < sizeof(c->in) && !c->discarding)
                c->in[c->in_len++] = '\n';
            else
                c->in_len = 0; /* the tail of an overlong line */
        }
        client_lines(s, c);
        return true;
    }
    c->in_len += (size_t)n;
    client_lines(s, c);
    return true;
}

/* Write, and answer the lines that waited for room, while both make
 * progress. Afterwards either half the output buffer is taken (POLLOUT
 * brings us back) or no whole line waits (POLLIN does). False: close. */
static bool client_pump(struct api_server *s, struct api_client *c)
{
    for (;;) {
        if (!client_write(c))
            return false;
        if (c->dead || c->out_len >= API_OUT_MAX / 2 ||
            !memchr(c->in, '\n', c->in_len))
            return true;
        s->serving = true;
        client_lines(s, c);
        s->serving = false;
    }
}

static void server_accept(struct api_server *s)
{
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        unsigned i = 0;
        while (i < API_CLIENTS_MAX && s->c[i])
            i++;
        struct api_client *c = i < API_CLIENTS_MAX ? malloc(sizeof(*c)) : 0;
        if (!c) {
            size_t len;
            char *line = api_reply_err(NULL, API_E_CLIENTS,
                                       "too many clients (at most 32); try "
                                       "again later",
                                       &len);
            if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                len = 0; /* best effort */
            free(line);
            close(fd);
            s->st.refused++;
            continue;
        }
        c->fd = fd;
        c->subscribed = c->eof = c->discarding = c->dead = false;
        c->in_len = c->out_len = 0;
        s->c[i] = c;
        s->st.accepted++;
        s->st.clients++;
    }
}

void api_server_serve(struct api_server *s, const struct pollfd *p, unsigned n)
{
    for (unsigned k = 1; k < n; k++) {
        unsigned i = 0;
        while (i < API_CLIENTS_MAX && (!s->c[i] || s->c[i]->fd != p[k].fd))
            i++;
        if (i == API_CLIENTS_MAX || !p[k].revents)
            continue;
        struct api_client *c = s->c[i];
        bool ok = !c->dead;
        s->serving = true;
        if (ok && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
            ok = client_read(s, c);
        s->serving = false;
        if (ok && !c->dead)
            ok = client_pump(s, c);
        if (!ok || (c->eof && !c->out_len && !memchr(c->in, '\n', c->in_len)))
            c->dead = true;
        server_reap(s);
    }
    if (n && (p[0].revents & POLLIN))
        server_accept(s);
}

void api_server_event(struct api_server *s, const char *name,
                      struct json_object *data)
{
    size_t len;
    char *line = api_event_line(name, ++s->seq, data, &len);
    s->st.events++;
    if (!line)
        return;
    for (unsigned i = 0; i < API_CLIENTS_MAX; i++) {
        struct api_client *c = s->c[i];
        if (!c || !c->subscribed || c->dead)
            continue;
        if (client_queue(c, line, len) && client_write(c))
            continue;
        /* It stopped reading (or vanished): events are not kept for
         * anyone, so it goes, and says nothing more. */
        s->st.dropped++;
        log_info("control client dropped: it does not read its events");
        c->dead = true;
    }
    free(line);
    if (!s->serving)
        server_reap(s);
}

void api_server_flush(struct api_server *s, unsigned timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p[API_CLIENTS_MAX];
        unsigned n = 0;
        for (unsigned i = 0; i < API_CLIENTS_MAX; i++) {
            if (s->c[i] && (s->c[i]->dead || !client_write(s->c[i])))
                client_close(s, i);
            else if (s->c[i] && s->c[i]->out_len)
                p[n++] = (struct pollfd){.fd = s->c[i]->fd, .events = POLLOUT};
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 +
                  (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (n == 0 || ms >= (long)timeout_ms)
            return;
        poll(p, n, (int)(timeout_ms - (unsigned)ms));
    }
}

void api_server_get_stats(const struct api_server *s,
                          struct api_server_stats *st)
{
    *st = s->st;
}
