/* SPDX-License-Identifier: MIT */
/*
 * The kvmini side of the Linux ring test: a fake guest whose RAM is
 * identity-mapped (Linux's userspace shims use virtual addresses as
 * physical ones), the real virtio-mmio transport and devices, and the
 * TAP verdicts. glue.c runs Linux's virtio_ring.c against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lr.h"
#include "tests/unit/echo_dev.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/tap.h"
#include "virtio/blk.h"
#include "virtio/serial.h"

#define RAM (64ULL << 20)
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define EV VIRTIO_BIT(VIRTIO_F_EVENT_IDX)
#define IND VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)

static struct fake_guest g;
static pthread_mutex_t alloc_mu = PTHREAD_MUTEX_INITIALIZER;

void *lr_alloc(size_t size, size_t align)
{
    pthread_mutex_lock(&alloc_mu);
    void *p = fg_host(&g, fg_alloc(&g, size ? size : 1, align));
    pthread_mutex_unlock(&alloc_mu);
    return p;
}

/* malloc()/free() inside Linux's virtio_ring.c (see compat.h). */
void *lr_kmalloc(size_t size)
{
    return lr_alloc(size, 16);
}

void lr_kfree(void *p)
{
    (void)p; /* bump allocator: fake RAM is dropped whole per case */
}

void lr_notify(unsigned qi)
{
    fg_wr(&g, VMMIO_QUEUE_NOTIFY, qi);
}

int lr_setup_queue(unsigned qi, unsigned num, uint64_t desc, uint64_t avail,
                   uint64_t used)
{
    fg_wr(&g, VMMIO_QUEUE_SEL, qi);
    if (fg_rd(&g, VMMIO_QUEUE_NUM_MAX) < num)
        return -EIO;
    fg_wr(&g, VMMIO_QUEUE_NUM, num);
    if (g.legacy) {
        /* Linux's legacy layout is exactly the one QueuePFN implies. */
        fg_wr(&g, VMMIO_QUEUE_ALIGN, 4096);
        fg_wr(&g, VMMIO_QUEUE_PFN, (uint32_t)(desc / 4096));
        (void)avail;
        (void)used;
        return fg_rd(&g, VMMIO_QUEUE_PFN) ? 0 : -EIO;
    }
    fg_wr(&g, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    fg_wr(&g, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    fg_wr(&g, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    fg_wr(&g, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    fg_wr(&g, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    fg_wr(&g, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    fg_wr(&g, VMMIO_QUEUE_READY, 1);
    return fg_rd(&g, VMMIO_QUEUE_READY) ? 0 : -EIO;
}

int lr_driver_ok(void)
{
    return fg_driver_ok(&g);
}

uint64_t lr_features(void)
{
    return g.features;
}

uint64_t lr_irq_count(void)
{
    return fg_irq_count(&g.irq);
}

int lr_irq_wait(uint64_t seen)
{
    return fg_irq_wait(&g.irq, seen);
}

uint32_t lr_isr_ack(void)
{
    return fg_ack(&g);
}

static void echo_case(const char *name, bool legacy, uint64_t feat,
                      struct lr_echo_case c)
{
    static struct echo_dev e;
    char why[160] = "";
    echo_init(&e, c.nq, 256);
    if (fg_init_identity(&g, RAM) || fg_attach(&g, &e.ops, &e, legacy) ||
        fg_negotiate(&g, feat)) {
        CHECK(0, "%s: fake guest setup", name);
        return;
    }
    int r = lr_echo(&c, why, sizeof(why));
    uint64_t total = (uint64_t)c.nq * c.requests;
    uint64_t irqs = fg_irq_count(&g.irq);
    CHECK(r == 0, "%s: %u queue(s) x %u requests, ring %u, through "
                  "Linux virtio_ring%s%s", name, c.nq, c.requests, c.num,
          *why ? ": " : "", why);
    CHECK(e.requests == total && irqs <= total,
          "%s: device served %llu, %llu interrupts", name,
          (unsigned long long)e.requests, (unsigned long long)irqs);
    fg_reset(&g);
    fg_fini(&g);
}

static void console_case(void)
{
    enum { IN = 32 * 1024, OUT = 32 * 1024 };
    static uint8_t in_src[IN], in_dst[IN], out_src[OUT], out_dst[OUT];
    int in[2], out[2];
    struct vser *c;
    struct chardev *cd = NULL;
    char why[160] = "";
    for (size_t i = 0; i < IN; i++)
        in_src[i] = (uint8_t)(i * 3 + i / 97);
    for (size_t i = 0; i < OUT; i++)
        out_src[i] = (uint8_t)(i * 11 + 1);
    /* Both directions fit a pipe's 64 KiB: no reader thread needed. */
    if (pipe(in) || pipe(out) || write(in[1], in_src, IN) != IN ||
        chardev_stdio_open(&cd, &(struct chardev_stdio_config){
                                    .in_fd = in[0], .out_fd = out[1]}) ||
        vser_create_console(&c, cd, 80, 24) || fg_init_identity(&g, RAM) ||
        fg_attach(&g, vser_ops(c), c, false) ||
        fg_negotiate(&g, V1 | EV | IND | 1)) {
        CHECK(0, "console: setup");
        return;
    }
    int r = lr_console(in_dst, IN, out_src, OUT, why, sizeof(why));
    CHECK(r == 0 && memcmp(in_src, in_dst, IN) == 0,
          "console: 32 KiB host -> guest via Linux virtio_ring%s%s",
          *why ? ": " : "", why);
    size_t got = 0;
    while (r == 0 && got < OUT) {
        ssize_t n = read(out[0], out_dst + got, OUT - got);
        if (n <= 0)
            break;
        got += n;
    }
    CHECK(got == OUT && memcmp(out_src, out_dst, OUT) == 0,
          "console: 32 KiB guest -> host via Linux virtio_ring");
    fg_reset(&g);
    fg_fini(&g);
    vser_destroy(c);
    chardev_close(cd);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
}

/* The image the Linux driver wrote: every block of every region holds
 * its pattern, but block 3 of queue 0 (zeroed) and block 5 (discarded,
 * whatever it reads as). */
static bool blk_image_ok(const char *path, const struct lr_blk_case *c)
{
    static uint8_t buf[LR_BLK];
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0;
    for (unsigned q = 0; ok && q < c->nq; q++)
        for (unsigned b = 0; ok && b < c->nblocks; b++) {
            off_t off = ((off_t)q * c->nblocks + b) * LR_BLK;
            ok = pread(fd, buf, LR_BLK, off) == LR_BLK;
            for (unsigned i = 0; ok && i < LR_BLK; i++)
                ok = (q == 0 && b == 5) ||
                     buf[i] == (q == 0 && b == 3 ? 0 : lr_blk_byte(q, b, i));
        }
    if (fd >= 0)
        close(fd);
    return ok;
}

static void blk_case(const char *name, uint64_t feat, unsigned nq,
                     unsigned num)
{
    char path[] = "/tmp/kvmini-lr-blk.XXXXXX", why[160] = "", err[256];
    int fd = mkstemp(path);
    struct lr_blk_case c = { .nq = nq, .num = num, .nblocks = 256,
                             .serial = "linux-ring-blk" };
    c.capacity = (uint64_t)nq * c.nblocks * (LR_BLK / 512);
    struct vblk_config cfg = { .discard = true, .queues = nq };
    snprintf(cfg.path, sizeof(cfg.path), "%s", path);
    snprintf(cfg.serial, sizeof(cfg.serial), "%s", c.serial);
    struct vblk *b = NULL;
    if (fd < 0 || ftruncate(fd, (off_t)c.capacity * 512) ||
        vblk_create(&b, &cfg, 1, err, sizeof(err)) ||
        fg_init_identity(&g, RAM) || fg_attach(&g, vblk_ops(b), b, false) ||
        fg_negotiate(&g, feat)) {
        CHECK(0, "blk %s: setup", name);
        return;
    }
    int r = lr_blk(&c, why, sizeof(why));
    CHECK(r == 0, "blk %s: %u queue(s), ring %u, 2 x %u 4 KiB requests "
                  "each, flush, get-id, zeroes, discard, errors via Linux "
                  "virtio_ring%s%s",
          name, nq, num, c.nblocks, *why ? ": " : "", why);
    fg_reset(&g);
    fg_fini(&g);
    vblk_destroy(b);
    CHECK(r == 0 && blk_image_ok(path, &c),
          "blk %s: the image holds what the Linux driver wrote", name);
    close(fd);
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    echo_case("split+indirect+event_idx", false, V1 | IND | EV,
              (struct lr_echo_case){ .nq = 3, .num = 64, .requests = 3000,
                                     .max_out = 4 });
    echo_case("split, no indirect, no event_idx", false, V1,
              (struct lr_echo_case){ .nq = 2, .num = 16, .requests = 2000,
                                     .max_out = 3 });
    echo_case("event_idx across the 16-bit wrap", false, V1 | EV,
              (struct lr_echo_case){ .nq = 1, .num = 8, .requests = 70000,
                                     .max_out = 1 });
    echo_case("legacy mmio + indirect + event_idx", true, IND | EV,
              (struct lr_echo_case){ .nq = 2, .num = 32, .requests = 2000,
                                     .max_out = 4 });
    console_case();
    uint64_t blkf = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
                    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                    VIRTIO_BIT(VIRTIO_BLK_F_MQ) |
                    VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    blk_case("indirect+event_idx", V1 | IND | EV | blkf, 2, 64);
    blk_case("plain ring", V1 | blkf, 1, 16);
    return tap_done();
}
