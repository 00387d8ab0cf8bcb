/* SPDX-License-Identifier: MIT */
/* TSS and IDT set-up, and the fatal-exception report. */
#include "guest/trap.h"
#include "guest/apic.h"
#include "guest/exit.h"
#include "guest/layout.h"
#include "guest/lib.h"
#include "guest/user.h"

#define IDT_VECTORS 256
#define EXC_VECTORS 32
#define GATE_INTR 0x8e00 /* present, DPL 0, 64-bit interrupt gate */

struct tss {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t off0, sel, flags, off1;
    uint32_t off2, rsvd;
};

extern uint64_t gdt[];
extern char trap_stubs[], trap_spurious[], trap_tick[], trap_watchdog[],
    trap_irqs[];
extern char fault_stack_top[];

static struct tss tss;
static struct idt_gate idt[IDT_VECTORS];

static void set_gate(int vec, uint64_t handler)
{
    idt[vec] = (struct idt_gate){
        .off0 = (uint16_t)handler,
        .sel = KERNEL_CS,
        .flags = GATE_INTR,
        .off1 = (uint16_t)(handler >> 16),
        .off2 = (uint32_t)(handler >> 32),
    };
}

void trap_init(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};

    tss.rsp[0] = (uint64_t)fault_stack_top;
    tss.iomap_base = sizeof(tss); /* no I/O bitmap: ring 3 gets no ports */
    /* 16-byte available 64-bit TSS descriptor (type 9, present). */
    gdt[TSS_SEL / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
                       0x89ULL << 40 | (limit >> 16 & 0xf) << 48 |
                       (base >> 24 & 0xff) << 56;
    gdt[TSS_SEL / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));

    for (int v = 0; v < EXC_VECTORS; v++)
        set_gate(v, (uint64_t)trap_stubs + 16 * v);
    set_gate(APIC_SPURIOUS_VECTOR, (uint64_t)trap_spurious);
    set_gate(APIC_TICK_VECTOR, (uint64_t)trap_tick);
    set_gate(APIC_WATCHDOG_VECTOR, (uint64_t)trap_watchdog);
    for (int p = 0; p < IRQ_PINS; p++)
        set_gate(IRQ_VECTOR_BASE + p, (uint64_t)trap_irqs + 16 * p);
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap_handle(struct trap_frame *f)
{
    uint64_t cr2;

    user_exit_trap(f);
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    tg_printf("tg: fault vec=%lu err=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx "
              "cr2=0x%lx\n",
              f->vector, f->error, f->rip, f->cs, f->rsp, cr2);
    tg_printf("tg: verdict fail\n");
    tg_exit(TG_EXIT_FAULT);
}
