/* SPDX-License-Identifier: MIT */
/* Pausing the vCPUs: every thread out of KVM_RUN and held until resume. */
#define LOG_TAG "pause"
#include <errno.h>
#include <time.h>

#include "hw/deadline.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"

int kvm_pause(struct kvm_vm *vm, unsigned timeout_ms)
{
    struct timespec end = deadline_after_ms(timeout_ms);
    pthread_mutex_lock(&vm->pause_lock);
    vm->pause_req = true;
    pthread_mutex_unlock(&vm->pause_lock);
    /* The request is visible before the kick: a vCPU leaving KVM_RUN
     * because of it finds it at its pause point. */
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_kick(vm->vcpus[i]);
    int r = 0;
    pthread_mutex_lock(&vm->pause_lock);
    while (vm->held < vm->alive && r == 0 && !kvm_stopping(vm))
        r = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &end);
    if (vm->held < vm->alive && !kvm_stopping(vm)) {
        vm->pause_req = false;
        pthread_cond_broadcast(&vm->pause_cond);
        r = -ETIMEDOUT;
    } else {
        r = 0;
    }
    pthread_mutex_unlock(&vm->pause_lock);
    return r;
}

void kvm_resume(struct kvm_vm *vm)
{
    pthread_mutex_lock(&vm->pause_lock);
    vm->pause_req = false;
    pthread_cond_broadcast(&vm->pause_cond);
    pthread_mutex_unlock(&vm->pause_lock);
}

void kvm_pause_point(struct kvm_vm *vm)
{
    pthread_mutex_lock(&vm->pause_lock);
    if (vm->pause_req && !kvm_stopping(vm)) {
        vm->held++;
        pthread_cond_broadcast(&vm->pause_cond);
        /* kvm_kick_vcpus broadcasts too, so a stop ends the wait. */
        while (vm->pause_req && !kvm_stopping(vm))
            pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
        vm->held--;
    }
    pthread_mutex_unlock(&vm->pause_lock);
}

void kvm_vcpu_alive(struct kvm_vm *vm, bool alive)
{
    pthread_mutex_lock(&vm->pause_lock);
    if (alive)
        vm->alive++;
    else
        vm->alive--;
    pthread_cond_broadcast(&vm->pause_cond);
    pthread_mutex_unlock(&vm->pause_lock);
}
