/* SPDX-License-Identifier: MIT */
/* MP table and MADT parsing, and INIT-SIPI-SIPI AP start-up. */
#include "guest/smp.h"
#include "guest/apic.h"
#include "guest/io.h"
#include "guest/layout.h"
#include "guest/lib.h"
#include "guest/user.h"

#define BDA_EBDA_SEG 0x40e
#define BDA_BASE_KB 0x413
#define BIOS_ROM 0xf0000
#define ACPI_SCAN 0xe0000
#define LOW_1M 0x100000
#define TABLE_MAX 0x10000   /* larger tables are treated as corrupt */
#define MP_SIG 0x5f504d5f   /* "_MP_" */
#define RSDP_SIG 0x20445352 /* "RSD " */

#define ICR_INIT 0x4500 /* INIT, level assert */
#define ICR_SIPI 0x4600 /* start-up */

extern char tramp_start[], tramp_end[];
extern volatile uint32_t ap_count;

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* Counts every CPU; keeps the xAPIC-addressable IDs for start-up. */
static void table_add(struct smp_table *t, uint32_t id)
{
    if (t->nids < SMP_MAX_CPUS && id < 0xff)
        t->apic_id[t->nids++] = (uint8_t)id;
    t->count++;
}

/*
 * Finds a valid "_MP_" floating pointer on a 16-byte boundary in
 * [start, start + len). The scan itself runs in ring 3 (native speed);
 * ring 0 only validates the candidates.
 */
static const uint8_t *mp_scan(uint64_t start, uint32_t len)
{
    uint64_t end = start + len, a;

    while (start < end &&
           (a = user_find_sig(start, (uint32_t)(end - start), MP_SIG))) {
        const uint8_t *p = (const uint8_t *)a;

        if (a + 16 <= end && p[8] == 1 && !sum8(p, 16))
            return p;
        start = a + 16;
    }
    return NULL;
}

static void mp_parse(struct smp_table *t)
{
    const uint16_t *bda_ebda = phys(BDA_EBDA_SEG), *bda_kb = phys(BDA_BASE_KB);
    uint64_t ebda = (uint64_t)*bda_ebda << 4, base = (uint64_t)*bda_kb << 10;
    const uint8_t *fp = NULL, *ct, *e, *end;
    uint32_t len, pa;

    /*
     * A loader that fills no BIOS data area (kvmini) leaves both words 0:
     * then the last KiB of 640K is where the table is (MP spec 1.4, 4).
     */
    if (ebda >= 0x80000 && ebda < 0xa0000)
        fp = mp_scan(ebda, 1024);
    if (base < 0x80000 || base > 0xa0000)
        base = 0xa0000;
    if (!fp)
        fp = mp_scan(base - 1024, 1024);
    if (!fp)
        fp = mp_scan(BIOS_ROM, 0x10000);
    if (!fp)
        return;
    pa = *(const uint32_t *)(fp + 4);
    /* 0: a default configuration (unsupported); near 4 GiB: unmapped. */
    if (!pa || pa > (1ULL << 32) - TABLE_MAX)
        return;
    ct = (const uint8_t *)(uint64_t)pa;
    len = *(const uint16_t *)(ct + 4);
    if (*(const uint32_t *)ct != 0x504d4350 || len < 44 || len > TABLE_MAX ||
        sum8(ct, len))
        return; /* not "PCMP", or corrupt */
    t->found = 1;
    t->addr = (uint64_t)ct;
    end = ct + len;
    for (e = ct + 44; e < end;) {
        if (e[0] == 0) { /* processor: 20 bytes, flags bit 0 = enabled */
            if (e + 20 > end)
                break;
            if (e[3] & 1)
                table_add(t, e[1]);
            e += 20;
        } else if (e[0] <= 4) {
            e += 8;
        } else {
            break; /* unknown entry: its length is unknown too */
        }
    }
}

static const uint8_t *acpi_rsdp(uint64_t rsdp)
{
    if (rsdp && rsdp < (1ULL << 32) - 36) {
        const uint8_t *p = (const uint8_t *)rsdp;

        if (!memcmp(p, "RSD PTR ", 8) && !sum8(p, 20))
            return p;
    }
    for (uint64_t a = ACPI_SCAN;
         (a = user_find_sig(a, (uint32_t)(LOW_1M - a), RSDP_SIG)); a += 16) {
        const uint8_t *p = (const uint8_t *)a;

        if (a + 20 <= LOW_1M && !memcmp(p, "RSD PTR ", 8) && !sum8(p, 20))
            return p;
    }
    return NULL;
}

/* Returns the ACPI table at pa if it is below 4 GiB and sane. */
static const uint8_t *acpi_table(uint64_t pa)
{
    const uint8_t *p = (const uint8_t *)pa;
    uint32_t len;

    if (!pa || pa >= (1ULL << 32) - TABLE_MAX)
        return NULL;
    len = *(const uint32_t *)(p + 4);
    if (len < 36 || len > TABLE_MAX || sum8(p, len))
        return NULL;
    return p;
}

static void madt_parse(struct smp_table *t, uint64_t rsdp_pa)
{
    const uint8_t *rsdp = acpi_rsdp(rsdp_pa), *sdt = NULL, *madt, *e, *end;
    uint32_t esz = 4;

    if (!rsdp)
        return;
    if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
        sdt = acpi_table(*(const uint64_t *)(rsdp + 24));
        esz = 8;
    }
    if (!sdt) {
        sdt = acpi_table(*(const uint32_t *)(rsdp + 16));
        esz = 4;
    }
    if (!sdt)
        return;
    for (uint32_t off = 36; off + esz <= *(const uint32_t *)(sdt + 4);
         off += esz) {
        uint64_t pa = esz == 8 ? *(const uint64_t *)(sdt + off)
                               : *(const uint32_t *)(sdt + off);

        madt = acpi_table(pa);
        if (!madt || memcmp(madt, "APIC", 4))
            continue;
        t->found = 1;
        t->addr = pa;
        end = madt + *(const uint32_t *)(madt + 4);
        for (e = madt + 44; e + 2 <= end && e[1] >= 2 && e + e[1] <= end;
             e += e[1]) {
            /*
             * Local APIC (0) / x2APIC (9), enabled. Online-capable but
             * disabled ones are hot-plug slots, not CPUs to start.
             */
            if (e[0] == 0 && e[1] >= 8 && (e[4] & 1))
                table_add(t, e[3]);
            else if (e[0] == 9 && e[1] >= 16 && (e[8] & 1))
                table_add(t, *(const uint32_t *)(e + 4));
        }
        return;
    }
}

void smp_discover(struct smp *s, uint64_t rsdp)
{
    mp_parse(&s->mp);
    madt_parse(&s->madt, rsdp);
    s->described = s->madt.found ? s->madt.count
                   : s->mp.found ? s->mp.count
                                 : 1;
    s->online = 1;
}

void smp_start_aps(struct smp *s, const struct timer *t)
{
    const struct smp_table *tab = s->madt.found ? &s->madt : &s->mp;
    uint64_t apic = apic_init(), end;
    uint32_t n = tab->nids;
    uint32_t targets = 0;

    s->bsp_id = apic_id(apic);
    if (s->described <= 1)
        return;
    memcpy((void *)TRAMPOLINE_BASE, tramp_start, tramp_end - tramp_start);
    ap_count = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (tab->apic_id[i] == s->bsp_id)
            continue;
        apic_ipi(apic, tab->apic_id[i], ICR_INIT, t);
        targets++;
    }
    timer_delay_us(t, 10000);
    for (int round = 0; round < 2 && ap_count < targets; round++) {
        for (uint32_t i = 0; i < n; i++)
            if (tab->apic_id[i] != s->bsp_id)
                apic_ipi(apic, tab->apic_id[i],
                         ICR_SIPI | TRAMPOLINE_BASE >> 12, t);
        timer_delay_us(t, 200);
    }
    end = timer_deadline(t, 1000000);
    while (ap_count < targets && !timer_expired(end))
        cpu_relax();
    s->online = 1 + ap_count;
}
