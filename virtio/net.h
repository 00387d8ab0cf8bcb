/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (device id 1, virtio 1.2 §5.1) on a host tap: queue pairs
 * receiveq/transmitq 0..N-1 and a control queue, mergeable receive
 * buffers, checksum and segmentation offloads passed through the tap's
 * vnet header, multiqueue on a multi_queue tap, RX filtering by the
 * control queue's RX-mode and MAC-table commands.
 *
 * Each RX queue's worker polls its tap queue fd only while the guest has
 * posted buffers, and reads frames straight into them; a frame read
 * when the posted buffers are too small for it is kept until the guest
 * posts more. Each TX queue's worker writes frames straight from guest
 * memory with one writev each. docs/virtio-net.md has the details.
 *
 * Integration (main.c):
 *   struct vnet_config c;
 *   vnet_parse("tap0,queues=2", &c, err, sizeof(err));   before KVM
 *   vnet_create(&n, &c, vm_name, nic_index, err, sizeof(err));
 *   vmmio_create(&m, vnet_ops(n), n, &mem, &irq, false);  ... run ...
 *   vmmio_stats_print(m, stderr);  (includes the NIC's own counters)
 *   vmmio_destroy(m); vnet_destroy(n);
 * Errors are negative errno with one sentence in err (no newline); the
 * caller prefixes the flag. Threads as in virtio/vdev.h.
 */
#ifndef KVMINI_VIRTIO_NET_H
#define KVMINI_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/tap.h"
#include "virtio/vdev.h"

/* 2 * pairs + the control queue must fit VDEV_MAX_QUEUES. */
#define VNET_MAX_PAIRS 7

struct vnet_config { /* defaults set by vnet_parse */
    char tap[16];    /* IFNAMSIZ */
    uint8_t mac[6];
    bool mac_set;
    uint32_t queues; /* queue pairs, default 1 */
    uint32_t mtu;    /* 0: the tap's MTU */
    bool offload;    /* offer checksum/segmentation offloads (default) */
};

struct vnet;

/* "tap0" or "tap=NAME[,mac=MAC][,queues=N][,mtu=N][,offload=on|off]". A multicast or
 * all-zero MAC is an error. 0, or -EINVAL/-ERANGE with one sentence in
 * err. */
int vnet_parse(const char *spec, struct vnet_config *cfg, char *err,
               size_t errlen);

/* Open (or create) the tap and set up this NIC's vdev_ops (2 * queues
 * + 1 virtqueues). vm_name (NULL: "kvmini") and index make the default
 * MAC. 0 or -errno with one sentence in err. */
int vnet_create(struct vnet **out, const struct vnet_config *cfg,
                const char *vm_name, unsigned index, char *err, size_t errlen);

/* The same on a backend already open (tap_from_fds: fds handed over,
 * sockets in tests). Takes ownership of *t, also on failure. cfg->tap
 * is ignored. */
int vnet_create_tap(struct vnet **out, const struct vnet_config *cfg,
                    struct tap *t, const char *vm_name, unsigned index,
                    char *err, size_t errlen);

const struct vdev_ops *vnet_ops(const struct vnet *n); /* priv = n */
void vnet_destroy(struct vnet *n); /* after vmmio_destroy; NULL is fine */

/* The locally administered unicast MAC for NIC index of VM vm_name:
 * the same inputs always give the same address. */
void vnet_default_mac(const char *vm_name, unsigned index, uint8_t mac[6]);

/* Per-NIC counters, summed over the queues (relaxed reads, any thread). */
struct vnet_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t rx_drop_oversize;  /* larger than the guest's buffers */
    uint64_t rx_drop_bad;       /* runt, or offload the guest did not take */
    uint64_t rx_filtered;       /* refused by the guest's RX filter */
    uint64_t rx_stalls;         /* a frame waited for the guest's buffers */
    uint64_t rx_copied;         /* read aside, then copied (too few buffers) */
    uint64_t tx_drop_malformed; /* bad chain or shorter than the header */
    uint64_t tx_drop_oversize;  /* beyond the MTU (or 64 KiB with GSO) */
    uint64_t tx_drop_header;    /* offload or flag not negotiated */
    uint64_t tx_drop_tap;       /* the tap refused the frame */
    uint64_t ctrl_ok, ctrl_err; /* control commands answered */
    uint64_t rx_rounds, tx_rounds; /* process() calls (busy-loop check) */
};
void vnet_stats_get(const struct vnet *n, struct vnet_stats *s);

/* The backend, for tests that check what the device asked of it. */
const struct tap *vnet_tap(const struct vnet *n);

#endif
