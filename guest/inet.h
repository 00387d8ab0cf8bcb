/* SPDX-License-Identifier: MIT */
/*
 * The tiny guest's network answers, on frames lent by the virtio-net
 * driver: ARP requests for its address, ICMP echo requests and UDP echo
 * (one port), each answered in place (addresses swapped, checksums
 * adjusted, never recomputed over the payload), so a reply costs the
 * same whatever its size. What comes in is checked first: Ethernet,
 * ARP and IPv4 headers, the IPv4 header checksum, the ICMP and UDP
 * checksums (over the payload; in ring 3 when it is long, ring 0 being
 * emulated here). Anything malformed is counted "bad" and ignored;
 * anything well-formed but not ours (other addresses, other protocols,
 * fragments) is counted "ignored". UDP to port 9 (discard) is only
 * counted: a cheap sink for floods. Addresses are kept as they appear
 * on the wire (network order, read with memcpy).
 */
#ifndef TG_INET_H
#define TG_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vnet.h"

#define INET_ECHO_PORT 7
#define INET_DISCARD_PORT 9
#define INET_NEIGH 4       /* ARP senders remembered */
#define INET_RING3_MIN 256 /* checksums this long or longer run in ring 3 */
#define INET_TTL 64

#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17
#define ARP_LEN 28
#define IP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8

struct inet_stats {
    uint32_t arp, icmp, udp; /* replies made */
    uint32_t discard;        /* UDP to the discard port */
    uint32_t bad, ignored;   /* malformed; well-formed but not ours */
};

struct inet_neigh {
    uint32_t ip;
    uint8_t mac[ETH_ALEN];
};

/* One interface's addresses and what it has seen. */
struct inet_if {
    uint8_t mac[ETH_ALEN];
    uint32_t ip; /* wire order */
    uint8_t prefix;
    uint16_t echo_port; /* 0: no UDP echo */
    bool csum_offload;  /* UDP replies leave their checksum to the device */
    uint32_t frame_max; /* larger frames are bad */
    struct inet_neigh neigh[INET_NEIGH];
    unsigned neigh_next;
    struct inet_stats st;
};

/*
 * Looks at a received frame: 1 when it was turned into its reply in
 * place (send its first *len bytes with header *h), 0 when it is to be
 * dropped (counted in ifc->st).
 */
int inet_input(struct inet_if *ifc, struct vnet_frame *f, uint32_t *len,
               struct vnet_hdr *h);
/* The MAC of ip from the ARP traffic seen so far: true when known. */
bool inet_neigh_find(const struct inet_if *ifc, uint32_t ip,
                     uint8_t mac[ETH_ALEN]);
/* Writes a broadcast ARP request for ip at frame; returns its length. */
uint32_t inet_arp_request(const struct inet_if *ifc, uint8_t *frame,
                          uint32_t ip);
/*
 * Writes an IPv4/UDP frame at frame: to dst_mac/dst_ip:dport from our
 * address:sport, DF set, payload bytes i & 0xff, both checksums
 * complete. Returns its length.
 */
uint32_t inet_udp_frame(const struct inet_if *ifc, uint8_t *frame,
                        const uint8_t dst_mac[ETH_ALEN], uint32_t dst_ip,
                        uint16_t sport, uint16_t dport, uint32_t payload);
/*
 * The ones' complement sum of frame bytes [off, off + len) across its
 * buffers, folded to 16 bits in memory order (store it with memcpy).
 */
uint16_t inet_sum(const struct vnet_frame *f, uint32_t off, uint32_t len);

/* "a.b.c.d/prefix" (prefix 0..32). 0, or -1 when malformed. */
int inet_parse_cidr(const char *s, size_t n, uint32_t *ip, uint8_t *prefix);
/* "a.b.c.d". 0, or -1. */
int inet_parse_ip(const char *s, size_t n, uint32_t *ip);
/* "xx:xx:xx:xx:xx:xx". 0, or -1. */
int inet_parse_mac(const char *s, size_t n, uint8_t mac[ETH_ALEN]);
/* Into out (at least 16 and 18 bytes). */
void inet_fmt_ip(char *out, size_t size, uint32_t ip);
void inet_fmt_mac(char *out, size_t size, const uint8_t mac[ETH_ALEN]);

#endif
