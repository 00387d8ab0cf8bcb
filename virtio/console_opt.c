/* SPDX-License-Identifier: MIT */
/* Parsing --console: which device is the console, and its backend. */
#include "virtio/console_opt.h"

#include <errno.h>
#include <string.h>

#include "hw/kvopt.h"
#include "hw/log.h"

struct vcons_opt_cfg {
    bool serial, virtio, legacy;
    struct chardev_opts cd;
};

static const struct kvopt_key vcons_opt_keys[] = {
    {"serial", KVOPT_BOOL, offsetof(struct vcons_opt_cfg, serial), 0, 0, 0},
    {"virtio", KVOPT_BOOL, offsetof(struct vcons_opt_cfg, virtio), 0, 0, 0},
    {"legacy", KVOPT_BOOL, offsetof(struct vcons_opt_cfg, legacy), 0, 0, 0},
    CHARDEV_KVOPT_KEYS(struct vcons_opt_cfg, cd),
    {0},
};

int vcons_opt_parse(const char *spec, struct vcons_opt *out, char *err,
                    size_t errlen)
{
    struct vcons_opt_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    char why[CHARDEV_PATH_MAX + 300];
    int r =
        kvopt_parse(spec, vcons_opt_keys, NULL, &cfg, NULL, why, sizeof(why));
    if (r < 0)
        return errbuf_set(err, errlen, r,
                          "%s; use serial or virtio[,legacy][,BACKEND]", why);
    if (cfg.serial == cfg.virtio)
        return errbuf_set(err, errlen, -EINVAL,
                          "say which console: serial or "
                          "virtio[,legacy][,BACKEND]");
    if (cfg.serial && (cfg.legacy || chardev_opts_any(&cfg.cd)))
        return errbuf_set(err, errlen, -EINVAL,
                          "'serial' takes no more keys; give the 8250's "
                          "backend with --serial BACKEND");
    memset(out, 0, sizeof(*out));
    out->virtio = cfg.virtio;
    out->legacy = cfg.legacy;
    out->backend.kind = CHARDEV_STDIO;
    if (chardev_opts_any(&cfg.cd))
        return chardev_spec_from_opts(&cfg.cd, &out->backend, err, errlen);
    return 0;
}
