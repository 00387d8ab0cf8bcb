/* SPDX-License-Identifier: MIT */
/* The VM-wide stop request: its status is never read stale, and only the
 * thread that owns the vCPU threads ever signals them (no KVM needed). */
#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "tests/unit/tap.h"

#define SAMPLES 2000

/*
 * The stop flag and the status must change as one: a reader that sees
 * the VM stopping must see the status it stops with. A timer signal
 * interrupts the requesting thread at arbitrary instructions, so the
 * handler sees every intermediate state kvm_request_stop passes through
 * (a status stored after the flag shows up as the previous status).
 */
static struct kvm_vm vm;
static volatile int expected;
static volatile int samples, stale;

static void sample(int sig)
{
    (void)sig;
    if (!kvm_stopping(&vm))
        return;
    samples++;
    if (kvm_exit_status(&vm) != expected)
        stale++;
}

static void test_status_never_stale(void)
{
    struct sigaction sa = {.sa_handler = sample}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, &old);
    /* A high-resolution timer: samples every 50 us of wall time. */
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGPROF};
    timer_t tm;
    struct itimerspec it = {{0, 50000}, {0, 50000}};
    if (timer_create(CLOCK_MONOTONIC, &ev, &tm) ||
        timer_settime(tm, 0, &it, NULL))
        abort();
    vm.stop_fd = -1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int early = 0;
    for (unsigned i = 0; samples < SAMPLES; i++) {
        atomic_store_explicit(&vm.stop_word, 0, memory_order_release);
        early += kvm_exit_status(&vm) != -1;
        expected = (int)(i % 250) + 1;
        kvm_request_stop(&vm, expected);
        if (i % 4096)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 30)
            break; /* a hang guard: the timer should have fired */
    }
    timer_delete(tm);
    sigaction(SIGPROF, &old, NULL);
    CHECK(early == 0, "a running VM has no exit status");
    CHECK(samples >= SAMPLES && stale == 0,
          "%d interrupted stop requests: the status is read with the stop "
          "(%d stale)",
          samples, stale);
    kvm_request_stop(&vm, 0);
    CHECK(kvm_exit_status(&vm) == expected, "the first caller's status wins");
}

/* A stand-in vCPU thread: counts the kick signals it receives. */
static _Atomic int kicks, quit;

static void count_kick(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&kicks, 1, memory_order_seq_cst);
}

static void *fake_vcpu(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    while (!atomic_load_explicit(&quit, memory_order_seq_cst))
        usleep(1000);
    return NULL;
}

static void *other_thread_stops(void *arg)
{
    kvm_request_stop(arg, 5); /* a vCPU hitting the exit port, say */
    return NULL;
}

static bool wait_kicks(int want)
{
    for (int i = 0; i < 5000; i++) { /* a hang guard, not a timing */
        if (atomic_load_explicit(&kicks, memory_order_seq_cst) >= want)
            return true;
        usleep(1000);
    }
    return false;
}

static void test_only_owner_signals(void)
{
    struct kvm_vm k = {.stop_fd = eventfd(0, EFD_NONBLOCK)};
    struct kvm_run *run = calloc(1, sizeof(*run));
    struct vcpu *v = calloc(1, sizeof(*v));
    struct sigaction sa = {.sa_handler = count_kick};
    sigemptyset(&sa.sa_mask);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    if (k.stop_fd < 0 || !run || !v || sigaction(SIGUSR1, &sa, NULL) ||
        pthread_sigmask(SIG_BLOCK, &s, NULL))
        abort();
    *v = (struct vcpu){.vm = &k, .run = run};
    if (pthread_create(&v->thread, NULL, fake_vcpu, NULL))
        abort();
    v->started = true;
    k.vcpus[0] = v;
    k.nvcpus = 1;

    pthread_t t;
    pthread_create(&t, NULL, other_thread_stops, &k);
    pthread_join(t, NULL);
    struct pollfd p = {.fd = k.stop_fd, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1 && kvm_exit_status(&k) == 5,
          "a stop from another thread wakes the main loop with its status");
    usleep(20000);
    CHECK(atomic_load_explicit(&kicks, memory_order_seq_cst) == 0 &&
              run->immediate_exit == 0,
          "... and signals no vCPU thread (main may have joined it)");
    kvm_kick_vcpus(&k);
    CHECK(wait_kicks(1) && run->immediate_exit == 1,
          "the owner's kvm_kick_vcpus kicks the vCPU");

    atomic_store_explicit(&quit, 1, memory_order_seq_cst);
    vcpu_join(v);
    CHECK(!v->started, "joined vCPU is marked not started");
    int before = atomic_load_explicit(&kicks, memory_order_seq_cst);
    pthread_create(&t, NULL, other_thread_stops, &k);
    pthread_join(t, NULL);
    kvm_kick_vcpus(&k);
    CHECK(atomic_load_explicit(&kicks, memory_order_seq_cst) == before,
          "after the join nothing signals the dead thread");
    close(k.stop_fd);
    free(run);
    free(v);
}

int main(void)
{
    test_status_never_stale();
    test_only_owner_signals();
    return tap_done();
}
