/* SPDX-License-Identifier: MIT */
/*
 * Ring-3 calls: user_call(fn, a, b) saves the kernel stack, iretq's to
 * user_tramp in ring 3 with RDI = a, RSI = b; fn's result comes back
 * through `syscall` (LSTAR = user_syscall), which restores the kernel
 * stack and returns it from user_call. Only the BSP uses this.
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

    .globl user_syscall
user_syscall:                      /* ring 0, still on the user stack */
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
    .globl user_tramp
user_tramp:                        /* ring 3 */
    call *%rax
    movq %rax, %rdi
    syscall
1:  jmp 1b

    .section .bss
    .balign 8
user_saved_rsp:
    .quad 0

    .section .stack, "aw", @nobits
    .balign 16
    .space USER_STACK_SIZE
user_stack_top:
