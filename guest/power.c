/* SPDX-License-Identifier: MIT */
/*
 * Reset, power-off, triple fault, a stuck CPU and an instruction this
 * machine's KVM cannot run, on request.
 */
#include "guest/power.h"
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define I8042_CMD 0x64
#define I8042_RESET 0xfe
/* docs/machine.md: SLP_EN | SLP_TYP 5 (\_S5) on the sleep control port. */
#define ACPI_SLEEP_PORT 0x600
#define ACPI_SLEEP_S5 0x34
#define NO_EFFECT_US 1000000

/* The port write should have ended the VM; say so if it did not. */
static void no_effect(struct tg *tg, const char *what)
{
    timer_delay_us(&tg->timer, NO_EFFECT_US);
    tg_printf("tg: error %s had no effect\n", what);
}

void power_cmd_reboot(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    outb(I8042_CMD, I8042_RESET);
    no_effect(tg, "reboot");
}

void power_cmd_poweroff(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    outb(ACPI_SLEEP_PORT, ACPI_SLEEP_S5);
    no_effect(tg, "poweroff");
}

/*
 * Where Linux's BIOS reboot ends (reboot=b, and kvmini's default path: see
 * arch/x86/resetvec.c): the reset vector F000:FFF0, physical 0xffff0. Linux
 * gets there in real mode; its code means the same in long mode, and the
 * guest's identity map covers it.
 */
#define RESET_VECTOR 0xffff0UL

void power_cmd_resetvec(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    tg_printf("tg: jumping to the reset vector\n");
    __asm__ volatile("cli; call *%0" : : "r"(RESET_VECTOR) : "memory");
    /* Zeroed memory there runs on and never comes back either. */
    no_effect(tg, "resetvec");
}

/*
 * With an empty IDT every exception escalates: #UD cannot be delivered
 * (#GP), nor can the #GP (#DF), nor the #DF: shutdown. ud2, since `int N`
 * stops this machine's emulator instead of faulting.
 */
void power_cmd_triplefault(struct tg *tg, const char *args, size_t len)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = {0, 0};

    (void)tg, (void)args, (void)len;
    __asm__ volatile("cli; lidt %0; ud2" : : "m"(idtr) : "memory");
    __builtin_unreachable();
}

void power_cmd_spin(struct tg *tg, const char *args, size_t len)
{
    (void)tg, (void)args, (void)len;
    tg_printf("tg: spinning\n");
    __asm__ volatile("cli; 1: jmp 1b" ::: "memory");
    __builtin_unreachable();
}

/*
 * lock cmpxchg16b in ring 0: this machine's KVM (kvm_pvm) emulates ring
 * 0 and has no emulation for it, so the vCPU stops with
 * KVM_EXIT_INTERNAL_ERROR; hardware KVM runs it and the guest goes on
 * (the test then knows it cannot provoke the failure here).
 */
void power_cmd_cmpxchg16b(struct tg *tg, const char *args, size_t len)
{
    static struct {
        uint64_t lo, hi;
    } __attribute__((aligned(16))) cell;
    uint64_t lo = 0, hi = 0;
    uint32_t r[4];

    (void)tg, (void)args, (void)len;
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 13))) { /* CPUID.1:ECX.CX16 */
        tg_printf("tg: cmpxchg16b unsupported\n");
        return;
    }
    tg_printf("tg: cmpxchg16b start\n");
    /* cell is 0: the compare succeeds and stores rcx:rbx = 2:1. */
    __asm__ volatile("lock cmpxchg16b %0"
                     : "+m"(cell), "+a"(lo), "+d"(hi)
                     : "b"(1ULL), "c"(2ULL)
                     : "memory", "cc");
    tg_printf("tg: cmpxchg16b done cell=%lu,%lu\n", cell.lo, cell.hi);
}
