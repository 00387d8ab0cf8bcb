/* SPDX-License-Identifier: MIT */
/*
 * kvmini's real virtio-serial device (virtio/serial*.c, its transport
 * and workers) behind the guest's MMIO accessors (TG_HOST_IO), for the
 * host-side test of the guest's vport driver: guest RAM is the test's
 * own memory (gpa == host address), each port is on a pair of pipes.
 * Plain types only: the guest's headers and kvmini's both name a
 * struct vq and a struct vdev, so each side includes its own.
 */
#ifndef TG_HOST_VSER_BRIDGE_H
#define TG_HOST_VSER_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#define VB_BASE 0xd0000000ULL
#define VB_PORTS 8

/* A device at VB_BASE with named ports 1..n (names[i] is port i + 1)
 * and, with console, port 0 as a console; [ram, ram + len) is what the
 * device may touch. 0 or -errno. */
int vb_create(uint64_t ram, uint64_t len, const char *const *names, unsigned n,
              bool console);
/* The host's ends of port id: write to in, read from out (nonblocking). */
int vb_in(unsigned id);
int vb_out(unsigned id);
/* Interrupts the device raised so far. */
uint64_t vb_irqs(void);
void vb_destroy(void);

#endif
