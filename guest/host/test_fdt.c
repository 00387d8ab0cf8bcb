/* SPDX-License-Identifier: MIT */
/*
 * Host-side tests of the guest's device-tree reader (fdt.c, dt.c): trees
 * written by libfdt (a writer we did not write) read back, the virtio
 * nodes found, the `dt` lines, and hostile blobs: a broken header, bad
 * offsets, deep nesting, and every single-byte corruption of a real
 * tree, read under ASan from an exact-size buffer.
 */
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "guest/dt.h"
#include "guest/fdt.h"
#include "guest/lib.h"
#include "guest/serial.h"
#include "guest/host/fake_serial.h"
#include "tests/unit/tap.h"


static void be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = (uint8_t)v;
}

static void virtio_node(void *fdt, int parent, const char *name,
                        const char *compat, size_t clen, uint64_t base,
                        uint32_t irq)
{
    int n = fdt_add_subnode(fdt, parent, name);
    uint32_t irqs[2] = {cpu_to_fdt32(irq), cpu_to_fdt32(3)};

    fdt_setprop(fdt, n, "compatible", compat, (int)clen);
    fdt_setprop_u64(fdt, n, "reg", base);
    fdt_appendprop_u64(fdt, n, "reg", 0x200);
    fdt_setprop(fdt, n, "interrupts", irqs, sizeof(irqs));
}

/* A kvmini-like tree: 3 usable virtio nodes, a broken one, a nested one. */
static void *make_tree(uint32_t *size)
{
    static const char vm[] = "virtio,mmio";
    static const char two[] = "vendor,thing\0virtio,mmio";
    void *fdt = calloc(1, 8192);
    int cpus, isa, bad;

    fdt_create_empty_tree(fdt, 8192);
    fdt_setprop_u32(fdt, 0, "#address-cells", 2);
    fdt_setprop_u32(fdt, 0, "#size-cells", 2);
    fdt_setprop_string(fdt, 0, "compatible", "kvmini,x86");
    cpus = fdt_add_subnode(fdt, 0, "cpus");
    fdt_setprop_u32(fdt, fdt_add_subnode(fdt, cpus, "cpu@0"), "reg", 0);
    virtio_node(fdt, 0, "virtio_mmio@d0000000", vm, sizeof(vm), 0xd0000000, 5);
    virtio_node(fdt, 0, "virtio_mmio@d0000200", two, sizeof(two), 0xd0000200,
                6);
    virtio_node(fdt, 0, "virtio_mmio@1d0000400", vm, sizeof(vm), 0x1d0000400ULL,
                7);
    bad = fdt_add_subnode(fdt, 0, "virtio_mmio@0");
    fdt_setprop(fdt, bad, "compatible", vm, sizeof(vm)); /* no reg */
    isa = fdt_add_subnode(fdt, 0, "isa");
    virtio_node(fdt, isa, "virtio_mmio@e0000000", vm, sizeof(vm), 0xe0000000,
                9);
    fdt_pack(fdt);
    *size = fdt_totalsize(fdt);
    return fdt;
}

struct found {
    struct dt_virtio v[8];
    int n;
};

static void collect(void *ctx, const struct dt_virtio *v)
{
    struct found *f = ctx;

    if (f->n < 8)
        f->v[f->n] = *v;
    f->n++;
}

static bool has_virtio(const struct found *f, uint64_t base, uint32_t irq)
{
    for (int i = 0; i < f->n && i < 8; i++)
        if (f->v[i].base == base && f->v[i].size == 0x200 &&
            f->v[i].irq == irq && f->v[i].has_irq)
            return true;
    return false;
}

/* Opens and walks a blob; returns the walk result (or -2: bad header). */
static int walk(const void *p, uint32_t avail, int *tokens)
{
    struct fdt f;
    struct fdt_iter it;
    struct fdt_tok t;
    int r;

    *tokens = 0;
    if (fdt_open(&f, p, avail))
        return -2;
    fdt_iter_init(&it, &f);
    while ((r = fdt_iter_next(&it, &t)) > 0)
        (*tokens)++;
    return r;
}

static void test_good_tree(void)
{
    uint32_t size;
    void *blob = make_tree(&size);
    struct dt dt = {.state = DT_OK, .addr = 0x1000, .len = size};
    struct found f = {0};
    uint32_t unusable;
    int tokens;

    CHECK(walk(blob, size, &tokens) == 0 && tokens > 20,
          "libfdt tree walks to FDT_END (%d tokens)", tokens);
    CHECK(fdt_open(&dt.fdt, blob, size) == 0, "header accepted");
    unusable = dt_virtio_each(&dt, collect, &f);
    CHECK(f.n == 3, "3 root-level virtio,mmio nodes (got %d)", f.n);
    /* libfdt adds each subnode first, so look the nodes up by base. */
    CHECK(has_virtio(&f, 0xd0000000, 5), "node d0000000: window 0x200, irq 5");
    CHECK(has_virtio(&f, 0xd0000200, 6),
          "node d0000200: found through the second string of compatible");
    CHECK(has_virtio(&f, 0x1d0000400ULL, 7),
          "node 1d0000400: 64-bit address from two cells");
    CHECK(unusable == 1, "the node without reg is counted unusable");

    fake_serial_clear();
    dt_print(&dt);
    CHECK(strstr(fake_serial_out, "tg: dt / compatible=\"kvmini,x86\"\n") != NULL,
          "dt: root line");
    CHECK(strstr(fake_serial_out, "tg: dt     cpu@0 reg=<0x0>\n") != NULL,
          "dt: nested node indented 4");
    CHECK(strstr(fake_serial_out, "tg: dt   virtio_mmio@d0000200 "
                      "compatible=\"vendor,thing\",\"virtio,mmio\" "
                      "reg=<0x0 0xd0000200 0x0 0x200> "
                      "interrupts=<0x6 0x3>\n") != NULL,
          "dt: stringlist, reg and interrupts printed");
    free(blob);
}

static void test_bad_headers(void)
{
    uint32_t size;
    uint8_t *blob = make_tree(&size), *b = malloc(size);
    struct fdt f;
    static const struct {
        int field;
        uint32_t value;
        const char *what;
    } cases[] = {
        {0, 0xd00dfeee, "bad magic"},
        {1, 0x7fffffff, "totalsize beyond the buffer"},
        {2, 0xfffffff0, "structure block offset beyond totalsize"},
        {2, 0x3a, "structure block misaligned"},
        {3, 0xffffff00, "strings block offset beyond totalsize"},
        {8, 0xffffff00, "strings size overflowing"},
        {9, 0xffffff00, "structure size overflowing"},
        {5, 15, "version 15"},
        {6, 17, "last compatible version 17"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(b, blob, size);
        be32(b + 4 * cases[i].field, cases[i].value);
        CHECK(fdt_open(&f, b, size) == -1, "header rejected: %s",
              cases[i].what);
    }
    CHECK(fdt_open(&f, blob, 35) == -1, "a buffer shorter than the header");
    free(b);
    free(blob);
}

/* Tiny hand-made structure blocks. */
static int walk_struct(const uint32_t *toks, size_t n, const char *strings,
                       size_t slen)
{
    size_t total = 40 + 4 * n + slen;
    uint8_t *b = calloc(1, total);
    int tokens, r;

    be32(b, FDT_HEADER_MAGIC);
    be32(b + 4, (uint32_t)total);
    be32(b + 8, 40);
    be32(b + 12, (uint32_t)(40 + 4 * n));
    be32(b + 20, 17);
    be32(b + 24, 16);
    be32(b + 32, (uint32_t)slen);
    be32(b + 36, (uint32_t)(4 * n));
    for (size_t i = 0; i < n; i++)
        be32(b + 40 + 4 * i, toks[i]);
    memcpy(b + 40 + 4 * n, strings, slen);
    r = walk(b, (uint32_t)total, &tokens);
    free(b);
    return r;
}

static void test_bad_structures(void)
{
    /* BEGIN "" (one zero word), PROP len nameoff, END_NODE, END */
    const uint32_t ok[] = {1, 0, 3, 0, 0, 2, 9};
    const uint32_t nameoff[] = {1, 0, 3, 0, 100, 2, 9};
    const uint32_t proplen[] = {1, 0, 3, 0x7ffffff0, 0, 2, 9};
    const uint32_t unbalanced[] = {1, 0, 2, 2, 9};
    const uint32_t open[] = {1, 0, 9};
    const uint32_t two_roots[] = {1, 0, 2, 1, 0, 2, 9};
    const uint32_t prop_outside[] = {3, 0, 0, 1, 0, 2, 9};
    const uint32_t unknown[] = {1, 0, 7, 2, 9};
    const uint32_t noname[] = {1, 0x61616161};
    const uint32_t noend[] = {1, 0, 2};
    uint32_t deep[2 * 20 + 20 + 1];
    size_t n = 0;

    CHECK(walk_struct(ok, 7, "a", 2) == 0, "minimal tree accepted");
    CHECK(walk_struct(nameoff, 7, "a", 2) == -1,
          "property name offset past the strings block");
    CHECK(walk_struct(ok, 7, "ab", 2) == -1,
          "property name without NUL in the strings block");
    CHECK(walk_struct(proplen, 7, "a", 2) == -1,
          "property length past the structure block");
    CHECK(walk_struct(unbalanced, 5, "", 0) == -1, "END_NODE without a node");
    CHECK(walk_struct(open, 3, "", 0) == -1, "FDT_END with a node open");
    CHECK(walk_struct(two_roots, 7, "", 0) == -1, "a second root node");
    CHECK(walk_struct(prop_outside, 7, "a", 2) == -1,
          "a property before the root node");
    CHECK(walk_struct(unknown, 5, "", 0) == -1, "an unknown token");
    CHECK(walk_struct(noname, 2, "", 0) == -1,
          "node name running off the structure block");
    CHECK(walk_struct(noend, 3, "", 0) == -1, "no FDT_END token");
    for (int i = 0; i < 20; i++)
        deep[n++] = 1, deep[n++] = 0;
    for (int i = 0; i < 20; i++)
        deep[n++] = 2;
    deep[n++] = 9;
    CHECK(walk_struct(deep, n, "", 0) == -1, "20 levels of nesting refused");
}

/*
 * Every byte of a real tree set to 0x00, 0xff and 0x80 in turn, in an
 * exact-size heap buffer: the reader may reject it or read it, but never
 * read outside (ASan) nor loop (the walk is bounded by the token count).
 */
static void test_corruptions(void)
{
    static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x03};
    uint32_t size;
    uint8_t *blob = make_tree(&size);
    int rejected = 0, runs = 0;

    for (uint32_t i = 0; i < size; i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t *b = malloc(size);
            struct dt dt = {.state = DT_OK};
            struct found f = {0};
            int tokens, r;

            memcpy(b, blob, size);
            b[i] = vals[v];
            r = walk(b, size, &tokens);
            runs++;
            rejected += r != 0;
            if (r == 0 && !fdt_open(&dt.fdt, b, size)) {
                dt_virtio_each(&dt, collect, &f);
                fake_serial_clear();
                dt_print(&dt);
            }
            free(b);
        }
    }
    CHECK(rejected > 0 && rejected < runs,
          "%d single-byte corruptions read without a stray access (%d "
          "rejected)",
          runs, rejected);
    free(blob);
}

/* setup_data chains in low memory, as the guest sees them (below 4 GiB). */
#define LOW 0x30000000UL
#define LOW_SIZE 0x10000UL

static void put_sd(uint64_t a, uint64_t next, uint32_t type, uint32_t len)
{
    memcpy((void *)a, &next, 8);
    memcpy((void *)(a + 8), &type, 4);
    memcpy((void *)(a + 12), &len, 4);
}

static void test_setup_data(void)
{
    void *p = mmap((void *)LOW, LOW_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    struct bootinfo bi = {.e820_count = 1};
    uint32_t size;
    void *blob = make_tree(&size);
    struct dt dt;

    if (p != (void *)LOW) {
        CHECK(0, "mmap at 0x%lx for setup_data tests", LOW);
        return;
    }
    bi.e820[0] = (struct e820_entry){LOW, LOW_SIZE, 1};
    put_sd(LOW, LOW + 0x100, 1, 0); /* SETUP_E820_EXT, empty */
    put_sd(LOW + 0x100, 0, SETUP_DTB, size);
    memcpy((void *)(LOW + 0x110), blob, size);
    bi.setup_data = LOW;
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_OK && dt.addr == LOW + 0x110,
          "DTB found as the second setup_data entry");

    put_sd(LOW + 0x100, LOW + 0x100, 1, 0);
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_BAD && !strcmp(dt.why, "setup_data-chain-too-long"),
          "a setup_data loop ends after 64 entries");

    put_sd(LOW + 0x100, LOW_SIZE + LOW, 1, 0);
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_BAD &&
              !strcmp(dt.why, "setup_data-outside-memory-map"),
          "a next pointer outside the memory map is not followed");

    put_sd(LOW + 0x100, 0, SETUP_DTB, LOW_SIZE);
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_BAD && !strcmp(dt.why, "dtb-outside-memory-map"),
          "a DTB length past its memory is refused");

    put_sd(LOW + 0x100, 0, SETUP_DTB, size - 1);
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_BAD && !strcmp(dt.why, "header"),
          "a setup_data length shorter than totalsize is refused");

    bi.setup_data = 0;
    dt_find(&dt, &bi);
    CHECK(dt.state == DT_NONE, "no setup_data: no DTB");
    munmap(p, LOW_SIZE);
    free(blob);
}

int main(void)
{
    test_good_tree();
    test_bad_headers();
    test_bad_structures();
    test_corruptions();
    test_setup_data();
    return tap_done();
}
