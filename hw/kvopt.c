/* SPDX-License-Identifier: MIT */
/* Table-driven key=value option splitter shared by every device. */
#include "hw/kvopt.h"

#include "hw/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An item is at most a path plus its key: longer ones are refused
 * rather than truncated. */
#define KVOPT_ITEM_MAX (PATH_MAX + 64)

int kvopt_parse_size(const char *s, unsigned default_shift, uint64_t *out)
{
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    /* Syntax first: junk after too many digits is not a size at all. */
    bool overflow = errno == ERANGE;
    unsigned shift = default_shift;
    if (*end) {
        switch (*end | 0x20) {
        case 'k':
            shift = 10;
            break;
        case 'm':
            shift = 20;
            break;
        case 'g':
            shift = 30;
            break;
        case 't':
            shift = 40;
            break;
        default:
            return -EINVAL;
        }
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "B"))
            end += strlen(end);
        if (*end)
            return -EINVAL;
    }
    if (overflow || v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Decimal, or hex after 0x. Not strtoull's base 0: a leading zero would
 * make "010" eight and "09" an error. Digits only, checked first:
 * strtoull alone would also take spaces, signs and a second "0x". */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    size_t n = strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789");
    if (!n || digits[n])
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, hex ? 16 : 10);
    if (errno || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int kvopt_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int r = parse_u64(s, min, max, &v);
    if (r == 0)
        *out = (uint32_t)v;
    return r;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    /* Exactly six two-digit hex bytes separated by ':' (17 chars). */
    if (strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        int hi = hex_nibble(p[0]), lo = hex_nibble(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char *type_hint(const struct kvopt_key *k)
{
    switch (k->type) {
    case KVOPT_BOOL:
        return "on or off";
    case KVOPT_U32:
    case KVOPT_U64:
        return "a whole number (decimal or 0x hex)";
    case KVOPT_SIZE:
        return "a size such as 4K or 1M";
    case KVOPT_MAC:
        return "a MAC address such as 52:54:00:12:34:56";
    default:
        return "a value";
    }
}

/* Store one value; val is NULL for a bare key. */
static int set_value(const struct kvopt_key *k, const char *val, void *cfg,
                     char *err, size_t errlen)
{
    void *field = (char *)cfg + k->off;
    int r = 0;
    if (!val && k->type != KVOPT_BOOL)
        return errbuf_set(err, errlen, -EINVAL, "'%s' needs a value (%s=...)",
                          k->name, k->name);
    switch (k->type) {
    case KVOPT_STR:
        if (!*val)
            return errbuf_set(err, errlen, -EINVAL, "'%s=' is empty", k->name);
        if (strlen(val) >= k->size)
            return errbuf_set(err, errlen, -EINVAL,
                              "'%s=%s' is longer than %zu bytes", k->name, val,
                              k->size - 1);
        memcpy(field, val, strlen(val) + 1);
        return 0;
    case KVOPT_BOOL:
        if (!val) {
            *(bool *)field = true;
            return 0;
        }
        r = parse_bool(val, field);
        break;
    case KVOPT_U32:
        r = kvopt_parse_u32(val, (uint32_t)k->min,
                            k->max ? (uint32_t)k->max : UINT32_MAX, field);
        break;
    case KVOPT_U64:
        r = parse_u64(val, k->min, k->max ? k->max : UINT64_MAX, field);
        break;
    case KVOPT_SIZE: {
        uint64_t v;
        r = kvopt_parse_size(val, 0, &v);
        if (r == 0 && (v < k->min || (k->max && v > k->max)))
            r = -ERANGE;
        if (r == 0)
            *(uint64_t *)field = v;
        break;
    }
    case KVOPT_MAC:
        r = parse_mac(val, field);
        break;
    }
    if (r == -ERANGE && k->type == KVOPT_U32)
        return errbuf_set(err, errlen, r,
                          "'%s=%s' is out of range: use %llu..%llu", k->name,
                          val, (unsigned long long)k->min,
                          (unsigned long long)(k->max ? k->max : UINT32_MAX));
    if (r == -ERANGE)
        return errbuf_set(err, errlen, r, "'%s=%s' is out of range", k->name,
                          val);
    if (r < 0)
        return errbuf_set(err, errlen, r, "'%s=%s': expected %s", k->name, val,
                          type_hint(k));
    return 0;
}

static void list_keys(const struct kvopt_key *keys, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (const struct kvopt_key *k = keys; k->name && o < len; k++)
        o += snprintf(buf + o, len - o, "%s%s", o ? ", " : "", k->name);
}

/* Copy the next item of *sp into item, turning ",," into ','. Returns its
 * length, or -E2BIG; *sp moves past the separating comma and *more says
 * whether there was one (so "a," has an empty second item). */
static int next_item(const char **sp, char *item, size_t cap, bool *more)
{
    const char *s = *sp;
    size_t n = 0;
    for (;;) {
        if (*s == ',' && s[1] == ',') {
            s++;
        } else if (*s == ',' || *s == '\0') {
            break;
        }
        if (n + 1 >= cap)
            return -E2BIG;
        item[n++] = *s++;
    }
    item[n] = '\0';
    *more = *s == ',';
    *sp = *more ? s + 1 : s;
    return (int)n;
}

static const struct kvopt_key *find_key(const struct kvopt_key *keys,
                                        const char *name, unsigned *idx)
{
    for (unsigned i = 0; keys[i].name; i++)
        if (!strcmp(keys[i].name, name)) {
            *idx = i;
            return &keys[i];
        }
    return NULL;
}

/* Append ",ITEM" (or "ITEM" first) to rest, commas escaped again. */
static int rest_append(char *rest, size_t restlen, const char *name,
                       const char *val)
{
    size_t o = strlen(rest);
    const char *parts[3] = {name, val ? "=" : "", val ? val : ""};
    if (o && o + 1 < restlen)
        rest[o++] = ',';
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p; p++) {
            if (o + 2 >= restlen)
                return -E2BIG;
            if (*p == ',')
                rest[o++] = ',';
            rest[o++] = *p;
        }
    rest[o] = '\0';
    return 0;
}

/* kvopt_parse, and kvopt_parse_some when rest is not NULL. */
static int parse_items(const char *spec, const struct kvopt_key *keys,
                       const char *positional, void *cfg, uint64_t *given,
                       char *rest, size_t restlen, char *err, size_t errlen)
{
    char item[KVOPT_ITEM_MAX];
    uint64_t seen = 0;
    bool first = true, more = true;
    const char *s = spec;
    if (!*spec)
        return errbuf_set(err, errlen, -EINVAL, "empty option");
    if (rest && restlen)
        rest[0] = '\0';
    while (more) {
        int n = next_item(&s, item, sizeof(item), &more);
        if (n < 0)
            return errbuf_set(err, errlen, -EINVAL,
                              "an item is longer than %d bytes",
                              KVOPT_ITEM_MAX - 1);
        if (n == 0)
            return errbuf_set(err, errlen, -EINVAL,
                              "empty item (two commas in a row mean a "
                              "literal comma; a trailing comma is not "
                              "allowed)");
        char *eq = strchr(item, '=');
        const char *name = item, *val = NULL;
        if (eq) {
            *eq = '\0';
            val = eq + 1;
        }
        unsigned idx = 0;
        const struct kvopt_key *k = find_key(keys, name, &idx);
        if (!k && first && positional && !eq) {
            k = find_key(keys, positional, &idx);
            val = item;
        }
        first = false;
        if (!k && rest) {
            if (rest_append(rest, restlen, name, val) < 0)
                return errbuf_set(err, errlen, -EINVAL, "option too long");
            continue;
        }
        if (!k) {
            char known[256];
            list_keys(keys, known, sizeof(known));
            return errbuf_set(err, errlen, -EINVAL,
                              "unknown key '%s' (known: %s)", name, known);
        }
        if (seen & (1ULL << idx))
            return errbuf_set(err, errlen, -EINVAL, "'%s' is given twice",
                              k->name);
        seen |= 1ULL << idx;
        int r = set_value(k, val, cfg, err, errlen);
        if (r < 0)
            return r;
    }
    if (given)
        *given = seen;
    return 0;
}

int kvopt_parse(const char *spec, const struct kvopt_key *keys,
                const char *positional, void *cfg, uint64_t *given, char *err,
                size_t errlen)
{
    return parse_items(spec, keys, positional, cfg, given, NULL, 0, err,
                       errlen);
}

int kvopt_parse_some(const char *spec, const struct kvopt_key *keys, void *cfg,
                     uint64_t *given, char *rest, size_t restlen, char *err,
                     size_t errlen)
{
    return parse_items(spec, keys, NULL, cfg, given, rest, restlen, err,
                       errlen);
}
