/* SPDX-License-Identifier: MIT */
/*
 * Kernel command-line announcement of the virtio-mmio transports, for
 * kernels that read neither ACPI nor a device tree: one
 * "virtio_mmio.device=SIZE@ADDR:IRQ" per device (Linux
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). See docs/machine.md for when to
 * use it: a device must be announced by one source only.
 *
 * Pure function; writes only the caller buffer.
 */
#ifndef KVMINI_ARCH_X86_CMDLINE_DEVS_H
#define KVMINI_ARCH_X86_CMDLINE_DEVS_H

#include <stddef.h>

#include "arch/x86/machine.h"

/*
 * Write m->cmdline (NULL counts as "") followed by one
 * " virtio_mmio.device=0x200@0xd0000000:5" per virtio transport into
 * out, NUL-terminated. Returns the string length (without the NUL), or
 * -E2BIG if it does not fit in cap bytes (out is then an empty string
 * if cap > 0), -EINVAL for an invalid machine. cap is typically
 * min(LAYOUT_CMDLINE_MAX, the kernel's cmdline_size + 1).
 */
int cmdline_devs_render(const struct machine *m, char *out, size_t cap);

#endif
