/* SPDX-License-Identifier: MIT */
/* test_msg.c: message pool, chunks, reference counts, the builder of messages
 * with fields, names. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/msg.h"
#include "format/format.h"
#include "parse/parse.h"

static void new_message_copies_raw_and_peer(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "tcp");
    char raw[] = "<13>hello";
    struct sl_msg *m = sl_msg_new(&pool, raw, 9, "127.0.0.1", 9);
    assert_non_null(m);
    raw[0] = 'X'; /* the message owns its copy */
    assert_int_equal(m->raw.len, 9);
    assert_memory_equal(m->raw.p, "<13>hello", 9);
    assert_int_equal(m->peer.len, 9);
    assert_memory_equal(m->peer.p, "127.0.0.1", 9);
    assert_int_equal(m->input.len, 3);
    assert_memory_equal(m->input.p, "tcp", 3);
    assert_true(m->received.flags & SL_TIME_VALID);
    /* Defaults before parsing: user.notice, msg = raw. */
    assert_int_equal(m->facility, 1);
    assert_int_equal(m->severity, 5);
    assert_ptr_equal(m->msg.p, m->raw.p);
    assert_null(m->hostname.p);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

static void messages_outlive_the_pool(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "udp");
    struct sl_msg *kept[3000];
    char text[300];
    memset(text, 'a', sizeof text);
    /* Enough to fill several chunks. */
    for (size_t i = 0; i < 3000; i++) {
        kept[i] = sl_msg_new(&pool, text, sizeof text, NULL, 0);
        assert_non_null(kept[i]);
        assert_null(kept[i]->peer.p);
    }
    sl_msgpool_release(&pool);
    for (size_t i = 0; i < 3000; i++) {
        assert_int_equal(kept[i]->raw.len, 300);
        assert_int_equal(kept[i]->raw.p[299], 'a');
        assert_memory_equal(kept[i]->input.p, "udp", 3);
        sl_msg_unref(kept[i]);
    }
}

static void oversized_message_gets_its_own_chunk(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "big");
    size_t len = 1024 * 1024;
    char *raw = malloc(len);
    memset(raw, 'z', len);
    struct sl_msg *small = sl_msg_new(&pool, "a", 1, NULL, 0);
    struct sl_msg *big = sl_msg_new(&pool, raw, len, NULL, 0);
    assert_non_null(big);
    assert_int_equal(big->raw.len, len);
    assert_int_equal(big->raw.p[len - 1], 'z');
    assert_memory_equal(small->raw.p, "a", 1);
    sl_msg_unref(big);
    sl_msg_unref(small);
    sl_msgpool_release(&pool);
    free(raw);
}

/* Issue item 2: a small message must not share a chunk with large ones,
 * or, queued, it keeps their 128 KiB alive after they were released. A
 * message over an eighth of a chunk gets one of its own, and the small
 * messages around it stay together in the pool's current chunk. */
static void large_message_does_not_share_a_chunk_with_small_ones(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "mixed");
    size_t len = 60000;
    char *raw = malloc(len);
    memset(raw, 'x', len);
    struct sl_msg *before = sl_msg_new(&pool, "small", 5, NULL, 0);
    struct sl_msg *big = sl_msg_new(&pool, raw, len, "peer", 4);
    struct sl_msg *after = sl_msg_new(&pool, "small", 5, NULL, 0);
    assert_non_null(big);
    assert_ptr_not_equal(big->chunk, before->chunk);
    assert_ptr_equal(after->chunk, before->chunk);
    assert_int_equal(big->raw.len, len);
    assert_int_equal(big->raw.p[len - 1], 'x');
    assert_memory_equal(big->peer.p, "peer", 4);
    assert_memory_equal(big->input.p, "mixed", 5);
    /* Just under the bound still shares: the hot path is unchanged. */
    struct sl_msg *mid = sl_msg_new(&pool, raw, 16 * 1024 - 512, NULL, 0);
    assert_ptr_equal(mid->chunk, before->chunk);
    sl_msg_unref(big); /* freed at once (ASan: not leaked, not used after) */
    sl_msg_unref(mid);
    sl_msg_unref(before);
    sl_msgpool_release(&pool);
    assert_memory_equal(after->raw.p, "small", 5);
    sl_msg_unref(after);
    free(raw);
}

/* A chunk whose messages are all released is reused by its pool, not
 * given back to malloc. */
static void released_chunk_is_reused(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "reuse");
    char text[1000];
    memset(text, 'r', sizeof text);
    struct sl_msg *first_chunk[200];
    size_t n = 0;
    first_chunk[n++] = sl_msg_new(&pool, text, sizeof text, NULL, 0);
    struct sl_msg *m;
    while ((m = sl_msg_new(&pool, text, sizeof text, NULL, 0))->chunk == first_chunk[0]->chunk) {
        assert_true(n < 200);
        first_chunk[n++] = m;
    }
    void *first_address = first_chunk[0];
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(first_chunk[i]);
    /* Fill the second chunk; the third must be the first one again. */
    struct sl_msg *second[200];
    size_t k = 0;
    second[k++] = m;
    while ((m = sl_msg_new(&pool, text, sizeof text, NULL, 0))->chunk == second[0]->chunk) {
        assert_true(k < 200);
        second[k++] = m;
    }
    assert_ptr_equal(m, first_address);
    assert_int_equal(m->raw.len, sizeof text);
    assert_int_equal(m->raw.p[0], 'r');
    sl_msg_unref(m);
    for (size_t i = 0; i < k; i++)
        sl_msg_unref(second[i]);
    sl_msgpool_release(&pool);
}

static void long_input_name_is_cut(void **state)
{
    struct sl_msgpool pool;
    char name[100];
    memset(name, 'n', sizeof name - 1);
    name[99] = '\0';
    sl_msgpool_init(&pool, name);
    struct sl_msg *m = sl_msg_new(&pool, "x", 1, NULL, 0);
    assert_int_equal(m->input.len, 63);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

static void heap_message(void **state)
{
    struct sl_msg *m = sl_msg_new_heap("<14>hi", 6, "test");
    assert_non_null(m);
    assert_null(m->chunk);
    assert_memory_equal(m->raw.p, "<14>hi", 6);
    assert_memory_equal(m->input.p, "test", 4);
    sl_msg_ref(m);
    sl_msg_unref(m);
    sl_msg_unref(m);
    sl_msg_unref(NULL);
}

/* Fan-out: several threads release references to messages of one chunk;
 * ASan/TSan builds catch a double free or a race on the counts. */
#define SHARED 2000
#define THREADS 4
static struct sl_msg *shared[SHARED];

static void *release_all(void *arg)
{
    for (size_t i = 0; i < SHARED; i++)
        sl_msg_unref(shared[i]);
    return NULL;
}

static void references_released_from_many_threads(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "fan");
    for (size_t i = 0; i < SHARED; i++) {
        shared[i] = sl_msg_new(&pool, "payload", 7, NULL, 0);
        for (int t = 1; t < THREADS; t++)
            sl_msg_ref(shared[i]);
    }
    sl_msgpool_release(&pool);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, release_all, NULL), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
}

/* {=== messages with fields (the builder) */
static struct sl_msg *build(struct sl_msgpool *pool, const char *raw, size_t nfields,
                            const char *const *kv)
{
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, pool, raw, strlen(raw), "10.0.0.1", 8), 0);
    for (size_t i = 0; i < nfields; i++)
        assert_int_equal(sl_msg_build_field(&b, kv[2 * i], strlen(kv[2 * i]), kv[2 * i + 1],
                                            strlen(kv[2 * i + 1])), 0);
    return sl_msg_build_end(&b);
}

static void built_message_has_its_fields(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "journal");
    char keys[40][8], vals[40][16];
    const char *kv[80];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof keys[i], "K%d", i);
        snprintf(vals[i], sizeof vals[i], "value-%d", i * 7);
        kv[2 * i] = keys[i];
        kv[2 * i + 1] = vals[i];
    }
    struct sl_msg *m = build(&pool, "disk full", 40, kv);
    assert_non_null(m);
    /* What sl_msg_new() gives, */
    assert_memory_equal(m->raw.p, "disk full", 9);
    assert_ptr_equal(m->msg.p, m->raw.p);
    assert_memory_equal(m->peer.p, "10.0.0.1", 8);
    assert_memory_equal(m->input.p, "journal", 7);
    assert_non_null(m->chunk);
    assert_int_equal(m->severity, 5);
    /* and the fields, in order, found by name. */
    assert_int_equal(m->nfields, 40);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(m->fields[i].key.len, strlen(keys[i]));
        assert_memory_equal(m->fields[i].key.p, keys[i], strlen(keys[i]));
        const struct sl_field *x = sl_msg_extra(m, keys[i], strlen(keys[i]));
        assert_ptr_equal(x, &m->fields[i]);
        assert_int_equal(x->value.len, strlen(vals[i]));
        assert_memory_equal(x->value.p, vals[i], strlen(vals[i]));
    }
    assert_null(sl_msg_extra(m, "K40", 3));
    /* The next message of the pool comes after it, whole. */
    struct sl_msg *next = sl_msg_new(&pool, "after", 5, NULL, 0);
    assert_ptr_equal(next->chunk, m->chunk);
    assert_true((char *)next >= (char *)(m->fields + m->nfields));
    assert_memory_equal(m->fields[39].value.p, "value-273", 9);
    sl_msg_unref(next);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

/* No fields: the same message as sl_msg_new() would make. */
static void built_message_without_fields(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "kmsg");
    struct sl_msg *a = sl_msg_new(&pool, "<6>x", 4, "10.0.0.1", 8);
    struct sl_msg *m = build(&pool, "<6>x", 0, NULL);
    struct sl_msg *n = sl_msg_new(&pool, "<6>x", 4, "10.0.0.1", 8);
    assert_int_equal(m->nfields, 0);
    assert_null(m->fields);
    assert_null(sl_msg_extra(m, "x", 1));
    assert_memory_equal(m->peer.p, "10.0.0.1", 8);
    /* As much room in the chunk as sl_msg_new() takes for it. */
    assert_ptr_equal(n->chunk, a->chunk);
    assert_int_equal((char *)n - (char *)m, (char *)m - (char *)a);
    sl_msg_unref(a);
    sl_msg_unref(n);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

/* A value larger than a chunk moves the message to one of its own; the
 * spans set before the move, and the fields before it, move with it. */
static void fields_larger_than_a_chunk(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "big");
    struct sl_msg *before = sl_msg_new(&pool, "first", 5, NULL, 0);
    size_t len = 300 * 1024;
    char *big = malloc(len);
    memset(big, 'v', len);
    big[len - 1] = '!';
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "app: hello", 10, NULL, 0), 0);
    b.m->app_name = (struct sl_str){b.m->raw.p, 3};
    b.m->msg = (struct sl_str){b.m->raw.p + 5, 5};
    assert_int_equal(sl_msg_build_field(&b, "SMALL", 5, "s", 1), 0);
    assert_int_equal(sl_msg_build_field(&b, "COREDUMP", 8, big, len), 0);
    assert_int_equal(sl_msg_build_field(&b, "BIG2", 4, big, len), 0); /* grows again */
    assert_int_equal(sl_msg_build_field(&b, "AFTER", 5, "a", 1), 0);
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_ptr_not_equal(m->chunk, before->chunk);
    assert_memory_equal(m->raw.p, "app: hello", 10);
    assert_ptr_equal(m->app_name.p, m->raw.p); /* rebased, not left in the old chunk */
    assert_memory_equal(m->msg.p, "hello", 5);
    assert_ptr_equal(m->msg.p, m->raw.p + 5);
    assert_memory_equal(m->input.p, "big", 3);
    assert_int_equal(m->nfields, 4);
    assert_memory_equal(sl_msg_extra(m, "SMALL", 5)->value.p, "s", 1);
    const struct sl_field *x = sl_msg_extra(m, "COREDUMP", 8);
    assert_int_equal(x->value.len, len);
    assert_memory_equal(x->value.p, big, len);
    assert_memory_equal(sl_msg_extra(m, "BIG2", 4)->value.p, big, len);
    assert_memory_equal(sl_msg_extra(m, "AFTER", 5)->value.p, "a", 1);
    /* The pool goes on, and the message before is untouched. */
    struct sl_msg *after = sl_msg_new(&pool, "next", 4, NULL, 0);
    assert_non_null(after);
    assert_memory_equal(before->raw.p, "first", 5);
    sl_msg_unref(before);
    sl_msg_unref(after);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
    free(big);
}

/* A message that does not fit what is left of the chunk moves to the next
 * one, spans and all, and the messages left behind are intact. */
static void a_build_crossing_the_chunk_end_moves(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "cross");
    char text[1000];
    memset(text, 'c', sizeof text);
    struct sl_msg *kept[200];
    size_t n = 0;
    kept[n++] = sl_msg_new(&pool, text, sizeof text, NULL, 0);
    struct sl_chunk *first = kept[0]->chunk;
    for (;;) {
        struct sl_msg_builder b;
        assert_int_equal(sl_msg_build_begin(&b, &pool, text, sizeof text, NULL, 0), 0);
        struct sl_chunk *began = b.m->chunk;
        b.m->msg = (struct sl_str){b.m->raw.p + 7, 1};
        /* A value that is a span of the message itself, as a parser hook
         * passes them: read before the old place is let go. */
        assert_int_equal(sl_msg_build_field(&b, "TEXT", 4, b.m->raw.p, b.m->raw.len), 0);
        assert_int_equal(sl_msg_build_field(&b, "MORE", 4, text, 500), 0);
        struct sl_msg *m = sl_msg_build_end(&b);
        assert_int_equal(m->msg.p[0], 'c');
        assert_ptr_equal(m->msg.p, m->raw.p + 7);
        assert_memory_equal(m->raw.p, text, sizeof text);
        assert_int_equal(sl_msg_extra(m, "MORE", 4)->value.len, 500);
        assert_true(n < 200);
        kept[n++] = m;
        if (m->chunk != began)
            break; /* it moved */
        assert_ptr_equal(m->chunk, first);
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_memory_equal(sl_msg_extra(kept[i], "TEXT", 4)->value.p, text, sizeof text);
        sl_msg_unref(kept[i]);
    }
    sl_msgpool_release(&pool);
}

/* Bytes reserved in the message (kmsg's unescaped text): msg may point at
 * them, and they move with the message when it crosses a chunk's end,
 * whether the reserve itself or a later field moves it. */
static void reserved_bytes_move_with_the_message(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "reserve");
    char text[1000];
    memset(text, 'r', sizeof text);
    struct sl_msg *kept[400];
    size_t n = 0, moved = 0;
    while (moved < 2) {
        struct sl_msg_builder b;
        assert_int_equal(sl_msg_build_begin(&b, &pool, "x", 1, NULL, 0), 0);
        struct sl_chunk *began = b.m->chunk;
        char *w = sl_msg_build_reserve(&b, sizeof text);
        assert_non_null(w);
        memcpy(w, text, sizeof text);
        b.m->msg = (struct sl_str){w, sizeof text};
        assert_int_equal(sl_msg_build_field(&b, "MORE", 4, text, 300), 0);
        struct sl_msg *m = sl_msg_build_end(&b);
        assert_memory_equal(m->msg.p, text, sizeof text);
        assert_memory_equal(m->raw.p, "x", 1);
        assert_memory_equal(sl_msg_extra(m, "MORE", 4)->value.p, text, 300);
        assert_true(n < 400);
        kept[n++] = m;
        moved += m->chunk != began;
    }
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(kept[i]->msg.p, text, sizeof text); /* nothing overwrote it */
        sl_msg_unref(kept[i]);
    }
    /* Past 4 GiB of message: refused, the build still usable. */
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "y", 1, NULL, 0), 0);
    assert_null(sl_msg_build_reserve(&b, (size_t)UINT32_MAX));
    assert_int_equal(sl_msg_build_field(&b, "K", 1, "v", 1), 0);
    sl_msg_unref(sl_msg_build_end(&b));
    sl_msgpool_release(&pool);
}

static void a_duplicate_key_keeps_the_first_value(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "dup");
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "m", 1, NULL, 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "UNIT", 4, "one", 3), 0);
    assert_int_equal(sl_msg_build_field(&b, "UNIT", 4, "two", 3), -EEXIST);
    assert_int_equal(sl_msg_build_field(&b, "UNIT2", 5, "two", 3), 0); /* a prefix is another key */
    assert_int_equal(sl_msg_build_field(&b, "unit", 4, "low", 3), 0);   /* case counts */
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_int_equal(m->nfields, 3);
    assert_memory_equal(sl_msg_extra(m, "UNIT", 4)->value.p, "one", 3);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

static void an_empty_value_is_present(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "empty");
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "m", 1, NULL, 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "EMPTY", 5, "", 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "NONE", 4, NULL, 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "BAD", 3, NULL, 2), -EINVAL);
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_int_equal(m->nfields, 2);
    const struct sl_field *x = sl_msg_extra(m, "EMPTY", 5);
    assert_non_null(x);
    assert_non_null(x->value.p); /* "" is present, not NIL */
    assert_int_equal(x->value.len, 0);
    assert_non_null(sl_msg_extra(m, "NONE", 4)->value.p);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

static void keys_and_limits(void **state)
{
    char longkey[SL_MSG_MAX_FIELD_KEY + 1];
    memset(longkey, 'K', sizeof longkey);
    assert_true(sl_msg_field_key_ok("_SYSTEMD_UNIT", 13));
    assert_true(sl_msg_field_key_ok("a.b-c_9", 7));
    assert_true(sl_msg_field_key_ok(longkey, SL_MSG_MAX_FIELD_KEY));
    assert_false(sl_msg_field_key_ok(longkey, SL_MSG_MAX_FIELD_KEY + 1));
    assert_false(sl_msg_field_key_ok("", 0));
    assert_false(sl_msg_field_key_ok("a b", 3));
    assert_false(sl_msg_field_key_ok("a=b", 3));
    assert_false(sl_msg_field_key_ok("\xc3\xa9", 2));
    assert_false(sl_msg_field_key_ok("a\0b", 3));

    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "limits");
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "m", 1, NULL, 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "a b", 3, "v", 1), -EINVAL);
    assert_int_equal(sl_msg_build_field(&b, "", 0, "v", 1), -EINVAL);
    char key[8];
    for (int i = 0; i < SL_MSG_MAX_FIELDS; i++) {
        int n = snprintf(key, sizeof key, "F%d", i);
        assert_int_equal(sl_msg_build_field(&b, key, (size_t)n, "v", 1), 0);
    }
    assert_int_equal(sl_msg_build_field(&b, "ONE_MORE", 8, "v", 1), -E2BIG);
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_int_equal(m->nfields, SL_MSG_MAX_FIELDS);
    assert_non_null(sl_msg_extra(m, "F63", 3));
    sl_msg_unref(m);
    assert_int_equal(sl_msg_build_begin(&b, &pool, "m", 1, "p", 256), -EINVAL);
    sl_msgpool_release(&pool);
}

/* An aborted build gives its bytes back: the next message takes its place. */
static void an_aborted_build_leaves_nothing(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "abort");
    struct sl_msg *first = sl_msg_new(&pool, "a", 1, NULL, 0);
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, "gone", 4, NULL, 0), 0);
    assert_int_equal(sl_msg_build_field(&b, "K", 1, "v", 1), 0);
    void *where = b.m;
    sl_msg_build_abort(&b);
    struct sl_msg *next = sl_msg_new(&pool, "b", 1, NULL, 0);
    assert_ptr_equal(next, where);
    sl_msg_unref(first);
    sl_msg_unref(next);
    sl_msgpool_release(&pool); /* ASan: no chunk left behind */
}

/* Built messages free into their chunk, which the pool then reuses. */
static void chunks_of_built_messages_are_reused(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "reuse");
    const char *kv[] = {"_PID", "42", "_COMM", "sshd", "MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1"};
    struct sl_msg *first[2000];
    size_t n = 0;
    first[n++] = build(&pool, "accepted publickey", 3, kv);
    struct sl_msg *m;
    while ((m = build(&pool, "accepted publickey", 3, kv))->chunk == first[0]->chunk) {
        assert_true(n < 2000);
        first[n++] = m;
    }
    void *first_address = first[0];
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(first[i]);
    struct sl_msg *second[2000];
    size_t k = 0;
    second[k++] = m;
    while ((m = build(&pool, "accepted publickey", 3, kv))->chunk == second[0]->chunk) {
        assert_true(k < 2000);
        second[k++] = m;
    }
    assert_ptr_equal(m, first_address); /* the first chunk again, from the cache */
    assert_int_equal(m->nfields, 3);
    assert_memory_equal(sl_msg_extra(m, "_COMM", 5)->value.p, "sshd", 4);
    sl_msg_unref(m);
    for (size_t i = 0; i < k; i++)
        sl_msg_unref(second[i]);
    sl_msgpool_release(&pool);
}

/* A value that is a span of the message itself, in a chunk that goes
 * away when the message moves (an oversized one, not cached): copied
 * before the old chunk is let go (ASan builds see a use after free). */
static void a_value_from_the_message_itself_survives_its_move(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "self");
    size_t len = 300 * 1024;
    char *big = malloc(len);
    memset(big, 's', len);
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, big, len, NULL, 0), 0);
    struct sl_chunk *began = b.m->chunk;
    assert_int_equal(sl_msg_build_field(&b, "SELF", 4, b.m->raw.p, b.m->raw.len), 0);
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_ptr_not_equal(m->chunk, began);
    assert_memory_equal(sl_msg_extra(m, "SELF", 4)->value.p, big, len);
    assert_memory_equal(m->raw.p, big, len);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
    free(big);
}

/* The same fields as a transform's: json and templates show them with no
 * code of their own. */
static void built_fields_reach_json_and_templates(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "journal");
    const char *kv[] = {"_SYSTEMD_UNIT", "ssh.service", "EMPTY", ""};
    struct sl_msg *m = build(&pool, "session opened", 2, kv);
    struct sl_format *json, *tmpl;
    char err[256];
    assert_int_equal(sl_format_new("json", &json, err, sizeof err), 0);
    assert_int_equal(sl_format_new("{fields._SYSTEMD_UNIT}|{fields.EMPTY}|{msg}", &tmpl, err,
                                   sizeof err), 0);
    struct sluice_buf out = {0};
    assert_int_equal(sl_format_append(json, m, &out), 0);
    const char *want = "\"fields\":{\"_SYSTEMD_UNIT\":\"ssh.service\",\"EMPTY\":\"\"}}\n";
    assert_true(out.len > strlen(want));
    assert_memory_equal(out.data + out.len - strlen(want), want, strlen(want));
    out.len = 0;
    assert_int_equal(sl_format_append(tmpl, m, &out), 0);
    /* A template writes an empty value as it writes any empty field. */
    assert_int_equal(out.len, strlen("ssh.service|-|session opened\n"));
    assert_memory_equal(out.data, "ssh.service|-|session opened\n", out.len);
    free(out.data);
    sl_format_free(json);
    sl_format_free(tmpl);
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}
/* }=== */

/* {=== copying out of a chunk (sl_msg_copy_out, sl_msg_unpin) */
static void json_of(const struct sl_msg *m, struct sluice_buf *out)
{
    struct sl_format *json;
    char err[256];
    assert_int_equal(sl_format_new("json", &json, err, sizeof err), 0);
    out->len = 0;
    assert_int_equal(sl_format_append(json, m, out), 0);
    sl_format_free(json);
}

/* Fills the rest of the pool's chunk and lets it go, so that its bytes are
 * reused (and overwritten) by what comes next. */
static void churn(struct sl_msgpool *pool)
{
    char junk[1000];
    memset(junk, 'j', sizeof junk);
    for (int i = 0; i < 400; i++)
        sl_msg_unref(sl_msg_new(pool, junk, sizeof junk, "9.9.9.9", 7));
}

/* A parsed message and a built one with fields: the copy says the same in
 * json, lives in memory of its own, and outlives its original's chunk. */
static void a_copy_out_is_the_same_message_alone(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "tcp");
    const char *raw = "<165>1 2026-11-22T10:00:00.5Z host app 42 ID7 [a b=\"c\"] hello";
    struct sl_msg *p = sl_msg_new(&pool, raw, strlen(raw), "192.0.2.1", 9);
    struct sl_parse_ctx ctx = {.hostname = {"me", 2}, .now = 1763805600};
    assert_int_equal(sl_parse(p, &ctx), 0);
    const char *kv[] = {"_PID", "42", "UNIT", "ssh.service"};
    struct sl_msg *b = build(&pool, "built", 2, kv);
    struct sl_msg *orig[] = {p, b};
    for (int i = 0; i < 2; i++) {
        struct sluice_buf want = {0}, got = {0};
        json_of(orig[i], &want);
        struct sl_msg *x = sl_msg_copy_out(orig[i]);
        assert_non_null(x);
        assert_ptr_not_equal(x->chunk, orig[i]->chunk);
        assert_ptr_equal(sl_msg_unpin(x), x); /* alone already */
        sl_msg_unref(orig[i]);
        churn(&pool);
        json_of(x, &got);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        sl_msg_unref(x);
        free(want.data);
        free(got.data);
    }
    sl_msgpool_release(&pool);
}

/* unpin copies a message that shares a chunk, and gives back a large one,
 * alone in its own chunk, as it is. */
static void unpin_copies_only_what_shares_a_chunk(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "udp");
    struct sl_msg *small = sl_msg_new(&pool, "small", 5, NULL, 0);
    struct sl_msg *other = sl_msg_new(&pool, "other", 5, NULL, 0);
    struct sl_chunk *shared = small->chunk;
    struct sl_msg *x = sl_msg_unpin(small);
    assert_ptr_not_equal(x->chunk, shared);
    assert_int_equal(x->raw.len, 5);
    assert_memory_equal(x->raw.p, "small", 5);
    assert_memory_equal(x->input.p, "udp", 3);
    char *big = malloc(40000);
    memset(big, 'b', 40000);
    struct sl_msg *large = sl_msg_new(&pool, big, 40000, NULL, 0);
    assert_ptr_equal(sl_msg_unpin(large), large);
    sl_msg_unref(large);
    sl_msg_unref(x);
    sl_msg_unref(other);
    free(big);
    sl_msgpool_release(&pool);
}
/* }=== */

static void names_both_ways(void **state)
{
    assert_string_equal(sl_facility_name(0), "kern");
    assert_string_equal(sl_facility_name(4), "auth");
    assert_string_equal(sl_facility_name(10), "authpriv");
    assert_string_equal(sl_facility_name(23), "local7");
    assert_null(sl_facility_name(24));
    assert_string_equal(sl_severity_name(0), "emerg");
    assert_string_equal(sl_severity_name(4), "warning");
    assert_null(sl_severity_name(8));
    for (unsigned f = 0; f < 24; f++) {
        const char *n = sl_facility_name(f);
        assert_int_equal(sl_facility_from_name(n, strlen(n)), (int)f);
    }
    for (unsigned s = 0; s < 8; s++) {
        const char *n = sl_severity_name(s);
        assert_int_equal(sl_severity_from_name(n, strlen(n)), (int)s);
    }
    assert_int_equal(sl_facility_from_name("security", 8), 4);
    assert_int_equal(sl_facility_from_name("LOCAL0", 6), 16);
    assert_int_equal(sl_facility_from_name("local", 5), -1);
    assert_int_equal(sl_severity_from_name("warn", 4), 4);
    assert_int_equal(sl_severity_from_name("error", 5), 3);
    assert_int_equal(sl_severity_from_name("panic", 5), 0);
    assert_int_equal(sl_severity_from_name("err", 2), -1);
    assert_int_equal(sl_severity_from_name("", 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_message_copies_raw_and_peer),
        cmocka_unit_test(messages_outlive_the_pool),
        cmocka_unit_test(oversized_message_gets_its_own_chunk),
        cmocka_unit_test(large_message_does_not_share_a_chunk_with_small_ones),
        cmocka_unit_test(released_chunk_is_reused),
        cmocka_unit_test(long_input_name_is_cut),
        cmocka_unit_test(heap_message),
        cmocka_unit_test(references_released_from_many_threads),
        cmocka_unit_test(built_message_has_its_fields),
        cmocka_unit_test(built_message_without_fields),
        cmocka_unit_test(fields_larger_than_a_chunk),
        cmocka_unit_test(a_build_crossing_the_chunk_end_moves),
        cmocka_unit_test(reserved_bytes_move_with_the_message),
        cmocka_unit_test(a_duplicate_key_keeps_the_first_value),
        cmocka_unit_test(an_empty_value_is_present),
        cmocka_unit_test(keys_and_limits),
        cmocka_unit_test(an_aborted_build_leaves_nothing),
        cmocka_unit_test(chunks_of_built_messages_are_reused),
        cmocka_unit_test(a_copy_out_is_the_same_message_alone),
        cmocka_unit_test(unpin_copies_only_what_shares_a_chunk),
        cmocka_unit_test(a_value_from_the_message_itself_survives_its_move),
        cmocka_unit_test(built_fields_reach_json_and_templates),
        cmocka_unit_test(names_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
