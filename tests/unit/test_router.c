/* SPDX-License-Identifier: MIT */
/* test_router.c: declarative routes: every condition, fan-out, final,
 * regular expressions and their limits, threads sharing one router. */
#include "config.h" /* _GNU_SOURCE: memmem, strdup */

#include <errno.h>
#include <pthread.h>
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

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "parse/parse.h"
#include "route/router.h"

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

/* Compiles as the config loader does; without jit, the interpreter runs. */
static void set_regex(struct sl_regex *re, const char *pattern, bool jit)
{
    int err;
    PCRE2_SIZE offset;
    re->pattern = strdup(pattern);
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &err,
                             &offset, NULL);
    assert_non_null(re->code);
    if (jit)
        pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
}

/* Routes one message; out gets the outputs' indices (rewrites released). */
/* Routes text once with a router of its own; errors, when not NULL, gets
 * the per-route error counters (room for c->nroutes). */
static size_t route_counting(const struct sl_config *c, const char *text, const char *input,
                             uint16_t *out, uint64_t *errors)
{
    struct sl_router r;
    struct sl_route_scratch *s = NULL;
    char err[256];
    assert_int_equal(sl_router_init(&r, c, "testhost"), 0);
    assert_int_equal(sl_router_scratch_new(&r, &s, err, sizeof err), 0);
    struct sl_msg *m = parsed(text, input);
    struct sl_route_out outs[SL_MAX_OUTPUTS];
    size_t n = sl_router_route(&r, s, m, outs);
    for (size_t i = 0; i < n; i++) {
        out[i] = outs[i].output;
        sl_msg_unref(outs[i].m);
    }
    sl_msg_unref(m);
    for (size_t i = 0; errors != NULL && i < c->nroutes; i++)
        errors[i] = atomic_load(&r.routes[i].errors);
    sl_router_scratch_free(s);
    sl_router_free(&r);
    return n;
}

static size_t route(const struct sl_config *c, const char *text, const char *input, uint16_t *out)
{
    return route_counting(c, text, input, out, NULL);
}

/* True when one route with only the conditions set by the caller takes text. */
static bool takes(const struct sl_config *c, const char *text)
{
    uint16_t out[4];
    return route(c, text, "tcp", out) == 1;
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

static void prefix_and_suffix(void **state)
{
    struct sl_config *c = config(1, 1);
    c->routes[0].msg_prefix = strdup("session ");
    set_to(&c->routes[0], 1, (size_t[]){0});
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su: session opened"));
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su: session "));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: a session opened"));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: session"));  /* shorter than the prefix */
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: Session opened")); /* bytes, case and all */
    free(c->routes[0].msg_prefix);
    c->routes[0].msg_prefix = NULL;
    c->routes[0].msg_suffix = strdup(" closed");
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su: session closed"));
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su:  closed"));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: session closed."));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: closed"));
    /* Both: the message has to start and end so; they may overlap. */
    c->routes[0].msg_prefix = strdup("session");
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su: session for root closed"));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h su: session for root opened"));
    free(c->routes[0].msg_suffix);
    c->routes[0].msg_suffix = strdup("ion");
    assert_true(takes(c, "<38>Nov 22 10:00:00 h su: session"));
    /* A NIL message never matches; an empty one is too short. */
    assert_false(takes(c, "<38>1 - web1 su - - -"));
    sl_config_free(c);
}

static void regex_each_field(void **state)
{
    for (int jit = 0; jit <= 1; jit++) {
        struct sl_config *c = config(3, 3);
        set_regex(&c->routes[0].msg_match, "^user [a-z_][a-z0-9_]* logged in from [0-9.]+$", jit);
        set_regex(&c->routes[1].app_name_match, "^(sshd|sudo)$", jit);
        set_regex(&c->routes[2].hostname_match, "^web[0-9]+\\.example\\.com$", jit);
        for (size_t i = 0; i < 3; i++)
            set_to(&c->routes[i], 1, (size_t[]){i});
        uint16_t out[4];
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 login: user root logged in from "
                                  "192.0.2.7", "tcp", out), 1);
        assert_int_equal(out[0], 0);
        /* Anchors: extra text on either side is not a match. */
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 login: user root logged in from "
                                  "192.0.2.7 twice", "tcp", out), 0);
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 login: a user root logged in from "
                                  "192.0.2.7", "tcp", out), 0);
        /* A class: no capitals in the user name. */
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 login: user Root logged in from "
                                  "192.0.2.7", "tcp", out), 0);
        /* app_name_match on the tag, exactly by the anchors: not "sshd2". */
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 sudo[12]: x", "tcp", out), 1);
        assert_int_equal(out[0], 1);
        assert_int_equal(route(c, "<38>Nov 22 10:00:00 db1 sshd2[12]: x", "tcp", out), 0);
        /* hostname_match; "." was escaped. */
        assert_int_equal(route(c, "<38>1 2026-11-22T10:00:00Z web12.example.com cron - - - x",
                               "tcp", out), 1);
        assert_int_equal(out[0], 2);
        assert_int_equal(route(c, "<38>1 2026-11-22T10:00:00Z web12xexample.com cron - - - x",
                               "tcp", out), 0);
        /* All three at once: fan-out. */
        assert_int_equal(route(c, "<38>1 2026-11-22T10:00:00Z web1.example.com sshd - - - "
                                  "user a logged in from 10.0.0.1", "tcp", out), 3);
        sl_config_free(c);
    }
}

static void regex_nil_fields(void **state)
{
    struct sl_config *c = config(1, 1);
    set_regex(&c->routes[0].app_name_match, "", true); /* matches any text, even empty */
    set_to(&c->routes[0], 1, (size_t[]){0});
    assert_true(takes(c, "<38>1 - web1 cron - - - x"));
    assert_false(takes(c, "<38>1 - web1 - - - - x")); /* NILVALUE app-name */
    sl_config_free(c);
    c = config(1, 1);
    set_regex(&c->routes[0].hostname_match, "^", true);
    set_to(&c->routes[0], 1, (size_t[]){0});
    assert_true(takes(c, "<38>1 - web1 cron - - - x"));
    assert_false(takes(c, "<38>1 - - cron - - - x"));
    sl_config_free(c);
    c = config(1, 1);
    set_regex(&c->routes[0].msg_match, "x*", true);
    set_to(&c->routes[0], 1, (size_t[]){0});
    assert_true(takes(c, "<38>1 - web1 cron - - - x"));
    assert_false(takes(c, "<38>1 - web1 cron - - -")); /* no MSG at all */
    sl_config_free(c);
}

/* Messages are bytes: invalid UTF-8 is matched byte by byte, never an error. */
static void regex_on_bytes(void **state)
{
    struct sl_config *c = config(1, 1);
    set_regex(&c->routes[0].msg_match, "^bad \\xff.\\xc3 [^a]+$", true);
    set_to(&c->routes[0], 1, (size_t[]){0});
    assert_true(takes(c, "<38>Nov 22 10:00:00 h app: bad \xff\xfe\xc3 utf8"));
    assert_false(takes(c, "<38>Nov 22 10:00:00 h app: bad \xff\xfe\xc3 utf8 a"));
    sl_config_free(c);
}

static void regex_with_other_conditions(void **state)
{
    struct sl_config *c = config(2, 2);
    struct sl_route_conf *r = &c->routes[0];
    r->facility_mask = 1u << 4 | 1u << 10;
    r->app_names = list("sshd", NULL);
    r->msg_contains = strdup("password");
    r->msg_prefix = strdup("Failed ");
    r->msg_suffix = strdup(" ssh2");
    set_regex(&r->msg_match, "from ([0-9]{1,3}\\.){3}[0-9]{1,3} ", true);
    set_regex(&r->hostname_match, "^bastion", true);
    r->final = true;
    set_to(r, 1, (size_t[]){0});
    set_to(&c->routes[1], 1, (size_t[]){1});
    uint16_t out[4];
    const char *ok = "<38>Nov 22 10:00:00 bastion2 sshd[7]: Failed password for root from "
                     "192.0.2.9 port 22 ssh2";
    assert_int_equal(route(c, ok, "tcp", out), 1);
    assert_int_equal(out[0], 0);
    /* Each condition alone failing sends it on to the catch-all. */
    const char *miss[] = {
        "<14>Nov 22 10:00:00 bastion2 sshd[7]: Failed password for root from 192.0.2.9 port 22 ssh2",
        "<38>Nov 22 10:00:00 bastion2 sudo[7]: Failed password for root from 192.0.2.9 port 22 ssh2",
        "<38>Nov 22 10:00:00 bastion2 sshd[7]: Failed publickey for root from 192.0.2.9 port 22 ssh2",
        "<38>Nov 22 10:00:00 bastion2 sshd[7]: failed password for root from 192.0.2.9 port 22 ssh2",
        "<38>Nov 22 10:00:00 bastion2 sshd[7]: Failed password for root from 192.0.2.9 port 22 ssh1",
        "<38>Nov 22 10:00:00 bastion2 sshd[7]: Failed password for root from 192.0.2 port 22 ssh2",
        "<38>Nov 22 10:00:00 jump2 sshd[7]: Failed password for root from 192.0.2.9 port 22 ssh2",
    };
    for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
        assert_int_equal(route(c, miss[i], "tcp", out), 1);
        assert_int_equal(out[0], 1);
    }
    sl_config_free(c);
}

/* The ovector is sized for the pattern with the most groups, whichever route
 * holds it. */
static void regex_many_groups(void **state)
{
    struct sl_config *c = config(2, 2);
    set_regex(&c->routes[0].msg_match, "^a$", true);
    set_regex(&c->routes[1].msg_match, "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)", true);
    set_to(&c->routes[0], 1, (size_t[]){0});
    set_to(&c->routes[1], 1, (size_t[]){1});
    struct sl_router r;
    assert_int_equal(sl_router_init(&r, c, NULL), 0);
    assert_int_equal(r.ovector_pairs, 18);
    sl_router_free(&r);
    uint16_t out[4];
    assert_int_equal(route(c, "<13>x: abcdefghijklmnopq", "t", out), 1);
    assert_int_equal(out[0], 1);
    sl_config_free(c);
}

/* Runs fn with stderr (the daemon's log) sent to a file; returns what was
 * logged, which the caller frees. */
static char *capture_log(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/sluice-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

struct catastrophic {
    struct sl_config *c;
    size_t routed;
    double seconds;
    uint64_t errors[2];
};

static void route_catastrophic(void *arg)
{
    struct catastrophic *x = arg;
    struct timespec t0, t1;
    uint16_t out[4];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    x->routed = route_counting(x->c, "<13>Nov 22 10:00:00 h app: "
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "tcp", out, x->errors);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    x->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* "(a+)+$" tries 2^39 ways to split the a's before each "!"; the match limit
 * ends it, as no match, with a log line naming the route's line and one
 * error on the route's counter. */
static void regex_catastrophic_within_limits(void **state)
{
    for (int jit = 0; jit <= 1; jit++) {
        struct catastrophic x = {config(2, 2), 0, 0, {0, 0}};
        x.c->file = strdup("test.lua");
        x.c->routes[1].line = 7;
        set_regex(&x.c->routes[1].msg_match, "(a+)+$", jit);
        set_to(&x.c->routes[1], 1, (size_t[]){1});
        x.c->routes[0].msg_contains = strdup("nothing like it");
        set_to(&x.c->routes[0], 1, (size_t[]){0});
        char *log = capture_log(route_catastrophic, &x);
        assert_int_equal(x.routed, 0);
        /* counted against the route, in stats */
        assert_int_equal(x.errors[0], 0);
        assert_int_equal(x.errors[1], 1);
        if (x.seconds >= 5)
            fprintf(stderr, "  jit %d: %.2f s\n", jit, x.seconds);
        assert_true(x.seconds < 5);
        if (strstr(log, "route at test.lua:7: key 'msg_match': pcre2_match() failed (-47: "
                        "match limit exceeded), taken as no match") == NULL) {
            fprintf(stderr, "  jit %d: log: %s\n", jit, log);
            fail();
        }
        free(log);
        sl_config_free(x.c);
    }
}

/* Input threads share one router, each with its own scratch. */
struct worker {
    const struct sl_router *r;
    size_t hits;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct sl_route_scratch *s = NULL;
    char err[256];
    if (sl_router_scratch_new(w->r, &s, err, sizeof err) < 0)
        return NULL;
    struct sl_msg *yes = parsed("<13>Nov 22 10:00:00 h app: order 12345 shipped", "tcp");
    struct sl_msg *no = parsed("<13>Nov 22 10:00:00 h app: order 12x45 shipped", "tcp");
    struct sl_route_out out[4];
    for (int i = 0; i < 2000; i++) {
        w->hits += sl_router_route(w->r, s, yes, out);
        w->hits += sl_router_route(w->r, s, no, out);
    }
    sl_msg_unref(yes);
    sl_msg_unref(no);
    sl_router_scratch_free(s);
    return NULL;
}

static void threads_share_the_router(void **state)
{
    struct sl_config *c = config(1, 1);
    set_regex(&c->routes[0].msg_match, "^order ([0-9]+) (shipped|lost)$", true);
    set_to(&c->routes[0], 1, (size_t[]){0});
    struct sl_router r;
    assert_int_equal(sl_router_init(&r, c, NULL), 0);
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){&r, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].hits, 2000);
    }
    sl_router_free(&r);
    sl_config_free(c);
}

/* A config without patterns needs no pcre2 room at all. */
static void scratch_without_patterns(void **state)
{
    struct sl_config *c = config(1, 1);
    struct sl_router r;
    assert_int_equal(sl_router_init(&r, c, NULL), 0);
    assert_int_equal(r.ovector_pairs, 0);
    struct sl_route_scratch *s = NULL;
    char err[256];
    assert_int_equal(sl_router_scratch_new(&r, &s, err, sizeof err), 0);
    assert_non_null(s);
    sl_router_scratch_free(s);
    sl_router_scratch_free(NULL);
    sl_router_free(&r);
    sl_config_free(c);
}

/* {=== route functions: where, transform, drop, on_error */
struct lua_fx {
    char path[64];
    struct sl_config *c;
    struct sl_router r;
    struct sl_route_scratch *s;
};

static void lua_setup(struct lua_fx *x, const char *text)
{
    snprintf(x->path, sizeof x->path, "router.lua");
    struct sl_errors errs = {0};
    int rc = sl_config_load_text(text, strlen(text), x->path, &x->c, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "  config: %s\n", errs.v[i]);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    assert_int_equal(sl_router_init(&x->r, x->c, "h"), 0);
    char err[512];
    assert_int_equal(sl_router_scratch_new(&x->r, &x->s, err, sizeof err), 0);
}

static void lua_teardown(struct lua_fx *x)
{
    sl_router_scratch_free(x->s);
    sl_router_free(&x->r);
    sl_config_free(x->c);
}

static size_t lua_route(struct lua_fx *x, const char *text, struct sl_route_out *out)
{
    struct sl_msg *m = parsed(text, "tcp");
    size_t n = sl_router_route(&x->r, x->s, m, out);
    sl_msg_unref(m); /* rewrites hold their own reference on it */
    return n;
}

static void release(struct sl_route_out *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(out[i].m);
}

#define OUTS3 "output 'a' { type = 'file' }\noutput 'b' { type = 'file' }\n" \
              "output 'c' { type = 'file' }\n"

static void where_after_declarative(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3
              "route { app_name = { 'sshd', 'sudo' }, where = function(m) return m.uid ~= 0 end,\n"
              "        to = 'a' }\n"
              "route { where = function(m) return m.msg:find('disk', 1, true) end, to = 'b' }\n");
    struct sl_route_out out[4];
    /* No credentials: uid is nil, ~= 0. */
    assert_int_equal(lua_route(&x, "<38>Nov 22 10:00:00 h sshd: x", out), 1);
    assert_int_equal(out[0].output, 0);
    assert_null(out[0].m);
    assert_int_equal(lua_route(&x, "<38>Nov 22 10:00:00 h cron: disk full", out), 1);
    assert_int_equal(out[0].output, 1);
    assert_int_equal(lua_route(&x, "<38>Nov 22 10:00:00 h cron: x", out), 0);
    assert_false(sl_route_scratch_dropped(x.s));
    lua_teardown(&x);
}

static void drop_routes(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3
              "route { msg_contains = 'keep', to = 'a' }\n"
              "route { drop = true, where = function(m) return m.msg:find('healthcheck', 1, true) end }\n"
              "route { to = { 'a', 'b' } }\n");
    struct sl_route_out out[4];
    assert_int_equal(lua_route(&x, "<13>Nov 22 10:00:00 h app: healthcheck", out), 0);
    assert_true(sl_route_scratch_dropped(x.s));
    /* What an earlier route chose still gets it. */
    assert_int_equal(lua_route(&x, "<13>Nov 22 10:00:00 h app: keep healthcheck", out), 1);
    assert_int_equal(out[0].output, 0);
    assert_int_equal(lua_route(&x, "<13>Nov 22 10:00:00 h app: other", out), 2);
    assert_false(sl_route_scratch_dropped(x.s));
    assert_int_equal(atomic_load(&x.r.routes[1].discarded), 2);
    assert_int_equal(atomic_load(&x.r.routes[0].discarded), 0);
    lua_teardown(&x);
}

/* fields = { ... } reads the extra fields a message came with (a native
 * input's): one of some values, present (true), absent (false). */
static size_t route_with_fields(struct lua_fx *x, const struct sl_field *f, uint32_t n,
                                struct sl_route_out *out)
{
    struct sl_msg *m = parsed("<13>Nov 22 10:00:00 h app: x", "journal");
    m->fields = f; /* static: a heap message frees only itself */
    m->nfields = n;
    size_t got = sl_router_route(&x->r, x->s, m, out);
    sl_msg_unref(m);
    return got;
}

#define F(k, v) {{k, sizeof k - 1}, {v, sizeof v - 1}}

static void fields_conditions(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3
              "route { fields = { _SYSTEMD_UNIT = { 'ssh.service', 'cron.service' } }, to = 'a' }\n"
              "route { fields = { CODE_FILE = true, _TRANSPORT = 'journal' }, to = 'b' }\n"
              "route { fields = { _SYSTEMD_UNIT = false }, app_name = 'app', to = 'c' }\n");
    struct sl_route_out out[4];
    static const struct sl_field ssh[] = {F("_SYSTEMD_UNIT", "ssh.service")};
    assert_int_equal(route_with_fields(&x, ssh, 1, out), 1);
    assert_int_equal(out[0].output, 0);
    static const struct sl_field other[] = {F("_SYSTEMD_UNIT", "ssh.servic")};
    assert_int_equal(route_with_fields(&x, other, 1, out), 0); /* neither a nor c */
    /* both conditions of the second route, in any order of the fields */
    static const struct sl_field both[] = {F("_TRANSPORT", "journal"), F("CODE_FILE", "")};
    assert_int_equal(route_with_fields(&x, both, 2, out), 2);
    assert_int_equal(out[0].output, 1);
    assert_int_equal(out[1].output, 2); /* no unit: the third route too */
    static const struct sl_field half[] = {F("_TRANSPORT", "syslog"), F("CODE_FILE", "a.c")};
    assert_int_equal(route_with_fields(&x, half, 2, out), 1);
    assert_int_equal(out[0].output, 2);
    /* a message without fields: only the absent condition holds */
    assert_int_equal(route_with_fields(&x, NULL, 0, out), 1);
    assert_int_equal(out[0].output, 2);
    lua_teardown(&x);
}

static void on_error_skip_and_pass(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3
              "route { where = function(m) error('w') end, to = 'a' }\n"
              "route { where = function(m) error('w') end, on_error = 'pass', to = 'b' }\n"
              "route { transform = function(m) m.msg = 'changed'; error('t') end,\n"
              "        on_error = 'pass', to = 'c' }\n"
              "route { transform = function(m) error('t') end, final = true, to = 'a' }\n"
              "route { to = 'a' }\n");
    struct sl_route_out out[4];
    size_t n = lua_route(&x, "<13>Nov 22 10:00:00 h app: x", out);
    /* a from the last route: the skipped transform route's final did not apply. */
    assert_int_equal(n, 3);
    assert_int_equal(out[0].output, 1);
    assert_null(out[0].m);
    assert_int_equal(out[1].output, 2);
    assert_null(out[1].m); /* a failed transform passes the message as it was */
    assert_int_equal(out[2].output, 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(atomic_load(&x.r.routes[i].errors), 1);
    assert_int_equal(atomic_load(&x.r.routes[4].errors), 0);
    lua_teardown(&x);
}

static void transform_per_route(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3
              "route { transform = function(m) m.msg = 'one' end, to = { 'a', 'b' } }\n"
              "route { transform = function(m) assert(m.msg == 'orig'); m.msg = 'two' end,\n"
              "        to = { 'b', 'c' } }\n"
              "route { transform = function(m) end, to = 'c' }\n");
    struct sl_route_out out[4];
    size_t n = lua_route(&x, "<13>Nov 22 10:00:00 h app: orig", out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].output, 0);
    assert_int_equal(out[1].output, 1);
    assert_int_equal(out[2].output, 2);
    /* a and b share route 1's rewrite; c takes route 2's (b was taken). */
    assert_non_null(out[0].m);
    assert_ptr_equal(out[0].m, out[1].m);
    assert_memory_equal(out[0].m->msg.p, "one", 3);
    assert_non_null(out[2].m);
    assert_memory_equal(out[2].m->msg.p, "two", 3);
    assert_int_equal(atomic_load(&x.r.routes[1].errors), 0);
    release(out, n);
    /* An unchanged transform sends the message itself. */
    lua_teardown(&x);
    lua_setup(&x, OUTS3 "route { transform = function(m) local s = m.msg end, to = 'a' }\n");
    n = lua_route(&x, "<13>Nov 22 10:00:00 h app: orig", out);
    assert_int_equal(n, 1);
    assert_null(out[0].m);
    lua_teardown(&x);
}

/* A declarative config makes no Lua state. */
static void no_lua_without_functions(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3 "route { to = 'a' }\n");
    assert_false(x.c->has_lua);
    struct sl_route_out out[4];
    assert_int_equal(lua_route(&x, "<13>x", out), 1);
    lua_teardown(&x);
}

static void scratch_reports_a_config_that_runs_differently(void **state)
{
    struct lua_fx x;
    lua_setup(&x, OUTS3 "route { to = 'a', where = function(m) return true end }\n");
    /* The same config, another text: its re-run declares two routes. */
    free(x.c->source);
    x.c->source = strdup(OUTS3 "route { to = 'a', where = function(m) return true end }\n"
                         "route { to = 'a' }\n");
    x.c->source_len = strlen(x.c->source);
    struct sl_route_scratch *s = NULL;
    char err[512];
    assert_int_equal(sl_router_scratch_new(&x.r, &s, err, sizeof err), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "config ran differently in an input thread: it declared 2 routes, not 1"));
    lua_teardown(&x);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_route_takes_everything),
        cmocka_unit_test(no_routes_means_unrouted),
        cmocka_unit_test(facility_and_severity_masks),
        cmocka_unit_test(lists_and_substring),
        cmocka_unit_test(fan_out_without_duplicates),
        cmocka_unit_test(final_stops_routing),
        cmocka_unit_test(prefix_and_suffix),
        cmocka_unit_test(regex_each_field),
        cmocka_unit_test(regex_nil_fields),
        cmocka_unit_test(regex_on_bytes),
        cmocka_unit_test(regex_with_other_conditions),
        cmocka_unit_test(regex_many_groups),
        cmocka_unit_test(regex_catastrophic_within_limits),
        cmocka_unit_test(threads_share_the_router),
        cmocka_unit_test(scratch_without_patterns),
        cmocka_unit_test(where_after_declarative),
        cmocka_unit_test(drop_routes),
        cmocka_unit_test(on_error_skip_and_pass),
        cmocka_unit_test(transform_per_route),
        cmocka_unit_test(fields_conditions),
        cmocka_unit_test(no_lua_without_functions),
        cmocka_unit_test(scratch_reports_a_config_that_runs_differently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
