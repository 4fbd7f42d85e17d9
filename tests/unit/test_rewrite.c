/* SPDX-License-Identifier: MIT */
/* test_rewrite.c: copy-on-write rewrites of messages (core/route/rewrite.c), and
 * how they are released (core/common/msg.c) and written (core/format/format.c). */
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
#include "route/rewrite.h"

/* 2026-11-22T12:00:00Z: "now" for RFC 3164's year-less timestamps. */
#define NOW 1795348800

#define R5424 "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 " \
              "[origin@48577 ip=\"10.0.0.1\"] login password=hunter2 ok"
#define R3164 "<13>Nov 22 10:00:00 web1 prog[123]: login password=hunter2 ok"

/* {=== helpers */
static int setup_utc(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static struct sl_msg *parse(const char *raw)
{
    struct sl_msg *m = sl_msg_new_heap(raw, strlen(raw), "test");
    assert_non_null(m);
    struct sl_parse_ctx ctx = {.hostname = {"myhost", 6}, .now = NOW, .tzoff_min = 0};
    sl_parse(m, &ctx);
    m->received = (struct sl_time){.sec = NOW, .nsec = 123456000, .frac_digits = 6,
                                   .flags = SL_TIME_VALID};
    return m;
}

static struct sl_str str(const char *s)
{
    return (struct sl_str){s, (uint32_t)strlen(s)};
}

static void assert_str(struct sl_str s, const char *want)
{
    if (want == NULL) {
        assert_null(s.p);
        return;
    }
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static unsigned refs(struct sl_msg *m)
{
    return atomic_load(&m->refs);
}

/* Checks e and applies it; the edit must be valid. */
static struct sl_msg *rewrite(struct sl_msg *m, const struct sl_msg_edit *e)
{
    char err[256] = "";
    assert_int_equal(sl_msg_edit_check(e, err, sizeof err), 0);
    struct sl_msg *r = sl_msg_rewrite(m, e);
    assert_non_null(r);
    assert_int_equal(refs(r), 1);
    assert_null(r->chunk);
    assert_true(r->flags & SL_MSG_REWRITTEN);
    return r;
}

static struct sl_msg *edit_msg(struct sl_msg *m, const char *text)
{
    struct sl_msg_edit e = {.set = SL_EDIT_MSG, .msg = str(text)};
    return rewrite(m, &e);
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
    b.data[b.len - 1] = '\0';
    return b.data;
}

static void expect_line(const char *spec, const struct sl_msg *m, const char *want)
{
    char *got = line(spec, m);
    assert_string_equal(got, want);
    free(got);
}

static void expect_refused(const struct sl_msg_edit *e, const char *want)
{
    char err[256] = "";
    assert_int_equal(sl_msg_edit_check(e, err, sizeof err), -EINVAL);
    assert_string_equal(err, want);
}

static void expect_accepted(const struct sl_msg_edit *e)
{
    char err[256] = "";
    int rc = sl_msg_edit_check(e, err, sizeof err);
    if (rc != 0)
        fail_msg("unexpected check failure: %s", err);
}
/* }=== */

/* {=== edits */
static void test_edit_msg_rfc5424(void **state)
{
    struct sl_msg *m = parse(R5424);
    assert_int_equal(m->format, SL_FMT_RFC5424);
    struct sl_msg *r = edit_msg(m, "login password=*** ok");
    assert_ptr_equal(r->base, m);
    assert_int_equal(refs(m), 2);
    assert_str(r->msg, "login password=*** ok");
    assert_str(r->raw, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 "
                       "[origin@48577 ip=\"10.0.0.1\"] login password=*** ok");
    /* Unchanged fields point into the base's bytes. */
    assert_ptr_equal(r->hostname.p, m->hostname.p);
    assert_ptr_equal(r->app_name.p, m->app_name.p);
    assert_ptr_equal(r->procid.p, m->procid.p);
    assert_ptr_equal(r->msgid.p, m->msgid.p);
    assert_ptr_equal(r->sd.p, m->sd.p);
    assert_ptr_equal(r->timestamp.p, m->timestamp.p);
    assert_ptr_equal(r->input.p, m->input.p);
    assert_int_equal(r->pri, 34);
    assert_int_equal(r->version, 1);
    assert_int_equal(r->format, SL_FMT_RFC5424);
    assert_int_equal(r->ts.sec, m->ts.sec);
    assert_int_equal(r->received.sec, m->received.sec);
    /* The original is as it was. */
    assert_str(m->msg, "login password=hunter2 ok");
    assert_str(m->raw, R5424);
    assert_false(m->flags & SL_MSG_REWRITTEN);
    assert_null(m->base);
    sl_msg_unref(r);
    assert_int_equal(refs(m), 1);
    sl_msg_unref(m);
}

static void test_edit_every_kind(void **state)
{
    struct sl_msg *m = parse(R5424);
    const struct sl_field f[] = {{str("user"), str("root")}, {str("tag.x-1"), str("")}};
    struct sl_msg_edit e = {
        .set = SL_EDIT_MSG | SL_EDIT_APP_NAME | SL_EDIT_HOSTNAME | SL_EDIT_MSGID
               | SL_EDIT_SEVERITY | SL_EDIT_FACILITY | SL_EDIT_FIELDS,
        .msg = str("new text"), .app_name = str("sshd"), .hostname = str("h2.example"),
        .msgid = str("AUTH"), .severity = 4, .facility = 10, .fields = f, .nfields = 2,
    };
    struct sl_msg *r = rewrite(m, &e);
    assert_str(r->msg, "new text");
    assert_str(r->app_name, "sshd");
    assert_str(r->hostname, "h2.example");
    assert_str(r->msgid, "AUTH");
    assert_int_equal(r->severity, 4);
    assert_int_equal(r->facility, 10);
    assert_int_equal(r->pri, 84);
    assert_int_equal(r->nfields, 2);
    assert_str(r->fields[0].key, "user");
    assert_str(r->fields[0].value, "root");
    assert_str(r->fields[1].key, "tag.x-1");
    assert_str(r->fields[1].value, ""); /* empty, yet present */
    assert_ptr_not_equal(r->fields, f); /* copied */
    assert_str(r->raw, "<84>1 2003-10-11T22:14:15.003Z h2.example sshd 77 AUTH "
                       "[origin@48577 ip=\"10.0.0.1\"] new text");
    /* The original is as it was. */
    assert_str(m->raw, R5424);
    assert_str(m->app_name, "su");
    assert_int_equal(m->pri, 34);
    assert_int_equal(m->nfields, 0);
    sl_msg_unref(r);
    sl_msg_unref(m);
}

/* The edit's bytes are the caller's: the rewrite must not point at them. */
static void test_edit_bytes_copied(void **state)
{
    struct sl_msg *m = parse(R5424);
    char text[] = "copied text", app[] = "app", key[] = "k", value[] = "v";
    struct sl_field f = {str(key), str(value)};
    struct sl_msg_edit e = {.set = SL_EDIT_MSG | SL_EDIT_APP_NAME | SL_EDIT_FIELDS,
                            .msg = str(text), .app_name = str(app), .fields = &f,
                            .nfields = 1};
    struct sl_msg *r = rewrite(m, &e);
    memset(text, 'x', sizeof text - 1);
    memset(app, 'x', sizeof app - 1);
    key[0] = value[0] = 'x';
    assert_str(r->msg, "copied text");
    assert_str(r->app_name, "app");
    assert_str(r->fields[0].key, "k");
    assert_str(r->fields[0].value, "v");
    sl_msg_unref(r);
    sl_msg_unref(m);
}

static void test_nil_edits(void **state)
{
    struct sl_msg *m = parse(R5424);
    struct sl_msg_edit e = {.set = SL_EDIT_MSG | SL_EDIT_APP_NAME | SL_EDIT_HOSTNAME
                                   | SL_EDIT_MSGID,
                            .msg = SL_STR_NIL, .app_name = SL_STR_NIL,
                            .hostname = SL_STR_NIL, .msgid = SL_STR_NIL};
    struct sl_msg *r = rewrite(m, &e);
    assert_null(r->msg.p);
    assert_null(r->app_name.p);
    assert_null(r->hostname.p);
    assert_null(r->msgid.p);
    assert_str(r->raw, "<34>1 2003-10-11T22:14:15.003Z - - 77 - [origin@48577 ip=\"10.0.0.1\"]");
    expect_line("{hostname}|{app_name}|{msgid}|{msg}", r, "-|-|-|-");
    sl_msg_unref(r);

    /* And an empty msg is a present one. */
    r = edit_msg(m, "");
    assert_non_null(r->msg.p);
    assert_int_equal(r->msg.len, 0);
    sl_msg_unref(r);
    sl_msg_unref(m);
}

static void test_severity_facility_only(void **state)
{
    struct sl_msg *m = parse(R3164);
    struct sl_msg_edit e = {.set = SL_EDIT_SEVERITY, .severity = 0};
    struct sl_msg *r = rewrite(m, &e);
    assert_int_equal(r->facility, 1);
    assert_int_equal(r->severity, 0);
    assert_int_equal(r->pri, 8);
    assert_str(r->raw, "<8>Nov 22 10:00:00 web1 prog[123]: login password=hunter2 ok");
    assert_ptr_equal(r->msg.p, m->msg.p);
    sl_msg_unref(r);

    e = (struct sl_msg_edit){.set = SL_EDIT_FACILITY, .facility = 23};
    r = rewrite(m, &e);
    assert_int_equal(r->pri, 23 * 8 + 5);
    assert_str(r->raw, "<189>Nov 22 10:00:00 web1 prog[123]: login password=hunter2 ok");
    sl_msg_unref(r);

    /* An empty edit still makes a rewrite, with the raw rendered again. */
    e = (struct sl_msg_edit){.set = 0};
    r = rewrite(m, &e);
    assert_int_equal(r->pri, 13);
    assert_str(r->raw, "<13>Nov 22 10:00:00 web1 prog[123]: login password=hunter2 ok");
    sl_msg_unref(r);
    sl_msg_unref(m);
}
/* }=== */

/* {=== the raw text in the origin's syntax */
static void test_raw_rfc3164(void **state)
{
    struct sl_msg *m = parse(R3164);
    assert_int_equal(m->format, SL_FMT_RFC3164);
    struct sl_msg *r = edit_msg(m, "login password=*** ok");
    assert_str(r->raw, "<13>Nov 22 10:00:00 web1 prog[123]: login password=*** ok");
    expect_line("raw", r, "<13>Nov 22 10:00:00 web1 prog[123]: login password=*** ok");
    expect_line("rfc3164", r, "Nov 22 10:00:00 web1 prog[123]: login password=*** ok");
    sl_msg_unref(r);

    /* A hostname filled in from the context (glibc's syslog(3) sends
     * none) is written like any other; without a tag there is no "tag:". */
    struct sl_msg *n = parse("<13>Nov 22 10:00:00 prog: text");
    assert_str(n->hostname, "myhost");
    r = edit_msg(n, "other text");
    assert_str(r->raw, "<13>Nov 22 10:00:00 myhost prog: other text");
    sl_msg_unref(r);
    struct sl_msg_edit e = {.set = SL_EDIT_APP_NAME, .app_name = SL_STR_NIL};
    r = rewrite(n, &e);
    assert_str(r->raw, "<13>Nov 22 10:00:00 myhost text");
    sl_msg_unref(r);
    sl_msg_unref(n);
    sl_msg_unref(m);
}

static void test_raw_unparsed(void **state)
{
    struct sl_msg *m = parse("not syslog at all: password=hunter2");
    assert_int_equal(m->format, SL_FMT_UNPARSED);
    struct sl_msg *r = edit_msg(m, "not syslog at all: password=***");
    assert_str(r->raw, "not syslog at all: password=***");
    assert_ptr_equal(r->raw.p, r->msg.p); /* one copy serves both */
    assert_true(r->flags & SL_MSG_PARSE_ERROR);
    expect_line("raw", r, "not syslog at all: password=***");
    sl_msg_unref(r);

    /* Without a msg the raw is empty, never NULL. */
    struct sl_msg_edit e = {.set = SL_EDIT_MSG, .msg = SL_STR_NIL};
    r = rewrite(m, &e);
    assert_non_null(r->raw.p);
    assert_int_equal(r->raw.len, 0);
    expect_line("raw", r, "");
    sl_msg_unref(r);

    /* A severity change leaves an unparsed raw as the msg. */
    e = (struct sl_msg_edit){.set = SL_EDIT_SEVERITY, .severity = 3};
    r = rewrite(m, &e);
    assert_str(r->raw, "not syslog at all: password=hunter2");
    assert_int_equal(r->pri, 11);
    sl_msg_unref(r);
    sl_msg_unref(m);
}

/* Control bytes are escaped in the raw as in the text formats, so the
 * measured length must count them. */
static void test_raw_escapes(void **state)
{
    struct sl_msg *m = parse(R5424);
    char text[] = "a\nb\x7f" "c\td\x01";
    struct sl_msg_edit e = {.set = SL_EDIT_MSG, .msg = {text, sizeof text - 1}};
    struct sl_msg *r = rewrite(m, &e);
    assert_str(r->msg, text);
    assert_str(r->raw, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 "
                       "[origin@48577 ip=\"10.0.0.1\"] a#012b#177c\td#001");
    sl_msg_unref(r);

    struct sl_msg *b = parse(R3164);
    r = rewrite(b, &e);
    assert_str(r->raw, "<13>Nov 22 10:00:00 web1 prog[123]: a#012b#177c\td#001");
    sl_msg_unref(r);
    sl_msg_unref(b);
    sl_msg_unref(m);
}

/* The RFC 5424 raw keeps the timestamp's precision and offset, and drops
 * the BOM (which msg never held). */
static void test_raw_rfc5424_time_and_bom(void **state)
{
    struct sl_msg *m = parse("<165>1 2026-11-22T10:00:00.123456+01:00 h a p m - \xef\xbb\xbfhello");
    assert_true(m->flags & SL_MSG_BOM);
    struct sl_msg *r = edit_msg(m, "bye");
    assert_str(r->raw, "<165>1 2026-11-22T10:00:00.123456+01:00 h a p m - bye");
    assert_false(r->flags & SL_MSG_BOM);
    assert_true(m->flags & SL_MSG_BOM);
    sl_msg_unref(r);
    sl_msg_unref(m);
}
/* }=== */

/* {=== checks */
static void test_check_lengths(void **state)
{
    char s[300];
    memset(s, 'a', sizeof s);
    struct sl_msg_edit e = {.set = SL_EDIT_APP_NAME, .app_name = {s, 48}};
    expect_accepted(&e);
    e.app_name.len = 49;
    expect_refused(&e, "app_name: 49 bytes, at most 48");
    e = (struct sl_msg_edit){.set = SL_EDIT_HOSTNAME, .hostname = {s, 255}};
    expect_accepted(&e);
    e.hostname.len = 256;
    expect_refused(&e, "hostname: 256 bytes, at most 255");
    e = (struct sl_msg_edit){.set = SL_EDIT_MSGID, .msgid = {s, 32}};
    expect_accepted(&e);
    e.msgid.len = 33;
    expect_refused(&e, "msgid: 33 bytes, at most 32");
    /* Lengths of fields not in `set` are not read. */
    e.set = SL_EDIT_MSG;
    e.msg = str("x");
    expect_accepted(&e);
    /* Empty is neither a value nor NIL. */
    e = (struct sl_msg_edit){.set = SL_EDIT_APP_NAME, .app_name = {s, 0}};
    expect_refused(&e, "app_name: empty (nil sets it to none)");
}

static void test_check_bytes(void **state)
{
    struct sl_msg_edit e = {.set = SL_EDIT_HOSTNAME, .hostname = str("web 1")};
    expect_refused(&e, "hostname: byte 0x20 at offset 3 is not printable US-ASCII without spaces");
    e = (struct sl_msg_edit){.set = SL_EDIT_APP_NAME, .app_name = str("ss\x7f" "d")};
    expect_refused(&e, "app_name: byte 0x7f at offset 2 is not printable US-ASCII without spaces");
    e = (struct sl_msg_edit){.set = SL_EDIT_MSGID, .msgid = str("\xc3\xa9t\xc3\xa9")};
    expect_refused(&e, "msgid: byte 0xc3 at offset 0 is not printable US-ASCII without spaces");
    e = (struct sl_msg_edit){.set = SL_EDIT_MSGID, .msgid = {"a\0b", 3}};
    expect_refused(&e, "msgid: byte 0x00 at offset 1 is not printable US-ASCII without spaces");
    e = (struct sl_msg_edit){.set = SL_EDIT_APP_NAME, .app_name = str("tab\there")};
    expect_refused(&e, "app_name: byte 0x09 at offset 3 is not printable US-ASCII without spaces");
    /* msg takes any bytes. */
    e = (struct sl_msg_edit){.set = SL_EDIT_MSG, .msg = {"a\0\n\xff b", 6}};
    expect_accepted(&e);
    /* Every printable byte is fine in a header field. */
    e = (struct sl_msg_edit){.set = SL_EDIT_APP_NAME, .app_name = str("!~[]\"=\\")};
    expect_accepted(&e);
    /* NIL passes. */
    e = (struct sl_msg_edit){.set = SL_EDIT_APP_NAME | SL_EDIT_HOSTNAME | SL_EDIT_MSGID};
    expect_accepted(&e);
}

static void test_check_numbers(void **state)
{
    struct sl_msg_edit e = {.set = SL_EDIT_SEVERITY, .severity = 7};
    expect_accepted(&e);
    e.severity = 8;
    expect_refused(&e, "severity: 8, not 0..7");
    e = (struct sl_msg_edit){.set = SL_EDIT_FACILITY, .facility = 23};
    expect_accepted(&e);
    e.facility = 24;
    expect_refused(&e, "facility: 24, not 0..23");
}

static void test_check_fields(void **state)
{
    struct sl_field f[SL_REWRITE_MAX_FIELDS + 1];
    char keys[SL_REWRITE_MAX_FIELDS + 1][16];
    for (int i = 0; i <= SL_REWRITE_MAX_FIELDS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        f[i] = (struct sl_field){str(keys[i]), str("v")};
    }
    struct sl_msg_edit e = {.set = SL_EDIT_FIELDS, .fields = f, .nfields = 64};
    expect_accepted(&e);
    e.nfields = 65;
    expect_refused(&e, "fields: 65 fields, at most 64");
    e.nfields = 0;
    e.fields = NULL;
    expect_accepted(&e); /* removes every field */

    struct sl_field two[2] = {{str("user"), str("a")}, {str("user"), str("b")}};
    e = (struct sl_msg_edit){.set = SL_EDIT_FIELDS, .fields = two, .nfields = 2};
    expect_refused(&e, "fields: key 'user' given twice");
    two[1].key = str("User"); /* keys are case-sensitive */
    expect_accepted(&e);

    struct sl_field bad = {str("a b"), str("x")};
    e = (struct sl_msg_edit){.set = SL_EDIT_FIELDS, .fields = &bad, .nfields = 1};
    expect_refused(&e, "fields: key 'a b': byte 0x20 at offset 1 is not a letter, digit, '_', "
                     "'-' or '.'");
    bad.key = str("x\n");
    expect_refused(&e, "fields: key 'x?': byte 0x0a at offset 1 is not a letter, digit, '_', "
                     "'-' or '.'");
    bad.key = str("{x}");
    expect_refused(&e, "fields: key '{x}': byte 0x7b at offset 0 is not a letter, digit, '_', "
                     "'-' or '.'");
    bad.key = str("");
    expect_refused(&e, "fields: an empty key");
    bad.key = SL_STR_NIL;
    expect_refused(&e, "fields: an empty key");
    char longkey[SL_REWRITE_MAX_FIELD_KEY + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    bad.key = (struct sl_str){longkey, SL_REWRITE_MAX_FIELD_KEY};
    expect_accepted(&e);
    bad.key.len++;
    char want[256];
    snprintf(want, sizeof want, "fields: key '%.*s...': 65 bytes, at most 64",
             SL_REWRITE_MAX_FIELD_KEY, longkey);
    expect_refused(&e, want);
    /* A NIL value is an empty one. */
    bad = (struct sl_field){str("ok_key-1.2"), SL_STR_NIL};
    expect_accepted(&e);
    /* Fields not in `set` are not read. */
    e.set = 0;
    e.nfields = 1000;
    expect_accepted(&e);
}
/* }=== */

/* {=== references and chains */
/* The base lives until the last rewrite made from it is released, and the
 * rewrite reads its bytes safely after the caller dropped the base (ASan
 * and valgrind would see it otherwise). */
static void test_base_outlives_its_holder(void **state)
{
    struct sl_msg *m = parse(R5424);
    struct sl_msg *r = edit_msg(m, "x");
    sl_msg_ref(r);
    sl_msg_unref(m); /* the caller's reference */
    assert_int_equal(refs(r->base), 1);
    assert_str(r->sd, "[origin@48577 ip=\"10.0.0.1\"]");
    assert_str(r->hostname, "mymachine.example.com");
    sl_msg_unref(r);
    assert_str(r->app_name, "su"); /* one reference left */
    sl_msg_unref(r);               /* frees r, then m */
}

static void test_rewrite_of_rewrite(void **state)
{
    struct sl_msg *m = parse(R5424);
    const struct sl_field f1[] = {{str("user"), str("root")}};
    struct sl_msg_edit e1 = {.set = SL_EDIT_APP_NAME | SL_EDIT_MSG | SL_EDIT_FIELDS,
                             .app_name = str("sshd"), .msg = str("first"), .fields = f1,
                             .nfields = 1};
    struct sl_msg *r1 = rewrite(m, &e1);
    struct sl_msg_edit e2 = {.set = SL_EDIT_HOSTNAME | SL_EDIT_SEVERITY,
                             .hostname = str("h2"), .severity = 0};
    struct sl_msg *r2 = rewrite(r1, &e2);
    assert_ptr_equal(r2->base, m); /* chains never grow */
    assert_int_equal(refs(m), 3);
    assert_int_equal(refs(r1), 1);

    /* r1 goes first: what r2 took from it must not live in r1. */
    sl_msg_unref(r1);
    assert_int_equal(refs(m), 2);
    sl_msg_unref(m);
    assert_int_equal(refs(r2->base), 1);
    assert_str(r2->app_name, "sshd");
    assert_str(r2->msg, "first");
    assert_str(r2->hostname, "h2");
    assert_int_equal(r2->nfields, 1);
    assert_str(r2->fields[0].key, "user");
    assert_str(r2->fields[0].value, "root");
    assert_int_equal(r2->pri, 32);
    assert_str(r2->raw, "<32>1 2003-10-11T22:14:15.003Z h2 sshd 77 ID47 "
                        "[origin@48577 ip=\"10.0.0.1\"] first");
    /* Still shared with the base: what no rewrite changed. */
    assert_ptr_equal(r2->sd.p, r2->base->sd.p);
    assert_ptr_equal(r2->procid.p, r2->base->procid.p);
    assert_ptr_equal(r2->msgid.p, r2->base->msgid.p);
    sl_msg_unref(r2);
}

/* A rewrite of a rewrite that sets a field back to NIL, or replaces the
 * fields, takes nothing from the one in between. */
static void test_rewrite_of_rewrite_replaces(void **state)
{
    struct sl_msg *m = parse(R3164);
    const struct sl_field f1[] = {{str("a"), str("1")}, {str("b"), str("2")}};
    struct sl_msg_edit e1 = {.set = SL_EDIT_APP_NAME | SL_EDIT_FIELDS,
                             .app_name = str("first"), .fields = f1, .nfields = 2};
    struct sl_msg *r1 = rewrite(m, &e1);
    const struct sl_field f2[] = {{str("c"), str("3")}};
    struct sl_msg_edit e2 = {.set = SL_EDIT_APP_NAME | SL_EDIT_FIELDS,
                             .app_name = SL_STR_NIL, .fields = f2, .nfields = 1};
    struct sl_msg *r2 = rewrite(r1, &e2);
    sl_msg_unref(r1);
    assert_null(r2->app_name.p);
    assert_int_equal(r2->nfields, 1);
    assert_str(r2->fields[0].key, "c");
    assert_str(r2->raw, "<13>Nov 22 10:00:00 web1 login password=hunter2 ok");
    /* Removing every field. */
    struct sl_msg_edit e3 = {.set = SL_EDIT_FIELDS, .nfields = 0};
    struct sl_msg *r3 = rewrite(r2, &e3);
    assert_int_equal(r3->nfields, 0);
    assert_null(r3->fields);
    assert_null(r3->app_name.p);
    sl_msg_unref(r2);
    sl_msg_unref(r3);
    sl_msg_unref(m);
}

/* Fields of a base message (only tests make such) are shared, not copied. */
static void test_base_fields_shared(void **state)
{
    static const struct sl_field f[] = {{{"k", 1}, {"v", 1}}};
    struct sl_msg *m = parse(R5424);
    m->fields = f;
    m->nfields = 1;
    struct sl_msg *r = edit_msg(m, "x");
    assert_ptr_equal(r->fields, f);
    assert_int_equal(r->nfields, 1);
    sl_msg_unref(r);
    sl_msg_unref(m);
}

/* A message from an input's chunk: the chunk lives while a rewrite does. */
static void test_rewrite_of_pooled_message(void **state)
{
    struct sl_msgpool pool;
    sl_msgpool_init(&pool, "udp");
    struct sl_msg *m = sl_msg_new(&pool, R5424, strlen(R5424), "10.0.0.9", 8);
    assert_non_null(m);
    struct sl_parse_ctx ctx = {.hostname = {"myhost", 6}, .now = NOW, .tzoff_min = 0};
    assert_int_equal(sl_parse(m, &ctx), 0);
    struct sl_msg *r = edit_msg(m, "x");
    sl_msg_unref(m);
    sl_msgpool_release(&pool);
    assert_str(r->peer, "10.0.0.9");
    assert_str(r->input, "udp");
    assert_str(r->sd, "[origin@48577 ip=\"10.0.0.1\"]");
    expect_line("{input} {peer} {msg}", r, "udp 10.0.0.9 x");
    sl_msg_unref(r); /* frees the chunk: the leak checker would say otherwise */
}

/* Many rewrites share one base, in any release order. */
static void test_fan_out(void **state)
{
    struct sl_msg *m = parse(R5424);
    struct sl_msg *r[16];
    for (int i = 0; i < 16; i++) {
        char text[32];
        snprintf(text, sizeof text, "n%d", i);
        r[i] = i % 2 ? edit_msg(m, text) : edit_msg(i > 0 ? r[i - 1] : m, text);
        assert_ptr_equal(r[i]->base, m);
    }
    assert_int_equal(refs(m), 17);
    sl_msg_unref(m);
    for (int i = 0; i < 16; i += 2)
        sl_msg_unref(r[i]);
    for (int i = 1; i < 16; i += 2) {
        char text[32];
        snprintf(text, sizeof text, "n%d", i);
        assert_str(r[i]->msg, text);
        sl_msg_unref(r[i]);
    }
}
/* }=== */

/* {=== how outputs write a rewrite */
static void test_formats_of_a_rewrite(void **state)
{
    struct sl_msg *m = parse(R5424);
    const struct sl_field f[] = {{str("user"), str("root")}, {str("why"), str("said \"no\"")}};
    struct sl_msg_edit e = {.set = SL_EDIT_MSG | SL_EDIT_FIELDS | SL_EDIT_SEVERITY,
                            .msg = str("login password=*** ok"), .fields = f, .nfields = 2,
                            .severity = 4};
    struct sl_msg *r = rewrite(m, &e);
    expect_line("json", r,
                "{\"pri\":36,\"facility\":\"auth\",\"severity\":\"warning\",\"version\":1,"
                "\"timestamp\":\"2003-10-11T22:14:15.003Z\",\"received\":\"2026-11-22T12:00:00.123456+00:00\",\"hostname\":\"mymachine.example.com\","
                "\"app_name\":\"su\",\"procid\":\"77\",\"msgid\":\"ID47\","
                "\"sd\":{\"origin@48577\":{\"ip\":\"10.0.0.1\"}},\"msg\":\"login password=*** ok\","
                "\"input\":\"test\",\"fields\":{\"user\":\"root\",\"why\":\"said \\\"no\\\"\"}}");
    expect_line("{severity} {fields.user} {fields.why} {fields.none} {msg}", r,
                "warning root said \"no\" - login password=*** ok");
    /* No format shows the password any more. */
    static const char *const specs[] = {"raw", "rfc3164", "rfc5424", "json", "{raw}"};
    for (size_t i = 0; i < 5; i++) {
        char *l = line(specs[i], r);
        assert_null(strstr(l, "hunter2"));
        free(l);
    }
    /* The extra fields in an SD element of their own; raw has none. */
    expect_line("rfc5424", r, "<36>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 "
                              "[origin@48577 ip=\"10.0.0.1\"][fields@32473 user=\"root\" "
                              "why=\"said \\\"no\\\"\"] login password=*** ok");
    expect_line("raw", r, "<36>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 "
                          "[origin@48577 ip=\"10.0.0.1\"] login password=*** ok");
    /* The original is written as received. */
    char *l = line("json", m);
    assert_non_null(strstr(l, "hunter2"));
    assert_null(strstr(l, "\"fields\""));
    free(l);
    expect_line("[{fields.user}]", m, "[-]");
    sl_msg_unref(r);
    sl_msg_unref(m);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_msg_rfc5424),
        cmocka_unit_test(test_edit_every_kind),
        cmocka_unit_test(test_edit_bytes_copied),
        cmocka_unit_test(test_nil_edits),
        cmocka_unit_test(test_severity_facility_only),
        cmocka_unit_test(test_raw_rfc3164),
        cmocka_unit_test(test_raw_unparsed),
        cmocka_unit_test(test_raw_escapes),
        cmocka_unit_test(test_raw_rfc5424_time_and_bom),
        cmocka_unit_test(test_check_lengths),
        cmocka_unit_test(test_check_bytes),
        cmocka_unit_test(test_check_numbers),
        cmocka_unit_test(test_check_fields),
        cmocka_unit_test(test_base_outlives_its_holder),
        cmocka_unit_test(test_rewrite_of_rewrite),
        cmocka_unit_test(test_rewrite_of_rewrite_replaces),
        cmocka_unit_test(test_base_fields_shared),
        cmocka_unit_test(test_rewrite_of_pooled_message),
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_formats_of_a_rewrite),
    };
    return cmocka_run_group_tests(tests, setup_utc, NULL);
}
