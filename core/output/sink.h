/*
 * sink.h: one output: its plugin instance, bounded queue and worker thread.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/lua_config.h"
#include "output/plugin.h"
#include "output/queue.h"

struct sl_sink_stats {
    atomic_uint_fast64_t enqueued;
    atomic_uint_fast64_t written;
    atomic_uint_fast64_t dropped; /* policy drop, and parked messages lost at shutdown */
    atomic_uint_fast64_t failed;  /* batches the plugin called SLUICE_FATAL */
};

struct sl_sink {
    struct sl_output_conf *conf; /* the sink's own deep copy: the config may go first */
    struct sl_plugin *plugin; /* owned; NULL for sl_sink_open_with() */
    const struct sluice_output_plugin *api; /* plugin->api, or the one given */
    void *state; /* the plugin instance */
    struct sl_queue *queue;
    pthread_t worker;
    bool started;
    atomic_bool stopping;
    /* Requests to the worker (sl_sink_request), oldest first. */
    pthread_mutex_t req_mu;
    struct sl_sink_ticket *req_head, **req_tail; /* under req_mu */
    atomic_bool req_pending; /* a hint for the worker: look at req_head */
    int64_t stop_deadline_ms; /* monotonic; after it a stuck retry gives up */
    int64_t next_tick_ms;     /* worker only: when tick() is due */
    bool tick_failing;        /* worker only: the last tick() was not OK */
    struct sl_sink_stats stats;
};

/* Loads the plugin, opens the instance (on a deep copy of conf, which the
 * sink owns: conf itself is only borrowed during the call) and starts the
 * worker. On failure returns a negative errno with a reason in err, and
 * nothing is left open. */
int sl_sink_open(struct sl_sink **out, const struct sl_output_conf *conf,
                 const struct sl_strlist *search, char *err, size_t errlen);

/* As sl_sink_open(), with the descriptor api instead of a plugin loaded
 * by conf->type: for tests (a fake plugin built in the test) and outputs
 * built into the daemon. api is borrowed and must outlive the sink. */
int sl_sink_open_with(struct sl_sink **out, const struct sl_output_conf *conf,
                      const struct sluice_output_plugin *api, char *err, size_t errlen);

/* Thread: any. Offers msgs[0..n) in order; returns how many the queue took
 * (their references go with them) and counts them as enqueued. */
size_t sl_sink_push(struct sl_sink *s, struct sl_msg *const *msgs, size_t n);

enum sl_sink_op {
    SL_SINK_REOPEN, /* the plugin's reopen(): what is written after goes to new files */
    SL_SINK_FLUSH   /* what was queued before is written (or given up), then flush() */
};

/* One caller's request to a sink's worker, and where its answer goes. The
 * caller owns the struct and sets efd; the sink borrows the struct from
 * sl_sink_request() until it answers, which it always does: the worker
 * when it has done the work, or sl_sink_close(). Answering sets status,
 * then done (release), and then writes 1 to efd (when >= 0), so efd must
 * stay open until every sink that may answer has been closed, while the
 * struct may be freed as soon as done reads true (acquire). */
struct sl_sink_ticket {
    int efd;
    int status; /* once done: 0; -EIO: the plugin answered RETRY or FATAL;
                 * -ECANCELED: the output closed before it could reopen */
    atomic_bool done;
    /* the sink's, while it holds the ticket */
    enum sl_sink_op op;
    uint64_t target; /* SL_SINK_FLUSH: written + failed to reach first */
    struct sl_sink_ticket *next;
};

/* Thread: any. Hands t (efd set by the caller) to the worker for op and
 * returns at once; see struct sl_sink_ticket for the answer. Requests
 * that wait together are served by one call of the plugin. */
void sl_sink_request(struct sl_sink *s, enum sl_sink_op op, struct sl_sink_ticket *t);

/* Thread: any. The output's name, for messages; valid while s is open. */
const char *sl_sink_name(const struct sl_sink *s);

struct sl_sink_totals {
    uint64_t written, dropped, failed;
};

/* Drains the queue (giving a stuck output until timeout_ms), stops the
 * worker, closes the plugin and frees everything, adding the output's final
 * counters to *totals (when not NULL). NULL is a no-op. */
void sl_sink_close(struct sl_sink *s, int timeout_ms, struct sl_sink_totals *totals);

#include "common/clock.h" /* sl_now_ms(), which this header used to declare */

#endif /* SL_SINK_H */
