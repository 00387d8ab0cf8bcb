/* SPDX-License-Identifier: MIT */
/* Unit tests for the virtio-mmio transport: registers, status machine,
 * hostile drivers, reset mid-I/O, and a many-queue completion stress. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/log.h"
#include "tests/unit/echo_dev.h"
#include "tests/unit/fake_guest.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"

#define RAM (32ULL << 20)
#define NQ 4
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define EV VIRTIO_BIT(VIRTIO_F_EVENT_IDX)
#define IND VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)

static struct echo_dev e;

static void new_guest(struct fake_guest *g, bool legacy)
{
    echo_init(&e, NQ, 256);
    if (fg_init(g, RAM) || fg_attach(g, &e.ops, &e, legacy))
        abort();
}

static void test_ident(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    CHECK(fg_rd(&g, VMMIO_MAGIC) == VMMIO_MAGIC_VALUE, "magic 'virt'");
    CHECK(fg_rd(&g, VMMIO_VERSION) == 2, "modern: Version 2");
    CHECK(fg_rd(&g, VMMIO_DEVICE_ID) == ECHO_DEVICE_ID, "device id");
    fg_wr(&g, VMMIO_DEV_FEATURES_SEL, 1);
    CHECK(fg_rd(&g, VMMIO_DEV_FEATURES) & 1, "VERSION_1 offered (bit 32)");
    fg_wr(&g, VMMIO_DEV_FEATURES_SEL, 0);
    uint32_t lo = fg_rd(&g, VMMIO_DEV_FEATURES);
    CHECK((lo & (1u << 28)) && (lo & (1u << 29)),
          "INDIRECT_DESC and EVENT_IDX offered");
    fg_wr(&g, VMMIO_DEV_FEATURES_SEL, 2);
    CHECK(fg_rd(&g, VMMIO_DEV_FEATURES) == 0, "feature word 2 reads 0");
    uint16_t half = 0xffff;
    vmmio_access(g.m, VMMIO_MAGIC, &half, 2, false);
    CHECK(half == 0, "16-bit register read refused (reads 0)");
    CHECK(fg_rd(&g, 0x0f8) == 0, "reserved register reads 0");
    fg_fini(&g);

    new_guest(&g, true);
    CHECK(fg_rd(&g, VMMIO_VERSION) == 1, "legacy: Version 1");
    fg_wr(&g, VMMIO_DEV_FEATURES_SEL, 1);
    CHECK(fg_rd(&g, VMMIO_DEV_FEATURES) == 0, "legacy: no VERSION_1");
    fg_fini(&g);
}

/* --debug virtio: every register access is printed with its name. */
static void test_debug_log(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    struct stderr_capture cap;
    stderr_capture_begin(&cap);
    unsigned old = log_cats;
    log_cats = LOG_CAT_VIRTIO;
    fg_rd(&g, VMMIO_MAGIC);
    fg_wr(&g, VMMIO_QUEUE_NOTIFY, 1);
    log_cats = old;
    char *buf = stderr_capture_end(&cap, NULL);
    CHECK(strstr(buf, "echo: read  MagicValue = 0x74726976") &&
              strstr(buf, "echo: write QueueNotify = 0x1"),
          "--debug virtio names register accesses");
    free(buf);
    fg_fini(&g);
}

static void test_status_machine(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    fg_wr(&g, VMMIO_STATUS, VIRTIO_STATUS_DRIVER);
    CHECK(fg_status(&g) == 0, "DRIVER without ACKNOWLEDGE ignored");
    fg_wr(&g, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    fg_wr(&g, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    CHECK(fg_status(&g) == 3, "ACKNOWLEDGE|DRIVER");
    CHECK((fg_try_features(&g, V1 | (1ULL << 40)) &
           VIRTIO_STATUS_FEATURES_OK) == 0,
          "FEATURES_OK refused: bit 40 not offered");
    CHECK((fg_try_features(&g, IND) & VIRTIO_STATUS_FEATURES_OK) == 0,
          "FEATURES_OK refused without VERSION_1");
    fg_wr(&g, VMMIO_STATUS, 3 | VIRTIO_STATUS_DRIVER_OK);
    CHECK(!(fg_status(&g) & VIRTIO_STATUS_DRIVER_OK),
          "DRIVER_OK before FEATURES_OK ignored");
    CHECK(fg_try_features(&g, V1 | EV) & VIRTIO_STATUS_FEATURES_OK,
          "FEATURES_OK accepted for offered subset");
    fg_wr(&g, VMMIO_DRV_FEATURES_SEL, 0);
    fg_wr(&g, VMMIO_DRV_FEATURES, 0xffffffff);
    fg_wr(&g, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    CHECK(fg_status(&g) == 11, "clearing status bits ignored");
    CHECK(fg_queue_setup(&g, 0, 8) == 0 && fg_driver_ok(&g) == 0,
          "queue 0 ready, DRIVER_OK");
    struct vdev *d = vmmio_vdev(g.m);
    CHECK(d->acked == (V1 | EV),
          "feature write after FEATURES_OK had no effect");
    CHECK(fg_queue_setup(&g, 1, 8) == -EIO, "queue setup after DRIVER_OK");
    fg_wr(&g, VMMIO_QUEUE_SEL, 0);
    fg_wr(&g, VMMIO_QUEUE_READY, 0);
    fg_wr(&g, VMMIO_QUEUE_NUM, 4);
    CHECK(fg_rd(&g, VMMIO_QUEUE_READY) == 1 && d->vq[0].num == 8,
          "live queue's registers frozen after DRIVER_OK");
    fg_wr(&g, VMMIO_STATUS, 0);
    CHECK(fg_status(&g) == 0 && d->acked == 0, "write 0 resets");
    fg_wr(&g, VMMIO_QUEUE_SEL, 0);
    CHECK(fg_rd(&g, VMMIO_QUEUE_READY) == 0, "reset cleared QueueReady");
    fg_fini(&g);
}

static void test_queue_regs(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    fg_negotiate(&g, V1);
    fg_wr(&g, VMMIO_QUEUE_SEL, NQ);
    CHECK(fg_rd(&g, VMMIO_QUEUE_NUM_MAX) == 0, "QueueNumMax 0 past nqueues");
    fg_wr(&g, VMMIO_QUEUE_SEL, 0xffffffff);
    fg_wr(&g, VMMIO_QUEUE_NUM, 8);
    fg_wr(&g, VMMIO_QUEUE_READY, 1);
    CHECK(fg_rd(&g, VMMIO_QUEUE_READY) == 0 &&
              !(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "QueueSel 0xffffffff: writes ignored, no crash");
    fg_wr(&g, VMMIO_QUEUE_SEL, 0);
    CHECK(fg_rd(&g, VMMIO_QUEUE_NUM_MAX) == 256, "QueueNumMax 256");

    uint64_t c = fg_irq_count(&g.irq);
    CHECK(fg_queue_setup(&g, 0, 512) == -EIO, "QueueNum > max refused");
    CHECK(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET, "... NEEDS_RESET set");
    CHECK(fg_irq_count(&g.irq) == c + 1 &&
              (fg_rd(&g, VMMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG),
          "... with a config-change interrupt");
    fg_negotiate(&g, V1);
    CHECK(!(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET) &&
              fg_rd(&g, VMMIO_INTERRUPT_STATUS) == 0,
          "reset clears NEEDS_RESET and InterruptStatus");
    CHECK(fg_queue_setup(&g, 0, 100) == -EIO, "QueueNum 100 refused");
    fg_negotiate(&g, V1);
    fg_wr(&g, VMMIO_QUEUE_SEL, 1);
    fg_wr(&g, VMMIO_QUEUE_NUM, 8);
    fg_wr(&g, VMMIO_QUEUE_DESC_LOW, 0xfffffff0);
    fg_wr(&g, VMMIO_QUEUE_DESC_HIGH, 0xffffffff);
    fg_wr(&g, VMMIO_QUEUE_READY, 1);
    CHECK(fg_rd(&g, VMMIO_QUEUE_READY) == 0 &&
              (fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "ring at 2^64-16 refused with NEEDS_RESET");
    fg_negotiate(&g, V1);
    fg_wr(&g, VMMIO_QUEUE_SEL, 1);
    fg_wr(&g, VMMIO_QUEUE_NUM, 8);
    fg_wr(&g, VMMIO_QUEUE_READY, 1); /* all addresses 0: below RAM */
    CHECK(fg_rd(&g, VMMIO_QUEUE_READY) == 0, "ring at GPA 0 refused");
    fg_wr(&g, VMMIO_QUEUE_NOTIFY, 999);
    uint64_t kicked = 0, cnt;
    for (unsigned q = 0; q < NQ; q++)
        if (read(vmmio_kick_fd(g.m, q), &cnt, 8) == 8)
            kicked += cnt;
    CHECK(kicked == 0 && vmmio_kick_fd(g.m, NQ) == -EINVAL,
          "QueueNotify 999 kicks no queue");
    fg_fini(&g);
}

static void test_config_and_isr(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    for (int i = 0; i < ECHO_CFG_SIZE; i++)
        e.cfg[i] = 0x10 + i;
    uint8_t b = 0;
    vmmio_access(g.m, VMMIO_CONFIG + 3, &b, 1, false);
    CHECK(b == 0x13, "config byte read");
    uint32_t w = 0;
    vmmio_access(g.m, VMMIO_CONFIG + 12, &w, 4, false);
    CHECK(w == 0x1f1e1d1c, "config 32-bit read");
    w = 0x12345678;
    vmmio_access(g.m, VMMIO_CONFIG + 14, &w, 4, false);
    CHECK(w == 0, "config read straddling the end reads 0");
    uint64_t q = 1;
    vmmio_access(g.m, VMMIO_CONFIG + 0xf8, &q, 8, false);
    CHECK(q == 0, "config read far past the end reads 0");
    w = 0xaabbccdd;
    vmmio_access(g.m, VMMIO_CONFIG + 14, &w, 4, true);
    CHECK(e.cfg[14] == 0x1e && e.cfg[15] == 0x1f,
          "config write past the end ignored");
    vmmio_access(g.m, VMMIO_CONFIG + 4, &w, 4, true);
    CHECK(e.cfg[4] == 0xdd, "config write inside lands");
    CHECK(vmmio_access(g.m, VMMIO_WINDOW, &w, 4, false) < 0,
          "access past the window is not claimed");

    /* ISR: reading never clears; ACK clears only acked bits. */
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 0, 8);
    fg_driver_ok(&g);
    uint64_t buf = fg_alloc(&g, 64, 16);
    struct fg_seg s[2] = { { buf, 4, false }, { buf + 8, 4, true } };
    uint64_t c = fg_irq_count(&g.irq);
    fg_post(&g, 0, s, 2, false);
    fg_kick(&g, 0);
    CHECK(fg_irq_wait(&g.irq, c) == 0, "used-buffer interrupt arrived");
    uint32_t isr1 = fg_rd(&g, VMMIO_INTERRUPT_STATUS);
    uint32_t isr2 = fg_rd(&g, VMMIO_INTERRUPT_STATUS);
    CHECK(isr1 == VIRTIO_ISR_VRING && isr2 == isr1,
          "InterruptStatus bit 0, not cleared by reading");
    /* Force a config interrupt too: a ring error -> NEEDS_RESET. */
    struct fg_queue *fq = &g.q[0];
    c = fg_irq_count(&g.irq);
    __atomic_store_n(&fq->a->idx, (uint16_t)(fq->avail_idx + 100),
                     __ATOMIC_RELEASE);
    fg_kick(&g, 0);
    CHECK(fg_irq_wait(&g.irq, c) == 0 &&
              fg_rd(&g, VMMIO_INTERRUPT_STATUS) == 3,
          "bad avail index: config interrupt, ISR 3");
    CHECK(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET,
          "bad avail index: NEEDS_RESET");
    fg_wr(&g, VMMIO_INTERRUPT_ACK, VIRTIO_ISR_VRING);
    CHECK(fg_rd(&g, VMMIO_INTERRUPT_STATUS) == VIRTIO_ISR_CONFIG,
          "ACK of bit 0 leaves bit 1");
    uint32_t gen = fg_rd(&g, VMMIO_CONFIG_GENERATION);
    CHECK(gen != 0, "ConfigGeneration moved with the config interrupt");
    fg_fini(&g);
}

static void test_kick_before_driver_ok(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 0, 8);
    uint64_t buf = fg_alloc(&g, 64, 16);
    *(uint32_t *)fg_host(&g, buf) = 0xfeedf00d;
    struct fg_seg s[2] = { { buf, 4, false }, { buf + 8, 4, true } };
    fg_post(&g, 0, s, 2, false);
    fg_kick(&g, 0);
    CHECK(e.requests == 0 && g.q[0].u->idx == 0,
          "kick before DRIVER_OK: nothing consumed");
    uint64_t c = fg_irq_count(&g.irq);
    fg_driver_ok(&g);
    uint32_t id, len;
    CHECK(fg_irq_wait(&g.irq, c) == 0 && fg_get_used(&g, 0, &id, &len) == 1 &&
              len == 4 && *(uint32_t *)fg_host(&g, buf + 8) == 0xfeedf00d,
          "... served once DRIVER_OK is set");
    fg_fini(&g);
}

static void test_bad_chain_keeps_device(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    fg_negotiate(&g, V1 | IND);
    fg_queue_setup(&g, 0, 8);
    fg_driver_ok(&g);
    uint64_t buf = fg_alloc(&g, 64, 16);
    struct fg_seg s[2] = { { buf, 4, false }, { buf + 8, 4, true } };
    int h = fg_post(&g, 0, s, 2, false);
    g.q[0].d[g.q[0].d[h].next].flags |= VRING_DESC_F_NEXT;
    g.q[0].d[g.q[0].d[h].next].next = h; /* loop back to the head */
    uint64_t c = fg_irq_count(&g.irq);
    fg_kick(&g, 0);
    uint32_t id, len;
    CHECK(fg_irq_wait(&g.irq, c) == 0 && fg_get_used(&g, 0, &id, &len) == 1 &&
              id == (uint32_t)h && len == 0,
          "looping chain failed alone (used len 0)");
    CHECK(vmmio_vdev(g.m)->vq[0].st.errors == 1 &&
              !(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "error counted, device still running");
    g.q[0].d[g.q[0].d[h].next].flags &= ~VRING_DESC_F_NEXT;
    c = fg_irq_count(&g.irq);
    fg_post(&g, 0, s, 2, true);
    fg_kick(&g, 0);
    CHECK(fg_irq_wait(&g.irq, c) == 0 && fg_get_used(&g, 0, &id, &len) == 1 &&
              len == 4, "next (indirect) request served");
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    vmmio_stats_print(g.m, f);
    fclose(f);
    CHECK(strstr(out, "virtio echo q0: kicks 2 irqs 2") &&
              strstr(out, "chains 2 bytes 4 errors 1"),
          "stats line: %.*s", (int)strcspn(out, "\n"), out);
    free(out);
    fg_fini(&g);
}

static unsigned count_threads(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/task");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* vmmio_set_inline: no worker threads; the caller's vmmio_serve does a
 * worker's round (the fuzzers' deterministic mode). */
static void test_inline_serve(void)
{
    struct fake_guest g;
    int fd;
    new_guest(&g, false);
    vmmio_set_inline(g.m, true);
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 0, 8);
    CHECK(vmmio_serve(g.m, 0, &fd) == -EINVAL && fd == -1,
          "inline: serving before DRIVER_OK refused");
    unsigned threads = count_threads();
    fg_driver_ok(&g);
    CHECK(count_threads() == threads, "inline: DRIVER_OK starts no thread");
    CHECK(vmmio_serve(g.m, 1, &fd) == -EINVAL,
          "inline: a queue the driver did not set up is refused");
    CHECK(vmmio_serve(g.m, NQ, &fd) == -EINVAL, "inline: no queue %d", NQ);
    uint64_t buf = fg_alloc(&g, 64, 16);
    *(uint32_t *)fg_host(&g, buf) = 0x5eed1234;
    struct fg_seg s[2] = {{buf, 4, false}, {buf + 8, 4, true}};
    uint64_t c = fg_irq_count(&g.irq);
    fg_post(&g, 0, s, 2, false);
    fg_kick(&g, 0);
    CHECK(e.requests == 0 && g.q[0].u->idx == 0 && fg_irq_count(&g.irq) == c,
          "inline: no worker thread serves the kick");
    CHECK(vmmio_serve(g.m, 0, &fd) == 0 && fd == -1,
          "inline: one round, nothing left, no backend fd");
    uint32_t id, len;
    CHECK(fg_irq_count(&g.irq) == c + 1 && fg_get_used(&g, 0, &id, &len) == 1 &&
              len == 4 && *(uint32_t *)fg_host(&g, buf + 8) == 0x5eed1234 &&
              vmmio_vdev(g.m)->vq[0].st.kicks == 1,
          "inline: served on this thread, interrupt raised, kick counted");
    g.q[0].a->ring[g.q[0].avail_idx & 7] = 200; /* head past the table */
    __atomic_store_n(&g.q[0].a->idx, ++g.q[0].avail_idx, __ATOMIC_RELEASE);
    CHECK(vmmio_serve(g.m, 0, &fd) == 0 &&
              (fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "inline: a broken ring sets NEEDS_RESET");
    fg_fini(&g);
}

/* A driver that breaks its device and resets it in a loop gets a few
 * warnings a minute, not one per loop; every occurrence is counted. */
static void test_needs_reset_flood(void)
{
    struct fake_guest g;
    new_guest(&g, false);
    struct stderr_capture cap;
    stderr_capture_begin(&cap);
    int flagged = 0;
    for (int i = 0; i < 10000; i++) {
        fg_wr(&g, VMMIO_STATUS, 0);
        fg_wr(&g, VMMIO_QUEUE_SEL, 0);
        fg_wr(&g, VMMIO_QUEUE_NUM, 3); /* not a power of two */
        fg_wr(&g, VMMIO_QUEUE_READY, 1);
        flagged += !!(fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET);
    }
    int lines;
    free(stderr_capture_end(&cap, &lines));
    CHECK(flagged == 10000, "every bad setup raised NEEDS_RESET (%d)",
          flagged);
    /* One window, or two if the test straddles a minute boundary. */
    CHECK(lines >= 1 && lines <= 2 * VDEV_RESET_LOG_BURST,
          "10000 resets of a broken device: %d warning lines", lines);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    vmmio_stats_print(g.m, f);
    fclose(f);
    CHECK(strstr(out, "virtio echo: needs-reset 10000\n"),
          "--stats counts them all");
    free(out);
    fg_fini(&g);
}

static void *reset_thread(void *arg)
{
    fg_reset(arg);
    return NULL;
}

static void test_reset_in_flight(void)
{
    struct fake_guest g;
    int gate[2];
    if (pipe(gate))
        abort();
    new_guest(&g, false);
    e.gate_fd = gate[0];
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 0, 8);
    fg_driver_ok(&g);
    uint64_t buf = fg_alloc(&g, 64, 16);
    struct fg_seg s[2] = { { buf, 4, false }, { buf + 8, 4, true } };
    fg_post(&g, 0, s, 2, false);
    struct vring_used *u = g.q[0].u;
    fg_kick(&g, 0);
    while (!atomic_load_explicit(&e.started, memory_order_seq_cst))
        usleep(1000); /* the worker is now inside the request */
    pthread_t t;
    pthread_create(&t, NULL, reset_thread, &g);
    if (write(gate[1], "x", 1) != 1)
        abort();
    pthread_join(t, NULL);
    CHECK(fg_status(&g) == 0, "reset with a request in flight returned");
    CHECK(e.requests == 1 && u->idx == 1,
          "the in-flight request was finished, not cancelled");
    e.gate_fd = -1;
    close(gate[0]);
    close(gate[1]);

    /* Many queues busy, reset from another thread, then run again. */
    for (int round = 0; round < 20; round++) {
        fg_negotiate(&g, V1 | EV | IND);
        for (unsigned q = 0; q < NQ; q++)
            fg_queue_setup(&g, q, 64);
        fg_driver_ok(&g);
        uint64_t b0 = fg_alloc(&g, 16 * NQ, 16);
        for (unsigned q = 0; q < NQ; q++) {
            uint64_t b = b0 + 16 * q; /* one buffer per queue's worker */
            struct fg_seg ss[2] = { { b, 4, false }, { b + 8, 4, true } };
            while (fg_post(&g, q, ss, 2, round & 1) >= 0)
                ;
            fg_kick(&g, q);
        }
        pthread_create(&t, NULL, reset_thread, &g);
        pthread_join(t, NULL);
        g.brk = 0x1000 + 4096;
    }
    CHECK(fg_status(&g) == 0, "20 resets while all queues were busy");
    uint64_t before = e.requests;
    fg_negotiate(&g, V1);
    fg_queue_setup(&g, 0, 8);
    fg_post(&g, 0, s, 2, false);
    fg_kick(&g, 0);
    CHECK(e.requests == before, "no worker runs after reset");
    uint64_t c = fg_irq_count(&g.irq);
    fg_driver_ok(&g);
    uint32_t id, len;
    CHECK(fg_irq_wait(&g.irq, c) == 0 && fg_get_used(&g, 0, &id, &len) == 1,
          "device works again after the resets");
    fg_fini(&g);
}

static void test_legacy_io(void)
{
    struct fake_guest g;
    new_guest(&g, true);
    CHECK(fg_negotiate(&g, EV | IND) == 0, "legacy negotiate");
    CHECK(fg_queue_setup(&g, 0, 16) == 0, "legacy QueuePFN accepted");
    CHECK(fg_driver_ok(&g) == 0, "legacy DRIVER_OK without FEATURES_OK");
    uint64_t buf = fg_alloc(&g, 64, 16);
    *(uint32_t *)fg_host(&g, buf) = 0x1e9ac7;
    struct fg_seg s[2] = { { buf, 4, false }, { buf + 8, 4, true } };
    uint64_t c = fg_irq_count(&g.irq);
    fg_post(&g, 0, s, 2, true);
    fg_kick(&g, 0);
    uint32_t id, len;
    CHECK(fg_irq_wait(&g.irq, c) == 0 && fg_get_used(&g, 0, &id, &len) == 1 &&
              *(uint32_t *)fg_host(&g, buf + 8) == 0x1e9ac7,
          "legacy ring echoes an indirect request");
    fg_wr(&g, VMMIO_QUEUE_SEL, 0);
    fg_wr(&g, VMMIO_QUEUE_PFN, 0);
    CHECK(fg_rd(&g, VMMIO_QUEUE_PFN) != 0,
          "legacy QueuePFN write after DRIVER_OK ignored");
    fg_negotiate(&g, 0);
    fg_wr(&g, VMMIO_GUEST_PAGE_SIZE, 4096);
    fg_wr(&g, VMMIO_QUEUE_SEL, 0);
    fg_wr(&g, VMMIO_QUEUE_NUM, 16);
    fg_wr(&g, VMMIO_QUEUE_PFN, 0xffffffff);
    CHECK(fg_rd(&g, VMMIO_QUEUE_PFN) == 0 &&
              (fg_status(&g) & VIRTIO_STATUS_NEEDS_RESET),
          "legacy PFN beyond RAM refused with NEEDS_RESET");
    fg_negotiate(&g, 0);
    fg_wr(&g, VMMIO_GUEST_PAGE_SIZE, 3000);
    CHECK(fg_queue_setup(&g, 0, 16) == -EIO,
          "legacy GuestPageSize 3000 refused");
    fg_fini(&g);
}

/* Stress: one driver thread per queue, thousands of requests each. */
#define PER_Q 5000
struct drv {
    struct fake_guest *g;
    unsigned qi;
    bool indirect;
    uint64_t bufs;
    uint32_t cookie[256];
    uint8_t seen[PER_Q];
    int err;
};

static void *drive(void *arg)
{
    struct drv *v = arg;
    struct fake_guest *g = v->g;
    uint32_t posted = 0, done = 0, num = g->q[v->qi].num;
    while (done < PER_Q && !v->err) {
        /* Write a buffer only when the post will succeed: the slot may
         * belong to a request still in flight otherwise. */
        while (posted < PER_Q &&
               g->q[v->qi].nfree >= (v->indirect ? 1u : 2u)) {
            uint64_t b = v->bufs + (uint64_t)(posted % num) * 16;
            *(uint32_t *)fg_host(g, b) = posted;
            struct fg_seg s[2] = { { b, 4, false }, { b + 8, 4, true } };
            int h = fg_post(g, v->qi, s, 2, v->indirect);
            if (h < 0)
                break;
            v->cookie[h] = posted++;
        }
        fg_kick_if_needed(g, v->qi);
        uint32_t id, len;
        int got = 0, r;
        while ((r = fg_get_used(g, v->qi, &id, &len)) > 0) {
            uint32_t ck = v->cookie[id];
            uint64_t b = v->bufs + (uint64_t)(ck % num) * 16;
            if (len != 4 || *(uint32_t *)fg_host(g, b + 8) != ck ||
                ck >= PER_Q)
v->err = -EBADMSG;
            else
                v->seen[ck]++;
            done++;
            got++;
        }
        if (r < 0)
            v->err = r;
        if (!got && !v->err) {
            uint64_t c = fg_irq_count(&g->irq);
            if (!fg_enable_irq(g, v->qi) && fg_irq_wait(&g->irq, c))
                v->err = -ETIMEDOUT; /* a lost interrupt */
        }
    }
    return NULL;
}

static void stress(bool event_idx)
{
    struct fake_guest g;
    static struct drv v[NQ];
    pthread_t t[NQ];
    new_guest(&g, false);
    fg_negotiate(&g, V1 | IND | (event_idx ? EV : 0));
    for (unsigned q = 0; q < NQ; q++)
        fg_queue_setup(&g, q, q & 1 ? 256 : 16);
    fg_driver_ok(&g);
    for (unsigned q = 0; q < NQ; q++) {
        memset(&v[q], 0, sizeof(v[q]));
        v[q] = (struct drv){ .g = &g, .qi = q, .indirect = q >= 2,
                             .bufs = fg_alloc(&g, 256 * 16, 16) };
        pthread_create(&t[q], NULL, drive, &v[q]);
    }
    int bad = 0;
    for (unsigned q = 0; q < NQ; q++) {
        pthread_join(t[q], NULL);
        bad |= v[q].err;
        unsigned once = 0;
        for (unsigned i = 0; i < PER_Q; i++)
            once += v[q].seen[i] == 1;
        bad |= once != PER_Q;
        if (v[q].err || once != PER_Q)
            DIAG("q%u: err %d, %u of %d seen once", q, v[q].err, once,
                 PER_Q);
    }
    CHECK(bad == 0, "%s: %d queues x %d requests, each completion seen once",
          event_idx ? "event_idx" : "flags", NQ, PER_Q);
    uint64_t irqs = 0, sup = 0, kicks = 0;
    for (unsigned q = 0; q < NQ; q++) {
        irqs += vmmio_vdev(g.m)->vq[q].st.irqs;
        sup += vmmio_vdev(g.m)->vq[q].st.irqs_suppressed;
        kicks += vmmio_vdev(g.m)->vq[q].st.kicks;
    }
    CHECK(fg_irq_count(&g.irq) == irqs && irqs <= NQ * PER_Q,
          "no interrupt storm: %llu interrupts for %d completions",
          (unsigned long long)irqs, NQ * PER_Q);
    DIAG("irqs %llu suppressed %llu kicks %llu", (unsigned long long)irqs,
         (unsigned long long)sup, (unsigned long long)kicks);
    fg_fini(&g);
}

int main(void)
{
    if (getenv("KVMINI_DEBUG_VIRTIO"))
        log_cats = LOG_CAT_VIRTIO;
    test_ident();
    test_debug_log();
    test_status_machine();
    test_queue_regs();
    test_config_and_isr();
    test_kick_before_driver_ok();
    test_bad_chain_keeps_device();
    test_inline_serve();
    test_needs_reset_flood();
    test_reset_in_flight();
    test_legacy_io();
    stress(true);
    stress(false);
    return tap_done();
}
