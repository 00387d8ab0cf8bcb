/* SPDX-License-Identifier: MIT */
/*
 * The allow-lists: one row of sandbox_kinds per kind of thread, made of
 * groups of rules; a new syscall is one line in a group, a new kind one
 * row. The numbers were found by running every test under --seccomp log
 * (docs/security.md says how); the comment on a rule says who needs it.
 *
 * This file names KVM, tun and terminal ioctls only as numbers to allow;
 * it is the one hw/ file that includes <linux/kvm.h>, for that reason.
 */
#include "hw/sandbox_rules.h"

#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define ANY(s)                                                                 \
    {                                                                          \
        SCMP_SYS(s), SANDBOX_ANY, 0, 0, #s                                     \
    }
#define ARG(s, a, v)                                                           \
    {                                                                          \
        SCMP_SYS(s), SANDBOX_EQ, a, (uint64_t)(v), #s "/" #v                   \
    }
#define IOCTL(req)                                                             \
    {                                                                          \
        SCMP_SYS(ioctl), SANDBOX_EQ, 1, (uint64_t)(req), #req                  \
    }
/* Memory never becomes executable after setup. */
#define NOEXEC(s)                                                              \
    {                                                                          \
        SCMP_SYS(s), SANDBOX_NOBITS, 2, PROT_EXEC, #s "/noexec"                \
    }
#define GROUP(n, ...)                                                          \
    static const struct sandbox_rule n##_rules[] = {__VA_ARGS__};              \
    static const struct sandbox_group n = {                                    \
        #n, n##_rules, sizeof(n##_rules) / sizeof(n##_rules[0])}

/* The flags glibc's pthread_create passes to clone: a thread, never a
 * process. */
#define THREAD_CLONE_FLAGS                                                     \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |        \
     CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |                      \
     CLONE_CHILD_CLEARTID)

/* Every thread: glibc's own needs (locks, malloc and free, signal masks
 * at thread start and exit, a thread's stack freed by its joiner), the
 * vDSO's fallback when the clock source has none (the rig's TCG L1),
 * logging to stderr, and the SIGSYS report's write and exit_group. */
GROUP(libc, ANY(futex), ANY(brk), NOEXEC(mmap), NOEXEC(mprotect), ANY(munmap),
      ANY(madvise), ANY(write), ANY(exit), ANY(exit_group), ANY(rt_sigreturn),
      ANY(rt_sigprocmask), ANY(restart_syscall), ANY(clock_gettime));

/* A thread that sleeps in poll() on eventfds and its backend fd. */
GROUP(evloop, ANY(poll), ANY(read));

/* Raising a level-triggered line (8250, RTC, a virtio device without an
 * irqfd): vCPUs, workers, the backends that feed the 8250, and main
 * (the power button). */
GROUP(irq, IOCTL(KVM_IRQ_LINE));

/* The vCPU's own loop, and its report of a guest KVM cannot run. */
GROUP(vcpu, IOCTL(KVM_RUN), IOCTL(KVM_GET_REGS), IOCTL(KVM_GET_SREGS),
      IOCTL(KVM_TRANSLATE), ANY(read));

/* What a register write does on the vCPU thread: a device starting at
 * DRIVER_OK (io_uring rings and their eventfds, tap header size,
 * offloads and queues) and stopping at reset (cancelling I/O, closing
 * rings, joining workers). */
GROUP(vdev_ctl, ANY(eventfd2), ANY(close), ANY(io_uring_setup),
      ANY(io_uring_register), ANY(io_uring_enter), IOCTL(TUNSETOFFLOAD),
      IOCTL(TUNSETQUEUE), IOCTL(TUNSETVNETHDRSZ));

/* The spawner: create threads (never processes: clone3's flags cannot be
 * checked, so it fails and glibc falls back to clone), and what a new
 * thread does under the spawner's filter before it loads its own. */
GROUP(spawn, ARG(clone, 0, THREAD_CLONE_FLAGS),
      {SCMP_SYS(clone3), SANDBOX_ENOSYS, 0, 0, "clone3/enosys"},
      ANY(set_robust_list), ANY(rseq), ARG(prctl, 0, PR_SET_NAME),
      ARG(seccomp, 0, SECCOMP_SET_MODE_FILTER));

/* virtio-blk workers: io_uring, or the synchronous engine (preadv,
 * pwritev2 with RWF_DSYNC, fdatasync); discard and write-zeroes. */
GROUP(blk_io, ANY(io_uring_enter), ANY(preadv), ANY(pwritev), ANY(pwritev2),
      ANY(fdatasync), ANY(fallocate), IOCTL(BLKDISCARD), IOCTL(BLKZEROOUT));

/* virtio-net workers: frames to and from the tap; the control queue
 * changes offloads and the number of queue pairs. */
GROUP(net_io, ANY(readv), ANY(writev), IOCTL(TUNSETOFFLOAD),
      IOCTL(TUNSETQUEUE));

/* Character backends: a unix server accepts, a client reconnects. */
GROUP(chardev_io, ANY(accept4), ARG(socket, 0, AF_UNIX), ANY(connect),
      ANY(close));

/* The main loop: signals (signalfd), the stop eventfd, a vCPU kick
 * (tgkill), SIGWINCH; the control API's unix socket (accept, receive,
 * send, close) and its JSON (json-c seeds each new object's hash table
 * with getrandom). */
GROUP(main_loop, ANY(poll), ANY(read), ANY(getpid), ANY(tgkill),
      IOCTL(TIOCGWINSZ), ANY(accept4), ANY(recvfrom), ANY(recvmsg), ANY(sendto),
      ANY(sendmsg), ANY(shutdown), ANY(getrandom),
      /* sd_notify: READY=1 and STOPPING=1 on a datagram socket of its own */
      ARG(socket, 0, AF_UNIX));

/* The main thread's teardown: unbind eventfds, wait for in-flight
 * disk I/O and close the rings, close files,
 * restore the terminal, remove its socket files (lstat first). */
GROUP(teardown, ANY(close), ANY(io_uring_enter), IOCTL(KVM_IOEVENTFD),
      IOCTL(KVM_IRQFD), IOCTL(TCGETS), IOCTL(TCSETS), ANY(newfstatat),
      ANY(unlink));

const struct sandbox_kind sandbox_kinds[] = {
    {"main", {&libc, &main_loop, &irq, &teardown}},
    {"vcpu", {&libc, &vcpu, &irq, &vdev_ctl}},
    {"spawner", {&libc, &spawn, &evloop, &irq, &blk_io, &net_io}},
    {"vq-blk", {&libc, &evloop, &irq, &blk_io}},
    {"vq-net", {&libc, &evloop, &irq, &net_io}},
    {"vq-console", {&libc, &evloop, &irq}},
    {"chardev", {&libc, &evloop, &irq, &chardev_io}},
};
const size_t sandbox_nkinds = sizeof(sandbox_kinds) / sizeof(sandbox_kinds[0]);

const struct sandbox_kind *sandbox_kind_find(const char *name)
{
    for (size_t i = 0; i < sandbox_nkinds; i++)
        if (!strcmp(sandbox_kinds[i].name, name))
            return &sandbox_kinds[i];
    return NULL;
}
