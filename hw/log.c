/* SPDX-License-Identifier: MIT */
/* The runtime debug-category switch shared by every module, and the
 * error-buffer helper of parsers and backends. */
#include "hw/log.h"

#include <stdarg.h>

unsigned log_cats;

int errbuf_set(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* The sentence quotes the user's text (a spec, a path): a newline or
     * an escape sequence in it must not make more lines of our stderr or
     * drive the terminal. Bytes >= 0x80 stay (UTF-8 names). */
    for (size_t i = 0; i < errlen && err[i]; i++)
        if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
            err[i] = '?';
    return r;
}
