/* SPDX-License-Identifier: MIT */
/* test_lua_config.c: sluice.lua loading: values, defaults, copies, the
 * input kinds, route functions and the sandbox. What fails, with its
 * FILE:LINE, is in test_lua_config_errors.c. */
#include "config.h" /* _GNU_SOURCE: mkdtemp, strdup */

#include <dirent.h>
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
#include "input/kind.h"

#include "conf_fixture.h"


/* {=== copies and comparisons (reload) */
static void test_conf_copies(void **state)
{
    (void)state;
    struct loaded l;
    load_ok(&l, "input 'i' { type = 'tcp', listen = '127.0.0.1:5514', max_message = '8K' }\n"
                "input 'e' { type = 'udp', listen = '127.0.0.1:0' }\n"
                "output 'f' { type = 'file', path = 'p', sync = true, ratio = 0.5,\n"
                "  queue = { capacity = 5, policy = 'drop' } }\n"
                "route { to = 'f' }\n");
    const struct sl_output_conf *o = &l.c->outputs[0];
    struct sl_output_conf *oc;
    assert_int_equal(sl_output_conf_dup(o, &oc), 0);
    assert_true(oc->name != o->name && oc->file != o->file && oc->kv != o->kv);
    assert_string_equal(oc->file, o->file);
    assert_true(sl_output_conf_equal(o, oc));
    /* plugin keys are a set: order does not count */
    struct sl_kv t = oc->kv[0];
    oc->kv[0] = oc->kv[oc->nkv - 1];
    oc->kv[oc->nkv - 1] = t;
    assert_true(sl_output_conf_equal(o, oc));
    oc->line += 3; /* moved in the file: still the same output */
    assert_true(sl_output_conf_equal(o, oc));
    oc->queue.capacity = 6;
    assert_false(sl_output_conf_equal(o, oc));
    oc->queue.capacity = o->queue.capacity;
    struct sl_kv *path = (struct sl_kv *)sl_output_conf_get(oc, "path");
    assert_non_null(path);
    free(path->str);
    path->str = strdup("q");
    assert_false(sl_output_conf_equal(o, oc));
    sl_output_conf_free(oc);
    sl_output_conf_free(NULL);

    const struct sl_input_conf *a = &l.c->inputs[0], *e = &l.c->inputs[1];
    struct sl_input_conf *ac, *ec;
    assert_int_equal(sl_input_conf_dup(a, &ac), 0);
    assert_int_equal(sl_input_conf_dup(e, &ec), 0);
    assert_true(ac->host != a->host && sl_input_conf_equal(a, ac));
    assert_false(sl_input_conf_equal(a, e));
    assert_true(sl_input_conf_same_address(a, ac));
    assert_true(sl_input_conf_same_address(e, ec) == false); /* port 0 never collides */
    ac->max_message = 1;
    assert_false(sl_input_conf_equal(a, ac));
    assert_true(sl_input_conf_same_address(a, ac));
    ac->kind = sl_input_kind_find("udp"); /* udp and tcp ports are apart */
    assert_false(sl_input_conf_same_address(a, ac));
    sl_input_conf_free(ac);
    sl_input_conf_free(ec);
    done(&l);
}
/* }=== */

/* {=== the input kinds (input/kind.h) */
static void test_input_kinds(void **state)
{
    size_t n = 0;
    for (; sl_input_kinds[n] != NULL; n++) {
        const struct sl_input_kind *k = sl_input_kinds[n];
        assert_ptr_equal(sl_input_kind_find(k->name), k);
        const struct sl_input_ops *ops = &k->ops;
        assert_true(ops->open && ops->event && ops->resume && ops->drain && ops->unpark
                    && ops->close);
        assert_non_null(k->parse);
        assert_non_null(k->counters);
        size_t addresses = 0;
        for (const struct sl_input_key *key = k->keys; key->name != NULL; key++) {
            assert_ptr_equal(sl_input_kind_key(k, key->name), key); /* names once */
            assert_string_not_equal(key->name, "type");
            addresses += key->address;
            assert_true(!key->address || key->type == SL_INPUT_KEY_PATH
                        || key->type == SL_INPUT_KEY_LISTEN);
            /* A key of several kinds is read alike in each: a value is
             * checked before the type is known. (Whether a kind needs it
             * is the kind's: native_stream takes path or listen.) */
            for (size_t j = 0; j < n; j++) {
                const struct sl_input_key *other = sl_input_kind_key(sl_input_kinds[j], key->name);
                if (other == NULL)
                    continue;
                assert_true(other->type == key->type && other->offset == key->offset
                            && other->min == key->min && other->max == key->max
                            && other->address == key->address);
            }
        }
        assert_true(addresses <= 2); /* none: one input of the kind (kmsg); several:
                                      * exactly one is given (kind.h) */
        for (const struct sl_input_key *key = k->keys; key->name != NULL; key++)
            assert_true((key->type == SL_INPUT_KEY_CHOICE)
                        == (sl_input_kind_choices(k, key->name) != NULL));
    }
    assert_int_equal(n, 6);
    assert_null(sl_input_kind_find("carrier-pigeon"));
    assert_null(sl_input_kind_key(sl_input_kind_find("udp"), "path"));

    /* A loaded input points at its kind; stats and ops come from there. */
    struct loaded l;
    load_ok(&l, "input 'u' { type = 'udp', listen = '127.0.0.1:0' }\n"
                "input 'x' { type = 'unix', path = 'x.sock' }\n");
    assert_ptr_equal(l.c->inputs[0].kind, sl_input_kind_find("udp"));
    assert_ptr_equal(l.c->inputs[1].kind, sl_input_kind_find("unix"));
    assert_int_equal(l.c->inputs[1].max_message, SL_DEFAULT_MAX_MESSAGE);
    done(&l);

    /* A kind's own default for max_message, which the key still sets. */
    load_ok(&l, "input 'j' { type = 'native', path = 'j.sock' }\n"
                "input 'k' { type = 'native', path = 'k.sock', max_message = '64K' }\n");
    assert_int_equal(l.c->inputs[0].max_message, 4u << 20);
    assert_int_equal(l.c->inputs[1].max_message, 64 * 1024);
    done(&l);
    /* kmsg's from: a choice, "auto" unless said. */
    load_ok(&l, "input 'k' { type = 'kmsg' }\n");
    assert_ptr_equal(l.c->inputs[0].kind, sl_input_kind_find("kmsg"));
    assert_int_equal(l.c->inputs[0].from, SL_FROM_AUTO);
    done(&l);
    load_ok(&l, "input 'k' { type = 'kmsg', from = 'now' }\n");
    assert_int_equal(l.c->inputs[0].from, SL_FROM_NOW);
    done(&l);
    load_ok(&l, "input 'k' { type = 'kmsg', from = 'boot' }\n");
    assert_int_equal(l.c->inputs[0].from, SL_FROM_BOOT);
    done(&l);
}
/* }=== */

/* {=== what loads */
/* Changes the value of key k in c (a string key gets another string). */
static void change_key(struct sl_input_conf *c, const struct sl_input_key *k, char *other)
{
    void *f = (char *)c + k->offset;
    switch (k->type) {
    case SL_INPUT_KEY_PATH: *(char **)f = other; break;
    case SL_INPUT_KEY_LISTEN: c->port = other; break;
    case SL_INPUT_KEY_SIZE: *(size_t *)f += 1; break;
    case SL_INPUT_KEY_INT:
    case SL_INPUT_KEY_DURATION: *(int *)f += 1; break;
    case SL_INPUT_KEY_UINT:
    case SL_INPUT_KEY_MODE: *(unsigned *)f += 1; break;
    case SL_INPUT_KEY_RATELIMIT: ((struct sl_ratelimit_conf *)f)->burst += 1; break;
    case SL_INPUT_KEY_CHOICE: *(int *)f += 1; break;
    case SL_INPUT_KEY_BOOL: *(bool *)f = !*(bool *)f; break;
    }
}

/* Reload keeps an input whose conf is equal: every key of every kind's
 * table counts, with no list of fields to keep in step (a new key is one
 * table entry). */
static void test_input_conf_equal_reads_every_key(void **state)
{
    for (size_t n = 0; sl_input_kinds[n] != NULL; n++) {
        const struct sl_input_kind *kind = sl_input_kinds[n];
        for (const struct sl_input_key *k = kind->keys; k->name != NULL; k++) {
            char name[] = "in", path[] = "a.sock", host[] = "127.0.0.1", port[] = "514",
                 other[] = "other";
            struct sl_input_conf a = {.name = name, .kind = kind, .path = path, .host = host,
                                      .port = port, .max_message = 65536, .idle_timeout = 300,
                                      .max_connections = 512, .max_connections_per_peer = 64,
                                      .rcvbuf = 0, .mode = 0666};
            struct sl_input_conf b = a;
            assert_true(sl_input_conf_equal(&a, &b));
            change_key(&b, k, other);
            if (sl_input_conf_equal(&a, &b))
                fail_msg("kind %s: a changed '%s' left the conf equal", kind->name, k->name);
        }
    }
}

static void test_spec_example(void **state)
{
    struct loaded l;
    load_ok(&l,
            "settings { control = 'var/run/sluice.ctl', hostname = 'override', plugin_path = { 'plugins' },\n"
            "           state_dir = 'var/lib/sluice', log_level = 'info' }\n"
            "input 'devlog' { type = 'unix', path = 'var/run/log', mode = '0666', rcvbuf = '4M', max_message = '64K', coalesce = '5ms' }\n"
            "input 'tcp'    { type = 'tcp',  listen = '127.0.0.1:5514', max_message = '64K', idle_timeout = 0 }\n"
            "input 'udp'    { type = 'udp',  listen = '127.0.0.1:5514', rcvbuf = '4M', max_message = '64K' }\n"
            "local messages = output 'messages' { type = 'file', path = 'var/log/messages', format = 'rfc3164',\n"
            "                                     queue = { capacity = 10000, bytes = '16M', policy = 'block' } }\n"
            "local auth = output 'auth' { type = 'file', path = 'var/log/auth.log' }\n"
            "route { facility = { 'auth', 'authpriv' }, severity = '<=warning', app_name = { 'sshd', 'sudo' },\n"
            "        hostname = 'web1', msg_contains = 'failed', input = 'devlog', to = auth, final = true }\n"
            "route { to = { messages, 'archive' } }\n"
            "output 'archive' { type = 'archive', path = 'var/log/archive/{date}.zst' }\n");
    const struct sl_config *c = l.c;
    assert_string_equal(c->file, l.path);
    assert_string_equal(c->control, "var/run/sluice.ctl");
    assert_string_equal(c->hostname, "override");
    assert_string_equal(c->state_dir, "var/lib/sluice");
    assert_int_equal(c->plugin_path.n, 1);
    assert_string_equal(c->plugin_path.v[0], "plugins");
    assert_int_equal(c->log_level, 6);

    assert_int_equal(c->ninputs, 3);
    assert_string_equal(c->inputs[0].name, "devlog");
    assert_string_equal(c->inputs[0].kind->name, "unix");
    assert_string_equal(c->inputs[0].path, "var/run/log");
    assert_int_equal(c->inputs[0].mode, 0666);
    assert_int_equal(c->inputs[0].rcvbuf, 4 << 20);
    assert_int_equal(c->inputs[0].coalesce_ms, 5);
    assert_int_equal(c->inputs[0].max_message, 64 << 10);
    assert_int_equal(c->inputs[0].line, 3);
    assert_string_equal(c->inputs[1].kind->name, "tcp");
    assert_string_equal(c->inputs[1].host, "127.0.0.1");
    assert_string_equal(c->inputs[1].port, "5514");
    assert_int_equal(c->inputs[1].idle_timeout, 0);
    assert_string_equal(c->inputs[2].kind->name, "udp");

    assert_int_equal(c->noutputs, 3);
    const struct sl_output_conf *o = &c->outputs[0];
    assert_string_equal(o->name, "messages");
    assert_string_equal(o->type, "file");
    assert_null(o->plugin);
    assert_int_equal(o->queue.capacity, 10000);
    assert_int_equal(o->queue.max_bytes, 16 << 20);
    assert_int_equal(o->queue.policy, SL_POLICY_BLOCK);
    assert_int_equal(o->nkv, 2); /* format, path: queue is the daemon's */
    assert_string_equal(o->kv[0].key, "format");
    assert_string_equal(sl_output_conf_get(o, "path")->str, "var/log/messages");
    assert_string_equal(o->file, l.path);
    assert_int_equal(o->line, 6);

    assert_int_equal(c->nroutes, 2);
    const struct sl_route_conf *r = &c->routes[0];
    assert_int_equal(r->facility_mask, 1u << 4 | 1u << 10);
    assert_int_equal(r->severity_mask, 0x1f);
    assert_int_equal(r->app_names.n, 2);
    assert_string_equal(r->app_names.v[1], "sudo");
    assert_string_equal(r->hostnames.v[0], "web1");
    assert_string_equal(r->inputs.v[0], "devlog");
    assert_string_equal(r->msg_contains, "failed");
    assert_int_equal(r->nto, 1);
    assert_int_equal(r->to[0], 1);
    assert_true(r->final);
    assert_int_equal(r->line, 9);
    r = &c->routes[1];
    assert_int_equal(r->nto, 2);
    assert_int_equal(r->to[0], 0);
    assert_int_equal(r->to[1], 2);
    assert_false(r->final);
    done(&l);
}

static void test_defaults(void **state)
{
    struct loaded l;
    load_ok(&l, "input 'u' { type = 'unix', path = 'log' }\n"
                "input 't' { type = 'tcp', listen = '[::1]:0' }\n"
                OUT
                "route { to = 'o' }\n");
    const struct sl_config *c = l.c;
    assert_null(c->control);
    assert_null(c->hostname);
    assert_null(c->state_dir);
    assert_int_equal(c->plugin_path.n, 0);
    assert_int_equal(c->log_level, 6);
    assert_int_equal(c->inputs[0].max_message, SL_DEFAULT_MAX_MESSAGE);
    assert_int_equal(c->inputs[0].mode, 0666);
    assert_int_equal(c->inputs[0].rcvbuf, 0);
    assert_int_equal(c->inputs[0].coalesce_ms, SL_DEFAULT_COALESCE_MS);
    assert_null(c->inputs[0].host);
    assert_string_equal(c->inputs[1].host, "::1");
    assert_string_equal(c->inputs[1].port, "0");
    assert_int_equal(c->inputs[1].idle_timeout, SL_DEFAULT_IDLE_TIMEOUT);
    assert_int_equal(c->inputs[1].max_connections_per_peer, SL_DEFAULT_MAX_CONNECTIONS_PER_PEER);
    const struct sl_output_conf *o = &c->outputs[0];
    assert_int_equal(o->queue.capacity, SL_DEFAULT_QUEUE_CAPACITY);
    assert_int_equal(o->queue.max_bytes, SL_DEFAULT_QUEUE_BYTES);
    assert_int_equal(o->queue.policy, SL_POLICY_BLOCK);
    const struct sl_route_conf *r = &c->routes[0];
    assert_int_equal(r->facility_mask, SL_FACILITY_ANY);
    assert_int_equal(r->severity_mask, SL_SEVERITY_ANY);
    assert_int_equal(r->app_names.n + r->hostnames.n + r->inputs.n, 0);
    assert_null(r->msg_contains);
    assert_false(r->final);
    assert_int_equal(c->inputs[1].max_connections, SL_DEFAULT_MAX_CONNECTIONS);
    done(&l);
    load_ok(&l, "input 't' { type = 'tcp', listen = 'h:1', max_connections = 3 }\n");
    assert_int_equal(l.c->inputs[0].max_connections, 3);
    done(&l);
    load_ok(&l, "input 't' { type = 'tcp', listen = 'h:1', max_connections_per_peer = 0,\n"
                "            idle_timeout = 0 }\n");
    assert_int_equal(l.c->inputs[0].max_connections_per_peer, 0); /* no limit */
    assert_int_equal(l.c->inputs[0].idle_timeout, 0);             /* never */
    done(&l);
}

static void test_route_matches(void **state)
{
    struct loaded l;
    load_ok(&l, OUT
                "route { msg_prefix = 'session ', msg_suffix = ' closed', to = 'o' }\n"
                "route { msg_match = [[^user \\w+ from [0-9.]+$]], app_name_match = '^(sshd|sudo)$',\n"
                "        hostname_match = 'web[0-9]+', msg_contains = 'from', to = 'o' }\n");
    const struct sl_route_conf *r = &l.c->routes[0];
    assert_string_equal(r->msg_prefix, "session ");
    assert_string_equal(r->msg_suffix, " closed");
    assert_null(r->msg_match.pattern);
    assert_null(r->msg_match.code);
    assert_null(r->app_name_match.code);
    assert_null(r->hostname_match.code);
    r = &l.c->routes[1];
    assert_null(r->msg_prefix);
    assert_null(r->msg_suffix);
    assert_string_equal(r->msg_match.pattern, "^user \\w+ from [0-9.]+$");
    assert_non_null(r->msg_match.code);
    assert_string_equal(r->app_name_match.pattern, "^(sshd|sudo)$");
    assert_non_null(r->app_name_match.code);
    assert_string_equal(r->hostname_match.pattern, "web[0-9]+");
    assert_non_null(r->hostname_match.code);
    assert_string_equal(r->msg_contains, "from");
    assert_int_equal(r->line, 3);
    done(&l);
}

static void test_route_match_errors(void **state)
{
    expect_only(OUT "\nroute { msg_match = 'a(b', to = 'o' }\n", 3,
                "route: key 'msg_match': bad regular expression at offset 3: "
                "missing closing parenthesis");
    expect_only(OUT "route { app_name_match = '[z-a]', to = 'o' }\n", 2,
                "route: key 'app_name_match': bad regular expression at offset 3: "
                "range out of order in character class");
    expect_only(OUT "route { hostname_match = '*x', to = 'o' }\n", 2,
                "route: key 'hostname_match': bad regular expression at offset 0: "
                "quantifier does not follow a repeatable item");
    /* Messages are bytes: a pattern cannot switch UTF-8 mode on. */
    expect_only(OUT "route { msg_match = '(*UTF)x', to = 'o' }\n", 2,
                "route: key 'msg_match': bad regular expression at offset 6: "
                "using UTF is disabled by the application");
    expect_only(OUT "route { msg_match = 5, to = 'o' }\n", 2,
                "route: key 'msg_match' wants a string, got number");
    expect_only(OUT "route { app_name_match = { 'a' }, to = 'o' }\n", 2,
                "route: key 'app_name_match' wants a string, got table");
    expect_only(OUT "route { hostname_match = '', to = 'o' }\n", 2,
                "route: key 'hostname_match' wants a non-empty string without NUL bytes");
    expect_only(OUT "route { msg_prefix = true, to = 'o' }\n", 2,
                "route: key 'msg_prefix' wants a string, got boolean");
    expect_only(OUT "route { msg_suffix = 'a\\0b', to = 'o' }\n", 2,
                "route: key 'msg_suffix' wants a non-empty string without NUL bytes");
    expect_only(OUT "route { msg_macth = 'x', to = 'o' }\n", 2,
                "route: unknown key 'msg_macth', did you mean 'msg_match'?");
    /* Every bad pattern of a file is reported, each with its line. */
    struct loaded l;
    load_text(&l, OUT "route { msg_match = '(', to = 'o' }\nroute { msg_match = ')', to = 'o' }\n");
    assert_int_equal(l.errs.n, 2);
    expect(&l, 2, "route: key 'msg_match': bad regular expression at offset 1: "
                  "missing closing parenthesis");
    expect(&l, 3, "route: key 'msg_match': bad regular expression at offset 0: "
                  "unmatched closing parenthesis");
    done(&l);
}

static void test_settings_values(void **state)
{
    struct loaded l;
    load_ok(&l, "settings { plugin_path = '/opt/p', log_level = 'debug' }\n");
    assert_int_equal(l.c->plugin_path.n, 1);
    assert_string_equal(l.c->plugin_path.v[0], "/opt/p");
    assert_int_equal(l.c->log_level, 7);
    done(&l);
    load_ok(&l, "settings { plugin_path = { 'a', 'b' }, log_level = 'warn' }\n");
    assert_int_equal(l.c->plugin_path.n, 2);
    assert_string_equal(l.c->plugin_path.v[1], "b");
    assert_int_equal(l.c->log_level, 4);
    done(&l);
}

static void test_handles_and_names(void **state)
{
    struct loaded l;
    load_ok(&l, "local a = output 'a' { type = 'file', path = 'a' }\n"
                "assert(tostring(a) == 'output \"a\"')\n"
                "route { to = a }\n"
                "route { to = 'b' }\n"
                "route { to = { a, 'b', a, 'a' } }\n"
                "output 'b' { type = 'file', path = 'b' }\n");
    const struct sl_config *c = l.c;
    assert_int_equal(c->routes[0].nto, 1);
    assert_int_equal(c->routes[0].to[0], 0);
    assert_int_equal(c->routes[1].to[0], 1);
    assert_int_equal(c->routes[2].nto, 2); /* each output once */
    assert_int_equal(c->routes[2].to[0], 0);
    assert_int_equal(c->routes[2].to[1], 1);
    done(&l);
}

static uint8_t severity_mask(const char *lua_value)
{
    struct loaded l;
    char text[512];
    snprintf(text, sizeof text, OUT "route { severity = %s, to = 'o' }\n", lua_value);
    load_ok(&l, text);
    uint8_t m = l.c->routes[0].severity_mask;
    done(&l);
    return m;
}

static void test_severity_masks(void **state)
{
    assert_int_equal(severity_mask("'<=warning'"), 0x1f); /* emerg..warning: bits 0..4 */
    assert_int_equal(severity_mask("'<warning'"), 0x0f);
    assert_int_equal(severity_mask("'>=info'"), 0xc0);
    assert_int_equal(severity_mask("'>info'"), 0x80);
    assert_int_equal(severity_mask("'==err'"), 0x08);
    assert_int_equal(severity_mask("'<= warn'"), 0x1f);
    assert_int_equal(severity_mask("'err'"), 0x08);
    assert_int_equal(severity_mask("'error'"), 0x08);
    assert_int_equal(severity_mask("'panic'"), 0x01);
    assert_int_equal(severity_mask("{ 'err', 'crit' }"), 0x0c);
    assert_int_equal(severity_mask("{ '<=crit', 'debug' }"), 0x87);
    assert_int_equal(severity_mask("{ except = 'debug' }"), 0x7f);
    assert_int_equal(severity_mask("{ except = { '<=err', 'info' } }"), 0xb0);
}

static uint32_t facility_mask(const char *lua_value)
{
    struct loaded l;
    char text[512];
    snprintf(text, sizeof text, OUT "route { facility = %s, to = 'o' }\n", lua_value);
    load_ok(&l, text);
    uint32_t m = l.c->routes[0].facility_mask;
    done(&l);
    return m;
}

static void test_facility_lists(void **state)
{
    assert_int_equal(facility_mask("'kern'"), 1u << 0);
    assert_int_equal(facility_mask("'security'"), 1u << 4);
    assert_int_equal(facility_mask("{ 'auth', 'authpriv' }"), 1u << 4 | 1u << 10);
    assert_int_equal(facility_mask("{ 'local0', 'local7', 'mail' }"), 1u << 16 | 1u << 23 | 1u << 2);
    assert_int_equal(facility_mask("'CRON'"), 1u << 9);
    /* rsyslog's *.*;auth,authpriv.none: the complement, of the 24 facilities */
    assert_int_equal(facility_mask("{ except = { 'auth', 'authpriv' } }"),
                     SL_FACILITY_ANY & ~(1u << 4 | 1u << 10));
    assert_int_equal(facility_mask("{ except = 'kern' }"), SL_FACILITY_ANY & ~1u);
}

static void test_queue_settings(void **state)
{
    (void)state;
    struct loaded l;
    load_ok(&l, "settings { state_dir = 'st', shutdown_timeout = '3s' }\n"
                "output 'd' { type = 'file', queue = { policy = 'disk', max_bytes = '1M',\n"
                "  disk = { max_size = '64M', sync = '250ms', segment_size = '1M' },\n"
                "  overflow = 'drop', drop_severity = 'info', high_water = 0.5 } }\n"
                "output 'b' { type = 'file', queue = { block_timeout = 1.5 } }\n"
                "output 'n' { type = 'file', queue = { policy = 'disk', disk = { sync = 'none' } } }\n");
    assert_int_equal(l.c->shutdown_timeout_ms, 3000);
    const struct sl_queue_conf *d = &l.c->outputs[0].queue;
    assert_int_equal(d->policy, SL_POLICY_DISK);
    assert_int_equal(d->max_bytes, 1 << 20);
    assert_int_equal(d->disk_max_size, 64 << 20);
    assert_int_equal(d->disk_segment_size, 1 << 20);
    assert_int_equal(d->disk_sync, SL_DISK_SYNC_INTERVAL);
    assert_int_equal(d->disk_sync_ms, 250);
    assert_int_equal(d->overflow, SL_POLICY_DROP);
    assert_true(d->drop_by_severity);
    assert_int_equal(d->drop_severity, 6);
    assert_true(d->high_water == 0.5);
    const struct sl_queue_conf *b = &l.c->outputs[1].queue;
    assert_int_equal(b->policy, SL_POLICY_BLOCK);
    assert_int_equal(b->block_timeout_ms, 1500);
    assert_false(b->drop_by_severity);
    assert_int_equal(l.c->outputs[2].queue.disk_sync, SL_DISK_SYNC_NONE);
    assert_int_equal(l.c->outputs[2].queue.disk_max_size, SL_DEFAULT_DISK_MAX_SIZE);
    assert_false(sl_queue_conf_equal(d, b));
    assert_true(sl_queue_conf_equal(d, d));
    done(&l);
    load_ok(&l, "output 'o' { type = 'file' }\n");
    assert_int_equal(l.c->shutdown_timeout_ms, SL_DEFAULT_SHUTDOWN_TIMEOUT_MS);
    done(&l);
}

static void test_durations(void **state)
{
    (void)state;
    long long ms;
    assert_int_equal(sl_parse_duration_ms("5", 100000, &ms), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(sl_parse_duration_ms("250ms", 100000, &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(sl_parse_duration_ms("2m", 1000000, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(sl_parse_duration_ms("1h", 100000, &ms), -ERANGE);
    assert_int_equal(sl_parse_duration_ms("s", 100000, &ms), -EINVAL);
    assert_int_equal(sl_parse_duration_ms("5 s", 100000, &ms), -EINVAL);
    assert_int_equal(sl_parse_duration_ms("99999999999999999999s", 100000, &ms), -ERANGE);
}

static void test_plugin_keys_flattened(void **state)
{
    struct loaded l;
    load_ok(&l, "output 'f' { type = 'file', plugin = '/x/file.so', path = 'p', sync = true,\n"
                "  rotate = { size = '64M', keep = 8, compress = 'zstd', when = { hour = 3 } },\n"
                "  ratio = 0.5, queue = { capacity = 5, bytes = 1000, policy = 'drop' } }\n");
    const struct sl_output_conf *o = &l.c->outputs[0];
    assert_string_equal(o->plugin, "/x/file.so");
    assert_int_equal(o->queue.capacity, 5);
    assert_int_equal(o->queue.max_bytes, 1000);
    assert_int_equal(o->queue.policy, SL_POLICY_DROP);
    assert_int_equal(o->nkv, 7);
    const char *order[] = {"path", "ratio", "rotate.compress", "rotate.keep", "rotate.size",
                           "rotate.when.hour", "sync"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(o->kv[i].key, order[i]);
    assert_int_equal(sl_output_conf_get(o, "rotate.size")->type, SL_KV_STRING);
    assert_string_equal(sl_output_conf_get(o, "rotate.size")->str, "64M");
    assert_int_equal(sl_output_conf_get(o, "rotate.keep")->type, SL_KV_INT);
    assert_int_equal(sl_output_conf_get(o, "rotate.keep")->num, 8);
    assert_int_equal(sl_output_conf_get(o, "rotate.when.hour")->num, 3);
    assert_int_equal(sl_output_conf_get(o, "ratio")->type, SL_KV_NUMBER);
    assert_true(sl_output_conf_get(o, "ratio")->dnum == 0.5);
    assert_int_equal(sl_output_conf_get(o, "sync")->type, SL_KV_BOOL);
    assert_int_equal(sl_output_conf_get(o, "sync")->num, 1);
    assert_null(sl_output_conf_get(o, "type"));
    assert_null(sl_output_conf_get(o, "queue.capacity"));
    done(&l);
}

static void test_modes(void **state)
{
    struct loaded l;
    load_ok(&l, "input 'a' { type = 'unix', path = 'a', mode = '0600' }\n"
                "input 'b' { type = 'unix', path = 'b', mode = '640' }\n"
                "input 'c' { type = 'unix', path = 'c', mode = 438 }\n");
    assert_int_equal(l.c->inputs[0].mode, 0600);
    assert_int_equal(l.c->inputs[1].mode, 0640);
    assert_int_equal(l.c->inputs[2].mode, 0666);
    done(&l);
    expect_only("input 'a' { type = 'unix', path = 'a', mode = 644 }\n", 1,
                "input \"a\": key 'mode': mode 644 is ambiguous or out of range; "
                "write it as a string like \"0644\"");
    expect_only("input 'a' { type = 'unix', path = 'a', mode = '0999' }\n", 1,
                "input \"a\": key 'mode': bad mode '0999' (octal permissions like \"0666\")");
}

/* ratelimit: off without the key, journald's defaults with an empty
 * table, each key over them; reload sees every field change. */
static void test_ratelimit_values(void **state)
{
    struct loaded l;
    load_ok(&l, "input 'a' { type = 'unix', path = 'a' }\n"
                "input 'b' { type = 'unix', path = 'b', ratelimit = {} }\n"
                "input 'c' { type = 'unix', path = 'c', ratelimit = { interval = '500ms', "
                "burst = 1, per = 'uid' } }\n"
                "input 'd' { type = 'unix', path = 'd', ratelimit = { interval = 10 } }\n"
                "input 'e' { type = 'unix', path = 'e', ratelimit = { interval = '1m', "
                "burst = 1000000000 } }\n"
                "input 'f' { type = 'unix', path = 'f', ratelimit = { interval = '45' } }\n");
    const struct sl_input_conf *in = l.c->inputs;
    assert_int_equal(in[0].ratelimit.interval_ms, 0);
    assert_int_equal(in[1].ratelimit.interval_ms, 30000);
    assert_int_equal(in[1].ratelimit.burst, 10000);
    assert_int_equal(in[1].ratelimit.per, SL_RATELIMIT_PER_PID);
    assert_int_equal(in[2].ratelimit.interval_ms, 500);
    assert_int_equal(in[2].ratelimit.burst, 1);
    assert_int_equal(in[2].ratelimit.per, SL_RATELIMIT_PER_UID);
    assert_int_equal(in[3].ratelimit.interval_ms, 10000);
    assert_int_equal(in[3].ratelimit.burst, 10000);
    assert_int_equal(in[4].ratelimit.interval_ms, 60000);
    assert_int_equal(in[4].ratelimit.burst, 1000000000);
    assert_int_equal(in[5].ratelimit.interval_ms, 45000);
    struct sl_input_conf *copy;
    assert_int_equal(sl_input_conf_dup(&in[2], &copy), 0);
    assert_true(sl_input_conf_equal(&in[2], copy));
    copy->ratelimit.interval_ms++;
    assert_false(sl_input_conf_equal(&in[2], copy));
    copy->ratelimit = in[2].ratelimit;
    copy->ratelimit.per = SL_RATELIMIT_PER_PID;
    assert_false(sl_input_conf_equal(&in[2], copy));
    sl_input_conf_free(copy);
    done(&l);
}

static void test_sandbox(void **state)
{
    struct loaded l;
    load_ok(&l, "assert(io == nil and os == nil and package == nil and debug == nil)\n"
                "assert(require == nil and dofile == nil and loadfile == nil)\n"
                "assert(string and table and math and utf8 and pairs and pcall)\n"
                "assert(load('return 1 + 1')() == 2)\n"
                "local f, err = load(string.dump(function() end))\n"
                "assert(f == nil and err:find('binary'))\n"
                "local name = string.format('%s%d', 'o', 1)\n"
                "for _, n in ipairs({ name, 'o2' }) do output(n) { type = 'file', path = n } end\n");
    assert_int_equal(l.c->noutputs, 2);
    assert_string_equal(l.c->outputs[1].name, "o2");
    done(&l);
    expect_only("\nio.open('/etc/passwd')\n", 2,
                "attempt to index a nil value (global 'io')");
    expect_only("\n\nos.execute('true')\n", 3, "attempt to index a nil value (global 'os')");
    expect_only("require 'os'\n", 1, "attempt to call a nil value (global 'require')");
    expect_only("\nlocal co = coroutine.create(print)\n", 2,
                "attempt to index a nil value (global 'coroutine')");
    /* Finalizers run with hooks off, out of reach of the instruction limit. */
    expect_only("\nsetmetatable({}, { __gc = function() while true do end end })\n", 2,
                "__gc metamethods are not allowed in the config");
}
/* }=== */

/* {=== from memory */
/* The loader reads memory; the file loader only reads the file first. */
static void test_load_text(void **state)
{
    static const char text[] = OUT "route { to = 'o' }\n" "this is not Lua";
    struct sl_config *c = NULL;
    struct sl_errors errs = {0};
    size_t len = strlen(OUT "route { to = 'o' }\n"); /* the garbage after is not read */
    assert_int_equal(sl_config_load_text(text, len, "mem.lua", &c, &errs), 0);
    assert_int_equal(errs.n, 0);
    assert_string_equal(c->file, "mem.lua");
    assert_true(c->source != text && c->source_len == len && c->source[len] == '\0');
    assert_memory_equal(c->source, text, len);
    assert_int_equal(c->nroutes, 1);
    sl_config_free(c);

    c = NULL;
    assert_int_equal(sl_config_load_text(text, sizeof text - 1, "mem.lua", &c, &errs), -EINVAL);
    assert_null(c);
    assert_int_equal(errs.n, 1);
    assert_true(strncmp(errs.v[0], "mem.lua:3: ", 11) == 0);
    sl_errors_clear(&errs);

    /* A NUL byte is text like any other: Lua refuses it, nothing breaks. */
    static const char nul[] = "settings { hostname = 'a' }\0 route {}";
    assert_int_equal(sl_config_load_text(nul, sizeof nul - 1, "nul.lua", &c, &errs), -EINVAL);
    assert_true(errs.n >= 1 && strncmp(errs.v[0], "nul.lua:1: ", 11) == 0);
    sl_errors_clear(&errs);
}
/* }=== */

/* {=== route functions */
static void test_route_functions(void **state)
{
    struct loaded l;
    load_ok(&l, OUT
            "local redact = function(m)\n"
            "  m.msg = m.msg:gsub('password=%S+', 'password=***')\n"
            "end\n"
            "route { where = function(m) return m.severity <= sluice.severity.warning end,\n"
            "        transform = redact, to = 'o', on_error = 'pass' }\n"
            "route { drop = true, where = function(m) return true end, final = true }\n"
            "route { to = 'o', drop = false }\n"
            "route { transform = redact, to = 'o', on_error = 'skip' }\n"
            "assert(sluice.severity.warning == 4 and sluice.severity.warn == 4)\n"
            "assert(sluice.severity.emerg == 0 and sluice.severity.debug == 7)\n"
            "assert(sluice.facility.kern == 0 and sluice.facility.local7 == 23)\n"
            "assert(type(sluice.hostname()) == 'string')\n"
            "sluice.log('debug', 'loading')\n");
    assert_true(l.c->has_lua);
    assert_int_equal(l.c->nroutes, 4);
    const struct sl_route_conf *r = l.c->routes;
    assert_true(r[0].has_where && r[0].has_transform);
    assert_int_equal(r[0].where_line, 5);
    assert_int_equal(r[0].transform_line, 2);
    assert_int_equal(r[0].line, 5);
    assert_int_equal(r[0].on_error, SL_ON_ERROR_PASS);
    assert_false(r[0].drop);
    assert_true(r[1].drop && r[1].has_where && !r[1].has_transform && r[1].final);
    assert_int_equal(r[1].nto, 0);
    assert_int_equal(r[1].on_error, SL_ON_ERROR_SKIP);
    assert_false(r[2].drop || r[2].has_where || r[2].has_transform);
    assert_int_equal(r[3].on_error, SL_ON_ERROR_SKIP);
    /* The text every input thread runs again. */
    assert_non_null(l.c->source);
    assert_int_equal(l.c->source_len, strlen(l.c->source));
    assert_non_null(strstr(l.c->source, "local redact"));
    done(&l);
    load_ok(&l, OUT "route { to = 'o' }\n");
    assert_false(l.c->has_lua);
    done(&l);
}

static void test_route_function_errors(void **state)
{
    expect_only(OUT "route { drop = true, to = 'o' }\n", 2,
                "route: a route with drop = true takes no 'to'");
    expect_only(OUT "route { drop = true, transform = function(m) end }\n", 2,
                "route: a route with drop = true takes no 'transform'");
    expect_only(OUT "route { drop = false }\n", 2,
                "route: key 'to' is missing or nil (an output, an output name or a list of them)");
    expect_only(OUT "route { drop = 1, to = 'o' }\n", 2, "route: key 'drop' wants a boolean, got number");
    expect_only(OUT "route { to = 'o', on_error = 'pass' }\n", 2,
                "route: key 'on_error' applies only to a route with 'where' or 'transform'");
    expect_only(OUT "route { to = 'o', where = function() end, on_error = 'pas' }\n", 2,
                "route: key 'on_error': unknown value 'pas', did you mean 'pass'?");
    expect_only(OUT "route { to = 'o', where = function() end, on_error = 'ignore' }\n", 2,
                "route: key 'on_error': unknown value 'ignore' (pass or skip)");
    expect_only(OUT "route { to = 'o', where = function() end, on_error = true }\n", 2,
                "route: key 'on_error' wants a string, got boolean");
    expect_only(OUT "route { app_name = function() end, to = 'o' }\n", 2,
                "route: key 'app_name' wants a string or a list of them, got a function "
                "(only 'where' and 'transform' take functions)");
    expect_only(OUT "route { severity = function() end, to = 'o' }\n", 2,
                "route: key 'severity' wants a severity name, a comparison like \"<=warning\", a "
                "list of them or { except = ... }, got a function (only 'where' and 'transform' take functions)");
    expect_only(OUT "route { final = function() end, to = 'o' }\n", 2,
                "route: key 'final' wants a boolean, got a function (only 'where' and "
                "'transform' take functions)");
    expect_only(OUT "route { where = 'x', to = 'o' }\n", 2,
                "route: key 'where' wants a function (where = function(m) ... end), got string");
    expect_only(OUT "route { transform = {}, to = 'o' }\n", 2,
                "route: key 'transform' wants a function (transform = function(m) ... end), "
                "got table");
    expect_only(OUT "route { wher = function() end, to = 'o' }\n", 2,
                "route: unknown key 'wher', did you mean 'where'?");
    expect_only(OUT "\nsluice.log('loud', 'x')\n", 3,
                "sluice.log: unknown level 'loud' (debug, info, notice, warning or err)");
}

/* A "#!" first line is skipped, as lua does, and line numbers stay. */
static void test_shebang_line(void **state)
{
    expect_only("#!/usr/sbin/sluiced --check\n\nerror('x')\n", 3, "x");
}
/* }=== */


static void test_parse_size(void **state)
{
    static const struct {
        const char *s;
        int rc;
        unsigned long long v;
    } cases[] = {
        {"0", 0, 0}, {"512", 0, 512}, {"64K", 0, 64 << 10}, {"64k", 0, 64 << 10},
        {"16M", 0, 16 << 20}, {"1G", 0, 1ull << 30}, {"64KB", 0, 64 << 10},
        {"64KiB", 0, 64 << 10}, {"", -EINVAL, 0}, {"K", -EINVAL, 0}, {"-1", -EINVAL, 0},
        {" 1", -EINVAL, 0}, {"1T", -EINVAL, 0}, {"1 K", -EINVAL, 0}, {"1KX", -EINVAL, 0},
        {"99999999999999999999", -EINVAL, 0}, {"17179869184G", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned long long v = 12345;
        int rc = sl_parse_size(cases[i].s, &v);
        if (rc != cases[i].rc)
            fprintf(stderr, "  size '%s'\n", cases[i].s);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_int_equal(v, cases[i].v);
    }
}

/* The shipped configs must load as they are. */
static void test_shipped_configs(void **state)
{
    struct loaded l;
    snprintf(l.path, sizeof l.path, "%s/config/sluice.lua", TEST_SRCDIR);
    load_file(&l);
    if (l.rc != 0)
        dump_errors(&l);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.c->control, "var/run/sluice.ctl");
    assert_int_equal(l.c->ninputs, 3);
    assert_int_equal(l.c->noutputs, 3);
    assert_int_equal(l.c->nroutes, 2);
    assert_true(l.c->routes[0].final);
    done(&l);

    char dir[2048];
    snprintf(dir, sizeof dir, "%s/config/examples", TEST_SRCDIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0)
            continue;
        snprintf(l.path, sizeof l.path, "%s/%s", dir, e->d_name);
        load_file(&l);
        if (l.rc != 0)
            dump_errors(&l);
        assert_int_equal(l.rc, 0);
        done(&l);
        n++;
    }
    closedir(d);
    assert_true(n >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_kinds),
        cmocka_unit_test(test_input_conf_equal_reads_every_key),
        cmocka_unit_test(test_load_text),
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_route_matches),
        cmocka_unit_test(test_route_match_errors),
        cmocka_unit_test(test_settings_values),
        cmocka_unit_test(test_handles_and_names),
        cmocka_unit_test(test_severity_masks),
        cmocka_unit_test(test_facility_lists),
        cmocka_unit_test(test_queue_settings),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_plugin_keys_flattened),
        cmocka_unit_test(test_conf_copies),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_ratelimit_values),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_route_functions),
        cmocka_unit_test(test_route_function_errors),
        cmocka_unit_test(test_shebang_line),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_shipped_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
