/* SPDX-License-Identifier: MIT */
/* kvmini ls and kvmini ctl: talk to running VMs through their sockets. */
#define LOG_TAG "ctl"
#include "hw/api_client.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hw/api_proto.h"
#include "hw/log.h"

#define CLI_TIMEOUT_MS 10000 /* a VM that answers nothing in 10 s */

int api_dir(char *buf, size_t len, bool create)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n = xdg && *xdg ? snprintf(buf, len, "%s/kvmini", xdg)
                        : snprintf(buf, len, "/run/kvmini");
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int api_default_path(const char *name, char *buf, size_t len, bool create)
{
    char dir[4096];
    int r = api_dir(dir, sizeof(dir), create);
    if (r < 0)
        return r;
    int n = snprintf(buf, len, "%s/%s.sock", dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int cli_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* Read one line (without '\n') into a malloc'd string, waiting at most
 * timeout_ms (-1: forever). NULL at EOF, error or timeout. */
static char *cli_read_line(int fd, char **buf, size_t *have, int timeout_ms)
{
    for (;;) {
        char *nl = *have ? memchr(*buf, '\n', *have) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - *buf);
            char *line = strndup(*buf, n);
            memmove(*buf, nl + 1, *have - n - 1);
            *have -= n + 1;
            return line;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return NULL;
        char *nb = realloc(*buf, *have + 65536);
        if (!nb)
            return NULL;
        *buf = nb;
        ssize_t r = read(fd, *buf + *have, 65536);
        if (r <= 0)
            return NULL;
        *have += (size_t)r;
    }
}

/* Send one request; the parsed reply, or NULL (reported). */
static struct json_object *cli_call(int fd, const char *who, const char *cmd,
                                    struct json_object *args, char **buf,
                                    size_t *have)
{
    struct json_object *req = json_object_new_object();
    json_object_object_add(req, "cmd", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "args", json_object_get(args));
    const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(s);
    bool sent = write(fd, s, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    json_object_put(req);
    if (!sent) {
        log_err("%s: cannot send the request: %s", who, strerror(errno));
        return NULL;
    }
    char *line = cli_read_line(fd, buf, have, CLI_TIMEOUT_MS);
    if (!line) {
        log_err("%s: no answer within %d s", who, CLI_TIMEOUT_MS / 1000);
        return NULL;
    }
    struct json_object *o = json_tokener_parse(line);
    free(line);
    if (!o)
        log_err("%s: the answer is not JSON", who);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                                 : "?";
}

/* key.path: value lines, for people. */
static void cli_flatten(const char *prefix, struct json_object *o)
{
    char key[512];
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
            cli_flatten(key, v);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
            cli_flatten(key, json_object_array_get_idx(o, i));
        }
    } else {
        printf("%s: %s\n", prefix, o ? json_object_get_string(o) : "null");
    }
}

int api_cli_ls(int argc, char **argv)
{
    bool json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 + json) {
        log_err("ls: unexpected argument '%s'; usage: kvmini ls [--json]",
                argv[1 + json]);
        return 1;
    }
    char dir[4096];
    if (api_dir(dir, sizeof(dir), false) < 0)
        return 1;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT) {
            log_err("ls: %s: %s", dir, strerror(errno));
            return 1;
        }
        if (!json)
            printf("%-24s %-9s %8s %10s\n", "NAME", "STATE", "PID", "UPTIME");
        return 0; /* no VM ever ran here */
    }
    if (!json)
        printf("%-24s %-9s %8s %10s\n", "NAME", "STATE", "PID", "UPTIME");
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".sock"))
            continue;
        char path[4096 + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int fd = cli_connect(path);
        if (fd < 0)
            continue; /* stale: its kvmini died; the next same name reuses it */
        char *buf = NULL;
        size_t have = 0;
        struct json_object *o = cli_call(fd, path, "info", NULL, &buf, &have);
        struct json_object *ret;
        if (o && json_object_object_get_ex(o, "return", &ret)) {
            if (json)
                printf("%s\n", json_object_to_json_string_ext(
                                   ret, JSON_C_TO_STRING_PLAIN));
            else
                printf("%-24s %-9s %8s %9ss\n", jstr(ret, "name"),
                       jstr(ret, "state"), jstr(ret, "pid"),
                       jstr(ret, "uptime_s"));
        }
        json_object_put(o);
        free(buf);
        close(fd);
    }
    closedir(d);
    return 0;
}

int api_cli_ctl(int argc, char **argv)
{
    int i = 1;
    bool json = false;
    if (i < argc && !strcmp(argv[i], "--json")) {
        json = true;
        i++;
    }
    if (argc - i < 2 || argc - i > 3) {
        log_err("ctl: usage: kvmini ctl [--json] NAME|SOCKET COMMAND "
                "[ARGS-JSON] (commands: info, pause, resume, stop, reset, "
                "shutdown, stats, events)");
        return 1;
    }
    const char *who = argv[i], *cmd = argv[i + 1];
    char path[4096];
    if (strchr(who, '/'))
        snprintf(path, sizeof(path), "%s", who);
    else if (api_default_path(who, path, sizeof(path), false) < 0)
        return 1;
    struct json_object *args = NULL;
    if (argc - i == 3 && !(args = json_tokener_parse(argv[i + 2]))) {
        log_err("ctl: arguments '%s' are not JSON; e.g. '{\"status\": 3}'",
                argv[i + 2]);
        return 1;
    }
    int fd = cli_connect(path);
    if (fd < 0) {
        log_err("ctl: no VM answers on %s (%s); see kvmini ls", path,
                strerror(-fd));
        json_object_put(args);
        return 1;
    }
    char *buf = NULL;
    size_t have = 0;
    struct json_object *o = cli_call(fd, who, cmd, args, &buf, &have);
    json_object_put(args);
    int status = 1;
    struct json_object *ok, *ret = NULL, *e;
    if (o && json_object_object_get_ex(o, "ok", &ok)) {
        status = json_object_get_boolean(ok) ? 0 : 1;
        json_object_object_get_ex(o, "return", &ret);
    }
    if (o && json)
        printf("%s\n",
               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    else if (o && status == 0)
        cli_flatten("", ret);
    else if (o && json_object_object_get_ex(o, "error", &e))
        log_err("ctl %s %s: %s (%s)", who, cmd, jstr(e, "message"),
                jstr(e, "code"));
    /* events: every event line until the VM goes away. */
    if (o && status == 0 && !strcmp(cmd, "events")) {
        char *line;
        fflush(stdout);
        while ((line = cli_read_line(fd, &buf, &have, -1))) {
            struct json_object *ev = json_tokener_parse(line);
            if (json || !ev) {
                printf("%s\n", line);
            } else {
                struct json_object *data;
                printf("event %s seq %s", jstr(ev, "event"), jstr(ev, "seq"));
                if (json_object_object_get_ex(ev, "data", &data) &&
                    json_object_is_type(data, json_type_object)) {
                    json_object_object_foreach(data, k, v)
                    {
                        printf(" %s=%s", k, json_object_get_string(v));
                    }
                }
                printf("\n");
            }
            fflush(stdout);
            json_object_put(ev);
            free(line);
        }
    }
    json_object_put(o);
    free(buf);
    close(fd);
    return status;
}
