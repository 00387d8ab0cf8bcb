/* SPDX-License-Identifier: MIT */
/*
 * launch: runs one VMM with its stdout on a pipe and reports, on one line,
 * the wall time to its first and last complete output lines and to its
 * exit, its peak RSS and its exit status (a measuring tool for
 * bench/boot.sh).
 *
 * usage: launch [-o OUT] [-e ERR] [-t SECONDS] -- PROGRAM [ARGS...]
 *   -o OUT      copy the program's stdout to OUT (default: discard)
 *   -e ERR      the program's stderr goes to ERR (default: inherited)
 *   -t SECONDS  kill the program (SIGKILL) after this long (default 60)
 * prints: first_line_us=N last_line_us=N exit_us=N maxrss_kb=N status=S
 *   times from just before fork(); a line's time is when the read() that
 *   brought its newline returned; -1 when no newline came; status is the
 *   exit code, 128+N for signal N, "timeout" when killed by -t.
 * exit: 0 when it measured (whatever the program's status), 1 on usage or
 * setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct launch_opts {
    const char *out_path;
    const char *err_path;
    int64_t timeout_us;
    char **argv;
};

struct launch_result {
    int64_t first_line_us;
    int64_t last_line_us;
    int64_t exit_us;
    long maxrss_kb;
    int wstatus;
    bool timed_out;
};

static int64_t launch_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int launch_parse(int argc, char **argv, struct launch_opts *o)
{
    int c;

    o->out_path = NULL;
    o->err_path = NULL;
    o->timeout_us = 60 * 1000000LL;
    while ((c = getopt(argc, argv, "+o:e:t:")) != -1) {
        switch (c) {
        case 'o':
            o->out_path = optarg;
            break;
        case 'e':
            o->err_path = optarg;
            break;
        case 't':
            o->timeout_us = strtoll(optarg, NULL, 10) * 1000000LL;
            if (o->timeout_us <= 0)
                return -EINVAL;
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind >= argc)
        return -EINVAL;
    o->argv = argv + optind;
    return 0;
}

/* In the child: wire stdin/stdout/stderr, then exec; never returns. */
static void launch_child(const struct launch_opts *o, int out_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);

    /* stdin from /dev/null: neither VMM may see a terminal or wait on us */
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0)
        _exit(127);
    if (o->err_path) {
        int err_fd = open(o->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (err_fd < 0 || dup2(err_fd, 2) < 0)
            _exit(127);
    }
    execvp(o->argv[0], o->argv);
    _exit(127);
}

/*
 * Read the child's stdout to EOF, stamping the first newline; copy it to
 * copy_fd when >= 0. Returns 0, or -ETIMEDOUT once the deadline passed.
 */
static int launch_drain(int pipe_fd, int copy_fd, int64_t t0,
                        int64_t deadline, struct launch_result *r)
{
    char buf[4096];

    for (;;) {
        struct pollfd pfd = { .fd = pipe_fd, .events = POLLIN };
        int64_t left = deadline - launch_now_us();
        ssize_t n;

        if (left <= 0)
            return -ETIMEDOUT;
        if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (!pfd.revents)
            continue;
        n = read(pipe_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* EOF: every holder of the write end is gone */
        if (memchr(buf, '\n', n)) {
            r->last_line_us = launch_now_us() - t0;
            if (r->first_line_us < 0)
                r->first_line_us = r->last_line_us;
        }
        if (copy_fd >= 0 && write(copy_fd, buf, n) != n)
            copy_fd = -1; /* a short copy must not skew the timing */
    }
}

static int launch_run(const struct launch_opts *o, struct launch_result *r)
{
    int fds[2], copy_fd = -1, ret;
    struct rusage ru;
    int64_t t0;
    pid_t pid;

    if (o->out_path) {
        copy_fd = open(o->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (copy_fd < 0)
            return -errno;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        ret = -errno;
        goto err_copy;
    }
    r->first_line_us = -1;
    r->last_line_us = -1;
    r->timed_out = false;
    t0 = launch_now_us();
    pid = fork();
    if (pid < 0) {
        ret = -errno;
        goto err_pipe;
    }
    if (pid == 0)
        launch_child(o, fds[1]);
    close(fds[1]);
    fds[1] = -1;
    ret = launch_drain(fds[0], copy_fd, t0, t0 + o->timeout_us, r);
    if (ret == -ETIMEDOUT) {
        kill(pid, SIGKILL);
        r->timed_out = true;
    }
    while (wait4(pid, &r->wstatus, 0, &ru) < 0) {
        if (errno != EINTR) {
            ret = -errno;
            goto err_pipe;
        }
    }
    r->exit_us = launch_now_us() - t0;
    r->maxrss_kb = ru.ru_maxrss;
    ret = ret == -ETIMEDOUT ? 0 : ret;
err_pipe:
    close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
err_copy:
    if (copy_fd >= 0)
        close(copy_fd);
    return ret;
}

int main(int argc, char **argv)
{
    struct launch_opts o;
    struct launch_result r;
    int ret;

    if (launch_parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: launch [-o OUT] [-e ERR] [-t SECONDS] "
                        "-- PROGRAM [ARGS...]\n");
        return 1;
    }
    ret = launch_run(&o, &r);
    if (ret < 0) {
        fprintf(stderr, "launch: %s\n", strerror(-ret));
        return 1;
    }
    printf("first_line_us=%lld last_line_us=%lld exit_us=%lld "
           "maxrss_kb=%ld status=",
           (long long)r.first_line_us, (long long)r.last_line_us,
           (long long)r.exit_us, r.maxrss_kb);
    if (r.timed_out)
        printf("timeout\n");
    else if (WIFSIGNALED(r.wstatus))
        printf("%d\n", 128 + WTERMSIG(r.wstatus));
    else
        printf("%d\n", WEXITSTATUS(r.wstatus));
    return 0;
}
