/* SPDX-License-Identifier: MIT */
/* vCPU threads: the KVM_RUN loop and exit handling. */
#define LOG_TAG "vcpu"
#include "kvm/vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/log.h"
#include "hw/sandbox.h"
#include "kvm/kvm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

int vcpu_create(struct kvm_vm *vm, unsigned id, struct vcpu **out)
{
    struct vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->vm = vm;
    v->id = id;
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
    if (v->fd < 0) {
        int e = errno;
        log_err("KVM_CREATE_VCPU %u: %s", id, strerror(e));
        free(v);
        return -e;
    }
    v->run = mmap(NULL, vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                  v->fd, 0);
    if (v->run == MAP_FAILED) {
        int e = errno;
        log_err("mmap kvm_run of vCPU %u: %s", id, strerror(e));
        close(v->fd);
        free(v);
        return -e;
    }
    *out = v;
    return 0;
}

static void vcpu_kick_handler(int sig)
{
    (void)sig; /* only there to make KVM_RUN return -EINTR */
}

int vcpu_signals_init(void)
{
    struct sigaction sa = {.sa_handler = vcpu_kick_handler};
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: KVM_RUN must come back with EINTR */
    return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

void vcpu_kick(struct vcpu *v)
{
    if (!v)
        return;
    /* immediate_exit covers the window before the thread enters KVM_RUN;
     * the signal covers a thread already inside it. */
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->started)
        pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* Up to 15 bytes at RIP, from KVM's report or from guest memory. */
static size_t vcpu_insn_bytes(struct vcpu *v, const struct kvm_regs *regs,
                              const struct kvm_sregs *sregs, uint8_t *buf)
{
    struct kvm_run *run = v->run;
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
        run->emulation_failure.suberror == KVM_INTERNAL_ERROR_EMULATION &&
        (run->emulation_failure.flags &
         KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
        run->emulation_failure.insn_size > 0) {
        size_t n = run->emulation_failure.insn_size;
        if (n > 15)
            n = 15;
        memcpy(buf, run->emulation_failure.insn_bytes, n);
        return n;
    }
    struct kvm_translation tr = {.linear_address = sregs->cs.base + regs->rip};
    if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
        return 0;
    for (size_t n = 15; n > 0; n--)
        if (gmem_read(&v->vm->mem, tr.physical_address, buf, n) == 0)
            return n;
    return 0;
}

static const char *vcpu_exit_name(uint32_t r)
{
    switch (r) {
    case KVM_EXIT_INTERNAL_ERROR:
        return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_FAIL_ENTRY:
        return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_SHUTDOWN:
        return "KVM_EXIT_SHUTDOWN (triple fault)";
    case KVM_EXIT_UNKNOWN:
        return "KVM_EXIT_UNKNOWN";
    case KVM_EXIT_EXCEPTION:
        return "KVM_EXIT_EXCEPTION";
    default:
        return "unexpected exit";
    }
}

static const char *vcpu_suberror_name(uint32_t s)
{
    switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
        return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
        return "event delivery failure";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
        return "unexpected hardware exit";
    default:
        return "unknown suberror";
    }
}

/* The one diagnostic line for a guest KVM could not run. */
static void vcpu_report_failure(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct kvm_regs regs = {0};
    struct kvm_sregs sregs = {0};
    ioctl(v->fd, KVM_GET_REGS, &regs);
    ioctl(v->fd, KVM_GET_SREGS, &sregs);

    char detail[96] = "";
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
        snprintf(detail, sizeof(detail), " suberror %u (%s)",
                 run->internal.suberror,
                 vcpu_suberror_name(run->internal.suberror));
    else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
        snprintf(
            detail, sizeof(detail), " hardware reason 0x%llx",
            (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    else if (run->exit_reason != KVM_EXIT_SHUTDOWN)
        snprintf(detail, sizeof(detail), " (exit reason %u)", run->exit_reason);

    uint8_t insn[15];
    size_t n = vcpu_insn_bytes(v, &regs, &sregs, insn);
    char bytes[15 * 3 + 16] = "unavailable";
    if (n) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            o += snprintf(bytes + o, sizeof(bytes) - o, "%s%02x", i ? " " : "",
                          insn[i]);
    }
    log_err("vcpu%u: guest stopped by %s%s at RIP 0x%016llx (CS 0x%x, CPL "
            "%u, CR0 0x%llx), instruction bytes: %s",
            v->id, vcpu_exit_name(run->exit_reason), detail,
            (unsigned long long)regs.rip, sregs.cs.selector, sregs.cs.dpl,
            (unsigned long long)sregs.cr0, bytes);
}

static void vcpu_count_port(struct vcpu_stats *st, uint16_t port)
{
    for (unsigned i = 0; i < VCPU_PORT_SLOTS; i++) {
        struct vcpu_port_count *c = &st->ports[(port + i) % VCPU_PORT_SLOTS];
        if (c->n == 0)
            c->port = port;
        if (c->port == port) {
            c->n++;
            return;
        }
    }
    st->ports_untracked++;
}

static void vcpu_handle_pio(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    for (uint32_t i = 0; i < run->io.count; i++) {
        uint8_t *d = data + (size_t)i * run->io.size;
        if (io_bus_access(&v->vm->pio, run->io.port, d, run->io.size, write) ==
            0)
            continue;
        if (!write)
            memset(d, 0xff, run->io.size);
        log_cat_rl(LOG_CAT_IO, "unclaimed port %s 0x%x size %u",
                   write ? "write" : "read", run->io.port, run->io.size);
    }
}

static void vcpu_handle_mmio(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;
    if (io_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
                      run->mmio.is_write) == 0)
        return;
    if (!run->mmio.is_write)
        memset(run->mmio.data, 0xff, len);
    log_cat_rl(LOG_CAT_IO, "unclaimed MMIO %s 0x%llx len %u",
               run->mmio.is_write ? "write" : "read",
               (unsigned long long)run->mmio.phys_addr, len);
}

/* Returns true while the loop should go on. */
static bool vcpu_handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        v->st.pio++;
        vcpu_count_port(&v->st, run->io.port);
        log_cat_rl(LOG_CAT_KVM, "vcpu%u: exit io %s port 0x%x size %u count %u",
                   v->id, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
                   run->io.port, run->io.size, run->io.count);
        vcpu_handle_pio(v);
        return true;
    case KVM_EXIT_MMIO:
        v->st.mmio++;
        log_cat_rl(LOG_CAT_KVM, "vcpu%u: exit mmio %s 0x%llx len %u", v->id,
                   run->mmio.is_write ? "write" : "read",
                   (unsigned long long)run->mmio.phys_addr, run->mmio.len);
        vcpu_handle_mmio(v);
        return true;
    case KVM_EXIT_INTR:
        v->st.intr++;
        return true;
    case KVM_EXIT_HLT:
        /* Only without an in-kernel LAPIC; nothing would wake us. */
        log_err("vcpu%u: guest halted with no way to wake it", v->id);
        kvm_request_stop(v->vm, KVMINI_EXIT_VM_FAILED);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
            log_err("vcpu%u: guest reported a crash", v->id);
            kvm_request_stop(v->vm, KVMINI_EXIT_VM_FAILED);
        } else {
            kvm_request_stop(v->vm, KVMINI_EXIT_OK);
        }
        return false;
    case KVM_EXIT_SHUTDOWN:
        vcpu_report_failure(v);
        kvm_request_stop(v->vm, KVMINI_EXIT_TRIPLE_FAULT);
        return false;
    default:
        v->st.other++;
        vcpu_report_failure(v);
        kvm_request_stop(v->vm, KVMINI_EXIT_VM_FAILED);
        return false;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    char who[16];
    snprintf(who, sizeof(who), "vcpu%u", v->id);
    if (sandbox_enter("vcpu", who) < 0) {
        kvm_request_stop(v->vm, KVMINI_EXIT_ERROR);
        return NULL;
    }
    /* No guest instruction before every thread is in its filter. */
    sandbox_gate_wait();

    while (!kvm_stopping(v->vm)) {
        kvm_pause_point(v->vm); /* paused: held here, out of KVM_RUN */
        if (kvm_stopping(v->vm))
            break;
        int r = ioctl(v->fd, KVM_RUN, 0);
        v->st.runs++;
        if (r < 0) {
            int e = errno;
            if (e == EINTR || e == EAGAIN) {
                v->st.intr++;
                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                continue;
            }
            log_err("vcpu%u: KVM_RUN: %s", v->id, strerror(e));
            kvm_request_stop(v->vm, KVMINI_EXIT_VM_FAILED);
            break;
        }
        if (!vcpu_handle_exit(v))
            break;
    }
    kvm_vcpu_alive(v->vm, false);
    return NULL;
}

int vcpu_start(struct vcpu *v)
{
    /* The thread starts with every signal blocked but the kick, so that
     * SIGINT/SIGTERM reach the main thread's signalfd only. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* Counted before the thread exists, so a pause right after start
     * waits for it too; the thread counts itself out as it ends. */
    kvm_vcpu_alive(v->vm, true);
    int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        kvm_vcpu_alive(v->vm, false);
        log_err("vcpu%u: pthread_create: %s", v->id, strerror(r));
        return -r;
    }
    char name[16];
    snprintf(name, sizeof(name), "vcpu%u", v->id);
    pthread_setname_np(v->thread, name); /* for top -H, gdb, perf */
    v->started = true;
    return 0;
}

void vcpu_join(struct vcpu *v)
{
    if (v && v->started) {
        pthread_join(v->thread, NULL);
        v->started = false;
    }
}

void vcpu_destroy(struct vcpu *v)
{
    if (!v)
        return;
    vcpu_join(v);
    munmap(v->run, v->vm->run_mmap_size);
    close(v->fd);
    free(v);
}

void vcpu_stats_print(const struct vcpu *v, FILE *f)
{
    fprintf(f,
            "vcpu%u: runs %" PRIu64 " pio %" PRIu64 " mmio %" PRIu64
            " intr %" PRIu64 " other %" PRIu64 "\n",
            v->id, v->st.runs, v->st.pio, v->st.mmio, v->st.intr, v->st.other);
    /* The busiest ports, most exits first (a short selection sort on a
     * copy: this runs once, at exit). */
    if (!v->st.pio)
        return;
    struct vcpu_port_count c[VCPU_PORT_SLOTS];
    memcpy(c, v->st.ports, sizeof(c));
    fprintf(f, "vcpu%u: pio by port:", v->id);
    for (unsigned k = 0; k < 8; k++) {
        unsigned best = 0;
        for (unsigned i = 1; i < VCPU_PORT_SLOTS; i++)
            if (c[i].n > c[best].n)
                best = i;
        if (!c[best].n)
            break;
        fprintf(f, " 0x%x=%" PRIu64, c[best].port, c[best].n);
        c[best].n = 0;
    }
    if (v->st.ports_untracked)
        fprintf(f, " other=%" PRIu64, v->st.ports_untracked);
    fprintf(f, "\n");
}
