/* SPDX-License-Identifier: MIT */
/*
 * kind.h: one descriptor per kind of input, in the spirit of nginx's
 * ngx_module_t and its command table: the kind's name (`type = "NAME"`),
 * the keys its `input "name" { ... }` table accepts and how each is read,
 * its ops, its parser and the counters it adds to stats.
 *
 * Adding a kind is one file and one table entry:
 *
 *   1. core/input/input_NAME.c defines its ops and
 *        const struct sl_input_kind sl_input_NAME = {
 *            .name = "NAME", .keys = NAME_keys, .ops = {.open = ..., ...},
 *            .parse = sl_parse, .counters = NAME_counters,
 *        };
 *   2. core/input/kinds.c declares it and lists it in sl_input_kinds[];
 *      Makefile.am names the file.
 *
 * Nothing else names a kind: the config loader reads the keys from the
 * table, checks the required ones and refuses the others by the kind's
 * name; two inputs clash when they are of one kind and their address keys
 * are equal; reload keeps an input whose keys are all equal (conf.c reads
 * them from the table too); stats prints the kind's name and counters. The conf model
 * (struct sl_input_conf) keeps a pointer to the kind; the keys are read
 * into its fields, so a key the existing fields cannot hold needs a field
 * there too.
 *
 * Descriptors are constant and live as long as the program. Thread: any,
 * for what is in this header; the ops block says which thread runs each op.
 */
#ifndef SL_INPUT_KIND_H
#define SL_INPUT_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/lua_config.h"

struct sl_input;
struct sl_msg;
struct sl_parse_ctx;

/* {=== keys: how the loader reads each into struct sl_input_conf */
enum sl_input_key_type {
    SL_INPUT_KEY_PATH,   /* a non-empty string: the char * at offset */
    SL_INPUT_KEY_LISTEN, /* "HOST:PORT" or "[V6]:PORT": conf->host and conf->port */
    SL_INPUT_KEY_SIZE,   /* bytes, a number or "64K", min..max: the size_t at offset */
    SL_INPUT_KEY_INT,    /* a whole number min..max: the int at offset */
    SL_INPUT_KEY_UINT,   /* a whole number min..max (min >= 0): the unsigned at offset */
    SL_INPUT_KEY_MODE,   /* permissions, "0666": the unsigned at offset */
    /* a table { interval = "30s", burst = N, per = "pid" | "uid" }: the
     * struct sl_ratelimit_conf at offset (input/ratelimit.h) */
    SL_INPUT_KEY_RATELIMIT,
    /* one of the strings the kind's choices list for the key: its index,
     * the int at offset. The loader zeroes the conf, so the first is the
     * default. */
    SL_INPUT_KEY_CHOICE,
    SL_INPUT_KEY_BOOL,   /* true or false: the bool at offset */
    SL_INPUT_KEY_DURATION, /* "2ms", "1s", min..max milliseconds: the int at offset */
};

struct sl_input_key {
    const char *name; /* NULL ends a table */
    enum sl_input_key_type type;
    size_t offset;        /* offsetof(struct sl_input_conf, field); unused for LISTEN */
    long long min, max;   /* SIZE, INT, UINT */
    bool required;        /* "type 'K' needs key 'NAME'" without it */
    bool address;         /* a PATH or LISTEN the input binds: two inputs of the kind
                           * with equal values clash (a LISTEN with port 0 never does).
                           * A kind with several, none required (native_stream: path
                           * or listen), takes exactly one of them. A kind with no
                           * address key reads something the machine has one of (the
                           * kernel's log): two inputs of it always clash */
};

/* The values a CHOICE key takes, in the kind's descriptor (so the key
 * tables keep their seven fields). */
struct sl_input_choice {
    const char *key;           /* NULL ends a table */
    const char *const *values; /* NULL-ended; values[0] is the default */
};

/* The keys most kinds share, for their tables. */
#define SL_INPUT_KEY_LISTEN_ENTRY \
    {"listen", SL_INPUT_KEY_LISTEN, 0, 0, 0, true, true}
#define SL_INPUT_KEY_MAX_MESSAGE_ENTRY \
    {"max_message", SL_INPUT_KEY_SIZE, offsetof(struct sl_input_conf, max_message), 1, \
     64ll << 20, false, false}
/* Per-sender budgets, for a kind whose messages carry the kernel's
 * credentials (SL_MSG_HAS_CRED) and which passes each parsed batch through
 * sl_input_ratelimit() before dispatch (input_impl.h; sl_dgram does). */
#define SL_INPUT_KEY_RATELIMIT_ENTRY \
    {"ratelimit", SL_INPUT_KEY_RATELIMIT, offsetof(struct sl_input_conf, ratelimit), 0, 0, \
     false, false}
/* The datagram kinds' pause for more after a small read (gather.h). */
#define SL_INPUT_KEY_COALESCE_ENTRY \
    {"coalesce", SL_INPUT_KEY_DURATION, offsetof(struct sl_input_conf, coalesce_ms), 0, \
     SL_MAX_COALESCE_MS, false, false}
#define SL_INPUT_KEY_RCVBUF_ENTRY \
    {"rcvbuf", SL_INPUT_KEY_SIZE, offsetof(struct sl_input_conf, rcvbuf), 0, 1ll << 30, false, \
     false}
/* }=== */

/* A counter the kind adds to stats: "name": the atomic_uint_fast64_t at
 * offset in struct sl_input_stats (input.h). */
struct sl_input_counter {
    const char *name; /* NULL ends a table */
    size_t offset;
};

/* {=== ops: what the input thread's loop (input.c) calls
 *
 * Threads: open runs on the main thread, before the input's thread starts
 * (a failure leaves nothing open: sl_input_open frees the rest). event,
 * resume, tick and unpark run on the input's own thread, between epoll
 * waits, never two at once. drain runs on the input's thread as it stops,
 * or on the main thread for an input that never started. close runs on the
 * main thread once the input's thread has ended (or never started). So the
 * kind's state (in->impl) is touched by one thread at a time and needs no
 * lock of its own; the counters in in->stats are read by the main thread
 * (stats) while the input thread writes them, hence atomics. */
struct sl_input_ops {
    /* Binds, watches its fds (sl_input_watch) and sets in->impl and
     * in->address. 0, or a negative errno with a reason in err. */
    int (*open)(struct sl_input *in, char *err, size_t errlen);
    /* An fd watched with tag became ready (EPOLLIN, EPOLLHUP, ...). */
    void (*event)(struct sl_input *in, void *tag, uint32_t events);
    void (*resume)(struct sl_input *in); /* room may be back: retry parked sources */
    void (*tick)(struct sl_input *in);   /* about once a second (idle timeouts); may be NULL */
    void (*drain)(struct sl_input *in);  /* at stop: read what the kernel holds */
    /* Pushes every source's parked messages again (sl_input_retry), without
     * reading or processing more; true when nothing is left parked. The
     * sources stay paused until resume(). Called right after a switch to a
     * new plan, so it must reach every source's list: that is where what
     * was parked for a removed output is given up (input_impl.h). */
    bool (*unpark)(struct sl_input *in);
    void (*close)(struct sl_input *in); /* frees in->impl and what it holds */
    /* Brings counters that the kernel keeps up to date (kernel_drops) just
     * before stats reads them; may be NULL. Thread: main, while the input's
     * own thread runs: it may read only what stays fixed while the input
     * runs (its sockets) and must store counters atomically, never lowering
     * one the input thread raised. */
    void (*refresh_stats)(struct sl_input *in);
};
/* }=== */

struct sl_input_kind {
    const char *name;                        /* type = "NAME" */
    const struct sl_input_key *keys;         /* accepted besides type */
    struct sl_input_ops ops;
    /* Parses a message read by this kind (input thread) through
     * sl_input_message(); sl_parse (RFC 5424 or RFC 3164, whichever it is)
     * for the syslog kinds. A kind whose messages carry fields makes them
     * with sl_input_message_fields() and its own parser instead
     * (native_stream), and names sl_parse here unused. */
    int (*parse)(struct sl_msg *m, const struct sl_parse_ctx *ctx);
    const struct sl_input_counter *counters; /* after the counters every kind has */
    /* The most descriptors an input of this kind with conf c holds, besides
     * the two every input has (its epoll set and wake fd), for the check
     * that the inputs fit RLIMIT_NOFILE; NULL: one (its socket). */
    unsigned (*descriptors)(const struct sl_input_conf *c);
    const struct sl_input_choice *choices; /* for its CHOICE keys; NULL without */
    /* max_message when the input's table has none; 0: SL_DEFAULT_MAX_MESSAGE
     * (lua_config.h). The journal's entries are larger than syslog's. */
    size_t max_message;
    /* Its senders wait while it is not read (a unix datagram sender blocks
     * in the kernel; journald waits for a ForwardToSocket= stream): what
     * the --check warning about outputs that block without
     * queue.block_timeout looks for (sl_config_warn_hangs). */
    bool senders_wait;
};

/* Every kind, in the order messages list them; NULL-ended (kinds.c). */
extern const struct sl_input_kind *const sl_input_kinds[];

/* The kind named name, or NULL. */
const struct sl_input_kind *sl_input_kind_find(const char *name);

/* The key named name of kind k, or NULL. */
const struct sl_input_key *sl_input_kind_key(const struct sl_input_kind *k, const char *name);

/* The values of the CHOICE key named key: k's, else those of the first
 * kind that has such a key (the loader checks a key of another kind's
 * too); NULL for none. */
const char *const *sl_input_kind_choices(const struct sl_input_kind *k, const char *key);

#endif /* SL_INPUT_KIND_H */
