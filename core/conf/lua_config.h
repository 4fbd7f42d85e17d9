/* SPDX-License-Identifier: MIT */
/*
 * lua_config.h: reading sluice.lua into plain C structs.
 *
 * The config file is a Lua 5.4 chunk run once in a fresh state where only the
 * safe base libraries, the four declarations and include exist:
 *
 *   settings { control = "var/run/sluice.ctl", hostname = "h", plugin_path = {"plugins"} }
 *   input  "name" { type = "unix"|"udp"|"tcp", ... }   (the kinds and their keys: input/kind.h)
 *   output "name" { type = "file", queue = { capacity = N, max_bytes = "16M",
 *                   policy = "block"|"drop"|"disk", ... (lua_queue.c) }, ... }
 *   route  { facility = ..., severity = "<=warning", app_name = ..., hostname = ...,
 *            msg_contains = "...", msg_prefix = "...", msg_suffix = "...",
 *            msg_match = "REGEX", app_name_match = "REGEX", hostname_match = "REGEX",
 *            input = ..., to = out | "name" | { ... }, final = true,
 *            where = function(m) ... end, transform = function(m) ... end,
 *            drop = true, on_error = "skip"|"pass" }
 *   include "sluice.d/NAME.lua"   (a glob too; the files run in the same state)
 *
 * sluice.lua(5) is the reference. Everything the rest of the daemon needs is
 * copied out of Lua, so the state is closed after loading. Route functions
 * cannot be copied out: each input thread runs the same text again in a
 * state of its own (filter.h, sl_config_run_functions() below).
 */
#ifndef SL_LUA_CONFIG_H
#define SL_LUA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors collected while loading or checking, each "FILE:LINE: message". */
struct sl_errors {
    char **v;
    size_t n;
    size_t lost; /* errors that could not be recorded (out of memory) */
};

/* Every error added, recorded or lost: what a caller compares to see
 * whether a step found any. */
static inline size_t sl_errors_count(const struct sl_errors *e)
{
    return e->n + e->lost;
}

void sl_errors_add(struct sl_errors *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends a copy of text, which already names its place ("FILE:LINE: ..."),
 * as it is; out of memory, it is counted in lost. */
void sl_errors_push(struct sl_errors *e, const char *text);
void sl_errors_clear(struct sl_errors *e);
/* Puts e->v[from..] in the order of their lines in `file` (a stable sort):
 * the checks made after a file is read report last otherwise. An entry
 * without a line ("FILE: ...") counts as line 0; another file's entry (an
 * included file's) comes after all of file's, in the order it was made. */
void sl_errors_sort(struct sl_errors *e, size_t from, const char *file);
/* The same for a config that included files: by file, in the order of
 * files[0..n) (files[0] the main one; borrowed), then by line; entries of
 * no file listed last. */
void sl_errors_sort_files(struct sl_errors *e, size_t from, const char *const *files,
                          size_t nfiles);
/* sl_errors_sort_files() over c's files: the main one, then each it
 * included, in the order they were read (lua_config.c). */
struct sl_config;
void sl_config_sort_errors(const struct sl_config *c, struct sl_errors *errs, size_t before);

struct sl_strlist {
    char **v;
    size_t n;
};

/* True when s[0..len) equals one of the list's strings. */
bool sl_strlist_has(const struct sl_strlist *l, const char *s, size_t len);
/* Appends a copy of s. 0 or -ENOMEM (the list is then unchanged). */
int sl_strlist_push(struct sl_strlist *l, const char *s);
/* Frees the strings and the array; the list is empty afterwards. */
void sl_strlist_clear(struct sl_strlist *l);

/* Names sorted for look-up in O(log n): the loader's duplicate and
 * reference checks, which compared every pair (a generated config with
 * 100,000 outputs took minutes in --check). The names are borrowed. */
struct sl_name_entry {
    const char *name; /* borrowed */
    size_t at;        /* where the caller keeps it (an index into its array) */
};
struct sl_name_index {
    struct sl_name_entry *v;
    size_t n, cap;
};

/* Room for cap names. 0 or -ENOMEM (x is then empty, and may be freed). */
int sl_name_index_init(struct sl_name_index *x, size_t cap);
/* Adds name (NULL: skipped) with its place; at most cap names in all. */
void sl_name_index_add(struct sl_name_index *x, const char *name, size_t at);
/* Sorts by name, then place: entries of one name are adjacent, first
 * added first. Call once, after the last add and before any find. */
void sl_name_index_sort(struct sl_name_index *x);
/* The first place added for name, or -1. */
long long sl_name_index_find(const struct sl_name_index *x, const char *name);
void sl_name_index_free(struct sl_name_index *x); /* an empty index is fine */

struct sl_input_kind; /* input/kind.h */
/* What an output does with what its queue cannot take (sluice.lua(5),
 * queue): block the sender, drop and count, or keep it in a write-ahead
 * queue on disk (whose own overflow is block or drop). */
enum sl_policy { SL_POLICY_BLOCK, SL_POLICY_DROP, SL_POLICY_DISK };
/* When the disk queue makes its appends durable: fdatasync after each
 * batch (power loss), never (the page cache: a crash of the process), or
 * at most every sync_ms. */
enum sl_disk_sync { SL_DISK_SYNC_BATCH, SL_DISK_SYNC_NONE, SL_DISK_SYNC_INTERVAL };

#define SL_DEFAULT_MAX_MESSAGE (64 * 1024)
/* Each tcp connection holds a buffer of max_message bytes: bound them. */
#define SL_DEFAULT_MAX_CONNECTIONS 512
/* So that one host holding connections open cannot take them all: 64 is
 * far more than any one sender needs (rsyslog and syslog-ng open one per
 * action), and 8 hosts are needed to fill the default 512. */
#define SL_DEFAULT_MAX_CONNECTIONS_PER_PEER 64
/* A connection silent this long is closed (a peer gone without a FIN, or
 * one holding a slot): 5 minutes, longer than the gaps of a quiet but
 * live sender, which reconnects anyway when its next message comes. */
#define SL_DEFAULT_IDLE_TIMEOUT 300
/* A datagram input's coalesce: 2 ms, a tenth of the paced benchmark's 20 ms
 * bound on send-to-disk, long enough to gather a batch at a few thousand
 * messages a second (input/gather.h). At most SL_MAX_COALESCE_MS. */
#define SL_DEFAULT_COALESCE_MS 2
#define SL_MAX_COALESCE_MS 100
/* UDP cannot be paused: the kernel's buffer is all that absorbs a burst
 * or a stall, and its 208 KiB default holds about 1 ms at 200k msgs/s. */
#define SL_DEFAULT_UDP_RCVBUF (4 * 1024 * 1024)
#define SL_DEFAULT_QUEUE_CAPACITY 10000
#define SL_DEFAULT_QUEUE_BYTES (16 * 1024 * 1024)
#define SL_DEFAULT_HIGH_WATER 0.8
#define SL_DEFAULT_DISK_MAX_SIZE (1024ull * 1024 * 1024)
#define SL_DEFAULT_SHUTDOWN_TIMEOUT_MS 10000

/* ratelimit = { interval = "30s", burst = 10000, per = "pid" }: a budget
 * per sender and severity class (input/ratelimit.h). interval_ms 0: no
 * ratelimit key, no limit. Plain values: a copy is the struct. */
enum sl_ratelimit_per { SL_RATELIMIT_PER_PID, SL_RATELIMIT_PER_UID };
struct sl_ratelimit_conf {
    int64_t interval_ms;
    unsigned burst;            /* messages per interval and class, >= 1 */
    enum sl_ratelimit_per per; /* what a sender is: its pid, or its uid */
};
#define SL_DEFAULT_RATELIMIT_INTERVAL_MS 30000
#define SL_DEFAULT_RATELIMIT_BURST 10000

/* kmsg's from = "auto" | "boot" | "now": the order of its key's choices. */
enum sl_input_from { SL_FROM_AUTO, SL_FROM_BOOT, SL_FROM_NOW };

struct sl_input_conf {
    char *name;
    const struct sl_input_kind *kind; /* borrowed: kinds are static (input/kind.h) */
    char *path;            /* unix: socket path */
    char *host, *port;     /* udp, tcp: from listen = "HOST:PORT" ("[v6]:PORT") */
    size_t max_message;    /* default SL_DEFAULT_MAX_MESSAGE */
    int coalesce_ms;       /* unix, udp, native: the longest a datagram waits for others
                            * to be routed with it (input/gather.h); 0 = never;
                            * default SL_DEFAULT_COALESCE_MS */
    int idle_timeout;      /* tcp: seconds without data before closing; 0 = never;
                            * default SL_DEFAULT_IDLE_TIMEOUT */
    unsigned max_connections; /* tcp: open at once; more are accepted and closed */
    unsigned max_connections_per_peer; /* tcp: open at once from one address; 0 = no limit */
    size_t rcvbuf;         /* SO_RCVBUF; 0 = the default (SL_DEFAULT_UDP_RCVBUF for udp, the kernel's otherwise) */
    unsigned mode;         /* unix: socket file permissions, default 0666 */
    struct sl_ratelimit_conf ratelimit; /* unix: per-sender budgets; off by default */
    int from;              /* kmsg: where reading starts, enum sl_input_from */
    bool trusted;          /* native_stream: believe the sender's _PID/_UID/_GID; default false */
    const char *file;      /* where it was declared: the config's (c->file or an included
                            * file's name); a copy (sl_input_conf_dup) owns its own */
    int line;
};

enum sl_kv_type { SL_KV_STRING, SL_KV_INT, SL_KV_NUMBER, SL_KV_BOOL };

/* One key of an output's table; nested tables flattened ("rotate.size"). */
struct sl_kv {
    char *key;
    enum sl_kv_type type;
    char *str;      /* SL_KV_STRING */
    long long num;  /* SL_KV_INT, SL_KV_BOOL (0/1) */
    double dnum;    /* SL_KV_NUMBER */
};

/* An output's queue = { ... } (sluice.lua(5)); SL_QUEUE_CONF_DEFAULT is
 * what an output without one gets: today's bounded memory queue that
 * blocks. */
struct sl_queue_conf {
    size_t capacity;        /* messages; default SL_DEFAULT_QUEUE_CAPACITY */
    size_t max_bytes;       /* raw bytes (key max_bytes, or bytes); SL_DEFAULT_QUEUE_BYTES */
    enum sl_policy policy;  /* default block */
    enum sl_policy overflow; /* policy disk, past disk_max_size: block (default) or drop */
    int block_timeout_ms;   /* refusing this long makes the output stalled; 0: never */
    bool drop_by_severity;  /* drop_severity given: severities >= drop_severity (the less
                             * severe) are dropped once the queue is more than high_water full */
    int drop_severity;      /* 0..7 */
    double high_water;      /* 0 < F <= 1; default SL_DEFAULT_HIGH_WATER */
    uint64_t disk_max_size; /* policy disk: bytes of segments; SL_DEFAULT_DISK_MAX_SIZE */
    uint64_t disk_segment_size; /* 0: the queue picks (a fraction of max_size) */
    enum sl_disk_sync disk_sync; /* default batch */
    int disk_sync_ms;       /* SL_DISK_SYNC_INTERVAL: at most this apart */
};

#define SL_QUEUE_CONF_DEFAULT                                                              \
    ((struct sl_queue_conf){.capacity = SL_DEFAULT_QUEUE_CAPACITY,                         \
                            .max_bytes = SL_DEFAULT_QUEUE_BYTES, .policy = SL_POLICY_BLOCK, \
                            .overflow = SL_POLICY_BLOCK,                                      \
                            .high_water = SL_DEFAULT_HIGH_WATER,                            \
                            .disk_max_size = SL_DEFAULT_DISK_MAX_SIZE,                      \
                            .disk_sync = SL_DISK_SYNC_BATCH})

/* Same settings (every field). */
bool sl_queue_conf_equal(const struct sl_queue_conf *a, const struct sl_queue_conf *b);

struct sl_output_conf {
    char *name;
    char *type;            /* plugin name, e.g. "file" */
    char *plugin;          /* explicit path to a .so, or NULL to search by type */
    struct sl_queue_conf queue;
    struct sl_kv *kv;      /* every key but type, plugin and queue.* */
    size_t nkv;
    const char *file;      /* the file it was declared in (as sl_input_conf.file) */
    int line;
    /* A key of its table was refused (reported), so kv is not the table as
     * written and the plugin's own check would misjudge it; only in a config
     * that failed to load (sl_config_load_partial). */
    bool broken;
};

/* Returns the key's entry or NULL. */
const struct sl_kv *sl_output_conf_get(const struct sl_output_conf *o, const char *key);

/* {=== copies and comparisons, for reload: sinks and inputs own a deep copy
 * of their conf, so the config they came from can be freed while they run. */

/* Makes *out a deep copy of src (file included: the copy owns its own).
 * 0 or -ENOMEM (nothing allocated). Free with sl_output_conf_free(). */
int sl_output_conf_dup(const struct sl_output_conf *src, struct sl_output_conf **out);
void sl_output_conf_free(struct sl_output_conf *o); /* a copy; NULL is a no-op */
/* Same settings: name, type, plugin, every queue setting and every
 * plugin key (a set: order does not count). file and line do not count. */
bool sl_output_conf_equal(const struct sl_output_conf *a, const struct sl_output_conf *b);

int sl_input_conf_dup(const struct sl_input_conf *src, struct sl_input_conf **out);
void sl_input_conf_free(struct sl_input_conf *in); /* a copy; NULL is a no-op */
/* Every setting equal (line does not count). */
bool sl_input_conf_equal(const struct sl_input_conf *a, const struct sl_input_conf *b);
/* True when a and b would bind the same socket: same kind and equal
 * values of its address keys (kind.h): same host and port (never for port
 * "0"), or same path; or, kinds apart, the same path (unix and native); or
 * read the same thing, being of a kind with no address key (kmsg: the
 * kernel's log). */
bool sl_input_conf_same_address(const struct sl_input_conf *a, const struct sl_input_conf *b);
/* }=== */

/* pcre2.h's pcre2_code for 8-bit code units is this struct; naming the tag
 * keeps pcre2.h out of every file that includes the config model. */
struct pcre2_real_code_8;

/* A route's regular expression, compiled once when the config loads
 * (PCRE2, bytes rather than UTF-8; JIT-compiled where the JIT works).
 * Shared read-only by every input thread; matching needs a per-thread
 * struct sl_route_scratch (router.h). */
struct sl_regex {
    char *pattern;                  /* as written; NULL: no condition */
    struct pcre2_real_code_8 *code; /* owned; NULL when pattern is NULL or bad */
};

/* What a route does when its where or transform function raises an error
 * (a Lua error, the instruction limit, out of memory). */
enum sl_on_error {
    SL_ON_ERROR_SKIP = 0, /* the route is not taken (the default) */
    SL_ON_ERROR_PASS      /* taken: where counts as true, transform as no change */
};

#define SL_FACILITY_ANY 0x00ffffffu
#define SL_SEVERITY_ANY 0xffu

/* What one extra field of a message must be, for a route's fields = { KEY
 * = ... } (sluice.lua(5)): one of some values, there, or not there. */
enum sl_field_want { SL_FIELD_ONE_OF, SL_FIELD_PRESENT, SL_FIELD_ABSENT };
struct sl_field_match {
    char *key;                 /* sl_msg_field_key_ok() */
    size_t key_len;            /* strlen(key): the router compares it per message */
    enum sl_field_want want;
    struct sl_strlist values;  /* SL_FIELD_ONE_OF: the value equals one of them */
};

struct sl_route_conf {
    uint32_t facility_mask; /* bit f set: facility f matches */
    uint8_t severity_mask;  /* bit s set: severity s matches */
    struct sl_strlist app_names, hostnames, inputs; /* empty: any */
    char *msg_contains;     /* NULL: any */
    char *msg_prefix;       /* NULL: any */
    char *msg_suffix;       /* NULL: any */
    struct sl_regex msg_match, app_name_match, hostname_match; /* code NULL: any */
    struct sl_field_match *fields; /* every one must hold; sorted by key */
    size_t nfields;
    size_t *to;             /* indices into sl_config.outputs */
    size_t nto;
    bool final;
    bool drop;              /* drop = true: what matches goes nowhere more; routing ends */
    /* where / transform are Lua functions; they live in each input thread's
     * own Lua state (filter.h), found by this route's index. The lines are
     * where each function is defined, for messages. */
    bool has_where, has_transform;
    int where_line, transform_line;
    enum sl_on_error on_error;
    const char *file; /* borrowed: the config's name of the file it was declared in */
    int line;
};

/* A file that an `include` in the config read, kept as read at load:
 * each input thread's rerun (sl_config_run_functions) includes this text,
 * never the file again, so both runs see the same config. */
struct sl_config_text {
    char *file;        /* its path, as messages name it: what declarations point to */
    char *source;
    size_t source_len;
    size_t call;       /* the include call that read it, counting from 0 as they ran */
};

struct sl_config {
    char *file;
    /* The file's text as read by sl_config_load(): every input thread's
     * Lua state runs this same text, even if the file changes meanwhile. */
    char *source;
    size_t source_len;
    /* The files include read, in the order they ran; include_calls holds
     * each include call's resolved pattern, in the order the calls ran. */
    struct sl_config_text *includes;
    size_t nincludes;
    struct sl_strlist include_calls;
    bool has_lua;                  /* some route has where or transform */
    char *control;                 /* control socket path; NULL: none */
    char *hostname;                /* overrides gethostname(); NULL: ask the system */
    char *state_dir;               /* settings.state_dir: disk queues live in it; NULL: none */
    char *metrics_host;            /* settings.metrics.listen; NULL: no metrics endpoint */
    char *metrics_port;
    int shutdown_timeout_ms;       /* settings.shutdown_timeout; SL_DEFAULT_SHUTDOWN_TIMEOUT_MS */
    char *user, *group;            /* settings.user / .group as written (names or ids): what
                                    * the daemon drops to after start (privs.h); NULL: none */
    struct sl_strlist plugin_path; /* searched before the built-in directory */
    struct sl_input_conf *inputs;
    size_t ninputs;
    struct sl_output_conf *outputs;
    size_t noutputs;
    struct sl_route_conf *routes;
    size_t nroutes;
    int log_level;                 /* settings.log_level: SL_LOG_ERR..SL_LOG_DEBUG; default 6 (info) */
};

/* Loads and checks `path`. Returns 0 with *out set, or -EINVAL with every
 * problem found appended to errs (syntax errors, unknown keys with a "did you
 * mean", wrong types, duplicate names, routes to unknown outputs, malformed
 * listen addresses). Plugin-specific keys are checked later, by
 * sl_plugin_check(), once the plugins are loaded. */
int sl_config_load(const char *path, struct sl_config **out, struct sl_errors *errs);

/* Loads the config text[0..len) (borrowed; the config keeps a copy as its
 * source) as if it were the file `name`, which messages and c->file carry:
 * sl_config_load() is this, after reading the file. Same returns. */
int sl_config_load_text(const char *text, size_t len, const char *name, struct sl_config **out,
                        struct sl_errors *errs);

/* For --check, which reports every error in one run: loads as
 * sl_config_load() does and returns the same, but sets *out in both cases
 * (NULL only when out of memory), so that the later checks (each output's
 * plugin keys) still run over what was read. A config that failed to load
 * is only for looking at, and freeing (the caller owns it): an output whose
 * type was not read has type NULL, one whose plugin keys were not all read
 * has broken set. */
int sl_config_load_partial(const char *path, struct sl_config **out, struct sl_errors *errs);

void sl_config_free(struct sl_config *c); /* NULL is a no-op */

/* {=== for filter.h: the config's route functions in a state that stays open */
struct lua_State;
struct sl_lua_sluice;

/* The registry field that sl_config_run_functions() fills: a table with
 * route i's where function at [2i + 1] and its transform at [2i + 2] (i
 * counting from 0, as c->routes). */
#define SL_CONFIG_FUNCTIONS "sluice.functions"

/* Runs c->source again in L, a fresh state the caller made (with its own
 * allocator) and owns, with the declarations and libraries of
 * sl_config_load() plus lib as the `sluice` library (print writes to the
 * daemon's log; what the top level logs is not logged again), keeping each
 * route's functions in the registry (SL_CONFIG_FUNCTIONS). The run is
 * bounded as a load is. Checks that it declared the same routes as c, with
 * the same lines and functions: a config whose routes depend on chance or
 * the time cannot run so. 0, or -EINVAL / -ENOMEM with a reason in err; L
 * stays open either way (the caller closes it), without a hook, and its
 * extra space is the caller's again. lib must outlive L. */
int sl_config_run_functions(const struct sl_config *c, struct lua_State *L,
                            struct sl_lua_sluice *lib, char *err, size_t errlen);
/* }=== */

/* Appends to warnings one "FILE:LINE: ..." per output that blocks without
 * queue.block_timeout and can be fed by a unix input: while it is stuck,
 * every program logging to that socket waits in the kernel. A warning,
 * not an error: it is a choice an operator may make. Returns how many. */
size_t sl_config_warn_hangs(const struct sl_config *c, struct sl_errors *warnings);

/* Parses durations: "250ms", "5s", "2m", "1h", or plain digits meaning
 * seconds, into milliseconds (at most max_ms). 0 or -EINVAL / -ERANGE. */
int sl_parse_duration_ms(const char *s, long long max_ms, long long *out);

/* Parses sizes: a number of bytes, or a string "512", "64K", "16M", "1G"
 * (binary multiples, case-insensitive). 0 or -EINVAL. */
int sl_parse_size(const char *s, unsigned long long *out);

#endif /* SL_LUA_CONFIG_H */
