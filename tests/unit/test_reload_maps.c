/* SPDX-License-Identifier: MIT */
/* test_reload_maps.c: what a reload keeps, opens, defers and closes
 * (daemon/reload_map.c), from two configs' settings alone: kept, changed,
 * added, removed, renamed and moved outputs and inputs, an address freed by
 * a stopping input, an address held by a kept one, and out of memory. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "daemon/reload_map.h"

/* A running side and a new config, and the map between them. */
struct pair {
    struct sl_config *old, *c;
    const struct sl_output_conf *outs[16];
    const struct sl_input_conf *ins[16];
    struct sl_reload_old view;
    struct sl_reload_map m;
};

static struct sl_config *load(const char *text)
{
    char path[] = "/tmp/sluice-map-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct sl_errors errs = {0};
    struct sl_config *c = NULL;
    int rc = sl_config_load(path, &c, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_error("%s\n", errs.v[i]);
    sl_errors_clear(&errs);
    unlink(path);
    assert_int_equal(rc, 0);
    return c;
}

/* The running side as the daemon gives it: each sink's and input's conf. */
static void old_side(struct pair *p, const char *old)
{
    p->old = load(old);
    assert_true(p->old->noutputs <= 16 && p->old->ninputs <= 16);
    for (size_t j = 0; j < p->old->noutputs; j++)
        p->outs[j] = &p->old->outputs[j];
    for (size_t j = 0; j < p->old->ninputs; j++)
        p->ins[j] = &p->old->inputs[j];
    p->view = (struct sl_reload_old){p->outs, p->old->noutputs, p->ins, p->old->ninputs};
}

static void map(struct pair *p, const char *old, const char *c)
{
    old_side(p, old);
    p->c = load(c);
    assert_int_equal(sl_reload_map_build(&p->m, &p->view, p->c), 0);
}

static void pair_free(struct pair *p)
{
    sl_reload_map_free(&p->m);
    sl_config_free(p->old);
    sl_config_free(p->c);
}

static void entry_is(const struct sl_reload_entry *e, enum sl_reload_action action, long from)
{
    assert_int_equal(e->action, action);
    assert_int_equal(e->from, from);
}

#define OUT(name, path) "output '" name "' { type = 'file', path = '" path "' }\n"
#define TCP(name, listen) "input '" name "' { type = 'tcp', listen = '" listen "' }\n"

static void test_outputs(void **state)
{
    (void)state;
    struct pair p = {0};
    map(&p,
        OUT("kept", "/k") OUT("changed", "/c") OUT("removed", "/r") OUT("renamed", "/n")
        OUT("moved", "/m"),
        OUT("moved", "/m") OUT("kept", "/k") OUT("changed", "/c2") OUT("added", "/a")
        OUT("newname", "/n"));
    entry_is(&p.m.out[0], SL_RELOAD_KEEP, 4);  /* moved: kept at its new index */
    entry_is(&p.m.out[1], SL_RELOAD_KEEP, 0);  /* kept */
    entry_is(&p.m.out[2], SL_RELOAD_CHANGE, 1); /* changed: the same sink, a new instance */
    entry_is(&p.m.out[3], SL_RELOAD_OPEN, -1); /* added */
    entry_is(&p.m.out[4], SL_RELOAD_OPEN, -1); /* renamed: a name is a setting */
    assert_true(p.m.out_kept[0]);
    assert_true(p.m.out_kept[1]);  /* changed: its sink goes on */
    assert_false(p.m.out_kept[2]); /* removed */
    assert_false(p.m.out_kept[3]); /* renamed away */
    assert_true(p.m.out_kept[4]);
    assert_int_equal(p.m.out_kept_n, 2);
    assert_int_equal(p.m.out_changed_n, 1);
    pair_free(&p);
}

/* A queue setting and a plugin key count as settings too. */
static void test_output_settings(void **state)
{
    (void)state;
    struct pair p = {0};
    map(&p,
        "output 'q' { type = 'file', path = '/q', queue = { capacity = 100 } }\n"
        "output 'f' { type = 'file', path = '/f', format = 'json' }\n",
        "output 'q' { type = 'file', path = '/q', queue = { capacity = 200 } }\n"
        "output 'f' { type = 'file', format = 'json', path = '/f' }\n");
    entry_is(&p.m.out[0], SL_RELOAD_CHANGE, 0);
    entry_is(&p.m.out[1], SL_RELOAD_KEEP, 1); /* the same keys in another order */
    assert_int_equal(p.m.out_kept_n, 1);
    pair_free(&p);
}

static void test_inputs(void **state)
{
    (void)state;
    struct pair p = {0};
    map(&p,
        TCP("kept", "127.0.0.1:5514") TCP("removed", "127.0.0.1:5515")
        "input 'changed' { type = 'tcp', listen = '127.0.0.1:5516', max_message = 4096 }\n"
        TCP("renamed", "127.0.0.1:5517") TCP("moved", "127.0.0.1:5518")
        "input 'devlog' { type = 'unix', path = '/run/a' }\n",
        TCP("moved", "127.0.0.1:5518")
        "input 'changed' { type = 'tcp', listen = '127.0.0.1:5516', max_message = 8192 }\n"
        TCP("newname", "127.0.0.1:5517") TCP("added", "127.0.0.1:5519") TCP("kept", "127.0.0.1:5514")
        "input 'devlog' { type = 'unix', path = '/run/b' }\n");
    entry_is(&p.m.in[0], SL_RELOAD_KEEP, 4);  /* moved */
    entry_is(&p.m.in[1], SL_RELOAD_DEFER, 2); /* changed: its old self frees the port */
    entry_is(&p.m.in[2], SL_RELOAD_DEFER, 3); /* renamed: the old name frees the port */
    entry_is(&p.m.in[3], SL_RELOAD_OPEN, -1); /* added */
    entry_is(&p.m.in[4], SL_RELOAD_KEEP, 0);  /* kept */
    entry_is(&p.m.in[5], SL_RELOAD_OPEN, -1); /* changed to a new path: opened at once */
    assert_true(p.m.in_kept[0]);
    assert_false(p.m.in_kept[1]);
    assert_false(p.m.in_kept[2]);
    assert_false(p.m.in_kept[3]);
    assert_true(p.m.in_kept[4]);
    assert_false(p.m.in_kept[5]);
    assert_int_equal(p.m.in_kept_n, 2);
    pair_free(&p);
}

/* Port 0 is a fresh port each time: never an address to wait for. udp and
 * tcp on one port are two sockets. */
static void test_inputs_no_shared_address(void **state)
{
    (void)state;
    struct pair p = {0};
    map(&p,
        TCP("any", "127.0.0.1:0") TCP("t", "127.0.0.1:5514"),
        "input 'any' { type = 'tcp', listen = '127.0.0.1:0', max_message = 4096 }\n"
        "input 'u' { type = 'udp', listen = '127.0.0.1:5514' }\n");
    entry_is(&p.m.in[0], SL_RELOAD_OPEN, -1);
    entry_is(&p.m.in[1], SL_RELOAD_OPEN, -1);
    assert_int_equal(p.m.in_kept_n, 0);
    pair_free(&p);
}

/* A new input on the address of a kept one: the reload must fail. Whatever
 * the order: the kept input may come after it in the new config. The loader
 * may refuse two inputs on one address, so the port is set by hand. */
static void test_inputs_clash(void **state)
{
    (void)state;
    struct pair p = {0};
    old_side(&p, TCP("kept", "127.0.0.1:5514"));
    p.c = load(TCP("intruder", "127.0.0.1:5599") TCP("kept", "127.0.0.1:5514"));
    free(p.c->inputs[0].port);
    p.c->inputs[0].port = strdup("5514");
    assert_int_equal(sl_reload_map_build(&p.m, &p.view, p.c), 0);
    entry_is(&p.m.in[0], SL_RELOAD_CLASH, 0);
    entry_is(&p.m.in[1], SL_RELOAD_KEEP, 0);
    pair_free(&p);
}

static void test_empty_sides(void **state)
{
    (void)state;
    struct pair p = {0};
    map(&p, "", OUT("a", "/a") TCP("t", "127.0.0.1:5514"));
    entry_is(&p.m.out[0], SL_RELOAD_OPEN, -1);
    entry_is(&p.m.in[0], SL_RELOAD_OPEN, -1);
    pair_free(&p);
    p = (struct pair){0};
    map(&p, OUT("a", "/a") TCP("t", "127.0.0.1:5514"), "");
    assert_false(p.m.out_kept[0]);
    assert_false(p.m.in_kept[0]);
    assert_int_equal(p.m.out_kept_n + p.m.in_kept_n, 0);
    pair_free(&p);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    struct pair p = {0};
    old_side(&p, OUT("a", "/a") TCP("t", "127.0.0.1:5514"));
    p.c = load(OUT("a", "/a") TCP("t", "127.0.0.1:5514"));
    sl_alloc_fail_after(LONG_MAX);
    assert_int_equal(sl_reload_map_build(&p.m, &p.view, p.c), 0);
    long n = sl_alloc_fail_after(-1);
    sl_reload_map_free(&p.m);
    assert_true(n > 0);
    for (long i = 0; i < n; i++) {
        sl_alloc_fail_after(i);
        int rc = sl_reload_map_build(&p.m, &p.view, p.c);
        sl_alloc_fail_after(-1);
        assert_int_equal(rc, -ENOMEM);
        assert_null(p.m.out);
        assert_null(p.m.in);
        assert_null(p.m.out_kept);
        assert_null(p.m.in_kept);
    }
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_output_settings),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_inputs_no_shared_address),
        cmocka_unit_test(test_inputs_clash),
        cmocka_unit_test(test_empty_sides),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
