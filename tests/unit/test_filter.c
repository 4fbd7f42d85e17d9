/* SPDX-License-Identifier: MIT */
/* test_filter.c: route functions in Lua: the message proxy and every field
 * it reads, m:get, writes and copy-on-write in transform, the sandbox, and
 * the bounds (time, memory) that keep a bad function from stalling
 * an input thread. */
#include "config.h" /* _GNU_SOURCE: strdup */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "route/filter.h"
#include "parse/parse.h"

/* {=== fixtures */
struct fx {
    char path[64];
    struct sl_config *c;
    struct sl_filter *f;
};

#define OUT "output 'o' { type = 'file', path = 'x' }\n"

/* Loads text as a config (which must load) and makes its filter. */
static int make(struct fx *x, const char *text, char *err, size_t errlen)
{
    snprintf(x->path, sizeof x->path, "filter.lua");
    struct sl_errors errs = {0};
    int rc = sl_config_load_text(text, strlen(text), x->path, &x->c, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "  config: %s\n", errs.v[i]);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    x->f = NULL;
    return sl_filter_new(x->c, "filterhost", &x->f, err, errlen);
}

static void setup(struct fx *x, const char *text)
{
    char err[1024] = "";
    int rc = make(x, text, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  sl_filter_new: %s\n", err);
    assert_int_equal(rc, 0);
}

static void teardown(struct fx *x)
{
    sl_filter_free(x->f);
    sl_config_free(x->c);
}

static struct sl_msg *parsed(const char *text)
{
    struct sl_msg *m = sl_msg_new_heap(text, strlen(text), "tcp");
    struct sl_parse_ctx ctx = {.hostname = {"localhost", 9}};
    sl_parse_ctx_now(&ctx);
    sl_parse(m, &ctx);
    return m;
}

#define M5424 "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 " \
              "[exampleSDID@32473 iut=\"3\" eventSource=\"Appli\\\"cation\" eventID=\"1011\"]" \
              "[origin@48577 ip=\"192.0.2.1\" ip=\"192.0.2.2\"] An application event"
#define M3164 "<38>Nov 22 10:00:00 web1 sshd[77]: Failed password for root"
#define MNIL "<14>1 - - - - - - hello"

/* Asserts the where function of route `route` returns `want`; shows the
 * error otherwise. */
static void expect_where(struct fx *x, size_t route, const struct sl_msg *m,
                         enum sl_filter_result want)
{
    enum sl_filter_result r = sl_filter_where(x->f, route, m);
    if (r != want)
        fprintf(stderr, "  route %zu: got %d, error: %s\n", route, r, sl_filter_error(x->f));
    assert_int_equal(r, want);
}

/* Asserts a call failed with an error containing text. */
static void expect_error(struct fx *x, enum sl_filter_result r, const char *text)
{
    assert_int_equal(r, SL_FILTER_ERROR);
    if (strstr(sl_filter_error(x->f), text) == NULL) {
        fprintf(stderr, "  wanted: %s\n  got: %s\n", text, sl_filter_error(x->f));
        fail();
    }
}
/* }=== */

/* {=== reading */
static void proxy_reads_every_field(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  assert(m.msg == 'An application event', m.msg)\n"
          "  assert(m.hostname == 'mymachine.example.com')\n"
          "  assert(m.app_name == 'evntslog' and m.procid == '1234' and m.msgid == 'ID47')\n"
          "  assert(m.timestamp == '2003-10-11T22:14:15.003Z')\n"
          "  assert(m.raw:sub(1, 7) == '<165>1 ' and m.input == 'tcp' and m.peer == nil)\n"
          "  assert(m.severity == 5 and m.facility == 20 and m.pri == 165 and m.version == 1)\n"
          "  assert(math.type(m.severity) == 'integer' and math.type(m.pri) == 'integer')\n"
          "  assert(m.severity_name == 'notice' and m.facility_name == 'local4')\n"
          "  assert(math.abs(m.time - 1065910455.003) < 1e-6, m.time)\n"
          "  assert(type(m.received) == 'number' and m.received > 1.6e9)\n"
          "  assert(m.pid == nil and m.uid == nil and m.gid == nil)\n"
          "  assert(m.sd.exampleSDID_32473 == nil)\n"
          "  local e = m.sd['exampleSDID@32473']\n"
          "  assert(e.iut == '3' and e.eventSource == 'Appli\"cation' and e.eventID == '1011')\n"
          "  local ip = m.sd['origin@48577'].ip\n" /* given twice: both, in order */
          "  assert(type(ip) == 'table' and #ip == 2 and ip[1] == '192.0.2.1' and ip[2] == '192.0.2.2')\n"
          "  assert(m.sd == m.sd)\n"
          "  assert(next(m.fields) == nil)\n"
          "  assert(type(m.get) == 'function' and tostring(m) == 'sluice.message')\n"
          "  return true end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_where(&x, 0, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

static void proxy_nil_cases(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  assert(m.hostname == nil and m.app_name == nil and m.msgid == nil)\n"
          "  assert(m.procid == nil and m.timestamp == nil and m.time == nil)\n"
          "  assert(next(m.sd) == nil and next(m.fields) == nil)\n"
          "  assert(m.msg == 'hello')\n"
          "  return m.pid == nil and m.uid == nil and m.gid == nil end }\n"
          "route { to = 'o', where = function(m)\n"
          "  return m.pid == 4242 and m.uid == 0 and m.gid == 27 and m.peer == nil\n"
          "     and m.app_name == 'sshd' and m.procid == '77' and m.severity_name == 'info'\n"
          "     and m.facility_name == 'auth' and m.version == 0 end }\n");
    struct sl_msg *m = parsed(MNIL);
    expect_where(&x, 0, m, SL_FILTER_YES);
    sl_msg_unref(m);
    m = parsed(M3164);
    m->flags |= SL_MSG_HAS_CRED;
    m->pid = 4242;
    m->uid = 0;
    m->gid = 27;
    expect_where(&x, 1, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

static void unknown_field(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  return m.apname end }\n"
          "route { to = 'o', where = function(m) return m.zzzzzzz end }\n"
          "route { to = 'o', where = function(m) return m[1] end }\n"
          "route { to = 'o', where = function(m) return m[true] end }\n");
    struct sl_msg *m = parsed(M5424);
    char want[256];
    snprintf(want, sizeof want, "%s:3: message has no field 'apname' (did you mean 'app_name'?)",
             x.path);
    expect_error(&x, sl_filter_where(x.f, 0, m), want);
    expect_error(&x, sl_filter_where(x.f, 1, m), "message has no field 'zzzzzzz'");
    assert_null(strstr(sl_filter_error(x.f), "did you mean"));
    expect_error(&x, sl_filter_where(x.f, 2, m), "message has no field '1'");
    expect_error(&x, sl_filter_where(x.f, 3, m),
                 "message fields are named by strings, not by a boolean");
    sl_msg_unref(m);
    teardown(&x);
}

/* Among equally close names the hint follows the field table's order, as a
 * template's does ({msgi} suggests {msgid}): msgi is one edit from both
 * msg and msgid. */
static void hint_order_is_the_tables(void **state)
{
    struct fx x;
    setup(&x, OUT "route { to = 'o', where = function(m) return m.msgi end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_error(&x, sl_filter_where(x.f, 0, m),
                 "message has no field 'msgi' (did you mean 'msgid'?)");
    sl_msg_unref(m);
    teardown(&x);
}

static void get_by_name(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  assert(m:get('app_name') == 'evntslog' and m:get('severity') == 5)\n"
          "  assert(m:get('sd.exampleSDID@32473.eventID') == '1011')\n"
          "  assert(m:get('sd.origin@48577.ip') == '192.0.2.1')\n" /* the first, then the rest */
          "  assert(select('#', m:get('sd.origin@48577.ip')) == 2)\n"
          "  assert(select(2, m:get('sd.origin@48577.ip')) == '192.0.2.2')\n"
          "  assert(select('#', m:get('sd.exampleSDID@32473.iut')) == 1)\n"
          "  assert(m:get('sd.origin@48577').ip[2] == '192.0.2.2')\n"
          "  assert(m:get('sd.nothing.ip') == nil and m:get('sd.origin@48577.port') == nil)\n"
          "  assert(m:get('nonsense') == nil and m:get('fields.x') == nil)\n"
          "  assert(m:get('sd.') == nil and m:get('') == nil)\n"
          "  return true end }\n"
          "route { to = 'o', where = function(m) return m.get('app_name') end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_where(&x, 0, m, SL_FILTER_YES);
    expect_error(&x, sl_filter_where(x.f, 1, m), "m:get(name), with a colon");
    sl_msg_unref(m);
    teardown(&x);
}

static void stale_proxy(void **state)
{
    struct fx x;
    setup(&x, OUT
          "local kept\n"
          "route { to = 'o', where = function(m)\n"
          "  if kept == nil then kept = m; return true end\n"
          "  return kept.msg end }\n"
          "route { to = 'o', where = function(m) return kept ~= m end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_where(&x, 0, m, SL_FILTER_YES);
    expect_error(&x, sl_filter_where(x.f, 0, m), "message used after its function returned");
    /* A proxy is a new value in every call. */
    expect_where(&x, 1, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

static void read_only_in_where(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m) m.msg = 'x' end }\n"
          "route { to = 'o', where = function(m) m.fields.x = 'y' end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_error(&x, sl_filter_where(x.f, 0, m),
                 "the message is read-only in 'where'; change it in a 'transform'");
    expect_error(&x, sl_filter_where(x.f, 1, m), "read-only in 'where'");
    sl_msg_unref(m);
    teardown(&x);
}
/* }=== */

/* {=== transform */
static void transform_copy_on_write(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', transform = function(m)\n"
          "  m.msg = m.msg:gsub('password=%S+', 'password=***')\n"
          "  assert(m.msg == 'login password=*** ok')\n"
          "  m.app_name = 'app2'; m.hostname = 'h2'; m.msgid = nil\n"
          "  m.severity = 'warning'; m.facility = 'local0'\n"
          "  assert(m.severity == 4 and m.facility == 16 and m.pri == 132)\n"
          "  assert(m.severity_name == 'warning' and m.msgid == nil)\n"
          "  m.fields.user = 'root'; m.fields.n = 7; m.fields.ok = true\n"
          "  assert(m:get('fields.user') == 'root' and m:get('user') == 'root')\n"
          "end }\n"
          "route { to = 'o', transform = function(m) local s = m.msg; m.severity = m.severity end }\n"
          "route { to = 'o', transform = function(m) m.severity = 3; m.facility = 1 end }\n");
    const char *text = "<14>1 2026-11-22T10:00:00Z web1 app 12 ID1 - login password=hunter2 ok";
    struct sl_msg *m = parsed(text);
    struct sl_msg *out = NULL;
    enum sl_filter_result r = sl_filter_transform(x.f, 0, m, &out);
    if (r != SL_FILTER_YES)
        fprintf(stderr, "  %s\n", sl_filter_error(x.f));
    assert_int_equal(r, SL_FILTER_YES);
    assert_non_null(out);
    assert_ptr_not_equal(out, m);
    assert_true(out->flags & SL_MSG_REWRITTEN);
    assert_int_equal(out->msg.len, strlen("login password=*** ok"));
    assert_memory_equal(out->msg.p, "login password=*** ok", out->msg.len);
    assert_memory_equal(out->app_name.p, "app2", 4);
    assert_memory_equal(out->hostname.p, "h2", 2);
    assert_null(out->msgid.p);
    assert_int_equal(out->severity, 4);
    assert_int_equal(out->facility, 16);
    assert_int_equal(out->nfields, 3);
    /* New keys in sorted order. */
    assert_memory_equal(out->fields[0].key.p, "n", 1);
    assert_memory_equal(out->fields[0].value.p, "7", 1);
    assert_memory_equal(out->fields[1].key.p, "ok", 2);
    assert_memory_equal(out->fields[1].value.p, "true", 4);
    assert_memory_equal(out->fields[2].key.p, "user", 4);
    assert_null(memmem(out->raw.p, out->raw.len, "hunter2", 7));
    /* The original is untouched. */
    assert_int_equal(m->severity, 6);
    assert_memory_equal(m->msg.p, "login password=hunter2 ok", m->msg.len);
    assert_memory_equal(m->app_name.p, "app", 3);
    assert_int_equal(m->nfields, 0);

    /* A transform of the rewrite sees and keeps its fields. */
    struct sl_msg *again = NULL;
    assert_int_equal(sl_filter_transform(x.f, 2, out, &again), SL_FILTER_YES);
    assert_ptr_not_equal(again, out);
    assert_int_equal(again->severity, 3);
    assert_int_equal(again->facility, 1);
    assert_int_equal(again->nfields, 3);
    sl_msg_unref(again);
    sl_msg_unref(out);

    /* Reads, and a write of the same value: nothing changed. */
    assert_int_equal(sl_filter_transform(x.f, 1, m, &out), SL_FILTER_YES);
    assert_ptr_equal(out, m);
    sl_msg_unref(m);
    teardown(&x);
}

static void transform_write_errors(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', transform = function(m) m.raw = 'x' end }\n"
          "route { to = 'o', transform = function(m) m.msg = nil end }\n"
          "route { to = 'o', transform = function(m) m.severity = 9 end }\n"
          "route { to = 'o', transform = function(m) m.facility = 'locl0' end }\n"
          "route { to = 'o', transform = function(m) m.app_name = string.rep('a', 49) end }\n"
          "route { to = 'o', transform = function(m) m.fields.x = {} end }\n"
          "route { to = 'o', transform = function(m) m.hostname = 5 end }\n"
          "route { to = 'o', transform = function(m) m.fields = { a = 'b' } end }\n"
          "local keep = { n = 7, ok = true }\n"
          "route { to = 'o', transform = function(m) m.fields = keep end }\n"
          "route { to = 'o', where = function(m)\n"
          "  return math.type(keep.n) == 'integer' and keep.ok == true end }\n");
    struct sl_msg *m = parsed(M5424), *out = (struct sl_msg *)1;
    expect_error(&x, sl_filter_transform(x.f, 0, m, &out),
                 "field 'raw' cannot be set (settable: msg, app_name, hostname, msgid, "
                 "severity, facility, fields)");
    assert_null(out);
    expect_error(&x, sl_filter_transform(x.f, 1, m, &out), "field 'msg' wants a string, got nil");
    expect_error(&x, sl_filter_transform(x.f, 2, m, &out), "field 'severity' wants 0..7");
    expect_error(&x, sl_filter_transform(x.f, 3, m, &out), "field 'facility': unknown name 'locl0'");
    char want[256];
    snprintf(want, sizeof want, "%s:6: app_name: 49 bytes, at most 48", x.path);
    expect_error(&x, sl_filter_transform(x.f, 4, m, &out), want);
    snprintf(want, sizeof want, "%s:7: fields: 'x' is a table", x.path); /* where it is defined */
    expect_error(&x, sl_filter_transform(x.f, 5, m, &out), want);
    expect_error(&x, sl_filter_transform(x.f, 6, m, &out),
                 "field 'hostname' wants a string or nil, got number");
    assert_int_equal(sl_filter_transform(x.f, 7, m, &out), SL_FILTER_YES);
    assert_int_equal(out->nfields, 1);
    sl_msg_unref(out);
    /* A table the config keeps is read, not changed: its numbers stay numbers. */
    assert_int_equal(sl_filter_transform(x.f, 8, m, &out), SL_FILTER_YES);
    assert_int_equal(out->nfields, 2);
    assert_non_null(sl_msg_extra(out, "n", 1));
    assert_memory_equal(sl_msg_extra(out, "n", 1)->value.p, "7", 1);
    sl_msg_unref(out);
    expect_where(&x, 9, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}
/* }=== */

/* {=== the sandbox and the bounds */
static void sandbox(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  assert(io == nil and os == nil and require == nil and debug == nil)\n"
          "  assert(dofile == nil and loadfile == nil and package == nil)\n"
          "  assert(collectgarbage == nil and coroutine == nil)\n"
          "  assert(string and table and math and utf8 and pcall)\n"
          "  assert(load('return 1 + 1')() == 2)\n"
          "  local f, err = load(string.dump(function() end))\n"
          "  assert(f == nil and err:find('binary'))\n"
          "  assert(sluice.severity.warning == 4 and sluice.facility.local0 == 16)\n"
          "  assert(sluice.hostname() == 'filterhost')\n"
          "  assert(not pcall(setmetatable, {}, { __gc = print }))\n"
          "  sluice.log('debug', 'from a where'); print('printed', 1)\n"
          "  return true end }\n"
          "route { to = 'o', where = function(m) route { to = 'o' } end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_where(&x, 0, m, SL_FILTER_YES);
    expect_error(&x, sl_filter_where(x.f, 1, m),
                 "declarations are made when the config loads, not in a route function");
    sl_msg_unref(m);
    teardown(&x);
}

/* ThreadSanitizer holds a signal back until the thread calls into libc,
 * which a Lua loop never does: the watchdog's SIGURG would never land. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static void runaway(void **state)
{
#ifdef UNDER_TSAN
    skip();
#endif
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  while true do end end }\n"
          "route { to = 'o', where = function(m)\n"
          "  while true do pcall(function() while true do end end) end end }\n"
          "route { to = 'o', where = function(m) return m.severity == 5 end }\n");
    struct sl_msg *m = parsed(M5424);
    char want[256];
    snprintf(want, sizeof want, "%s:3: route function ran for more than 100 ms", x.path);
    expect_error(&x, sl_filter_where(x.f, 0, m), want);
    expect_error(&x, sl_filter_where(x.f, 1, m),
                 "route function ran for more than 100 ms");
    /* The state goes on working, with a fresh budget. */
    for (int i = 0; i < 3; i++)
        expect_where(&x, 2, m, SL_FILTER_YES);
    expect_error(&x, sl_filter_where(x.f, 0, m), "more than 100 ms");
    sl_msg_unref(m);
    teardown(&x);
}

/* {=== C functions under the time limit */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 64 KiB message on which "^(.-)%s*:%s*(.-)%s*$" backtracks for tens of
 * seconds in Lua's own matcher: one letter, then spaces. */
static struct sl_msg *spaces_msg(void)
{
    size_t n = 65536;
    char *text = malloc(n + 32);
    int h = snprintf(text, 32, "<14>1 - - - - - - x");
    memset(text + h, ' ', n - (size_t)h);
    text[n] = '\0';
    struct sl_msg *m = parsed(text);
    free(text);
    return m;
}

/* Route `route` fails with want (its function's name and the limit) within
 * 2 s: a limit of 100 ms, with plenty of room for a loaded machine. */
static void expect_stopped(struct fx *x, size_t route, const struct sl_msg *m, const char *want)
{
    double t0 = now_s();
    enum sl_filter_result r = sl_filter_where(x->f, route, m);
    double took = now_s() - t0;
    expect_error(x, r, want);
    expect_error(x, r, "route function ran for more than 100 ms");
    if (took >= 2.0)
        fprintf(stderr, "  route %zu took %.2f s\n", route, took);
    assert_true(took < 2.0);
}

static void pattern_obeys_time_limit(void **state)
{
    struct fx x;
    setup(&x, OUT
          "local P = '^(.-)%s*:%s*(.-)%s*$'\n"
          "route { to = 'o', where = function(m) return m.msg:match(P) end }\n"
          "route { to = 'o', where = function(m) return string.find(m.msg, P) end }\n"
          "route { to = 'o', where = function(m) return (m.msg:gsub(P, '%1')) end }\n"
          /* gmatch takes no anchor: the rest of P */
          "route { to = 'o', where = function(m) for a in m.msg:gmatch(P:sub(2)) do end end }\n"
          /* a pcall around it cannot carry on past the limit */
          "route { to = 'o', where = function(m)\n"
          "  while true do pcall(string.match, m.msg, P) end end }\n"
          "route { to = 'o', where = function(m) return m.msg:match('^x%s*$') end }\n");
    struct sl_msg *m = spaces_msg();
    assert_true(m->msg.len > 65000);
    expect_stopped(&x, 0, m, "filter.lua:3: string.match: ");
    expect_stopped(&x, 1, m, "filter.lua:4: string.find: ");
    expect_stopped(&x, 2, m, "string.gsub: ");
    expect_stopped(&x, 3, m, "string.gmatch: ");
    expect_stopped(&x, 4, m, "route function ran");
    /* A linear pattern on the same message is not stopped. */
    for (int i = 0; i < 3; i++)
        expect_where(&x, 5, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

/* The other C functions whose loops a count hook cannot enter: on tables
 * whose __len is huge and whose elements are C metamethods, and on "". */
static void c_loops_obey_time_limit(void **state)
{
    struct fx x;
    setup(&x, OUT
          "local function huge() return setmetatable({}, {__len = function() return 2^31 - 2 end,\n"
          "  __index = rawlen, __newindex = rawequal}) end\n"
          "route { to = 'o', where = function(m) table.sort(huge(), rawequal) end }\n"
          "route { to = 'o', where = function(m) table.remove(huge(), 1) end }\n"
          "route { to = 'o', where = function(m) table.insert(huge(), 1, 'x') end }\n"
          "route { to = 'o', where = function(m) table.move({}, 1, 2^50, 1) end }\n"
          "route { to = 'o', where = function(m) return table.concat(huge()) end }\n"
          "route { to = 'o', where = function(m)\n"
          "  local s = ('x'):rep(2^20) return s:rep(2^24, '') end }\n"
          "route { to = 'o', where = function(m) return ('%1'):rep(2^18) end }\n"
          "route { to = 'o', where = function(m)\n"
          "  return (m.msg:gsub('(x?)', ('%1'):rep(2^18))) end }\n"
          "route { to = 'o', where = function(m) return ('a'):rep(2^20, ''):find(('a'):rep(2^19) .. 'b', 1, true) end }\n"
          "route { to = 'o', where = function(m) return string.rep('', 2^50) == '' end }\n");
    struct sl_msg *m = spaces_msg();
    expect_stopped(&x, 0, m, "filter.lua:4: table.sort: ");
    expect_stopped(&x, 1, m, "table.remove: ");
    expect_stopped(&x, 2, m, "table.insert: ");
    expect_stopped(&x, 3, m, "table.move: ");
    /* concat's output grows by a byte an element: memory or time stops it */
    enum sl_filter_result r = sl_filter_where(x.f, 4, m);
    assert_int_equal(r, SL_FILTER_ERROR);
    r = sl_filter_where(x.f, 5, m);
    assert_int_equal(r, SL_FILTER_ERROR); /* 16 TiB: refused at once */
    expect_where(&x, 6, m, SL_FILTER_YES);
    expect_stopped(&x, 7, m, "string.gsub: ");
    /* a plain find is memmem(): linear, done well within the limit */
    double t0 = now_s();
    expect_where(&x, 8, m, SL_FILTER_NO);
    assert_true(now_s() - t0 < 2.0);
    expect_where(&x, 9, m, SL_FILTER_YES); /* "" at once, not 2^50 empty copies */
    sl_msg_unref(m);
    teardown(&x);
}
/* }=== */

static void errors_carry_position(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  local t\n"
          "  return t.x end }\n"
          "route { to = 'o', where = function(m)\n"
          "  error('boom') end }\n"
          "route { to = 'o', where = function(m) error({}) end }\n"
          "route { to = 'o', transform = function(m)\n"
          "  error('in transform') end }\n");
    struct sl_msg *m = parsed(M5424), *out;
    char want[256];
    snprintf(want, sizeof want, "%s:4: attempt to index a nil value (local 't')", x.path);
    expect_error(&x, sl_filter_where(x.f, 0, m), want);
    snprintf(want, sizeof want, "%s:6: boom", x.path);
    expect_error(&x, sl_filter_where(x.f, 1, m), want);
    expect_error(&x, sl_filter_where(x.f, 2, m), "(error object is a table value)");
    snprintf(want, sizeof want, "%s:9: in transform", x.path);
    expect_error(&x, sl_filter_transform(x.f, 3, m, &out), want);
    sl_msg_unref(m);
    teardown(&x);
}

static void memory_limit(void **state)
{
    struct fx x;
    setup(&x, OUT
          "route { to = 'o', where = function(m)\n"
          "  local s = string.rep('x', 64 * 1024 * 1024) return #s > 0 end }\n"
          "route { to = 'o', where = function(m)\n"
          "  local t = {} for i = 1, 1e7 do t[i] = m.msg .. i end end }\n"
          "route { to = 'o', where = function(m) return #m.msg > 0 end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_error(&x, sl_filter_where(x.f, 0, m), "not enough memory");
    enum sl_filter_result r = sl_filter_where(x.f, 1, m);
    assert_int_equal(r, SL_FILTER_ERROR); /* memory or time, whichever first */
    expect_where(&x, 2, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

static void config_must_run_the_same(void **state)
{
    struct fx x;
    char err[1024];
    /* A config that declares a route only when it may take 48 MiB (a
     * 24 MiB string, built then copied): the loader's state may (64 MiB),
     * a filter's may not (32 MiB), so the second run declares one fewer. */
    int rc = make(&x, OUT
                  "if pcall(string.rep, 'x', 24 * 1024 * 1024) then\n"
                  "  route { to = 'o', where = function(m) return true end }\n"
                  "end\n"
                  "route { to = 'o', where = function(m) return false end }\n", err, sizeof err);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(err, "config ran differently in an input thread: it declared 1 "
                                "routes, not 2"));
    assert_non_null(strstr(err, "(an input thread's Lua state may hold 32 MiB, and the config "
                                "asked for more)"));
    teardown(&x);
}

/* Every run of the file sees the system's host name at its top level, so a
 * config may branch on it; route functions see the daemon's. */
static void hostname_same_in_every_run(void **state)
{
    struct fx x;
    setup(&x, OUT
          "local h = sluice.hostname()\n"
          "if h == 'filterhost' then route { to = 'o' } end\n"
          "route { to = 'o', where = function(m)\n"
          "  return h ~= 'filterhost' and sluice.hostname() == 'filterhost' end }\n");
    struct sl_msg *m = parsed(M5424);
    expect_where(&x, x.c->nroutes - 1, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

/* The sluice library works at the top level too, and what the top level
 * logs is logged once (at load), not again per filter. */
static void sluice_at_top_level(void **state)
{
    struct fx x;
    setup(&x, OUT
          "local warn = sluice.severity.warning\n"
          "route { to = 'o', where = function(m) return m.severity <= warn end }\n");
    struct sl_msg *m = parsed(M5424); /* notice */
    expect_where(&x, 0, m, SL_FILTER_NO);
    sl_msg_unref(m);
    m = parsed("<12>1 - - - - - - warn");
    expect_where(&x, 0, m, SL_FILTER_YES);
    sl_msg_unref(m);
    teardown(&x);
}

static void no_function(void **state)
{
    struct fx x;
    setup(&x, OUT "route { to = 'o', where = function(m) return true end }\n");
    struct sl_msg *m = parsed(M5424), *out;
    expect_error(&x, sl_filter_transform(x.f, 0, m, &out), "route 1 has no transform function");
    expect_error(&x, sl_filter_where(x.f, 5, m), "has no where function");
    sl_msg_unref(m);
    sl_filter_free(NULL);
    teardown(&x);
}
/* }=== */

int main(void)
{
    alarm(300); /* a C function that escapes the limit would hang the run */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proxy_reads_every_field),
        cmocka_unit_test(proxy_nil_cases),
        cmocka_unit_test(unknown_field),
        cmocka_unit_test(hint_order_is_the_tables),
        cmocka_unit_test(get_by_name),
        cmocka_unit_test(stale_proxy),
        cmocka_unit_test(read_only_in_where),
        cmocka_unit_test(transform_copy_on_write),
        cmocka_unit_test(transform_write_errors),
        cmocka_unit_test(sandbox),
        cmocka_unit_test(runaway),
        cmocka_unit_test(pattern_obeys_time_limit),
        cmocka_unit_test(c_loops_obey_time_limit),
        cmocka_unit_test(errors_carry_position),
        cmocka_unit_test(memory_limit),
        cmocka_unit_test(config_must_run_the_same),
        cmocka_unit_test(hostname_same_in_every_run),
        cmocka_unit_test(sluice_at_top_level),
        cmocka_unit_test(no_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
