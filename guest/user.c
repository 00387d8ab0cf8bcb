/* SPDX-License-Identifier: MIT */
/* The way back from ring 3, and the ring-3 checksum used for the initrd. */
#include "guest/user.h"
#include "guest/trap.h"

#define VEC_UD 6

extern char user_exit_insn[];
void user_resume(uint64_t result) __attribute__((noreturn));

void user_exit_trap(const struct trap_frame *f)
{
    if (f->vector == VEC_UD && (f->cs & 3) == 3 &&
        f->rip == (uint64_t)user_exit_insn)
        user_resume(f->rdi);
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

/* a = start, b = length << 32 | signature. */
__attribute__((section(".text.user"))) static uint64_t
find_sig_ring3(uint64_t a, uint64_t b)
{
    uint64_t end = a + (b >> 32);
    uint32_t sig = (uint32_t)b;

    for (; a + 4 <= end; a += 16)
        if (*(const volatile uint32_t *)a == sig)
            return a;
    return 0;
}

uint64_t user_find_sig(uint64_t start, uint32_t len, uint32_t sig)
{
    return user_call(find_sig_ring3, start, (uint64_t)len << 32 | sig);
}

uint32_t user_sum32(uint64_t p, uint64_t n)
{
    return (uint32_t)user_call(sum32_ring3, p, n);
}
