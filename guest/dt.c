/* SPDX-License-Identifier: MIT */
/* Finds the SETUP_DTB device tree, lists its virtio-mmio nodes, prints it. */
#include "guest/dt.h"
#include "guest/io.h"
#include "guest/lib.h"

#define GIB4 0x100000000ULL
#define SETUP_CHAIN_MAX 64
#define SETUP_HDR 16 /* u64 next, u32 type, u32 len */
#define CELLS_PRINT_MAX 8

/* setup_data headers need no alignment; read them byte-safely. */
struct setup_hdr {
    uint64_t next;
    uint32_t type, len;
} __attribute__((packed));

/* The e820 entry holding [a, a + n) entirely, below 4 GiB, or NULL. */
static const struct e820_entry *in_e820(const struct bootinfo *bi, uint64_t a,
                                        uint64_t n)
{
    if (a + n < a || a + n > GIB4)
        return NULL;
    for (uint32_t i = 0; i < bi->e820_count; i++) {
        const struct e820_entry *e = &bi->e820[i];

        if (a >= e->addr && a + n <= e->addr + e->size &&
            e->addr + e->size >= e->addr)
            return e;
    }
    return NULL;
}

static void dt_bad(struct dt *dt, const char *why)
{
    dt->state = DT_BAD;
    dt->why = why;
}

static void dt_validate(struct dt *dt, uint64_t a, uint32_t len)
{
    struct fdt_iter it;
    struct fdt_tok t;
    int r;

    dt->addr = a;
    dt->len = len;
    if (fdt_open(&dt->fdt, phys(a), len)) {
        dt_bad(dt, "header");
        return;
    }
    /* Walk it all once, so later walks can trust the structure. */
    fdt_iter_init(&it, &dt->fdt);
    while ((r = fdt_iter_next(&it, &t)) > 0)
        ;
    if (r < 0) {
        dt_bad(dt, "structure");
        return;
    }
    dt->state = DT_OK;
}

void dt_find(struct dt *dt, const struct bootinfo *bi)
{
    uint64_t a = bi->setup_data;

    *dt = (struct dt){.state = DT_NONE};
    for (int i = 0; a && i < SETUP_CHAIN_MAX; i++) {
        const struct setup_hdr *h;
        uint32_t type, len;

        if (!in_e820(bi, a, SETUP_HDR)) {
            dt_bad(dt, "setup_data-outside-memory-map");
            return;
        }
        h = phys(a);
        type = h->type;
        len = h->len;
        if (type == SETUP_DTB) {
            if (!in_e820(bi, a + SETUP_HDR, len))
                dt_bad(dt, "dtb-outside-memory-map");
            else
                dt_validate(dt, a + SETUP_HDR, len);
            return;
        }
        a = h->next;
    }
    if (a)
        dt_bad(dt, "setup_data-chain-too-long");
}

void dt_report(const struct dt *dt)
{
    if (dt->state == DT_NONE)
        tg_printf("tg: dtb none\n");
    else if (dt->state == DT_BAD)
        tg_printf("tg: dtb bad %s\n", dt->why);
    else
        tg_printf("tg: dtb addr=0x%lx size=%u\n", dt->addr, dt->fdt.size);
}

static bool prop_is(const struct fdt_tok *t, const char *name)
{
    size_t n = strlen(name);

    return !strncmp(t->name, name, n) && !t->name[n];
}

/* A node's properties of interest; data NULL when absent. */
struct node_props {
    const char *name;
    int depth;
    const uint8_t *compat, *reg, *irqs;
    uint32_t compat_len, reg_len, irqs_len;
    bool pending; /* dt_print: node line not printed yet */
};

static void note_prop(struct node_props *p, const struct fdt_tok *t)
{
    if (prop_is(t, "compatible")) {
        p->compat = t->data;
        p->compat_len = t->len;
    } else if (prop_is(t, "reg")) {
        p->reg = t->data;
        p->reg_len = t->len;
    } else if (prop_is(t, "interrupts")) {
        p->irqs = t->data;
        p->irqs_len = t->len;
    }
}

uint32_t dt_virtio_each(const struct dt *dt,
                        void (*fn)(void *ctx, const struct dt_virtio *v),
                        void *ctx)
{
    uint32_t ac = 2, sc = 1, unusable = 0; /* spec defaults */
    struct node_props n = {0};
    struct fdt_iter it;
    struct fdt_tok t;

    if (dt->state != DT_OK)
        return 0;
    fdt_iter_init(&it, &dt->fdt);
    while (fdt_iter_next(&it, &t) > 0) {
        if (t.kind == FDT_TOK_NODE && t.depth == 1) {
            n = (struct node_props){.name = t.name, .depth = 1};
        } else if (t.kind == FDT_TOK_PROP && t.depth == 0 && t.len == 4) {
            if (prop_is(&t, "#address-cells"))
                ac = fdt_cell(t.data, 0);
            else if (prop_is(&t, "#size-cells"))
                sc = fdt_cell(t.data, 0);
        } else if (t.kind == FDT_TOK_PROP && t.depth == 1) {
            note_prop(&n, &t);
        } else if (t.kind == FDT_TOK_END_NODE && t.depth == 1 && n.compat &&
                   fdt_strlist_has(n.compat, n.compat_len, "virtio,mmio")) {
            struct dt_virtio v = {0};

            if (ac < 1 || ac > 2 || sc < 1 || sc > 2 || !n.reg ||
                n.reg_len < 4 * (ac + sc)) {
                unusable++;
                continue;
            }
            v.base = fdt_cells(n.reg, 0, ac);
            v.size = fdt_cells(n.reg, ac, sc);
            v.has_irq = n.irqs && n.irqs_len >= 4;
            v.irq = v.has_irq ? fdt_cell(n.irqs, 0) : 0;
            fn(ctx, &v);
        }
    }
    return unusable;
}

/* Appends " name=<0x.. 0x..>" for a cell array (at most 8 cells shown). */
static size_t put_cells(char *b, size_t o, size_t cap, const char *name,
                        const uint8_t *d, uint32_t len)
{
    uint32_t n = len / 4;

    if (!d || o >= cap)
        return o;
    o += fmt(b + o, cap - o, " %s=<", name);
    for (uint32_t i = 0; i < n && i < CELLS_PRINT_MAX && o < cap; i++)
        o += fmt(b + o, cap - o, "%s0x%x", i ? " " : "", fdt_cell(d, i));
    if (o < cap)
        o += fmt(b + o, cap - o, "%s>", n > CELLS_PRINT_MAX ? " ..." : "");
    return o;
}

static void print_node(struct node_props *p)
{
    char b[240];
    size_t o, cap = sizeof(b);

    if (!p->pending)
        return;
    p->pending = false;
    for (o = 0; o < 2 * (size_t)p->depth && o < 2 * FDT_DEPTH_MAX; o++)
        b[o] = ' ';
    o += fmt(b + o, cap - o, "%s", *p->name ? p->name : "/");
    if (p->compat && o < cap) {
        o += fmt(b + o, cap - o, " compatible=");
        /* Stringlist: print each string quoted, NULs as commas. */
        for (uint32_t i = 0; i < p->compat_len && o < cap;) {
            uint32_t s = i;

            while (i < p->compat_len && p->compat[i])
                i++;
            o += fmt(b + o, cap - o, "%s\"%.*s\"", s ? "," : "", (int)(i - s),
                     (const char *)p->compat + s);
            i++;
        }
    }
    o = put_cells(b, o, cap, "reg", p->reg, p->reg_len);
    put_cells(b, o, cap, "interrupts", p->irqs, p->irqs_len);
    tg_printf("tg: dt %s\n", b);
}

void dt_print(const struct dt *dt)
{
    struct node_props n = {0};
    struct fdt_iter it;
    struct fdt_tok t;

    dt_report(dt);
    if (dt->state != DT_OK)
        return;
    fdt_iter_init(&it, &dt->fdt);
    while (fdt_iter_next(&it, &t) > 0) {
        if (t.kind == FDT_TOK_PROP) {
            note_prop(&n, &t);
            continue;
        }
        /* Properties precede subnodes: the node line is complete now. */
        print_node(&n);
        if (t.kind == FDT_TOK_NODE)
            n = (struct node_props){
                .name = t.name, .depth = t.depth, .pending = true};
    }
}
