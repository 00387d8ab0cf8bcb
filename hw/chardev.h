/* SPDX-License-Identifier: MIT */
/*
 * Character backends: where a guest console's bytes come from and go to
 * (stdio now; pty, unix socket and file are meant to follow as more
 * constructors). A frontend (the 8250, a virtio console port) never does
 * host I/O itself: it copies bytes into a bounded output buffer and out
 * of a bounded input buffer, and one backend thread per chardev moves
 * them to and from the host fds. A stalled reader of our output can
 * therefore stall neither a vCPU nor a virtio worker.
 *
 * Back-pressure, not loss. chardev_write takes only what fits; when it
 * takes less than asked, the frontend holds the rest (the 8250 shows its
 * transmitter busy, a virtio queue keeps its chain) and its notify
 * callback gets CHARDEV_EV_OUT once room frees. Host input is read only
 * while the input buffer has room, except by a backend that must see an
 * escape (stdio on a terminal, for Ctrl-A x): it keeps reading while the
 * buffer is full and drops what does not fit, counted. A byte once in the
 * input buffer is never dropped.
 *
 * Threads. chardev_write/read/readv/in_avail/in_eof never block and do
 * no host I/O (at most they write an eventfd to wake the backend
 * thread); any thread may call them. A client's notify runs on the
 * backend thread with no chardev lock held and may call them too; it
 * must not block. Open, attach, detach and close belong to the owner
 * (main), never to a notify callback.
 *
 * The process must ignore SIGPIPE: a vanished reader is then an error
 * the backend reports once before it discards further output.
 */
#ifndef KVMINI_HW_CHARDEV_H
#define KVMINI_HW_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CHARDEV_EV_IN 1u  /* input arrived in an empty buffer, or it ended */
#define CHARDEV_EV_OUT 2u /* room freed after a short chardev_write */

#define CHARDEV_IN_CAP 4096   /* bytes of host input held for the guest */
#define CHARDEV_OUT_CAP 16384 /* bytes of guest output held for the host */
#define CHARDEV_FLUSH_MS 1000 /* at close: time left to flush output */
#define CHARDEV_MAX_CLIENTS 4

struct chardev;

/* A frontend. notify(ctx, CHARDEV_EV_*) runs on the backend thread. The
 * struct stays the caller's and must live until detach or close. */
struct chardev_client {
    void (*notify)(void *ctx, unsigned events);
    void *ctx;
};

struct chardev_stats {
    uint64_t in_bytes;    /* host input buffered for the guest */
    uint64_t in_dropped;  /* host input dropped: buffer full (escapes) */
    uint64_t out_bytes;   /* guest output accepted by chardev_write */
    uint64_t out_written; /* ... and written to the host */
    uint64_t out_dropped; /* ... and discarded: the host output is gone */
};

/*
 * The stdio backend: in_fd/out_fd (normally 0 and 1; -1 for none) stay
 * the caller's. With raw and a terminal on in_fd, the terminal goes to
 * raw mode (restored by chardev_close) and Ctrl-A is an escape: Ctrl-A x
 * calls quit(quit_ctx) on the backend thread, Ctrl-A Ctrl-A sends one
 * Ctrl-A, Ctrl-A and any other key send both. 0, -ENOMEM or -errno.
 */
struct chardev_stdio_config {
    int in_fd, out_fd;
    bool raw;
    void (*quit)(void *ctx);
    void *quit_ctx;
    /* Tests and fuzzers: no backend thread; the caller moves the bytes
     * with chardev_pump, so a run is deterministic. kvmini never sets it. */
    bool pump;
};
int chardev_stdio_open(struct chardev **out,
                       const struct chardev_stdio_config *cfg);

/* Flush what the guest wrote (for at most CHARDEV_FLUSH_MS: a stalled
 * reader must not keep kvmini from exiting), stop the backend thread,
 * restore and release the backend, free. No notify runs afterwards.
 * NULL is fine. */
void chardev_close(struct chardev *c);

/* Register a frontend; input: it is the one that consumes input (and if
 * input is already buffered, or ended, it gets CHARDEV_EV_IN soon). 0,
 * -EBUSY (input already taken) or -ENOSPC. */
int chardev_attach(struct chardev *c, const struct chardev_client *cl,
                   bool input);
/* Unregister; returns once no notify of cl runs. */
void chardev_detach(struct chardev *c, const struct chardev_client *cl);

/* Copy up to n bytes into the output buffer; returns how many it took.
 * Less than n: the buffer is full, and CHARDEV_EV_OUT follows when room
 * frees. Output with nowhere to go is taken and counted as dropped. */
size_t chardev_write(struct chardev *c, const void *buf, size_t n);

/* Take up to n buffered input bytes; 0 when there are none (then
 * CHARDEV_EV_IN follows when some arrive or the input ends). */
size_t chardev_read(struct chardev *c, void *buf, size_t n);
size_t chardev_readv(struct chardev *c, const struct iovec *iov, int iovcnt);
/* Input bytes buffered now. */
size_t chardev_in_avail(struct chardev *c);
/* The host input has ended and every buffered byte was taken. */
bool chardev_in_eof(struct chardev *c);

/* Without a backend thread (pump in the config): one round of what the
 * thread does, on the caller's thread, without waiting: write buffered
 * output to the host, read host input into the buffer, run the clients'
 * notify. 1 if it moved bytes (call again), 0 if not, -EBUSY if the
 * chardev has its thread. */
int chardev_pump(struct chardev *c);

/* Size of the terminal behind the backend: 0 or -ENOTTY. */
int chardev_winsize(struct chardev *c, uint16_t *cols, uint16_t *rows);

void chardev_get_stats(struct chardev *c, struct chardev_stats *st);

#endif
