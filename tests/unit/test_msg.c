/* test_msg.c: message pool, chunks, reference counts, names. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/msg.h"

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
        cmocka_unit_test(released_chunk_is_reused),
        cmocka_unit_test(long_input_name_is_cut),
        cmocka_unit_test(heap_message),
        cmocka_unit_test(references_released_from_many_threads),
        cmocka_unit_test(names_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
