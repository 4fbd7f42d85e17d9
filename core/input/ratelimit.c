/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.c: per-sender budgets (ratelimit.h).
 *
 * DESIGN
 *
 * The table. A fixed array of `cap` senders (4096 in the daemon, about
 * 100 bytes each), found by a hash of the key (pid or uid) through
 * chains of 16-bit indices, with twice as many chain heads as entries so
 * chains stay short; and one list of the entries by when each was last
 * seen (LRU). Nothing is allocated after sl_ratelimiter_new(): a fork
 * loop that makes endless pids costs the same 400 KiB as one sender.
 * Keys are pids and uids the kernel hands out, not values a sender
 * chooses, so a fixed multiplicative hash is enough.
 *
 * A new sender takes a free entry, else the least recently seen one if it
 * has been quiet for a whole interval: its window has certainly ended
 * (a window opens with a message, so it began no later than the last
 * one), and its line, if it suppressed anything, is written before the
 * entry is reused. So an entry is never taken from a sender whose window
 * is still running.
 *
 * A full table of live senders. Then every new sender shares one
 * overflow bucket, with one budget per class, until an entry is quiet
 * for an interval. The other choice, evicting a live sender, would be a
 * bypass: a flooder that forks 4096 children which each send one message
 * pushes itself out of the table and comes back with a fresh burst, for
 * the price of 4096 tiny messages, again and again. Sharing evicts
 * nobody: whatever a fork loop does, an interval passes at most
 * (cap + 2) budgets per class (the table, the overflow, the unknown
 * bucket), and the senders already tracked, a flooder among them, keep
 * their own count. What it costs: while a fork loop keeps the table
 * full, new programs share the overflow budget with the loop's children
 * (each class still apart, so their errors are not drowned by its
 * debug lines); per = "uid" is the answer to a fork loop, one entry per
 * user.
 *
 * Lines. A bucket counts what it suppressed in its window; its line is
 * written when the window ends (on the sender's next message, at the
 * sweep, or at eviction). Each input writes at most SL_RATELIMIT_LINES of
 * them per interval ("line window"); the rest are summed and written as
 * one line when that window ends. `pending` counts the buckets with
 * something to report, so the sweep does not scan a table with nothing
 * in it.
 */
#include "input/ratelimit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define NONE UINT16_MAX

/* One window of one sender (or of a shared bucket). */
struct bucket {
    int64_t start_ms;                     /* when the window opened */
    uint64_t suppressed;                  /* in this window, every class */
    uint32_t count[SL_RATELIMIT_CLASSES]; /* passed in this window, per class */
    char name[SL_RATELIMIT_NAME + 1];     /* app_name of its first suppressed message */
};

struct sender {
    struct bucket b;
    int64_t seen_ms; /* its last message: the LRU order */
    uint32_t key;    /* pid or uid */
    uint16_t chain;  /* next in its hash chain, or in the free list */
    uint16_t newer, older;
    bool used;
};

struct sl_ratelimiter {
    int64_t interval_ms;
    uint32_t burst;
    enum sl_ratelimit_per per;
    sl_ratelimiter_report_fn *report;
    void *ctx;
    char input[64];
    char span[32]; /* the interval as lines say it: "30 s", "500 ms" */
    struct sender *v;
    size_t cap, used;
    uint16_t *heads;
    unsigned bits; /* heads: 1 << bits of them */
    uint16_t newest, oldest, free_list;
    uint16_t last; /* the entry of the last message: a flood is one sender's run */
    size_t pending; /* buckets with suppressed > 0 */
    struct bucket unknown;  /* messages without credentials */
    struct bucket overflow; /* new senders while every entry is live */
    /* the line window: lines written in it, and what was not written */
    int64_t lines_start_ms;
    unsigned lines;
    uint64_t more_senders, more_messages;
};

unsigned sl_ratelimit_class(unsigned severity)
{
    static const uint8_t cls[8] = {0, 0, 0, 1, 2, 3, 3, 4};
    return cls[severity & 7];
}

/* {=== lines */
static void emit(struct sl_ratelimiter *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emit(struct sl_ratelimiter *rl, const char *fmt, ...)
{
    char line[320];
    int n = snprintf(line, sizeof line, "input \"%s\": ", rl->input);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    rl->report(rl->ctx, line);
}

/* Ends the line window when an interval has passed since its first line,
 * writing the one line for the senders its cap left out. */
static void end_line_window(struct sl_ratelimiter *rl, int64_t now)
{
    if (rl->lines == 0 || now - rl->lines_start_ms < rl->interval_ms)
        return;
    if (rl->more_senders > 0)
        emit(rl, "... and %" PRIu64 " more sender%s (%" PRIu64 " messages suppressed) in "
             "the last %s", rl->more_senders, rl->more_senders == 1 ? "" : "s",
             rl->more_messages, rl->span);
    rl->lines = 0;
    rl->more_senders = rl->more_messages = 0;
}

/* Writes b's line (who: "pid 42 (app)") if it suppressed anything, or
 * counts it for the "more" line past the cap; b has nothing to report
 * afterwards. */
static void report_line(struct sl_ratelimiter *rl, struct bucket *b, const char *who, int64_t now)
{
    if (b->suppressed == 0)
        return;
    end_line_window(rl, now);
    if (rl->lines == 0)
        rl->lines_start_ms = now;
    if (rl->lines < SL_RATELIMIT_LINES) {
        rl->lines++;
        emit(rl, "suppressed %" PRIu64 " message%s from %s in the last %s", b->suppressed,
             b->suppressed == 1 ? "" : "s", who, rl->span);
    } else {
        rl->more_senders++;
        rl->more_messages += b->suppressed;
    }
    b->suppressed = 0;
    rl->pending--;
}

static void report_sender(struct sl_ratelimiter *rl, struct sender *s, int64_t now)
{
    char who[64 + SL_RATELIMIT_NAME];
    if (s->b.suppressed == 0)
        return;
    if (rl->per == SL_RATELIMIT_PER_UID)
        snprintf(who, sizeof who, "uid %" PRIu32, s->key);
    else if (s->b.name[0] != '\0')
        snprintf(who, sizeof who, "pid %" PRIu32 " (%s)", s->key, s->b.name);
    else
        snprintf(who, sizeof who, "pid %" PRIu32, s->key);
    report_line(rl, &s->b, who, now);
}

static void report_shared(struct sl_ratelimiter *rl, struct bucket *b, int64_t now)
{
    char who[96];
    if (b == &rl->unknown)
        snprintf(who, sizeof who, "senders without credentials");
    else
        snprintf(who, sizeof who, "new senders while all %zu tracked senders were live",
                 rl->cap);
    report_line(rl, b, who, now);
}

/* The sender's name for its line: app_name in printable ASCII, without
 * the quotes and parentheses that frame it, cut at SL_RATELIMIT_NAME. */
static void take_name(char *dst, struct sl_str app)
{
    size_t n = app.p == NULL ? 0 : app.len < SL_RATELIMIT_NAME ? app.len : SL_RATELIMIT_NAME;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)app.p[i];
        dst[i] = c > 0x20 && c < 0x7f && strchr("\"()\\", c) == NULL ? (char)c : '?';
    }
    dst[n] = '\0';
}
/* }=== */

/* {=== the table */
static unsigned hash(const struct sl_ratelimiter *rl, uint32_t key)
{
    return (unsigned)((key * 2654435761u) >> (32 - rl->bits));
}

static void lru_unlink(struct sl_ratelimiter *rl, uint16_t i)
{
    struct sender *s = &rl->v[i];
    if (s->newer != NONE)
        rl->v[s->newer].older = s->older;
    else
        rl->newest = s->older;
    if (s->older != NONE)
        rl->v[s->older].newer = s->newer;
    else
        rl->oldest = s->newer;
}

static void lru_push(struct sl_ratelimiter *rl, uint16_t i)
{
    struct sender *s = &rl->v[i];
    s->newer = NONE;
    s->older = rl->newest;
    if (rl->newest != NONE)
        rl->v[rl->newest].newer = i;
    rl->newest = i;
    if (rl->oldest == NONE)
        rl->oldest = i;
}

static void chain_unlink(struct sl_ratelimiter *rl, uint16_t i)
{
    uint16_t *at = &rl->heads[hash(rl, rl->v[i].key)];
    while (*at != i)
        at = &rl->v[*at].chain;
    *at = rl->v[i].chain;
}

static uint16_t find(const struct sl_ratelimiter *rl, uint32_t key)
{
    uint16_t i = rl->heads[hash(rl, key)];
    while (i != NONE && rl->v[i].key != key)
        i = rl->v[i].chain;
    return i;
}

/* An entry for a new sender: a free one, else the least recently seen if
 * it was quiet for an interval (see the top); NONE when every one is live. */
static uint16_t take_entry(struct sl_ratelimiter *rl, int64_t now)
{
    uint16_t i = rl->free_list;
    if (i != NONE) {
        rl->free_list = rl->v[i].chain;
        rl->used++;
        return i;
    }
    i = rl->oldest;
    if (i == NONE || now - rl->v[i].seen_ms < rl->interval_ms)
        return NONE;
    report_sender(rl, &rl->v[i], now);
    chain_unlink(rl, i);
    lru_unlink(rl, i);
    return i;
}

/* The bucket of key at now (a new entry, the overflow when none is free). */
static struct bucket *sender_bucket(struct sl_ratelimiter *rl, uint32_t key, int64_t now)
{
    uint16_t i = rl->last;
    if (i == NONE || rl->v[i].key != key)
        i = find(rl, key);
    if (i == NONE) {
        i = take_entry(rl, now);
        if (i == NONE)
            return &rl->overflow;
        struct sender *s = &rl->v[i];
        *s = (struct sender){.b.start_ms = now, .key = key, .used = true};
        unsigned h = hash(rl, key);
        s->chain = rl->heads[h];
        rl->heads[h] = i;
        lru_push(rl, i);
    } else if (rl->newest != i) {
        lru_unlink(rl, i);
        lru_push(rl, i);
    }
    rl->last = i;
    rl->v[i].seen_ms = now;
    return &rl->v[i].b;
}
/* }=== */

bool sl_ratelimiter_admit(struct sl_ratelimiter *rl, const struct sl_msg *m, int64_t now_ms)
{
    struct bucket *b = &rl->unknown;
    struct sender *s = NULL;
    if (m->flags & SL_MSG_HAS_CRED) {
        uint32_t key = rl->per == SL_RATELIMIT_PER_UID ? (uint32_t)m->uid : (uint32_t)m->pid;
        b = sender_bucket(rl, key, now_ms);
        if (b != &rl->overflow)
            s = &rl->v[rl->last];
    }
    if (now_ms - b->start_ms >= rl->interval_ms) { /* its window ended: the next one */
        if (s != NULL)
            report_sender(rl, s, now_ms);
        else
            report_shared(rl, b, now_ms);
        memset(b->count, 0, sizeof b->count);
        b->start_ms = now_ms;
    }
    unsigned cls = sl_ratelimit_class(m->severity);
    if (b->count[cls] < rl->burst) {
        b->count[cls]++;
        return true;
    }
    if (b->suppressed++ == 0) {
        rl->pending++;
        take_name(b->name, m->app_name);
    }
    return false;
}

void sl_ratelimiter_sweep(struct sl_ratelimiter *rl, int64_t now_ms)
{
    end_line_window(rl, now_ms);
    if (rl->pending == 0)
        return;
    for (size_t i = 0; i < rl->cap && rl->pending > 0; i++) {
        struct sender *s = &rl->v[i];
        if (s->used && s->b.suppressed > 0 && now_ms - s->b.start_ms >= rl->interval_ms)
            report_sender(rl, s, now_ms);
    }
    struct bucket *shared[] = {&rl->unknown, &rl->overflow};
    for (size_t i = 0; i < 2; i++) {
        if (now_ms - shared[i]->start_ms >= rl->interval_ms)
            report_shared(rl, shared[i], now_ms);
    }
}

size_t sl_ratelimiter_used(const struct sl_ratelimiter *rl)
{
    return rl->used;
}

static void span_text(char *buf, size_t len, int64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%" PRId64 " s", ms / 1000);
    else
        snprintf(buf, len, "%" PRId64 " ms", ms);
}

int sl_ratelimiter_new(struct sl_ratelimiter **out, const struct sl_ratelimit_conf *c,
                       const char *input, size_t senders, sl_ratelimiter_report_fn *report,
                       void *ctx)
{
    if (senders == 0 || senders >= NONE || c->interval_ms <= 0 || c->burst == 0)
        return -EINVAL;
    struct sl_ratelimiter *rl = sl_calloc(1, sizeof *rl);
    if (rl == NULL)
        return -ENOMEM;
    rl->bits = 1;
    while ((1u << rl->bits) < 2 * senders)
        rl->bits++;
    rl->v = sl_calloc(senders, sizeof *rl->v);
    rl->heads = sl_malloc(((size_t)1 << rl->bits) * sizeof *rl->heads);
    if (rl->v == NULL || rl->heads == NULL) {
        sl_ratelimiter_free(rl);
        return -ENOMEM;
    }
    memset(rl->heads, 0xff, ((size_t)1 << rl->bits) * sizeof *rl->heads); /* NONE */
    for (size_t i = 0; i < senders; i++) /* free in index order: the sweep's order */
        rl->v[i].chain = i + 1 < senders ? (uint16_t)(i + 1) : NONE;
    rl->cap = senders;
    rl->free_list = 0;
    rl->newest = rl->oldest = rl->last = NONE;
    rl->interval_ms = c->interval_ms;
    rl->burst = c->burst;
    rl->per = c->per;
    rl->report = report;
    rl->ctx = ctx;
    snprintf(rl->input, sizeof rl->input, "%s", input);
    span_text(rl->span, sizeof rl->span, c->interval_ms);
    /* The shared buckets' first windows open at the first sweep or message
     * after 0; INT64_MIN / 2 makes the first message open a new one. */
    rl->unknown.start_ms = rl->overflow.start_ms = INT64_MIN / 2;
    *out = rl;
    return 0;
}

void sl_ratelimiter_free(struct sl_ratelimiter *rl)
{
    if (rl == NULL)
        return;
    free(rl->v);
    free(rl->heads);
    free(rl);
}
