/* SPDX-License-Identifier: MIT */
/*
 * Character backends: where a guest console's bytes come from and go to
 * (stdio, pty, unix socket server or client, file; see docs/chardev.md).
 * A frontend (the 8250, a virtio console port) never does
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
 * Peers. A unix socket's peer comes and goes; while there is none the
 * chardev holds output (up to CHARDEV_OUT_CAP, then back-pressure as
 * above) and input is not at its end; clients get CHARDEV_EV_PEER when
 * a peer arrives or leaves. stdio, pty and file always count as
 * connected. A pty keeps its slave open itself, so output written while
 * nobody has the pty open waits in the kernel's pty buffer and then in
 * ours, and the next opener reads it.
 *
 * The process must ignore SIGPIPE: a vanished reader of stdio or of a
 * file is then an error the backend reports once before it discards
 * further output (a socket peer's output is held for the next peer).
 */
#ifndef KVMINI_HW_CHARDEV_H
#define KVMINI_HW_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw/kvopt.h"

#define CHARDEV_EV_IN 1u   /* input arrived in an empty buffer, or it ended */
#define CHARDEV_EV_OUT 2u  /* room freed after a short chardev_write */
#define CHARDEV_EV_PEER 4u /* a peer connected or left: chardev_connected */

#define CHARDEV_IN_CAP 4096   /* bytes of host input held for the guest */
#define CHARDEV_OUT_CAP 16384 /* bytes of guest output held for the host */
#define CHARDEV_FLUSH_MS 1000 /* at close: time left to flush output */
#define CHARDEV_MAX_CLIENTS 4
#define CHARDEV_RETRY_MS 1000 /* a unix client reconnects this often */
#define CHARDEV_PATH_MAX 108  /* sizeof(sun_path), the tightest of them */

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

/* The other backends. label names the frontend in messages ("console",
 * "serial", "port org.example.ctl"). Each returns 0 or -errno with one
 * sentence in err (what is wrong, how to fix it), nothing left behind.
 *
 * pty: a new pseudo-terminal in raw mode; prints "kvmini: LABEL on
 * /dev/pts/N" to stderr. Peers may open and close it any number of
 * times. winsize is the pty's (what the opener set).
 *
 * unix server: creates and listens on path (mode 0600). A non-socket
 * file there is refused; a socket is removed only if nobody listens on
 * it. One client at a time: another that connects meanwhile gets the
 * line "kvmini: LABEL: busy, one client at a time" and is closed. A
 * client that leaves (EOF, or stops reading and then EOF) makes room for
 * the next. The socket file is removed at chardev_close. Prints
 * "kvmini: LABEL on unix socket PATH" to stderr.
 *
 * unix client: connects to path now (an error if nobody listens); when
 * the server goes away, tries again every CHARDEV_RETRY_MS.
 *
 * file: appends output to path (created 0644 if missing); no input. */
int chardev_pty_open(struct chardev **out, const char *label, char *err,
                     size_t errlen);
int chardev_unix_server_open(struct chardev **out, const char *path,
                             const char *label, char *err, size_t errlen);
int chardev_unix_client_open(struct chardev **out, const char *path,
                             const char *label, char *err, size_t errlen);
int chardev_file_open(struct chardev **out, const char *path, const char *label,
                      char *err, size_t errlen);

/*
 * Backend specs, one syntax for every frontend:
 *   "stdio" | "pty" | "unix=PATH,server[,wait]" | "unix=PATH" | "file=PATH"
 * parsed with hw/kvopt.h's kvopt_parse (",," is a literal comma in a
 * path). wait: the owner must not start the guest before the first
 * client connected (chardev_wait_peer); only with server.
 */
enum chardev_kind {
    CHARDEV_STDIO,
    CHARDEV_PTY,
    CHARDEV_UNIX_SERVER,
    CHARDEV_UNIX_CLIENT,
    CHARDEV_FILE,
};
struct chardev_spec { /* filled by chardev_spec_parse */
    enum chardev_kind kind;
    char path[CHARDEV_PATH_MAX];
    bool wait;
};
/* The whole spec is a backend. 0 or -EINVAL with one sentence in err. */
int chardev_spec_parse(const char *spec, struct chardev_spec *out, char *err,
                       size_t errlen);

/*
 * For a frontend whose option string mixes its own keys with a backend's
 * (--port name=X,unix=/p,server; --console virtio,legacy,pty): put a
 * struct chardev_opts (zeroed) in the frontend's config struct, append
 * CHARDEV_KVOPT_KEYS(that struct, member) to its kvopt key table, run
 * kvopt_parse, then chardev_spec_from_opts. chardev_opts_any says
 * whether any backend key was given (to pick a default otherwise).
 * Example:
 *   struct port_cfg { char name[64]; struct chardev_opts cd; };
 *   static const struct kvopt_key keys[] = {
 *       {"name", KVOPT_STR, offsetof(struct port_cfg, name), 64},
 *       CHARDEV_KVOPT_KEYS(struct port_cfg, cd),
 *       {0}};
 * (a key table holds at most 64 keys; these are 6 of them).
 */
struct chardev_opts {
    bool stdio, pty, server, wait;
    char unix_path[CHARDEV_PATH_MAX], file_path[CHARDEV_PATH_MAX];
};
#define CHARDEV_KVOPT_KEYS(type, member)                                       \
    {"stdio", KVOPT_BOOL, offsetof(type, member.stdio), 0, 0, 0},              \
        {"pty", KVOPT_BOOL, offsetof(type, member.pty), 0, 0, 0},              \
        {"unix",           KVOPT_STR, offsetof(type, member.unix_path),        \
         CHARDEV_PATH_MAX, 0,         0},                                      \
        {"server", KVOPT_BOOL, offsetof(type, member.server), 0, 0, 0},        \
        {"wait", KVOPT_BOOL, offsetof(type, member.wait), 0, 0, 0},            \
    {                                                                          \
        "file", KVOPT_STR, offsetof(type, member.file_path), CHARDEV_PATH_MAX, \
            0, 0                                                               \
    }
bool chardev_opts_any(const struct chardev_opts *o);
/* Check the combination (one backend; server/wait only with unix). 0 or
 * -EINVAL with one sentence in err. */
int chardev_spec_from_opts(const struct chardev_opts *o,
                           struct chardev_spec *out, char *err, size_t errlen);

/* Open the backend s names. stdio: with *stdio (NULL: -EINVAL); a
 * process must open stdio once and share that chardev (main does). 0 or
 * -errno with one sentence in err. */
int chardev_open_spec(struct chardev **out, const struct chardev_spec *s,
                      const char *label,
                      const struct chardev_stdio_config *stdio, char *err,
                      size_t errlen);

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

/* A peer is connected now (always true but for unix sockets). */
bool chardev_connected(struct chardev *c);
/* The pty's /dev/pts/N, the socket's or file's path; NULL for stdio. */
const char *chardev_path(const struct chardev *c);
/* Block until a peer is connected (at once if one is), or until stop_fd
 * is readable (a signalfd: the caller handles it and may wait again).
 * 0, -EINTR (stop_fd) or -errno. The owner's thread, before the guest
 * runs. */
int chardev_wait_peer(struct chardev *c, int stop_fd);

#endif
