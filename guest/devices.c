/* SPDX-License-Identifier: MIT */
/* Finds, probes, reports and checks the guest's virtio-mmio devices. */
#include "guest/devices.h"
#include "guest/cmdline.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/user.h"

#define GIB4 0x100000000ULL

/* What each device id is called; a driver for a new id starts here. */
static const struct {
    uint32_t id;
    const char *name;
} dev_names[] = {
    {VIRTIO_ID_NET, "net"},
    {VIRTIO_ID_BLK, "blk"},
    {VIRTIO_ID_CONSOLE, "console"},
};

static const char *dev_name(uint32_t id)
{
    for (size_t i = 0; i < ARRAY_SIZE(dev_names); i++)
        if (dev_names[i].id == id)
            return dev_names[i].name;
    return id ? "other" : "none"; /* id 0: an empty slot */
}

/*
 * Adds a window once (keyed by base address, as docs/machine.md asks of
 * guests reading several sources). The window must hold the registers
 * and lie below 4 GiB, the only range the guest maps.
 */
static void add(struct devices *ds, const char *src, uint64_t base,
                uint64_t size, uint32_t irq)
{
    struct vdev *d;

    if (size < VIRTIO_WINDOW_MIN || base % 4 || base + size < base ||
        base + size > GIB4) {
        ds->bad++;
        return;
    }
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->dev[i].base == base)
            return;
    if (ds->n == DEVICES_MAX) {
        ds->dropped++;
        return;
    }
    d = &ds->dev[ds->n++];
    *d = (struct vdev){.base = base, .size = size, .irq = irq, .src = src};
}

static void add_dt(void *ctx, const struct dt_virtio *v)
{
    add(ctx, "dt", v->base, v->size, v->has_irq ? v->irq : 0);
}

static int split_at(const char *s, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == c)
            return (int)i;
    return -1;
}

/* Linux's format: <size>@<baseaddr>:<irq>[:<id>], size with K/M/G. */
static int parse_entry(const char *v, size_t n, uint64_t *base, uint64_t *size,
                       uint64_t *irq)
{
    int at = split_at(v, n, '@'), colon, end;

    if (at < 0)
        return -1;
    colon = split_at(v + at + 1, n - at - 1, ':');
    if (colon < 0)
        return -1;
    colon += at + 1;
    end = split_at(v + colon + 1, n - colon - 1, ':'); /* optional :id */
    end = end < 0 ? (int)n : end + colon + 1;
    if (parse_u64(v, at, true, size) ||
        parse_u64(v + at + 1, colon - at - 1, true, base) ||
        parse_u64(v + colon + 1, end - colon - 1, false, irq) ||
        *irq > 0xffffffffULL)
        return -1;
    return 0;
}

static void from_cmdline(struct devices *ds, const struct bootinfo *bi)
{
    uint64_t base, size, irq;
    const char *v;
    size_t pos = 0, n;

    while (cmdline_next(bi->cmdline, bi->cmdline_len, &pos,
                        "virtio_mmio.device", &v, &n)) {
        if (parse_entry(v, n, &base, &size, &irq))
            ds->bad++;
        else
            add(ds, "cmdline", base, size, (uint32_t)irq);
    }
}

/*
 * Runs in ring 3, where code runs natively (ring 0 is emulated here, and
 * walking the tree twice there costs milliseconds): no port I/O, so no
 * printing. It only reads the tree and the command line.
 */
static uint64_t scan_ring3(uint64_t dsp, uint64_t bip)
{
    struct devices *ds = (struct devices *)dsp;
    const struct bootinfo *bi = (const struct bootinfo *)bip;

    dt_find(&ds->dt, bi);
    ds->src = "none";
    if (ds->dt.state == DT_OK) {
        ds->src = "dt";
        ds->bad += dt_virtio_each(&ds->dt, add_dt, ds);
    } else {
        from_cmdline(ds, bi);
        if (ds->n || ds->bad)
            ds->src = "cmdline";
    }
    return 0;
}

void devices_discover(struct devices *ds, const struct bootinfo *bi)
{
    user_call(scan_ring3, (uint64_t)ds, (uint64_t)bi);
    for (uint32_t i = 0; i < ds->n; i++)
        vdev_probe(&ds->dev[i]);
}

void devices_report(const struct devices *ds)
{
    dt_report(&ds->dt);
    for (uint32_t i = 0; i < ds->n; i++) {
        const struct vdev *d = &ds->dev[i];
        char magic[32] = "";

        if (d->magic != VIRTIO_MAGIC)
            fmt(magic, sizeof(magic), " bad_magic=0x%x", d->magic);
        tg_printf("tg: virtio dev=%u src=%s base=0x%lx size=0x%lx irq=%u "
                  "id=%u vendor=0x%x version=%u name=%s%s\n",
                  i, d->src, d->base, d->size, d->irq, d->device_id,
                  d->vendor_id, d->version, dev_name(d->device_id), magic);
    }
    tg_printf("tg: devices n=%u src=%s unusable=%u dropped=%u\n", ds->n,
              ds->src, ds->bad, ds->dropped);
}

struct vdev *devices_find(struct devices *ds, uint32_t device_id)
{
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->dev[i].magic == VIRTIO_MAGIC &&
            ds->dev[i].device_id == device_id)
            return &ds->dev[i];
    return NULL;
}

void devices_check(struct tg *tg, const char *name, bool ok, const char *detail)
{
    tg_printf("tg: check %s %s %s\n", name, ok ? "ok" : "FAIL", detail);
    if (!ok)
        tg->fails++;
}

static void check_magic(struct tg *tg)
{
    const struct devices *ds = &tg->dev;
    char d[80];

    if (!ds->n)
        return;
    for (uint32_t i = 0; i < ds->n; i++) {
        const struct vdev *v = &ds->dev[i];

        if (v->magic != VIRTIO_MAGIC || (v->version != 1 && v->version != 2)) {
            fmt(d, sizeof(d), "dev=%u magic=0x%x version=%u", i, v->magic,
                v->version);
            devices_check(tg, "virtio_magic", false, d);
            return;
        }
    }
    fmt(d, sizeof(d), "n=%u", ds->n);
    devices_check(tg, "virtio_magic", true, d);
}

/* expect_dev=ID@BASE:IRQ: a device with that id, window base and irq. */
static void check_expect_dev(struct tg *tg, const char *v, size_t n)
{
    uint64_t id, base, irq;
    int at = split_at(v, n, '@'), colon = split_at(v, n, ':');
    bool found = false;
    char d[96];

    if (at < 0 || colon < at || parse_u64(v, at, false, &id) ||
        parse_u64(v + at + 1, colon - at - 1, false, &base) ||
        parse_u64(v + colon + 1, n - colon - 1, false, &irq)) {
        devices_check(tg, "expect_dev", false, "unparsable");
        return;
    }
    for (uint32_t i = 0; i < tg->dev.n; i++) {
        const struct vdev *x = &tg->dev.dev[i];

        found |= x->magic == VIRTIO_MAGIC && x->device_id == id &&
                 x->base == base && x->irq == irq;
    }
    fmt(d, sizeof(d), "id=%lu base=0x%lx irq=%lu %s", id, base, irq,
        found ? "found" : "missing");
    devices_check(tg, "expect_dev", found, d);
}

void devices_checks(struct tg *tg)
{
    const struct bootinfo *bi = &tg->bi;
    const char *v;
    size_t n, pos = 0;
    uint64_t want;
    char d[64];

    check_magic(tg);
    if (cmdline_get(bi->cmdline, bi->cmdline_len, "expect_devices", &v, &n)) {
        if (parse_u64(v, n, false, &want)) {
            devices_check(tg, "expect_devices", false, "unparsable");
        } else {
            fmt(d, sizeof(d), "n=%u want=%lu src=%s", tg->dev.n, want,
                tg->dev.src);
            devices_check(tg, "expect_devices", tg->dev.n == want, d);
        }
    }
    while (
        cmdline_next(bi->cmdline, bi->cmdline_len, &pos, "expect_dev", &v, &n))
        check_expect_dev(tg, v, n);
}

void devices_irq_report(struct tg *tg)
{
    const struct vcons *c = &tg->dev.vcons;
    char d[128];

    for (uint32_t i = 0; i < tg->dev.n; i++) {
        const struct vdev *v = &tg->dev.dev[i];

        if (v->irq_wake)
            tg_printf("tg: virtio irq dev=%u gsi=%u vec=0x%x received=%lu\n", i,
                      v->irq, irq_vector(v->irq), irq_received(v->irq));
    }
    /*
     * Idle-hlt mode: the console's first transmit halted until its
     * interrupt came (vcons.c, hlt_await); the count above alone would
     * depend on how often a look at the ring happened to find nothing.
     */
    if (c->dev && c->hlt_irq) {
        fmt(d, sizeof(d), "%sreceived=%lu",
            c->hlt_irq < 0 ? "no-interrupt " : "", irq_received(c->dev->irq));
        devices_check(tg, "irq_hlt", c->hlt_irq > 0, d);
    }
    if (!cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "irqwait"))
        return;
    /*
     * Completions must have come by interrupt: at least one taken after
     * the device's interrupt, none that only the watchdog found.
     */
    fmt(d, sizeof(d), "received=%lu by_irq=%u late=%u halts=%u watchdogs=%u",
        c->dev ? irq_received(c->dev->irq) : 0, c->rx.by_irq + c->tx.by_irq,
        c->rx.late + c->tx.late, tg->irqw.halts, tg->irqw.watchdogs);
    devices_check(tg, "irq_wait",
                  tg->irqw.on && c->dev && c->dev->irq_wake &&
                      c->rx.by_irq + c->tx.by_irq && !c->rx.late && !c->tx.late,
                  d);
}

void devices_cmd(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    devices_report(&tg->dev);
}

void devices_cmd_dt(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    dt_print(&tg->dev.dt);
}
