/* SPDX-License-Identifier: MIT */
/* Between the filter half (hw/sandbox.c) and the spawner and gate half
 * (hw/sandbox_spawn.c) of the sandbox; also the unit test's door. */
#ifndef KVMINI_HW_SANDBOX_PRIV_H
#define KVMINI_HW_SANDBOX_PRIV_H

#include <linux/filter.h>
#include <stdbool.h>

#include "hw/sandbox.h"
#include "hw/sandbox_rules.h"

#define SANDBOX_KINDS_MAX 16

/* Filters are on (kill or log). */
bool sandbox_enabled(void);

/* Compile kind k for mode into *out (filter malloc'd). 0 or -errno. */
int sandbox_compile(const struct sandbox_kind *k, enum sandbox_mode mode,
                    struct sock_fprog *out);

int sandbox_spawner_start(void);
void sandbox_spawner_stop(void);

#endif
