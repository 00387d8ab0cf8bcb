/* SPDX-License-Identifier: MIT */
/*
 * The one splitter for device option strings such as
 * "disk.img,ro,serial=boot,queues=2": a comma list of key=value items,
 * driven by a table of keys that says each key's type, bounds and where
 * its value goes in the caller's config struct. ",," inside an item is a
 * literal comma (so a path may contain one). Keys are compared exactly:
 * "ro" never matches "rox". Each key may appear once.
 *
 * Pure functions: no allocation, no I/O, any thread. Errors are -EINVAL
 * (or -ERANGE for a number out of bounds) with one human-readable
 * sentence in err that names the item; the caller prefixes the flag.
 */
#ifndef KVMINI_HW_KVOPT_H
#define KVMINI_HW_KVOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kvopt_type {
    KVOPT_STR,  /* char[size], NUL-terminated; longer values are errors */
    KVOPT_BOOL, /* bool; bare "key" is true; on|off|yes|no|true|false|1|0 */
    KVOPT_U32,  /* uint32_t in [min, max], decimal or 0x hex */
    KVOPT_U64,  /* uint64_t in [min, max], decimal or 0x hex: addresses */
    KVOPT_SIZE, /* uint64_t bytes: K/M/G/T suffixes, no suffix = bytes */
    KVOPT_MAC,  /* uint8_t[6] from "52:54:00:12:34:56" */
};

struct kvopt_key {
    const char *name;
    enum kvopt_type type;
    size_t off;        /* offsetof() the field in the config struct */
    size_t size;       /* KVOPT_STR: sizeof the char array */
    uint64_t min, max; /* KVOPT_U32/U64/SIZE, inclusive; max 0: none */
};

/*
 * Parse spec into cfg by keys[] (terminated by a {0} entry). If
 * positional names a KVOPT_STR key, a first item without '=' is that
 * key's value ("disk.img,ro" is "path=disk.img,ro"). *given, if not
 * NULL, gets bit i set for each keys[i] present (at most 64 keys).
 * Fields of keys not given are left untouched: set defaults first.
 */
int kvopt_parse(const char *spec, const struct kvopt_key *keys,
                const char *positional, void *cfg, uint64_t *given, char *err,
                size_t errlen);

/*
 * The keys in keys[] only: every other item is copied, still escaped and
 * comma-separated, to rest (which is "" when none is left), for another
 * parser. How shared keys (addr=, irq=) are taken out of a device spec
 * before the device parses the rest. Errors as kvopt_parse.
 */
int kvopt_parse_some(const char *spec, const struct kvopt_key *keys,
                     void *cfg, uint64_t *given, char *rest, size_t restlen,
                     char *err, size_t errlen);

/* "512M", "3G", "65536K", plain numbers in units of 1 << default_shift
 * (20 for -m's MiB, 0 for bytes). "MiB"/"MB" style suffixes accepted.
 * 0, -EINVAL or -ERANGE. */
int kvopt_parse_size(const char *s, unsigned default_shift, uint64_t *out);

/* Decimal (or 0x hex) unsigned number in [min, max]. 0, -EINVAL, -ERANGE. */
int kvopt_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
