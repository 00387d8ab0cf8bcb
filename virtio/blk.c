/* SPDX-License-Identifier: MIT */
/* virtio-blk: options, creation, config space, counters. */
#define LOG_TAG "vblk"
#include "virtio/blk.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/kvopt.h"
#include "hw/log.h"
#include "virtio/blk_priv.h"

/* The config struct ends at 60 bytes; sizeof rounds it up to 64. */
#define VBLK_CFG_SIZE (offsetof(struct virtio_blk_config, unused1) + 3)
_Static_assert(VBLK_CFG_SIZE == 60, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "blk_size");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "mq");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36,
               "discard");

/* ---- options ---------------------------------------------------------- */

int vblk_parse(const char *spec, struct vblk_config *cfg, char *err,
               size_t errlen)
{
    static const struct kvopt_key keys[] = {
        {"path", KVOPT_STR, offsetof(struct vblk_config, path), PATH_MAX, 0, 0},
        {"ro", KVOPT_BOOL, offsetof(struct vblk_config, ro), 0, 0, 0},
        {"serial", KVOPT_STR, offsetof(struct vblk_config, serial),
         VIRTIO_BLK_ID_BYTES + 1, 0, 0},
        {"queues", KVOPT_U32, offsetof(struct vblk_config, queues), 0, 1,
         VBLK_MAX_QUEUES},
        {"direct", KVOPT_BOOL, offsetof(struct vblk_config, direct), 0, 0, 0},
        {"discard", KVOPT_BOOL, offsetof(struct vblk_config, discard), 0, 0, 0},
        {0},
    };
    *cfg = (struct vblk_config){.discard = true};
    uint64_t given = 0;
    int r = kvopt_parse(spec, keys, "path", cfg, &given, err, errlen);
    if (r < 0)
        return r;
    if (!(given & 1))
        return errbuf_set(err, errlen, -EINVAL,
                          "no image path: the first item is the path "
                          "(PATH[,ro][,serial=ID]...)");
    for (const char *c = cfg->serial; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return errbuf_set(err, errlen, -EINVAL,
                              "'serial=%s': use printable ASCII", cfg->serial);
    return 0;
}

/* ---- create ------------------------------------------------------------ */

/* Default serial: the image's name (up to 11 safe characters), '-', and
 * a hash of its full path, so it is stable across runs and two images
 * with the same name in different directories still differ. */
static void derive_serial(const char *path, char out[VIRTIO_BLK_ID_BYTES])
{
    char full[PATH_MAX];
    const char *p = realpath(path, full) ? full : path;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = p; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    const char *base = strrchr(p, '/');
    base = base && base[1] ? base + 1 : p;
    char name[12];
    size_t n = 0;
    for (const char *c = base; *c && n < sizeof(name) - 1; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
                  *c == '-';
        name[n++] = ok ? *c : '_';
    }
    name[n] = '\0';
    char s[VIRTIO_BLK_ID_BYTES + 1];
    snprintf(s, sizeof(s), "%s-%08x", name, h);
    memset(out, 0, VIRTIO_BLK_ID_BYTES);
    memcpy(out, s, strlen(s));
}

static unsigned log2u(uint32_t x)
{
    unsigned e = 0;
    while (x > 1) {
        x >>= 1;
        e++;
    }
    return e;
}

static void fill_config(struct vblk *b, uint32_t nq)
{
    const struct disk *dk = &b->dk;
    b->cfg = (struct virtio_blk_config){
        .capacity = dk->size / VIRTIO_BLK_SECTOR,
        .size_max = VBLK_SIZE_MAX,
        .seg_max = VBLK_SEG_MAX,
        .blk_size = dk->lbs,
        .physical_block_exp = (uint8_t)log2u(dk->pbs / dk->lbs),
        .min_io_size = (uint16_t)(dk->pbs / dk->lbs),
        .num_queues = (uint16_t)nq,
        .max_discard_sectors = VBLK_DWZ_SECTORS_MAX,
        .max_discard_seg = VBLK_DWZ_SEG_MAX,
        .discard_sector_alignment = dk->pbs / VIRTIO_BLK_SECTOR,
        .max_write_zeroes_sectors = VBLK_DWZ_SECTORS_MAX,
        .max_write_zeroes_seg = VBLK_DWZ_SEG_MAX,
        .write_zeroes_may_unmap = 1,
    };
}

static int vblk_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
    struct vblk *b = d->priv;
    memcpy(buf, (const uint8_t *)&b->cfg + off, len);
    return 0;
}

static void vblk_attach(struct vdev *d)
{
    struct vblk *b = d->priv;
    b->d = d;
}

static uint64_t ld(const _Atomic uint64_t *x)
{
    return atomic_load_explicit(x, memory_order_relaxed);
}

static void vblk_stats_print(const struct vdev *d, FILE *f)
{
    const struct vblk *b = d->priv;
    const struct vblk_stats *s = &b->st;
    fprintf(f,
            "virtio blk %s: reads %llu writes %llu flushes %llu get-id "
            "%llu discards %llu write-zeroes %llu unsupported %llu, "
            "bytes read %llu written %llu, errors %llu (host %llu), "
            "reset waits %llu\n",
            b->path, (unsigned long long)ld(&s->reads),
            (unsigned long long)ld(&s->writes),
            (unsigned long long)ld(&s->flushes),
            (unsigned long long)ld(&s->get_ids),
            (unsigned long long)ld(&s->discards),
            (unsigned long long)ld(&s->zeroes),
            (unsigned long long)ld(&s->unsupported),
            (unsigned long long)ld(&s->bytes_read),
            (unsigned long long)ld(&s->bytes_written),
            (unsigned long long)ld(&s->ioerr),
            (unsigned long long)ld(&s->host_errors),
            (unsigned long long)ld(&s->reset_waits));
}

static void vblk_stats_walk(const struct vdev *d, const struct counter_sink *k)
{
    const struct vblk *b = d->priv;
    const struct vblk_stats *s = &b->st;
    counter_emit(k, "blk", "reads", ld(&s->reads));
    counter_emit(k, "blk", "writes", ld(&s->writes));
    counter_emit(k, "blk", "flushes", ld(&s->flushes));
    counter_emit(k, "blk", "get_ids", ld(&s->get_ids));
    counter_emit(k, "blk", "discards", ld(&s->discards));
    counter_emit(k, "blk", "write_zeroes", ld(&s->zeroes));
    counter_emit(k, "blk", "unsupported", ld(&s->unsupported));
    counter_emit(k, "blk", "bytes_read", ld(&s->bytes_read));
    counter_emit(k, "blk", "bytes_written", ld(&s->bytes_written));
    counter_emit(k, "blk", "errors", ld(&s->ioerr));
    counter_emit(k, "blk", "host_errors", ld(&s->host_errors));
    counter_emit(k, "blk", "reset_waits", ld(&s->reset_waits));
}

int vblk_create_on(struct vblk **out, struct disk *dk,
                   const struct vblk_config *cfg, unsigned ncpus, char *err,
                   size_t errlen)
{
    uint32_t nq = cfg->queues ? cfg->queues : (ncpus ? ncpus : 1);
    if (nq > VBLK_MAX_QUEUES)
        nq = cfg->queues ? 0 : VBLK_MAX_QUEUES;
    if (nq == 0) {
        disk_close(dk);
        return errbuf_set(err, errlen, -ERANGE, "%s: queues=%u: use 1..%u",
                          cfg->path, cfg->queues, VBLK_MAX_QUEUES);
    }
    struct vblk *b = calloc(1, sizeof(*b));
    if (!b) {
        disk_close(dk);
        return errbuf_set(err, errlen, -ENOMEM, "%s: out of memory", cfg->path);
    }
    b->dk = *dk;
    b->sync_io = cfg->sync_io;
    snprintf(b->path, sizeof(b->path), "%s", cfg->path);
    if (cfg->serial[0])
        memcpy(b->serial, cfg->serial,
               strnlen(cfg->serial, VIRTIO_BLK_ID_BYTES));
    else
        derive_serial(cfg->path, b->serial);
    fill_config(b, nq);
    uint64_t f =
        VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
        VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    if (b->dk.ro)
        f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else
        f |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
             (cfg->discard ? VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) : 0);
    b->ops = (struct vdev_ops){
        .name = "blk",
        .device_id = VIRTIO_ID_BLOCK,
        .nqueues = nq,
        .qsize_max = VBLK_QSIZE,
        .cfg_size = VBLK_CFG_SIZE,
        .features = f,
        .cfg_read = vblk_cfg_read,
        .attach = vblk_attach,
        .start = vblk_start,
        .stop = vblk_stop,
        .poll_fd = vblk_poll_fd,
        .process = vblk_process,
        .busy = vblk_busy,
        .stats_print = vblk_stats_print,
        .stats_walk = vblk_stats_walk,
    };
    for (unsigned i = 0; i < VBLK_MAX_QUEUES; i++)
        b->q[i].efd = -1;
    *out = b;
    return 0;
}

int vblk_create(struct vblk **out, const struct vblk_config *cfg,
                unsigned ncpus, char *err, size_t errlen)
{
    struct disk dk;
    unsigned fl = (cfg->ro ? DISK_RO : 0) | (cfg->direct ? DISK_DIRECT : 0);
    int r = disk_open(&dk, cfg->path, fl, err, errlen);
    if (r < 0)
        return r;
    return vblk_create_on(out, &dk, cfg, ncpus, err, errlen);
}

const struct vdev_ops *vblk_ops(const struct vblk *b)
{
    return &b->ops;
}

void vblk_destroy(struct vblk *b)
{
    if (!b)
        return;
    disk_close(&b->dk);
    free(b);
}

const struct vblk_stats *vblk_stats(const struct vblk *b)
{
    return &b->st;
}

bool vblk_uses_uring(const struct vblk *b, unsigned qi)
{
    return qi < VBLK_MAX_QUEUES && b->q[qi].live && b->q[qi].uring;
}
