/* SPDX-License-Identifier: MIT */
/*
 * CPU tables the guest owns after entry: the TSS (ring-3 to ring-0 stack)
 * and the IDT. Any exception is fatal: it is reported on the console and
 * the guest exits with TG_EXIT_FAULT.
 */
#ifndef TG_TRAP_H
#define TG_TRAP_H

#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Install the TSS and IDT on the boot CPU. */
void trap_init(void);
void trap_handle(struct trap_frame *f) __attribute__((noreturn));

#endif
