/* SPDX-License-Identifier: MIT */
/* String, number-parsing and formatting helpers for the freestanding guest. */
#include "guest/lib.h"
#include "guest/serial.h"

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;

    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    if (dp <= sp || dp >= sp + n)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return (unsigned char)a[i] - (unsigned char)b[i];
        if (!a[i])
            break;
    }
    return 0;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int parse_u64(const char *s, size_t len, bool suffixes, uint64_t *out)
{
    uint64_t v = 0, base = 10, mult = 1;
    size_t i = 0;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (suffixes && len > i) {
        switch (s[len - 1]) {
        case 'k':
        case 'K':
            mult = 1ULL << 10;
            len--;
            break;
        case 'm':
        case 'M':
            mult = 1ULL << 20;
            len--;
            break;
        case 'g':
        case 'G':
            mult = 1ULL << 30;
            len--;
            break;
        }
    }
    if (i >= len)
        return -1;
    for (; i < len; i++) {
        int h = hex_digit(s[i]);
        uint64_t d = (uint64_t)h;

        if (h < 0 || d >= base || v > (UINT64_MAX - d) / base)
            return -1;
        v = v * base + d;
    }
    if (v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

struct out {
    char *buf;
    size_t size, len;
};

static void out_c(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_num(struct out *o, uint64_t v, unsigned base, int width,
                    char pad, bool neg)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    for (int i = n; i < width; i++)
        out_c(o, pad);
    while (n)
        out_c(o, tmp[--n]);
}

int vfmt(char *buf, size_t size, const char *f, va_list ap)
{
    struct out o = {buf, size, 0};

    for (; *f; f++) {
        int width = 0, prec = -1, lng = 0;
        char pad = ' ';

        if (*f != '%') {
            out_c(&o, *f);
            continue;
        }
        f++;
        if (*f == '0')
            pad = *f++;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        if (f[0] == '.' && f[1] == '*') {
            prec = va_arg(ap, int);
            f += 2;
        }
        while (*f == 'l' || *f == 'z')
            lng = (f++, 1);
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);

            for (int i = 0; s[i] && (prec < 0 || i < prec); i++)
                out_c(&o, s[i]);
            break;
        }
        case 'c': out_c(&o, (char)va_arg(ap, int)); break;
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

            out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad,
                    v < 0);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);

            out_num(&o, v, *f == 'u' ? 10 : 16, width, pad, false);
            break;
        }
        case 'p':
            out_c(&o, '0');
            out_c(&o, 'x');
            out_num(&o, (uintptr_t)va_arg(ap, void *), 16, 0, ' ', false);
            break;
        case '%': out_c(&o, '%'); break;
        default: return (int)o.len; /* unknown conversion: stop, don't guess */
        }
    }
    if (o.size)
        o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
    return (int)o.len;
}

int fmt(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vfmt(buf, size, f, ap);
    va_end(ap);
    return n;
}

void tg_printf(const char *f, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, f);
    n = vfmt(line, sizeof(line), f, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = sizeof(line) - 1;
    serial_write(line, (size_t)n);
}
