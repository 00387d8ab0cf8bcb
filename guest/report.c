/* SPDX-License-Identifier: MIT */
/* Prints the machine-readable "tg: " fact lines. */
#include "guest/lib.h"
#include "guest/serial.h"
#include "guest/tg.h"

#define GIB4 0x100000000ULL

void mem_totals(const struct bootinfo *bi, struct mem_totals *m)
{
    *m = (struct mem_totals){0, 0, 0};
    for (uint32_t i = 0; i < bi->e820_count; i++) {
        const struct e820_entry *e = &bi->e820[i];
        uint64_t end = e->addr + e->size;

        if (e->type != E820_RAM || end < e->addr)
            continue;
        m->ram += e->size;
        if (e->addr < GIB4)
            m->below4g += (end < GIB4 ? end : GIB4) - e->addr;
    }
    m->above4g = m->ram - m->below4g;
}

void report_hello(const struct tg *tg)
{
    tg_printf("tg: hello proto=%s\n",
              tg->bi.proto == PROTO_PVH ? "pvh" : "bzimage");
}

/*
 * The command line is printed between quotes as is, except that a
 * backslash becomes "\\" and bytes outside 0x20..0x7e become "\xHH", so
 * the line stays one line; len= counts the raw bytes.
 */
void report_cmdline(const struct tg *tg)
{
    const char *cl = tg->bi.cmdline;

    tg_printf("tg: cmdline len=%u \"", tg->bi.cmdline_len);
    for (uint32_t i = 0; i < tg->bi.cmdline_len; i++) {
        unsigned char c = (unsigned char)cl[i];

        if (c == '\\')
            serial_write("\\\\", 2);
        else if (c >= 0x20 && c <= 0x7e)
            serial_putc((char)c);
        else
            tg_printf("\\x%02x", c);
    }
    serial_write("\"\n", 2);
}

void report_e820(const struct tg *tg)
{
    for (uint32_t i = 0; i < tg->bi.e820_count; i++) {
        const struct e820_entry *e = &tg->bi.e820[i];

        tg_printf("tg: e820 0x%lx 0x%lx %u\n", e->addr, e->size, e->type);
    }
}

void report_mem(const struct tg *tg)
{
    struct mem_totals m;

    mem_totals(&tg->bi, &m);
    tg_printf("tg: mem ram=%lu below4g=%lu above4g=%lu\n", m.ram, m.below4g,
              m.above4g);
}

void report_initrd(const struct tg *tg)
{
    if (!tg->bi.initrd_size)
        tg_printf("tg: initrd none\n");
    else if (!tg->initrd_summed)
        tg_printf("tg: initrd addr=0x%lx size=%lu sum=none\n",
                  tg->bi.initrd_addr, tg->bi.initrd_size);
    else
        tg_printf("tg: initrd addr=0x%lx size=%lu sum=0x%08x\n",
                  tg->bi.initrd_addr, tg->bi.initrd_size, tg->initrd_sum);
}

static void report_table(const char *name, const struct smp_table *t)
{
    if (!t->found) {
        tg_printf("tg: smp %s none\n", name);
        return;
    }
    tg_printf("tg: smp %s addr=0x%lx cpus=%u\n", name, t->addr, t->count);
}

void report_cpus(const struct tg *tg)
{
    report_table("mptable", &tg->smp.mp);
    report_table("madt", &tg->smp.madt);
    tg_printf("tg: cpus described=%u online=%u\n", tg->smp.described,
              tg->smp.online);
}
