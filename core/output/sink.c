/* SPDX-License-Identifier: MIT */
/*
 * sink.c: the worker thread of one output.
 *
 * DESIGN: each output owns one queue and one worker thread (as redis's bio.c
 * owns one job list per worker), so a slow or failing output only ever holds
 * up itself. The worker takes up to BATCH messages per lock round-trip and
 * hands them to the plugin's write() in one call; the plugin formats the
 * whole batch and writes it with as few system calls as it can. A failed
 * write, RETRY or FATAL alike, makes the worker back off (10 ms doubling to
 * 1 s) and offer the same batch again, whatever the policy: a read-only
 * file system, a file made immutable or a full disk is a state of the
 * destination that an administrator clears, not a verdict on the messages,
 * and discarding the batch (what a FATAL did before) lost 20,357 of 30,000
 * messages under `block` in a test. The queue fills meanwhile and the
 * policy applies to what does not fit (block parks it, drop counts it
 * dropped), as syslog-ng does with a failing destination. A RETRY keeps
 * the plugin's progress (the batch contract), a FATAL says it kept none.
 * Only a try still failing at the shutdown deadline gives the batch up:
 * progress() says how much of it is written, the rest is abandoned, and
 * abandon() tells the plugin first, because the messages' memory is
 * reused at once and their addresses cannot tell a new batch from the old
 * one. The failure is logged when it starts, at most once a minute while
 * it lasts, and when it ends: a failing destination must not flood the
 * log with a line per try. tick() runs by the clock (TICK_MS), when idle, under load and
 * between the tries of a batch alike, so time-driven work (rotation by
 * age, reconnects) needs no message to arrive and no write to succeed.
 * The sink, not its callers, applies the output's policy when the queue is
 * full (sl_sink_offer: drop and count, or hand the rest back to be
 * parked), so an input knows nothing of queues, and the worker's cycle is
 * the queue interface's pop -> write -> commit (queue.h), so a queue that
 * keeps messages until they are written can take the memory queue's place
 * without a change here.
 * Requests from other threads (reopen, flush) are tickets the worker serves
 * between batches and answers on the requester's eventfd, so a requester
 * never blocks and can ask every output at once: plugins are only ever
 * called from their worker, except open and close.
 * A reload that changes an output's settings keeps the sink and replaces
 * only its plugin instance (sink.h), through the same request path: the
 * main thread opens the new instance aside and hands it over without
 * waiting, and the worker switches between batches, or within the backoff
 * of a batch the old instance refuses. One worker, one queue: the old and
 * the new instance never write at once, the order written stays the
 * queue's order, and a reload never waits for a stuck output. The old
 * instance is then closed on the worker, the one call of a plugin outside
 * the main thread besides write, tick, flush, reopen and abandon.
 * Stopping is split (sl_sink_stop, then sl_sink_close) so the daemon
 * stops every output at once against one deadline.
 */
#include "output/sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/util.h"
#include "output/overload.h"
#include "output/diskq.h"
#include "output/plugin.h"
#include "common/clock.h"

#define BATCH 2048 /* messages per write(); the queue's byte bound caps the bytes */
#define POP_TIMEOUT_MS 100
#define TICK_MS 100 /* sluice-plugin.h promises tick() about this often */
#define BACKOFF_SLICE_MS 10 /* how soon a retrying worker sees a request */
#define SMALL_BATCH 64
#define GATHER_US 200

struct counters {
    atomic_uint_fast64_t enqueued, written, failed, abandoned, write_errors; /* drops: ov */
    atomic_bool retrying; /* for stats: the batch in hand waits for its next try */
    atomic_int last_error; /* the last failing answer of write(); 0: none yet */
};

/* The worker's record of a streak of failed writes: for the log lines. */
struct failing {
    struct sl_ratelimit log; /* the lines while it lasts (set up by the worker) */
    unsigned tries;          /* failed tries of the batch in hand */
    int64_t since_ms;        /* when the first of them failed */
    bool logged;             /* its first line was written: so is its end */
};

/* A plugin instance and what it borrows (sink.h). */
struct sl_sink_instance {
    struct sl_output_conf *conf; /* owned: the instance may borrow from it until close */
    struct sl_output_conf *view; /* owned: the copy sl_sink_conf() shows once handed over,
                                  * made here so that handing over cannot fail */
    struct sl_plugin *plugin;    /* owned; NULL for a descriptor given */
    const struct sluice_output_plugin *api; /* plugin->api, or the one given */
    void *state;
};

/* A plugin's own counters (sluice-plugin.h: counters, stats()) as the
 * worker last read them, for the main thread's stats. The names are
 * copied: a reload may unload the plugin that named them. Under mu, which
 * the worker takes once per batch and tick (uncontended but for stats). */
struct plugin_counters {
    pthread_mutex_t mu;
    size_t n;
    char names[SLUICE_MAX_COUNTERS][SL_COUNTER_NAME];
    unsigned long long values[SLUICE_MAX_COUNTERS];
};

struct sl_sink {
    char *name; /* owned; fixed for the sink's life, so any thread may read it */
    /* The settings in force, for the main thread (stats, reload): the
     * instance's own copy is the worker's (inst_conf). Owned. */
    struct sl_output_conf *conf;
    struct sl_overload ov; /* the policy for what the queue cannot take, and its drops */
    bool ov_ready;         /* ov was set up: sink_free destroys it */
    /* The current instance, field by field (struct sl_sink_instance): the
     * worker's while it runs (it switches them, swap_instance), the main
     * thread's before and after. */
    struct sl_output_conf *inst_conf;
    struct sl_plugin *plugin;
    const struct sluice_output_plugin *api;
    void *state;
    struct sl_sink_instance *next; /* under req_mu: handed over, not yet switched to */
    bool retrying; /* worker only: between two tries of a batch */
    size_t gave_up; /* worker only: the last batch's unwritten rest at the deadline */
    size_t swap_done; /* worker only: the messages of the batch in hand that the
                       * instance swapped out mid-batch had written */
    struct sl_queue *queue; /* owned */
    pthread_t worker;
    bool started;
    atomic_bool stopping;
    atomic_bool ended; /* the worker has returned */
    /* Requests to the worker (sl_sink_request), oldest first. */
    pthread_mutex_t req_mu;
    struct sl_sink_ticket *req_head, **req_tail; /* under req_mu */
    atomic_bool req_pending; /* a hint for the worker: look at req_head */
    int64_t stop_deadline_ms; /* monotonic; after it a stuck retry gives up */
    int64_t next_tick_ms;     /* worker only: when tick() is due */
    bool tick_failing;        /* worker only: the last tick() was not OK */
    struct failing failing;   /* worker only */
    struct counters stats;
    struct plugin_counters pc;
};

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void sleep_ms(int ms)
{
    sleep_us((long)ms * 1000);
}

static const char *name_of(const struct sl_sink *s)
{
    return s->name;
}

/* The batch of the last write() that answered RETRY is given up: the
 * plugin forgets what it kept of it (sluice-plugin.h), before its messages
 * are freed and their memory reused for the next batch. */
static void abandon(struct sl_sink *s)
{
    const struct sluice_output_plugin *api = s->api;
    if (SLUICE_PLUGIN_HAS(api, abandon) && api->abandon != NULL)
        api->abandon(s->state);
}

static void handle_requests(struct sl_sink *s);
static void swap_instance(struct sl_sink *s);
static void tick(struct sl_sink *s, int64_t now);
static void counters_collect(struct sl_sink *s);

/* The pause between two tries of a batch, in slices: tick() and requests
 * are served meanwhile (a plugin may reconnect in tick(), and a reopen
 * need not wait for the disk to have room), and a shutdown's deadline is
 * seen within a slice. */
static void backoff(struct sl_sink *s, int delay_ms)
{
    int64_t until = sl_now_ms() + delay_ms;
    s->retrying = true; /* a change of instance abandons the batch (swap_instance) */
    for (int64_t now = sl_now_ms(); now < until; now = sl_now_ms()) {
        if (atomic_load(&s->stopping) && now >= s->stop_deadline_ms)
            break;
        int64_t left = until - now;
        sleep_ms(left < BACKOFF_SLICE_MS ? (int)left : BACKOFF_SLICE_MS);
        handle_requests(s);
        now = sl_now_ms();
        if (now >= s->next_tick_ms)
            tick(s, now);
    }
    s->retrying = false;
}

static const char *answer_name(int rc)
{
    return rc == SLUICE_RETRY ? "RETRY" : rc == SLUICE_FATAL ? "FATAL" : "an unknown status";
}

/* A try of the batch in hand failed with rc: counted, shown in stats, and
 * logged when the streak starts and then under the rate limit. Worker. */
static void write_failed(struct sl_sink *s, int rc, size_t n)
{
    struct failing *f = &s->failing;
    atomic_fetch_add_explicit(&s->stats.write_errors, 1, memory_order_relaxed);
    atomic_store_explicit(&s->stats.last_error, rc, memory_order_relaxed);
    atomic_store_explicit(&s->stats.retrying, true, memory_order_relaxed);
    if (f->tries++ == 0)
        f->since_ms = sl_now_ms();
    if (!sl_ratelimit_ok(&f->log))
        return;
    if (!f->logged)
        sl_log(SL_LOG_ERR, 0, "output \"%s\": write() answered %s; its %zu messages are kept "
               "and offered again until it works (logged once a minute at most)", name_of(s),
               answer_name(rc), n);
    else
        sl_log(SL_LOG_ERR, 0, "output \"%s\": write() still answers %s after %u tries in "
               "%lld s; %zu messages kept", name_of(s), answer_name(rc), f->tries,
               (long long)((sl_now_ms() - f->since_ms) / 1000), n);
    f->logged = true;
}

/* The batch in hand is written: a streak of failures, if any, has ended. */
static void write_worked(struct sl_sink *s)
{
    struct failing *f = &s->failing;
    if (f->tries == 0)
        return;
    if (f->logged)
        sl_log(SL_LOG_NOTICE, 0, "output \"%s\": write() works again after %u failed tries "
               "in %lld ms", name_of(s), f->tries, (long long)(sl_now_ms() - f->since_ms));
    f->tries = 0;
    f->logged = false;
    atomic_store_explicit(&s->stats.retrying, false, memory_order_relaxed);
}

/* The shutdown deadline passed with the batch still failing (the last
 * answer rc): what the plugin says it wrote of it counts as written, the
 * rest as abandoned. A plugin that answered FATAL kept nothing to resume
 * (and nothing to forget); without progress(), nothing counts as written. */
static void give_up(struct sl_sink *s, int rc, size_t n)
{
    const struct sluice_output_plugin *api = s->api;
    size_t done = 0;
    if (rc == SLUICE_RETRY) {
        if (SLUICE_PLUGIN_HAS(api, progress) && api->progress != NULL)
            done = api->progress(s->state);
        abandon(s);
    }
    if (done > n)
        done = n; /* a plugin bug: do not count more than the batch */
    if (s->queue->persistent) /* queue.h: the rest stays unacknowledged, on disk */
        sl_log(SL_LOG_WARNING, 0, "output \"%s\": still failing at shutdown; %zu of %zu "
               "messages stay in its disk queue for the next start", name_of(s), n - done, n);
    else
        sl_log(SL_LOG_ERR, 0, "output \"%s\": still failing at shutdown, %zu of %zu messages "
               "lost", name_of(s), n - done, n);
    atomic_fetch_add_explicit(&s->stats.written, done, memory_order_relaxed);
    if (!s->queue->persistent)
        atomic_fetch_add_explicit(&s->stats.abandoned, n - done, memory_order_relaxed);
    s->gave_up = n - done;
    s->failing.tries = 0;
    s->failing.logged = false;
    atomic_store_explicit(&s->stats.retrying, false, memory_order_relaxed);
}

/* Writes one batch, trying again after any failure until it works or the
 * stop deadline has passed (DESIGN). Worker. */
static void write_batch(struct sl_sink *s, struct sl_msg **batch, size_t n)
{
    int delay = 10;
    for (;;) {
        /* s->api afresh each try: a reload may have switched the instance
         * during the backoff (swap_instance). */
        int rc = s->api->write(s->state, (const sluice_msg *const *)batch, n);
        if (rc == SLUICE_OK) {
            atomic_fetch_add_explicit(&s->stats.written, n, memory_order_relaxed);
            write_worked(s);
            return;
        }
        write_failed(s, rc, n);
        counters_collect(s); /* stats say why it fails while it does */
        if (atomic_load(&s->stopping) && sl_now_ms() >= s->stop_deadline_ms) {
            give_up(s, rc, n);
            return;
        }
        backoff(s, delay);
        delay = delay >= 500 ? 1000 : delay * 2;
        if (s->swap_done > 0) { /* the new instance takes only the unwritten rest */
            size_t done = s->swap_done < n ? s->swap_done : n;
            s->swap_done = 0;
            atomic_fetch_add_explicit(&s->stats.written, done, memory_order_relaxed);
            batch += done;
            n -= done;
            if (n == 0) {
                write_worked(s);
                return;
            }
        }
    }
}

/* About every TICK_MS, by the clock rather than by pop timeouts, so an
 * output under load ticks too. A failing tick() is logged when the streak
 * starts and when it ends, not on every call. */
static void tick(struct sl_sink *s, int64_t now)
{
    const struct sluice_output_plugin *api = s->api;
    s->next_tick_ms = now + TICK_MS;
    sl_overload_tick(&s->ov, s->queue, now); /* first: it must run while tick() fails too */
    if (!SLUICE_PLUGIN_HAS(api, tick) || api->tick == NULL)
        return;
    int rc = api->tick(s->state);
    counters_collect(s);
    if (rc != SLUICE_OK && !s->tick_failing)
        sl_log(SL_LOG_WARNING, 0, "output \"%s\": tick() answered %s (%d); logged once until "
               "it answers OK", name_of(s), rc == SLUICE_RETRY ? "RETRY" : "FATAL", rc);
    else if (rc == SLUICE_OK && s->tick_failing)
        sl_log(SL_LOG_NOTICE, 0, "output \"%s\": tick() answers OK again", name_of(s));
    s->tick_failing = rc != SLUICE_OK;
}

/* How long the worker may sleep in pop: until the next tick. */
static int pop_timeout(const struct sl_sink *s, int64_t now)
{
    int64_t left = s->next_tick_ms - now;
    if (left <= 0)
        return 0;
    return left < POP_TIMEOUT_MS ? (int)left : POP_TIMEOUT_MS;
}

/* {=== requests (reopen, flush) */
static void answer(struct sl_sink_ticket *t, int status)
{
    int efd = t->efd;
    t->status = status;
    atomic_store_explicit(&t->done, true, memory_order_release);
    /* t may be freed from here on; efd stays open (sink.h). */
    if (efd >= 0) {
        uint64_t one = 1;
        ssize_t w;
        while ((w = write(efd, &one, sizeof one)) < 0 && errno == EINTR)
            ;
        (void)w;
    }
}

/* Calls the plugin's reopen() or flush() (fn; NULL: nothing to do) and
 * turns its sluice_status into 0 or -EIO, logging a failure. */
static int call(struct sl_sink *s, int (*fn)(void *), const char *what)
{
    if (fn == NULL)
        return 0;
    int rc = fn(s->state);
    if (rc == SLUICE_OK)
        return 0;
    sl_log(SL_LOG_ERR, 0, "output \"%s\": %s() failed (it answered %s)", name_of(s), what,
           rc == SLUICE_RETRY ? "RETRY" : "FATAL");
    return -EIO;
}

/* Moves the tickets that can be served now from the sink's list to *out:
 * every reopen, and the flushes whose messages are all written. */
static void take_ready(struct sl_sink *s, struct sl_sink_ticket **out)
{
    uint64_t done = atomic_load(&s->stats.written) + atomic_load(&s->stats.failed)
                    + atomic_load(&s->stats.abandoned);
    struct sl_sink_ticket **tail = out;
    pthread_mutex_lock(&s->req_mu);
    struct sl_sink_ticket **p = &s->req_head;
    s->req_tail = &s->req_head;
    while (*p != NULL) {
        struct sl_sink_ticket *t = *p;
        if (t->op == SL_SINK_REOPEN || t->target <= done) {
            *p = t->next;
            *tail = t;
            tail = &t->next;
        } else {
            s->req_tail = &t->next;
            p = &t->next;
        }
    }
    *tail = NULL;
    atomic_store(&s->req_pending, s->req_head != NULL || s->next != NULL);
    pthread_mutex_unlock(&s->req_mu);
}

/* Between batches, so a batch popped after a reopen request goes to the
 * new file. One call of the plugin serves every ticket that waits for it;
 * the lock is not held while the plugin works, so a requester never waits
 * for a slow reopen. */
static void handle_requests(struct sl_sink *s)
{
    if (!atomic_load_explicit(&s->req_pending, memory_order_acquire))
        return;
    swap_instance(s); /* first: a reopen or flush asked after it is for the new one */
    struct sl_sink_ticket *ready;
    take_ready(s, &ready);
    const struct sluice_output_plugin *api = s->api;
    bool reopen = false, flush = false;
    for (struct sl_sink_ticket *t = ready; t != NULL; t = t->next) {
        reopen |= t->op == SL_SINK_REOPEN;
        flush |= t->op == SL_SINK_FLUSH;
    }
    /* A closing output reopens nothing: its files close next. */
    int rc_reopen = atomic_load(&s->stopping) ? -ECANCELED : 0, rc_flush = 0;
    if (reopen && rc_reopen == 0)
        rc_reopen = call(s, api->reopen, "reopen");
    if (flush)
        rc_flush = call(s, api->flush, "flush");
    while (ready != NULL) {
        struct sl_sink_ticket *t = ready;
        ready = t->next; /* before answer(): t may be freed after it */
        answer(t, t->op == SL_SINK_REOPEN ? rc_reopen : rc_flush);
    }
}

void sl_sink_request(struct sl_sink *s, enum sl_sink_op op, struct sl_sink_ticket *t)
{
    t->op = op;
    t->status = 0;
    atomic_store(&t->done, false);
    t->target = atomic_load(&s->stats.enqueued);
    t->next = NULL;
    pthread_mutex_lock(&s->req_mu);
    *s->req_tail = t;
    s->req_tail = &t->next;
    atomic_store_explicit(&s->req_pending, true, memory_order_release);
    pthread_mutex_unlock(&s->req_mu);
    sl_queue_wake(s->queue); /* an idle worker sleeps in pop */
}

/* At close, with the worker gone: what still waits is answered, a flush
 * with the last flush's status. */
static void answer_all(struct sl_sink *s, int flush_status)
{
    pthread_mutex_lock(&s->req_mu);
    struct sl_sink_ticket *t = s->req_head;
    s->req_head = NULL;
    s->req_tail = &s->req_head;
    pthread_mutex_unlock(&s->req_mu);
    while (t != NULL) {
        struct sl_sink_ticket *next = t->next;
        answer(t, t->op == SL_SINK_FLUSH ? flush_status : -ECANCELED);
        t = next;
    }
}
/* }=== */

static void *worker_main(void *arg)
{
    struct sl_sink *s = arg;
    struct sl_msg *batch[BATCH];
    sl_thread_name("out", s->name);
    s->next_tick_ms = sl_now_ms() + TICK_MS;
    s->failing.log.interval = 60; /* the lines of a failing write: 1 a minute */
    s->failing.log.burst = 1;
    for (;;) {
        size_t n = sl_queue_pop(s->queue, batch, BATCH, pop_timeout(s, sl_now_ms()));
        handle_requests(s);
        if (n > 0) {
            s->gave_up = 0;
            write_batch(s, batch, n);
            counters_collect(s);
            /* Written or given up: never offered again. A persistent queue
             * keeps what was given up at the deadline (queue.h: partial
             * commit), and the worker ends without popping more. */
            bool keep = s->queue->persistent && s->gave_up > 0;
            sl_queue_commit(s->queue, keep ? n - s->gave_up : n);
            for (size_t i = 0; i < n; i++)
                sl_msg_unref(batch[i]);
            if (keep)
                break;
            handle_requests(s); /* a flush waiting for this batch */
        }
        int64_t now = sl_now_ms();
        if (now >= s->next_tick_ms)
            tick(s, now);
        /* A small batch means the worker is outrunning the inputs: waking for
         * every few messages would cost a wake-up and a write() each. Let the
         * next batch gather for a moment (bounded latency, and none at all
         * under load, when batches are full). */
        if (n > 0 && n < SMALL_BATCH && !atomic_load(&s->stopping))
            sleep_us(GATHER_US);
        /* stopping is set before the queue is closed, so an empty pop after
         * it means the queue is closed and drained. */
        if (n == 0 && atomic_load(&s->stopping) && sl_queue_depth(s->queue) == 0)
            break;
        /* Past the deadline a persistent queue's rest waits on disk for
         * the next start, rather than being popped and given up. */
        if (s->queue->persistent && atomic_load(&s->stopping) && now >= s->stop_deadline_ms)
            break;
    }
    sl_overload_report(&s->ov, sl_now_ms()); /* the drops since the last line */
    atomic_store(&s->ended, true);
    return NULL;
}

/* {=== instances (sink.h: changing an output on reload) */
static void instance_close(struct sl_output_conf *conf, struct sl_plugin *plugin,
                           const struct sluice_output_plugin *api, void *state)
{
    if (state != NULL)
        api->close(state);
    sl_plugin_unload(plugin);
    sl_output_conf_free(conf);
}

void sl_sink_instance_free(struct sl_sink_instance *i)
{
    if (i == NULL)
        return;
    instance_close(i->conf, i->plugin, i->api, i->state);
    sl_output_conf_free(i->view);
    free(i);
}

/* Opens an instance of api on a copy of conf; takes plugin (NULL for a
 * descriptor that is not a loaded plugin) in every case. */
static int instance_open(struct sl_sink_instance **out, const struct sl_output_conf *conf,
                         struct sl_plugin *plugin, const struct sluice_output_plugin *api,
                         char *err, size_t errlen)
{
    struct sl_sink_instance *i = sl_calloc(1, sizeof *i);
    if (i == NULL || sl_output_conf_dup(conf, &i->conf) < 0
        || sl_output_conf_dup(conf, &i->view) < 0) {
        snprintf(err, errlen, "output \"%s\": out of memory", conf->name);
        if (i != NULL)
            sl_output_conf_free(i->conf);
        free(i);
        sl_plugin_unload(plugin);
        return -ENOMEM;
    }
    i->plugin = plugin;
    i->api = api;
    char perr[512] = "";
    int rc = api->open(sl_plugin_host(), sl_plugin_config(i->conf), &i->state, perr,
                       sizeof perr);
    if (rc < 0) {
        snprintf(err, errlen, "output \"%s\" (%s): %s", conf->name, conf->type,
                 perr[0] ? perr : strerror(-rc));
        i->state = NULL;
        sl_sink_instance_free(i);
        return rc;
    }
    *out = i;
    return 0;
}

int sl_sink_instance_open(struct sl_sink_instance **out, const struct sl_output_conf *conf,
                          const struct sl_strlist *search, char *err, size_t errlen)
{
    struct sl_plugin *p;
    int rc = sl_plugin_load(conf->type, conf->plugin, search, &p, err, errlen);
    if (rc < 0)
        return rc;
    return instance_open(out, conf, p, p->api, err, errlen);
}

int sl_sink_instance_open_with(struct sl_sink_instance **out, const struct sl_output_conf *conf,
                               const struct sluice_output_plugin *api, char *err,
                               size_t errlen)
{
    return instance_open(out, conf, NULL, api, err, errlen);
}

/* The sink takes the instance's parts, and the struct is freed (its view
 * has been taken or freed before). */
/* The names of the counters of api, the values zero until the first
 * stats(). Either thread, under pc.mu. */
static void counters_install(struct plugin_counters *pc, const struct sluice_output_plugin *api)
{
    pthread_mutex_lock(&pc->mu);
    pc->n = 0;
    if (SLUICE_PLUGIN_HAS(api, stats) && api->counters != NULL && api->stats != NULL) {
        for (; pc->n < SLUICE_MAX_COUNTERS && api->counters[pc->n] != NULL; pc->n++) {
            snprintf(pc->names[pc->n], SL_COUNTER_NAME, "%s", api->counters[pc->n]);
            pc->values[pc->n] = 0;
        }
    }
    pthread_mutex_unlock(&pc->mu);
}

/* After a write() or tick(): the plugin's counters, read on the worker as
 * the header promises, then published. Worker. */
static void counters_collect(struct sl_sink *s)
{
    struct plugin_counters *pc = &s->pc;
    if (pc->n == 0) /* only the worker changes n once it runs */
        return;
    unsigned long long v[SLUICE_MAX_COUNTERS] = {0};
    s->api->stats(s->state, v);
    pthread_mutex_lock(&pc->mu);
    memcpy(pc->values, v, pc->n * sizeof v[0]);
    pthread_mutex_unlock(&pc->mu);
}

static void instance_install(struct sl_sink *s, struct sl_sink_instance *i)
{
    s->inst_conf = i->conf;
    s->plugin = i->plugin;
    s->api = i->api;
    s->state = i->state;
    counters_install(&s->pc, i->api);
    sl_output_conf_free(i->view);
    free(i);
}

/* Worker (or main, once the worker is gone). Between batches, or between
 * two tries of a batch: then the old instance says what it wrote of it
 * (progress(), so those messages are not written twice; without it, none)
 * and abandons it, since close() would otherwise flush what it kept of it,
 * and the new instance is offered the rest (sink.h). */
static void swap_instance(struct sl_sink *s)
{
    pthread_mutex_lock(&s->req_mu);
    struct sl_sink_instance *next = s->next;
    s->next = NULL;
    pthread_mutex_unlock(&s->req_mu);
    if (next == NULL)
        return;
    if (s->retrying) {
        const struct sluice_output_plugin *api = s->api;
        if (SLUICE_PLUGIN_HAS(api, progress) && api->progress != NULL)
            s->swap_done = api->progress(s->state);
        abandon(s);
    }
    instance_close(s->inst_conf, s->plugin, s->api, s->state);
    instance_install(s, next);
    s->tick_failing = false;
    sl_log(SL_LOG_INFO, 0, "output \"%s\": now writing with its new settings%s", name_of(s),
           s->retrying ? " (the batch the old settings could not write included)" : "");
}

/* A disk queue, or its absence, and its disk settings stay as the queue
 * was opened until a restart, as its size does (the policy between block
 * and drop, and a disk queue's overflow, change at once). */
static void keep_disk_settings(struct sl_sink *s, struct sl_queue_conf *c)
{
    const struct sl_queue_conf *o = &s->conf->queue;
    bool was = o->policy == SL_POLICY_DISK, is = c->policy == SL_POLICY_DISK;
    if (was != is) {
        sl_log(SL_LOG_WARNING, 0, "output \"%s\": a change %s policy \"disk\" takes effect "
               "when sluiced restarts; the output keeps its %s queue", name_of(s),
               was ? "from" : "to", was ? "disk" : "memory");
        c->policy = o->policy;
        c->overflow = o->overflow;
    }
    if (was && (c->disk_max_size != o->disk_max_size || c->disk_segment_size != o->disk_segment_size
                || c->disk_sync != o->disk_sync || c->disk_sync_ms != o->disk_sync_ms))
        sl_log(SL_LOG_WARNING, 0, "output \"%s\": queue.disk settings take effect when "
               "sluiced restarts; its disk queue keeps those it was opened with", name_of(s));
    c->disk_max_size = o->disk_max_size;
    c->disk_segment_size = o->disk_segment_size;
    c->disk_sync = o->disk_sync;
    c->disk_sync_ms = o->disk_sync_ms;
}

/* The queue keeps its size (sink.h): what the main thread shows as in
 * force says so too. */
static void keep_queue_bounds(struct sl_sink *s, struct sl_output_conf *c)
{
    struct sl_queue_conf *now = &s->conf->queue, *want = &c->queue;
    if (want->capacity != now->capacity || want->max_bytes != now->max_bytes)
        sl_log(SL_LOG_WARNING, 0, "output \"%s\": queue.capacity and queue.max_bytes take "
               "effect when sluiced restarts; the queue keeps %zu messages, %zu bytes",
               name_of(s), now->capacity, now->max_bytes);
    want->capacity = now->capacity;
    want->max_bytes = now->max_bytes;
    keep_disk_settings(s, want);
}

void sl_sink_change(struct sl_sink *s, struct sl_sink_instance *next)
{
    keep_queue_bounds(s, next->view);
    sl_output_conf_free(s->conf);
    s->conf = next->view;
    next->view = NULL;
    sl_overload_set(&s->ov, &s->conf->queue); /* the view: the queue as it stays */
    pthread_mutex_lock(&s->req_mu);
    struct sl_sink_instance *superseded = s->next;
    s->next = next;
    atomic_store_explicit(&s->req_pending, true, memory_order_release);
    pthread_mutex_unlock(&s->req_mu);
    sl_sink_instance_free(superseded); /* never used: nothing of it was written */
    sl_queue_wake(s->queue);           /* an idle worker sleeps in pop */
}
/* }=== */

static void sink_free(struct sl_sink *s)
{
    instance_close(s->inst_conf, s->plugin, s->api, s->state);
    sl_sink_instance_free(s->next);
    sl_queue_free(s->queue);
    sl_output_conf_free(s->conf);
    if (s->ov_ready)
        sl_overload_destroy(&s->ov);
    free(s->name);
    pthread_mutex_destroy(&s->req_mu);
    pthread_mutex_destroy(&s->pc.mu);
    free(s);
}

/* The disk queue of output conf, in state->path/<name> (the name was
 * checked at load to be one safe path component: lua_queue.c). */
static int open_disk_queue(struct sl_queue **out, const struct sl_output_conf *conf,
                           const struct sl_state_dir *state, char *err, size_t errlen)
{
    const char *state_dir = state != NULL ? state->path : NULL;
    char dir[4096];
    if (state_dir == NULL
        || (size_t)snprintf(dir, sizeof dir, "%s/%s", state_dir, conf->name) >= sizeof dir) {
        snprintf(err, errlen, "output \"%s\": queue policy \"disk\" needs settings.state_dir%s",
                 conf->name, state_dir == NULL ? "" : " shorter than 4 KiB");
        return -EINVAL;
    }
    const struct sl_queue_conf *q = &conf->queue;
    struct sl_diskq_conf dc = {.dir = dir, .mem_capacity = q->capacity, .mem_bytes = q->max_bytes,
                               .max_size = q->disk_max_size, .segment_size = q->disk_segment_size,
                               .sync = q->disk_sync, .sync_ms = q->disk_sync_ms,
                               .name = conf->name, .owner = state->owner};
    char derr[512];
    int rc = sl_diskq_open(out, &dc, derr, sizeof derr);
    if (rc < 0)
        snprintf(err, errlen, "output \"%s\": %s", conf->name, derr);
    return rc;
}

/* Starts a sink around instance i (taken in every case) with queue (taken;
 * NULL: a memory queue as i's conf says, or its disk queue in
 * state->path/<name> for policy disk; state NULL: there is none). */
static int sink_start(struct sl_sink **out, struct sl_sink_instance *i, struct sl_queue *queue,
                      const struct sl_state_dir *state, char *err, size_t errlen)
{
    const char *name = i->conf->name;
    struct sl_sink *s = sl_calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "output \"%s\": out of memory", name);
        sl_sink_instance_free(i);
        sl_queue_free(queue);
        return -ENOMEM;
    }
    s->queue = queue;
    s->req_tail = &s->req_head;
    pthread_mutex_init(&s->req_mu, NULL);
    pthread_mutex_init(&s->pc.mu, NULL);
    s->conf = i->view;
    i->view = NULL;
    s->name = sl_strdup(name);
    instance_install(s, i);
    int rc = 0;
    if (s->name == NULL) {
        snprintf(err, errlen, "output \"%s\": out of memory", s->inst_conf->name);
        sink_free(s);
        return -ENOMEM;
    }
    rc = sl_overload_init(&s->ov, s->name, &s->conf->queue);
    if (rc < 0) {
        snprintf(err, errlen, "output \"%s\": cannot set up its queue policy (%d: %s)",
                 s->name, -rc, strerror(-rc));
        sink_free(s);
        return rc;
    }
    s->ov_ready = true;
    if (s->queue == NULL && s->conf->queue.policy == SL_POLICY_DISK) {
        rc = open_disk_queue(&s->queue, s->conf, state, err, errlen);
        if (rc < 0) {
            sink_free(s);
            return rc;
        }
    }
    if (s->queue == NULL)
        rc = sl_queue_new(&s->queue, s->conf->queue.capacity, s->conf->queue.max_bytes);
    if (rc < 0) {
        snprintf(err, errlen, "output \"%s\": cannot create its queue (%d: %s)", s->name, -rc,
                 strerror(-rc));
        sink_free(s);
        return rc;
    }
    /* What a persistent queue replays counts as enqueued, so written never
     * passes enqueued and a flush's target (sl_sink_request) includes it. */
    if (s->queue->persistent)
        atomic_store(&s->stats.enqueued, sl_queue_depth(s->queue));
    rc = pthread_create(&s->worker, NULL, worker_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "output \"%s\": pthread_create() failed (%d: %s)", s->name, rc,
                 strerror(rc));
        sink_free(s);
        return -rc;
    }
    s->started = true;
    *out = s;
    return 0;
}

int sl_sink_open(struct sl_sink **out, const struct sl_output_conf *conf,
                 const struct sl_strlist *search, const struct sl_state_dir *state, char *err,
                 size_t errlen)
{
    struct sl_sink_instance *i;
    int rc = sl_sink_instance_open(&i, conf, search, err, errlen);
    return rc < 0 ? rc : sink_start(out, i, NULL, state, err, errlen);
}

int sl_sink_open_with(struct sl_sink **out, const struct sl_output_conf *conf,
                      const struct sluice_output_plugin *api, struct sl_queue *queue,
                      char *err, size_t errlen)
{
    struct sl_sink_instance *i;
    int rc = sl_sink_instance_open_with(&i, conf, api, err, errlen);
    if (rc < 0) {
        sl_queue_free(queue);
        return rc;
    }
    return sink_start(out, i, queue, NULL, err, errlen);
}

/* {=== the producers' side */
static void count(atomic_uint_fast64_t *c, size_t n)
{
    if (n > 0)
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

size_t sl_sink_offer(struct sl_sink *s, struct sl_msg *const *msgs, size_t n, int room_fd)
{
    return sl_overload_offer(&s->ov, s->queue, msgs, n, room_fd, &s->stats.enqueued);
}

void sl_sink_notify_room(struct sl_sink *s, int room_fd)
{
    sl_overload_notify_room(&s->ov, s->queue, room_fd);
}

void sl_sink_cancel_notify(struct sl_sink *s, int room_fd)
{
    sl_overload_cancel_notify(&s->ov, s->queue, room_fd);
}

void sl_sink_discard(struct sl_sink *s, struct sl_msg *const *msgs, size_t n)
{
    sl_overload_drop(&s->ov, SL_DROP_FULL, msgs, n);
}

void sl_sink_abandon(struct sl_sink *s, struct sl_msg *const *msgs, size_t n)
{
    count(&s->stats.abandoned, n);
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(msgs[i]);
}
/* }=== */

const struct sl_output_conf *sl_sink_conf(const struct sl_sink *s)
{
    return s->conf;
}

static uint64_t dropped(struct sl_sink *s, struct sl_drop_counts *by)
{
    sl_overload_counts(&s->ov, by);
    uint64_t total = 0;
    for (int r = 0; r < SL_DROP_REASONS; r++)
        total += by->by[r];
    return total;
}

void sl_sink_stats(struct sl_sink *s, struct sl_sink_stats *out)
{
    struct sl_drop_counts by;
    uint64_t total = dropped(s, &by);
    *out = (struct sl_sink_stats){
        .enqueued = atomic_load_explicit(&s->stats.enqueued, memory_order_relaxed),
        .written = atomic_load_explicit(&s->stats.written, memory_order_relaxed),
        .dropped = total,
        .dropped_full = by.by[SL_DROP_FULL],
        .dropped_timeout = by.by[SL_DROP_TIMEOUT],
        .dropped_severity = by.by[SL_DROP_SEVERITY],
        .stalled = sl_overload_stalled(&s->ov),
        .failed = atomic_load_explicit(&s->stats.failed, memory_order_relaxed),
        .abandoned = atomic_load_explicit(&s->stats.abandoned, memory_order_relaxed),
        .write_errors = atomic_load_explicit(&s->stats.write_errors, memory_order_relaxed),
        .retrying = atomic_load_explicit(&s->stats.retrying, memory_order_relaxed),
        .last_error = atomic_load_explicit(&s->stats.last_error, memory_order_relaxed),
    };
    sl_queue_stats(s->queue, &out->queue);
    out->queue_depth = out->queue.depth;
    out->persistent = s->queue->persistent;
}

void sl_sink_counters(struct sl_sink *s, sl_sink_counter_fn emit, void *ctx)
{
    pthread_mutex_lock(&s->pc.mu);
    for (size_t i = 0; i < s->pc.n; i++)
        emit(ctx, s->pc.names[i], s->pc.values[i]);
    pthread_mutex_unlock(&s->pc.mu);
}

const char *sl_sink_name(const struct sl_sink *s)
{
    return s->name; /* not s->conf's: the main thread replaces that one */
}

void sl_sink_stop(struct sl_sink *s, int64_t deadline_ms)
{
    if (atomic_load(&s->stopping))
        return;
    s->stop_deadline_ms = deadline_ms; /* before stopping: the worker reads it after */
    atomic_store(&s->stopping, true);
    sl_queue_close(s->queue);
}

bool sl_sink_stopped(struct sl_sink *s)
{
    return !s->started || atomic_load(&s->ended);
}

void sl_sink_close(struct sl_sink *s, int timeout_ms, struct sl_sink_totals *totals)
{
    if (s == NULL)
        return;
    sl_sink_stop(s, sl_now_ms() + timeout_ms);
    if (s->started)
        pthread_join(s->worker, NULL);
    /* A change handed over too late for the worker: never written with. */
    sl_sink_instance_free(s->next);
    s->next = NULL;
    answer_all(s, call(s, s->api->flush, "flush"));
    if (totals != NULL) {
        totals->written += atomic_load(&s->stats.written);
        struct sl_drop_counts by;
        totals->dropped += dropped(s, &by);
        totals->failed += atomic_load(&s->stats.failed);
        totals->abandoned += atomic_load(&s->stats.abandoned);
    }
    sink_free(s);
}
