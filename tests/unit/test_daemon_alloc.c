/* SPDX-License-Identifier: MIT */
/* test_daemon_alloc.c: start-up and reload with each allocation failing in
 * turn (common/alloc.h). Every failure must be reported in a printable err
 * (the caller's buffer, pre-filled with a marker that must not survive),
 * leave no thread and no fd behind, and under ASan leak nothing; a failed
 * reload leaves the running config running, unchanged.
 *
 * Allocations are counted first (sl_alloc_fail_after(LONG_MAX)); then
 * failure i makes allocation i and every later one fail, as a heap that has
 * run out does. Lua's own allocator is not wrapped: its allocations never
 * fail here. Each walk takes at most MAX_STEPS points, evenly spread
 * (stride = count / MAX_STEPS + 1, from allocation 0), to bound its time. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "daemon/daemon.h"

#define MAX_STEPS 400
#define MARK '\xa5' /* not printable: a byte no callee wrote */

struct fixture {
    char dir[64];
    char a[128], b[128], c[128]; /* config paths */
    struct sl_options o;
    int saved_stderr;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Every input kind and two outputs; a route function, so each input gets
 * its own Lua state. */
static void write_config_a(const struct fixture *f)
{
    char text[2048];
    snprintf(text, sizeof text,
             "settings { control = '%s/ctl', plugin_path = { '%s' } }\n"
             "input 'unix' { type = 'unix', path = '%s/log' }\n"
             "input 'udp' { type = 'udp', listen = '127.0.0.1:0' }\n"
             "input 'tcp' { type = 'tcp', listen = '127.0.0.1:0' }\n"
             "local a = output 'a' { type = 'file', path = '%s/a.log' }\n"
             "local b = output 'b' { type = 'file', path = '%s/b.log', format = 'json' }\n"
             "route { where = function(m) return m.msg ~= 'skip' end, to = a }\n"
             "route { to = { a, b } }\n",
             f->dir, BUILD_PLUGIN_DIR, f->dir, f->dir, f->dir);
    write_file(f->a, text);
}

/* From A: input unix changed (path), tcp kept, udp removed, udp2 added;
 * output a kept, b changed (format), c added. */
static void write_config_b(const struct fixture *f)
{
    char text[2048];
    snprintf(text, sizeof text,
             "settings { control = '%s/ctl', plugin_path = { '%s' } }\n"
             "input 'unix' { type = 'unix', path = '%s/log2' }\n"
             "input 'tcp' { type = 'tcp', listen = '127.0.0.1:0' }\n"
             "input 'udp2' { type = 'udp', listen = '127.0.0.1:0' }\n"
             "local a = output 'a' { type = 'file', path = '%s/a.log' }\n"
             "local b = output 'b' { type = 'file', path = '%s/b.log', format = 'rfc5424' }\n"
             "local c = output 'c' { type = 'file', path = '%s/c.log' }\n"
             "route { where = function(m) return m.msg ~= 'skip' end, to = a }\n"
             "route { to = { a, b, c } }\n",
             f->dir, BUILD_PLUGIN_DIR, f->dir, f->dir, f->dir, f->dir);
    write_file(f->b, text);
}

/* From A: input unix changed (mode) at the same path, so it is opened only
 * once the running one has stopped (step 5 of a reload); the rest kept. */
static void write_config_c(const struct fixture *f)
{
    char text[2048];
    snprintf(text, sizeof text,
             "settings { control = '%s/ctl', plugin_path = { '%s' } }\n"
             "input 'unix' { type = 'unix', path = '%s/log', mode = '0600' }\n"
             "input 'udp' { type = 'udp', listen = '127.0.0.1:0' }\n"
             "input 'tcp' { type = 'tcp', listen = '127.0.0.1:0' }\n"
             "local a = output 'a' { type = 'file', path = '%s/a.log' }\n"
             "local b = output 'b' { type = 'file', path = '%s/b.log', format = 'json' }\n"
             "route { where = function(m) return m.msg ~= 'skip' end, to = a }\n"
             "route { to = { a, b } }\n",
             f->dir, BUILD_PLUGIN_DIR, f->dir, f->dir, f->dir);
    write_file(f->c, text);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sluice-alloc-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->a, sizeof f->a, "%s/a.lua", f->dir);
    snprintf(f->b, sizeof f->b, "%s/b.lua", f->dir);
    snprintf(f->c, sizeof f->c, "%s/c.lua", f->dir);
    write_config_a(f);
    write_config_b(f);
    write_config_c(f);
    f->o.config_path = f->a;
    f->o.foreground = true;
    f->saved_stderr = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* {=== what is left behind */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
    nanosleep(&ts, NULL);
}

/* A joined thread may linger in /proc for a moment: wait up to a second
 * for the count to come down to want. */
static int threads_settled(int want)
{
    int n = count_entries("/proc/self/task");
    for (int i = 0; i < 1000 && n != want; i++) {
        sleep_ms(1);
        n = count_entries("/proc/self/task");
    }
    return n;
}

/* The number of entries of dir once it has held still for 50 ms (at most
 * a second): a reload hands a changed output's new instance to its worker
 * and returns, and the worker closes the old one (its files) a moment
 * later. */
static int settled_entries(const char *dir)
{
    int n = count_entries(dir);
    for (int i = 0; i < 20; i++) {
        sleep_ms(50);
        int m = count_entries(dir);
        if (m == n)
            break;
        n = m;
    }
    return n;
}

static bool exists(const struct fixture *f, const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    return stat(path, &st) == 0;
}
/* }=== */

/* {=== the err buffer */
static void mark(char *err, size_t len)
{
    memset(err, MARK, len - 1);
    err[len - 1] = '\0';
}

/* err is a non-empty, terminated line of printable text. */
static void check_err(const char *err, size_t len, const char *what, long i)
{
    size_t n = strnlen(err, len);
    if (n == 0 || n == len)
        fail_msg("%s, allocation %ld failing: err is %s", what, i,
                 n == 0 ? "empty" : "not terminated");
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)err[k];
        if (ch < 0x20 || ch > 0x7e)
            fail_msg("%s, allocation %ld failing: byte %zu of err is 0x%02x%s: \"%.*s\"", what,
                     i, k, ch, ch == (unsigned char)MARK ? " (never written)" : "", (int)k, err);
    }
    /* A reason after the place, not just "FILE:LINE: ". */
    if (n >= 2 && strcmp(err + n - 2, ": ") == 0)
        fail_msg("%s, allocation %ld failing: err gives no reason: \"%s\"", what, i, err);
}
/* }=== */

/* The daemon's log lines for thousands of failures would bury cmocka's. */
static void quiet(struct fixture *f)
{
    fflush(stderr);
    f->saved_stderr = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(null, STDERR_FILENO);
    close(null);
}

static void loud(struct fixture *f)
{
    dup2(f->saved_stderr, STDERR_FILENO);
    close(f->saved_stderr);
    f->saved_stderr = -1;
}

static long stride_for(long n)
{
    return n / MAX_STEPS + 1;
}

/* Route functions run under one watchdog thread per process, which ends
 * within WATCH_MS of the last filter (filter.c). Holding a filter for the
 * whole walk keeps it in the baseline, rather than waiting for it each
 * time. */
struct watchdog_hold {
    struct sl_config *c;
    struct sl_router r;
    struct sl_route_scratch *s;
};

static void hold_watchdog(struct watchdog_hold *h, const char *config)
{
    struct sl_errors errs = {0};
    char err[256];
    assert_int_equal(sl_config_load(config, &h->c, &errs), 0);
    assert_int_equal(sl_router_init(&h->r, h->c, "localhost"), 0);
    assert_int_equal(sl_router_scratch_new(&h->r, &h->s, err, sizeof err), 0);
}

static void release_watchdog(struct watchdog_hold *h)
{
    sl_router_scratch_free(h->s);
    sl_router_free(&h->r);
    sl_config_free(h->c);
}

static void test_start_up_walk(void **state)
{
    struct fixture *f = *state;
    struct sl_daemon d;
    char err[1024];
    struct watchdog_hold hold;
    hold_watchdog(&hold, f->a);
    int fds = count_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");

    quiet(f);
    sl_alloc_fail_after(LONG_MAX);
    int rc = sl_daemon_start(&d, &f->o, err, sizeof err);
    long n = sl_alloc_fail_after(-1);
    if (rc == 0)
        sl_daemon_stop(&d);
    loud(f);
    assert_int_equal(rc, 0);
    assert_true(n > 50); /* the walk below walks something */
    long stride = stride_for(n);
    print_message("start-up: %ld allocations, failing every %ld%s\n", n, stride,
                  stride > 1 ? "th" : "");

    for (long i = 0; i < n; i += stride) {
        mark(err, sizeof err);
        quiet(f);
        sl_alloc_fail_after(i);
        rc = sl_daemon_start(&d, &f->o, err, sizeof err);
        sl_alloc_fail_after(-1);
        if (rc == 0)
            sl_daemon_stop(&d);
        loud(f);
        if (rc == 0)
            fail_msg("start-up: allocation %ld of %ld failed, yet start-up succeeded", i, n);
        check_err(err, sizeof err, "start-up", i);
        int left = threads_settled(threads);
        if (left != threads)
            fail_msg("start-up, allocation %ld failing: %d threads left, %d before (%s)", i,
                     left, threads, err);
        left = count_entries("/proc/self/fd");
        if (left != fds)
            fail_msg("start-up, allocation %ld failing: %d fds open, %d before (%s)", i, left,
                     fds, err);
        if (exists(f, "ctl") || exists(f, "log"))
            fail_msg("start-up, allocation %ld failing: a socket file is left (%s)", i, err);
    }
    release_watchdog(&hold);
}

/* {=== the running config, to see that a failed reload left it alone */
struct snapshot {
    struct sl_runtime *rt;
    struct sl_config *config;
    size_t ninputs, nsinks;
    struct sl_input *inputs[8];
    struct sl_sink *sinks[8];
};

static void take(struct snapshot *s, const struct sl_daemon *d)
{
    *s = (struct snapshot){.rt = d->rt, .config = d->rt->config, .ninputs = d->rt->ninputs,
                           .nsinks = d->rt->routing.nsinks};
    assert_true(s->ninputs <= 8 && s->nsinks <= 8);
    memcpy(s->inputs, d->rt->inputs, s->ninputs * sizeof *s->inputs);
    memcpy(s->sinks, d->rt->routing.sinks, s->nsinks * sizeof *s->sinks);
}

static bool same(const struct snapshot *s, const struct sl_daemon *d)
{
    struct snapshot now;
    take(&now, d);
    return s->rt == now.rt && s->config == now.config && s->ninputs == now.ninputs
           && s->nsinks == now.nsinks
           && memcmp(s->inputs, now.inputs, s->ninputs * sizeof *s->inputs) == 0
           && memcmp(s->sinks, now.sinks, s->nsinks * sizeof *s->sinks) == 0;
}

/* One datagram to the unix input; true when output a has written it
 * within 5 s. */
static bool delivers(const struct fixture *f, const char *text)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/log", f->dir);
    ssize_t w = sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    if (w < 0)
        return false;
    /* The file plugin writes each batch as it comes: no flush needed. */
    for (int i = 0; i < 500; i++) {
        char path[128], buf[8192] = "";
        snprintf(path, sizeof path, "%s/a.log", f->dir);
        FILE *in = fopen(path, "r");
        if (in != NULL) {
            size_t r = fread(buf, 1, sizeof buf - 1, in);
            buf[r] = '\0';
            fclose(in);
        }
        if (strstr(buf, "still running") != NULL)
            return true;
        sleep_ms(10);
    }
    return false;
}
/* }=== */

static void reload_to(struct fixture *f, struct sl_daemon *d, const char *path, int want)
{
    struct sl_errors errs = {0};
    char err[1024];
    f->o.config_path = path;
    quiet(f);
    int rc = sl_daemon_reload_err(d, &errs, err, sizeof err);
    loud(f);
    sl_errors_clear(&errs);
    if ((rc == 0) != (want == 0))
        fail_msg("reload to %s: %d (%s)", path, rc, rc < 0 ? err : "");
}

static void test_reload_walk(void **state)
{
    struct fixture *f = *state;
    struct sl_daemon d;
    char err[1024];
    f->o.config_path = f->a;
    quiet(f);
    int rc = sl_daemon_start(&d, &f->o, err, sizeof err);
    loud(f);
    if (rc < 0)
        fail_msg("start-up: %s", err);

    /* Count A to B, then back to A: the walk starts from the same A. */
    f->o.config_path = f->b;
    struct sl_errors errs = {0};
    quiet(f);
    sl_alloc_fail_after(LONG_MAX);
    rc = sl_daemon_reload_err(&d, &errs, err, sizeof err);
    long n = sl_alloc_fail_after(-1);
    loud(f);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    assert_true(exists(f, "log2") && !exists(f, "log"));
    reload_to(f, &d, f->a, 0);
    long stride = stride_for(n);
    print_message("reload: %ld allocations, failing every %ld%s\n", n, stride,
                  stride > 1 ? "th" : "");

    struct snapshot before;
    take(&before, &d);
    int fds = settled_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");
    f->o.config_path = f->b;
    for (long i = 0; i < n; i += stride) {
        mark(err, sizeof err);
        quiet(f);
        sl_alloc_fail_after(i);
        rc = sl_daemon_reload_err(&d, &errs, err, sizeof err);
        sl_alloc_fail_after(-1);
        loud(f);
        for (size_t k = 0; k < errs.n; k++)
            check_err(errs.v[k], strlen(errs.v[k]) + 1, "reload (errs)", i);
        sl_errors_clear(&errs);
        if (rc == 0)
            fail_msg("reload: allocation %ld of %ld failed, yet the reload succeeded", i, n);
        check_err(err, sizeof err, "reload", i);
        if (!same(&before, &d))
            fail_msg("reload, allocation %ld failing: the running config changed (%s)", i, err);
        int left = threads_settled(threads);
        if (left != threads)
            fail_msg("reload, allocation %ld failing: %d threads, %d before (%s)", i, left,
                     threads, err);
        left = count_entries("/proc/self/fd");
        if (left != fds)
            fail_msg("reload, allocation %ld failing: %d fds open, %d before (%s)", i, left,
                     fds, err);
        if (exists(f, "log2"))
            fail_msg("reload, allocation %ld failing: B's socket file is left (%s)", i, err);
    }
    assert_true(delivers(f, "<13>1 - h app - - - still running"));
    /* And the same B loads once memory is back. */
    reload_to(f, &d, f->b, 0);
    quiet(f);
    sl_daemon_stop(&d);
    loud(f);
}

/* Step 5 of a reload runs the new config even when an input it opens there
 * fails: a failure before it leaves A as it was; a failure in it reports,
 * and C runs without that input. Either way nothing leaks, and A, loaded
 * again, has as many threads and fds as before. */
static void test_reload_deferred_walk(void **state)
{
    struct fixture *f = *state;
    struct sl_daemon d;
    char err[1024];
    f->o.config_path = f->a;
    quiet(f);
    int rc = sl_daemon_start(&d, &f->o, err, sizeof err);
    loud(f);
    if (rc < 0)
        fail_msg("start-up: %s", err);
    struct sl_errors errs = {0};
    f->o.config_path = f->c;
    quiet(f);
    sl_alloc_fail_after(LONG_MAX);
    rc = sl_daemon_reload_err(&d, &errs, err, sizeof err);
    long n = sl_alloc_fail_after(-1);
    loud(f);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    reload_to(f, &d, f->a, 0);
    long stride = stride_for(n);
    int fds = settled_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");
    size_t ninputs = d.rt->ninputs;
    long in_commit = 0;
    for (long i = 0; i < n; i += stride) {
        struct snapshot before;
        take(&before, &d);
        mark(err, sizeof err);
        f->o.config_path = f->c;
        quiet(f);
        sl_alloc_fail_after(i);
        rc = sl_daemon_reload_err(&d, &errs, err, sizeof err);
        sl_alloc_fail_after(-1);
        loud(f);
        sl_errors_clear(&errs);
        if (rc == 0)
            fail_msg("reload: allocation %ld of %ld failed, yet the reload succeeded", i, n);
        check_err(err, sizeof err, "deferred reload", i);
        if (!same(&before, &d)) {
            in_commit++;
            if (d.rt->ninputs != ninputs - 1)
                fail_msg("deferred reload, allocation %ld failing in step 5: %zu inputs run, "
                         "not %zu (%s)", i, d.rt->ninputs, ninputs - 1, err);
        }
        reload_to(f, &d, f->a, 0);
        int left = threads_settled(threads);
        if (left != threads)
            fail_msg("deferred reload, allocation %ld failing: %d threads, %d before (%s)", i,
                     left, threads, err);
        left = count_entries("/proc/self/fd");
        if (left != fds)
            fail_msg("deferred reload, allocation %ld failing: %d fds, %d before (%s)", i, left,
                     fds, err);
    }
    print_message("deferred reload: %ld allocations, %ld of them in step 5\n", n, in_commit);
    assert_true(in_commit > 0); /* step 5 was walked too */
    assert_true(delivers(f, "<13>1 - h app - - - still running"));
    quiet(f);
    sl_daemon_stop(&d);
    loud(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_up_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_deferred_walk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
