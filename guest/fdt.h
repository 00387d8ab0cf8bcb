/* SPDX-License-Identifier: MIT */
/*
 * A bounds-checked reader for flattened device trees (DTB, devicetree
 * spec v0.4 ch. 5): header validation and a token iterator. Every offset
 * in the blob is checked against the blob's own size before it is read,
 * so a corrupt tree yields an error, never a stray access. No libfdt.
 */
#ifndef TG_FDT_H
#define TG_FDT_H

#include <stdbool.h>
#include <stdint.h>

#define FDT_HEADER_MAGIC 0xd00dfeed
#define FDT_DEPTH_MAX 16 /* deeper trees are rejected as malformed */

struct fdt {
    const uint8_t *blob;
    uint32_t size; /* totalsize, checked against the buffer */
    uint32_t struct_off, struct_size; /* structure block */
    uint32_t strings_off, strings_size;
};

enum fdt_kind { FDT_TOK_NODE, FDT_TOK_PROP, FDT_TOK_END_NODE };

struct fdt_tok {
    enum fdt_kind kind;
    int depth;           /* root node is depth 0 */
    const char *name;    /* node name (root: ""), or property name */
    const uint8_t *data; /* property value (big-endian cells) */
    uint32_t len;
};

struct fdt_iter {
    const struct fdt *f;
    uint32_t off; /* next token, relative to the structure block */
    int depth;    /* nodes open */
    bool rooted;  /* the root node began */
    bool done;
};

/*
 * Validates the header of the blob at p (at most avail bytes readable) and
 * fills f. Returns 0, or -1 when the magic, version or any block offset
 * or size is wrong.
 */
int fdt_open(struct fdt *f, const void *p, uint32_t avail);

void fdt_iter_init(struct fdt_iter *it, const struct fdt *f);
/*
 * Next token: 1 with *t filled, 0 at FDT_END (after the root closed), -1
 * on a malformed structure (truncation, a name or string running off its
 * block, an unknown token, unbalanced or too-deep nodes).
 */
int fdt_iter_next(struct fdt_iter *it, struct fdt_tok *t);

/* Big-endian cell i of a property (caller checked len >= 4 * (i + 1)). */
uint32_t fdt_cell(const uint8_t *data, uint32_t i);
/* Reads n (1 or 2) cells starting at cell i as one number. */
uint64_t fdt_cells(const uint8_t *data, uint32_t i, uint32_t n);
/* True if the stringlist value (data, len) contains the string s. */
bool fdt_strlist_has(const uint8_t *data, uint32_t len, const char *s);

#endif
