/* SPDX-License-Identifier: MIT */
/* The control API's wire format: requests accepted and refused, replies. */
#include <errno.h>
#include <string.h>

#include "hw/api_proto.h"
#include "tests/unit/tap.h"

static struct api_req req;
static const char *code;
static char msg[256];

static int parse(const char *s)
{
    code = NULL;
    msg[0] = '\0';
    api_req_free(&req);
    return api_req_parse(s, strlen(s), &req, &code, msg, sizeof(msg));
}

static void refused(const char *line, const char *want)
{
    int r = parse(line);
    CHECK(r == -EINVAL && code && !strcmp(code, want) && msg[0] &&
              !strchr(msg, '\n'),
          "'%.40s' refused as %s (%s: %s)", line, want, code ? code : "-", msg);
}

static void test_good(void)
{
    static const char *const names[] = {"info",  "pause", "resume",
                                        "stop",  "reset", "shutdown",
                                        "stats", "events"};
    for (unsigned c = 0; c < API_NCMDS; c++) {
        char line[64];
        snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", names[c]);
        CHECK(parse(line) == 0 && req.cmd == (enum api_cmd)c && !req.id,
              "%s parses", names[c]);
        CHECK(!strcmp(api_cmd_name((enum api_cmd)c), names[c]),
              "api_cmd_name(%u) is %s", c, names[c]);
    }
    CHECK(parse(" { \"id\" : 42 , \"cmd\" : \"info\" } \r") == 0 &&
              req.cmd == API_INFO && req.id &&
              json_object_get_int(req.id) == 42,
          "whitespace, a CR before the newline, an integer id");
    CHECK(parse("{\"cmd\":\"stats\",\"id\":\"abc\",\"args\":{}}") == 0 &&
              !strcmp(json_object_get_string(req.id), "abc"),
          "a string id and empty args");
    CHECK(parse("{\"cmd\":\"stop\",\"args\":{\"status\":255}}") == 0 &&
              req.cmd == API_STOP && req.status == 255,
          "stop with status 255");
    CHECK(parse("{\"cmd\":\"stop\"}") == 0 && req.status == 0,
          "stop's status defaults to 0");
}

static void test_bad(void)
{
    refused("", API_E_JSON);
    refused("   ", API_E_JSON);
    refused("{\"cmd\":", API_E_JSON);
    refused("{\"cmd\":\"info\"} {}", API_E_JSON);
    refused("{\"cmd\":\"info\",}", API_E_JSON);
    refused("{'cmd':'info'}", API_E_JSON);
    refused("\xff\xfe", API_E_JSON);
    refused("{\"cmd\":\"in\xc3\"}", API_E_JSON);
    refused("[]", API_E_REQUEST);
    refused("\"info\"", API_E_REQUEST);
    refused("{}", API_E_REQUEST);
    refused("{\"cmd\":null}", API_E_REQUEST);
    refused("{\"cmd\":[\"info\"]}", API_E_REQUEST);
    refused("{\"cmd\":\"info\",\"id\":1.5}", API_E_REQUEST);
    refused("{\"cmd\":\"info\",\"id\":{}}", API_E_REQUEST);
    refused("{\"cmd\":\"info\",\"id\":\"0123456789012345678901234567890123"
            "4567890123456789012345678901234\"}",
            API_E_REQUEST);
    refused("{\"cmd\":\"info\",\"extra\":1}", API_E_REQUEST);
    refused("{\"cmd\":\"Info\"}", API_E_COMMAND);
    refused("{\"cmd\":\"info \"}", API_E_COMMAND);
    refused("{\"cmd\":\"\"}", API_E_COMMAND);
    refused("{\"cmd\":\"info\",\"args\":[]}", API_E_ARGUMENT);
    refused("{\"cmd\":\"info\",\"args\":{\"x\":1}}", API_E_ARGUMENT);
    refused("{\"cmd\":\"stop\",\"args\":{\"status\":\"3\"}}", API_E_ARGUMENT);
    refused("{\"cmd\":\"stop\",\"args\":{\"status\":256}}", API_E_ARGUMENT);
    refused("{\"cmd\":\"stop\",\"args\":{\"status\":-1}}", API_E_ARGUMENT);
    refused("{\"cmd\":\"stop\",\"args\":{\"status\":1.0}}", API_E_ARGUMENT);
    refused("{\"cmd\":\"pause\",\"args\":{\"status\":1}}", API_E_ARGUMENT);

    /* A NUL inside the line is refused, not read as its end. */
    static const char nul[] = "{\"cmd\":\"info\"}\0garbage";
    code = NULL;
    api_req_free(&req);
    CHECK(api_req_parse(nul, sizeof(nul) - 1, &req, &code, msg, sizeof(msg)) ==
                  -EINVAL &&
              !strcmp(code, API_E_JSON),
          "a NUL byte in the line: bad-json");

    /* Refused requests keep their id, so the error can carry it. */
    CHECK(parse("{\"id\":9,\"cmd\":\"nope\"}") == -EINVAL && req.id &&
              json_object_get_int(req.id) == 9,
          "an unknown command keeps the request's id");

    /* Length limit: exactly API_LINE_MAX is read, one more is not. */
    static char big[API_LINE_MAX + 2];
    memset(big, ' ', sizeof(big) - 1);
    memcpy(big, "{\"cmd\":\"info\"}", 14);
    code = NULL;
    api_req_free(&req);
    CHECK(api_req_parse(big, API_LINE_MAX, &req, &code, msg, sizeof(msg)) == 0,
          "a request of exactly %u bytes (padded) parses", API_LINE_MAX);
    api_req_free(&req);
    CHECK(api_req_parse(big, API_LINE_MAX + 1, &req, &code, msg, sizeof(msg)) ==
                  -EINVAL &&
              !strcmp(code, API_E_TOO_LONG),
          "one byte more: line-too-long");

    /* Deep nesting: json-c's depth limit, an error, not a crash. */
    static char deep[3000];
    size_t o =
        (size_t)snprintf(deep, sizeof(deep), "{\"cmd\":\"info\",\"id\":");
    for (int i = 0; i < 1000; i++)
        deep[o++] = '[';
    deep[o] = '\0';
    refused(deep, API_E_JSON);
}

static void test_lines(void)
{
    size_t len = 0;
    struct json_object *id = json_object_new_string("a\"b\n");
    char *l = api_reply_ok(id, NULL, &len);
    CHECK(l && len == strlen(l) && l[len - 1] == '\n' &&
              !memchr(l, '\n', len - 1),
          "a reply is one line");
    CHECK(l && !strcmp(l, "{\"id\":\"a\\\"b\\n\",\"ok\":true,\"return\":{}}\n"),
          "... echoes the id, escaped; empty return");
    free(l);
    struct json_object *ret = json_object_new_object();
    json_object_object_add(ret, "path", json_object_new_string("/run/x"));
    l = api_reply_ok(NULL, ret, &len);
    CHECK(l && !strcmp(l, "{\"ok\":true,\"return\":{\"path\":\"/run/x\"}}\n"),
          "no id: none in the reply; slashes unescaped");
    free(l);
    l = api_reply_err(id, API_E_STATE, "already paused", &len);
    CHECK(l && !strcmp(l, "{\"id\":\"a\\\"b\\n\",\"ok\":false,\"error\":{"
                          "\"code\":\"wrong-state\",\"message\":\"already "
                          "paused\"}}\n"),
          "an error reply: code and message");
    free(l);
    json_object_put(id);
    l = api_event_line("state", 7, NULL, &len);
    CHECK(l && !strncmp(l, "{\"event\":\"state\",\"seq\":7,\"time_ms\":", 35) &&
              strstr(l, ",\"data\":{}}\n"),
          "an event line: name, seq, time, data");
    free(l);
}

int main(void)
{
    test_good();
    test_bad();
    test_lines();
    api_req_free(&req);
    return tap_done();
}
