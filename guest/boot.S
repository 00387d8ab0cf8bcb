/* SPDX-License-Identifier: MIT */
/*
 * Entry points and static CPU tables. Two ways in: the Linux 64-bit
 * boot protocol (bzImage, 1 MiB + 0x200, RSI = zero page) and the PVH
 * 32-bit entry (EBX = hvm_start_info). Both switch to our own GDT and
 * page tables and call tg_main(proto, info). The page tables are built
 * by the assembler, not at run time: ring-0 instructions are emulated
 * here at ~2/us, data the loader copies is free.
 */
#include "guest/layout.h"

    .section .head.text, "ax"
    .code32
    .globl pvh_start32
pvh_start32:                       /* 0x100000, also code32_start */
    cli
    cld
    movl %ebx, %esi                /* hvm_start_info, survives to C */
    lgdt gdt_desc
    movl $KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $KERNEL_CS, $pvh_start64

    .org 0x200
    .code64
    .globl startup_64
startup_64:                        /* 0x100200: bzImage 64-bit entry */
    /*
     * Record the state the loader left (entry.c checks it) before
     * changing any of it; only RSP is replaced first, for pushfq.
     */
    movq $boot_stack_top, %rsp
    pushfq
    popq entry_regs                /* RFLAGS */
    cli
    cld
    movq %cr0, %rax
    movq %rax, entry_regs + 8
    movq %cr3, %rax
    movq %rax, entry_regs + 16
    movq %cr4, %rax
    movq %rax, entry_regs + 24
    movl $MSR_EFER, %ecx
    rdmsr
    movl %eax, entry_regs + 32
    movl %edx, entry_regs + 36
    movq $1, entry_regs + 40       /* valid */
    movl $BOOT_PROTO_BZIMAGE, %edi
    jmp common64

pvh_start64:
    movl $BOOT_PROTO_PVH, %edi
    movl %esi, %esi                /* zero-extend the 32-bit pointer */

common64:
    lgdt gdt_desc
    movl $KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $boot_stack_top, %rsp
    pushq $KERNEL_CS               /* reload CS from our GDT */
    pushq $1f
    lretq
1:  movq $pml4, %rax               /* identity map, so this is seamless */
    movq %rax, %cr3
    movl $CR4_PAE, %eax            /* drops SMEP/SMAP/PGE the loader set */
    movq %rax, %cr4
    movq %rdi, %r12
    movq %rsi, %r13
    movq $__bss_start, %rdi        /* only .bss is zeroed; stacks are not */
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq
    movq %r12, %rdi
    movq %r13, %rsi
    call tg_main
2:  cli
    hlt
    jmp 2b

/* The PVH entry note: QEMU (-kernel foo.elf) and Xen look for it. */
    .pushsection .note.pvh, "a", @note
    .balign 4
    .long 4                        /* namesz */
    .long 4                        /* descsz */
    .long 18                       /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32
    .popsection

    .section .data
    .balign 8
    .globl entry_regs
entry_regs:                        /* struct entry_regs; not in .bss */
    .fill 6, 8, 0

    .balign 16
    .globl gdt, gdt_end, gdt_desc
gdt:
    .quad 0
    .quad 0x00af9a000000ffff       /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff       /* 0x10 kernel data */
    .quad 0x00cffa000000ffff       /* 0x18 user code, 32-bit (STAR base) */
    .quad 0x00cff2000000ffff       /* 0x20 user data */
    .quad 0x00affa000000ffff       /* 0x28 user code, 64-bit */
    .quad 0, 0                     /* 0x30 TSS, filled in by trap_init */
gdt_end:
    .if gdt_end - gdt - GDT_BYTES
    .error "GDT_BYTES does not match the GDT"
    .endif
    .balign 8
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

/*
 * Identity map of the first 4 GiB in 2 MiB pages, all user-accessible
 * (the ring-3 checksum reads the initrd in place); 3-4 GiB is uncached
 * because it holds the MMIO hole, the IOAPIC and the local APIC.
 */
    .section .data.pagetables, "aw"
    .balign 4096
    .globl pml4
pml4:
    .quad pdpt + PTE_TABLE
    .fill 511, 8, 0
pdpt:
    .quad pd + PTE_TABLE
    .quad pd + 0x1000 + PTE_TABLE
    .quad pd + 0x2000 + PTE_TABLE
    .quad pd + 0x3000 + PTE_TABLE
    .fill 508, 8, 0
pd:
    .set i, 0
    .rept 2048
    .if i >= 1536
    .quad (i << 21) | PTE_LARGE | PTE_PCD | PTE_PWT
    .else
    .quad (i << 21) | PTE_LARGE
    .endif
    .set i, i + 1
    .endr

    .section .stack, "aw", @nobits
    .balign 4096
    .space BOOT_STACK_SIZE
    .globl boot_stack_top
boot_stack_top:

/*
 * kernel_info (boot protocol 2.15): found through kernel_info_offset in
 * the setup header, relative to the start of this protected-mode image.
 */
    .section .rodata
    .balign 4
    .globl kernel_info
kernel_info:
    .ascii "LToP"
    .long 16                       /* size of this structure */
    .long 16                       /* size including variable data */
    .long 0                        /* setup_type_max */
