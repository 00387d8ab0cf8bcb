/* SPDX-License-Identifier: MIT */
/*
 * Numbers from the virtio 1.2 specification that kvmini uses: virtio-mmio
 * register offsets (§4.2.2, §4.2.4 legacy), device status and feature
 * bits (§2.1, §6), and the split-ring layout (§2.7). Our own definitions,
 * so virtio/ does not depend on the host's <linux/virtio_*.h>.
 * All multi-byte values in guest memory are little-endian (x86 host).
 */
#ifndef KVMINI_VIRTIO_SPEC_H
#define KVMINI_VIRTIO_SPEC_H

#include <stdint.h>

/* virtio-mmio registers: offsets inside the 0x200-byte window. */
#define VMMIO_MAGIC 0x000 /* "virt" */
#define VMMIO_VERSION 0x004 /* 2 modern, 1 legacy */
#define VMMIO_DEVICE_ID 0x008
#define VMMIO_VENDOR_ID 0x00c
#define VMMIO_DEV_FEATURES 0x010
#define VMMIO_DEV_FEATURES_SEL 0x014
#define VMMIO_DRV_FEATURES 0x020
#define VMMIO_DRV_FEATURES_SEL 0x024
#define VMMIO_GUEST_PAGE_SIZE 0x028 /* legacy only */
#define VMMIO_QUEUE_SEL 0x030
#define VMMIO_QUEUE_NUM_MAX 0x034
#define VMMIO_QUEUE_NUM 0x038
#define VMMIO_QUEUE_ALIGN 0x03c /* legacy only */
#define VMMIO_QUEUE_PFN 0x040   /* legacy only */
#define VMMIO_QUEUE_READY 0x044
#define VMMIO_QUEUE_NOTIFY 0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK 0x064
#define VMMIO_STATUS 0x070
#define VMMIO_QUEUE_DESC_LOW 0x080
#define VMMIO_QUEUE_DESC_HIGH 0x084
#define VMMIO_QUEUE_DRIVER_LOW 0x090
#define VMMIO_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_SHM_SEL 0x0ac
#define VMMIO_SHM_LEN_LOW 0x0b0
#define VMMIO_SHM_LEN_HIGH 0x0b4
#define VMMIO_SHM_BASE_LOW 0x0b8
#define VMMIO_SHM_BASE_HIGH 0x0bc
#define VMMIO_CONFIG_GENERATION 0x0fc
#define VMMIO_CONFIG 0x100
#define VMMIO_WINDOW 0x200

#define VMMIO_MAGIC_VALUE 0x74726976u /* "virt" little-endian */
#define VMMIO_VENDOR_KVMINI 0x494d564bu /* "KVMI" */

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* InterruptStatus bits (§4.2.2). */
#define VIRTIO_ISR_VRING 1u
#define VIRTIO_ISR_CONFIG 2u

/* Reserved feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
#define VIRTIO_BIT(b) (1ULL << (b))

/* Device ids (§5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3

/* Split ring (§2.7). The maximum queue size of a split ring is 32768 and
 * it must be a power of two (§2.7: "Queue Size value is always a power
 * of 2"); only packed rings may use other sizes. */
#define VQ_MAX_SIZE 32768u

#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Followed in guest memory by ring[num] and, with EVENT_IDX, used_event. */
struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

/* Followed in guest memory by ring[num] and, with EVENT_IDX, avail_event. */
struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[];
};

/* Byte sizes and alignments of the three parts for a queue of num. */
#define VRING_DESC_SIZE(num) (16ULL * (num))
#define VRING_AVAIL_SIZE(num) (6ULL + 2ULL * (num))
#define VRING_USED_SIZE(num) (6ULL + 8ULL * (num))
#define VRING_DESC_ALIGN 16
#define VRING_AVAIL_ALIGN 2
#define VRING_USED_ALIGN 4

/* virtio-blk (§5.2). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_FLUSH_OUT 5 /* legacy synonym of FLUSH */
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_WZ_F_UNMAP 1u /* discard/write-zeroes segment flag */

/* Request header: the first 16 device-readable bytes of every request. */
struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio; /* "reserved" in virtio 1.x */
    uint64_t sector;
};

/* One range of a DISCARD or WRITE_ZEROES request. */
struct virtio_blk_dwz {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

/* Config space up to write_zeroes_may_unmap: 60 bytes, no holes (sizeof
 * adds tail padding; the device exposes 60). */
struct virtio_blk_config {
    uint64_t capacity; /* 512-byte sectors */
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;
    uint8_t alignment_offset;
    uint16_t min_io_size; /* logical blocks */
    uint32_t opt_io_size; /* logical blocks */
    uint8_t writeback;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
};

/* virtio-console (§5.3). */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#endif
