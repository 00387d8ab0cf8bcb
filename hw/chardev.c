/* SPDX-License-Identifier: MIT */
/* Character backend core: bounded buffers and the thread that serves them. */
#define LOG_TAG "chardev"
#include "hw/chardev_priv.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hw/log.h"
#include "hw/sandbox.h"

#define CHARDEV_CHUNK 4096 /* bytes per read() or write() of the thread */

static size_t ring_room(const struct chardev_ring *r)
{
    return r->cap - r->len;
}

/* Copy in up to n bytes; returns how many fit. */
static size_t ring_put(struct chardev_ring *r, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n && r->len < r->cap) {
        size_t tail = (r->head + r->len) % r->cap;
        size_t run = r->cap - tail; /* to the end of the array */
        if (run > r->cap - r->len)
            run = r->cap - r->len;
        if (run > n - done)
            run = n - done;
        memcpy(r->buf + tail, p + done, run);
        r->len += run;
        done += run;
    }
    return done;
}

/* Copy out up to n bytes; returns how many. */
static size_t ring_get(struct chardev_ring *r, uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n && r->len) {
        size_t run = r->cap - r->head;
        if (run > r->len)
            run = r->len;
        if (run > n - done)
            run = n - done;
        memcpy(p + done, r->buf + r->head, run);
        r->head = (r->head + run) % r->cap;
        r->len -= run;
        done += run;
    }
    if (!r->len)
        r->head = 0; /* keep the next write in one piece */
    return done;
}

/* Input room kept free: a filter may emit one byte more than it read
 * (a Ctrl-A held back from the previous read). */
static size_t in_reserve(const struct chardev *c)
{
    return c->ops->filter ? 1 : 0;
}

static void chardev_wake(struct chardev *c)
{
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof(one)) < 0)
        log_warn_rl("%s: wake eventfd: %s", c->ops->name, strerror(errno));
}

int chardev_new(struct chardev **out, const struct chardev_ops *ops, void *priv,
                int in_fd, int out_fd)
{
    struct chardev *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->in.buf = malloc(CHARDEV_IN_CAP);
    c->out.buf = malloc(CHARDEV_OUT_CAP);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int r = c->wake_fd < 0 ? -errno : 0;
    if (!c->in.buf || !c->out.buf)
        r = -ENOMEM;
    if (r < 0) {
        if (c->wake_fd >= 0)
            close(c->wake_fd);
        free(c->in.buf);
        free(c->out.buf);
        free(c);
        return r;
    }
    c->in.cap = CHARDEV_IN_CAP;
    c->out.cap = CHARDEV_OUT_CAP;
    c->ops = ops;
    c->priv = priv;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->peer = true; /* a backend with peers clears it before start */
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->cb_lock, NULL);
    *out = c;
    return 0;
}

static void chardev_notify(struct chardev *c, unsigned ev)
{
    pthread_mutex_lock(&c->cb_lock);
    for (unsigned i = 0; i < CHARDEV_MAX_CLIENTS; i++) {
        const struct chardev_client *cl = c->clients[i];
        /* Input news is for the client that takes input. */
        unsigned mine = cl == c->input_client ? ev : ev & ~CHARDEV_EV_IN;
        if (cl && mine)
            cl->notify(cl->ctx, mine);
    }
    pthread_mutex_unlock(&c->cb_lock);
}

/* POLLOUT on out_fd: write the oldest bytes. Returns events to send. */
static unsigned chardev_flush(struct chardev *c)
{
    pthread_mutex_lock(&c->lock);
    /* Writers only append behind these bytes, so they can be written
     * without the lock and consumed afterwards. */
    const uint8_t *p = c->out.buf + c->out.head;
    size_t n = c->out.cap - c->out.head;
    if (n > c->out.len)
        n = c->out.len;
    pthread_mutex_unlock(&c->lock);
    if (n > CHARDEV_CHUNK)
        n = CHARDEV_CHUNK;
    if (c->out_may_block && n > PIPE_BUF)
        n = PIPE_BUF;
    ssize_t w = write(c->out_fd, p, n);
    int e = errno;
    if (w < 0 && (e == EAGAIN || e == EINTR))
        return 0;
    if (w <= 0 && c->ops->hangup) {
        /* The peer stopped reading (EPIPE): hold the output for the
         * next one. It is dropped only once its input is read to the
         * end, so nothing it sent before leaving is lost. */
        pthread_mutex_lock(&c->lock);
        c->out_dead = true;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    unsigned ev = 0;
    pthread_mutex_lock(&c->lock);
    if (w > 0) {
        c->out.head = (c->out.head + (size_t)w) % c->out.cap;
        c->out.len -= (size_t)w;
        if (!c->out.len)
            c->out.head = 0;
        c->st.out_written += (uint64_t)w;
    } else {
        /* The reader is gone (EPIPE, EIO on a hung-up tty): discard from
         * now on rather than hold the guest's output forever. */
        c->out_broken = true;
        c->st.out_dropped += c->out.len;
        c->out.len = c->out.head = 0;
    }
    /* Wake a turned-away writer only once half the buffer is free, so a
     * busy console moves in large steps, not byte by byte. */
    if (c->out_waiting &&
        (c->out_broken || ring_room(&c->out) >= c->out.cap / 2)) {
        c->out_waiting = false;
        ev |= CHARDEV_EV_OUT;
    }
    pthread_mutex_unlock(&c->lock);
    if (w <= 0)
        log_warn("%s: output: %s; discarding the guest's output from now on",
                 c->ops->name, w < 0 ? strerror(e) : "closed");
    return ev;
}

/* POLLIN (or, after a half-close, POLLHUP) on in_fd: read what fits (or,
 * scanning, a chunk to drop). */
static unsigned chardev_fill(struct chardev *c, short revents)
{
    uint8_t raw[CHARDEV_CHUNK], kept[CHARDEV_CHUNK + 1];
    pthread_mutex_lock(&c->lock);
    size_t room = ring_room(&c->in);
    pthread_mutex_unlock(&c->lock);
    size_t want = room > in_reserve(c) ? room - in_reserve(c) : 0;
    if (want == 0 || want > sizeof(raw))
        want = sizeof(raw); /* 0: full and scanning for escapes */
    ssize_t n = read(c->in_fd, raw, want);
    int e = errno;
    if (n < 0 && (e == EAGAIN || e == EINTR))
        return 0;
    unsigned ev = 0;
    if (n == 0 && c->ops->hangup && !(revents & (POLLHUP | POLLERR))) {
        /* The end of input without a hangup: the peer shut only its
         * writing side (socat when its input ends) and still reads the
         * answer. Stop reading; its full close comes as POLLHUP. */
        pthread_mutex_lock(&c->lock);
        c->in_shut = true;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    if (n <= 0 && c->ops->hangup) {
        c->ops->hangup(c); /* the peer left; another may come */
        return 0;
    }
    if (n <= 0) {
        if (n < 0)
            log_warn("%s: input: %s", c->ops->name, strerror(e));
        pthread_mutex_lock(&c->lock);
        c->in_eof = true;
        pthread_mutex_unlock(&c->lock);
        return CHARDEV_EV_IN;
    }
    size_t k = (size_t)n;
    if (c->ops->filter)
        k = c->ops->filter(c, raw, k, kept);
    else
        memcpy(kept, raw, k);
    pthread_mutex_lock(&c->lock);
    bool was_empty = c->in.len == 0;
    size_t put = ring_put(&c->in, kept, k);
    c->st.in_bytes += put;
    c->st.in_dropped += k - put;
    bool warn = put < k && !c->drop_warned;
    c->drop_warned |= warn;
    pthread_mutex_unlock(&c->lock);
    if (put && was_empty)
        ev |= CHARDEV_EV_IN;
    if (warn)
        log_warn("%s: the guest takes no input; typed bytes beyond %u are "
                 "dropped until it does%s",
                 c->ops->name, (unsigned)CHARDEV_IN_CAP,
                 c->ops->drop_hint ? c->ops->drop_hint : "");
    return ev;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What the backend thread may do next: wait for in_fd (there is room;
 * after a half-close, only for its hangup) and/or out_fd (there is
 * output). Tells an input client that arrived after its input. Returns
 * whether the chardev is closing. */
static bool chardev_prepare(struct chardev *c, struct pollfd *in,
                            bool *want_out)
{
    pthread_mutex_lock(&c->lock);
    bool closing = c->closing;
    *want_out = c->out_fd >= 0 && c->out.len && !c->out_broken && !c->out_dead;
    bool in_open = !closing && c->in_fd >= 0 && !c->in_eof && !c->in_shut;
    bool want_in =
        in_open && (ring_room(&c->in) > in_reserve(c) || c->scan_when_full);
    /* Parked: chardev_read must wake us once it makes room. */
    c->in_parked = in_open && !want_in;
    bool announce = c->announce_in;
    c->announce_in = false;
    bool hup_only = !closing && c->in_fd >= 0 && c->in_shut;
    *in = (struct pollfd){.fd = want_in || hup_only ? c->in_fd : -1,
                          .events = want_in ? POLLIN : 0};
    pthread_mutex_unlock(&c->lock);
    if (announce)
        chardev_notify(c, CHARDEV_EV_IN);
    return closing;
}

/* Act on what poll() found in p[] (wake, in, out, the backend's own fd);
 * tell the clients. */
static void chardev_serve(struct chardev *c, const struct pollfd *p,
                          bool closing)
{
    uint64_t v;
    if ((p[0].revents & POLLIN) && read(c->wake_fd, &v, sizeof(v)) < 0)
        v = 0; /* nonblocking: another wake may have drained it */
    unsigned ev = 0;
    if (p[2].revents)
        ev |= chardev_flush(c);
    if (p[1].revents)
        ev |= chardev_fill(c, p[1].revents);
    if (ev)
        chardev_notify(c, ev);
    /* After the fds: a hangup seen above frees the way for the client
     * waiting on the listening socket. */
    if (!closing && c->ops->tick)
        c->ops->tick(c, p[3].revents);
}

static void *chardev_thread(void *arg)
{
    struct chardev *c = arg;
    int64_t deadline = -1; /* closing: when flushing gives up */
    char who[16];
    snprintf(who, sizeof(who), "cd-%.12s", c->ops->name);
    if (sandbox_enter("chardev", who) < 0)
        return NULL; /* reported; output is held, kvmini stays stoppable */
    for (;;) {
        struct pollfd in;
        bool want_out;
        bool closing = chardev_prepare(c, &in, &want_out);
        if (closing && !want_out)
            break;
        int timeout = -1, xfd = -1;
        if (closing) {
            /* Output still due at exit gets one bounded try: a reader
             * that stalled must not keep kvmini from exiting. */
            if (deadline < 0)
                deadline = now_ms() + CHARDEV_FLUSH_MS;
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                pthread_mutex_lock(&c->lock);
                c->st.out_dropped += c->out.len;
                pthread_mutex_unlock(&c->lock);
                break;
            }
            timeout = (int)left;
        } else if (c->ops->poll_fd) {
            xfd = c->ops->poll_fd(c, &timeout);
        }
        struct pollfd p[4] = {
            {.fd = c->wake_fd, .events = POLLIN},
            in,
            {.fd = want_out ? c->out_fd : -1, .events = POLLOUT},
            {.fd = xfd, .events = POLLIN},
        };
        int r = poll(p, 4, timeout);
        if (r < 0 && errno != EINTR) {
            log_err("%s: poll: %s", c->ops->name, strerror(errno));
            break;
        }
        if (r < 0)
            continue;
        chardev_serve(c, p, closing);
    }
    return NULL;
}

int chardev_pump(struct chardev *c)
{
    if (c->th_running)
        return -EBUSY;
    struct pollfd in;
    bool want_out;
    bool closing = chardev_prepare(c, &in, &want_out);
    int timeout = 0;
    int xfd = !closing && c->ops->poll_fd ? c->ops->poll_fd(c, &timeout) : -1;
    struct pollfd p[4] = {
        {.fd = c->wake_fd, .events = POLLIN},
        in,
        {.fd = want_out ? c->out_fd : -1, .events = POLLOUT},
        {.fd = xfd, .events = POLLIN},
    };
    int r = poll(p, 4, 0);
    if (r <= 0)
        return 0;
    chardev_serve(c, p, closing);
    return (p[1].revents || p[2].revents) ? 1 : 0;
}

int chardev_start(struct chardev *c)
{
    /* The thread blocks every signal, so the process's signals reach
     * its owner's signalfd whenever the chardev was opened. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&c->th, NULL, chardev_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r)
        return -r;
    c->th_running = true;
    return 0;
}

void chardev_close(struct chardev *c)
{
    if (!c)
        return;
    if (c->th_running) {
        pthread_mutex_lock(&c->lock);
        c->closing = true;
        pthread_mutex_unlock(&c->lock);
        chardev_wake(c);
        pthread_join(c->th, NULL);
    }
    if (c->ops->close)
        c->ops->close(c); /* restores the terminal before we talk */
    if (c->out.len)
        log_warn("%s: %zu bytes of guest output not written: the reader "
                 "did not take them within %d ms",
                 c->ops->name, c->out.len, CHARDEV_FLUSH_MS);
    if (c->st.in_dropped)
        log_info("%s: %llu typed bytes dropped while the guest took no "
                 "input",
                 c->ops->name, (unsigned long long)c->st.in_dropped);
    close(c->wake_fd);
    pthread_mutex_destroy(&c->cb_lock);
    pthread_mutex_destroy(&c->lock);
    free(c->in.buf);
    free(c->out.buf);
    free(c);
}

int chardev_attach(struct chardev *c, const struct chardev_client *cl,
                   bool input)
{
    int r = -ENOSPC;
    pthread_mutex_lock(&c->cb_lock);
    if (input && c->input_client) {
        r = -EBUSY;
        goto out;
    }
    for (unsigned i = 0; i < CHARDEV_MAX_CLIENTS; i++) {
        if (c->clients[i])
            continue;
        c->clients[i] = cl;
        if (input)
            c->input_client = cl;
        r = 0;
        break;
    }
out:
    pthread_mutex_unlock(&c->cb_lock);
    if (r == 0 && input) {
        /* EV_IN goes out when input reaches an empty buffer; a client
         * that comes later would never hear of what is already there. */
        pthread_mutex_lock(&c->lock);
        bool news = c->in.len || c->in_eof;
        c->announce_in |= news;
        pthread_mutex_unlock(&c->lock);
        if (news)
            chardev_wake(c);
    }
    return r;
}

void chardev_detach(struct chardev *c, const struct chardev_client *cl)
{
    pthread_mutex_lock(&c->cb_lock);
    for (unsigned i = 0; i < CHARDEV_MAX_CLIENTS; i++)
        if (c->clients[i] == cl)
            c->clients[i] = NULL;
    if (c->input_client == cl)
        c->input_client = NULL;
    pthread_mutex_unlock(&c->cb_lock);
}

size_t chardev_write(struct chardev *c, const void *buf, size_t n)
{
    pthread_mutex_lock(&c->lock);
    if ((c->out_fd < 0 && !c->reconnects) || c->out_broken) {
        c->st.out_bytes += n;
        c->st.out_dropped += n;
        pthread_mutex_unlock(&c->lock);
        return n;
    }
    /* An empty buffer means the thread is not polling out_fd. */
    bool wake = c->out.len == 0;
    size_t put = ring_put(&c->out, buf, n);
    c->st.out_bytes += put;
    if (put < n)
        c->out_waiting = true; /* under the lock: no lost EV_OUT */
    pthread_mutex_unlock(&c->lock);
    if (wake && put)
        chardev_wake(c);
    return put;
}

size_t chardev_readv(struct chardev *c, const struct iovec *iov, int iovcnt)
{
    size_t got = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < iovcnt && c->in.len; i++)
        got += ring_get(&c->in, iov[i].iov_base, iov[i].iov_len);
    bool wake = got && c->in_parked;
    if (wake)
        c->in_parked = false;
    pthread_mutex_unlock(&c->lock);
    if (wake)
        chardev_wake(c);
    return got;
}

size_t chardev_read(struct chardev *c, void *buf, size_t n)
{
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    return chardev_readv(c, &iov, 1);
}

size_t chardev_in_avail(struct chardev *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->in.len;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool chardev_in_eof(struct chardev *c)
{
    pthread_mutex_lock(&c->lock);
    bool eof = (c->in_eof || (c->in_fd < 0 && !c->reconnects)) && !c->in.len;
    pthread_mutex_unlock(&c->lock);
    return eof;
}

int chardev_winsize(struct chardev *c, uint16_t *cols, uint16_t *rows)
{
    return c->ops->winsize ? c->ops->winsize(c, cols, rows) : -ENOTTY;
}

void chardev_get_stats(struct chardev *c, struct chardev_stats *st)
{
    pthread_mutex_lock(&c->lock);
    *st = c->st;
    pthread_mutex_unlock(&c->lock);
}

void chardev_peer_set(struct chardev *c, int fd)
{
    pthread_mutex_lock(&c->lock);
    c->in_fd = c->out_fd = fd;
    c->peer = true;
    c->out_dead = false;
    c->in_eof = false;
    c->in_shut = false;
    pthread_mutex_unlock(&c->lock);
    chardev_notify(c, CHARDEV_EV_PEER);
}

void chardev_peer_drop(struct chardev *c)
{
    pthread_mutex_lock(&c->lock);
    c->in_fd = c->out_fd = -1;
    c->peer = false;
    c->out_dead = false;
    c->in_shut = false;
    c->in_parked = false;
    pthread_mutex_unlock(&c->lock);
    chardev_notify(c, CHARDEV_EV_PEER);
}

bool chardev_connected(struct chardev *c)
{
    pthread_mutex_lock(&c->lock);
    bool peer = c->peer;
    pthread_mutex_unlock(&c->lock);
    return peer;
}

const char *chardev_path(const struct chardev *c)
{
    return c->path[0] ? c->path : NULL;
}

/* chardev_wait_peer's client: a peer event wakes the waiting owner. */
static void chardev_waiter_notify(void *ctx, unsigned ev)
{
    uint64_t one = 1;
    if ((ev & CHARDEV_EV_PEER) && write(*(int *)ctx, &one, sizeof(one)) < 0)
        log_warn_rl("peer wait: eventfd: %s", strerror(errno));
}

int chardev_wait_peer(struct chardev *c, int stop_fd)
{
    int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ev < 0)
        return -errno;
    struct chardev_client cl = {.notify = chardev_waiter_notify, .ctx = &ev};
    int r = chardev_attach(c, &cl, false);
    bool attached = r == 0;
    while (r == 0 && !chardev_connected(c)) {
        struct pollfd p[2] = {{.fd = ev, .events = POLLIN},
                              {.fd = stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            r = -errno;
        else if (p[1].revents)
            r = -EINTR;
        uint64_t v;
        if ((p[0].revents & POLLIN) && read(ev, &v, sizeof(v)) < 0)
            v = 0;
    }
    if (attached)
        chardev_detach(c, &cl);
    close(ev);
    return r;
}
