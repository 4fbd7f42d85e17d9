/* SPDX-License-Identifier: MIT */
/*
 * lua_queue.c: an output's `queue = { ... }` table, into struct
 * sl_queue_conf, and durations ("5s") for every reader.
 *
 *   queue = { capacity = 10000, max_bytes = "16M", policy = "block"|"drop"|"disk",
 *             disk = { max_size = "1G", sync = "batch"|"none"|"1s", segment_size = "16M" },
 *             overflow = "block"|"drop", block_timeout = "5s",
 *             drop_severity = "info", high_water = 0.8 }
 *
 * The keys are read one by one; what only makes sense together is checked
 * once the table is read (check_combination), so that a key that does
 * nothing with the policy given is an error rather than a setting that
 * silently does not apply: an operator who writes block_timeout under
 * policy drop believes something false about the output.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "common/msg.h"
#include "conf/lua_decl.h"
#include "input/kind.h"

/* {=== durations */
int sl_parse_duration_ms(const char *s, long long max_ms, long long *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -ERANGE;
    unsigned long long unit;
    if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * 1000;
    else if (strcmp(end, "d") == 0)
        unit = 86400 * 1000;
    else
        return -EINVAL;
    if (v > (unsigned long long)max_ms / unit)
        return -ERANGE;
    *out = (long long)(v * unit);
    return 0;
}

bool sl_decl_want_duration(const struct sl_decl *d, const char *key, int idx, long long min_ms,
                           long long max_ms, long long *out)
{
    lua_State *L = d->L;
    long long ms;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double secs = lua_tonumber(L, idx);
        if (!(secs >= 0) || secs * 1000 > (double)max_ms) {
            sl_decl_error(d, "key '%s': duration %s is out of range", key, lua_tostring(L, idx));
            return false;
        }
        ms = (long long)(secs * 1000 + 0.5);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        int rc = sl_parse_duration_ms(lua_tostring(L, idx), max_ms, &ms);
        if (rc < 0) {
            sl_decl_error(d, "key '%s': %s duration '%s' (a number of seconds or a string like "
                          "\"250ms\", \"5s\", \"2m\", \"1h\")", key,
                          rc == -ERANGE ? "too long a" : "bad", lua_tostring(L, idx));
            return false;
        }
    } else {
        sl_decl_wrong_type(d, key, "a duration (seconds, or a string like \"5s\")", idx);
        return false;
    }
    if (ms < min_ms || ms > max_ms) {
        sl_decl_error(d, "key '%s': duration of %lld ms is out of range (%lld to %lld ms)", key,
                      ms, min_ms, max_ms);
        return false;
    }
    *out = ms;
    return true;
}
/* }=== */

/* {=== queue = { ... } */
enum {
    Q_CAPACITY, Q_MAX_BYTES, Q_BYTES, Q_POLICY, Q_OVERFLOW, Q_BLOCK_TIMEOUT, Q_DROP_SEVERITY,
    Q_HIGH_WATER, Q_DISK
};
static const char *const queue_keys[] = {
    "capacity", "max_bytes", "bytes", "policy", "overflow", "block_timeout", "drop_severity",
    "high_water", "disk", NULL};
static const char *const policies[] = {"block", "drop", "disk", NULL};

enum { D_MAX_SIZE, D_SYNC, D_SEGMENT_SIZE };
static const char *const disk_keys[] = {"max_size", "sync", "segment_size", NULL};

#define MAX_TIMEOUT_MS (24LL * 3600 * 1000)
#define MIN_DISK_SIZE (64ULL << 10) /* a few segments of the smallest size */
#define MIN_SEGMENT_SIZE (4ULL << 10)

/* A name of names[] into *out, or an error listing them. */
static bool want_name(const struct sl_decl *d, const char *key, int v, const char *const *names,
                      const char *what, const char *list, int *out)
{
    char *s = NULL, hint[96];
    if (!sl_decl_want_string(d, key, v, &s))
        return false;
    int k = sl_decl_name_index(names, s);
    if (k < 0)
        sl_decl_error(d, "key '%s': unknown %s '%s' (%s)%s", key, what, s, list,
                      sl_decl_did_you_mean(hint, sizeof hint, "", s, names));
    else
        *out = k;
    free(s);
    return k >= 0;
}

static void want_sync(const struct sl_decl *d, const char *key, int v, struct sl_queue_conf *q)
{
    lua_State *L = d->L;
    if (lua_type(L, v) == LUA_TSTRING && strcmp(lua_tostring(L, v), "none") == 0) {
        q->disk_sync = SL_DISK_SYNC_NONE;
        return;
    }
    if (lua_type(L, v) == LUA_TSTRING && strcmp(lua_tostring(L, v), "batch") == 0) {
        q->disk_sync = SL_DISK_SYNC_BATCH;
        return;
    }
    long long ms;
    if (lua_type(L, v) == LUA_TSTRING && lua_tostring(L, v)[0] >= '0'
        && lua_tostring(L, v)[0] <= '9') {
        if (sl_decl_want_duration(d, key, v, 1, 3600 * 1000, &ms)) {
            q->disk_sync = SL_DISK_SYNC_INTERVAL;
            q->disk_sync_ms = (int)ms;
        }
        return;
    }
    sl_decl_error(d, "key '%s' wants \"batch\" (fdatasync after each batch), \"none\" (the "
                  "page cache only) or an interval such as \"1s\"", key);
}

static void set_disk(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_queue_conf *q = obj;
    unsigned long long size;
    switch (k) {
    case D_MAX_SIZE:
        if (sl_decl_want_size(d, key, v, MIN_DISK_SIZE, 1ull << 50, &size))
            q->disk_max_size = size;
        break;
    case D_SEGMENT_SIZE:
        if (sl_decl_want_size(d, key, v, MIN_SEGMENT_SIZE, 1ull << 30, &size))
            q->disk_segment_size = size;
        break;
    case D_SYNC: want_sync(d, key, v, q); break;
    }
}

static void want_high_water(const struct sl_decl *d, const char *key, int v, double *out)
{
    if (lua_type(d->L, v) != LUA_TNUMBER) {
        sl_decl_wrong_type(d, key, "a number above 0 and at most 1", v);
        return;
    }
    double f = lua_tonumber(d->L, v);
    if (!(f > 0 && f <= 1))
        sl_decl_error(d, "key '%s' wants a number above 0 and at most 1 (a fraction of the "
                      "queue), got %s", key, lua_tostring(d->L, v));
    else
        *out = f;
}

static bool want_drop_severity(const struct sl_decl *d, const char *key, int v, int *out)
{
    char *s = NULL;
    if (!sl_decl_want_string(d, key, v, &s))
        return false;
    int sev = sl_severity_from_name(s, strlen(s));
    if (sev < 0)
        sl_decl_error(d, "key '%s': unknown severity '%s' (emerg, alert, crit, err, warning, "
                      "notice, info or debug)", key, s);
    else
        *out = sev;
    free(s);
    return sev >= 0;
}

static void set_queue(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_queue_conf *q = &((struct sl_output_conf *)obj)->queue;
    unsigned long long size;
    long long n;
    int i;
    switch (k) {
    case Q_CAPACITY:
        if (sl_decl_want_int(d, key, v, 1, 1 << 30, &n))
            q->capacity = (size_t)n;
        break;
    case Q_MAX_BYTES:
    case Q_BYTES:
        if (sl_decl_want_size(d, key, v, 1, 1ull << 40, &size))
            q->max_bytes = (size_t)size;
        break;
    case Q_POLICY:
        if (want_name(d, key, v, policies, "policy", "block, drop or disk", &i))
            q->policy = (enum sl_policy)i;
        break;
    case Q_OVERFLOW:
        if (!want_name(d, key, v, policies, "overflow", "block or drop", &i))
            break;
        if (i == SL_POLICY_DISK)
            sl_decl_error(d, "key '%s': the disk queue's overflow is block or drop", key);
        else
            q->overflow = (enum sl_policy)i;
        break;
    case Q_BLOCK_TIMEOUT:
        if (sl_decl_want_duration(d, key, v, 1, MAX_TIMEOUT_MS, &n))
            q->block_timeout_ms = (int)n;
        break;
    case Q_DROP_SEVERITY:
        q->drop_by_severity = want_drop_severity(d, key, v, &q->drop_severity);
        break;
    case Q_HIGH_WATER: want_high_water(d, key, v, &q->high_water); break;
    case Q_DISK:
        if (lua_type(d->L, v) == LUA_TTABLE)
            sl_decl_each_key(d, v, key, disk_keys, set_disk, q);
        else
            sl_decl_wrong_type(d, key, "a table { max_size = SIZE, sync = S }", v);
        break;
    }
}

/* Keys that do nothing with the policy given (see the top). */
static void check_combination(const struct sl_decl *d, unsigned seen, const struct sl_queue_conf *q)
{
    bool disk = q->policy == SL_POLICY_DISK;
    if ((seen & (1u << Q_MAX_BYTES)) && (seen & (1u << Q_BYTES)))
        sl_decl_error(d, "keys 'queue.max_bytes' and 'queue.bytes' are the same setting: give one");
    if ((seen & (1u << Q_OVERFLOW)) && !disk)
        sl_decl_error(d, "key 'queue.overflow' is for policy \"disk\" (what happens past "
                      "disk.max_size); policy \"%s\" is its own overflow", policies[q->policy]);
    if ((seen & (1u << Q_DISK)) && !disk)
        sl_decl_error(d, "key 'queue.disk' is for policy \"disk\"");
    bool blocks = q->policy == SL_POLICY_BLOCK || (disk && q->overflow == SL_POLICY_BLOCK);
    if ((seen & (1u << Q_BLOCK_TIMEOUT)) && !blocks)
        sl_decl_error(d, "key 'queue.block_timeout' is for an output that blocks (policy "
                      "\"block\", or \"disk\" with overflow \"block\"); this one drops");
    if ((seen & (1u << Q_HIGH_WATER)) && !(seen & (1u << Q_DROP_SEVERITY)))
        sl_decl_error(d, "key 'queue.high_water' says when drop_severity starts: give "
                      "queue.drop_severity too");
    if (disk && q->disk_segment_size > q->disk_max_size)
        sl_decl_error(d, "key 'queue.disk.segment_size' (%llu) is larger than disk.max_size "
                      "(%llu)", (unsigned long long)q->disk_segment_size,
                      (unsigned long long)q->disk_max_size);
}

void sl_decl_queue(const struct sl_decl *d, int t, struct sl_output_conf *o)
{
    if (lua_type(d->L, t) != LUA_TTABLE) {
        sl_decl_wrong_type(d, "queue", "a table { capacity = N, max_bytes = SIZE, policy = P }",
                           t);
        return;
    }
    unsigned seen = sl_decl_each_key(d, t, "queue", queue_keys, set_queue, o);
    check_combination(d, seen, &o->queue);
}

/* A disk queue lives in state_dir/<output name>: the name must be one
 * path component that cannot climb out or hide (letters, digits, '_',
 * '-', '.', not starting with '.'). */
static bool safe_component(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.' || strlen(name) > 255)
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

void sl_decl_check_queues(struct sl_decl_ctx *ctx)
{
    const struct sl_config *c = ctx->c;
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_output_conf *o = &c->outputs[i];
        if (o->queue.policy != SL_POLICY_DISK)
            continue;
        if (c->state_dir == NULL)
            sl_errors_add(ctx->errs, o->file, o->line,
                          "output \"%s\": queue policy \"disk\" keeps its segments under "
                          "settings.state_dir, which is not set", o->name ? o->name : "?");
        else if (!safe_component(o->name))
            sl_errors_add(ctx->errs, o->file, o->line,
                          "output \"%s\": queue policy \"disk\" keeps its segments in "
                          "state_dir/<output name>, so the name must be letters, digits, '_', "
                          "'-' and '.', not starting with '.'", o->name ? o->name : "?");
    }
}
/* }=== */

bool sl_queue_conf_equal(const struct sl_queue_conf *a, const struct sl_queue_conf *b)
{
    return a->capacity == b->capacity && a->max_bytes == b->max_bytes && a->policy == b->policy
           && a->overflow == b->overflow && a->block_timeout_ms == b->block_timeout_ms
           && a->drop_by_severity == b->drop_by_severity
           && (!a->drop_by_severity
               || (a->drop_severity == b->drop_severity && a->high_water == b->high_water))
           && a->disk_max_size == b->disk_max_size
           && a->disk_segment_size == b->disk_segment_size && a->disk_sync == b->disk_sync
           && a->disk_sync_ms == b->disk_sync_ms;
}

/* {=== outputs that can hang the machine's loggers */
static bool blocks_unbounded(const struct sl_queue_conf *q)
{
    bool blocks = q->policy == SL_POLICY_BLOCK
                  || (q->policy == SL_POLICY_DISK && q->overflow == SL_POLICY_BLOCK);
    return blocks && q->block_timeout_ms == 0;
}

/* True when some route may carry a message of input `in` to output o: a
 * route naming the input or naming none (a where function may say no,
 * which cannot be known here, so it counts). */
static bool feeds(const struct sl_config *c, const struct sl_input_conf *in, size_t o)
{
    for (size_t r = 0; r < c->nroutes; r++) {
        const struct sl_route_conf *rc = &c->routes[r];
        if (rc->inputs.n > 0 && !sl_strlist_has(&rc->inputs, in->name, strlen(in->name)))
            continue;
        for (size_t t = 0; t < rc->nto; t++) {
            if (rc->to[t] == o)
                return true;
        }
    }
    return false;
}

size_t sl_config_warn_hangs(const struct sl_config *c, struct sl_errors *warnings)
{
    size_t n = 0, from = warnings->n;
    for (size_t i = 0; i < c->ninputs; i++) {
        const struct sl_input_conf *in = &c->inputs[i];
        /* A unix datagram sender blocks in the kernel while the daemon does
         * not read (measured: syslog(3) waited out a 20 s stall); so does
         * journald on a stream it forwards to. */
        if (in->kind == NULL || !in->kind->senders_wait)
            continue;
        for (size_t o = 0; o < c->noutputs; o++) {
            const struct sl_output_conf *out = &c->outputs[o];
            if (!blocks_unbounded(&out->queue) || !feeds(c, in, o))
                continue;
            sl_errors_add(warnings, out->file, out->line,
                          "output \"%s\" blocks without queue.block_timeout and is fed by %s "
                          "input \"%s\": while it is stuck, every program logging to %s waits; "
                          "set queue.block_timeout (e.g. \"5s\")",
                          out->name, in->kind->name, in->name,
                          in->path ? in->path : "that socket");
            n++;
        }
    }
    sl_errors_sort(warnings, from, c->file); /* n counts the lost ones too */
    return n;
}
/* }=== */
