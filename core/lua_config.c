/*
 * lua_config.c: running sluice.lua and copying what it declares into C.
 *
 * The chunk runs once, in a fresh state of its own, with only the base,
 * string, table, math and utf8 libraries and four globals written in C:
 * settings, input, output and route. Each declaration checks its table as it
 * is made and appends every problem to the error list instead of raising a
 * Lua error, so one --check run reports everything at once. Only what cannot
 * be checked until the chunk has finished (routes naming outputs and inputs
 * declared further down, curried calls never given their table) is checked
 * afterwards, in C, once the state is closed.
 *
 * Ownership: everything a declaration copies out of Lua is stored in the
 * config at once, before the next call into Lua, so a Lua error (out of
 * memory, the instruction limit) unwinding through a declaration leaks
 * nothing: sl_config_free() releases whatever was built.
 *
 * Bounds: a count hook stops a config after MAX_INSTRUCTIONS, and the
 * allocator refuses to grow the state past MEMORY_LIMIT.
 */
#include "config.h" /* _GNU_SOURCE (AC_USE_SYSTEM_EXTENSIONS): strdup, strndup */

#include "lua_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "log.h"
#include "msg.h"

#if LUA_VERSION_NUM != 504
#error "sluice needs Lua 5.4 (Lua 5.5 changed lua_newstate)"
#endif

#define MAX_INSTRUCTIONS 100000000L
#define HOOK_EVERY 10000
#define MEMORY_LIMIT (64u << 20)
#define HANDLE_MT "sluice.output"
#define MAX_NAME 63     /* sl_msgpool keeps 63 bytes of an input's name */
#define MAX_DEPTH 8     /* nesting of an output's plugin tables */
#define MAX_MESSAGE_LIMIT (64u << 20)

/* A curried `input "name"` / `output "name"` waiting for its table. */
struct pending {
    char *name; /* NULL when the name was not a string */
    int line;
    bool output;
    bool done;
};

/* Per route, what is resolved once every output is known. */
struct route_targets {
    struct sl_strlist names; /* outputs named by `to`, handles included */
    bool broken;             /* `to` held a handle of an unnamed output */
};

struct loader {
    const char *file;
    struct sl_config *c;
    struct sl_errors *errs;
    struct pending *pend;
    size_t npend;
    struct route_targets *targets; /* parallel to c->routes */
    int settings_line;             /* 0: settings not given yet */
    long ticks;
    size_t mem;
    bool mem_refused;
    bool oom;
    bool ran; /* the chunk ran to its end */
    int err_line;
};

/* One declaration being read: where it is and how messages name it. */
struct decl {
    lua_State *L;
    struct loader *ld;
    char what[96]; /* settings, input "tcp", output "messages", route */
    int line;
};

static struct loader *loader_of(lua_State *L)
{
    return *(struct loader **)lua_getextraspace(L);
}

/* {=== small helpers */
static char *copy_str(struct loader *ld, const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        ld->oom = true;
    return p;
}

/* Returns the array v of n elements of `size` bytes grown by one zeroed
 * element, or NULL with v unchanged. */
static void *grow(struct loader *ld, void *v, size_t n, size_t size)
{
    char *p = realloc(v, (n + 1) * size);
    if (p == NULL)
        ld->oom = true;
    else
        memset(p + n * size, 0, size);
    return p;
}

static void strlist_add(struct loader *ld, struct sl_strlist *l, const char *s)
{
    char *copy = copy_str(ld, s);
    char **v = copy != NULL ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
    if (v == NULL) {
        ld->oom = true;
        free(copy);
        return;
    }
    l->v = v;
    l->v[l->n++] = copy;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX; /* names are short, and so are typos */
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Writes ", did you mean 'PREFIXname'?" for the closest of the NULL-ended
 * candidates within distance 2 (and closer than the word is long), else "". */
static const char *did_you_mean(char *buf, size_t len, const char *prefix, const char *word,
                                const char *const *cands)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; cands[i] != NULL; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < best_d && d < strlen(word)) {
            best = cands[i];
            best_d = d;
        }
    }
    buf[0] = '\0';
    if (best != NULL)
        snprintf(buf, len, ", did you mean '%s%s'?", prefix, best);
    return buf;
}

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], s) == 0)
            return i;
    }
    return -1;
}

static const char *type_name(lua_State *L, int idx)
{
    if (luaL_testudata(L, idx, HANDLE_MT) != NULL)
        return "output handle";
    return luaL_typename(L, idx);
}

/* Line of the innermost running function of the config file, from `level`
 * up; 0 when none is (the call came from a string chunk, say). */
static int config_line(lua_State *L, int level)
{
    const char *file = loader_of(L)->file;
    lua_Debug ar;
    for (; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && ar.source[0] == '@'
            && strcmp(ar.source + 1, file) == 0)
            return ar.currentline;
    }
    return 0;
}

static void derr(const struct decl *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void derr(const struct decl *d, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sl_errors_add(d->ld->errs, d->ld->file, d->line, "%s: %s", d->what, text);
}

static void wrong_type(const struct decl *d, const char *key, const char *wants, int idx)
{
    derr(d, "key '%s' wants %s, got %s", key, wants, type_name(d->L, idx));
}
/* }=== */

/* {=== reading values */
/* Copies the non-empty string at idx into *dst, replacing what was there. */
static bool want_string(const struct decl *d, const char *key, int idx, char **dst)
{
    size_t len;
    if (lua_type(d->L, idx) != LUA_TSTRING) {
        wrong_type(d, key, "a string", idx);
        return false;
    }
    const char *s = lua_tolstring(d->L, idx, &len);
    if (len == 0 || strlen(s) != len) {
        derr(d, "key '%s' wants a non-empty string without NUL bytes", key);
        return false;
    }
    free(*dst);
    *dst = copy_str(d->ld, s);
    return *dst != NULL;
}

static bool want_size(const struct decl *d, const char *key, int idx, unsigned long long min,
                      unsigned long long max, unsigned long long *out)
{
    lua_State *L = d->L;
    unsigned long long v;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        int isint;
        lua_Integer n = lua_tointegerx(L, idx, &isint);
        if (!isint || n < 0) {
            derr(d, "key '%s': bad size %s (a whole number of bytes)", key, lua_tostring(L, idx));
            return false;
        }
        v = (unsigned long long)n;
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        if (sl_parse_size(lua_tostring(L, idx), &v) < 0) {
            derr(d, "key '%s': bad size '%s' (a number of bytes or a string like \"64K\", "
                    "\"16M\", \"1G\")", key, lua_tostring(L, idx));
            return false;
        }
    } else {
        wrong_type(d, key, "a size (number or string like \"64K\")", idx);
        return false;
    }
    if (v < min || v > max) {
        derr(d, "key '%s': size %llu is out of range (%llu to %llu)", key, v, min, max);
        return false;
    }
    *out = v;
    return true;
}

static bool want_int(const struct decl *d, const char *key, int idx, long long min, long long max,
                     long long *out)
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
        derr(d, "key '%s' wants a whole number from %lld to %lld, got %s", key, min, max,
             lua_tostring(d->L, idx));
        return false;
    }
    *out = n;
    return true;
}

static bool want_bool(const struct decl *d, const char *key, int idx, bool *out)
{
    if (lua_type(d->L, idx) != LUA_TBOOLEAN) {
        wrong_type(d, key, "a boolean", idx);
        return false;
    }
    *out = lua_toboolean(d->L, idx);
    return true;
}

/* Calls item() for the value at idx, or for each item when it is a list.
 * item() returns false for a value of the wrong type, reported here. */
typedef bool item_fn(const struct decl *d, const char *key, int idx, void *obj);

static void each_item(const struct decl *d, const char *key, int idx, const char *wants,
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
        derr(d, "key '%s' wants %s, got %s", key, wants, n == 0 ? "an empty list" : "a table");
        return;
    }
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        if (!item(d, key, -1, obj))
            derr(d, "key '%s' wants %s, got %s as list item %llu", key, wants,
                 type_name(L, -1), (unsigned long long)i);
        lua_pop(L, 1);
    }
}

static bool string_item(const struct decl *d, const char *key, int idx, void *obj)
{
    size_t len;
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    const char *s = lua_tolstring(d->L, idx, &len);
    if (len == 0 || strlen(s) != len)
        derr(d, "key '%s' wants non-empty strings without NUL bytes", key);
    else
        strlist_add(d->ld, obj, s);
    return true;
}

static void want_strlist(const struct decl *d, const char *key, int idx, struct sl_strlist *l)
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
static void bad_key(const struct decl *d, const char *prefix, int idx)
{
    lua_State *L = d->L;
    lua_pushvalue(L, idx);
    bool number = lua_type(L, -1) == LUA_TNUMBER;
    const char *what = number ? "list item" : "key of type";
    const char *k = number ? lua_tostring(L, -1) : type_name(L, -1);
    if (prefix != NULL)
        derr(d, "key '%s' holds a %s %s; write name = value", prefix, what, k);
    else
        derr(d, "unexpected %s %s; write name = value", what, k);
    lua_pop(L, 1);
}

/* Pushes a userdata holding the names among the keys of the table at t,
 * sorted so that errors and plugin keys come out in a stable order (Lua's
 * hash order changes from run to run), and reports the other keys. The
 * strings are anchored by the table, which nothing changes meanwhile. */
static const char **sorted_keys(const struct decl *d, int t, const char *prefix, size_t *n)
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

typedef void set_fn(const struct decl *d, int k, const char *key, int idx, void *obj);

/* Calls set() for each key of the table at t that names[] knows, reports
 * the others, and returns a mask of the keys seen. */
static unsigned each_key(const struct decl *d, int t, const char *prefix,
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
        int k = name_index(names, keys[i]);
        if (k < 0) {
            char pre[64];
            snprintf(pre, sizeof pre, "%s%s", prefix ? prefix : "", prefix ? "." : "");
            derr(d, "unknown key '%s'%s", full, did_you_mean(hint, sizeof hint, pre, keys[i], names));
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

/* Names of inputs and outputs end up in file names, JSON and log lines. */
static bool good_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
    return n > 0 && s[n] == '\0' && n <= MAX_NAME;
}
/* }=== */

/* {=== settings { ... } */
enum { S_CONTROL, S_HOSTNAME, S_PLUGIN_PATH, S_STATE_DIR, S_LOG_LEVEL };
static const char *const settings_keys[] = {
    "control", "hostname", "plugin_path", "state_dir", "log_level", NULL};

static void set_setting(const struct decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_config *c = obj;
    switch (k) {
    case S_CONTROL: want_string(d, key, v, &c->control); break;
    case S_HOSTNAME: want_string(d, key, v, &c->hostname); break;
    case S_STATE_DIR: want_string(d, key, v, &c->state_dir); break;
    case S_PLUGIN_PATH: want_strlist(d, key, v, &c->plugin_path); break;
    case S_LOG_LEVEL: {
        char *s = NULL;
        if (!want_string(d, key, v, &s))
            break;
        int level = sl_severity_from_name(s, strlen(s));
        if (level < SL_LOG_ERR)
            derr(d, "key 'log_level': unknown level '%s' (err, warning, notice, info or debug)", s);
        else
            c->log_level = level;
        free(s);
        break;
    }
    }
}

static int l_settings(lua_State *L)
{
    struct loader *ld = loader_of(L);
    struct decl d = {L, ld, "settings", config_line(L, 1)};
    if (ld->settings_line != 0)
        derr(&d, "given twice (first at line %d)", ld->settings_line);
    else
        ld->settings_line = d.line > 0 ? d.line : -1;
    if (lua_type(L, 1) != LUA_TTABLE)
        derr(&d, "wants a table: settings { ... }, got %s", type_name(L, 1));
    else
        each_key(&d, 1, NULL, settings_keys, set_setting, ld->c);
    return 0;
}
/* }=== */

/* {=== input "name" { ... } */
enum { I_TYPE, I_PATH, I_LISTEN, I_MAX_MESSAGE, I_IDLE_TIMEOUT, I_RCVBUF, I_MODE };
static const char *const input_keys[] = {
    "type", "path", "listen", "max_message", "idle_timeout", "rcvbuf", "mode", NULL};
static const char *const input_types[] = {"unix", "udp", "tcp", NULL};
/* Keys each type uses, by enum sl_input_type. */
static const unsigned input_type_keys[] = {
    [SL_INPUT_UNIX] = 1u << I_PATH | 1u << I_MAX_MESSAGE | 1u << I_RCVBUF | 1u << I_MODE,
    [SL_INPUT_UDP] = 1u << I_LISTEN | 1u << I_MAX_MESSAGE | 1u << I_RCVBUF,
    [SL_INPUT_TCP] = 1u << I_LISTEN | 1u << I_MAX_MESSAGE | 1u << I_IDLE_TIMEOUT | 1u << I_RCVBUF,
};

struct input_ctx {
    struct sl_input_conf *in;
    bool typed;
};

/* "HOST:PORT" or "[V6]:PORT"; port 0 asks the kernel for a free one. */
static bool parse_listen(struct loader *ld, const char *s, char **host, char **port)
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
    *host = strndup(h, (size_t)(he - h));
    *port = copy_str(ld, num);
    if (*host == NULL)
        ld->oom = true;
    return true;
}

/* A permission as a string of octal digits ("0666"), or an integer. Lua has
 * no octal literals, so an integer that reads like one (mode = 644) is
 * refused rather than taken as decimal. */
static void set_mode(const struct decl *d, const char *key, int v, unsigned *mode)
{
    lua_State *L = d->L;
    if (lua_type(L, v) == LUA_TSTRING) {
        const char *s = lua_tostring(L, v);
        size_t n = strspn(s, "01234567");
        unsigned long m = strtoul(s, NULL, 8);
        if (n == 0 || n > 4 || s[n] != '\0' || m > 0777)
            derr(d, "key '%s': bad mode '%s' (octal permissions like \"0666\")", key, s);
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
        derr(d, "key '%s': mode %s is ambiguous or out of range; write it as a string like "
                "\"0%s\"", key, lua_tostring(L, v), isint && m >= 0 ? digits : "666");
    else
        *mode = (unsigned)m;
}

static void set_input_type(const struct decl *d, const char *key, int v, struct input_ctx *x)
{
    char *s = NULL, hint[96];
    if (!want_string(d, key, v, &s))
        return;
    int t = name_index(input_types, s);
    if (t < 0)
        derr(d, "unknown type '%s' (unix, udp or tcp)%s", s,
             did_you_mean(hint, sizeof hint, "", s, input_types));
    x->in->type = (enum sl_input_type)(t < 0 ? 0 : t);
    x->typed = t >= 0;
    free(s);
}

static void set_input(const struct decl *d, int k, const char *key, int v, void *obj)
{
    struct input_ctx *x = obj;
    struct sl_input_conf *in = x->in;
    unsigned long long size;
    long long n;
    char *s = NULL;
    switch (k) {
    case I_TYPE: set_input_type(d, key, v, x); break;
    case I_PATH: want_string(d, key, v, &in->path); break;
    case I_LISTEN:
        if (want_string(d, key, v, &s) && !parse_listen(d->ld, s, &in->host, &in->port))
            derr(d, "bad listen address '%s' (HOST:PORT or [IPv6]:PORT, port 0-65535)", s);
        free(s);
        break;
    case I_MAX_MESSAGE:
        if (want_size(d, key, v, 1, MAX_MESSAGE_LIMIT, &size))
            in->max_message = (size_t)size;
        break;
    case I_RCVBUF:
        if (want_size(d, key, v, 0, 1u << 30, &size))
            in->rcvbuf = (size_t)size;
        break;
    case I_IDLE_TIMEOUT:
        if (want_int(d, key, v, 0, 1 << 30, &n))
            in->idle_timeout = (int)n;
        break;
    case I_MODE: set_mode(d, key, v, &in->mode); break;
    }
}

/* Checks what depends on the type, once every key has been read. */
static void check_input(const struct decl *d, const struct input_ctx *x, unsigned seen)
{
    if (!(seen & 1u << I_TYPE)) {
        derr(d, "key 'type' is missing (unix, udp or tcp)");
        return;
    }
    if (!x->typed)
        return;
    enum sl_input_type t = x->in->type;
    unsigned extra = seen & ~(input_type_keys[t] | 1u << I_TYPE);
    for (int k = 0; input_keys[k] != NULL; k++) {
        if (extra & 1u << k)
            derr(d, "key '%s' is not used by type '%s'", input_keys[k], input_types[t]);
    }
    if (t == SL_INPUT_UNIX && !(seen & 1u << I_PATH))
        derr(d, "type 'unix' needs key 'path'");
    if (t != SL_INPUT_UNIX && !(seen & 1u << I_LISTEN))
        derr(d, "type '%s' needs key 'listen' (\"HOST:PORT\")", input_types[t]);
}
/* }=== */

/* {=== output "name" { ... } */
enum { Q_CAPACITY, Q_BYTES, Q_POLICY };
static const char *const queue_keys[] = {"capacity", "bytes", "policy", NULL};
static const char *const policies[] = {"block", "drop", NULL};

static void set_queue(const struct decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_output_conf *o = obj;
    unsigned long long size;
    long long n;
    char *s = NULL, hint[96];
    switch (k) {
    case Q_CAPACITY:
        if (want_int(d, key, v, 1, 1 << 30, &n))
            o->queue_capacity = (size_t)n;
        break;
    case Q_BYTES:
        if (want_size(d, key, v, 1, 1ull << 40, &size))
            o->queue_bytes = (size_t)size;
        break;
    case Q_POLICY:
        if (!want_string(d, key, v, &s))
            break;
        if (name_index(policies, s) < 0)
            derr(d, "key '%s': unknown policy '%s' (block or drop)%s", key, s,
                 did_you_mean(hint, sizeof hint, "", s, policies));
        else
            o->policy = name_index(policies, s) == 0 ? SL_POLICY_BLOCK : SL_POLICY_DROP;
        free(s);
        break;
    }
}

static void add_kv(const struct decl *d, struct sl_output_conf *o, const char *key, int v,
                   int depth);

static void add_kv_table(const struct decl *d, struct sl_output_conf *o, const char *key, int v,
                         int depth)
{
    lua_State *L = d->L;
    char full[256];
    size_t n;
    if (depth >= MAX_DEPTH) {
        derr(d, "key '%s' is nested too deeply", key);
        return;
    }
    v = lua_absindex(L, v);
    const char **keys = sorted_keys(d, v, key, &n);
    for (size_t i = 0; i < n; i++) {
        if ((size_t)snprintf(full, sizeof full, "%s.%s", key, keys[i]) >= sizeof full) {
            derr(d, "key '%s...' is too long", key);
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
static void add_kv(const struct decl *d, struct sl_output_conf *o, const char *key, int v,
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
        derr(d, "key '%s' is given twice", key);
        return;
    }
    size_t len = 0;
    if (t == LUA_TSTRING && strlen(lua_tolstring(L, v, &len)) != len) {
        derr(d, "key '%s' holds a NUL byte", key);
        return;
    }
    char *copy = copy_str(d->ld, key);
    struct sl_kv *kv = copy != NULL ? grow(d->ld, o->kv, o->nkv, sizeof *kv) : NULL;
    if (kv == NULL) {
        free(copy); /* every kv has a key: sl_output_conf_get relies on it */
        return;
    }
    o->kv = kv;
    kv = &o->kv[o->nkv++];
    kv->key = copy;
    if (t == LUA_TSTRING) {
        kv->type = SL_KV_STRING;
        kv->str = copy_str(d->ld, lua_tostring(L, v));
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

static void read_output(const struct decl *d, struct sl_output_conf *o)
{
    lua_State *L = d->L;
    size_t n;
    bool typed = false;
    const char **keys = sorted_keys(d, 1, NULL, &n);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, keys[i]);
        lua_rawget(L, 1);
        if (strcmp(keys[i], "type") == 0) {
            typed = true;
            if (want_string(d, "type", -1, &o->type)
                && strspn(o->type, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(o->type))
                derr(d, "bad type '%s' (a plugin name: a-z, 0-9, '_' and '-')", o->type);
        } else if (strcmp(keys[i], "plugin") == 0) {
            want_string(d, "plugin", -1, &o->plugin);
        } else if (strcmp(keys[i], "queue") == 0) {
            if (lua_type(L, -1) == LUA_TTABLE)
                each_key(d, -1, "queue", queue_keys, set_queue, o);
            else
                wrong_type(d, "queue", "a table { capacity = N, bytes = SIZE, policy = P }", -1);
        } else {
            add_kv(d, o, keys[i], -1, 0);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the keys */
    if (!typed)
        derr(d, "key 'type' is missing (the plugin, e.g. \"file\")");
}

static void push_handle(lua_State *L, size_t index)
{
    size_t *h = lua_newuserdatauv(L, sizeof *h, 0);
    *h = index;
    luaL_setmetatable(L, HANDLE_MT);
}

static int l_handle_tostring(lua_State *L)
{
    const size_t *h = luaL_checkudata(L, 1, HANDLE_MT);
    const char *name = loader_of(L)->c->outputs[*h].name;
    lua_pushfstring(L, "output \"%s\"", name != NULL ? name : "?");
    return 1;
}
/* }=== */

/* {=== route { ... } */
enum { R_FACILITY, R_SEVERITY, R_APP_NAME, R_HOSTNAME, R_MSG_CONTAINS, R_INPUT, R_TO, R_FINAL };
static const char *const route_keys[] = {"facility", "severity", "app_name", "hostname",
                                         "msg_contains", "input", "to", "final", NULL};

struct route_ctx {
    struct sl_route_conf *r;
    struct route_targets *x;
};

static bool facility_item(const struct decl *d, const char *key, int idx, void *obj)
{
    const char *names[25], *s;
    char hint[96];
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    s = lua_tostring(d->L, idx);
    int f = sl_facility_from_name(s, strlen(s));
    if (f >= 0) {
        *(uint32_t *)obj |= 1u << f;
        return true;
    }
    for (unsigned i = 0; i < 25; i++)
        names[i] = sl_facility_name(i);
    derr(d, "unknown facility '%s'%s", s, did_you_mean(hint, sizeof hint, "", s, names));
    return true;
}

/* A severity name, or a comparison "<=warning", "<warning", ">=info",
 * ">info", "==err" of the numeric severity (0 emerg .. 7 debug). */
static bool severity_item(const struct decl *d, const char *key, int idx, void *obj)
{
    static const char *const ops[] = {"<=", ">=", "==", "<", ">", NULL};
    const char *names[9], *s, *name;
    char hint[96];
    if (lua_type(d->L, idx) != LUA_TSTRING)
        return false;
    name = s = lua_tostring(d->L, idx);
    int op = -1;
    for (int i = 0; op < 0 && ops[i] != NULL; i++) {
        if (strncmp(name, ops[i], strlen(ops[i])) == 0)
            op = i, name += strlen(ops[i]);
    }
    if (op < 0 && name[0] != '\0' && strchr("<>=!~", name[0]) != NULL) {
        derr(d, "bad severity comparison '%s' (<=, <, >=, > or == and a name, like "
                "\"<=warning\")", s);
        return true;
    }
    name += strspn(name, " ");
    int v = sl_severity_from_name(name, strlen(name));
    if (v < 0) {
        for (unsigned i = 0; i < 9; i++)
            names[i] = sl_severity_name(i);
        derr(d, "unknown severity '%s' (a name like \"err\" or a comparison like "
                "\"<=warning\")%s", s,
             did_you_mean(hint, sizeof hint, op >= 0 ? ops[op] : "", name, names));
        return true;
    }
    uint8_t mask = 0;
    for (int i = 0; i < 8; i++) {
        bool in = op == 0 ? i <= v : op == 1 ? i >= v : op == 3 ? i < v : op == 4 ? i > v : i == v;
        mask |= (uint8_t)(in << i);
    }
    if (mask == 0)
        derr(d, "severity '%s' matches no severity", s);
    *(uint8_t *)obj |= mask;
    return true;
}

static bool to_item(const struct decl *d, const char *key, int idx, void *obj)
{
    struct route_targets *x = obj;
    const size_t *h = luaL_testudata(d->L, idx, HANDLE_MT);
    if (h != NULL) {
        const char *name = d->ld->c->outputs[*h].name;
        if (name != NULL)
            strlist_add(d->ld, &x->names, name);
        else
            x->broken = true; /* its output's bad name is already reported */
        return true;
    }
    return string_item(d, key, idx, &x->names);
}

static void set_route(const struct decl *d, int k, const char *key, int v, void *obj)
{
    struct route_ctx *x = obj;
    struct sl_route_conf *r = x->r;
    switch (k) {
    case R_FACILITY:
        r->facility_mask = 0;
        each_item(d, key, v, "a facility name or a list of them", facility_item,
                  &r->facility_mask);
        break;
    case R_SEVERITY:
        r->severity_mask = 0;
        each_item(d, key, v, "a severity name, a comparison like \"<=warning\" or a list of them",
                  severity_item, &r->severity_mask);
        break;
    case R_APP_NAME: want_strlist(d, key, v, &r->app_names); break;
    case R_HOSTNAME: want_strlist(d, key, v, &r->hostnames); break;
    case R_INPUT: want_strlist(d, key, v, &r->inputs); break;
    case R_MSG_CONTAINS: want_string(d, key, v, &r->msg_contains); break;
    case R_FINAL: want_bool(d, key, v, &r->final); break;
    case R_TO:
        each_item(d, key, v, "an output, an output name or a list of them", to_item, x->x);
        break;
    }
}

static int l_route(lua_State *L)
{
    struct loader *ld = loader_of(L);
    struct sl_config *c = ld->c;
    struct decl d = {L, ld, "route", config_line(L, 1)};
    struct route_targets *x = grow(ld, ld->targets, c->nroutes, sizeof *x);
    if (x == NULL)
        return 0;
    ld->targets = x;
    struct sl_route_conf *r = grow(ld, c->routes, c->nroutes, sizeof *r);
    if (r == NULL)
        return 0;
    c->routes = r;
    x = &ld->targets[c->nroutes];
    r = &c->routes[c->nroutes++];
    *r = (struct sl_route_conf){.facility_mask = SL_FACILITY_ANY,
                                .severity_mask = SL_SEVERITY_ANY, .line = d.line};
    if (lua_type(L, 1) != LUA_TTABLE) {
        derr(&d, "wants a table: route { ... }, got %s", type_name(L, 1));
        x->broken = true;
        return 0;
    }
    struct route_ctx ctx = {r, x};
    unsigned seen = each_key(&d, 1, NULL, route_keys, set_route, &ctx);
    if (!(seen & 1u << R_TO))
        derr(&d, "key 'to' is missing or nil (an output, an output name or a list of them)");
    return 0;
}
/* }=== */

/* {=== input and output: curried calls */
/* input "name" and output "name" return a function taking the table, with
 * the index of their pending entry as upvalue. */
static int declare(lua_State *L, bool output, lua_CFunction table_fn)
{
    struct loader *ld = loader_of(L);
    const char *kind = output ? "output" : "input";
    struct decl d = {L, ld, "", config_line(L, 1)};
    snprintf(d.what, sizeof d.what, "%s", kind);
    struct pending *p = grow(ld, ld->pend, ld->npend, sizeof *p);
    if (p == NULL)
        return luaL_error(L, "out of memory");
    ld->pend = p;
    p = &ld->pend[ld->npend++];
    p->line = d.line;
    p->output = output;
    if (lua_type(L, 1) != LUA_TSTRING) {
        derr(&d, "wants a name: %s \"NAME\" { ... }, got %s", kind, type_name(L, 1));
    } else {
        p->name = copy_str(ld, lua_tostring(L, 1));
        if (!good_name(lua_tostring(L, 1)))
            derr(&d, "bad name \"%s\" (1 to %d letters, digits, '_', '-' or '.')",
                 lua_tostring(L, 1), MAX_NAME);
    }
    lua_pushinteger(L, (lua_Integer)(ld->npend - 1));
    lua_pushcclosure(L, table_fn, 1);
    return 1;
}

/* Starts the declaration's table call: names it, finds duplicates. */
static struct pending *begin_table(lua_State *L, struct decl *d, const char *kind)
{
    struct loader *ld = loader_of(L);
    struct pending *p = &ld->pend[lua_tointeger(L, lua_upvalueindex(1))];
    *d = (struct decl){L, ld, "", config_line(L, 1)};
    if (p->name != NULL)
        snprintf(d->what, sizeof d->what, "%s \"%s\"", kind, p->name);
    else
        snprintf(d->what, sizeof d->what, "%s", kind);
    for (size_t i = 0; p->name != NULL && i < ld->npend; i++) {
        const struct pending *q = &ld->pend[i];
        if (q->done && q->output == p->output && q->name && strcmp(q->name, p->name) == 0) {
            derr(d, "already declared at line %d", q->line);
            break;
        }
    }
    p->done = true;
    if (lua_type(L, 1) != LUA_TTABLE)
        derr(d, "wants a table: %s { ... }, got %s", d->what, type_name(L, 1));
    return p;
}

static int l_input_table(lua_State *L)
{
    struct loader *ld = loader_of(L);
    struct decl d;
    struct pending *p = begin_table(L, &d, "input");
    struct sl_config *c = ld->c;
    struct sl_input_conf *in = grow(ld, c->inputs, c->ninputs, sizeof *in);
    if (in == NULL)
        return 0;
    c->inputs = in;
    in = &c->inputs[c->ninputs++];
    *in = (struct sl_input_conf){.max_message = SL_DEFAULT_MAX_MESSAGE, .mode = 0666,
                                 .line = d.line};
    in->name = p->name != NULL ? copy_str(ld, p->name) : NULL;
    if (lua_type(L, 1) == LUA_TTABLE) {
        struct input_ctx x = {in, false};
        unsigned seen = each_key(&d, 1, NULL, input_keys, set_input, &x);
        check_input(&d, &x, seen);
    }
    return 0;
}

static int l_output_table(lua_State *L)
{
    struct loader *ld = loader_of(L);
    struct sl_config *c = ld->c;
    struct decl d;
    struct pending *p = begin_table(L, &d, "output");
    struct sl_output_conf *o = grow(ld, c->outputs, c->noutputs, sizeof *o);
    if (o == NULL)
        return luaL_error(L, "out of memory");
    c->outputs = o;
    o = &c->outputs[c->noutputs++];
    *o = (struct sl_output_conf){.queue_capacity = SL_DEFAULT_QUEUE_CAPACITY,
                                 .queue_bytes = SL_DEFAULT_QUEUE_BYTES,
                                 .policy = SL_POLICY_BLOCK, .file = c->file, .line = d.line};
    o->name = p->name != NULL ? copy_str(ld, p->name) : NULL;
    if (lua_type(L, 1) == LUA_TTABLE)
        read_output(&d, o);
    push_handle(L, c->noutputs - 1);
    return 1;
}

static int l_input(lua_State *L)
{
    return declare(L, false, l_input_table);
}

static int l_output(lua_State *L)
{
    return declare(L, true, l_output_table);
}
/* }=== */

/* {=== running the chunk */
/* Lua's allocator contract, with a ceiling on the state's total size. */
static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct loader *ld = ud;
    size_t old = ptr != NULL ? osize : 0; /* without ptr, osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        ld->mem -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > MEMORY_LIMIT - ld->mem) {
        ld->mem_refused = true;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        ld->mem = ld->mem - old + nsize;
    return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct loader *ld = loader_of(L);
    if (++ld->ticks < MAX_INSTRUCTIONS / HOOK_EVERY)
        return;
    /* From now on every instruction fails, so a pcall in the config cannot
     * catch the error and carry on looping. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_where(L, 0); /* in a hook, level 0 is the hooked function */
    lua_pushstring(L, "config took too long (more than 100 million instructions)");
    lua_concat(L, 2);
    lua_error(L);
}

/* Remembers the config line the error came from and adds a traceback, as
 * lua.c does; the traceback is only shown in the debug log. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    loader_of(L)->err_line = config_line(L, 1);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Skips the "FILE:LINE: " Lua puts before a message from the config file,
 * where FILE may be cut to "...TAIL" (LUA_IDSIZE); NULL when msg has none. */
static const char *after_position(const char *msg, const char *file, int *line)
{
    size_t n = strlen(file);
    const char *p = NULL;
    if (strncmp(msg, file, n) == 0 && msg[n] == ':')
        p = msg + n + 1;
    else if (strncmp(msg, "...", 3) == 0) {
        for (const char *q = msg + 3; p == NULL && *q != '\0'; q++) {
            size_t k = (size_t)(q - msg - 3);
            if (*q == ':' && k <= n && memcmp(file + n - k, msg + 3, k) == 0)
                p = q + 1;
        }
    }
    size_t digits = p != NULL ? strspn(p, "0123456789") : 0;
    if (digits == 0 || p[digits] != ':')
        return NULL;
    *line = atoi(p);
    return p + digits + (p[digits + 1] == ' ' ? 2 : 1);
}

static void report_lua_error(struct loader *ld, lua_State *L, int status)
{
    if (status == LUA_ERRMEM) {
        sl_errors_add(ld->errs, ld->file, ld->err_line, "%s",
                      ld->mem_refused ? "config needs more than 64 MiB of memory"
                                      : "out of memory");
        return;
    }
    const char *full = lua_tostring(L, -1);
    if (full == NULL)
        full = "(error object is not a string)";
    sl_log(SL_LOG_DEBUG, 0, "%s: %s", ld->file, full);
    const char *tb = strstr(full, "\nstack traceback:");
    int len = tb != NULL ? (int)(tb - full) : (int)strlen(full);
    int line = ld->err_line;
    const char *msg = after_position(full, ld->file, &line);
    if (msg == NULL)
        msg = full;
    sl_errors_add(ld->errs, ld->file, line, "%.*s", len - (int)(msg - full), msg);
}

/* Like load, but never for binary chunks, which can crash the VM. */
static int l_load(lua_State *L)
{
    int n = lua_gettop(L);
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (n >= 4) /* an explicit nil env is not the same as none */
        lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET); /* inside the config's pcall */
    return lua_gettop(L) - 4;
}

/* Like setmetatable, but refuses __gc: Lua runs finalizers with hooks off,
 * so a looping one would escape the instruction limit. */
static int l_setmetatable(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "__gc");
    if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "__gc metamethods are not allowed in the config");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

static void open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func != NULL; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* The config reads no other file; `load` stays, for text only. */
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_getglobal(L, "load");
    lua_pushcclosure(L, l_load, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");

    luaL_newmetatable(L, HANDLE_MT);
    lua_pushcfunction(L, l_handle_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, HANDLE_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_register(L, "settings", l_settings);
    lua_register(L, "input", l_input);
    lua_register(L, "output", l_output);
    lua_register(L, "route", l_route);
}

/* Everything that touches the state, run under lua_pcall. */
static int protected_main(lua_State *L)
{
    struct loader *ld = loader_of(L);
    open_libs(L);
    lua_pushcfunction(L, msghandler);
    int status = luaL_loadfilex(L, ld->file, "t");
    if (status == LUA_OK) {
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
        status = lua_pcall(L, 0, 0, -2);
    }
    if (status != LUA_OK)
        report_lua_error(ld, L, status);
    ld->ran = status == LUA_OK;
    return 0;
}

static void run(struct loader *ld)
{
    FILE *f = fopen(ld->file, "r");
    if (f == NULL) {
        sl_errors_add(ld->errs, ld->file, 0, "open() failed (%d: %s)", errno, strerror(errno));
        return;
    }
    fclose(f);
    lua_State *L = lua_newstate(limited_alloc, ld);
    if (L == NULL) {
        ld->oom = true;
        return;
    }
    *(struct loader **)lua_getextraspace(L) = ld;
    lua_pushcfunction(L, protected_main);
    int status = lua_pcall(L, 0, 0, 0);
    if (status != LUA_OK)
        report_lua_error(ld, L, status);
    lua_close(L);
}
/* }=== */

/* {=== checks once the whole chunk has run */
static void check_pending(struct loader *ld)
{
    for (size_t i = 0; i < ld->npend; i++) {
        const struct pending *p = &ld->pend[i];
        const char *kind = p->output ? "output" : "input";
        if (!p->done && p->name != NULL)
            sl_errors_add(ld->errs, ld->file, p->line,
                          "%s \"%s\": no table given; write %s \"%s\" { ... }", kind, p->name,
                          kind, p->name);
    }
}

static const char **names_of(struct loader *ld, bool outputs)
{
    struct sl_config *c = ld->c;
    size_t n = outputs ? c->noutputs : c->ninputs;
    const char **v = calloc(n + 1, sizeof *v);
    if (v == NULL) {
        ld->oom = true;
        return NULL;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        const char *name = outputs ? c->outputs[i].name : c->inputs[i].name;
        if (name != NULL)
            v[k++] = name;
    }
    return v;
}

static void resolve_route(struct loader *ld, struct sl_route_conf *r, struct route_targets *x,
                          const char **outs, const char **ins)
{
    char hint[160];
    for (size_t k = 0; k < x->names.n; k++) {
        const char *name = x->names.v[k];
        int o = name_index(outs, name);
        if (o < 0) {
            sl_errors_add(ld->errs, ld->file, r->line, "route: 'to' names unknown output '%s'%s",
                          name, did_you_mean(hint, sizeof hint, "", name, outs));
            continue;
        }
        /* outs[] skips unnamed outputs: find the index in c->outputs. */
        size_t idx = 0;
        while (ld->c->outputs[idx].name == NULL || strcmp(ld->c->outputs[idx].name, name) != 0)
            idx++;
        bool have = false;
        for (size_t j = 0; j < r->nto; j++)
            have = have || r->to[j] == idx;
        size_t *to = have ? r->to : realloc(r->to, (r->nto + 1) * sizeof *to);
        if (to == NULL) {
            ld->oom = true;
            return;
        }
        r->to = to;
        if (!have)
            r->to[r->nto++] = idx;
    }
    for (size_t k = 0; k < r->inputs.n; k++) {
        if (name_index(ins, r->inputs.v[k]) < 0)
            sl_errors_add(ld->errs, ld->file, r->line, "route: key 'input' names unknown "
                          "input '%s'%s", r->inputs.v[k],
                          did_you_mean(hint, sizeof hint, "", r->inputs.v[k], ins));
    }
}

static void check_references(struct loader *ld)
{
    check_pending(ld);
    const char **outs = names_of(ld, true), **ins = names_of(ld, false);
    for (size_t i = 0; outs != NULL && ins != NULL && i < ld->c->nroutes; i++)
        resolve_route(ld, &ld->c->routes[i], &ld->targets[i], outs, ins);
    free(outs);
    free(ins);
}

/* The line of an entry "FILE:LINE: ...", 0 for "FILE: ...". */
static long entry_line(const char *entry, size_t file_len)
{
    return entry[file_len] == ':' ? strtol(entry + file_len + 1, NULL, 10) : 0;
}

/* Puts this load's errors in file order (a stable insertion sort): the
 * checks made after the chunk ran come last otherwise. */
static void sort_errors(struct sl_errors *errs, size_t from, const char *file)
{
    size_t n = strlen(file);
    for (size_t i = from + 1; i < errs->n; i++) {
        char *e = errs->v[i];
        long line = entry_line(e, n);
        size_t j = i;
        for (; j > from && entry_line(errs->v[j - 1], n) > line; j--)
            errs->v[j] = errs->v[j - 1];
        errs->v[j] = e;
    }
}

static void loader_free(struct loader *ld)
{
    for (size_t i = 0; i < ld->npend; i++)
        free(ld->pend[i].name);
    free(ld->pend);
    for (size_t i = 0; ld->targets != NULL && i < ld->c->nroutes; i++) {
        for (size_t k = 0; k < ld->targets[i].names.n; k++)
            free(ld->targets[i].names.v[k]);
        free(ld->targets[i].names.v);
    }
    free(ld->targets);
}
/* }=== */

int sl_config_load(const char *path, struct sl_config **out, struct sl_errors *errs)
{
    size_t before = errs->n;
    struct sl_config *c = calloc(1, sizeof *c);
    char *file = strdup(path);
    if (c == NULL || file == NULL) {
        free(c);
        free(file);
        sl_errors_add(errs, path, 0, "out of memory");
        return -EINVAL;
    }
    c->file = file;
    c->log_level = SL_LOG_INFO;
    struct loader ld = {.file = path, .c = c, .errs = errs};
    run(&ld);
    if (ld.ran)
        check_references(&ld);
    if (ld.oom)
        sl_errors_add(errs, path, 0, "out of memory");
    loader_free(&ld);
    sort_errors(errs, before, path);
    if (errs->n != before || ld.oom) {
        sl_config_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}
