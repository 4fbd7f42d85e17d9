/* SPDX-License-Identifier: MIT */
/* sluicectl_counters.c: the `counters` answer read back, and rates
 * (sluicectl_counters.h). */
#include "config.h"

#include "sluicectl_counters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes the daemon's \xHH escapes in place (counters.c writes a blank,
 * '=', '\\' or a control that way). */
static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void unescape(char *s)
{
    char *to = s;
    for (const char *p = s; *p != '\0'; p++) {
        int hi, lo;
        if (p[0] == '\\' && p[1] == 'x' && (hi = hex(p[2])) >= 0 && (lo = hex(p[3])) >= 0) {
            *to++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *to++ = *p;
        }
    }
    *to = '\0';
}

static bool number(const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        return false;
    *out = strtoull(text, &end, 10);
    return errno == 0 && *end == '\0';
}

/* {=== what each kind of line keeps */
struct field {
    const char *key;
    size_t offset;
};

#define FIELD(k, member) {k, offsetof(struct sl_counters_obj, member)}
static const struct field input_fields[] = {
    FIELD("received", received), FIELD("bytes", bytes), {NULL, 0}};
static const struct field output_fields[] = {
    FIELD("enqueued", enqueued), FIELD("written", written), FIELD("dropped", dropped),
    FIELD("failed", failed),     FIELD("queue_depth", depth), FIELD("queue_capacity", capacity),
    {NULL, 0}};
#undef FIELD

/* key=value of an input or output; false when the value of a key it keeps
 * is not a number. */
static bool obj_pair(struct sl_counters_obj *o, const char *key, const char *value)
{
    unsigned long long n;
    if (o->kind == SL_COUNTERS_INPUT && (strcmp(key, "parse_errors") == 0
                                         || strcmp(key, "framing_errors") == 0)) {
        if (!number(value, &n))
            return false;
        o->errors += n;
        return true;
    }
    if (o->kind == SL_COUNTERS_OUTPUT && strcmp(key, "state") == 0) {
        o->retrying = strcmp(value, "retrying") == 0;
        return true;
    }
    const struct field *f = o->kind == SL_COUNTERS_INPUT ? input_fields : output_fields;
    for (; f->key != NULL; f++) {
        if (strcmp(key, f->key) == 0)
            return number(value, (unsigned long long *)((char *)o + f->offset));
    }
    return true; /* a counter top does not show */
}

static bool daemon_pair(struct sl_counters *s, const char *key, const char *value)
{
    unsigned long long n;
    if (strcmp(key, "version") == 0) {
        snprintf(s->version, sizeof s->version, "%s", value);
        return true;
    }
    bool keep = strcmp(key, "pid") == 0 || strcmp(key, "uptime") == 0
                || strcmp(key, "unrouted") == 0;
    if (!keep)
        return true;
    if (!number(value, &n))
        return false;
    if (strcmp(key, "pid") == 0)
        s->pid = (long)n;
    else if (strcmp(key, "uptime") == 0)
        s->uptime = (long long)n;
    else
        s->unrouted = n;
    return true;
}
/* }=== */

static struct sl_counters_obj *add(struct sl_counters *s, enum sl_counters_kind kind)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct sl_counters_obj *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->v = v, s->cap = cap;
    }
    struct sl_counters_obj *o = &s->v[s->n++];
    *o = (struct sl_counters_obj){.kind = kind};
    return o;
}

/* One line (NUL-terminated, changed in place). 0, -EINVAL, -ENOMEM. */
static int parse_line(struct sl_counters *s, char *line)
{
    char *save = NULL;
    char *kind = strtok_r(line, " ", &save);
    if (kind == NULL)
        return 0; /* an empty line */
    struct sl_counters_obj *o = NULL;
    bool is_daemon = strcmp(kind, "daemon") == 0;
    if (strcmp(kind, "route") == 0)
        return 0;
    if (!is_daemon) {
        bool in = strcmp(kind, "input") == 0;
        if (!in && strcmp(kind, "output") != 0)
            return 0; /* a kind of line a newer daemon has */
        char *name = strtok_r(NULL, " ", &save);
        if (name == NULL)
            return -EINVAL;
        unescape(name);
        if (strlen(name) >= sizeof o->name)
            return -EINVAL;
        if ((o = add(s, in ? SL_COUNTERS_INPUT : SL_COUNTERS_OUTPUT)) == NULL)
            return -ENOMEM;
        memcpy(o->name, name, strlen(name) + 1);
    }
    for (char *pair; (pair = strtok_r(NULL, " ", &save)) != NULL;) {
        char *eq = strchr(pair, '=');
        if (eq == NULL || eq == pair)
            return -EINVAL;
        *eq = '\0';
        unescape(pair);
        unescape(eq + 1);
        if (!(o != NULL ? obj_pair(o, pair, eq + 1) : daemon_pair(s, pair, eq + 1)))
            return -EINVAL;
    }
    return 0;
}

int sl_counters_parse(struct sl_counters *s, const char *text, size_t len, size_t *bad_line)
{
    size_t lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        char *line = malloc(n + 1);
        if (line == NULL)
            return -ENOMEM;
        memcpy(line, text + at, n);
        line[n] = '\0';
        lineno++;
        int rc = memchr(line, '\0', n) != NULL ? -EINVAL : parse_line(s, line);
        free(line);
        if (rc < 0) {
            if (bad_line != NULL)
                *bad_line = lineno;
            return rc;
        }
        at += n + 1;
    }
    return 0;
}

void sl_counters_free(struct sl_counters *s)
{
    free(s->v);
    *s = (struct sl_counters){0};
}

const struct sl_counters_obj *sl_counters_find(const struct sl_counters *s,
                                               enum sl_counters_kind kind, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].kind == kind && strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    }
    return NULL;
}

/* Per second from before to now; a counter that went backwards restarted
 * at zero. */
static double per_second(unsigned long long before, unsigned long long now, double seconds)
{
    unsigned long long delta = now >= before ? now - before : now;
    return (double)delta / seconds;
}

bool sl_counters_rate(const struct sl_counters_obj *prev, const struct sl_counters_obj *cur,
                      double seconds, struct sl_counters_rate *r)
{
    *r = (struct sl_counters_rate){0};
    if (prev == NULL || !(seconds > 0))
        return false;
    r->received = per_second(prev->received, cur->received, seconds);
    r->bytes = per_second(prev->bytes, cur->bytes, seconds);
    r->errors = per_second(prev->errors, cur->errors, seconds);
    r->enqueued = per_second(prev->enqueued, cur->enqueued, seconds);
    r->written = per_second(prev->written, cur->written, seconds);
    r->dropped = per_second(prev->dropped, cur->dropped, seconds);
    r->failed = per_second(prev->failed, cur->failed, seconds);
    return true;
}
