/* SPDX-License-Identifier: MIT */
/* Backend specs ("pty", "unix=PATH,server", ...): parsing and opening. */
#define LOG_TAG "chardev"
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hw/chardev.h"
#include "hw/log.h"

#define CHARDEV_HINT "use stdio, pty, unix=PATH[,server[,wait]] or file=PATH"

bool chardev_opts_any(const struct chardev_opts *o)
{
    return o->stdio || o->pty || o->server || o->wait || o->unix_path[0] ||
           o->file_path[0];
}

int chardev_spec_from_opts(const struct chardev_opts *o,
                           struct chardev_spec *out, char *err, size_t errlen)
{
    unsigned n = o->stdio + o->pty + !!o->unix_path[0] + !!o->file_path[0];
    if (n == 0)
        return errbuf_set(err, errlen, -EINVAL, "no backend given: %s",
                          CHARDEV_HINT);
    if (n > 1)
        return errbuf_set(err, errlen, -EINVAL,
                          "more than one backend given: %s", CHARDEV_HINT);
    if ((o->server || o->wait) && !o->unix_path[0])
        return errbuf_set(err, errlen, -EINVAL, "'%s' goes only with unix=PATH",
                          o->server ? "server" : "wait");
    if (o->wait && !o->server)
        return errbuf_set(err, errlen, -EINVAL,
                          "'wait' goes only with a server "
                          "(unix=PATH,server,wait)");
    memset(out, 0, sizeof(*out));
    if (o->stdio) {
        out->kind = CHARDEV_STDIO;
    } else if (o->pty) {
        out->kind = CHARDEV_PTY;
    } else if (o->file_path[0]) {
        out->kind = CHARDEV_FILE;
        memcpy(out->path, o->file_path, sizeof(out->path));
    } else {
        out->kind = o->server ? CHARDEV_UNIX_SERVER : CHARDEV_UNIX_CLIENT;
        out->wait = o->wait;
        memcpy(out->path, o->unix_path, sizeof(out->path));
    }
    return 0;
}

struct chardev_spec_cfg {
    struct chardev_opts cd;
};

static const struct kvopt_key chardev_keys[] = {
    CHARDEV_KVOPT_KEYS(struct chardev_spec_cfg, cd),
    {0},
};

int chardev_spec_parse(const char *spec, struct chardev_spec *out, char *err,
                       size_t errlen)
{
    struct chardev_spec_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    int r = kvopt_parse(spec, chardev_keys, NULL, &cfg, NULL, err, errlen);
    if (r < 0)
        return r;
    return chardev_spec_from_opts(&cfg.cd, out, err, errlen);
}

int chardev_open_spec(struct chardev **out, const struct chardev_spec *s,
                      const char *label,
                      const struct chardev_stdio_config *stdio, char *err,
                      size_t errlen)
{
    int r;
    switch (s->kind) {
    case CHARDEV_STDIO:
        if (!stdio)
            return errbuf_set(err, errlen, -EINVAL,
                              "%s: stdio is not available here", label);
        r = chardev_stdio_open(out, stdio);
        if (r < 0)
            return errbuf_set(err, errlen, r, "%s on stdin/stdout: %s", label,
                              strerror(-r));
        return 0;
    case CHARDEV_PTY:
        return chardev_pty_open(out, label, err, errlen);
    case CHARDEV_UNIX_SERVER:
        return chardev_unix_server_open(out, s->path, label, err, errlen);
    case CHARDEV_UNIX_CLIENT:
        return chardev_unix_client_open(out, s->path, label, err, errlen);
    case CHARDEV_FILE:
        return chardev_file_open(out, s->path, label, err, errlen);
    }
    return errbuf_set(err, errlen, -EINVAL, "%s: unknown backend", label);
}
