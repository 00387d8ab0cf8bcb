/* SPDX-License-Identifier: MIT */
/*
 * The reset vector: a few bytes at F000:FFF0 (LAYOUT_RESET_VECTOR), where a
 * PC's BIOS restarts the machine and where Linux's last-resort reboot jumps
 * in real mode. Written once at setup, before the vCPUs start; see
 * docs/machine.md ("Reboot").
 */
#ifndef KVMINI_ARCH_X86_RESETVEC_H
#define KVMINI_ARCH_X86_RESETVEC_H

#include "hw/gmem.h"

/* Write the reset vector into guest RAM: 0, or -EFAULT if RAM does not
 * cover it. */
int resetvec_install(const struct gmem *mem);

#endif
