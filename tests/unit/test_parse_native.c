/* SPDX-License-Identifier: MIT */
/*
 * test_parse_native.c: the journal native protocol parser: both encodings,
 * binary values with newlines and NULs, each malformed case, forged '_'
 * keys, the field limit and the mapping to the header fields.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/parse_native.h"

static struct sl_msgpool pool;

static int setup(void **state)
{
    (void)state;
    sl_msgpool_init(&pool, "journal");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_msgpool_release(&pool);
    return 0;
}

/* Parses raw[0..len): the message, or NULL with *rc < 0 (build aborted). */
static struct sl_msg *parse(const char *raw, size_t len, int *rc, struct sl_native_counts *c)
{
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, raw, len, NULL, 0), 0);
    *rc = sl_parse_native(&b, c);
    if (*rc < 0) {
        sl_msg_build_abort(&b);
        return NULL;
    }
    return sl_msg_build_end(&b);
}

static void assert_field(const struct sl_msg *m, const char *key, const char *v, size_t vlen)
{
    const struct sl_field *f = sl_msg_extra(m, key, strlen(key));
    assert_non_null(f);
    assert_int_equal(f->value.len, vlen);
    assert_memory_equal(f->value.p, v, vlen);
}

static void assert_str(struct sl_str s, const char *v)
{
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(v));
    assert_memory_equal(s.p, v, s.len);
}

static void text_form_and_mapping(void **state)
{
    (void)state;
    static const char e[] = "MESSAGE=hello world\nPRIORITY=3\nSYSLOG_FACILITY=4\n"
                            "SYSLOG_IDENTIFIER=app\nSYSLOG_PID=77\nSYSLOG_TIMESTAMP=Jan  1 00:00:00\n"
                            "CODE_LINE=12\n";
    int rc;
    struct sl_native_counts c;
    struct sl_msg *m = parse(e, sizeof e - 1, &rc, &c);
    assert_int_equal(rc, 0);
    assert_str(m->msg, "hello world");
    assert_int_equal(m->severity, 3);
    assert_int_equal(m->facility, 4);
    assert_int_equal(m->pri, 35);
    assert_str(m->app_name, "app");
    assert_str(m->procid, "77");
    assert_str(m->timestamp, "Jan  1 00:00:00");
    assert_int_equal(m->nfields, 7);
    assert_field(m, "MESSAGE", "hello world", 11);
    assert_field(m, "CODE_LINE", "12", 2);
    assert_int_equal(m->raw.len, sizeof e - 1);
    assert_int_equal(c.forged, 0);
    assert_int_equal(c.dropped, 0);
    sl_msg_unref(m);
}

static void binary_form_newline_nul(void **state)
{
    (void)state;
    static const char e[] = "MESSAGE\n\x07\0\0\0\0\0\0\0a\nb\0c=d\nFOO=bar\n";
    int rc;
    struct sl_msg *m = parse(e, sizeof e - 1, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(m->msg.len, 7);
    assert_memory_equal(m->msg.p, "a\nb\0c=d", 7);
    assert_field(m, "MESSAGE", "a\nb\0c=d", 7);
    assert_field(m, "FOO", "bar", 3);
    assert_int_equal(m->severity, 6); /* no PRIORITY: user.info */
    assert_int_equal(m->facility, 1);
    sl_msg_unref(m);
}

static void forged_keys_ignored(void **state)
{
    (void)state;
    static const char e[] = "_PID=1\n_UID=0\nMESSAGE=x\n";
    int rc;
    struct sl_native_counts c;
    struct sl_msg *m = parse(e, sizeof e - 1, &rc, &c);
    assert_int_equal(rc, 0);
    assert_int_equal(c.forged, 2);
    assert_null(sl_msg_extra(m, "_PID", 4));
    assert_int_equal(m->nfields, 1);
    sl_msg_unref(m);
}

static void malformed(void **state)
{
    (void)state;
    static const struct {
        const char *e;
        size_t len;
    } cases[] = {
#define C(s) {s, sizeof s - 1}
        C("MESSAGE=no newline"),
        C("message=lower\n"),
        C("1KEY=digit first\n"),
        C("=empty key\n"),
        C("KEY-DASH=x\n"),
        C("MESSAGE\n\x03\0\0"),                          /* truncated length */
        C("MESSAGE\n\x09\0\0\0\0\0\0\0abc\n"),          /* length past the end */
        C("MESSAGE\n\x03\0\0\0\0\0\0\0abcX"),           /* no '\n' after the value */
        C("MESSAGE\n\xff\xff\xff\xff\xff\xff\xff\xff\n"), /* huge length */
        C("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=65\n"),
        C(""),
#undef C
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        assert_null(parse(cases[i].e, cases[i].len, &rc, NULL));
        assert_int_equal(rc, -EBADMSG);
    }
    /* the next good entry parses normally */
    int rc;
    struct sl_msg *m = parse("MESSAGE=ok\n", 11, &rc, NULL);
    assert_int_equal(rc, 0);
    sl_msg_unref(m);
}

/* An entry of n fields "F0=v\n" ...; its length in *len. Freed by the caller. */
static char *entry_of(size_t n, size_t *len)
{
    size_t cap = n * 16 + 1;
    char *e = malloc(cap);
    assert_non_null(e);
    *len = 0;
    for (size_t i = 0; i < n; i++)
        *len += (size_t)snprintf(e + *len, cap - *len, "F%zu=v\n", i);
    return e;
}

static void many_fields_first_kept(void **state)
{
    (void)state;
    size_t len, n = SL_NATIVE_MAX_FIELDS;
    char *e = entry_of(n, &len);
    int rc;
    struct sl_native_counts c;
    struct sl_msg *m = parse(e, len, &rc, &c);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nfields, SL_MSG_MAX_FIELDS);
    assert_int_equal(c.dropped, n - SL_MSG_MAX_FIELDS);
    assert_non_null(sl_msg_extra(m, "F0", 2));
    sl_msg_unref(m);
    free(e);
}

/* Past SL_NATIVE_MAX_FIELDS the entry is malformed: dropped whole. */
static void too_many_fields_malformed(void **state)
{
    (void)state;
    size_t sizes[] = {SL_NATIVE_MAX_FIELDS + 1, 100000};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *e = entry_of(sizes[i], &len);
        int rc;
        assert_null(parse(e, len, &rc, NULL));
        assert_int_equal(rc, -EBADMSG);
        free(e);
    }
}

static void key_rules(void **state)
{
    (void)state;
    assert_true(sl_native_key_ok("A_1", 3));
    assert_true(sl_native_key_ok("_PID", 4));
    assert_false(sl_native_key_ok("9A", 2));
    assert_false(sl_native_key_ok("a", 1));
    assert_false(sl_native_key_ok("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text_form_and_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_form_newline_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_keys_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(many_fields_first_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_fields_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(key_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
