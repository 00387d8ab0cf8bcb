/* SPDX-License-Identifier: MIT */
/*
 * A vCPU and its thread: the KVM_RUN loop, port I/O and MMIO dispatch to
 * the VM's buses, and one clear diagnostic when KVM stops the guest.
 *
 * vcpu_create/start/kick/join run on the main thread (the owner); the
 * loop runs on the vCPU's own thread, which main joins. Other threads
 * ask for a stop with kvm_request_stop and never signal a vCPU.
 */
#ifndef KVMINI_KVM_VCPU_H
#define KVMINI_KVM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kvm_vm;
struct kvm_run;

/* kvmini's exit statuses besides the guest's own (see docs/kvmini.1). */
#define KVMINI_EXIT_OK 0
#define KVMINI_EXIT_ERROR 1        /* bad input or setup failure */
#define KVMINI_EXIT_VM_FAILED 2    /* KVM could not run the guest */
#define KVMINI_EXIT_TRIPLE_FAULT 3 /* guest shutdown (triple fault) */

/* Port-I/O exits per port, to show where exits go (--stats). */
#define VCPU_PORT_SLOTS 32
struct vcpu_port_count {
    uint16_t port;
    uint64_t n; /* 0: slot free */
};

struct vcpu_stats {
    uint64_t runs; /* KVM_RUN returns */
    uint64_t pio;  /* port I/O exits */
    uint64_t mmio; /* MMIO exits */
    uint64_t intr; /* EINTR / KVM_EXIT_INTR */
    uint64_t other;
    struct vcpu_port_count ports[VCPU_PORT_SLOTS];
    uint64_t ports_untracked; /* exits on ports beyond the table */
};

struct vcpu {
    struct kvm_vm *vm;
    unsigned id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool started;         /* the thread exists; main thread only */
    struct vcpu_stats st; /* written only by the vCPU thread */
};

/* Create vCPU `id` (KVM_CREATE_VCPU + kvm_run mapping). */
int vcpu_create(struct kvm_vm *vm, unsigned id, struct vcpu **out);

/* Install the kick signal handler; call once before starting threads. */
int vcpu_signals_init(void);

/* Start the thread running the KVM_RUN loop. */
int vcpu_start(struct vcpu *v);

/* Make KVM_RUN return soon (immediate_exit + signal). Owner only. */
void vcpu_kick(struct vcpu *v);

/* Wait for the thread to end (after kvm_request_stop). */
void vcpu_join(struct vcpu *v);
/* Join if still running, then free the vCPU. */
void vcpu_destroy(struct vcpu *v);

void vcpu_stats_print(const struct vcpu *v, FILE *f);

#endif
