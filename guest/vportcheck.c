/* SPDX-License-Identifier: MIT */
/* The ports at boot and while holding: start, check, report, serve. */
#include "guest/cmdline.h"
#include "guest/devices.h"
#include "guest/lib.h"
#include "guest/netcheck.h"
#include "guest/tg.h"
#include "guest/timer.h"
#include "guest/vport.h"

/* Not zeroed at boot (.noinit, see guest.ld): 2 MiB of rings and buffers
 * would cost every boot milliseconds of emulated ring 0. Only what
 * dev_init() and port_init() set is read before it is written. */
#ifdef TG_HOST_IO
#define NOINIT
#else
#define NOINIT __attribute__((section(".noinit")))
#endif
static struct vportset vport_store NOINIT;

#define DISCOVER_US 10000000ULL /* the handshake, at most */
#define QUIET_US 300000ULL      /* without expect_ports: this long silent */

static bool candidate(const struct tg *tg, const struct vdev *d)
{
    return d->magic == VIRTIO_MAGIC && d->device_id == VIRTIO_ID_CONSOLE &&
           d != tg->dev.vcons.dev;
}

bool vport_wanted(const struct tg *tg)
{
    for (uint32_t i = 0; i < tg->dev.n; i++)
        if (candidate(tg, &tg->dev.dev[i]))
            return true;
    return false;
}

/* The virtio-console devices that offer MULTIPORT, started. */
static void start_all(struct tg *tg, struct vportset *set)
{
    for (uint32_t i = 0; i < tg->dev.n && set->n < VPORT_DEVS; i++) {
        struct vdev *d = &tg->dev.dev[i];
        struct vportdev *vd = &set->d[set->n];
        const char *why = "-";
        char detail[64];
        int r;

        if (!candidate(tg, d))
            continue;
        vd->dev = d;
        vd->index = set->n;
        vd->broken = NULL;
        vd->nports = vd->named = vd->ctrl_in = vd->ctrl_bad = 0;
        vd->out_next = 0;
        vd->civq_dirty = vd->covq_dirty = vd->console_hello = false;
        vd->irq_tried = tg->tick;
        r = vport_dev_start(tg, vd, &why);
        if (r > 0)
            continue;
        set->n++;
        fmt(detail, sizeof(detail), "dev=%u %s", vd->index, why);
        devices_check(tg, "vport_start", r == 0, detail);
        if (r == 0)
            tg_printf("tg: vport dev=%u base=0x%lx features=0x%lx "
                      "max_ports=%u legacy=%u irq=%u\n",
                      vd->index, d->base, d->features, vd->nports, d->legacy,
                      d->irq_wake);
        else
            vd->broken = why;
    }
}

static uint32_t named_total(const struct vportset *set)
{
    uint32_t n = 0;

    for (unsigned d = 0; d < set->n; d++)
        n += set->d[d].named;
    return n;
}

void vport_checks(struct tg *tg)
{
    struct vportset *set = &vport_store;
    const char *v;
    size_t vn;
    uint64_t expect = 0, end, quiet;
    bool has_expect = cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len,
                                  "expect_ports", &v, &vn) &&
                      !parse_u64(v, vn, false, &expect);

    set->n = 0;
    set->reporting = set->quit = false;
    set->hello = cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vport_hello");
    tg->dev.vport = set;
    start_all(tg, set);
    end = timer_deadline(&tg->timer, DISCOVER_US);
    quiet = timer_deadline(&tg->timer, QUIET_US);
    while (set->n && !timer_expired(end)) {
        if (has_expect && named_total(set) >= expect)
            break;
        if (!has_expect && timer_expired(quiet))
            break;
        int work = 0;
        for (unsigned d = 0; d < set->n; d++)
            if (!set->d[d].broken)
                work += vport_serve(tg, &set->d[d]);
        if (work)
            quiet = timer_deadline(&tg->timer, QUIET_US);
        else
            vport_idle(tg);
    }
    for (unsigned d = 0; d < set->n; d++)
        for (uint32_t i = 0; i < set->d[d].nports; i++) {
            struct vport *p = &set->d[d].port[i];

            if (p->console)
                tg_printf("tg: vport dev=%u port=%u console hello=%u\n", d, i,
                          set->d[d].console_hello);
            else if (p->named)
                tg_printf("tg: vport dev=%u port=%u name=%s role=%s "
                          "host_open=%u\n",
                          d, i, p->name, vport_role_name(p), p->host_open);
        }
    tg_printf("tg: vport devices=%u ports=%u\n", set->n, named_total(set));
    if (has_expect) {
        char d[48];

        fmt(d, sizeof(d), "ports=%u want=%lu", named_total(set), expect);
        devices_check(tg, "vport_ports", named_total(set) == expect, d);
    }
    set->reporting = true;
}

void vport_idle(struct tg *tg)
{
    struct vportset *set = tg->dev.vport;
    bool pending = false;
    int work = 0;

    if (!set || !set->n) {
        net_idle(tg);
        return;
    }
    for (unsigned d = 0; d < set->n; d++) {
        struct vportdev *vd = &set->d[d];

        if (vd->broken)
            continue;
        if (tg->tick && !vd->irq_tried) { /* the tick started after us */
            vd->irq_tried = true;
            vport_irq_enable(tg, vd);
        }
        work += vport_serve(tg, vd);
    }
    if (work)
        return;
    /* Acknowledge, then look again: bytes after the look raise a new
     * interrupt, which ends the hlt. */
    for (unsigned d = 0; d < set->n; d++)
        if (!set->d[d].broken && set->d[d].dev->irq_wake &&
            vdev_irq_ack(set->d[d].dev))
            pending = true;
    if (!pending)
        net_idle(tg);
}

bool vport_quit(const struct tg *tg)
{
    return tg->dev.vport && tg->dev.vport->quit;
}

void vport_finish(struct tg *tg)
{
    struct vportset *set = tg->dev.vport;

    for (unsigned d = 0; set && d < set->n; d++) {
        struct vportdev *vd = &set->d[d];

        tg_printf("tg: vport dev=%u stats ctrl_in=%u ctrl_bad=%u%s%s\n", d,
                  vd->ctrl_in, vd->ctrl_bad, vd->broken ? " broken=" : "",
                  vd->broken ? vd->broken : "");
        for (uint32_t i = 0; i < vd->nports; i++) {
            struct vport *p = &vd->port[i];

            if (p->rx_bytes || p->tx_bytes)
                tg_printf("tg: vport dev=%u port=%u stats rx=%lu tx=%lu\n", d,
                          i, p->rx_bytes, p->tx_bytes);
        }
    }
}
