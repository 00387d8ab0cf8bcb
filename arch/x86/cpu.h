/* SPDX-License-Identifier: MIT */
/*
 * x86 vCPU setup: CPUID per vCPU, the local APIC's LINT pins, and the
 * boot vCPU's 64-bit entry state (GDT, identity-mapped page tables,
 * registers) as the Linux 64-bit boot protocol requires. Application
 * processors are left for the guest to start with INIT/SIPI.
 *
 * Called on the main thread before the vCPU threads start.
 */
#ifndef KVMINI_ARCH_X86_CPU_H
#define KVMINI_ARCH_X86_CPU_H

#include <stdint.h>

struct kvm_vm;
struct vcpu;

/* CPUID (from KVM_GET_SUPPORTED_CPUID, APIC id = vCPU index) and LAPIC
 * LINT0=ExtINT / LINT1=NMI, as a PC's BIOS leaves them. */
int cpu_setup(struct kvm_vm *vm, struct vcpu *v, unsigned ncpus);

/* Boot vCPU: page tables and GDT in guest RAM, then long mode at entry
 * with RSI = zero page. */
int cpu_setup_boot(struct kvm_vm *vm, struct vcpu *v, uint64_t entry,
                   uint64_t zero_page);

#endif
