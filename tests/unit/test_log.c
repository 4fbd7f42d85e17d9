/* SPDX-License-Identifier: MIT */
/* test_log.c: the daemon's own log (common/log.c): one line per call, with
 * every control byte of the text escaped, so a sender's bytes carried in a
 * line (a Lua error raised from message data) cannot forge lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

/* Runs sl_log with stderr on a pipe; returns what it wrote (static). */
static const char *logged(int errnum, const char *text)
{
    static char out[8192];
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    sl_log(SL_LOG_ERR, errnum, "route error: %s", text);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], out, sizeof out - 1);
    close(p[0]);
    assert_true(n > 0);
    out[n] = '\0';
    return out;
}

/* CR, LF, ESC and DEL from a sender come out as #ooo, on one line. */
static void log_lines_cannot_be_forged(void **state)
{
    (void)state;
    const char *forged = "x\r\n2026-01-01T00:00:00.000Z sluiced[1]: error: fake\x1b[2J\x7f";
    const char *out = logged(0, forged);
    assert_non_null(strstr(out, ": error: route error: x#015#0122026-01-01T00:00:00.000Z "
                                "sluiced[1]: error: fake#033[2J#177\n"));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
    assert_null(strchr(out, '\r'));
    assert_null(strchr(out, '\x1b'));
}

/* A tab and a NUL-free byte above 0x7f are bytes like others: the tab is a
 * control byte and is escaped; UTF-8 passes unchanged. */
static void log_escapes_tab_keeps_utf8(void **state)
{
    (void)state;
    const char *out = logged(0, "a\tb \xc3\xa9");
    assert_non_null(strstr(out, "route error: a#011b \xc3\xa9\n"));
}

/* A text longer than the line is cut, never an escape in half, and the
 * errno text and the newline are kept. */
static void log_long_text_keeps_errno_and_newline(void **state)
{
    (void)state;
    char big[4000];
    memset(big, '\x1b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *out = logged(28, big);
    size_t len = strlen(out);
    assert_true(len < 2048);
    assert_int_equal(out[len - 1], '\n');
    assert_non_null(strstr(out, "#033 (28: "));
    assert_null(strstr(out, "#03 ("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_lines_cannot_be_forged),
        cmocka_unit_test(log_escapes_tab_keeps_utf8),
        cmocka_unit_test(log_long_text_keeps_errno_and_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
