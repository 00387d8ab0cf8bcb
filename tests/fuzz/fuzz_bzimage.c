/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the bzImage setup-header parser and the loader that acts
 * on it (arch/x86/bzimage.c, boot.c, e820.c): any file as the kernel,
 * any initrd length and command line, 16 to 64 MiB of RAM. Checked
 * besides the sanitizers: what bzimage_parse accepts is consistent
 * (kernel inside the file, header inside the setup code, init_size not
 * below the kernel), and what boot_load places lies in low RAM without
 * overlaps: kernel at or above 1 MiB with its init_size, the initrd
 * above the kernel and below initrd_addr_max, the command line and the
 * zero page as given.
 *
 * Input: RAM size byte, initrd length (u32), command line (to a NUL),
 * then the file.
 */
#include <asm/bootparam.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

#define RAM_MAX (64ULL << 20)
#define INITRD_MAX (4u << 20)

static void check_parsed(const struct bzimage *bz, const uint8_t *img,
                         size_t len)
{
    FZ_ASSERT(bz->setup_len < len && bz->kernel == img + bz->setup_len &&
                  bz->kernel_len == len - bz->setup_len && bz->kernel_len,
              "kernel outside the file");
    FZ_ASSERT(0x1f1 + bz->hdr_len <= bz->setup_len &&
                  bz->hdr_len >= 0x264 - 0x1f1,
              "header length %zu with %zu bytes of setup", bz->hdr_len,
              bz->setup_len);
    FZ_ASSERT(bz->init_size >= bz->kernel_len, "init_size %u < kernel %zu",
              bz->init_size, bz->kernel_len);
    FZ_ASSERT(!(bz->kernel_alignment & (bz->kernel_alignment - 1)),
              "alignment 0x%x", bz->kernel_alignment);
}

static void check_loaded(const struct gmem *mem, const struct bzimage *bz,
                         const struct boot_config *cfg,
                         const struct boot_info *bi)
{
    uint64_t low_end = e820_low_ram(cfg->ram_size);
    FZ_ASSERT(bi->kernel_addr >= LAYOUT_HIGH_MEM &&
                  bi->kernel_end == bi->kernel_addr + bz->init_size &&
                  bi->kernel_end <= low_end,
              "kernel [0x%llx, 0x%llx) in low RAM to 0x%llx",
              (unsigned long long)bi->kernel_addr,
              (unsigned long long)bi->kernel_end, (unsigned long long)low_end);
    const uint8_t *k = gmem_ptr(mem, bi->kernel_addr, bz->kernel_len);
    FZ_ASSERT(k && !memcmp(k, bz->kernel, bz->kernel_len), "kernel bytes");
    if (cfg->initrd_len) {
        uint64_t top = bi->initrd_addr + cfg->initrd_len;
        FZ_ASSERT(!(bi->initrd_addr & 0xfff) &&
                      bi->initrd_addr >= bi->kernel_end && top <= low_end &&
                      (!bz->initrd_addr_max || top - 1 <= bz->initrd_addr_max),
                  "initrd [0x%llx, 0x%llx)",
                  (unsigned long long)bi->initrd_addr, (unsigned long long)top);
    }
    const char *cl = gmem_ptr(mem, LAYOUT_CMDLINE, strlen(cfg->cmdline) + 1);
    FZ_ASSERT(cl && !strcmp(cl, cfg->cmdline), "command line");
    const struct boot_params *bp = gmem_ptr(mem, LAYOUT_ZERO_PAGE, sizeof(*bp));
    FZ_ASSERT(bp && bp->hdr.code32_start == bi->kernel_addr &&
                  bp->hdr.cmd_line_ptr == LAYOUT_CMDLINE &&
                  bp->hdr.ramdisk_image == bi->initrd_addr &&
                  bp->hdr.ramdisk_size == cfg->initrd_len &&
                  bp->e820_entries == bi->ne820 && bp->e820_entries <= E820_MAX,
              "zero page");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram, *initrd;
    if (!ram) {
        ram = mmap(NULL, RAM_MAX, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        initrd = calloc(1, INITRD_MAX);
        if (ram == MAP_FAILED || !initrd)
            abort();
    }
    struct fz_in in = {data, size};
    static char cmdline[LAYOUT_CMDLINE_MAX + 16];
    uint64_t ram_size = (16ULL << 20) << (fz_u8(&in) % 3);
    uint32_t initrd_len = fz_u32(&in) % INITRD_MAX;
    fz_str(&in, cmdline, sizeof(cmdline));

    struct bzimage bz;
    const char *why = NULL;
    bool debug = getenv("FZ_DEBUG");
    if (bzimage_parse(in.p, in.n, &bz, &why) < 0) {
        FZ_ASSERT(why && *why, "refused without a reason");
        if (debug)
            fprintf(stderr, "bzimage_parse: %s\n", why);
        return 0;
    }
    check_parsed(&bz, in.p, in.n);

    struct gmem mem = {0};
    if (gmem_add(&mem, 0, ram_size, ram))
        abort();
    struct boot_config cfg = {.initrd = initrd,
                              .initrd_len = initrd_len,
                              .cmdline = cmdline,
                              .ram_size = ram_size};
    struct boot_info bi;
    why = NULL;
    if (boot_load(&mem, &bz, &cfg, &bi, &why) < 0) {
        FZ_ASSERT(why && *why, "load refused without a reason");
        if (debug)
            fprintf(stderr, "boot_load: %s\n", why);
        return 0;
    }
    check_loaded(&mem, &bz, &cfg, &bi);
    if (debug)
        fprintf(stderr, "loaded at 0x%llx, initrd at 0x%llx\n",
                (unsigned long long)bi.kernel_addr,
                (unsigned long long)bi.initrd_addr);
    return 0;
}
