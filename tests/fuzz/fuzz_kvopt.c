/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the option splitter and the device-spec parsers a user
 * types (hw/kvopt.c, vblk_parse, vnet_parse, chardev_spec_parse,
 * vser_port_opt_parse). Checked besides the sanitizers:
 * - numbers mean what the docs say: kvopt_parse_u32 takes exactly
 *   decimal or 0x-hex digits and returns their value; kvopt_parse_size
 *   exactly digits with an optional K/M/G/T (iB/B) suffix;
 * - kvopt_parse round-trips: a config it accepted, written back as a
 *   spec (",," for commas), parses to the same config;
 * - every refusal is -EINVAL or -ERANGE with one non-empty line in err.
 *
 * Input: a mode byte (low 2 bits: u32, size, kvopt_parse, or a device
 * spec, then bits 6-7: disk, NIC, backend, port), then the string (to
 * its end or a NUL).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/chardev.h"
#include "hw/kvopt.h"
#include "tests/fuzz/fz.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/serial_opt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

struct cfg {
    char path[64];
    bool ro;
    uint32_t n;
    uint64_t size;
    uint8_t mac[6];
    char name[8];
};

static const struct kvopt_key keys[] = {
    {"path", KVOPT_STR, offsetof(struct cfg, path), 64, 0, 0},
    {"ro", KVOPT_BOOL, offsetof(struct cfg, ro), 0, 0, 0},
    {"n", KVOPT_U32, offsetof(struct cfg, n), 0, 1, 16},
    {"size", KVOPT_SIZE, offsetof(struct cfg, size), 0, 512, 1ULL << 40},
    {"mac", KVOPT_MAC, offsetof(struct cfg, mac), 0, 0, 0},
    {"name", KVOPT_STR, offsetof(struct cfg, name), 8, 0, 0},
    {0},
};

static void check_err(int r, const char *err)
{
    FZ_ASSERT(r == -EINVAL || r == -ERANGE, "error %d", r);
    FZ_ASSERT(err[0] && !strchr(err, '\n'), "error text '%s'", err);
}

static bool all(const char *s, int (*cls)(int))
{
    for (; *s; s++)
        if (!cls((unsigned char)*s))
            return false;
    return true;
}

/* The value the docs give s, or -1 if they say it is no number. */
static int doc_u32(const char *s, uint64_t *v)
{
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2] &&
        all(s + 2, isxdigit))
        *v = strtoull(s + 2, NULL, 16);
    else if (*s && all(s, isdigit))
        *v = strtoull(s, NULL, 10);
    else
        return -1;
    return errno ? 1 : 0; /* 1: too big for any type */
}

static void mode_u32(const char *s, uint32_t lo, uint32_t hi)
{
    uint32_t got = 0;
    uint64_t want;
    int r = kvopt_parse_u32(s, lo, hi, &got);
    int d = doc_u32(s, &want);
    if (d < 0)
        FZ_ASSERT(r == -EINVAL, "'%s' is not a number, got %d (%u)", s, r, got);
    else if (d > 0 || want < lo || want > hi)
        FZ_ASSERT(r == -ERANGE, "'%s' out of %u..%u, got %d", s, lo, hi, r);
    else
        FZ_ASSERT(r == 0 && got == want, "'%s' is %" PRIu64 ", got %d (%u)", s,
                  want, r, got);
}

static void mode_size(const char *s, unsigned dshift)
{
    uint64_t got = 0, n;
    int r = kvopt_parse_size(s, dshift, &got);
    size_t digits = strspn(s, "0123456789");
    const char *suf = s + digits, *units = "kmgt";
    const char *u = *suf ? strchr(units, tolower((unsigned char)*suf)) : NULL;
    bool shaped = digits && (!*suf || (u && *u &&
                                       (!suf[1] || !strcmp(suf + 1, "B") ||
                                        !strcmp(suf + 1, "iB"))));
    if (!shaped) {
        FZ_ASSERT(r == -EINVAL, "'%s' is no size, got %d", s, r);
        return;
    }
    unsigned shift = u ? 10 * (unsigned)(u - units + 1) : dshift;
    errno = 0;
    n = strtoull(s, NULL, 10);
    if (errno || n > (UINT64_MAX >> shift))
        FZ_ASSERT(r == -ERANGE, "'%s' overflows, got %d", s, r);
    else
        FZ_ASSERT(r == 0 && got == n << shift, "'%s' got %d 0x%" PRIx64, s, r,
                  got);
}

/* Write a config back as a spec: every key, commas doubled. */
static void unparse(const struct cfg *c, char *out, size_t cap)
{
    char *o = out;
    o += snprintf(o, cap, "path=");
    for (const char *p = c->path; *p; p++) {
        *o++ = *p;
        if (*p == ',')
            *o++ = ',';
    }
    o += sprintf(o, ",ro=%s,n=%u,size=%" PRIu64, c->ro ? "on" : "off", c->n,
                 c->size);
    o += sprintf(o, ",mac=%02x:%02x:%02x:%02x:%02x:%02x,name=", c->mac[0],
                 c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
    for (const char *p = c->name; *p; p++) {
        *o++ = *p;
        if (*p == ',')
            *o++ = ',';
    }
    *o = '\0';
}

static void mode_parse(const char *s)
{
    struct cfg a = {"x", false, 1, 512, {0}, "y"}, b;
    char err[256] = "", spec[400];
    uint64_t given = 0;
    int r = kvopt_parse(s, keys, "path", &a, &given, err, sizeof(err));
    if (r < 0) {
        check_err(r, err);
        return;
    }
    FZ_ASSERT(memchr(a.path, 0, sizeof(a.path)) &&
                  memchr(a.name, 0, sizeof(a.name)) && a.path[0] && a.name[0],
              "strings not terminated or empty");
    unparse(&a, spec, sizeof(spec));
    memset(&b, 0, sizeof(b));
    r = kvopt_parse(spec, keys, "path", &b, &given, err, sizeof(err));
    FZ_ASSERT(r == 0 && !memcmp(&a, &b, sizeof(a)) && given == 0x3f,
              "'%s' -> '%s' does not parse back the same (%d %s)", s, spec, r,
              err);
}

static void mode_vblk(const char *s)
{
    struct vblk_config c;
    char err[PATH_MAX + 128] = "";
    int r = vblk_parse(s, &c, err, sizeof(err));
    if (r < 0) {
        check_err(r, err);
        return;
    }
    FZ_ASSERT(c.path[0] && memchr(c.path, 0, sizeof(c.path)) &&
                  memchr(c.serial, 0, sizeof(c.serial)) && c.queues <= 16,
              "vblk_parse('%s') accepted a bad config", s);
    for (const char *p = c.serial; *p; p++)
        FZ_ASSERT(*p >= 0x20 && *p <= 0x7e, "serial byte 0x%02x", *p);
}

static void mode_vnet(const char *s)
{
    struct vnet_config c;
    char err[256] = "";
    int r = vnet_parse(s, &c, err, sizeof(err));
    if (r < 0) {
        check_err(r, err);
        return;
    }
    FZ_ASSERT(c.tap[0] && memchr(c.tap, 0, sizeof(c.tap)) && c.queues >= 1 &&
                  c.queues <= VNET_MAX_PAIRS &&
                  (!c.mtu || (c.mtu >= 68 && c.mtu <= 65535)),
              "vnet_parse('%s') accepted a bad config", s);
    static const uint8_t zero[6];
    FZ_ASSERT(!c.mac_set || (!(c.mac[0] & 1) && memcmp(c.mac, zero, 6)),
              "vnet_parse('%s') accepted a multicast or zero MAC", s);
}

static void check_backend(const struct chardev_spec *b, const char *s)
{
    bool has_path = b->kind == CHARDEV_UNIX_SERVER ||
                    b->kind == CHARDEV_UNIX_CLIENT || b->kind == CHARDEV_FILE;
    FZ_ASSERT(b->kind <= CHARDEV_FILE && memchr(b->path, 0, sizeof(b->path)) &&
                  has_path == !!b->path[0] &&
                  (!b->wait || b->kind == CHARDEV_UNIX_SERVER),
              "'%s' gave a bad backend (kind %d, wait %d)", s, b->kind,
              b->wait);
}

static void mode_chardev(const char *s)
{
    struct chardev_spec b;
    char err[CHARDEV_PATH_MAX + 300] = "";
    int r = chardev_spec_parse(s, &b, err, sizeof(err));
    if (r < 0)
        check_err(r, err);
    else
        check_backend(&b, s);
}

static void mode_port(const char *s)
{
    struct vser_port_opt o;
    char err[CHARDEV_PATH_MAX + 600] = "";
    int r = vser_port_opt_parse(s, &o, err, sizeof(err));
    if (r < 0) {
        check_err(r, err);
        return;
    }
    size_t n = strnlen(o.name, sizeof(o.name));
    FZ_ASSERT(n >= 1 && n <= VSER_NAME_MAX && o.dev < VSER_DEVS_MAX,
              "'%s' gave a bad port (name length %zu, dev %u)", s, n, o.dev);
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(o.name[i] > ' ' && o.name[i] <= '~', "name byte 0x%02x",
                  (unsigned char)o.name[i]);
    check_backend(&o.backend, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    char s[PATH_MAX + 256];
    fz_str(&in, s, sizeof(s));
    switch (mode % 4) {
    case 0:
        mode_u32(s, mode & 0x10 ? 1 : 0, mode & 0x20 ? 16 : UINT32_MAX);
        break;
    case 1:
        mode_size(s, mode & 0x10 ? 20 : 0);
        break;
    case 2:
        mode_parse(s);
        break;
    default:
        switch (mode >> 6) {
        case 0:
            mode_vblk(s);
            break;
        case 1:
            mode_vnet(s);
            break;
        case 2:
            mode_chardev(s);
            break;
        default:
            mode_port(s);
            break;
        }
        break;
    }
    return 0;
}
