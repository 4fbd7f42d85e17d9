/* SPDX-License-Identifier: MIT */
/* test_input_message.c: what input.c makes of a frame before routing: a
 * message from a kind's parser hook that fills fields
 * (sl_input_message_fields), on a bare struct sl_input (pool, parse
 * context, counters; no thread). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "input/input_impl.h"
#include "parse/parse.h"

static int setup(void **state)
{
    struct sl_input *in = calloc(1, sizeof *in);
    sl_msgpool_init(&in->pool, "kmsg");
    in->pctx.hostname = (struct sl_str){"here", 4};
    *state = in;
    return 0;
}

static int teardown(void **state)
{
    struct sl_input *in = *state;
    sl_msgpool_release(&in->pool);
    free(in);
    return 0;
}

/* kmsg's record, "PRI,SEQ,USEC,FLAGS;TEXT" then "\n KEY=VALUE" lines, cut
 * short for the test: the text up to the first LF, one field per line. */
static int kmsg_hook(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *arg)
{
    (void)arg;
    assert_int_equal(ctx->hostname.len, 4); /* the input's own context */
    const char *semi = memchr(b->m->raw.p, ';', b->m->raw.len);
    if (semi == NULL)
        return -EINVAL;
    unsigned pri = (unsigned)atoi(b->m->raw.p);
    b->m->severity = (uint8_t)(pri & 7);
    b->m->facility = (uint8_t)(pri >> 3);
    b->m->pri = (uint8_t)pri;
    b->m->hostname = ctx->hostname;
    size_t at = (size_t)(semi + 1 - b->m->raw.p);
    const char *nl = memchr(semi + 1, '\n', b->m->raw.len - at);
    size_t end = nl ? (size_t)(nl - b->m->raw.p) : b->m->raw.len;
    b->m->msg = (struct sl_str){b->m->raw.p + at, (uint32_t)(end - at)};
    while (end < b->m->raw.len) {
        const char *line = b->m->raw.p + end + 2; /* past "\n " */
        size_t left = b->m->raw.len - end - 2;
        const char *eq = memchr(line, '=', left);
        nl = memchr(line, '\n', left);
        size_t llen = nl ? (size_t)(nl - line) : left;
        if (eq == NULL || eq > line + llen)
            return -EINVAL; /* what came before stays */
        size_t next = end + 2 + llen;
        int rc = sl_msg_build_field(b, line, (size_t)(eq - line), eq + 1,
                                    llen - (size_t)(eq - line) - 1);
        if (rc < 0)
            return rc;
        end = next; /* an offset: b->m may have moved */
    }
    return 0;
}

static void a_hook_fills_fields_and_the_message_is_counted(void **state)
{
    struct sl_input *in = *state;
    const char rec[] = "6,1234,5678,-;usb 1-1: new device\n SUBSYSTEM=usb\n DEVICE=c189:1";
    struct sl_msg *m = sl_input_message_fields(in, kmsg_hook, NULL, rec, sizeof rec - 1, NULL, 0, 0,
                                               NULL);
    assert_non_null(m);
    assert_int_equal(atomic_load(&in->stats.received), 1);
    assert_int_equal(atomic_load(&in->stats.bytes), sizeof rec - 1);
    assert_int_equal(atomic_load(&in->stats.parse_errors), 0);
    assert_false(m->flags & SL_MSG_PARSE_ERROR);
    assert_int_equal(m->severity, 6);
    assert_memory_equal(m->msg.p, "usb 1-1: new device", m->msg.len);
    assert_memory_equal(m->input.p, "kmsg", 4);
    assert_memory_equal(m->hostname.p, "here", 4);
    assert_int_equal(m->nfields, 2);
    assert_memory_equal(sl_msg_extra(m, "SUBSYSTEM", 9)->value.p, "usb", 3);
    assert_memory_equal(sl_msg_extra(m, "DEVICE", 6)->value.p, "c189:1", 6);
    sl_msg_unref(m);
}

static void a_failing_hook_is_a_parse_error_delivered(void **state)
{
    struct sl_input *in = *state;
    const char rec[] = "3,1,2,-;oops\n GOOD=1\n no equals sign";
    struct sl_msg *m = sl_input_message_fields(in, kmsg_hook, NULL, rec, sizeof rec - 1, NULL, 0, 0,
                                               NULL);
    assert_non_null(m);
    assert_true(m->flags & SL_MSG_PARSE_ERROR);
    assert_int_equal(atomic_load(&in->stats.parse_errors), 1);
    assert_int_equal(atomic_load(&in->stats.received), 1);
    assert_int_equal(m->nfields, 1); /* as far as it got */
    assert_memory_equal(m->msg.p, "oops", 4);
    sl_msg_unref(m);
}

/* A hook that calls the entry malformed: nothing half-built goes out. */
static int refusing_hook(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *arg)
{
    (void)ctx;
    int *calls = arg;
    (*calls)++;
    assert_int_equal(sl_msg_build_field(b, "A", 1, "1", 1), 0);
    return -EBADMSG;
}

static void a_malformed_entry_is_dropped_whole_and_counted(void **state)
{
    struct sl_input *in = *state;
    int calls = 0, rc = 0;
    struct sl_msg *m = sl_input_message_fields(in, refusing_hook, &calls, "A=1", 3, NULL, 0, 0,
                                               &rc);
    assert_null(m);
    assert_int_equal(rc, -EBADMSG);
    assert_int_equal(calls, 1); /* arg reached the hook */
    assert_int_equal(atomic_load(&in->stats.malformed), 1);
    assert_int_equal(atomic_load(&in->stats.received), 1);
    assert_int_equal(atomic_load(&in->stats.parse_errors), 0);
    /* the pool is usable again: the aborted build gave its bytes back */
    m = sl_input_message_fields(in, kmsg_hook, NULL, "6,1,2,-;ok", 10, NULL, 0, 0, &rc);
    assert_non_null(m);
    assert_int_equal(rc, 0);
    sl_msg_unref(m);
}

static void a_truncated_frame_is_counted(void **state)
{
    struct sl_input *in = *state;
    struct sl_msg *m = sl_input_message_fields(in, kmsg_hook, NULL, "6,1,2,-;cut", 11, NULL,
                                               0, SL_FRAME_TRUNCATED, NULL);
    assert_true(m->flags & SL_MSG_TRUNCATED);
    assert_int_equal(atomic_load(&in->stats.truncated), 1);
    assert_int_equal(m->nfields, 0);
    sl_msg_unref(m);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_hook_fills_fields_and_the_message_is_counted),
        T(a_failing_hook_is_a_parse_error_delivered),
        T(a_malformed_entry_is_dropped_whole_and_counted),
        T(a_truncated_frame_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
