/* SPDX-License-Identifier: MIT */
/* test_input.c: opening an input of each kind (input.c, input_*.c) with
 * every allocation made to fail in turn: it fails with a reason in err,
 * leaving nothing bound, or opens. */
#include "config.h" /* _GNU_SOURCE: mkdtemp */

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
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "input/input.h"

/* Open descriptors of this process, to see that a failed open leaks none. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

struct fixture {
    char dir[64];
    struct sl_config *c;
    struct sl_routing routing;
};

/* A config with the one input `decl`, its sockets in a temporary dir. */
static void setup(struct fixture *x, const char *decl)
{
    snprintf(x->dir, sizeof x->dir, "/tmp/sluice-input-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    char text[512];
    snprintf(text, sizeof text, decl, x->dir);
    struct sl_errors errs = {0};
    int rc = sl_config_load_text(text, strlen(text), "input.lua", &x->c, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "  config: %s\n", errs.v[i]);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    static atomic_uint_fast64_t unrouted;
    x->routing = (struct sl_routing){.unrouted = &unrouted, .hostname = {"h", 1}};
    assert_int_equal(sl_router_init(&x->routing.router, x->c, "h"), 0);
}

static void teardown(struct fixture *x)
{
    sl_router_free(&x->routing.router);
    sl_config_free(x->c);
    char sock[128];
    snprintf(sock, sizeof sock, "%s/log.sock", x->dir);
    unlink(sock);
    assert_int_equal(rmdir(x->dir), 0); /* a closed unix input took its socket */
}

static void open_failing_each_allocation(const char *decl)
{
    struct fixture x;
    setup(&x, decl);
    struct sl_input *in;
    char err[512];
    sl_alloc_fail_after(LONG_MAX); /* count what a good open allocates */
    assert_int_equal(sl_input_open(&in, &x.c->inputs[0], &x.routing, err, sizeof err), 0);
    long n = sl_alloc_fail_after(-1);
    sl_input_close(in, 0);
    assert_true(n > 0);
    int fds = open_fds();
    for (long i = 0; i <= n; i++) {
        err[0] = '\0';
        sl_alloc_fail_after(i);
        int rc = sl_input_open(&in, &x.c->inputs[0], &x.routing, err, sizeof err);
        sl_alloc_fail_after(-1);
        if (rc == 0) {
            sl_input_close(in, 0);
            continue;
        }
        if (err[0] == '\0')
            fprintf(stderr, "  %s: allocation %ld failed without a reason\n",
                    x.c->inputs[0].kind->name, i);
        assert_int_equal(rc, -ENOMEM);
        assert_true(err[0] != '\0');
        assert_non_null(strstr(err, "input \"i\""));
        assert_int_equal(open_fds(), fds);
    }
    teardown(&x);
}

static void test_unix_open_out_of_memory(void **state)
{
    open_failing_each_allocation("input 'i' { type = 'unix', path = '%s/log.sock' }\n");
}

static void test_udp_open_out_of_memory(void **state)
{
    open_failing_each_allocation("-- %s\ninput 'i' { type = 'udp', listen = '127.0.0.1:0' }\n");
}

static void test_tcp_open_out_of_memory(void **state)
{
    open_failing_each_allocation("-- %s\ninput 'i' { type = 'tcp', listen = '127.0.0.1:0' }\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_open_out_of_memory),
        cmocka_unit_test(test_udp_open_out_of_memory),
        cmocka_unit_test(test_tcp_open_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
