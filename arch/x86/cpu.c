/* SPDX-License-Identifier: MIT */
/* CPUID, LAPIC and 64-bit boot state for kvmini's vCPUs. */
#define LOG_TAG "cpu"
#include "arch/x86/cpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/layout.h"
#include "hw/log.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"

#define CPUID_MAX_ENTRIES 256
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define X86_EFER_LME 0x100ULL
#define X86_EFER_LMA 0x400ULL

#define BOOT_CS 0x10 /* __BOOT_CS as boot.rst requires */
#define BOOT_DS 0x18

static int cpu_ioctl(struct vcpu *v, unsigned long req, void *arg,
                     const char *name)
{
    if (ioctl(v->fd, req, arg) < 0) {
        int e = errno;
        log_err("vcpu%u: %s: %s", v->id, name, strerror(e));
        return -e;
    }
    return 0;
}

#define CPUID_KVM_BASE 0x40000000u
#define CPUID_TIMING 0x40000010u  /* eax TSC kHz, ebx APIC bus kHz */
#define KVM_APIC_BUS_KHZ 1000000u /* KVM's APIC timer ticks at 1 GHz */

/*
 * Tell the guest its TSC frequency in the hypervisor timing leaf, as
 * other VMMs do, so it need not calibrate against the PIT (10 ms of
 * emulated waiting per boot on our machines). No-op if KVM does not
 * know the frequency or the table is full.
 */
static void cpu_add_timing_leaf(struct kvm_cpuid2 *c, uint32_t tsc_khz,
                                unsigned cap)
{
    struct kvm_cpuid_entry2 *base = NULL;
    for (uint32_t i = 0; i < c->nent; i++) {
        if (c->entries[i].function == CPUID_TIMING)
            return;
        if (c->entries[i].function == CPUID_KVM_BASE)
            base = &c->entries[i];
    }
    if (!base || !tsc_khz || c->nent >= cap)
        return;
    if (base->eax < CPUID_TIMING)
        base->eax = CPUID_TIMING;
    c->entries[c->nent++] = (struct kvm_cpuid_entry2){
        .function = CPUID_TIMING,
        .eax = tsc_khz,
        .ebx = KVM_APIC_BUS_KHZ,
    };
}

static void cpu_patch_cpuid(struct kvm_cpuid2 *c, unsigned id, unsigned n)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx =
                (e->ebx & 0x0000ffffu) | (id << 24) | ((n > 1 ? n : 1) << 16);
            if (n > 1)
                e->edx |= CPUID_1_EDX_HTT;
            e->ecx |= CPUID_1_ECX_HYPERVISOR;
            break;
        case 0xb:
        case 0x1f:
            e->edx = id; /* x2APIC id */
            break;
        }
    }
}

static int cpu_setup_cpuid(struct kvm_vm *vm, struct vcpu *v, unsigned n)
{
    size_t sz = sizeof(struct kvm_cpuid2) +
                CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, sz);
    if (!c)
        return -ENOMEM;
    c->nent = CPUID_MAX_ENTRIES;
    int r = 0;
    if (ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        r = -errno;
        log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
        goto out;
    }
    cpu_patch_cpuid(c, v->id, n);
    int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
    cpu_add_timing_leaf(c, khz > 0 ? (uint32_t)khz : 0, CPUID_MAX_ENTRIES);
    r = cpu_ioctl(v, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
out:
    free(c);
    return r;
}

static void lapic_set_lvt(struct kvm_lapic_state *s, unsigned reg,
                          unsigned mode)
{
    uint32_t v;
    memcpy(&v, &s->regs[reg], 4);
    v = (v & ~0x700u & ~0x10000u) | (mode << 8); /* delivery mode, unmask */
    memcpy(&s->regs[reg], &v, 4);
}

static int cpu_setup_lapic(struct vcpu *v)
{
    struct kvm_lapic_state s;
    int r = cpu_ioctl(v, KVM_GET_LAPIC, &s, "KVM_GET_LAPIC");
    if (r)
        return r;
    lapic_set_lvt(&s, APIC_LVT0, APIC_MODE_EXTINT);
    lapic_set_lvt(&s, APIC_LVT1, APIC_MODE_NMI);
    return cpu_ioctl(v, KVM_SET_LAPIC, &s, "KVM_SET_LAPIC");
}

int cpu_setup(struct kvm_vm *vm, struct vcpu *v, unsigned ncpus)
{
    int r = cpu_setup_cpuid(vm, v, ncpus);
    if (r == 0)
        r = cpu_setup_lapic(v);
    return r;
}

/* Identity map of the low 4 GiB with 2 MiB pages: what the 64-bit boot
 * protocol asks for (kernel, zero page, cmdline all mapped). */
static int cpu_write_page_tables(const struct gmem *mem)
{
    uint64_t *pml4 = gmem_ptr(mem, LAYOUT_PML4, 4096);
    uint64_t *pdpt = gmem_ptr(mem, LAYOUT_PDPT, 4096);
    uint64_t *pd = gmem_ptr(mem, LAYOUT_PD, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = LAYOUT_PDPT | 0x3; /* present, writable */
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
    return 0;
}

static void cpu_seg(struct kvm_segment *s, uint16_t sel, bool code)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = code ? 0xb : 0x3, /* execute/read accessed, rw accessed */
        .present = 1,
        .dpl = 0,
        .db = code ? 0 : 1,
        .s = 1,
        .l = code ? 1 : 0,
        .g = 1,
    };
}

int cpu_setup_boot(struct kvm_vm *vm, struct vcpu *v, uint64_t entry,
                   uint64_t zero_page)
{
    static const uint64_t gdt[4] = {
        0, 0, 0x00af9b000000ffffULL, /* 0x10: 64-bit code */
        0x00cf93000000ffffULL,       /* 0x18: flat data */
    };
    if (gmem_write(&vm->mem, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)) < 0 ||
        cpu_write_page_tables(&vm->mem) < 0)
        return -EFAULT;

    struct kvm_sregs s;
    int r = cpu_ioctl(v, KVM_GET_SREGS, &s, "KVM_GET_SREGS");
    if (r)
        return r;
    s.gdt.base = LAYOUT_BOOT_GDT;
    s.gdt.limit = sizeof(gdt) - 1;
    s.idt.base = LAYOUT_BOOT_IDT;
    s.idt.limit = 0;
    cpu_seg(&s.cs, BOOT_CS, true);
    cpu_seg(&s.ds, BOOT_DS, false);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    s.cr3 = LAYOUT_PML4;
    s.cr4 = X86_CR4_PAE;
    s.efer = X86_EFER_LME | X86_EFER_LMA;
    r = cpu_ioctl(v, KVM_SET_SREGS, &s, "KVM_SET_SREGS");
    if (r)
        return r;

    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    r = cpu_ioctl(v, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
    if (r)
        return r;

    struct kvm_regs regs = {
        .rip = entry,
        .rsi = zero_page,
        .rsp = LAYOUT_BOOT_STACK,
        .rflags = 0x2, /* interrupts off */
    };
    return cpu_ioctl(v, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}
