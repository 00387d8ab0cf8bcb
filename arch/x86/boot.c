/* SPDX-License-Identifier: MIT */
/* bzImage loading and the zero page (boot_params). */
#include "arch/x86/boot.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "arch/x86/layout.h"

#define PAGE_MASK_4K (~0xfffULL)

static int boot_fail(const char **why, const char *msg, int err)
{
    *why = msg;
    return err;
}

/* Where the kernel goes: its preferred address when it fits, else (if
 * relocatable) the lowest suitably aligned address above 1 MiB. */
static int boot_place_kernel(const struct bzimage *bz, uint64_t low_end,
                             uint64_t *addr)
{
    uint64_t a = bz->pref_address ? bz->pref_address : LAYOUT_HIGH_MEM;
    if (a >= LAYOUT_HIGH_MEM && a <= low_end && bz->init_size <= low_end - a) {
        *addr = a;
        return 0;
    }
    if (!bz->relocatable)
        return -ENOMEM;
    uint64_t align = bz->kernel_alignment ? bz->kernel_alignment : 0x200000;
    a = (LAYOUT_HIGH_MEM + align - 1) & ~(align - 1);
    if (a > low_end || bz->init_size > low_end - a)
        return -ENOMEM;
    *addr = a;
    return 0;
}

int boot_load(const struct gmem *mem, const struct bzimage *bz,
              const struct boot_config *cfg, struct boot_info *out,
              const char **why)
{
    memset(out, 0, sizeof(*out));
    uint64_t low_end = e820_low_ram(cfg->ram_size);

    if (boot_place_kernel(bz, low_end, &out->kernel_addr) < 0)
        return boot_fail(why,
                         "guest RAM too small for this kernel "
                         "(needs its init_size above 1 MiB); raise -m",
                         -ENOMEM);
    out->kernel_end = out->kernel_addr + bz->init_size;
    out->entry = out->kernel_addr + 0x200;
    if (gmem_write(mem, out->kernel_addr, bz->kernel, bz->kernel_len) < 0)
        return boot_fail(why, "kernel does not fit in guest RAM", -ENOMEM);

    size_t clen = strlen(cfg->cmdline);
    uint64_t cmax = bz->cmdline_size ? bz->cmdline_size : 255;
    if (cmax > LAYOUT_CMDLINE_MAX - 1)
        cmax = LAYOUT_CMDLINE_MAX - 1;
    if (clen > cmax)
        return boot_fail(why,
                         "kernel command line longer than this kernel "
                         "accepts (its cmdline_size)",
                         -E2BIG);
    out->cmdline_addr = LAYOUT_CMDLINE;
    if (gmem_write(mem, LAYOUT_CMDLINE, cfg->cmdline, clen + 1) < 0)
        return boot_fail(why, "no room for the command line", -ENOMEM);

    if (cfg->initrd_len) {
        /* As high as allowed, page aligned, clear of the kernel. */
        uint64_t top = low_end;
        if (bz->initrd_addr_max && (uint64_t)bz->initrd_addr_max + 1 < top)
            top = (uint64_t)bz->initrd_addr_max + 1;
        if (cfg->initrd_len > top || (top - cfg->initrd_len) < out->kernel_end)
            return boot_fail(why,
                             "initrd too large for guest RAM (with the "
                             "kernel); raise -m",
                             -E2BIG);
        out->initrd_addr = (top - cfg->initrd_len) & PAGE_MASK_4K;
        if (out->initrd_addr < out->kernel_end ||
            gmem_write(mem, out->initrd_addr, cfg->initrd, cfg->initrd_len) < 0)
            return boot_fail(why, "initrd too large for guest RAM", -E2BIG);
    }

    struct boot_params *bp =
        gmem_ptr(mem, LAYOUT_ZERO_PAGE, sizeof(struct boot_params));
    if (!bp)
        return boot_fail(why, "no room for the zero page", -ENOMEM);
    memset(bp, 0, sizeof(*bp));
    /* The loader copies the kernel's own header, then fills its fields. */
    memcpy(&bp->hdr, bz->image + offsetof(struct boot_params, hdr),
           bz->hdr_len < sizeof(bp->hdr) ? bz->hdr_len : sizeof(bp->hdr));
    bp->hdr.type_of_loader = 0xff; /* undefined loader */
    bp->hdr.vid_mode = 0xffff;     /* "normal" */
    bp->hdr.code32_start = (uint32_t)out->kernel_addr;
    bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
    bp->hdr.ramdisk_image = (uint32_t)out->initrd_addr;
    bp->hdr.ramdisk_size = (uint32_t)cfg->initrd_len;

    out->ne820 = e820_build(cfg->ram_size, out->e820);
    for (unsigned i = 0; i < out->ne820; i++) {
        bp->e820_table[i].addr = out->e820[i].addr;
        bp->e820_table[i].size = out->e820[i].size;
        bp->e820_table[i].type = out->e820[i].type;
    }
    bp->e820_entries = (uint8_t)out->ne820;
    out->zero_page = LAYOUT_ZERO_PAGE;
    return boot_set_tables(mem, out, cfg->acpi_rsdp, cfg->setup_data);
}

int boot_set_tables(const struct gmem *mem, const struct boot_info *bi,
                    uint64_t acpi_rsdp, uint64_t setup_data)
{
    struct boot_params *bp =
        gmem_ptr(mem, bi->zero_page, sizeof(struct boot_params));
    if (!bp)
        return -EFAULT;
    bp->acpi_rsdp_addr = acpi_rsdp;
    bp->hdr.setup_data = setup_data;
    return 0;
}
