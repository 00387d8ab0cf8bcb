/* SPDX-License-Identifier: MIT */
/*
 * Exception stubs (vectors 0-31, 16 bytes apart so trap.c can compute
 * their addresses), the spurious-interrupt, APIC-tick, watchdog and
 * device-interrupt handlers, and the common path that saves the
 * registers and calls trap_handle(frame).
 */
#include "guest/layout.h"

    .text
    .balign 16
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 32
    .balign 16
    /* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || \
        vec == 21 || vec == 29 || vec == 30
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

    .balign 16
    .globl trap_spurious
trap_spurious:
    iretq

/* Local APIC timer tick: count it, EOI, back to the hlt loop. */
    .balign 16
    .globl trap_tick
trap_tick:
    pushq %rax
    incq apic_ticks
    movq apic_eoi_reg, %rax
    movl $0, (%rax)
    popq %rax
    iretq

/* The one-shot watchdog of irqwait.c: counted apart from the tick. */
    .balign 16
    .globl trap_watchdog
trap_watchdog:
    pushq %rax
    incq irq_watchdogs
    movq apic_eoi_reg, %rax
    movl $0, (%rax)
    popq %rax
    iretq

/*
 * Device interrupts, one stub per I/O APIC pin, 16 bytes apart: each
 * counts what the guest received in irq_count[pin], then EOI.
 */
    .balign 16
    .globl trap_irqs
trap_irqs:
    .set pin, 0
    .rept IRQ_PINS
    .balign 16
    pushq %rax
    movl $pin, %eax
    jmp trap_irq_common
    .set pin, pin + 1
    .endr

trap_irq_common:
    incq irq_count(, %rax, 8)
    movq apic_eoi_reg, %rax
    movl $0, (%rax)
    popq %rax
    iretq

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call trap_handle               /* does not return */
1:  cli
    hlt
    jmp 1b

    .section .stack, "aw", @nobits
    .balign 16
    .space FAULT_STACK_SIZE
    .globl fault_stack_top
fault_stack_top:
