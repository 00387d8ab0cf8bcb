/* SPDX-License-Identifier: MIT */
/*
 * AP start-up code. smp.c copies tramp_start..tramp_end to
 * TRAMPOLINE_BASE; a SIPI starts an AP there in real mode. It goes
 * straight to long mode on the BSP's GDT and page tables (both below
 * 4 GiB, so their addresses are stored here as 32-bit constants),
 * counts itself in ap_count and halts for good.
 */
#include "guest/layout.h"

#define REL(x) ((x) - tramp_start)

    .section .data
    .globl tramp_start, tramp_end
    .code16
tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    lgdtl REL(tramp_gdt_desc)
    movl REL(tramp_cr3), %eax
    movl %eax, %cr3
    movl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    /* PE and PG together: real mode to long mode in one step. */
    movl %cr0, %eax
    andl $0x9fffffff, %eax         /* clear CD and NW */
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmpl $KERNEL_CS, $(TRAMPOLINE_BASE + REL(tramp64))

    .code64
tramp64:
    movl $KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %ss
    lock incl ap_count             /* absolute address: we run copied */
1:  cli
    hlt
    jmp 1b

    .balign 8
tramp_gdt_desc:
    .word GDT_BYTES - 1
    .long gdt
tramp_cr3:
    .long pml4
tramp_end:

    .section .bss
    .balign 4
    .globl ap_count
ap_count:
    .long 0
