/* SPDX-License-Identifier: MIT */
/*
 * Force-included (-include) when kvmini's sources are built with clang
 * for the fuzzers. kvmini keeps some fields _Atomic (so plain reads in
 * tests are atomic too) and updates them with GCC's __atomic builtins;
 * GCC accepts that, clang refuses builtins on _Atomic objects. These
 * macros hand the builtins a pointer to the same storage without the
 * _Atomic qualifier: the operations stay the same atomic operations on
 * the same bytes (an _Atomic scalar of 1, 2, 4 or 8 bytes has the
 * layout of the plain type on x86-64). Plain pointers pass unchanged.
 *
 * A macro of a builtin's own name is not expanded again inside its
 * body, so the body calls the builtin.
 */
#ifndef KVMINI_TESTS_FUZZ_CLANG_ATOMIC_H
#define KVMINI_TESTS_FUZZ_CLANG_ATOMIC_H

#if defined(__clang__)
/* The comma makes an rvalue: its type is the unqualified, non-atomic
 * type of *p, without integer promotion (bool stays bool). */
#define KV_PLAIN(p) ((__typeof__((void)0, *(p)) *)(p))
#define __atomic_load_n(p, o) __atomic_load_n(KV_PLAIN(p), o)
#define __atomic_store_n(p, v, o) __atomic_store_n(KV_PLAIN(p), v, o)
#define __atomic_exchange_n(p, v, o) __atomic_exchange_n(KV_PLAIN(p), v, o)
#define __atomic_fetch_add(p, v, o) __atomic_fetch_add(KV_PLAIN(p), v, o)
#define __atomic_fetch_sub(p, v, o) __atomic_fetch_sub(KV_PLAIN(p), v, o)
#define __atomic_fetch_and(p, v, o) __atomic_fetch_and(KV_PLAIN(p), v, o)
#define __atomic_fetch_or(p, v, o) __atomic_fetch_or(KV_PLAIN(p), v, o)
#define __atomic_add_fetch(p, v, o) __atomic_add_fetch(KV_PLAIN(p), v, o)
#define __atomic_sub_fetch(p, v, o) __atomic_sub_fetch(KV_PLAIN(p), v, o)
#define __atomic_compare_exchange_n(p, e, v, w, s, f)                          \
    __atomic_compare_exchange_n(KV_PLAIN(p), e, v, w, s, f)
#endif

#endif
