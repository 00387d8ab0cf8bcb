/* SPDX-License-Identifier: MIT */
/*
 * Per-thread syscall filters (seccomp, built with libseccomp): each kind
 * of thread (the main loop, a vCPU, a virtqueue worker of each device, a
 * character backend) runs under its own allow-list, from the table in
 * hw/sandbox_rules.c. See docs/security.md.
 *
 * Lifecycle. The main thread calls sandbox_init before it creates any
 * thread: it compiles every kind's filter once, installs the SIGSYS
 * handler that reports a violation, sets PR_SET_NO_NEW_PRIVS (inherited
 * by every thread) and starts the spawner thread. Each thread then calls
 * sandbox_enter(kind) first thing on its own stack: a filter binds the
 * thread that loads it and the threads it creates later, never its
 * siblings. vCPU threads wait at the gate (sandbox_gate_wait) until the
 * main thread has entered its own filter and opened the gate, so no
 * guest instruction runs while any thread is unfiltered.
 *
 * Virtqueue workers are born on a vCPU thread (at DRIVER_OK). A thread
 * keeps its creator's filter under its own, so a worker made there could
 * do only what both lists allow. They are made by the spawner instead
 * (sandbox_thread_create), whose list is the union of the worker kinds;
 * each worker then narrows it to its own kind.
 *
 * Process-wide by nature (seccomp and signal handlers are): the mode,
 * the compiled filters, the gate and the spawner live in one static
 * state here. Thread-safe after sandbox_init; sandbox_fini is main's.
 */
#ifndef KVMINI_HW_SANDBOX_H
#define KVMINI_HW_SANDBOX_H

#include <pthread.h>
#include <stddef.h>

/* kvmini's exit status when a thread made a forbidden syscall under
 * --seccomp kill: 128 + SIGSYS, as a shell reports a death by SIGSYS. */
#define SANDBOX_EXIT_STATUS 159

/* The harmless syscall the probe makes; no list may allow it. */
#define SANDBOX_PROBE_SYSCALL_NAME "getppid"

enum sandbox_mode {
    SANDBOX_KILL, /* default: report the thread and syscall, exit 159 */
    SANDBOX_LOG,  /* the kernel logs the syscall (audit), it proceeds */
    SANDBOX_OFF,  /* no filters */
};

#define SANDBOX_KIND_MAX 16 /* longest kind name, with its NUL */

struct sandbox_config {
    enum sandbox_mode mode;
    /* For tests: every thread of this kind makes one forbidden syscall
     * right after entering its filter. Empty: none. */
    char probe[SANDBOX_KIND_MAX];
    /* For tests: every thread of this kind frees enough heap right after
     * entering its filter to make glibc shrink its arena, as a vCPU does
     * when the guest resets a NIC (sandbox_init's single malloc arena
     * must make that safe). Empty: none. */
    char shrink[SANDBOX_KIND_MAX];
};

/* Parse --seccomp's value: "kill", "log" or "off", optionally followed
 * by ",probe=KIND" or ",shrink=KIND". 0, or -EINVAL with a sentence in
 * err. */
int sandbox_parse(const char *spec, struct sandbox_config *c, char *err,
                  size_t errlen);

/* Main thread, before any other thread exists. 0 or -errno (reported). */
int sandbox_init(const struct sandbox_config *c);

/* Install the filter of `kind` on the calling thread; `who` names the
 * thread in the violation report (e.g. "vcpu0"). No-op when off. 0, or
 * -errno (reported): the thread must not go on to serve the guest. */
int sandbox_enter(const char *kind, const char *who);

/* The main thread, once in its filter: let vCPUs run. Idempotent; call
 * it on every path after vCPUs were started, failures too. */
void sandbox_gate_open(void);
/* A vCPU thread, before its first KVM_RUN. */
void sandbox_gate_wait(void);

/* pthread_create through the spawner when filters are on (directly when
 * off). The new thread starts with every signal blocked but SIGSYS and
 * must call sandbox_enter itself. 0 or -errno. */
int sandbox_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);

/* Main thread, after every other thread was joined. */
void sandbox_fini(void);

#endif
