/* SPDX-License-Identifier: MIT */
/* Ring-3 set-up and the ring-3 checksum used for the initrd. */
#include "guest/user.h"
#include "guest/io.h"
#include "guest/layout.h"

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define RFLAGS_TF_IF_DF 0x700

extern char user_syscall[];

void user_init(void)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /* syscall: CS = 0x08, SS = 0x10; sysret (unused) bases at 0x18. */
    wrmsr(MSR_STAR, (uint64_t)(USER_CS32 | 3) << 48 |
                        (uint64_t)KERNEL_CS << 32);
    wrmsr(MSR_LSTAR, (uint64_t)user_syscall);
    wrmsr(MSR_SFMASK, RFLAGS_TF_IF_DF);
}

/* Runs in ring 3: only registers and user-accessible memory. */
__attribute__((section(".text.user"))) static uint64_t
sum32_ring3(uint64_t addr, uint64_t n)
{
    const uint32_t *w = (const uint32_t *)addr;
    const uint8_t *tail;
    uint32_t s = 0, last = 0;
    uint64_t i, words = n / 4;

    for (i = 0; i < words; i++)
        s += w[i];
    tail = (const uint8_t *)(w + words);
    for (i = 0; i < n % 4; i++)
        last |= (uint32_t)tail[i] << (8 * i);
    return s + last;
}

uint32_t user_sum32(uint64_t p, uint64_t n)
{
    return (uint32_t)user_call(sum32_ring3, p, n);
}
