/* SPDX-License-Identifier: MIT */
/* Reading whole host files (kernel, initrd) into memory. */
#ifndef KVMINI_HW_FILE_H
#define KVMINI_HW_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Map path read-only; *len may be 0 (then *buf is NULL). -errno on
 * failure (-EISDIR for a directory, -EFBIG beyond max). */
int file_map(const char *path, uint64_t max, const uint8_t **buf, size_t *len);
void file_unmap(const uint8_t *buf, size_t len);

#endif
