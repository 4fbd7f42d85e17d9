/* test_router.c: declarative routes: every condition, fan-out, final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"
#include "router.h"

static struct sl_route_conf any_route(void)
{
    return (struct sl_route_conf){.facility_mask = SL_FACILITY_ANY,
                                  .severity_mask = SL_SEVERITY_ANY};
}

static void set_to(struct sl_route_conf *r, size_t n, const size_t *outs)
{
    r->to = calloc(n, sizeof *r->to);
    memcpy(r->to, outs, n * sizeof *outs);
    r->nto = n;
}

static struct sl_strlist list(const char *a, const char *b)
{
    struct sl_strlist l = {calloc(2, sizeof(char *)), 0};
    l.v[l.n++] = strdup(a);
    if (b != NULL)
        l.v[l.n++] = strdup(b);
    return l;
}

static struct sl_config *config(size_t nroutes, size_t noutputs)
{
    struct sl_config *c = calloc(1, sizeof *c);
    c->routes = calloc(nroutes, sizeof *c->routes);
    c->nroutes = nroutes;
    c->outputs = calloc(noutputs, sizeof *c->outputs);
    c->noutputs = noutputs;
    for (size_t i = 0; i < nroutes; i++)
        c->routes[i] = any_route();
    return c;
}

static struct sl_msg *parsed(const char *text, const char *input)
{
    struct sl_msg *m = sl_msg_new_heap(text, strlen(text), input);
    struct sl_parse_ctx ctx = {.hostname = {"localhost", 9}};
    sl_parse_ctx_now(&ctx);
    sl_parse(m, &ctx);
    return m;
}

static size_t route(const struct sl_config *c, const char *text, const char *input, uint16_t *out)
{
    struct sl_router r;
    sl_router_init(&r, c);
    struct sl_msg *m = parsed(text, input);
    size_t n = sl_router_route(&r, m, out);
    sl_msg_unref(m);
    return n;
}

static void empty_route_takes_everything(void **state)
{
    struct sl_config *c = config(1, 1);
    set_to(&c->routes[0], 1, (size_t[]){0});
    uint16_t out[4];
    assert_int_equal(route(c, "<13>Nov 22 10:00:00 host app: x", "tcp", out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(route(c, "garbage without pri", "tcp", out), 1);
    sl_config_free(c);
}

static void no_routes_means_unrouted(void **state)
{
    struct sl_config *c = config(0, 1);
    uint16_t out[4];
    assert_int_equal(route(c, "<13>hello", "tcp", out), 0);
    sl_config_free(c);
}

static void facility_and_severity_masks(void **state)
{
    struct sl_config *c = config(1, 1);
    c->routes[0].facility_mask = (1u << 4) | (1u << 10); /* auth, authpriv */
    c->routes[0].severity_mask = 0x1f;                   /* emerg..warning */
    set_to(&c->routes[0], 1, (size_t[]){0});
    uint16_t out[4];
    assert_int_equal(route(c, "<36>Nov 22 10:00:00 h sshd: x", "t", out), 1); /* auth.warning */
    assert_int_equal(route(c, "<86>Nov 22 10:00:00 h sshd: x", "t", out), 0); /* authpriv.info */
    assert_int_equal(route(c, "<83>Nov 22 10:00:00 h sshd: x", "t", out), 1); /* authpriv.err */
    assert_int_equal(route(c, "<11>Nov 22 10:00:00 h sshd: x", "t", out), 0); /* user.err */
    sl_config_free(c);
}

static void lists_and_substring(void **state)
{
    struct sl_config *c = config(1, 1);
    c->routes[0].app_names = list("sshd", "sudo");
    c->routes[0].hostnames = list("web1", NULL);
    c->routes[0].inputs = list("devlog", "tcp");
    c->routes[0].msg_contains = strdup("failed");
    set_to(&c->routes[0], 1, (size_t[]){0});
    uint16_t out[4];
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web1 sudo: auth failed", "tcp", out), 1);
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web1 sudo: auth ok", "tcp", out), 0);
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web2 sudo: auth failed", "tcp", out), 0);
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web1 cron: auth failed", "tcp", out), 0);
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web1 sudo: auth failed", "udp", out), 0);
    /* A prefix of a listed name is not a match. */
    assert_int_equal(route(c, "<38>Nov 22 10:00:00 web1 ssh: auth failed", "tcp", out), 0);
    /* RFC 5424 NILVALUE app-name never matches a list. */
    assert_int_equal(route(c, "<38>1 - web1 - - - - auth failed", "tcp", out), 0);
    sl_config_free(c);
}

static void fan_out_without_duplicates(void **state)
{
    struct sl_config *c = config(2, 3);
    set_to(&c->routes[0], 2, (size_t[]){2, 0});
    set_to(&c->routes[1], 2, (size_t[]){0, 1});
    uint16_t out[4];
    assert_int_equal(route(c, "<13>x", "t", out), 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 1);
    sl_config_free(c);
}

static void final_stops_routing(void **state)
{
    struct sl_config *c = config(2, 2);
    c->routes[0].facility_mask = 1u << 4;
    c->routes[0].final = true;
    set_to(&c->routes[0], 1, (size_t[]){0});
    set_to(&c->routes[1], 1, (size_t[]){1});
    uint16_t out[4];
    assert_int_equal(route(c, "<34>Nov 22 10:00:00 h su: x", "t", out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(route(c, "<13>Nov 22 10:00:00 h su: x", "t", out), 1);
    assert_int_equal(out[0], 1);
    sl_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_route_takes_everything),
        cmocka_unit_test(no_routes_means_unrouted),
        cmocka_unit_test(facility_and_severity_masks),
        cmocka_unit_test(lists_and_substring),
        cmocka_unit_test(fan_out_without_duplicates),
        cmocka_unit_test(final_stops_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
