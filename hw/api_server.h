/* SPDX-License-Identifier: MIT */
/*
 * The control API's server: a unix stream socket (mode 0600) that takes
 * newline-delimited JSON requests (hw/api_proto.h) from several clients
 * at once and streams events to those that asked for them.
 *
 * It has no thread: its owner (main.c's loop) adds api_server_pollfds to
 * its poll() and calls api_server_serve after it, so every request runs
 * on the main thread. Every fd is nonblocking and every client has
 * bounded buffers (API_LINE_MAX in, API_OUT_MAX out): a client that does
 * not read is throttled (no more requests read) and, once an event no
 * longer fits, dropped and counted. Nothing a client sends blocks the
 * loop. Errors are negative errno; api_server_open reports in err.
 */
#ifndef KVMINI_HW_API_SERVER_H
#define KVMINI_HW_API_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hw/api_proto.h"

#define API_CLIENTS_MAX 32
#define API_OUT_MAX (64u << 10) /* bytes of replies/events per client */

/* Runs one request (not "events", which the server handles): 0 and *ret
 * (NULL: {}), or <0 with *code (API_E_*) and a message. */
typedef int (*api_handle_fn)(void *ctx, const struct api_req *req,
                             struct json_object **ret, const char **code,
                             char *msg, size_t msglen);

struct api_server_stats {
    uint64_t accepted, refused; /* refused: over API_CLIENTS_MAX */
    uint64_t requests, errors;  /* errors: replies with ok false */
    uint64_t dropped;           /* clients cut off for not reading */
    uint64_t events;
    unsigned clients, subscribers; /* now */
};

struct api_server;

/* Listen on path. A socket file already there is taken over only if
 * nothing answers on it (a kvmini that died without cleaning up);
 * -EADDRINUSE if something does. The check and the bind happen under an
 * flock of the directory, so two kvminis starting at once cannot both
 * win. */
int api_server_open(struct api_server **out, const char *path,
                    api_handle_fn handle, void *ctx, char *err, size_t errlen);

/* Remove the socket file (if it is still ours) and close every client.
 * NULL is fine. */
void api_server_close(struct api_server *s);

/* Fill up to max pollfds (API_CLIENTS_MAX + 1 suffice); returns how many. */
unsigned api_server_pollfds(const struct api_server *s, struct pollfd *p,
                            unsigned max);
/* After poll(): accept, read and answer, write. p/n as filled. */
void api_server_serve(struct api_server *s, const struct pollfd *p, unsigned n);

/* Queue an event for every subscriber (takes data; NULL: {}). */
void api_server_event(struct api_server *s, const char *name,
                      struct json_object *data);

/* At exit: write what is queued for up to timeout_ms. */
void api_server_flush(struct api_server *s, unsigned timeout_ms);

void api_server_get_stats(const struct api_server *s,
                          struct api_server_stats *st);
const char *api_server_path(const struct api_server *s);

#endif
