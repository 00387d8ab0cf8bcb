/* SPDX-License-Identifier: MIT */
/* The blk checks' sector pattern, filled and compared in ring 3. */
#include "guest/blkpat.h"
#include "guest/user.h"

#define WORDS 64 /* per 512-byte sector */
#define STEP 0x0101010101010101ULL

__attribute__((section(".text.user"))) static uint64_t
word(uint64_t s, uint64_t seed, unsigned i)
{
    if (i == 0)
        return BLKPAT_MAGIC;
    if (i == 1)
        return seed;
    if (i == 2)
        return s;
    return s ^ seed ^ (i * STEP);
}

/* 1 + the first sector of j failing its test, or 0. */
__attribute__((section(".text.user"))) static uint64_t
job_check(const struct blkpat_job *j)
{
    const uint64_t *w = (const uint64_t *)j->addr;
    const uint64_t *o = (const uint64_t *)j->addr2;

    for (uint64_t k = 0; k < j->nsect; k++)
        for (unsigned i = 0; i < WORDS; i++) {
            uint64_t v = w[k * WORDS + i], want = 0;

            if (j->op == BLKPAT_CHECK)
                want = word(j->sector + k, j->seed, i);
            else if (j->op == BLKPAT_SAME)
                want = o[k * WORDS + i];
            if (v != want)
                return k + 1;
        }
    return 0;
}

__attribute__((section(".text.user"))) static uint64_t
job_run(struct blkpat_job *j)
{
    uint64_t *w = (uint64_t *)j->addr, n = j->nsect * WORDS;
    uint32_t sum = 0;

    switch (j->op) {
    case BLKPAT_FILL:
        for (uint64_t k = 0; k < j->nsect; k++)
            for (unsigned i = 0; i < WORDS; i++)
                w[k * WORDS + i] = word(j->sector + k, j->seed, i);
        return 0;
    case BLKPAT_POISON:
        for (uint64_t i = 0; i < n; i++)
            w[i] = BLKPAT_POISON_BYTE * STEP;
        return 0;
    case BLKPAT_SUM:
        for (uint64_t i = 0; i < n; i++)
            sum += (uint32_t)w[i] + (uint32_t)(w[i] >> 32);
        j->out = sum;
        return 0;
    default:
        j->out = job_check(j);
        return j->out != 0;
    }
}

/* a = the job array, b = its length. */
__attribute__((section(".text.user"))) static uint64_t run_ring3(uint64_t a,
                                                                 uint64_t b)
{
    struct blkpat_job *jobs = (struct blkpat_job *)a;
    uint64_t failed = 0;

    for (uint64_t i = 0; i < b; i++)
        failed += job_run(&jobs[i]);
    return failed;
}

uint32_t blkpat_run(struct blkpat_job *jobs, uint32_t n)
{
    return (uint32_t)user_call(run_ring3, (uint64_t)jobs, n);
}
