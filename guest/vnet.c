/* SPDX-License-Identifier: MIT */
/* The virtio-net driver: negotiation, config, the buffer pool, checked
 * receive and transmit. */
#include "guest/vnet.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/timer.h"

/* struct virtio_net_config offsets (virtio 1.2 5.1.4). */
#define C_MAC 0
#define C_STATUS 6
#define C_MAX_PAIRS 8
#define C_MTU 10

#define Q_RX 0
#define Q_TX 1
#define BIT(f) (1ULL << (f))
#define WANT                                                                   \
    (BIT(VNET_F_MAC) | BIT(VNET_F_STATUS) | BIT(VNET_F_MTU) |                  \
     BIT(VNET_F_CSUM) | BIT(VNET_F_MRG_RXBUF) | BIT(VIRTIO_F_EVENT_IDX) |      \
     BIT(VIRTIO_F_ANY_LAYOUT))
#define CONFIG_TRIES 4
#define S_DRIVER_OK 4
#define S_FAILED 0x80
#define NO_BUF (-1)

bool vnet_has(const struct vnet *n, unsigned f)
{
    return n->dev && n->dev->features >> f & 1;
}

uint32_t vnet_frame_max(const struct vnet *n)
{
    return VNET_ETH_HLEN + VNET_VLAN_HLEN + n->mtu;
}

/* Forgets every buffer: after a reset the device holds none of them. */
static void forget_all(struct vnet *n)
{
    for (unsigned i = 0; i < VNET_BUFS; i++)
        n->state[i] = VB_FREE;
    for (unsigned h = 0; h < VQ_SIZE_MAX; h++) {
        n->rx_buf[h] = NO_BUF;
        n->txrec[h].n = 0;
    }
    n->ext_inflight = 0;
    n->pend.n = 0;
    n->pend_need = n->pend_got = 0;
}

/*
 * The device broke a rule: reset it (it lets go of every buffer) and
 * never drive it again. Returns -1 for the caller.
 */
__attribute__((format(printf, 2, 3))) static int broken(struct vnet *n,
                                                        const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    vfmt(n->why, sizeof(n->why), f, ap);
    va_end(ap);
    n->broken = n->why;
    if (n->dev)
        vdev_reset(n->dev);
    forget_all(n);
    return -1;
}

static void read_fields(struct vnet *n, const struct vdev *d)
{
    n->max_pairs =
        d->features & BIT(VNET_F_MQ) ? vdev_cfg16(d, C_MAX_PAIRS) : 1;
    for (unsigned i = 0; i < 6; i++)
        n->mac[i] = d->features & BIT(VNET_F_MAC) ? vdev_cfg8(d, C_MAC + i) : 0;
    n->status = d->features & BIT(VNET_F_STATUS) ? vdev_cfg16(d, C_STATUS) : 0;
    n->mtu =
        d->features & BIT(VNET_F_MTU) ? vdev_cfg16(d, C_MTU) : VNET_MTU_DEFAULT;
}

/* A consistent snapshot: ConfigGeneration unchanged around the reads. */
static int read_config(struct vnet *n, const struct vdev *d)
{
    for (int i = 0; i < CONFIG_TRIES; i++) {
        uint32_t gen = vdev_cfg_gen(d);

        read_fields(n, d);
        if (vdev_cfg_gen(d) == gen)
            return 0;
    }
    fmt(n->why, sizeof(n->why), "config-generation-unstable");
    return -1;
}

const char *vnet_link(struct vnet *n)
{
    if (!vnet_has(n, VNET_F_STATUS))
        return "-";
    n->status = vdev_cfg16(n->dev, C_STATUS);
    return n->status & VNET_S_LINK_UP ? "up" : "down";
}

/*
 * Buffer size and count. With MRG_RXBUF a frame may span buffers, but
 * at most VNET_SEGS_MAX of them, and the first holds every header we
 * parse; without it each buffer takes the largest frame.
 */
static int size_pool(struct vnet *n, const struct vnet_opts *o)
{
    uint32_t need = n->hdr_len + vnet_frame_max(n), sz;

    if (n->dev->features & BIT(VNET_F_MRG_RXBUF)) {
        sz = o->rxbuf ? o->rxbuf : VNET_RXBUF_DEFAULT;
        if (sz < VNET_RXBUF_MIN)
            sz = VNET_RXBUF_MIN;
        if (sz < (need + VNET_SEGS_MAX - 1) / VNET_SEGS_MAX)
            sz = (need + VNET_SEGS_MAX - 1) / VNET_SEGS_MAX;
    } else {
        sz = need;
    }
    sz = (sz + 63) & ~63u; /* keeps each buffer's words aligned */
    n->bufsz = sz;
    n->nbuf = VNET_AREA / sz < VNET_BUFS ? VNET_AREA / sz : VNET_BUFS;
    if (n->nbuf < 4) {
        fmt(n->why, sizeof(n->why), "mtu-too-large mtu=%u", n->mtu);
        return -1;
    }
    return 0;
}

static uint8_t *buf_at(const struct vnet *n, unsigned b)
{
    return n->area + (uint64_t)b * n->bufsz;
}

static int start_queues(struct vnet *n, struct vdev *d)
{
    const char *why;

    if (vq_setup(&n->rx, d, Q_RX, VQ_SIZE_MAX, &why) ||
        vq_setup(&n->tx, d, Q_TX, VQ_SIZE_MAX, &why)) {
        fmt(n->why, sizeof(n->why), "%s", why);
        return -1;
    }
    /* The control queue follows every pair's queues (5.1.2); only the
     * first pair is set up: the others stay off (pairs=1 from reset). */
    if (d->features & BIT(VNET_F_CTRL_VQ) &&
        vq_setup(&n->ctrl, d, (uint16_t)(2 * n->max_pairs), 4, &why)) {
        fmt(n->why, sizeof(n->why), "ctrl %s", why);
        return -1;
    }
    return 0;
}

int vnet_start(struct vnet *n, struct vdev *d, struct tg *tg, uint8_t *area,
               const struct vnet_opts *o)
{
    const char *why;
    uint32_t st;
    uint64_t want;

    n->dev = NULL;
    n->broken = NULL;
    n->timer = &tg->timer;
    n->area = area;
    n->st = (struct vnet_stats){0};
    forget_all(n);
    want =
        WANT | (o->ctrl ? BIT(VNET_F_CTRL_VQ) |
                              BIT(VNET_F_CTRL_GUEST_OFFLOADS) | BIT(VNET_F_MQ)
                        : 0);
    if (vdev_start(d, want & ~o->refuse, &why)) {
        fmt(n->why, sizeof(n->why), "%s", why);
        return -1;
    }
    /* The header has num_buffers with VERSION_1 or MRG_RXBUF (5.1.6). */
    n->hdr_len = d->features & (BIT(VIRTIO_F_VERSION_1) | BIT(VNET_F_MRG_RXBUF))
                     ? VNET_HDR_LEN
                     : VNET_HDR_LEN_LEGACY;
    n->dev = d; /* for vnet_has() while sizing; cleared on failure */
    if (read_config(n, d))
        goto fail;
    /* The control queue's index is 2 * pairs: it must fit QueueSel's
     * 16 bits here (the spec allows up to 0x8000 pairs). */
    if (d->features & BIT(VNET_F_MQ) &&
        (n->max_pairs < 1 || n->max_pairs > 0x7fff)) {
        fmt(n->why, sizeof(n->why), "max_virtqueue_pairs=%u", n->max_pairs);
        goto fail;
    }
    if (size_pool(n, o) || start_queues(n, d))
        goto fail;
    if (n->mtu < 68) {
        fmt(n->why, sizeof(n->why), "mtu-too-small mtu=%u", n->mtu);
        goto fail;
    }
    if (vdev_irq_wake(d, tg)) {
        vq_irq_enable(&n->rx);
        vq_irq_enable(&n->tx);
    }
    /* Buffers may be posted before DRIVER_OK; the device looks later. */
    vnet_refill(n);
    n->st = (struct vnet_stats){0}; /* count from here on */
    vdev_driver_ok(d);
    st = vdev_status(d);
    if (!(st & S_DRIVER_OK) || st & (S_FAILED | VIRTIO_S_NEEDS_RESET)) {
        fmt(n->why, sizeof(n->why), "DRIVER_OK-refused status=0x%x", st);
        goto fail;
    }
    vq_kick(&n->rx);
    return 0;
fail:
    vdev_reset(d);
    n->dev = NULL;
    forget_all(n);
    return -1;
}

void vnet_refill(struct vnet *n)
{
    unsigned posted = 0;
    bool dry;

    if (!n->dev || n->broken)
        return;
    dry = n->rx.nfree == n->rx.num; /* the device had no buffer at all */
    for (unsigned b = 0; b < n->nbuf && n->rx.nfree; b++) {
        struct vq_seg s = {buf_at(n, b), n->bufsz, true};
        int h;

        if (n->state[b] != VB_FREE)
            continue;
        h = vq_post(&n->rx, &s, 1);
        if (h < 0)
            break;
        n->state[b] = VB_RX;
        n->rx_buf[h] = (int8_t)b;
        posted++;
    }
    n->st.refills += posted;
    n->st.empty += dry && posted;
}

void vnet_kick(struct vnet *n)
{
    if (!n->dev || n->broken)
        return;
    if (n->rx.kicked != n->rx.avail_idx)
        vq_kick(&n->rx);
    if (n->tx.kicked != n->tx.avail_idx)
        vq_kick(&n->tx);
}

/* One used element of the receive queue, checked: 1 with the buffer
 * taken (VB_HELD) and *len its used length, 0 none, -1 broken. */
static int rx_take(struct vnet *n, unsigned *b, uint32_t *len)
{
    uint16_t head;
    int r = vq_get_used(&n->rx, &head, len), k;

    if (r <= 0)
        return r < 0 ? broken(n, "rx-used-id-not-outstanding") : 0;
    k = n->rx_buf[head];
    if (k < 0 || n->state[k] != VB_RX)
        return broken(n, "rx-used-id-unknown id=%u", head);
    n->rx_buf[head] = NO_BUF;
    n->state[k] = VB_HELD;
    *b = (unsigned)k;
    if (*len > n->bufsz)
        return broken(n, "rx-used-len=%u max=%u", *len, n->bufsz);
    return 1;
}

/* Adds buffer b (used length len) to the frame being assembled. */
static int frame_add(struct vnet *n, struct vnet_frame *f, unsigned b,
                     uint32_t len)
{
    uint8_t *p = buf_at(n, b);

    if (!f->n) {
        if (len < n->hdr_len)
            return broken(n, "rx-used-len=%u below-header", len);
        f->hdr = (struct vnet_hdr *)p;
        p += n->hdr_len;
        len -= n->hdr_len;
        f->total = 0;
    } else if (f->len[f->n - 1] + (f->n == 1 ? n->hdr_len : 0) != n->bufsz) {
        /* 5.1.6.4: every buffer but the last one used up completely */
        return broken(n, "mrg-buffer-not-full len=%u",
                      f->len[f->n - 1] + (f->n == 1 ? n->hdr_len : 0));
    }
    f->p[f->n] = p;
    f->len[f->n] = len;
    f->buf[f->n] = (uint8_t)b;
    f->n++;
    f->total += len;
    return 0;
}

/*
 * Gathers the buffers of n->pend until pend_need have come (those past
 * VNET_SEGS_MAX go straight back to the pool): 1 complete, 0 waiting
 * (bounded by pend_end), -1 broken.
 */
static int gather(struct vnet *n)
{
    struct vnet_frame *f = &n->pend;

    while (n->pend_got < n->pend_need) {
        unsigned b;
        uint32_t len;
        int r = rx_take(n, &b, &len);

        if (r < 0)
            return -1;
        if (!r)
            return timer_expired(n->pend_end)
                       ? broken(n, "mrg-missing have=%u need=%u", n->pend_got,
                                n->pend_need)
                       : 0;
        n->pend_got++;
        if (f->n == VNET_SEGS_MAX)
            n->state[b] = VB_FREE;
        else if (frame_add(n, f, b, len))
            return -1;
    }
    return 1;
}

/* Starts a frame at the next used buffer: 1, 0 none, -1 broken. */
static int frame_begin(struct vnet *n)
{
    struct vnet_frame *p = &n->pend;
    unsigned b;
    uint32_t len;
    int r = rx_take(n, &b, &len);

    if (r <= 0)
        return r;
    p->n = 0;
    if (frame_add(n, p, b, len))
        return -1;
    n->pend_need = n->pend_got = 1;
    if (vnet_has(n, VNET_F_MRG_RXBUF)) {
        uint16_t nb = p->hdr->num_buffers;

        if (!nb || nb > n->rx.num)
            return broken(n, "num_buffers=%u", nb);
        n->pend_need = nb;
    }
    n->pend_end = timer_deadline(n->timer, VNET_MRG_WAIT_US);
    return 1;
}

int vnet_rx_next(struct vnet *n, struct vnet_frame *f)
{
    struct vnet_frame *p = &n->pend;
    int r;

    for (;;) {
        if (!n->dev || n->broken)
            return -1;
        if (!n->pend_need && (r = frame_begin(n)) <= 0)
            return r;
        r = gather(n);
        if (r <= 0)
            return r;
        n->pend_need = 0;
        if (n->pend_got <= VNET_SEGS_MAX)
            break;
        n->st.toolong++; /* more buffers than we could send back */
        vnet_release(n, p);
    }
    *f = *p;
    p->n = 0;
    n->st.rx++;
    n->st.rx_bytes += f->total;
    if (f->n > 1)
        n->st.merged++;
    if (f->n > n->st.maxbufs)
        n->st.maxbufs = f->n;
    return 1;
}

void vnet_release(struct vnet *n, struct vnet_frame *f)
{
    for (unsigned i = 0; i < f->n; i++)
        if (n->state[f->buf[i]] == VB_HELD)
            n->state[f->buf[i]] = VB_FREE;
    f->n = 0;
}

int vnet_tx_frame(struct vnet *n, struct vnet_frame *f, uint32_t len,
                  const struct vnet_hdr *h)
{
    struct vq_seg s[VNET_SEGS_MAX];
    uint8_t *hdr = f->p[0] - n->hdr_len;
    unsigned k = 0;
    uint32_t left = len;
    int head;

    if (!n->dev || n->broken) {
        vnet_release(n, f);
        return -2;
    }
    memcpy(hdr, h, n->hdr_len); /* over the received header */
    if (n->hdr_len == VNET_HDR_LEN)
        ((struct vnet_hdr *)hdr)->num_buffers = 0;
    for (; k < f->n && (left || !k); k++) {
        uint32_t l = f->len[k] < left ? f->len[k] : left;

        s[k] = (struct vq_seg){f->p[k], l, false};
        left -= l;
    }
    s[0].p = hdr;
    s[0].len += n->hdr_len;
    if (n->tx.nfree < k)
        vnet_reap_tx(n);
    head = n->tx.nfree < k ? -1 : vq_post(&n->tx, s, k);
    if (head < 0) {
        n->st.txfull++;
        vnet_release(n, f);
        return n->broken ? -2 : -1;
    }
    n->txrec[head] = (struct vnet_txrec){.n = (uint8_t)f->n, .bytes = len};
    for (unsigned i = 0; i < f->n; i++) {
        n->txrec[head].buf[i] = f->buf[i];
        n->state[f->buf[i]] = VB_TX;
    }
    f->n = 0;
    return 0;
}

int vnet_tx_buf(struct vnet *n, const void *p, uint32_t len)
{
    struct vq_seg s = {p, len, false};
    int head;

    if (!n->dev || n->broken)
        return -2;
    if (!n->tx.nfree)
        vnet_reap_tx(n);
    head = n->tx.nfree ? vq_post(&n->tx, &s, 1) : -1;
    if (head < 0)
        return n->broken ? -2 : -1;
    n->txrec[head] =
        (struct vnet_txrec){.n = 0, .ext = 1, .bytes = len - n->hdr_len};
    n->ext_inflight++;
    return 0;
}

int vnet_reap_tx(struct vnet *n)
{
    int done = 0;

    if (!n->dev || n->broken)
        return -1;
    for (;;) {
        uint16_t head;
        uint32_t len;
        struct vnet_txrec *t;
        int r = vq_get_used(&n->tx, &head, &len);

        if (!r)
            return done;
        if (r < 0)
            return broken(n, "tx-used-id-not-outstanding");
        t = &n->txrec[head];
        if (!t->n && !t->ext)
            return broken(n, "tx-used-id-unknown id=%u", head);
        /* The device writes nothing into a transmit chain (2.7.8). */
        if (len)
            return broken(n, "tx-used-len=%u", len);
        for (unsigned i = 0; i < t->n; i++)
            n->state[t->buf[i]] = VB_FREE;
        n->ext_inflight -= t->ext;
        n->st.tx_ext += t->ext;
        n->st.tx++;
        n->st.tx_bytes += t->bytes;
        *t = (struct vnet_txrec){0};
        done++;
    }
}

bool vnet_ack(struct vnet *n)
{
    uint32_t isr;

    if (!n->dev || n->broken || !n->dev->irq_wake)
        return false;
    isr = vdev_irq_ack(n->dev);
    if (isr & VIRTIO_ISR_CONFIG && vdev_status(n->dev) & VIRTIO_S_NEEDS_RESET)
        broken(n, "device-needs-reset");
    return isr != 0;
}

int vnet_ctrl(struct vnet *n, struct tg *tg, uint8_t class, uint8_t cmd,
              const void *data, uint32_t len)
{
    uint16_t head;
    uint32_t used;
    int h, r;

    /* n->why is the reason of a broken device: left alone. */
    if (!n->dev || n->broken || !vnet_has(n, VNET_F_CTRL_VQ) || len > 8)
        return -1;
    n->cmd[0] = class;
    n->cmd[1] = cmd;
    __builtin_memcpy(n->cmd + 2, data, len);
    n->ack = 0xff; /* never an answer: the device must write it */
    struct vq_seg s[2] = {{n->cmd, 2 + len, false}, {&n->ack, 1, true}};
    h = vq_post(&n->ctrl, s, 2);
    if (h < 0)
        return broken(n, "ctrl-ring-full");
    vq_kick(&n->ctrl);
    r = vq_wait_used(&n->ctrl, tg, VNET_CTRL_WAIT_US, &head, &used);
    if (r < 0)
        return broken(n, "ctrl-used-id-not-outstanding");
    if (r == 0)
        return broken(n, "ctrl-timeout");
    if (head != h)
        return broken(n, "ctrl-used-id=%u want=%d", head, h);
    if (used != 1)
        return broken(n, "ctrl-used-len=%u", used);
    return n->ack;
}
