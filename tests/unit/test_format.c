/* SPDX-License-Identifier: MIT */
/* test_format.c: output formats and templates (core/format/format.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "format/format.h"
#include "parse/parse.h"

/* 2026-11-22T12:00:00Z: "now" for RFC 3164's year-less timestamps. */
#define NOW 1795348800
/* 2027-01-05T12:00:00Z: a January "now", when a December message is last year's. */
#define NOW_JANUARY 1799150400

#define EXAMPLE1 "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " \
                 "\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8"
#define BSD1 "<13>Nov 22 10:00:00 prog[123]: text"

/* {=== helpers */
static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int setup_utc(void **state)
{
    set_tz("UTC");
    return 0;
}

/* Parses raw as an input would; unparsed text is fine too. */
static struct sl_msg *parse_at(const char *raw, size_t len, time_t now, int tzoff_min)
{
    struct sl_msg *m = sl_msg_new_heap(raw, len, "test");
    assert_non_null(m);
    struct sl_parse_ctx ctx = {.hostname = {"myhost", 6}, .now = now, .tzoff_min = tzoff_min};
    sl_parse(m, &ctx);
    /* A fixed receive time, so lines that fall back to it are stable. */
    m->received = (struct sl_time){.sec = NOW, .nsec = 123456000, .frac_digits = 6,
                                   .flags = SL_TIME_VALID};
    return m;
}

static struct sl_msg *parse(const char *raw)
{
    return parse_at(raw, strlen(raw), NOW, 0);
}

/* The line for m in format spec, without its '\n'; the caller frees it. */
static char *line(const char *spec, const struct sl_msg *m)
{
    struct sl_format *f = NULL;
    char err[256] = "";
    struct sluice_buf b = {0};
    assert_int_equal(sl_format_new(spec, &f, err, sizeof err), 0);
    assert_int_equal(sl_format_append(f, m, &b), 0);
    sl_format_free(f);
    assert_true(b.len > 0);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_null(memchr(b.data, '\n', b.len - 1)); /* exactly one line */
    b.data[b.len - 1] = '\0';
    return b.data;
}

static void expect_line(const char *spec, const struct sl_msg *m, const char *want)
{
    char *got = line(spec, m);
    assert_string_equal(got, want);
    free(got);
}

static void expect_error(const char *spec, const char *want)
{
    struct sl_format *f = NULL;
    char err[256] = "";
    assert_int_equal(sl_format_new(spec, &f, err, sizeof err), -EINVAL);
    assert_null(f);
    assert_string_equal(err, want);
}

static bool valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2
                                 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        }
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return false;
        i += len;
    }
    return true;
}

/* A small JSON checker: enough to prove a line is one well-formed value. */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (strchr("0123456789abcdefABCDEF", p[i]) == NULL || p[i] == '\0')
                        return NULL;
                }
                p += 4;
            } else if (*p == '\0' || strchr("\"\\/bfnrt", *p) == NULL) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *json_members(const char *p, char open, char close, int depth)
{
    if (*p++ != open)
        return NULL;
    p = json_ws(p);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (open == '{') {
            p = json_string(json_ws(p));
            if (p == NULL || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        if ((p = json_value(p, depth + 1)) == NULL)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 16)
        return NULL;
    if (*p == '{' || *p == '[')
        return json_members(p, *p, *p == '{' ? '}' : ']', depth);
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    const char *s = p;
    p += *p == '-';
    while (*p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

static void assert_json(const char *text)
{
    assert_true(valid_utf8((const unsigned char *)text, strlen(text)));
    const char *end = json_value(text, 0);
    assert_non_null(end);
    assert_int_equal(*json_ws(end), '\0');
}
/* }=== */

/* {=== the fixed formats on the two reference messages */
static void test_rfc5424_example(void **state)
{
    struct sl_msg *m = parse(EXAMPLE1);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    expect_line("raw", m, EXAMPLE1);
    /* As rsyslog: no ':' after an RFC 5424 tag, and the BOM kept. */
    expect_line("rfc3164", m, "Oct 11 22:14:15 mymachine.example.com su "
                "\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8");
    expect_line("rfc5424", m, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                "'su root' failed for lonvick on /dev/pts/8");
    char *j = line("json", m);
    assert_string_equal(j, "{\"pri\":34,\"facility\":\"auth\",\"severity\":\"crit\",\"version\":1,"
                        "\"timestamp\":\"2003-10-11T22:14:15.003Z\",\"received\":\"2026-11-22T12:00:00.123456+00:00\",\"hostname\":"
                        "\"mymachine.example.com\",\"app_name\":\"su\",\"procid\":null,"
                        "\"msgid\":\"ID47\",\"sd\":null,\"msg\":\"'su root' failed for lonvick "
                        "on /dev/pts/8\",\"input\":\"test\"}");
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}

static void test_rfc3164_message(void **state)
{
    struct sl_msg *m = parse(BSD1);
    assert_int_equal(m->format, SL_FMT_RFC3164);
    expect_line("raw", m, BSD1);
    expect_line("rfc3164", m, "Nov 22 10:00:00 myhost prog[123]: text");
    expect_line("rfc5424", m, "<13>1 2026-11-22T10:00:00+00:00 myhost prog 123 - - text");
    char *j = line("json", m);
    assert_string_equal(j, "{\"pri\":13,\"facility\":\"user\",\"severity\":\"notice\",\"version\":0,"
                        "\"timestamp\":\"2026-11-22T10:00:00+00:00\",\"received\":\"2026-11-22T12:00:00.123456+00:00\",\"hostname\":\"myhost\","
                        "\"app_name\":\"prog\",\"procid\":\"123\",\"msgid\":null,\"sd\":null,"
                        "\"msg\":\"text\",\"input\":\"test\"}");
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}

static void test_rfc3164_without_tag(void **state)
{
    struct sl_msg *m = parse("<14>Nov  2 03:04:05 web1 just some words");
    char *l = line("rfc3164", m);
    /* Whatever the parser took for a TAG, the day is space-padded and the
     * words are all there. */
    assert_memory_equal(l, "Nov  2 03:04:05 web1 ", 21);
    assert_non_null(strstr(l, "some words"));
    free(l);
    m->app_name = SL_STR_NIL;
    m->procid = SL_STR_NIL;
    m->msg = (struct sl_str){"just some words", 15};
    expect_line("rfc3164", m, "Nov  2 03:04:05 web1 just some words");
    sl_msg_unref(m);
}

static void test_nil_fields(void **state)
{
    struct sl_msg *m = parse("<165>1 - - - - - -");
    assert_int_equal(m->format, SL_FMT_RFC5424);
    /* No timestamp: rfc5424 writes the received time, in local time (UTC here). */
    expect_line("rfc5424", m, "<165>1 2026-11-22T12:00:00.123456+00:00 - - - - -");
    char *j = line("json", m);
    assert_string_equal(j, "{\"pri\":165,\"facility\":\"local4\",\"severity\":\"notice\","
                        /* NILVALUE: null, and the received time beside it */
                        "\"version\":1,\"timestamp\":null,"
                        "\"received\":\"2026-11-22T12:00:00.123456+00:00\",\"hostname\":null,\"app_name\":null,\"procid\":null,\"msgid\":null,"
                        "\"sd\":null,\"msg\":null,\"input\":\"test\"}");
    assert_json(j);
    free(j);
    expect_line("{hostname}|{app_name}|{procid}|{msgid}|{sd}|{msg}|{peer}", m, "-|-|-|-|-|-|-");
    /* rsyslog's %syslogtag% of a NIL APP-NAME is "-", and
     * sp-if-no-1st-sp writes a space before an empty message. */
    expect_line("rfc3164", m, "Nov 22 12:00:00 - - ");
    sl_msg_unref(m);
}

static void test_unparsed(void **state)
{
    struct sl_msg *m = parse("no pri at all");
    assert_int_equal(m->format, SL_FMT_UNPARSED);
    expect_line("raw", m, "no pri at all");
    char *j = line("json", m);
    assert_non_null(strstr(j, "\"msg\":\"no pri at all\""));
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}
/* }=== */

/* {=== escaping */
static void test_sd_json(void **state)
{
    struct sl_msg *m = parse("<165>1 2003-10-11T22:14:15.003Z h app - ID47 "
                             "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"]"
                             "[esc@1 q=\"say \\\"hi\\\"\" b=\"a\\\\b\" r=\"x\\]y\" o=\"\\n\" q=\"dup\"]"
                             " body");
    assert_int_equal(m->format, SL_FMT_RFC5424);
    char *j = line("json", m);
    /* q given twice: an array of both values, in order. */
    assert_non_null(strstr(j, "\"sd\":{\"exampleSDID@32473\":{\"iut\":\"3\",\"eventSource\":"
                              "\"Application\"},\"esc@1\":{\"q\":[\"say \\\"hi\\\"\",\"dup\"],"
                              "\"b\":\"a\\\\b\",\"r\":\"x]y\",\"o\":\"\\\\n\"}},\"msg\":\"body\""));
    assert_json(j);
    free(j);
    /* The text formats keep SD as sent. */
    char *l = line("rfc5424", m);
    assert_non_null(strstr(l, "[esc@1 q=\"say \\\"hi\\\"\" b=\"a\\\\b\" r=\"x\\]y\""));
    free(l);
    sl_msg_unref(m);
}

/* A hostile SD with thousands of elements and params, many repeated: each
 * SD-ID once, its repeats merged into it, every value kept in order, and
 * the format object reused for the next message starts clean. */
static void test_sd_json_many_repeats(void **state)
{
    struct sluice_buf raw = {0};
    const char *head = "<165>1 - h app - - ";
    assert_int_equal(sl_buf_append(&raw, head, strlen(head)), 0);
    char el[64];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(el, sizeof el, "[id%d x=\"%d\" x=\"no\"]", i % 1000, i);
        assert_int_equal(sl_buf_append(&raw, el, (size_t)n), 0);
    }
    struct sl_msg *m = parse_at(raw.data, raw.len, NOW, 0);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    struct sl_format *f = NULL;
    char err[256];
    assert_int_equal(sl_format_new("json", &f, err, sizeof err), 0);
    struct sluice_buf b = {0};
    assert_int_equal(sl_format_append(f, m, &b), 0);
    assert_int_equal(sl_buf_append(&b, "", 1), 0);
    assert_json(b.data);
    assert_non_null(strstr(b.data, "\"id0\":{\"x\":[\"0\",\"no\",\"1000\",\"no\",\"2000\","
                                   "\"no\"]}"));
    assert_non_null(strstr(b.data, "\"id999\":{\"x\":[\"999\",\"no\",\"1999\",\"no\","
                                   "\"2999\",\"no\"]}}"));
    /* Each of the 1000 ids appears exactly once. */
    size_t count = 0;
    for (const char *p = b.data; (p = strstr(p, "\"id")) != NULL; p++)
        count++;
    assert_int_equal(count, 1000);
    /* The same format object on a second message: no stale entries. */
    struct sl_msg *m2 = parse("<165>1 - h app - - [id0 x=\"fresh\"][id1 y=\"1\"] body");
    b.len = 0;
    assert_int_equal(sl_format_append(f, m2, &b), 0);
    assert_int_equal(sl_buf_append(&b, "", 1), 0);
    assert_non_null(strstr(b.data, "\"sd\":{\"id0\":{\"x\":\"fresh\"},\"id1\":{\"y\":\"1\"}}"));
    free(b.data);
    free(raw.data);
    sl_format_free(f);
    sl_msg_unref(m2);
    sl_msg_unref(m);
}

/* RFC 5424 7.2.5's own example, and a repeated SD-ID merged into the
 * first, its new names after the first's, a repeat across the two an array. */
static void test_sd_json_repeated_params(void **state)
{
    struct sl_msg *m = parse("<165>1 - h app - - [origin ip=\"192.0.2.1\" ip=\"192.0.2.129\"]"
                             "[a@1 x=\"1\" q=\"\\]\"][b@1 y=\"2\"][a@1 z=\"3\" x=\"4\"] body");
    char *j = line("json", m);
    assert_json(j);
    assert_non_null(strstr(j, "\"sd\":{\"origin\":{\"ip\":[\"192.0.2.1\",\"192.0.2.129\"]},"
                              "\"a@1\":{\"x\":[\"1\",\"4\"],\"q\":\"]\",\"z\":\"3\"},"
                              "\"b@1\":{\"y\":\"2\"}},\"msg\":\"body\""));
    free(j);
    /* rfc5424 passes the SD through as it came. */
    expect_line("rfc5424", m, "<165>1 2026-11-22T12:00:00.123456+00:00 h app - - "
                "[origin ip=\"192.0.2.1\" ip=\"192.0.2.129\"][a@1 x=\"1\" q=\"\\]\"][b@1 y=\"2\"]"
                "[a@1 z=\"3\" x=\"4\"] body");
    sl_msg_unref(m);
}

static void test_sd_param_without_params(void **state)
{
    struct sl_msg *m = parse("<165>1 - h app - - [a@1][b@2 x=\"\"]");
    char *j = line("json", m);
    assert_non_null(strstr(j, "\"sd\":{\"a@1\":{},\"b@2\":{\"x\":\"\"}},\"msg\":"));
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}

static void test_json_bad_utf8_and_controls(void **state)
{
    static const char raw[] = "<13>1 - h app - - - "
        "ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" /* e-acute, euro, emoji: kept */
        "|\xff|\xc3\x28|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82" /* invalid */
        "|\x01\x1f\x7f\n\t|\"\\|\x00|end";
    struct sl_msg *m = parse_at(raw, sizeof raw - 1, NOW, 0);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    char *j = line("json", m);
    assert_json(j);
    const char *want = "\"msg\":\"ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
        /* each invalid byte as \\xNN (an escaped backslash, as syslog-ng) */
        "|\\\\xff|\\\\xc3(|\\\\xc0\\\\xaf|\\\\xed\\\\xa0\\\\x80"
        "|\\\\xf4\\\\x90\\\\x80\\\\x80|\\\\xe2\\\\x82"
        "|\\u0001\\u001f\\u007f\\u000a\\u0009|\\\"\\\\|\\u0000|end\"";
    assert_non_null(strstr(j, want));
    free(j);
    sl_msg_unref(m);
}

static void test_text_escaping(void **state)
{
    static const char raw[] = "<13>1 - h app - - - a\nb\tc\rd\x01\x7f\xff";
    struct sl_msg *m = parse_at(raw, sizeof raw - 1, NOW, 0);
    m->ts = (struct sl_time){.sec = 1065910455, .flags = SL_TIME_VALID | SL_TIME_HAS_TZ};
    expect_line("rfc5424", m, "<13>1 2003-10-11T22:14:15+00:00 h app - - - "
                "a#012b\tc#015d#001#177\xff");
    /* rsyslog escapes TAB too. */
    expect_line("rfc3164", m, "Oct 11 22:14:15 h app a#012b#011c#015d#001#177\xff");
    expect_line("{msg}", m, "a#012b\tc#015d#001#177\xff");
    expect_line("raw", m, "<13>1 - h app - - - a#012b\tc#015d#001#177\xff");
    sl_msg_unref(m);

    /* A line end left on the raw bytes is not written as #012. */
    m = parse("<13>Nov 22 10:00:00 host prog: x\n");
    expect_line("raw", m, "<13>Nov 22 10:00:00 host prog: x");
    sl_msg_unref(m);
}
/* }=== */

/* {=== templates */
static void test_template_every_field(void **state)
{
    struct sl_msg *m = parse("<165>1 2003-08-24T05:14:15.000003-07:00 host app 42 ID1 "
                             "[a@1 k=\"v\"] hello");
    m->peer = (struct sl_str){"10.0.0.1:514", 12};
    expect_line("{pri} {facility} {severity} {version} {timestamp} {received}", m,
                "165 local4 notice 1 2003-08-24T05:14:15.000003-07:00 "
                "2026-11-22T12:00:00.123456+00:00");
    expect_line("{hostname} {app_name} {procid} {msgid} {sd} {msg} {input} {peer}", m,
                "host app 42 ID1 [a@1 k=\"v\"] hello test 10.0.0.1:514");
    expect_line("{raw}", m, "<165>1 2003-08-24T05:14:15.000003-07:00 host app 42 ID1 "
                "[a@1 k=\"v\"] hello");
    expect_line("[{pid}|{uid}|{gid}]", m, "[||]");
    m->flags |= SL_MSG_HAS_CRED;
    m->pid = 4321;
    m->uid = 0;
    m->gid = 100;
    expect_line("[{pid}|{uid}|{gid}]", m, "[4321|0|100]");
    sl_msg_unref(m);
}

static void test_template_braces(void **state)
{
    struct sl_msg *m = parse(BSD1);
    expect_line("{{{app_name}}} {{}}", m, "{prog} {}");
    expect_line("{{msg}}", m, "{msg}");
    expect_line("x{msg}", m, "xtext");
    expect_line("{msg}{msg}", m, "texttext");
    sl_msg_unref(m);
}

static void test_template_errors(void **state)
{
    expect_error("{hostnme} x", "unknown field {hostnme} in template, did you mean {hostname}?");
    expect_error("{ msg }", "unknown field { msg } in template, did you mean {msg}?");
    /* One edit from msg and from msgid: the table's order decides, as in Lua. */
    expect_error("{msgi}", "unknown field {msgi} in template, did you mean {msgid}?");
    expect_error("{bogus_thing}", "unknown field {bogus_thing} in template (fields: pri "
                 "facility severity version timestamp received hostname app_name procid msgid "
                 "sd msg raw input peer pid uid gid tag fields.KEY)");
    expect_error("{}", "unknown field {} in template (fields: pri facility severity version "
                 "timestamp received hostname app_name procid msgid sd msg raw input peer pid "
                 "uid gid tag fields.KEY)");
    expect_error("{fields.}", "{fields.} in template needs a key, as in {fields.user}");
    expect_error("{msg} {", "unterminated { in template (write {{ for a literal brace)");
    expect_error("{msg", "unterminated { in template (write {{ for a literal brace)");
    expect_error("{msg} }", "unmatched } in template (write }} for a literal brace)");
    expect_error("rfc3146", "unknown format 'rfc3146', did you mean 'rfc3164'?");
    expect_error("jsno", "unknown format 'jsno', did you mean 'json'?");
    /* The one rule (sl_closest): the closest name, within 2 edits and fewer
     * than the word is long. */
    expect_error("rfc3424", "unknown format 'rfc3424', did you mean 'rfc5424'?");
    expect_error("rwa", "unknown format 'rwa', did you mean 'raw'?");
    expect_error("{s}", "unknown field {s} in template (fields: pri facility severity version "
                 "timestamp received hostname app_name procid msgid sd msg raw input peer pid "
                 "uid gid tag fields.KEY)");
    expect_error("{sdxy}", "unknown field {sdxy} in template, did you mean {sd}?");
    expect_error("plain text", "unknown format \"plain text\": use raw, rfc3164, rfc5424, "
                 "json, rsyslog or a template with {field} placeholders");
}

/* {fields.KEY} with a key no input or transform can set (sl_msg_field_key_ok)
 * would always be empty: refused when the format is made (--check). */
static void test_template_refuses_unsettable_field_key(void **state)
{
    static const char *const bad[][2] = {
        {"{fields.a b}", "{fields.a b}"},        {"{fields.a\tb}", "{fields.a\\x09b}"},
        {"{fields.x/y}", "{fields.x/y}"},        {"{fields.\xc3\xa9}", "{fields.\\xc3\\xa9}"},
        {"{fields.a\nb}", "{fields.a\\x0ab}"}, {"{fields.a:b}", "{fields.a:b}"}};
    char want[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(want, sizeof want, "%s in template can never be set: a field key is 1 to 64 "
                 "letters, digits, '_', '-' or '.'", bad[i][1]);
        expect_error(bad[i][0], want);
    }
    char longest[128];
    snprintf(longest, sizeof longest, "{fields.%065d}", 0); /* 65 bytes: one too many */
    snprintf(want, sizeof want, "%s in template can never be set: a field key is 1 to 64 "
             "letters, digits, '_', '-' or '.'", longest);
    expect_error(longest, want);
    struct sl_format *f = NULL;
    char err[256] = "";
    assert_int_equal(sl_format_new("{fields.user-id.v_2} {fields.A}", &f, err, sizeof err), 0);
    sl_format_free(f);
}

static void test_field_names(void **state)
{
    static const char *const names[] = {"pri", "facility", "severity", "version", "timestamp",
        "received", "hostname", "app_name", "procid", "msgid", "sd", "msg", "raw", "input",
        "peer", "pid", "uid", "gid"};
    for (int i = 0; i < 18; i++)
        assert_int_equal(sl_field_from_name(names[i], strlen(names[i])), SLUICE_FIELD_PRI + i);
    assert_int_equal(sl_field_from_name("msgx", 3), SLUICE_FIELD_MSG);
    assert_int_equal(sl_field_from_name("msgx", 4), -1);
    assert_int_equal(sl_field_from_name("", 0), -1);
    assert_int_equal(sl_field_from_name("MSG", 3), -1);
    /* Extra fields are a template's business, not a field of their own. */
    assert_int_equal(sl_field_from_name("fields.user", 11), -1);
    assert_int_equal(sl_field_from_name("fields", 6), -1);
}
/* }=== */

/* {=== time */
static void test_timestamp_precision_kept(void **state)
{
    static const char *const stamps[] = {
        "2003-08-24T05:14:15.000003-07:00", "1985-04-12T23:20:50.52Z",
        "2003-10-11T22:14:15.003Z", "2026-01-01T00:00:00+05:45", "2026-12-31T23:59:59.123456789Z",
        "2026-06-30T12:00:00-00:30", "2026-02-28T01:02:03.4+14:00",
    };
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        char raw[128], want[160];
        snprintf(raw, sizeof raw, "<13>1 %s h a - - - m", stamps[i]);
        struct sl_msg *m = parse(raw);
        assert_int_equal(m->format, SL_FMT_RFC5424);
        expect_line("{timestamp}", m, stamps[i]);
        snprintf(want, sizeof want, "<13>1 %s h a - - - m", stamps[i]);
        expect_line("rfc5424", m, want);
        char *j = line("json", m);
        snprintf(want, sizeof want, "\"timestamp\":\"%s\"", stamps[i]);
        assert_non_null(strstr(j, want));
        free(j);
        char text[64];
        assert_int_equal(sl_time_rfc3339(&m->ts, text), strlen(stamps[i]));
        assert_string_equal(text, stamps[i]);
        sl_msg_unref(m);
    }
}

static void test_rfc3164_local_offset(void **state)
{
    set_tz("IST-5:30");
    struct sl_msg *m = parse_at("<13>Nov 22 10:00:00 host prog: x", 32, NOW, 330);
    expect_line("{timestamp}", m, "2026-11-22T10:00:00+05:30");
    expect_line("rfc3164", m, "Nov 22 10:00:00 host prog: x");
    /* The received time has no offset either: local time, with the offset. */
    expect_line("{received}", m, "2026-11-22T17:30:00.123456+05:30");
    /* An RFC 5424 time is written in its own offset, by rfc3164 too: so
     * does rsyslog's traditional file format (date-rfc3164). */
    sl_msg_unref(m);
    m = parse("<13>1 2003-08-24T05:14:15.000003-07:00 h a - - - m");
    expect_line("{timestamp}", m, "2003-08-24T05:14:15.000003-07:00");
    expect_line("rfc3164", m, "Aug 24 05:14:15 h a m");
    sl_msg_unref(m);
    set_tz("UTC");
}

static void test_rfc3164_year(void **state)
{
    /* A December message read in January belongs to the year before. */
    struct sl_msg *m = parse_at("<13>Dec 31 23:59:59 host prog: x", 32, NOW_JANUARY, 0);
    expect_line("{timestamp}", m, "2026-12-31T23:59:59+00:00");
    sl_msg_unref(m);
    m = parse_at("<13>Jan  5 11:00:00 host prog: x", 32, NOW_JANUARY, 0);
    expect_line("{timestamp}", m, "2027-01-05T11:00:00+00:00");
    sl_msg_unref(m);
}

static void test_time_cache_follows_changes(void **state)
{
    struct sl_format *f;
    char err[128];
    struct sluice_buf b = {0};
    assert_int_equal(sl_format_new("{timestamp} {received}", &f, err, sizeof err), 0);
    struct sl_msg *m = parse("<13>1 2003-08-24T05:14:15-07:00 h a - - - m");
    struct sl_time *t = &m->ts;
    assert_int_equal(sl_format_append(f, m, &b), 0);
    t->tzoff_min = 60;
    assert_int_equal(sl_format_append(f, m, &b), 0);
    t->flags |= SL_TIME_ZULU;
    t->tzoff_min = 0;
    assert_int_equal(sl_format_append(f, m, &b), 0);
    t->sec += 1;
    t->nsec = 5000000;
    t->frac_digits = 3;
    assert_int_equal(sl_format_append(f, m, &b), 0);
    t->flags &= (uint8_t)~(SL_TIME_ZULU | SL_TIME_HAS_TZ);
    assert_int_equal(sl_format_append(f, m, &b), 0);
    static const char want[] =
        "2003-08-24T05:14:15-07:00 2026-11-22T12:00:00.123456+00:00\n"
        "2003-08-24T13:14:15+01:00 2026-11-22T12:00:00.123456+00:00\n"
        "2003-08-24T12:14:15Z 2026-11-22T12:00:00.123456+00:00\n"
        "2003-08-24T12:14:16.005Z 2026-11-22T12:00:00.123456+00:00\n"
        "2003-08-24T12:14:16.005+00:00 2026-11-22T12:00:00.123456+00:00\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    free(b.data);
    sl_format_free(f);
    sl_msg_unref(m);
}

static void test_time_rfc3339_direct(void **state)
{
    char out[48];
    struct sl_time t = {.sec = 0, .flags = SL_TIME_VALID | SL_TIME_HAS_TZ | SL_TIME_ZULU};
    assert_int_equal(sl_time_rfc3339(&t, out), 20);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    t = (struct sl_time){.sec = 951782400, .nsec = 1, .frac_digits = 9, .tzoff_min = -754,
                         .flags = SL_TIME_VALID | SL_TIME_HAS_TZ};
    sl_time_rfc3339(&t, out);
    assert_string_equal(out, "2000-02-28T11:26:00.000000001-12:34");
    t = (struct sl_time){.sec = 951868799, .flags = SL_TIME_VALID}; /* leap day, local UTC */
    sl_time_rfc3339(&t, out);
    assert_string_equal(out, "2000-02-29T23:59:59+00:00");
    t.sec = -1; /* before the epoch */
    sl_time_rfc3339(&t, out);
    assert_string_equal(out, "1969-12-31T23:59:59+00:00");
}

static void test_credentials_json(void **state)
{
    struct sl_msg *m = parse(BSD1);
    char *j = line("json", m);
    assert_null(strstr(j, "\"pid\""));
    free(j);
    m->flags |= SL_MSG_HAS_CRED;
    m->pid = 77;
    m->uid = 1000;
    m->gid = 1001;
    j = line("json", m);
    assert_non_null(strstr(j, ",\"input\":\"test\",\"pid\":77,\"uid\":1000,\"gid\":1001}"));
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}
/* }=== */

/* {=== extra fields (set by transforms; see test_rewrite.c) */
static const struct sl_field extras[] = {
    {{"user", 4}, {"root", 4}},
    {{"note", 4}, {"a \"q\"\n\xff", 7}},
    {{"empty", 5}, {"", 0}},
    {{"a.b-c_d", 7}, {"dotted", 6}},
};

static void test_extra_fields_json(void **state)
{
    struct sl_msg *m = parse(BSD1);
    char *j = line("json", m);
    assert_null(strstr(j, "\"fields\"")); /* none: no key */
    free(j);
    m->fields = extras;
    m->nfields = 4;
    j = line("json", m);
    /* note holds a byte that is not UTF-8: binary, so base64. */
    assert_non_null(strstr(j, ",\"input\":\"test\",\"fields\":{\"user\":\"root\","
                              "\"note\":{\"base64\":\"YSAicSIK/w==\"},\"empty\":\"\","
                              "\"a.b-c_d\":\"dotted\"}}"));
    assert_json(j);
    free(j);
    /* After the credentials, the last key. */
    m->flags |= SL_MSG_HAS_CRED;
    m->nfields = 1;
    j = line("json", m);
    assert_non_null(strstr(j, ",\"gid\":0,\"fields\":{\"user\":\"root\"}}"));
    assert_json(j);
    free(j);
    sl_msg_unref(m);
}

static void test_extra_fields_template(void **state)
{
    struct sl_msg *m = parse(BSD1);
    /* Absent is written as other absent fields are. */
    expect_line("[{fields.user}] {msg}", m, "[-] text");
    m->fields = extras;
    m->nfields = 4;
    expect_line("[{fields.user}] {msg}", m, "[root] text");
    expect_line("{fields.note}|{fields.empty}|{fields.a.b-c_d}|{fields.nope}|{fields.User}", m,
                "a \"q\"#012\xff|-|dotted|-|-");
    expect_line("{{fields.user}} {fields.user}{fields.user}", m, "{fields.user} rootroot");
    /* The fixed formats but rfc5424 do not show them. */
    expect_line("rfc3164", m, "Nov 22 10:00:00 myhost prog[123]: text");
    expect_line("rsyslog", m, "2026-11-22T10:00:00+00:00 myhost prog[123]: text");
    expect_line("raw", m, BSD1);
    sl_msg_unref(m);
}

/* Binary in journalctl's sense: not valid UTF-8, or a control character
 * but TAB and LF (C1 included). Standard base64 with padding, every
 * length of the last group. Header fields keep \\xNN. */
static void test_extra_fields_binary_json(void **state)
{
    static const struct sl_field bin[] = {
        {{"nul", 3}, {"a\0b\xff", 4}},
        {{"one", 3}, {"\x7f", 1}},
        {{"two", 3}, {"\x01" "b", 2}},
        {{"three", 5}, {"ab\x01", 3}},
        {{"c1", 2}, {"\xc2\x85", 2}},
        {{"text", 4}, {"tab\there\nnl \xc3\xa9 \xc2\xa0", 17}},
        {{"cr", 2}, {"\r", 1}},
        {{"esc", 3}, {"\x1b[0m", 4}},
    };
    static const char raw[] = "<13>1 - h app - - - m\xff";
    struct sl_msg *m = parse_at(raw, sizeof raw - 1, NOW, 0);
    m->fields = bin;
    m->nfields = sizeof bin / sizeof bin[0];
    char *j = line("json", m);
    assert_json(j);
    assert_non_null(strstr(j, "\"msg\":\"m\\\\xff\""));
    assert_non_null(strstr(j, ",\"fields\":{\"nul\":{\"base64\":\"YQBi/w==\"},"
                              "\"one\":{\"base64\":\"fw==\"},\"two\":{\"base64\":\"AWI=\"},"
                              "\"three\":{\"base64\":\"YWIB\"},\"c1\":{\"base64\":\"woU=\"},"
                              "\"text\":\"tab\\u0009here\\u000anl \xc3\xa9 \xc2\xa0\","
                              "\"cr\":{\"base64\":\"DQ==\"},\"esc\":{\"base64\":\"G1swbQ==\"}}}"));
    free(j);
    /* A template escapes it as it escapes control bytes. */
    expect_line("{fields.nul}|{fields.esc}|{fields.text}", m,
                "a#000b\xff|#033[0m|tab\there#012nl \xc3\xa9 \xc2\xa0");
    sl_msg_unref(m);
}

/* rfc5424: the extra fields as one SD element, fields@32473, after the
 * message's own SD or in place of its "-". */
static void test_extra_fields_rfc5424(void **state)
{
    static const struct sl_field x[] = {
        {{"user", 4}, {"root", 4}},
        {{"q", 1}, {"a\"b\\c]d", 7}},
        {{"bin", 3}, {"a\0b\xff\xc3\xa9\t\n", 8}},
        {{"empty", 5}, {"", 0}},
        {{"k23456789012345678901234567890123", 33}, {"too long a name", 15}},
        {{"k2345678901234567890123456789012", 32}, {"fits", 4}},
        {{"_SYSTEMD_UNIT", 13}, {"a.service", 9}},
    };
    struct sl_msg *m = parse(BSD1);
    expect_line("rfc5424", m, "<13>1 2026-11-22T10:00:00+00:00 myhost prog 123 - - text");
    m->fields = x;
    m->nfields = sizeof x / sizeof x[0];
    expect_line("rfc5424", m, "<13>1 2026-11-22T10:00:00+00:00 myhost prog 123 - "
                "[fields@32473 user=\"root\" q=\"a\\\"b\\\\c\\]d\" bin=\"a#000b#377\xc3\xa9\t#012\" "
                "empty=\"\" k2345678901234567890123456789012=\"fits\" "
                "_SYSTEMD_UNIT=\"a.service\"] text");
    /* Only keys too long for an SD-NAME: no element at all. */
    m->fields = x + 4;
    m->nfields = 1;
    expect_line("rfc5424", m, "<13>1 2026-11-22T10:00:00+00:00 myhost prog 123 - - text");
    sl_msg_unref(m);

    /* After the message's own SD; json shows its SD and its fields apart. */
    m = parse("<165>1 2003-10-11T22:14:15.003Z h app - ID47 [a@1 x=\"1\"] body");
    m->fields = x;
    m->nfields = 1;
    expect_line("rfc5424", m, "<165>1 2003-10-11T22:14:15.003Z h app - ID47 "
                "[a@1 x=\"1\"][fields@32473 user=\"root\"] body");
    /* A message with an element of that SD-ID already (from a relay): the
     * fields join it, as an SD-ID must not repeat. */
    struct sl_msg *r = parse("<165>1 - h app - - [a@1 x=\"1\"][fields@32473 user=\"x\"][b@1] b");
    r->fields = x;
    r->nfields = 2;
    expect_line("rfc5424", r, "<165>1 2026-11-22T12:00:00.123456+00:00 h app - - [a@1 x=\"1\"]"
                "[fields@32473 user=\"x\" user=\"root\" q=\"a\\\"b\\\\c\\]d\"][b@1] b");
    sl_msg_unref(r);
    r = parse("<165>1 - h app - - [fields@32473] b");
    r->fields = x;
    r->nfields = 1;
    expect_line("rfc5424", r, "<165>1 2026-11-22T12:00:00.123456+00:00 h app - - "
                "[fields@32473 user=\"root\"] b");
    sl_msg_unref(r);
    /* A rewrite's raw text is the message's own syntax: no fields there. */
    char out[512];
    size_t n = sl_format_origin(m, out);
    assert_int_equal(n, sl_format_origin_len(m));
    out[n] = '\0';
    assert_string_equal(out, "<165>1 2003-10-11T22:14:15.003Z h app - ID47 [a@1 x=\"1\"] body");
    sl_msg_unref(m);
}

/* Long values: the line bound must cover their escapes (format_append
 * asserts it). */
static void test_extra_fields_bound(void **state)
{
    static char ctl[4096], quote[4096], bad[4096];
    memset(ctl, '\x01', sizeof ctl);
    memset(quote, '"', sizeof quote);
    memset(bad, '\xff', sizeof bad);
    struct sl_field big[4] = {{{"k", 1}, {ctl, sizeof ctl}},
                              {{"q", 1}, {quote, sizeof quote}},
                              {{"b", 1}, {bad, sizeof bad}},
                              {{"\x01", 1}, {ctl, 100}}};
    struct sl_msg *m = parse(BSD1);
    m->fields = big;
    m->nfields = 4;
    char *j = line("json", m);
    assert_json(j);
    assert_true(strlen(j) > 2 * sizeof quote + 2 * 4 * sizeof ctl / 3);
    free(j);
    char *t = line("{fields.k}", m);
    assert_int_equal(strlen(t), 4 * sizeof ctl);
    free(t);
    /* rfc5424: 4 bytes for each control or bad byte, 2 for each quote; the
     * key that is no SD-NAME left out. */
    t = line("rfc5424", m);
    assert_true(strlen(t) > 4 * sizeof ctl + 2 * sizeof quote + 4 * sizeof bad);
    assert_null(strstr(t, "\x01=\""));
    free(t);
    sl_msg_unref(m);
}
/* }=== */

/* {=== buffers */
static void test_buffer_growth(void **state)
{
    struct sluice_buf b = {0};
    char chunk[37];
    memset(chunk, 'x', sizeof chunk);
    size_t grows = 0, cap = 0;
    for (int i = 0; i < 100000; i++) {
        chunk[0] = (char)('a' + i % 26);
        assert_int_equal(sl_buf_append(&b, chunk, sizeof chunk), 0);
        if (b.cap != cap) {
            grows++;
            cap = b.cap;
        }
    }
    assert_int_equal(b.len, 100000 * sizeof chunk);
    assert_true(grows < 20); /* geometric: log2(3.7M / 256) */
    for (int i = 0; i < 100000; i += 997)
        assert_int_equal(b.data[i * sizeof chunk], 'a' + i % 26);
    assert_int_equal(sl_buf_append(&b, NULL, 0), 0);
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX / 2), -ENOMEM);
    free(b.data);
}

static void test_many_lines_one_buffer(void **state)
{
    struct sl_format *f[4];
    static const char *const specs[] = {"raw", "rfc3164", "rfc5424", "json"};
    char err[128];
    for (int i = 0; i < 4; i++)
        assert_int_equal(sl_format_new(specs[i], &f[i], err, sizeof err), 0);
    struct sl_msg *m = parse("<165>1 2003-10-11T22:14:15.003Z h app - - [a@1 k=\"\\\"\"] "
                             "\x01\x01\x01\x01\x01\xff\xff\xff");
    struct sluice_buf b = {0};
    for (int i = 0; i < 4000; i++)
        assert_int_equal(sl_format_append(f[i % 4], m, &b), 0);
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    assert_int_equal(lines, 4000);
    free(b.data);
    for (int i = 0; i < 4; i++)
        sl_format_free(f[i]);
    sl_format_free(NULL);
    sl_msg_unref(m);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5424_example),
        cmocka_unit_test(test_sd_json_many_repeats),
        cmocka_unit_test(test_sd_json_repeated_params),
        cmocka_unit_test(test_rfc3164_message),
        cmocka_unit_test(test_rfc3164_without_tag),
        cmocka_unit_test(test_nil_fields),
        cmocka_unit_test(test_unparsed),
        cmocka_unit_test(test_sd_json),
        cmocka_unit_test(test_sd_param_without_params),
        cmocka_unit_test(test_json_bad_utf8_and_controls),
        cmocka_unit_test(test_text_escaping),
        cmocka_unit_test(test_template_every_field),
        cmocka_unit_test(test_template_braces),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_template_refuses_unsettable_field_key),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_timestamp_precision_kept),
        cmocka_unit_test(test_rfc3164_local_offset),
        cmocka_unit_test(test_rfc3164_year),
        cmocka_unit_test(test_time_cache_follows_changes),
        cmocka_unit_test(test_time_rfc3339_direct),
        cmocka_unit_test(test_credentials_json),
        cmocka_unit_test(test_extra_fields_json),
        cmocka_unit_test(test_extra_fields_template),
        cmocka_unit_test(test_extra_fields_binary_json),
        cmocka_unit_test(test_extra_fields_rfc5424),
        cmocka_unit_test(test_extra_fields_bound),
        cmocka_unit_test(test_buffer_growth),
        cmocka_unit_test(test_many_lines_one_buffer),
    };
    return cmocka_run_group_tests(tests, setup_utc, NULL);
}
