/* SPDX-License-Identifier: MIT */
/*
 * counters.c: the `counters` control command, the stats counters as lines
 * a small client (sluicectl top) reads with strtok, without a JSON parser:
 *
 *   daemon pid=1234 version=0.1.0 uptime=60 unrouted=0 discarded=0 ...
 *   input tcp type=tcp received=10 bytes=520 parse_errors=0 ...
 *   output out type=file enqueued=10 written=10 dropped=0 ... queue_depth=0
 *          queue_capacity=10000 ... disk.bytes=0 ... plugin.files=1
 *   route 12 errors=0 discarded=0
 *
 * (one line each output). The values are those of the stats object, read
 * back by sl_stats_walk as GET /metrics reads it, so the three agree and a
 * counter added to stats is here without code of its own. Numbers are
 * written as they are (true and false as 1 and 0); of the strings only
 * the daemon's own words are kept (type, policy, state), since an address
 * or an error text is no counter. Names are [A-Za-z0-9_.-] (lua_config.c
 * refuses others); a byte that would still break a line (a blank, '=',
 * '\\', a control) is written \xHH all the same, so no line can be split
 * or forged whatever a value holds.
 *
 * Thread: any (what sl_daemon_counters in stats.c hands it).
 */
#include "daemon/counters.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stats_walk.h"
#include "format/format.h"

struct lines {
    struct sluice_buf *b;
    bool daemon_open; /* the daemon's line is not ended yet */
    int rc;
};

static void put(struct lines *l, const char *s, size_t len)
{
    if (l->rc == 0)
        l->rc = sl_buf_append(l->b, s, len);
}

/* s with the bytes that would split a line or a pair as \xHH. */
static void put_word(struct lines *l, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p <= ' ' || *p == '=' || *p == '\\' || *p == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            put(l, esc, 4);
        } else {
            put(l, (const char *)p, 1);
        }
    }
}

static void pair(struct lines *l, const struct sl_stats_at *at, const char *value)
{
    put(l, " ", 1);
    if (at->sub[0] != '\0') {
        put_word(l, at->sub);
        put(l, ".", 1);
    }
    put_word(l, at->key);
    put(l, "=", 1);
    put_word(l, value);
}

static void number(void *ctx, const struct sl_stats_at *at, const char *value)
{
    pair(ctx, at, value);
}

static void string(void *ctx, const struct sl_stats_at *at, const char *value)
{
    static const char *const words[] = {"version", "type", "policy", "state"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(at->key, words[i]) == 0 && at->sub[0] == '\0')
            pair(ctx, at, value);
    }
}

static void begin(void *ctx, const struct sl_stats_at *at)
{
    struct lines *l = ctx;
    if (l->daemon_open)
        put(l, "\n", 1);
    l->daemon_open = false;
    const char *kind = strcmp(at->section, "inputs") == 0    ? "input"
                       : strcmp(at->section, "outputs") == 0 ? "output"
                                                             : "route";
    put(l, kind, strlen(kind));
    put(l, " ", 1);
    put_word(l, at->object[0] != '\0' ? at->object : "-");
}

static void end(void *ctx, const struct sl_stats_at *at)
{
    (void)at;
    put(ctx, "\n", 1);
}

int sl_counters_from_stats(const char *json, size_t len, long pid, struct sluice_buf *b)
{
    static const struct sl_stats_visitor visitor = {number, string, begin, end};
    char head[64];
    int n = snprintf(head, sizeof head, "daemon pid=%ld", pid);
    struct lines l = {.b = b, .daemon_open = true};
    put(&l, head, (size_t)n);
    int rc = sl_stats_walk(json, len, &visitor, &l);
    if (rc == 0 && l.daemon_open)
        put(&l, "\n", 1);
    return rc < 0 ? rc : l.rc;
}
