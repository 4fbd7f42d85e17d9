/* SPDX-License-Identifier: MIT */
/*
 * import_rsyslog.h: an rsyslog.conf turned into a sluice.lua, for
 * `sluiced --import-rsyslog FILE` (sluiced(8)).
 *
 * What converts: the selector lines distributions ship (facility.priority
 * with , ; .none = ! *, as rsyslog reads them) writing to files, & lines,
 * ~ and stop; the property filters msg contains, programname isequal and
 * hostname isequal; imuxsock, imklog, imudp and imtcp in either syntax; the
 * $-directives that set how files are created ($FileOwner, $FileGroup,
 * $FileCreateMode, $ActionFileEnableSync, $ActionFileDefaultTemplate).
 * Every other line that is not blank or a comment gets a comment of its
 * own in the text, "-- not converted: LINE", and an entry in skipped, so
 * nothing is dropped silently.
 *
 * The text produced always compiles as Lua and loads without an error
 * (tests/fuzz/fuzz_import.c checks both): every value taken from the input
 * is quoted, and anything that would not load is not converted instead.
 *
 * Thread: any (no state outside the call).
 */
#ifndef SL_IMPORT_RSYSLOG_H
#define SL_IMPORT_RSYSLOG_H

#include <stddef.h>

struct sl_import_skip {
    unsigned line; /* 1-based, of the input */
    char *text;    /* the line as written, owned */
    char *why;     /* owned: a short reason */
};

struct sl_import {
    char *lua;    /* the sluice.lua, NUL-terminated; owned */
    size_t len;
    struct sl_import_skip *skipped; /* owned; in line order */
    size_t nskipped;
};

/* Converts the len bytes of text (an rsyslog.conf; borrowed, need not end
 * in a NUL) into *out, which the caller then owns and frees with
 * sl_import_free(). source names the input in the text's first comment
 * (borrowed). Returns 0, or -ENOMEM with *out empty. */
int sl_import_rsyslog(const char *text, size_t len, const char *source, struct sl_import *out);

/* Frees what *im owns and empties it; an empty one is a no-op. */
void sl_import_free(struct sl_import *im);

#endif /* SL_IMPORT_RSYSLOG_H */
