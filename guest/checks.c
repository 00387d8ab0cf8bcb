/* SPDX-License-Identifier: MIT */
/*
 * Self-checks: the e820 rules always, and the expectations the test put
 * on the command line (expect_mem=, expect_cpus=, expect_initrd_sum=,
 * expect_cmdline_len=). One "tg: check NAME ok|FAIL detail" line each.
 */
#include "guest/cmdline.h"
#include "guest/lib.h"
#include "guest/tg.h"

#define MIB 0x100000ULL
#define HOLE_START 0xc0000000ULL
#define HOLE_END 0x100000000ULL
#define CR0_PG_BIT 0x80000000ULL
#define GIB4 0x100000000ULL

struct checker {
    struct tg *tg;
    uint32_t fails;
};

static void check(struct checker *c, const char *name, bool ok,
                  const char *detail)
{
    tg_printf("tg: check %s %s %s\n", name, ok ? "ok" : "FAIL", detail);
    if (!ok)
        c->fails++;
}

/* Index of the first entry that breaks each rule, or -1. */
struct e820_verdict {
    int unsorted, overlap, in_hole;
};

static void e820_judge(const struct bootinfo *bi, struct e820_verdict *v)
{
    *v = (struct e820_verdict){-1, -1, -1};
    for (uint32_t i = 0; i < bi->e820_count; i++) {
        const struct e820_entry *e = &bi->e820[i];
        uint64_t end = e->addr + e->size;

        if (i && e->addr < bi->e820[i - 1].addr && v->unsorted < 0)
            v->unsorted = (int)i;
        if (end < e->addr && v->overlap < 0)
            v->overlap = (int)i; /* wraps: overlaps everything */
        for (uint32_t j = 0; j < i && v->overlap < 0; j++) {
            const struct e820_entry *o = &bi->e820[j];

            if (e->addr < o->addr + o->size && o->addr < end)
                v->overlap = (int)i;
        }
        if (e->type == E820_RAM && e->addr < HOLE_END && end > HOLE_START &&
            v->in_hole < 0)
            v->in_hole = (int)i;
    }
}

static void check_rule(struct checker *c, const char *name, int bad,
                       const char *ok_detail)
{
    char d[32];

    fmt(d, sizeof(d), "entry=%d", bad);
    check(c, name, bad < 0, bad < 0 ? ok_detail : d);
}

static void check_e820(struct checker *c)
{
    const struct bootinfo *bi = &c->tg->bi;
    struct e820_verdict v;
    char d[64];

    e820_judge(bi, &v);
    fmt(d, sizeof(d), "entries=%u dropped=%u", bi->e820_count,
        bi->e820_dropped);
    check(c, "e820_present", bi->e820_count && !bi->e820_dropped, d);
    check_rule(c, "e820_sorted", v.unsorted,
               bi->e820_sanitized ? "sanitized" : "-");
    check_rule(c, "e820_disjoint", v.overlap, "-");
    check_rule(c, "e820_hole", v.in_hole, "-");
}

/* Parses key's value; a present but malformed value is itself a FAIL. */
static bool expect(struct checker *c, const char *key, bool suffixes,
                   uint64_t *v)
{
    const struct bootinfo *bi = &c->tg->bi;
    const char *s;
    size_t n;

    if (!cmdline_get(bi->cmdline, bi->cmdline_len, key, &s, &n))
        return false;
    if (parse_u64(s, n, suffixes, v) == 0)
        return true;
    check(c, key, false, "unparsable");
    return false;
}

static void check_expectations(struct checker *c)
{
    struct tg *tg = c->tg;
    struct mem_totals m;
    uint64_t want;
    char d[96];

    if (expect(c, "expect_mem", true, &want)) {
        mem_totals(&tg->bi, &m);
        fmt(d, sizeof(d), "ram=%lu want=%lu", m.ram, want);
        check(c, "expect_mem",
              (m.ram > want ? m.ram - want : want - m.ram) <= MIB, d);
    }
    if (expect(c, "expect_cpus", false, &want)) {
        fmt(d, sizeof(d), "online=%u want=%lu", tg->smp.online, want);
        check(c, "expect_cpus", tg->smp.online == want, d);
    }
    if (expect(c, "expect_initrd_sum", false, &want)) {
        fmt(d, sizeof(d), "sum=0x%08x want=0x%08lx", tg->initrd_sum, want);
        check(c, "expect_initrd_sum",
              tg->initrd_summed && tg->initrd_sum == want, d);
    }
    if (expect(c, "expect_cmdline_len", false, &want)) {
        fmt(d, sizeof(d), "len=%u want=%lu", tg->bi.cmdline_len, want);
        check(c, "expect_cmdline_len", tg->bi.cmdline_len == want, d);
    }
}

/* The initrd must lie inside one RAM entry (the loader reserved it). */
static void check_initrd(struct checker *c)
{
    const struct bootinfo *bi = &c->tg->bi;
    uint64_t a = bi->initrd_addr, end = a + bi->initrd_size;
    bool in_ram = false;
    char d[64];

    if (!bi->initrd_size)
        return;
    for (uint32_t i = 0; i < bi->e820_count; i++) {
        const struct e820_entry *e = &bi->e820[i];

        if (e->type == E820_RAM && a >= e->addr && end > a &&
            end <= e->addr + e->size)
            in_ram = true;
    }
    fmt(d, sizeof(d), "addr=0x%lx end=0x%lx", a, end);
    check(c, "initrd_in_ram", in_ram && c->tg->initrd_summed, d);
}

/*
 * Every loader this guest runs under places an MP table (kvmini always,
 * QEMU's microvm and SeaBIOS too), and a MADT when it hands over an
 * RSDP: a table missing there is a failure, not a reason to fall back
 * on the other one. Where both exist they describe the same APIC IDs.
 */
static void check_smp_tables(struct checker *c)
{
    const struct smp_table *mp = &c->tg->smp.mp, *madt = &c->tg->smp.madt;
    bool same = mp->count == madt->count && mp->nids == madt->nids;
    char d[64];

    if (!mp->found || (!madt->found && c->tg->bi.rsdp)) {
        fmt(d, sizeof(d), "mptable=%s madt=%s rsdp=0x%lx",
            mp->found ? "found" : "none", madt->found ? "found" : "none",
            c->tg->bi.rsdp);
        check(c, "smp_tables_agree", false, d);
        return;
    }
    if (!madt->found) { /* no ACPI: the MP table alone, nothing to compare */
        fmt(d, sizeof(d), "mptable=%u madt=none", mp->count);
        check(c, "smp_tables_agree", true, d);
        return;
    }
    for (uint32_t i = 0; same && i < mp->nids; i++) {
        bool seen = false;

        for (uint32_t j = 0; j < madt->nids; j++)
            seen |= mp->apic_id[i] == madt->apic_id[j];
        same = seen;
    }
    fmt(d, sizeof(d), "mptable=%u madt=%u", mp->count, madt->count);
    check(c, "smp_tables_agree", same, d);
}

/*
 * The 64-bit boot protocol's promises: long mode with paging, interrupts
 * off, the first 4 GiB identity-mapped by the loader's tables.
 */
static void check_loader_state(struct checker *c)
{
    const struct entry_state *e = &c->tg->entry;
    bool irq_off = !(e->regs.rflags & RFLAGS_IF);
    bool lma = e->regs.efer & EFER_LMA, pg = e->regs.cr0 & CR0_PG_BIT;
    char d[96];

    if (!e->regs.valid)
        return;
    fmt(d, sizeof(d), "if=%u lma=%u pg=%u idmap_end=0x%lx cr3=0x%lx", !irq_off,
        lma, pg, e->idmap_end, e->regs.cr3);
    check(c, "loader_state", irq_off && lma && pg && e->idmap_end >= GIB4, d);
}

uint32_t checks_run(struct tg *tg)
{
    struct checker c = {tg, 0};
    char d[64];

    check(&c, "bootinfo", tg->bootinfo_ok, tg->bootinfo_ok ? "-" : "bad magic");
    check_loader_state(&c);
    check_e820(&c);
    check_initrd(&c);
    fmt(d, sizeof(d), "online=%u described=%u", tg->smp.online,
        tg->smp.described);
    check(&c, "smp_all_online", tg->smp.online == tg->smp.described, d);
    check_smp_tables(&c);
    check_expectations(&c);
    tg->fails = c.fails;
    return c.fails;
}
