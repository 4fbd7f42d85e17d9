/* SPDX-License-Identifier: MIT */
/*
 * fanout.c: one request to many outputs at once (fanout.h).
 */
#include "output/fanout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "format/format.h"
#include "common/clock.h"

struct sl_fanout {
    enum sl_sink_op op;
    int timeout_ms;
    int64_t deadline_ms;
    size_t n;
    struct target {
        char *name; /* owned copy: the sink may close before the answer */
        struct sl_sink_ticket t;
    } *v;
};

int sl_fanout_new(struct sl_fanout **out, struct sl_sink *const *sinks, size_t n,
                  enum sl_sink_op op, int efd, int timeout_ms)
{
    struct sl_fanout *f = sl_calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    f->op = op;
    f->timeout_ms = timeout_ms;
    f->v = sl_calloc(n ? n : 1, sizeof *f->v);
    bool ok = f->v != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        f->v[i].name = sl_strdup(sl_sink_name(sinks[i]));
        f->n = i + 1;
        ok = f->v[i].name != NULL;
    }
    if (!ok) {
        sl_fanout_free(f); /* nothing was sent: no ticket is borrowed */
        return -ENOMEM;
    }
    /* Sent only when nothing can fail any more: all or nothing. */
    for (size_t i = 0; i < n; i++) {
        f->v[i].t.efd = efd;
        sl_sink_request(sinks[i], op, &f->v[i].t);
    }
    f->deadline_ms = sl_now_ms() + timeout_ms;
    *out = f;
    return 0;
}

bool sl_fanout_done(const struct sl_fanout *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (!atomic_load_explicit(&f->v[i].t.done, memory_order_acquire))
            return false;
    }
    return true;
}

int64_t sl_fanout_deadline(const struct sl_fanout *f)
{
    return f->deadline_ms;
}

bool sl_fanout_expired(const struct sl_fanout *f, int64_t now_ms)
{
    return now_ms >= f->deadline_ms;
}

/* Why output i did not answer 0, in a few words. */
static void why(const struct sl_fanout *f, size_t i, char *buf, size_t len)
{
    const char *verb = f->op == SL_SINK_REOPEN ? "reopen" : "flush";
    const struct sl_sink_ticket *t = &f->v[i].t;
    if (!atomic_load_explicit(&t->done, memory_order_acquire))
        snprintf(buf, len, "did not %s within %d %s", verb,
                 f->timeout_ms % 1000 ? f->timeout_ms : f->timeout_ms / 1000,
                 f->timeout_ms % 1000 ? "ms" : "s");
    else if (t->status == -ECANCELED)
        snprintf(buf, len, "closed before it could %s", verb);
    else
        snprintf(buf, len, "%s() failed", verb);
}

int sl_fanout_answer(const struct sl_fanout *f, struct sluice_buf *b)
{
    int failed = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct sl_sink_ticket *t = &f->v[i].t;
        if (atomic_load_explicit(&t->done, memory_order_acquire) && t->status == 0)
            continue;
        char reason[64], line[512];
        why(f, i, reason, sizeof reason);
        int len = snprintf(line, sizeof line, "error: output \"%s\": %s\n", f->v[i].name, reason);
        if (len < 0 || sl_buf_append(b, line, (size_t)len < sizeof line ? (size_t)len
                                                                         : sizeof line - 1) < 0)
            return -ENOMEM;
        failed++;
    }
    if (failed > 0)
        return -EIO;
    return sl_buf_append(b, "ok\n", 3);
}

void sl_fanout_free(struct sl_fanout *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].name);
    free(f->v);
    free(f);
}
