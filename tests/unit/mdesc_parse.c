/* SPDX-License-Identifier: MIT */
/* Test-side readers of the machine description renderings. */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "tests/unit/mdesc_parse.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("# mdv: ");                                                     \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        return -1;                                                             \
    } while (0)

uint8_t mdv_sum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (len--)
        s += *b++;
    return s;
}

static int mdv_mp_entry(const uint8_t *e, struct mdesc_view *v)
{
    unsigned pin;

    switch (e[0]) {
    case 0: /* processor */
        if (!(e[3] & 1))
            return 0;
        if (v->ncpus >= MDV_MAX_CPUS)
            FAIL("too many CPUs");
        if (e[3] & 2) {
            if (v->bsp_apic >= 0)
                FAIL("two BSPs");
            v->bsp_apic = e[1];
        }
        v->apic_id[v->ncpus++] = e[1];
        return 0;
    case 1: /* bus */
        if (memcmp(e + 2, "ISA   ", 6) != 0 || e[1] != 0)
            FAIL("unexpected bus %d '%.6s'", e[1], (const char *)e + 2);
        return 0;
    case 2: /* ioapic */
        if (!(e[3] & 1))
            FAIL("IOAPIC disabled");
        if (v->ioapic_addr)
            FAIL("two IOAPICs");
        v->ioapic_id = e[1];
        v->ioapic_addr = mdv_le32(e + 4);
        return 0;
    case 3: /* I/O interrupt */
        pin = e[7];
        if (e[1] != 0 || e[4] != 0 || e[6] != v->ioapic_id ||
            pin >= MDV_MAX_PINS || e[5] != pin)
            FAIL("odd I/O interrupt entry: type %d bus %d irq %d apic %d "
                 "pin %d", e[1], e[4], e[5], e[6], e[7]);
        if (v->pins & (1u << pin))
            FAIL("pin %u routed twice", pin);
        v->pins |= 1u << pin;
        /* flags 0 on the ISA bus also mean edge + active high */
        if (mdv_le16(e + 2) == 0x5 || mdv_le16(e + 2) == 0)
            v->pins_edge_high |= 1u << pin;
        return 0;
    case 4: /* local interrupt */
        if (e[6] != 0xff)
            FAIL("local interrupt for one APIC only");
        if (e[1] == 3 && e[7] == 0)
            v->lint_extint0 = true;
        else if (e[1] == 1 && e[7] == 1)
            v->lint_nmi1 = true;
        else
            FAIL("odd local interrupt type %d lint %d", e[1], e[7]);
        return 0;
    }
    FAIL("unknown MP entry type %d", e[0]);
}

int mdv_parse_mptable(const void *buf, size_t len, uint64_t gpa,
                      struct mdesc_view *v)
{
    const uint8_t *b = buf, *h, *e;
    uint32_t cfg;
    unsigned i, count, tlen, last_type = 0;

    mdv_init(v);
    if (len < 16 || memcmp(b, "_MP_", 4) != 0)
        FAIL("no _MP_ at start");
    if (b[8] != 1 || b[9] != 4 || mdv_sum8(b, 16) != 0)
        FAIL("floating pointer: length %d rev %d sum %d", b[8], b[9],
             mdv_sum8(b, 16));
    if (b[11] != 0)
        FAIL("default configuration %d instead of a table", b[11]);
    cfg = mdv_le32(b + 4);
    if (cfg < gpa || cfg - gpa + 44 > len)
        FAIL("config pointer 0x%x outside buffer", cfg);
    h = b + (cfg - gpa);
    tlen = mdv_le16(h + 4);
    if (memcmp(h, "PCMP", 4) != 0 || h[6] != 4 || cfg - gpa + tlen > len)
        FAIL("bad PCMP header");
    if (mdv_sum8(h, tlen) != 0)
        FAIL("PCMP checksum sum %d", mdv_sum8(h, tlen));
    v->lapic_addr = mdv_le32(h + 36);
    count = mdv_le16(h + 34);
    e = h + 44;
    for (i = 0; i < count; i++) {
        unsigned elen = e[0] == 0 ? 20 : 8;

        if (e + elen > h + tlen)
            FAIL("entry %u runs past the table", i);
        if (e[0] < last_type)
            FAIL("entries not sorted by type");
        last_type = e[0];
        if (mdv_mp_entry(e, v) < 0)
            return -1;
        e += elen;
    }
    if (e != h + tlen)
        FAIL("%td bytes after the last entry", h + tlen - e);
    return 0;
}

void mdv_init(struct mdesc_view *v)
{
    memset(v, 0, sizeof(*v));
    v->bsp_apic = -1;
    v->s5_typ = -1;
}

/* "[02Fh 0047   1]     Local Apic ID : 00" -> key, hex value. */
static bool mdv_field(const char *line, const char *key, uint64_t *val)
{
    const char *k = strstr(line, key), *colon;

    if (!k || !(colon = strstr(k, " : ")))
        return false;
    /* the key must end right before the colon (modulo spaces) */
    for (k += strlen(key); k < colon; k++)
        if (*k != ' ')
            return false;
    *val = strtoull(colon + 3, NULL, 16);
    return true;
}

/* Copy the next line of *text into buf (NUL-terminated, cut to fit) and
 * advance *text; false at the end. */
static bool mdv_next_line(const char **text, char *buf, size_t cap)
{
    const char *line = *text;
    if (!line || !*line)
        return false;
    const char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    *text = nl ? nl + 1 : NULL;
    return true;
}

int mdv_parse_madt_dsl(const char *text, struct mdesc_view *v)
{
    const char *line = text;
    int type = -1;
    uint64_t x, pending_id = 0;

    char buf[256];

    while (mdv_next_line(&line, buf, sizeof(buf))) {

        if (mdv_field(buf, "Subtable Type", &x)) {
            type = (int)x;
        } else if (mdv_field(buf, "Local Apic Address", &x)) {
            v->lapic_addr = x;
        } else if (type == 0 && mdv_field(buf, "Local Apic ID", &x)) {
            pending_id = x;
        } else if (type == 0 && mdv_field(buf, "Processor Enabled", &x)) {
            if (x != 1)
                continue;
            if (v->ncpus >= MDV_MAX_CPUS)
                FAIL("MADT: too many CPUs");
            v->apic_id[v->ncpus++] = (uint8_t)pending_id;
        } else if (type == 1 && mdv_field(buf, "I/O Apic ID", &x)) {
            if (v->ioapic_addr)
                FAIL("MADT: two IOAPICs");
            v->ioapic_id = (unsigned)x;
        } else if (type == 1 && mdv_field(buf, "Address", &x)) {
            v->ioapic_addr = x;
        } else if (type == 1 && mdv_field(buf, "Interrupt", &x)) {
            v->ioapic_gsi_base = (uint32_t)x;
        } else if (type == 4 && mdv_field(buf, "Interrupt Input LINT", &x)) {
            v->lint_nmi1 = x == 1;
        } else if (type == 2) {
            FAIL("MADT: unexpected interrupt source override");
        }
    }
    if (!v->ncpus || !v->ioapic_addr)
        FAIL("MADT: no CPUs or no IOAPIC found");
    return 0;
}

enum mdv_want { W_NONE, W_MEM_BASE, W_MEM_LEN, W_INT, W_IO, W_IRQ, W_S5 };

/* The first number on a line ("0xD0000000, // ...", "{4}", "0x05,"). */
static bool mdv_number(const char *s, uint64_t *val)
{
    char *end;

    while (*s && *s != '-' && (*s < '0' || *s > '9'))
        s++;
    if (!*s)
        return false;
    *val = strtoull(s, &end, 0);
    return end != s;
}

static int mdv_dsdt_line(const char *buf, struct mdesc_view *v,
                         enum mdv_want *want, struct mdv_win *w,
                         int *kind)
{
    uint64_t x;

    if (strstr(buf, "Device (")) {
        *kind = 0;
        memset(w, 0, sizeof(*w));
    } else if (strstr(buf, "\"LNRO0005\"")) {
        if (v->nwin >= MDV_MAX_WIN)
            FAIL("DSDT: too many virtio devices");
        *kind = 1;
    } else if (strstr(buf, "EisaId (\"PNP0501\")")) {
        *kind = 2;
        v->serial = true;
    } else if (strstr(buf, "\"ACPI0007\"")) {
        v->cpu_devs++;
    } else if (strstr(buf, "Name (_S5, Package")) {
        *want = W_S5;
    } else if (strstr(buf, "Memory32Fixed (")) {
        *want = W_MEM_BASE;
    } else if (strstr(buf, "Interrupt (ResourceConsumer,")) {
        w->edge_high = strstr(buf, " Edge,") && strstr(buf, " ActiveHigh,");
        *want = W_INT;
    } else if (strstr(buf, "IO (Decode16,")) {
        *want = W_IO;
    } else if (strstr(buf, "IRQNoFlags ()")) {
        *want = W_IRQ;
    } else if (*want != W_NONE && mdv_number(buf, &x)) {
        switch (*want) {
        case W_MEM_BASE: w->base = x; *want = W_MEM_LEN; return 0;
        case W_MEM_LEN: w->size = x; break;
        case W_INT:
            w->gsi = (uint32_t)x;
            if (*kind == 1)
                v->win[v->nwin++] = *w;
            break;
        case W_IO: v->serial_port = x; break;
        case W_IRQ: v->serial_gsi = (uint32_t)x; break;
        case W_S5: v->s5_typ = (int)x; break;
        default: break;
        }
        *want = W_NONE;
    }
    return 0;
}

int mdv_parse_dsdt_dsl(const char *text, struct mdesc_view *v)
{
    const char *line = text;
    enum mdv_want want = W_NONE;
    struct mdv_win w = { 0 };
    int kind = 0;

    char buf[512];

    while (mdv_next_line(&line, buf, sizeof(buf))) {
        /* skip the "// _HID: Hardware ID" style trailing comments */
        if (strstr(buf, "/*") == buf || strstr(buf, " * ") == buf)
            continue;
        if (mdv_dsdt_line(buf, v, &want, &w, &kind) < 0)
            return -1;
    }
    return 0;
}

int mdv_parse_cmdline(const char *s, struct mdesc_view *v)
{
    static const char key[] = "virtio_mmio.device=";
    const char *p = s;

    while ((p = strstr(p, key)) != NULL) {
        struct mdv_win *w;
        char *end;

        if (p != s && p[-1] != ' ')
            FAIL("cmdline: '%s' not at a word start", key);
        if (v->nwin >= MDV_MAX_WIN)
            FAIL("cmdline: too many devices");
        w = &v->win[v->nwin++];
        p += sizeof(key) - 1;
        w->size = strtoull(p, &end, 0);
        if (*end != '@')
            FAIL("cmdline: no '@' after size");
        w->base = strtoull(end + 1, &end, 0);
        if (*end != ':')
            FAIL("cmdline: no ':' after address");
        w->gsi = (uint32_t)strtoul(end + 1, &end, 0);
        if (*end != ' ' && *end != '\0')
            FAIL("cmdline: junk after irq: '%.10s'", end);
        p = end;
    }
    return 0;
}

bool mdv_have_tool(const char *tool)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

char *mdv_run(const char *cmd, int *st)
{
    char *out = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    FILE *f = popen(cmd, "r");

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            char *nb;

            cap = (len + n + 1) * 2;
            nb = realloc(out, cap);
            if (!nb) {
                free(out);
                pclose(f);
                return NULL;
            }
            out = nb;
        }
        memcpy(out + len, chunk, n);
        len += n;
    }
    if (!out)
        out = calloc(1, 1);
    else
        out[len] = '\0';
    *st = pclose(f);
    return out;
}

char *mdv_slurp(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) < 0 || !(buf = malloc((size_t)len + 1))) {
        fclose(f);
        return NULL;
    }
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    if (lenp)
        *lenp = (size_t)len;
    return buf;
}

/* The table at gpa a with signature sig, checked; NULL after a DIAG. */
static const uint8_t *mdv_acpi_table(const uint8_t *b, size_t len, uint64_t gpa,
                                     uint64_t a, const char *sig)
{
    const uint8_t *t;
    uint32_t tlen;

    if (a < gpa || a - gpa > len || len - (a - gpa) < 36) {
        printf("# mdv: %s at 0x%llx outside the blob\n", sig,
               (unsigned long long)a);
        return NULL;
    }
    t = b + (a - gpa);
    tlen = mdv_le32(t + 4);
    if (memcmp(t, sig, 4) || tlen < 36 || tlen > len - (a - gpa) ||
        mdv_sum8(t, tlen)) {
        printf("# mdv: %s: signature '%.4s', length %u or checksum wrong\n",
               sig, (const char *)t, tlen);
        return NULL;
    }
    return t;
}

static int mdv_madt(const uint8_t *t, struct mdesc_view *v)
{
    uint32_t tlen = mdv_le32(t + 4), o;

    v->lapic_addr = mdv_le32(t + 36);
    for (o = 44; o < tlen; o += t[o + 1]) {
        const uint8_t *e = t + o;

        if (tlen - o < 2 || e[1] < 2 || e[1] > tlen - o)
            FAIL("MADT: entry at %u runs past the table", o);
        if (e[0] == 0 && e[1] == 8) {
            if (!(mdv_le32(e + 4) & 1))
                continue;
            if (v->ncpus >= MDV_MAX_CPUS)
                FAIL("MADT: too many CPUs");
            v->apic_id[v->ncpus++] = e[3];
        } else if (e[0] == 1 && e[1] == 12) {
            if (v->ioapic_addr)
                FAIL("MADT: two IOAPICs");
            v->ioapic_id = e[2];
            v->ioapic_addr = mdv_le32(e + 4);
            v->ioapic_gsi_base = mdv_le32(e + 8);
        } else if (e[0] == 4 && e[1] == 6) {
            v->lint_nmi1 = e[5] == 1;
        } else {
            FAIL("MADT: unexpected entry type %u length %u", e[0], e[1]);
        }
    }
    if (!v->ncpus || !v->ioapic_addr)
        FAIL("MADT: no CPUs or no IOAPIC found");
    return 0;
}

/* Where the next n-byte pattern p starts in [s, end), or NULL. One
 * memmem, not a memcmp per byte: under the fuzzer each memcmp call is
 * traced, which made this search most of fuzz_mdesc's time. */
static const uint8_t *mdv_find(const uint8_t *s, const uint8_t *end,
                               const void *p, size_t n)
{
    if (!s || s >= end)
        return NULL;
    return memmem(s, (size_t)(end - s), p, n);
}

/* An AML integer at p (Zero, One, BytePrefix ... QWordPrefix). */
static bool mdv_aml_int(const uint8_t *p, const uint8_t *end, uint64_t *x)
{
    static const unsigned size[] = {1, 2, 4, 8};

    if (p >= end)
        return false;
    if (*p == 0x00 || *p == 0x01 || *p == 0xff) {
        *x = *p == 0xff ? ~0ULL : *p;
        return true;
    }
    if (*p < 0x0a || *p > 0x0e || *p == 0x0d)
        return false;
    unsigned k = size[*p == 0x0e ? 3 : *p - 0x0a], i;
    if (end - p < (ptrdiff_t)k + 1)
        return false;
    for (*x = 0, i = 0; i < k; i++)
        *x |= (uint64_t)p[1 + i] << (8 * i);
    return true;
}

/* The DSDT's AML, by the byte patterns kvmini's resources use: each
 * _HID string "LNRO0005" is followed in its device by a Memory32Fixed
 * (0x86) and an extended interrupt (0x89) descriptor. */
static int mdv_dsdt(const uint8_t *t, struct mdesc_view *v)
{
    /* StringPrefix (0x0d, '\r'), the _HID, its NUL. */
    static const uint8_t virtio[] = "\rLNRO0005", cpu[] = "\rACPI0007";
    static const uint8_t com1[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};
    static const uint8_t mem32[] = {0x86, 0x09, 0x00};
    static const uint8_t extirq[] = {0x89, 0x06, 0x00};
    const uint8_t *end = t + mdv_le32(t + 4), *p, *q;
    uint64_t x;

    for (p = t + 36; (p = mdv_find(p, end, cpu, sizeof(cpu))); p++)
        v->cpu_devs++;
    for (p = t + 36; (p = mdv_find(p, end, virtio, sizeof(virtio))); p++) {
        struct mdv_win *w = &v->win[v->nwin];

        if (v->nwin >= MDV_MAX_WIN)
            FAIL("DSDT: too many virtio devices");
        q = mdv_find(p, end, mem32, sizeof(mem32));
        if (!q || end - q < 12)
            FAIL("DSDT: virtio device %u without Memory32Fixed", v->nwin);
        w->base = mdv_le32(q + 4);
        w->size = mdv_le32(q + 8);
        /* After the 12-byte Memory32Fixed: its length field may hold
         * the Interrupt descriptor's own header bytes (fuzz_mdesc found
         * a window of 0x689 bytes read as its interrupt). */
        q = mdv_find(q + 12, end, extirq, sizeof(extirq));
        if (!q || end - q < 9 || q[4] != 1)
            FAIL("DSDT: virtio device %u without one interrupt", v->nwin);
        w->edge_high = (q[3] & 0x06) == 0x02;
        w->gsi = mdv_le32(q + 5);
        v->nwin++;
    }
    p = mdv_find(t + 36, end, com1, sizeof(com1));
    if (p) {
        static const uint8_t io[] = {0x47, 0x01}, irq[] = {0x22};
        v->serial = true;
        q = mdv_find(p, end, io, sizeof(io));
        if (!q || end - q < 8)
            FAIL("DSDT: COM1 without an IO descriptor");
        v->serial_port = mdv_le16(q + 2);
        q = mdv_find(q, end, irq, sizeof(irq));
        if (!q || end - q < 3 || !mdv_le16(q + 1))
            FAIL("DSDT: COM1 without an IRQ descriptor");
        v->serial_gsi = (uint32_t)__builtin_ctz(mdv_le16(q + 1));
    }
    /* Name (_S5_, Package (4) { SLP_TYPa, ... }): PackageOp, PkgLength
     * (one byte here), NumElements, then the first element. */
    p = mdv_find(t + 36, end, "_S5_", 4);
    if (p && end - p > 8 && p[4] == 0x12 && mdv_aml_int(p + 7, end, &x))
        v->s5_typ = (int)x;
    return 0;
}

int mdv_parse_acpi(const void *blob, size_t len, uint64_t gpa,
                   struct mdesc_view *v)
{
    const uint8_t *b = blob, *x, *fadt = NULL, *madt = NULL, *dsdt;
    uint32_t n, i;

    mdv_init(v);
    if (len < 36 || memcmp(b, "RSD PTR ", 8) || b[15] != 2 ||
        mdv_le32(b + 20) != 36 || mdv_sum8(b, 20) || mdv_sum8(b, 36))
        FAIL("RSDP: signature, revision, length or checksums wrong");
    x = mdv_acpi_table(b, len, gpa, mdv_le64(b + 24), "XSDT");
    if (!x)
        return -1;
    n = (mdv_le32(x + 4) - 36) / 8;
    for (i = 0; i < n; i++) {
        uint64_t a = mdv_le64(x + 36 + 8 * i);
        const uint8_t *t =
            mdv_acpi_table(b, len, gpa, a, i == 0 ? "FACP" : "APIC");

        if (!t)
            return -1;
        if (i == 0)
            fadt = t;
        else
            madt = t;
    }
    if (!fadt || !madt || n != 2)
        FAIL("XSDT: %u entries, not FADT and MADT", n);
    if (mdv_le32(fadt + 4) < 148 || mdv_le32(fadt + 40) != mdv_le64(fadt + 140))
        FAIL("FADT: DSDT and X_DSDT differ");
    dsdt = mdv_acpi_table(b, len, gpa, mdv_le64(fadt + 140), "DSDT");
    if (!dsdt)
        return -1;
    if (mdv_madt(madt, v) < 0 || mdv_dsdt(dsdt, v) < 0)
        return -1;
    return 0;
}

static uint64_t mdv_cells(const fdt32_t *p, int n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 32 | fdt32_to_cpu(*p++);
    return v;
}

/*
 * Every node's parent, from one walk of the tree. libfdt's
 * fdt_parent_offset walks from the root twice on every call, which made
 * this reader most of fuzz_mdesc's time.
 */
#define MDV_MAX_NODES 1024
#define MDV_MAX_DEPTH 32

struct mdv_tree {
    int n;
    int off[MDV_MAX_NODES]; /* increasing: the walk's order */
    int parent[MDV_MAX_NODES];
};

static int mdv_tree_build(const void *fdt, struct mdv_tree *t)
{
    int stack[MDV_MAX_DEPTH], depth = 0, node;

    t->n = 0;
    /* fdt_next_node leaves depth at -1 past the root's end. */
    for (node = 0; node >= 0 && depth >= 0;
         node = fdt_next_node(fdt, node, &depth)) {
        if (depth >= MDV_MAX_DEPTH || t->n >= MDV_MAX_NODES)
            FAIL("dtb: more than %d nodes or %d levels", MDV_MAX_NODES,
                 MDV_MAX_DEPTH);
        stack[depth] = node;
        t->off[t->n] = node;
        t->parent[t->n++] = depth ? stack[depth - 1] : -FDT_ERR_NOTFOUND;
    }
    return 0;
}

/* As fdt_parent_offset: the parent's offset, or negative for the root. */
static int mdv_parent(const struct mdv_tree *t, int node)
{
    int lo = 0, hi = t->n - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2;

        if (t->off[mid] == node)
            return t->parent[mid];
        if (t->off[mid] < node)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -FDT_ERR_BADOFFSET;
}

/* reg of a node under a parent with (2, 2) cells: index i. */
static int mdv_reg(const void *fdt, const struct mdv_tree *t, int node,
                   uint64_t *base, uint64_t *size)
{
    int len, parent = mdv_parent(t, node);
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

    if (parent < 0 || !reg || fdt_address_cells(fdt, parent) != 2 ||
        fdt_size_cells(fdt, parent) != 2 || len != 16)
        return -1;
    *base = mdv_cells(reg, 2);
    *size = mdv_cells(reg + 2, 2);
    return 0;
}

/* `interrupts` = <gsi type> with the IOAPIC as the effective parent. */
static int mdv_irq(const void *fdt, const struct mdv_tree *t, int node,
                   uint32_t phandle, uint32_t *gsi, bool *edge_high)
{
    const fdt32_t *irq = NULL, *ip = NULL;
    int len, n;

    irq = fdt_getprop(fdt, node, "interrupts", &len);
    if (!irq || len != 8)
        return -1;
    for (n = node; n >= 0 && !ip; n = mdv_parent(t, n))
        ip = fdt_getprop(fdt, n, "interrupt-parent", NULL);
    if (!ip || fdt32_to_cpu(*ip) != phandle)
        return -1;
    *gsi = fdt32_to_cpu(irq[0]);
    *edge_high = fdt32_to_cpu(irq[1]) == 3;
    return 0;
}

static int mdv_dtb_cpus(const void *fdt, struct mdesc_view *v)
{
    int cpus = fdt_path_offset(fdt, "/cpus"), node, len;

    if (cpus < 0 || fdt_address_cells(fdt, cpus) != 1 ||
        fdt_size_cells(fdt, cpus) != 0)
        FAIL("dtb: /cpus missing or wrong cells");
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *dt = fdt_getprop(fdt, node, "device_type", NULL);
        const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

        if (!dt || strcmp(dt, "cpu") || !reg || len != 4)
            FAIL("dtb: %s is not a cpu with a 1-cell reg",
                 fdt_get_name(fdt, node, NULL));
        if (v->ncpus >= MDV_MAX_CPUS)
            FAIL("dtb: too many cpus");
        v->apic_id[v->ncpus++] = (uint8_t)fdt32_to_cpu(*reg);
    }
    return 0;
}

static int mdv_dtb_apics(const void *fdt, const struct mdv_tree *t,
                         struct mdesc_view *v, uint32_t *phandle)
{
    int io = fdt_node_offset_by_compatible(fdt, -1, "intel,ce4100-ioapic");
    int la = fdt_node_offset_by_compatible(fdt, -1, "intel,ce4100-lapic");
    const fdt32_t *ic;
    uint64_t size;

    if (io < 0 || la < 0)
        FAIL("dtb: no IOAPIC or no local APIC node");
    if (fdt_node_offset_by_compatible(fdt, io, "intel,ce4100-ioapic") >= 0)
        FAIL("dtb: two IOAPICs");
    ic = fdt_getprop(fdt, io, "#interrupt-cells", NULL);
    if (!fdt_getprop(fdt, io, "interrupt-controller", NULL) || !ic ||
        fdt32_to_cpu(*ic) != 2)
        FAIL("dtb: IOAPIC is not a 2-cell interrupt controller");
    *phandle = fdt_get_phandle(fdt, io);
    if (!*phandle || mdv_reg(fdt, t, io, &v->ioapic_addr, &size) < 0 ||
        mdv_reg(fdt, t, la, &v->lapic_addr, &size) < 0)
        FAIL("dtb: bad IOAPIC/LAPIC reg or phandle");
    return 0;
}

static int mdv_dtb_devices(const void *fdt, const struct mdv_tree *t,
                           struct mdesc_view *v, uint32_t ph)
{
    int node, len, parent;
    const fdt32_t *reg;
    const char *compat;
    bool eh;

    for (node = fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio");
         node >= 0;
         node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio")) {
        struct mdv_win *w = &v->win[v->nwin];

        if (v->nwin >= MDV_MAX_WIN)
            FAIL("dtb: too many virtio nodes");
        if (mdv_reg(fdt, t, node, &w->base, &w->size) < 0 ||
            mdv_irq(fdt, t, node, ph, &w->gsi, &w->edge_high) < 0 ||
            !fdt_getprop(fdt, node, "dma-coherent", NULL))
            FAIL("dtb: %s: bad reg/interrupts or no dma-coherent",
                 fdt_get_name(fdt, node, NULL));
        v->nwin++;
    }
    node = fdt_node_offset_by_compatible(fdt, -1, "ns16550a");
    if (node < 0)
        return 0;
    parent = mdv_parent(t, node);
    compat = fdt_getprop(fdt, parent, "compatible", NULL);
    reg = fdt_getprop(fdt, node, "reg", &len);
    if (!compat || strcmp(compat, "isa") || !reg || len != 12 ||
        fdt32_to_cpu(reg[0]) != 1)
        FAIL("dtb: serial is not an I/O-space device on an isa bus");
    v->serial = true;
    v->serial_port = fdt32_to_cpu(reg[1]);
    if (mdv_irq(fdt, t, node, ph, &v->serial_gsi, &eh) < 0 || !eh)
        FAIL("dtb: serial interrupts");
    return 0;
}

static int mdv_dtb_chosen(const void *fdt, const struct mdv_tree *t,
                          struct mdesc_view *v)
{
    int node, len;
    const fdt32_t *s, *e;
    const char *args;

    fdt_for_each_subnode(node, fdt, 0) {
        const char *dt = fdt_getprop(fdt, node, "device_type", NULL);

        if (!dt || strcmp(dt, "memory"))
            continue;
        if (v->nmem >= 16 ||
            mdv_reg(fdt, t, node, &v->mem[v->nmem].base,
                    &v->mem[v->nmem].size) < 0)
            FAIL("dtb: bad memory node");
        v->nmem++;
    }
    node = fdt_path_offset(fdt, "/chosen");
    if (node < 0)
        FAIL("dtb: no /chosen");
    args = fdt_getprop(fdt, node, "bootargs", &len);
    if (args)
        snprintf(v->bootargs, sizeof(v->bootargs), "%s", args);
    s = fdt_getprop(fdt, node, "linux,initrd-start", &len);
    e = fdt_getprop(fdt, node, "linux,initrd-end", NULL);
    if (s && e && len == 8) {
        v->has_initrd = true;
        v->initrd_start = mdv_cells(s, 2);
        v->initrd_end = mdv_cells(e, 2);
    }
    return 0;
}

int mdv_parse_dtb(const void *fdt, struct mdesc_view *v)
{
    struct mdv_tree t; /* 8 KiB */
    uint32_t ph;

    if (fdt_check_header(fdt) != 0)
        FAIL("dtb: bad header");
    if (fdt_address_cells(fdt, 0) != 2 || fdt_size_cells(fdt, 0) != 2)
        FAIL("dtb: root cells are not 2/2");
    if (mdv_tree_build(fdt, &t) < 0 || mdv_dtb_cpus(fdt, v) < 0 ||
        mdv_dtb_apics(fdt, &t, v, &ph) < 0 ||
        mdv_dtb_devices(fdt, &t, v, ph) < 0 || mdv_dtb_chosen(fdt, &t, v) < 0)
        return -1;
    return 0;
}
