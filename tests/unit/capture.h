/* SPDX-License-Identifier: MIT */
/* Unit tests: capture what kvmini's code writes to stderr (fd 2) for a
 * while, to check its log lines (--debug output, rate limits). */
#ifndef KVMINI_TESTS_CAPTURE_H
#define KVMINI_TESTS_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct stderr_capture {
    FILE *tmp;
    int saved; /* the real fd 2 */
};

/* From here on fd 2 goes to a temporary file. Aborts if it cannot. */
static inline void stderr_capture_begin(struct stderr_capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    c->saved = dup(2);
    if (!c->tmp || c->saved < 0 || dup2(fileno(c->tmp), 2) < 0)
        abort();
}

/* fd 2 back; what was written, NUL-terminated (free it), and its number
 * of lines in *lines unless NULL. */
static inline char *stderr_capture_end(struct stderr_capture *c, int *lines)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    /* Written through fd 2, not through tmp's buffer: ask the file. */
    struct stat st;
    long len = fstat(fileno(c->tmp), &st) == 0 ? (long)st.st_size : 0;
    char *buf = malloc(len > 0 ? (size_t)len + 1 : 1);
    if (!buf)
        abort();
    rewind(c->tmp);
    size_t n = len > 0 ? fread(buf, 1, (size_t)len, c->tmp) : 0;
    buf[n] = '\0';
    fclose(c->tmp);
    if (lines) {
        *lines = 0;
        for (size_t i = 0; i < n; i++)
            *lines += buf[i] == '\n';
    }
    return buf;
}

#endif
