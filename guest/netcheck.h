/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net NICs the command line asks for (ip=ADDR/PREFIX for
 * eth0, ip.ethN=... for NIC N in device order; net=OPT,... for every
 * NIC with an address, net.ethN=... for one), their report lines, the
 * serving loop that answers ARP, ping and UDP echo while the guest holds
 * or sits at the shell prompt, the bench mode (a UDP flood from the
 * guest) and the shell's `net` command. A NIC without an address is
 * never touched.
 */
#ifndef TG_NETCHECK_H
#define TG_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/inet.h"
#include "guest/vnet.h"

#define NET_NICS_MAX 4
#define NET_TMPL_BYTES 2048 /* the bench frame, header included */
#define NET_RX_BUDGET 32    /* frames a NIC handles per look */

/* What the command line asks of one NIC. */
struct net_plan {
    bool has_ip;
    uint32_t ip;
    uint8_t prefix;
    struct vnet_opts vo;
    uint16_t echo_port;
    bool has_mac, has_mtu;
    uint8_t mac[ETH_ALEN];
    uint32_t mtu;
    bool bench;
    bool restart;  /* reset the running NIC, start it again */
    uint32_t peer; /* wire order; 0: none given */
    uint32_t count, len, secs;
    uint16_t port;
};

struct netnic {
    struct vnet v; /* page-aligned rings first */
    struct inet_if ifc;
    struct net_plan plan;
    struct vdev *dev;
    bool tried; /* vnet_start() called (it may have failed) */
    bool up;    /* started: served while holding */
    uint8_t ctl[128] __attribute__((aligned(64))); /* our ARP requests */
    uint8_t tmpl[NET_TMPL_BYTES] __attribute__((aligned(64)));
};

struct netset {
    struct netnic nic[NET_NICS_MAX]; /* page-aligned rings first */
    uint8_t area[NET_NICS_MAX][VNET_AREA] __attribute__((aligned(4096)));
    unsigned n;  /* virtio-net devices, in device order */
    unsigned up; /* NICs being served */
};

struct tg;

/* True if the command line has an ip, ip.ethN, net or net.ethN word. */
bool net_wanted(const struct tg *tg);
/* Starts the NICs with addresses, reports them, runs the benches. */
void net_checks(struct tg *tg);
/*
 * One turn of the idle loop: serves every running NIC (replies, refill,
 * notifications); when none had work, acknowledges their interrupts
 * and, if none was pending, tg_idle(). Without NICs: tg_idle().
 */
void net_idle(struct tg *tg);
/* After holding: each running NIC's stats line; a NIC whose device
 * broke meanwhile fails net_serve. */
void net_finish(struct tg *tg);
/* Shell: "net stats", "net info". */
void net_cmd(struct tg *tg, const char *args, size_t len);

#endif
