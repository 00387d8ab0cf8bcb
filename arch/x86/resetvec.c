/* SPDX-License-Identifier: MIT */
/* The reset vector: what a guest that jumps to the BIOS's restart runs. */
#include "arch/x86/resetvec.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

#define RESETVEC_I8042_CMD (LAYOUT_I8042_PORT + 4)
#define RESETVEC_I8042_RESET 0xfe

/*
 * Linux reboots through the BIOS (reboot=b) as its last resort, and first
 * of all on a machine with a hardware-reduced FADT and no EFI, as kvmini's
 * is: reboot_init() then picks EFI, efi_reboot() finds no runtime services
 * and returns, and the next method switches to real mode and jumps to
 * F000:FFF0. kvmini has no BIOS; zeroed RAM there decodes as
 * "add [bx+si],al" forever, a vCPU that never exits again. So these bytes
 * do what a BIOS's restart does for a VM (SeaBIOS pulses the i8042 reset
 * line too): a reset kvmini answers by exiting 0. The three instructions
 * encode the same in 16-, 32- and 64-bit mode.
 */
static const uint8_t resetvec_code[] = {
    0xb0, RESETVEC_I8042_RESET,        /* mov $0xfe, %al */
    0xe6, (uint8_t)RESETVEC_I8042_CMD, /* out %al, $0x64 */
    0xf4,                              /* 1: hlt (the reset came too late) */
    0xeb, 0xfd,                        /* jmp 1b */
};

_Static_assert(RESETVEC_I8042_CMD <= 0xff, "out imm8 needs a port < 256");
_Static_assert(LAYOUT_RESET_VECTOR + sizeof(resetvec_code) <= LAYOUT_HIGH_MEM,
               "the reset vector ends below 1 MiB");
_Static_assert(LAYOUT_ACPI + LAYOUT_ACPI_MAX <= LAYOUT_RESET_VECTOR,
               "the ACPI tables end before the reset vector");

int resetvec_install(const struct gmem *mem)
{
    void *p = gmem_ptr(mem, LAYOUT_RESET_VECTOR, sizeof(resetvec_code));
    if (!p)
        return -EFAULT;
    memcpy(p, resetvec_code, sizeof(resetvec_code));
    return 0;
}
