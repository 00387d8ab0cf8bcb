/* SPDX-License-Identifier: MIT */
/* Unit tests for the MP table renderer (arch/x86/mptable.c). */
#include <errno.h>
#include <string.h>

#include "arch/x86/mptable.h"
#include "tests/unit/mdesc_parse.h"
#include "tests/unit/tap.h"

static uint8_t buf[LAYOUT_MPTABLE_MAX + 64];

static void build(struct machine *m, unsigned ncpus, unsigned nvirtio)
{
    unsigned i;

    machine_init(m, ncpus);
    m->serial = true;
    for (i = 0; i < nvirtio; i++)
        machine_add_virtio(m, 2);
}

static void test_basic(unsigned ncpus, unsigned nvirtio)
{
    struct machine m;
    struct mdesc_view v;
    uint32_t want_pins = 0xffff;
    int len;
    unsigned i;
    bool ids_ok = true;

    build(&m, ncpus, nvirtio);
    memset(buf, 0xaa, sizeof(buf));
    len = mptable_render(&m, LAYOUT_MPTABLE, buf, LAYOUT_MPTABLE_MAX);
    CHECK(len > 0 && (size_t)len == mptable_size(&m),
          "%u cpus %u virtio: rendered %d bytes", ncpus, nvirtio, len);
    CHECK(buf[len] == 0xaa, "nothing written past the returned length");
    CHECK(len > 0 &&
              mdv_parse_mptable(buf, (size_t)len, LAYOUT_MPTABLE, &v) == 0,
          "parses: signatures, checksums, entry order");
    if (len <= 0)
        return;
    CHECK(v.ncpus == ncpus, "%u enabled processors (want %u)", v.ncpus,
          ncpus);
    for (i = 0; i < v.ncpus; i++)
        ids_ok &= v.apic_id[i] == i;
    CHECK(ids_ok, "APIC ids are 0..ncpus-1");
    CHECK(v.bsp_apic == 0, "BSP flag on APIC 0 only");
    CHECK(v.ioapic_id == ncpus && v.ioapic_addr == LAYOUT_IOAPIC,
          "IOAPIC id %u at 0x%llx", v.ioapic_id,
          (unsigned long long)v.ioapic_addr);
    CHECK(v.lapic_addr == LAYOUT_LAPIC, "local APIC address");
    for (i = 0; i < nvirtio; i++)
        want_pins |= 1u << (LAYOUT_VIRTIO_GSI_BASE + i);
    CHECK(v.pins == want_pins, "I/O interrupt pins 0x%x (want 0x%x)",
          v.pins, want_pins);
    CHECK(v.pins_edge_high == want_pins, "all pins edge/active-high");
    CHECK(v.lint_extint0 && v.lint_nmi1, "ExtINT->LINT0, NMI->LINT1");
}

static void test_virtio_flags(void)
{
    struct machine m;
    int len;
    const uint8_t *e;
    bool explicit_ok = true, isa_ok = true;

    /* Walk the raw entries: virtio pins say edge/high, ISA ones conform. */
    build(&m, 2, 16);
    len = mptable_render(&m, LAYOUT_MPTABLE, buf, sizeof(buf));
    for (e = buf + 16 + 44; len > 0 && e < buf + len; e += e[0] ? 8 : 20) {
        bool is_virtio;

        if (e[0] != 3)
            continue;
        is_virtio = e[7] >= LAYOUT_VIRTIO_GSI_BASE &&
                    e[7] < LAYOUT_VIRTIO_GSI_BASE + 16;
        if (is_virtio)
            explicit_ok &= (e[2] | e[3] << 8) == 0x5;
        else
            isa_ok &= (e[2] | e[3] << 8) == 0;
    }
    CHECK(explicit_ok, "virtio pins carry explicit edge/active-high flags");
    CHECK(isa_ok, "other ISA pins conform to the bus");
}

static void test_errors(void)
{
    struct machine m;
    size_t need, cap;
    bool all_enospc = true, untouched = true;
    int r;

    build(&m, 2, 3);
    need = mptable_size(&m);
    for (cap = 0; cap < need; cap++) {
        memset(buf, 0x55, sizeof(buf));
        r = mptable_render(&m, LAYOUT_MPTABLE, buf, cap);
        all_enospc &= r == -ENOSPC;
        untouched &= buf[0] == 0x55;
    }
    CHECK(all_enospc, "every cap below %zu gives -ENOSPC", need);
    CHECK(untouched, "a refused render writes nothing");

    r = mptable_render(&m, 0xffffffffULL - 100, buf, sizeof(buf));
    CHECK(r == -EINVAL, "table crossing 4 GiB refused (%d)", r);
    m.ncpus = 0;
    r = mptable_render(&m, LAYOUT_MPTABLE, buf, sizeof(buf));
    CHECK(r == -EINVAL, "0 CPUs refused (%d)", r);
    m.ncpus = MACHINE_CPUS_MAX + 1;
    r = mptable_render(&m, LAYOUT_MPTABLE, buf, sizeof(buf));
    CHECK(r == -EINVAL, "%d CPUs refused (%d)", MACHINE_CPUS_MAX + 1, r);
}

static void test_max_fits(void)
{
    struct machine m;
    int r;

    build(&m, MACHINE_CPUS_MAX, LAYOUT_VIRTIO_MAX);
    r = mptable_render(&m, LAYOUT_MPTABLE, buf, LAYOUT_MPTABLE_MAX);
    CHECK(r > 0, "%u CPUs + %u virtio fit LAYOUT_MPTABLE_MAX (%d bytes)",
          MACHINE_CPUS_MAX, LAYOUT_VIRTIO_MAX, r);
    /* Where it lands, found as a guest scans for it: test_tables.c. */
}

static void test_corruption_detected(void)
{
    struct machine m;
    struct mdesc_view v;
    int len;

    /* The parser must be able to fail, or the checks above mean nothing. */
    build(&m, 2, 1);
    len = mptable_render(&m, LAYOUT_MPTABLE, buf, sizeof(buf));
    buf[16 + 44 + 1] ^= 1; /* first processor's APIC id */
    CHECK(mdv_parse_mptable(buf, (size_t)len, LAYOUT_MPTABLE, &v) < 0,
          "a flipped byte fails the PCMP checksum");
    buf[16 + 44 + 1] ^= 1;
    buf[10] ^= 1;
    CHECK(mdv_parse_mptable(buf, (size_t)len, LAYOUT_MPTABLE, &v) < 0,
          "a flipped byte fails the floating pointer checksum");
}

int main(void)
{
    test_basic(1, 0);
    test_basic(2, 0);
    test_basic(2, 3);
    test_basic(2, 16);
    test_basic(8, 16);
    test_virtio_flags();
    test_errors();
    test_max_fits();
    test_corruption_detected();
    return tap_done();
}
