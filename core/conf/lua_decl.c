/* SPDX-License-Identifier: MIT */
/*
 * lua_decl.c: reading the table of each declaration in sluice.lua.
 *
 * lua_config.c makes the calls; this file reads what they are given: the
 * values (strings, sizes, modes, listen addresses, lists, facility and
 * severity specs, regular expressions) and the keys each declaration knows
 * (settings, input, output, route). Keys are read in sorted order, so errors
 * and an output's plugin keys come out the same from run to run whatever
 * Lua's hash order.
 *
 * Ownership: see lua_decl.h. What a reader copies is stored in the config,
 * or in the route's targets, before the next call into Lua.
 */
#include "config.h" /* _GNU_SOURCE (AC_USE_SYSTEM_EXTENSIONS): strdup, strndup */

#include "conf/lua_decl.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/log.h"
#include "common/msg.h"
#include "common/util.h"
#include "common/alloc.h"
#include "input/kind.h"

#define MAX_DEPTH 8 /* nesting of an output's plugin tables */
#define MAX_MESSAGE_LIMIT (64u << 20)

/* {=== helpers the loader shares */
char *sl_decl_strdup(struct sl_decl_ctx *ctx, const char *s)
{
    char *p = sl_strdup(s);
    if (p == NULL)
        ctx->oom = true;
    return p;
}

/* The room of an array of n grown here is the power of two at or above n,
 * so it needs no field of its own: growing by one element copied the whole
 * array each time where realloc cannot grow in place (always under ASan,
 * and in glibc when another block follows), which made 100,000 outputs
 * quadratic. So an array passed here must only ever grow here. */
static bool needs_room(size_t n)
{
    return n == 0 || (n & (n - 1)) == 0;
}

void *sl_decl_grow(struct sl_decl_ctx *ctx, void *v, size_t n, size_t size)
{
    char *p = v;
    if (needs_room(n)) {
        size_t cap = n == 0 ? 1 : 2 * n;
        p = cap <= SIZE_MAX / size ? sl_realloc(v, cap * size) : NULL;
        if (p == NULL) {
            ctx->oom = true;
            return NULL;
        }
    }
    memset(p + n * size, 0, size);
    return p;
}

int sl_decl_name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], s) == 0)
            return i;
    }
    return -1;
}

const char *sl_decl_did_you_mean(char *buf, size_t len, const char *prefix, const char *word,
                                 const char *const *cands)
{
    const char *best = sl_closest(word, strlen(word), cands, SIZE_MAX);
    buf[0] = '\0';
    if (best != NULL)
        snprintf(buf, len, ", did you mean '%s%s'?", prefix, best);
    return buf;
}

const char *sl_decl_type_name(lua_State *L, int idx)
{
    if (luaL_testudata(L, idx, SL_DECL_HANDLE_MT) != NULL)
        return "output handle";
    return luaL_typename(L, idx);
}

void sl_decl_error(const struct sl_decl *d, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sl_errors_add(d->ctx->errs, d->file != NULL ? d->file : d->ctx->file, d->line, "%s: %s",
                  d->what, text);
}
/* }=== */

/* {=== reading values */
/* Grows as sl_decl_grow() does (a route's `to` may name 100,000 outputs):
 * the lists the readers fill grow only here. */
static void strlist_add(struct sl_decl_ctx *ctx, struct sl_strlist *l, const char *s)
{
    char *copy = sl_decl_strdup(ctx, s);
    size_t cap = l->n == 0 ? 1 : 2 * l->n;
    char **v = copy == NULL ? NULL : needs_room(l->n) ? sl_realloc(l->v, cap * sizeof *v) : l->v;
    if (v == NULL) {
        ctx->oom = true;
        free(copy);
        return;
    }
    l->v = v;
    l->v[l->n++] = copy;
}

static void wrong_type(const struct sl_decl *d, const char *key, const char *wants, int idx)
{
    sl_decl_error(d, "key '%s' wants %s, got %s", key, wants, sl_decl_type_name(d->L, idx));
}

/* Copies the non-empty string at idx into *dst, replacing what was there. */
static bool want_string(const struct sl_decl *d, const char *key, int idx, char **dst)
{
    size_t len;
    if (lua_type(d->L, idx) != LUA_TSTRING) {
        wrong_type(d, key, "a string", idx);
        return false;
    }
    const char *s = lua_tolstring(d->L, idx, &len);
    if (len == 0 || strlen(s) != len) {
        sl_decl_error(d, "key '%s' wants a non-empty string without NUL bytes", key);
        return false;
    }
    free(*dst);
    *dst = sl_decl_strdup(d->ctx, s);
    return *dst != NULL;
}

static bool want_size(const struct sl_decl *d, const char *key, int idx, unsigned long long min,
                      unsigned long long max, unsigned long long *out)
{
    lua_State *L = d->L;
    unsigned long long v;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        int isint;
        lua_Integer n = lua_tointegerx(L, idx, &isint);
        if (!isint || n < 0) {
            sl_decl_error(d, "key '%s': bad size %s (a whole number of bytes)", key,
                          lua_tostring(L, idx));
            return false;
        }
        v = (unsigned long long)n;
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        if (sl_parse_size(lua_tostring(L, idx), &v) < 0) {
            sl_decl_error(d, "key '%s': bad size '%s' (a number of bytes or a string like \"64K\", "
                             "\"16M\", \"1G\")", key, lua_tostring(L, idx));
            return false;
        }
    } else {
        wrong_type(d, key, "a size (number or string like \"64K\")", idx);
        return false;
    }
    if (v < min || v > max) {
        sl_decl_error(d, "key '%s': size %llu is out of range (%llu to %llu)", key, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

static bool want_int(const struct sl_decl *d, const char *key, int idx, long long min,
                     long long max, long long *out)
{
    int isint = 0;
    lua_Integer n = 0;
    if (lua_type(d->L, idx) == LUA_TNUMBER)
        n = lua_tointegerx(d->L, idx, &isint);
    else {
        wrong_type(d, key, "a whole number", idx);
        return false;
    }
    if (!isint || n < min || n > max) {
        sl_decl_error(d, "key '%s' wants a whole number from %lld to %lld, got %s", key, min, max,
                      lua_tostring(d->L, idx));
        return false;
    }
    *out = n;
    return true;
}

static bool want_bool(const struct sl_decl *d, const char *key, int idx, bool *out)
{
    if (lua_type(d->L, idx) != LUA_TBOOLEAN) {
        wrong_type(d, key, "a boolean", idx);
        return false;
    }
    *out = lua_toboolean(d->L, idx);
    return true;
}

typedef sl_decl_item_fn item_fn;

static void each_item(const struct sl_decl *d, const char *key, int idx, const char *wants,
                      item_fn *item, void *obj)
{
    lua_State *L = d->L;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        if (!item(d, key, idx, obj))
            wrong_type(d, key, wants, idx);
        return;
    }
    lua_Unsigned n = lua_rawlen(L, idx), pairs = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
        pairs++;
    if (n == 0 || pairs != n) {
        sl_decl_error(d, "key '%s' wants %s, got %s", key, wants,
                      n == 0 ? "an empty list" : "a table");
        return;
    }
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        if (!item(d, key, -1, obj))
            sl_decl_error(d, "key '%s' wants %s, got %s as list item %llu", key, wants,
                          sl_decl_type_name(L, -1), (unsigned long long)i);
        lua_pop(L, 1);
    }
}

static bool string_item(const struct sl_decl *d, const char *key, int idx, void *obj)
{
    size_t len;
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    const char *s = lua_tolstring(d->L, idx, &len);
    if (len == 0 || strlen(s) != len)
        sl_decl_error(d, "key '%s' wants non-empty strings without NUL bytes", key);
    else
        strlist_add(d->ctx, obj, s);
    return true;
}

static void want_strlist(const struct sl_decl *d, const char *key, int idx, struct sl_strlist *l)
{
    each_item(d, key, idx, "a string or a list of strings", string_item, l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True for a key that is a name: a string without NUL bytes. */
static bool is_name(lua_State *L, int idx)
{
    size_t len;
    return lua_type(L, idx) == LUA_TSTRING && strlen(lua_tolstring(L, idx, &len)) == len;
}

/* Reports a key that is not a name, once per table (a list would repeat it).
 * A copy is converted, since converting the key itself confuses lua_next. */
static void bad_key(const struct sl_decl *d, const char *prefix, int idx)
{
    lua_State *L = d->L;
    lua_pushvalue(L, idx);
    bool number = lua_type(L, -1) == LUA_TNUMBER;
    const char *what = number ? "list item" : "key of type";
    const char *k = number ? lua_tostring(L, -1) : sl_decl_type_name(L, -1);
    if (prefix != NULL)
        sl_decl_error(d, "key '%s' holds a %s %s; write name = value", prefix, what, k);
    else
        sl_decl_error(d, "unexpected %s %s; write name = value", what, k);
    lua_pop(L, 1);
}

/* Pushes a userdata holding the names among the keys of the table at t,
 * sorted so that errors and plugin keys come out in a stable order (Lua's
 * hash order changes from run to run), and reports the other keys. The
 * strings are anchored by the table, which nothing changes meanwhile. */
static const char **sorted_keys(const struct sl_decl *d, int t, const char *prefix, size_t *n)
{
    lua_State *L = d->L;
    size_t count = 0, i = 0;
    bool reported = false;
    t = lua_absindex(L, t);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        if (is_name(L, -2))
            count++;
        else if (!reported)
            bad_key(d, prefix, -2), reported = true;
    }
    const char **keys = lua_newuserdatauv(L, (count + 1) * sizeof *keys, 0);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        if (i < count && is_name(L, -2))
            keys[i++] = lua_tostring(L, -2);
    }
    qsort(keys, i, sizeof *keys, cmp_str);
    *n = i;
    return keys;
}

typedef sl_decl_set_fn set_fn;

/* Calls set() for each key of the table at t that names[] knows, reports
 * the others, and returns a mask of the keys seen. */
static unsigned each_key(const struct sl_decl *d, int t, const char *prefix,
                         const char *const *names, set_fn *set, void *obj)
{
    lua_State *L = d->L;
    char full[128], hint[160];
    size_t n;
    unsigned seen = 0;
    t = lua_absindex(L, t);
    const char **keys = sorted_keys(d, t, prefix, &n);
    for (size_t i = 0; i < n; i++) {
        snprintf(full, sizeof full, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", keys[i]);
        int k = sl_decl_name_index(names, keys[i]);
        if (k < 0) {
            char pre[64];
            snprintf(pre, sizeof pre, "%s%s", prefix ? prefix : "", prefix ? "." : "");
            sl_decl_error(d, "unknown key '%s'%s", full,
                          sl_decl_did_you_mean(hint, sizeof hint, pre, keys[i], names));
            continue;
        }
        seen |= 1u << k;
        lua_pushstring(L, keys[i]);
        lua_rawget(L, t);
        set(d, k, full, lua_gettop(L), obj);
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the keys */
    return seen;
}
/* }=== */

/* {=== the helpers above, for the readers in other files (lua_decl.h) */
unsigned sl_decl_each_key(const struct sl_decl *d, int t, const char *prefix,
                          const char *const *names, sl_decl_set_fn *set, void *obj)
{
    return each_key(d, t, prefix, names, set, obj);
}

void sl_decl_wrong_type(const struct sl_decl *d, const char *key, const char *wants, int idx)
{
    wrong_type(d, key, wants, idx);
}

bool sl_decl_want_string(const struct sl_decl *d, const char *key, int idx, char **dst)
{
    return want_string(d, key, idx, dst);
}

bool sl_decl_want_size(const struct sl_decl *d, const char *key, int idx, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
    return want_size(d, key, idx, min, max, out);
}

bool sl_decl_want_int(const struct sl_decl *d, const char *key, int idx, long long min,
                      long long max, long long *out)
{
    return want_int(d, key, idx, min, max, out);
}

bool sl_decl_want_bool(const struct sl_decl *d, const char *key, int idx, bool *out)
{
    return want_bool(d, key, idx, out);
}

void sl_decl_each_item(const struct sl_decl *d, const char *key, int idx, const char *wants,
                       sl_decl_item_fn *item, void *obj)
{
    each_item(d, key, idx, wants, item, obj);
}

bool sl_decl_string_item(const struct sl_decl *d, const char *key, int idx, void *obj)
{
    return string_item(d, key, idx, obj);
}

void sl_decl_want_strlist(const struct sl_decl *d, const char *key, int idx,
                          struct sl_strlist *l)
{
    want_strlist(d, key, idx, l);
}

void sl_decl_strlist_add(struct sl_decl_ctx *ctx, struct sl_strlist *l, const char *s)
{
    strlist_add(ctx, l, s);
}
/* }=== */

/* {=== settings { ... } */
enum {
    S_CONTROL, S_HOSTNAME, S_PLUGIN_PATH, S_STATE_DIR, S_LOG_LEVEL, S_SHUTDOWN_TIMEOUT, S_METRICS,
    S_USER, S_GROUP
};
static const char *const settings_keys[] = {
    "control", "hostname", "plugin_path", "state_dir", "log_level", "shutdown_timeout",
    "metrics", "user", "group", NULL};
static bool parse_listen(struct sl_decl_ctx *ctx, const char *s, char **host, char **port);

/* metrics = { listen = "HOST:PORT" }: the Prometheus endpoint (metrics.c),
 * only in a sluiced built with libmicrohttpd. */
static const char *const metrics_keys[] = {"listen", NULL};

static void set_metrics_key(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_config *c = obj;
    char *s = NULL;
    (void)k;
    if (want_string(d, key, v, &s) && !parse_listen(d->ctx, s, &c->metrics_host, &c->metrics_port))
        sl_decl_error(d, "key '%s': bad address '%s' (\"HOST:PORT\" or \"[V6]:PORT\", as "
                         "\"127.0.0.1:9514\")", key, s);
    free(s);
}

static void want_metrics(const struct sl_decl *d, const char *key, int v, struct sl_config *c)
{
    if (lua_type(d->L, v) != LUA_TTABLE) {
        wrong_type(d, key, "a table, as metrics = { listen = \"127.0.0.1:9514\" }", v);
        return;
    }
    unsigned seen = each_key(d, v, key, metrics_keys, set_metrics_key, c);
    if (!(seen & 1u))
        sl_decl_error(d, "key 'metrics.listen' is missing (\"HOST:PORT\", as \"127.0.0.1:9514\")");
#ifndef HAVE_MICROHTTPD
    sl_decl_error(d, "key '%s': this sluiced was built without libmicrohttpd, so it has no "
                     "metrics endpoint (apt-get install libmicrohttpd-dev, then build again)", key);
#endif
}

#define MAX_HOSTNAME 255 /* RFC 5424's HOSTNAME */

/* settings.hostname is written into every line of every output: a newline
 * in it would forge a line, a space shift rfc3164's fields. So it is RFC
 * 5424's HOSTNAME, 1 to 255 printable ASCII characters, or refused. */
static void want_hostname(const struct sl_decl *d, const char *key, int v, char **dst)
{
    if (!want_string(d, key, v, dst))
        return;
    const unsigned char *h = (const unsigned char *)*dst;
    size_t i = 0;
    while (h[i] > 0x20 && h[i] < 0x7f)
        i++;
    if (h[i] != '\0')
        sl_decl_error(d, "key '%s': byte 0x%02x at %zu is not printable ASCII (a host name is "
                      "1 to %d of them, without spaces)", key, h[i], i + 1, MAX_HOSTNAME);
    else if (i > MAX_HOSTNAME)
        sl_decl_error(d, "key '%s': %zu bytes, at most %d", key, i, MAX_HOSTNAME);
    else
        return;
    free(*dst);
    *dst = NULL;
}

/* settings.user / settings.group: a name, or a numeric id (a string, or
 * an integer as user = 65534), kept as text. Whether it exists is asked of
 * the system databases by the daemon (privs.c), not here: the config
 * reader stays free of NSS lookups (the fuzzer runs it). */
static void want_account(const struct sl_decl *d, const char *key, int v, char **dst)
{
    if (lua_type(d->L, v) == LUA_TNUMBER && lua_isinteger(d->L, v)) {
        lua_Integer id = lua_tointeger(d->L, v);
        if (id < 0 || id >= 0xffffffffLL) {
            sl_decl_error(d, "key '%s': id %lld is out of range", key, (long long)id);
            return;
        }
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)id);
        free(*dst);
        *dst = sl_decl_strdup(d->ctx, num);
        return;
    }
    if (lua_type(d->L, v) != LUA_TSTRING) {
        wrong_type(d, key, "a string (a name or a numeric id) or an integer id", v);
        return;
    }
    want_string(d, key, v, dst);
}

static void set_setting(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_config *c = obj;
    switch (k) {
    case S_CONTROL: want_string(d, key, v, &c->control); break;
    case S_HOSTNAME: want_hostname(d, key, v, &c->hostname); break;
    case S_STATE_DIR: want_string(d, key, v, &c->state_dir); break;
    case S_PLUGIN_PATH: want_strlist(d, key, v, &c->plugin_path); break;
    case S_METRICS: want_metrics(d, key, v, c); break;
    case S_USER: want_account(d, key, v, &c->user); break;
    case S_GROUP: want_account(d, key, v, &c->group); break;
    case S_SHUTDOWN_TIMEOUT: {
        long long ms;
        if (sl_decl_want_duration(d, key, v, 0, 3600 * 1000, &ms))
            c->shutdown_timeout_ms = (int)ms;
        break;
    }
    case S_LOG_LEVEL: {
        char *s = NULL;
        if (!want_string(d, key, v, &s))
            break;
        int level = sl_severity_from_name(s, strlen(s));
        if (level < SL_LOG_ERR)
            sl_decl_error(d, "key 'log_level': unknown level '%s' (err, warning, notice, info "
                             "or debug)", s);
        else
            c->log_level = level;
        free(s);
        break;
    }
    }
}

void sl_decl_settings(const struct sl_decl *d, int t, struct sl_config *c)
{
    each_key(d, t, NULL, settings_keys, set_setting, c);
}
/* }=== */

/* {=== input "name" { ... }: the keys come from the kinds' tables (kind.h) */
#define MAX_INPUT_KEYS 31 /* each_key's mask of keys seen */

struct input_ctx {
    struct sl_input_conf *in;
    const char *names[MAX_INPUT_KEYS + 1]; /* "type", then every kind's keys, once each */
};

/* Fills x->names: "type", then each key of each kind in table order, once. */
static void input_key_names(struct input_ctx *x)
{
    size_t n = 0;
    x->names[n++] = "type";
    x->names[n] = NULL;
    for (size_t i = 0; sl_input_kinds[i] != NULL; i++) {
        for (const struct sl_input_key *k = sl_input_kinds[i]->keys; k->name != NULL; k++) {
            if (sl_decl_name_index(x->names, k->name) < 0 && n < MAX_INPUT_KEYS) {
                x->names[n++] = k->name;
                x->names[n] = NULL;
            }
        }
    }
}

/* "unix, udp, tcp or kmsg": the kinds, for messages. */
static const char *kind_list(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; sl_input_kinds[i] != NULL && n < len; i++) {
        const char *sep = i == 0 ? "" : sl_input_kinds[i + 1] == NULL ? " or " : ", ";
        n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, sl_input_kinds[i]->name);
    }
    return buf;
}

/* "unix" or "udp and tcp": the kinds that take the key `name`, for the
 * message that refuses it elsewhere. */
static const char *kinds_with(const char *name, char *buf, size_t len)
{
    const struct sl_input_kind *with[16];
    size_t n = 0, at = 0;
    for (size_t i = 0; sl_input_kinds[i] != NULL && n < sizeof with / sizeof *with; i++) {
        if (sl_input_kind_key(sl_input_kinds[i], name) != NULL)
            with[n++] = sl_input_kinds[i];
    }
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        at += (size_t)snprintf(buf + at, len - at, "%s%s", sep, with[i]->name);
    }
    return buf;
}

/* "HOST:PORT" or "[V6]:PORT"; port 0 asks the kernel for a free one. */
static bool parse_listen(struct sl_decl_ctx *ctx, const char *s, char **host, char **port)
{
    const char *h = s, *he, *p;
    if (*s == '[') {
        h = s + 1;
        he = strchr(h, ']');
        if (he == NULL || he == h || memchr(h, ':', (size_t)(he - h)) == NULL || he[1] != ':')
            return false;
        p = he + 2;
    } else {
        he = strrchr(s, ':');
        if (he == NULL || he == s || memchr(s, ':', (size_t)(he - s)) != NULL)
            return false;
        p = he + 1;
    }
    size_t nd = strspn(p, "0123456789");
    if (nd == 0 || nd > 5 || p[nd] != '\0' || atol(p) > 65535
        || memchr(h, ' ', (size_t)(he - h)) != NULL)
        return false;
    char num[8];
    snprintf(num, sizeof num, "%ld", atol(p));
    free(*host);
    free(*port);
    *host = sl_strndup(h, (size_t)(he - h));
    *port = sl_decl_strdup(ctx, num);
    if (*host == NULL)
        ctx->oom = true;
    return true;
}

/* A permission as a string of octal digits ("0666"), or an integer. Lua has
 * no octal literals, so an integer that reads like one (mode = 644) is
 * refused rather than taken as decimal. */
static void set_mode(const struct sl_decl *d, const char *key, int v, unsigned *mode)
{
    lua_State *L = d->L;
    if (lua_type(L, v) == LUA_TSTRING) {
        const char *s = lua_tostring(L, v);
        size_t n = strspn(s, "01234567");
        unsigned long m = strtoul(s, NULL, 8);
        if (n == 0 || n > 4 || s[n] != '\0' || m > 0777)
            sl_decl_error(d, "key '%s': bad mode '%s' (octal permissions like \"0666\")", key, s);
        else
            *mode = (unsigned)m;
        return;
    }
    if (lua_type(L, v) != LUA_TNUMBER) {
        wrong_type(d, key, "a permission string like \"0666\"", v);
        return;
    }
    int isint;
    lua_Integer m = lua_tointegerx(L, v, &isint);
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)m);
    if (!isint || m < 0 || m > 0777 || (m >= 100 && strspn(digits, "01234567") == strlen(digits)))
        sl_decl_error(d, "key '%s': mode %s is ambiguous or out of range; write it as a string "
                         "like \"0%s\"", key, lua_tostring(L, v), isint && m >= 0 ? digits : "666");
    else
        *mode = (unsigned)m;
}

static void set_input_type(const struct sl_decl *d, const char *key, int v,
                           struct sl_input_conf *in)
{
    char *s = NULL, hint[96], kinds[128];
    const char *names[16]; /* the kinds' names, for the hint */
    in->kind = NULL;
    if (!want_string(d, key, v, &s))
        return;
    in->kind = sl_input_kind_find(s);
    if (in->kind == NULL) {
        size_t n = 0;
        for (; sl_input_kinds[n] != NULL && n + 1 < sizeof names / sizeof *names; n++)
            names[n] = sl_input_kinds[n]->name;
        names[n] = NULL;
        sl_decl_error(d, "unknown type '%s' (%s)%s", s, kind_list(kinds, sizeof kinds),
                      sl_decl_did_you_mean(hint, sizeof hint, "", s, names));
    }
    free(s);
}

/* The key `name` of kind, else of the first kind that has it: the value of
 * a key of another kind (refused once every key is read), or of a kind not
 * known, is still checked, so one run reports it too. */
static const struct sl_input_key *input_key(const struct sl_input_kind *kind, const char *name)
{
    const struct sl_input_key *k = kind != NULL ? sl_input_kind_key(kind, name) : NULL;
    for (size_t i = 0; k == NULL && sl_input_kinds[i] != NULL; i++)
        k = sl_input_kind_key(sl_input_kinds[i], name);
    return k;
}

/* One of the key's choices: "key 'from': unknown value 'x' ("a", "b")". */
static void set_choice(const struct sl_decl *d, const char *const *choices, const char *key,
                       int v, int *field)
{
    char *s = NULL, hint[96], list[128];
    if (!want_string(d, key, v, &s))
        return;
    int i = sl_decl_name_index(choices, s);
    if (i >= 0) {
        *field = i;
    } else {
        size_t n = 0;
        for (size_t j = 0; choices[j] != NULL && n < sizeof list; j++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", j ? ", " : "",
                                  choices[j]);
        sl_decl_error(d, "key '%s': unknown value '%s' (%s)%s", key, s, list,
                      sl_decl_did_you_mean(hint, sizeof hint, "", s, choices));
    }
    free(s);
}

/* Reads the value at v into in as key k says. */
static void set_input_value(const struct sl_decl *d, const struct sl_input_key *k,
                            const char *key, int v, struct sl_input_conf *in)
{
    void *field = (char *)in + k->offset;
    unsigned long long size;
    long long n;
    char *s = NULL;
    switch (k->type) {
    case SL_INPUT_KEY_PATH: want_string(d, key, v, field); break;
    case SL_INPUT_KEY_LISTEN:
        if (want_string(d, key, v, &s) && !parse_listen(d->ctx, s, &in->host, &in->port))
            sl_decl_error(d, "bad listen address '%s' (HOST:PORT or [IPv6]:PORT, port 0-65535)", s);
        free(s);
        break;
    case SL_INPUT_KEY_SIZE:
        if (want_size(d, key, v, (unsigned long long)k->min, (unsigned long long)k->max, &size))
            *(size_t *)field = (size_t)size;
        break;
    case SL_INPUT_KEY_INT:
        if (want_int(d, key, v, k->min, k->max, &n))
            *(int *)field = (int)n;
        break;
    case SL_INPUT_KEY_UINT:
        if (want_int(d, key, v, k->min, k->max, &n))
            *(unsigned *)field = (unsigned)n;
        break;
    case SL_INPUT_KEY_MODE: set_mode(d, key, v, field); break;
    case SL_INPUT_KEY_RATELIMIT: sl_decl_ratelimit(d, key, v, field); break;
    case SL_INPUT_KEY_CHOICE:
        set_choice(d, sl_input_kind_choices(in->kind, k->name), key, v, field);
        break;
    case SL_INPUT_KEY_BOOL: want_bool(d, key, v, field); break;
    case SL_INPUT_KEY_DURATION:
        if (sl_decl_want_duration(d, key, v, k->min, k->max, &n))
            *(int *)field = (int)n;
        break;
    }
}

static void set_input(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct input_ctx *x = obj;
    if (k == 0) {
        set_input_type(d, key, v, x->in);
        return;
    }
    set_input_value(d, input_key(x->in->kind, key), key, v, x->in); /* key is in x->names */
}

/* A kind with several address keys, none of them required, binds one
 * (kind.h): exactly one of them must be given. */
static void check_address_choice(const struct sl_decl *d, const struct input_ctx *x,
                                 unsigned seen)
{
    const struct sl_input_kind *kind = x->in->kind;
    char names[128] = "";
    size_t n = 0, given = 0, len = 0;
    for (const struct sl_input_key *k = kind->keys; k->name != NULL; k++) {
        if (!k->address)
            continue;
        if (k->required)
            return;
        int i = sl_decl_name_index(x->names, k->name);
        given += i >= 0 && (seen & 1u << i);
        if (len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'",
                                    n == 0 ? "" : " or ", k->name);
        n++;
    }
    if (n > 1 && given == 0)
        sl_decl_error(d, "type '%s' needs key %s", kind->name, names);
    else if (n > 1 && given > 1)
        sl_decl_error(d, "type '%s' takes one of keys %s, not both", kind->name, names);
}

/* Checks what depends on the kind, once every key has been read. */
static void check_input(const struct sl_decl *d, const struct input_ctx *x, unsigned seen)
{
    char kinds[128];
    const struct sl_input_kind *kind = x->in->kind;
    if (!(seen & 1u)) {
        sl_decl_error(d, "key 'type' is missing (%s)", kind_list(kinds, sizeof kinds));
        return;
    }
    if (kind == NULL)
        return;
    for (int k = 1; x->names[k] != NULL; k++) {
        if ((seen & 1u << k) && sl_input_kind_key(kind, x->names[k]) == NULL)
            sl_decl_error(d, "key '%s' is not used by type '%s' (only by %s)", x->names[k],
                          kind->name, kinds_with(x->names[k], kinds, sizeof kinds));
    }
    for (const struct sl_input_key *k = kind->keys; k->name != NULL; k++) {
        if (k->required && sl_decl_name_index(x->names, k->name) >= 0
            && !(seen & 1u << sl_decl_name_index(x->names, k->name)))
            sl_decl_error(d, "type '%s' needs key '%s'%s", kind->name, k->name,
                          k->type == SL_INPUT_KEY_LISTEN ? " (\"HOST:PORT\")" : "");
    }
    check_address_choice(d, x, seen);
}

/* The kind named by the table's type, if it names one, before the keys
 * are read in their sorted order: each key is read as its kind says. */
static const struct sl_input_kind *peek_kind(lua_State *L, int t)
{
    lua_pushliteral(L, "type");
    const struct sl_input_kind *k = NULL;
    size_t len;
    if (lua_rawget(L, t) == LUA_TSTRING && strlen(lua_tolstring(L, -1, &len)) == len)
        k = sl_input_kind_find(lua_tostring(L, -1));
    lua_pop(L, 1);
    return k;
}

void sl_decl_input(const struct sl_decl *d, int t, struct sl_input_conf *in)
{
    struct input_ctx x = {in, {NULL}};
    input_key_names(&x);
    t = lua_absindex(d->L, t);
    in->kind = peek_kind(d->L, t);
    if (in->kind != NULL && in->kind->max_message != 0)
        in->max_message = in->kind->max_message; /* before the keys: a max_message key wins */
    unsigned seen = each_key(d, t, NULL, x.names, set_input, &x);
    check_input(d, &x, seen);
}
/* }=== */

/* {=== output "name" { ... } */
static void add_kv(const struct sl_decl *d, struct sl_output_conf *o, const char *key, int v,
                   int depth);

/* A list (users = { "root", "alice" }) becomes KEY.1, KEY.2, ... in its
 * order, which a plugin accepts by naming "KEY[]" in its keys
 * (sluice-plugin.h). Names beside the items would be lost to the plugin
 * and are an error. */
static void add_kv_list(const struct sl_decl *d, struct sl_output_conf *o, const char *key, int v,
                        int depth)
{
    lua_State *L = d->L;
    char full[256];
    lua_Unsigned n = lua_rawlen(L, v), count = 0;
    for (lua_pushnil(L); lua_next(L, v); lua_pop(L, 1))
        count++;
    if (count != n) {
        sl_decl_error(d, "key '%s' holds a list and names beside it; write a list alone", key);
        return;
    }
    for (lua_Unsigned i = 1; i <= n; i++) {
        if ((size_t)snprintf(full, sizeof full, "%s.%llu", key, (unsigned long long)i)
            >= sizeof full) {
            sl_decl_error(d, "key '%s...' is too long", key);
            return;
        }
        lua_rawgeti(L, v, (lua_Integer)i);
        add_kv(d, o, full, -1, depth + 1);
        lua_pop(L, 1);
    }
}

static void add_kv_table(const struct sl_decl *d, struct sl_output_conf *o, const char *key, int v,
                         int depth)
{
    lua_State *L = d->L;
    char full[256];
    size_t n;
    if (depth >= MAX_DEPTH) {
        sl_decl_error(d, "key '%s' is nested too deeply", key);
        return;
    }
    v = lua_absindex(L, v);
    if (lua_rawlen(L, v) > 0) {
        add_kv_list(d, o, key, v, depth);
        return;
    }
    const char **keys = sorted_keys(d, v, key, &n);
    for (size_t i = 0; i < n; i++) {
        if ((size_t)snprintf(full, sizeof full, "%s.%s", key, keys[i]) >= sizeof full) {
            sl_decl_error(d, "key '%s...' is too long", key);
            continue;
        }
        lua_pushstring(L, keys[i]);
        lua_rawget(L, v);
        add_kv(d, o, full, -1, depth + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the keys */
}

/* Copies a plugin key, type-tagged; tables are flattened to dotted keys. */
static void add_kv(const struct sl_decl *d, struct sl_output_conf *o, const char *key, int v,
                   int depth)
{
    lua_State *L = d->L;
    int t = lua_type(L, v);
    if (t == LUA_TTABLE) {
        add_kv_table(d, o, key, v, depth);
        return;
    }
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
        wrong_type(d, key, "a string, number, boolean or table", v);
        return;
    }
    if (sl_output_conf_get(o, key) != NULL) {
        sl_decl_error(d, "key '%s' is given twice", key);
        return;
    }
    size_t len = 0;
    if (t == LUA_TSTRING && strlen(lua_tolstring(L, v, &len)) != len) {
        sl_decl_error(d, "key '%s' holds a NUL byte", key);
        return;
    }
    char *copy = sl_decl_strdup(d->ctx, key);
    struct sl_kv *kv = copy != NULL ? sl_decl_grow(d->ctx, o->kv, o->nkv, sizeof *kv) : NULL;
    if (kv == NULL) {
        free(copy); /* every kv has a key: sl_output_conf_get relies on it */
        return;
    }
    o->kv = kv;
    kv = &o->kv[o->nkv++];
    kv->key = copy;
    if (t == LUA_TSTRING) {
        kv->type = SL_KV_STRING;
        kv->str = sl_decl_strdup(d->ctx, lua_tostring(L, v));
    } else if (t == LUA_TBOOLEAN) {
        kv->type = SL_KV_BOOL;
        kv->num = lua_toboolean(L, v);
    } else if (lua_isinteger(L, v)) {
        kv->type = SL_KV_INT;
        kv->num = lua_tointeger(L, v);
    } else {
        kv->type = SL_KV_NUMBER;
        kv->dnum = lua_tonumber(L, v);
    }
}

void sl_decl_output(const struct sl_decl *d, int t, struct sl_output_conf *o)
{
    lua_State *L = d->L;
    t = lua_absindex(L, t);
    size_t n, errs = sl_errors_count(d->ctx->errs);
    bool typed = false;
    const char **keys = sorted_keys(d, t, NULL, &n);
    o->broken = sl_errors_count(d->ctx->errs) != errs; /* a key that is not a name */
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, keys[i]);
        lua_rawget(L, t);
        if (strcmp(keys[i], "type") == 0) {
            typed = true;
            if (want_string(d, "type", -1, &o->type)
                && strspn(o->type, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(o->type)) {
                sl_decl_error(d, "bad type '%s' (a plugin name: a-z, 0-9, '_' and '-')", o->type);
                free(o->type);
                o->type = NULL; /* no plugin is looked for by a name like that */
            }
        } else if (strcmp(keys[i], "plugin") == 0) {
            if (!want_string(d, "plugin", -1, &o->plugin))
                o->broken = true; /* a search by type would find another plugin */
        } else if (strcmp(keys[i], "queue") == 0) {
            sl_decl_queue(d, -1, o);
        } else {
            errs = sl_errors_count(d->ctx->errs);
            add_kv(d, o, keys[i], -1, 0);
            o->broken = o->broken || sl_errors_count(d->ctx->errs) != errs;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the keys */
    if (!typed)
        sl_decl_error(d, "key 'type' is missing (the plugin, e.g. \"file\")");
}

/* }=== */
