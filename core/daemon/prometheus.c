/* SPDX-License-Identifier: MIT */
/*
 * prometheus.c: the stats object in the Prometheus text format (version
 * 0.0.4), for GET /metrics (metrics.c).
 *
 * The counters come from the walk `sluicectl stats` prints
 * (sl_daemon_stats), read back here, so the two never disagree and a
 * counter added to stats is on the page without code of its own. That
 * object is the daemon's own: keys are [a-z0-9_], input and output names
 * [A-Za-z0-9_.-], strings escaped as JSON. Each number becomes a sample:
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
#include "format/format.h" /* sl_buf_append */

#define NAME_MAX_LEN 96
#define LABELS_MAX_LEN 256

struct sample {
    char name[NAME_MAX_LEN];
    const char *type; /* "counter", "gauge", "untyped" */
    char labels[LABELS_MAX_LEN];
    char value[32];
};

struct walk {
    const char *p, *end;
    struct sample *v;
    size_t n, cap;
    bool oom, bad;
    /* where the walk is: the section (inputs, outputs, routes, top), the
     * object's name and its labels, and a sub-object (disk, plugin) */
    char section[16], sub[16], labels[LABELS_MAX_LEN];
};

/* {=== samples */
static void add(struct walk *w, const char *name, const char *type, const char *value)
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
static void number(struct walk *w, const char *key, const char *value)
{
    char name[NAME_MAX_LEN];
    const char *type = "counter";
    if (w->section[0] == '\0') {
        if (is(key, "uptime"))
            snprintf(name, sizeof name, "sluice_uptime_seconds"), type = "gauge";
        else
            snprintf(name, sizeof name, "sluice_%s_total", key);
    } else if (is(w->section, "inputs")) {
        bool gauge = is(key, "connections");
        snprintf(name, sizeof name, "sluice_input_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(w->section, "outputs") && is(w->sub, "plugin")) {
        snprintf(name, sizeof name, "sluice_output_plugin_%s", key), type = "untyped";
    } else if (is(w->section, "outputs") && is(w->sub, "disk")) {
        bool gauge = is(key, "bytes") || is(key, "segments");
        snprintf(name, sizeof name, "sluice_output_disk_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(w->section, "outputs")) {
        bool gauge = is(key, "queue_depth") || is(key, "queue_capacity") || is(key, "stalled");
        snprintf(name, sizeof name, "sluice_output_%s%s", key, gauge ? "" : "_total");
        type = gauge ? "gauge" : "counter";
    } else if (is(w->section, "routes")) {
        snprintf(name, sizeof name, "sluice_route_%s_total", key);
    } else {
        return;
    }
    add(w, name, type, value);
}

/* A string at key: a label of the object (type, a route's line), or a
 * state that reads as a gauge. */
static void string(struct walk *w, const char *key, const char *value)
{
    if (w->section[0] == '\0' && is(key, "version")) {
        char saved[LABELS_MAX_LEN];
        snprintf(saved, sizeof saved, "%s", w->labels);
        w->labels[0] = '\0';
        label(w->labels, sizeof w->labels, "version", value);
        add(w, "sluice_build_info", "gauge", "1");
        snprintf(w->labels, sizeof w->labels, "%s", saved);
    } else if (w->sub[0] == '\0' && is(key, "type") && !is(w->section, "routes")) {
        label(w->labels, sizeof w->labels, "type", value);
    } else if (is(w->section, "outputs") && w->sub[0] == '\0' && is(key, "state")) {
        add(w, "sluice_output_retrying", "gauge", is(value, "retrying") ? "1" : "0");
    }
}
/* }=== */

/* {=== reading the object back: the JSON sl_daemon_stats writes */
static void skip_ws(struct walk *w)
{
    while (w->p < w->end && (*w->p == ' ' || *w->p == '\n'))
        w->p++;
}

static bool eat(struct walk *w, char c)
{
    skip_ws(w);
    if (w->p < w->end && *w->p == c) {
        w->p++;
        return true;
    }
    return false;
}

/* A string into buf (its JSON escapes undone as far as our output has
 * them: \" \\ and \u00XX); false when malformed. */
static bool read_string(struct walk *w, char *buf, size_t len)
{
    size_t at = 0;
    if (!eat(w, '"'))
        return false;
    while (w->p < w->end && *w->p != '"') {
        char c = *w->p++;
        if (c == '\\' && w->p < w->end) {
            c = *w->p++;
            if (c == 'u' && w->end - w->p >= 4) {
                c = (char)strtol((char[]){w->p[2], w->p[3], 0}, NULL, 16);
                w->p += 4;
            }
        }
        if (at + 1 < len)
            buf[at++] = c;
    }
    buf[at] = '\0';
    return eat(w, '"');
}

static void value(struct walk *w, const char *key, int depth);

/* An object's members; key names the object itself. */
static void members(struct walk *w, const char *key, int depth)
{
    char saved_labels[LABELS_MAX_LEN], saved_sub[16];
    snprintf(saved_labels, sizeof saved_labels, "%s", w->labels);
    snprintf(saved_sub, sizeof saved_sub, "%s", w->sub);
    if (depth == 1)
        snprintf(w->section, sizeof w->section, "%s", key);
    else if (depth == 2 && !is(w->section, "routes"))
        label(w->labels, sizeof w->labels, is(w->section, "inputs") ? "input" : "output", key);
    else if (depth == 3)
        snprintf(w->sub, sizeof w->sub, "%s", key);
    if (!eat(w, '}')) {
        do {
            char name[NAME_MAX_LEN];
            if (!read_string(w, name, sizeof name) || !eat(w, ':')) {
                w->bad = true;
                return;
            }
            value(w, name, depth + 1);
        } while (!w->bad && eat(w, ','));
        w->bad = w->bad || !eat(w, '}');
    }
    snprintf(w->labels, sizeof w->labels, "%s", saved_labels);
    snprintf(w->sub, sizeof w->sub, "%s", saved_sub);
    if (depth == 1)
        w->section[0] = '\0';
}

/* The routes array: each element's line is its label. */
static void elements(struct walk *w, const char *key, int depth)
{
    snprintf(w->section, sizeof w->section, "%s", key);
    if (!eat(w, ']')) {
        do {
            skip_ws(w);
            /* {"line":N,...}: the label from the first member */
            const char *q = w->p;
            long line = 0;
            if (w->end - q > 8 && memcmp(q, "{\"line\":", 8) == 0)
                line = strtol(q + 8, NULL, 10);
            char num[24];
            snprintf(num, sizeof num, "%ld", line);
            w->labels[0] = '\0';
            label(w->labels, sizeof w->labels, "line", num);
            value(w, "", depth + 1);
            w->labels[0] = '\0';
        } while (!w->bad && eat(w, ','));
        w->bad = w->bad || !eat(w, ']');
    }
    w->section[0] = '\0';
}

static void value(struct walk *w, const char *key, int depth)
{
    skip_ws(w);
    if (w->p >= w->end || depth > 6) {
        w->bad = true;
        return;
    }
    char text[512];
    if (*w->p == '{') {
        w->p++;
        members(w, key, depth);
    } else if (*w->p == '[') {
        w->p++;
        elements(w, key, depth);
    } else if (*w->p == '"') {
        if (read_string(w, text, sizeof text))
            string(w, key, text);
        else
            w->bad = true;
    } else if (w->end - w->p >= 4 && memcmp(w->p, "true", 4) == 0) {
        w->p += 4;
        number(w, key, "1");
    } else if (w->end - w->p >= 5 && memcmp(w->p, "false", 5) == 0) {
        w->p += 5;
        number(w, key, "0");
    } else {
        size_t n = strspn(w->p, "-0123456789.eE+");
        if (n == 0 || n >= 32 || (size_t)(w->end - w->p) < n) {
            w->bad = true;
            return;
        }
        snprintf(text, sizeof text, "%.*s", (int)n, w->p);
        w->p += n;
        if (!is(key, "line")) /* a route's line is its label, not a sample */
            number(w, key, text);
    }
}
/* }=== */

/* {=== writing: every sample of a metric under its one TYPE line */
static int write_samples(const struct walk *w, struct sluice_buf *b)
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
    struct walk w = {.p = json, .end = json + len};
    value(&w, "", 0);
    int rc = w.oom ? -ENOMEM : w.bad ? -EINVAL : write_samples(&w, b);
    free(w.v);
    return rc;
}
