/* SPDX-License-Identifier: MIT */
/*
 * input.c: what every kind of input shares: the thread and its epoll loop,
 * turning frames into messages, routing a batch, parking what a blocked
 * queue refuses, and switching to a new plan on reload (input.h).
 */
#include "input/input_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "common/alloc.h"

/* Counters have one writer, the input thread: a relaxed load and store
 * (plain moves) is enough, and cheaper than an atomic add per message. */
static inline void bump(atomic_uint_fast64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

void sl_input_tick_clock(struct sl_input *in)
{
    sl_msgpool_tick(&in->pool);
    if (in->pool.now.sec != in->pctx.now)
        sl_parse_ctx_now(&in->pctx);
}

/* What every message an input makes counts. */
static inline void count(struct sl_input *in, struct sl_msg *m, size_t len, unsigned flags)
{
    bump(&in->stats.received, 1);
    bump(&in->stats.bytes, len);
    if (flags & SL_FRAME_TRUNCATED) {
        m->flags |= SL_MSG_TRUNCATED;
        bump(&in->stats.truncated, 1);
    }
}

struct sl_msg *sl_input_message(struct sl_input *in, const char *raw, size_t len,
                                const char *peer, size_t peer_len, unsigned flags)
{
    struct sl_msg *m = sl_msg_new(&in->pool, raw, len, peer, peer_len);
    if (m == NULL)
        return NULL;
    count(in, m, len, flags);
    const struct sl_parse_ctx *ctx = &in->pctx;
    struct sl_parse_ctx net;
    if (m->peer.p != NULL) {
        /* RFC 3164 from the network without a hostname: the sender's address,
         * as rsyslog and syslog-ng fill it in. */
        net = in->pctx;
        net.hostname = m->peer;
        ctx = &net;
    }
    /* Every kind of today parses syslog: call sl_parse directly then, so the
     * hottest path takes no indirect call per message. */
    int (*parse)(struct sl_msg *, const struct sl_parse_ctx *) = in->conf->kind->parse;
    if ((parse == sl_parse ? sl_parse(m, ctx) : parse(m, ctx)) < 0)
        bump(&in->stats.parse_errors, 1);
    return m;
}

struct sl_msg *sl_input_message_fields(struct sl_input *in, sl_msg_fields_parser *parse,
                                       void *arg, const char *raw, size_t len, const char *peer,
                                       size_t peer_len, unsigned flags, int *rc)
{
    int dummy;
    if (rc == NULL)
        rc = &dummy;
    struct sl_msg_builder b;
    if (sl_msg_build_begin(&b, &in->pool, raw, len, peer, peer_len) < 0) {
        *rc = -ENOMEM;
        return NULL;
    }
    *rc = parse(&b, &in->pctx, arg);
    if (*rc == -EBADMSG) {
        /* Counted as received (what the sender sent) and malformed (why
         * it went nowhere), so received = delivered + malformed + ... */
        sl_msg_build_abort(&b);
        bump(&in->stats.received, 1);
        bump(&in->stats.bytes, len);
        bump(&in->stats.malformed, 1);
        return NULL;
    }
    struct sl_msg *m = sl_msg_build_end(&b);
    count(in, m, len, flags);
    if (*rc < 0) {
        m->flags |= SL_MSG_PARSE_ERROR;
        bump(&in->stats.parse_errors, 1);
    }
    return m;
}

/* {=== ratelimit (ratelimit.h) */
size_t sl_input_ratelimit(struct sl_input *in, struct sl_msg **msgs, size_t n)
{
    if (in->ratelimit == NULL || n == 0)
        return n;
    int64_t now = sl_now_ms();
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        if (sl_ratelimiter_admit(in->ratelimit, msgs[i], now))
            msgs[keep++] = msgs[i];
        else
            sl_msg_unref(msgs[i]);
    }
    if (keep < n)
        bump(&in->stats.suppressed, n - keep);
    return keep;
}

/* The limiter's summary lines, into the daemon's log (never a queue). */
static void log_suppressed(void *ctx, const char *line)
{
    (void)ctx;
    sl_log(SL_LOG_WARNING, 0, "%s", line);
}

/* Main thread, from open: the limiter the conf asks for, or none. */
static int open_ratelimit(struct sl_input *in, char *err, size_t errlen)
{
    const struct sl_input_conf *c = in->conf;
    if (c->ratelimit.interval_ms <= 0)
        return 0;
    int rc = sl_ratelimiter_new(&in->ratelimit, &c->ratelimit, c->name, SL_RATELIMIT_SENDERS,
                                log_suppressed, NULL);
    if (rc < 0)
        snprintf(err, errlen, "input \"%s\": out of memory", c->name);
    return rc;
}
/* }=== */

/* {=== parking */
static int park(struct sl_input *in, struct sl_parked *p, struct sl_msg *m,
                struct sl_sink *sink)
{
    if (p->n == 0)
        p->gen = in->plan_gen; /* entries of the current plan only */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct sl_parked_entry *v = sl_realloc(p->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (struct sl_parked_entry){m, sink};
    return 0;
}

/* Offers buf[0..len) to sink s, which applies its policy; parks what a
 * blocked sink hands back. True when nothing was parked. */
static bool offer(struct sl_input *in, size_t s, struct sl_msg **buf, size_t len,
                  struct sl_parked *parked)
{
    struct sl_sink *sink = in->routing->sinks[s];
    size_t taken = sl_sink_offer(sink, buf, len, in->wakefd);
    for (size_t i = taken; i < len; i++) {
        if (park(in, parked, buf[i], sink) < 0)
            sl_sink_abandon(sink, &buf[i], 1);
    }
    return taken == len;
}

/* Adds a batch of `read` bytes to d's window (its kept part is already
 * counted) and says whether the output takes so little of what is read
 * that its messages would pin mostly dead chunks: a queued message keeps
 * its whole 128 KiB chunk alive, so 10,000 small messages picked out of a
 * stream nobody else routes held a chunk each, whatever queue.bytes said. */
static bool sparse(struct sl_density *d, uint64_t read)
{
    d->total += read;
    if (d->total > SL_DENSITY_WINDOW) {
        d->total /= 2;
        d->kept /= 2;
    }
    return d->kept * SL_DENSITY_PART < d->total;
}

/* Replaces each of msgs[0..n) by a message alone in its memory (a copy
 * when it shares a chunk): the price, a malloc and a memcpy per message,
 * is paid only by an output that takes under a quarter of the bytes read. */
static void unpin(struct sl_msg **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        msgs[i] = sl_msg_unpin(msgs[i]);
}

bool sl_input_dispatch(struct sl_input *in, struct sl_msg **msgs, size_t n,
                       struct sl_parked *parked)
{
    const struct sl_routing *r = in->routing;
    struct sl_route_out outs[SL_MAX_OUTPUTS];
    uint64_t read = 0;
    for (size_t i = 0; i < n; i++) {
        struct sl_msg *m = msgs[i];
        uint64_t cost = sizeof *m + m->raw.len;
        read += cost;
        size_t k = sl_router_route(&r->router, in->scratch, m, outs);
        if (k == 0) {
            if (!sl_route_scratch_dropped(in->scratch)) /* a drop counted as discarded */
                atomic_fetch_add_explicit(r->unrouted, 1, memory_order_relaxed);
            sl_msg_unref(m);
            continue;
        }
        /* Rewrites come with their own reference. Of the entries that send
         * m as received, the last takes the caller's reference and the
         * others share it; with none, the rewrites hold m through theirs. */
        size_t originals = 0;
        for (size_t j = 0; j < k; j++)
            originals += outs[j].m == NULL;
        if (originals == 0)
            sl_msg_unref(m);
        for (size_t j = 0; j < k; j++) {
            size_t s = outs[j].output;
            struct sl_msg *x = outs[j].m;
            if (x == NULL)
                x = --originals > 0 ? sl_msg_ref(m) : m;
            in->outbuf[s * SL_DISPATCH_MAX + in->outlen[s]++] = x;
            in->density[s].kept += cost;
        }
    }
    bool all = true;
    for (size_t s = 0; s < r->nsinks; s++) {
        size_t len = in->outlen[s];
        if (sparse(&in->density[s], read) && len > 0)
            unpin(&in->outbuf[s * SL_DISPATCH_MAX], len);
        if (len == 0)
            continue;
        all &= offer(in, s, &in->outbuf[s * SL_DISPATCH_MAX], len, parked);
        in->outlen[s] = 0;
    }
    return all;
}

static bool routes_to(const struct sl_routing *r, const struct sl_sink *sink)
{
    for (size_t s = 0; s < r->nsinks; s++) {
        if (r->sinks[s] == sink)
            return true;
    }
    return false;
}

/* Once per plan and list: what was parked for an output the plan no longer
 * has is given up, counted as abandoned there. The removed sink is still
 * open: the main thread closes it only after every kept input switched. */
static void forget_removed(struct sl_input *in, struct sl_parked *parked)
{
    size_t keep = 0;
    for (size_t i = 0; i < parked->n; i++) {
        if (routes_to(in->routing, parked->v[i].sink))
            parked->v[keep++] = parked->v[i];
        else
            sl_sink_abandon(parked->v[i].sink, &parked->v[i].m, 1);
    }
    parked->n = keep;
    parked->gen = in->plan_gen;
}

bool sl_input_retry(struct sl_input *in, struct sl_parked *parked)
{
    if (parked->n > 0 && parked->gen != in->plan_gen)
        forget_removed(in, parked);
    if (parked->n == 0)
        return true;
    const struct sl_routing *r = in->routing;
    /* Per output, in order: gather its parked messages, push, and keep the
     * ones it still refuses in their original order. */
    size_t keep = 0;
    bool waiting[SL_MAX_OUTPUTS] = {false};
    for (size_t s = 0; s < r->nsinks; s++) {
        struct sl_msg **buf = &in->outbuf[s * SL_DISPATCH_MAX];
        size_t len = 0;
        for (size_t i = 0; i < parked->n && len < SL_DISPATCH_MAX; i++) {
            if (parked->v[i].sink == r->sinks[s])
                buf[len++] = parked->v[i].m;
        }
        if (len == 0)
            continue;
        size_t taken = sl_sink_offer(r->sinks[s], buf, len, -1); /* asks below */
        /* Mark the taken ones. */
        for (size_t i = 0, t = 0; i < parked->n && t < taken; i++) {
            if (parked->v[i].sink == r->sinks[s]) {
                parked->v[i].m = NULL;
                t++;
            }
        }
        /* Also when the gathering stopped at the batch size: what is left
         * for s needs another round, so ask to be woken (at once, if the
         * queue has room). */
        if (taken < len || len == SL_DISPATCH_MAX)
            waiting[s] = true;
    }
    for (size_t i = 0; i < parked->n; i++) {
        if (parked->v[i].m != NULL)
            parked->v[keep++] = parked->v[i];
    }
    parked->n = keep;
    for (size_t s = 0; s < r->nsinks; s++) {
        if (waiting[s])
            sl_sink_notify_room(r->sinks[s], in->wakefd);
    }
    return keep == 0;
}

void sl_parked_drop(struct sl_input *in, struct sl_parked *parked)
{
    for (size_t i = 0; i < parked->n; i++)
        sl_sink_abandon(parked->v[i].sink, &parked->v[i].m, 1);
    free(parked->v);
    *parked = (struct sl_parked){0};
}
/* }=== */

int sl_input_watch(struct sl_input *in, int fd, void *tag, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    if (epoll_ctl(in->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
        return -errno;
    return 0;
}

bool sl_input_may_wait(struct sl_input *in)
{
    return sl_now_ms() < in->stop_deadline_ms;
}

void sl_input_wait_room(struct sl_input *in)
{
    struct pollfd p = {.fd = in->wakefd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0) {
        uint64_t v;
        ssize_t r = read(in->wakefd, &v, sizeof v);
        (void)r;
    }
}

/* {=== plans */

/* The one place a route scratch is made, for the thread that will use the
 * plan; it holds that thread's Lua state when routes have functions. */
static int new_scratch(const struct sl_routing *r, const char *name,
                       struct sl_route_scratch **out, char *err, size_t errlen)
{
    char why[768];
    int rc = sl_router_scratch_new(&r->router, out, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "input \"%s\": %s", name, why);
    return rc;
}

/* Frees what a plan owns, not the plan itself. */
static void plan_release(struct sl_input_plan *p)
{
    sl_input_conf_free(p->conf);
    sl_router_scratch_free(p->scratch);
    free(p->outbuf);
    free(p->outlen);
    free(p->density);
}

void sl_input_plan_free(struct sl_input_plan *p)
{
    if (p == NULL)
        return;
    plan_release(p);
    free(p);
}

int sl_input_plan_new(struct sl_input_plan **out, const struct sl_input_conf *conf,
                      const struct sl_routing *routing, char *err, size_t errlen)
{
    struct sl_input_plan *p = sl_calloc(1, sizeof *p);
    size_t nsinks = routing->nsinks ? routing->nsinks : 1;
    if (p != NULL) {
        p->routing = routing;
        p->outbuf = sl_calloc(nsinks * SL_DISPATCH_MAX, sizeof *p->outbuf);
        p->outlen = sl_calloc(nsinks, sizeof *p->outlen);
        p->density = sl_calloc(nsinks, sizeof *p->density);
    }
    if (p == NULL || p->outbuf == NULL || p->outlen == NULL || p->density == NULL
        || sl_input_conf_dup(conf, &p->conf) < 0) {
        snprintf(err, errlen, "input \"%s\": out of memory", conf->name);
        sl_input_plan_free(p);
        return -ENOMEM;
    }
    int rc = new_scratch(routing, conf->name, &p->scratch, err, errlen);
    if (rc < 0) {
        sl_input_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Exchanges the input's current plan with p's contents. Parked entries
 * point at sinks, so they stay valid; see switch_plan for removed ones. */
static void plan_swap(struct sl_input *in, struct sl_input_plan *p)
{
    struct sl_input_plan cur = {
        .conf = (struct sl_input_conf *)in->conf, /* the input's own copy */
        .routing = in->routing,
        .scratch = in->scratch,
        .outbuf = in->outbuf,
        .outlen = in->outlen,
        .density = in->density,
    };
    in->conf = p->conf;
    in->routing = p->routing;
    in->scratch = p->scratch;
    in->outbuf = p->outbuf;
    in->outlen = p->outlen;
    in->density = p->density;
    *p = cur;
}

/* The input thread's side of a switch (input.h), between batches: hold
 * until main says go or cancel, and swap. Nothing is awaited here, so a
 * stuck output cannot hold a reload back. */
static void switch_plan(struct sl_input *in)
{
    atomic_store(&in->plan_pending, false);
    pthread_mutex_lock(&in->plan_mu);
    if (in->plan_state == SL_PLAN_OFFERED) {
        in->plan_state = SL_PLAN_READY;
        pthread_cond_broadcast(&in->plan_cv);
        while (in->plan_state == SL_PLAN_READY)
            pthread_cond_wait(&in->plan_cv, &in->plan_mu);
    }
    bool go = in->plan_state == SL_PLAN_GO;
    if (go) {
        plan_swap(in, in->plan_next);
        in->plan_gen++;
        /* Main waits for DONE before it closes the outputs the new plan
         * dropped: give up what is parked for them now, while they are
         * open, and push the rest (forget_removed, via sl_input_retry). */
        pthread_mutex_unlock(&in->plan_mu);
        in->ops->unpark(in);
        pthread_mutex_lock(&in->plan_mu);
        in->plan_state = SL_PLAN_DONE;
    } else if (in->plan_state == SL_PLAN_CANCEL) {
        in->plan_state = SL_PLAN_NONE;
    }
    pthread_cond_broadcast(&in->plan_cv);
    pthread_mutex_unlock(&in->plan_mu);
    if (go)
        in->ops->resume(in); /* sources whose parked messages all went in read again */
}

void sl_input_switch_offer(struct sl_input *in, struct sl_input_plan *plan)
{
    pthread_mutex_lock(&in->plan_mu);
    in->plan_next = plan;
    in->plan_state = SL_PLAN_OFFERED;
    pthread_mutex_unlock(&in->plan_mu);
    atomic_store(&in->plan_pending, true);
    uint64_t one = 1;
    ssize_t w = write(in->wakefd, &one, sizeof one);
    (void)w;
}

int sl_input_switch_wait_ready(struct sl_input *in, int64_t deadline_ms)
{
    if (!in->started)
        return 0; /* no thread: nothing parked, nobody to hold */
    int rc = 0;
    pthread_mutex_lock(&in->plan_mu);
    while (in->plan_state == SL_PLAN_OFFERED && !in->exited) { /* one batch, at most */
        int64_t left = deadline_ms - sl_now_ms();
        if (left <= 0)
            break;
        struct timespec ts = sl_clock_after_ms(left);
        pthread_cond_timedwait(&in->plan_cv, &in->plan_mu, &ts);
    }
    if (in->plan_state != SL_PLAN_READY)
        rc = in->exited ? -ESRCH : -ETIMEDOUT;
    pthread_mutex_unlock(&in->plan_mu);
    return rc;
}

struct sl_input_plan *sl_input_switch_commit(struct sl_input *in)
{
    pthread_mutex_lock(&in->plan_mu);
    if (!in->started) {
        plan_swap(in, in->plan_next);
    } else {
        in->plan_state = SL_PLAN_GO;
        pthread_cond_broadcast(&in->plan_cv);
        /* The thread holds in READY and answers at once. */
        while (in->plan_state != SL_PLAN_DONE)
            pthread_cond_wait(&in->plan_cv, &in->plan_mu);
    }
    struct sl_input_plan *old = in->plan_next;
    in->plan_next = NULL;
    in->plan_state = SL_PLAN_NONE;
    pthread_mutex_unlock(&in->plan_mu);
    return old;
}

struct sl_input_plan *sl_input_switch_cancel(struct sl_input *in)
{
    pthread_mutex_lock(&in->plan_mu);
    if (in->started && (in->plan_state == SL_PLAN_OFFERED || in->plan_state == SL_PLAN_READY)) {
        in->plan_state = SL_PLAN_CANCEL;
        pthread_cond_broadcast(&in->plan_cv);
        /* A thread that has not seen the offer yet ends its batch first. */
        while (in->plan_state == SL_PLAN_CANCEL && !in->exited)
            pthread_cond_wait(&in->plan_cv, &in->plan_mu);
    }
    struct sl_input_plan *p = in->plan_next;
    in->plan_next = NULL;
    in->plan_state = SL_PLAN_NONE;
    pthread_mutex_unlock(&in->plan_mu);
    return p;
}
/* }=== */

/* {=== the thread */
static void *input_main(void *arg)
{
    struct sl_input *in = arg;
    struct epoll_event evs[64];
    int64_t next_tick = sl_now_ms() + 1000;
    sl_thread_name("in", in->conf->name);
    while (!atomic_load(&in->stop)) {
        int n = epoll_wait(in->epfd, evs, 64, 1000);
        if (n < 0 && errno != EINTR) {
            sl_log(SL_LOG_ERR, errno, "input \"%s\": epoll_wait() failed", in->conf->name);
            break;
        }
        sl_input_tick_clock(in);
        /* A quiet second: offer what is parked again even unasked. An
         * output past its block_timeout drops what it refuses, and a
         * worker held in a plugin call cannot wake us to find that out. */
        if (n == 0)
            in->ops->resume(in);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == in) {
                uint64_t v;
                ssize_t r = read(in->wakefd, &v, sizeof v);
                (void)r;
                in->ops->resume(in);
            } else {
                in->ops->event(in, evs[i].data.ptr, evs[i].events);
            }
        }
        /* Between batches: the one place a new plan is taken (input.h). */
        if (atomic_load(&in->plan_pending))
            switch_plan(in);
        if (sl_now_ms() >= next_tick) {
            next_tick = sl_now_ms() + 1000;
            if (in->ops->tick != NULL)
                in->ops->tick(in);
            /* A sender that stopped still gets its line when its window ends. */
            if (in->ratelimit != NULL)
                sl_ratelimiter_sweep(in->ratelimit, sl_now_ms());
        }
    }
    in->ops->drain(in);
    pthread_mutex_lock(&in->plan_mu);
    in->exited = true;
    pthread_cond_broadcast(&in->plan_cv);
    pthread_mutex_unlock(&in->plan_mu);
    return NULL;
}

static void input_free(struct sl_input *in)
{
    if (in->epfd >= 0)
        close(in->epfd);
    if (in->wakefd >= 0)
        close(in->wakefd);
    sl_msgpool_release(&in->pool);
    sl_ratelimiter_free(in->ratelimit);
    /* The current plan's parts, and a plan still offered (none normally). */
    struct sl_input_plan cur = {0};
    plan_swap(in, &cur);
    sl_input_plan_free(in->plan_next);
    plan_release(&cur);
    pthread_cond_destroy(&in->plan_cv);
    pthread_mutex_destroy(&in->plan_mu);
    free(in);
}

int sl_input_open(struct sl_input **out, const struct sl_input_conf *conf,
                  const struct sl_routing *routing, char *err, size_t errlen)
{
    struct sl_input_plan *plan;
    int rc = sl_input_plan_new(&plan, conf, routing, err, errlen);
    if (rc < 0)
        return rc;
    struct sl_input *in = sl_calloc(1, sizeof *in);
    if (in == NULL) {
        snprintf(err, errlen, "input \"%s\": out of memory", conf->name);
        sl_input_plan_free(plan);
        return -ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* for switch_wait_ready */
    pthread_cond_init(&in->plan_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&in->plan_mu, NULL);
    plan_swap(in, plan); /* the input takes the plan's parts; plan is left empty */
    sl_input_plan_free(plan);
    conf = in->conf; /* from here on, the input's own copy */
    in->ops = &conf->kind->ops; /* a loaded config names a kind for every input */
    in->epfd = epoll_create1(EPOLL_CLOEXEC);
    in->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (in->epfd < 0 || in->wakefd < 0) {
        snprintf(err, errlen, "input \"%s\": out of resources (%s)", conf->name, strerror(errno));
        input_free(in);
        return -ENOMEM;
    }
    sl_msgpool_init(&in->pool, conf->name);
    in->pctx.hostname = routing->hostname;
    sl_parse_ctx_now(&in->pctx);
    rc = open_ratelimit(in, err, errlen);
    if (rc == 0) {
        rc = sl_input_watch(in, in->wakefd, in, true);
        if (rc < 0)
            snprintf(err, errlen, "input \"%s\": epoll_ctl() failed (%d: %s)", conf->name, -rc,
                     strerror(-rc));
    }
    if (rc == 0)
        rc = in->ops->open(in, err, errlen);
    if (rc < 0) {
        input_free(in);
        return rc;
    }
    *out = in;
    return 0;
}

int sl_input_start(struct sl_input *in)
{
    int rc = pthread_create(&in->thread, NULL, input_main, in);
    if (rc != 0)
        return -rc;
    in->started = true;
    return 0;
}

void sl_input_stop(struct sl_input *in, int64_t deadline_ms)
{
    if (atomic_load(&in->stop))
        return;
    in->stop_deadline_ms = deadline_ms; /* before stop: the thread reads it after */
    atomic_store(&in->stop, true);
    uint64_t one = 1;
    ssize_t w = write(in->wakefd, &one, sizeof one);
    (void)w;
}

void sl_input_close(struct sl_input *in, int timeout_ms)
{
    if (in == NULL)
        return;
    sl_input_stop(in, sl_now_ms() + timeout_ms);
    if (in->started)
        pthread_join(in->thread, NULL);
    else
        in->ops->drain(in);
    /* Every queue this input may have asked for a notice must forget the fd
     * before it is closed (and maybe reused). */
    for (size_t s = 0; s < in->routing->nsinks; s++)
        sl_sink_cancel_notify(in->routing->sinks[s], in->wakefd);
    in->ops->close(in);
    input_free(in);
}

const struct sl_input_conf *sl_input_conf_of(const struct sl_input *in)
{
    return in->conf;
}

const char *sl_input_address(const struct sl_input *in)
{
    return in->address;
}

const struct sl_input_stats *sl_input_stats_of(const struct sl_input *in)
{
    return &in->stats;
}

void sl_input_refresh_stats(struct sl_input *in)
{
    if (in->ops->refresh_stats != NULL)
        in->ops->refresh_stats(in);
}

void sl_input_forget_sink(struct sl_input *in, struct sl_sink *sink)
{
    sl_sink_cancel_notify(sink, in->wakefd);
}
/* }=== */

/* {=== sockets shared by udp and tcp */
size_t sl_sockaddr_text(const void *sa, char *buf, size_t len, bool with_port)
{
    const struct sockaddr *a = sa;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        port = ntohs(v4->sin_port);
    } else if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        port = ntohs(v6->sin6_port);
    }
    int n;
    if (!with_port)
        n = snprintf(buf, len, "%s", ip);
    else if (a->sa_family == AF_INET6)
        n = snprintf(buf, len, "[%s]:%u", ip, port);
    else
        n = snprintf(buf, len, "%s:%u", ip, port);
    return n < 0 ? 0 : ((size_t)n >= len ? len - 1 : (size_t)n);
}

void sl_input_set_rcvbuf(struct sl_input *in, int fd, size_t want)
{
    int size = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;
    int got = 0;
    socklen_t len = sizeof got;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    /* Linux reports twice what it grants (the rest is bookkeeping). */
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && got / 2 < size)
        sl_log(SL_LOG_WARNING, 0,
               "input \"%s\": receive buffer is %d bytes, not the %d asked for "
               "(raise net.core.rmem_max)", in->conf->name, got / 2, size);
}

int sl_input_take_passed(struct sl_input *in, const struct sl_activation_want *w)
{
    const char *name = NULL;
    int fd = sl_activation_take(in->routing != NULL ? in->routing->sockets : NULL, w, &name);
    if (fd < 0)
        return fd;
    in->passed = true;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (w->path != NULL)
        snprintf(in->address, sizeof in->address, "%s", w->path);
    else if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sl_sockaddr_text(&ss, in->address, sizeof in->address, true);
    sl_log(SL_LOG_INFO, 0, "input \"%s\": using the socket %s (%s) passed by the service manager",
           in->conf->name, in->address, name);
    return fd;
}

void sl_input_unlink_path(struct sl_input *in)
{
    if (!in->passed && in->conf->path != NULL)
        unlink(in->conf->path);
}

int sl_input_bind_inet(struct sl_input *in, int socktype, char *err, size_t errlen)
{
    const struct sl_input_conf *c = in->conf;
    struct sl_activation_want w = {.host = c->host, .port = c->port, .socktype = socktype};
    int pfd = sl_input_take_passed(in, &w);
    if (pfd != -ENOENT) {
        if (pfd < 0)
            snprintf(err, errlen, "input \"%s\": cannot take the passed socket (%d: %s)",
                     c->name, -pfd, strerror(-pfd));
        else if (c->rcvbuf > 0) /* asked for: over the unit's ReceiveBuffer= */
            sl_input_set_rcvbuf(in, pfd, c->rcvbuf);
        return pfd;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(c->host, c->port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "input \"%s\": getaddrinfo() \"%s:%s\" failed (%s)", c->name,
                 c->host, c->port, gai_strerror(rc));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "input \"%s\": socket() failed (%d: %s)", c->name, errno,
                 strerror(errno));
        freeaddrinfo(ai);
        return rc;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    size_t want = c->rcvbuf ? c->rcvbuf : (socktype == SOCK_DGRAM ? SL_DEFAULT_UDP_RCVBUF : 0);
    if (want > 0)
        sl_input_set_rcvbuf(in, fd, want);
    bool bound = false; /* which call failed: a port below 1024 fails bind(), not listen() */
    if (!(bound = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) ||
        (socktype == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "input \"%s\": %s() \"%s:%s\" failed (%d: %s)", c->name,
                 bound && errno != EADDRINUSE ? "listen" : "bind", c->host,
                 c->port, errno, strerror(errno));
        close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sl_sockaddr_text(&ss, in->address, sizeof in->address, true);
    return fd;
}
/* }=== */
