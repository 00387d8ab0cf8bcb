/* SPDX-License-Identifier: MIT */
/*
 * The bzImage wrapper: boot sector and setup sectors carrying the Linux
 * setup header (Documentation/arch/x86/boot.rst, protocol 2.15), then
 * the protected-mode image. Only 64-bit loaders can start it: the
 * real-mode code merely halts. guest.mk passes PM_BIN (path), PM_SIZE,
 * INIT_SIZE and KINFO_OFF from the linked ELF.
 */
#define SETUP_SECTS 3 /* not 4, so a loader that assumes 4 is caught */
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x0001

    .code16
    .text
bootsect:
    cli
1:  hlt
    jmp 1b

    .org 0x1f1
hdr:
    .byte SETUP_SECTS              /* 0x1f1 setup_sects */
    .word 0                        /* 0x1f2 root_flags */
    .long (PM_SIZE + 15) / 16      /* 0x1f4 syssize */
    .word 0                        /* 0x1f8 ram_size (obsolete) */
    .word 0xffff                   /* 0x1fa vid_mode: normal */
    .word 0                        /* 0x1fc root_dev */
    .word 0xaa55                   /* 0x1fe boot_flag */
    jmp setup_code                 /* 0x200 jump */
    .ascii "HdrS"                  /* 0x202 header */
    .word 0x020f                   /* 0x206 version 2.15 */
    .long 0                        /* 0x208 realmode_swtch */
    .word 0x1000                   /* 0x20c start_sys_seg (obsolete) */
    .word version_str - bootsect - 0x200 /* 0x20e kernel_version */
    .byte 0                        /* 0x210 type_of_loader */
    .byte LOADED_HIGH              /* 0x211 loadflags */
    .word 0                        /* 0x212 setup_move_size */
    .long 0x100000                 /* 0x214 code32_start */
    .long 0                        /* 0x218 ramdisk_image */
    .long 0                        /* 0x21c ramdisk_size */
    .long 0                        /* 0x220 bootsect_kludge */
    .word 0                        /* 0x224 heap_end_ptr */
    .byte 0                        /* 0x226 ext_loader_ver */
    .byte 0                        /* 0x227 ext_loader_type */
    .long 0                        /* 0x228 cmd_line_ptr */
    .long 0x7fffffff               /* 0x22c initrd_addr_max */
    .long 0x200000                 /* 0x230 kernel_alignment */
    .byte 0                        /* 0x234 relocatable_kernel */
    .byte 21                       /* 0x235 min_alignment (2 MiB) */
    .word XLF_KERNEL_64            /* 0x236 xloadflags */
    .long 0xffff                   /* 0x238 cmdline_size */
    .long 0                        /* 0x23c hardware_subarch */
    .quad 0                        /* 0x240 hardware_subarch_data */
    .long 0                        /* 0x248 payload_offset */
    .long 0                        /* 0x24c payload_length */
    .quad 0                        /* 0x250 setup_data */
    .quad 0x100000                 /* 0x258 pref_address */
    .long INIT_SIZE                /* 0x260 init_size */
    .long 0                        /* 0x264 handover_offset */
    .long KINFO_OFF                /* 0x268 kernel_info_offset */

setup_code:                        /* a BIOS loader ends up here */
    cli
1:  hlt
    jmp 1b

version_str:
    .asciz "kvmini tiny-guest"

    .org (SETUP_SECTS + 1) * 512
pm_image:
    .incbin PM_BIN
