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
    return r;
}
