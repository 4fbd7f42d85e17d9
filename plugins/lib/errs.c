/* SPDX-License-Identifier: MIT */
/*
 * errs.c: several reasons in one err buffer (plugin_lib.h), so check()
 * reports every bad value in one run of sluiced --check, not the first.
 */
#include "lib/plugin_lib.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void spl_err_add(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen == 0)
        return;
    size_t len = strnlen(err, errlen - 1);
    err[len] = '\0';
    if (len > 0) {
        if (len + 2 >= errlen) /* no room for '\n', one byte and the NUL */
            return;
        err[len++] = '\n';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + len, errlen - len, fmt, ap);
    va_end(ap);
}
