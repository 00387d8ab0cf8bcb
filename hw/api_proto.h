/* SPDX-License-Identifier: MIT */
/*
 * The control API's wire format (docs/api.md): one JSON object a line
 * each way. This file turns a request line into a struct api_req and
 * builds the reply, error and event lines; it does no I/O, so unit tests
 * and the fuzzer drive it directly.
 *
 * A request is {"cmd": NAME, "id": ID, "args": {...}}: "id" (optional,
 * an integer or a string of at most API_ID_MAX bytes) is echoed in the
 * reply; "args" (optional) is an object whose keys the command defines.
 * Any thread; no global state.
 */
#ifndef KVMINI_HW_API_PROTO_H
#define KVMINI_HW_API_PROTO_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define API_PROTO_VERSION 1
#define API_LINE_MAX 4096 /* bytes of a request line, newline excluded */
#define API_ID_MAX 64

enum api_cmd {
    API_INFO,
    API_PAUSE,
    API_RESUME,
    API_STOP,
    API_RESET,
    API_SHUTDOWN,
    API_STATS,
    API_EVENTS,
    API_NCMDS,
};

/* Error codes a reply may carry ("error": {"code": ..., "message": ...}). */
#define API_E_JSON "bad-json"            /* not one JSON text */
#define API_E_REQUEST "bad-request"      /* not a request object */
#define API_E_COMMAND "unknown-command"  /* cmd names no command */
#define API_E_ARGUMENT "bad-argument"    /* args key unknown or mistyped */
#define API_E_TOO_LONG "line-too-long"   /* more than API_LINE_MAX bytes */
#define API_E_STATE "wrong-state"        /* e.g. resume while running */
#define API_E_UNAVAILABLE "unavailable"  /* not in this build or machine */
#define API_E_FAILED "failed"            /* the command itself failed */
#define API_E_CLIENTS "too-many-clients" /* sent once, then closed */

struct api_req {
    enum api_cmd cmd;
    struct json_object *id; /* owned (api_req_free), or NULL */
    int status;             /* stop: the exit status, args.status, 0..255 */
};

/* Parse one line (no newline; any bytes, not NUL-terminated). 0, or
 * -EINVAL with *code one of the API_E_* and a one-line message. The id is
 * kept even when the rest is refused, so the error can carry it. */
int api_req_parse(const char *line, size_t len, struct api_req *req,
                  const char **code, char *msg, size_t msglen);
void api_req_free(struct api_req *req);

const char *api_cmd_name(enum api_cmd c);

/* Reply and event lines, '\n'-terminated and malloc'd (NULL: out of
 * memory); *len gets their length. They take ownership of ret/data
 * (may be NULL: an empty object), never of id. */
char *api_reply_ok(struct json_object *id, struct json_object *ret,
                   size_t *len);
char *api_reply_err(struct json_object *id, const char *code, const char *msg,
                    size_t *len);
char *api_event_line(const char *name, uint64_t seq, struct json_object *data,
                     size_t *len);

#endif
