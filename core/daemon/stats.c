/* SPDX-License-Identifier: MIT */
/*
 * stats.c: the stats JSON object (sluicectl stats; sl_daemon_stats in
 * daemon.h): the daemon's counters, then each input's, each output's and
 * each route's, on one line.
 *
 * Thread: main. The input threads and the output workers go on counting
 * meanwhile: each counter is read on its own (relaxed), so the object is
 * not one instant.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/counters.h"
#include "daemon/metrics.h"
#include "daemon/runtime.h"
#include "common/clock.h"
#include "format/format.h"
#include "input/input.h"
#include "output/sink.h"

static int json_str(struct sluice_buf *b, const char *s)
{
    int rc = sl_buf_append(b, "\"", 1);
    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        char esc[8];
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            rc = sl_buf_append(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            rc = sl_buf_append(b, esc, 6);
        } else {
            rc = sl_buf_append(b, p, 1);
        }
    }
    return rc ? rc : sl_buf_append(b, "\"", 1);
}

static int appendf(struct sluice_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct sluice_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    return sl_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void stats_input(struct sluice_buf *b, struct sl_input *in)
{
    sl_input_refresh_stats(in);
    const struct sl_input_stats *s = sl_input_stats_of(in);
    const struct sl_input_kind *kind = sl_input_conf_of(in)->kind;
    json_str(b, sl_input_conf_of(in)->name);
    appendf(b, ":{\"type\":\"%s\",\"address\":", kind->name);
    json_str(b, sl_input_address(in));
    appendf(b, ",\"received\":%llu,\"bytes\":%llu,\"parse_errors\":%llu,\"truncated\":%llu",
            SL_LD(s->received), SL_LD(s->bytes), SL_LD(s->parse_errors), SL_LD(s->truncated));
    for (const struct sl_input_counter *c = kind->counters; c->name != NULL; c++)
        appendf(b, ",\"%s\":%llu", c->name,
                SL_LD(*(const atomic_uint_fast64_t *)((const char *)s + c->offset)));
    sl_buf_append(b, "}", 1);
}

/* What stats shows of an output's last failing write() answer. */
static const char *last_error_name(int rc)
{
    switch (rc) {
    case 0:
        return "";
    case SLUICE_RETRY:
        return "write() answered RETRY";
    case SLUICE_FATAL:
        return "write() answered FATAL";
    default:
        return "write() answered an unknown status";
    }
}

/* The plugin's own counters, as an object "plugin" after the daemon's
 * (its names are [a-z0-9_]: the loader checked). */
struct plugin_json {
    struct sluice_buf *b;
    size_t n;
};

static void plugin_counter(void *ctx, const char *name, unsigned long long value)
{
    struct plugin_json *pj = ctx;
    appendf(pj->b, "%s\"%s\":%llu", pj->n++ == 0 ? ",\"plugin\":{" : ",", name, value);
}

static const char *policy_name(enum sl_policy p)
{
    return p == SL_POLICY_DROP ? "drop" : p == SL_POLICY_DISK ? "disk" : "block";
}

/* A disk queue's own counters (sluicectl(1): "disk"). */
static void stats_disk(struct sluice_buf *b, const struct sl_queue_stats *q)
{
    appendf(b, ",\"disk\":{\"bytes\":%llu,\"segments\":%llu,\"replayed\":%llu,"
            "\"corrupt\":%llu,\"torn\":%llu,\"bad_segments\":%llu,\"read_from_disk\":%llu,"
            "\"full\":%llu}", (unsigned long long)q->disk_bytes, (unsigned long long)q->segments,
            (unsigned long long)q->replayed,
            (unsigned long long)q->corrupt, (unsigned long long)q->torn,
            (unsigned long long)q->bad_segments, (unsigned long long)q->read_from_disk,
            (unsigned long long)q->full);
}

static void stats_output(struct sluice_buf *b, struct sl_sink *k)
{
    const struct sl_output_conf *c = sl_sink_conf(k);
    struct sl_sink_stats s;
    sl_sink_stats(k, &s);
    json_str(b, c->name);
    sl_buf_append(b, ":{\"type\":", 9);
    json_str(b, c->type);
    appendf(b,
            ",\"enqueued\":%llu,\"written\":%llu,\"dropped\":%llu,\"dropped_full\":%llu,"
            "\"dropped_timeout\":%llu,\"dropped_severity\":%llu,\"stalled\":%s,\"failed\":%llu,"
            "\"queue_depth\":%zu,\"queue_capacity\":%zu,\"policy\":\"%s\","
            "\"abandoned\":%llu,\"write_errors\":%llu,\"state\":\"%s\",\"last_error\":\"%s\"",
            (unsigned long long)s.enqueued, (unsigned long long)s.written,
            (unsigned long long)s.dropped, (unsigned long long)s.dropped_full,
            (unsigned long long)s.dropped_timeout, (unsigned long long)s.dropped_severity,
            s.stalled ? "true" : "false", (unsigned long long)s.failed, s.queue_depth,
            c->queue.capacity, policy_name(c->queue.policy),
            (unsigned long long)s.abandoned, (unsigned long long)s.write_errors,
            s.retrying ? "retrying" : "ok", last_error_name(s.last_error));
    if (s.persistent)
        stats_disk(b, &s.queue);
    struct plugin_json pj = {b, 0};
    sl_sink_counters(k, plugin_counter, &pj);
    sl_buf_append(b, pj.n > 0 ? "}}" : "}", pj.n > 0 ? 2 : 1);
}


static void stats_routes(struct sluice_buf *b, const struct sl_runtime *rt)
{
    sl_buf_append(b, ",\"routes\":[", 11);
    for (size_t i = 0; rt != NULL && rt->routing.router.routes != NULL
                       && i < rt->config->nroutes; i++) {
        const struct sl_route_stats *s = &rt->routing.router.routes[i];
        appendf(b, "%s{\"line\":%d,\"errors\":%llu,\"discarded\":%llu}", i > 0 ? "," : "",
                rt->config->routes[i].line, SL_LD(s->errors), SL_LD(s->discarded));
    }
    sl_buf_append(b, "]", 1);
}

int sl_daemon_stats(struct sl_daemon *d, struct sluice_buf *b)
{
    appendf(b, "{\"version\":\"%s\",\"uptime\":%lld,\"unrouted\":%llu,\"discarded\":%llu,"
            "\"reloads\":%llu,\"reloads_failed\":%llu,\"inputs\":{", PACKAGE_VERSION,
            (long long)((sl_now_ms() - d->started_ms) / 1000), SL_LD(d->unrouted),
            d->discarded_before + sl_runtime_discarded(d->rt), (unsigned long long)d->reloads,
            (unsigned long long)d->reloads_failed);
    struct sl_runtime *rt = d->rt;
    for (size_t i = 0; rt != NULL && i < rt->ninputs; i++) {
        if (i > 0)
            sl_buf_append(b, ",", 1);
        stats_input(b, rt->inputs[i]);
    }
    sl_buf_append(b, "},\"outputs\":{", 13);
    for (size_t i = 0; rt != NULL && i < rt->routing.nsinks; i++) {
        if (i > 0)
            sl_buf_append(b, ",", 1);
        stats_output(b, rt->routing.sinks[i]);
    }
    sl_buf_append(b, "}", 1);
    stats_routes(b, rt);
    return sl_buf_append(b, "}", 1);
}

int sl_daemon_counters(struct sl_daemon *d, struct sluice_buf *b)
{
    struct sluice_buf json = {0};
    int rc = sl_daemon_stats(d, &json);
    if (rc == 0)
        rc = sl_counters_from_stats(json.data, json.len, (long)getpid(), b);
    free(json.data);
    return rc;
}

/* {=== status: KEY: VALUE lines for a person, and for scripts that grep */
static void utc_text(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
}

int sl_daemon_status(struct sl_daemon *d, struct sluice_buf *b)
{
    char when[32];
    utc_text(d->started_wall, when, sizeof when);
    appendf(b, "state: running\npid: %ld\nversion: %s\n", (long)getpid(), PACKAGE_VERSION);
    sl_buf_append(b, "config: ", 8);
    sl_buf_append(b, d->opts->config_path, strlen(d->opts->config_path));
    appendf(b, "\nstarted: %s\nuptime: %lld\ninputs: %zu\noutputs: %zu\n", when,
            (long long)((sl_now_ms() - d->started_ms) / 1000), d->rt ? d->rt->ninputs : 0,
            d->rt ? d->rt->routing.nsinks : 0);
    appendf(b, "reloads: %llu\nreloads_failed: %llu\n", (unsigned long long)d->reloads,
            (unsigned long long)d->reloads_failed);
    if (d->metrics != NULL)
        appendf(b, "metrics: http://%s/metrics\n", sl_metrics_address(d->metrics));
    if (d->last_reload == 0)
        return sl_buf_append(b, "last_reload: never\n", 19);
    utc_text(d->last_reload, when, sizeof when);
    appendf(b, "last_reload: %s %s\n", when, d->last_reload_ok ? "ok" : "failed");
    if (d->last_reload_ok)
        return 0;
    /* the error as one line: a config error is FILE:LINE: message */
    sl_buf_append(b, "last_reload_error: ", 19);
    for (const char *p = d->last_reload_error; *p != '\0'; p++)
        sl_buf_append(b, *p == '\n' ? " " : p, 1);
    return sl_buf_append(b, "\n", 1);
}
/* }=== */
