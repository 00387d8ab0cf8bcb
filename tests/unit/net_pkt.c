/* SPDX-License-Identifier: MIT */
/* Frame builders and checksum checks for the virtio-net tests. */
#include "tests/unit/net_pkt.h"

#include <errno.h>
#include <string.h>

uint32_t np_sum(const void *p, size_t len, uint32_t sum)
{
    const uint8_t *b = p;
    uint64_t s = sum;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (len & 1)
        s += (uint32_t)b[len - 1] << 8;
    while (s >> 32)
        s = (s & 0xffffffff) + (s >> 32);
    return (uint32_t)s;
}

uint16_t np_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

uint32_t np_pseudo4(const uint8_t *ip4, uint8_t proto, uint32_t len)
{
    uint32_t s = np_sum(ip4 + 12, 8, 0); /* source and destination */
    return s + proto + len;
}

uint32_t np_pseudo6(const uint8_t *ip6, uint8_t proto, uint32_t len)
{
    uint32_t s = np_sum(ip6 + 8, 32, 0);
    return s + proto + (len >> 16) + (len & 0xffff);
}

size_t np_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6],
              uint16_t type)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    np_put16(p + 12, type);
    return NP_ETH_HLEN;
}

size_t np_ip4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4],
              uint8_t proto, uint16_t payload, uint16_t id)
{
    memset(p, 0, NP_IP4_HLEN);
    p[0] = 0x45;
    np_put16(p + 2, (uint16_t)(NP_IP4_HLEN + payload));
    np_put16(p + 4, id);
    np_put16(p + 6, 0x4000); /* DF */
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    np_put16(p + 10, (uint16_t)~np_fold(np_sum(p, NP_IP4_HLEN, 0)));
    return NP_IP4_HLEN;
}

size_t np_ip6(uint8_t *p, const uint8_t src[16], const uint8_t dst[16],
              uint8_t proto, uint16_t payload)
{
    memset(p, 0, NP_IP6_HLEN);
    p[0] = 0x60;
    np_put16(p + 4, payload);
    p[6] = proto;
    p[7] = 64;
    memcpy(p + 8, src, 16);
    memcpy(p + 24, dst, 16);
    return NP_IP6_HLEN;
}

size_t np_arp_request(uint8_t *p, const uint8_t smac[6], const uint8_t sip[4],
                      const uint8_t tip[4])
{
    np_put16(p, 1);          /* Ethernet */
    np_put16(p + 2, 0x0800); /* IPv4 */
    p[4] = 6;
    p[5] = 4;
    np_put16(p + 6, 1); /* request */
    memcpy(p + 8, smac, 6);
    memcpy(p + 14, sip, 4);
    memset(p + 18, 0, 6);
    memcpy(p + 24, tip, 4);
    return 28;
}

size_t np_udp4_frame(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6],
                     const uint8_t sip[4], const uint8_t dip[4], uint16_t sport,
                     uint16_t dport, const void *data, size_t len, bool partial)
{
    size_t o = np_eth(f, dmac, smac, NP_ETH_IP4);
    uint8_t *ip = f + o;
    o += np_ip4(ip, sip, dip, 17, (uint16_t)(NP_UDP_HLEN + len), 1);
    uint8_t *u = f + o;
    np_put16(u, sport);
    np_put16(u + 2, dport);
    np_put16(u + 4, (uint16_t)(NP_UDP_HLEN + len));
    np_put16(u + 6, 0);
    memcpy(u + NP_UDP_HLEN, data, len);
    uint32_t ps = np_pseudo4(ip, 17, (uint32_t)(NP_UDP_HLEN + len));
    if (partial) {
        np_put16(u + 6, np_fold(ps));
    } else {
        uint16_t c = (uint16_t)~np_fold(np_sum(u, NP_UDP_HLEN + len, ps));
        np_put16(u + 6, c ? c : 0xffff);
    }
    return o + NP_UDP_HLEN + len;
}

void np_complete_csum(uint8_t *f, size_t len, uint16_t start, uint16_t off)
{
    if ((size_t)start + off + 2 > len)
        return;
    /* The field holds the pseudo-header sum; sum from start to end. */
    uint16_t c = (uint16_t)~np_fold(np_sum(f + start, len - start, 0));
    np_put16(f + start + off, c);
}

int np_check_l4(uint8_t *f, size_t len, bool needs_csum, uint16_t csum_start,
                uint16_t csum_offset)
{
    if (needs_csum)
        np_complete_csum(f, len, csum_start, csum_offset);
    if (len < NP_ETH_HLEN + NP_IP4_HLEN)
        return -EBADMSG;
    uint16_t type = np_get16(f + 12);
    uint8_t *ip = f + NP_ETH_HLEN, *l4;
    uint8_t proto;
    uint32_t l4len, ps;
    if (type == NP_ETH_IP4) {
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        if (np_fold(np_sum(ip, ihl, 0)) != 0xffff)
            return -EBADMSG;
        l4len = np_get16(ip + 2) - (uint32_t)ihl;
        proto = ip[9];
        l4 = ip + ihl;
        ps = np_pseudo4(ip, proto, l4len);
    } else if (type == NP_ETH_IP6) {
        l4len = np_get16(ip + 4);
        proto = ip[6];
        l4 = ip + NP_IP6_HLEN;
        ps = np_pseudo6(ip, proto, l4len);
    } else {
        return -EBADMSG;
    }
    if (l4 + l4len > f + len || (proto != 6 && proto != 17))
        return -EBADMSG;
    if (proto == 17 && type == NP_ETH_IP4 && np_get16(l4 + 6) == 0)
        return 0; /* IPv4 UDP without a checksum */
    return np_fold(np_sum(l4, l4len, ps)) == 0xffff ? 0 : -EBADMSG;
}
