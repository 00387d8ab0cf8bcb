/* SPDX-License-Identifier: MIT */
/*
 * A mergeable RX frame reaches the driver whole (§5.1.6.4.2): every
 * used->idx store the RX worker makes must end on a frame boundary.
 * Linux's receive_mergeable() takes a head whose num_buffers entries
 * are not all used yet as an error, drops it, then parses the rest of
 * the frame's buffers as frames of their own. The linker's --wrap
 * (tests/unit/net_rxpub.mk) puts a check behind each store, in the
 * worker's own thread, so the test sees every store, not a sample.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/net_rig.h"
#include "tests/unit/tap.h"
#include "virtio/mmio.h"
#include "virtio/vdev.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define NF(x) VIRTIO_BIT(VIRTIO_NET_F_##x)

void __real_vq_publish(struct vq *q);
void __real_vq_push(struct vq *q, uint16_t head, uint32_t written);
void __real_vq_fail(struct vq *q, uint16_t head, int err);

/* What the wrappers watch: set while a NIC is up, read by its worker. */
static struct net_rig *watched_rig;
static struct vq *watched;
static uint16_t seen;    /* used entries checked so far */
static uint32_t owed;    /* entries the current frame still needs */
static unsigned stores;  /* used->idx stores checked */
static unsigned partial; /* stores that ended inside a frame */
static unsigned frames;  /* frame heads seen */

/* Walk what the store just published: each head's num_buffers says
 * how many entries its frame takes; a store must not split one. */
static void check_store(struct vq *q)
{
    if (q != __atomic_load_n(&watched, __ATOMIC_SEQ_CST))
        return;
    uint16_t idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
    stores++;
    while (seen != idx) {
        const struct vring_used_elem *e = &q->used->ring[seen & (q->num - 1)];
        seen++;
        if (owed) {
            owed--;
            continue;
        }
        frames++;
        if (e->len == 0 || e->id >= 256)
            continue; /* a failed chain: an entry of its own */
        const uint8_t *b =
            fg_host(&watched_rig->g, watched_rig->rxbuf[0][e->id]);
        uint16_t nb;
        memcpy(&nb, b + 10, sizeof(nb));
        owed = nb ? nb - 1u : 0;
    }
    if (owed)
        partial++;
}

void __wrap_vq_publish(struct vq *q)
{
    __real_vq_publish(q);
    check_store(q);
}

void __wrap_vq_push(struct vq *q, uint16_t head, uint32_t written)
{
    __real_vq_push(q, head, written);
    check_store(q);
}

void __wrap_vq_fail(struct vq *q, uint16_t head, int err)
{
    __real_vq_fail(q, head, err);
    check_store(q);
}

static uint8_t frame[70000], got[70000];

static size_t mkframe(uint32_t hdr_len, size_t flen, unsigned seed)
{
    uint8_t mac[6];
    vnet_default_mac("test", 0, mac);
    memset(frame, 0, hdr_len);
    uint8_t *e = frame + hdr_len;
    memcpy(e, mac, 6);
    memset(e + 6, 0x02, 6);
    e[12] = 0x88;
    e[13] = 0xb5;
    for (size_t i = 14; i < flen; i++)
        e[i] = (uint8_t)(seed * 13 + i * 5 + i / 251);
    return hdr_len + flen;
}

/* One NIC with chains of size bytes in nseg descriptors; frames of
 * every size from 60 bytes to max in steps, each checked on arrival. */
static void run(const char *what, uint64_t feat, unsigned caps, uint32_t mtu,
                uint32_t size, unsigned nseg, size_t max, size_t step)
{
    struct net_rig r;
    struct vnet *n;
    int peer;
    if (nr_sock_vnet(&n, &peer, 1, caps, mtu) ||
        nr_up(&r, n, V1 | NF(MRG_RXBUF) | NF(MTU) | feat, 256, false))
        abort();
    watched_rig = &r;
    seen = 0;
    owed = stores = partial = frames = 0;
    __atomic_store_n(&watched, &vmmio_vdev(r.g.m)->vq[nr_rxq(0)],
                     __ATOMIC_SEQ_CST);
    if (nr_rx_post(&r, 0, 250 / nseg, size, nseg)) /* 256 descriptors */
        abort();
    unsigned sent = 0, bad = 0, multi = 0;
    for (size_t flen = 60; flen <= max; flen += step, sent++) {
        size_t len = mkframe(r.hdr_len, flen, (unsigned)flen);
        unsigned nb = 0;
        if (send(peer, frame, len, 0) != (ssize_t)len ||
            nr_rx_frame(&r, 0, got, sizeof(got), &nb) != (int)len ||
            memcmp(got + r.hdr_len, frame + r.hdr_len, flen))
            bad++;
        multi += nb > 1;
    }
    nr_down(&r); /* joins the worker: the counters are final */
    __atomic_store_n(&watched, NULL, __ATOMIC_SEQ_CST);
    CHECK(bad == 0 && multi > 0,
          "%s: %u frames intact, %u over several buffers", what, sent, multi);
    CHECK(partial == 0 && frames == sent && stores > 0,
          "%s: %u used->idx stores, none inside a frame (%u did), %u heads",
          what, stores, partial, frames);
    vnet_destroy(n);
    close(peer);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    run("256-byte buffers", 0, 0, 9000, 256, 1, 9018, 97);
    run("1536-byte buffers in 3 descriptors", 0, 0, 9000, 1536, 3, 9018, 211);
    /* GUEST_TSO4: 64 KiB frames over 1536-byte buffers, as Linux posts. */
    run("64 KiB frames", NF(GUEST_CSUM) | NF(GUEST_TSO4),
        TAP_F_CSUM | TAP_F_TSO4, 1500, 1536, 1, 65535, 4099);
    return tap_done();
}
