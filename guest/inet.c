/* SPDX-License-Identifier: MIT */
/* ARP, ICMP echo and UDP echo answered in place; checksums; addresses. */
#include "guest/inet.h"
#include "guest/lib.h"
#include "guest/user.h"

/* Offsets inside the Ethernet frame and its headers. */
#define ETH_DST 0
#define ETH_SRC 6
#define ETH_TYPE 12
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24
#define IP_TL 2
#define IP_FRAG 6
#define IP_TTL 8
#define IP_PROTO 9
#define IP_CSUM 10
#define IP_SRC 12
#define IP_DST 16
#define IP_DF 0x4000
#define IP_MF_OFF 0x3fff
#define UDP_SPORT 0
#define UDP_DPORT 2
#define UDP_LEN 4
#define UDP_CSUM 6
#define ICMP_CSUM 2
#define ICMP_ECHO 8
#define ICMP_ECHOREPLY 0

static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Big-endian fields. */
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Fields copied as they are, in memory order (addresses, checksums). */
static uint16_t ld16(const uint8_t *p)
{
    uint16_t v;

    __builtin_memcpy(&v, p, 2);
    return v;
}

static void st16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, 2);
}

static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;

    __builtin_memcpy(&v, p, 4);
    return v;
}

static void st32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

static void mac_copy(uint8_t *d, const uint8_t *s)
{
    __builtin_memcpy(d, s, ETH_ALEN);
}

static bool mac_eq(const uint8_t *a, const uint8_t *b)
{
    return ld32(a) == ld32(b) && ld16(a + 4) == ld16(b + 4);
}

static uint16_t swab16(uint16_t v)
{
    return (uint16_t)(v << 8 | v >> 8);
}

/* --- checksums (RFC 1071), in memory order ----------------------------- */

__attribute__((section(".text.user"))) static uint16_t fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Sum of n bytes from p as little-endian 16-bit words (the last byte
 * alone as a low byte), unfolded. */
__attribute__((section(".text.user"))) static uint64_t
add_bytes(const uint8_t *p, uint32_t n)
{
    uint64_t s = 0, w;

    for (; n >= 8; p += 8, n -= 8) {
        __builtin_memcpy(&w, p, 8);
        s += (w & 0xffffffffu) + (w >> 32);
    }
    for (; n >= 2; p += 2, n -= 2)
        s += (uint16_t)(p[0] | p[1] << 8);
    if (n)
        s += p[0];
    return s;
}

struct sum_job {
    const struct vnet_frame *f;
    uint32_t off, len;
};

/* A segment starting at an odd distance from the range's start has its
 * bytes in the other halves of the words: swap its sum (RFC 1071 2(B)). */
__attribute__((section(".text.user"))) static uint64_t
sum_frame(uint64_t jp, uint64_t unused)
{
    const struct sum_job *j = (const struct sum_job *)jp;
    uint32_t off = j->off, left = j->len, done = 0;
    uint64_t s = 0;

    (void)unused;
    for (unsigned i = 0; i < j->f->n && left; i++) {
        uint32_t l = j->f->len[i];
        uint16_t part;

        if (off >= l) {
            off -= l;
            continue;
        }
        l -= off;
        l = l < left ? l : left;
        part = fold(add_bytes(j->f->p[i] + off, l));
        s += done & 1 ? (uint16_t)(part << 8 | part >> 8) : part;
        done += l;
        left -= l;
        off = 0;
    }
    return fold(s);
}

uint16_t inet_sum(const struct vnet_frame *f, uint32_t off, uint32_t len)
{
    struct sum_job j = {f, off, len};

    /* Ring 0 is emulated here (~2 instructions/us), ring 3 is not: a
     * long payload is cheaper there, the trip there included. */
    if (len >= INET_RING3_MIN)
        return (uint16_t)user_call(sum_frame, (uint64_t)&j, 0);
    return (uint16_t)sum_frame((uint64_t)&j, 0);
}

/* RFC 1624 eqn. 3: the checksum after one 16-bit word changed. */
static uint16_t csum_update(uint16_t hc, uint16_t old, uint16_t new)
{
    return (uint16_t)~fold((uint16_t)~hc + (uint16_t)~old + new);
}

static void ip_csum_set(uint8_t *ip, uint32_t ihl)
{
    st16(ip + IP_CSUM, 0);
    st16(ip + IP_CSUM, (uint16_t)~fold(add_bytes(ip, ihl)));
}

/* Source, destination, protocol and length: the UDP pseudo-header. */
static uint64_t pseudo_sum(const uint8_t *ip, uint16_t ulen)
{
    return add_bytes(ip + IP_SRC, 8) + swab16(IPPROTO_UDP) + swab16(ulen);
}

/* --- answers ----------------------------------------------------------- */

static void neigh_learn(struct inet_if *ifc, uint32_t ip, const uint8_t *mac)
{
    struct inet_neigh *e = NULL;

    for (unsigned i = 0; i < INET_NEIGH; i++)
        if (ifc->neigh[i].ip == ip)
            e = &ifc->neigh[i];
    if (!e)
        e = &ifc->neigh[ifc->neigh_next++ % INET_NEIGH];
    e->ip = ip;
    mac_copy(e->mac, mac);
}

bool inet_neigh_find(const struct inet_if *ifc, uint32_t ip,
                     uint8_t mac[ETH_ALEN])
{
    for (unsigned i = 0; i < INET_NEIGH; i++)
        if (ip && ifc->neigh[i].ip == ip) {
            mac_copy(mac, ifc->neigh[i].mac);
            return true;
        }
    return false;
}

static int bad(struct inet_if *ifc)
{
    ifc->st.bad++;
    return 0;
}

static int ignored(struct inet_if *ifc)
{
    ifc->st.ignored++;
    return 0;
}

static int arp_input(struct inet_if *ifc, uint8_t *e, uint32_t seg0,
                     uint32_t *len)
{
    uint8_t *a = e + VNET_ETH_HLEN;
    uint32_t spa;

    if (seg0 < VNET_ETH_HLEN + ARP_LEN || get16(a) != 1 ||
        get16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN || a[5] != 4)
        return bad(ifc);
    spa = ld32(a + ARP_SPA);
    if (spa)
        neigh_learn(ifc, spa, a + ARP_SHA);
    if (get16(a + ARP_OP) != 1 || ld32(a + ARP_TPA) != ifc->ip)
        return ignored(ifc);
    /* The request becomes the reply: it goes back to its sender. */
    mac_copy(e + ETH_DST, a + ARP_SHA);
    mac_copy(e + ETH_SRC, ifc->mac);
    put16(a + ARP_OP, 2);
    mac_copy(a + ARP_THA, a + ARP_SHA);
    st32(a + ARP_TPA, spa);
    mac_copy(a + ARP_SHA, ifc->mac);
    st32(a + ARP_SPA, ifc->ip);
    *len = VNET_ETH_HLEN + ARP_LEN;
    ifc->st.arp++;
    return 1;
}

/* Ethernet and IPv4 headers turned round: to the sender, from us. */
static void ip_turn(struct inet_if *ifc, uint8_t *e, uint32_t ihl)
{
    uint8_t *ip = e + VNET_ETH_HLEN;
    uint32_t src = ld32(ip + IP_SRC);

    mac_copy(e + ETH_DST, e + ETH_SRC);
    mac_copy(e + ETH_SRC, ifc->mac);
    st32(ip + IP_SRC, ifc->ip);
    st32(ip + IP_DST, src);
    ip[IP_TTL] = INET_TTL;
    ip_csum_set(ip, ihl);
}

static int icmp_input(struct inet_if *ifc, struct vnet_frame *f, uint32_t ihl,
                      uint32_t tl, uint32_t *len)
{
    uint8_t *e = f->p[0], *ic = e + VNET_ETH_HLEN + ihl;
    uint16_t old;

    if (tl < ihl + ICMP_HLEN)
        return bad(ifc);
    if (inet_sum(f, VNET_ETH_HLEN + ihl, tl - ihl) != 0xffff)
        return bad(ifc);
    if (ic[0] != ICMP_ECHO || ic[1])
        return ignored(ifc);
    ip_turn(ifc, e, ihl);
    old = ld16(ic);
    ic[0] = ICMP_ECHOREPLY;
    st16(ic + ICMP_CSUM, csum_update(ld16(ic + ICMP_CSUM), old, ld16(ic)));
    *len = VNET_ETH_HLEN + tl;
    ifc->st.icmp++;
    return 1;
}

static int udp_input(struct inet_if *ifc, struct vnet_frame *f, uint32_t ihl,
                     uint32_t tl, uint32_t *len, struct vnet_hdr *h)
{
    uint8_t *e = f->p[0], *ip = e + VNET_ETH_HLEN, *u = ip + ihl;
    uint16_t ulen, sport;

    if (tl < ihl + UDP_HLEN)
        return bad(ifc);
    ulen = get16(u + UDP_LEN);
    /* A shorter UDP length leaves bytes a device checksum would count. */
    if (ulen != tl - ihl)
        return bad(ifc);
    if (get16(u + UDP_DPORT) == INET_DISCARD_PORT) {
        ifc->st.discard++;
        return 0;
    }
    if (!ifc->echo_port || get16(u + UDP_DPORT) != ifc->echo_port)
        return ignored(ifc);
    if (ld16(u + UDP_CSUM) && fold(inet_sum(f, VNET_ETH_HLEN + ihl, ulen) +
                                   pseudo_sum(ip, ulen)) != 0xffff)
        return bad(ifc);
    /* Swapping addresses and ports leaves the sum as it was. */
    ip_turn(ifc, e, ihl);
    sport = ld16(u + UDP_SPORT);
    st16(u + UDP_SPORT, ld16(u + UDP_DPORT));
    st16(u + UDP_DPORT, sport);
    if (ifc->csum_offload) {
        /* The device sums from csum_start to the end and stores the
         * complement at csum_offset, which holds the pseudo-header sum
         * (virtio 1.2 5.1.6.2). */
        st16(u + UDP_CSUM, fold(pseudo_sum(ip, ulen)));
        h->flags = VNET_HDR_F_NEEDS_CSUM;
        h->csum_start = (uint16_t)(VNET_ETH_HLEN + ihl);
        h->csum_offset = UDP_CSUM;
    }
    *len = VNET_ETH_HLEN + tl;
    ifc->st.udp++;
    return 1;
}

static int ip_input(struct inet_if *ifc, struct vnet_frame *f, uint32_t *len,
                    struct vnet_hdr *h)
{
    uint8_t *ip = f->p[0] + VNET_ETH_HLEN;
    uint32_t seg0 = f->len[0], ihl, tl;

    if (seg0 < VNET_ETH_HLEN + IP_HLEN || ip[0] >> 4 != 4)
        return bad(ifc);
    ihl = (ip[0] & 15u) * 4;
    tl = get16(ip + IP_TL);
    /* Every header we parse lies in the first buffer (VNET_RXBUF_MIN). */
    if (ihl < IP_HLEN || seg0 < VNET_ETH_HLEN + ihl + UDP_HLEN ||
        fold(add_bytes(ip, ihl)) != 0xffff || tl < ihl ||
        VNET_ETH_HLEN + tl > f->total)
        return bad(ifc);
    if (ld32(ip + IP_DST) != ifc->ip || get16(ip + IP_FRAG) & IP_MF_OFF)
        return ignored(ifc);
    if (ip[IP_PROTO] == IPPROTO_ICMP)
        return icmp_input(ifc, f, ihl, tl, len);
    if (ip[IP_PROTO] == IPPROTO_UDP)
        return udp_input(ifc, f, ihl, tl, len, h);
    return ignored(ifc);
}

int inet_input(struct inet_if *ifc, struct vnet_frame *f, uint32_t *len,
               struct vnet_hdr *h)
{
    uint8_t *e = f->p[0];

    *h = (struct vnet_hdr){0};
    /* Without GUEST_CSUM or GUEST_TSO the device owes us complete,
     * unsegmented frames (5.1.6.4.1); DATA_VALID is only a hint. */
    if (f->total < VNET_ETH_HLEN || f->total > ifc->frame_max ||
        f->hdr->flags & VNET_HDR_F_NEEDS_CSUM || f->hdr->gso_type)
        return bad(ifc);
    if (!mac_eq(e + ETH_DST, ifc->mac) && !mac_eq(e + ETH_DST, bcast))
        return ignored(ifc);
    if (get16(e + ETH_TYPE) == ETH_P_ARP)
        return arp_input(ifc, e, f->len[0], len);
    if (get16(e + ETH_TYPE) == ETH_P_IP)
        return ip_input(ifc, f, len, h);
    return ignored(ifc);
}

/* --- frames of our own -------------------------------------------------- */

static void eth_put(uint8_t *e, const uint8_t *dst, const uint8_t *src,
                    uint16_t type)
{
    mac_copy(e + ETH_DST, dst);
    mac_copy(e + ETH_SRC, src);
    put16(e + ETH_TYPE, type);
}

uint32_t inet_arp_request(const struct inet_if *ifc, uint8_t *frame,
                          uint32_t ip)
{
    uint8_t *a = frame + VNET_ETH_HLEN;

    eth_put(frame, bcast, ifc->mac, ETH_P_ARP);
    put16(a, 1);
    put16(a + 2, ETH_P_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + ARP_OP, 1);
    mac_copy(a + ARP_SHA, ifc->mac);
    st32(a + ARP_SPA, ifc->ip);
    for (unsigned i = 0; i < ETH_ALEN; i++)
        a[ARP_THA + i] = 0;
    st32(a + ARP_TPA, ip);
    return VNET_ETH_HLEN + ARP_LEN;
}

uint32_t inet_udp_frame(const struct inet_if *ifc, uint8_t *frame,
                        const uint8_t dst_mac[ETH_ALEN], uint32_t dst_ip,
                        uint16_t sport, uint16_t dport, uint32_t payload)
{
    uint8_t *ip = frame + VNET_ETH_HLEN, *u = ip + IP_HLEN;
    uint16_t ulen = (uint16_t)(UDP_HLEN + payload);

    eth_put(frame, dst_mac, ifc->mac, ETH_P_IP);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + IP_TL, (uint16_t)(IP_HLEN + ulen));
    put16(ip + 4, 0);
    put16(ip + IP_FRAG, IP_DF);
    ip[IP_TTL] = INET_TTL;
    ip[IP_PROTO] = IPPROTO_UDP;
    st32(ip + IP_SRC, ifc->ip);
    st32(ip + IP_DST, dst_ip);
    ip_csum_set(ip, IP_HLEN);
    put16(u + UDP_SPORT, sport);
    put16(u + UDP_DPORT, dport);
    put16(u + UDP_LEN, ulen);
    st16(u + UDP_CSUM, 0);
    for (uint32_t i = 0; i < payload; i++)
        u[UDP_HLEN + i] = (uint8_t)i;
    /* 0 would mean "no checksum": RFC 768 sends 0xffff instead. */
    st16(u + UDP_CSUM,
         (uint16_t)~fold(add_bytes(u, ulen) + pseudo_sum(ip, ulen)) ?: 0xffff);
    return VNET_ETH_HLEN + IP_HLEN + ulen;
}

/* --- addresses ----------------------------------------------------------- */

int inet_parse_ip(const char *s, size_t n, uint32_t *ip)
{
    uint8_t b[4];
    size_t i = 0;

    for (unsigned k = 0; k < 4; k++) {
        size_t j = i;
        uint64_t v;

        while (j < n && s[j] >= '0' && s[j] <= '9' && j - i < 3)
            j++;
        if (j == i || parse_u64(s + i, j - i, false, &v) || v > 255 ||
            (k < 3 ? j >= n || s[j] != '.' : j != n))
            return -1;
        b[k] = (uint8_t)v;
        i = j + 1;
    }
    __builtin_memcpy(ip, b, 4);
    return 0;
}

int inet_parse_cidr(const char *s, size_t n, uint32_t *ip, uint8_t *prefix)
{
    size_t slash = 0;
    uint64_t p;

    while (slash < n && s[slash] != '/')
        slash++;
    if (slash == n || inet_parse_ip(s, slash, ip) ||
        parse_u64(s + slash + 1, n - slash - 1, false, &p) || p > 32)
        return -1;
    *prefix = (uint8_t)p;
    return 0;
}

int inet_parse_mac(const char *s, size_t n, uint8_t mac[ETH_ALEN])
{
    if (n != 17)
        return -1;
    for (unsigned i = 0; i < ETH_ALEN; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void inet_fmt_ip(char *out, size_t size, uint32_t ip)
{
    const uint8_t *b = (const uint8_t *)&ip;

    fmt(out, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void inet_fmt_mac(char *out, size_t size, const uint8_t mac[ETH_ALEN])
{
    fmt(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
        mac[3], mac[4], mac[5]);
}
