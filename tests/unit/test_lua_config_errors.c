/* SPDX-License-Identifier: MIT */
/* test_lua_config_errors.c: sluice.lua errors: each with its FILE:LINE and
 * "did you mean", every one in one load, in file order; two inputs on one
 * address; out of memory; the bounds on runaway configs; and the load for
 * --check that keeps what was read. */
#include "config.h" /* _GNU_SOURCE: strdup */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "conf/lua_config.h"
#include "conf_fixture.h"

/* {=== what fails, with its FILE:LINE */
static void test_unknown_keys(void **state)
{
    expect_only("\ninput 'tcp' { type = 'tcp', listen = '127.0.0.1:1', max_mesage = 5 }\n", 2,
                "input \"tcp\": unknown key 'max_mesage', did you mean 'max_message'?");
    expect_only("input 'u' { type = 'unix', pth = 'x', path = 'y' }\n", 1,
                "input \"u\": unknown key 'pth', did you mean 'path'?");
    expect_only(OUT "route { to = 'o', finale = true }\n", 2,
                "route: unknown key 'finale', did you mean 'final'?");
    expect_only("settings { contrl = 'x' }\n", 1,
                "settings: unknown key 'contrl', did you mean 'control'?");
    expect_only("settings { colour = 'x' }\n", 1, "settings: unknown key 'colour'");
    expect_only("output 'o' { type = 'file', queue = { capcity = 5 } }\n", 1,
                "output \"o\": unknown key 'queue.capcity', did you mean 'queue.capacity'?");
    expect_only("input 'u' { type = 'unix', path = 'x', listen = '1.2.3.4:5' }\n", 1,
                "input \"u\": key 'listen' is not used by type 'unix' (only by udp, tcp and native_stream)");
    expect_only("input 'u' { type = 'unix', 'x', path = 'y' }\n", 1,
                "input \"u\": unexpected list item 1; write name = value");
}

static void test_wrong_types(void **state)
{
    expect_only("input \"tcp\" { type = 'tcp', listen = '127.0.0.1:1', max_message = true }\n", 1,
                "input \"tcp\": key 'max_message' wants a size (number or string like \"64K\"), "
                "got boolean");
    expect_only(OUT "route { to = function() end }\n", 2,
                "route: key 'to' wants an output, an output name or a list of them, got a "
                "function (only 'where' and 'transform' take functions)");
    expect_only(OUT "route { to = 'o', final = 'yes' }\n", 2,
                "route: key 'final' wants a boolean, got string");
    expect_only("input 'u' { type = 'unix', path = function() end }\n", 1,
                "input \"u\": key 'path' wants a string, got function");
    expect_only("input 't' { type = 'tcp', listen = 'h:1', idle_timeout = 1.5 }\n", 1,
                "input \"t\": key 'idle_timeout' wants a whole number from 0 to 1073741824, got 1.5");
    expect_only("input 't' { type = 'tcp', listen = 'h:1', idle_timeout = -1 }\n", 1,
                "input \"t\": key 'idle_timeout' wants a whole number from 0 to 1073741824, got -1");
    expect_only("input 't' { type = 'tcp', listen = 'h:1', max_connections = 0 }\n", 1,
                "input \"t\": key 'max_connections' wants a whole number from 1 to 1048576, got 0");
    expect_only("input 'u' { type = 'udp', listen = 'h:1', max_connections = 5 }\n", 1,
                "input \"u\": key 'max_connections' is not used by type 'udp' (only by tcp and native_stream)");
    expect_only("output 'o' { type = 'file', f = print }\n", 1,
                "output \"o\": key 'f' wants a string, number, boolean or table, got function");
    expect_only("local o = output 'o' { type = 'file' }\noutput 'p' { type = 'file', x = o }\n", 2,
                "output \"p\": key 'x' wants a string, number, boolean or table, got output handle");
    /* A list alone is the plugin's to accept (hosts.1, hosts.2: test_plugin.c). */
    expect_only("output 'o' { type = 'file', hosts = { 'a', x = 'b' } }\n", 1,
                "output \"o\": key 'hosts' holds a list and names beside it; write a list alone");
    expect_only("output 'o' { type = 'file', hosts = { 'a', print } }\n", 1,
                "output \"o\": key 'hosts.2' wants a string, number, boolean or table, got function");
    expect_only("output 'o' { type = 'file', queue = 5 }\n", 1,
                "output \"o\": key 'queue' wants a table { capacity = N, max_bytes = SIZE, policy = P }, "
                "got number");
    expect_only("output 'o' { type = 'file', queue = { policy = 'dorp' } }\n", 1,
                "output \"o\": key 'queue.policy': unknown policy 'dorp' (block, drop or disk), "
                "did you mean 'drop'?");
    expect_only("output 'o' { type = 'file', queue = { capacity = 0 } }\n", 1,
                "output \"o\": key 'queue.capacity' wants a whole number from 1 to 1073741824, got 0");
    expect_only(OUT "route { app_name = { 'a', 3 }, to = 'o' }\n", 2,
                "route: key 'app_name' wants a string or a list of strings, got number as list item 2");
    expect_only(OUT "route { app_name = {}, to = 'o' }\n", 2,
                "route: key 'app_name' wants a string or a list of strings, got an empty list");
    expect_only("settings { log_level = 'crit' }\n", 1,
                "settings: key 'log_level': unknown level 'crit' (err, warning, notice, info or debug)");
}

/* Each queue key alone, and the keys that do nothing with the policy
 * given (lua_queue.c). */
static void test_queue_keys(void **state)
{
    (void)state;
#define Q(T) "output 'o' { type = 'file', queue = { " T " } }\n"
    expect_only(Q("policy = 'disk'"), 1,
                "output \"o\": queue policy \"disk\" keeps its segments under "
                "settings.state_dir, which is not set");
    expect_only(Q("block_timeout = 'soon'"), 1,
                "output \"o\": key 'queue.block_timeout': bad duration 'soon' (a number of seconds "
                "or a string like \"250ms\", \"5s\", \"2m\", \"1h\")");
    expect_only(Q("policy = 'drop', block_timeout = '5s'"), 1,
                "output \"o\": key 'queue.block_timeout' is for an output that blocks (policy "
                "\"block\", or \"disk\" with overflow \"block\"); this one drops");
    expect_only(Q("overflow = 'drop'"), 1,
                "output \"o\": key 'queue.overflow' is for policy \"disk\" (what happens past "
                "disk.max_size); policy \"block\" is its own overflow");
    expect_only(Q("disk = { max_size = '1G' }"), 1,
                "output \"o\": key 'queue.disk' is for policy \"disk\"");
    expect_only(Q("drop_severity = 'chatty'"), 1,
                "output \"o\": key 'queue.drop_severity': unknown severity 'chatty' (emerg, alert, "
                "crit, err, warning, notice, info or debug)");
    expect_only(Q("drop_severity = 'info', high_water = 1.5"), 1,
                "output \"o\": key 'queue.high_water' wants a number above 0 and at most 1 (a "
                "fraction of the queue), got 1.5");
    expect_only(Q("high_water = 0.5"), 1,
                "output \"o\": key 'queue.high_water' says when drop_severity starts: give "
                "queue.drop_severity too");
    expect_only(Q("bytes = '1M', max_bytes = '2M'"), 1,
                "output \"o\": keys 'queue.max_bytes' and 'queue.bytes' are the same setting: "
                "give one");
    expect_only("settings { state_dir = 's' }\n"
                Q("policy = 'disk', disk = { sync = 'often' }"), 2,
                "output \"o\": key 'queue.disk.sync' wants \"batch\" (fdatasync after each batch), "
                "\"none\" (the page cache only) or an interval such as \"1s\"");
    expect_only("settings { state_dir = 's' }\n"
                Q("policy = 'disk', disk = { max_size = '1K' }"), 2,
                "output \"o\": key 'queue.disk.max_size': size 1024 is out of range (65536 to "
                "1125899906842624)");
    expect_only("settings { state_dir = 's' }\n"
                Q("policy = 'disk', overflow = 'disk'"), 2,
                "output \"o\": key 'queue.overflow': the disk queue's overflow is block or drop");
    expect_only("settings { state_dir = 's' }\n"
                Q("policy = 'disk', disk = { maxsize = '1G' }"), 2,
                "output \"o\": unknown key 'queue.disk.maxsize', did you mean "
                "'queue.disk.max_size'?");
    expect_only("settings { shutdown_timeout = '2 weeks' }\n", 1,
                "settings: key 'shutdown_timeout': bad duration '2 weeks' (a number of seconds or a "
                "string like \"250ms\", \"5s\", \"2m\", \"1h\")");
#undef Q
}

/* ratelimit: its keys, their values, and the kinds that take it. */
static void test_ratelimit_errors(void **state)
{
#define U "input 'u' { type = 'unix', path = 'x', ratelimit = "
    expect_only(U "{ intreval = '1s' } }\n", 1,
                "input \"u\": unknown key 'ratelimit.intreval', did you mean "
                "'ratelimit.interval'?");
    expect_only(U "{ rate = 5 } }\n", 1, "input \"u\": unknown key 'ratelimit.rate'");
    expect_only(U "{ per = 'pdi' } }\n", 1,
                "input \"u\": key 'ratelimit.per': unknown value 'pdi' (pid or uid), did you "
                "mean 'pid'?");
    expect_only(U "{ per = 'process' } }\n", 1,
                "input \"u\": key 'ratelimit.per': unknown value 'process' (pid or uid)");
    expect_only(U "{ burst = 0 } }\n", 1,
                "input \"u\": key 'ratelimit.burst' wants a whole number from 1 to 1000000000, "
                "got 0");
    expect_only(U "{ burst = 1.5 } }\n", 1,
                "input \"u\": key 'ratelimit.burst' wants a whole number from 1 to 1000000000, "
                "got 1.5");
    expect_only(U "{ interval = '30 s' } }\n", 1,
                "input \"u\": key 'ratelimit.interval': bad duration '30 s' (a number of seconds "
                "or a string like \"250ms\", \"5s\", \"2m\", \"1h\")");
    expect_only(U "{ interval = 0 } }\n", 1,
                "input \"u\": key 'ratelimit.interval': duration of 0 ms is out of range (1 to "
                "604800000 ms)");
    expect_only(U "{ interval = '8d' } }\n", 1,
                "input \"u\": key 'ratelimit.interval': too long a duration '8d' (a number of "
                "seconds or a string like \"250ms\", \"5s\", \"2m\", \"1h\")");
    expect_only(U "{ interval = true } }\n", 1,
                "input \"u\": key 'ratelimit.interval' wants a duration (seconds, or a string "
                "like \"5s\"), got boolean");
    expect_only(U "1000 }\n", 1,
                "input \"u\": key 'ratelimit' wants a table { interval = DURATION, burst = N, "
                "per = \"pid\" or \"uid\" }, got number");
    expect_only(U "{ 5 } }\n", 1,
                "input \"u\": key 'ratelimit' holds a list item 1; write name = value");
#undef U
    expect_only("input 't' { type = 'tcp', listen = '127.0.0.1:1', ratelimit = {} }\n", 1,
                "input \"t\": key 'ratelimit' is not used by type 'tcp' (only by unix and native)");
    expect_only("input 'd' { type = 'udp', listen = '127.0.0.1:1', ratelimit = { burst = 5 } }\n",
                1, "input \"d\": key 'ratelimit' is not used by type 'udp' (only by unix and native)");
    /* Its value is checked even where the key is refused: one run says all. */
    struct loaded l;
    load_text(&l, "input 't' { type = 'tcp', listen = '127.0.0.1:1', ratelimit = { per = 'x' } }\n");
    assert_int_equal(l.errs.n, 2);
    done(&l);
}

static void test_missing_keys(void **state)
{
    expect_only("input 'x' { path = 'p' }\n", 1, "input \"x\": key 'type' is missing (unix, udp, tcp, kmsg, native_stream or native)");
    expect_only("input 'x' { type = 'unix' }\n", 1, "input \"x\": type 'unix' needs key 'path'");
    expect_only("input 'x' { type = 'tcp' }\n", 1,
                "input \"x\": type 'tcp' needs key 'listen' (\"HOST:PORT\")");
    expect_only("input 'x' { type = 'udp' }\n", 1,
                "input \"x\": type 'udp' needs key 'listen' (\"HOST:PORT\")");
    /* A kind with two address keys, neither required, takes one of them. */
    expect_only("input 'x' { type = 'native_stream' }\n", 1,
                "input \"x\": type 'native_stream' needs key 'path' or 'listen'");
    expect_only("input 'x' { type = 'native_stream', path = 'p', listen = '127.0.0.1:1' }\n", 1,
                "input \"x\": type 'native_stream' takes one of keys 'path' or 'listen', not both");
    expect_only("input 'x' { type = 'native_stream', path = 'p', trusted = 'yes' }\n", 1,
                "input \"x\": key 'trusted' wants a boolean, got string");
    expect_only("output 'x' { path = 'p' }\n", 1,
                "output \"x\": key 'type' is missing (the plugin, e.g. \"file\")");
    expect_only(OUT "\nroute { facility = 'mail' }\n", 3,
                "route: key 'to' is missing or nil (an output, an output name or a list of them)");
    expect_only(OUT "route { to = messages }\n", 2,
                "route: key 'to' is missing or nil (an output, an output name or a list of them)");
}

static void test_names(void **state)
{
    expect_only("input 'x' { type = 'unix', path = 'a' }\n\ninput 'x' { type = 'unix', path = 'b' }\n",
                3, "input \"x\": already declared at line 1");
    expect_only(OUT "output 'o' { type = 'file' }\n", 2, "output \"o\": already declared at line 1");
    expect_only("input 'a b' { type = 'unix', path = 'a' }\n", 1,
                "input: bad name \"a b\" (1 to 63 letters, digits, '_', '-' or '.')");
    expect_only("input 'x' { type = 'tpc', listen = 'h:1' }\n", 1,
                "input \"x\": unknown type 'tpc' (unix, udp, tcp, kmsg, native_stream or native), did you mean 'tcp'?");
    expect_only("input 'x' { type = 'journald', path = 'a' }\n", 1,
                "input \"x\": unknown type 'journald' (unix, udp, tcp, kmsg, native_stream or native)");
    /* Not the type "tcp": nothing is checked against tcp's keys. */
    expect_only("input 'x' { type = 'tcp\\0', path = 'a' }\n", 1,
                "input \"x\": key 'type' wants a non-empty string without NUL bytes");
    expect_only("output 'x' { type = '../evil' }\n", 1,
                "output \"x\": bad type '../evil' (a plugin name: a-z, 0-9, '_' and '-')");
}

/* Duplicates are found by one sort once the chunk has run, not by
 * comparing each declaration with all before it (quadratic): each later
 * one is reported at its own line naming the first, per kind; a name
 * given twice in one `to` is one target. */
static void test_duplicates_found_by_sort(void **state)
{
    struct loaded l;
    load_text(&l, "output 'o' { type = 'file' }\n"
                  "input 'o' { type = 'unix', path = 'a' }\n"
                  "for i = 1, 2 do\n"
                  "  output 'o' { type = 'file' }\n"
                  "end\n"
                  "output 'p' { type = 'file' }\n"
                  "route { to = { 'p', 'o', 'p' } }\n");
    assert_int_equal(l.errs.n, 2);
    assert_string_equal(l.errs.v[0], "test.lua:4: output \"o\": already declared at line 1");
    assert_string_equal(l.errs.v[1], "test.lua:4: output \"o\": already declared at line 1");
    done(&l);
    load_text(&l, OUT "output 'p' { type = 'file' }\nroute { to = { 'p', 'o', 'p', 'o' } }\n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.c->routes[0].nto, 2);
    assert_int_equal(l.c->routes[0].to[0], 1);
    assert_int_equal(l.c->routes[0].to[1], 0);
    done(&l);
}

/* settings.hostname goes into every line: a newline in it forged a line,
 * and --check let it pass. Only RFC 5424's HOSTNAME bytes, 1 to 255. */
static void test_hostname_refuses_control_bytes(void **state)
{
    expect_only("settings { hostname = 'a\\nb' }\n", 1, "settings: key 'hostname': byte 0x0a "
                "at 2 is not printable ASCII (a host name is 1 to 255 of them, without spaces)");
    expect_only("settings { hostname = 'tab\\there' }\n", 1, "settings: key 'hostname': byte "
                "0x09 at 4 is not printable ASCII (a host name is 1 to 255 of them, without "
                "spaces)");
    expect_only("settings { hostname = 'two words' }\n", 1, "settings: key 'hostname': byte "
                "0x20 at 4 is not printable ASCII (a host name is 1 to 255 of them, without "
                "spaces)");
    expect_only("settings { hostname = 'x\\127' }\n", 1, "settings: key 'hostname': byte 0x7f "
                "at 2 is not printable ASCII (a host name is 1 to 255 of them, without spaces)");
    expect_only("settings { hostname = 'caf\\xc3\\xa9' }\n", 1, "settings: key 'hostname': "
                "byte 0xc3 at 4 is not printable ASCII (a host name is 1 to 255 of them, without "
                "spaces)");
    expect_only("settings { hostname = string.rep('h', 256) }\n", 1,
                "settings: key 'hostname': 256 bytes, at most 255");
    struct loaded l;
    load_text(&l, "settings { hostname = string.rep('h', 250) .. '.a-b_' }\n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(strlen(l.c->hostname), 255);
    done(&l);
}

/* Two inputs on one socket are a config error naming both lines, not a
 * bind() that fails at start-up. */
static void test_same_address(void **state)
{
    struct loaded l;
    load_text(&l, "input 'a' { type = 'tcp', listen = '127.0.0.1:5514' }\n"
                  "input 'b' { type = 'tcp', listen = '127.0.0.1:5514', max_message = '8K' }\n"
                  "input 'c' { type = 'unix', path = 'log.sock' }\n"
                  "input 'd' { type = 'unix', path = 'log.sock' }\n"
                  "input 'e' { type = 'udp', listen = '[::1]:514' }\n"
                  "input 'f' { type = 'udp', listen = '[::1]:514' }\n"
                  "input 'g' { type = 'tcp', listen = '127.0.0.1:5514' }\n"
                  "input 'h' { type = 'native', path = 'log.sock' }\n"
                  "input 'i' { type = 'native_stream', path = 'log.sock' }\n");
    char want[3][8192];
    snprintf(want[0], sizeof want[0], "input \"b\": 127.0.0.1:5514 is already used by input "
             "\"a\" at %s:1", l.path);
    snprintf(want[1], sizeof want[1], "input \"d\": \"log.sock\" is already used by input "
             "\"c\" at %s:3", l.path);
    snprintf(want[2], sizeof want[2], "input \"f\": [::1]:514 is already used by input "
             "\"e\" at %s:5", l.path);
    expect(&l, 2, want[0]);
    expect(&l, 4, want[1]);
    expect(&l, 6, want[2]);
    snprintf(want[0], sizeof want[0], "input \"g\": 127.0.0.1:5514 is already used by input "
             "\"a\" at %s:1", l.path);
    expect(&l, 7, want[0]); /* the first holder, once */
    /* one path is one socket, whichever kinds bind it */
    snprintf(want[0], sizeof want[0], "input \"h\": \"log.sock\" is already used by input "
             "\"c\" at %s:3", l.path);
    expect(&l, 8, want[0]);
    snprintf(want[0], sizeof want[0], "input \"i\": \"log.sock\" is already used by input "
             "\"c\" at %s:3", l.path);
    expect(&l, 9, want[0]); /* a stream socket too */
    assert_int_equal(l.errs.n, 6);
    done(&l);
    /* Kinds apart, hosts apart, and port 0 (the kernel picks) never clash. */
    load_ok(&l, "input 'a' { type = 'tcp', listen = '127.0.0.1:5514' }\n"
                "input 'b' { type = 'udp', listen = '127.0.0.1:5514' }\n"
                "input 'c' { type = 'tcp', listen = '127.0.0.2:5514' }\n"
                "input 'd' { type = 'tcp', listen = '127.0.0.1:0' }\n"
                "input 'e' { type = 'tcp', listen = '127.0.0.1:0' }\n"
                "input 'f' { type = 'unix', path = 'a.sock' }\n"
                "input 'g' { type = 'unix', path = 'b.sock' }\n"
                "input 'h' { type = 'native_stream', path = 'h.sock' }\n"
                "input 'i' { type = 'native_stream', listen = '127.0.0.1:5514' }\n"
                "input 'j' { type = 'native_stream', path = 'c.sock' }\n");
    done(&l);
    /* native_stream binds the one of path and listen it was given. */
    load_text(&l, "input 'a' { type = 'native_stream', path = 'e.sock' }\n"
                  "input 'b' { type = 'native_stream', listen = '127.0.0.1:19532' }\n"
                  "input 'c' { type = 'native_stream', path = 'e.sock', trusted = true }\n"
                  "input 'd' { type = 'native_stream', listen = '127.0.0.1:19532' }\n");
    snprintf(want[0], sizeof want[0], "input \"c\": \"e.sock\" is already used by input "
             "\"a\" at %s:1", l.path);
    snprintf(want[1], sizeof want[1], "input \"d\": 127.0.0.1:19532 is already used by input "
             "\"b\" at %s:2", l.path);
    expect(&l, 3, want[0]);
    expect(&l, 4, want[1]);
    assert_int_equal(l.errs.n, 2);
    done(&l);
    /* There is one kernel log: a second kmsg input names the first. */
    load_text(&l, "input 'k' { type = 'kmsg' }\n"
                  "input 'j' { type = 'kmsg', from = 'now' }\n");
    snprintf(want[0], sizeof want[0], "input \"j\": there can be one input of type 'kmsg', "
             "and input \"k\" at %s:1 is one", l.path);
    expect(&l, 2, want[0]);
    assert_int_equal(l.errs.n, 1);
    done(&l);
}

/* A CHOICE key's value is one of its strings, with a "did you mean". */
static void test_choice_values(void **state)
{
    expect_only("input 'k' { type = 'kmsg', from = 'bot' }\n", 1,
                "input \"k\": key 'from': unknown value 'bot' (\"auto\", \"boot\", \"now\"), "
                "did you mean 'boot'?");
    expect_only("input 'k' { type = 'kmsg', from = 3 }\n", 1,
                "input \"k\": key 'from' wants a string, got number");
    expect_only("input 'k' { type = 'tcp', listen = '127.0.0.1:0', from = 'now' }\n", 1,
                "input \"k\": key 'from' is not used by type 'tcp' (only by kmsg)");
}

/* With allocations failing from any point on, a config with errors never
 * loads, even when the errors themselves cannot be recorded; one without
 * loads whole or not at all. */
static void test_out_of_memory(void **state)
{
    /* Its errors come last, so some failure point loses all of them. */
    static const char bad[] = "settings { control = 'run/sluice.ctl' }\n"
                              "output 'o' { type = 'file', path = 'x' }\n"
                              "route { to = 'o' }\n"
                              "input 'devlog' { typo = 'unix' }\n"
                              "error('and the chunk stops')\n";
    static const char good[] = "input 'devlog' { type = 'unix', path = 'log' }\n"
                               "output 'o' { type = 'file', path = 'x' }\n"
                               "route { to = 'o' }\n";
    const char *const texts[] = {bad, good};
    for (int t = 0; t < 2; t++) {
        struct sl_config *c = NULL;
        struct sl_errors errs = {0};
        sl_alloc_fail_after(LONG_MAX);
        int rc = sl_config_load_text(texts[t], strlen(texts[t]), "oom.lua", &c, &errs);
        long n = sl_alloc_fail_after(-1);
        assert_int_equal(rc, t == 0 ? -EINVAL : 0);
        sl_config_free(c);
        sl_errors_clear(&errs);
        for (long i = 0; i <= n; i++) {
            c = NULL;
            sl_alloc_fail_after(i);
            rc = sl_config_load_text(texts[t], strlen(texts[t]), "oom.lua", &c, &errs);
            sl_alloc_fail_after(-1);
            if (rc == 0 && t == 0)
                fprintf(stderr, "  allocation %ld failing: a config with errors loaded\n", i);
            assert_true(rc == -EINVAL || (rc == 0 && t == 1));
            assert_true(rc == 0 ? c != NULL : c == NULL);
            for (size_t k = 0; c != NULL && k < c->ninputs; k++)
                assert_true(c->inputs[k].name != NULL && c->inputs[k].kind != NULL);
            sl_config_free(c);
            sl_errors_clear(&errs);
        }
    }
}

/* --check's load: what was read stays to look at, even when errors were
 * found, with what could not be read marked. */
static void test_partial_load(void **state)
{
    struct loaded l;
    snprintf(l.path, sizeof l.path, "/tmp/sluice-test-XXXXXX");
    int fd = mkstemp(l.path);
    assert_true(fd >= 0);
    close(fd);
    write_text(l.path, "output 'good' { type = 'file', path = 'x' }\n"
                       "output 'badtype' { type = '../x', path = 'x' }\n"
                       "output 'notype' { type = 5 }\n"
                       "output 'badkey' { type = 'file', path = 'x', f = function() end }\n"
                       "output 'badplugin' { type = 'file', plugin = 7 }\n"
                       "route { to = 'good', finl = true }\n");
    l.errs = (struct sl_errors){0};
    l.rc = sl_config_load_partial(l.path, &l.c, &l.errs);
    unlink(l.path);
    assert_int_equal(l.rc, -EINVAL);
    assert_int_equal(l.errs.n, 5);
    assert_non_null(l.c);
    assert_int_equal(l.c->noutputs, 5);
    const struct sl_output_conf *o = l.c->outputs;
    assert_string_equal(o[0].type, "file");
    assert_false(o[0].broken);
    assert_non_null(sl_output_conf_get(&o[0], "path"));
    assert_null(o[1].type);
    assert_null(o[2].type);
    assert_string_equal(o[3].type, "file");
    assert_true(o[3].broken);
    assert_true(o[4].broken);
    done(&l);
    /* A file that cannot be read: errors, and an empty config. */
    snprintf(l.path, sizeof l.path, "/nonexistent-sluice-test/x.lua");
    l.errs = (struct sl_errors){0};
    assert_int_equal(sl_config_load_partial(l.path, &l.c, &l.errs), -EINVAL);
    assert_non_null(l.c);
    assert_int_equal(l.c->noutputs, 0);
    done(&l);
}

static void test_listen(void **state)
{
    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:70000", "::1:514", "[::1]514",
                                      ":514", "host:", "[]:5", "[1.2.3.4]:5", "h:-1",
                                      "h:123456", "a b:5", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        char text[256], msg[256];
        snprintf(text, sizeof text, "input 't' { type = 'tcp', listen = '%s' }\n", bad[i]);
        snprintf(msg, sizeof msg, "input \"t\": bad listen address '%s' "
                                  "(HOST:PORT or [IPv6]:PORT, port 0-65535)", bad[i]);
        expect_only(text, 1, msg);
    }
    struct loaded l;
    load_ok(&l, "input 'a' { type = 'udp', listen = '[fe80::1%eth0]:514' }\n"
                "input 'b' { type = 'udp', listen = 'localhost:65535' }\n"
                "input 'c' { type = 'udp', listen = '1.2.3.4:0514' }\n");
    assert_string_equal(l.c->inputs[0].host, "fe80::1%eth0");
    assert_string_equal(l.c->inputs[0].port, "514");
    assert_string_equal(l.c->inputs[1].host, "localhost");
    assert_string_equal(l.c->inputs[1].port, "65535");
    assert_string_equal(l.c->inputs[2].port, "514");
    done(&l);
}

static void test_bad_sizes(void **state)
{
    expect_only("input 'u' { type = 'unix', path = 'a', max_message = '64X' }\n", 1,
                "input \"u\": key 'max_message': bad size '64X' (a number of bytes or a string "
                "like \"64K\", \"16M\", \"1G\")");
    expect_only("input 'u' { type = 'unix', path = 'a', max_message = 0 }\n", 1,
                "input \"u\": key 'max_message': size 0 is out of range (1 to 67108864)");
    expect_only("input 'u' { type = 'unix', path = 'a', coalesce = '1s' }\n", 1,
                "input \"u\": key 'coalesce': too long a duration '1s' (a number of seconds or a "
                "string like \"250ms\", \"5s\", \"2m\", \"1h\")");
    expect_only("input 'u' { type = 'udp', listen = '127.0.0.1:0', coalesce = 'soon' }\n", 1,
                "input \"u\": key 'coalesce': bad duration 'soon' (a number of seconds or a "
                "string like \"250ms\", \"5s\", \"2m\", \"1h\")");
    expect_only("input 'u' { type = 'tcp', listen = '127.0.0.1:0', coalesce = '2ms' }\n", 1,
                "input \"u\": key 'coalesce' is not used by type 'tcp' (only by unix, udp and "
                "native)");
    expect_only("input 'u' { type = 'unix', path = 'a', rcvbuf = -1 }\n", 1,
                "input \"u\": key 'rcvbuf': bad size -1 (a whole number of bytes)");
    expect_only("input 'u' { type = 'unix', path = 'a', rcvbuf = 1.5 }\n", 1,
                "input \"u\": key 'rcvbuf': bad size 1.5 (a whole number of bytes)");
    expect_only("output 'o' { type = 'file', queue = { bytes = '' } }\n", 1,
                "output \"o\": key 'queue.bytes': bad size '' (a number of bytes or a string "
                "like \"64K\", \"16M\", \"1G\")");
}

static void test_facility_severity_errors(void **state)
{
    expect_only(OUT "route { facility = 'authh', to = 'o' }\n", 2,
                "route: unknown facility 'authh', did you mean 'auth'?");
    expect_only(OUT "route { facility = { 'mail', 'nonsense' }, to = 'o' }\n", 2,
                "route: unknown facility 'nonsense'");
    expect_only(OUT "route { severity = 'warnin', to = 'o' }\n", 2,
                "route: unknown severity 'warnin' (a name like \"err\" or a comparison like "
                "\"<=warning\"), did you mean 'warning'?");
    expect_only(OUT "route { severity = '=<warning', to = 'o' }\n", 2,
                "route: bad severity comparison '=<warning' (<=, <, >=, > or == and a name, "
                "like \"<=warning\")");
    expect_only(OUT "route { severity = { 'err', '!=err' }, to = 'o' }\n", 2,
                "route: bad severity comparison '!=err' (<=, <, >=, > or == and a name, "
                "like \"<=warning\")");
    expect_only(OUT "route { severity = '<=wraning', to = 'o' }\n", 2,
                "route: unknown severity '<=wraning' (a name like \"err\" or a comparison like "
                "\"<=warning\"), did you mean '<=warning'?");
    expect_only(OUT "route { severity = '>debug', to = 'o' }\n", 2,
                "route: severity '>debug' matches no severity");
    expect_only(OUT "route { severity = 3, to = 'o' }\n", 2,
                "route: key 'severity' wants a severity name, a comparison like \"<=warning\", "
                "a list of them or { except = ... }, got number");
    /* negation: the complement of a spec, which must leave something */
    expect_only(OUT "route { facility = 'auth,authpriv', to = 'o' }\n", 2,
                "route: unknown facility 'auth,authpriv' (a list is written facility = { "
                "\"auth\", \"authpriv\" })");
    expect_only(OUT "route { severity = 'info,notice', to = 'o' }\n", 2,
                "route: unknown severity 'info,notice' (a list is written severity = { "
                "\"info\", \"notice\" })");
    expect_only(OUT "route { severity = { except = '<=debug' }, to = 'o' }\n", 2,
                "route: key 'severity': { except = ... } leaves no severity");
    expect_only(OUT "route { facility = { except = 'auth', 'mail' }, to = 'o' }\n", 2,
                "route: key 'facility': a table with 'except' takes nothing else, as in facility = "
                "{ except = { ... } }");
    expect_only(OUT "route { facility = { except = { 'mial' } }, to = 'o' }\n", 2,
                "route: unknown facility 'mial', did you mean 'mail'?");
    expect_only(OUT "route { facility = { except = 3 }, to = 'o' }\n", 2,
                "route: key 'facility.except' wants a facility name, a list of them or { except = "
                "... }, got number");
}

static void test_field_conditions(void **state)
{
    expect_only(OUT "route { fields = 'UNIT', to = 'o' }\n", 2,
                "route: key 'fields' wants a table of field keys and what each must be (a "
                "string, a list of them, true or false), got string");
    expect_only(OUT "route { fields = { ['a b'] = 'x' }, to = 'o' }\n", 2,
                "route: key 'fields': 'a b' is not a field key (1 to 64 letters, digits, '_', "
                "'-' or '.')");
    expect_only(OUT "route { fields = { 'x' }, to = 'o' }\n", 2,
                "route: key 'fields': 'number' is not a field key (1 to 64 letters, digits, "
                "'_', '-' or '.')");
    expect_only(OUT "route { fields = {}, to = 'o' }\n", 2,
                "route: key 'fields' wants at least one field, as in fields = { UNIT = "
                "\"ssh.service\" }");
    expect_only(OUT "route { fields = { UNIT = 3 }, to = 'o' }\n", 2,
                "route: key 'fields.UNIT' wants a string, a list of strings, true (present) or "
                "false (absent), got number");
    expect_only(OUT "route { fields = { UNIT = { 'a', 4 } }, to = 'o' }\n", 2,
                "route: key 'fields.UNIT' wants a string, a list of strings, true (present) or "
                "false (absent), got number as list item 2");
}

static void test_references(void **state)
{
    expect_only(OUT "route { to = 'oo2' }\n", 2, "route: 'to' names unknown output 'oo2', did you mean 'o'?");
    expect_only(OUT "route { to = { 'o', 'archive' } }\n", 2,
                "route: 'to' names unknown output 'archive'");
    expect_only(OUT "input 'devlog' { type = 'unix', path = 'l' }\nroute { input = 'devlgo', to = 'o' }\n",
                3, "route: key 'input' names unknown input 'devlgo', did you mean 'devlog'?");
}

static void test_bad_arguments(void **state)
{
    expect_only("settings 'x'\n", 1, "settings: wants a table: settings { ... }, got string");
    expect_only("settings {}\n\nsettings {}\n", 3, "settings: given twice (first at line 1)");
    expect_only("input 'x' 'y'\n", 1, "input \"x\": wants a table: input \"x\" { ... }, got string");
    expect_only("input { type = 'unix' }\n", 1,
                "input: wants a name: input \"NAME\" { ... }, got table");
    expect_only("output(42) { type = 'file' }\n", 1,
                "output: wants a name: output \"NAME\" { ... }, got number");
    expect_only("route 'x'\n", 1, "route: wants a table: route { ... }, got string");
    expect_only("\ninput 'x'\n", 2, "input \"x\": no table given; write input \"x\" { ... }");
    expect_only("input('x', { type = 'unix', path = 'p' })\n", 1,
                "input \"x\": no table given; write input \"x\" { ... }");
    /* A route to an output whose name was bad reports only the name. */
    expect_only("local o = output(false) { type = 'file' }\nroute { to = o }\n", 1,
                "output: wants a name: output \"NAME\" { ... }, got boolean");
}

static void test_several_errors(void **state)
{
    struct loaded l;
    load_text(&l, "input 'tcp' { type = 'tcp', listen = 'nowhere', max_message = true }\n"
                  "input 'udp' { type = 'udp', listen = '0.0.0.0:514', rcvbuf = '4Q' }\n"
                  "output 'o' { type = 'file', path = 'x', queue = { policy = 'lose' } }\n"
                  "route { severity = '<=warnign', to = 'x' }\n");
    assert_int_equal(l.errs.n, 6);
    /* In order of the file, and of keys within a declaration. */
    expect(&l, 1, "input \"tcp\": bad listen address 'nowhere' (HOST:PORT or [IPv6]:PORT, port 0-65535)");
    expect(&l, 1, "input \"tcp\": key 'max_message' wants a size (number or string like \"64K\"), got boolean");
    assert_string_equal(strchr(l.errs.v[0], ' ') + 1, "input \"tcp\": bad listen address 'nowhere' (HOST:PORT or [IPv6]:PORT, port 0-65535)");
    expect(&l, 2, "input \"udp\": key 'rcvbuf': bad size '4Q' (a number of bytes or a string like \"64K\", \"16M\", \"1G\")");
    expect(&l, 3, "output \"o\": key 'queue.policy': unknown policy 'lose' (block, drop or disk)");
    expect(&l, 4, "route: unknown severity '<=warnign' (a name like \"err\" or a comparison like \"<=warning\"), did you mean '<=warning'?");
    expect(&l, 4, "route: 'to' names unknown output 'x'");
    done(&l);
}

/* Checks made after the chunk ran still come out in file order. */
static void test_errors_in_file_order(void **state)
{
    struct loaded l;
    load_text(&l, "route { to = 'nowhere' }\n"
                  "input 'x' { type = 'unix' }\n"
                  "input 'y'\n");
    assert_int_equal(l.errs.n, 3);
    expect(&l, 1, "route: 'to' names unknown output 'nowhere'");
    char want[8192];
    snprintf(want, sizeof want, "%s:1: route: 'to' names unknown output 'nowhere'", l.path);
    assert_string_equal(l.errs.v[0], want);
    snprintf(want, sizeof want, "%s:2: input \"x\": type 'unix' needs key 'path'", l.path);
    assert_string_equal(l.errs.v[1], want);
    snprintf(want, sizeof want, "%s:3: input \"y\": no table given; write input \"y\" { ... }",
             l.path);
    assert_string_equal(l.errs.v[2], want);
    done(&l);
}

static void test_multiline_declaration(void **state)
{
    expect_only("-- a comment\n"
                "input 'x' {\n"
                "    type = 'unix',\n"
                "    path = 'p', paht = 'q',\n"
                "}\n", 2, "input \"x\": unknown key 'paht', did you mean 'path'?");
    /* Declared from a helper function: the helper's line. */
    expect_only("local function unix(name, path)\n"
                "    input(name) { type = 'unix', path = path, mode = true }\n"
                "end\n"
                "unix('a', 'p')\n", 2,
                "input \"a\": key 'mode' wants a permission string like \"0666\", got boolean");
}

static void test_syntax_error(void **state)
{
    expect_only("input 'x' { type = 'unix', path = 'p' }\n"
                "route { to = 'x' \n"
                "input 'y' { }\n", 3, "'}' expected (to close '{' at line 2) near 'input'");
    expect_only("local x = = 1\n", 1, "unexpected symbol near '='");
}

static void test_runtime_error(void **state)
{
    expect_only("local t\n\nt.x = 1\n", 3, "attempt to index a nil value (local 't')");
    expect_only("\nerror('boom')\n", 2, "boom");
    expect_only("\n\nerror('no position', 0)\n", 3, "no position");
    expect_only("local function f()\n  error({})\nend\nf()\n", 2, "(error object is a table value)");
    expect_only("\nerror(setmetatable({}, { __tostring = function() return 'custom' end }))\n", 2,
                "custom");
    expect_only("local s = load('local a = nil; return a.b')\n\nlocal v = s()\n", 3,
                "[string \"local a = nil; return a.b\"]:1: attempt to index a nil value (local 'a')");
}

static void test_runaway(void **state)
{
    expect_only("local n = 0\n\nwhile true do n = n + 1 end\n", 3,
                "config took too long (more than 100 million instructions)");
    /* A pcall in the config cannot catch the limit and carry on. */
    expect_only("while true do\n  pcall(function() while true do end end)\nend\n", 2,
                "config took too long (more than 100 million instructions)");
}

static void test_memory_limit(void **state)
{
    expect_only("local t = {}\nfor i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end\n", 0,
                "config needs more than 64 MiB of memory");
    expect_only("local s = ('x'):rep(1 << 30)\n", 0, "config needs more than 64 MiB of memory");
}

static void test_missing_file(void **state)
{
    struct loaded l;
    snprintf(l.path, sizeof l.path, "/nonexistent/sluice.lua");
    load_file(&l);
    expect(&l, 0, "open() failed (2: No such file or directory)");
    done(&l);
}

/* Lua cuts long chunk names to "...TAIL"; errors still name the whole path. */
static void test_long_path(void **state)
{
    char dir[] = "/tmp/sluice-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct loaded l;
    snprintf(l.path, sizeof l.path, "%s/a-rather-long-directory-name-for-lua-to-shorten/"
                                    "and-a-long-file-name.lua", dir);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/a-rather-long-directory-name-for-lua-to-shorten", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_text(l.path, "\nlocal x = nil + 1\n");
    load_file(&l);
    expect(&l, 2, "attempt to perform arithmetic on a nil value");
    done(&l);
    write_text(l.path, "\n\nlocal = 1\n");
    load_file(&l);
    expect(&l, 3, "<name> expected near '='");
    done(&l);
    unlink(l.path);
    rmdir(sub);
    rmdir(dir);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_queue_keys),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_ratelimit_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_duplicates_found_by_sort),
        cmocka_unit_test(test_hostname_refuses_control_bytes),
        cmocka_unit_test(test_same_address),
        cmocka_unit_test(test_choice_values),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_partial_load),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_field_conditions),
        cmocka_unit_test(test_facility_severity_errors),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_errors_in_file_order),
        cmocka_unit_test(test_multiline_declaration),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_runtime_error),
        cmocka_unit_test(test_runaway),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_long_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
