/* SPDX-License-Identifier: MIT */
/*
 * The --port option: "name=NAME[,dev=N][,BACKEND]" with BACKEND one of
 * hw/chardev.h's specs as keys (pty | unix=PATH[,server[,wait]] |
 * file=PATH | stdio), e.g. "name=org.example.ctl,unix=/run/vm1.ctl,server".
 * Ports are grouped into virtio-serial devices: dev=N (0..VSER_DEVS_MAX-1)
 * picks device N; without it a port goes to the lowest-numbered device
 * with room. A device holds VSER_NAMED_MAX named ports (ids 1..31, in
 * flag order; port 0 stays free for a console). Names are unique across
 * the VM. Pure: no I/O, any thread.
 */
#ifndef KVMINI_VIRTIO_SERIAL_OPT_H
#define KVMINI_VIRTIO_SERIAL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/chardev.h"
#include "virtio/serial.h"

#define VSER_DEVS_MAX 8
#define VSER_NAMED_MAX (VSER_MAX_PORTS - 1)

struct vser_port_opt {
    char name[VSER_NAME_MAX + 1];
    uint32_t dev;
    bool dev_given;
    struct chardev_spec backend;
};

/* Where each --port goes: per device, its ports in id order (id = index
 * + 1) and the text the user gave (for messages). */
struct vser_plan {
    struct vser_plan_dev {
        unsigned n;
        struct vser_port_opt port[VSER_NAMED_MAX];
        const char *text[VSER_NAMED_MAX];
        struct chardev *cd[VSER_NAMED_MAX]; /* the owner's, once opened */
    } dev[VSER_DEVS_MAX];
};

/* Parse one --port spec. 0 or -EINVAL with one sentence in err. */
int vser_port_opt_parse(const char *spec, struct vser_port_opt *out, char *err,
                        size_t errlen);

/* Parse spec and place the port (spec must outlive the plan). 0,
 * -EINVAL or -ENOSPC with one sentence in err. */
int vser_plan_add(struct vser_plan *p, const char *spec, char *err,
                  size_t errlen);

#endif
