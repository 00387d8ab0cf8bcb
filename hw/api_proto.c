/* SPDX-License-Identifier: MIT */
/* The control API's wire format: request parsing, reply and event lines. */
#define LOG_TAG "api"
#include "hw/api_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/log.h"

static const char *const cmd_names[API_NCMDS] = {
    [API_INFO] = "info",   [API_PAUSE] = "pause",   [API_RESUME] = "resume",
    [API_STOP] = "stop",   [API_RESET] = "reset",   [API_SHUTDOWN] = "shutdown",
    [API_STATS] = "stats", [API_EVENTS] = "events",
};

const char *api_cmd_name(enum api_cmd c)
{
    return (unsigned)c < API_NCMDS ? cmd_names[c] : "?";
}

static int refuse(const char **code, const char *c, char *msg, size_t msglen,
                  const char *text)
{
    *code = c;
    return errbuf_set(msg, msglen, -EINVAL, "%s", text);
}

/* The id, if it is one we echo: an integer or a short string. */
static int take_id(struct json_object *o, struct api_req *req)
{
    struct json_object *id;
    if (!json_object_object_get_ex(o, "id", &id))
        return 0;
    enum json_type t = json_object_get_type(id);
    if (t == json_type_int || (t == json_type_string &&
                               json_object_get_string_len(id) <= API_ID_MAX)) {
        req->id = json_object_get(id);
        return 0;
    }
    return -EINVAL;
}

/* args of one command: only the keys it knows, with their types. */
static int parse_args(struct json_object *args, struct api_req *req,
                      const char **code, char *msg, size_t msglen)
{
    if (!args)
        return 0;
    if (!json_object_is_type(args, json_type_object))
        return refuse(code, API_E_ARGUMENT, msg, msglen,
                      "args must be an object");
    json_object_object_foreach(args, key, val)
    {
        if (req->cmd == API_STOP && !strcmp(key, "status")) {
            int64_t v = json_object_get_int64(val);
            if (!json_object_is_type(val, json_type_int) || v < 0 || v > 255)
                return refuse(code, API_E_ARGUMENT, msg, msglen,
                              "stop: status must be an integer 0..255");
            req->status = (int)v;
            continue;
        }
        *code = API_E_ARGUMENT;
        return errbuf_set(msg, msglen, -EINVAL,
                          "%s takes no argument '%.32s'%s",
                          api_cmd_name(req->cmd), key,
                          req->cmd == API_STOP ? " (only status)" : "");
    }
    return 0;
}

static int parse_object(struct json_object *o, struct api_req *req,
                        const char **code, char *msg, size_t msglen)
{
    if (!json_object_is_type(o, json_type_object))
        return refuse(code, API_E_REQUEST, msg, msglen,
                      "a request is a JSON object: {\"cmd\": \"info\"}");
    if (take_id(o, req) < 0)
        return refuse(code, API_E_REQUEST, msg, msglen,
                      "id must be an integer or a string of at most 64 "
                      "bytes");
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (strcmp(key, "cmd") && strcmp(key, "id") && strcmp(key, "args")) {
            *code = API_E_REQUEST;
            return errbuf_set(msg, msglen, -EINVAL,
                              "unknown key '%.32s'; a request has cmd, id "
                              "and args",
                              key);
        }
    }
    struct json_object *cmd, *args = NULL;
    if (!json_object_object_get_ex(o, "cmd", &cmd) ||
        !json_object_is_type(cmd, json_type_string))
        return refuse(code, API_E_REQUEST, msg, msglen,
                      "cmd must be a string, e.g. {\"cmd\": \"info\"}");
    const char *name = json_object_get_string(cmd);
    size_t nlen = (size_t)json_object_get_string_len(cmd);
    unsigned c = 0;
    while (c < API_NCMDS &&
           (strlen(cmd_names[c]) != nlen || memcmp(cmd_names[c], name, nlen)))
        c++;
    if (c == API_NCMDS) {
        *code = API_E_COMMAND;
        return errbuf_set(msg, msglen, -EINVAL,
                          "unknown command '%.32s'; commands: info, pause, "
                          "resume, stop, reset, shutdown, stats, events",
                          name);
    }
    req->cmd = (enum api_cmd)c;
    json_object_object_get_ex(o, "args", &args);
    return parse_args(args, req, code, msg, msglen);
}

int api_req_parse(const char *line, size_t len, struct api_req *req,
                  const char **code, char *msg, size_t msglen)
{
    *req = (struct api_req){.cmd = API_NCMDS};
    if (len > API_LINE_MAX)
        return refuse(code, API_E_TOO_LONG, msg, msglen,
                      "request longer than 4096 bytes");
    /* A CR before the newline (telnet, socat crlf) is not an error. */
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                   line[len - 1] == '\t'))
        len--;
    if (len == 0 || memchr(line, '\0', len))
        return refuse(code, API_E_JSON, msg, msglen,
                      len ? "NUL byte in the request" : "empty request");
    struct json_tokener *tok = json_tokener_new_ex(16);
    if (!tok)
        return refuse(code, API_E_FAILED, msg, msglen, "out of memory");
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int r;
    if (!o || e != json_tokener_success || used != len) {
        *code = API_E_JSON;
        r = errbuf_set(msg, msglen, -EINVAL, "not JSON: %s",
                       e == json_tokener_success
                           ? (o ? "text after the object" : "no value")
                       : e == json_tokener_continue
                           ? "the line ends inside a value"
                           : json_tokener_error_desc(e));
    } else {
        r = parse_object(o, req, code, msg, msglen);
    }
    json_object_put(o);
    return r;
}

void api_req_free(struct api_req *req)
{
    json_object_put(req->id);
    req->id = NULL;
}

/* One line: the object as compact JSON, then '\n'. Consumes o. */
static char *line_of(struct json_object *o, size_t *len)
{
    if (!o)
        return NULL;
    size_t n;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *out = s ? malloc(n + 2) : NULL;
    if (out) {
        memcpy(out, s, n);
        out[n] = '\n';
        out[n + 1] = '\0';
        *len = n + 1;
    }
    json_object_put(o);
    return out;
}

static struct json_object *reply_base(struct json_object *id, bool ok)
{
    struct json_object *o = json_object_new_object();
    if (o && id)
        json_object_object_add(o, "id", json_object_get(id));
    if (o)
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
    return o;
}

char *api_reply_ok(struct json_object *id, struct json_object *ret, size_t *len)
{
    struct json_object *o = reply_base(id, true);
    if (!ret)
        ret = json_object_new_object();
    if (!o) {
        json_object_put(ret);
        return NULL;
    }
    json_object_object_add(o, "return", ret);
    return line_of(o, len);
}

char *api_reply_err(struct json_object *id, const char *code, const char *msg,
                    size_t *len)
{
    struct json_object *o = reply_base(id, false);
    struct json_object *e = json_object_new_object();
    if (!o || !e) {
        json_object_put(o);
        json_object_put(e);
        return NULL;
    }
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(o, "error", e);
    return line_of(o, len);
}

char *api_event_line(const char *name, uint64_t seq, struct json_object *data,
                     size_t *len)
{
    struct json_object *o = json_object_new_object();
    if (!data)
        data = json_object_new_object();
    if (!o) {
        json_object_put(data);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_object_object_add(o, "event", json_object_new_string(name));
    json_object_object_add(o, "seq", json_object_new_uint64(seq));
    json_object_object_add(o, "time_ms",
                           json_object_new_int64((int64_t)ts.tv_sec * 1000 +
                                                 ts.tv_nsec / 1000000));
    json_object_object_add(o, "data", data);
    return line_of(o, len);
}
