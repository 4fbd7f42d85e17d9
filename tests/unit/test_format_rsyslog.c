/* SPDX-License-Identifier: MIT */
/* test_format_rsyslog.c: the formats that write what rsyslog writes
 * ("rsyslog" = RSYSLOG_FileFormat, "rfc3164" = RSYSLOG_TraditionalFileFormat)
 * and the {tag} template field (core/format/format.c, template.c). The
 * expected lines are what rsyslogd 8.2302 (Debian 12) wrote for the same
 * input; tests/integration/test_rsyslog_bytes.py compares against the real
 * daemon. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "format/format.h"
#include "parse/parse.h"

/* 2026-12-03T12:00:00Z: "now" for RFC 3164's year-less timestamps. */
#define NOW 1796299200

/* {=== helpers */
static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int setup_utc(void **state)
{
    (void)state;
    set_tz("UTC");
    return 0;
}

static int setup_berlin(void **state)
{
    (void)state;
    set_tz("Europe/Berlin");
    return 0;
}

/* Parses raw as an input would, at NOW, in the offset TZ gives then. */
static struct sl_msg *parse_len(const char *raw, size_t len)
{
    struct sl_msg *m = sl_msg_new_heap(raw, len, "test");
    assert_non_null(m);
    time_t now = NOW;
    struct tm tm;
    localtime_r(&now, &tm);
    struct sl_parse_ctx ctx = {.hostname = {"myhost", 6}, .now = NOW,
                               .tzoff_min = (int)(tm.tm_gmtoff / 60)};
    sl_parse(m, &ctx);
    m->received = (struct sl_time){.sec = NOW, .nsec = 123456000, .frac_digits = 6,
                                   .flags = SL_TIME_VALID};
    return m;
}

static struct sl_msg *parse(const char *raw)
{
    return parse_len(raw, strlen(raw));
}

/* Checks the line `spec` writes for raw, without its '\n'. */
static void expect(const char *spec, const char *raw, const char *want)
{
    struct sl_msg *m = parse(raw);
    struct sl_format *f = NULL;
    char err[256] = "";
    struct sluice_buf b = {0};
    assert_int_equal(sl_format_new(spec, &f, err, sizeof err), 0);
    assert_int_equal(sl_format_append(f, m, &b), 0);
    assert_true(b.len > 0);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_null(memchr(b.data, '\n', b.len - 1));
    b.data[b.len - 1] = '\0';
    assert_string_equal(b.data, want);
    free(b.data);
    sl_format_free(f);
    sl_msg_unref(m);
}
/* }=== */

/* {=== {tag} */
static void test_tag_3164_as_sent(void **state)
{
    (void)state;
    expect("{tag}", "<13>Dec  3 10:00:00 host1 prog[123]: hi", "prog[123]:");
    expect("{tag}", "<13>Dec  3 10:00:00 host1 prog: hi", "prog:");
    expect("{tag}", "<13>Dec  3 10:00:00 host1 prog:hi", "prog:");
    /* A TAG ended by a space has no colon, and the space is the message's. */
    expect("{tag}", "<13>Dec  3 10:00:00 host1 prog hi", "prog");
    expect("{tag}", "<13>Dec  3 10:00:00 host1 prog[]: hi", "prog[]:");
    expect("{tag}|{msg}", "<13>Dec  3 10:00:00 host1 prog[1]:  two", "prog[1]:| two");
}

static void test_tag_5424(void **state)
{
    (void)state;
    expect("{tag}", "<165>1 2026-12-03T10:00:02Z h app 42 - - m", "app[42]");
    expect("{tag}", "<165>1 2026-12-03T10:00:02Z h app - - - m", "app");
    expect("{tag}", "<165>1 2026-12-03T10:00:02Z h - - - - m", "-");
    expect("{tag}", "<165>1 2026-12-03T10:00:02Z h - 42 - - m", "-[42]");
}

static void test_tag_escaped(void **state)
{
    (void)state;
    expect("{tag}", "<13>Dec  3 10:00:00 host1 pr\x01og[1]: m", "pr#001og[1]:");
}

static void test_tag_none(void **state)
{
    (void)state;
    /* No TAG at all: the field is empty, as rsyslog's empty %syslogtag%. */
    expect("[{tag}]", "<13>no tag here", "[]");
    expect("[{tag}]", "plain text", "[]");
}

static void test_tag_unknown_near(void **state)
{
    (void)state;
    struct sl_format *f = NULL;
    char err[256] = "";
    assert_int_equal(sl_format_new("{tga}", &f, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "{tag}"));
}
/* }=== */

/* {=== format = "rsyslog" (RSYSLOG_FileFormat) */
static void test_rsyslog_3164(void **state)
{
    (void)state;
    expect("rsyslog", "<13>Dec  3 10:00:00 host1 prog[123]: hello world",
           "2026-12-03T10:00:00+00:00 host1 prog[123]: hello world");
    expect("rsyslog", "<13>Dec  3 10:00:01 host1 prog: no pid",
           "2026-12-03T10:00:01+00:00 host1 prog: no pid");
    expect("rsyslog", "<13>Dec  3 10:00:05 host1 prog[7]:  leading space",
           "2026-12-03T10:00:05+00:00 host1 prog[7]:  leading space");
    expect("rsyslog", "<13>Dec  3 10:00:06 host1 prog hello",
           "2026-12-03T10:00:06+00:00 host1 prog hello");
    /* sp-if-no-1st-sp: a space even before an empty message. */
    expect("rsyslog", "<13>Dec  3 10:00:09 host1 prog:", "2026-12-03T10:00:09+00:00 host1 prog: ");
    expect("rsyslog", "<13>Dec  3 10:00:10 host1 prog:nospace",
           "2026-12-03T10:00:10+00:00 host1 prog: nospace");
}

static void test_rsyslog_3164_berlin(void **state)
{
    (void)state;
    expect("rsyslog", "<13>Dec  3 10:00:00 host1 prog[123]: hello",
           "2026-12-03T10:00:00+01:00 host1 prog[123]: hello");
}

static void test_rsyslog_5424(void **state)
{
    (void)state;
    expect("rsyslog", "<165>1 2026-12-03T10:00:02.123456+01:00 host2 app 42 ID47 "
           "[exampleSDID@32473 iut=\"3\"] with SD",
           "2026-12-03T10:00:02.123456+01:00 host2 app[42] with SD");
    expect("rsyslog", "<165>1 2026-12-03T10:00:03Z host2 app - - - nil procid",
           "2026-12-03T10:00:03Z host2 app nil procid");
    expect("rsyslog", "<165>1 2026-12-03T10:00:07.5Z host2 app 1 - -  two spaces",
           "2026-12-03T10:00:07.5Z host2 app[1] two spaces");
    expect("rsyslog", "<165>1 2026-12-03T10:00:11Z host2 - - - - nil app",
           "2026-12-03T10:00:11Z host2 - nil app");
    expect("rsyslog", "<165>1 2026-12-03T10:00:14Z host2 app 1 - [a@1 x=\"y\"]",
           "2026-12-03T10:00:14Z host2 app[1] ");
    /* rsyslog keeps a BOM in the message. */
    expect("rsyslog", "<165>1 2026-12-03T10:00:13Z host2 app 1 - - \xef\xbb\xbf" "bom",
           "2026-12-03T10:00:13Z host2 app[1] \xef\xbb\xbf" "bom");
}

static void test_rsyslog_escapes(void **state)
{
    (void)state;
    /* rsyslog escapes TAB on reception by default (#011) and drops one
     * trailing LF (drop-last-lf). */
    expect("rsyslog", "<13>Dec  3 10:00:12 host1 prog[1]: tab\there",
           "2026-12-03T10:00:12+00:00 host1 prog[1]: tab#011here");
    expect("rsyslog", "<13>Dec  3 10:00:12 host1 prog[1]: a\nb\n",
           "2026-12-03T10:00:12+00:00 host1 prog[1]: a#012b");
    expect("rsyslog", "<13>Dec  3 10:00:04 host1 prog[7]: gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93",
           "2026-12-03T10:00:04+00:00 host1 prog[7]: gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93");
}

static void test_rsyslog_no_timestamp(void **state)
{
    (void)state;
    /* No TIMESTAMP: the reception time, with microseconds. */
    expect("rsyslog", "<13>prog: hi", "2026-12-03T12:00:00.123456+00:00 myhost prog: hi");
}
/* }=== */

/* {=== format = "rfc3164" (RSYSLOG_TraditionalFileFormat) */
static void test_traditional_5424(void **state)
{
    (void)state;
    /* No colon after an RFC 5424 tag, and the time in the offset it was
     * sent with, not converted to local time. */
    expect("rfc3164", "<165>1 2026-12-03T10:00:02.123456+01:00 host2 app 42 ID47 - with SD",
           "Dec  3 10:00:02 host2 app[42] with SD");
    expect("rfc3164", "<165>1 2026-12-03T10:00:03Z host2 app - - - nil procid",
           "Dec  3 10:00:03 host2 app nil procid");
}

static void test_traditional_3164(void **state)
{
    (void)state;
    expect("rfc3164", "<13>Dec  3 10:00:06 host1 prog hello", "Dec  3 10:00:06 host1 prog hello");
    expect("rfc3164", "<13>Dec  3 10:00:05 host1 prog[7]:  lead", "Dec  3 10:00:05 host1 prog[7]:  lead");
    expect("rfc3164", "<13>Dec  3 10:00:09 host1 prog:", "Dec  3 10:00:09 host1 prog: ");
    expect("rfc3164", "<13>Dec  3 10:00:12 host1 prog[1]: tab\there",
           "Dec  3 10:00:12 host1 prog[1]: tab#011here");
}

static void test_traditional_berlin(void **state)
{
    (void)state;
    /* A 5424 time with Z in Berlin: still its own wall clock, as rsyslog. */
    expect("rfc3164", "<165>1 2026-12-03T10:00:03Z host2 app - - - m", "Dec  3 10:00:03 host2 app m");
    expect("rfc3164", "<13>Dec  3 10:00:00 host1 prog: m", "Dec  3 10:00:00 host1 prog: m");
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tag_3164_as_sent, setup_utc),
        cmocka_unit_test_setup(test_tag_5424, setup_utc),
        cmocka_unit_test_setup(test_tag_escaped, setup_utc),
        cmocka_unit_test_setup(test_tag_none, setup_utc),
        cmocka_unit_test_setup(test_tag_unknown_near, setup_utc),
        cmocka_unit_test_setup(test_rsyslog_3164, setup_utc),
        cmocka_unit_test_setup(test_rsyslog_3164_berlin, setup_berlin),
        cmocka_unit_test_setup(test_rsyslog_5424, setup_utc),
        cmocka_unit_test_setup(test_rsyslog_escapes, setup_utc),
        cmocka_unit_test_setup(test_rsyslog_no_timestamp, setup_utc),
        cmocka_unit_test_setup(test_traditional_5424, setup_utc),
        cmocka_unit_test_setup(test_traditional_3164, setup_utc),
        cmocka_unit_test_setup(test_traditional_berlin, setup_berlin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
