/* SPDX-License-Identifier: MIT */
/* The syscall-filter table and its compiler: every kind is well formed,
 * compiles, and a loaded filter reports, logs or allows as documented. */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hw/rtc.h"
#include "hw/sandbox.h"
#include "hw/sandbox_priv.h"
#include "hw/sandbox_rules.h"
#include "tests/unit/tap.h"
#include "virtio/virtio_spec.h"
#include "virtio/worker.h"

static bool same_rule(const struct sandbox_rule *a,
                      const struct sandbox_rule *b)
{
    return a->nr == b->nr && a->cmp == b->cmp && a->arg == b->arg &&
           a->val == b->val;
}

#define FOR_RULES(k, r)                                                        \
    for (size_t g_ = 0; (k)->groups[g_]; g_++)                                 \
        for (const struct sandbox_rule *r = (k)->groups[g_]->rules;            \
             r < (k)->groups[g_]->rules + (k)->groups[g_]->n; r++)

/* Does kind k let rule r through (the same rule, or the syscall with any
 * arguments)? */
static bool kind_allows(const struct sandbox_kind *k,
                        const struct sandbox_rule *want)
{
    FOR_RULES(k, r)
    if (same_rule(r, want) || (r->nr == want->nr && r->cmp == SANDBOX_ANY))
        return true;
    return false;
}

static void test_table_shape(void)
{
    CHECK(sandbox_nkinds > 0 && sandbox_nkinds <= SANDBOX_KINDS_MAX,
          "%zu kinds, at most %d", sandbox_nkinds, SANDBOX_KINDS_MAX);
    for (size_t i = 0; i < sandbox_nkinds; i++) {
        const struct sandbox_kind *k = &sandbox_kinds[i];
        size_t n = 0, dup = 0, shadow = 0, empty = 0;
        for (size_t g = 0; k->groups[g]; g++)
            empty += k->groups[g]->n == 0;
        FOR_RULES(k, r)
        {
            n++;
            size_t seen = 0;
            FOR_RULES(k, s)
            {
                if (s == r)
                    continue;
                if (same_rule(s, r))
                    seen++;
                /* An argument check next to "any arguments" would be
                 * dead weight and hide a mistake. */
                else if (s->nr == r->nr && s->cmp == SANDBOX_ANY &&
                         r->cmp != SANDBOX_ANY)
                    shadow++;
            }
            dup += seen;
        }
        CHECK(strlen(k->name) < SANDBOX_KIND_MAX &&
                  sandbox_kind_find(k->name) == k,
              "kind %s: its name fits and is unique", k->name);
        CHECK(n > 0 && empty == 0, "kind %s: %zu rules, no empty group",
              k->name, n);
        CHECK(dup == 0, "kind %s: no rule twice (%zu)", k->name, dup);
        CHECK(shadow == 0, "kind %s: no argument check shadowed (%zu)", k->name,
              shadow);
    }
    CHECK(sandbox_kind_find("nope") == NULL, "an unknown kind is NULL");
}

static void test_probe_forbidden(void)
{
    int nr = seccomp_syscall_resolve_name(SANDBOX_PROBE_SYSCALL_NAME);
    CHECK(nr == SYS_getppid, "the probe syscall is getppid (%d)", nr);
    for (size_t i = 0; i < sandbox_nkinds; i++) {
        bool found = false;
        FOR_RULES(&sandbox_kinds[i], r)
        found |= r->nr == nr;
        CHECK(!found, "kind %s does not allow the probe's syscall",
              sandbox_kinds[i].name);
    }
}

/* Workers are born under the spawner's filter and keep it beneath their
 * own: whatever a worker kind allows, the spawner must allow too. */
static void test_spawner_covers_workers(void)
{
    const struct sandbox_kind *sp = sandbox_kind_find("spawner");
    CHECK(sp != NULL, "there is a spawner kind");
    if (!sp)
        return;
    for (size_t i = 0; i < sandbox_nkinds; i++) {
        const struct sandbox_kind *k = &sandbox_kinds[i];
        if (strncmp(k->name, "vq-", 3))
            continue;
        const char *missing = NULL;
        FOR_RULES(k, r)
        if (!missing && !kind_allows(sp, r))
            missing = r->what;
        CHECK(!missing, "spawner allows all of %s (missing: %s)", k->name,
              missing ? missing : "none");
    }
}

static void test_worker_kinds(void)
{
    static const uint32_t ids[] = {VIRTIO_ID_NET, VIRTIO_ID_BLOCK,
                                   VIRTIO_ID_CONSOLE};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct vdev_ops ops = {.name = "x", .device_id = ids[i]};
        const char *k = vworker_kind(&ops);
        CHECK(sandbox_kind_find(k) != NULL, "device id %u: kind %s exists",
              ids[i], k);
    }
    struct vdev_ops other = {.name = "x", .device_id = 99};
    CHECK(sandbox_kind_find(vworker_kind(&other)) == NULL,
          "a device without a kind gets no filter to run under");
}

static void test_compile(void)
{
    for (size_t i = 0; i < sandbox_nkinds; i++) {
        for (int m = SANDBOX_KILL; m <= SANDBOX_LOG; m++) {
            struct sock_fprog p = {0};
            int r = sandbox_compile(&sandbox_kinds[i], m, &p);
            CHECK(r == 0 && p.len > 4,
                  "kind %s compiles for %s (%d, %u "
                  "instructions)",
                  sandbox_kinds[i].name, m == SANDBOX_KILL ? "kill" : "log", r,
                  p.len);
            free(p.filter);
        }
    }
}

static void test_parse(void)
{
    struct sandbox_config c;
    char err[200];
    CHECK(sandbox_parse("kill", &c, err, sizeof(err)) == 0 &&
              c.mode == SANDBOX_KILL && !c.probe[0],
          "kill");
    CHECK(sandbox_parse("log", &c, err, sizeof(err)) == 0 &&
              c.mode == SANDBOX_LOG,
          "log");
    CHECK(sandbox_parse("off", &c, err, sizeof(err)) == 0 &&
              c.mode == SANDBOX_OFF,
          "off");
    CHECK(sandbox_parse("kill,probe=vq-blk", &c, err, sizeof(err)) == 0 &&
              !strcmp(c.probe, "vq-blk"),
          "a probe on a kind");
    CHECK(sandbox_parse("kill,shrink=vcpu", &c, err, sizeof(err)) == 0 &&
              !strcmp(c.shrink, "vcpu") && !c.probe[0],
          "a heap shrink on a kind");
    CHECK(sandbox_parse("off,shrink=vq-nope", &c, err, sizeof(err)) ==
                  -EINVAL &&
              strstr(err, "vq-nope"),
          "an unknown shrink kind is named (%s)", err);
    CHECK(sandbox_parse("kil", &c, err, sizeof(err)) == -EINVAL &&
              strstr(err, "kill, log or off"),
          "a bad mode names the good ones (%s)", err);
    CHECK(sandbox_parse("killx", &c, err, sizeof(err)) == -EINVAL,
          "a mode with a tail is refused");
    CHECK(sandbox_parse("log,probe=vq-nope", &c, err, sizeof(err)) == -EINVAL &&
              strstr(err, "vq-nope"),
          "an unknown probe kind is named (%s)", err);
    CHECK(sandbox_parse("log,verbose", &c, err, sizeof(err)) == -EINVAL &&
              strstr(err, "probe=KIND or shrink=KIND"),
          "anything but probe= or shrink= after the mode is refused (%s)", err);
}

enum child_act { ACT_PROBE, ACT_MMAP_RW, ACT_MMAP_EXEC, ACT_RTC };

/* In a child: init the sandbox in `mode`, enter kind vq-console (which
 * allows write, exit_group and mmap without PROT_EXEC), do `act`, then
 * exit 0 (or 99 if the act failed without being stopped). */
static int child_run(const char *mode, int errfd, enum child_act act)
{
    pid_t pid = fork();
    if (pid == 0) {
        dup2(errfd, STDERR_FILENO);
        struct rtc rtc;
        rtc_init(&rtc); /* as main does, before the sandbox */
        struct sandbox_config c;
        const char *kind = act == ACT_RTC ? "vcpu" : "vq-console";
        if (sandbox_parse(mode, &c, NULL, 0) < 0 || sandbox_init(&c) < 0 ||
            sandbox_enter(kind, "test.q0") < 0)
            _exit(100);
        if (act == ACT_RTC) {
            /* A guest reading the clock: the vCPU's list must do. */
            uint8_t idx = 0, sec = 0xff; /* RTC_SEC */
            rtc_io(&rtc, 0, &idx, 1, true);
            rtc_io(&rtc, 1, &sec, 1, false);
            if (sec == 0xff)
                syscall(SYS_exit_group, 99);
        } else if (act == ACT_PROBE) {
            syscall(SYS_getppid);
        } else {
            int prot = PROT_READ | (act == ACT_MMAP_EXEC ? PROT_EXEC : 0);
            void *p =
                mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                syscall(SYS_exit_group, 99);
        }
        /* Not _exit: ASan's interceptor would run a leak check, whose
         * syscalls the filter stops. */
        syscall(SYS_exit_group, 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void test_loaded(void)
{
    char path[] = "/tmp/kvmini-sbx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "a scratch file");
    if (fd < 0)
        return;
    unlink(path);
    int st = child_run("kill", fd, ACT_PROBE);
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == SANDBOX_EXIT_STATUS,
          "kill: a forbidden syscall ends the process with %d (status %#x)",
          SANDBOX_EXIT_STATUS, st);
    CHECK(strstr(buf, "thread test.q0 (vq-console) made syscall getppid "
                      "(110)") != NULL &&
              strchr(buf, '\n') == buf + strlen(buf) - 1,
          "kill: one line names the thread, its kind and the syscall: %s", buf);
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0,
          "scratch file emptied");
    st = child_run("log", fd, ACT_PROBE);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "log: the syscall proceeds (status %#x)", st);
    st = child_run("off", fd, ACT_PROBE);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "off: no filter (status %#x)",
          st);
    /* An argument check really checks: mmap without PROT_EXEC passes,
     * with it the thread is stopped. */
    st = child_run("kill", fd, ACT_MMAP_RW);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "kill: mmap(PROT_READ) is allowed (status %#x)", st);
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0,
          "scratch file emptied");
    st = child_run("kill", fd, ACT_MMAP_EXEC);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == SANDBOX_EXIT_STATUS &&
              strstr(buf, "made syscall mmap (9)"),
          "kill: mmap(PROT_EXEC) is stopped and named (status %#x): %s", st,
          buf);
    /* Found by the rig: Linux reads the RTC on a vCPU, and glibc's first
     * gmtime_r opened /etc/localtime there. */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0,
          "scratch file emptied");
    st = child_run("kill", fd, ACT_RTC);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "kill: a vCPU reads the RTC under its filter (status %#x) %s", st,
          buf);
    close(fd);
}

int main(void)
{
    test_table_shape();
    test_probe_forbidden();
    test_spawner_covers_workers();
    test_worker_kinds();
    test_compile();
    test_parse();
    test_loaded();
    return tap_done();
}
