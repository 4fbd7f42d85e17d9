/* SPDX-License-Identifier: MIT */
/*
 * sluicectl_counters.h: the daemon's `counters` answer read into a sample,
 * and the rates between two samples, for sluicectl top. No I/O here, so
 * tests/unit/test_sluicectl_counters.c drives it with text of its own.
 *
 * The answer is one line each (counters.c in the daemon):
 *
 *   daemon pid=1234 version=0.1.0 uptime=60 unrouted=0 ...
 *   input NAME KEY=VALUE ...
 *   output NAME KEY=VALUE ...
 *   route LINE KEY=VALUE ...
 *
 * Keys this file does not know are skipped, so a newer daemon's counters
 * do not break an older sluicectl; routes are not shown by top.
 *
 * Thread: not thread-safe (a sample belongs to its caller).
 */
#ifndef SL_SLUICECTL_COUNTERS_H
#define SL_SLUICECTL_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>

enum sl_counters_kind { SL_COUNTERS_INPUT, SL_COUNTERS_OUTPUT };

/* One input or output: its counters since it was made. */
struct sl_counters_obj {
    enum sl_counters_kind kind;
    char name[64];
    /* input */
    unsigned long long received, bytes, errors; /* errors: parse_errors + framing_errors */
    /* output */
    unsigned long long enqueued, written, dropped, failed, depth, capacity;
    bool retrying; /* state=retrying */
};

struct sl_counters {
    long pid;
    char version[32];
    long long uptime; /* seconds */
    unsigned long long unrouted;
    struct sl_counters_obj *v; /* owned: inputs and outputs in the answer's order */
    size_t n, cap;
};

/* Reads text[0..len) (a whole answer, borrowed) into s (zeroed or freed
 * before). 0; -EINVAL for a line it cannot read, which *bad_line (when
 * not NULL) then numbers from 1; -ENOMEM. On failure s holds what came
 * before and still needs sl_counters_free. */
int sl_counters_parse(struct sl_counters *s, const char *text, size_t len, size_t *bad_line);

/* Frees what s owns and zeroes it. Freeing a zeroed s is a no-op. */
void sl_counters_free(struct sl_counters *s);

/* The object of kind and name in s, or NULL. */
const struct sl_counters_obj *sl_counters_find(const struct sl_counters *s,
                                               enum sl_counters_kind kind, const char *name);

/* Per second between prev and cur, seconds apart (> 0). */
struct sl_counters_rate {
    double received, bytes, errors;           /* input */
    double enqueued, written, dropped, failed; /* output */
};

/* The rates of cur (an object of the newer sample) since prev (the same
 * object in the older sample, found by the caller; NULL when it is new).
 * A counter that went backwards belongs to an object a reload rebuilt, or
 * to a daemon that restarted: it is counted from zero. Returns false (and
 * zero rates) when there is nothing to compare with: no prev, or seconds
 * not > 0. */
bool sl_counters_rate(const struct sl_counters_obj *prev, const struct sl_counters_obj *cur,
                      double seconds, struct sl_counters_rate *r);

#endif /* SL_SLUICECTL_COUNTERS_H */
