/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the ACPI tables (arch/x86/acpi*.c, aml.c): structure
 * and checksums checked here byte by byte, then the tables are handed
 * to ACPICA's own disassembler (`iasl -d`) and, for the DSDT, compiled
 * back with `iasl` and compared byte for byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "hw/ged.h"
#include "tests/unit/mdesc_parse.h"
#include "tests/unit/tap.h"

static uint8_t blob[LAYOUT_ACPI_MAX];

/* _EVT tests the bit the event register sets. */
_Static_assert(ACPI_GED_EVT_POWER == GED_EVT_POWER, "one power bit");

static void build(struct machine *m, unsigned ncpus, unsigned nvirtio)
{
    unsigned i;

    machine_init(m, ncpus);
    m->serial = true;

    for (i = 0; i < nvirtio; i++)
        machine_add_virtio(m, i % 3 + 1);
}

/* Table at guest address gpa inside blob (rendered at LAYOUT_ACPI). */
static const uint8_t *at(uint64_t gpa, size_t len)
{
    if (gpa < LAYOUT_ACPI || gpa - LAYOUT_ACPI + len > sizeof(blob))
        return NULL;
    return blob + (gpa - LAYOUT_ACPI);
}

static const uint8_t *table(uint64_t gpa, const char *sig)
{
    const uint8_t *t = at(gpa, 36);

    if (!t || memcmp(t, sig, 4) != 0 || !at(gpa, mdv_le32(t + 4)))
        return NULL;
    return mdv_sum8(t, mdv_le32(t + 4)) == 0 ? t : NULL;
}

static void test_structure(void)
{
    struct machine m;
    struct acpi_info info;
    const uint8_t *x, *fadt, *madt, *dsdt;
    int len;

    build(&m, 2, 16);
    len = acpi_render(&m, LAYOUT_ACPI, blob, sizeof(blob), &info);
    CHECK(len > 0 && len <= (int)LAYOUT_ACPI_MAX, "rendered %d bytes", len);
    CHECK(info.rsdp_gpa == LAYOUT_ACPI && info.ntables == 5,
          "RSDP at 0x%llx, %u tables", (unsigned long long)info.rsdp_gpa,
          info.ntables);
    CHECK(memcmp(blob, "RSD PTR ", 8) == 0 && blob[15] == 2,
          "RSDP signature, revision 2");
    CHECK(mdv_sum8(blob, 20) == 0 && mdv_sum8(blob, 36) == 0 &&
              mdv_le32(blob + 20) == 36,
          "RSDP checksum and extended checksum");
    x = table(mdv_le64(blob + 24), "XSDT");
    CHECK(x && mdv_le32(x + 4) == 36 + 16, "XSDT found, checksum ok, 2 entries");
    if (!x)
        return;
    fadt = table(mdv_le64(x + 36), "FACP");
    madt = table(mdv_le64(x + 44), "APIC");
    CHECK(fadt && mdv_le32(fadt + 4) == 276 && fadt[8] == 6 && fadt[131] == 3,
          "FADT 6.3, 276 bytes, checksum ok");
    CHECK(madt != NULL, "MADT found, checksum ok");
    if (!fadt || !madt)
        return;
    dsdt = table(mdv_le64(fadt + 140), "DSDT");
    CHECK(dsdt && mdv_le32(fadt + 40) == mdv_le64(fadt + 140) && dsdt[8] == 2,
          "DSDT via X_DSDT (= DSDT), revision 2, checksum ok");
    CHECK(mdv_le32(fadt + 112) & (1u << 20), "FADT HW_REDUCED_ACPI");
    CHECK(fadt[244] == 1 && fadt[245] == 8 && fadt[247] == 1 &&
              mdv_le64(fadt + 248) == LAYOUT_ACPI_SLEEP_PORT,
          "sleep control: byte I/O port 0x%x", LAYOUT_ACPI_SLEEP_PORT);
    CHECK(fadt[256] == 1 && mdv_le64(fadt + 260) == LAYOUT_ACPI_SLEEP_STATUS_PORT,
          "sleep status: I/O port 0x%x", LAYOUT_ACPI_SLEEP_STATUS_PORT);
    CHECK((mdv_le32(fadt + 112) & (1u << 10)) && fadt[116] == 1 &&
              mdv_le64(fadt + 120) == 0x64 && fadt[128] == 0xfe,
          "reset register: 0xfe to port 0x64");
    CHECK(mdv_le32(x + 36) == LAYOUT_ACPI + info.t[2].off &&
              !strcmp(info.t[2].sig, "FACP"),
          "acpi_info offsets match the pointers");
}

static void test_errors(void)
{
    struct machine m;
    int need, r;
    size_t cap;
    bool all = true;

    build(&m, 2, 4);
    need = acpi_render(&m, LAYOUT_ACPI, blob, sizeof(blob), NULL);
    for (cap = 0; need > 0 && cap < (size_t)need; cap++) {
        r = acpi_render(&m, LAYOUT_ACPI, blob, cap, NULL);
        all &= r == -ENOSPC;
    }
    CHECK(need > 0 && all, "every cap below %d bytes gives -ENOSPC", need);
    r = acpi_render(&m, LAYOUT_ACPI + 4, blob, sizeof(blob), NULL);
    CHECK(r == -EINVAL, "unaligned RSDP address refused (%d)", r);
    r = acpi_render(&m, 0x100000000ULL, blob, sizeof(blob), NULL);
    CHECK(r == -EINVAL, "tables above 4 GiB refused (%d)", r);
    m.nvirtio = LAYOUT_VIRTIO_MAX + 1;
    r = acpi_render(&m, LAYOUT_ACPI, blob, sizeof(blob), NULL);
    CHECK(r == -EINVAL, "corrupt machine refused (%d)", r);
    build(&m, 1, 0);
    r = acpi_dump(&m, "/nonexistent/kvmini-acpi");
    CHECK(r == -ENOENT, "dump into a missing dir: -ENOENT (%d)", r);
}

static void test_aml_encoding(void)
{
    uint8_t b[8192];
    struct aml a;
    size_t mark;
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    static const uint8_t zeros[5000];
    struct { size_t body; uint8_t lead; unsigned n; } pk[] = {
        { 58, 63, 1 },  /* 4-byte name + 58 + 1 = 63: one byte */
        { 59, 0x40 | ((59 + 4 + 2) & 0xf), 2 },
        { 4089, 0x40 | ((4089 + 4 + 2) & 0xf), 2 }, /* 4095 */
        { 4090, 0x80 | ((4090 + 4 + 3) & 0xf), 3 }, /* 4097 */
    };
    unsigned i;

    aml_init(&a, b, sizeof(b));
    aml_eisaid(&a, "PNP0501");
    CHECK(aml_finish(&a) == 5 && !memcmp(b, pnp0501, 5),
          "EisaId(PNP0501) = DWord 0x0105D041");
    for (i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
        aml_init(&a, b, sizeof(b));
        mark = aml_scope_begin(&a, "ABCD");
        aml_bytes(&a, zeros, pk[i].body);
        aml_end(&a, mark);
        CHECK(aml_finish(&a) == (int)(1 + pk[i].n + 4 + pk[i].body) &&
                  b[1] == pk[i].lead && !memcmp(b + 1 + pk[i].n, "ABCD", 4),
              "PkgLength for a %zu-byte body: %u byte(s), lead 0x%02x",
              pk[i].body, pk[i].n, b[1]);
    }
    aml_init(&a, b, 10);
    aml_string(&a, "a string longer than ten bytes");
    aml_integer(&a, 7);
    CHECK(aml_finish(&a) == -ENOSPC, "overflow is sticky: -ENOSPC");
    aml_init(&a, b, sizeof(b));
    aml_integer(&a, 0x123456789ULL);
    aml_integer(&a, 0xfffe);
    CHECK(aml_finish(&a) == 12 && b[0] == 0x0e && b[9] == 0x0b,
          "QWord and Word integer prefixes");
    /* The power button's terms, byte for byte (ACPI 6.3, 20.2.5). */
    static const uint8_t evt[] = {
        0x14, 0x10, '_',  'E',  'V',  'T',  0x09, /* Method (_EVT, 1, Ser) */
        0xa0, 0x09, 0x7b, 0x60, 0x01, 0x00,       /* If (And (Local0, One)) */
        0x86, 0x68, 0x0a, 0x80,                   /* Notify (Arg0, 0x80) */
    };
    aml_init(&a, b, sizeof(b));
    mark = aml_method_begin(&a, "_EVT", 1, true);
    size_t cond = aml_if_begin(&a);
    aml_and(&a);
    aml_local(&a, 0);
    aml_integer(&a, 1);
    aml_no_target(&a);
    aml_notify(&a);
    aml_bytes(&a, "\x68", 1); /* Arg0 */
    aml_integer(&a, 0x80);
    aml_end(&a, cond);
    aml_end(&a, mark);
    CHECK(aml_finish(&a) == (int)sizeof(evt) && !memcmp(b, evt, sizeof(evt)),
          "Method, If, And, Notify: PkgLengths close over their bodies");
    static const uint8_t field[] = {0x5b, 0x81, 0x0b, 'E', 'R', 'E', 'G',
                                    0x41, 'E',  'S',  'T', 'A', 0x08};
    aml_init(&a, b, sizeof(b));
    aml_field_byte(&a, "EREG", "ESTA", 8);
    CHECK(aml_finish(&a) == (int)sizeof(field) &&
              !memcmp(b, field, sizeof(field)),
          "Field (EREG, ByteAcc, NoLock, WriteAsZeros) { ESTA, 8 }");
    aml_init(&a, b, sizeof(b));
    aml_field_byte(&a, "EREG", "ESTA", 64);
    CHECK(aml_finish(&a) == -ENOSPC,
          "a field width a one-byte PkgLength cannot hold is refused");
}

static char *iasl_d(const char *dir, const char *name)
{
    char cmd[512], path[300];
    int st;
    char *out, *text;

    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat 2>&1", dir, name);
    out = mdv_run(cmd, &st);
    if (!out || st != 0 || strstr(out, "Error") ||
        strstr(out, "does not contain a valid")) {
        DIAG("iasl -d %s failed (status %d): %s", name, st,
             out ? out : "");
        free(out);
        return NULL;
    }
    free(out);
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    text = mdv_slurp(path, NULL);
    return text;
}

/*
 * Run the power button's _EVT in ACPICA's own interpreter (acpiexec, the
 * code Linux runs): the I/O region is simulated, filled with `fill`, so
 * the event register reads `fill`. Returns acpiexec's output.
 */
static char *acpiexec_evt(const char *dir, unsigned fill)
{
    char cmd[512];
    int st;
    char *out;

    snprintf(cmd, sizeof(cmd),
             "cd %s && acpiexec -fv 0x%x -b 'execute \\_SB.GED0._EVT %u; "
             "evaluate \\_SB.GED0.ESTA' dsdt.dat 2>&1",
             dir, fill, LAYOUT_GED_GSI);
    out = mdv_run(cmd, &st);
    if (out && st != 0) {
        DIAG("acpiexec status %d: %s", st, out);
        free(out);
        return NULL;
    }
    return out;
}

/* The power button's devices and _EVT, as iasl and acpiexec see them. */
static void test_power_button(const char *dir, const char *dsdt, bool on)
{
    const char *ged = dsdt ? strstr(dsdt, "Device (GED0)") : NULL;
    const char *pwrb = dsdt ? strstr(dsdt, "Device (PWRB)") : NULL;
    char want[128];
    char *out;

    if (!on) {
        CHECK(dsdt && !ged && !pwrb && !strstr(dsdt, "ACPI0013"),
              "DSDT (iasl): no power button without machine.power_button");
        return;
    }
    CHECK(pwrb && strstr(pwrb, "EisaId (\"PNP0C0C\")"),
          "DSDT (iasl): PWRB is a PNP0C0C control-method power button");
    snprintf(want, sizeof(want), "0x%08X,", LAYOUT_GED_GSI);
    CHECK(ged && strstr(ged, "\"ACPI0013\"") &&
              strstr(ged, "Interrupt (ResourceConsumer, Edge, ActiveHigh, "
                          "Exclusive, ,, )") &&
              strstr(ged, want),
          "DSDT (iasl): GED0 (ACPI0013) on GSI %u, edge, active-high",
          LAYOUT_GED_GSI);
    snprintf(want, sizeof(want),
             "OperationRegion (EREG, SystemIO, 0x%04X, One)", LAYOUT_GED_PORT);
    CHECK(ged && strstr(ged, want) &&
              strstr(ged, "Field (EREG, ByteAcc, NoLock, WriteAsZeros)") &&
              strstr(ged, "Method (_EVT, 1, Serialized)") &&
              strstr(ged, "Notify (PWRB, 0x80)"),
          "DSDT (iasl): its event register at port 0x%x, _EVT notifies PWRB",
          LAYOUT_GED_PORT);
    if (!mdv_have_tool("acpiexec")) {
        TAP_MISSING("acpiexec not installed (Debian acpica-tools)");
        return;
    }
    out = acpiexec_evt(dir, 0x00);
    CHECK(out && strstr(out, "Evaluating \\_SB.GED0._EVT") &&
              !strstr(out, "Notify"),
          "acpiexec: _EVT with no event pending sends no Notify");
    free(out);
    out = acpiexec_evt(dir, 0xff);
    CHECK(out && strstr(out, "Device Notify on [PWRB]") &&
              strstr(out, "Value 0x80"),
          "acpiexec: _EVT with the power bit pending: Notify (PWRB, 0x80)");
    /* The region read 0xff; _EVT's ack wrote 1 (write 1 to clear). */
    const char *esta =
        out ? strstr(out, "Evaluation of \\_SB.GED0.ESTA returned") : NULL;
    esta = esta ? strstr(esta, "[Integer] = ") : NULL;
    CHECK(esta && !strncmp(esta + 12, "0000000000000001\n", 17),
          "acpiexec: ... after writing the power bit back (the ack)");
    if (out && !esta)
        DIAG("%s", out);
    free(out);
}

static void test_iasl_one(unsigned ncpus, unsigned nvirtio, bool pwrb)
{
    char dir[] = "/tmp/kvmini-acpi-XXXXXX", cmd[512], path[300];
    struct machine m;
    struct mdesc_view v;
    char *madt, *dsdt, *facp, *out;
    char *aml, *orig;
    size_t alen, olen;
    unsigned i;
    bool wins = true;
    int st;

    build(&m, ncpus, nvirtio);
    m.power_button = pwrb;
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    CHECK(acpi_dump(&m, dir) == 0, "acpi_dump %u cpus %u virtio into %s",
          ncpus, nvirtio, dir);
    madt = iasl_d(dir, "apic");
    dsdt = iasl_d(dir, "dsdt");
    facp = iasl_d(dir, "facp");
    out = iasl_d(dir, "xsdt");
    CHECK(madt && dsdt && facp && out, "iasl -d accepts XSDT, FADT, MADT, "
                                       "DSDT without errors");
    free(out);
    mdv_init(&v);
    CHECK(madt && mdv_parse_madt_dsl(madt, &v) == 0 && v.ncpus == ncpus &&
              v.apic_id[ncpus - 1] == ncpus - 1,
          "MADT (iasl): %u enabled local APICs, ids 0..%u", v.ncpus,
          ncpus - 1);
    CHECK(v.ioapic_id == ncpus && v.ioapic_addr == LAYOUT_IOAPIC &&
              v.ioapic_gsi_base == 0 && v.lapic_addr == LAYOUT_LAPIC,
          "MADT (iasl): IOAPIC id %u at 0x%llx, GSI base %u", v.ioapic_id,
          (unsigned long long)v.ioapic_addr, v.ioapic_gsi_base);
    CHECK(v.lint_nmi1, "MADT (iasl): NMI on LINT1");
    CHECK(dsdt && mdv_parse_dsdt_dsl(dsdt, &v) == 0 && v.nwin == nvirtio,
          "DSDT (iasl): %u LNRO0005 devices", v.nwin);
    for (i = 0; i < v.nwin && i < nvirtio; i++)
        wins &= v.win[i].base == m.virtio[i].base &&
                v.win[i].size == LAYOUT_VIRTIO_MMIO_SIZE &&
                v.win[i].gsi == m.virtio[i].gsi && v.win[i].edge_high;
    CHECK(wins, "DSDT (iasl): each window, size and edge/high GSI right");
    CHECK(v.serial && v.serial_port == 0x3f8 && v.serial_gsi == 4,
          "DSDT (iasl): PNP0501 at 0x%llx IRQ %u",
          (unsigned long long)v.serial_port, v.serial_gsi);
    CHECK(v.cpu_devs == ncpus, "DSDT (iasl): %u ACPI0007 devices",
          v.cpu_devs);
    CHECK(v.s5_typ == ACPI_S5_SLP_TYP, "DSDT (iasl): _S5 SLP_TYP %d",
          v.s5_typ);
    /*
     * What a guest writes to power off (ACPI 6.3, 4.8.3.7: SLP_TYP in
     * bits 2-4, SLP_EN bit 5) from the _S5 it read must be the byte
     * kvmini's sleep port acts on (main.c gives hw/sysports
     * ACPI_SLEEP_S5).
     */
    CHECK(v.s5_typ >= 0 &&
              (uint8_t)(1u << 5 | (v.s5_typ & 7) << 2) == ACPI_SLEEP_S5,
          "DSDT (iasl): SLP_EN|_S5 makes 0x%02x, the byte the sleep port "
          "powers off on (0x%02x)",
          v.s5_typ >= 0 ? 1u << 5 | (v.s5_typ & 7) << 2 : 0, ACPI_SLEEP_S5);
    test_power_button(dir, dsdt, pwrb);
    CHECK(facp && strstr(facp, "Hardware Reduced (V5) : 1") &&
              strstr(facp, "Reset Register Supported (V2) : 1"),
          "FADT (iasl): hardware reduced, reset register");

    /* Compile the disassembly back: same AML as ours, byte for byte. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && cp dsdt.dsl re.dsl && iasl -p re re.dsl 2>&1", dir);
    out = mdv_run(cmd, &st);
    CHECK(out && st == 0 && strstr(out, "0 Errors, 0 Warnings"),
          "iasl recompiles the DSDT: 0 errors, 0 warnings");
    free(out);
    snprintf(path, sizeof(path), "%s/re.aml", dir);
    aml = mdv_slurp(path, &alen);
    snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
    orig = mdv_slurp(path, &olen);
    CHECK(aml && orig && alen == olen &&
              !memcmp(aml + 36, orig + 36, olen - 36),
          "recompiled AML body is identical (%zu bytes)", olen);
    free(aml);
    free(orig);
    free(madt);
    free(dsdt);
    free(facp);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        DIAG("could not remove %s", dir);
}

int main(void)
{
    test_structure();
    test_errors();
    test_aml_encoding();
    if (!mdv_have_tool("iasl")) {
        TAP_MISSING("iasl not installed (Debian acpica-tools)");
        return tap_done();
    }
    test_iasl_one(1, 0, false);
    test_iasl_one(2, 16, true);
    test_iasl_one(MACHINE_CPUS_MAX, 3, true);
    return tap_done();
}
