/* SPDX-License-Identifier: MIT */
/* The runtime debug-category switch shared by every module, the one
 * line printer, and the error-buffer helper of parsers and backends. */
#include "hw/log.h"

#include <stdarg.h>
#include <string.h>

unsigned log_cats;

/* Control characters become '?'; bytes >= 0x80 stay (UTF-8 names). */
static void log_plain(char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = '?';
}

void log_line(const char *tag, const char *fmt, ...)
{
    /* Long enough for a message quoting a PATH_MAX path; longer ones are
     * cut, never split over lines. */
    char line[4608];
    size_t n = (size_t)snprintf(line, sizeof(line), "kvmini: %s%s",
                                tag ? tag : "", tag ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    log_plain(line + n, sizeof(line) - n);
    n += strlen(line + n);
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

int errbuf_set(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* The sentence quotes the user's text (a spec, a path): a newline or
     * an escape sequence in it must not make more lines of our stderr. */
    if (errlen)
        log_plain(err, errlen);
    return r;
}
