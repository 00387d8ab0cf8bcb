/* SPDX-License-Identifier: MIT */
/* The net command-line words, NIC report lines, serving, bench, `net`. */
#include "guest/netcheck.h"
#include "guest/cmdline.h"
#include "guest/devices.h"
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/tg.h"

/* Not zeroed at boot (.noinit, see guest.ld): 2 MiB of buffers would
 * cost every boot milliseconds of emulated ring 0. Only what set_up()
 * initialises is read before it is written. */
#ifdef TG_HOST_IO
#define NOINIT
#else
#define NOINIT __attribute__((section(".noinit")))
#endif
static struct netset net_store NOINIT;

#define BIT(f) (1ULL << (f))
#define DEFAULT_COUNT 10000
#define DEFAULT_LEN 18 /* a 60-byte frame, the Ethernet minimum */
#define DEFAULT_SECS 60
#define COUNT_MAX 100000000
#define ARP_TRIES 3
#define ARP_WAIT_US 1000000
#define BENCH_SPORT 40000

/* "tg: check NAME ok|FAIL ethN DETAIL". */
static void net_check(struct tg *tg, const char *name, const struct netnic *c,
                      bool ok, const char *f, ...)
    __attribute__((format(printf, 5, 6)));

static void net_check(struct tg *tg, const char *name, const struct netnic *c,
                      bool ok, const char *f, ...)
{
    char d[160];
    int n = fmt(d, sizeof(d), "%s ", c->v.name);
    va_list ap;

    va_start(ap, f);
    if (!vfmt(d + n, sizeof(d) - (size_t)n, f, ap))
        d[n - 1] = 0; /* nothing to add: the NIC's name alone */
    va_end(ap);
    devices_check(tg, name, ok, d);
}

/* The net devices in device order, named eth0, eth1, ...; none started. */
static struct netset *set_up(struct tg *tg)
{
    struct netset *ns = &net_store;

    if (tg->dev.net)
        return tg->dev.net;
    ns->n = ns->up = 0;
    for (uint32_t i = 0; i < tg->dev.n && ns->n < NET_NICS_MAX; i++) {
        struct vdev *d = &tg->dev.dev[i];

        if (d->magic == VIRTIO_MAGIC && d->device_id == VIRTIO_ID_NET)
            ns->nic[ns->n++].dev = d;
    }
    for (unsigned i = 0; i < NET_NICS_MAX; i++) {
        struct netnic *c = &ns->nic[i];

        c->v.dev = NULL;
        c->v.broken = NULL;
        fmt(c->v.name, sizeof(c->v.name), "eth%u", i);
        c->tried = c->up = false;
        if (i >= ns->n)
            c->dev = NULL;
    }
    tg->dev.net = ns;
    return ns;
}

static bool token_is(const char *t, size_t n, const char *word)
{
    return strlen(word) == n && !memcmp(t, word, n);
}

static const struct {
    const char *name;
    unsigned bit;
} refusals[] = {
    {"nomrg", VNET_F_MRG_RXBUF},     {"nocsum", VNET_F_CSUM},
    {"noevent", VIRTIO_F_EVENT_IDX}, {"nomtu", VNET_F_MTU},
    {"nostatus", VNET_F_STATUS},
};

/* A numeric key=value in [lo, hi]. */
static bool num_opt(const char *t, size_t k, size_t n, const char *key,
                    uint64_t lo, uint64_t hi, uint32_t *out)
{
    uint64_t v;

    if (!token_is(t, k, key) || parse_u64(t + k + 1, n - k - 1, false, &v) ||
        v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* One OPT: a flag or key=value. 0 or -1. */
static int parse_opt(struct net_plan *p, const char *t, size_t n)
{
    size_t k = 0;
    uint32_t v;

    for (size_t i = 0; i < ARRAY_SIZE(refusals); i++)
        if (token_is(t, n, refusals[i].name)) {
            p->vo.refuse |= BIT(refusals[i].bit);
            return 0;
        }
    if (token_is(t, n, "bench")) {
        p->bench = true;
        return 0;
    }
    if (token_is(t, n, "ctrl")) {
        p->vo.ctrl = true;
        return 0;
    }
    if (token_is(t, n, "restart")) {
        p->restart = true;
        return 0;
    }
    while (k < n && t[k] != '=')
        k++;
    if (k == n)
        return -1;
    if (token_is(t, k, "mac")) {
        p->has_mac = true;
        return inet_parse_mac(t + k + 1, n - k - 1, p->mac);
    }
    if (token_is(t, k, "peer"))
        return inet_parse_ip(t + k + 1, n - k - 1, &p->peer) || !p->peer ? -1
                                                                         : 0;
    if (num_opt(t, k, n, "rxbuf", VNET_RXBUF_MIN, VNET_AREA / 8,
                &p->vo.rxbuf) ||
        num_opt(t, k, n, "count", 1, COUNT_MAX, &p->count) ||
        num_opt(t, k, n, "len", 0,
                NET_TMPL_BYTES - VNET_HDR_LEN - VNET_ETH_HLEN - IP_HLEN -
                    UDP_HLEN,
                &p->len) ||
        num_opt(t, k, n, "secs", 1, 3600, &p->secs))
        return 0;
    if (num_opt(t, k, n, "mtu", 68, 65535, &p->mtu)) {
        p->has_mtu = true;
        return 0;
    }
    if (num_opt(t, k, n, "echo", 0, 65535, &v)) {
        p->echo_port = (uint16_t)v;
        return 0;
    }
    if (num_opt(t, k, n, "port", 1, 65535, &v)) {
        p->port = (uint16_t)v;
        return 0;
    }
    return -1;
}

/* OPT[,OPT...] (may be empty). 0, or -1 with *bad the offending token. */
static int parse_opts(struct net_plan *p, const char *v, size_t n,
                      const char **bad, size_t *badlen)
{
    for (size_t i = 0; n && i <= n;) {
        size_t j = i;

        while (j < n && v[j] != ',')
            j++;
        if (parse_opt(p, v + i, j - i)) {
            *bad = v + i;
            *badlen = j - i;
            return -1;
        }
        i = j + 1;
    }
    return 0;
}

/* ip.ethN (ip for eth0) and net.ethN (else net) for NIC i. */
static bool word_for(const struct tg *tg, const char *base, unsigned i,
                     const char **v, size_t *n)
{
    char key[12];

    fmt(key, sizeof(key), "%s.eth%u", base, i);
    if (cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, key, v, n))
        return true;
    if (strlen(base) == 2 && i) /* "ip" alone names eth0 only */
        return false;
    return cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, base, v, n);
}

bool net_wanted(const struct tg *tg)
{
    const char *v;
    size_t n;

    for (unsigned i = 0; i < NET_NICS_MAX; i++)
        if (word_for(tg, "ip", i, &v, &n) || word_for(tg, "net", i, &v, &n))
            return true;
    return false;
}

/* Negotiated feature names, comma-separated. */
static void feature_names(const struct vnet *v, char *out, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {VNET_F_MAC, "mac"},
        {VNET_F_STATUS, "status"},
        {VNET_F_MTU, "mtu"},
        {VNET_F_CSUM, "csum"},
        {VNET_F_MRG_RXBUF, "mrg_rxbuf"},
        {VIRTIO_F_EVENT_IDX, "event_idx"},
        {VIRTIO_F_ANY_LAYOUT, "any_layout"},
        {VNET_F_CTRL_VQ, "ctrl_vq"},
        {VNET_F_CTRL_GUEST_OFFLOADS, "ctrl_guest_offloads"},
        {VNET_F_MQ, "mq"},
    };
    size_t n = 0;

    out[0] = 0;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (vnet_has(v, names[i].bit) && n < size)
            n += (size_t)fmt(out + n, size - n, "%s%s", n ? "," : "",
                             names[i].name);
    if (!n)
        fmt(out, size, "-");
}

static void report(struct tg *tg, struct netnic *c)
{
    struct vnet *v = &c->v;
    char mac[18], ip[16], f[96];

    inet_fmt_mac(mac, sizeof(mac), v->mac);
    inet_fmt_ip(ip, sizeof(ip), c->ifc.ip);
    tg_printf("tg: net %s mac=%s mtu=%u ip=%s/%u link=%s dev=%u hdr=%u "
              "bufsz=%u bufs=%u qsize=%u/%u legacy=%u irq=%u\n",
              v->name, mac, v->mtu, ip, c->ifc.prefix, vnet_link(v),
              (unsigned)(c->dev - tg->dev.dev), v->hdr_len, v->bufsz, v->nbuf,
              v->rx.num, v->tx.num, v->dev->legacy, v->dev->irq_wake);
    feature_names(v, f, sizeof(f));
    tg_printf("tg: net %s features=0x%lx offered=0x%lx %s\n", v->name,
              v->dev->features, v->dev->offered, f);
}

static void print_stats(const struct netnic *c)
{
    const struct vnet_stats *s = &c->v.st;
    const struct inet_stats *i = &c->ifc.st;

    if (!c->tried) {
        tg_printf("tg: net %s not-started\n", c->v.name);
        return;
    }
    if (!c->up) {
        tg_printf("tg: net %s %s\n", c->v.name, c->v.why);
        return;
    }
    tg_printf("tg: net %s stats rx=%lu tx=%lu drops=%u bad=%u ignored=%u "
              "arp=%u icmp=%u udp=%u discard=%u rx_bytes=%lu tx_bytes=%lu "
              "merged=%u maxbufs=%u txfull=%u toolong=%u empty=%u%s%s\n",
              c->v.name, s->rx, s->tx, i->bad + s->txfull + s->toolong, i->bad,
              i->ignored, i->arp, i->icmp, i->udp, i->discard, s->rx_bytes,
              s->tx_bytes, s->merged, s->maxbufs, s->txfull, s->toolong,
              s->empty, c->v.broken ? " broken=" : "",
              c->v.broken ? c->v.broken : "");
}

/* Replies to what came in, takes back what went out, refills, notifies.
 * Returns the frames handled (0: nothing to do). */
static unsigned serve(struct netnic *c)
{
    struct vnet *v = &c->v;
    struct vnet_frame f;
    struct vnet_hdr h;
    unsigned work = 0;
    uint32_t len;
    int r;

    if (!c->up || v->broken)
        return 0;
    r = vnet_reap_tx(v);
    work += r > 0 ? (unsigned)r : 0;
    for (unsigned k = 0; k < NET_RX_BUDGET && vnet_rx_next(v, &f) == 1; k++) {
        work++;
        if (inet_input(&c->ifc, &f, &len, &h))
            vnet_tx_frame(v, &f, len, &h);
        else
            vnet_release(v, &f);
    }
    vnet_refill(v);
    vnet_kick(v);
    return work;
}

void net_idle(struct tg *tg)
{
    struct netset *ns = tg->dev.net;
    unsigned work = 0;
    bool pending = false;

    if (!ns || !ns->up) {
        tg_idle(tg);
        return;
    }
    for (unsigned i = 0; i < ns->n; i++)
        work += serve(&ns->nic[i]);
    if (work)
        return;
    /* Acknowledge, then look again: a frame after the look raises a new
     * interrupt, which ends the hlt. */
    for (unsigned i = 0; i < ns->n; i++)
        if (ns->nic[i].up && vnet_ack(&ns->nic[i].v))
            pending = true;
    if (!pending)
        tg_idle(tg);
}

/* The peer's MAC: from ARP seen so far, else asked for (bounded). */
static bool resolve(struct tg *tg, struct netnic *c, uint32_t ip,
                    uint8_t mac[ETH_ALEN])
{
    uint32_t hl = c->v.hdr_len;

    for (int t = 0; t < ARP_TRIES; t++) {
        uint64_t end;

        if (inet_neigh_find(&c->ifc, ip, mac))
            return true;
        if (!c->v.ext_inflight) { /* the last request went out */
            for (uint32_t i = 0; i < hl; i++)
                c->ctl[i] = 0;
            vnet_tx_buf(&c->v, c->ctl,
                        hl + inet_arp_request(&c->ifc, c->ctl + hl, ip));
            vnet_kick(&c->v);
        }
        end = timer_deadline(&tg->timer, ARP_WAIT_US);
        while (!timer_expired(end) && !c->v.broken &&
               !inet_neigh_find(&c->ifc, ip, mac))
            net_idle(tg);
    }
    return inet_neigh_find(&c->ifc, ip, mac);
}

/* Waits (bounded) until every buffer of ours came back: the bench then
 * counts only its own frames. */
static bool drain_ext(struct tg *tg, struct netnic *c)
{
    uint64_t end = timer_deadline(&tg->timer, ARP_WAIT_US);

    while (c->v.ext_inflight && !c->v.broken && !timer_expired(end))
        net_idle(tg);
    return !c->v.ext_inflight;
}

/* Sends count copies of one UDP frame as fast as the ring takes them. */
static void bench(struct tg *tg, struct netnic *c)
{
    const struct net_plan *p = &c->plan;
    struct vnet *v = &c->v;
    uint8_t mac[ETH_ALEN];
    uint32_t hl = v->hdr_len, len, sent = 0;
    uint64_t t0, us, e0, done, end;
    char ip[16];

    inet_fmt_ip(ip, sizeof(ip), p->peer);
    if (!p->peer || !resolve(tg, c, p->peer, mac) || !drain_ext(tg, c)) {
        net_check(tg, "net_bench", c, false, "%s peer=%s",
                  !p->peer                 ? "no-peer"
                  : c->v.ext_inflight == 0 ? "no-arp-reply"
                                           : "arp-request-not-returned",
                  ip);
        return;
    }
    if (p->len + IP_HLEN + UDP_HLEN > v->mtu) {
        net_check(tg, "net_bench", c, false, "len=%u beyond-mtu=%u", p->len,
                  v->mtu);
        return;
    }
    for (uint32_t i = 0; i < hl; i++)
        c->tmpl[i] = 0;
    len = hl + inet_udp_frame(&c->ifc, c->tmpl + hl, mac, p->peer, BENCH_SPORT,
                              p->port, p->len);
    e0 = v->st.tx_ext;
    end = timer_deadline(&tg->timer, (uint64_t)p->secs * 1000000);
    t0 = rdtsc();
    while ((sent < p->count || v->ext_inflight) && !v->broken &&
           !timer_expired(end)) {
        while (sent < p->count && vnet_tx_buf(v, c->tmpl, len) == 0)
            sent++;
        net_idle(tg); /* notifies, takes back, answers ARP meanwhile */
    }
    us = (rdtsc() - t0) * 1000 / tg->timer.tsc_khz;
    done = v->st.tx_ext - e0;
    tg_printf("tg: net %s bench frames=%lu len=%u bytes=%lu us=%lu\n", v->name,
              done, len - hl, done * (len - hl), us);
    net_check(tg, "net_bench", c, done == p->count,
              "frames=%lu want=%u us=%lu%s%s", done, p->count, us,
              v->broken ? " " : "", v->broken ? v->broken : "");
}

/* One command and its expected ack, noted in the detail as
 * NAME=VALUE:ok|err|0xNN|broken. False unless the ack was `want`. */
static bool ctrl_step(struct tg *tg, struct netnic *c, char *d, size_t size,
                      const char *what, unsigned val, uint8_t class,
                      uint8_t cmd, const void *data, uint32_t len, int want)
{
    int a = vnet_ctrl(&c->v, tg, class, cmd, data, len);
    size_t n = strlen(d);

    if (a == VNET_CTRL_OK || a == VNET_CTRL_ERR)
        fmt(d + n, size - n, " %s=%u:%s", what, val,
            a == VNET_CTRL_OK ? "ok" : "err");
    else if (a >= 0)
        fmt(d + n, size - n, " %s=%u:0x%x", what, val, (unsigned)a);
    else
        fmt(d + n, size - n, " %s=%u:broken(%s)", what, val,
            c->v.broken ? c->v.broken : "ctrl-unavailable");
    return a == want;
}

/*
 * net=ctrl: the control queue's commands that reach the host's tap
 * (kvmini attaches and detaches tap queues, sets the tap's offloads):
 * every pair on, back to one, guest offloads off (all of them), then
 * one the guest did not negotiate, which the device must refuse.
 * Before any traffic: frames steered to a pair we never set up would
 * be lost.
 */
static void ctrl(struct tg *tg, struct netnic *c)
{
    struct vnet *v = &c->v;
    char d[160] = "";
    bool ok = true;
    uint16_t pairs;
    uint64_t off = 0, csum = BIT(VNET_F_GUEST_CSUM);

    if (!vnet_has(v, VNET_F_CTRL_VQ)) {
        net_check(tg, "net_ctrl", c, false, "%s", "ctrl_vq-not-offered");
        return;
    }
    if (vnet_has(v, VNET_F_MQ) && v->max_pairs > 1) {
        pairs = v->max_pairs;
        ok &= ctrl_step(tg, c, d, sizeof(d), "pairs", pairs, VNET_CTRL_MQ,
                        VNET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, VNET_CTRL_OK);
        pairs = 1;
        ok &= ctrl_step(tg, c, d, sizeof(d), "pairs", pairs, VNET_CTRL_MQ,
                        VNET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, VNET_CTRL_OK);
    }
    if (vnet_has(v, VNET_F_CTRL_GUEST_OFFLOADS)) {
        ok &= ctrl_step(tg, c, d, sizeof(d), "offloads", 0,
                        VNET_CTRL_GUEST_OFFLOADS, VNET_CTRL_GUEST_OFFLOADS_SET,
                        &off, 8, VNET_CTRL_OK);
        ok &= ctrl_step(tg, c, d, sizeof(d), "offloads", (unsigned)csum,
                        VNET_CTRL_GUEST_OFFLOADS, VNET_CTRL_GUEST_OFFLOADS_SET,
                        &csum, 8, VNET_CTRL_ERR);
    }
    net_check(tg, "net_ctrl", c, ok && d[0], "%s", d[0] ? d + 1 : "none");
}

static void start(struct tg *tg, struct netset *ns, struct netnic *c)
{
    const struct net_plan *p = &c->plan;
    struct vnet *v = &c->v;
    char mac[18], want[18];

    c->tried = true;
    if (vnet_start(v, c->dev, tg, ns->area[c - ns->nic], &p->vo)) {
        net_check(tg, "net_start", c, false, "%s", v->why);
        return;
    }
    c->ifc = (struct inet_if){.ip = p->ip,
                              .prefix = p->prefix,
                              .echo_port = p->echo_port,
                              .csum_offload = vnet_has(v, VNET_F_CSUM),
                              .frame_max = vnet_frame_max(v)};
    __builtin_memcpy(c->ifc.mac, v->mac, ETH_ALEN);
    c->up = true;
    ns->up++;
    net_check(tg, "net_start", c, true, "%s", "");
    report(tg, c);
    inet_fmt_mac(mac, sizeof(mac), v->mac);
    if (p->has_mac) {
        inet_fmt_mac(want, sizeof(want), p->mac);
        net_check(tg, "net_mac", c, !memcmp(v->mac, p->mac, ETH_ALEN),
                  "mac=%s want=%s", mac, want);
    }
    if (p->has_mtu)
        net_check(tg, "net_mtu", c, v->mtu == p->mtu, "mtu=%u want=%u", v->mtu,
                  p->mtu);
    if (p->vo.ctrl)
        ctrl(tg, c);
    if (p->restart && !v->broken) {
        /* A reset of the running NIC (the host stops its queues and
         * their workers), a new start (new ones, the tap set up again);
         * then what was asked of the first start, again. */
        bool ok = !vnet_start(v, c->dev, tg, ns->area[c - ns->nic], &p->vo);

        net_check(tg, "net_restart", c, ok, "%s", ok ? "" : v->why);
        if (!ok) {
            c->up = false;
            ns->up--;
            return;
        }
        if (p->vo.ctrl)
            ctrl(tg, c);
    }
    if (p->bench)
        bench(tg, c);
}

/* The plan for NIC i: 1 to start it, 0 nothing asked, -1 failed check. */
static int plan_for(struct tg *tg, struct netset *ns, unsigned i)
{
    struct netnic *c = &ns->nic[i];
    struct net_plan *p = &c->plan;
    const char *ipv = NULL, *opt = NULL, *bad;
    size_t ipn = 0, optn = 0, badlen;
    bool has_ip = word_for(tg, "ip", i, &ipv, &ipn),
         has_opt = word_for(tg, "net", i, &opt, &optn);
    char own[12];

    fmt(own, sizeof(own), "net.eth%u", i);
    /* net= alone only tunes NICs with addresses. */
    if (!has_ip && (!has_opt || !cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len,
                                             own, &opt, &optn)))
        return 0;
    if (i >= ns->n) {
        net_check(tg, "net_nics", c, false, "missing n=%u", ns->n);
        return -1;
    }
    *p = (struct net_plan){.echo_port = INET_ECHO_PORT,
                           .count = DEFAULT_COUNT,
                           .len = DEFAULT_LEN,
                           .secs = DEFAULT_SECS,
                           .port = INET_DISCARD_PORT};
    if (!has_ip) {
        net_check(tg, "net_args", c, false, "no-address (ip.%s=ADDR/PREFIX)",
                  c->v.name);
        return -1;
    }
    if (inet_parse_cidr(ipv, ipn, &p->ip, &p->prefix) || !p->ip) {
        net_check(tg, "net_args", c, false, "unparsable \"%.*s\"", (int)ipn,
                  ipv);
        return -1;
    }
    if (has_opt && parse_opts(p, opt, optn, &bad, &badlen)) {
        net_check(tg, "net_args", c, false, "unparsable \"%.*s\"", (int)badlen,
                  bad);
        return -1;
    }
    return 1;
}

void net_checks(struct tg *tg)
{
    struct netset *ns = set_up(tg);
    unsigned asked = 0;

    for (unsigned i = 0; i < NET_NICS_MAX; i++) {
        int r = plan_for(tg, ns, i);

        asked += r != 0;
        if (r > 0)
            start(tg, ns, &ns->nic[i]);
    }
    if (!asked)
        devices_check(tg, "net_args", false, "no-address (ip=ADDR/PREFIX)");
}

void net_finish(struct tg *tg)
{
    struct netset *ns = tg->dev.net;

    if (!ns)
        return;
    for (unsigned i = 0; i < ns->n; i++) {
        struct netnic *c = &ns->nic[i];

        if (!c->tried)
            continue;
        print_stats(c);
        if (c->up && c->v.broken)
            net_check(tg, "net_serve", c, false, "%s", c->v.broken);
    }
}

void net_cmd(struct tg *tg, const char *args, size_t len)
{
    struct netset *ns = set_up(tg);
    bool stats = token_is(args, len, "stats");

    if (!stats && !token_is(args, len, "info")) {
        tg_printf("tg: error usage: net stats | net info\n");
        return;
    }
    if (!ns->n)
        tg_printf("tg: net none\n");
    for (unsigned i = 0; i < ns->n; i++) {
        struct netnic *c = &ns->nic[i];

        if (stats || !c->up)
            print_stats(c);
        else
            report(tg, c);
    }
}
