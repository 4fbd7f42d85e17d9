/* SPDX-License-Identifier: MIT */
/*
 * stats_walk.c: the stats object read back for its visitors (stats_walk.h).
 * Not a general JSON reader: it reads what stats.c writes, and says
 * -EINVAL for anything else rather than guess.
 */
#include "daemon/stats_walk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX_LEN 96
#define MAX_DEPTH 6

struct walk {
    const char *p, *end;
    const struct sl_stats_visitor *v;
    void *ctx;
    bool bad;
    /* where the walk is (struct sl_stats_at points into these) */
    char section[16], object[KEY_MAX_LEN], sub[16];
};

static struct sl_stats_at at_of(const struct walk *w, const char *key)
{
    return (struct sl_stats_at){w->section, w->object, w->sub, key};
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

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

/* An object's members; key names the object itself (an input's or
 * output's name at depth 2; a route's line was set by elements()). */
static void members(struct walk *w, const char *key, int depth)
{
    char saved_sub[sizeof w->sub];
    snprintf(saved_sub, sizeof saved_sub, "%s", w->sub);
    if (depth == 1)
        snprintf(w->section, sizeof w->section, "%s", key);
    else if (depth == 2 && !is(w->section, "routes"))
        snprintf(w->object, sizeof w->object, "%s", key);
    else if (depth == 3)
        snprintf(w->sub, sizeof w->sub, "%s", key);
    struct sl_stats_at at = at_of(w, "");
    if (depth == 2 && w->v->begin != NULL)
        w->v->begin(w->ctx, &at);
    if (!eat(w, '}')) {
        do {
            char name[KEY_MAX_LEN];
            if (!read_string(w, name, sizeof name) || !eat(w, ':')) {
                w->bad = true;
                return;
            }
            value(w, name, depth + 1);
        } while (!w->bad && eat(w, ','));
        w->bad = w->bad || !eat(w, '}');
    }
    if (depth == 2 && !w->bad && w->v->end != NULL)
        w->v->end(w->ctx, &at);
    snprintf(w->sub, sizeof w->sub, "%s", saved_sub);
    if (depth == 2)
        w->object[0] = '\0';
    if (depth == 1)
        w->section[0] = '\0';
}

/* The routes array: each element's line, its first member, is its name. */
static void elements(struct walk *w, const char *key, int depth)
{
    snprintf(w->section, sizeof w->section, "%s", key);
    if (!eat(w, ']')) {
        do {
            skip_ws(w);
            const char *q = w->p;
            long line = 0;
            if (w->end - q > 8 && memcmp(q, "{\"line\":", 8) == 0)
                line = strtol(q + 8, NULL, 10);
            snprintf(w->object, sizeof w->object, "%ld", line);
            value(w, "", depth + 1);
        } while (!w->bad && eat(w, ','));
        w->bad = w->bad || !eat(w, ']');
    }
    w->section[0] = '\0';
}

static void scalar(struct walk *w, const char *key)
{
    char text[512];
    struct sl_stats_at at = at_of(w, key);
    if (*w->p == '"') {
        if (read_string(w, text, sizeof text))
            w->v->string(w->ctx, &at, text);
        else
            w->bad = true;
    } else if (w->end - w->p >= 4 && memcmp(w->p, "true", 4) == 0) {
        w->p += 4;
        w->v->number(w->ctx, &at, "1");
    } else if (w->end - w->p >= 5 && memcmp(w->p, "false", 5) == 0) {
        w->p += 5;
        w->v->number(w->ctx, &at, "0");
    } else {
        size_t n = 0;
        while (n < (size_t)(w->end - w->p) && strchr("-0123456789.eE+", w->p[n]) != NULL
               && w->p[n] != '\0')
            n++;
        if (n == 0 || n >= 32) {
            w->bad = true;
            return;
        }
        snprintf(text, sizeof text, "%.*s", (int)n, w->p);
        w->p += n;
        if (!(is(w->section, "routes") && is(key, "line"))) /* the route's name */
            w->v->number(w->ctx, &at, text);
    }
}

static void value(struct walk *w, const char *key, int depth)
{
    skip_ws(w);
    if (w->p >= w->end || depth > MAX_DEPTH) {
        w->bad = true;
        return;
    }
    if (*w->p == '{') {
        w->p++;
        members(w, key, depth);
    } else if (*w->p == '[') {
        w->p++;
        elements(w, key, depth);
    } else {
        scalar(w, key);
    }
}

int sl_stats_walk(const char *json, size_t len, const struct sl_stats_visitor *v, void *ctx)
{
    struct walk w = {.p = json, .end = json + len, .v = v, .ctx = ctx};
    value(&w, "", 0);
    return w.bad ? -EINVAL : 0;
}
