/* SPDX-License-Identifier: MIT */
/*
 * prometheus.c: the stats object in the Prometheus text format (version
 * 0.0.4), for GET /metrics (metrics.c).
 *
 * The counters come from the walk `sluicectl stats` prints
 * (sl_daemon_stats), read back by sl_stats_walk (stats_walk.h), so the two
 * never disagree and a counter added to stats is on the page without code
 * of its own. Each number becomes a sample:
 *
 *   top level          sluice_KEY_total, sluice_uptime_seconds (gauge),
 *                      sluice_build_info{version="..."} 1
 *   inputs.NAME.KEY    sluice_input_KEY_total{input="NAME",type="tcp"};
 *                      connections is a gauge
 *   outputs.NAME.KEY   sluice_output_KEY_total{output="NAME",type="file"};
 *                      queue_depth, queue_capacity, stalled (0 or 1) and
 *                      retrying (state) are gauges; disk.KEY is
 *                      sluice_output_disk_KEY (bytes and segments gauges);
 *                      plugin.KEY sluice_output_plugin_KEY, untyped (the
 *                      plugin knows what it counts)
 *   routes[i].KEY      sluice_route_KEY_total{line="N"}
 *
 * Samples of one metric are written together under one TYPE line, as the
 * format wants: collected first, then grouped in the order first seen.
 *
 * Thread: main (sl_daemon_stats's).
 */
#include "config.h"

#include "daemon/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "daemon/stats_walk.h"
#include "format/format.h" /* sl_buf_append */

#define NAME_MAX_LEN 96
#define LABELS_MAX_LEN 256

struct sample {
    char name[NAME_MAX_LEN];
    const char *type; /* "counter", "gauge", "untyped" */
    char labels[LABELS_MAX_LEN];
    char value[32];
};

struct page {
    struct sample *v;
    size_t n, cap;
    bool oom;
    char labels[LABELS_MAX_LEN]; /* the labels of the object the walk is in */
};

/* {=== samples */
static void add(struct page *w, const char *name, const char *type, const char *value)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct sample *v = sl_realloc(w->v, cap * sizeof *v);
        if (v == NULL) {
            w->oom = true;
            return;
        }
        w->v = v, w->cap = cap;
    }
    struct sample *s = &w->v[w->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->type = type;
    snprintf(s->labels, sizeof s->labels, "%s", w->labels);
    snprintf(s->value, sizeof s->value, "%s", value);
}

/* A label pair name="value", the value escaped as the format wants. */
static void label(char *buf, size_t len, const char *name, const char *value)
{
    size_t at = strlen(buf);
    at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s=\"", at ? "," : "", name);
    for (const char *c = value; *c != '\0' && at + 3 < len; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n')
            buf[at++] = '\\';
        buf[at++] = *c == '\n' ? 'n' : *c;
    }
    if (at + 2 < len) {
        buf[at++] = '"';
        buf[at] = '\0';
    }
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* The sample a number at key makes, where the walk is. */
static void number(void *ctx, const struct sl_stats_at *at, const char *value)
{
    struct page *w = ctx;
    const char *key = at->key;
    char name[NAME_MAX_LEN];
    const char *type = "counter";
    if (at->section[0] == '\0') {
        if (is(key, "uptime"))
            snprintf(name, sizeof name, "sluice_uptime_seconds"), type = "gauge";
        else
            snprintf(name, sizeof name, "sluice_%s_total", key);
    } else if (is(at->section, "inputs")) {
        bool gauge = is(key, "connections");
        snprintf(name, sizeof name, "sluice_input_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(at->section, "outputs") && is(at->sub, "plugin")) {
        snprintf(name, sizeof name, "sluice_output_plugin_%s", key), type = "untyped";
    } else if (is(at->section, "outputs") && is(at->sub, "disk")) {
        bool gauge = is(key, "bytes") || is(key, "segments");
        snprintf(name, sizeof name, "sluice_output_disk_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(at->section, "outputs")) {
        bool gauge = is(key, "queue_depth") || is(key, "queue_capacity") || is(key, "stalled");
        snprintf(name, sizeof name, "sluice_output_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(at->section, "routes")) {
        snprintf(name, sizeof name, "sluice_route_%s_total", key);
    } else {
        return;
    }
    add(w, name, type, value);
}

/* A string at key: a label of the object (type, a route's line), or a
 * state that reads as a gauge. */
static void string(void *ctx, const struct sl_stats_at *at, const char *value)
{
    struct page *w = ctx;
    const char *key = at->key;
    if (at->section[0] == '\0' && is(key, "version")) {
        char saved[LABELS_MAX_LEN];
        snprintf(saved, sizeof saved, "%s", w->labels);
        w->labels[0] = '\0';
        label(w->labels, sizeof w->labels, "version", value);
        add(w, "sluice_build_info", "gauge", "1");
        snprintf(w->labels, sizeof w->labels, "%s", saved);
    } else if (at->sub[0] == '\0' && is(key, "type") && !is(at->section, "routes")) {
        label(w->labels, sizeof w->labels, "type", value);
    } else if (is(at->section, "outputs") && at->sub[0] == '\0' && is(key, "state")) {
        add(w, "sluice_output_retrying", "gauge", is(value, "retrying") ? "1" : "0");
    }
}

/* An input's, output's or route's labels: its name (a route's line), then
 * its type when string() meets it. */
static void begin(void *ctx, const struct sl_stats_at *at)
{
    struct page *w = ctx;
    w->labels[0] = '\0';
    const char *name = is(at->section, "inputs") ? "input"
                       : is(at->section, "outputs") ? "output" : "line";
    label(w->labels, sizeof w->labels, name, at->object);
}

static void end(void *ctx, const struct sl_stats_at *at)
{
    struct page *w = ctx;
    (void)at;
    w->labels[0] = '\0';
}
/* }=== */

/* {=== writing: every sample of a metric under its one TYPE line */
static int write_samples(const struct page *w, struct sluice_buf *b)
{
    bool *done = sl_calloc(w->n ? w->n : 1, sizeof *done);
    if (done == NULL)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        if (done[i])
            continue;
        char line[512];
        int len = snprintf(line, sizeof line, "# TYPE %s %s\n", w->v[i].name, w->v[i].type);
        rc = sl_buf_append(b, line, (size_t)len);
        for (size_t j = i; j < w->n && rc == 0; j++) {
            const struct sample *s = &w->v[j];
            if (done[j] || !is(s->name, w->v[i].name))
                continue;
            done[j] = true;
            len = snprintf(line, sizeof line, "%s%s%s%s %s\n", s->name, s->labels[0] ? "{" : "",
                           s->labels, s->labels[0] ? "}" : "", s->value);
            rc = sl_buf_append(b, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
        }
    }
    free(done);
    return rc;
}
/* }=== */

int sl_metrics_from_stats(const char *json, size_t len, struct sluice_buf *b)
{
    static const struct sl_stats_visitor visitor = {number, string, begin, end};
    struct page w = {0};
    int rc = sl_stats_walk(json, len, &visitor, &w);
    rc = rc < 0 ? rc : w.oom ? -ENOMEM : write_samples(&w, b);
    free(w.v);
    return rc;
}
