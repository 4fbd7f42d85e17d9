/* SPDX-License-Identifier: MIT */
/* test_control.c: the control socket (core/daemon/control.c) with a command
 * table of the test's own: answers at once, answers that wait for outputs
 * (fake ones, as in test_sink.c) while other clients are served, deadlines,
 * and unknown commands. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/control.h"
#include "format/format.h"
#include "output/sink.h"

/* {=== a fake output whose reopen() takes reopen_ms */
static atomic_int reopen_ms;
static atomic_uint reopens;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fake_open(const struct sluice_host *h, const sluice_config *c, void **state, char *err,
                     size_t errlen)
{
    *state = &reopens;
    return 0;
}

static int fake_write(void *state, const sluice_msg *const *m, size_t n)
{
    return SLUICE_OK;
}

static int fake_reopen(void *state)
{
    sleep_ms(atomic_load(&reopen_ms));
    atomic_fetch_add(&reopens, 1);
    return SLUICE_OK;
}

static void fake_close(void *state)
{
}

static const struct sluice_output_plugin fake_api = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "fake",
    .open = fake_open,
    .write = fake_write,
    .reopen = fake_reopen,
    .close = fake_close,
};
/* }=== */

/* {=== the test's command table */
struct ctx {
    struct sl_sink *sinks[2];
    int timeout_ms;
    int runs;
};

static int cmd_hello(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    ((struct ctx *)ctx)->runs++;
    return sl_buf_append(b, "hello\n", 6);
}

static int cmd_fail(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    return -EPERM; /* no text: the control says why */
}

static int cmd_reopen(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    struct ctx *c = ctx;
    return sl_fanout_new(wait, c->sinks, 2, SL_SINK_REOPEN, efd, c->timeout_ms);
}

/* An answer larger than a socket buffer: a client that does not read it
 * must not hold the control. */
#define BIG (4 << 20)
static int cmd_big(void *ctx, struct sluice_buf *b, struct sl_fanout **wait, int efd)
{
    static char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    int rc = 0;
    for (size_t n = 0; n < BIG && rc == 0; n += sizeof chunk)
        rc = sl_buf_append(b, chunk, sizeof chunk);
    return rc;
}

static const struct sl_control_cmd cmds[] = {
    {"hello", cmd_hello, NULL},
    {"fail", cmd_fail, NULL},
    {"reopen", cmd_reopen, "reopening files"},
    {"big", cmd_big, NULL},
};
/* }=== */

/* {=== fixture: a control socket in a temporary directory, two outputs */
struct fixture {
    char dir[64], path[96]; /* fits sun_path */
    struct ctx ctx;
    struct sl_control *c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_control_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/ctl", f->dir);
    atomic_store(&reopen_ms, 0);
    atomic_store(&reopens, 0);
    f->ctx.timeout_ms = 5000;
    for (int i = 0; i < 2; i++) {
        struct sl_output_conf oc = {.name = i ? "b" : "a", .type = "fake",
                                    .queue = {.capacity = 16}, .file = "t.lua", .line = 1};
        char err[256];
        assert_int_equal(sl_sink_open_with(&f->ctx.sinks[i], &oc, &fake_api, NULL, err,
                                           sizeof err), 0);
    }
    char err[256] = "";
    int rc = sl_control_open(&f->c, f->path, cmds, 4, &f->ctx, err, sizeof err);
    if (rc != 0)
        fail_msg("sl_control_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sl_control_stop(f->c);
    for (int i = 0; i < 2; i++)
        sl_sink_close(f->ctx.sinks[i], 2000, NULL);
    sl_control_close(f->c); /* after the outputs, as the daemon does */
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A client connected, that has sent nothing. */
static int connected(struct fixture *f)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* A client that has sent its command line. */
static int client(struct fixture *f, const char *cmd)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char line[64];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    assert_int_equal(write(fd, line, (size_t)n), n);
    return fd;
}

/* What the main loop does: wait for the control's fd or its deadline, at
 * most ms, and serve. */
static void serve_for(struct fixture *f, int ms)
{
    int64_t end = now_ms() + ms;
    for (int64_t now = now_ms(); now < end; now = now_ms()) {
        int t = sl_control_timeout(f->c);
        int left = (int)(end - now);
        struct pollfd p = {.fd = sl_control_fd(f->c), .events = POLLIN};
        poll(&p, 1, t < 0 || t > left ? left : t);
        sl_control_serve(f->c);
    }
}

/* The client's whole answer, once the daemon closed; NULL while it has not
 * (after waiting up to ms). */
static char *answer(int fd, int ms)
{
    static char buf[1024];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    size_t len = 0;
    while (poll(&p, 1, ms) == 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)r;
    }
    return NULL;
}
/* Serves until the client fd has its whole answer, at most ms. */
static char *serve_until_answer(struct fixture *f, int fd, int ms)
{
    int64_t end = now_ms() + ms;
    char *a;
    while ((a = answer(fd, 0)) == NULL && now_ms() < end)
        serve_for(f, 5);
    return a;
}
/* }=== */

static void test_answer_at_once(void **state)
{
    struct fixture *f = *state;
    int fd = client(f, "hello");
    serve_for(f, 50);
    assert_string_equal(answer(fd, 1000), "hello\n");
    close(fd);
    fd = client(f, "fail");
    serve_for(f, 50);
    assert_string_equal(answer(fd, 1000), "error: Operation not permitted\n");
    close(fd);
}

static void test_unknown_command(void **state)
{
    struct fixture *f = *state;
    int fd = client(f, "helo");
    serve_for(f, 50);
    assert_string_equal(answer(fd, 1000),
                        "error: unknown command \"helo\" (hello, fail, reopen, big)\n");
    close(fd);
    assert_int_equal(f->ctx.runs, 0);
}

static void test_waits_for_outputs_and_serves_meanwhile(void **state)
{
    struct fixture *f = *state;
    atomic_store(&reopen_ms, 300);
    int64_t t0 = now_ms();
    int slow = client(f, "reopen");
    serve_for(f, 30);
    /* The reopen is under way: another client is answered meanwhile. */
    int quick = client(f, "hello");
    serve_for(f, 30);
    assert_string_equal(answer(quick, 500), "hello\n");
    close(quick);
    assert_null(answer(slow, 0));
    char *a = serve_until_answer(f, slow, 2000);
    int64_t took = now_ms() - t0;
    assert_non_null(a);
    assert_string_equal(a, "ok\n");
    assert_true(took >= 280);
    assert_true(took < 550); /* both outputs at once, not 600 ms one after the other */
    assert_int_equal(atomic_load(&reopens), 2);
    assert_int_equal(sl_control_timeout(f->c), -1); /* nothing waits */
    close(slow);
}

static void test_late_outputs_are_named_at_the_deadline(void **state)
{
    struct fixture *f = *state;
    atomic_store(&reopen_ms, 400);
    f->ctx.timeout_ms = 100;
    int fd = client(f, "reopen");
    serve_for(f, 20);
    int t = sl_control_timeout(f->c);
    assert_true(t >= 0 && t <= 100);
    serve_for(f, 200);
    /* Answered at the deadline, while the outputs still work. */
    assert_string_equal(answer(fd, 100), "error: output \"a\": did not reopen within 100 ms\n"
                                         "error: output \"b\": did not reopen within 100 ms\n");
    close(fd);
    assert_int_equal(atomic_load(&reopens), 0);
    assert_int_equal(sl_control_timeout(f->c), -1);
    /* The late fanout is kept until the outputs answer (teardown closes
     * them, and ASan would see a leak or a use after free). */
    serve_for(f, 500);
    assert_int_equal(atomic_load(&reopens), 2);
}

static void test_signal_command_logs_no_client(void **state)
{
    struct fixture *f = *state;
    sl_control_run(f->c, "reopen", "SIGUSR1");
    serve_for(f, 200);
    assert_int_equal(atomic_load(&reopens), 2);
    sl_control_run(f->c, "hello", "SIGUSR1");
    assert_int_equal(f->ctx.runs, 1);
}

/* 20 clients that send nothing, one that sends a byte at a time and one
 * that does not read its (large) answer: another client is answered at
 * once all the same, and the idle and trickling ones are dropped after
 * their second. */
static void test_idle_and_slow_clients_hold_nobody(void **state)
{
    struct fixture *f = *state;
    int idle[20];
    for (int i = 0; i < 20; i++) {
        idle[i] = connected(f);
        serve_for(f, 1); /* accepted as they come: the backlog is short */
    }
    int trickle = connected(f);
    assert_int_equal(write(trickle, "h", 1), 1);
    int reader = client(f, "big");
    serve_for(f, 50);
    int64_t t0 = now_ms();
    int quick = client(f, "hello");
    assert_int_equal(write(trickle, "e", 1), 1);
    char *a = serve_until_answer(f, quick, 3000);
    assert_non_null(a);
    assert_string_equal(a, "hello\n");
    assert_true(now_ms() - t0 < 500);
    close(quick);
    serve_for(f, 1200); /* past the second each had for its line */
    char c;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(read(idle[i], &c, 1), 0); /* closed by the daemon */
        close(idle[i]);
    }
    assert_int_equal(read(trickle, &c, 1), 0);
    close(trickle);
    /* The reader gets its whole answer when it reads. */
    size_t got = 0;
    char buf[65536];
    for (;;) {
        serve_for(f, 1);
        ssize_t r = recv(reader, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r > 0)
            got += (size_t)r;
    }
    assert_int_equal(got, BIG);
    close(reader);
}

/* More clients than the cap: the one over it is closed at once, the
 * others still served. */
static void test_clients_over_the_cap_are_closed(void **state)
{
    struct fixture *f = *state;
    int fds[65];
    for (int i = 0; i < 65; i++) {
        fds[i] = connected(f);
        serve_for(f, 1);
    }
    char c;
    struct pollfd p = {.fd = fds[64], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(read(fds[64], &c, 1), 0);
    assert_int_equal(write(fds[0], "hello\n", 6), 6);
    assert_string_equal(serve_until_answer(f, fds[0], 1000), "hello\n");
    for (int i = 0; i < 65; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answer_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_outputs_and_serves_meanwhile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_late_outputs_are_named_at_the_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_signal_command_logs_no_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_and_slow_clients_hold_nobody, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clients_over_the_cap_are_closed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
