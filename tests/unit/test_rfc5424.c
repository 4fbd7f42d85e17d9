/* SPDX-License-Identifier: MIT */
/*
 * test_rfc5424.c: the RFC 5424 parser, from the RFC's text: the examples of
 * 6.2.3.1, 6.3.5 and 6.5, every field limit at the limit and one past it,
 * timestamps, STRUCTURED-DATA escapes, BOM, NILVALUEs, truncation at every
 * byte, and the SD iterator. Table rows run as tests of their own.
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

#include "table.h"

#include "parse/parse.h"

#define BOM "\xEF\xBB\xBF"
/* Marks an expected field as NILVALUE (p == NULL), as opposed to "". */
#define NIL NULL

/* {=== helpers */

/* A heap message holding exactly len bytes: ASan sees any read past them. */
static struct sl_msg *parse_n(const char *s, size_t len, int *rc)
{
    struct sl_msg *m = sl_msg_new_heap(s, len, "test");
    assert_non_null(m);
    *rc = sl_parse_rfc5424(m);
    return m;
}

static struct sl_msg *parse(const char *s, int *rc)
{
    return parse_n(s, strlen(s), rc);
}

static void assert_field(struct sl_str got, const char *want, const char *what)
{
    if (want == NIL) {
        if (got.p != NULL)
            fail_msg("%s: want NIL, got \"%.*s\"", what, (int)got.len, got.p);
        return;
    }
    if (got.p == NULL)
        fail_msg("%s: want \"%s\", got NIL", what, want);
    if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
        fail_msg("%s: want \"%s\", got \"%.*s\"", what, want, (int)got.len, got.p);
}

static void assert_inside(const struct sl_msg *m, struct sl_str s)
{
    if (s.p == NULL)
        return;
    assert_true(s.p >= m->raw.p);
    assert_true(s.p + s.len <= m->raw.p + m->raw.len);
}

static void assert_spans_inside(const struct sl_msg *m)
{
    assert_inside(m, m->timestamp);
    assert_inside(m, m->hostname);
    assert_inside(m, m->app_name);
    assert_inside(m, m->procid);
    assert_inside(m, m->msgid);
    assert_inside(m, m->sd);
    assert_inside(m, m->msg);
}

/* }=== */

/* {=== valid messages */
struct valid_case {
    const char *name;
    const char *in;
    int pri, version;
    const char *timestamp, *hostname, *app_name, *procid, *msgid, *sd, *msg;
    bool bom;
};

#define EX_SD "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
#define EX_SD2 "[examplePriority@32473 class=\"high\"]"

static const struct valid_case valid_cases[] = {
    {"rfc_6.5_example1_bom", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
     BOM "'su root' failed for lonvick on /dev/pts/8", 34, 1, "2003-10-11T22:14:15.003Z",
     "mymachine.example.com", "su", NIL, "ID47", NIL,
     "'su root' failed for lonvick on /dev/pts/8", true},
    {"rfc_6.5_example2_no_bom", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
     "%% It's time to make the do-nuts.", 165, 1, "2003-08-24T05:14:15.000003-07:00", "192.0.2.1",
     "myproc", "8710", NIL, NIL, "%% It's time to make the do-nuts.", false},
    {"rfc_6.5_example3_sd_and_msg", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - "
     "ID47 " EX_SD " " BOM "An application event log entry...", 165, 1, "2003-10-11T22:14:15.003Z",
     "mymachine.example.com", "evntslog", NIL, "ID47", EX_SD, "An application event log entry...",
     true},
    {"rfc_6.5_example4_sd_only", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - "
     "ID47 " EX_SD EX_SD2, 165, 1, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog",
     NIL, "ID47", EX_SD EX_SD2, NIL, false},
    {"rfc_6.3.5_sp_between_elements_starts_msg", "<165>1 2003-10-11T22:14:15.003Z h a - ID47 "
     EX_SD " " EX_SD2, 165, 1, "2003-10-11T22:14:15.003Z", "h", "a", NIL, "ID47", EX_SD, EX_SD2, false},
    {"all_nil_no_msg", "<13>1 - - - - - -", 13, 1, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"all_nil_empty_msg", "<13>1 - - - - - - ", 13, 1, NIL, NIL, NIL, NIL, NIL, NIL, "", false},
    {"msg_keeps_extra_leading_sp", "<13>1 - - - - - -   x", 13, 1, NIL, NIL, NIL, NIL, NIL, NIL,
     "  x", false},
    {"bom_only_msg", "<13>1 - - - - - - " BOM, 13, 1, NIL, NIL, NIL, NIL, NIL, NIL, "", true},
    {"bom_not_at_start_kept", "<13>1 - - - - - - a" BOM, 13, 1, NIL, NIL, NIL, NIL, NIL, NIL,
     "a" BOM, false},
    {"partial_bom_kept", "<13>1 - - - - - - \xEF\xBBx", 13, 1, NIL, NIL, NIL, NIL, NIL, NIL,
     "\xEF\xBBx", false},
    {"msg_any_octets", "<13>1 - - - - - - \xff\xfe\x01\n", 13, 1, NIL, NIL, NIL, NIL, NIL, NIL,
     "\xff\xfe\x01\n", false},
    {"pri_0", "<0>1 - - - - - -", 0, 1, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"pri_191", "<191>1 - - - - - -", 191, 1, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"version_2_digits", "<13>12 - - - - - -", 13, 12, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"version_3_digits", "<13>100 - - - - - -", 13, 100, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"version_999", "<13>999 - - - - - -", 13, 999, NIL, NIL, NIL, NIL, NIL, NIL, NIL, false},
    {"dash_led_fields_are_not_nil", "<13>1 - -h -a -p -m -", 13, 1, NIL, "-h", "-a", "-p", "-m",
     NIL, NIL, false},
    {"double_dash_is_a_value", "<13>1 - -- -- -- -- -", 13, 1, NIL, "--", "--", "--", "--", NIL,
     NIL, false},
    {"hostname_with_slash_and_colons", "<13>1 - h1/h2 a b c -", 13, 1, NIL, "h1/h2", "a", "b", "c",
     NIL, NIL, false},
    {"ipv6_hostname", "<13>1 - 2001:db8::1 a - - -", 13, 1, NIL, "2001:db8::1", "a", NIL, NIL, NIL,
     NIL, false},
    {"sd_id_only", "<13>1 - h a p m [sdid] text", 13, 1, NIL, "h", "a", "p", "m", "[sdid]", "text",
     false},
    {"sd_escapes", "<13>1 - - - - - [x@1 a=\"q\\\"b\\\\s\\]e\"]", 13, 1, NIL, NIL, NIL, NIL, NIL,
     "[x@1 a=\"q\\\"b\\\\s\\]e\"]", NIL, false},
    {"sd_other_backslash_is_literal", "<13>1 - - - - - [x@1 a=\"\\n\\a\"]", 13, 1, NIL, NIL, NIL,
     NIL, NIL, "[x@1 a=\"\\n\\a\"]", NIL, false},
    {"sd_empty_value", "<13>1 - - - - - [x@1 a=\"\"]", 13, 1, NIL, NIL, NIL, NIL, NIL,
     "[x@1 a=\"\"]", NIL, false},
    {"sd_value_with_sp_tab_utf8", "<13>1 - - - - - [x@1 a=\" \t\xc3\xa9 \"] m", 13, 1, NIL, NIL,
     NIL, NIL, NIL, "[x@1 a=\" \t\xc3\xa9 \"]", "m", false},
    {"sd_duplicate_ids_accepted", "<13>1 - - - - - [a][a]", 13, 1, NIL, NIL, NIL, NIL, NIL,
     "[a][a]", NIL, false},
    {"sd_then_msg_with_brackets", "<13>1 - - - - - [a] [b] c", 13, 1, NIL, NIL, NIL, NIL, NIL,
     "[a]", "[b] c", false},
};

static void test_valid(void **state)
{
    const struct valid_case *c = *state;
    int rc;
    struct sl_msg *m = parse(c->in, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    assert_int_equal(m->pri, c->pri);
    assert_int_equal(m->facility, c->pri / 8);
    assert_int_equal(m->severity, c->pri % 8);
    assert_int_equal(m->version, c->version);
    assert_field(m->timestamp, c->timestamp, "timestamp");
    assert_field(m->hostname, c->hostname, "hostname");
    assert_field(m->app_name, c->app_name, "app_name");
    assert_field(m->procid, c->procid, "procid");
    assert_field(m->msgid, c->msgid, "msgid");
    assert_field(m->sd, c->sd, "sd");
    assert_field(m->msg, c->msg, "msg");
    assert_int_equal((m->flags & SL_MSG_BOM) != 0, c->bom);
    assert_spans_inside(m);
    sl_msg_unref(m);
}
/* }=== */

/* {=== invalid messages */
struct invalid_case {
    const char *name;
    const char *in;
};

static const struct invalid_case invalid_cases[] = {
    {"empty", ""},
    {"no_pri", "1 - - - - - -"},
    {"pri_192", "<192>1 - - - - - -"},
    {"pri_999", "<999>1 - - - - - -"},
    {"pri_4_digits", "<1000>1 - - - - - -"},
    {"pri_leading_zero", "<013>1 - - - - - -"},
    {"pri_00", "<00>1 - - - - - -"},
    {"pri_empty", "<>1 - - - - - -"},
    {"pri_alpha", "<ab>1 - - - - - -"},
    {"pri_negative", "<-1>1 - - - - - -"},
    {"pri_unclosed", "<13 1 - - - - - -"},
    {"pri_paren", "(13)1 - - - - - -"},
    {"version_missing", "<13> - - - - - -"},
    {"version_0", "<13>0 - - - - - -"},
    {"version_leading_zero", "<13>01 - - - - - -"},
    {"version_4_digits", "<13>1000 - - - - - -"},
    {"version_alpha", "<13>1a - - - - - -"},
    {"version_no_sp", "<13>1"},
    {"nil_ts_no_sp", "<13>1 -- - - - - -"},
    {"two_sp_after_version", "<13>1  - - - - - -"},
    {"hostname_missing", "<13>1 - "},
    {"hostname_lf", "<13>1 - ho\nst - - - -"},
    {"hostname_empty_two_sp", "<13>1 -  a - - -"},
    {"hostname_non_ascii", "<13>1 - h\xc3\xa9 - - - -"},
    {"app_name_tab", "<13>1 - - a\tb - - -"},
    {"procid_lf", "<13>1 - - - p\nid - -"},
    {"msgid_lf", "<13>1 - - - - m\nid -"},
    {"msgid_del", "<13>1 - - - - m\x7f -"},
    {"sd_missing", "<13>1 - - - - -"},
    {"sd_missing_after_sp", "<13>1 - - - - - "},
    {"sd_not_bracket", "<13>1 - - - - x"},
    {"sd_nil_then_lf", "<13>1 - - - - -\nmsg"},
    {"sd_lf_then_message", "<1>1 - - - - - -\n\t\t<2>1 - - - - - -"},
    {"sd_unclosed", "<13>1 - - - - [a"},
    {"sd_empty_id", "<13>1 - - - - []"},
    {"sd_sp_before_id", "<13>1 - - - - [ a]"},
    {"sd_sp_before_close", "<13>1 - - - - [a ]"},
    {"sd_two_sp_between_params", "<13>1 - - - - [a b=\"1\"  c=\"2\"]"},
    {"sd_id_with_quote", "<13>1 - - - - [a\"b]"},
    {"sd_id_with_equals", "<13>1 - - - - [a=b]"},
    {"sd_param_no_value", "<13>1 - - - - [a b]"},
    {"sd_param_no_equals", "<13>1 - - - - [a b\"1\"]"},
    {"sd_param_empty_name", "<13>1 - - - - [a =\"1\"]"},
    {"sd_value_unquoted", "<13>1 - - - - [a b=1]"},
    {"sd_value_sp_after_equals", "<13>1 - - - - [a b= \"1\"]"},
    {"sd_value_unterminated", "<13>1 - - - - [a b=\"1]"},
    {"sd_value_unescaped_rbracket", "<13>1 - - - - [a b=\"]\"]"},
    {"sd_value_unescaped_rbracket_mid", "<13>1 - - - - [a b=\"p]q\"]"},
    {"sd_value_unescaped_quote", "<13>1 - - - - [a b=\"\"\"]"},
    {"sd_value_lone_backslash", "<13>1 - - - - [a b=\"\\\"]"},
    {"sd_value_trailing_backslash", "<13>1 - - - - [a b=\"x\\\"]"},
    {"sd_no_sp_before_param", "<13>1 - - - - [a b=\"1\"c=\"2\"]"},
    {"sd_junk_after_element", "<13>1 - - - - [a]x"},
    {"sd_nil_then_junk", "<13>1 - - - - -x"},
};

static void test_invalid(void **state)
{
    const struct invalid_case *c = *state;
    int rc;
    struct sl_msg *m = parse(c->in, &rc);
    assert_int_equal(rc, -EINVAL);
    sl_msg_unref(m);
}
/* }=== */

/* {=== TIMESTAMP values: "<13>1 TS - - - - -" */
struct ts_case {
    const char *name;
    const char *ts;
    int64_t sec;
    int32_t nsec;
    int16_t tzoff;
    uint8_t frac, flags;
};

#define TZ (SL_TIME_VALID | SL_TIME_HAS_TZ)
#define ZULU (TZ | SL_TIME_ZULU)

static const struct ts_case ts_cases[] = {
    /* RFC 5424 6.2.3.1 examples 1 to 4 (RFC 3339's first two are 5424's 1, 2). */
    {"rfc_ex1_zulu_centiseconds", "1985-04-12T23:20:50.52Z", 482196050, 520000000, 0, 2, ZULU},
    {"rfc_ex2_negative_offset", "1985-04-12T19:20:50.52-04:00", 482196050, 520000000, -240, 2, TZ},
    {"rfc_ex3_milliseconds", "2003-10-11T22:14:15.003Z", 1065910455, 3000000, 0, 3, ZULU},
    {"rfc_ex4_microseconds", "2003-08-24T05:14:15.000003-07:00", 1061727255, 3000, -420, 6, TZ},
    /* RFC example 5 (9 digits) is invalid by the RFC; we accept it (see the parser). */
    {"nanoseconds_accepted", "2003-08-24T05:14:15.000000003-07:00", 1061727255, 3, -420, 9, TZ},
    {"no_fraction", "2003-10-11T22:14:15Z", 1065910455, 0, 0, 0, ZULU},
    {"epoch", "1970-01-01T00:00:00Z", 0, 0, 0, 0, ZULU},
    {"before_epoch", "1969-12-31T23:59:59Z", -1, 0, 0, 0, ZULU},
    {"plus_offset_max", "2018-12-31T23:59:59.999999+23:59", 1546300799 - 1439 * 60, 999999000,
     1439, 6, TZ},
    {"minus_offset_max", "2018-12-31T23:59:59-23:59", 1546300799 + 1439 * 60, 0, -1439, 0, TZ},
    {"plus_zero_not_zulu", "2000-01-01T00:00:00+00:00", 946684800, 0, 0, 0, TZ},
    {"leap_day_2000", "2000-02-29T12:00:00Z", 951825600, 0, 0, 0, ZULU},
    {"leap_day_2024", "2024-02-29T00:00:00Z", 1709164800, 0, 0, 0, ZULU},
    {"year_2038_plus", "2100-03-01T00:00:00Z", 4107542400, 0, 0, 0, ZULU},
};

static struct sl_msg *parse_ts(const char *ts, int *rc)
{
    char buf[256];
    snprintf(buf, sizeof buf, "<13>1 %s - - - - -", ts);
    return parse(buf, rc);
}

static void test_ts(void **state)
{
    const struct ts_case *c = *state;
    int rc;
    struct sl_msg *m = parse_ts(c->ts, &rc);
    assert_int_equal(rc, 0);
    assert_field(m->timestamp, c->ts, "timestamp");
    assert_int_equal(m->ts.sec, c->sec);
    assert_int_equal(m->ts.nsec, c->nsec);
    assert_int_equal(m->ts.tzoff_min, c->tzoff);
    assert_int_equal(m->ts.frac_digits, c->frac);
    assert_int_equal(m->ts.flags, c->flags);
    sl_msg_unref(m);
}

static const struct invalid_case bad_ts_cases[] = {
    {"lower_t", "2003-10-11t22:14:15Z"},
    {"lower_z", "2003-10-11T22:14:15z"},
    {"sp_for_t", "2003-10-11 22:14:15Z"},
    {"no_offset", "2003-10-11T22:14:15"},
    {"frac_10_digits", "2003-10-11T22:14:15.0000000001Z"},
    {"frac_empty", "2003-10-11T22:14:15.Z"},
    {"frac_dot_at_end", "2003-10-11T22:14:15."},
    {"year_3_digits", "203-10-11T22:14:15Z"},
    {"month_0", "2003-00-11T22:14:15Z"},
    {"month_13", "2003-13-11T22:14:15Z"},
    {"month_3_digits", "2003-112-11T22:14:15Z"},
    {"day_0", "2003-10-00T22:14:15Z"},
    {"day_32", "2003-10-32T22:14:15Z"},
    {"sep_31", "2003-09-31T22:14:15Z"},
    {"feb_29_non_leap", "2018-02-29T22:14:15Z"},
    {"feb_29_1900", "1900-02-29T22:14:15Z"},
    {"hour_24", "2003-10-11T24:00:00Z"},
    {"minute_60", "2003-10-11T22:60:15Z"},
    {"second_60_leap", "2016-12-31T23:59:60Z"},
    {"offset_hour_24", "2003-10-11T22:14:15+24:00"},
    {"offset_minute_60", "2003-10-11T22:14:15-07:60"},
    {"offset_no_colon", "2003-10-11T22:14:15+0700"},
    {"offset_short", "2003-10-11T22:14:15+07"},
    {"junk_after_offset", "2003-10-11T22:14:15ZZ"},
    {"date_only", "2003-10-11"},
    {"time_missing_seconds", "2003-10-11T22:14Z"},
    {"letter", "A"},
};

static void test_bad_ts(void **state)
{
    const struct invalid_case *c = *state;
    int rc;
    struct sl_msg *m = parse_ts(c->in, &rc);
    assert_int_equal(rc, -EINVAL);
    sl_msg_unref(m);
}
/* }=== */

/* {=== field limits: at the limit and one past it */
enum field { F_HOST, F_APP, F_PROCID, F_MSGID, F_SDID, F_PARAM, F_FRAC };

struct limit_case {
    const char *name;
    enum field field;
    size_t len;
    bool ok;
};

static const struct limit_case limit_cases[] = {
    {"hostname_255", F_HOST, 255, true},   {"hostname_256", F_HOST, 256, false},
    {"app_name_48", F_APP, 48, true},      {"app_name_49", F_APP, 49, false},
    {"procid_128", F_PROCID, 128, true},   {"procid_129", F_PROCID, 129, false},
    {"msgid_32", F_MSGID, 32, true},       {"msgid_33", F_MSGID, 33, false},
    {"sd_id_32", F_SDID, 32, true},        {"sd_id_33", F_SDID, 33, false},
    {"param_name_32", F_PARAM, 32, true},  {"param_name_33", F_PARAM, 33, false},
    {"frac_1", F_FRAC, 1, true},           {"frac_6_rfc_max", F_FRAC, 6, true},
    {"frac_9_our_max", F_FRAC, 9, true},   {"frac_10", F_FRAC, 10, false},
};

static void test_limit(void **state)
{
    const struct limit_case *c = *state;
    char v[300], buf[512];
    memset(v, c->field == F_FRAC ? '7' : 'x', c->len);
    v[c->len] = '\0';
    const char *fmt[] = {
        [F_HOST] = "<13>1 - %s - - - -",      [F_APP] = "<13>1 - - %s - - -",
        [F_PROCID] = "<13>1 - - - %s - -",    [F_MSGID] = "<13>1 - - - - %s -",
        [F_SDID] = "<13>1 - - - - - [%s]",     [F_PARAM] = "<13>1 - - - - - [a %s=\"v\"]",
        [F_FRAC] = "<13>1 2020-01-01T00:00:00.%sZ - - - - -",
    };
    snprintf(buf, sizeof buf, fmt[c->field], v);
    int rc;
    struct sl_msg *m = parse(buf, &rc);
    assert_int_equal(rc, c->ok ? 0 : -EINVAL);
    if (c->ok) {
        struct sl_str f[] = {[F_HOST] = m->hostname, [F_APP] = m->app_name,
                             [F_PROCID] = m->procid, [F_MSGID] = m->msgid};
        if (c->field <= F_MSGID)
            assert_field(f[c->field], v, "field");
        if (c->field == F_FRAC)
            assert_int_equal(m->ts.frac_digits, c->len);
    }
    sl_msg_unref(m);
}
/* }=== */

/* {=== truncation: every prefix of the RFC examples, in a buffer of exactly
 * that size. Only the prefixes ending where the grammar may end parse. */
static void check_prefixes(const char *s)
{
    size_t len = strlen(s);
    for (size_t n = 0; n <= len; n++) {
        int rc;
        struct sl_msg *m = parse_n(s, n, &rc);
        if (rc == 0)
            assert_spans_inside(m);
        else
            assert_int_equal(rc, -EINVAL);
        sl_msg_unref(m);
    }
}

static void test_truncated_example1(void **state)
{
    check_prefixes("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " BOM
                   "'su root' failed");
}

static void test_truncated_example4(void **state)
{
    const char *s = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                    EX_SD EX_SD2;
    check_prefixes(s);
    /* Cut one byte short of the final ']': not a message. */
    int rc;
    struct sl_msg *m = parse_n(s, strlen(s) - 1, &rc);
    assert_int_equal(rc, -EINVAL);
    sl_msg_unref(m);
}

static void test_truncated_escapes(void **state)
{
    check_prefixes("<13>12 2003-08-24T05:14:15.000003-07:00 h a p m [x@1 a=\"\\\"\\\\\\]\"] m");
}

static void test_truncated_counts(void **state)
{
    /* Of all prefixes of "<13>1 - - - - - - x", exactly these parse:
     * "... -" (no MSG), "... - " (empty MSG), "... - x". */
    const char *s = "<13>1 - - - - - - x";
    int ok = 0;
    for (size_t n = 0; n <= strlen(s); n++) {
        int rc;
        struct sl_msg *m = parse_n(s, n, &rc);
        ok += rc == 0;
        sl_msg_unref(m);
    }
    assert_int_equal(ok, 3);
}
/* }=== */

/* {=== the SD iterator and unescape */
static void test_sd_iter_example(void **state)
{
    int rc;
    struct sl_msg *m = parse("<165>1 - - - - - " EX_SD EX_SD2, &rc);
    assert_int_equal(rc, 0);
    struct sl_sd_iter it;
    struct sl_str id, n, v;
    sl_sd_iter_init(&it, m->sd);
    assert_true(sl_sd_next_element(&it, &id));
    assert_field(id, "exampleSDID@32473", "id");
    const char *want[][2] = {{"iut", "3"}, {"eventSource", "Application"}, {"eventID", "1011"}};
    for (int i = 0; i < 3; i++) {
        assert_true(sl_sd_next_param(&it, &n, &v));
        assert_field(n, want[i][0], "name");
        assert_field(v, want[i][1], "value");
    }
    assert_false(sl_sd_next_param(&it, &n, &v));
    assert_true(sl_sd_next_element(&it, &id));
    assert_field(id, "examplePriority@32473", "id");
    assert_true(sl_sd_next_param(&it, &n, &v));
    assert_field(n, "class", "name");
    assert_field(v, "high", "value");
    assert_false(sl_sd_next_param(&it, &n, &v));
    assert_false(sl_sd_next_element(&it, &id));
    assert_false(sl_sd_next_element(&it, &id));
    sl_msg_unref(m);
}

static void test_sd_iter_skips_unread_params(void **state)
{
    int rc;
    struct sl_msg *m = parse("<13>1 - - - - - [a x=\"1\" y=\"]\\]\"][b][c z=\"\"]", &rc);
    assert_int_equal(rc, -EINVAL); /* the unescaped ']' */
    sl_msg_unref(m);
    m = parse("<13>1 - - - - - [a x=\"1\" y=\"\\]\\\"\"][b][c z=\"\"]", &rc);
    assert_int_equal(rc, 0);
    struct sl_sd_iter it;
    struct sl_str id, n, v;
    sl_sd_iter_init(&it, m->sd);
    assert_true(sl_sd_next_element(&it, &id));
    assert_field(id, "a", "id");
    /* Move on without reading a's params: the escaped ] and " must not end it. */
    assert_true(sl_sd_next_element(&it, &id));
    assert_field(id, "b", "id");
    assert_false(sl_sd_next_param(&it, &n, &v));
    assert_true(sl_sd_next_element(&it, &id));
    assert_field(id, "c", "id");
    assert_true(sl_sd_next_param(&it, &n, &v));
    assert_field(n, "z", "name");
    assert_field(v, "", "value");
    assert_false(sl_sd_next_element(&it, &id));
    sl_msg_unref(m);
}

static void test_sd_iter_nil(void **state)
{
    struct sl_sd_iter it;
    struct sl_str id, n, v;
    sl_sd_iter_init(&it, SL_STR_NIL);
    assert_false(sl_sd_next_element(&it, &id));
    assert_false(sl_sd_next_param(&it, &n, &v));
}

static void test_sd_iter_unvalidated_stays_inside(void **state)
{
    /* The iterator is for validated text, but must stop, not overrun,
     * on anything else. Each text sits in a buffer of exactly its size. */
    const char *texts[] = {"[", "[a", "[a b", "[a b=", "[a b=\"", "[a b=\"\\", "x", "[a]x",
                           "[a b=\"1\"", "[a b=1]", "[a  b=\"1\"]"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = strlen(texts[i]);
        char *buf = malloc(len);
        assert_non_null(buf);
        memcpy(buf, texts[i], len);
        struct sl_sd_iter it;
        struct sl_str id, n, v;
        sl_sd_iter_init(&it, (struct sl_str){buf, (uint32_t)len});
        int steps = 0;
        while (sl_sd_next_element(&it, &id) && steps++ < 10) {
            assert_true(id.p >= buf && id.p + id.len <= buf + len);
            while (sl_sd_next_param(&it, &n, &v) && steps++ < 10)
                assert_true(v.p >= buf && v.p + v.len <= buf + len);
        }
        assert_true(steps < 10);
        free(buf);
    }
}

static void test_sd_unescape(void **state)
{
    int rc;
    struct sl_msg *m = parse("<13>1 - - - - - [x@1 a=\"\\]\\\"\\\\\\\\\\]\\\"\" b=\"c:\\\\dir\\n\"]", &rc);
    assert_int_equal(rc, 0);
    struct sl_sd_iter it;
    struct sl_str id, n, v;
    char out[64];
    sl_sd_iter_init(&it, m->sd);
    assert_true(sl_sd_next_element(&it, &id));
    assert_true(sl_sd_next_param(&it, &n, &v));
    size_t len = sl_sd_unescape(v, out);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "]\"\\\\]\"", 6);
    assert_true(sl_sd_next_param(&it, &n, &v));
    len = sl_sd_unescape(v, out);
    /* \\ becomes one backslash; \n is not an escape and stays two bytes. */
    assert_int_equal(len, 8);
    assert_memory_equal(out, "c:\\dir\\n", 8);
    sl_msg_unref(m);
}

static void test_sd_unescape_edges(void **state)
{
    char out[8];
    assert_int_equal(sl_sd_unescape((struct sl_str){"", 0}, out), 0);
    /* A trailing lone backslash is copied. */
    assert_int_equal(sl_sd_unescape((struct sl_str){"a\\", 2}, out), 2);
    assert_memory_equal(out, "a\\", 2);
    assert_int_equal(sl_sd_unescape((struct sl_str){"\\\\\\\"", 4}, out), 2);
    assert_memory_equal(out, "\\\"", 2);
}
/* }=== */

/* {=== reparsing, flags and detection through sl_parse */
static void test_reparse_clears_fields(void **state)
{
    int rc;
    struct sl_msg *m = parse("<13>1 2003-10-11T22:14:15Z h a p m [a] " BOM "x", &rc);
    assert_int_equal(rc, 0);
    assert_true(m->flags & SL_MSG_BOM);
    /* Point the same message at other bytes: nothing of the first parse stays. */
    m->raw = (struct sl_str){"<14>1 - - - - - -", 17};
    assert_int_equal(sl_parse_rfc5424(m), 0);
    assert_false(m->flags & SL_MSG_BOM);
    assert_null(m->timestamp.p);
    assert_int_equal(m->ts.flags, 0);
    assert_null(m->hostname.p);
    assert_null(m->sd.p);
    assert_null(m->msg.p);
    m->raw = (struct sl_str){NULL, 0};
    assert_int_equal(sl_parse_rfc5424(m), -EINVAL);
    sl_msg_unref(m);
}

static void test_sl_parse_detects_5424(void **state)
{
    const char *s = "<165>1 2003-10-11T22:14:15.003Z host app 1 ID [a] hi";
    struct sl_msg *m = sl_msg_new_heap(s, strlen(s), "test");
    struct sl_parse_ctx ctx = {.hostname = {"local", 5}, .now = 1065910455};
    assert_int_equal(sl_parse(m, &ctx), 0);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    assert_field(m->hostname, "host", "hostname");
    assert_field(m->msg, "hi", "msg");
    assert_false(m->flags & SL_MSG_PARSE_ERROR);
    sl_msg_unref(m);
}

static void test_sl_parse_broken_5424_falls_back(void **state)
{
    const char *s = "<165>1 2003-10-11T22:14:15.003Z host app 1 ID [a b=\"]\"] hi";
    struct sl_msg *m = sl_msg_new_heap(s, strlen(s), "test");
    struct sl_parse_ctx ctx = {.hostname = {"local", 5}, .now = 1065910455};
    assert_int_equal(sl_parse(m, &ctx), -EINVAL);
    assert_int_equal(m->format, SL_FMT_UNPARSED);
    assert_true(m->flags & SL_MSG_PARSE_ERROR);
    assert_int_equal(m->facility, 1);
    assert_int_equal(m->severity, 5);
    assert_int_equal(m->pri, 13);
    assert_ptr_equal(m->msg.p, m->raw.p);
    assert_int_equal(m->msg.len, m->raw.len);
    assert_null(m->hostname.p);
    assert_null(m->timestamp.p);
    assert_int_equal(m->ts.flags, 0);
    sl_msg_unref(m);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_example1),
        cmocka_unit_test(test_truncated_example4),
        cmocka_unit_test(test_truncated_escapes),
        cmocka_unit_test(test_truncated_counts),
        cmocka_unit_test(test_sd_iter_example),
        cmocka_unit_test(test_sd_iter_skips_unread_params),
        cmocka_unit_test(test_sd_iter_nil),
        cmocka_unit_test(test_sd_iter_unvalidated_stays_inside),
        cmocka_unit_test(test_sd_unescape),
        cmocka_unit_test(test_sd_unescape_edges),
        cmocka_unit_test(test_reparse_clears_fields),
        cmocka_unit_test(test_sl_parse_detects_5424),
        cmocka_unit_test(test_sl_parse_broken_5424_falls_back),
    };
#define ROWS(group, fn, table) \
    run_rows(group, fn, table, sizeof table[0], sizeof table / sizeof table[0])
    int failed = cmocka_run_group_tests_name("rfc5424", tests, NULL, NULL);
    failed += ROWS("rfc5424_valid", test_valid, valid_cases);
    failed += ROWS("rfc5424_invalid", test_invalid, invalid_cases);
    failed += ROWS("rfc5424_timestamp", test_ts, ts_cases);
    failed += ROWS("rfc5424_bad_timestamp", test_bad_ts, bad_ts_cases);
    failed += ROWS("rfc5424_limits", test_limit, limit_cases);
    return failed != 0;
}
