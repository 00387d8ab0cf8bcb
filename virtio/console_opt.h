/* SPDX-License-Identifier: MIT */
/*
 * The --console option: "serial" (the 8250 takes stdin; the default) or
 * "virtio[,legacy][,BACKEND]" with BACKEND one of hw/chardev.h's specs
 * (stdio when none is given), e.g. "virtio,pty" or
 * "virtio,legacy,unix=/run/vm.sock,server,wait". "virtio,legacy" and
 * "virtio" keep their old meaning. Pure: no I/O, any thread.
 */
#ifndef KVMINI_VIRTIO_CONSOLE_OPT_H
#define KVMINI_VIRTIO_CONSOLE_OPT_H

#include <stdbool.h>
#include <stddef.h>

#include "hw/chardev.h"

struct vcons_opt {
    bool virtio;                 /* a virtio console (else the 8250) */
    bool legacy;                 /* virtio-mmio version 1 registers */
    struct chardev_spec backend; /* virtio only; default stdio */
};

/* 0 or -EINVAL with one sentence in err (the caller names the flag). */
int vcons_opt_parse(const char *spec, struct vcons_opt *out, char *err,
                    size_t errlen);

#endif
