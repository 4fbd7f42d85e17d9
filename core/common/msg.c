/* SPDX-License-Identifier: MIT */
/* msg.c: message allocation from per-input chunks, the builder of messages
 * with fields, reference counting, names. */
#include "common/msg.h"
#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * A chunk holds many messages, each laid out as [struct sl_msg][raw][peer],
 * plus the input's name, which all of them share. refs counts the pool's
 * hold (while it is the current chunk) and each live message.
 *
 * Chunks of the standard size go back to their pool's cache when their last
 * message is released, on whatever thread: malloc would hand 128 KiB blocks
 * back to the kernel and fault them in again, which cost a fifth of the
 * daemon's CPU at 3M msgs/s. The cache is shared by the pool and its chunks
 * (refcounted), so it outlives whichever goes last.
 *
 * A large message (more than an eighth of a chunk) gets a chunk of its
 * own, sized to fit, and the pool's current chunk stays for the small ones:
 * a queued message keeps its whole chunk alive, so a small message that
 * shared a chunk with large ones nobody routed pinned 128 KiB. A stream of
 * 60 KB unrouted messages with a 12-byte one routed to a stalled output
 * held 1.2 GB for 10,000 queued messages, whatever queue.bytes said. Its
 * own chunk costs the large message one malloc, next to a memcpy and a
 * parse of over 16 KiB; the hot path of small messages is unchanged.
 *
 * A message with fields (the builder) is laid out the same way with its
 * fields after it, [struct sl_msg][raw][peer][keys, values][sl_field x n],
 * and reserves its room as it grows; it takes its reference on the chunk
 * and advances `used` only when it is complete.
 */
struct sl_chunk_cache {
    pthread_mutex_t lock;
    atomic_uint refs; /* the pool, and every chunk it made */
    struct sl_chunk *free;
    unsigned nfree;
};

struct sl_chunk {
    atomic_uint refs;
    size_t size;
    size_t used;
    struct sl_chunk_cache *cache; /* NULL for an oversized chunk */
    struct sl_chunk *next;        /* in the cache's free list */
    uint32_t input_len;
    char input[64];
    alignas(max_align_t) char data[];
};

#define CHUNK_SIZE (128 * 1024)
#define OWN_CHUNK_PART 8 /* a message over chunk_size / 8 gets a chunk of its own */
#define CACHE_MAX 64 /* free chunks kept per pool (8 MiB): more than a default queue holds */
#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

static struct sl_chunk_cache *cache_new(void)
{
    struct sl_chunk_cache *k = sl_calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    pthread_mutex_init(&k->lock, NULL);
    atomic_init(&k->refs, 1);
    return k;
}

static void cache_unref(struct sl_chunk_cache *k)
{
    if (k == NULL || atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
        return;
    while (k->free != NULL) {
        struct sl_chunk *c = k->free;
        k->free = c->next;
        free(c);
    }
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* Keeps c for reuse if there is room; true when it did. */
static bool cache_put(struct sl_chunk_cache *k, struct sl_chunk *c)
{
    pthread_mutex_lock(&k->lock);
    bool kept = k->nfree < CACHE_MAX;
    if (kept) {
        c->next = k->free;
        k->free = c;
        k->nfree++;
    }
    pthread_mutex_unlock(&k->lock);
    return kept;
}

static struct sl_chunk *cache_get(struct sl_chunk_cache *k)
{
    pthread_mutex_lock(&k->lock);
    struct sl_chunk *c = k->free;
    if (c != NULL) {
        k->free = c->next;
        k->nfree--;
    }
    pthread_mutex_unlock(&k->lock);
    return c;
}

static void chunk_unref(struct sl_chunk *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    struct sl_chunk_cache *k = c->cache;
    if (k == NULL || !cache_put(k, c))
        free(c);
    cache_unref(k);
}

static struct sl_time clock_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (struct sl_time){.sec = now.tv_sec, .nsec = (int32_t)now.tv_nsec, .frac_digits = 6,
                            .flags = SL_TIME_VALID};
}

void sl_msgpool_tick(struct sl_msgpool *pool)
{
    pool->now = clock_now();
}

void sl_msgpool_init(struct sl_msgpool *pool, const char *input)
{
    pool->cur = NULL;
    pool->cache = cache_new(); /* NULL on ENOMEM: chunks are then plain malloc */
    pool->chunk_size = CHUNK_SIZE;
    pool->now = clock_now();
    size_t n = strnlen(input, sizeof pool->input_name - 1);
    memcpy(pool->input_name, input, n);
    pool->input_name[n] = '\0';
}

static void drop_current(struct sl_msgpool *pool)
{
    if (pool->cur != NULL)
        chunk_unref(pool->cur);
    pool->cur = NULL;
}

void sl_msgpool_release(struct sl_msgpool *pool)
{
    drop_current(pool);
    cache_unref(pool->cache);
    pool->cache = NULL;
}

static struct sl_chunk *chunk_new(const struct sl_msgpool *pool, size_t need)
{
    bool standard = need <= pool->chunk_size && pool->cache != NULL;
    struct sl_chunk *c = standard ? cache_get(pool->cache) : NULL;
    if (c == NULL)
        c = sl_malloc(sizeof *c + (need > pool->chunk_size ? need : pool->chunk_size));
    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    c->size = need > pool->chunk_size ? need : pool->chunk_size;
    c->used = 0;
    c->cache = standard ? pool->cache : NULL;
    if (standard)
        atomic_fetch_add_explicit(&pool->cache->refs, 1, memory_order_relaxed);
    memcpy(c->input, pool->input_name, sizeof c->input);
    c->input_len = (uint32_t)strlen(c->input);
    return c;
}

static void msg_init(struct sl_msg *m, char *raw, size_t len, struct sl_str input,
                     struct sl_time received)
{
    memset(m, 0, sizeof *m);
    atomic_init(&m->refs, 1);
    m->raw = (struct sl_str){raw, (uint32_t)len};
    m->msg = m->raw;
    m->facility = 1;
    m->severity = 5;
    m->pri = 13;
    m->input = input;
    m->received = received;
}

/* chunk_with_room() and place() are sl_msg_new()'s per-message path, shared
 * with the builder: inlined by force, or gcc makes two calls of them. */
#define PER_MESSAGE static inline __attribute__((always_inline))

/* The pool's current chunk if it has need bytes left, else a new current
 * chunk; NULL on ENOMEM. */
PER_MESSAGE struct sl_chunk *chunk_with_room(struct sl_msgpool *pool, size_t need)
{
    struct sl_chunk *c = pool->cur;
    if (c == NULL || c->size - c->used < need) {
        c = chunk_new(pool, need);
        if (c == NULL)
            return NULL;
        drop_current(pool);
        pool->cur = c;
    }
    return c;
}

/* Lays out a message with its raw and peer copied at the free end of c,
 * without taking it from the chunk. */
PER_MESSAGE struct sl_msg *place(struct sl_chunk *c, const char *raw, size_t len,
                                 const char *peer, size_t peer_len, struct sl_time received)
{
    struct sl_msg *m = (struct sl_msg *)(c->data + c->used);
    char *bytes = (char *)(m + 1);
    memcpy(bytes, raw, len);
    msg_init(m, bytes, len, (struct sl_str){c->input, c->input_len}, received);
    m->chunk = c;
    if (peer != NULL && peer_len > 0) {
        memcpy(bytes + len, peer, peer_len);
        m->peer = (struct sl_str){bytes + len, (uint32_t)peer_len};
    }
    return m;
}

/* A chunk of exactly need bytes for one large message, outside the pool's
 * rotation: its one reference is the message's. NULL on ENOMEM. */
static struct sl_chunk *own_chunk(const struct sl_msgpool *pool, size_t need)
{
    struct sl_chunk *c = sl_malloc(sizeof *c + need);
    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    c->size = need;
    c->used = 0;
    c->cache = NULL;
    memcpy(c->input, pool->input_name, sizeof c->input);
    c->input_len = (uint32_t)strlen(c->input);
    return c;
}

static struct sl_msg *new_own(struct sl_msgpool *pool, const char *raw, size_t len,
                              const char *peer, size_t peer_len, size_t need)
{
    struct sl_chunk *c = own_chunk(pool, need);
    if (c == NULL)
        return NULL;
    struct sl_msg *m = place(c, raw, len, peer, peer_len, pool->now);
    c->used = need;
    return m;
}

struct sl_msg *sl_msg_new(struct sl_msgpool *pool, const char *raw, size_t len,
                          const char *peer, size_t peer_len)
{
    if (len > UINT32_MAX || peer_len > 255)
        return NULL;
    size_t need = ALIGN_UP(sizeof(struct sl_msg) + len + peer_len);
    if (need > pool->chunk_size / OWN_CHUNK_PART)
        return new_own(pool, raw, len, peer, peer_len, need);
    struct sl_chunk *c = chunk_with_room(pool, need);
    if (c == NULL)
        return NULL;
    struct sl_msg *m = place(c, raw, len, peer, peer_len, pool->now);
    c->used += need;
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return m;
}

struct sl_msg *sl_msg_new_heap(const char *raw, size_t len, const char *input)
{
    if (len > UINT32_MAX)
        return NULL;
    size_t ilen = strlen(input);
    struct sl_msg *m = sl_malloc(sizeof *m + len + ilen + 1);
    if (m == NULL)
        return NULL;
    char *bytes = (char *)(m + 1);
    memcpy(bytes, raw, len);
    memcpy(bytes + len, input, ilen + 1);
    msg_init(m, bytes, len, (struct sl_str){bytes + len, (uint32_t)ilen}, clock_now());
    return m;
}

/* {=== the builder (msg.h) */
bool sl_msg_field_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > SL_MSG_MAX_FIELD_KEY)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!sl_msg_field_key_byte((unsigned char)key[i]))
            return false;
    }
    return true;
}

/* The chunk bytes a message of `used` bytes with n fields takes. */
static size_t footprint(size_t used, uint32_t n)
{
    if (n == 0)
        return ALIGN_UP(used);
    return ALIGN_UP(ALIGN_UP(used) + n * sizeof(struct sl_field));
}

/* Moves s from old to new if it points into old's `used` bytes. */
static void rebase(struct sl_str *s, const char *old, size_t used, char *new)
{
    uintptr_t p = (uintptr_t)s->p, o = (uintptr_t)old;
    if (s->p != NULL && p >= o && p <= o + used)
        s->p = new + (p - o);
}

/* Moves the message being built to a new current chunk with room for
 * `total` bytes. The pool's hold on the old chunk passes to *old, which the
 * caller lets go once it has read what it was copying from there (a key or
 * value may be a span of the message). */
static int move(struct sl_msg_builder *b, size_t total, struct sl_chunk **old)
{
    struct sl_msgpool *pool = b->pool;
    size_t want = total;
    if (want > pool->chunk_size && want < 2 * b->used)
        want = 2 * b->used; /* doubling: a message growing past a chunk moves O(log n) times */
    struct sl_chunk *c = chunk_new(pool, want);
    if (c == NULL)
        return -ENOMEM;
    struct sl_msg *from = b->m, *m = (struct sl_msg *)c->data;
    memcpy(m, from, b->used);
    struct sl_str *spans[] = {&m->timestamp, &m->hostname, &m->app_name, &m->procid,
                              &m->msgid, &m->sd, &m->msg, &m->raw, &m->peer};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        rebase(spans[i], (const char *)from, b->used, (char *)m);
    m->input = (struct sl_str){c->input, c->input_len};
    m->chunk = c;
    *old = pool->cur;
    pool->cur = c;
    b->m = m;
    return 0;
}

int sl_msg_build_begin(struct sl_msg_builder *b, struct sl_msgpool *pool, const char *raw,
                       size_t len, const char *peer, size_t peer_len)
{
    if (len > UINT32_MAX || peer_len > 255)
        return -EINVAL;
    size_t used = sizeof(struct sl_msg) + len + peer_len;
    struct sl_chunk *c = chunk_with_room(pool, footprint(used, 0));
    if (c == NULL)
        return -ENOMEM;
    b->pool = pool;
    b->m = place(c, raw, len, peer, peer_len, pool->now);
    b->used = used;
    b->nfields = 0;
    return 0;
}

static bool has_key(const struct sl_msg_builder *b, const char *key, size_t klen)
{
    /* At most SL_MSG_MAX_FIELDS: a scan, as sl_msg_extra() does. */
    for (uint32_t i = 0; i < b->nfields; i++) {
        if (b->at[i].klen == klen && memcmp((const char *)b->m + b->at[i].key, key, klen) == 0)
            return true;
    }
    return false;
}

int sl_msg_build_field(struct sl_msg_builder *b, const char *key, size_t klen, const char *value,
                       size_t vlen)
{
    if (!sl_msg_field_key_ok(key, klen) || (value == NULL && vlen > 0))
        return -EINVAL;
    if (has_key(b, key, klen))
        return -EEXIST;
    if (b->nfields == SL_MSG_MAX_FIELDS || vlen > UINT32_MAX - klen - b->used)
        return -E2BIG;
    size_t total = footprint(b->used + klen + vlen, b->nfields + 1);
    struct sl_chunk *c = b->m->chunk, *old = NULL;
    if (total > c->size - (size_t)((char *)b->m - c->data)) {
        int rc = move(b, total, &old);
        if (rc < 0)
            return rc;
    }
    char *w = (char *)b->m + b->used;
    memcpy(w, key, klen);
    if (vlen > 0)
        memcpy(w + klen, value, vlen);
    b->at[b->nfields].key = (uint32_t)b->used;
    b->at[b->nfields].klen = (uint32_t)klen;
    b->at[b->nfields].value = (uint32_t)(b->used + klen);
    b->at[b->nfields].vlen = (uint32_t)vlen;
    b->nfields++;
    b->used += klen + vlen;
    if (old != NULL)
        chunk_unref(old); /* key and value are copied: let the old place go */
    return 0;
}

char *sl_msg_build_reserve(struct sl_msg_builder *b, size_t len)
{
    if (len > UINT32_MAX - b->used)
        return NULL;
    size_t total = footprint(b->used + len, b->nfields);
    struct sl_chunk *c = b->m->chunk, *old = NULL;
    if (total > c->size - (size_t)((char *)b->m - c->data)) {
        if (move(b, total, &old) < 0)
            return NULL;
        chunk_unref(old); /* nothing is read from the old place after the move */
    }
    char *w = (char *)b->m + b->used;
    b->used += len;
    return w;
}

struct sl_msg *sl_msg_build_end(struct sl_msg_builder *b)
{
    struct sl_msg *m = b->m;
    struct sl_chunk *c = m->chunk;
    if (b->nfields > 0) {
        char *base = (char *)m;
        struct sl_field *f = (struct sl_field *)(base + ALIGN_UP(b->used));
        for (uint32_t i = 0; i < b->nfields; i++) {
            f[i].key = (struct sl_str){base + b->at[i].key, b->at[i].klen};
            f[i].value = (struct sl_str){base + b->at[i].value, b->at[i].vlen};
        }
        m->fields = f;
        m->nfields = b->nfields;
    }
    c->used += footprint(b->used, b->nfields);
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    b->m = NULL;
    return m;
}

void sl_msg_build_abort(struct sl_msg_builder *b)
{
    b->m = NULL; /* nothing was taken from the chunk */
}
/* }=== */

/* {=== copying a message out of its chunk (msg.h) */

/* True when s points into raw's bytes (then it moves with raw). */
static bool in_raw(struct sl_str s, struct sl_str raw)
{
    uintptr_t p = (uintptr_t)s.p, r = (uintptr_t)raw.p;
    return s.p != NULL && raw.p != NULL && p >= r && p + s.len <= r + raw.len;
}

/* The bytes a span takes in a copy: none when it is absent or moves with
 * raw. */
static size_t span_cost(struct sl_str s, struct sl_str raw)
{
    return s.p == NULL || in_raw(s, raw) ? 0 : s.len;
}

/* Points *s at its bytes in the copy: beside the copied raw when it was in
 * raw, else copied to *tail (which advances). */
static void span_copy(struct sl_str *s, struct sl_str old_raw, char *new_raw, char **tail)
{
    if (s->p == NULL)
        return;
    if (in_raw(*s, old_raw)) {
        s->p = new_raw + (s->p - old_raw.p);
        return;
    }
    memcpy(*tail, s->p, s->len);
    s->p = *tail;
    *tail += s->len;
}

#define MSG_SPANS(m)                                                                      \
    {&(m)->timestamp, &(m)->hostname, &(m)->app_name, &(m)->procid, &(m)->msgid, &(m)->sd, \
     &(m)->msg, &(m)->peer}

struct sl_msg *sl_msg_copy_out(const struct sl_msg *m)
{
    const struct sl_str raw = m->raw;
    struct sl_str *spans[] = MSG_SPANS((struct sl_msg *)m);
    size_t bytes = raw.len;
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        bytes += span_cost(*spans[i], raw);
    for (uint32_t i = 0; i < m->nfields; i++)
        bytes += span_cost(m->fields[i].key, raw) + span_cost(m->fields[i].value, raw);
    size_t head = ALIGN_UP(sizeof(struct sl_msg) + m->nfields * sizeof(struct sl_field));
    struct sl_chunk *c = sl_malloc(sizeof *c + head + bytes);
    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    c->size = c->used = head + bytes;
    c->cache = NULL;
    c->input_len = m->input.len < sizeof c->input ? m->input.len : sizeof c->input - 1;
    memcpy(c->input, m->input.p, c->input_len);
    /* [struct sl_msg][sl_field x n][raw][the other spans' bytes] */
    struct sl_msg *x = (struct sl_msg *)c->data;
    struct sl_field *fields = (struct sl_field *)(x + 1);
    char *new_raw = c->data + head, *tail = new_raw + raw.len;
    *x = *m;
    atomic_init(&x->refs, 1);
    x->chunk = c;
    x->base = NULL;
    memcpy(new_raw, raw.p, raw.len);
    x->raw.p = raw.len > 0 ? new_raw : raw.p;
    struct sl_str *xs[] = MSG_SPANS(x);
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        span_copy(xs[i], raw, new_raw, &tail);
    x->input = (struct sl_str){c->input, c->input_len};
    for (uint32_t i = 0; i < m->nfields; i++) {
        fields[i] = m->fields[i];
        span_copy(&fields[i].key, raw, new_raw, &tail);
        span_copy(&fields[i].value, raw, new_raw, &tail);
    }
    x->fields = m->nfields > 0 ? fields : NULL;
    return x;
}
struct sl_msg *sl_msg_unpin(struct sl_msg *m)
{
    bool alone = m->chunk != NULL ? m->chunk->cache == NULL : m->base == NULL;
    if (alone)
        return m; /* its own chunk (a large message, a copy) or a plain heap one */
    struct sl_msg *x = sl_msg_copy_out(m);
    if (x == NULL)
        return m; /* no memory to copy: it pins as before */
    sl_msg_unref(m);
    return x;
}
/* }=== */

void sl_msg_unref(struct sl_msg *m)
{
    if (m == NULL)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (m->chunk != NULL) {
        chunk_unref(m->chunk);
        return;
    }
    /* A heap message; a rewrite (rewrite.h) also lets go of its base, whose
     * bytes it pointed into. A base is never a rewrite: no recursion. */
    struct sl_msg *base = m->base;
    free(m);
    sl_msg_unref(base);
}

const struct sl_field *sl_msg_extra(const struct sl_msg *m, const char *key, size_t keylen)
{
    /* At most SL_REWRITE_MAX_FIELDS (64), usually a handful: a scan. */
    for (uint32_t i = 0; i < m->nfields; i++) {
        const struct sl_field *x = &m->fields[i];
        if (x->key.len == keylen && (keylen == 0 || memcmp(x->key.p, key, keylen) == 0))
            return x;
    }
    return NULL;
}

/* {=== names */
static const char *const facilities[24] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

static const char *const severities[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

const char *sl_facility_name(unsigned facility)
{
    return facility < 24 ? facilities[facility] : NULL;
}

const char *sl_severity_name(unsigned severity)
{
    return severity < 8 ? severities[severity] : NULL;
}

static int lookup(const char *const *names, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
            return i;
    }
    return -1;
}

static bool is(const char *name, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(name, word, len) == 0;
}

int sl_facility_from_name(const char *name, size_t len)
{
    int f = lookup(facilities, 24, name, len);
    if (f >= 0)
        return f;
    if (is(name, len, "security"))
        return 4;
    return -1;
}

int sl_severity_from_name(const char *name, size_t len)
{
    int s = lookup(severities, 8, name, len);
    if (s >= 0)
        return s;
    if (is(name, len, "panic"))
        return 0;
    if (is(name, len, "error"))
        return 3;
    if (is(name, len, "warn"))
        return 4;
    return -1;
}
/* }=== */
