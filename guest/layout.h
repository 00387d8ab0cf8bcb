/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by the guest's assembly and C: segment selectors,
 * control-register bits, fixed addresses and stack sizes.
 */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS32 0x18 /* STAR[63:48]: sysret bases its selectors here */
#define USER_DS 0x23   /* 0x20 | RPL 3 */
#define USER_CS 0x2b   /* 0x28 | RPL 3 */
#define TSS_SEL 0x30
#define GDT_BYTES 0x40 /* 6 descriptors + the 16-byte TSS one */

#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_SCE 0x001
#define EFER_LME 0x100

#define PTE_TABLE 0x07 /* present, writable, user */
#define PTE_LARGE 0x87 /* present, writable, user, 2 MiB */
#define PTE_PWT 0x08
#define PTE_PCD 0x10

#define BOOT_PROTO_BZIMAGE 0
#define BOOT_PROTO_PVH 1

/* AP real-mode trampoline: SIPI vector 0x10 starts APs at 0x1000:0000. */
#define TRAMPOLINE_BASE 0x10000

/*
 * Device interrupts: I/O APIC pin n is routed to vector IRQ_VECTOR_BASE
 * + n, whose handler (trap_entry.S) counts it in irq_count[n].
 */
#define IRQ_PINS 24
#define IRQ_VECTOR_BASE 0x50

#define BOOT_STACK_SIZE 16384
#define FAULT_STACK_SIZE 8192
#define USER_STACK_SIZE 16384

#endif
