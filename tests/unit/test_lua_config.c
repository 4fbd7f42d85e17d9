/* test_lua_config.c: sluice.lua loading: values, defaults, every error with
 * its FILE:LINE, the sandbox and the bounds on runaway configs. */
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

/* One load of a config, from memory (load_text) or a file (load_file). */
struct loaded {
    char path[4096];
    struct sl_config *c;
    struct sl_errors errs;
    int rc;
};

static void load_file(struct loaded *l)
{
    l->c = NULL;
    l->errs = (struct sl_errors){0};
    l->rc = sl_config_load(l->path, &l->c, &l->errs);
    if (l->rc == 0)
        assert_int_equal(l->errs.n, 0);
    else
        assert_int_equal(l->rc, -EINVAL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Loads text from memory, as the file "test.lua" (which need not exist). */
static void load_text(struct loaded *l, const char *text)
{
    snprintf(l->path, sizeof l->path, "test.lua");
    l->c = NULL;
    l->errs = (struct sl_errors){0};
    l->rc = sl_config_load_text(text, strlen(text), l->path, &l->c, &l->errs);
    if (l->rc == 0)
        assert_int_equal(l->errs.n, 0);
    else
        assert_int_equal(l->rc, -EINVAL);
}

static void done(struct loaded *l)
{
    sl_config_free(l->c);
    sl_errors_clear(&l->errs);
}

static void dump_errors(const struct loaded *l)
{
    for (size_t i = 0; i < l->errs.n; i++)
        fprintf(stderr, "  error: %s\n", l->errs.v[i]);
}

/* Asserts that the load failed with "PATH:LINE: text" among its errors. */
static void expect(const struct loaded *l, int line, const char *text)
{
    char want[8192];
    if (line > 0)
        snprintf(want, sizeof want, "%s:%d: %s", l->path, line, text);
    else
        snprintf(want, sizeof want, "%s: %s", l->path, text);
    assert_int_equal(l->rc, -EINVAL);
    assert_null(l->c);
    for (size_t i = 0; i < l->errs.n; i++) {
        if (strcmp(l->errs.v[i], want) == 0)
            return;
    }
    fprintf(stderr, "  wanted: %s\n", want);
    dump_errors(l);
    fail();
}

/* Loads text, which must fail with exactly this one error. */
static void expect_only(const char *text, int line, const char *msg)
{
    struct loaded l;
    load_text(&l, text);
    expect(&l, line, msg);
    if (l.errs.n != 1)
        dump_errors(&l);
    assert_int_equal(l.errs.n, 1);
    done(&l);
}

static void load_ok(struct loaded *l, const char *text)
{
    load_text(l, text);
    if (l->rc != 0)
        dump_errors(l);
    assert_int_equal(l->rc, 0);
    assert_non_null(l->c);
}

#define OUT "output 'o' { type = 'file', path = 'x' }\n"

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
    oc->queue_capacity = 6;
    assert_false(sl_output_conf_equal(o, oc));
    oc->queue_capacity = o->queue_capacity;
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
             * checked before the type is known. */
            for (size_t j = 0; j < n; j++) {
                const struct sl_input_key *other = sl_input_kind_key(sl_input_kinds[j], key->name);
                if (other == NULL)
                    continue;
                assert_true(other->type == key->type && other->offset == key->offset
                            && other->min == key->min && other->max == key->max
                            && other->required == key->required
                            && other->address == key->address);
            }
        }
        assert_int_equal(addresses, 1);
    }
    assert_int_equal(n, 3);
    assert_null(sl_input_kind_find("carrier-pigeon"));
    assert_null(sl_input_kind_key(sl_input_kind_find("udp"), "path"));

    /* A loaded input points at its kind; stats and ops come from there. */
    struct loaded l;
    load_ok(&l, "input 'u' { type = 'udp', listen = '127.0.0.1:0' }\n"
                "input 'x' { type = 'unix', path = 'x.sock' }\n");
    assert_ptr_equal(l.c->inputs[0].kind, sl_input_kind_find("udp"));
    assert_ptr_equal(l.c->inputs[1].kind, sl_input_kind_find("unix"));
    done(&l);
}
/* }=== */

/* {=== what loads */
static void test_spec_example(void **state)
{
    struct loaded l;
    load_ok(&l,
            "settings { control = 'var/run/sluice.ctl', hostname = 'override', plugin_path = { 'plugins' },\n"
            "           state_dir = 'var/lib/sluice', log_level = 'info' }\n"
            "input 'devlog' { type = 'unix', path = 'var/run/log', mode = '0666', rcvbuf = '4M', max_message = '64K' }\n"
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
    assert_int_equal(o->queue_capacity, 10000);
    assert_int_equal(o->queue_bytes, 16 << 20);
    assert_int_equal(o->policy, SL_POLICY_BLOCK);
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
    assert_null(c->inputs[0].host);
    assert_string_equal(c->inputs[1].host, "::1");
    assert_string_equal(c->inputs[1].port, "0");
    assert_int_equal(c->inputs[1].idle_timeout, 0);
    const struct sl_output_conf *o = &c->outputs[0];
    assert_int_equal(o->queue_capacity, SL_DEFAULT_QUEUE_CAPACITY);
    assert_int_equal(o->queue_bytes, SL_DEFAULT_QUEUE_BYTES);
    assert_int_equal(o->policy, SL_POLICY_BLOCK);
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
}

static void test_plugin_keys_flattened(void **state)
{
    struct loaded l;
    load_ok(&l, "output 'f' { type = 'file', plugin = '/x/file.so', path = 'p', sync = true,\n"
                "  rotate = { size = '64M', keep = 8, compress = 'zstd', when = { hour = 3 } },\n"
                "  ratio = 0.5, queue = { capacity = 5, bytes = 1000, policy = 'drop' } }\n");
    const struct sl_output_conf *o = &l.c->outputs[0];
    assert_string_equal(o->plugin, "/x/file.so");
    assert_int_equal(o->queue_capacity, 5);
    assert_int_equal(o->queue_bytes, 1000);
    assert_int_equal(o->policy, SL_POLICY_DROP);
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
                "route: key 'severity' wants a severity name, a comparison like \"<=warning\" or "
                "a list of them, got a function (only 'where' and 'transform' take functions)");
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
                "input \"u\": key 'listen' is not used by type 'unix'");
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
                "input \"u\": key 'max_connections' is not used by type 'udp'");
    expect_only("output 'o' { type = 'file', f = print }\n", 1,
                "output \"o\": key 'f' wants a string, number, boolean or table, got function");
    expect_only("local o = output 'o' { type = 'file' }\noutput 'p' { type = 'file', x = o }\n", 2,
                "output \"p\": key 'x' wants a string, number, boolean or table, got output handle");
    expect_only("output 'o' { type = 'file', hosts = { 'a', 'b' } }\n", 1,
                "output \"o\": key 'hosts' holds a list item 1; write name = value");
    expect_only("output 'o' { type = 'file', queue = 5 }\n", 1,
                "output \"o\": key 'queue' wants a table { capacity = N, bytes = SIZE, policy = P }, "
                "got number");
    expect_only("output 'o' { type = 'file', queue = { policy = 'dorp' } }\n", 1,
                "output \"o\": key 'queue.policy': unknown policy 'dorp' (block or drop), "
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

static void test_missing_keys(void **state)
{
    expect_only("input 'x' { path = 'p' }\n", 1, "input \"x\": key 'type' is missing (unix, udp or tcp)");
    expect_only("input 'x' { type = 'unix' }\n", 1, "input \"x\": type 'unix' needs key 'path'");
    expect_only("input 'x' { type = 'tcp' }\n", 1,
                "input \"x\": type 'tcp' needs key 'listen' (\"HOST:PORT\")");
    expect_only("input 'x' { type = 'udp' }\n", 1,
                "input \"x\": type 'udp' needs key 'listen' (\"HOST:PORT\")");
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
                "input \"x\": unknown type 'tpc' (unix, udp or tcp), did you mean 'tcp'?");
    expect_only("input 'x' { type = 'native', path = 'a' }\n", 1,
                "input \"x\": unknown type 'native' (unix, udp or tcp)");
    /* Not the type "tcp": nothing is checked against tcp's keys. */
    expect_only("input 'x' { type = 'tcp\\0', path = 'a' }\n", 1,
                "input \"x\": key 'type' wants a non-empty string without NUL bytes");
    expect_only("output 'x' { type = '../evil' }\n", 1,
                "output \"x\": bad type '../evil' (a plugin name: a-z, 0-9, '_' and '-')");
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
                  "input 'g' { type = 'tcp', listen = '127.0.0.1:5514' }\n");
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
    assert_int_equal(l.errs.n, 4);
    done(&l);
    /* Kinds apart, hosts apart, and port 0 (the kernel picks) never clash. */
    load_ok(&l, "input 'a' { type = 'tcp', listen = '127.0.0.1:5514' }\n"
                "input 'b' { type = 'udp', listen = '127.0.0.1:5514' }\n"
                "input 'c' { type = 'tcp', listen = '127.0.0.2:5514' }\n"
                "input 'd' { type = 'tcp', listen = '127.0.0.1:0' }\n"
                "input 'e' { type = 'tcp', listen = '127.0.0.1:0' }\n"
                "input 'f' { type = 'unix', path = 'a.sock' }\n"
                "input 'g' { type = 'unix', path = 'b.sock' }\n");
    done(&l);
}

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
                "route: key 'severity' wants a severity name, a comparison like \"<=warning\" or "
                "a list of them, got number");
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
    expect(&l, 3, "output \"o\": key 'queue.policy': unknown policy 'lose' (block or drop)");
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
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_route_matches),
        cmocka_unit_test(test_route_match_errors),
        cmocka_unit_test(test_settings_values),
        cmocka_unit_test(test_handles_and_names),
        cmocka_unit_test(test_severity_masks),
        cmocka_unit_test(test_facility_lists),
        cmocka_unit_test(test_plugin_keys_flattened),
        cmocka_unit_test(test_conf_copies),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_route_functions),
        cmocka_unit_test(test_route_function_errors),
        cmocka_unit_test(test_shebang_line),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_same_address),
        cmocka_unit_test(test_load_text),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_partial_load),
        cmocka_unit_test(test_bad_sizes),
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
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_shipped_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
