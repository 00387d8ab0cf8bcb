/* SPDX-License-Identifier: MIT */
/*
 * The guest's libc substitute: memory/string helpers the compiler may
 * call, number parsing, and a printf subset that prints whole lines.
 */
#ifndef TG_LIB_H
#define TG_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strncmp(const char *a, const char *b, size_t n);

/*
 * Parses an unsigned number from s[0..len): decimal, or hex with 0x.
 * With suffixes true a trailing K, M or G (binary units) is accepted.
 * Returns 0, or -1 when the text is empty, malformed or overflows.
 */
int parse_u64(const char *s, size_t len, bool suffixes, uint64_t *out);
/* The value of a hex (or decimal) digit, or -1. */
int hex_digit(char c);

/*
 * printf subset: %s %.*s %c %d %u %x %p, l/ll/z size modifiers, '0' and
 * width. Returns the length it would have written (snprintf rules).
 */
int vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats into a line buffer (truncated at 256 bytes) and prints it. */
void tg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
