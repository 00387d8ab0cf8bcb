/* SPDX-License-Identifier: MIT */
/* The virtio-console driver and its checks (vcons_hello, vcons_echo). */
#include "guest/vcons.h"
#include "guest/cmdline.h"
#include "guest/devices.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define Q_RX 0
#define Q_TX 1
#define TX_WAIT_US 5000000ULL
#define ECHO_IDLE_S 120 /* no input for 2 min: give up (vcons_idle=S) */
#define F_SIZE 0        /* VIRTIO_CONSOLE_F_SIZE: cols, rows in the config */
#define C_COLS 0
#define C_ROWS 2

/* Hands receive buffer i (back) to the device. */
static int post_rx(struct vcons *c, int i)
{
    struct vq_seg s = {c->rxbuf[i], VCONS_RX_LEN, true};

    return vq_post(&c->rx, &s, 1) < 0 ? -1 : 0;
}

int vcons_start(struct vcons *c, struct vdev *d, struct tg *tg,
                const char **why)
{
    /* F_SIZE only for vcons_size: with it the host interrupts the guest
     * at every resize, which the other checks need not see. */
    uint64_t want =
        cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_size")
            ? 1ULL << F_SIZE
            : 0;

    c->dev = NULL;
    c->cur = -1;
    c->hlt_await = false;
    c->hlt_irq = 0;
    if (vdev_start(d, want, why) || vq_setup(&c->rx, d, Q_RX, 16, why) ||
        vq_setup(&c->tx, d, Q_TX, VCONS_TX_SEGS, why))
        return -1;
    /* Buffers may be posted before DRIVER_OK; the device looks after it. */
    for (int i = 0; i < VCONS_RX_BUFS; i++)
        if (post_rx(c, i)) {
            *why = "receiveq-too-small";
            vdev_reset(d);
            return -1;
        }
    if (vdev_irq_wake(d, tg)) {
        vq_irq_enable(&c->rx);
        vq_irq_enable(&c->tx);
        /* irqwait mode proves delivery on every wait already. */
        c->hlt_await = !tg->irqw.on;
    }
    vdev_driver_ok(d);
    vq_kick(&c->rx);
    c->dev = d;
    return 0;
}

int vcons_sendv(struct vcons *c, struct tg *tg, const struct vq_seg *s,
                unsigned n, const char **why)
{
    /* Counted before posting: handlers run only inside a halt, so none
     * of this transmit's interrupts can be in it yet. */
    uint64_t irqs = irq_received(c->tx.dev->irq);
    uint16_t head;
    uint32_t len;
    int h, r;

    h = vq_post(&c->tx, s, n);
    if (h < 0) {
        *why = "transmitq-full";
        return -1;
    }
    vq_kick(&c->tx);
    if (c->hlt_await) {
        c->hlt_await = false;
        c->hlt_irq = vdev_irq_await(c->tx.dev, tg, irqs, TX_WAIT_US) ? 1 : -1;
    }
    r = vq_wait_used(&c->tx, tg, TX_WAIT_US, &head, &len);
    if (r <= 0 || head != h) {
        *why = r == 0 ? "transmit-timeout" : "transmit-wrong-buffer";
        return -1;
    }
    return 0;
}

int vcons_send(struct vcons *c, struct tg *tg, const char *s, size_t n,
               const char **why)
{
    struct vq_seg seg = {s, (uint32_t)n, false};

    if (!n || n > 0xffffffffU) {
        *why = "bad-length";
        return -1;
    }
    return vcons_sendv(c, tg, &seg, 1, why);
}

/* Next received byte: 1, 0 after idle_us without one, -1 on a bad ring. */
static int get_byte(struct vcons *c, struct tg *tg, uint64_t idle_us, char *out,
                    const char **why)
{
    while (c->cur < 0 || c->cur_off == c->cur_len) {
        uint16_t head;
        uint32_t len;
        int r;

        if (c->cur >= 0) { /* consumed: give it back */
            if (post_rx(c, c->cur))
                goto bad;
            vq_kick(&c->rx);
            c->cur = -1;
        }
        r = vq_wait_used(&c->rx, tg, idle_us, &head, &len);
        if (r == 0) {
            *why = "receive-timeout";
            return 0;
        }
        /* Map the descriptor back to our buffer through its address. */
        if (r < 0 || head >= c->rx.num)
            goto bad;
        c->cur = (int)((const char *)c->rx.desc[head].addr - c->rxbuf[0]) /
                 VCONS_RX_LEN;
        if (c->cur < 0 || c->cur >= VCONS_RX_BUFS)
            goto bad;
        c->cur_off = 0;
        c->cur_len = len < VCONS_RX_LEN ? len : VCONS_RX_LEN;
    }
    *out = c->rxbuf[c->cur][c->cur_off++];
    return 1;
bad:
    c->cur = -1;
    *why = "receiveq-corrupt";
    return -1;
}

int vcons_read_line(struct vcons *c, struct tg *tg, char *out, size_t max,
                    uint64_t idle_us, const char **why)
{
    size_t n = 0;
    char b;
    int r;

    while ((r = get_byte(c, tg, idle_us, &b, why)) == 1 && b != '\n')
        if (n + 1 < max)
            out[n++] = b;
    if (r != 1)
        return -1;
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = 0;
    return (int)n;
}

bool vcons_wanted(const struct tg *tg)
{
    return cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_hello") ||
           cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_echo") ||
           cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_size");
}

/* The console, started once; NULL with *why set if there is none. */
static struct vcons *console(struct tg *tg, const char **why)
{
    struct vcons *c = &tg->dev.vcons;
    struct vdev *d;

    if (c->dev)
        return c;
    d = devices_find(&tg->dev, VIRTIO_ID_CONSOLE);
    if (!d) {
        *why = "no-console";
        return NULL;
    }
    return vcons_start(c, d, tg, why) ? NULL : c;
}

static void check_hello(struct tg *tg)
{
    static const char hello[] = "tg-vcons: hello\n";
    const char *why = "-";
    struct vcons *c = console(tg, &why);
    bool ok = c && !vcons_send(c, tg, hello, sizeof(hello) - 1, &why);

    devices_check(tg, "vcons_hello", ok, why);
}

/* "echo: LINE\n" as one chain of 2 or 3 buffers (no empty one). */
static int send_echo(struct vcons *c, struct tg *tg, const char *line,
                     uint32_t n, const char **why)
{
    struct vq_seg s[3] = {{"echo: ", 6, false}, {line, n, false}};
    unsigned k = n ? 2 : 1;

    s[k++] = (struct vq_seg){"\n", 1, false};
    return vcons_sendv(c, tg, s, k, why);
}

/* "TEXT\n" for the shell's vcons say. */
static int send_echo_text(struct vcons *c, struct tg *tg, const char *t,
                          uint32_t n, const char **why)
{
    struct vq_seg s[2] = {{t, n, false}, {"\n", 1, false}};

    return vcons_sendv(c, tg, s, 2, why);
}

/* How long vcons_echo waits for input: vcons_idle=SECONDS (1..3600). */
static uint64_t echo_idle_us(const struct tg *tg)
{
    const char *v;
    size_t n;
    uint64_t s;

    if (!cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_idle", &v,
                     &n) ||
        parse_u64(v, n, false, &s) || !s || s > 3600)
        s = ECHO_IDLE_S;
    return s * 1000000;
}

/* Echoes lines until "quit"; each echo is one transmit. */
static void check_echo(struct tg *tg)
{
    static const char ready[] = "tg-vcons: ready\n";
    char line[VCONS_LINE_MAX], d[64];
    const char *why = "-";
    struct vcons *c = console(tg, &why);
    uint32_t lines = 0;
    int n;

    if (!c || vcons_send(c, tg, ready, sizeof(ready) - 1, &why)) {
        devices_check(tg, "vcons_echo", false, why);
        return;
    }
    while ((n = vcons_read_line(c, tg, line, sizeof(line), echo_idle_us(tg),
                                &why)) >= 0) {
        if (!strncmp(line, "quit", 5))
            break;
        if (send_echo(c, tg, line, (uint32_t)n, &why)) {
            n = -1;
            break;
        }
        lines++;
    }
    fmt(d, sizeof(d), "lines=%u%s%s", lines, n < 0 ? " " : "",
        n < 0 ? why : "");
    devices_check(tg, "vcons_echo", n >= 0, d);
}

/* cols and rows from the config, consistent (generation unchanged). */
static void read_size(const struct vdev *d, uint16_t *cols, uint16_t *rows)
{
    for (int i = 0; i < 4; i++) {
        uint32_t gen = vdev_cfg_gen(d);

        *cols = vdev_cfg16(d, C_COLS);
        *rows = vdev_cfg16(d, C_ROWS);
        if (vdev_cfg_gen(d) == gen)
            return;
    }
}

/* vcons_size: F_SIZE negotiated, the size reported, then a change of
 * it awaited (vcons_idle seconds at most) and reported. */
static void check_size(struct tg *tg)
{
    const char *why = "-";
    struct vcons *c = console(tg, &why);
    uint16_t cols, rows, c2, r2;
    uint64_t end;
    char d[64];

    if (!c || !(c->dev->features & 1ULL << F_SIZE)) {
        devices_check(tg, "vcons_size", false, c ? "size-not-offered" : why);
        return;
    }
    read_size(c->dev, &cols, &rows);
    tg_printf("tg: vcons size %ux%u\n", cols, rows);
    end = timer_deadline(&tg->timer, echo_idle_us(tg));
    do {
        tg_idle(tg);
        read_size(c->dev, &c2, &r2);
    } while (c2 == cols && r2 == rows && !timer_expired(end));
    fmt(d, sizeof(d), "%sfrom=%ux%u to=%ux%u",
        c2 == cols && r2 == rows ? "no-resize " : "", cols, rows, c2, r2);
    devices_check(tg, "vcons_size", c2 != cols || r2 != rows, d);
}

void vcons_checks(struct tg *tg)
{
    if (cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_hello"))
        check_hello(tg);
    if (cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_echo"))
        check_echo(tg);
    if (cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "vcons_size"))
        check_size(tg);
}

/*
 * Hostile on purpose (`vcons bad-head`): publish a transmit entry naming
 * a head beyond the ring and kick. The device must refuse the ring by
 * asking for a reset (DEVICE_NEEDS_RESET), not crash or spin; the
 * status it then shows is reported.
 */
static void send_bad_head(struct vcons *c, struct tg *tg)
{
    struct vq *q = &c->tx;
    uint64_t end;

    q->avail->ring[q->avail_idx % q->num] = q->num; /* out of range */
    __atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
    vq_kick(q);
    end = timer_deadline(&tg->timer, 5000000);
    while (!(vdev_status(c->dev) & VIRTIO_S_NEEDS_RESET) && !timer_expired(end))
        tg_idle(tg);
    tg_printf("tg: vcons bad-head status=0x%x\n", vdev_status(c->dev));
}

void vcons_cmd(struct tg *tg, const char *args, size_t len)
{
    const char *why = "-";
    struct vcons *c;

    if (len == 8 && !strncmp(args, "bad-head", 8)) {
        c = console(tg, &why);
        if (c)
            send_bad_head(c, tg);
        else
            tg_printf("tg: vcons bad-head FAIL %s\n", why);
        return;
    }
    if (len < 5 || strncmp(args, "say ", 4)) {
        tg_printf("tg: error usage: vcons say TEXT | vcons bad-head\n");
        return;
    }
    c = console(tg, &why);
    if (!c || send_echo_text(c, tg, args + 4, (uint32_t)(len - 4), &why))
        tg_printf("tg: vcons say FAIL %s\n", why);
    else
        tg_printf("tg: vcons say ok bytes=%u\n", (unsigned)(len - 3));
}
