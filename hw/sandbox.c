/* SPDX-License-Identifier: MIT */
/* Per-thread seccomp filters: compile the table once, install per thread,
 * report a violation in one line (the SIGSYS handler). */
#define LOG_TAG "seccomp"
#include "hw/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hw/log.h"
#include "hw/sandbox_priv.h"
#include "hw/sandbox_rules.h"

#define SYSCALL_NAMES 512 /* x86-64 numbers are below this */
#define SYSCALL_NAME_LEN 24

/* Everything the SIGSYS handler reads is written before any filter is
 * loaded (sandbox_init) and never changes after, except the per-thread
 * label below. */
static struct {
    struct sandbox_config cfg;
    struct sock_fprog prog[SANDBOX_KINDS_MAX];
    char names[SYSCALL_NAMES][SYSCALL_NAME_LEN];
} sbx = {.cfg = {.mode = SANDBOX_OFF}};

/* "vcpu0 (vcpu)": the thread the report names. */
static __thread char sbx_who[48];

/* Set by the first thread in the SIGSYS handler: two threads of a kind
 * (a device's queues) meet the same forbidden syscall at once, and the
 * report is one line. */
static int sbx_reported;

int sandbox_parse(const char *spec, struct sandbox_config *c, char *err,
                  size_t errlen)
{
    *c = (struct sandbox_config){0};
    size_t n = strcspn(spec, ",");
    if (n == 4 && !strncmp(spec, "kill", 4))
        c->mode = SANDBOX_KILL;
    else if (n == 3 && !strncmp(spec, "log", 3))
        c->mode = SANDBOX_LOG;
    else if (n == 3 && !strncmp(spec, "off", 3))
        c->mode = SANDBOX_OFF;
    else
        return errbuf_set(err, errlen, -EINVAL,
                          "--seccomp %s: the mode is kill, log or off", spec);
    if (!spec[n])
        return 0;
    const char *p = spec + n + 1;
    char *hook;
    if (!strncmp(p, "probe=", 6))
        hook = c->probe;
    else if (!strncmp(p, "shrink=", 7))
        hook = c->shrink;
    else
        return errbuf_set(err, errlen, -EINVAL,
                          "--seccomp %s: after the mode only probe=KIND or "
                          "shrink=KIND may follow",
                          spec);
    p = strchr(p, '=') + 1;
    if (!sandbox_kind_find(p))
        return errbuf_set(err, errlen, -EINVAL,
                          "--seccomp %s: no thread kind '%s' (see "
                          "docs/security.md)",
                          spec, p);
    strcpy(hook, p); /* fits: every kind name does */
    return 0;
}

/*
 * The test hook shrink=KIND: free enough heap, in pieces below glibc's
 * mmap threshold, that malloc gives memory back (2 MiB freed leave a top
 * chunk far above the trim threshold). In a thread arena the first such
 * shrink opens /proc/sys/vm/overcommit_memory, which no list allows; the
 * rig's net scenario stopped with status 159 when a vCPU freed the NICs'
 * TX iovecs at the guest's reboot. sandbox_init's single arena keeps
 * every thread off that path; the hook checks it under a filter.
 */
#define SHRINK_PIECES 32
#define SHRINK_PIECE (64 * 1024)

static void sbx_heap_shrink(void)
{
    void *p[SHRINK_PIECES];
    for (int i = 0; i < SHRINK_PIECES; i++) {
        p[i] = malloc(SHRINK_PIECE);
        /* Touched, so the compiler keeps the allocation. */
        if (p[i])
            *(volatile char *)p[i] = 1;
    }
    for (int i = SHRINK_PIECES - 1; i >= 0; i--)
        free(p[i]);
}

/* --- the report (async-signal-safe from here to sbx_sigsys) --- */

static size_t put_str(char *b, size_t o, size_t cap, const char *s)
{
    while (*s && o + 1 < cap)
        b[o++] = *s++;
    return o;
}

static size_t put_uint(char *b, size_t o, size_t cap, unsigned long v)
{
    char t[24];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof(t));
    while (n && o + 1 < cap)
        b[o++] = t[--n];
    return o;
}

static void sbx_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (__atomic_exchange_n(&sbx_reported, 1, __ATOMIC_SEQ_CST)) {
        /* Another thread reports and exits: wait for it (FUTEX_WAIT on
         * a word that stays 1; futex is in every filter). */
        for (;;)
            syscall(SYS_futex, &sbx_reported, FUTEX_WAIT_PRIVATE, 1, NULL, NULL,
                    0);
    }
    char b[256];
    size_t o = 0, cap = sizeof(b);
    unsigned nr = (unsigned)si->si_syscall;
    o = put_str(b, o, cap, "kvmini: seccomp: thread ");
    o = put_str(b, o, cap, sbx_who[0] ? sbx_who : "?");
    o = put_str(b, o, cap, " made syscall ");
    if (nr < SYSCALL_NAMES && sbx.names[nr][0])
        o = put_str(b, o, cap, sbx.names[nr]);
    else
        o = put_str(b, o, cap, "?");
    o = put_str(b, o, cap, " (");
    o = put_uint(b, o, cap, nr);
    o = put_str(b, o, cap, "), not in its allow-list; stopping with status ");
    o = put_uint(b, o, cap, SANDBOX_EXIT_STATUS);
    o = put_str(b, o, cap,
                " (--seccomp log finds what is missing: docs/security.md)");
    b[o++] = '\n';
    /* Raw syscalls, which every filter allows: no libc wrapper or
     * sanitizer interceptor may do more (a leak check at _exit would). */
    syscall(SYS_write, STDERR_FILENO, b, o);
    syscall(SYS_exit_group, SANDBOX_EXIT_STATUS);
}

/* --- compiling --- */

static int rule_add(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
    /* Spelled out: SCMP_CMP leaves datum_b to the compiler's zeroing,
     * which clang's -Wmissing-field-initializers (the fuzz build)
     * refuses. MASKED_EQ: (arg & datum_a) == datum_b. */
    struct scmp_arg_cmp c = {.arg = r->arg,
                             .op = r->cmp == SANDBOX_EQ ? SCMP_CMP_EQ
                                                        : SCMP_CMP_MASKED_EQ,
                             .datum_a = r->val,
                             .datum_b = 0};
    switch (r->cmp) {
    case SANDBOX_ANY:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
    case SANDBOX_EQ:
    case SANDBOX_NOBITS:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
    case SANDBOX_ENOSYS:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), r->nr, 0);
    }
    return -EINVAL;
}

/* Kind k's rules as a BPF program in *out (malloc'd); 0 or -errno. */
int sandbox_compile(const struct sandbox_kind *k, enum sandbox_mode mode,
                    struct sock_fprog *out)
{
    scmp_filter_ctx ctx =
        seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
    if (!ctx)
        return -ENOMEM;
    /* kvmini sets no_new_privs itself, once, for every thread. */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (size_t g = 0; r == 0 && k->groups[g]; g++)
        for (size_t i = 0; r == 0 && i < k->groups[g]->n; i++)
            r = rule_add(ctx, &k->groups[g]->rules[i]);
    /* libseccomp writes the program to an fd; a memfd keeps it here. */
    int fd = r == 0 ? memfd_create("seccomp-bpf", MFD_CLOEXEC) : -1;
    if (r == 0 && fd < 0)
        r = -errno;
    if (r == 0)
        r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t len = r == 0 ? lseek(fd, 0, SEEK_CUR) : 0;
    if (r == 0 && (len <= 0 || len % sizeof(struct sock_filter)))
        r = -EIO;
    struct sock_filter *f = r == 0 ? malloc((size_t)len) : NULL;
    if (r == 0 && !f)
        r = -ENOMEM;
    if (r == 0 && pread(fd, f, (size_t)len, 0) != len)
        r = -EIO;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        free(f);
        return r;
    }
    out->filter = f;
    out->len = (unsigned short)(len / sizeof(struct sock_filter));
    return 0;
}

static void names_fill(void)
{
    for (int nr = 0; nr < SYSCALL_NAMES; nr++) {
        char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (s)
            snprintf(sbx.names[nr], SYSCALL_NAME_LEN, "%s", s);
        free(s);
    }
}

int sandbox_init(const struct sandbox_config *c)
{
    sbx.cfg = *c;
    /* Every thread allocates from the main arena (brk). A thread arena
     * takes glibc's malloc to files and syscalls no list allows: the
     * first time free() shrinks a thread arena's heap it opens
     * /proc/sys/vm/overcommit_memory (openat), and past 8 arenas it asks
     * sched_getaffinity how many CPUs there are. A guest that resets a
     * disk frees on its vCPU what the vCPU allocated at DRIVER_OK, and
     * kvmini stopped with status 159 (blk.t, restart). One arena costs
     * nothing here: the request paths allocate nothing. Set in every
     * mode, so that memory behaves the same with the filters off.
     * (glibc cannot refuse 1; a sanitizer's allocator ignores it and has
     * no such paths.) */
    mallopt(M_ARENA_MAX, 1);
    if (c->mode == SANDBOX_OFF)
        return 0;
    if (sandbox_nkinds > SANDBOX_KINDS_MAX)
        return -EOVERFLOW;
    names_fill();
    int r = 0;
    for (size_t i = 0; i < sandbox_nkinds && r == 0; i++)
        r = sandbox_compile(&sandbox_kinds[i], c->mode, &sbx.prog[i]);
    if (r < 0) {
        log_err("seccomp: cannot build the syscall filters: %s (--seccomp "
                "off runs without them)",
                strerror(-r));
        goto fail;
    }
    struct sigaction sa = {.sa_sigaction = sbx_sigsys, .sa_flags = SA_SIGINFO};
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        r = -errno;
        log_err("seccomp: cannot set up the filters: %s (--seccomp off runs "
                "without them)",
                strerror(-r));
        goto fail;
    }
    r = sandbox_spawner_start();
    if (r < 0) {
        log_err("seccomp: cannot start the thread spawner: %s", strerror(-r));
        goto fail;
    }
    return 0;
fail:
    sandbox_fini();
    sbx.cfg.mode = SANDBOX_OFF;
    return r;
}

int sandbox_enter(const char *kind, const char *who)
{
    if (sbx.cfg.mode == SANDBOX_OFF)
        return 0;
    const struct sandbox_kind *k = sandbox_kind_find(kind);
    if (!k) {
        log_err("seccomp: thread %s: no filter for kind %s", who, kind);
        return -ENOENT;
    }
    snprintf(sbx_who, sizeof(sbx_who), "%s (%s)", who, kind);
    /* Named for ps, gdb and the kernel's audit lines (comm=). */
    prctl(PR_SET_NAME, who, 0, 0, 0);
    /* A SIGSYS the thread blocks would kill without the report. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    /* No SECCOMP_FILTER_FLAG_LOG: it would log clone3's every ENOSYS
     * too; a violation under kill has its own report line. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0,
                &sbx.prog[k - sandbox_kinds]) < 0) {
        int e = errno;
        log_err("seccomp: thread %s: cannot load its filter: %s (--seccomp "
                "off runs without filters)",
                who, strerror(e));
        return -e;
    }
    if (sbx.cfg.probe[0] && !strcmp(sbx.cfg.probe, kind))
        syscall(SYS_getppid); /* the test hook: forbidden everywhere */
    if (sbx.cfg.shrink[0] && !strcmp(sbx.cfg.shrink, kind))
        sbx_heap_shrink(); /* the test hook: must be harmless */
    return 0;
}

bool sandbox_enabled(void)
{
    return sbx.cfg.mode != SANDBOX_OFF;
}

void sandbox_fini(void)
{
    sandbox_spawner_stop();
    for (size_t i = 0; i < SANDBOX_KINDS_MAX; i++) {
        free(sbx.prog[i].filter);
        sbx.prog[i] = (struct sock_fprog){0};
    }
}
