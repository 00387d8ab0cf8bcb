/* SPDX-License-Identifier: MIT */
/* virtio-net: options, features, config space, start/stop, counters. */
#define LOG_TAG "vnet"
#include "virtio/net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/kvopt.h"
#include "hw/log.h"
#include "virtio/net_priv.h"
#include "virtio/virtio_spec.h"

#define B(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

static const struct kvopt_key vnet_keys[] = {
    {"tap", KVOPT_STR, offsetof(struct vnet_config, tap), 16, 0, 0},
    {"mac", KVOPT_MAC, offsetof(struct vnet_config, mac), 0, 0, 0},
    {"queues", KVOPT_U32, offsetof(struct vnet_config, queues), 0, 1,
     VNET_MAX_PAIRS},
    {"mtu", KVOPT_U32, offsetof(struct vnet_config, mtu), 0, 68, 65535},
    {"offload", KVOPT_BOOL, offsetof(struct vnet_config, offload), 0, 0, 0},
    {0},
};

int vnet_parse(const char *spec, struct vnet_config *cfg, char *err,
               size_t errlen)
{
    static const uint8_t zero[6];
    uint64_t given = 0;
    *cfg = (struct vnet_config){.queues = 1, .offload = true};
    int r = kvopt_parse(spec, vnet_keys, "tap", cfg, &given, err, errlen);
    if (r < 0)
        return r;
    if (!(given & 1)) {
        snprintf(err, errlen, "no tap named: give tap=NAME (or NAME first)");
        return -EINVAL;
    }
    cfg->mac_set = given & 2;
    if (cfg->mac_set && (cfg->mac[0] & 1)) {
        snprintf(err, errlen,
                 "mac=%02x:%02x:%02x:%02x:%02x:%02x is a multicast "
                 "address: a NIC needs a unicast one (first byte even)",
                 cfg->mac[0], cfg->mac[1], cfg->mac[2], cfg->mac[3],
                 cfg->mac[4], cfg->mac[5]);
        return -EINVAL;
    }
    if (cfg->mac_set && !memcmp(cfg->mac, zero, 6)) {
        snprintf(err, errlen, "mac=00:00:00:00:00:00 is not an address");
        return -EINVAL;
    }
    return 0;
}

void vnet_default_mac(const char *vm_name, unsigned index, uint8_t mac[6])
{
    /* FNV-1a over the name and the index: stable across runs and
     * hosts, different for each NIC of a VM. */
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *s = vm_name ? vm_name : "kvmini";
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((index >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
    mac[0] = (mac[0] & 0xfc) | 0x02; /* unicast, locally administered */
}

/* The walk both copies share: to_iov picks the direction. */
static size_t vnet_iov_copy(const struct iovec *iov, unsigned n, size_t off,
                            uint8_t *flat, size_t len, bool to_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t k = iov[i].iov_len - off;
        if (k > len - done)
            k = len - done;
        uint8_t *piece = (uint8_t *)iov[i].iov_base + off;
        if (to_iov)
            memcpy(piece, flat + done, k);
        else
            memcpy(flat + done, piece, k);
        done += k;
        off = 0;
    }
    return done;
}

size_t vnet_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst,
                     size_t len)
{
    return vnet_iov_copy(iov, n, off, dst, len, false);
}

size_t vnet_iov_write(const struct iovec *iov, unsigned n, size_t off,
                      const void *src, size_t len)
{
    /* Only read through flat when to_iov is set. */
    return vnet_iov_copy(iov, n, off, (uint8_t *)src, len, true);
}

void vnet_trace(struct vnet *n, const char *dir, unsigned pair,
                const struct iovec *iov, unsigned niov, size_t len)
{
    struct virtio_net_hdr h = {0};
    uint8_t e[VNET_ETH_HLEN] = {0};
    vnet_iov_read(iov, niov, 0, &h, n->hdr_len);
    vnet_iov_read(iov, niov, n->hdr_len, e, sizeof(e));
    log_cat_rl(LOG_CAT_VIRTIO,
               "%s: %s%u %zu bytes %02x:%02x:%02x:%02x:%02x:%02x < "
               "%02x:%02x:%02x:%02x:%02x:%02x type 0x%04x flags %u gso "
               "%u/%u",
               n->name, dir, pair, len, e[0], e[1], e[2], e[3], e[4], e[5],
               e[6], e[7], e[8], e[9], e[10], e[11], e[12] << 8 | e[13],
               h.flags, h.gso_type, h.gso_size);
}

int vnet_set_pairs(struct vnet *n, uint32_t pairs)
{
    uint32_t old = atomic_load_explicit(&n->active, memory_order_seq_cst);
    for (uint32_t i = 0; i < pairs; i++) {
        int r = tap_set_queue(&n->tap, i, true);
        if (r < 0) {
            log_warn("%s: cannot attach tap queue %u: %s", n->name, i,
                     strerror(-r));
            return r;
        }
    }
    /* Workers of pairs being disabled see this before the detach, so
     * they stop polling a queue fd that will only report errors. */
    atomic_store_explicit(&n->active, pairs, memory_order_seq_cst);
    for (uint32_t i = pairs; i < n->tap.nq; i++) {
        int r = tap_set_queue(&n->tap, i, false);
        if (r < 0)
            log_warn("%s: cannot detach tap queue %u: %s", n->name, i,
                     strerror(-r));
    }
    /* A newly enabled RX worker sleeps without its tap fd: wake it. */
    for (uint32_t i = old; i < pairs; i++) {
        uint64_t one = 1;
        atomic_store_explicit(&n->rxq[i].woken, true, memory_order_seq_cst);
        if (write(n->rxq[i].wake_fd, &one, sizeof(one)) < 0)
            log_warn("%s: wake rx%u: %s", n->name, i, strerror(errno));
    }
    return 0;
}

int vnet_set_guest_offloads(struct vnet *n, uint64_t g)
{
    unsigned f = 0;
    if (g & B(GUEST_CSUM)) {
        f |= TAP_F_CSUM;
        f |= g & B(GUEST_TSO4) ? TAP_F_TSO4 : 0;
        f |= g & B(GUEST_TSO6) ? TAP_F_TSO6 : 0;
        if (f & (TAP_F_TSO4 | TAP_F_TSO6))
            f |= g & B(GUEST_ECN) ? TAP_F_TSO_ECN : 0;
        f |= g & B(GUEST_UFO) ? TAP_F_UFO : 0;
        /* The tap turns USO on only for both families at once. */
        if ((g & B(GUEST_USO4)) && (g & B(GUEST_USO6)))
            f |= TAP_F_USO4 | TAP_F_USO6;
    }
    return tap_set_offloads(&n->tap, f & n->tap.offload_caps);
}

static int vnet_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
    struct vnet *n = d->priv;
    memcpy(buf, (const uint8_t *)&n->cfg + off, len);
    return 0;
}

/* Only a legacy driver writes config: the MAC, byte by byte, when it
 * has no CTRL_MAC_ADDR command (§5.1.4 legacy interface). */
static int vnet_cfg_write(struct vdev *d, uint32_t off, const void *buf,
                          uint32_t len)
{
    struct vnet *n = d->priv;
    if (vdev_has(d, VIRTIO_F_VERSION_1) || off + len > sizeof(n->cfg.mac))
        return -EPERM;
    memcpy(n->cfg.mac + off, buf, len);
    pthread_mutex_lock(&n->filt_lock);
    memcpy(n->filt.mac, n->cfg.mac, 6);
    atomic_fetch_add_explicit(&n->filt_gen, 1, memory_order_release);
    pthread_mutex_unlock(&n->filt_lock);
    return 0;
}

static void vnet_attach(struct vdev *d)
{
    struct vnet *n = d->priv;
    n->d = d;
}

static void vnet_free_queues(struct vnet *n)
{
    for (unsigned p = 0; p < n->pairs; p++) {
        vnet_rx_stop(n, p);
        vnet_tx_stop(n, p);
    }
}

/* The gso types each direction may carry, from the negotiated bits and
 * the spec's dependencies (TSO/UFO/USO need the checksum feature). */
static void vnet_offload_rules(struct vnet *n, uint64_t f)
{
    n->guest_csum = f & B(GUEST_CSUM);
    n->host_csum = f & B(CSUM);
    n->guest_gso = VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_NONE);
    n->host_gso = VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_NONE);
    if (n->guest_csum) {
        n->guest_gso |=
            (f & B(GUEST_TSO4) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_TCPV4) : 0) |
            (f & B(GUEST_TSO6) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_TCPV6) : 0) |
            (f & B(GUEST_UFO) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_UDP) : 0) |
            (f & (B(GUEST_USO4) | B(GUEST_USO6))
                 ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_UDP_L4)
                 : 0);
    }
    if (n->host_csum) {
        n->host_gso |=
            (f & B(HOST_TSO4) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_TCPV4) : 0) |
            (f & B(HOST_TSO6) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_TCPV6) : 0) |
            (f & B(HOST_UFO) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_UDP) : 0) |
            (f & B(HOST_USO) ? VNET_GSO_BIT(VIRTIO_NET_HDR_GSO_UDP_L4) : 0);
    }
    n->guest_ecn = (f & B(GUEST_ECN)) && n->guest_gso > 1;
    n->host_ecn = (f & B(HOST_ECN)) && n->host_gso > 1;
}

static int vnet_start(struct vdev *d)
{
    struct vnet *n = d->priv;
    uint64_t f = d->acked;
    n->mrg = f & B(MRG_RXBUF);
    n->hdr_len = (f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || n->mrg
                     ? VIRTIO_NET_HDR_LEN
                     : VIRTIO_NET_HDR_LEN_LEGACY;
    n->ctrl_qi = f & B(MQ) ? 2 * n->pairs : 2;
    vnet_offload_rules(n, f);
    /* Without segmentation offloads no frame exceeds the MTU. */
    n->rx_need = n->hdr_len + (n->guest_gso > 1
                                   ? VNET_FRAME_MAX
                                   : n->mtu + VNET_ETH_HLEN + VNET_VLAN_HLEN);
    int r = tap_set_hdr_len(&n->tap, (int)n->hdr_len);
    if (r == 0)
        r = vnet_set_guest_offloads(n, f);
    if (r < 0) {
        log_warn("%s: tap %s refused the vnet header or offloads: %s", n->name,
                 n->tap.name, strerror(-r));
        return r;
    }
    vnet_filter_reset(n);
    atomic_store_explicit(&n->active, 1, memory_order_seq_cst);
    if ((r = vnet_set_pairs(n, 1)) < 0)
        return r;
    unsigned used = f & B(MQ) ? n->pairs : 1;
    for (unsigned p = 0; p < used && r == 0; p++) {
        if (d->vq[2 * p].num)
            r = vnet_rx_start(n, &d->vq[2 * p], p);
        if (r == 0 && d->vq[2 * p + 1].num)
            r = vnet_tx_start(n, &d->vq[2 * p + 1], p);
    }
    if (r < 0)
        vnet_free_queues(n);
    return r;
}

static void vnet_stop(struct vdev *d)
{
    struct vnet *n = d->priv;
    vnet_free_queues(n);
    /* Reset restores the configured MAC (the guest may have set one). */
    vdev_cfg_begin(d);
    memcpy(n->cfg.mac, n->mac0, 6);
    vdev_cfg_end(d, false);
}

static int vnet_poll_fd(struct vdev *d, uint16_t qi)
{
    struct vnet *n = d->priv;
    if ((qi & 1) || qi / 2u >= n->pairs ||
        (vdev_has(d, VIRTIO_NET_F_CTRL_VQ) && qi == n->ctrl_qi) ||
        (!vdev_has(d, VIRTIO_NET_F_MQ) && qi > 1))
        return -1;
    return vnet_rx_poll_fd(n, &d->vq[qi], qi / 2u);
}

static int vnet_process(struct vdev *d, uint16_t qi)
{
    struct vnet *n = d->priv;
    if (vdev_has(d, VIRTIO_NET_F_CTRL_VQ) && qi == n->ctrl_qi)
        return vnet_ctrl_process(n, &d->vq[qi]);
    /* Without MQ only the first pair exists for the driver. */
    if (qi / 2u >= n->pairs || (!vdev_has(d, VIRTIO_NET_F_MQ) && qi > 1))
        return 0;
    if (qi & 1)
        return vnet_tx_process(n, &d->vq[qi], qi / 2u);
    return vnet_rx_process(n, &d->vq[qi], qi / 2u);
}

static uint64_t ld(const _Atomic uint64_t *x)
{
    return atomic_load_explicit(x, memory_order_relaxed);
}

void vnet_stats_get(const struct vnet *n, struct vnet_stats *s)
{
    *s = (struct vnet_stats){.ctrl_ok = ld(&n->ctrl_ok),
                             .ctrl_err = ld(&n->ctrl_err)};
    for (unsigned p = 0; p < n->pairs; p++) {
        const struct vnet_rxq *r = &n->rxq[p];
        const struct vnet_txq *t = &n->txq[p];
        s->rx_frames += ld(&r->frames);
        s->rx_bytes += ld(&r->bytes);
        s->rx_drop_oversize += ld(&r->drop_oversize);
        s->rx_drop_bad += ld(&r->drop_bad);
        s->rx_filtered += ld(&r->filtered);
        s->rx_stalls += ld(&r->stalls);
        s->rx_copied += ld(&r->bounced);
        s->rx_rounds += ld(&r->rounds);
        s->tx_frames += ld(&t->frames);
        s->tx_bytes += ld(&t->bytes);
        s->tx_drop_malformed += ld(&t->drop_malformed);
        s->tx_drop_oversize += ld(&t->drop_oversize);
        s->tx_drop_header += ld(&t->drop_header);
        s->tx_drop_tap += ld(&t->drop_tap);
        s->tx_rounds += ld(&t->rounds);
    }
}

static void vnet_stats_print(const struct vdev *d, FILE *f)
{
    const struct vnet *n = d->priv;
    struct vnet_stats s;
    vnet_stats_get(n, &s);
    fprintf(f,
            "virtio %s rx: frames %" PRIu64 " bytes %" PRIu64 " copied %" PRIu64
            " stalls %" PRIu64 " drops: oversize %" PRIu64 " bad %" PRIu64
            " filtered %" PRIu64 "\n",
            n->name, s.rx_frames, s.rx_bytes, s.rx_copied, s.rx_stalls,
            s.rx_drop_oversize, s.rx_drop_bad, s.rx_filtered);
    fprintf(f,
            "virtio %s tx: frames %" PRIu64 " bytes %" PRIu64
            " drops: malformed %" PRIu64 " oversize %" PRIu64 " header %" PRIu64
            " tap %" PRIu64 "\n",
            n->name, s.tx_frames, s.tx_bytes, s.tx_drop_malformed,
            s.tx_drop_oversize, s.tx_drop_header, s.tx_drop_tap);
    fprintf(f,
            "virtio %s ctrl: ok %" PRIu64 " err %" PRIu64
            " (tap %s, %u queue pair%s)\n",
            n->name, s.ctrl_ok, s.ctrl_err, n->tap.name, n->pairs,
            n->pairs == 1 ? "" : "s");
}

static void vnet_stats_walk(const struct vdev *d, const struct counter_sink *k)
{
    const struct vnet *n = d->priv;
    struct vnet_stats s;
    vnet_stats_get(n, &s);
    const struct {
        const char *name;
        uint64_t v;
    } c[] = {
        {"rx_frames", s.rx_frames},
        {"rx_bytes", s.rx_bytes},
        {"rx_copied", s.rx_copied},
        {"rx_stalls", s.rx_stalls},
        {"rx_drop_oversize", s.rx_drop_oversize},
        {"rx_drop_bad", s.rx_drop_bad},
        {"rx_filtered", s.rx_filtered},
        {"tx_frames", s.tx_frames},
        {"tx_bytes", s.tx_bytes},
        {"tx_drop_malformed", s.tx_drop_malformed},
        {"tx_drop_oversize", s.tx_drop_oversize},
        {"tx_drop_header", s.tx_drop_header},
        {"tx_drop_tap", s.tx_drop_tap},
        {"ctrl_ok", s.ctrl_ok},
        {"ctrl_err", s.ctrl_err},
    };
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        counter_emit(k, "net", c[i].name, c[i].v);
}

/* offload=off offers no checksum or segmentation offload either way: the
 * guest then checksums and segments everything itself. */
static uint64_t vnet_features(const struct vnet *n, bool offload)
{
    unsigned caps = n->tap.offload_caps;
    uint64_t f = B(MAC) | B(STATUS) | B(MTU) | B(MRG_RXBUF) | B(CTRL_VQ) |
                 B(CTRL_RX) | B(CTRL_RX_EXTRA) | B(CTRL_MAC_ADDR);
    if (n->pairs > 1)
        f |= B(MQ);
    if (!offload)
        return f;
    f |= B(CTRL_GUEST_OFFLOADS) | B(CSUM) | B(HOST_TSO4) | B(HOST_TSO6) |
         B(HOST_ECN);
    if (caps & TAP_F_CSUM)
        f |= B(GUEST_CSUM);
    if (caps & TAP_F_TSO4)
        f |= B(GUEST_TSO4);
    if (caps & TAP_F_TSO6)
        f |= B(GUEST_TSO6);
    if (caps & TAP_F_TSO_ECN)
        f |= B(GUEST_ECN);
    /* The kernel that takes TUN_F_UFO (4.14+) also takes UFO frames from
     * us; likewise USO (6.2+) both ways. */
    if (caps & TAP_F_UFO)
        f |= B(GUEST_UFO) | B(HOST_UFO);
    if ((caps & (TAP_F_USO4 | TAP_F_USO6)) == (TAP_F_USO4 | TAP_F_USO6))
        f |= B(GUEST_USO4) | B(GUEST_USO6) | B(HOST_USO);
    return f;
}

/* The tap's MTU, or the one asked for, set on the tap so both ends
 * agree on the largest frame. */
static int vnet_mtu(struct vnet *n, uint32_t want, char *err, size_t errlen)
{
    uint32_t cur = 0;
    int r = tap_get_mtu(&n->tap, &cur);
    if (r < 0)
        return errbuf_set(err, errlen, r, "cannot read the MTU of tap %s: %s",
                          n->tap.name, strerror(-r));
    if (want && want != cur) {
        r = tap_set_mtu(&n->tap, want);
        if (r == -EPERM)
            return errbuf_set(err, errlen, r,
                              "changing the MTU of tap %s needs "
                              "CAP_NET_ADMIN: run 'ip link set %s mtu %u' as "
                              "root first, or leave out mtu=",
                              n->tap.name, n->tap.name, want);
        if (r < 0)
            return errbuf_set(err, errlen, r,
                              "cannot set the MTU of tap %s to %u: %s",
                              n->tap.name, want, strerror(-r));
        cur = want;
    }
    if (cur < 68 || cur > 65535)
        return errbuf_set(err, errlen, -ERANGE,
                          "tap %s has MTU %u: give mtu=68..65535", n->tap.name,
                          cur);
    n->mtu = cur;
    return 0;
}

int vnet_create_tap(struct vnet **out, const struct vnet_config *cfg,
                    struct tap *t, const char *vm_name, unsigned index,
                    char *err, size_t errlen)
{
    uint32_t pairs = cfg->queues ? cfg->queues : 1;
    if (pairs > VNET_MAX_PAIRS || pairs > t->nq) {
        tap_close(t);
        return errbuf_set(err, errlen, -ERANGE,
                          "queues=%u: the backend has %u queue(s), at most "
                          "%d are supported",
                          pairs, t->nq, VNET_MAX_PAIRS);
    }
    struct vnet *n = calloc(1, sizeof(*n));
    if (!n) {
        tap_close(t);
        return errbuf_set(err, errlen, -ENOMEM, "out of memory");
    }
    n->tap = *t;
    n->pairs = pairs;
    pthread_mutex_init(&n->filt_lock, NULL);
    for (unsigned p = 0; p < VNET_MAX_PAIRS; p++) {
        n->rxq[p].pair = p;
        n->rxq[p].wake_fd = -1;
    }
    int r = vnet_mtu(n, cfg->mtu, err, errlen);
    for (unsigned p = 0; r == 0 && p < pairs; p++) {
        n->rxq[p].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (n->rxq[p].wake_fd < 0)
            r = errbuf_set(err, errlen, -errno, "eventfd: %s", strerror(errno));
    }
    if (r < 0) {
        vnet_destroy(n);
        return r;
    }
    snprintf(n->name, sizeof(n->name), "net%u", index);
    if (cfg->mac_set)
        memcpy(n->mac0, cfg->mac, 6);
    else
        vnet_default_mac(vm_name, index, n->mac0);
    memcpy(n->cfg.mac, n->mac0, 6);
    n->cfg.status = VIRTIO_NET_S_LINK_UP;
    n->cfg.max_virtqueue_pairs = (uint16_t)pairs;
    n->cfg.mtu = (uint16_t)n->mtu;
    n->ops = (struct vdev_ops){
        .name = n->name,
        .device_id = VIRTIO_ID_NET,
        .nqueues = 2 * pairs + 1,
        .qsize_max = VNET_QSIZE,
        .cfg_size = sizeof(struct virtio_net_config),
        .features = vnet_features(n, cfg->offload),
        .cfg_read = vnet_cfg_read,
        .cfg_write = vnet_cfg_write,
        .attach = vnet_attach,
        .start = vnet_start,
        .stop = vnet_stop,
        .poll_fd = vnet_poll_fd,
        .process = vnet_process,
        .stats_print = vnet_stats_print,
        .stats_walk = vnet_stats_walk,
    };
    vnet_filter_reset(n);
    *out = n;
    return 0;
}

int vnet_create(struct vnet **out, const struct vnet_config *cfg,
                const char *vm_name, unsigned index, char *err, size_t errlen)
{
    struct tap t;
    int r = tap_open(&t, cfg->tap, cfg->queues ? cfg->queues : 1, err, errlen);
    if (r < 0)
        return r;
    return vnet_create_tap(out, cfg, &t, vm_name, index, err, errlen);
}

const struct vdev_ops *vnet_ops(const struct vnet *n)
{
    return &n->ops;
}

const struct tap *vnet_tap(const struct vnet *n)
{
    return &n->tap;
}

void vnet_destroy(struct vnet *n)
{
    if (!n)
        return;
    vnet_free_queues(n);
    for (unsigned p = 0; p < VNET_MAX_PAIRS; p++)
        if (n->rxq[p].wake_fd >= 0)
            close(n->rxq[p].wake_fd);
    tap_close(&n->tap);
    pthread_mutex_destroy(&n->filt_lock);
    free(n);
}
