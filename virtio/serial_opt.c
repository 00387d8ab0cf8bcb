/* SPDX-License-Identifier: MIT */
/* Parsing --port and grouping the ports into virtio-serial devices. */
#include "virtio/serial_opt.h"

#include <errno.h>
#include <string.h>

#include "hw/kvopt.h"
#include "hw/log.h"

struct port_cfg {
    char name[VSER_NAME_MAX + 1];
    uint32_t dev;
    struct chardev_opts cd;
};

enum { KEY_NAME, KEY_DEV };

static const struct kvopt_key port_keys[] = {
    [KEY_NAME] = {"name", KVOPT_STR, offsetof(struct port_cfg, name),
                  VSER_NAME_MAX + 1, 0, 0},
    [KEY_DEV] = {"dev", KVOPT_U32, offsetof(struct port_cfg, dev), 0, 0,
                 VSER_DEVS_MAX - 1},
    CHARDEV_KVOPT_KEYS(struct port_cfg, cd),
    {0},
};

#define PORT_SYNTAX                                                            \
    "use name=NAME[,dev=N],pty|unix=PATH[,server[,wait]]|file=PATH"

int vser_port_opt_parse(const char *spec, struct vser_port_opt *out, char *err,
                        size_t errlen)
{
    struct port_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    uint64_t given = 0;
    char why[CHARDEV_PATH_MAX + 300];
    int r = kvopt_parse(spec, port_keys, NULL, &cfg, &given, why, sizeof(why));
    if (r < 0)
        return errbuf_set(err, errlen, r, "%s; " PORT_SYNTAX, why);
    if (!(given & (1u << KEY_NAME)))
        return errbuf_set(err, errlen, -EINVAL,
                          "a port needs a name; " PORT_SYNTAX);
    for (const char *c = cfg.name; *c; c++)
        if (*c <= ' ' || *c > '~')
            return errbuf_set(err, errlen, -EINVAL,
                              "name=%s: use printable characters, no spaces",
                              cfg.name);
    if (!chardev_opts_any(&cfg.cd))
        return errbuf_set(err, errlen, -EINVAL,
                          "port %s has no backend; " PORT_SYNTAX, cfg.name);
    memset(out, 0, sizeof(*out));
    memcpy(out->name, cfg.name, sizeof(out->name));
    out->dev = cfg.dev;
    out->dev_given = given & (1u << KEY_DEV);
    return chardev_spec_from_opts(&cfg.cd, &out->backend, err, errlen);
}

int vser_plan_add(struct vser_plan *p, const char *spec, char *err,
                  size_t errlen)
{
    struct vser_port_opt o;
    int r = vser_port_opt_parse(spec, &o, err, errlen);
    if (r < 0)
        return r;
    for (unsigned d = 0; d < VSER_DEVS_MAX; d++)
        for (unsigned i = 0; i < p->dev[d].n; i++)
            if (!strcmp(p->dev[d].port[i].name, o.name))
                return errbuf_set(err, errlen, -EINVAL,
                                  "a port named %s exists already; give each "
                                  "port its own name",
                                  o.name);
    if (!o.dev_given)
        while (o.dev < VSER_DEVS_MAX && p->dev[o.dev].n == VSER_NAMED_MAX)
            o.dev++;
    if (o.dev == VSER_DEVS_MAX || p->dev[o.dev].n == VSER_NAMED_MAX)
        return errbuf_set(err, errlen, -ENOSPC,
                          o.dev_given ? "device %u has %u ports already; "
                                        "use another dev="
                                      : "%u devices of %u ports are full",
                          o.dev_given ? o.dev : VSER_DEVS_MAX, VSER_NAMED_MAX);
    struct vser_plan_dev *d = &p->dev[o.dev];
    d->port[d->n] = o;
    d->text[d->n++] = spec;
    return 0;
}
