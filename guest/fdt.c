/* SPDX-License-Identifier: MIT */
/* Validates a flattened device tree and walks its structure block. */
#include "guest/fdt.h"
#include "guest/lib.h"

#define FDT_HDR_V16 36 /* header bytes up to size_dt_strings */
#define FDT_HDR_V17 40 /* plus size_dt_struct */
#define TOK_BEGIN_NODE 1
#define TOK_END_NODE 2
#define TOK_PROP 3
#define TOK_NOP 4
#define TOK_END 9

uint32_t fdt_cell(const uint8_t *d, uint32_t i)
{
    d += 4 * i;
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 |
           d[3];
}

uint64_t fdt_cells(const uint8_t *d, uint32_t i, uint32_t n)
{
    uint64_t v = 0;

    for (uint32_t k = 0; k < n; k++)
        v = v << 32 | fdt_cell(d, i + k);
    return v;
}

/* off + len within size, without overflow. */
static bool fits(uint32_t off, uint32_t len, uint32_t size)
{
    return off <= size && len <= size - off;
}

int fdt_open(struct fdt *f, const void *p, uint32_t avail)
{
    const uint8_t *b = p;
    uint32_t total, ver, last_comp;

    if (avail < FDT_HDR_V16 || fdt_cell(b, 0) != FDT_HEADER_MAGIC)
        return -1;
    total = fdt_cell(b, 1);
    ver = fdt_cell(b, 5);
    last_comp = fdt_cell(b, 6);
    /* v16 readers can read anything that claims compatibility with v16. */
    if (total > avail || total < FDT_HDR_V16 || ver < 16 || last_comp > 16)
        return -1;
    *f = (struct fdt){
        .blob = b,
        .size = total,
        .struct_off = fdt_cell(b, 2),
        .strings_off = fdt_cell(b, 3),
        .strings_size = fdt_cell(b, 8),
    };
    if (ver >= 17 && total >= FDT_HDR_V17)
        f->struct_size = fdt_cell(b, 9);
    else if (f->struct_off <= total)
        f->struct_size = total - f->struct_off; /* v16: bounded by total */
    if (f->struct_off % 4 || !fits(f->struct_off, f->struct_size, total) ||
        !fits(f->strings_off, f->strings_size, total))
        return -1;
    return 0;
}

void fdt_iter_init(struct fdt_iter *it, const struct fdt *f)
{
    *it = (struct fdt_iter){.f = f};
}

static int fail(struct fdt_iter *it)
{
    it->done = true;
    return -1;
}

/* Length of the NUL-terminated string at s within n bytes, or -1. */
static int64_t str_in(const uint8_t *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!s[i])
            return i;
    return -1;
}

/* off + len rounded up to 4, capped at the block end (no wrap at 4 GiB):
 * a token there fails the next bounds check. */
static uint32_t skip4(uint32_t off, uint32_t len, uint32_t end)
{
    uint64_t v = ((uint64_t)off + len + 3) & ~3ULL;

    return v < end ? (uint32_t)v : end;
}

static int read_prop(struct fdt_iter *it, struct fdt_tok *t)
{
    const struct fdt *f = it->f;
    const uint8_t *s = f->blob + f->struct_off;
    uint32_t len, nameoff;

    if (!fits(it->off, 8, f->struct_size) || it->depth < 1)
        return fail(it);
    len = fdt_cell(s + it->off, 0);
    nameoff = fdt_cell(s + it->off, 1);
    it->off += 8;
    if (!fits(it->off, len, f->struct_size) || nameoff >= f->strings_size ||
        str_in(f->blob + f->strings_off + nameoff, f->strings_size - nameoff) <
            0)
        return fail(it);
    *t = (struct fdt_tok){FDT_TOK_PROP, it->depth - 1,
                          (const char *)f->blob + f->strings_off + nameoff,
                          s + it->off, len};
    it->off = skip4(it->off, len, f->struct_size);
    return 1;
}

int fdt_iter_next(struct fdt_iter *it, struct fdt_tok *t)
{
    const struct fdt *f = it->f;
    const uint8_t *s = f->blob + f->struct_off;

    while (!it->done) {
        uint32_t tok;
        int64_t n;

        if (!fits(it->off, 4, f->struct_size))
            return fail(it);
        tok = fdt_cell(s + it->off, 0);
        it->off += 4;
        switch (tok) {
        case TOK_NOP:
            continue;
        case TOK_PROP:
            return read_prop(it, t);
        case TOK_BEGIN_NODE:
            n = str_in(s + it->off, f->struct_size - it->off);
            /* One root only, and no node after the root closed. */
            if (n < 0 || it->depth >= FDT_DEPTH_MAX ||
                (it->depth == 0 && it->rooted))
                return fail(it);
            it->rooted = true;
            *t = (struct fdt_tok){FDT_TOK_NODE, it->depth,
                                  (const char *)s + it->off, NULL, 0};
            it->depth++;
            it->off = skip4(it->off, (uint32_t)n + 1, f->struct_size);
            return 1;
        case TOK_END_NODE:
            if (it->depth < 1)
                return fail(it);
            it->depth--;
            *t = (struct fdt_tok){FDT_TOK_END_NODE, it->depth, NULL, NULL, 0};
            return 1;
        case TOK_END:
            it->done = true;
            return it->depth == 0 && it->rooted ? 0 : -1;
        default:
            return fail(it);
        }
    }
    return 0;
}

bool fdt_strlist_has(const uint8_t *d, uint32_t len, const char *want)
{
    size_t wl = strlen(want);

    for (uint32_t i = 0; i < len;) {
        int64_t n = str_in(d + i, len - i);

        if (n < 0)
            return false;
        if ((size_t)n == wl && !memcmp(d + i, want, wl))
            return true;
        i += (uint32_t)n + 1;
    }
    return false;
}
