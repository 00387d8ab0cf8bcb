/* SPDX-License-Identifier: MIT */
/*
 * Kernel-style command-line words: separated by spaces, double quotes
 * group spaces into one word (key="a b"), a quoted value is returned
 * without its quotes.
 */
#ifndef TG_CMDLINE_H
#define TG_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* True if the bare word `word` appears (e.g. "shell"). */
bool cmdline_has(const char *cl, size_t len, const char *word);
/*
 * Finds key=value; stores the value's start and length. Later words win
 * over earlier ones, as in Linux.
 */
bool cmdline_get(const char *cl, size_t len, const char *key, const char **val,
                 size_t *vlen);
/*
 * Iterates over every key=value word in order (for repeatable keys):
 * start with *pos = 0; each true return stores one value and advances
 * *pos past its word.
 */
bool cmdline_next(const char *cl, size_t len, size_t *pos, const char *key,
                  const char **val, size_t *vlen);

#endif
