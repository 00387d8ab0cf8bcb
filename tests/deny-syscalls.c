/* SPDX-License-Identifier: MIT */
/*
 * Runs a command under an outer seccomp filter that makes the named
 * syscalls fail with EPERM, as a container's profile does (Docker's
 * default refuses io_uring_setup that way): integration tests use it to
 * drive kvmini's fallbacks (the synchronous blk engine) under kvmini's
 * own filters. Usage: deny-syscalls NAME[,NAME...] CMD [ARG...]; exit 1
 * with one line when a name is unknown or the filter cannot be loaded.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: deny-syscalls NAME[,NAME...] CMD [ARG...]\n");
        return 1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        fprintf(stderr, "deny-syscalls: seccomp_init failed\n");
        return 1;
    }
    char *names = strdup(argv[1]), *save = NULL;
    for (char *n = strtok_r(names, ",", &save); n;
         n = strtok_r(NULL, ",", &save)) {
        int nr = seccomp_syscall_resolve_name(n);
        if (nr == __NR_SCMP_ERROR ||
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) < 0) {
            fprintf(stderr, "deny-syscalls: cannot deny '%s'\n", n);
            return 1;
        }
    }
    free(names);
    /* libseccomp sets no_new_privs first (its default), so this needs no
     * privilege; kvmini sets it again itself. */
    int r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0) {
        fprintf(stderr, "deny-syscalls: cannot load the filter: %s\n",
                strerror(-r));
        return 1;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "deny-syscalls: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
