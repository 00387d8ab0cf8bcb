/* SPDX-License-Identifier: MIT */
/*
 * Reset, power-off, triple fault, a stuck CPU and an instruction this
 * machine's KVM cannot run, on request.
 */
#include "guest/power.h"
#include "guest/apic.h"
#include "guest/cmdline.h"
#include "guest/io.h"
#include "guest/ioapic.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define I8042_CMD 0x64
#define I8042_RESET 0xfe
/* docs/machine.md: SLP_EN | SLP_TYP 5 (\_S5) on the sleep control port. */
#define ACPI_SLEEP_PORT 0x600
#define ACPI_SLEEP_S5 0x34
#define NO_EFFECT_US 1000000
/* docs/machine.md: the GED's event register and pin (kvmini's hw/ged.h):
 * bit 0 is the power button, written back to acknowledge. */
#define GED_PORT 0x602
#define GED_GSI 23
#define GED_EVT_POWER 0x01
#define GED_EVT_MASK 0x01
#define MSR_APIC_BASE 0x1b

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

void power_button_init(struct tg *tg)
{
    struct power_button *b = &tg->pwrbtn;
    const char *v;
    size_t vlen;
    uint8_t st;

    if (b->probed)
        return;
    b->probed = true;
    /* An unclaimed port reads all-ones: bits no register has. */
    st = inb(GED_PORT);
    if (st & ~GED_EVT_MASK) {
        tg_printf("tg: powerbtn none\n");
        return;
    }
    b->present = true;
    b->ignore = cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "powerbtn", &v,
                            &vlen) &&
                vlen == 6 && !memcmp(v, "ignore", 6);
    if (tg->tick) {
        uint64_t lapic = rdmsr(MSR_APIC_BASE) & ~0xfffULL;

        b->routed = ioapic_route(IOAPIC_BASE, GED_GSI, irq_vector(GED_GSI),
                                 apic_id(lapic));
    }
    b->seen = irq_received(GED_GSI);
    tg_printf("tg: powerbtn ready gsi=%u port=0x%x irq=%u mode=%s\n", GED_GSI,
              GED_PORT, b->routed ? 1 : 0, b->ignore ? "ignore" : "poweroff");
    if (st & GED_EVT_POWER) { /* pressed before we listened: latched */
        tg_printf("tg: powerbtn pending\n");
        b->seen--;
    }
    power_button_poll(tg);
}

void power_button_poll(struct tg *tg)
{
    struct power_button *b = &tg->pwrbtn;
    uint64_t n = irq_received(GED_GSI);

    if (!b->present)
        return;
    if (b->routed) {
        /* Only an interrupt makes it look: a port read is a VM exit. */
        if (n == b->seen)
            return;
        b->seen = n;
    } else {
        /* No interrupt (the idle tick did not start, as under a loaded
         * host): look every 50 ms, a press must not go unseen. */
        if (b->next_look && !timer_expired(b->next_look))
            return;
        b->next_look = timer_deadline(&tg->timer, 50000);
    }
    if (!(inb(GED_PORT) & GED_EVT_POWER))
        return;
    outb(GED_PORT, GED_EVT_POWER); /* write 1 to clear */
    tg_printf("tg: powerbtn pressed\n");
    if (b->ignore) {
        tg_printf("tg: powerbtn ignored\n");
        return;
    }
    tg_printf("tg: powering off\n");
    outb(ACPI_SLEEP_PORT, ACPI_SLEEP_S5);
    no_effect(tg, "powerbtn poweroff");
}
