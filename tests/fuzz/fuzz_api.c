/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the control API's request parser and line builders
 * (hw/api_proto.c, with json-c underneath). The input is split at '\n'
 * into request lines, as the server does (at most 4). Checked besides the
 * sanitizers:
 * - a line is accepted (0) or refused (-EINVAL) with a known error code
 *   and a one-line message, never anything else;
 * - what is accepted is sane (a known command, status 0..255, an id that
 *   is an integer or a string of at most API_ID_MAX bytes) and round-
 *   trips: the request rebuilt from it parses to the same thing;
 * - every reply, error and event line is one line of JSON that parses
 *   back as an object and carries the id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/api_proto.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

static const char *const codes[] = {
    API_E_JSON,     API_E_REQUEST,  API_E_COMMAND,
    API_E_ARGUMENT, API_E_TOO_LONG, API_E_FAILED,
};

/* A built line is exactly one JSON object followed by '\n'. */
static void check_line(char *l, size_t len, struct json_object *id)
{
    FZ_ASSERT(l && len == strlen(l) && len >= 3 && l[len - 1] == '\n' &&
                  !memchr(l, '\n', len - 1),
              "not one line: %s", l ? l : "NULL");
    struct json_object *o = json_tokener_parse(l);
    FZ_ASSERT(o && json_object_is_type(o, json_type_object),
              "does not parse back: %s", l);
    struct json_object *got;
    if (id)
        FZ_ASSERT(json_object_object_get_ex(o, "id", &got) &&
                      json_object_equal(got, id),
                  "id lost: %s", l);
    json_object_put(o);
    free(l);
}

static void one_line(const char *p, size_t n)
{
    struct api_req req, again;
    const char *code = NULL;
    char msg[256] = "";
    size_t len;
    int r = api_req_parse(p, n, &req, &code, msg, sizeof(msg));
    FZ_ASSERT(r == 0 || r == -EINVAL, "returned %d", r);
    if (r < 0) {
        bool known = false;
        for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
            known |= code && !strcmp(code, codes[i]);
        FZ_ASSERT(known, "unknown error code %s", code ? code : "NULL");
        FZ_ASSERT(msg[0] && !strchr(msg, '\n'), "message '%s'", msg);
        check_line(api_reply_err(req.id, code, msg, &len), len, req.id);
        api_req_free(&req);
        return;
    }
    FZ_ASSERT((unsigned)req.cmd < API_NCMDS, "cmd %d", req.cmd);
    FZ_ASSERT(req.status >= 0 && req.status <= 255, "status %d", req.status);
    FZ_ASSERT(!req.status || req.cmd == API_STOP, "status for %s",
              api_cmd_name(req.cmd));
    if (req.id) {
        enum json_type t = json_object_get_type(req.id);
        FZ_ASSERT(t == json_type_int ||
                      (t == json_type_string &&
                       json_object_get_string_len(req.id) <= API_ID_MAX),
                  "id of type %d", t);
    }
    /* Round trip. */
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "cmd",
                           json_object_new_string(api_cmd_name(req.cmd)));
    if (req.id)
        json_object_object_add(o, "id", json_object_get(req.id));
    if (req.status) {
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "status", json_object_new_int(req.status));
        json_object_object_add(o, "args", a);
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    r = api_req_parse(s, strlen(s), &again, &code, msg, sizeof(msg));
    FZ_ASSERT(r == 0 && again.cmd == req.cmd && again.status == req.status &&
                  (!req.id == !again.id) &&
                  (!req.id || json_object_equal(req.id, again.id)),
              "round trip of %s: %d %s", s, r, msg);
    api_req_free(&again);
    json_object_put(o);
    struct json_object *ret = json_object_new_object();
    json_object_object_add(ret, "echo", json_object_new_string_len(p, (int)n));
    check_line(api_reply_ok(req.id, ret, &len), len, req.id);
    check_line(api_event_line(api_cmd_name(req.cmd), 1, NULL, &len), len, NULL);
    api_req_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    /* A few lines an input: each costs many (sanitized) allocations, and
     * what one line does cannot depend on the one before. */
    for (int lines = 0; lines < 4 && p <= end; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one_line(p, n);
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}
