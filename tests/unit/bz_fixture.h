/* SPDX-License-Identifier: MIT */
/* Synthetic bzImages for the loader's unit tests, and reading real ones. */
#ifndef KVMINI_TESTS_BZ_FIXTURE_H
#define KVMINI_TESTS_BZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct bz_spec {
    uint16_t version;
    uint32_t kernel_len; /* protected-mode bytes */
    uint32_t init_size;
    uint64_t pref_address;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint8_t relocatable;
    uint8_t xloadflags;
};

/* A well-formed 64-bit bzImage per spec (defaults filled in for zeros);
 * caller frees. */
uint8_t *bz_fixture_make(const struct bz_spec *spec, size_t *len);

/* Whole file into malloc'd memory, NULL if unreadable. */
uint8_t *bz_fixture_read(const char *path, size_t *len);

#endif
