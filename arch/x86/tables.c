/* SPDX-License-Identifier: MIT */
/* Copies the machine description's renderings into guest RAM. */
#include "arch/x86/tables.h"

#include <errno.h>

#include "arch/x86/acpi.h"
#include "arch/x86/fdt.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "arch/x86/resetvec.h"

int tables_describe(struct machine *m, const struct boot_info *bi,
                    uint64_t initrd_len)
{
    int r = 0;
    for (unsigned i = 0; r == 0 && i < bi->ne820; i++)
        r = machine_add_e820(m, bi->e820[i].addr, bi->e820[i].size,
                             bi->e820[i].type);
    m->initrd_start = bi->initrd_addr;
    m->initrd_size = initrd_len;
    return r;
}

int tables_install(const struct gmem *mem, const struct machine *m,
                   const struct boot_info *bi, const struct tables_config *cfg)
{
    void *p = gmem_ptr(mem, LAYOUT_MPTABLE, LAYOUT_MPTABLE_MAX);
    if (!p)
        return -EFAULT;
    int r = mptable_render(m, LAYOUT_MPTABLE, p, LAYOUT_MPTABLE_MAX);
    if (r < 0)
        return r;
    r = resetvec_install(mem);
    if (r < 0)
        return r;

    uint64_t rsdp = 0, setup_data = 0;
    if (cfg->acpi) {
        struct acpi_info info;
        p = gmem_ptr(mem, LAYOUT_ACPI, LAYOUT_ACPI_MAX);
        if (!p)
            return -EFAULT;
        r = acpi_render(m, LAYOUT_ACPI, p, LAYOUT_ACPI_MAX, &info);
        if (r < 0)
            return r;
        rsdp = info.rsdp_gpa;
    }
    if (cfg->dtb) {
        p = gmem_ptr(mem, LAYOUT_SETUP_DATA, LAYOUT_SETUP_DATA_MAX);
        if (!p)
            return -EFAULT;
        r = fdt_machine_setup_data(m, 0, p, LAYOUT_SETUP_DATA_MAX);
        if (r < 0)
            return r;
        setup_data = LAYOUT_SETUP_DATA;
    }
    return boot_set_tables(mem, bi, rsdp, setup_data);
}
