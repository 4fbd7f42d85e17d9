/* SPDX-License-Identifier: MIT */
/*
 * test_rfc3164.c: the RFC 3164 parser and sl_parse's detection and
 * fallback. Cases come from RFC 3164 section 5.4, from glibc's syslog(3)
 * output on /dev/log, and from the BSD-style variants real senders use.
 * Table rows run as tests of their own.
 */
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

#include "table.h"

#include "parse/parse.h"

#define NIL NULL
#define LOCALHOST "localhost"

/* 2025-06-15T12:00:00Z, UTC. */
#define NOW 1749988800

static const struct sl_parse_ctx utc_ctx = {.hostname = {LOCALHOST, 9}, .now = NOW};

/* {=== helpers */
static struct sl_msg *parse_n(const char *s, size_t len, const struct sl_parse_ctx *ctx, int *rc)
{
    struct sl_msg *m = sl_msg_new_heap(s, len, "test");
    assert_non_null(m);
    *rc = sl_parse_rfc3164(m, ctx);
    return m;
}

static struct sl_msg *parse(const char *s, const struct sl_parse_ctx *ctx, int *rc)
{
    return parse_n(s, strlen(s), ctx, rc);
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

/* The local wall-clock time ts stands for, as "YYYY-MM-DD hh:mm:ss". */
static void assert_local(const struct sl_time *ts, const char *want)
{
    time_t t = (time_t)(ts->sec + ts->tzoff_min * 60);
    struct tm tm;
    char buf[32];
    assert_non_null(gmtime_r(&t, &tm));
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    assert_string_equal(buf, want);
}

static void assert_spans_inside(const struct sl_msg *m)
{
    const struct sl_str f[] = {m->timestamp, m->app_name, m->procid, m->msg, m->hostname};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].p == NULL || f[i].p == utc_ctx.hostname.p)
            continue;
        assert_true(f[i].p >= m->raw.p && f[i].p + f[i].len <= m->raw.p + m->raw.len);
    }
}

/* }=== */

/* {=== messages, parsed with utc_ctx */
struct case3164 {
    const char *name;
    const char *in;
    int pri;
    const char *timestamp, *hostname, *app_name, *procid, *msg;
    const char *local; /* expected local time, NULL when no timestamp */
    uint8_t flags, frac;
};

#define V SL_TIME_VALID
#define TZ (SL_TIME_VALID | SL_TIME_HAS_TZ)

static const struct case3164 cases[] = {
    /* RFC 3164 section 5.4 */
    {"rfc_5.4_example1", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on "
     "/dev/pts/8", 34, "Oct 11 22:14:15", "mymachine", "su", NIL,
     "'su root' failed for lonvick on /dev/pts/8", "2025-10-11 22:14:15", V, 0},
    {"rfc_5.4_example2_first_word_is_tag", "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", 13,
     "Feb  5 17:32:18", "10.0.0.99", "Use", NIL, "the BFG!", "2025-02-05 17:32:18", V, 0},
    /* "CST 1987" is not part of a TIMESTAMP: read by position. */
    {"rfc_5.4_example3_positional", "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's "
     "time to make the do-nuts.", 165, "Aug 24 05:34:00", "CST", "1987", NIL,
     "mymachine myproc[10]: %% It's time to make the do-nuts.", "2025-08-24 05:34:00", V, 0},
    /* No valid TIMESTAMP: all of it is CONTENT, as 5.4 says for a relay. */
    {"rfc_5.4_example4_no_timestamp", "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
     "10.1.2.3 sched[0]: That's All Folks!", 0, NIL, LOCALHOST, NIL, NIL,
     "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
     NULL, 0, 0},
    /* glibc syslog(3) on /dev/log: no HOSTNAME, ctx's is filled in. */
    {"glibc_pid", "<13>Nov 22 10:00:00 prog[123]: text", 13, "Nov 22 10:00:00", LOCALHOST, "prog",
     "123", "text", "2025-11-22 10:00:00", V, 0},
    {"glibc_day_padded", "<13>Nov  3 10:00:00 prog[123]: text", 13, "Nov  3 10:00:00", LOCALHOST,
     "prog", "123", "text", "2025-11-03 10:00:00", V, 0},
    {"glibc_no_pid", "<14>Nov  3 10:00:00 prog: hello world", 14, "Nov  3 10:00:00", LOCALHOST,
     "prog", NIL, "hello world", "2025-11-03 10:00:00", V, 0},
    {"glibc_empty_msg", "<14>Jun 15 10:00:00 prog: ", 14, "Jun 15 10:00:00", LOCALHOST, "prog",
     NIL, "", "2025-06-15 10:00:00", V, 0},
    {"glibc_trailing_lf_kept", "<11>Jun  1 10:00:00 prog[1]: disk full\n", 11, "Jun  1 10:00:00",
     LOCALHOST, "prog", "1", "disk full\n", "2025-06-01 10:00:00", V, 0},
    /* TIMESTAMP variants */
    {"day_one_space", "<38>Mar 7 19:06:53 example tag: m", 38, "Mar 7 19:06:53", "example", "tag",
     NIL, "m", "2025-03-07 19:06:53", V, 0},
    {"day_zero_padded", "<38>Mar 07 19:06:53 example tag: m", 38, "Mar 07 19:06:53", "example",
     "tag", NIL, "m", "2025-03-07 19:06:53", V, 0},
    {"year_in_timestamp", "<38>Mar  7 2008 19:06:53 example tag: m", 38, "Mar  7 2008 19:06:53",
     "example", "tag", NIL, "m", "2008-03-07 19:06:53", V, 0},
    {"colon_after_timestamp", "<38>Mar  7 19:06:53: example tag: m", 38, "Mar  7 19:06:53",
     "example", "tag", NIL, "m", "2025-03-07 19:06:53", V, 0},
    {"cisco_year_colon_no_host", "<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown", 190,
     "Apr 15 2007 21:28:13", LOCALHOST, "%PIX-6-302014", NIL, "Teardown", "2007-04-15 21:28:13",
     V, 0},
    {"cisco_seq_and_star", "<0>91: *Oct 07 03:10:04: dev.example %CRYPTO-4-X: decaps", 0,
     "Oct 07 03:10:04", "dev.example", "%CRYPTO-4-X", NIL, "decaps", "2025-10-07 03:10:04", V, 0},
    {"cisco_dot_marker", "<190>.Apr 15 2007 21:28:13: %PIX-6-1: x", 190, "Apr 15 2007 21:28:13",
     LOCALHOST, "%PIX-6-1", NIL, "x", "2007-04-15 21:28:13", V, 0},
    {"upper_case_month", "<190>NOV 22 00:00:33 sw1 CMDLOGGER[16]: logged in", 190,
     "NOV 22 00:00:33", "sw1", "CMDLOGGER", "16", "logged in", "2025-11-22 00:00:33", V, 0},
    {"bsd_milliseconds", "<7>Aug 29 02:00:00.156 ctld snmpd[2499]: up", 7, "Aug 29 02:00:00.156",
     "ctld", "snmpd", "2499", "up", "2025-08-29 02:00:00", V, 3},
    {"sp_after_pri", "<7> Aug 29 02:00:00 ctld snmpd[2499]: up", 7, "Aug 29 02:00:00", "ctld",
     "snmpd", "2499", "up", "2025-08-29 02:00:00", V, 0},
    {"rfc3339_offset", "<28>2019-12-02T16:49:23+02:00 host app[23410]: Test", 28,
     "2019-12-02T16:49:23+02:00", "host", "app", "23410", "Test", "2019-12-02 16:49:23", TZ, 0},
    {"rfc3339_zulu_micro", "<190>2019-02-13T21:53:30.605850Z h liblogging-stdlog:  [origin] start",
     190, "2019-02-13T21:53:30.605850Z", "h", "liblogging-stdlog", NIL, " [origin] start",
     "2019-02-13 21:53:30", TZ | SL_TIME_ZULU, 6},
    {"rfc3339_no_offset_is_local", "<7>2006-11-10T10:43:21 bzorp openvpn[2499]: up", 7,
     "2006-11-10T10:43:21", "bzorp", "openvpn", "2499", "up", "2006-11-10 10:43:21", V, 0},
    {"rfc3339_long_fraction", "<7>2006-11-10T10:43:21.1234567890123+01:00 b o: x", 7,
     "2006-11-10T10:43:21.1234567890123+01:00", "b", "o", NIL, "x", "2006-11-10 10:43:21", TZ, 9},
    {"rfc3339_sp_for_t", "<7>2006-10-29 02:00:00.156+01:00", 7, "2006-10-29 02:00:00.156+01:00",
     LOCALHOST, NIL, NIL, "", "2006-10-29 02:00:00", TZ, 3},
    /* Invalid TIMESTAMPs are text. */
    {"bad_day_is_text", "<13>Oct 32 22:14:15 host app: x", 13, NIL, LOCALHOST, NIL, NIL,
     "Oct 32 22:14:15 host app: x", NULL, 0, 0},
    {"bad_hour_is_text", "<13>Oct 11 24:14:15 host app: x", 13, NIL, LOCALHOST, NIL, NIL,
     "Oct 11 24:14:15 host app: x", NULL, 0, 0},
    {"bad_month_is_text", "<13>Foo 11 22:14:15 host app: x", 13, NIL, LOCALHOST, NIL, NIL,
     "Foo 11 22:14:15 host app: x", NULL, 0, 0},
    {"short_time_is_text", "<13>Oct 11 22:14 host app: x", 13, NIL, LOCALHOST, NIL, NIL,
     "Oct 11 22:14 host app: x", NULL, 0, 0},
    {"glued_timestamp_is_text", "<13>Oct 11 22:14:15host app: x", 13, NIL, LOCALHOST, NIL, NIL,
     "Oct 11 22:14:15host app: x", NULL, 0, 0},
    /* HOSTNAME and TAG */
    {"tag_no_space_after_colon", "<129>Mar 10 01:00:00 Hostname3 tag:msgnum:3", 129,
     "Mar 10 01:00:00", "Hostname3", "tag", NIL, "msgnum:3", "2025-03-10 01:00:00", V, 0},
    {"tag_only_one_sp_dropped", "<129>Mar 10 01:00:00 h tag:  msgnum:2", 129, "Mar 10 01:00:00",
     "h", "tag", NIL, " msgnum:2", "2025-03-10 01:00:00", V, 0},
    {"tag_empty_msg", "<129>Mar 10 01:00:00 h tag4:", 129, "Mar 10 01:00:00", "h", "tag4", NIL, "",
     "2025-03-10 01:00:00", V, 0},
    {"tag_pid_no_colon", "<175>Oct 16 2009 23:47:31 h tag[1234] This is", 175,
     "Oct 16 2009 23:47:31", "h", "tag", "1234", "This is", "2009-10-16 23:47:31", V, 0},
    {"tag_text_pid", "<189>Feb  3 12:34:56 host program[pid]: message", 189, "Feb  3 12:34:56",
     "host", "program", "pid", "message", "2025-02-03 12:34:56", V, 0},
    {"tag_empty_brackets", "<13>Jun 15 10:00:00 h tag[]: x", 13, "Jun 15 10:00:00", "h", "tag",
     NIL, "x", "2025-06-15 10:00:00", V, 0},
    {"tag_unclosed_bracket_is_text", "<13>Jun 15 10:00:00 h tag[1 2]: x", 13, "Jun 15 10:00:00",
     "h", NIL, NIL, "tag[1 2]: x", "2025-06-15 10:00:00", V, 0},
    {"tag_paren_and_slash", "<38>Mar 27 19:06:53 src sshd(pam_unix)[12750]: opened", 38,
     "Mar 27 19:06:53", "src", "sshd(pam_unix)", "12750", "opened", "2025-03-27 19:06:53", V, 0},
    {"docker_tag_no_host", "<30>Apr  6 13:21:09 docker/6defd258da22[6128]: NEXT", 30,
     "Apr  6 13:21:09", LOCALHOST, "docker/6defd258da22", "6128", "NEXT", "2025-04-06 13:21:09",
     V, 0},
    {"mark", "<6>Feb 18 16:01:59 serverX -- MARK --", 6, "Feb 18 16:01:59", "serverX", "--", NIL,
     "MARK --", "2025-02-18 16:01:59", V, 0},
    {"double_sp_no_tag", "<46>Jan  5 15:33:03 host  [software=\"x\"] start", 46, "Jan  5 15:33:03",
     "host", NIL, NIL, " [software=\"x\"] start", "2025-01-05 15:33:03", V, 0},
    {"host_only", "<14>Aug 30 23:00:05 X4711", 14, "Aug 30 23:00:05", "X4711", NIL, NIL, "",
     "2025-08-30 23:00:05", V, 0},
    {"host_trailing_sp", "<14>Aug 30 23:00:05 X4711 ", 14, "Aug 30 23:00:05", "X4711", NIL, NIL, "",
     "2025-08-30 23:00:05", V, 0},
    {"timestamp_only", "<14>Aug 30 23:00:05", 14, "Aug 30 23:00:05", LOCALHOST, NIL, NIL, "",
     "2025-08-30 23:00:05", V, 0},
    {"ipv6_host_trailing_colons", "<0>Jan 10 01:00:00 0002:: prg0: msgtxt", 0, "Jan 10 01:00:00",
     "0002::", "prg0", NIL, "msgtxt", "2025-01-10 01:00:00", V, 0},
    {"ipv6_host", "<0>Jan 10 01:00:00 fe80::1 prg0 x", 0, "Jan 10 01:00:00", "fe80::1", "prg0",
     NIL, "x", "2025-01-10 01:00:00", V, 0},
    /* No TIMESTAMP: no HOSTNAME, and a TAG only when marked. */
    {"no_ts_tag_colon", "<27>xapi: [error] died", 27, NIL, LOCALHOST, "xapi", NIL, "[error] died",
     NULL, 0, 0},
    {"no_ts_sp_tag_pid", "<15> openvpn[2499]: up", 15, NIL, LOCALHOST, "openvpn", "2499", "up",
     NULL, 0, 0},
    {"no_ts_plain_text", "<189>some message", 189, NIL, LOCALHOST, NIL, NIL, "some message", NULL,
     0, 0},
    {"no_ts_empty", "<13>", 13, NIL, LOCALHOST, NIL, NIL, "", NULL, 0, 0},
    {"no_ts_colon_first", "<13>: x", 13, NIL, LOCALHOST, NIL, NIL, ": x", NULL, 0, 0},
    /* PRI */
    {"pri_0", "<0>x: y", 0, NIL, LOCALHOST, "x", NIL, "y", NULL, 0, 0},
    {"pri_191", "<191>x: y", 191, NIL, LOCALHOST, "x", NIL, "y", NULL, 0, 0},
    {"pri_leading_zero_tolerated", "<013>x: y", 13, NIL, LOCALHOST, "x", NIL, "y", NULL, 0, 0},
};

static void test_case(void **state)
{
    const struct case3164 *c = *state;
    int rc;
    struct sl_msg *m = parse(c->in, &utc_ctx, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m->format, SL_FMT_RFC3164);
    assert_int_equal(m->pri, c->pri);
    assert_int_equal(m->facility, c->pri / 8);
    assert_int_equal(m->severity, c->pri % 8);
    assert_int_equal(m->version, 0);
    assert_field(m->timestamp, c->timestamp, "timestamp");
    assert_field(m->hostname, c->hostname, "hostname");
    assert_field(m->app_name, c->app_name, "app_name");
    assert_field(m->procid, c->procid, "procid");
    assert_field(m->msg, c->msg, "msg");
    assert_null(m->msgid.p);
    assert_null(m->sd.p);
    assert_int_equal(m->ts.flags, c->flags);
    if (c->local != NULL) {
        assert_local(&m->ts, c->local);
        assert_int_equal(m->ts.frac_digits, c->frac);
    }
    assert_spans_inside(m);
    sl_msg_unref(m);
}
/* }=== */

/* {=== invalid PRI: not RFC 3164 */
struct bad_case {
    const char *name;
    const char *in;
};

static const struct bad_case bad_cases[] = {
    {"empty", ""},
    {"no_pri", "Oct 11 22:14:15 host app: x"},
    {"pri_192", "<192>Oct 11 22:14:15 host app: x"},
    {"pri_1011", "<1011>Mar  1 01:00:00 host tag msg"},
    {"pri_huge", "<3500000000>Mar  1 01:00:00 host tag msg"},
    {"pri_alpha", "<x112>Mar  1 01:00:00 host tag msg"},
    {"pri_empty", "<>x"},
    {"pri_unclosed", "<189 Feb  3 12:34:56 host program[pid]: message"},
    {"pri_only_lt", "<"},
    {"pri_no_gt_at_end", "<13"},
    {"json", "{ \"c1\":1 }"},
};

static void test_bad(void **state)
{
    const struct bad_case *c = *state;
    int rc;
    struct sl_msg *m = parse(c->in, &utc_ctx, &rc);
    assert_int_equal(rc, -EINVAL);
    sl_msg_unref(m);
}
/* }=== */

/* {=== limits */
static void check_word_limit(size_t len, bool host)
{
    char word[300], buf[400];
    memset(word, 'w', len);
    word[len] = '\0';
    if (host)
        snprintf(buf, sizeof buf, "<13>Jun 15 10:00:00 %s app: x", word);
    else
        snprintf(buf, sizeof buf, "<13>Jun 15 10:00:00 h %s[1]: x", word);
    int rc;
    struct sl_msg *m = parse(buf, &utc_ctx, &rc);
    assert_int_equal(rc, 0);
    const char *rest = strstr(buf, word);
    if (host && len <= 255) {
        assert_field(m->hostname, word, "hostname");
        assert_field(m->app_name, "app", "app_name");
    } else if (host) {
        /* Too long for a HOSTNAME, too long for a TAG: it is all MSG. */
        assert_field(m->hostname, LOCALHOST, "hostname");
        assert_null(m->app_name.p);
        assert_field(m->msg, rest, "msg");
    } else if (len <= 48) {
        assert_field(m->app_name, word, "app_name");
        assert_field(m->procid, "1", "procid");
        assert_field(m->msg, "x", "msg");
    } else {
        assert_null(m->app_name.p);
        assert_null(m->procid.p);
        assert_field(m->msg, rest, "msg");
    }
    sl_msg_unref(m);
}

static void test_hostname_255(void **state) { check_word_limit(255, true); }
static void test_hostname_256(void **state) { check_word_limit(256, true); }
static void test_app_name_48(void **state) { check_word_limit(48, false); }
static void test_app_name_49(void **state) { check_word_limit(49, false); }
/* }=== */

/* {=== year inference: the year that puts the time nearest to now */
struct year_case {
    const char *name;
    const char *ts;     /* "Mmm dd hh:mm:ss" */
    const char *now;    /* ctx->now as local time "YYYY-MM-DD hh:mm:ss" */
    int tzoff_min;
    const char *local;  /* expected; NULL: no timestamp */
};

static const struct year_case year_cases[] = {
    {"dec31_read_jan1_is_last_year", "Dec 31 23:59:00", "2026-01-01 00:30:00", 60,
     "2025-12-31 23:59:00"},
    {"jan1_read_jan1_is_this_year", "Jan  1 00:10:00", "2026-01-01 00:30:00", 60,
     "2026-01-01 00:10:00"},
    {"jan1_read_dec31_is_next_year", "Jan  1 00:05:00", "2025-12-31 23:50:00", -300,
     "2026-01-01 00:05:00"},
    {"dec31_read_dec31_is_this_year", "Dec 31 23:00:00", "2025-12-31 23:50:00", -300,
     "2025-12-31 23:00:00"},
    {"midyear_this_year", "Jun 14 08:00:00", "2025-06-15 12:00:00", 0, "2025-06-14 08:00:00"},
    {"five_months_ago_is_last_year", "Aug  1 00:00:00", "2026-01-02 00:00:00", 0,
     "2025-08-01 00:00:00"},
    /* Nearest wins, even ahead: 142 days ahead beats 223 days back. */
    {"seven_months_ago_reads_as_ahead", "Jun  1 00:00:00", "2026-01-10 00:00:00", 0,
     "2026-06-01 00:00:00"},
    {"feb29_in_leap_year", "Feb 29 10:00:00", "2024-03-01 00:00:00", 0, "2024-02-29 10:00:00"},
    {"feb29_next_leap_year", "Feb 29 10:00:00", "2023-12-31 00:00:00", 0, "2024-02-29 10:00:00"},
    {"feb29_no_leap_year_near", "Feb 29 10:00:00", "2022-06-01 00:00:00", 0, NULL},
};

static time_t local_to_epoch(const char *local, int tzoff_min)
{
    int y, mon, d, h, mi, s;
    assert_int_equal(sscanf(local, "%d-%d-%d %d:%d:%d", &y, &mon, &d, &h, &mi, &s), 6);
    return (time_t)(sl_parse_days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s -
                    tzoff_min * 60);
}

static void test_year(void **state)
{
    const struct year_case *c = *state;
    struct sl_parse_ctx ctx = {.hostname = {LOCALHOST, 9},
                               .now = local_to_epoch(c->now, c->tzoff_min),
                               .tzoff_min = c->tzoff_min};
    char buf[64];
    snprintf(buf, sizeof buf, "<13>%s host app: x", c->ts);
    int rc;
    struct sl_msg *m = parse(buf, &ctx, &rc);
    assert_int_equal(rc, 0);
    if (c->local == NULL) {
        assert_int_equal(m->ts.flags, 0);
        assert_null(m->timestamp.p);
    } else {
        assert_int_equal(m->ts.flags, SL_TIME_VALID);
        assert_int_equal(m->ts.tzoff_min, c->tzoff_min);
        assert_int_equal(m->ts.frac_digits, 0);
        assert_local(&m->ts, c->local);
        assert_int_equal(m->ts.sec, local_to_epoch(c->local, c->tzoff_min));
    }
    sl_msg_unref(m);
}
/* }=== */

/* {=== odds and ends */
static void test_hostname_fill_in_is_ctx(void **state)
{
    int rc;
    struct sl_msg *m = parse("<13>Nov 22 10:00:00 prog[123]: text", &utc_ctx, &rc);
    assert_int_equal(rc, 0);
    /* Borrowed from ctx, not copied. */
    assert_ptr_equal(m->hostname.p, utc_ctx.hostname.p);
    sl_msg_unref(m);
    struct sl_parse_ctx nil_host = {.now = NOW};
    m = parse("<13>Nov 22 10:00:00 prog[123]: text", &nil_host, &rc);
    assert_int_equal(rc, 0);
    assert_null(m->hostname.p);
    sl_msg_unref(m);
}

static void test_null_ctx_reads_clock(void **state)
{
    int rc;
    struct sl_msg *m = parse("<13>Jan  1 00:00:00 prog: x", NULL, &rc);
    assert_int_equal(rc, 0);
    assert_null(m->hostname.p);
    assert_int_equal(m->ts.flags, SL_TIME_VALID);
    time_t now = time(NULL);
    assert_true(m->ts.sec > now - 367 * 86400 && m->ts.sec < now + 367 * 86400);
    sl_msg_unref(m);
}

static void test_truncated_everywhere(void **state)
{
    const char *msgs[] = {
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
        "<0>91: *Oct 07 03:10:04: dev %CRYPTO-4-X: decaps",
        "<7>2006-11-10T10:43:21.156+02:00 bzorp openvpn[2499]: x",
        "<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown",
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        const char *s = msgs[i];
        size_t gt = (size_t)(strchr(s, '>') - s);
        for (size_t n = 0; n <= strlen(s); n++) {
            int rc;
            struct sl_msg *m = parse_n(s, n, &utc_ctx, &rc);
            /* Every prefix with a whole PRI is RFC 3164. */
            assert_int_equal(rc, n > gt ? 0 : -EINVAL);
            if (rc == 0)
                assert_spans_inside(m);
            sl_msg_unref(m);
        }
    }
}

static void test_flags_kept_and_cleared(void **state)
{
    const char *s = "<13>Jun 15 10:00:00 h a: x";
    struct sl_msg *m = sl_msg_new_heap(s, strlen(s), "test");
    m->flags = SL_MSG_HAS_CRED | SL_MSG_TRUNCATED | SL_MSG_BOM | SL_MSG_PARSE_ERROR;
    assert_int_equal(sl_parse_rfc3164(m, &utc_ctx), 0);
    assert_int_equal(m->flags, SL_MSG_HAS_CRED | SL_MSG_TRUNCATED);
    sl_msg_unref(m);
}
/* }=== */

/* {=== sl_parse: detection and fallback */
struct fallback_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
};

static const struct fallback_case fallback_cases[] = {
    {"fallback_plain_text", "This is a message!", 0},
    {"fallback_empty", "", 0},
    {"fallback_json", "{ \"c1\":1 }", 0},
    {"fallback_leading_spaces", "   { \"c2\":2 }", 0},
    {"fallback_pri_192", "<192>Oct 11 22:14:15 host app: x", 0},
    {"fallback_pri_unclosed", "<189 Feb  3 12:34:56 host program[pid]: message", 0},
    {"fallback_broken_5424", "<13>1 2003-10-11T22:14:15.003Z host app - - x", 0},
    {"fallback_5424_bad_ts", "<13>1 2003-13-11T22:14:15Z h a - - -", 0},
    {"fallback_binary", "\x00\x01\xff<13>", 7},
};

static void test_fallback(void **state)
{
    const struct fallback_case *c = *state;
    size_t len = c->len != 0 ? c->len : strlen(c->in);
    struct sl_msg *m = sl_msg_new_heap(c->in, len, "test");
    m->flags = SL_MSG_HAS_CRED | SL_MSG_BOM;
    assert_int_equal(sl_parse(m, &utc_ctx), -EINVAL);
    assert_int_equal(m->format, SL_FMT_UNPARSED);
    assert_int_equal(m->flags, SL_MSG_HAS_CRED | SL_MSG_PARSE_ERROR);
    assert_int_equal(m->pri, 13);
    assert_int_equal(m->facility, 1);
    assert_int_equal(m->severity, 5);
    assert_int_equal(m->version, 0);
    assert_ptr_equal(m->msg.p, m->raw.p);
    assert_int_equal(m->msg.len, len);
    assert_null(m->timestamp.p);
    assert_null(m->hostname.p);
    assert_null(m->app_name.p);
    assert_null(m->procid.p);
    assert_int_equal(m->ts.flags, 0);
    sl_msg_unref(m);
}

static void test_sl_parse_3164(void **state)
{
    const char *s = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed";
    struct sl_msg *m = sl_msg_new_heap(s, strlen(s), "test");
    assert_int_equal(sl_parse(m, &utc_ctx), 0);
    assert_int_equal(m->format, SL_FMT_RFC3164);
    assert_false(m->flags & SL_MSG_PARSE_ERROR);
    assert_field(m->app_name, "su", "app_name");
    sl_msg_unref(m);
}

static void test_sl_parse_5424_lookalikes_are_3164(void **state)
{
    /* Not "<PRI>VERSION SP": a year, four digits, a missing SP. */
    const char *ins[] = {"<0>1990 Oct 22 10:52:01 TZ-6 x", "<13>1000 - - - - - -", "<1>1"};
    for (size_t i = 0; i < 3; i++) {
        struct sl_msg *m = sl_msg_new_heap(ins[i], strlen(ins[i]), "test");
        assert_int_equal(sl_parse(m, &utc_ctx), 0);
        assert_int_equal(m->format, SL_FMT_RFC3164);
        sl_msg_unref(m);
    }
}

static void test_ctx_now(void **state)
{
    struct sl_parse_ctx ctx = {.hostname = {LOCALHOST, 9}};
    time_t before = time(NULL);
    sl_parse_ctx_now(&ctx);
    assert_true(ctx.now >= before && ctx.now <= time(NULL));
    assert_true(ctx.tzoff_min > -24 * 60 && ctx.tzoff_min < 24 * 60);
    assert_ptr_equal(ctx.hostname.p, LOCALHOST);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostname_255),
        cmocka_unit_test(test_hostname_256),
        cmocka_unit_test(test_app_name_48),
        cmocka_unit_test(test_app_name_49),
        cmocka_unit_test(test_hostname_fill_in_is_ctx),
        cmocka_unit_test(test_null_ctx_reads_clock),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_flags_kept_and_cleared),
        cmocka_unit_test(test_sl_parse_3164),
        cmocka_unit_test(test_sl_parse_5424_lookalikes_are_3164),
        cmocka_unit_test(test_ctx_now),
    };
#define ROWS(group, fn, table) \
    run_rows(group, fn, table, sizeof table[0], sizeof table / sizeof table[0])
    int failed = cmocka_run_group_tests_name("rfc3164", tests, NULL, NULL);
    failed += ROWS("rfc3164_messages", test_case, cases);
    failed += ROWS("rfc3164_bad_pri", test_bad, bad_cases);
    failed += ROWS("rfc3164_year", test_year, year_cases);
    failed += ROWS("sl_parse_fallback", test_fallback, fallback_cases);
    return failed != 0;
}
