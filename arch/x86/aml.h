/* SPDX-License-Identifier: MIT */
/*
 * A tiny ACPI Machine Language encoder: just the terms kvmini's DSDT
 * needs (Scope, Device, Name, Package, integers, strings, EisaId,
 * resource-template buffers, and for the power button's _EVT method an
 * I/O OperationRegion with one Field, Method, If, Store, And, Notify). Output
 * goes into a caller buffer; an overflow is remembered and reported once by
 * aml_finish(), so the emitting code can stay a straight list of calls.
 *
 * Not thread-safe per struct aml; no allocation.
 */
#ifndef KVMINI_ARCH_X86_AML_H
#define KVMINI_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

/* Largest resource template this encoder builds (bytes). */
#define AML_RES_MAX 64

/* A resource template under construction (ends with aml_res_end). */
struct aml_res {
    uint8_t b[AML_RES_MAX];
    size_t n;
    bool overflow;
};

void aml_init(struct aml *a, void *buf, size_t cap);
/* Bytes written, or -ENOSPC if anything did not fit. */
int aml_finish(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501"): the compressed 32-bit form of a 7-char PNP id. */
void aml_eisaid(struct aml *a, const char *id);
/* A NameString: "\\_SB_" (root-relative) or a 4-char NameSeg. */
void aml_namestring(struct aml *a, const char *name);
/* Name(name, <data object emitted next by the caller>) */
void aml_name(struct aml *a, const char *name);

/*
 * Package-length scopes: *_begin returns a mark, *_end(mark) fills in
 * the PkgLength once the body is known.
 */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_package_begin(struct aml *a, uint8_t nelems);
/* Method (name, nargs, Serialized or NotSerialized) { body } */
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs,
                        bool serialized);
/* If (predicate) { body }: emit the predicate, then the body. */
size_t aml_if_begin(struct aml *a);
void aml_end(struct aml *a, size_t mark);

/* OperationRegion (name, SystemIO, port, len) */
void aml_opregion_io(struct aml *a, const char *name, uint16_t port,
                     uint8_t len);
/* Field (region, ByteAcc, NoLock, WriteAsZeros) { name, bits }: one
 * field of 1..63 bits at the region's start. */
void aml_field_byte(struct aml *a, const char *region, const char *name,
                    unsigned bits);

/*
 * Operators, in AML's prefix order: emit the operator, then each
 * operand (a name with aml_namestring, an integer, aml_local, ...).
 */
void aml_store(struct aml *a);             /* Store (source, target) */
void aml_and(struct aml *a);               /* And (x, y, target) */
void aml_notify(struct aml *a);            /* Notify (object, value) */
void aml_local(struct aml *a, unsigned n); /* Local0..Local7 */
void aml_no_target(struct aml *a);         /* an unused Target */

/* Resource template descriptors (ACPI 6 section 6.4). */
void aml_res_init(struct aml_res *r);
void aml_res_io(struct aml_res *r, uint16_t port, uint8_t len);
void aml_res_irq_noflags(struct aml_res *r, unsigned irq);
void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t size);
void aml_res_interrupt(struct aml_res *r, uint32_t gsi, bool edge,
                       bool active_low);
/* End tag, then emit Buffer(){...} holding the template. */
void aml_res_end(struct aml *a, struct aml_res *r);

#endif
