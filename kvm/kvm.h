/* SPDX-License-Identifier: MIT */
/*
 * The KVM virtual machine: /dev/kvm, the VM fd, guest RAM slots, the
 * in-kernel irqchip and PIT, interrupt lines, ioeventfd/irqfd, and the
 * VM-wide stop request that every thread watches.
 *
 * Owned by main.c. Set up on the main thread before any vCPU runs;
 * kvm_request_stop(), kvm_stopping() and the irq lines may be called from
 * any thread. The main thread starts and joins the vCPU threads, so it
 * alone signals them (kvm_kick_vcpus): no thread can signal a vCPU
 * thread that has already been joined.
 */
#ifndef KVMINI_KVM_KVM_H
#define KVMINI_KVM_KVM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "hw/gmem.h"
#include "hw/io_bus.h"
#include "hw/irq.h"

#define KVM_MAX_VCPUS_SUPPORTED 64

struct vcpu;

struct kvm_vm {
    int sys_fd; /* /dev/kvm */
    int vm_fd;
    int run_mmap_size;  /* KVM_GET_VCPU_MMAP_SIZE */
    unsigned max_vcpus; /* from KVM_CAP_MAX_VCPUS / NR_VCPUS */
    uint8_t *ram;       /* one host mapping for all guest RAM */
    uint64_t ram_size;
    struct gmem mem;
    struct io_bus mmio, pio;
    unsigned nvcpus;
    struct vcpu *vcpus[KVM_MAX_VCPUS_SUPPORTED];

    /* Stop request: 0 while the VM runs, else 1 + the exit status of the
     * first caller. One atomic word, so whoever sees the VM stopping sees
     * the status it stopped with. stop_fd is an eventfd the main loop
     * polls. Use kvm_stopping()/kvm_exit_status(). */
    _Atomic int stop_word;
    int stop_fd;

    /* Serialises interrupt pulses. A pulse is two KVM_IRQ_LINE calls
     * (1, then 0); two workers pulsing one edge-triggered GSI at once
     * could interleave as 1, 1, 0, 0, which the IOAPIC sees as a single
     * edge: the second device's completion would never be announced. */
    pthread_mutex_t irq_lock;

    /* Pause (kvm/pause.c): vCPU threads hold at the top of their loop
     * while pause_req is set; held and alive are counted under
     * pause_lock, and pause_cond announces both changes. */
    pthread_mutex_t pause_lock;
    pthread_cond_t pause_cond;
    bool pause_req;
    unsigned alive, held;
};

/* Open path (normally "/dev/kvm"), check the API version and every
 * capability kvmini relies on. On failure prints one line naming the
 * problem and the fix, returns -errno. */
int kvm_open(struct kvm_vm *vm, const char *path);

/* Create the VM: in-kernel irqchip, PIT, TSS/identity map addresses. */
int kvm_create_vm(struct kvm_vm *vm);

/* Allocate ram_size bytes of guest RAM (one mmap) and register it in two
 * slots: [0, low_size) and the rest at high_gpa. The split is the
 * machine's (arch/x86 e820_low_ram()), not KVM's. */
int kvm_setup_ram(struct kvm_vm *vm, uint64_t ram_size, uint64_t low_size,
                  uint64_t high_gpa);

/* Drive an interrupt pin (KVM_IRQ_LINE). */
int kvm_irq_set(struct kvm_vm *vm, uint32_t gsi, int level);

/* Initialise an irq_line that pulses gsi through KVM_IRQ_LINE. */
void kvm_irq_line_init(struct kvm_vm *vm, struct irq_line *l, uint32_t gsi);

/* Bind an eventfd to a guest MMIO write (datamatch on a 4-byte write). */
int kvm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t datamatch, int fd,
                  bool assign);
/* Bind an eventfd to an interrupt pin. */
int kvm_irqfd(struct kvm_vm *vm, uint32_t gsi, int fd, bool assign);

/* Ask the whole VM to stop with this status, 0..255 (the first caller
 * wins), and wake the main loop through stop_fd. Any thread; sends no
 * signal: the main loop then calls kvm_kick_vcpus. */
void kvm_request_stop(struct kvm_vm *vm, int status);

/* Whether a stop was requested (acquire: the status is visible). */
bool kvm_stopping(const struct kvm_vm *vm);

/* The status of the first stop request, or -1 while the VM runs. */
int kvm_exit_status(const struct kvm_vm *vm);

/* Make every started vCPU leave KVM_RUN. Only on the thread that starts
 * and joins the vCPUs (main), so no joined thread is ever signalled. */
void kvm_kick_vcpus(struct kvm_vm *vm);

/* Pause every running vCPU: out of KVM_RUN and held, registers as they
 * were. Main thread (it signals the vCPUs). Waits up to timeout_ms for
 * all of them; 0, or -ETIMEDOUT (then they run on). */
int kvm_pause(struct kvm_vm *vm, unsigned timeout_ms);
/* Let held vCPUs run again, exactly where they were. Main thread. */
void kvm_resume(struct kvm_vm *vm);
/* vCPU thread, before each KVM_RUN: hold here while a pause is
 * requested and the VM is not stopping. */
void kvm_pause_point(struct kvm_vm *vm);
/* A vCPU thread begins (vcpu_start, before it exists) or ends (the
 * thread itself): pause waits only for live threads. */
void kvm_vcpu_alive(struct kvm_vm *vm, bool alive);

/* Release everything kvm_open/create/setup acquired (vCPUs excluded). */
void kvm_close(struct kvm_vm *vm);

#endif
