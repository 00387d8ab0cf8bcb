/* SPDX-License-Identifier: MIT */
/* Renders kvmini's ACPI tables: RSDP, XSDT, FADT, MADT, DSDT. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"

/*
 * Table layouts from ACPI 6.3 chapter 5. The host is x86 (KVM), so
 * packed little-endian structs give the exact guest byte layout.
 */
struct acpi_rsdp {
    char sig[8]; /* "RSD PTR " */
    uint8_t checksum; /* over the first 20 bytes */
    char oem[6];
    uint8_t revision; /* 2: ACPI 2.0+ with XSDT */
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum; /* over all 36 bytes */
    uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
    char sig[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem[6];
    char oem_table[8];
    uint32_t oem_rev;
    char creator[4];
    uint32_t creator_rev;
} __attribute__((packed));

struct acpi_gas { /* Generic Address Structure */
    uint8_t space; /* 1: system I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access; /* 1: byte */
    uint64_t addr;
} __attribute__((packed));

struct acpi_fadt {
    struct acpi_header h;
    uint32_t facs, dsdt;
    uint8_t reserved0, pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr;
    uint32_t gpe0, gpe1;
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
    uint8_t gpe0_len, gpe1_len, gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_facs, x_dsdt;
    struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt;
    struct acpi_gas x_pm2_cnt, x_pm_tmr, x_gpe0, x_gpe1;
    struct acpi_gas sleep_control, sleep_status;
    uint64_t hypervisor_id;
} __attribute__((packed));

struct acpi_madt {
    struct acpi_header h;
    uint32_t lapic_addr;
    uint32_t flags; /* bit 0 PCAT_COMPAT: 8259 pair present */
} __attribute__((packed));

struct acpi_madt_lapic { /* type 0 */
    uint8_t type, length, uid, apic_id;
    uint32_t flags; /* bit 0 enabled */
} __attribute__((packed));

struct acpi_madt_ioapic { /* type 1 */
    uint8_t type, length, id, reserved;
    uint32_t addr, gsi_base;
} __attribute__((packed));

struct acpi_madt_nmi { /* type 4: local APIC NMI */
    uint8_t type, length, uid;
    uint16_t flags;
    uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.x length");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct acpi_madt_nmi) == 6, "MADT NMI");

#define ACPI_OEM "KVMINI"
#define ACPI_ALIGN 16
#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED (1u << 20)
/* IAPC_BOOT_ARCH: no 8042 (bit 1 clear), no VGA, no MSI, no ASPM. */
#define FADT_BOOT_NO_VGA (1u << 2)
#define FADT_BOOT_NO_MSI (1u << 3)
#define FADT_BOOT_NO_ASPM (1u << 4)

static size_t acpi_align(size_t n)
{
    return (n + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1);
}

static void acpi_header_fill(struct acpi_header *h, const char *sig,
                             uint32_t len, uint8_t rev)
{
    memcpy(h->sig, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem, ACPI_OEM, 6);
    memcpy(h->oem_table, "KVMINI  ", 8);
    memcpy(h->oem_table + 6, sig, 2); /* "KVMINIFA", "KVMINIAP", ... */
    h->oem_rev = 1;
    memcpy(h->creator, "KVMI", 4);
    h->creator_rev = 1;
    h->checksum = 0;
    h->checksum = machine_csum8(h, len);
}

static struct acpi_gas acpi_io_gas(uint16_t port)
{
    struct acpi_gas g = { .space = 1, .bit_width = 8, .access = 1,
                          .addr = port };
    return g;
}

static void acpi_fadt_fill(struct acpi_fadt *f, uint64_t dsdt)
{
    f->dsdt = (uint32_t)dsdt;
    f->x_dsdt = dsdt;
    f->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
               FADT_RESET_REG_SUP | FADT_HW_REDUCED;
    f->iapc_boot_arch = FADT_BOOT_NO_VGA | FADT_BOOT_NO_MSI |
                        FADT_BOOT_NO_ASPM;
    f->reset_reg = acpi_io_gas(ACPI_RESET_PORT);
    f->reset_value = ACPI_RESET_VALUE;
    f->minor_version = 3;
    f->sleep_control = acpi_io_gas(LAYOUT_ACPI_SLEEP_PORT);
    f->sleep_status = acpi_io_gas(LAYOUT_ACPI_SLEEP_STATUS_PORT);
    memcpy(&f->hypervisor_id, "KVMINI\0\0", 8);
    acpi_header_fill(&f->h, "FACP", sizeof(*f), 6);
}

static size_t acpi_madt_size(const struct machine *m)
{
    return sizeof(struct acpi_madt) +
           m->ncpus * sizeof(struct acpi_madt_lapic) +
           sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_nmi);
}

static void acpi_madt_fill(const struct machine *m, struct acpi_madt *t)
{
    uint8_t *p = (uint8_t *)(t + 1);
    struct acpi_madt_ioapic io = {
        .type = 1, .length = sizeof(io), .id = (uint8_t)m->ncpus,
        .addr = (uint32_t)LAYOUT_IOAPIC, .gsi_base = 0,
    };
    /* NMI on LINT1 of every processor (uid 0xff), as in the MP table. */
    struct acpi_madt_nmi nmi = {
        .type = 4, .length = sizeof(nmi), .uid = 0xff, .lint = 1,
    };
    unsigned i;

    t->lapic_addr = (uint32_t)LAYOUT_LAPIC;
    t->flags = 1;
    for (i = 0; i < m->ncpus; i++) {
        struct acpi_madt_lapic l = {
            .type = 0, .length = sizeof(l), .uid = (uint8_t)i,
            .apic_id = (uint8_t)i, .flags = 1,
        };
        memcpy(p, &l, sizeof(l));
        p += sizeof(l);
    }
    memcpy(p, &io, sizeof(io));
    p += sizeof(io);
    memcpy(p, &nmi, sizeof(nmi));
    /*
     * No interrupt source overrides: KVM's default GSI routing sends
     * ISA IRQ n to IOAPIC pin n (the PIT included) and the ISA default
     * (edge, active high) is right for COM1 and for the virtio lines.
     */
    acpi_header_fill(&t->h, "APIC", (uint32_t)acpi_madt_size(m), 5);
}

static void acpi_note(struct acpi_info *info, const char *sig, size_t off,
                      size_t len)
{
    struct acpi_table_ref *t;

    if (!info || info->ntables >= ACPI_MAX_TABLES)
        return;
    t = &info->t[info->ntables++];
    memcpy(t->sig, sig, 4);
    t->sig[4] = '\0';
    t->off = off;
    t->len = len;
}

/* Render the DSDT at buf+off; its length or -ENOSPC. */
static int acpi_dsdt_render(const struct machine *m, uint8_t *buf,
                            size_t off, size_t cap)
{
    struct acpi_header *h = (struct acpi_header *)(buf + off);
    struct aml a;
    int r;

    if (cap - off < sizeof(*h))
        return -ENOSPC;
    aml_init(&a, buf + off + sizeof(*h), cap - off - sizeof(*h));
    r = acpi_dsdt_body(m, &a);
    if (r < 0)
        return r;
    /* Revision 2: AML integers are 64-bit. */
    acpi_header_fill(h, "DSDT", (uint32_t)(sizeof(*h) + (size_t)r), 2);
    return (int)(sizeof(*h) + (size_t)r);
}

int acpi_render(const struct machine *m, uint64_t gpa, void *buf,
                size_t cap, struct acpi_info *info)
{
    uint8_t *b = buf;
    size_t o_xsdt, o_fadt, o_madt, o_dsdt, xsdt_len, end;
    struct acpi_rsdp *rsdp = buf;
    struct acpi_header *xsdt;
    uint64_t xent[2];
    int r;

    r = machine_check(m);
    if (r < 0)
        return r;
    if (gpa % ACPI_ALIGN || gpa >= LAYOUT_MMIO_HOLE)
        return -EINVAL;
    if (info)
        memset(info, 0, sizeof(*info));
    xsdt_len = sizeof(struct acpi_header) + sizeof(xent);
    o_xsdt = acpi_align(sizeof(*rsdp));
    o_fadt = acpi_align(o_xsdt + xsdt_len);
    o_madt = acpi_align(o_fadt + sizeof(struct acpi_fadt));
    o_dsdt = acpi_align(o_madt + acpi_madt_size(m));
    if (cap < o_dsdt)
        return -ENOSPC;
    memset(buf, 0, o_dsdt);
    r = acpi_dsdt_render(m, b, o_dsdt, cap);
    if (r < 0)
        return r;
    end = o_dsdt + (size_t)r;
    if (gpa + end > LAYOUT_MMIO_HOLE)
        return -EINVAL;

    acpi_fadt_fill((struct acpi_fadt *)(b + o_fadt), gpa + o_dsdt);
    acpi_madt_fill(m, (struct acpi_madt *)(b + o_madt));

    xsdt = (struct acpi_header *)(b + o_xsdt);
    xent[0] = gpa + o_fadt;
    xent[1] = gpa + o_madt;
    memcpy(xsdt + 1, xent, sizeof(xent)); /* entries are unaligned */
    acpi_header_fill(xsdt, "XSDT", (uint32_t)xsdt_len, 1);

    memcpy(rsdp->sig, "RSD PTR ", 8);
    memcpy(rsdp->oem, ACPI_OEM, 6);
    rsdp->revision = 2;
    rsdp->length = sizeof(*rsdp);
    rsdp->xsdt = gpa + o_xsdt;
    rsdp->checksum = machine_csum8(rsdp, 20);
    rsdp->ext_checksum = machine_csum8(rsdp, sizeof(*rsdp));

    if (info) {
        info->rsdp_gpa = gpa;
        acpi_note(info, "RSDP", 0, sizeof(*rsdp));
        acpi_note(info, "XSDT", o_xsdt, xsdt_len);
        acpi_note(info, "FACP", o_fadt, sizeof(struct acpi_fadt));
        acpi_note(info, "APIC", o_madt, acpi_madt_size(m));
        acpi_note(info, "DSDT", o_dsdt, (size_t)r);
    }
    return (int)end;
}

static int acpi_write_file(const char *dir, const char *sig,
                           const void *p, size_t len)
{
    char path[4096], lower[5];
    unsigned i;
    ssize_t w;
    int fd, r = 0;

    for (i = 0; i < 4; i++)
        lower[i] = (char)(sig[i] | 0x20);
    lower[4] = '\0';
    if (snprintf(path, sizeof(path), "%s/%s.dat", dir, lower) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    w = write(fd, p, len);
    if (w < 0)
        r = -errno;
    else if ((size_t)w != len)
        r = -EIO;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

int acpi_dump(const struct machine *m, const char *dir)
{
    struct acpi_info info;
    uint8_t *buf;
    unsigned i;
    int r;

    buf = malloc(LAYOUT_ACPI_MAX);
    if (!buf)
        return -ENOMEM;
    r = acpi_render(m, LAYOUT_ACPI, buf, LAYOUT_ACPI_MAX, &info);
    for (i = 0; r >= 0 && i < info.ntables; i++)
        r = acpi_write_file(dir, info.t[i].sig, buf + info.t[i].off,
                            info.t[i].len);
    free(buf);
    return r < 0 ? r : 0;
}
