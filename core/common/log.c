/* SPDX-License-Identifier: MIT */
/* log.c: the daemon's own log, on stderr. */
#include "common/log.h"
#include "common/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process-wide state here: set once at start-up. */
static atomic_int max_level = SL_LOG_INFO;

static const char *level_name(int level)
{
    switch (level) {
    case SL_LOG_ERR: return "error";
    case SL_LOG_WARNING: return "warning";
    case SL_LOG_NOTICE: return "notice";
    case SL_LOG_INFO: return "info";
    default: return "debug";
    }
}

void sl_log_set_level(int level)
{
    atomic_store(&max_level, level);
}

bool sl_log_enabled(int level)
{
    return level <= atomic_load_explicit(&max_level, memory_order_relaxed);
}

/* Copies text into dst (room bytes, room > 0), writing each control byte as
 * '#' and three octal digits, as rsyslog does ("#015" for CR, "#033" for
 * ESC): a line's text often carries what a sender wrote (a Lua error raised
 * from message data, a peer's name), and a CR, newline or terminal escape
 * in it could forge a line of our own. Stops short rather than cut an
 * escape. Returns the bytes written; dst is not terminated. */
static size_t escape_controls(char *dst, size_t room, const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != 0x7f) {
            if (n + 1 >= room)
                break;
            dst[n++] = (char)c;
            continue;
        }
        if (n + 4 >= room)
            break;
        dst[n++] = '#';
        dst[n++] = (char)('0' + (c >> 6));
        dst[n++] = (char)('0' + ((c >> 3) & 7));
        dst[n++] = (char)('0' + (c & 7));
    }
    return n;
}

void sl_vlog(int level, int errnum, const char *fmt, va_list ap)
{
    if (!sl_log_enabled(level))
        return;
    char line[2048];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sluiced[%ld]: %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, now.tv_nsec / 1000000, (long)getpid(), level_name(level));
    /* Leave room for the errno text and the newline, which must never be lost. */
    size_t room = sizeof line - 80;
    if (n > 0 && (size_t)n < room) {
        char text[sizeof line];
        int m = vsnprintf(text, sizeof text, fmt, ap);
        if (m > 0)
            n += (int)escape_controls(line + n, room - (size_t)n, text,
                                      (size_t)m < sizeof text ? (size_t)m : sizeof text - 1);
    }
    if (errnum != 0) {
        char buf[64];
        const char *s = strerror_r(errnum, buf, sizeof buf);
        n += snprintf(line + n, sizeof line - (size_t)n - 1, " (%d: %s)", errnum, s);
    }
    line[n++] = '\n';
    /* One write per line, so lines from different threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void sl_log(int level, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_vlog(level, errnum, fmt, ap);
    va_end(ap);
}

bool sl_ratelimit_ok(struct sl_ratelimit *rl)
{
    int64_t now = sl_now_ms() / 1000;
    int64_t start = atomic_load(&rl->window_start);
    if (now - start >= (int64_t)rl->interval || start == 0) {
        if (atomic_compare_exchange_strong(&rl->window_start, &start, now)) {
            unsigned missed = atomic_exchange(&rl->suppressed, 0);
            atomic_store(&rl->count, 0);
            if (missed > 0)
                sl_log(SL_LOG_WARNING, 0, "%u similar log lines suppressed", missed);
        }
    }
    if (atomic_fetch_add(&rl->count, 1) < rl->burst)
        return true;
    atomic_fetch_add(&rl->suppressed, 1);
    return false;
}
