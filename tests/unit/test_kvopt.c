/* SPDX-License-Identifier: MIT */
/* The key=value option splitter: types, bounds, escapes and errors. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hw/kvopt.h"
#include "tests/unit/tap.h"

struct cfg {
    char path[32];
    char serial[21];
    bool ro, direct;
    uint32_t queues;
    uint64_t size;
    uint8_t mac[6];
    uint64_t addr;
};

static const struct kvopt_key keys[] = {
    {"path", KVOPT_STR, offsetof(struct cfg, path), 32, 0, 0},
    {"serial", KVOPT_STR, offsetof(struct cfg, serial), 21, 0, 0},
    {"ro", KVOPT_BOOL, offsetof(struct cfg, ro), 0, 0, 0},
    {"direct", KVOPT_BOOL, offsetof(struct cfg, direct), 0, 0, 0},
    {"queues", KVOPT_U32, offsetof(struct cfg, queues), 0, 1, 8},
    {"size", KVOPT_SIZE, offsetof(struct cfg, size), 0, 512, 1ULL << 40},
    {"mac", KVOPT_MAC, offsetof(struct cfg, mac), 0, 0, 0},
    {"addr", KVOPT_U64, offsetof(struct cfg, addr), 0, 1, 0},
    {0},
};

static char err[512];

static int parse(const char *spec, struct cfg *c, uint64_t *given)
{
    *c = (struct cfg){.queues = 1, .direct = true};
    err[0] = '\0';
    return kvopt_parse(spec, keys, "path", c, given, err, sizeof(err));
}

static void test_good(void)
{
    struct cfg c;
    uint64_t given = 0;
    int r = parse("disk.img,ro,serial=boot-1,queues=4,direct=off,size=1M,"
                  "mac=52:54:00:aB:cd:EF",
                  &c, &given);
    CHECK(r == 0, "a full spec parses (%s)", err);
    CHECK(!strcmp(c.path, "disk.img"), "positional item is the path");
    CHECK(c.ro && !c.direct, "bare bool is true, direct=off is false");
    CHECK(!strcmp(c.serial, "boot-1") && c.queues == 4, "string and u32");
    CHECK(c.size == 1ULL << 20, "size with suffix");
    CHECK(c.mac[0] == 0x52 && c.mac[3] == 0xab && c.mac[5] == 0xef,
          "MAC in either case");
    CHECK(given == 0x7f, "given marks every key present (%#llx)",
          (unsigned long long)given);

    r = parse("path=a,,b.img", &c, &given);
    CHECK(r == 0 && !strcmp(c.path, "a,b.img"), "',,' is a literal comma");
    CHECK(given == 1 && c.queues == 1 && c.direct,
          "keys not given keep their defaults");
    r = parse("x.img,,", &c, NULL);
    CHECK(r == 0 && !strcmp(c.path, "x.img,"), "a path ending in a comma");
    r = parse("x.img,ro=no,direct=1", &c, NULL);
    CHECK(r == 0 && !c.ro && c.direct, "no/1 spelled bools");
    r = parse("x,addr=0xd0000000", &c, NULL);
    CHECK(r == 0 && c.addr == 0xd0000000ULL, "hex address");
    r = parse("x,addr=18446744073709551615", &c, NULL);
    CHECK(r == 0 && c.addr == UINT64_MAX, "64-bit address");
    r = parse("x,addr=010", &c, NULL);
    CHECK(r == 0 && c.addr == 10, "a leading zero is still decimal");
    r = parse("x,queues=0x8", &c, NULL);
    CHECK(r == 0 && c.queues == 8, "hex number");
    char spec[] = "path=0123456789012345678901234567890"; /* 31 bytes */
    CHECK(parse(spec, &c, NULL) == 0 && strlen(c.path) == 31,
          "a string exactly filling its field");
}

static void expect_err(const char *spec, int want, const char *needle)
{
    struct cfg c;
    int r = parse(spec, &c, NULL);
    CHECK(r == want && strstr(err, needle), "'%s' is refused: %s", spec, err);
}

static void test_bad(void)
{
    expect_err("", -EINVAL, "empty option");
    expect_err("x.img,", -EINVAL, "trailing comma");
    expect_err("x.img,rox", -EINVAL, "unknown key 'rox' (known: path,");
    expect_err("x.img,r", -EINVAL, "unknown key 'r'");
    expect_err("x.img,ro,ro", -EINVAL, "'ro' is given twice");
    expect_err("path=a,path=b", -EINVAL, "'path' is given twice");
    expect_err("x.img,queues=0", -ERANGE, "use 1..8");
    expect_err("x.img,queues=9", -ERANGE, "out of range");
    expect_err("x.img,queues=-1", -EINVAL, "whole number");
    expect_err("x.img,queues=1x", -EINVAL, "whole number");
    expect_err("x.img,queues=99999999999999999999", -ERANGE, "out of range");
    expect_err("x.img,queues", -EINVAL, "needs a value");
    expect_err("x.img,ro=maybe", -EINVAL, "on or off");
    expect_err("x.img,serial=012345678901234567890", -EINVAL,
               "longer than 20 bytes");
    expect_err("x.img,serial=", -EINVAL, "is empty");
    expect_err("x.img,size=100", -ERANGE, "out of range");
    expect_err("x.img,size=2T", -ERANGE, "out of range");
    expect_err("x.img,size=1Q", -EINVAL, "a size");
    expect_err("x.img,mac=52:54:00:12:34", -EINVAL, "MAC address");
    expect_err("x.img,addr=0", -ERANGE, "out of range");
    expect_err("x.img,addr=0xg", -EINVAL, "0x hex");
    expect_err("x.img,addr=18446744073709551616", -ERANGE, "out of range");
    expect_err("x.img,addr=-1", -EINVAL, "whole number");
    expect_err("x.img,mac=52-54-00-12-34-56", -EINVAL, "MAC address");
    expect_err("x.img,mac=52:54:00:12:34:5g", -EINVAL, "MAC address");
    expect_err("path=0123456789012345678901234567890123", -EINVAL,
               "longer than 31");
    /* Only the first item may be positional. */
    expect_err("x.img,y.img", -EINVAL, "unknown key 'y.img'");
    /* Found by fuzz_kvopt: the user's text is quoted in the sentence, so
     * a newline or an escape in it must not reach stderr as such. */
    struct cfg c;
    CHECK(parse("x.img,a\nb\x1b[2J=1", &c, NULL) == -EINVAL &&
              strstr(err, "unknown key 'a?b?[2J'"),
          "a newline and an escape in a key are shown as '?': %s", err);
    CHECK(parse("x.img,ro=\r", &c, NULL) == -EINVAL &&
              strstr(err, "'ro=?': expected on or off"),
          "a carriage return in a value too: %s", err);
}

static void test_numbers(void)
{
    uint64_t v;
    CHECK(kvopt_parse_size("64", 20, &v) == 0 && v == 64ULL << 20,
          "plain size in the default unit");
    CHECK(kvopt_parse_size("3GiB", 20, &v) == 0 && v == 3ULL << 30,
          "GiB suffix");
    CHECK(kvopt_parse_size("512k", 0, &v) == 0 && v == 512ULL << 10,
          "lower-case k");
    CHECK(kvopt_parse_size("-1", 20, &v) == -EINVAL, "negative size");
    CHECK(kvopt_parse_size("+1", 20, &v) == -EINVAL, "signed size");
    CHECK(kvopt_parse_size("", 20, &v) == -EINVAL, "empty size");
    CHECK(kvopt_parse_size("16777216T", 20, &v) == -ERANGE,
          "size overflowing 64 bits");
    CHECK(kvopt_parse_size("2Mx", 20, &v) == -EINVAL, "junk after suffix");
    /* Found by fuzz_kvopt: junk after too many digits was "out of range". */
    CHECK(kvopt_parse_size("99999999999999999999999x", 20, &v) == -EINVAL &&
              kvopt_parse_size("99999999999999999999999K", 20, &v) == -ERANGE,
          "too many digits: junk after them is no size, a suffix is range");
    uint32_t u;
    CHECK(kvopt_parse_u32("65535", 1, 65535, &u) == 0 && u == 65535,
          "u32 at its bound");
    CHECK(kvopt_parse_u32("65536", 1, 65535, &u) == -ERANGE, "u32 above");
    CHECK(kvopt_parse_u32("4294967296", 0, UINT32_MAX, &u) == -ERANGE,
          "u32 overflowing 32 bits");
    CHECK(kvopt_parse_u32(" 1", 0, 9, &u) == -EINVAL, "leading space");
    /* Found by fuzz_kvopt: a leading zero made the number octal. */
    CHECK(kvopt_parse_u32("010", 0, 99, &u) == 0 && u == 10,
          "'010' is ten, not eight (%u)", u);
    CHECK(kvopt_parse_u32("09", 0, 99, &u) == 0 && u == 9, "'09' is nine");
    CHECK(kvopt_parse_u32("0x1F", 0, 99, &u) == 0 && u == 31, "'0x1F' hex");
    CHECK(kvopt_parse_u32("0x", 0, 99, &u) == -EINVAL &&
              kvopt_parse_u32("0x0x5", 0, 99, &u) == -EINVAL &&
              kvopt_parse_u32("0x-5", 0, 99, &u) == -EINVAL &&
              kvopt_parse_u32("0x 5", 0, 99, &u) == -EINVAL,
          "'0x', '0x0x5', '0x-5', '0x 5' are not numbers");
}

static void test_some(void)
{
    struct cfg c = {.queues = 1};
    uint64_t given = 0;
    char rest[64];
    int r = kvopt_parse_some("blk,queues=3,img=a,,b.img,ro,serial=x", keys, &c,
                             &given, rest, sizeof(rest), err, sizeof(err));
    CHECK(r == 0 && c.queues == 3 && c.ro && !strcmp(c.serial, "x"),
          "parse_some takes its own keys (%s)", err);
    CHECK(!strcmp(rest, "blk,img=a,,b.img"),
          "and leaves the others, escaped, in order: '%s'", rest);
    CHECK(given == ((1 << 1) | (1 << 2) | (1 << 4)), "given marks its keys");
    r = kvopt_parse_some("queues=2", keys, &c, NULL, rest, sizeof(rest), err,
                         sizeof(err));
    CHECK(r == 0 && rest[0] == '\0', "nothing left: rest is empty");
    r = kvopt_parse_some("queues=0,x=y", keys, &c, NULL, rest, sizeof(rest),
                         err, sizeof(err));
    CHECK(r == -ERANGE, "its own keys are still checked: %s", err);
    r = kvopt_parse_some("x=0123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789",
                         keys, &c, NULL, rest, sizeof(rest), err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "too long"), "a rest that does not fit");
}

int main(void)
{
    test_good();
    test_bad();
    test_numbers();
    test_some();
    return tap_done();
}
