/* SPDX-License-Identifier: MIT */
/*
 * Inside of the character backends, shared by the core (hw/chardev.c:
 * buffers, the backend thread, the frontend calls) and each backend
 * (hw/chardev_stdio.c, ...). Frontends include hw/chardev.h only.
 *
 * A backend allocates its own state, then calls chardev_new with its ops
 * and the host fds the thread should serve, sets the chardev fields it
 * needs, and chardev_start. Its fds must not block, or out_may_block
 * must be set (writes are then at most PIPE_BUF after POLLOUT, which a
 * pipe takes whole). It owns the fds and closes them in ops->close.
 *
 * A backend whose peer comes and goes (a unix socket) sets reconnects
 * and hangup, starts with no fds (or calls chardev_peer_set before
 * chardev_start), and from its hooks on the backend thread calls
 * chardev_peer_set when a peer arrives and chardev_peer_drop when it
 * leaves. While there is no peer, output is held in the buffer (and the
 * writer turned away once it is full) and input is not at its end.
 */
#ifndef KVMINI_HW_CHARDEV_PRIV_H
#define KVMINI_HW_CHARDEV_PRIV_H

#include <pthread.h>

#include "hw/chardev.h"

struct chardev_ops {
    const char *name; /* for messages: "stdio", later "pty", ... */
    /* Appended to the "dropping input" warning (scanning backends). */
    const char *drop_hint;
    /* Bytes just read from in_fd: copy those meant for the guest to out
     * (room for n + 1) and return how many; may act on escapes. NULL:
     * all of them. Backend thread. */
    size_t (*filter)(struct chardev *c, const uint8_t *in, size_t n,
                     uint8_t *out);
    /* Terminal size: 0 or -ENOTTY. NULL: never a terminal. */
    int (*winsize)(struct chardev *c, uint16_t *cols, uint16_t *rows);
    /* After the thread has stopped: restore the host side and free priv. */
    void (*close)(struct chardev *c);
    /* The peer is gone: in_fd read EOF or failed (after every byte it
     * sent was read). Close its fd and chardev_peer_drop. NULL: input
     * ends (in_eof) and a failed write discards output from then on. */
    void (*hangup)(struct chardev *c);
    /* Before each poll: an extra fd to poll for POLLIN (a listening
     * socket), or -1; may lower *timeout_ms (-1: none) to be called
     * again (a reconnect timer). Backend thread, no lock held. */
    int (*poll_fd)(struct chardev *c, int *timeout_ms);
    /* After each poll (not while closing): revents of poll_fd's fd, 0
     * on a timeout or other events. Backend thread, no lock held. */
    void (*tick)(struct chardev *c, short revents);
};

/* A byte ring: head is the oldest byte, len bytes follow it (wrapping). */
struct chardev_ring {
    uint8_t *buf;
    size_t cap, head, len;
};

struct chardev {
    const struct chardev_ops *ops;
    void *priv;
    int in_fd, out_fd;   /* served by the thread; -1: none */
    bool out_may_block;  /* out_fd is blocking: write <= PIPE_BUF */
    bool scan_when_full; /* keep reading (and dropping) when in is full */
    bool reconnects;     /* peers come and go: hold output meanwhile */
    char path[108];      /* the pty, socket or file, for messages */

    pthread_t th;
    bool th_running;
    int wake_fd; /* eventfd: work for the backend thread */

    pthread_mutex_t lock; /* everything below */
    struct chardev_ring in, out;
    bool in_eof;      /* in_fd ended (read 0 or failed) */
    bool in_shut;     /* the peer shut its writing side but still reads */
    bool in_parked;   /* the thread stopped reading: in is full */
    bool out_broken;  /* out_fd failed: output is discarded */
    bool out_waiting; /* a writer was turned away: EV_OUT due */
    bool drop_warned; /* the first dropped input byte was reported */
    bool announce_in; /* an input client came after input: tell it */
    bool closing;
    bool peer;     /* connected (always, for backends without peers) */
    bool out_dead; /* the peer stopped taking output: hold it */
    struct chardev_stats st;

    /* Held by the thread while it calls notify, so detach can wait. */
    pthread_mutex_t cb_lock;
    const struct chardev_client *clients[CHARDEV_MAX_CLIENTS];
    const struct chardev_client *input_client;
};

/* Allocate a chardev around a backend: buffers, eventfd, locks; the
 * thread does not run yet. 0, -ENOMEM or -errno. */
int chardev_new(struct chardev **out, const struct chardev_ops *ops, void *priv,
                int in_fd, int out_fd);
/* Start the backend thread: 0 or -errno. */
int chardev_start(struct chardev *c);

/* A peer arrived: serve fd (both ways) from now on; clients get
 * CHARDEV_EV_PEER. Backend thread, or the owner before chardev_start. */
void chardev_peer_set(struct chardev *c, int fd);
/* The peer left: stop serving its fd (the caller closes it); output is
 * held until the next peer. Backend thread. */
void chardev_peer_drop(struct chardev *c);

#endif
