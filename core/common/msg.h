/* SPDX-License-Identifier: MIT */
/*
 * msg.h: the parsed syslog message.
 *
 * A message is parsed once, in place: its text fields are (pointer, length)
 * pairs into the received bytes, which live in a chunk shared by every
 * message an input read in one go. A message is immutable once routed and is
 * shared between outputs by reference count, never copied.
 *
 * Memory: the input thread owns a struct sl_msgpool and carves messages out
 * of its current chunk (no malloc per message). A chunk is freed when the
 * pool has moved on and the last message in it is released, whichever thread
 * releases it. A message over an eighth of a chunk gets a chunk of its own,
 * so a small message kept in a queue never keeps large ones' memory alive
 * (msg.c); and input.c's dispatch copies a message out of its chunk
 * (sl_msg_unpin) for an output that takes little of what is read, whose
 * queued messages would each pin a chunk of garbage.
 */
#ifndef SL_MSG_H
#define SL_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A text field: p == NULL means absent or NILVALUE ("-"). Not NUL-terminated. */
struct sl_str {
    const char *p;
    uint32_t len;
};

#define SL_STR_NIL ((struct sl_str){NULL, 0})

enum sl_time_flags {
    SL_TIME_VALID = 1 << 0,  /* sec/nsec are meaningful */
    SL_TIME_HAS_TZ = 1 << 1, /* the sender gave an offset (tzoff_min); RFC 3164 does not */
    SL_TIME_ZULU = 1 << 2    /* the offset was written "Z" */
};

struct sl_time {
    int64_t sec;         /* seconds since the epoch, UTC */
    int32_t nsec;        /* 0..999999999 */
    int16_t tzoff_min;   /* minutes east of UTC as sent (local offset when !HAS_TZ) */
    uint8_t frac_digits; /* fractional digits as sent, 0..9 */
    uint8_t flags;       /* enum sl_time_flags */
};

enum sl_msg_format {
    SL_FMT_UNPARSED = 0, /* neither RFC: msg = whole text, user.notice */
    SL_FMT_RFC3164 = 1,
    SL_FMT_RFC5424 = 2
};

enum sl_msg_flags {
    SL_MSG_HAS_CRED = 1 << 0,    /* pid/uid/gid came from the kernel */
    SL_MSG_TRUNCATED = 1 << 1,   /* the input cut it at max_message */
    SL_MSG_PARSE_ERROR = 1 << 2, /* parsed as neither RFC */
    SL_MSG_BOM = 1 << 3,         /* RFC 5424 MSG began with a UTF-8 BOM (not in msg) */
    SL_MSG_REWRITTEN = 1 << 4    /* made by a transform (rewrite.h); raw is re-rendered */
};

/* An extra field, set by a route's transform (m.fields.KEY = value) or by
 * an input (sl_msg_build_field()). Key and value are bytes owned by the
 * message that carries them. */
struct sl_field {
    struct sl_str key, value;
};

struct sl_chunk;

struct sl_msg {
    atomic_uint refs;
    uint8_t pri;      /* facility * 8 + severity */
    uint8_t facility; /* 0..23 */
    uint8_t severity; /* 0..7 */
    uint8_t format;   /* enum sl_msg_format */
    uint8_t flags;    /* enum sl_msg_flags */
    uint16_t version; /* RFC 5424 VERSION, 1..999; 0 otherwise */

    struct sl_str timestamp; /* TIMESTAMP text as sent */
    struct sl_str hostname;
    struct sl_str app_name;  /* RFC 3164: the TAG without "[pid]" and ":" */
    struct sl_str procid;    /* RFC 3164: the digits inside "[...]" */
    struct sl_str msgid;
    struct sl_str sd;        /* STRUCTURED-DATA as sent, brackets included */
    struct sl_str msg;       /* MSG without a BOM */
    struct sl_str raw;       /* every byte received for this message */
    struct sl_str input;     /* name of the input */
    struct sl_str peer;      /* sender address text; NIL for unix sockets */

    struct sl_time ts;       /* parsed TIMESTAMP; flags == 0 when none */
    struct sl_time received; /* when the input read it (HAS_TZ clear) */

    pid_t pid; /* valid with SL_MSG_HAS_CRED */
    uid_t uid;
    gid_t gid;

    struct sl_chunk *chunk; /* owner of raw bytes; NULL for a heap message */
    struct sl_msg *base;    /* a rewrite: the message it was made from, whose
                             * bytes the unchanged fields still point into;
                             * holds one reference on it. NULL otherwise. */
    const struct sl_field *fields; /* extra fields; NULL when none */
    uint32_t nfields;
};

/* An input's allocator of messages. Thread: the owning input thread only. */
struct sl_chunk_cache;

struct sl_msgpool {
    struct sl_chunk *cur;
    struct sl_chunk_cache *cache; /* chunks freed by any thread come back here */
    size_t chunk_size;
    struct sl_time now; /* the received time of what is read now */
    char input_name[64];
};

/* Sets up a pool whose messages carry input name `input` (cut at 63 bytes). */
void sl_msgpool_init(struct sl_msgpool *pool, const char *input);
/* Reads the clock into pool->now: once per read, not once per message. */
void sl_msgpool_tick(struct sl_msgpool *pool);
/* Drops the pool's hold on its chunks; live messages keep theirs alive. */
void sl_msgpool_release(struct sl_msgpool *pool);

/* Copies raw[0..len) and peer[0..peer_len) (peer may be NULL) into the pool
 * and returns a new message with one reference, all fields NIL except raw,
 * input and peer, received = pool->now (see sl_msgpool_tick). Returns NULL on allocation failure. The
 * caller then runs a parser (parse.h) on it. */
struct sl_msg *sl_msg_new(struct sl_msgpool *pool, const char *raw, size_t len,
                          const char *peer, size_t peer_len);

/* Like sl_msg_new() but malloc'ed on its own: for tests and rewrites. */
struct sl_msg *sl_msg_new_heap(const char *raw, size_t len, const char *input);

/* {=== a message with fields, built in the pool (the native inputs: the
 * journal's fields, kmsg's dictionary)
 *
 * The fields an input gives are the message's extra fields, the ones a
 * route's transform sets: m->fields and sl_msg_extra() read them, so json
 * shows them under "fields", templates as {fields.KEY}, Lua as m.fields.KEY
 * and plugins through the host's msg_extra(), with no code of their own.
 *
 * The builder lays the message out in the pool's current chunk as it grows,
 *
 *     [struct sl_msg][raw][peer][key value key value ...][struct sl_field x n]
 *
 * so it costs no malloc either. A message that outgrows what is left of
 * the chunk moves to a fresh one (at most once while it fits a chunk; past
 * that, to chunks of its own, each twice the size), and its text fields
 * that point into its own bytes move with it. Keys and values are copied as they come, so an
 * input may pass bytes that are valid only until its next call (the
 * journal's enumerate_data).
 *
 *   struct sl_msg_builder b;
 *   if (sl_msg_build_begin(&b, pool, text, len, NULL, 0) < 0) ... out of memory
 *   sl_msg_build_field(&b, "_PID", 4, "42", 2);    (a failed field: skipped)
 *   b.m->severity = 3; ...                       (header fields: see below)
 *   struct sl_msg *m = sl_msg_build_end(&b);      (one reference, the caller's)
 *
 * Contract for a parser hook (an input kind's own parser, called between
 * begin and end with the builder; begin copied the received bytes):
 *  - it reads b->m->raw, the message's own copy, and sets header fields in
 *    b->m: numbers, and text fields as spans of b->m->raw or of static
 *    storage (m->fields is set only by end);
 *  - it may pass spans of b->m->raw as a field's key and value (kmsg's
 *    "KEY=value" lines): they are copied before anything moves;
 *  - sl_msg_build_field() may move the message: it rebases the text fields
 *    that point into the message, but b->m changes, so take b->m again
 *    after each call and keep no other pointer into the message across one;
 *  - it returns 0 or a negative errno; on an error its caller still ends
 *    the build (the message as far as it got, counted as a parse error) or
 *    aborts it, never both;
 *  - keys follow sl_msg_field_key_ok(), at most SL_MSG_MAX_FIELDS, each key
 *    once: the first value of a key given twice stays (-EEXIST), as the
 *    message's fields are a table in Lua and an object in json.
 *
 * Thread: the pool's (the input thread). While a build is open the pool
 * makes no other message: no sl_msg_new() and no second builder on it
 * until end or abort. */

/* The most fields a message carries, and the longest key: the limits of a
 * transform's fields (SL_REWRITE_MAX_FIELDS and SL_REWRITE_MAX_FIELD_KEY in
 * rewrite.h), so a transform can always rewrite what an input built. */
#define SL_MSG_MAX_FIELDS 64
#define SL_MSG_MAX_FIELD_KEY 64

struct sl_msg_builder {
    struct sl_msgpool *pool; /* borrowed */
    struct sl_msg *m;        /* the message being built, in pool->cur; moves */
    size_t used;             /* bytes of it so far, from m */
    uint32_t nfields;
    struct {
        uint32_t key, klen, value, vlen; /* offsets from m: they survive a move */
    } at[SL_MSG_MAX_FIELDS];
};

/* A byte a field key may hold: what a template's {fields.KEY}, a JSON key
 * and a Lua m.fields.KEY all carry without quoting. */
static inline bool sl_msg_field_key_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* True when key[0..len) may name a field: 1..SL_MSG_MAX_FIELD_KEY letters,
 * digits, '_', '-' or '.', so a template's {fields.KEY}, a JSON key and a
 * Lua m.fields.KEY carry it without quoting. Thread: any. */
bool sl_msg_field_key_ok(const char *key, size_t len);

/* Opens a build in pool: b->m is a message as sl_msg_new() makes one (raw
 * and peer copied, all else NIL, received = pool->now), not yet the
 * pool's to give out. 0; -EINVAL when len > UINT32_MAX or peer_len > 255;
 * -ENOMEM (no build is open then). */
int sl_msg_build_begin(struct sl_msg_builder *b, struct sl_msgpool *pool, const char *raw,
                       size_t len, const char *peer, size_t peer_len);
/* Copies key[0..klen) and value[0..vlen) into the message as its next
 * field (value may be NULL when vlen is 0; an empty value is present, not
 * NIL). 0, or: -EINVAL for a key sl_msg_field_key_ok() refuses; -EEXIST
 * for a key it has already (the first value stays); -E2BIG past
 * SL_MSG_MAX_FIELDS fields or 4 GiB; -ENOMEM. A failed field changes
 * nothing: the build goes on. May move b->m (see the top). */
int sl_msg_build_field(struct sl_msg_builder *b, const char *key, size_t klen, const char *value,
                       size_t vlen);
/* Reserves len bytes in the message, after what it holds so far, for a
 * text the parser makes from the raw bytes (kmsg's text with its \xNN
 * escapes undone): returns where they are, writable until the next builder
 * call, or NULL (-E2BIG past 4 GiB, or -ENOMEM: the build goes on). A text
 * field (b->m->msg, say) may point at them: like a span of raw, it moves
 * with the message. May move b->m, as sl_msg_build_field() does. */
char *sl_msg_build_reserve(struct sl_msg_builder *b, size_t len);
/* Closes the build: sets m->fields (in the order added) and hands the
 * message over with one reference, the caller's. Never fails (the room
 * was reserved as fields came). The builder is spent. */
struct sl_msg *sl_msg_build_end(struct sl_msg_builder *b);
/* Closes the build without a message; its bytes go back to the pool. */
void sl_msg_build_abort(struct sl_msg_builder *b);

struct sl_parse_ctx; /* parse/parse.h */

/* A parser hook that fills a builder, under the contract above: an input
 * kind's parser for messages with fields (input.h's
 * sl_input_message_fields() runs it between begin and end). ctx is the
 * input's parse context (local hostname, now), borrowed for the call; arg
 * is the kind's own (its per-entry counts, say), passed through as given.
 * -EBADMSG means the entry is malformed: it is dropped whole (the build is
 * aborted), not delivered as far as it got. */
typedef int sl_msg_fields_parser(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx,
                                 void *arg);
/* }=== */

/* Thread: any. A copy of m in memory of its own, sized to fit: every text
 * field and extra field copied, nothing shared with m's chunk or, for a
 * rewrite, with its base. For a message kept in a queue while most of its
 * chunk is garbage (input.c's dispatch): the copy pins only itself. One
 * reference, the caller's; m is untouched. NULL on ENOMEM. */
struct sl_msg *sl_msg_copy_out(const struct sl_msg *m);
/* Thread: any. Takes the caller's reference on m and gives back one on a
 * message that pins no memory but its own: m itself when it is alone in
 * its memory already (a large message's own chunk, a copy, a plain heap
 * message), else sl_msg_copy_out(m) (m when there is no memory for it). */
struct sl_msg *sl_msg_unpin(struct sl_msg *m);

/* Thread: any. */
static inline struct sl_msg *sl_msg_ref(struct sl_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

/* Thread: any. Releases one reference; the last one frees. NULL is a no-op. */
void sl_msg_unref(struct sl_msg *m);

/* Thread: any. The extra field of m named key[0..keylen) (case-sensitive),
 * or NULL when m has none by that name. Borrowed from m. */
const struct sl_field *sl_msg_extra(const struct sl_msg *m, const char *key, size_t keylen);

/* Names: "kern".."local7" and "emerg".."debug"; NULL when out of range. */
const char *sl_facility_name(unsigned facility);
const char *sl_severity_name(unsigned severity);
/* Reverse look-ups; -1 for an unknown name. Accept aliases "warn", "error",
 * "panic", "security", "authpriv". */
int sl_facility_from_name(const char *name, size_t len);
int sl_severity_from_name(const char *name, size_t len);

#endif /* SL_MSG_H */
