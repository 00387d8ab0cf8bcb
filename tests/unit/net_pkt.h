/* SPDX-License-Identifier: MIT */
/*
 * Building and checking the frames the virtio-net tests send and
 * receive: Ethernet, ARP, IPv4/IPv6, ICMP, UDP and TCP headers in
 * network byte order, Internet checksums, and the virtio-net header in
 * front of them. Test code only: plain functions on caller buffers.
 */
#ifndef KVMINI_TESTS_NET_PKT_H
#define KVMINI_TESTS_NET_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NP_ETH_HLEN 14
#define NP_IP4_HLEN 20
#define NP_IP6_HLEN 40
#define NP_UDP_HLEN 8
#define NP_TCP_HLEN 20
#define NP_ETH_IP4 0x0800
#define NP_ETH_ARP 0x0806
#define NP_ETH_IP6 0x86dd

/* One's-complement sum of len bytes added to sum (not folded), and
 * the folded 16-bit result. */
uint32_t np_sum(const void *p, size_t len, uint32_t sum);
uint16_t np_fold(uint32_t sum);

/* Pseudo-header sums (§RFC 768/793/8200) for a transport length. */
uint32_t np_pseudo4(const uint8_t *ip4, uint8_t proto, uint32_t len);
uint32_t np_pseudo6(const uint8_t *ip6, uint8_t proto, uint32_t len);

/* Headers at p; each returns its length. Addresses in network order. */
size_t np_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
              uint16_t type);
size_t np_ip4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4],
              uint8_t proto, uint16_t payload, uint16_t id);
size_t np_ip6(uint8_t *p, const uint8_t src[16], const uint8_t dst[16],
              uint8_t proto, uint16_t payload);
size_t np_arp_request(uint8_t *p, const uint8_t smac[6], const uint8_t sip[4],
                      const uint8_t tip[4]);

/* A whole Ethernet/IPv4/UDP frame with a full checksum (or, if partial,
 * the pseudo-header sum the receiver completes). Returns its length. */
size_t np_udp4_frame(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6],
                     const uint8_t sip[4], const uint8_t dip[4], uint16_t sport,
                     uint16_t dport, const void *data, size_t len,
                     bool partial);

/* Check the IPv4 header checksum and the TCP/UDP checksum of the
 * Ethernet frame f (len bytes); NEEDS_CSUM frames are completed first
 * at csum_start/csum_offset. 0 or -EBADMSG. */
int np_check_l4(uint8_t *f, size_t len, bool needs_csum, uint16_t csum_start,
                uint16_t csum_offset);

/* Finish a partial checksum in place (what a NIC does for NEEDS_CSUM). */
void np_complete_csum(uint8_t *f, size_t len, uint16_t start, uint16_t off);

static inline uint16_t np_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t np_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
static inline void np_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void np_put32(uint8_t *p, uint32_t v)
{
    np_put16(p, (uint16_t)(v >> 16));
    np_put16(p + 2, (uint16_t)v);
}

#endif
