/* SPDX-License-Identifier: MIT */
/*
 * Ring-3 calls: user_call(fn, a, b) saves the kernel stack and iretq's to
 * user_tramp in ring 3 with RDI = a, RSI = b. fn's result comes back
 * through a deliberate #UD (ud2 at user_exit_insn): trap.c hands that
 * trap to user_resume(result), which restores the kernel stack and
 * returns the result from user_call. Not syscall: on this machine's
 * KVM (kvm_pvm) a syscall lands on LSTAR still in ring 3. BSP only.
 */
#include "guest/layout.h"

    .text
    .globl user_call
user_call:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, user_saved_rsp
    movq %rdi, %rax                /* fn */
    movq %rsi, %rdi
    movq %rdx, %rsi
    pushq $USER_DS
    pushq $user_stack_top
    pushq $0x2                     /* RFLAGS: IF=0, IOPL=0 */
    pushq $USER_CS
    pushq $user_tramp
    iretq

    .globl user_resume
user_resume:                       /* ring 0, on the TSS stack */
    movq user_saved_rsp, %rsp
    movq %rdi, %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

    .section .text.user, "ax"
user_tramp:                        /* ring 3 */
    call *%rax
    movq %rax, %rdi
    .globl user_exit_insn
user_exit_insn:
    ud2

    .section .bss
    .balign 8
user_saved_rsp:
    .quad 0

    .section .stack, "aw", @nobits
    .balign 16
    .space USER_STACK_SIZE
user_stack_top:
