/* SPDX-License-Identifier: MIT */
/*
 * The fixed guest-physical memory map and interrupt map of a kvmini
 * machine. Everything that places something in the guest (boot loader,
 * machine description, devices) takes its addresses from here; see
 * docs/memory-layout.md for the picture.
 */
#ifndef KVMINI_ARCH_X86_LAYOUT_H
#define KVMINI_ARCH_X86_LAYOUT_H

/* Low memory used by the boot path (all below 1 MiB, all in RAM). */
#define LAYOUT_BOOT_GDT 0x500ULL      /* 4 GDT entries */
#define LAYOUT_BOOT_IDT 0x520ULL      /* empty IDT limit 0 */
#define LAYOUT_ZERO_PAGE 0x7000ULL    /* struct boot_params */
#define LAYOUT_BOOT_STACK 0x8ff0ULL   /* initial RSP of the boot vCPU */
#define LAYOUT_PML4 0x9000ULL         /* identity-map page tables: */
#define LAYOUT_PDPT 0xa000ULL         /* PML4, PDPT, then 4 PDs */
#define LAYOUT_PD 0xb000ULL           /* 0xb000..0xefff: 4 GiB, 2 MiB pages */
#define LAYOUT_CMDLINE 0x20000ULL     /* kernel command line */
#define LAYOUT_CMDLINE_MAX 0x10000ULL /* bytes, including the NUL */
#define LAYOUT_SETUP_DATA 0x30000ULL  /* setup_data chain (SETUP_DTB) */
#define LAYOUT_SETUP_DATA_MAX 0x50000ULL
#define LAYOUT_EBDA 0x9fc00ULL        /* reserved: 0x9fc00..0xfffff */
#define LAYOUT_MPTABLE 0x9fc00ULL     /* MP floating pointer + table */
#define LAYOUT_MPTABLE_MAX 0x2000ULL  /* 254 CPUs + 16 virtio need 0x1500 */
#define LAYOUT_ACPI 0xe0000ULL        /* RSDP (scan area) + tables */
#define LAYOUT_ACPI_MAX 0x10000ULL
/* F000:FFF0, where a BIOS restart jumps: arch/x86/resetvec.c */
#define LAYOUT_RESET_VECTOR 0xffff0ULL
#define LAYOUT_HIGH_MEM 0x100000ULL   /* first byte above the low 1 MiB */

/* 32-bit MMIO hole below 4 GiB: RAM beyond this goes above 4 GiB. */
#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL
#define LAYOUT_HIGH_RAM 0x100000000ULL

/* virtio-mmio windows: device i at BASE + i * STRIDE, IRQ GSI_BASE + i. */
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x200ULL
#define LAYOUT_VIRTIO_MMIO_STRIDE 0x200ULL
#define LAYOUT_VIRTIO_MAX 16
#define LAYOUT_VIRTIO_GSI_BASE 5 /* GSIs 5..20 */

/* Platform devices. */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_TSS 0xfffbd000ULL      /* KVM_SET_TSS_ADDR: 3 pages */
#define LAYOUT_IDENTITY_MAP 0xfffbc000ULL /* KVM_SET_IDENTITY_MAP_ADDR */

/* Legacy ports. */
#define LAYOUT_COM1_PORT 0x3f8
#define LAYOUT_COM1_GSI 4
#define LAYOUT_I8042_PORT 0x60 /* 0x60..0x64; 0x64 <- 0xfe resets */
#define LAYOUT_ACPI_SLEEP_PORT 0x600 /* ACPI sleep control: 0x34 = S5 off */
#define LAYOUT_ACPI_SLEEP_STATUS_PORT 0x601 /* ACPI sleep status (WAK_STS) */
/* The power button's event register (hw/ged.h) and the IOAPIC pin of its
 * Generic Event Device: the last pin, clear of the virtio ones (5 + n). */
#define LAYOUT_GED_PORT 0x602
#define LAYOUT_GED_GSI 23
#define LAYOUT_EXIT_PORT 0xf4  /* test-exit: the byte written is the exit
                                  status (QEMU isa-debug-exit: (v<<1)|1) */

#endif
