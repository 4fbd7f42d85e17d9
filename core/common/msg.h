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
 * releases it.
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

/* An extra field, set by a route's transform (m.fields.KEY = value). Key and
 * value are bytes owned by the message that carries them. */
struct sl_field {
    struct sl_str key, value;
};

struct sl_chunk;

struct sl_msg {
    atomic_uint refs;
    uint8_t pri;      /* facility * 8 + severity */
    uint8_t facility; /* 0..23 */
    uint8_t severity; /* 0..7 */
    uint8_t version;  /* RFC 5424 VERSION; 0 otherwise */
    uint8_t format;   /* enum sl_msg_format */
    uint8_t flags;    /* enum sl_msg_flags */

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
