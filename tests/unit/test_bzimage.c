/* SPDX-License-Identifier: MIT */
/*
 * bzImage header validation: synthetic images, every corruption the
 * loader must refuse, and the real bzImages named in KVMINI_BZIMAGES
 * (the tiny guest and the Debian cloud kernel under `make test`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/bzimage.h"
#include "tests/unit/bz_fixture.h"
#include "tests/unit/tap.h"

static int parse(const uint8_t *b, size_t len, const char **why)
{
    struct bzimage bz;
    *why = "";
    return bzimage_parse(b, len, &bz, why);
}

static void check_refused(const char *name, const uint8_t *b, size_t len,
                          const char *expect)
{
    const char *why;
    int r = parse(b, len, &why);
    CHECK(r == -ENOEXEC && strstr(why, expect), "%s refused: %s", name, why);
}

static void check_real(const char *path)
{
    size_t len;
    uint8_t *b = bz_fixture_read(path, &len);
    if (!b) {
        CHECK(0, "read %s", path);
        return;
    }
    struct bzimage bz;
    const char *why = "";
    int r = bzimage_parse(b, len, &bz, &why);
    CHECK(r == 0, "%s parses (%s)", path, r ? why : "ok");
    CHECK(bz.version >= 0x0206 && bz.init_size >= bz.kernel_len &&
              bz.kernel_len > 0 && bz.setup_len % 512 == 0,
          "%s: protocol 0x%x, setup %zu, kernel %zu, init_size %u", path,
          bz.version, bz.setup_len, bz.kernel_len, bz.init_size);
    /* Corrupted copies of a real image. */
    uint8_t *c = malloc(len);
    memcpy(c, b, len);
    c[0x202] = 'X';
    check_refused("real image without HdrS", c, len, "not a bzImage");
    memcpy(c, b, len);
    c[0x236] &= ~1;
    check_refused("real image without XLF_KERNEL_64", c, len, "64-bit");
    check_refused("real image truncated", b, bz.setup_len + 1000, "truncated");
    check_refused("real image cut in the setup", b, 1500, "truncated");
    free(c);
    free(b);
}

int main(void)
{
    size_t len;
    struct bz_spec spec = {0};
    uint8_t *b = bz_fixture_make(&spec, &len);
    struct bzimage bz;
    const char *why = "";
    CHECK(bzimage_parse(b, len, &bz, &why) == 0, "synthetic image parses");
    CHECK(bz.setup_len == 5 * 512 && bz.kernel == b + 5 * 512 &&
              bz.kernel_len == 64 * 1024,
          "setup/kernel split");
    CHECK(bz.cmdline_size == 2047 && bz.initrd_addr_max == 0x7fffffff &&
              bz.init_size == 4 << 20,
          "header fields read");

    check_refused("empty file", b, 0, "empty");
    check_refused("short file", b, 600, "too short");
    static const uint8_t elf[2048] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    check_refused("ELF", elf, sizeof(elf), "ELF");
    uint8_t *rnd = malloc(len);
    srand(42);
    for (size_t i = 0; i < len; i++)
        rnd[i] = (uint8_t)rand();
    check_refused("random bytes", rnd, len, "not a bzImage");
    free(rnd);
    check_refused("truncated kernel", b, len - 16, "truncated");

    struct bz_spec old = {.version = 0x0205};
    uint8_t *o = bz_fixture_make(&old, &len);
    check_refused("protocol 2.05", o, len, "older than 2.06");
    free(o);
    struct bz_spec v209 = {.version = 0x0209};
    o = bz_fixture_make(&v209, &len);
    check_refused("protocol 2.09 (no 64-bit entry)", o, len, "64-bit");
    free(o);
    struct bz_spec x32 = {.xloadflags = 0x2};
    o = bz_fixture_make(&x32, &len);
    check_refused("no XLF_KERNEL_64", o, len, "64-bit");
    free(o);
    struct bz_spec small = {.init_size = 1024};
    o = bz_fixture_make(&small, &len);
    check_refused("init_size < kernel", o, len, "init_size");
    free(o);
    o = bz_fixture_make(&spec, &len);
    o[0x211] = 0;
    check_refused("zImage", o, len, "zImage");
    o[0x211] = 1;
    o[0x201] = 0x10;
    check_refused("short header length", o, len, "header length");
    o[0x201] = 0x66;
    o[0x1fe] = 0;
    check_refused("no boot signature", o, len, "not a bzImage");
    free(o);
    free(b);

    const char *env = getenv("KVMINI_BZIMAGES");
    if (env && *env) {
        char *list = strdup(env), *save;
        for (char *p = strtok_r(list, ":", &save); p;
             p = strtok_r(NULL, ":", &save))
            check_real(p);
        free(list);
    } else {
        DIAG("KVMINI_BZIMAGES unset: no real bzImage checked (make test "
             "sets it)");
    }
    return tap_done();
}
