/* SPDX-License-Identifier: MIT */
/*
 * sluice-plugin.h: the output plugin ABI of sluice.
 *
 * An output plugin is a shared object exporting one function,
 *
 *     const struct sluice_output_plugin *sluice_output_plugin_v1(void);
 *
 * which returns a static descriptor. The daemon checks abi_version and size
 * before it touches anything else and refuses the plugin, naming it, when they
 * do not match. Plugins never see the daemon's structures: messages are opaque
 * and read through the host function table handed to open(), so the daemon may
 * change inside without breaking built plugins.
 *
 * Compatibility rules (as in zstd.h): the ABI version changes when a field is
 * removed or changes meaning; new host functions and descriptor fields are only
 * ever appended, and `size` tells which of them the other side knows.
 *
 * Threads: open() and close() run on the daemon's main thread; write(),
 * flush() and reopen() run on the output's own worker thread, never two at
 * once for one instance. The host functions may be called from any thread.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_PLUGIN_ABI_VERSION 1

/* The symbol the loader looks up. */
#define SLUICE_PLUGIN_ENTRY "sluice_output_plugin_v1"

#if defined(__GNUC__)
#define SLUICE_EXPORT __attribute__((visibility("default")))
#define SLUICE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SLUICE_EXPORT
#define SLUICE_PRINTF(f, a)
#endif

/* Return codes of write(), flush() and reopen(). */
enum sluice_status {
    SLUICE_OK = 0,
    SLUICE_RETRY = 1, /* failed; the plugin keeps what it wrote: the same batch comes again */
    SLUICE_FATAL = 2  /* failed; the plugin kept nothing of the batch: it comes again, anew */
};

/* Levels for host->log(), as in syslog(3). */
enum sluice_log_level {
    SLUICE_LOG_ERR = 3,
    SLUICE_LOG_WARNING = 4,
    SLUICE_LOG_NOTICE = 5,
    SLUICE_LOG_INFO = 6,
    SLUICE_LOG_DEBUG = 7
};

/* Message fields. Values are stable: new fields are appended. */
enum sluice_field {
    SLUICE_FIELD_PRI = 1,   /* number */
    SLUICE_FIELD_FACILITY,  /* number; text: name ("auth") */
    SLUICE_FIELD_SEVERITY,  /* number; text: name ("err") */
    SLUICE_FIELD_VERSION,   /* number; 0 for RFC 3164 and unparsed messages */
    SLUICE_FIELD_TIMESTAMP, /* text as sent; see msg_time() */
    SLUICE_FIELD_RECEIVED,  /* no text; see msg_time() */
    SLUICE_FIELD_HOSTNAME,  /* text */
    SLUICE_FIELD_APP_NAME,  /* text */
    SLUICE_FIELD_PROCID,    /* text */
    SLUICE_FIELD_MSGID,     /* text */
    SLUICE_FIELD_SD,        /* text: the STRUCTURED-DATA as sent */
    SLUICE_FIELD_MSG,       /* text */
    SLUICE_FIELD_RAW,       /* text: the whole message as received */
    SLUICE_FIELD_INPUT,     /* text: name of the input it came from */
    SLUICE_FIELD_PEER,      /* text: sender address, if any */
    SLUICE_FIELD_PID,       /* number: from the kernel (SO_PASSCRED) */
    SLUICE_FIELD_UID,       /* number: from the kernel */
    SLUICE_FIELD_GID        /* number: from the kernel */
};

/* Options of a format object, set with host->format_set(). Values are
 * stable; new parameters are appended (extended by enum parameter, as
 * zstd's ZSTD_CCtx_setParameter, never by a new struct). */
enum sluice_format_param {
    /* 1 (the default): format_append() ends each message with '\n', one
     * line per message, for files and streams. 0: no '\n', for outputs
     * that frame messages themselves (one per datagram, frame or record).
     * Either way a message's own newlines stay escaped. */
    SLUICE_FORMAT_NEWLINE = 1
};

/* Opaque handles. A message is valid for the duration of the call that
 * received it; a config handle from open() until close() returns. */
typedef struct sluice_msg sluice_msg;
typedef struct sluice_config sluice_config;
typedef struct sluice_format sluice_format;

/* A growable byte buffer. The host grows `data` with realloc(); whoever owns
 * the struct frees `data` with free(). Starting from {NULL, 0, 0} is fine. */
struct sluice_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* The time of a message: seconds since the epoch (UTC), nanoseconds, the
 * offset east of UTC in minutes the sender gave, and how many fractional
 * digits it sent. */
struct sluice_time {
    int64_t sec;
    int32_t nsec;
    int16_t tzoff_min;
    uint8_t frac_digits;
    uint8_t has_tzoff; /* 0: no offset was given (RFC 3164): local time assumed */
};

/* Functions the daemon offers a plugin. All return 0 on success and a
 * negative errno on failure unless stated otherwise. */
struct sluice_host {
    uint32_t abi_version; /* SLUICE_PLUGIN_ABI_VERSION */
    uint32_t size;        /* sizeof(struct sluice_host) as the daemon knows it */

    /* The daemon's own log; the line is prefixed with the plugin and
     * instance name. */
    void (*log)(const sluice_config *instance, int level, const char *fmt, ...)
        SLUICE_PRINTF(3, 4);

    /* Configuration of this instance: keys of the output's Lua table, nested
     * tables flattened with dots ("rotate.size"). -ENOENT when absent,
     * -EINVAL when present with another type. Strings stay valid until
     * close(). config_size accepts numbers and strings like "64M" or "1G". */
    int (*config_string)(const sluice_config *cfg, const char *key, const char **out);
    int (*config_int)(const sluice_config *cfg, const char *key, long long *out);
    int (*config_bool)(const sluice_config *cfg, const char *key, int *out);
    int (*config_size)(const sluice_config *cfg, const char *key, unsigned long long *out);
    /* The instance name (the output's name in the config). */
    const char *(*config_name)(const sluice_config *cfg);

    /* A text field: *data and *len describe bytes that live as long as the
     * message (not NUL-terminated). -ENOENT when the field is absent or
     * NILVALUE, -EINVAL for a field that has no text. */
    int (*msg_text)(const sluice_msg *m, enum sluice_field f, const char **data, size_t *len);
    /* A numeric field. -ENOENT when absent (pid/uid/gid without credentials). */
    int (*msg_number)(const sluice_msg *m, enum sluice_field f, long long *out);
    /* SLUICE_FIELD_TIMESTAMP (falls back to the received time when the
     * message has none) or SLUICE_FIELD_RECEIVED. */
    int (*msg_time)(const sluice_msg *m, enum sluice_field f, struct sluice_time *out);

    /* Formats: "raw", "rfc3164", "rfc5424", "json" or a template with
     * {field} placeholders. format_new writes a reason into err on failure.
     * A format object is used by one thread at a time. */
    int (*format_new)(const char *spec, sluice_format **out, char *err, size_t errlen);
    /* Appends one formatted line, ending in '\n' (unless format_set()
     * turned SLUICE_FORMAT_NEWLINE off), to buf. */
    int (*format_append)(sluice_format *f, const sluice_msg *m, struct sluice_buf *buf);
    void (*format_free)(sluice_format *f); /* NULL is a no-op */

    /* Appended within ABI version 1: an older daemon lacks the members
     * below, so check with SLUICE_HOST_HAS(host, member) before a call. */

    /* An extra field of the message, one its input gave it (a native
     * input's named fields) or a route's transform set (m.fields.KEY = value
     * in sluice.lua(5)), by its key[0..keylen) (case-sensitive): *data and
     * *len as for msg_text(); an empty value is present, with *len 0.
     * -ENOENT when the message has no such field. */
    int (*msg_extra)(const sluice_msg *m, const char *key, size_t keylen, const char **data,
                     size_t *len);

    /* Sets an option of a format object from format_new(), for the
     * format_append() calls that follow; by the rule of a format object,
     * not while another thread uses it. -EINVAL for an unknown param or a
     * value outside its range; the object is then unchanged. */
    int (*format_set)(sluice_format *f, enum sluice_format_param param, int value);

    /* Appended within ABI version 1, after format_set. */

    /* The message's i-th extra field (0-based, in the order its input or
     * transform gave them), to write every field without knowing the keys
     * (a journal entry's): key, keylen, value and vlen as msg_extra()'s
     * bytes (living as long as the message, not NUL-terminated; a key is
     * never empty, a value may be, and may hold any byte, NUL included).
     * -ENOENT for i past the last: loop over i = 0, 1, ... until it
     * answers -ENOENT. */
    int (*msg_extra_at)(const sluice_msg *m, size_t i, const char **key, size_t *keylen,
                        const char **value, size_t *vlen);
};

/* True when the daemon's host table has `member` (one appended after the
 * first release of ABI version 1), as its size says. */
#define SLUICE_HOST_HAS(host, member) \
    ((host)->size >= offsetof(struct sluice_host, member) + sizeof((host)->member))

/* The descriptor a plugin returns. Designated initializers, please. */
struct sluice_output_plugin {
    uint32_t abi_version; /* SLUICE_PLUGIN_ABI_VERSION */
    uint32_t size;        /* sizeof(struct sluice_output_plugin) */
    const char *name;     /* e.g. "file"; used in log lines */
    const char *description;
    /* Keys this plugin accepts in its output table (NULL-terminated, dotted
     * for nested tables); the config checker reports any other key. The
     * daemon's own keys (type, plugin, queue.*) need not be listed. A key
     * written "NAME[]" accepts a Lua list, NAME = { "a", "b" }, whose items
     * the config getters give as "NAME.1", "NAME.2", ... in order (a daemon
     * before this rule refuses a list in an output table). */
    const char *const *keys;

    /* Creates an instance. On failure returns a negative errno and writes a
     * reason into err; *state is then not used. */
    int (*open)(const struct sluice_host *host, const sluice_config *cfg, void **state,
                char *err, size_t errlen);
    /* Writes n messages in order. SLUICE_RETRY offers the same batch again
     * after a pause (see the batch contract below). SLUICE_FATAL says the
     * plugin kept nothing of it; the daemon offers the same messages again
     * after a pause too, as a new batch: a write error is never a reason to
     * discard (an older daemon counted a FATAL batch as failed). */
    int (*write)(void *state, const sluice_msg *const *msgs, size_t n);
    /* Makes written data durable enough for a clean shutdown (NULL: no-op). */
    int (*flush)(void *state);
    /* Reopens files after logrotate renamed them (NULL: no-op). */
    int (*reopen)(void *state);
    /* Flushes and frees the instance. */
    void (*close)(void *state);
    /* Optional (NULL: none). Checks cfg as open() would, with no side
     * effect (no file created, nothing bound), for `sluiced --check` and
     * before a reload, whatever other keys are unknown. Returns as open();
     * err may hold several reasons separated by '\n', one per bad value,
     * so one run reports them all: the daemon prints each as its own
     * FILE:LINE error for this output. open() gives one reason. */
    int (*check)(const struct sluice_host *host, const sluice_config *cfg, char *err,
                 size_t errlen);

    /* Appended within ABI version 1: a plugin built before has a smaller
     * `size`, and the daemon treats the members below as NULL
     * (SLUICE_PLUGIN_HAS). */

    /* The batch contract: after write() answered SLUICE_RETRY, the next
     * write() offers the same batch again (same messages, same order),
     * unless abandon() was called in between. So a plugin may keep the
     * unwritten rest of a batch and finish it on the retry, and needs no
     * other way to tell a retry from a new batch (message addresses are
     * not one: a given-up batch's memory is reused at once).
     *
     * Optional (NULL: none). The daemon gave up the batch of the last
     * write() that answered SLUICE_RETRY (it is counted as failed): forget
     * what is kept of it; the next write() is a new batch. Worker thread.
     * A daemon whose host table has format_set (the same release) calls
     * it; an older one gave up batches at shutdown without a word. */
    void (*abandon)(void *state);
    /* Optional (NULL: none). Called on the worker thread about every 100 ms,
     * between batches, between the tries of a batch that write() answered
     * SLUICE_RETRY, and when idle, for work that time drives: rotating by
     * age, flushing a partly filled frame, reconnecting. Returns a
     * sluice_status: SLUICE_OK, or another, which the daemon logs (once
     * until it answers SLUICE_OK again). */
    int (*tick)(void *state);
    /* Optional (NULL: none). After write() answered SLUICE_RETRY: how many
     * messages of that batch, from the first, are written in full (the
     * plugin keeps the rest for the retry). The daemon asks when it gives
     * the batch up at shutdown, just before abandon(), and counts only the
     * others as lost; without it, the whole batch. Worker thread. */
    size_t (*progress)(void *state);

    /* Optional (NULL: none). The instance's own counters, shown by
     * `sluicectl stats` under the output beside the daemon's: `counters`
     * names them (NULL-terminated, static, each [a-z0-9_]+, at most
     * SLUICE_MAX_COUNTERS), and stats() writes the current value of
     * counters[i] into values[i] for each. The daemon calls stats() on the
     * worker thread, after each write() and tick(), so the plugin reads its
     * own fields without locks or atomics. */
    const char *const *counters;
    void (*stats)(void *state, unsigned long long *values);
};

#define SLUICE_MAX_COUNTERS 16

/* True when the plugin's descriptor has `member` (one appended after the
 * first release of ABI version 1), as its size says. */
#define SLUICE_PLUGIN_HAS(plugin, member) \
    ((plugin)->size >= offsetof(struct sluice_output_plugin, member) + sizeof((plugin)->member))

/*
 * DESIGN, not yet in the ABI: outputs that learn of delivery later.
 *
 * Today write() answers for its whole batch before it returns, and the
 * sink's worker runs pop -> write -> commit against its queue: a batch is
 * committed (removed for good, counted written) when write() answers OK.
 * Kafka (a delivery report from librdkafka's thread) and RELP (a "rsp"
 * per txnr from the peer) know only later. The next issue adds this, all
 * appended within ABI version 1, gated as below, so nothing built breaks:
 *
 * 1. A status SLUICE_PENDING = 3 for write(): "taken, acknowledgement to
 *    follow". The plugin has copied what it needs (messages stay valid only
 *    during the call, as ever). The worker keeps the batch in the queue as
 *    in flight (popped, not committed) and offers the next batch at once.
 *    A plugin answers PENDING only when SLUICE_HOST_HAS(host, ack): an
 *    older daemon would take 3 for an unknown status.
 *
 * 2. A host function, callable from any thread (the delivery-report
 *    thread, or write() itself):
 *        void (*ack)(const sluice_config *instance, size_t n, int status);
 *    It settles the OLDEST n unsettled messages of that instance, in the
 *    order write() received them; a plugin whose transport settles out of
 *    order (Kafka across partitions) keeps them in order itself and acks a
 *    prefix. status SLUICE_OK: delivered; SLUICE_FATAL: refused by the
 *    peer, counted failed; SLUICE_RETRY: not delivered (connection lost
 *    with them unanswered): the worker offers them to write() again,
 *    oldest first, before any message not yet offered (a plugin that
 *    resends acks RETRY for all it has in flight, so order is kept).
 *    ack() only records the count under the queue's lock and wakes the
 *    worker; the worker commits, counts and logs on its own thread. Acking
 *    more than is unsettled is a plugin bug: the daemon logs it once and
 *    clamps.
 *
 * 3. Back-pressure needs no new knob: in-flight messages still count in
 *    queue.capacity and queue.bytes, so a peer that never answers fills
 *    the queue and the output's policy applies, as a slow write() does.
 *
 * 4. Close: at shutdown or when a reload replaces the instance, the worker
 *    stops offering batches and waits, within the drain timeout, for the
 *    in-flight messages to be settled; then flush() and close(). close()
 *    must stop whatever thread calls ack() before it returns (no ack()
 *    after close(), which frees the instance). Messages still unsettled
 *    then are what a queue cannot prove delivered: a memory queue counts
 *    them failed (lost at shutdown), a disk queue keeps them uncommitted.
 *
 * 5. A crash or a restart: the disk queue re-offers every uncommitted
 *    message, in flight ones included, to the next instance, so delivery
 *    is at least once (the peer may see a message twice; RELP's txnr and
 *    Kafka's idempotent producer can drop the duplicate); a memory queue
 *    loses them, as it loses its queued messages today. A new instance of
 *    a changed output (reload) starts with nothing in flight: the old
 *    instance settles or fails its own before it is closed (step 4).
 *
 * RETRY and abandon() keep their meaning: they concern the batch of the
 * last write(), which PENDING never leaves behind.
 */

typedef const struct sluice_output_plugin *(*sluice_output_plugin_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */
