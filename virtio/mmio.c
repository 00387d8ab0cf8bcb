/* SPDX-License-Identifier: MIT */
/* virtio-mmio registers: status machine, features, queues, interrupts. */
#define LOG_TAG "vmmio"
#include "virtio/mmio.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/log.h"
#include "virtio/mmio_priv.h"
#include "virtio/virtio_spec.h"

static uint64_t offered(const struct vmmio *m)
{
    uint64_t f = m->dev.ops->features | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
                 VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    return m->legacy ? f & 0xffffffffULL : f | VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

static bool qsel_ok(const struct vmmio *m)
{
    return m->queue_sel < m->dev.ops->nqueues;
}

/* Reset (§2.1, §4.2.2.1): stop and join the workers first, so nothing
 * touches the rings once the driver sees Status read 0. */
static void vmmio_reset(struct vmmio *m)
{
    struct vdev *d = &m->dev;
    if (m->running) {
        uint64_t one = 1, v;
        if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
            log_err("%s: stop eventfd: %s", d->ops->name, strerror(errno));
        for (unsigned i = 0; i < d->ops->nqueues; i++)
            vworker_join(&m->w[i]);
        if (read(m->stop_fd, &v, sizeof(v)) < 0)
            v = 0; /* nonblocking: nothing to clear is fine */
        m->running = false;
    }
    if (m->started && d->ops->stop)
        d->ops->stop(d);
    m->started = false;
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        uint64_t v;
        vq_clear(&m->vq[i]);
        m->qr[i] = (struct vmmio_qregs){ 0 };
        /* Drop kicks from the old session; the next DRIVER_OK serves
         * every queue once anyway. */
        if (read(m->kick_fd[i], &v, sizeof(v)) < 0)
            v = 0;
    }
    m->status = 0;
    m->drv_features = 0;
    m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = 0;
    d->acked = 0;
    atomic_store_explicit(&d->isr, 0, memory_order_seq_cst);
    atomic_store_explicit(&d->needs_reset, false, memory_order_seq_cst);
    /* GuestPageSize survives: Linux writes it once at probe, before the
     * reset that starts every driver. */
}

/* Map queue i's rings with the features negotiated so far. */
static int queue_map(struct vmmio *m, unsigned i)
{
    const struct vmmio_qregs *r = &m->qr[i];
    uint64_t f = m->drv_features;
    return vq_setup(&m->vq[i], m->dev.mem, r->num, r->desc, r->driver,
                    r->device, f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
                    f & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
}

static void driver_ok(struct vmmio *m)
{
    struct vdev *d = &m->dev;
    d->acked = m->drv_features;
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        if (m->qr[i].ready && queue_map(m, i) < 0) {
            vdev_needs_reset(d, "queue rings outside guest RAM");
            return;
        }
    }
    if (d->ops->start && d->ops->start(d) < 0) {
        vdev_needs_reset(d, "device failed to start");
        return;
    }
    m->started = true;
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        if (!m->qr[i].ready || m->inline_serve)
            continue;
        int r =
            vworker_start(&m->w[i], d, i, m->kick_fd[i], m->stop_fd, m->gate);
        if (r < 0) {
            vdev_needs_reset(d, "cannot start worker thread");
            break;
        }
        m->running = true;
    }
}

static void status_write(struct vmmio *m, uint32_t v)
{
    uint32_t old = m->status;
    if (v == 0) {
        vmmio_reset(m);
        return;
    }
    v &= ~VIRTIO_STATUS_NEEDS_RESET; /* the device's bit, not the driver's */
    uint32_t add = v & ~old;
    if (old & ~v) {
        log_warn_rl("%s: driver cleared status bits 0x%x; ignored",
                    m->dev.ops->name, old & ~v);
        return;
    }
    if (add & VIRTIO_STATUS_FAILED) {
        m->status = v;
        return;
    }
    /* Each step needs the one before it (§3.1.1). */
    bool bad = ((v & VIRTIO_STATUS_DRIVER) &&
                !(v & VIRTIO_STATUS_ACKNOWLEDGE)) ||
               ((v & VIRTIO_STATUS_FEATURES_OK) &&
                !(v & VIRTIO_STATUS_DRIVER)) ||
               ((v & VIRTIO_STATUS_DRIVER_OK) &&
                !(v & (m->legacy ? VIRTIO_STATUS_DRIVER
                                 : VIRTIO_STATUS_FEATURES_OK)));
    if (bad) {
        log_warn_rl("%s: status 0x%x out of order; ignored",
                    m->dev.ops->name, v);
        return;
    }
    if (add & VIRTIO_STATUS_FEATURES_OK) {
        uint64_t f = m->drv_features;
        if ((f & ~offered(m)) ||
            (!m->legacy && !(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)))) {
            /* Refused: the driver reads Status back without the bit. */
            log_cat(LOG_CAT_VIRTIO, "%s: FEATURES_OK refused (0x%llx)",
                    m->dev.ops->name, (unsigned long long)f);
            m->status = v & ~VIRTIO_STATUS_FEATURES_OK;
            return;
        }
    }
    m->status = v;
    if (add & VIRTIO_STATUS_DRIVER_OK) {
        if (m->drv_features & ~offered(m)) /* legacy has no FEATURES_OK */
            vdev_needs_reset(&m->dev, "driver took features not offered");
        else
            driver_ok(m);
    }
}

static bool features_locked(const struct vmmio *m)
{
    return m->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void set_half(uint64_t *x, bool high, uint32_t v)
{
    if (high)
        *x = (*x & 0xffffffffULL) | ((uint64_t)v << 32);
    else
        *x = (*x & ~0xffffffffULL) | v;
}

static void queue_ready_write(struct vmmio *m, struct vmmio_qregs *r,
                              uint32_t v)
{
    unsigned i = m->queue_sel;
    if (!v) {
        /* Before DRIVER_OK this just withdraws the setup. */
        r->ready = false;
        vq_clear(&m->vq[i]);
        return;
    }
    if (r->ready)
        return;
    if (r->num > m->dev.ops->qsize_max || queue_map(m, i) < 0) {
        vq_clear(&m->vq[i]);
        vdev_needs_reset(&m->dev, "bad queue size or ring address");
        return;
    }
    r->ready = true;
}

/* Legacy QueuePFN: the three parts lie back to back from pfn*pagesize,
 * the used ring at the next QueueAlign boundary (§2.7 legacy layout). */
static void legacy_pfn_write(struct vmmio *m, struct vmmio_qregs *r,
                             uint32_t pfn)
{
    unsigned i = m->queue_sel;
    uint64_t align = r->align ? r->align : 4096;
    r->ready = false;
    r->pfn = 0;
    vq_clear(&m->vq[i]);
    if (!pfn)
        return;
    if (m->page_size == 0 || (m->page_size & (m->page_size - 1)) ||
        (align & (align - 1)) || r->num > m->dev.ops->qsize_max) {
        vdev_needs_reset(&m->dev, "bad legacy page size or alignment");
        return;
    }
    r->desc = (uint64_t)pfn * m->page_size;
    r->driver = r->desc + VRING_DESC_SIZE(r->num);
    r->device = (r->driver + VRING_AVAIL_SIZE(r->num) + align - 1) &
                ~(align - 1);
    if (queue_map(m, i) < 0) {
        vq_clear(&m->vq[i]);
        vdev_needs_reset(&m->dev, "legacy ring outside guest RAM");
        return;
    }
    r->pfn = pfn;
    r->ready = true;
}

static void kick(struct vmmio *m, uint32_t qi)
{
    if (qi >= m->dev.ops->nqueues) {
        log_warn_rl("%s: notify of queue %u ignored", m->dev.ops->name, qi);
        return;
    }
    if (!(m->status & VIRTIO_STATUS_DRIVER_OK))
        log_cat(LOG_CAT_VIRTIO, "%s: kick q%u before DRIVER_OK held",
                m->dev.ops->name, qi);
    /* Same eventfd as the ioeventfd, so trapped and untrapped kicks
     * take one path. */
    uint64_t one = 1;
    if (write(m->kick_fd[qi], &one, sizeof(one)) != sizeof(one))
        log_warn_rl("%s: kick eventfd: %s", m->dev.ops->name,
                    strerror(errno));
}

/* Writes to a queue's registers; ignored once that queue is live. */
static void queue_reg_write(struct vmmio *m, uint64_t off, uint32_t v)
{
    if (!qsel_ok(m)) {
        log_warn_rl("%s: queue register 0x%llx with QueueSel %u ignored",
                    m->dev.ops->name, (unsigned long long)off, m->queue_sel);
        return;
    }
    struct vmmio_qregs *r = &m->qr[m->queue_sel];
    /* Frozen while workers may run: no VIRTIO_F_RING_RESET here. */
    if (m->status & VIRTIO_STATUS_DRIVER_OK) {
        log_warn_rl("%s: queue register 0x%llx after DRIVER_OK ignored",
                    m->dev.ops->name, (unsigned long long)off);
        return;
    }
    if (off == VMMIO_QUEUE_READY && !m->legacy)
        return queue_ready_write(m, r, v);
    if (off == VMMIO_QUEUE_PFN && m->legacy)
        return legacy_pfn_write(m, r, v);
    if (r->ready)
        return;
    switch (off) {
    case VMMIO_QUEUE_NUM: r->num = v; break;
    case VMMIO_QUEUE_ALIGN: r->align = v; break;
    case VMMIO_QUEUE_DESC_LOW: set_half(&r->desc, false, v); break;
    case VMMIO_QUEUE_DESC_HIGH: set_half(&r->desc, true, v); break;
    case VMMIO_QUEUE_DRIVER_LOW: set_half(&r->driver, false, v); break;
    case VMMIO_QUEUE_DRIVER_HIGH: set_half(&r->driver, true, v); break;
    case VMMIO_QUEUE_DEVICE_LOW: set_half(&r->device, false, v); break;
    case VMMIO_QUEUE_DEVICE_HIGH: set_half(&r->device, true, v); break;
    }
}

static void reg_write(struct vmmio *m, uint64_t off, uint32_t v)
{
    switch (off) {
    case VMMIO_DEV_FEATURES_SEL: m->dev_feat_sel = v; break;
    case VMMIO_DRV_FEATURES_SEL: m->drv_feat_sel = v; break;
    case VMMIO_DRV_FEATURES:
        if (!features_locked(m) && m->drv_feat_sel < 2)
            set_half(&m->drv_features, m->drv_feat_sel, v);
        break;
    case VMMIO_GUEST_PAGE_SIZE:
        if (m->legacy)
            m->page_size = v;
        break;
    case VMMIO_QUEUE_SEL: m->queue_sel = v; break;
    case VMMIO_QUEUE_NOTIFY: kick(m, v); break;
    case VMMIO_INTERRUPT_ACK:
        atomic_fetch_and_explicit(&m->dev.isr, ~v, memory_order_seq_cst);
        break;
    case VMMIO_STATUS: status_write(m, v); break;
    case VMMIO_QUEUE_NUM:
    case VMMIO_QUEUE_ALIGN:
    case VMMIO_QUEUE_PFN:
    case VMMIO_QUEUE_READY:
    case VMMIO_QUEUE_DESC_LOW:
    case VMMIO_QUEUE_DESC_HIGH:
    case VMMIO_QUEUE_DRIVER_LOW:
    case VMMIO_QUEUE_DRIVER_HIGH:
    case VMMIO_QUEUE_DEVICE_LOW:
    case VMMIO_QUEUE_DEVICE_HIGH:
        queue_reg_write(m, off, v);
        break;
    default:
        log_warn_rl("%s: write to register 0x%llx ignored", m->dev.ops->name,
                    (unsigned long long)off);
    }
}

static uint32_t reg_read(struct vmmio *m, uint64_t off)
{
    const struct vmmio_qregs *r = qsel_ok(m) ? &m->qr[m->queue_sel] : NULL;
    struct vdev *d = &m->dev;
    switch (off) {
    case VMMIO_MAGIC: return VMMIO_MAGIC_VALUE;
    case VMMIO_VERSION: return m->legacy ? 1 : 2;
    case VMMIO_DEVICE_ID: return d->ops->device_id;
    case VMMIO_VENDOR_ID: return VMMIO_VENDOR_KVMINI;
    case VMMIO_DEV_FEATURES:
        return m->dev_feat_sel < 2 ? offered(m) >> (32 * m->dev_feat_sel)
                                   : 0;
    /* QueueNumMax reads 0 for a queue that does not exist (§4.2.2). */
    case VMMIO_QUEUE_NUM_MAX: return r ? d->ops->qsize_max : 0;
    case VMMIO_QUEUE_READY: return r && !m->legacy ? r->ready : 0;
    case VMMIO_QUEUE_PFN: return r && m->legacy ? r->pfn : 0;
    case VMMIO_INTERRUPT_STATUS:
        return atomic_load_explicit(&d->isr, memory_order_seq_cst);
    case VMMIO_STATUS:
        return m->status |
               (atomic_load_explicit(&d->needs_reset, memory_order_seq_cst)
                    ? VIRTIO_STATUS_NEEDS_RESET
                    : 0);
    /* No shared memory regions: length and base read as all ones. */
    case VMMIO_SHM_LEN_LOW:
    case VMMIO_SHM_LEN_HIGH:
    case VMMIO_SHM_BASE_LOW:
    case VMMIO_SHM_BASE_HIGH: return 0xffffffffu;
    case VMMIO_CONFIG_GENERATION:
        return atomic_load_explicit(&d->cfg_gen, memory_order_seq_cst);
    }
    return 0;
}

static int cfg_access(struct vmmio *m, uint32_t off, void *data, uint32_t len,
                      bool write)
{
    struct vdev *d = &m->dev;
    int r = -EINVAL;
    /* off < 0x100 and len <= 8, so the sum cannot overflow. */
    if (off + len <= d->ops->cfg_size) {
        pthread_mutex_lock(&d->cfg_lock);
        if (!write)
            r = d->ops->cfg_read(d, off, data, len);
        else if (d->ops->cfg_write)
            r = d->ops->cfg_write(d, off, data, len);
        pthread_mutex_unlock(&d->cfg_lock);
    }
    if (r < 0) {
        if (!write)
            memset(data, 0, len);
        log_cat(LOG_CAT_VIRTIO, "%s: config %s at 0x%x+%u refused",
                d->ops->name, write ? "write" : "read", off, len);
    }
    return 0;
}

int vmmio_access(void *opaque, uint64_t off, void *data, uint32_t len,
                 bool write)
{
    struct vmmio *m = opaque;
    if (off >= VMMIO_WINDOW || len == 0 || len > 8)
        return -EINVAL;
    if (off >= VMMIO_CONFIG) {
        if (off + len > VMMIO_WINDOW)
            len = VMMIO_WINDOW - off;
        return cfg_access(m, off - VMMIO_CONFIG, data, len, write);
    }
    /* Registers are 32-bit only (§4.2.2.2). */
    if (len != 4 || (off & 3)) {
        log_warn_rl("%s: %u-byte access to register 0x%llx ignored",
                    m->dev.ops->name, len, (unsigned long long)off);
        if (!write)
            memset(data, 0, len);
        return 0;
    }
    uint32_t v;
    pthread_mutex_lock(&m->lock);
    if (write) {
        memcpy(&v, data, 4);
        reg_write(m, off, v);
    } else {
        v = reg_read(m, off);
        memcpy(data, &v, 4);
    }
    pthread_mutex_unlock(&m->lock);
    log_cat(LOG_CAT_VIRTIO, "%s: %s %s = 0x%x", m->dev.ops->name,
            write ? "write" : "read ", vmmio_reg_name(off), v);
    return 0;
}

int vmmio_create(struct vmmio **out, const struct vdev_ops *ops, void *priv,
                 const struct gmem *mem, struct irq_line *irq, bool legacy)
{
    if (!ops || !ops->process || (ops->cfg_size && !ops->cfg_read) ||
        ops->nqueues == 0 || ops->nqueues > VDEV_MAX_QUEUES ||
        ops->qsize_max == 0 || ops->qsize_max > VQ_MAX_SIZE ||
        (ops->qsize_max & (ops->qsize_max - 1)) ||
        ops->cfg_size > VMMIO_WINDOW - VMMIO_CONFIG)
        return -EINVAL;
    struct vmmio *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->legacy = legacy;
    m->page_size = 4096;
    m->dev = (struct vdev){ .ops = ops, .mem = mem, .irq = irq,
                            .vq = m->vq, .priv = priv };
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->dev.cfg_lock, NULL);
    for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++)
        m->kick_fd[i] = -1;
    int r = -errno;
    m->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->stop_fd < 0) {
        r = -errno;
        goto err;
    }
    for (unsigned i = 0; i < ops->nqueues; i++) {
        m->kick_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (m->kick_fd[i] < 0) {
            r = -errno;
            goto err;
        }
    }
    if (ops->attach)
        ops->attach(&m->dev);
    *out = m;
    return 0;
err:
    vmmio_destroy(m);
    return r;
}

void vmmio_destroy(struct vmmio *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    vmmio_reset(m);
    pthread_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++)
        if (m->kick_fd[i] >= 0)
            close(m->kick_fd[i]);
    if (m->stop_fd >= 0)
        close(m->stop_fd);
    pthread_mutex_destroy(&m->dev.cfg_lock);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

unsigned vmmio_nqueues(const struct vmmio *m)
{
    return m->dev.ops->nqueues;
}

int vmmio_kick_fd(const struct vmmio *m, unsigned qi)
{
    return qi < m->dev.ops->nqueues ? m->kick_fd[qi] : -EINVAL;
}

struct vdev *vmmio_vdev(struct vmmio *m)
{
    return &m->dev;
}

void vmmio_set_gate(struct vmmio *m, struct gate *gate)
{
    pthread_mutex_lock(&m->lock);
    m->gate = gate;
    pthread_mutex_unlock(&m->lock);
}

void vmmio_set_inline(struct vmmio *m, bool on)
{
    pthread_mutex_lock(&m->lock);
    m->inline_serve = on;
    pthread_mutex_unlock(&m->lock);
}

int vmmio_serve(struct vmmio *m, unsigned qi, int *poll_fd)
{
    struct vdev *d = &m->dev;
    *poll_fd = -1;
    if (qi >= d->ops->nqueues)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    bool live = m->inline_serve && m->started && m->qr[qi].ready;
    pthread_mutex_unlock(&m->lock);
    if (!live)
        return -EINVAL;
    /* The rest is one pass of the worker's loop (worker.c), minus the
     * wait: count the kicks, serve, then ask for the backend fd. */
    struct vq *q = &m->vq[qi];
    uint64_t n;
    if (read(m->kick_fd[qi], &n, sizeof(n)) == sizeof(n))
        atomic_fetch_add_explicit(&q->st.kicks, n, memory_order_relaxed);
    int more = q->broken ? 0 : vworker_serve(d, (uint16_t)qi);
    if (!q->broken && d->ops->poll_fd)
        *poll_fd = d->ops->poll_fd(d, (uint16_t)qi);
    if (q->broken) {
        vdev_needs_reset(d, "malformed ring");
        *poll_fd = -1;
        return 0;
    }
    return more;
}

uint64_t vmmio_features(const struct vmmio *m)
{
    return offered(m);
}

uint32_t vmmio_status(const struct vmmio *m)
{
    struct vmmio *w = (struct vmmio *)m; /* the lock, not the state */
    pthread_mutex_lock(&w->lock);
    uint32_t st = m->status;
    pthread_mutex_unlock(&w->lock);
    if (atomic_load_explicit(&m->dev.needs_reset, memory_order_relaxed))
        st |= VIRTIO_STATUS_NEEDS_RESET;
    return st;
}
