/* SPDX-License-Identifier: MIT */
/* test_msg_codec.c: a message as bytes and back (core/output/msg_codec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/msg.h"
#include "output/msg_codec.h"
#include "parse/parse.h"

/* {=== helpers */
static void str_equal(struct sl_str a, struct sl_str b)
{
    assert_true((a.p == NULL) == (b.p == NULL)); /* NIL stays NIL, empty stays empty */
    assert_int_equal(a.len, b.len);
    if (a.len > 0)
        assert_memory_equal(a.p, b.p, a.len);
}

static void time_equal(const struct sl_time *a, const struct sl_time *b)
{
    assert_int_equal(a->sec, b->sec);
    assert_int_equal(a->nsec, b->nsec);
    assert_int_equal(a->tzoff_min, b->tzoff_min);
    assert_int_equal(a->frac_digits, b->frac_digits);
    assert_int_equal(a->flags, b->flags);
}

static void msg_equal(const struct sl_msg *a, const struct sl_msg *b)
{
    assert_int_equal(a->pri, b->pri);
    assert_int_equal(a->facility, b->facility);
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->format, b->format);
    assert_int_equal(a->flags, b->flags);
    str_equal(a->timestamp, b->timestamp);
    str_equal(a->hostname, b->hostname);
    str_equal(a->app_name, b->app_name);
    str_equal(a->procid, b->procid);
    str_equal(a->msgid, b->msgid);
    str_equal(a->sd, b->sd);
    str_equal(a->msg, b->msg);
    str_equal(a->raw, b->raw);
    str_equal(a->input, b->input);
    str_equal(a->peer, b->peer);
    time_equal(&a->ts, &b->ts);
    time_equal(&a->received, &b->received);
    assert_int_equal(a->pid, b->pid);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->nfields, b->nfields);
    for (uint32_t i = 0; i < a->nfields; i++) {
        str_equal(a->fields[i].key, b->fields[i].key);
        str_equal(a->fields[i].value, b->fields[i].value);
    }
}

static unsigned char *encode(const struct sl_msg *m, size_t *n)
{
    *n = sl_msg_encoded_size(m);
    assert_true(*n > 0);
    unsigned char *buf = malloc(*n);
    assert_non_null(buf);
    sl_msg_encode(m, buf, *n);
    return buf;
}

/* Encodes m, decodes it, compares, and checks the decoded one encodes to
 * the same bytes. Returns the encoding (the caller's). */
static unsigned char *round_trip(const struct sl_msg *m, size_t *n)
{
    unsigned char *buf = encode(m, n);
    struct sl_msg *d = NULL;
    assert_int_equal(sl_msg_decode(buf, *n, &d), 0);
    msg_equal(m, d);
    assert_null(d->chunk);
    assert_null(d->base);
    size_t n2;
    unsigned char *again = encode(d, &n2);
    assert_int_equal(n2, *n);
    assert_memory_equal(again, buf, *n);
    free(again);
    sl_msg_unref(d);
    return buf;
}

static struct sl_msg *parsed(const char *text)
{
    struct sl_msg *m = sl_msg_new_heap(text, strlen(text), "tcp");
    assert_non_null(m);
    struct sl_parse_ctx ctx = {.hostname = {"local", 5}, .now = 1065910455};
    sl_parse(m, &ctx);
    return m;
}
/* }=== */

static void rfc5424_round_trip(void **state)
{
    (void)state;
    struct sl_msg *m = parsed("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog "
                              "- ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] "
                              "\xEF\xBB\xBF" "An application event");
    assert_int_equal(m->format, SL_FMT_RFC5424);
    m->pid = 4242;
    m->uid = 1000;
    m->gid = 100;
    m->flags |= SL_MSG_HAS_CRED;
    m->peer = (struct sl_str){"10.0.0.1", 8};
    size_t n;
    free(round_trip(m, &n));
    /* the parsed spans are stored as offsets into raw, not copied again */
    assert_true(n < 2 * m->raw.len);
    sl_msg_unref(m);
}

/* VERSION takes three digits: its high byte is the header's byte 7, which
 * a record written before held as 0. */
static void three_digit_version_round_trip(void **state)
{
    (void)state;
    struct sl_msg *m = parsed("<14>999 - host app - - - three digits");
    assert_int_equal(m->version, 999);
    size_t n;
    unsigned char *buf = encode(m, &n);
    assert_int_equal(buf[4], 999 & 0xff);
    assert_int_equal(buf[7], 999 >> 8);
    free(buf);
    free(round_trip(m, &n));
    sl_msg_unref(m);
}

static void rfc3164_round_trip(void **state)
{
    (void)state;
    /* no hostname in the text: it comes from the context (not in raw) */
    struct sl_msg *m = parsed("<13>Oct 11 22:14:15 su[123]: 'su root' failed on /dev/pts/8");
    assert_int_equal(m->format, SL_FMT_RFC3164);
    size_t n;
    free(round_trip(m, &n));
    sl_msg_unref(m);
    m = parsed("not syslog at all");
    free(round_trip(m, &n));
    sl_msg_unref(m);
}

static void nil_and_empty_differ(void **state)
{
    (void)state;
    struct sl_msg *m = sl_msg_new_heap("", 0, "in");
    m->app_name = (struct sl_str){"", 0}; /* present, empty */
    m->procid = SL_STR_NIL;
    m->msg = SL_STR_NIL;
    m->ts = (struct sl_time){.sec = -5, .nsec = 999999999, .tzoff_min = -480,
                             .frac_digits = 9, .flags = SL_TIME_VALID | SL_TIME_HAS_TZ};
    size_t n;
    unsigned char *buf = round_trip(m, &n);
    struct sl_msg *d;
    assert_int_equal(sl_msg_decode(buf, n, &d), 0);
    assert_non_null(d->app_name.p);
    assert_int_equal(d->app_name.len, 0);
    assert_null(d->procid.p);
    assert_null(d->msg.p);
    sl_msg_unref(d);
    free(buf);
    sl_msg_unref(m);
}

static void fields_round_trip(void **state)
{
    (void)state;
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "journal");
    struct sl_msg_builder b;
    const char *text = "MESSAGE=hello";
    assert_int_equal(sl_msg_build_begin(&b, &pool, text, strlen(text), "peer", 4), 0);
    assert_int_equal(sl_msg_build_field(&b, "_PID", 4, "42", 2), 0);
    assert_int_equal(sl_msg_build_field(&b, "empty", 5, NULL, 0), 0);
    /* a field whose key and value are spans of raw */
    assert_int_equal(sl_msg_build_field(&b, b.m->raw.p, 7, b.m->raw.p + 8, 5), 0);
    struct sl_msg *m = sl_msg_build_end(&b);
    assert_int_equal(m->nfields, 3);
    size_t n;
    free(round_trip(m, &n));
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
}

/* A rewrite's fields point into its base, not its raw: encoded as the
 * self-contained message it is. */
static void rewrite_is_self_contained(void **state)
{
    (void)state;
    struct sl_msg *base = parsed("<14>1 2026-01-01T00:00:00Z h app 1 - - original text");
    struct sl_msg *m = sl_msg_new_heap("<14>1 2026-01-01T00:00:00Z h app 1 - - new", 42, "tcp");
    m->hostname = base->hostname; /* shared with the base */
    m->msg = (struct sl_str){"new", 3};
    m->flags |= SL_MSG_REWRITTEN;
    size_t n;
    unsigned char *buf = round_trip(m, &n);
    sl_msg_unref(m);
    sl_msg_unref(base); /* the decoded copy depends on neither */
    struct sl_msg *d;
    assert_int_equal(sl_msg_decode(buf, n, &d), 0);
    assert_memory_equal(d->hostname.p, "h", 1);
    assert_memory_equal(d->msg.p, "new", 3);
    sl_msg_unref(d);
    free(buf);
}

/* Every proper prefix and every extension by a byte is refused; every
 * altered byte either is refused or decodes to a message that re-encodes
 * to exactly the altered bytes (the form is canonical). */
static void truncated_and_altered(void **state)
{
    (void)state;
    struct sl_msg *m = parsed("<165>1 2003-10-11T22:14:15.003Z host app 77 ID [a@1 x=\"1\"] body");
    size_t n;
    unsigned char *buf = encode(m, &n);
    struct sl_msg *d;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(sl_msg_decode(buf, k, &d), -EINVAL);
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, buf, n);
    longer[n] = 0;
    assert_int_equal(sl_msg_decode(longer, n + 1, &d), -EINVAL);
    free(longer);
    size_t refused = 0;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (unsigned char)(1u << bit);
            if (sl_msg_decode(buf, n, &d) == 0) {
                size_t n2;
                unsigned char *again = encode(d, &n2);
                assert_int_equal(n2, n);
                assert_memory_equal(again, buf, n);
                free(again);
                sl_msg_unref(d);
            } else {
                refused++;
            }
            buf[i] ^= (unsigned char)(1u << bit);
        }
    }
    assert_true(refused > 0);
    free(buf);
    sl_msg_unref(m);
}

/* Hand-made inputs: each inconsistency named in msg_codec.h. */
static void inconsistent_refused(void **state)
{
    (void)state;
    struct sl_msg *m = sl_msg_new_heap("abc", 3, "in");
    size_t n;
    unsigned char *buf = encode(m, &n);
    struct sl_msg *d;
    assert_int_equal(sl_msg_decode(buf, n, &d), 0);
    sl_msg_unref(d);
    unsigned char *b2 = malloc(n + 64);
    /* version */
    memcpy(b2, buf, n);
    b2[0] = 2;
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    /* an RFC 5424 VERSION past 999 */
    memcpy(b2, buf, n);
    b2[4] = 0xe8;
    b2[7] = 3; /* 1000 */
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    /* facility 24, severity 8 */
    memcpy(b2, buf, n);
    b2[2] = 24;
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    memcpy(b2, buf, n);
    b2[3] = 8;
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    /* nfields past SL_MSG_MAX_FIELDS, and one field more than there is */
    memcpy(b2, buf, n);
    b2[52] = SL_MSG_MAX_FIELDS + 1;
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    b2[52] = 1;
    assert_int_equal(sl_msg_decode(b2, n, &d), -EINVAL);
    /* a field with a bad key: "a b" = "v" */
    memcpy(b2, buf, n);
    b2[52] = 1;
    unsigned char field[] = {1, 3, 0, 0, 0, 'a', ' ', 'b', 1, 1, 0, 0, 0, 'v'};
    memcpy(b2 + n, field, sizeof field);
    assert_int_equal(sl_msg_decode(b2, n + sizeof field, &d), -EINVAL);
    field[6] = '_';
    memcpy(b2 + n, field, sizeof field);
    assert_int_equal(sl_msg_decode(b2, n + sizeof field, &d), 0);
    assert_int_equal(d->nfields, 1);
    assert_memory_equal(d->fields[0].key.p, "a_b", 3);
    sl_msg_unref(d);
    /* a NIL key */
    unsigned char nilkey[] = {0, 0};
    memcpy(b2 + n, nilkey, sizeof nilkey);
    assert_int_equal(sl_msg_decode(b2, n + sizeof nilkey, &d), -EINVAL);
    /* a raw span past raw's end, an empty raw span, an unknown kind */
    unsigned char rawspan[] = {2, 2, 0, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0, 'v'};
    memcpy(b2 + n, rawspan, sizeof rawspan);
    assert_int_equal(sl_msg_decode(b2, n + sizeof rawspan, &d), -EINVAL);
    rawspan[1] = 0;
    rawspan[5] = 0;
    assert_int_equal(sl_msg_decode(b2, n + sizeof rawspan, &d), -EINVAL);
    rawspan[0] = 7;
    assert_int_equal(sl_msg_decode(b2, n + sizeof rawspan, &d), -EINVAL);
    free(b2);
    free(buf);
    sl_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc5424_round_trip),
        cmocka_unit_test(three_digit_version_round_trip),
        cmocka_unit_test(rfc3164_round_trip),
        cmocka_unit_test(nil_and_empty_differ),
        cmocka_unit_test(fields_round_trip),
        cmocka_unit_test(rewrite_is_self_contained),
        cmocka_unit_test(truncated_and_altered),
        cmocka_unit_test(inconsistent_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
