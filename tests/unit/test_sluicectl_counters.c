/* SPDX-License-Identifier: MIT */
/* test_sluicectl_counters.c: the `counters` lines, written from a stats
 * object by the daemon (core/daemon/counters.c) and read back by sluicectl
 * top (core/sluicectl_counters.c), and the rates between two samples. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/counters.h"
#include "sluicectl_counters.h"

/* The shape sl_daemon_stats writes (stats.c), shortened. */
static const char STATS[] =
    "{\"version\":\"0.1.0\",\"uptime\":75,\"unrouted\":3,\"discarded\":0,"
    "\"inputs\":{\"tcp\":{\"type\":\"tcp\",\"address\":\"127.0.0.1:5514\",\"received\":10,"
    "\"bytes\":520,\"parse_errors\":2,\"truncated\":1,\"framing_errors\":4,\"connections\":1},"
    "\"we ird=x\\\\\":{\"type\":\"udp\",\"received\":7}},"
    "\"outputs\":{\"out\":{\"type\":\"file\",\"enqueued\":10,\"written\":8,\"dropped\":1,"
    "\"dropped_full\":1,\"stalled\":true,\"failed\":1,\"queue_depth\":1,\"queue_capacity\":4,"
    "\"policy\":\"drop\",\"state\":\"retrying\",\"last_error\":\"write() answered RETRY\","
    "\"disk\":{\"bytes\":999,\"segments\":2},\"plugin\":{\"written\":12345}}},"
    "\"routes\":[{\"line\":4,\"errors\":0,\"discarded\":5}]}";

static char *lines_of(const char *json, int expect_rc)
{
    struct sluice_buf b = {0};
    assert_int_equal(sl_counters_from_stats(json, strlen(json), 42, &b), expect_rc);
    char *s = calloc(1, b.len + 1);
    assert_non_null(s);
    if (b.len > 0)
        memcpy(s, b.data, b.len);
    free(b.data);
    return s;
}

/* The lines a script sees: one a thing, numbers as they are, true as 1,
 * only the daemon's own words of the strings, sub-objects as sub.key, and
 * a name's blank, '=' and '\\' escaped so that the line still splits. */
static void lines_are_the_contract(void **state)
{
    char *s = lines_of(STATS, 0);
    assert_string_equal(
        s, "daemon pid=42 version=0.1.0 uptime=75 unrouted=3 discarded=0\n"
           "input tcp type=tcp received=10 bytes=520 parse_errors=2 truncated=1 "
           "framing_errors=4 connections=1\n"
           "input we\\x20ird\\x3dx\\x5c type=udp received=7\n"
           "output out type=file enqueued=10 written=8 dropped=1 dropped_full=1 stalled=1 "
           "failed=1 queue_depth=1 queue_capacity=4 policy=drop state=retrying "
           "disk.bytes=999 disk.segments=2 plugin.written=12345\n"
           "route 4 errors=0 discarded=5\n");
    free(s);
}

/* What the daemon writes, top reads back: the names unescaped, errors the
 * sum of parse and framing errors, disk.bytes and plugin.written not taken
 * for the output's own. */
static void read_back(void **state)
{
    char *text = lines_of(STATS, 0);
    struct sl_counters c = {0};
    size_t bad = 0;
    assert_int_equal(sl_counters_parse(&c, text, strlen(text), &bad), 0);
    assert_int_equal(c.pid, 42);
    assert_string_equal(c.version, "0.1.0");
    assert_int_equal(c.uptime, 75);
    assert_int_equal(c.unrouted, 3);
    assert_int_equal(c.n, 3);
    const struct sl_counters_obj *in = sl_counters_find(&c, SL_COUNTERS_INPUT, "tcp");
    assert_non_null(in);
    assert_int_equal(in->received, 10);
    assert_int_equal(in->bytes, 520);
    assert_int_equal(in->errors, 6);
    assert_non_null(sl_counters_find(&c, SL_COUNTERS_INPUT, "we ird=x\\"));
    assert_null(sl_counters_find(&c, SL_COUNTERS_OUTPUT, "tcp"));
    const struct sl_counters_obj *out = sl_counters_find(&c, SL_COUNTERS_OUTPUT, "out");
    assert_non_null(out);
    assert_int_equal(out->enqueued, 10);
    assert_int_equal(out->written, 8);
    assert_int_equal(out->dropped, 1);
    assert_int_equal(out->failed, 1);
    assert_int_equal(out->depth, 1);
    assert_int_equal(out->capacity, 4);
    assert_true(out->retrying);
    sl_counters_free(&c);
    sl_counters_free(&c); /* a zeroed one: a no-op */
    free(text);
}

/* A stats object it cannot read is refused, not half written as lines. */
static void bad_stats_refused(void **state)
{
    free(lines_of("{\"inputs\":{\"tcp\":{\"received\":1}", -EINVAL));
    free(lines_of("{\"uptime\":x}", -EINVAL));
    free(lines_of("", -EINVAL));
}

static void parse_fails(const char *text, size_t line)
{
    struct sl_counters c = {0};
    size_t bad = 0;
    assert_int_equal(sl_counters_parse(&c, text, strlen(text), &bad), -EINVAL);
    assert_int_equal(bad, line);
    sl_counters_free(&c);
}

/* A line it cannot read is refused with its number; what a newer daemon
 * may add (kinds, keys) is skipped. */
static void bad_lines(void **state)
{
    parse_fails("input\n", 1);
    parse_fails("daemon pid=1\noutput out written=many\n", 2);
    parse_fails("daemon pid=1\n\ninput tcp received\n", 3);
    parse_fails("input tcp =5\n", 1);
    parse_fails("input tcp received=-1\n", 1);
    parse_fails("input tcp received=99999999999999999999999\n", 1);
    parse_fails("daemon uptime=soon\n", 1);
    char long_name[100];
    memset(long_name, 'a', sizeof long_name);
    memcpy(long_name, "input ", 6);
    long_name[sizeof long_name - 1] = '\0';
    parse_fails(long_name, 1);

    struct sl_counters c = {0};
    const char *text = "daemon pid=7 colour=blue\nqueue q depth=1\nroute 3 errors=x\n"
                       "input tcp received=5 new_counter=abc\noutput o state=ok";
    assert_int_equal(sl_counters_parse(&c, text, strlen(text), NULL), 0);
    assert_int_equal(c.pid, 7);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0].received, 5);
    assert_false(c.v[1].retrying);
    sl_counters_free(&c);
}

/* Rates are the difference over the seconds between the two samples; a
 * counter that went backwards (a reload rebuilt the object) counts from
 * zero; nothing to compare with gives no rates. */
static void rates(void **state)
{
    struct sl_counters_obj a = {.kind = SL_COUNTERS_INPUT, .received = 100, .bytes = 5000,
                                .errors = 2, .enqueued = 10, .written = 10, .dropped = 0,
                                .failed = 1};
    struct sl_counters_obj b = a;
    b.received = 300, b.bytes = 6000, b.errors = 2, b.written = 50, b.dropped = 4, b.failed = 0;
    struct sl_counters_rate r;
    assert_true(sl_counters_rate(&a, &b, 2.0, &r));
    assert_true(r.received == 100.0 && r.bytes == 500.0 && r.errors == 0.0);
    assert_true(r.written == 20.0 && r.dropped == 2.0 && r.enqueued == 0.0);
    assert_true(r.failed == 0.0); /* 1 then 0: from zero, none new */
    b.received = 40;              /* went back: 40 since it started again */
    assert_true(sl_counters_rate(&a, &b, 0.5, &r));
    assert_true(r.received == 80.0);
    assert_false(sl_counters_rate(NULL, &b, 1.0, &r));
    assert_true(r.received == 0.0 && r.written == 0.0);
    assert_false(sl_counters_rate(&a, &b, 0.0, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_are_the_contract),
        cmocka_unit_test(read_back),
        cmocka_unit_test(bad_stats_refused),
        cmocka_unit_test(bad_lines),
        cmocka_unit_test(rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
