/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), small and freestanding: the tiny guest hashes
 * what arrives on a virtio-serial port with it (in ring 3, where it runs
 * at full speed), and the harness tests build the same file on the host.
 * Pure code: no allocation, no I/O, any context.
 */
#ifndef TG_SHA256_H
#define TG_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t len;    /* bytes hashed so far */
    uint8_t buf[64]; /* a partial block */
    uint32_t fill;   /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* 64 lower-case hex digits and a NUL. */
void sha256_hex(const uint8_t d[32], char out[65]);

#endif
