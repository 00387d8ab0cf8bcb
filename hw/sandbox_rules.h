/* SPDX-License-Identifier: MIT */
/*
 * The syscall allow-lists of kvmini's thread kinds (hw/sandbox_rules.c),
 * shared by the filter compiler (hw/sandbox.c) and the table's unit test.
 */
#ifndef KVMINI_HW_SANDBOX_RULES_H
#define KVMINI_HW_SANDBOX_RULES_H

#include <stddef.h>
#include <stdint.h>

enum sandbox_cmp {
    SANDBOX_ANY,    /* any arguments */
    SANDBOX_EQ,     /* argument `arg` == val (an ioctl request, ...) */
    SANDBOX_NOBITS, /* argument `arg` has none of the bits of val */
    SANDBOX_ENOSYS, /* not allowed, fails with ENOSYS (clone3 -> clone) */
};

struct sandbox_rule {
    int nr; /* syscall number (libseccomp's SCMP_SYS) */
    enum sandbox_cmp cmp;
    unsigned arg; /* 0-5 */
    uint64_t val;
    const char *what; /* the ioctl's or the syscall's name, for tests */
};

struct sandbox_group {
    const char *name;
    const struct sandbox_rule *rules;
    size_t n;
};

#define SANDBOX_GROUPS_MAX 8

/* A kind of thread and the groups of rules it is allowed. */
struct sandbox_kind {
    const char *name;
    const struct sandbox_group *groups[SANDBOX_GROUPS_MAX]; /* NULL-ended */
};

extern const struct sandbox_kind sandbox_kinds[];
extern const size_t sandbox_nkinds;

/* The kind named `name`, or NULL. */
const struct sandbox_kind *sandbox_kind_find(const char *name);

#endif
