// SPDX-License-Identifier: MIT
/*
 * kvm-hold: keeps one idle VM open in the rig's L1 for the whole run, so
 * that the L2 VMMs' own VMs stop flipping L1's KVM static keys.
 *
 * Why: L1's kernel live-patches its text (int3, sync, write) whenever a
 * static key goes 0 -> 1 or 1 -> 0, and KVM holds three of them while any
 * VM or vCPU exists: preempt_notifier_key (its branches sit in __schedule),
 * apic_sw_disabled and apic_hw_disabled. Under QEMU's multi-threaded TCG
 * such a patch sometimes never completes and freezes L1: most of the
 * rig's stalls came within 2 s of an L2 VMM's start (docs/linux-rig.md,
 * "Stalls"). With this VM alive, each key stays at one or more, so an L2
 * boot patches nothing.
 *
 * The VM gets an in-kernel irqchip and one vCPU whose local APIC is left
 * software-disabled (as at reset) and is then hardware-disabled through
 * IA32_APIC_BASE: that takes one reference on each APIC key. The vCPU
 * never runs. Prints one line, then sleeps until L1 powers off.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ull

static int fail(const char *what)
{
    printf("RIG-L1: kvm-hold fail %s: %s\n", what, strerror(errno));
    return 1;
}

int main(void)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entry;
    } msrs;
    int kvm, vm, vcpu;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return fail("open /dev/kvm");
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return fail("KVM_CREATE_VM");
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
        return fail("KVM_CREATE_IRQCHIP");
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.entry.index = MSR_IA32_APICBASE;
    msrs.entry.data = APIC_DEFAULT_BASE; /* the enable bit (11) clear */
    if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1) {
        if (errno == 0)
            errno = EINVAL;
        return fail("KVM_SET_MSRS IA32_APIC_BASE");
    }
    printf("RIG-L1: kvm-hold ok pid=%d\n", getpid());
    fflush(stdout);
    for (;;)
        pause();
}
