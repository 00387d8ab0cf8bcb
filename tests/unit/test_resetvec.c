/* SPDX-License-Identifier: MIT */
/* The reset vector: where it lands, what binutils' objdump decodes it to in
 * real mode and in long mode, that the e820 map keeps it from the guest's
 * allocator, and that it refuses RAM that does not reach it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "arch/x86/resetvec.h"
#include "tests/unit/tap.h"

#define LOW_SIZE 0x100000
#define FILL 0xaa
#define SPAN 16 /* F000:FFF0 up to 1 MiB */

/* objdump's listing of the SPAN bytes at the reset vector, decoded for
 * MACHINE (i8086: what Linux jumps to; i386:x86-64), or NULL. */
static char *disassemble(const uint8_t *code, const char *machine)
{
    char path[] = "/tmp/kvmini-resetvec-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    ssize_t w = write(fd, code, SPAN);
    close(fd);
    char cmd[256], *out = calloc(1, 8192);
    snprintf(cmd, sizeof(cmd),
             "objdump -D -b binary -m %s --adjust-vma=0x%llx %s 2>&1", machine,
             (unsigned long long)LAYOUT_RESET_VECTOR, path);
    FILE *p = w == SPAN && out ? popen(cmd, "r") : NULL;
    size_t n = p ? fread(out, 1, 8191, p) : 0;
    int st = p ? pclose(p) : -1;
    unlink(path);
    if (st != 0 || n == 0) {
        DIAG("objdump -m %s failed (status %d): %s", machine, st,
             out ? out : "");
        free(out);
        return NULL;
    }
    return out;
}

/* The reset sequence, in order: the i8042's reset command to its command
 * port, then a halt that loops. */
static int decodes_to_reset(const char *listing)
{
    const char *a = listing ? strstr(listing, "mov    $0xfe,%al") : NULL;
    const char *b = a ? strstr(a, "out    %al,$0x64") : NULL;
    const char *c = b ? strstr(b, "hlt") : NULL;
    const char *d = c ? strstr(c, "jmp    0xffff4") : NULL;
    return d != NULL;
}

static void test_placed_and_decoded(void)
{
    uint8_t *ram = malloc(LOW_SIZE);
    struct gmem mem = {0};
    memset(ram, FILL, LOW_SIZE);
    gmem_add(&mem, 0, LOW_SIZE, ram);

    CHECK(resetvec_install(&mem) == 0, "installed with RAM up to 1 MiB");
    const uint8_t *v = ram + LAYOUT_RESET_VECTOR;
    unsigned before = 0;
    for (uint64_t i = 0; i < LAYOUT_RESET_VECTOR; i++)
        before += ram[i] != FILL;
    CHECK(before == 0, "nothing below 0xffff0 written");

    char *rm = disassemble(v, "i8086");
    CHECK(decodes_to_reset(rm), "real mode (F000:FFF0, where Linux's "
                                "reboot=b jumps): mov $0xfe,%%al; out "
                                "%%al,$0x64; hlt; jmp back to the hlt");
    if (!decodes_to_reset(rm) && rm)
        DIAG("%s", rm);
    char *lm = disassemble(v, "i386:x86-64");
    CHECK(decodes_to_reset(lm), "long mode (the tiny guest's jump): the "
                                "same instructions");
    if (!decodes_to_reset(lm) && lm)
        DIAG("%s", lm);
    free(rm);
    free(lm);
    free(ram);
}

/* Linux must never hand the vector's page to anyone: e820 reserves it for
 * every RAM size. */
static void test_reserved(void)
{
    static const uint64_t sizes[] = {E820_MIN_RAM, 256ULL << 20, 4ULL << 30};
    for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct e820_ent e[E820_MAX];
        unsigned n = e820_build(sizes[s], e), hit = 0;
        for (unsigned i = 0; i < n; i++)
            if (e[i].type == E820_TYPE_RESERVED &&
                e[i].addr <= LAYOUT_RESET_VECTOR &&
                LAYOUT_RESET_VECTOR + SPAN <= e[i].addr + e[i].size)
                hit++;
        CHECK(hit == 1,
              "%llu MiB: 0xffff0..0xfffff inside a reserved e820 "
              "range",
              (unsigned long long)(sizes[s] >> 20));
    }
}

static void test_no_ram(void)
{
    uint8_t *ram = malloc(LAYOUT_RESET_VECTOR + 4);
    struct gmem mem = {0};
    memset(ram, FILL, LAYOUT_RESET_VECTOR + 4);
    gmem_add(&mem, 0, LAYOUT_RESET_VECTOR + 4, ram);
    int r = resetvec_install(&mem);
    unsigned changed = 0;
    for (uint64_t i = 0; i < LAYOUT_RESET_VECTOR + 4; i++)
        changed += ram[i] != FILL;
    CHECK(r == -EFAULT && changed == 0,
          "RAM ending inside the vector: -EFAULT (got %d), nothing written "
          "(%u bytes changed)",
          r, changed);
    free(ram);
}

int main(void)
{
    test_placed_and_decoded();
    test_reserved();
    test_no_ram();
    return tap_done();
}
