/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio devices this guest was given: found in the SETUP_DTB
 * device tree, else in virtio_mmio.device=SIZE@ADDR:IRQ command-line
 * words; probed, reported ("tg: virtio ..."), checked against the test's
 * expect_devices= / expect_dev= words, and handed to per-id drivers.
 */
#ifndef TG_DEVICES_H
#define TG_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/dt.h"
#include "guest/vcons.h"
#include "guest/virtio.h"

#define DEVICES_MAX 32

struct blkset;
struct netset;
struct vportset;

struct devices {
    struct vcons vcons; /* page-aligned rings: keep first */
    struct blkset *blk; /* blkcheck.c's disks, once a blk word is seen */
    struct netset *net; /* netcheck.c's NICs, once a net word is seen */
    struct vportset *vport; /* vport.c's multiport devices, once started */
    struct dt dt;
    const char *src; /* "dt", "cmdline" or "none" */
    uint32_t n;
    uint32_t bad;     /* entries or nodes that could not be used */
    uint32_t dropped; /* beyond DEVICES_MAX */
    struct vdev dev[DEVICES_MAX];
};

struct tg;

/* Finds and probes the devices (4 register reads each). */
void devices_discover(struct devices *ds, const struct bootinfo *bi);
/* "tg: dtb ...", one "tg: virtio ..." per device, "tg: devices n=..". */
void devices_report(const struct devices *ds);
/* The first device with this DeviceID, or NULL. */
struct vdev *devices_find(struct devices *ds, uint32_t device_id);
/* virtio_magic always (when devices exist), expect_devices, expect_dev. */
void devices_checks(struct tg *tg);

/*
 * After the device checks: "tg: virtio irq ..." for each device whose
 * interrupt is routed (what the guest received), and in irqwait mode
 * the irq_wait check.
 */
void devices_irq_report(struct tg *tg);

/* Prints "tg: check NAME ok|FAIL DETAIL" and counts a failure in tg. */
void devices_check(struct tg *tg, const char *name, bool ok,
                   const char *detail);

/* Shell commands. */
void devices_cmd(struct tg *tg, const char *args, size_t len);
void devices_cmd_dt(struct tg *tg, const char *args, size_t len);

#endif
