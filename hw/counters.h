/* SPDX-License-Identifier: MIT */
/*
 * A counter walk: code that owns counters emits (group, name, value)
 * triples into a sink, and the sink decides the format (JSON for the
 * control API's "stats", text lines for --stats), so counters are
 * enumerated once, by their owner. group is NULL for the owner's top
 * level, else e.g. "q0". Names are stable identifiers ([a-z0-9_]).
 */
#ifndef KVMINI_HW_COUNTERS_H
#define KVMINI_HW_COUNTERS_H

#include <stdint.h>

struct counter_sink {
    void (*emit)(void *ctx, const char *group, const char *name, uint64_t v);
    void *ctx;
};

static inline void counter_emit(const struct counter_sink *s, const char *group,
                                const char *name, uint64_t v)
{
    s->emit(s->ctx, group, name, v);
}

#endif
