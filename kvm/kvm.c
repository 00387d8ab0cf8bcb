/* SPDX-License-Identifier: MIT */
/* /dev/kvm, the VM fd, guest RAM, interrupt pins and eventfd bindings. */
#define LOG_TAG "kvm"
#include "kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "hw/log.h"
#include "kvm/vcpu.h"

struct kvm_cap_need {
    int cap;
    const char *name;
};

/* Everything kvmini uses; checked up front so a missing one is named. */
static const struct kvm_cap_need kvm_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

/*
 * An ordinary user runs kvmini through the group that may open the
 * device (Debian's udev: root:kvm, mode 0660). The fix depends on who
 * may open it now, so the line names the owner, group and mode, and
 * the command that helps: joining the group if it is not root's, else
 * handing the device to group kvm first.
 */
static void explain_eacces(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        log_err("%s: permission denied: add your user to the 'kvm' group",
                path);
        return;
    }
    char gname[64], user[64];
    struct group *g = getgrgid(st.st_gid);
    struct passwd *pw = getpwuid(getuid());
    if (g)
        snprintf(gname, sizeof(gname), "%s", g->gr_name);
    else
        snprintf(gname, sizeof(gname), "%u", (unsigned)st.st_gid);
    if (pw)
        snprintf(user, sizeof(user), "%s", pw->pw_name);
    else
        snprintf(user, sizeof(user), "USER");
    unsigned mode = st.st_mode & 07777;
    if (st.st_gid != 0 && (mode & 060) == 060)
        log_err("%s: permission denied (group %s, mode %04o): add your "
                "user to group %s ('sudo adduser %s %s', then log in "
                "again)",
                path, gname, mode, gname, user, gname);
    else
        log_err("%s: permission denied (group %s, mode %04o): only root "
                "may open it; as root, 'chgrp kvm %s; chmod 0660 %s' (what "
                "Debian's udev does), then 'adduser %s kvm'",
                path, gname, mode, path, path, user);
}

int kvm_open(struct kvm_vm *vm, const char *path)
{
    vm->irq_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    vm->pause_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&vm->pause_cond, &ca);
    pthread_condattr_destroy(&ca);
    vm->vm_fd = -1;
    vm->stop_fd = -1;
    vm->sys_fd = open(path, O_RDWR | O_CLOEXEC);
    if (vm->sys_fd < 0) {
        int e = errno;
        if (e == ENOENT)
            log_err("%s: no such device: KVM is not available; load the "
                    "kvm module (modprobe kvm_intel or kvm_amd) or run on "
                    "a host with virtualization enabled",
                    path);
        else if (e == EACCES || e == EPERM)
            explain_eacces(path);
        else
            log_err("%s: %s", path, strerror(e));
        return -e;
    }
    int v = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
    if (v < 0) {
        log_err("%s: not a KVM device (KVM_GET_API_VERSION: %s); use "
                "/dev/kvm",
                path, strerror(errno));
        goto err;
    }
    if (v != KVM_API_VERSION) {
        log_err("%s: KVM API version %d, kvmini needs %d", path, v,
                KVM_API_VERSION);
        goto err;
    }
    for (size_t i = 0; i < sizeof(kvm_caps) / sizeof(kvm_caps[0]); i++) {
        if (ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, kvm_caps[i].cap) <= 0) {
            log_err("%s: this KVM lacks %s, which kvmini needs", path,
                    kvm_caps[i].name);
            goto err;
        }
    }
    int n = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (n <= 0)
        n = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (n <= 0)
        n = 4; /* the documented default when neither cap answers */
    /* NR_VCPUS is the recommended maximum; never exceed it. */
    int rec = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (rec > 0 && rec < n)
        n = rec;
    vm->max_vcpus = n > KVM_MAX_VCPUS_SUPPORTED ? KVM_MAX_VCPUS_SUPPORTED : n;
    vm->run_mmap_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_mmap_size <= 0) {
        log_err("%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
        goto err;
    }
    return 0;
err:
    close(vm->sys_fd);
    vm->sys_fd = -1;
    return -ENODEV;
}

int kvm_create_vm(struct kvm_vm *vm)
{
    const char *what;
    vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->stop_fd < 0) {
        what = "eventfd";
        goto err;
    }
    vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        what = "KVM_CREATE_VM";
        goto err;
    }
    what = "KVM_SET_TSS_ADDR";
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, LAYOUT_TSS) < 0)
        goto err;
    uint64_t idmap = LAYOUT_IDENTITY_MAP;
    what = "KVM_SET_IDENTITY_MAP_ADDR";
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
        goto err;
    what = "KVM_CREATE_IRQCHIP";
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        goto err;
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    what = "KVM_CREATE_PIT2";
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        goto err;
    return 0;
err:;
    int e = errno;
    log_err("%s failed: %s", what, strerror(e));
    return -e;
}

int kvm_setup_ram(struct kvm_vm *vm, uint64_t ram_size, uint64_t low_size,
                  uint64_t high_gpa)
{
    void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        log_err("cannot allocate %llu MiB of guest RAM: %s",
                (unsigned long long)(ram_size >> 20), strerror(e));
        return -e;
    }
    vm->ram = p;
    vm->ram_size = ram_size;
    madvise(p, ram_size, MADV_MERGEABLE);

    struct {
        uint64_t gpa, size, off;
    } slots[2] = {
        {0, low_size, 0},
        {high_gpa, ram_size - low_size, low_size},
    };
    for (unsigned i = 0; i < 2; i++) {
        if (!slots[i].size)
            continue;
        struct kvm_userspace_memory_region r = {
            .slot = i,
            .guest_phys_addr = slots[i].gpa,
            .memory_size = slots[i].size,
            .userspace_addr = (uintptr_t)(vm->ram + slots[i].off),
        };
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
            int e = errno;
            log_err("KVM_SET_USER_MEMORY_REGION: %s", strerror(e));
            return -e;
        }
        int rc = gmem_add(&vm->mem, slots[i].gpa, slots[i].size,
                          vm->ram + slots[i].off);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int kvm_irq_set(struct kvm_vm *vm, uint32_t gsi, int level)
{
    struct kvm_irq_level l = {.irq = gsi, .level = level};
    return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_irq_pulse(struct irq_line *l)
{
    struct kvm_vm *vm = l->ctx;
    /* One pulse at a time (see irq_lock): each raise then sees the line
     * low, so every pulse is an edge the guest is told of. */
    pthread_mutex_lock(&vm->irq_lock);
    int r = kvm_irq_set(vm, l->gsi, 1);
    if (r == 0)
        r = kvm_irq_set(vm, l->gsi, 0);
    pthread_mutex_unlock(&vm->irq_lock);
    return r;
}

static int kvm_irq_level(struct irq_line *l, int level)
{
    return kvm_irq_set(l->ctx, l->gsi, level);
}

void kvm_irq_line_init(struct kvm_vm *vm, struct irq_line *l, uint32_t gsi)
{
    l->trigger = kvm_irq_pulse;
    l->set_level = kvm_irq_level;
    l->ctx = vm;
    l->gsi = gsi;
}

int kvm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t datamatch, int fd,
                  bool assign)
{
    struct kvm_ioeventfd io = {
        .datamatch = datamatch,
        .addr = addr,
        .len = 4,
        .fd = fd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int kvm_irqfd(struct kvm_vm *vm, uint32_t gsi, int fd, bool assign)
{
    struct kvm_irqfd f = {
        .fd = fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

void kvm_request_stop(struct kvm_vm *vm, int status)
{
    int running = 0;
    /* The status travels in the same word that says "stopping" (release
     * pairs with the acquire in kvm_stopping/kvm_exit_status): a reader
     * can never see the flag without the status. */
    if (!atomic_compare_exchange_strong_explicit(
            &vm->stop_word, &running, 1 + (status & 0xff), memory_order_acq_rel,
            memory_order_acquire))
        return;
    uint64_t one = 1;
    if (vm->stop_fd >= 0 && write(vm->stop_fd, &one, sizeof(one)) < 0)
        log_warn("stop eventfd: %s", strerror(errno));
}

bool kvm_stopping(const struct kvm_vm *vm)
{
    return atomic_load_explicit(&vm->stop_word, memory_order_acquire) != 0;
}

int kvm_exit_status(const struct kvm_vm *vm)
{
    return atomic_load_explicit(&vm->stop_word, memory_order_acquire) - 1;
}

void kvm_kick_vcpus(struct kvm_vm *vm)
{
    /* Held vCPUs wait on pause_cond, not in KVM_RUN: wake them too, so a
     * stop of a paused VM ends them. */
    if (!vm->nvcpus)
        return;
    pthread_mutex_lock(&vm->pause_lock);
    pthread_cond_broadcast(&vm->pause_cond);
    pthread_mutex_unlock(&vm->pause_lock);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_kick(vm->vcpus[i]);
}

void kvm_close(struct kvm_vm *vm)
{
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->sys_fd >= 0)
        close(vm->sys_fd);
    if (vm->stop_fd >= 0)
        close(vm->stop_fd);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    vm->vm_fd = vm->sys_fd = vm->stop_fd = -1;
    vm->ram = NULL;
}
